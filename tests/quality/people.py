"""The scorecard's people, each in a vault of their own, and the tool calls made for them.

Fourteen people: the seven of ``bench/synth.py`` (its ten-year default and six profiles:
diabetes, with a glucose sensor's export of ``bench/gen_cgm.py`` and notes, polypharmacy, a
young man with a watch, a healthy uninsured woman, kidney disease, heart disease with notes and
imaging reports), the six Synthea patients of the bundled samples and the Blue Button
beneficiary. Every call goes through the SDK's in-memory client against ``build_server``; a
windowed call goes through the real consent gate, with a grant for records since a day.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
from bench.gen_cgm import WEARER_ZONE, write_wearer
from bench.synth import END, write_person
from bench.synth_profiles import PROFILES
from mcp import Client
from mcp.types import Implementation

from healthlocker.connectors import import_paths
from healthlocker.consent import ConsentGate, GrantStore, OpenGate
from healthlocker.server import build_server
from healthlocker.store import Vault
from helpers import ROOT
from quality.facts import Facts, clarity_readings

SAMPLES = ROOT / "samples" / "fhir"
CLIENT = "scorecard"
# (tool, arguments as JSON text, window start or "") : one call, hashable
Key = tuple[str, str, str]


@dataclass(frozen=True)
class Result:
    tool: str
    arguments: dict[str, Any]
    window: str | None
    text: str
    structure: dict[str, Any]
    error: bool


@dataclass
class Person:
    name: str
    kind: str  # "synthetic", "synthea" or "bluebutton"
    facts: Facts
    vault: Vault
    results: dict[Key, Result] = field(default_factory=dict)

    def result(self, tool: str, arguments: dict[str, Any], window: str | None = None) -> Result:
        return self.results[key(tool, arguments, window)]


def key(tool: str, arguments: dict[str, Any], window: str | None) -> Key:
    return tool, json.dumps(arguments, sort_keys=True), window or ""


def _read(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every resource the files hold, as written (bundles, search sets, NDJSON)."""
    out: list[dict[str, Any]] = []
    for path in paths:
        if path.suffix == ".ndjson":
            out += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("resourceType") == "Bundle":
            out += [e["resource"] for e in doc.get("entry") or () if "resource" in e]
        else:
            out.append(doc)
    return out


def _vault(paths: list[Path]) -> Vault:
    vault = Vault.ephemeral()
    report = import_paths(vault, paths, time_zone=WEARER_ZONE)  # a CGM export's local times
    assert report.ok, [f.error for f in report.files if f.error]
    return vault


def cohort(tmp: Path) -> list[Person]:
    people = []
    for seed, (label, profile) in enumerate(PROFILES.items()):
        folder = tmp / f"synthetic-{label}"
        info = write_person(folder, seed=seed, profile=profile)
        facts = Facts(_read(info["files"]))
        if profile.cgm_days:
            export = write_wearer(folder, END, profile.cgm_days, seed=seed)
            facts.cgm = clarity_readings(export, WEARER_ZONE)
        people.append(Person(f"synthetic {label}", "synthetic", facts, _vault([folder])))
    for path in sorted((SAMPLES / "synthea").glob("*.json")):
        facts = Facts(_read([path]))
        who = path.stem.split("_")[0]
        people.append(Person(f"Synthea {who}", "synthea", facts, _vault([path])))
    folder = SAMPLES / "bluebutton"
    facts = Facts(_read(sorted(folder.glob("*.json"))))
    people.append(Person("Blue Button beneficiary", "bluebutton", facts, _vault([folder])))
    return people


async def _calls(person: Person, wanted: set[Key]) -> None:
    """Make every call in *wanted* for *person*: unwindowed through an open gate, windowed
    through the consent gate with a grant for records since the window's first day."""
    info = Implementation(name=CLIENT, version="1")
    plain = [k for k in wanted if not k[2]]
    async with Client(build_server(person.vault, gate=OpenGate()), client_info=info) as c:
        for k in sorted(plain):
            person.results[k] = await _call(c, k)
    for start in sorted({k[2] for k in wanted if k[2]}):
        store = GrantStore(person.vault)
        for grant in store.all():
            store.revoke(grant.id)
        store.add(client=CLIENT, tool="all", duration=timedelta(hours=1), window=f"since:{start}")
        server = build_server(person.vault, gate=ConsentGate, client=CLIENT)
        async with Client(server, client_info=info) as c:
            for k in sorted(k for k in wanted if k[2] == start):
                person.results[k] = await _call(c, k)


async def _call(client: Client, k: Key) -> Result:
    tool, args, window = k
    arguments = json.loads(args)
    got = await client.call_tool(tool, arguments)
    text = "\n".join(c.text for c in got.content if c.type == "text")
    return Result(tool, arguments, window or None, text, got.structured_content or {}, got.is_error)


def run_calls(people: list[Person], wanted: dict[str, set[Key]]) -> None:
    async def all_of_them() -> None:
        for person in people:
            await _calls(person, wanted.get(person.name, set()))

    anyio.run(all_of_them)
