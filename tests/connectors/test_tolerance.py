"""Per-record tolerance: a file that is the format but holds a few bad records imports the
good ones, each bad one named (file, place, why; never its data); --strict refuses the file;
more than half bad, or a file broken as a whole, is refused. One mechanism for every reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connectors.apple_helpers import export, write, zip_of
from healthlocker.connectors import SkippedRecord, Tolerance, import_paths
from healthlocker.connectors._repair import DATA_ABSENT
from healthlocker.connectors._tolerance import MOST
from healthlocker.errors import ParseError, ValidationError
from healthlocker.store import Vault
from helpers import ROOT, run_cli

DATA = ROOT / "tests" / "connectors" / "data"
OBS = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "t"}}
SECRET = "twelve-and-a-half"  # a value that must never reach a message


def _bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def _good(n: int) -> list[dict[str, Any]]:
    return [{**OBS, "id": f"good{i}"} for i in range(n)]


def _bad(i: int = 0) -> dict[str, Any]:
    return {**OBS, "id": f"bad{i}", "valueQuantity": {"value": SECRET}}


def _ids(vault: Vault, rtype: str = "Observation") -> set[str]:
    return {r.id for r in vault.resources(rtype)}


# --- the mechanism -------------------------------------------------------------------------


def test_a_bad_record_is_skipped_and_named_or_refuses_when_strict() -> None:
    t = Tolerance()
    assert t.attempt(lambda: 1) == 1
    assert (
        t.attempt(lambda: _raise(ParseError("column 'Date': not a date", where="f: line 3")))
        is None
    )
    assert t.skipped == [SkippedRecord("f: line 3", "column 'Date': not a date")]
    assert t.read == 2
    t.verdict("CSV")  # 1 of 2: imported
    strict = Tolerance(strict=True)
    with pytest.raises(ParseError, match="f: line 3"):
        strict.attempt(lambda: _raise(ParseError("bad", where="f: line 3")))


def _raise(exc: Exception) -> Any:
    raise exc


@pytest.mark.parametrize(
    ("good", "bad", "refused"), [(1, 1, False), (1, 2, True), (5, 3, False), (0, 3, True)]
)
def test_the_threshold_is_more_than_half(good: int, bad: int, refused: bool) -> None:
    t = Tolerance()
    for _ in range(good):
        t.attempt(lambda: None)
    for i in range(bad):
        t.attempt(_raise, ValidationError("invalid Observation", where=f"f: entry {i}"))
    assert (bad > (good + bad) * MOST) is refused
    if refused:
        with pytest.raises(Exception, match=r"f: entry 0: .*records could not be read"):
            t.verdict("FHIR JSON Bundle")
    else:
        t.verdict("FHIR JSON Bundle")


def test_errors_about_the_whole_file_are_never_skipped() -> None:
    from healthlocker.errors import InputFormatError, LimitError

    t = Tolerance()
    for exc in (
        LimitError("over a cap", where="f"),
        InputFormatError("not this format", where="f"),
    ):
        with pytest.raises(type(exc)):
            t.attempt(_raise, exc)
    assert t.skipped == []


# --- FHIR files ----------------------------------------------------------------------------


def test_one_invalid_resource_of_a_bundle_is_left_out_and_named(
    vault: Vault, tmp_path: Path
) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps(_bundle([*_good(3), _bad(), *_good(5)[3:]])))
    report = import_paths(vault, [path])
    [outcome] = report.files
    assert outcome.error is None and outcome.result is not None
    assert _ids(vault) == {f"good{i}" for i in range(5)}
    [skipped] = outcome.skipped_records
    assert skipped.where == f"{path}: entry 3"
    assert skipped.why.startswith("invalid Observation at valueQuantity.value")
    assert SECRET not in skipped.why
    assert report.totals()["skipped_records"] == 1
    # the same file again: recognised, nothing read or stored twice
    assert import_paths(vault, [path]).totals()["skipped_files"] == 1


def test_more_than_half_bad_is_refused_whole_naming_the_first(vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "mostly-bad.json"
    path.write_text(json.dumps(_bundle([_bad(0), *_good(1), _bad(1)])))
    [outcome] = import_paths(vault, [path]).files
    assert outcome.error is not None
    assert outcome.error.startswith(f"{path}: entry 0: 2 of 3 records could not be read")
    assert "not read as a FHIR JSON Bundle or resource" in outcome.error
    assert SECRET not in outcome.error
    assert vault.stats()["resources"] == 0


def test_ndjson_lines_are_records(vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "Observation.ndjson"
    lines = [json.dumps(r) for r in _good(4)]
    lines.insert(2, '{"resourceType": "Observation", "id": ')  # cut off mid-line
    lines.insert(4, json.dumps({"id": "no-type"}))
    path.write_text("\n".join(lines) + "\n")
    [outcome] = import_paths(vault, [path]).files
    assert outcome.error is None
    assert _ids(vault) == {f"good{i}" for i in range(4)}
    assert [(r.where, r.why.split(" at ")[0]) for r in outcome.skipped_records] == [
        (f"{path}: line 3", "malformed JSON"),
        (f"{path}: line 5", "not a FHIR resource: no resourceType"),
    ]


def test_a_file_broken_as_a_whole_is_still_refused(vault: Vault, tmp_path: Path) -> None:
    broken = tmp_path / "cut.json"
    broken.write_text(json.dumps(_bundle(_good(50)))[:-40])  # good records, broken syntax
    [outcome] = import_paths(vault, [broken]).files
    assert outcome.error is not None and "malformed JSON" in outcome.error
    assert vault.stats()["resources"] == 0


def _us_core_report(**text: Any) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "id": "dr1",
        "meta": {
            "profile": [
                "http://hl7.org/fhir/us/core/StructureDefinition/us-core-diagnosticreport-lab"
            ]
        },
        "status": "final",
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}
        ],
        "code": {
            "coding": [{"system": "http://loinc.org", "code": "58410-2"}],
            "text": "CBC panel",
        },
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-03-01",
        "result": [{"reference": "Observation/good0"}],
        **text,
    }


def test_a_narrative_without_div_is_repaired_not_refused(vault: Vault, tmp_path: Path) -> None:
    """A US Core DiagnosticReport whose `text` has a status but no `div` refused a bundle of
    36 good resources: the empty narrative is left out, the report and the rest come in."""
    report = _us_core_report(text={"status": "generated"})
    contained = {
        **_us_core_report(),
        "id": "dr2",
        "contained": [
            {"resourceType": "Organization", "id": "lab", "text": {"div": "<div>x</div>"}}
        ],
    }
    path = tmp_path / "uscore.json"
    path.write_text(json.dumps(_bundle([*_good(35), report, contained])))
    [outcome] = import_paths(vault, [path]).files
    assert outcome.error is None and outcome.skipped_records == []
    [stored] = [r.resource for r in vault.resources("DiagnosticReport") if r.id == "dr1"]
    assert "text" not in stored and stored["code"] == report["code"]
    [other] = [r.resource for r in vault.resources("DiagnosticReport") if r.id == "dr2"]
    assert "text" not in other["contained"][0]
    assert (
        "repaired: 2 × DiagnosticReport text (a narrative with no div or status) left out "
        "(not clinical data)" in outcome.notes
    )
    assert len(_ids(vault)) == 35


def test_a_complete_narrative_is_kept_and_clinical_errors_are_not_repaired(
    vault: Vault, tmp_path: Path
) -> None:
    div = '<div xmlns="http://www.w3.org/1999/xhtml">CBC</div>'
    kept = _us_core_report(text={"status": "generated", "div": div})
    broken = {
        **_us_core_report(text={"status": "generated"}),
        "id": "dr3",
        "effectiveDateTime": "last spring",
    }
    path = tmp_path / "b.json"
    path.write_text(json.dumps(_bundle([*_good(3), kept, broken])))
    [outcome] = import_paths(vault, [path]).files
    [stored] = [r.resource for r in vault.resources("DiagnosticReport")]
    assert stored["text"]["div"] == div
    [skipped] = outcome.skipped_records
    assert skipped.where.endswith("entry 4")
    assert skipped.why.startswith("invalid DiagnosticReport at effectiveDateTime")
    assert "last spring" not in skipped.why


def test_blue_button_partially_adjudicated_claims(vault: Vault) -> None:
    """The Blue Button API's Claim search (partially adjudicated claims): its FISS claim gives
    insurance without the `coverage` FHIR R4 requires, its MCS claim no insurance at all. They
    were refused whole; now both come in, the missing (administrative, not clinical) element
    given as unknown by FHIR's data-absent-reason, and the notes say so."""
    path = DATA / "bluebutton" / "claimSearch.json"
    [outcome] = import_paths(vault, [path]).files
    assert outcome.error is None, outcome.error
    assert outcome.skipped_records == []
    claims = {r.id: r.resource for r in vault.resources("Claim")}
    assert set(claims) == {"f-123456", "m-654323"}
    source = json.loads(path.read_text())["entry"]
    unknown = {"extension": [{"url": DATA_ABSENT, "valueCode": "unknown"}]}
    assert [i["coverage"] for i in claims["f-123456"]["insurance"]] == [unknown, unknown]
    assert claims["m-654323"]["insurance"] == [{"sequence": 1, "focal": True, "coverage": unknown}]
    for entry in source:  # nothing else of either claim changed
        claim = claims[entry["resource"]["id"]]
        assert {k: v for k, v in claim.items() if k != "insurance"} == {
            k: v for k, v in entry["resource"].items() if k != "insurance"
        }
    assert "repaired: 1 × Claim insurance (missing) given as unknown (not clinical data)" in (
        outcome.notes
    )
    strict = import_paths(Vault.ephemeral(), [path], strict=True)
    assert strict.ok  # a repair is not a bad record


