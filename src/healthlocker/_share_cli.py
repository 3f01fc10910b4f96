"""``healthlocker share``: make, list and revoke SMART Health Links for a clinician.

Kept apart from the rest of the command line (``cli``): its parser flags and its handler.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from healthlocker.errors import HealthLockerError, ShareError

ENV_PASSCODE = "HEALTHLOCKER_SHL_PASSCODE"
DEFAULT_URL = "http://127.0.0.1:8765"  # `serve --http`'s own default address


def add_arguments(p: argparse.ArgumentParser) -> None:
    what = p.add_mutually_exclusive_group()
    what.add_argument("--list", action="store_true", help="the live shares, and their use")
    what.add_argument("--revoke", metavar="ID", help="stop a share at once (its link 404s)")
    what.add_argument(
        "--types",
        metavar="TYPE,TYPE",
        help="share every record of these FHIR types instead of a patient summary",
    )
    p.add_argument("--since", metavar="DATE", help="with --types: only records from DATE on")
    p.add_argument(
        "--patient", metavar="ID", help="whose summary (default: the one with the newest records)"
    )
    p.add_argument(
        "--for",
        dest="duration",
        default="7d",
        metavar="DURATION",
        help="how long the link works: 1h, 24h, 7d, 30d (default 7d; at most 90d)",
    )
    p.add_argument(
        "--label", default="Patient summary", help="what the recipient sees (at most 80 chars)"
    )
    p.add_argument(
        "--no-passcode",
        action="store_true",
        help=f"no passcode (default: one is required: ${ENV_PASSCODE}, else asked)",
    )
    p.add_argument(
        "--public-url",
        metavar="URL",
        default=DEFAULT_URL,
        help=f"where `serve --http` answers for this vault (default {DEFAULT_URL})",
    )
    p.add_argument("--qr", metavar="FILE", help="the QR code PNG (default share-ID.png)")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary")


def cmd_share(args: argparse.Namespace, open_vault: Callable[[], Any]) -> int:
    from healthlocker.sharing import Shares

    with open_vault() as vault:
        shares = Shares(vault)
        if args.list:
            return _list(shares, args.json)
        if args.revoke:
            shares.revoke(args.revoke)
            print(f"Revoked share {args.revoke}: its link no longer opens.")
            return 0
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
    from healthlocker.sharing import write_qr

    write_qr(new.link, qr)
    _report(new, qr, args, passcode is not None)
    return 0


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
        return records_of_types(vault, types, since=args.since), "types:" + ",".join(types)
    if args.since:
        raise ShareError("--since goes with --types; a patient summary chooses its own records")
    patient = args.patient
    if patient and not patient.startswith("Patient/"):
        patient = f"Patient/{patient}"
    return patient_summary(vault, patient=patient), "patient summary"


def _report(new: Any, qr: Path, args: argparse.Namespace, passcode: bool) -> None:
    until = time.strftime("%Y-%m-%d %H:%M", time.localtime(new.expires))
    if args.json:
        doc = {"id": new.id, "link": new.link, "qr": str(qr), "expires": int(new.expires)}
        print(json.dumps({**doc, "records": new.records, "passcode": passcode}, indent=2))
        return
    print(new.link)
    print(f"Share {new.id}: {new.records} records, until {until}; QR code in {qr}.")
    if passcode:
        print("Tell the recipient the passcode another way (not with the link).")
    print(
        f"The link works while `healthlocker serve --http` answers at {args.public_url}; "
        f"`healthlocker share --revoke {new.id}` stops it sooner."
    )


def _list(shares: Any, as_json: bool) -> int:
    found = shares.list()
    if as_json:
        print(json.dumps([{**vars(s), "disabled": s.disabled} for s in found], indent=2))
        return 0
    if not found:
        print("No live shares.")
    for s in found:
        until = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.expires))
        state = "DISABLED (too many wrong passcodes)" if s.disabled else f"until {until}"
        code = "passcode" if s.passcode else "no passcode"
        print(
            f"{s.id}  {s.label!r}: {s.what}, {s.records} records, {code}, {state}; "
            f"opened {s.accesses} time(s), {s.failures} wrong passcode(s)"
        )
    return 0
