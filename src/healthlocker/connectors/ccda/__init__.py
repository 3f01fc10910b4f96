"""C-CDA documents (Continuity of Care Documents and their kin): XML, mapped to FHIR R4."""
