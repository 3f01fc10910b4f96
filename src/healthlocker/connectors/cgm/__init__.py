"""Continuous glucose monitors: Dexcom Clarity and LibreView CSV exports → FHIR R4.

Every sensor reading becomes an Observation of the HL7 CGM IG's sensor reading profiles, at full
resolution, pointing to the sensor's Device (``_fhir``); the readers are ``_dexcom`` and
``_libreview``, the CSV plumbing they share ``_table``, the local times ``_time``. The
statistics of the readings (time in range, GMI, CV…) are ``records._glucose``. docs/cgm.md
has the mapping in words.
"""
