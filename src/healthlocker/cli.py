"""The ``healthlocker`` command.

Exit status: 0 success, 1 a failure the message explains, 2 wrong usage. A HealthLockerError
becomes one line on stderr, never a traceback. Tables and summaries go to stdout; progress goes
to stderr, and only on a terminal.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from healthlocker import __version__
from healthlocker.errors import ConsentError, HealthLockerError, StoreError

Handler = Callable[[argparse.Namespace], int]


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # Piped output is read by scripts and pagers: don't wrap tables at 80 columns there.
    width = None if stream.isatty() else 160
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def _prompt(text: str) -> str:
    if not sys.stdin.isatty():
        raise StoreError("the vault is locked: set HEALTHLOCKER_PASSPHRASE (no terminal to ask on)")
    return getpass.getpass(text)


def _open_vault(args: argparse.Namespace) -> Any:
    from healthlocker.store import Vault

    return Vault.open(args.home, prompt=_prompt)


def _new_passphrase(label: str = "passphrase") -> str:
    env = os.environ.get("HEALTHLOCKER_PASSPHRASE")
    if env:
        return env
    first = _prompt(f"New {label}: ")
    if first != _prompt(f"Repeat the {label}: "):
        raise StoreError("the two passphrases differ; nothing was changed")
    if len(first) < 8:
        raise StoreError("choose a passphrase of at least 8 characters")
    return first


# -- commands ---------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from healthlocker.store import Vault

    passphrase = None
    if not args.keyring or os.environ.get("HEALTHLOCKER_PASSPHRASE"):
        passphrase = _new_passphrase()
    with Vault.create(args.home, passphrase=passphrase, keyring=args.keyring) as vault:
        how = " and ".join(["passphrase"] * bool(passphrase) + ["OS keyring"] * args.keyring)
        print(f"Created an encrypted vault in {Path(str(vault.path)).parent} (unlocks with {how}).")
    return 0


def cmd_passphrase(args: argparse.Namespace) -> int:
    with _open_vault(args) as vault:
        new = os.environ.get("HEALTHLOCKER_NEW_PASSPHRASE") or _new_passphrase("passphrase")
        vault.change_passphrase(new)
    print("Passphrase changed; the data was not re-encrypted (only the master key is re-wrapped).")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from healthlocker.connectors import import_paths

    with _open_vault(args) as vault:
        if sys.stderr.isatty() and not args.json:
            report = _import_with_progress(vault, args)
        else:
            report = import_paths(vault, args.paths, source=args.source, fmt=args.format)
    totals = report.totals()
    if args.json:
        files = [
            {
                "path": f.path,
                "format": f.format,
                "error": f.error,
                **(
                    {
                        "added": f.result.added,
                        "updated": f.result.updated,
                        "unchanged": f.result.unchanged,
                        "already_imported": f.result.skipped_file,
                        "by_type": f.result.by_type,
                    }
                    if f.result
                    else {}
                ),
            }
            for f in report.files
        ]
        print(json.dumps({"ok": report.ok, **totals, "files": files}, indent=2))
    else:
        for f in report.files:
            if f.error:
                print(f"error: {f.error}", file=sys.stderr)
        print(
            f"Imported {totals['file_count'] - totals['failed']} of {totals['file_count']} "
            "file(s): "
            f"{totals['added']} added, {totals['updated']} updated, {totals['unchanged']} unchanged"
            + (f", {totals['skipped_files']} already imported" if totals["skipped_files"] else "")
            + (f"; {totals['failed']} failed, nothing of them stored" if totals["failed"] else "")
            + "."
        )
    return 0 if report.ok else 1


def _import_with_progress(vault: Any, args: argparse.Namespace) -> Any:
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from healthlocker.connectors import import_paths
    from healthlocker.connectors._import import expand

    try:
        total = sum(p.stat().st_size for p, _ in expand(args.paths))
    except (HealthLockerError, OSError):
        total = 0
    columns = ("{task.description}", BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task("Importing", total=total or None)
        return import_paths(
            vault,
            args.paths,
            source=args.source,
            fmt=args.format,
            progress=lambda n: bar.advance(task, n),
        )


def cmd_sources(args: argparse.Namespace) -> int:
    with _open_vault(args) as vault:
        sources = vault.sources()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "label": s.label,
                        "kind": s.kind,
                        "created": s.created,
                        "updated": s.updated,
                        "batches": s.batches,
                        "resources": s.total,
                        "by_type": s.counts,
                    }
                    for s in sources
                ],
                indent=2,
            )
        )
        return 0
    if not sources:
        print("The vault is empty; add records with `healthlocker import PATH`.")
        return 0
    from rich.table import Table

    table = Table(title="Sources")
    for col in ("source", "kind", "resources", "by type", "last import (UTC)"):
        table.add_column(col)
    for s in sources:
        by_type = "\n".join(f"{t} {n}" for t, n in s.counts.items())
        table.add_row(s.label, s.kind, str(s.total), by_type, s.updated[:16].replace("T", " "))
    _console().print(table)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    with _open_vault(args) as vault:
        stats = vault.stats()
        sources = vault.sources()
    last = max((s.updated for s in sources), default=None)
    stats["last_import"] = last
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"Vault:     {stats['path']}")
    print(f"Unlocks:   {', '.join(stats['unlock'])}")
    print(
        f"Holds:     {stats['resources']} resources from {stats['sources']} source(s), "
        f"{stats['batches']} import batch(es), {stats['bytes'] / 2**20:.1f} MiB on disk"
    )
    print(f"Freshest:  {last.replace('+00:00', ' UTC') if last else 'nothing imported yet'}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from healthlocker.store import export_bundle

    with _open_vault(args) as vault:
        count = export_bundle(vault, Path(args.out))
    print(f"Exported {count} resources, decrypted, as one FHIR Bundle to {args.out}.")
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    if bool(args.source) == bool(args.all):
        print("healthlocker forget: name one SOURCE or give --all", file=sys.stderr)
        return 2
    from healthlocker.consent import AuditLog

    with _open_vault(args) as vault:
        log = AuditLog(vault)
        gone = vault.forget(None if args.all else args.source, also=log.forget_sources)
    print(f"Forgot {len(gone)} source(s) for good: their keys are destroyed and pages scrubbed.")
    return 0


def cmd_grant(args: argparse.Namespace) -> int:
    from healthlocker.consent import ALL_TOOLS, GrantStore, describe_window, parse_duration
    from healthlocker.consent import window_for as window_of

    duration = parse_duration(args.duration)
    window = window_of(since=args.since, months=args.months)
    with _open_vault(args) as vault:
        if args.tool != ALL_TOOLS and args.tool not in _tool_names():
            raise ConsentError(
                f"no tool named {args.tool!r}; one of: {', '.join(_tool_names())}, or all"
            )
        grant = GrantStore(vault).add(
            client=args.client, tool=args.tool, duration=duration, window=window
        )
    what = "every tool" if grant.tool == ALL_TOOLS else grant.tool
    print(
        f"Granted {grant.id}: {grant.client!r} may use {what} over "
        f"{describe_window(grant.window)} until {_when(grant.expires)}."
    )
    return 0


def _tool_names() -> list[str]:
    from healthlocker.consent import TOOLS

    return list(TOOLS)


def _when(stamp: str) -> str:
    return stamp[:16].replace("T", " ") + " UTC"


def cmd_grants(args: argparse.Namespace) -> int:
    from healthlocker.consent import GrantStore, describe_window

    with _open_vault(args) as vault:
        store = GrantStore(vault)
        now = store.clock()
        grants = [g for g in store.all() if args.all or g.live(now)]
    if args.json:
        print(json.dumps([{**g.__dict__, "live": g.live(now)} for g in grants], indent=2))
        return 0
    if not grants:
        print(
            "No live grants: no assistant can read anything without asking."
            if not args.all
            else "No grants yet."
        )
        return 0
    from rich.table import Table

    table = Table(title="Grants" if args.all else "Live grants")
    for col in ("id", "client", "tool", "records", "until", "status"):
        table.add_column(col)
    for g in grants:
        status = "revoked" if g.revoked else ("live" if g.live(now) else "expired")
        table.add_row(g.id, g.client, g.tool, describe_window(g.window), _when(g.expires), status)
    _console().print(table)
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    if bool(args.id) == bool(args.all):
        print("healthlocker revoke: name one grant ID or give --all", file=sys.stderr)
        return 2
    from healthlocker.consent import GrantStore

    with _open_vault(args) as vault:
        gone = GrantStore(vault).revoke(None if args.all else args.id)
    print(
        f"Revoked {len(gone)} grant(s); it takes effect on the next call, "
        "also in a server that is already running."
    )
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from healthlocker.consent import AuditLog

    with _open_vault(args) as vault:
        log = AuditLog(vault)
        if args.verify:
            problems = log.verify()
            count = len(log.entries()) if not problems else None
            if args.json:
                print(
                    json.dumps(
                        {"intact": not problems, "problems": [p.__dict__ for p in problems]},
                        indent=2,
                    )
                )
            elif problems:
                for p in problems:
                    print(f"audit entry {p.seq}: {p.what}", file=sys.stderr)
            else:
                print(f"The audit log is intact: {count} entries, chain and head verified.")
            return 1 if problems else 0
        entries = [
            e
            for e in log.entries()
            if (not args.client or e.event.client == args.client)
            and (not args.tool or e.event.tool == args.tool)
            and (not args.since or e.event.at[:10] >= args.since)
        ]
    if args.json:
        print(
            json.dumps(
                [{"seq": e.seq, **e.event.__dict__, "redacted": e.redacted} for e in entries],
                indent=2,
            )
        )
        return 0
    if not entries:
        print("No audit entries match.")
        return 0
    from rich.table import Table

    table = Table(title="Audit log")
    for col in ("#", "when (UTC)", "client", "tool", "outcome", "records", "grant", "arguments"):
        table.add_column(col)
    for e in entries:
        ev = e.event
        shown = (
            "(forgotten)"
            if e.redacted
            else ", ".join(f"{k}={v}" for k, v in ev.arguments.items() if v not in (None, False))
        )
        table.add_row(
            str(e.seq),
            ev.at[:19].replace("T", " "),
            ev.client,
            ev.tool,
            ev.outcome,
            str(ev.records),
            ev.grant_id or "",
            shown,
        )
    _console().print(table)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from healthlocker.server import serve_stdio

    serve_stdio(home=args.home, client=args.client, ephemeral=args.ephemeral)
    return 0


# -- wiring -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="healthlocker",
        description="Your health records, encrypted and consented, for any MCP assistant.",
    )
    parser.add_argument("--version", action="version", version=f"healthlocker {__version__}")
    parser.add_argument(
        "--home", help="vault folder (default: $HEALTHLOCKER_HOME or the per-user data folder)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Handler, help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(handler=handler)
        return p

    p = add("init", cmd_init, "create an empty encrypted vault")
    p.add_argument(
        "--keyring", action="store_true", help="keep the unlock secret in the OS keyring"
    )
    add("passphrase", cmd_passphrase, "change the vault passphrase (re-wraps keys only)")
    p = add("import", cmd_import, "import FHIR files (Bundle JSON, NDJSON, or folders of them)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--source", help="label for this source (default: the file or folder name)")
    p.add_argument("--format", choices=("fhir-json", "ndjson"), help="skip detection")
    p.add_argument("--json", action="store_true", help="print a machine-readable summary")
    for name, handler, help_ in (
        ("sources", cmd_sources, "what is stored, per source and type"),
        ("status", cmd_status, "the vault: where, how big, how fresh"),
    ):
        add(name, handler, help_).add_argument("--json", action="store_true")
    p = add("serve", cmd_serve, "run the MCP server over stdio (for an assistant's MCP config)")
    p.add_argument(
        "--client", help="the client's name for consent and audit (default: as reported)"
    )
    p.add_argument(
        "--ephemeral",
        nargs="+",
        metavar="PATH",
        help="import these files into memory for this session only; write nothing",
    )
    p = add("grant", cmd_grant, "let an assistant use a tool (or all) for a while")
    p.add_argument("tool", metavar="TOOL|all")
    p.add_argument("--client", required=True, help="the assistant's name, as in the audit")
    p.add_argument(
        "--for",
        dest="duration",
        default="24h",
        metavar="DURATION",
        help="how long: 30m, 1h, 24h, 30d, 2w (default 24h; at most 366d)",
    )
    span = p.add_mutually_exclusive_group()
    span.add_argument("--since", metavar="DATE", help="only records dated on or after DATE")
    span.add_argument("--months", type=int, metavar="N", help="only the last N months of records")
    p = add("grants", cmd_grants, "review consent: live grants (--all: past ones too)")
    p.add_argument("--all", action="store_true")
    p.add_argument("--json", action="store_true")
    p = add("revoke", cmd_revoke, "withdraw a grant (or all of them)")
    p.add_argument("id", nargs="?", metavar="ID")
    p.add_argument("--all", action="store_true")
    p = add("audit", cmd_audit, "who read what, when; --verify checks the log is intact")
    p.add_argument("--verify", action="store_true")
    p.add_argument("--client")
    p.add_argument("--tool")
    p.add_argument("--since", metavar="DATE")
    p.add_argument("--json", action="store_true")
    p = add("export", cmd_export, "everything, decrypted, as one FHIR Bundle")
    p.add_argument("--out", required=True, metavar="FILE")
    p = add("forget", cmd_forget, "erase a source (or everything) for good")
    p.add_argument("source", nargs="?", metavar="SOURCE")
    p.add_argument("--all", action="store_true", help="erase every source")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
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


if __name__ == "__main__":
    sys.exit(main())
