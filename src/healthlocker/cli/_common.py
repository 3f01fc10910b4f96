"""What the command modules share: the console, the passphrase prompt, the vault, timestamps."""

from __future__ import annotations

import argparse
import getpass
import os
import re
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


# Control characters (escape sequences start with one), and the invisible ones that reorder or
# hide text: none of them belongs in a table cell.
_UNSHOWN = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """A table on stdout. Cells are shown as text, never read as markup (a stored name like
    ``[/link]`` or ``[conceal]`` is data), and without control or invisible characters."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*(Text(_UNSHOWN.sub("", cell)) for cell in row))
    console().print(table)


def prompt(text: str) -> str:
    if not sys.stdin.isatty():
        raise StoreError("the vault is locked: set HEALTHLOCKER_PASSPHRASE (no terminal to ask on)")
    return getpass.getpass(text)


def open_vault(args: argparse.Namespace) -> Any:
    from healthlocker.store import Vault

    return Vault.open(args.home, prompt=prompt, on_wait=notice)


def notice(message: str) -> None:
    """One line on stderr: a wait, or what a command could not finish (no health data)."""
    print(f"healthlocker: {message}", file=sys.stderr, flush=True)


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
