"""SMART Health Links for a clinician: ``share`` (make one; ``--list``; ``--revoke ID``)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from healthlocker.cli._command import JSON_FLAG, Result, Said, arg, command, one_of
from healthlocker.cli._common import open_vault
from healthlocker.errors import HealthLockerError, ShareError

ENV_PASSCODE = "HEALTHLOCKER_SHL_PASSCODE"
DEFAULT_URL = "http://127.0.0.1:8765"  # `serve --http`'s own default address


@dataclass
class Shared(Result):
    new: Any  # sharing.NewShare
    qr: Path
    passcode: bool
    public_url: str

    def public(self) -> Any:
        new = self.new
        return {
            "id": new.id,
            "link": new.link,
            "qr": str(self.qr),
            "expires": int(new.expires),
            "records": new.records,
            "passcode": self.passcode,
        }

    def show(self) -> None:
        new = self.new
        print(new.link)
        until = _local(new.expires)
        print(f"Share {new.id}: {new.records} records, until {until}; QR code in {self.qr}.")
        if self.passcode:
            print("Tell the recipient the passcode another way (not with the link).")
        print(
            f"The link works while `healthlocker serve --http` answers at {self.public_url}; "
            f"`healthlocker share --revoke {new.id}` stops it sooner."
        )


@dataclass
class ShareList(Result):
    shares: list[Any]  # sharing.ShareInfo

    def public(self) -> Any:
        return [{**vars(s), "disabled": s.disabled} for s in self.shares]

    def show(self) -> None:
        if not self.shares:
            print("No live shares.")
        for s in self.shares:
            state = (
                "DISABLED (too many wrong passcodes)"
                if s.disabled
                else f"until {_local(s.expires)}"
            )
            code = "passcode" if s.passcode else "no passcode"
            print(
                f"{s.id}  {s.label!r}: {s.what}, {s.records} records, {code}, {state}; "
                f"opened {s.accesses} time(s), {s.failures} wrong passcode(s)"
            )


def _local(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


@command(
    "share",
    "a SMART Health Link for a clinician: what, for how long, with a passcode; QR code",
    one_of(
        arg("--list", action="store_true", help="the live shares, and how they were used"),
        arg("--revoke", metavar="ID", help="stop a share at once (its link answers 404)"),
        arg(
            "--types",
            metavar="TYPE,TYPE",
            help="share every record of these FHIR types instead of a patient summary",
        ),
    ),
    arg("--since", metavar="DATE", help="with --types: only records from DATE on"),
    arg(
        "--patient",
        metavar="ID",
        help="whose records: a person's id (as `healthlocker people` lists them) or a Patient "
        "id (default: the vault's owner)",
    ),
    arg(
        "--for",
        dest="duration",
        default="7d",
        metavar="DURATION",
        help="how long the link works: 1h, 24h, 7d, 30d (default 7d; at most 90d)",
    ),
    arg("--label", default="Patient summary", help="what the recipient sees (at most 80 chars)"),
    arg(
        "--no-passcode",
        action="store_true",
        help=f"no passcode (by default one is required: ${ENV_PASSCODE}, else asked)",
    ),
    arg(
        "--public-url",
        metavar="URL",
        default=DEFAULT_URL,
        help=f"where `serve --http` answers for this vault (default {DEFAULT_URL})",
    ),
    arg("--qr", metavar="FILE", help="where to write the QR code PNG (default share-ID.png)"),
    JSON_FLAG,
)
def share(args: argparse.Namespace) -> Result:
    from healthlocker.sharing import Shares, write_qr

    with open_vault(args) as vault:
        shares = Shares(vault)
        if args.list:
            return ShareList(shares.list())
        if args.revoke:
            shares.revoke(args.revoke)
            return Said(f"Revoked share {args.revoke}: its link no longer opens.")
        duration = _duration(args.duration)
        passcode = None if args.no_passcode else _passcode()
        summary, what = _content(vault, args)
        new = shares.create(
            summary,
            base_url=args.public_url,
            label=args.label,
            duration=duration,
            passcode=passcode,
            what=what,
        )
    qr = Path(args.qr or f"share-{new.id}.png")
    write_qr(new.link, qr)
    return Shared(new, qr, passcode is not None, args.public_url)


def _duration(text: str) -> timedelta:
    from healthlocker.consent import parse_duration
    from healthlocker.sharing import MAX_DURATION

    try:
        span = parse_duration(text)
    except HealthLockerError:
        span = None
    if span is None or span > MAX_DURATION:
        raise ShareError(f"--for {text[:20]!r}: give 1h, 24h, 7d, 30d…, at most 90d")
    return span


def _passcode() -> str:
    given = os.environ.get(ENV_PASSCODE)
    if given:
        return given
    if not sys.stdin.isatty():
        raise ShareError(
            f"a share needs a passcode: set {ENV_PASSCODE}, share from a terminal, or pass "
            "--no-passcode"
        )
    first = getpass.getpass("Passcode for the recipient: ")
    if first != getpass.getpass("Repeat the passcode: "):
        raise ShareError("the two passcodes differ; nothing was shared")
    return first


def _content(vault: Any, args: argparse.Namespace) -> tuple[Any, str]:
    from healthlocker.sharing import patient_summary, records_of_types

    if args.types:
        types = [t.strip() for t in args.types.split(",") if t.strip()]
        content = records_of_types(vault, types, since=args.since, patient=args.patient)
        return content, "types:" + ",".join(types)
    if args.since:
        raise ShareError("--since goes with --types; a patient summary chooses its own records")
    return patient_summary(vault, patient=args.patient), "patient summary"


COMMANDS = (share,)