def test_a_clinical_element_is_never_repaired(vault: Vault, tmp_path: Path) -> None:
    claim = json.loads((DATA / "bluebutton" / "claimSearch.json").read_text())["entry"][1]
    bad = {**claim["resource"], "id": "m-bad", "billablePeriod": {"start": "July"}}
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(_bundle([claim["resource"], bad, {**OBS}])))
    [outcome] = import_paths(vault, [path]).files
    assert _ids(vault, "Claim") == {"m-654323"}
    [skipped] = outcome.skipped_records
    assert skipped.where == f"{path}: entry 1"
    assert "billablePeriod.start" in skipped.why and "July" not in skipped.why


# --- Apple Health Records ------------------------------------------------------------------


def test_health_records_files_repaired_or_named(vault: Vault, tmp_path: Path) -> None:
    clinical = "".join(
        f' <ClinicalRecord type="DiagnosticReport" identifier="{i}" sourceName="Clinic"'
        f' sourceURL="https://x.example/{i}" fhirVersion="4.0.1"'
        ' receivedDate="2024-03-01 09:00:00 -0800"'
        f' resourceFilePath="/clinical-records/DiagnosticReport-{i}.json"/>\n'
        for i in ("A", "B")
    )
    xml = write(tmp_path / "export.xml", export(clinical))
    no_div = _us_core_report(text={"status": "generated"})
    bad = {**_us_core_report(), "id": "dr-bad", "effectiveDateTime": "last spring"}
    zipped = zip_of(
        xml,
        tmp_path / "export.zip",
        {
            "apple_health_export/clinical-records/DiagnosticReport-A.json": json.dumps(
                no_div
            ).encode(),
            "apple_health_export/clinical-records/DiagnosticReport-B.json": json.dumps(
                bad
            ).encode(),
        },
    )
    [outcome] = import_paths(vault, [zipped]).files
    assert outcome.error is None, outcome.error
    assert _ids(vault, "DiagnosticReport") == {"dr1"}
    [skipped] = outcome.skipped_records
    assert skipped.where.endswith("clinical-records/DiagnosticReport-B.json")
    assert skipped.why.startswith("invalid DiagnosticReport at effectiveDateTime")
    assert any(n.startswith("repaired: 1 × DiagnosticReport text") for n in outcome.notes)


