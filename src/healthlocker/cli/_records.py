"""What the vault holds: ``import``, ``sources``, ``export``, ``forget``."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from healthlocker.cli._command import JSON_FLAG, Result, Said, UsageError, arg, command
from healthlocker.cli._common import ask, console, open_vault, print_table, when
from healthlocker.errors import HealthLockerError, StoreError


class _FormatNames:
    """``--format``'s choices, from the format registry, read only when argparse needs them
    (to check a value, or for help): other commands, ``serve`` first, never load connectors."""

    def __iter__(self) -> Iterator[str]:
        from healthlocker.connectors import FORMATS

        return iter(FORMATS)

    def __contains__(self, name: object) -> bool:
        return name in list(self)


def _time_zone(name: str) -> str:
    """``--time-zone``: an IANA name, checked when the command is read (exit 2 if unknown)."""
    from healthlocker.connectors import zone_of

    try:
        zone_of(name)
    except HealthLockerError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return name


@dataclass
class Imported(Result):
    report: Any  # connectors.ImportReport

    def public(self) -> Any:
        files = [_file_json(f) for f in self.report.files]
        skipped = [{"path": s.path, "why": s.why} for s in self.report.skipped]
        return {"ok": self.report.ok, **self.report.totals(), "files": files, "skipped": skipped}

    def show(self) -> None:
        report, totals = self.report, self.report.totals()
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
            _print_records(f.skipped_records)
        for said in report.people_said():  # whom the files are about, where it needs saying
            print(f"  {said}")
        _print_skipped(report.skipped)

    def exit_code(self) -> int:
        return 0 if self.report.ok else 1


def _file_json(f: Any) -> dict[str, Any]:
    out = {
        "path": f.path,
        "format": f.format,
        "error": f.error,
        "notes": f.notes,
        "people": [p.__dict__ for p in f.people],
        "skipped_records": [{"where": r.where, "why": r.why} for r in f.skipped_records],
    }
    if f.result:
        out |= {
            "added": f.result.added,
            "updated": f.result.updated,
            "unchanged": f.result.unchanged,
            "already_imported": f.result.skipped_file,
            "already_in": f.result.already_in,
            "by_type": f.result.by_type,
        }
    return out


def _print_records(records: list[Any]) -> None:
    """The bad records left out of a file (each named; --strict refuses the file instead)."""
    header = f"  Left out {len(records)} bad record(s) (--strict refuses such a file):"
    _print_each(header, [f"{r.where}: {r.why}" for r in records], "    ")


def _print_skipped(skipped: list[Any]) -> None:
    """The files of the folders given that were not imported, and why; never silently."""
    header = f"Passed over {len(skipped)} file(s) of the folder(s) given:"
    _print_each(header, [f"{s.path}: {s.why}" for s in skipped], "  ")


def _print_each(header: str, lines: list[str], indent: str, shown: int = 20) -> None:
    if lines:
        print(header)
    for line in lines[:shown]:
        print(f"{indent}{line}")
    if len(lines) > shown:
        print(f"{indent}… and {len(lines) - shown} more (--json lists every one)")


@command(
    "import",
    "import files or folders of records (formats: see --format)",
    arg("paths", nargs="+", metavar="PATH", help="files, folders or shlink:/ links"),
    arg(
        "--source",
        help="label for this source (default: the file or folder name; myfitnesspal for "
        "MyFitnessPal exports)",
    ),
    arg(
        "--format",
        choices=_FormatNames(),
        metavar="FORMAT",
        help="read every file as this format instead of detecting it: %(choices)s",
    ),
    arg(
        "--weight-unit",
        choices=("kg", "lb"),
        help="unit of MyFitnessPal's weights (default: as the export states it, in its "
        "exercise table; a file that states none is refused without this)",
    ),
    arg(
        "--strict",
        action="store_true",
        help="refuse a file with any bad record (default: leave bad records out, named in the "
        "summary, unless more than half of a file's records are bad)",
    ),
    arg(
        "--time-zone",
        type=_time_zone,
        metavar="ZONE",
        help="time zone of a CGM export's local times, e.g. Europe/Berlin (default: this "
        "computer's)",
    ),
    arg(
        "--unverified",
        action="store_true",
        help="SMART Health Links: also import cards whose issuer's keys cannot be had (never "
        "a card whose signature fails)",
    ),
    arg(
        "--person",
        metavar="NAME|new|owner",
        help="whom the files are about, instead of matching their patient with the vault's "
        "people: owner, new (someone else), or a person's id or name (a new person if no one "
        "has it)",
    ),
    JSON_FLAG,
)
def import_(args: argparse.Namespace) -> Result:
    from healthlocker.connectors import import_paths

    with open_vault(args) as vault:
        if sys.stderr.isatty() and not args.json:
            return Imported(_import_with_progress(vault, args))
        return Imported(
            import_paths(
                vault,
                args.paths,
                source=args.source,
                fmt=args.format,
                weight_unit=args.weight_unit,
                time_zone=args.time_zone,
                shl=_link_access(args),
                strict=args.strict,
                person=args.person,
            )
        )


def _link_access(args: argparse.Namespace) -> Any:
    """How an import asks for a SMART Health Link's passcode: on a terminal only (scripts set
    HEALTHLOCKER_SHL_PASSCODE)."""
    from healthlocker.connectors import LinkAccess

    def ask(label: str) -> str:
        if not sys.stdin.isatty():
            raise HealthLockerError(
                "the link needs a passcode: set HEALTHLOCKER_SHL_PASSCODE (no terminal to ask on)"
            )
        return getpass.getpass(f"Passcode for {label[:80]!r}: ")

    return LinkAccess(ask_passcode=ask, unverified=args.unverified)


def _import_with_progress(vault: Any, args: argparse.Namespace) -> Any:
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from healthlocker.connectors import import_paths, plan_import

    try:
        plan = plan_import(args.paths, args.format)
        total = plan.total_bytes()
    except HealthLockerError:
        plan, total = args.paths, 0
    columns = ("{task.description}", BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console(stderr=True), transient=True) as bar:
        task = bar.add_task("Importing", total=total or None)
        return import_paths(
            vault,
            plan,
            source=args.source,
            fmt=args.format,
            progress=lambda n: bar.advance(task, n),
            weight_unit=args.weight_unit,
            time_zone=args.time_zone,
            shl=_link_access(args),
            strict=args.strict,
            person=args.person,
        )


@dataclass
class Sources(Result):
    sources: list[Any]  # store.SourceInfo
    links: list[Any]  # connectors.Link
    links_only: bool

    def public(self) -> Any:
        if self.links_only:
            return [link.public() for link in self.links]
        return [
            {
                "label": s.label,
                "kind": s.kind,
                "created": s.created,
                "updated": s.updated,
                "batches": s.batches,
                "resources": s.total,
                "by_type": s.counts,
            }
            for s in self.sources
        ]

    def show(self) -> None:
        if self.links:
            _print_links(self.links, {s.label: s.total for s in self.sources})
        if not self.sources:
            if not self.links:
                print("The vault is empty; add records with `healthlocker import PATH`.")
            return
        rows = [
            (
                s.label,
                s.kind,
                str(s.total),
                "\n".join(f"{t} {n}" for t, n in s.counts.items()),
                s.updated[:16].replace("T", " "),
            )
            for s in self.sources
        ]
        columns = ("source", "kind", "resources", "by type", "last import (UTC)")
        print_table("Sources", columns, rows)


def _print_links(links: list[Any], totals: dict[str, int]) -> None:
    rows = []
    for link in links:
        left = link.expires_in()
        if left is None:
            token = "no expiry given"
        elif left > 0:
            token = f"expires {when(link.expires_at)}"
        else:
            token = "expired" + (", will refresh" if link.refresh_token else "; connect again")
        last = when(link.last_sync) if link.last_sync else "never"
        rows.append((link.name, link.fhir_base, str(totals.get(link.name, 0)), last, token))
    columns = ("name", "FHIR base", "resources", "last sync (UTC)", "token")
    print_table("Linked APIs", columns, rows)


@command(
    "sources",
    "what is stored, per source and type; linked APIs",
    JSON_FLAG,
    arg("--links", action="store_true", help="with --json: the linked APIs instead"),
)
def sources(args: argparse.Namespace) -> Result:
    from healthlocker.connectors import LinkStore

    with open_vault(args) as vault:
        return Sources(vault.sources(), LinkStore(vault).all(), links_only=args.links)


@command(
    "export",
    "everything, decrypted, as one FHIR Bundle",
    arg("--out", required=True, metavar="FILE", help="the file to write, or - for stdout"),
    arg("--force", action="store_true", help="replace FILE if it exists"),
)
def export(args: argparse.Namespace) -> Result:
    from healthlocker.store import export_bundle

    to_stdout = args.out == "-"
    out = Path(args.out).expanduser()
    if not to_stdout and out.exists() and not args.force:
        raise StoreError(f"{out} exists; give --force to replace it (nothing was written)")
    with open_vault(args) as vault:
        count = export_bundle(vault, sys.stdout if to_stdout else out)
    where = "standard output" if to_stdout else str(out)
    done = f"Exported {count} resources, decrypted, as one FHIR Bundle to {where}."
    if to_stdout:  # stdout is the bundle
        print(done, file=sys.stderr)
        return Said("")
    return Said(done)


@command(
    "forget",
    "erase a source (or everything) for good",
    arg("source", nargs="?", metavar="SOURCE"),
    arg("--all", action="store_true", help="erase every source"),
    arg("--yes", action="store_true", help="with --all: don't ask (needed without a terminal)"),
)
def forget(args: argparse.Namespace) -> Result:
    if bool(args.source) == bool(args.all):
        raise UsageError("name one SOURCE or give --all")
    if args.all and not args.yes:
        _confirm_forget_all()
    from healthlocker.connectors import LinkStore

    name = None if args.all else args.source
    with open_vault(args) as vault:
        links = LinkStore(vault)
        linked = links.exists(name) if name else bool(links.all())  # for the message only
        gone = vault.forget(name)
    tokens = " Its link and tokens are deleted too." if linked and name else ""
    if args.all and linked:
        tokens = " Every link and its tokens are deleted too."
    return Said(
        f"Forgot {len(gone)} source(s) for good: their keys are destroyed and pages scrubbed."
        + tokens
    )


def _confirm_forget_all() -> None:
    """`forget --all` cannot be undone: a person types the word; a script says --yes."""
    if not sys.stdin.isatty():
        raise UsageError("--all erases every source for good: add --yes (no terminal to ask on)")
    answer = ask(
        "This erases every source in the vault for good. Type 'forget' to go on: ",
        secret=False,
        otherwise="",
    )
    if answer.strip() != "forget":
        raise HealthLockerError("nothing was forgotten")


COMMANDS = (import_, sources, export, forget)
