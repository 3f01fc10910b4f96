"""Warm-up of a remote-mode worker: what the tools read is decrypted ahead, nothing disclosed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from healthlocker.connectors import import_paths
from healthlocker.consent import AuditLog, ConsentGate
from healthlocker.records import health_summary, list_labs, search_records, summarize_trends
from healthlocker.server._state import ServerState
from healthlocker.server._tools import warm_up
from healthlocker.store import Vault
from healthlocker.store._query import Reader
from helpers import PASSPHRASE, SAMPLES


def test_warm_up_decrypts_ahead_and_audits_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "vault"
    with Vault.create(home, passphrase=PASSPHRASE) as vault:
        assert import_paths(vault, [SAMPLES / "synthea"]).ok
    monkeypatch.setenv("HEALTHLOCKER_PASSPHRASE", PASSPHRASE)
    with Vault.open(home) as vault:
        opened: list[Any] = []
        original = Reader._open_body

        def counting(self: Reader, *args: Any) -> dict[str, Any]:
            opened.append(args[1])  # where the body lies
            return original(self, *args)

        monkeypatch.setattr(Reader, "_open_body", counting)
        state = ServerState(vault, ConsentGate, None)
        warm_up(state)
        assert len(opened) > 100  # the samples' records, decrypted once, ahead of any call
        assert AuditLog(vault).entries() == []  # nothing left the process: nothing to audit

        opened.clear()  # what clients then ask, in other words than the warm-up's
        labs = list_labs(vault, test="glucose", since="2015-01-01")
        weight = summarize_trends(vault, metric="body_weight", granularity="month")
        summary = health_summary(vault)
        found = search_records(vault, query="diabetes")
        assert labs.results and weight.points and summary and found.hits
        assert opened == []  # answered without decrypting anything again
