"""Linked patient-access APIs: ``connect``, ``sync``."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import Any

from healthlocker.cli._command import JSON_FLAG, Result, Said, arg, command
from healthlocker.cli._common import console, open_vault, when
from healthlocker.errors import HealthLockerError, StoreError


@command(
    "connect",
    "link a SMART on FHIR patient-access API (signs you in)",
    arg("name", metavar="NAME", help="your name for this API, e.g. my-clinic"),
    arg("--fhir-base", metavar="URL", help="the FHIR base URL (or from --preset)"),
    arg("--client-id", metavar="ID", help="the client id of your registered app"),
    arg("--client-secret-env", metavar="VAR", help="read a confidential client's secret from VAR"),
    arg(
        "--scope",
        action="append",
        metavar="SCOPE",
        help="a scope to ask for (repeatable; default launch/patient patient/*.rs offline_access)",
    ),
    arg(
        "--preset",
        metavar="P",
        help="a known API: athenahealth, athenahealth-preview, bluebutton, bluebutton-sandbox, "
        "eclinicalworks, epic, epic-sandbox, meditech, oracle-health, oracle-health-sandbox, "
        "smarthealthit (see docs/connect.md)",
    ),
    arg("--no-browser", action="store_true", help="print the sign-in URL only"),
    arg("--timeout", type=float, default=300.0, metavar="S", help="seconds to wait for sign-in"),
)
def connect(args: argparse.Namespace) -> Result:
    import webbrowser

    from healthlocker.connectors import connect_link

    secret = None
    if args.client_secret_env:
        secret = os.environ.get(args.client_secret_env)
        if not secret:
            raise StoreError(f"the environment variable {args.client_secret_env} is not set")

    def show(url: str) -> None:
        print(f"Sign in and approve access at:\n  {url}", file=sys.stderr, flush=True)
        if not args.no_browser:
            webbrowser.open(url)

    with open_vault(args) as vault:
        link = connect_link(
            vault,
            args.name,
            fhir_base=args.fhir_base,
            client_id=args.client_id,
            client_secret=secret,
            scopes=args.scope,
            preset=args.preset,
            open_url=show,
            timeout=args.timeout,
        )
    expiry = f"; token valid until {when(link.expires_at)}" if link.expires_at else ""
    refresh = "" if link.refresh_token else " (no refresh token: sync may need a new connect)"
    return Said(
        f"Linked {link.name!r} ({link.fhir_base}) with scopes: {link.scope}{expiry}{refresh}. "
        f"Run `healthlocker sync {link.name}` to fetch the records."
    )


@dataclass
class Synced(Result):
    # Per API: its name, and what the sync did or the error that stopped it.
    results: list[tuple[str, Any, str | None]]

    def public(self) -> Any:
        return [
            result.public() if result is not None else {"name": name, "ok": False, "error": error}
            for name, result, error in self.results
        ]

    def show(self) -> None:
        for name, result, error in self.results:
            if error or result is None:
                print(f"error: {error}", file=sys.stderr)
                continue
            fetched = sum(result.fetched.values())
            print(
                f"Synced {name!r}: {fetched} fetched "
                f"({'changes since the last sync' if result.incremental else 'first sync'}), "
                f"{result.added} added, {result.updated} updated, {result.unchanged} unchanged; "
                f"{result.stats.requests} requests in {result.elapsed:.1f} s."
            )
            for line in result.notes():
                print(f"  {line}")

    def exit_code(self) -> int:
        return 0 if all(error is None for _, _, error in self.results) else 1


@command(
    "sync",
    "fetch what is new from linked APIs (one, or all)",
    arg("name", nargs="?", metavar="NAME"),
    arg("--full", action="store_true", help="fetch everything, not only changes"),
    arg("--page-size", type=int, default=100, metavar="N", help="_count per page"),
    arg(
        "--deadline",
        type=float,
        default=3600.0,
        metavar="S",
        help="seconds one API's sync may take in all (default 3600)",
    ),
    JSON_FLAG,
)
def sync(args: argparse.Namespace) -> Result:
    from healthlocker.connectors import LinkStore

    results: list[tuple[str, Any, str | None]] = []
    with open_vault(args) as vault:
        names = [args.name] if args.name else [link.name for link in LinkStore(vault).all()]
        if not names:
            raise StoreError("no linked APIs; add one with `healthlocker connect NAME ...`")
        for name in names:
            try:
                results.append((name, _sync_one(vault, name, args), None))
            except HealthLockerError as exc:
                if args.name:
                    raise
                results.append((name, None, str(exc)))
    return Synced(results)


def _sync_one(vault: Any, name: str, args: argparse.Namespace) -> Any:
    from healthlocker.connectors import sync_link

    options = {"page_size": args.page_size, "full": args.full, "deadline": args.deadline}
    if not sys.stderr.isatty() or args.json:
        return sync_link(vault, name, **options)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress

    columns = ("{task.description}", BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console(stderr=True), transient=True) as bar:
        tasks: dict[str, Any] = {}

        def progress(rtype: str, done: int, total: int | None) -> None:
            if rtype not in tasks:
                tasks[rtype] = bar.add_task(f"{name}: {rtype}", total=total)
            bar.update(tasks[rtype], completed=done, total=total or done)

        return sync_link(vault, name, progress=progress, **options)


COMMANDS = (connect, sync)
