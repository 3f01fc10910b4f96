"""SMART on FHIR: connect to a provider's FHIR API (OAuth) and sync its records."""
