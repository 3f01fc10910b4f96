"""The encrypted vault: keys, sealing, schema and queries. Imports nothing above it."""

from healthlocker.store._export import export_bundle
from healthlocker.store._fhirpaths import clinical_date, index_terms
from healthlocker.store._query import StoredResource
from healthlocker.store._unlock import ENV_HOME, ENV_PASSPHRASE, vault_home
from healthlocker.store._validate import validate_resource
from healthlocker.store._vault import BatchResult, Item, SourceInfo, Vault

__all__ = [
    "ENV_HOME",
    "ENV_PASSPHRASE",
    "BatchResult",
    "Item",
    "SourceInfo",
    "StoredResource",
    "Vault",
    "clinical_date",
    "export_bundle",
    "index_terms",
    "validate_resource",
    "vault_home",
]
