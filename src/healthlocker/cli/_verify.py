"""``verify``: the whole vault checked (``consent.verify_vault``), one line per problem."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from healthlocker.cli._command import JSON_FLAG, Result, arg, command
from healthlocker.cli._common import prompt


@dataclass
class Verified(Result):
    report: Any  # consent.VaultReport

    def public(self) -> Any:
        return {
            "ok": self.report.ok,
            "problems": self.report.problems,
            "summary": self.report.summary,
        }

    def show(self) -> None:
        for problem in self.report.problems:
            print(f"healthlocker verify: {problem}", file=sys.stderr)
        print(self.report.summary)

    def exit_code(self) -> int:
        return 0 if self.report.ok else 1


@command(
    "verify",
    "check the whole vault: authentic, complete, not rolled back",
    arg(
        "--accept-restore",
        action="store_true",
        help="take a vault restored from a backup on purpose as the latest state",
    ),
    JSON_FLAG,
)
def verify(args: argparse.Namespace) -> Result:
    from healthlocker.consent import verify_vault

    return Verified(verify_vault(args.home, prompt=prompt, accept_restore=args.accept_restore))


COMMANDS = (verify,)
