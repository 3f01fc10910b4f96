"""Forgetting is one library call: a source's data, its audit details, a linked API's tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from healthlocker.connectors import Link, LinkStore, import_paths
from healthlocker.consent import AuditEvent, AuditLog
from healthlocker.errors import IntegrityError, SourceNotFoundError
from healthlocker.store import Vault
from helpers import SAMPLES, vault_file

PERSON = SAMPLES / "synthea" / "Alexis_Toy_68cd1181-6359-4047-a77f-a165d7912480.json"


def _link(name: str) -> Link:
    return Link(
        name=name,
        fhir_base="https://ehr.example.com/fhir",
        client_id="hl",
        authorize_url="https://ehr.example.com/authorize",
        token_url="https://ehr.example.com/token",
        patient="p1",
        scope="launch/patient patient/*.rs offline_access",
        access_token=f"access-{name}",
        refresh_token=f"refresh-{name}",
        expires_at="2999-01-01T00:00:00+00:00",
    )


def _call(records: int) -> AuditEvent:
    return AuditEvent(
        client="tester",
        tool="list_labs",
        arguments={"test": "<text, 10 chars>"},
        outcome="allowed",
        records=records,
    )


def _files(vault: Vault) -> bytes:
    folder = Path(str(vault.path)).parent
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())


@pytest.fixture
def linked(vault: Vault) -> Vault:
    """Two sources ('clinic', a linked API, and 'bluebutton'), a second link never synced, and
    one audited call that returned records of each source."""
    assert import_paths(vault, [PERSON], source="clinic").ok
    assert import_paths(vault, [SAMPLES / "bluebutton"]).ok
    links = LinkStore(vault)
    links.save(_link("clinic"))
    links.save(_link("later"))
    ids = {label: sid for sid, label in vault.source_labels().items()}
    log = AuditLog(vault)
    log.append(_call(3), [ids["clinic"]])
    log.append(_call(2), [ids["bluebutton"]])
    return vault


def test_a_library_forget_leaves_no_audit_details_and_no_tokens(linked: Vault) -> None:
    with vault_file(linked.path) as conn:
        [(link_body,)] = conn.execute(
            "SELECT body FROM links WHERE name_tag = ?", (linked.tag("link|clinic"),)
        ).fetchall()
        [(detail,)] = conn.execute("SELECT detail FROM audit WHERE seq = 1").fetchall()
    assert linked.forget("clinic") == ["clinic"]
    assert [s.label for s in linked.sources()] == ["bluebutton"]
    links = LinkStore(linked)
    assert [link.name for link in links.all()] == ["later"]
    log = AuditLog(linked)
    first, second = log.entries()
    assert (first.redacted, first.event.arguments, first.event.records) == (True, {}, 0)
    assert (second.redacted, second.event.records) == (False, 2)
    assert log.verify() == []  # a redaction by forget is not tampering
    blob = _files(linked)  # scrubbed: not a piece of either ciphertext survives in any file
    assert link_body[40:72] not in blob
    assert detail[40:72] not in blob


def test_a_link_never_synced_is_forgotten_by_its_name(linked: Vault) -> None:
    assert linked.forget("later") == []
    assert [link.name for link in LinkStore(linked).all()] == ["clinic"]
    assert len(linked.sources()) == 2


def test_forgetting_what_is_not_there_changes_nothing(linked: Vault) -> None:
    with pytest.raises(SourceNotFoundError, match="no source named 'nothing'"):
        linked.forget("nothing")
    assert len(linked.sources()) == 2
    assert len(LinkStore(linked).all()) == 2


def test_forgetting_everything_drops_every_link_and_every_detail(linked: Vault) -> None:
    assert linked.forget(None) == ["bluebutton", "clinic"]
    assert linked.sources() == []
    assert list(linked.iter_all()) == []
    assert LinkStore(linked).all() == []
    log = AuditLog(linked)
    assert [e.redacted for e in log.entries()] == [True, True]
    assert log.verify() == []


def test_a_forget_that_fails_midway_erases_nothing(linked: Vault) -> None:
    with vault_file(linked.path) as conn:  # damage what the audit's forget hook must read
        conn.execute("UPDATE audit SET sources = ? WHERE seq = 2", (b"\x01" * 64,))
    with pytest.raises(IntegrityError):
        linked.forget("clinic")
    assert [s.label for s in linked.sources()] == ["bluebutton", "clinic"]
    assert LinkStore(linked).exists("clinic")
    assert [e.redacted for e in AuditLog(linked).entries()] == [False, False]
    assert any(r["resourceType"] == "Patient" for r in linked.iter_all())
