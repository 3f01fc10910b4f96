"""What the command modules share: the console, questions on the terminal, the vault,
timestamps."""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from healthlocker.errors import HealthLockerError, StoreError

MIN_PASSPHRASE = 8
ENV_PASSPHRASE = "HEALTHLOCKER_PASSPHRASE"


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


def ask(text: str, *, secret: bool = True, otherwise: str) -> str:
    """Ask on the terminal (without echo when *secret*); *otherwise* says what to do where
    there is no terminal. End of input (Ctrl-D) is a refusal, not a traceback."""
    if not sys.stdin.isatty():
        raise StoreError(otherwise)
    try:
        if secret:
            return getpass.getpass(text)
        print(text, end="", file=sys.stderr, flush=True)  # stdout is for results
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")
    except EOFError:
        print(file=sys.stderr)  # the prompt's line was left open
        raise HealthLockerError("no answer (end of input); nothing was changed") from None


def prompt(text: str) -> str:
    """The vault's unlock prompt."""
    return ask(text, otherwise=f"the vault is locked: set {ENV_PASSPHRASE} (no terminal to ask on)")


def open_vault(args: argparse.Namespace) -> Any:
    from healthlocker.store import Vault

    return Vault.open(args.home, prompt=prompt, on_wait=notice)


def notice(message: str) -> None:
    """One line on stderr: a wait, or what a command could not finish (no health data)."""
    print(f"healthlocker: {message}", file=sys.stderr, flush=True)


def new_passphrase(env: str) -> str:
    """A new passphrase: the environment variable *env* if set, else asked twice. Either way
    at least MIN_PASSPHRASE characters."""
    given = os.environ.get(env)
    if given:
        if len(given) < MIN_PASSPHRASE:
            raise StoreError(f"{env} is too short: choose at least {MIN_PASSPHRASE} characters")
        return given
    otherwise = f"set {env} to the new passphrase (no terminal to ask on)"
    first = ask("New passphrase: ", otherwise=otherwise)
    if first != ask("Repeat the passphrase: ", otherwise=otherwise):
        raise StoreError("the two passphrases differ; nothing was changed")
    if len(first) < MIN_PASSPHRASE:
        raise StoreError(f"choose a passphrase of at least {MIN_PASSPHRASE} characters")
    return first


def when(stamp: str) -> str:
    return stamp[:16].replace("T", " ") + " UTC"
