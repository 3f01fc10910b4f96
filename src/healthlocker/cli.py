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
from collections.abc import Callable, Iterator, Sequence
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
            report = import_paths(
                vault,
                args.paths,
                source=args.source,
                fmt=args.format,
                weight_unit=args.weight_unit,
                person=args.person,
            )
    totals = report.totals()
    if args.json:
        files = [
            {
                "path": f.path,
                "format": f.format,
                "error": f.error,
                "notes": f.notes,
                "people": [p.__dict__ for p in f.people],
                **(
                    {
                        "added": f.result.added,
                        "updated": f.result.updated,
                        "unchanged": f.result.unchanged,
                        "already_imported": f.result.skipped_file,
                        "already_in": f.result.already_in,
                        "by_type": f.result.by_type,
                    }
                    if f.result
                    else {}
                ),
            }
            for f in report.files
        ]
        skipped = [{"path": s.path, "why": s.why} for s in report.skipped]
        print(json.dumps({"ok": report.ok, **totals, "files": files, "skipped": skipped}, indent=2))
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
        for f in report.files:
            for note in f.notes if not f.error else ():
                print(f"  {Path(f.path).name}: {note}")
        for said in report.people_said():
            print(f"  {said}")
        _print_skipped(report.skipped)
    return 0 if report.ok else 1


def _print_skipped(skipped: list[Any], shown: int = 20) -> None:
    """The files of the folders given that were not imported, and why; never silently."""
    if skipped:
        print(f"Passed over {len(skipped)} file(s) of the folder(s) given:")
    for s in skipped[:shown]:
        print(f"  {s.path}: {s.why}")
    if len(skipped) > shown:
        print(f"  … and {len(skipped) - shown} more (--json lists every one)")


def _import_with_progress(vault: Any, args: argparse.Namespace) -> Any:
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from healthlocker.connectors import import_paths, plan_import

    try:
        plan = plan_import(args.paths, args.format)
        total = plan.total_bytes()
    except HealthLockerError:
        plan, total = args.paths, 0
    columns = ("{task.description}", BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task("Importing", total=total or None)
        return import_paths(
            vault,
            plan,
            source=args.source,
            fmt=args.format,
            progress=lambda n: bar.advance(task, n),
            weight_unit=args.weight_unit,
            person=args.person,
        )


def cmd_people(args: argparse.Namespace) -> int:
    from healthlocker import _cli_people

    with _open_vault(args) as vault:
        said = _cli_people.run(args, vault)
        rows = _cli_people.listing(vault) if said is None else []
    if said is not None:
        print(said)
    elif args.json:
        print(json.dumps(rows, indent=2))
    else:
        _console().print(_cli_people.table(rows))
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from healthlocker.connectors import LinkStore

    with _open_vault(args) as vault:
        sources = vault.sources()
        links = LinkStore(vault).all()
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
                ]
                if not args.links
                else [link.public() for link in links],
                indent=2,
            )
        )
        return 0
    if links:
        _print_links(links, {s.label: s.total for s in sources})
    if not sources:
        if not links:
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


def _print_links(links: list[Any], totals: dict[str, int]) -> None:
    from rich.table import Table

    table = Table(title="Linked APIs")
    for col in ("name", "FHIR base", "resources", "last sync (UTC)", "token"):
        table.add_column(col)
    for link in links:
        left = link.expires_in()
        if left is None:
            token = "no expiry given"
        elif left > 0:
            token = f"expires {_when(link.expires_at)}"
        else:
            token = "expired" + (", will refresh" if link.refresh_token else "; connect again")
        last = _when(link.last_sync) if link.last_sync else "never"
        table.add_row(link.name, link.fhir_base, str(totals.get(link.name, 0)), last, token)
    _console().print(table)


