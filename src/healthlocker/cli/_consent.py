"""Consent outside the assistant: ``grant``, ``grants``, ``revoke``, ``audit``."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from healthlocker.cli._command import (
    JSON_FLAG,
    Result,
    Said,
    UsageError,
    arg,
    command,
    iso_date,
    one_of,
)
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
        store = GrantStore(vault)
        replaced = store.same_as(client=args.client, tool=args.tool, window=window)
        made = store.add(client=args.client, tool=args.tool, duration=duration, window=window)
    what = "every tool" if made.tool == ALL_TOOLS else made.tool
    instead = f" It replaces {', '.join(g.id for g in replaced)}." if replaced else ""
    return Said(
        f"Granted {made.id}: {made.client!r} may use {what} over "
        f"{describe_window(made.window)} until {when(made.expires)}.{instead}"
    )


@dataclass
class Grants(Result):
    grants: list[Any]  # consent.Grant
    now: Any
    everything: bool
    labels: dict[str, Any]  # server.ClientLabel of each registered client, by id

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
            client = _client(self.labels, g.client)
            rows.append((g.id, client, g.tool, describe_window(g.window), when(g.expires), status))
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
    from healthlocker.server import client_labels

    with open_vault(args) as vault:
        store = GrantStore(vault)
        now = store.clock()
        shown = [g for g in store.all() if args.all or g.live(now)]
        labels = client_labels(vault)
    return Grants(shown, now, everything=args.all, labels=labels)


def _client(labels: dict[str, Any], client: str) -> str:
    """A client as the tables show it: a registered (remote) one by its own name and short id,
    e.g. ``Claude (3f9a1c2b)``; any other by the name it has in grants."""
    label = labels.get(client)
    return str(label.text) if label is not None else client


@command(
    "revoke",
    "withdraw a grant, all of them, or everything one assistant holds",
    arg("id", nargs="?", metavar="ID"),
    arg("--all", action="store_true"),
    arg(
        "--client",
        metavar="NAME",
        help="revoke everything this assistant holds: its grants, its tokens and (for a "
        "remote one) its registration; NAME as `grants` shows it, or its id",
    ),
)
def revoke(args: argparse.Namespace) -> Result:
    if sum(map(bool, (args.id, args.all, args.client))) != 1:
        raise UsageError("name one grant ID, or give --all, or --client NAME")
    if args.client:
        return _revoke_client(args)
    from healthlocker.consent import GrantStore

    with open_vault(args) as vault:
        gone = GrantStore(vault).revoke(None if args.all else args.id)
    return Said(
        f"Revoked {len(gone)} grant(s); it takes effect on the next call, "
        "also in a server that is already running."
    )


def _revoke_client(args: argparse.Namespace) -> Result:
    from healthlocker.server import client_labels, find_client, revoke_client

    with open_vault(args) as vault:
        client = find_client(vault, args.client)
        shown = _client(client_labels(vault), client)
        done = revoke_client(vault, client)
    removed = "; its registration is removed" if done.registration else ""
    return Said(
        f"Revoked everything {shown!r} held: {done.grants} grant(s) and "
        f"{done.families} sign-in(s){removed}. It takes effect on its next call, also in a "
        "server that is already running."
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
    labels: dict[str, Any]  # server.ClientLabel of each registered client, by id

    def public(self) -> Any:
        return [{"seq": e.seq, **e.event.__dict__, "redacted": e.redacted} for e in self.entries]

    def show(self) -> None:
        if not self.entries:
            print("No audit entries match.")
            return
        rows = [_entry_row(e, self.labels) for e in self.entries]
        columns = ("#", "when (UTC)", "client", "tool", "outcome", "records", "grant", "arguments")
        print_table("Audit log", columns, rows)


def _entry_row(e: Any, labels: dict[str, Any]) -> tuple[str, ...]:
    ev = e.event
    shown = ", ".join(f"{k}={v}" for k, v in ev.arguments.items() if v not in (None, False))
    return (
        str(e.seq),
        ev.at[:19].replace("T", " "),
        _client(labels, ev.client),
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
    arg("--since", metavar="DATE", type=iso_date, help="entries on or after DATE (YYYY-MM-DD)"),
    JSON_FLAG,
)
def audit(args: argparse.Namespace) -> Result:
    from healthlocker.consent import AuditLog
    from healthlocker.server import client_labels

    with open_vault(args) as vault:
        log = AuditLog(vault)
        if args.verify:
            problems = log.verify()
            return Verified(problems, None if problems else len(log.entries()))
        labels = client_labels(vault)
        return Entries(
            [
                e
                for e in log.entries()
                if (not args.client or _names(labels, e.event.client, args.client))
                and (not args.tool or e.event.tool == args.tool)
                and (not args.since or e.event.at[:10] >= args.since)
            ],
            labels,
        )


def _names(labels: dict[str, Any], client: str, wanted: str) -> bool:
    """Whether *wanted* names *client*: its name in grants, or a registered one's short id."""
    label = labels.get(client)
    return wanted == client or (label is not None and wanted == label.short)


COMMANDS = (grant, grants, revoke, audit)
