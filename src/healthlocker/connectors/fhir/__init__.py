"""FHIR files: R4 JSON (a Bundle or one resource), NDJSON, and DSTU2 mapped to R4."""
