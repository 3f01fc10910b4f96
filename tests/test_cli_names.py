"""Stored names are data, never terminal markup (issue 19): a client named ``[/link]`` made
`audit` and `grants` crash for good, and ``[conceal]…`` hid text on a terminal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from healthlocker.consent import AuditEvent, AuditLog
from healthlocker.store import Vault
from helpers import PASSPHRASE, run_cli

NAMES = ["[/link]", "[conceal]hidden[/conceal] Eve", "\x1b[8mhidden\x1b[0m"]


def test_names_stored_before_they_were_checked_print_as_text(tmp_path: Path) -> None:
    home = tmp_path / "vault"
    assert run_cli("init", home=home).returncode == 0
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat(timespec="seconds")
    with Vault.open(home, prompt=lambda _: PASSPHRASE) as vault:
        grants = vault.table("grants")  # as an older version stored them, unchecked
        for n, name in enumerate(NAMES):
            body = {
                "id": f"g{n}",
                "client": name,
                "tool": "list_labs",
                "created": "2026-01-01T00:00:00.000000+00:00",
                "expires": expires,
                "window": "all",
                "revoked": None,
            }
            grants.put(f"g{n}", body=json.dumps(body).encode())
            AuditLog(vault).append(
                AuditEvent(client=name, tool="list_labs", arguments={}, outcome="refused"), []
            )
    for command in (["grants"], ["audit"]):
        done = run_cli(*command, home=home)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        assert "[/link]" in done.stdout
        assert "[conceal]hidden[/conceal] Eve" in done.stdout
        assert "\x1b[8m" not in done.stdout  # no control codes reach the terminal


def test_client_names_are_held_to_a_safe_set(tmp_path: Path) -> None:
    home = tmp_path / "vault"
    assert run_cli("init", home=home).returncode == 0
    for name in NAMES:
        done = run_cli("grant", "list_labs", "--client", name, home=home)
        assert done.returncode == 1
        assert "a client name is" in done.stderr and "Traceback" not in done.stderr
        assert done.stderr.count("\n") == 1
    assert run_cli("grant", "list_labs", "--client", "Claude Desktop", home=home).returncode == 0