# --- through the command line --------------------------------------------------------------


def test_the_command_names_skipped_records_and_strict_refuses(tmp_path: Path) -> None:
    home = tmp_path / "vault"
    assert run_cli("init", home=home).returncode == 0
    path = tmp_path / "b.json"
    path.write_text(json.dumps(_bundle([*_good(3), _bad()])))
    # The same records in other bytes: another file (a byte-for-byte copy is the same file,
    # imported already, whatever its name or --source).
    copy = tmp_path / "c.json"
    copy.write_text(json.dumps(_bundle([*_good(3), _bad()]), indent=1))

    strict = run_cli("import", str(path), "--strict", home=home)
    assert strict.returncode == 1 and "Traceback" not in strict.stderr
    assert f"error: {path}: entry 3: invalid Observation at valueQuantity.value" in strict.stderr

    human = run_cli("import", str(path), home=home)
    assert human.returncode == 0, human.stderr
    assert "3 added" in human.stdout
    assert "Left out 1 bad record(s) (--strict refuses such a file):" in human.stdout
    assert f"    {path}: entry 3: invalid Observation at valueQuantity.value" in human.stdout
    assert SECRET not in human.stdout + human.stderr

    # with the patterns that refused whole files: a US Core report without a narrative div,
    # Blue Button's partially adjudicated claims
    uscore = tmp_path / "uscore.json"
    uscore.write_text(json.dumps(_bundle([*_good(3), _us_core_report(text={"status": "x"})])))
    claims = DATA / "bluebutton" / "claimSearch.json"
    result = run_cli(
        "import", str(copy), str(uscore), str(claims), "--source", "other", "--json", home=home
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["skipped_records"], summary["failed"]) == (1, 0)
    [record] = summary["files"][0]["skipped_records"]
    assert record["where"] == f"{copy}: entry 3"
    assert record["why"].startswith("invalid Observation at valueQuantity.value")
    assert SECRET not in result.stdout
    assert [f["by_type"] for f in summary["files"][1:]] == [
        {"Observation": 3, "DiagnosticReport": 1},
        {"Claim": 2},
    ]
    assert any("Claim insurance" in n for n in summary["files"][2]["notes"])