def cmd_connect(args: argparse.Namespace) -> int:
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

    with _open_vault(args) as vault:
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
    expiry = f"; token valid until {_when(link.expires_at)}" if link.expires_at else ""
    refresh = "" if link.refresh_token else " (no refresh token: sync may need a new connect)"
    print(
        f"Linked {link.name!r} ({link.fhir_base}) with scopes: {link.scope}{expiry}{refresh}. "
        f"Run `healthlocker sync {link.name}` to fetch the records."
    )
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from healthlocker.connectors import LinkStore, SyncResult, sync_link

    results: list[tuple[str, SyncResult | None, str | None]] = []
    with _open_vault(args) as vault:
        names = [args.name] if args.name else [link.name for link in LinkStore(vault).all()]
        if not names:
            raise StoreError("no linked APIs; add one with `healthlocker connect NAME ...`")
        for name in names:
            try:
                if sys.stderr.isatty() and not args.json:
                    result = _sync_with_progress(vault, name, args)
                else:
                    result = sync_link(
                        vault,
                        name,
                        page_size=args.page_size,
                        full=args.full,
                        deadline=args.deadline,
                    )
                results.append((name, result, None))
            except HealthLockerError as exc:
                if args.name:
                    raise
                results.append((name, None, str(exc)))
    if args.json:
        print(json.dumps([_sync_json(n, r, e) for n, r, e in results], indent=2))
    else:
        for name, result, error in results:
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
    return 0 if all(error is None for _, _, error in results) else 1


def _sync_json(name: str, result: Any, error: str | None) -> dict[str, Any]:
    if result is None:
        return {"name": name, "ok": False, "error": error}
    summary: dict[str, Any] = result.public()
    return summary


def _sync_with_progress(vault: Any, name: str, args: argparse.Namespace) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress

    from healthlocker.connectors import sync_link

    columns = ("{task.description}", BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=_console(stderr=True), transient=True) as bar:
        tasks: dict[str, Any] = {}

        def progress(rtype: str, done: int, total: int | None) -> None:
            if rtype not in tasks:
                tasks[rtype] = bar.add_task(f"{name}: {rtype}", total=total)
            bar.update(tasks[rtype], completed=done, total=total or done)

        return sync_link(
            vault,
            name,
            page_size=args.page_size,
            full=args.full,
            progress=progress,
            deadline=args.deadline,
        )


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
    from healthlocker.connectors import LinkStore

    name = None if args.all else args.source
    with _open_vault(args) as vault:
        links = LinkStore(vault)
        linked = links.exists(name) if name else bool(links.all())  # for the message only
        gone = vault.forget(name)
    tokens = " Its link and tokens are deleted too." if linked and name else ""
    if args.all and linked:
        tokens = " Every link and its tokens are deleted too."
    print(
        f"Forgot {len(gone)} source(s) for good: their keys are destroyed and pages scrubbed."
        + tokens
    )
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
    from healthlocker.catalogue import TOOL_NAMES

    return list(TOOL_NAMES)


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
    if args.http:
        from healthlocker.server import serve_http
        from healthlocker.server._http import HttpConfig

        if args.ephemeral or args.client:
            raise HealthLockerError(
                "--ephemeral and --client are for stdio; over HTTP the OAuth client is the client"
            )
        config = HttpConfig(
            host=args.host,
            port=args.port,
            public_url=args.public_url,
            behind_proxy=args.behind_tls_proxy,
            issuer=args.issuer,
            jwks_url=args.jwks_url,
        )
        serve_http(home=args.home, config=config, workers=args.workers, prompt=_prompt)
        return 0
    from healthlocker.server import serve_stdio

    serve_stdio(home=args.home, client=args.client, ephemeral=args.ephemeral)
    return 0


# -- wiring -----------------------------------------------------------------------------------


