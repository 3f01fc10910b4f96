"""The encrypted vault: keys, sealing, schema and queries. Imports nothing above it.

Loaded on first use (``__getattr__``): a process that only needs the ``Item`` type -- such as
the Apple Health reader process -- need not load SQLite, cryptography or the FHIR models.
"""

from typing import TYPE_CHECKING

from healthlocker._lazy import lazy_attributes
from healthlocker.store._types import Item

if TYPE_CHECKING:
    from healthlocker.store._export import export_bundle
    from healthlocker.store._fhirpaths import clinical_date, index_terms, is_dated
    from healthlocker.store._query import StoredResource
    from healthlocker.store._unlock import ENV_HOME, ENV_PASSPHRASE, vault_home
    from healthlocker.store._validate import validate_resource
    from healthlocker.store._vault import BatchResult, SourceInfo, Vault

_LAZY = {
    "ENV_HOME": "_unlock",
    "ENV_PASSPHRASE": "_unlock",
    "BatchResult": "_vault",
    "SourceInfo": "_vault",
    "StoredResource": "_query",
    "Vault": "_vault",
    "clinical_date": "_fhirpaths",
    "export_bundle": "_export",
    "index_terms": "_fhirpaths",
    "is_dated": "_fhirpaths",
    "validate_resource": "_validate",
    "vault_home": "_unlock",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


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
    "is_dated",
    "validate_resource",
    "vault_home",
]
