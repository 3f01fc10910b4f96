"""The vault itself: ``init``, ``status``, ``passphrase``."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from healthlocker.cli._command import JSON_FLAG, Result, Said, arg, command
from healthlocker.cli._common import ENV_PASSPHRASE, new_passphrase, notice, open_vault
from healthlocker.errors import StoreError, UnlockError


@command(
    "init",
    "create an empty encrypted vault",
    arg("--keyring", action="store_true", help="keep the unlock secret in the OS keyring"),
)
def init(args: argparse.Namespace) -> Result:
    from healthlocker.store import Vault

    passphrase = None
    if not args.keyring or os.environ.get(ENV_PASSPHRASE):
        passphrase = new_passphrase(ENV_PASSPHRASE)
    with Vault.create(args.home, passphrase=passphrase, keyring=args.keyring) as vault:
        how = " and ".join(["passphrase"] * bool(passphrase) + ["OS keyring"] * args.keyring)
        folder = Path(str(vault.path)).parent
    return Said(f"Created an encrypted vault in {folder} (unlocks with {how}).")


@dataclass
class Status(Result):
    stats: dict[str, Any]

    def public(self) -> Any:
        return self.stats

    def show(self) -> None:
        stats, last = self.stats, self.stats["last_import"]
        print(f"Vault:     {stats['path']}")
        print(f"Unlocks:   {', '.join(stats['unlock'])}")
        print(
            f"Holds:     {stats['resources']} resources from {stats['sources']} source(s), "
            f"{stats['batches']} import batch(es), {stats['bytes'] / 2**20:.1f} MiB on disk"
        )
        print(f"Freshest:  {last.replace('+00:00', ' UTC') if last else 'nothing imported yet'}")


@command("status", "the vault: where, how big, how fresh", JSON_FLAG)
def status(args: argparse.Namespace) -> Result:
    with open_vault(args) as vault:
        stats = vault.stats()
        sources = vault.sources()
    stats["last_import"] = max((s.updated for s in sources), default=None)
    return Status(stats)


@command(
    "passphrase",
    "change the vault passphrase",
    arg("--rotate", action="store_true", help="also make a new master key and new keys"),
)
def passphrase(args: argparse.Namespace) -> Result:
    with open_vault(args) as vault:
        # Never HEALTHLOCKER_PASSPHRASE: that is the current one, which this replaces.
        new = new_passphrase("HEALTHLOCKER_NEW_PASSPHRASE")
        if not args.rotate and vault.check_passphrase(new):
            raise StoreError("that is the current passphrase; nothing was changed")
        scrubbed = vault.change_passphrase(new, rotate=args.rotate)
    if not scrubbed:
        notice("another process has the vault open: the old slot leaves the files once it ends")
    return Said(
        "Passphrase changed and a new master key made; what is written from now on uses new "
        "keys (see docs/security.md)."
        if args.rotate
        else "Passphrase changed; the master key is the same (use --rotate for a new one)."
    )


@command(
    "keyring",
    "let the OS keyring unlock this vault (add), or stop it (remove)",
    arg("action", choices=("add", "remove"), metavar="add|remove"),
)
def keyring(args: argparse.Namespace) -> Result:
    with open_vault(args) as vault:
        if args.action == "remove":
            vault.remove_keyring()
            return Said(
                "The OS keyring no longer unlocks this vault; its secret there is deleted. "
                "Assistants that start the server themselves now need another way to unlock."
            )
        try:
            vault.add_keyring()
        except UnlockError as exc:
            raise UnlockError(
                f"{exc}; or, for Claude Desktop, install the healthlocker MCP bundle (.mcpb), "
                "which keeps the passphrase in the app's own secure storage"
            ) from None
    return Said(
        "The OS keyring now unlocks this vault, so an assistant can start the server without "
        "the passphrase; next: `healthlocker setup CLIENT`."
    )


COMMANDS = (init, status, passphrase, keyring)