class _FormatNames:
    """``--format``'s choices, from the format registry, read only when argparse needs them
    (to check a value, or for help): other commands, ``serve`` first, never load connectors."""

    def __iter__(self) -> Iterator[str]:
        from healthlocker.connectors import FORMATS

        return iter(FORMATS)

    def __contains__(self, name: object) -> bool:
        return name in list(self)


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
    p = add("import", cmd_import, "import files or folders of records (formats: see --format)")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument(
        "--source",
        help="label for this source (default: the file or folder name; myfitnesspal for "
        "MyFitnessPal exports)",
    )
    p.add_argument(
        "--format",
        choices=_FormatNames(),
        metavar="FORMAT",
        help="read every file as this format instead of detecting it: %(choices)s",
    )
    p.add_argument(
        "--weight-unit",
        choices=("kg", "lb"),
        help="unit of MyFitnessPal's weights (default: the export's own, as its exercise "
        "table names it; else lb)",
    )
    p.add_argument(
        "--person",
        metavar="NAME|new|owner",
        help="whom the files are about, instead of matching their patient with the vault's "
        "people: owner, new (someone else), or a person's id or name (a new person if no one "
        "has it)",
    )
    p.add_argument("--json", action="store_true", help="print a machine-readable summary")
    from healthlocker import _cli_people

    _cli_people.add_arguments(
        add(
            "people",
            cmd_people,
            "who the records are about (the owner, and anyone else); link or split them",
        )
    )
    p = add("sources", cmd_sources, "what is stored, per source and type; linked APIs")
    p.add_argument("--json", action="store_true")
    p.add_argument("--links", action="store_true", help="with --json: the linked APIs instead")
    add("status", cmd_status, "the vault: where, how big, how fresh").add_argument(
        "--json", action="store_true"
    )
    p = add("connect", cmd_connect, "link a SMART on FHIR patient-access API (signs you in)")
    p.add_argument("name", metavar="NAME", help="your name for this API, e.g. my-clinic")
    p.add_argument("--fhir-base", metavar="URL", help="the FHIR base URL (or from --preset)")
    p.add_argument("--client-id", metavar="ID", help="the client id of your registered app")
    p.add_argument(
        "--client-secret-env", metavar="VAR", help="read a confidential client's secret from VAR"
    )
    p.add_argument(
        "--scope",
        action="append",
        metavar="SCOPE",
        help="a scope to ask for (repeatable; default launch/patient patient/*.rs offline_access)",
    )
    p.add_argument(
        "--preset",
        metavar="P",
        help="a known API: athenahealth, athenahealth-preview, bluebutton, bluebutton-sandbox, "
        "eclinicalworks, epic, epic-sandbox, meditech, oracle-health, oracle-health-sandbox, "
        "smarthealthit (see docs/connect.md)",
    )
    p.add_argument("--no-browser", action="store_true", help="print the sign-in URL only")
    p.add_argument(
        "--timeout", type=float, default=300.0, metavar="S", help="seconds to wait for sign-in"
    )
    p = add("sync", cmd_sync, "fetch what is new from linked APIs (one, or all)")
    p.add_argument("name", nargs="?", metavar="NAME")
    p.add_argument("--full", action="store_true", help="fetch everything, not only changes")
    p.add_argument("--page-size", type=int, default=100, metavar="N", help="_count per page")
    p.add_argument(
        "--deadline",
        type=float,
        default=3600.0,
        metavar="S",
        help="seconds one API's sync may take in all (default 3600)",
    )
    p.add_argument("--json", action="store_true", help="print a machine-readable summary")
    p = add("serve", cmd_serve, "run the MCP server (stdio; --http for remote mode)")
    p.add_argument(
        "--client", help="the client's name for consent and audit (default: as reported)"
    )
    p.add_argument("--http", action="store_true", help="serve Streamable HTTP behind OAuth")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port to bind (default 8765)")
    p.add_argument(
        "--public-url", metavar="URL", help="the https origin clients use (behind a TLS proxy)"
    )
    p.add_argument(
        "--behind-tls-proxy",
        action="store_true",
        help="allow a non-loopback bind: a TLS proxy terminates HTTPS in front of it",
    )
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--issuer", metavar="URL", help="accept tokens of this external OAuth issuer")
    p.add_argument("--jwks-url", metavar="URL", help="the external issuer's JWKS")
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
