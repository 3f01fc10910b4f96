"""The ``healthlocker`` command.

One module per command group, each command's arguments declared beside its handler
(``_command.command``): ``_vault`` (init, status, passphrase, keyring), ``_records`` (import,
sources, export, forget), ``_people`` (people), ``_links`` (connect, sync), ``_serve``
(serve), ``_setup`` (setup), ``_share`` (share), ``_consent`` (grant, grants, revoke, audit),
``_verify`` (verify), ``_demo`` (demo). A handler returns a ``Result`` that prints itself, or
with ``--json`` gives its ``public()`` form.

Exit status: 0 success, 1 a failure the message explains, 2 wrong usage. A HealthLockerError
becomes one line on stderr, never a traceback. Tables and summaries go to stdout; progress goes
to stderr, and only on a terminal.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from healthlocker import __version__
from healthlocker.cli import (
    _consent,
    _demo,
    _links,
    _people,
    _records,
    _serve,
    _setup,
    _share,
    _vault,
    _verify,
)
from healthlocker.cli._command import Parser, UsageError, add_all, emit
from healthlocker.errors import HealthLockerError

__all__ = ["build_parser", "main"]

# The order `healthlocker --help` lists them in.
_GROUPS = (_vault, _records, _people, _links, _serve, _setup, _share, _consent, _verify, _demo)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="healthlocker",
        description="Your health records, encrypted and consented, for any MCP assistant.",
    )
    parser.add_argument("--version", action="version", version=f"healthlocker {__version__}")
    parser.add_argument(
        "--home", help="vault folder (default: $HEALTHLOCKER_HOME or the per-user data folder)"
    )
    sub = parser.add_subparsers(dest="command_name", required=True, metavar="COMMAND")
    for group in _GROUPS:
        add_all(sub, group.COMMANDS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return emit(args.command.run(args), as_json=getattr(args, "json", False))
    except UsageError as exc:
        print(f"healthlocker {args.command.name}: {exc}", file=sys.stderr)
        return 2
    except HealthLockerError as exc:
        print(f"healthlocker: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); quietly stop writing to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("healthlocker: interrupted", file=sys.stderr)
        return 130
