"""Consent outside the assistant: ``grant``, ``grants``, ``revoke``, ``audit``."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from healthlocker.cli._command import JSON_FLAG, Result, Said, UsageError, arg, command, one_of
from healthlocker.cli._common import open_vault, print_table, when
from healthlocker.errors import ConsentError


@command(
    "grant",
    "let an assistant use a tool (or all) for a while",
    arg("tool", metavar="TOOL|all"),
    arg("--client", required=True, help="the assistant's name, as in the audit"),
    arg(
        "--for",
        dest="duration",
        default="24h",
        metavar="DURATION",
        help="how long: 30m, 1h, 24h, 30d, 2w (default 24h; at most 366d)",
    ),
    one_of(
        arg("--since", metavar="DATE", help="only records dated on or after DATE"),
        arg("--months", type=int, metavar="N", help="only the last N months of records"),
    ),
)
def grant(args: argparse.Namespace) -> Result:
    from healthlocker.catalogue import TOOL_NAMES
    from healthlocker.consent import (
        ALL_TOOLS,
        GrantStore,
        describe_window,
        parse_duration,
        window_for,
    )

    duration = parse_duration(args.duration)
    window = window_for(since=args.since, months=args.months)
    with open_vault(args) as vault:
        if args.tool != ALL_TOOLS and args.tool not in TOOL_NAMES:
            raise ConsentError(
                f"no tool named {args.tool!r}; one of: {', '.join(TOOL_NAMES)}, or all"
            )
        made = GrantStore(vault).add(
            client=args.client, tool=args.tool, duration=duration, window=window
        )
    what = "every tool" if made.tool == ALL_TOOLS else made.tool
    return Said(
        f"Granted {made.id}: {made.client!r} may use {what} over "
        f"{describe_window(made.window)} until {when(made.expires)}."
    )


@dataclass
class Grants(Result):
    grants: list[Any]  # consent.Grant
    now: Any
    everything: bool

    def public(self) -> Any:
        return [{**g.__dict__, "live": g.live(self.now)} for g in self.grants]

    def show(self) -> None:
        from healthlocker.consent import describe_window

        if not self.grants:
            print(
                "No live grants: no assistant can read anything without asking."
                if not self.everything
                else "No grants yet."
            )
            return
        rows = []
        for g in self.grants:
            status = "revoked" if g.revoked else ("live" if g.live(self.now) else "expired")
            rows.append(
                (g.id, g.client, g.tool, describe_window(g.window), when(g.expires), status)
            )
        columns = ("id", "client", "tool", "records", "until", "status")
        print_table("Grants" if self.everything else "Live grants", columns, rows)


@command(
    "grants",
    "review consent: live grants (--all: past ones too)",
    arg("--all", action="store_true"),
    JSON_FLAG,
)
def grants(args: argparse.Namespace) -> Result:
    from healthlocker.consent import GrantStore

    with open_vault(args) as vault:
        store = GrantStore(vault)
        now = store.clock()
        shown = [g for g in store.all() if args.all or g.live(now)]
    return Grants(shown, now, everything=args.all)


@command(
    "revoke",
    "withdraw a grant (or all of them)",
    arg("id", nargs="?", metavar="ID"),
    arg("--all", action="store_true"),
)
def revoke(args: argparse.Namespace) -> Result:
    if bool(args.id) == bool(args.all):
        raise UsageError("name one grant ID or give --all")
    from healthlocker.consent import GrantStore

    with open_vault(args) as vault:
        gone = GrantStore(vault).revoke(None if args.all else args.id)
    return Said(
        f"Revoked {len(gone)} grant(s); it takes effect on the next call, "
        "also in a server that is already running."
    )


@dataclass
class Verified(Result):
    problems: list[Any]  # consent.Problem
    count: int | None

    def public(self) -> Any:
        return {"intact": not self.problems, "problems": [p.__dict__ for p in self.problems]}

    def show(self) -> None:
        for p in self.problems:
            print(f"audit entry {p.seq}: {p.what}", file=sys.stderr)
        if not self.problems:
            print(f"The audit log is intact: {self.count} entries, chain and head verified.")

    def exit_code(self) -> int:
        return 1 if self.problems else 0


@dataclass
class Entries(Result):
    entries: list[Any]  # consent.AuditEntry

    def public(self) -> Any:
        return [{"seq": e.seq, **e.event.__dict__, "redacted": e.redacted} for e in self.entries]

    def show(self) -> None:
        if not self.entries:
            print("No audit entries match.")
            return
        rows = [_entry_row(e) for e in self.entries]
        columns = ("#", "when (UTC)", "client", "tool", "outcome", "records", "grant", "arguments")
        print_table("Audit log", columns, rows)


def _entry_row(e: Any) -> tuple[str, ...]:
    ev = e.event
    shown = ", ".join(f"{k}={v}" for k, v in ev.arguments.items() if v not in (None, False))
    return (
        str(e.seq),
        ev.at[:19].replace("T", " "),
        ev.client,
        ev.tool,
        ev.outcome,
        str(ev.records),
        ev.grant_id or "",
        "(forgotten)" if e.redacted else shown,
    )


@command(
    "audit",
    "who read what, when; --verify checks the log is intact",
    arg("--verify", action="store_true"),
    arg("--client"),
    arg("--tool"),
    arg("--since", metavar="DATE"),
    JSON_FLAG,
)
def audit(args: argparse.Namespace) -> Result:
    from healthlocker.consent import AuditLog

    with open_vault(args) as vault:
        log = AuditLog(vault)
        if args.verify:
            problems = log.verify()
            return Verified(problems, None if problems else len(log.entries()))
        return Entries(
            [
                e
                for e in log.entries()
                if (not args.client or e.event.client == args.client)
                and (not args.tool or e.event.tool == args.tool)
                and (not args.since or e.event.at[:10] >= args.since)
            ]
        )


COMMANDS = (grant, grants, revoke, audit)
