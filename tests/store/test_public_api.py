"""The store package's public surface, and the one definition of which types are dated."""

from __future__ import annotations

import healthlocker.store as store
from healthlocker.store import UNDATED_TYPES, clinical_date, is_dated
from healthlocker.store._fhirpaths import _DATE_FIELDS

EXPORTED = [
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


def test_the_store_exports_exactly_its_public_names() -> None:
    assert store.__all__ == EXPORTED
    for name in EXPORTED:
        assert getattr(store, name) is not None


def test_the_vault_hands_out_no_connection() -> None:
    with store.Vault.ephemeral() as vault:
        assert not [name for name in dir(vault) if name in ("conn", "db", "connection")]


def test_reference_data_is_undated_and_records_of_care_are_dated() -> None:
    assert not is_dated("Practitioner")
    assert not is_dated("Patient")
    assert not is_dated("Medication")
    for rtype in ("Observation", "Condition", "Encounter", "Coverage", "ExplanationOfBenefit"):
        assert is_dated(rtype)
    assert is_dated("SomeFutureType")  # unknown types are windowed: the safe side


def test_no_undated_type_declares_where_its_date_is() -> None:
    """The two facts about dates live in one module and agree."""
    assert not UNDATED_TYPES & set(_DATE_FIELDS)
    for rtype in UNDATED_TYPES:
        assert clinical_date({"resourceType": rtype, "birthDate": "1970-01-01"}) is None
