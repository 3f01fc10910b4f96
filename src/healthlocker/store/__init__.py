"""The encrypted vault: keys, sealing, schema, queries, and the one door to SQLite.

Other packages never see the connection: they call :class:`Vault` (reads, imports, ``forget``,
``transaction()``) and keep their own rows in sealed tables declared here (``vault.table(name)``
for grants, audit, oauth and links). Imports nothing above it.

Loaded on first use (``__getattr__``): a process that only needs the ``Item`` type -- such as
the Apple Health reader process -- need not load SQLite, cryptography or the FHIR models.
"""

from typing import TYPE_CHECKING

from healthlocker._lazy import lazy_attributes
from healthlocker.store._types import Item

if TYPE_CHECKING:
    from healthlocker.store._checkpoint import Checkpointer
    from healthlocker.store._export import export_bundle
    from healthlocker.store._fhirpaths import UNDATED_TYPES, clinical_date, index_terms, is_dated
    from healthlocker.store._query import StoredResource
    from healthlocker.store._sealed import SealedTable
    from healthlocker.store._sources import SourceInfo
    from healthlocker.store._unlock import ENV_HOME, ENV_PASSPHRASE, vault_home
    from healthlocker.store._validate import validate_resource
    from healthlocker.store._vault import Vault
    from healthlocker.store._writes import BatchResult

_LAZY = {
    "ENV_HOME": "_unlock",
    "ENV_PASSPHRASE": "_unlock",
    "UNDATED_TYPES": "_fhirpaths",
    "BatchResult": "_writes",
    "Checkpointer": "_checkpoint",
    "SealedTable": "_sealed",
    "SourceInfo": "_sources",
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
    "UNDATED_TYPES",
    "BatchResult",
    "Checkpointer",
    "Item",
    "SealedTable",
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
