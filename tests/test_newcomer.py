"""Done when: a newcomer who imports a clinic C-CDA, a Medicare Blue Button export, an Apple
Health export and a MyFitnessPal export gets one person, no double counts and the active
medications right -- through the real command, then the real MCP client."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from healthlocker.consent import OpenGate
from healthlocker.server import build_server
from healthlocker.store import Vault
from helpers import PASSPHRASE, ROOT, SAMPLES, load_json, run_cli

NEWCOMER = ROOT / "samples" / "newcomer"
CLINIC = NEWCOMER / "clinic-ccda.xml"
V3 = "{urn:hl7-org:v3}"


def _apple_zip(out: Path) -> Path:
    """The sample export zipped as the iPhone does (clinical records beside export.xml)."""
    folder = NEWCOMER / "apple_health_export"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"apple_health_export/{path.relative_to(folder).as_posix()}")
    return out


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    tmp = tmp_path_factory.mktemp("newcomer")
    home = tmp / "vault"
    assert run_cli("init", home=home).returncode == 0
    paths = [CLINIC, SAMPLES / "bluebutton", _apple_zip(tmp / "export.zip")]
    paths.append(ROOT / "samples" / "myfitnesspal")
    done = run_cli("import", *map(str, paths), home=home)
    assert done.returncode == 0, done.stderr
    assert "Someone else" not in done.stdout
    with Vault.open(home, prompt=lambda _: PASSPHRASE) as vault:
        yield vault


async def _call(vault: Vault, tool: str, **args: Any) -> dict[str, Any]:
    async with Client(build_server(vault, gate=OpenGate())) as client:
        result = await client.call_tool(tool, args)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def _active_in_ccda() -> list[str]:
    """The RxNorm codes of the document's medications that its Medication Status observation
    (LOINC 33999-4) calls active (SNOMED 55561003), found with the standard library."""
    root = ET.parse(CLINIC).getroot()
    codes = []
    for sec in root.iter(f"{V3}section"):
        code = sec.find(f"{V3}code")
        if code is None or code.get("code") != "10160-0":
            continue
        for sa in sec.iter(f"{V3}substanceAdministration"):
            statuses = [
                value.get("code")
                for obs in sa.iter(f"{V3}observation")
                if (c := obs.find(f"{V3}code")) is not None and c.get("code") == "33999-4"
                for value in obs.iter(f"{V3}value")
            ]
            if statuses == ["55561003"]:
                codes += [
                    t.get("code", "")
                    for t in sa.iter(f"{V3}translation")
                    if t.get("codeSystem") == "2.16.840.1.113883.6.88"
                ]
    return codes


def test_one_person(newcomer: Vault) -> None:
    done = run_cli("people", "--json", home=Path(str(newcomer.path)).parent)
    (person,) = json.loads(done.stdout)
    assert (person["id"], person["shown"], person["owner"]) == (
        "person-1",
        "J. D., born 1981",
        True,
    )
    assert person["sources"] == ["apple-health", "bluebutton", "clinic-ccda"]


@pytest.mark.anyio
async def test_the_active_medications_are_the_clinics(newcomer: Vault) -> None:
    meds = await _call(newcomer, "get_meds")
    active = _active_in_ccda()
    assert active
    assert sorted(m["rxnorm"] for m in meds["medications"]) == sorted(active)
    assert all(m["status"] == "active" for m in meds["medications"])
    assert "person" not in meds and "withheld" not in meds


@pytest.mark.anyio
async def test_no_lab_is_counted_twice(newcomer: Vault) -> None:
    labs = await _call(newcomer, "list_labs", limit=200)
    assert not labs["truncated"]
    seen = Counter((r["loinc"], r["date"], r["value"], r["unit"]) for r in labs["results"])
    assert [k for k, n in seen.items() if n > 1] == []
    (hemoglobin,) = [r for r in labs["results"] if r["loinc"] == "718-7"]
    origins = {hemoglobin["source"]["origin"], *(c["origin"] for c in hemoglobin["source"]["also"])}
    assert origins == {"clinic-ccda", "apple-health"}  # the clinic's, and its Health Records copy


@pytest.mark.anyio
async def test_no_day_of_activity_or_food_is_counted_twice(newcomer: Vault) -> None:
    eaten = await _call(newcomer, "summarize_trends", metric="calories_in", granularity="day")
    diary = Counter[str]()
    for row in _csv("Nutrition"):
        diary[row["Date"]] += float(row["Calories"])
    # Apple Health holds 4 March's food too (MyFitnessPal wrote it there): counted once.
    assert {p["start"]: p["value"] for p in eaten["points"]} == pytest.approx(dict(diary))
    energy = await _call(newcomer, "summarize_trends", metric="active_energy", granularity="day")
    assert {p["start"]: p["value"] for p in energy["points"]}["2024-03-04"] == 512  # the watch's
    workouts = await _call(newcomer, "summarize_trends", metric="workouts", granularity="day")
    assert {p["start"]: p["value"] for p in workouts["points"]}["2024-03-04"] == 1


@pytest.mark.anyio
async def test_weight_is_ten_years_of_one_person(newcomer: Vault) -> None:
    trend = await _call(newcomer, "summarize_trends", metric="weight", granularity="year")
    assert [p["start"][:4] for p in trend["points"]] == ["2011", "2012", "2013", "2024"]
    assert {s["origin"] for s in trend["sources"]} == {
        "clinic-ccda",
        "myfitnesspal",
        "apple-health",
    }


@pytest.mark.anyio
async def test_medicares_claims_are_theirs(newcomer: Vault) -> None:
    coverage = await _call(newcomer, "explain_coverage")
    claims = {
        e["resource"]["id"]
        for p in (SAMPLES / "bluebutton").glob("eob*.json")
        for e in load_json(p).get("entry", [{"resource": load_json(p)}])
        if e["resource"]["resourceType"] == "ExplanationOfBenefit"
    }
    assert coverage["claims"]["count"] == len(claims) > 0
    assert "withheld" not in coverage


def _csv(table: str) -> list[dict[str, str]]:
    (path,) = (ROOT / "samples" / "myfitnesspal").glob(f"{table}-Summary-*.csv")
    with path.open(encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))
