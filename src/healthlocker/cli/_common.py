"""What the command modules share: the console, the passphrase prompt, the vault, timestamps."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from healthlocker.errors import StoreError


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped output is read by scripts and pagers: don't wrap tables at 80 columns there.
    width = None if stream.isatty() else 160
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    console().print(table)


def prompt(text: str) -> str:
    if not sys.stdin.isatty():
        raise StoreError("the vault is locked: set HEALTHLOCKER_PASSPHRASE (no terminal to ask on)")
    return getpass.getpass(text)


def open_vault(args: argparse.Namespace) -> Any:
    from healthlocker.store import Vault

    return Vault.open(args.home, prompt=prompt)


def new_passphrase(label: str = "passphrase") -> str:
    env = os.environ.get("HEALTHLOCKER_PASSPHRASE")
    if env:
        return env
    first = prompt(f"New {label}: ")
    if first != prompt(f"Repeat the {label}: "):
        raise StoreError("the two passphrases differ; nothing was changed")
    if len(first) < 8:
        raise StoreError("choose a passphrase of at least 8 characters")
    return first


def when(stamp: str) -> str:
    return stamp[:16].replace("T", " ") + " UTC"
