"""``healthlocker verify``: the whole vault and its audit chain, checked in one call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from healthlocker.consent._audit import AuditLog
from healthlocker.errors import HealthLockerError
from healthlocker.store import Vault


@dataclass(frozen=True)
class VaultReport:
    """One line per problem (no health data), and a one-line summary."""

    problems: list[str]
    summary: str

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_vault(
    home: str | Path | None = None,
    *,
    prompt: Callable[[str], str] | None = None,
    accept_restore: bool = False,
) -> VaultReport:
    """Check every row, tag, manifest and sealed value of the vault, that it was not rolled
    back, and that the audit chain is whole. With *accept_restore*, a vault whose only problem
    is that it is older than the state last seen here (a backup the person restored) is taken
    as the latest from now on."""
    with Vault.open(home, prompt=prompt, allow_rollback=True) as vault:
        problems = vault.verify()
        log = AuditLog(vault)
        try:
            problems += [f"audit entry {p.seq}: {p.what}" for p in log.verify()]
        except HealthLockerError as exc:
            problems.append(f"audit: {exc}")
        stats = vault.stats()
        rolled = [p for p in problems if p.startswith("rollback:")]
        if accept_restore and problems and problems == rolled:
            vault.accept_restore()
            return VaultReport(
                [],
                "Accepted this vault as the latest state (a restored backup). Grants revoked "
                "and records forgotten since that backup are back: review `healthlocker grants` "
                "and `healthlocker sources`.",
            )
        entries = 0 if problems else log.count()
    if problems:
        return VaultReport(problems, f"The vault has {len(problems)} problem(s); see above.")
    return VaultReport(
        [],
        f"The vault is intact: {stats['resources']} resources from {stats['sources']} "
        f"source(s) and {entries} audit entries; every row, tag and manifest is authentic, "
        "nothing is missing or rolled back.",
    )
