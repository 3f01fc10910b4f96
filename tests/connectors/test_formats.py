"""The format registry: one table that detection, the CLI and the docs read."""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from subprocess import PIPE

import pytest

from healthlocker.cli import build_parser
from healthlocker.connectors import FORMATS, Format, ReadOptions, detect_format
from healthlocker.connectors._formats import _load
from healthlocker.errors import InputFormatError
from helpers import PASSPHRASE, ROOT, run_cli

APPLE = ROOT / "samples" / "apple-health"
# One real file of every registered format: a new format needs one here, or this test fails.
SAMPLE_OF = {
    "fhir-json": ROOT / "samples" / "fhir" / "bluebutton" / "patientRead.json",
    "ndjson": None,  # written by the test: no NDJSON sample ships
    "apple-health": APPLE / "dogsheep-export.xml",
    "myfitnesspal": ROOT
    / "samples"
    / "myfitnesspal"
    / "Exercise-Summary-2024-03-04-to-2024-03-07.csv",
    "peloton": ROOT / "samples" / "peloton" / "jdoe_workouts.csv",
    "dexcom-clarity": ROOT / "samples" / "cgm" / "Clarity_Export_Doe_Jane_2024-03-18_101502.csv",
    "libreview": ROOT / "samples" / "cgm" / "ErikaBeispiel_glucose_5-11-2024.csv",
    "ccda": next((ROOT / "samples" / "ccda").glob("*.xml")),
    "shlink": ROOT / "tests" / "connectors" / "data" / "shl" / "ig-example-link.txt",
}


def test_formats_keeps_working_as_the_tuple_of_names_it_was() -> None:
    assert tuple(FORMATS) == (
        "fhir-json",
        "ndjson",
        "apple-health",
        "myfitnesspal",
        "peloton",
        "dexcom-clarity",
        "libreview",
        "ccda",
        "shlink",
    )
    assert "ccda" in FORMATS
    assert ", ".join(FORMATS).startswith("fhir-json, ndjson")
    assert all(isinstance(f, Format) and f.name == n for n, f in FORMATS.items())


def test_the_public_names_are_pinned_and_each_resolves() -> None:
    import healthlocker.connectors as connectors

    assert {"FORMATS", "Format", "Plan", "ReadOptions", "Skipped", "plan_import"} <= set(
        connectors.__all__
    )
    assert all(getattr(connectors, name) is not None for name in connectors.__all__)


@pytest.mark.parametrize("fmt", FORMATS.values(), ids=list(FORMATS))
def test_every_entry_is_whole(fmt: Format) -> None:
    reader = _load(fmt.reader)
    assert list(inspect.signature(reader).parameters) == ["path", "options"]
    for ref in (fmt.sniff, fmt.folder, fmt.link):
        assert ref is None or callable(_load(ref))
    assert fmt.kinds <= {"zip", "xml", "json", "ndjson", "text"}
    assert fmt.suffixes and all(s.startswith(".") and s == s.lower() for s in fmt.suffixes)
    assert all(hasattr(ReadOptions(), o) for o in fmt.options)
    assert fmt.label and not (fmt.ahead and fmt.self_validating)


@pytest.mark.parametrize("name", list(FORMATS))
def test_every_format_is_detected_from_a_real_file(name: str, tmp_path: Path) -> None:
    sample = SAMPLE_OF[name]
    if sample is None:
        sample = tmp_path / "Patient.ndjson"
        sample.write_text(
            '{"resourceType":"Patient","id":"a"}\n{"resourceType":"Patient","id":"b"}\n'
        )
    renamed = shutil.copy(sample, tmp_path / "download.bin")  # by content, not by name
    assert detect_format(Path(renamed)) == name


def test_the_refusal_names_every_format(tmp_path: Path) -> None:
    path = tmp_path / "notes.xml"
    path.write_text("<notes/>")
    with pytest.raises(InputFormatError) as caught:
        detect_format(path)
    assert "XML: not a format this version imports" in str(caught.value)
    assert all(f.label in str(caught.value) for f in FORMATS.values())


def test_the_cli_offers_every_format_and_only_those() -> None:
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    [option] = [a for a in commands["import"]._actions if "--format" in a.option_strings]
    assert list(option.choices) == list(FORMATS)
    shown = run_cli("import", "--help").stdout
    assert all(name in " ".join(shown.split()) for name in FORMATS)
    wrong = run_cli("import", "x.json", "--format", "csv")
    assert wrong.returncode == 2
    assert "invalid choice: 'csv'" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_every_format_is_in_the_readme_import_row_and_the_import_docs() -> None:
    readme = (ROOT / "README.md").read_text()
    [row] = [line for line in readme.splitlines() if line.startswith("| `healthlocker import PATH")]
    docs = (ROOT / "docs" / "import.md").read_text()
    rows = {m[0]: m[1] for m in re.findall(r"^\| `([\w-]+)` \| ([^|]+) \|", docs, re.M)}
    for fmt in FORMATS.values():
        assert f"`{fmt.name}`" in row, fmt.name
        assert rows.get(fmt.name, "").strip() == fmt.label, fmt.name
    assert set(rows) == set(FORMATS)


def _modules_after(code: str) -> set[str]:
    run = [sys.executable, "-c", f"import sys\n{code}\nprint('\\n'.join(sys.modules))"]
    out = subprocess.run(run, capture_output=True, text=True, check=True, timeout=120)
    return set(out.stdout.split())


def test_a_fhir_file_import_loads_neither_the_http_stack_nor_other_readers() -> None:
    sample = SAMPLE_OF["fhir-json"]
    loaded = _modules_after(
        "from healthlocker.store import Vault\n"
        "from healthlocker.connectors import import_paths\n"
        f"assert import_paths(Vault.ephemeral(), [{str(sample)!r}]).ok"
    )
    assert "healthlocker.connectors.fhir._json" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("httpx2", "httpcore", "h11")}
    others = ("smart", "apple", "ccda", "wellness", "cgm")
    assert not {
        m for m in loaded if m.startswith("healthlocker.connectors.") and m.split(".")[2] in others
    }


def _send(process: subprocess.Popen[str], message: dict) -> None:  # type: ignore[type-arg]
    assert process.stdin is not None
    process.stdin.write(json.dumps(message) + "\n")
    process.stdin.flush()


def test_serve_start_up_does_not_import_connectors(tmp_path: Path) -> None:
    """The real `healthlocker serve` over stdio, up to its tool list, under -X importtime."""
    home = tmp_path / "v"
    assert run_cli("init", home=home).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHLOCKER_")}
    env |= {"HEALTHLOCKER_HOME": str(home), "HEALTHLOCKER_PASSPHRASE": PASSPHRASE}
    command = [sys.executable, "-X", "importtime", "-m", "healthlocker.cli", "serve"]
    with subprocess.Popen(
        command, stdin=PIPE, stdout=PIPE, stderr=PIPE, text=True, env=env
    ) as process:
        assert process.stdout is not None
        hello = {"name": "t", "version": "1"}
        params = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": hello}
        _send(process, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
        assert json.loads(process.stdout.readline())["id"] == 1
        _send(process, {"jsonrpc": "2.0", "method": "notifications/initialized"})
        _send(process, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        assert json.loads(process.stdout.readline())["result"]["tools"]
        _, stderr = process.communicate(timeout=60)
    loaded = {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if "|" in line}
    assert "healthlocker.server._serve" in loaded
    assert not {m for m in loaded if m.startswith("healthlocker.connectors")}
    # the charts' PNG renderer loads on the first picture, never at start-up
    assert "healthlocker.charts" in loaded
    assert not {m for m in loaded if m.split(".")[0] == "vl_convert"}


# -- folders, through the real command (issue 15) ---------------------------------------------


def _import_json(home: Path, *args: str) -> dict:  # type: ignore[type-arg]
    assert run_cli("init", home=home).returncode == 0
    done = run_cli("import", *args, "--json", home=home)
    assert "Traceback" not in done.stderr
    summary: dict = json.loads(done.stdout)  # type: ignore[type-arg]
    assert done.returncode == (0 if summary["ok"] else 1)
    return summary


def test_importing_the_samples_folder_finds_every_format_and_lists_what_it_passed_over(
    tmp_path: Path,
) -> None:
    summary = _import_json(tmp_path / "v", str(ROOT / "samples"))
    assert summary["ok"], summary
    formats = [f["format"] for f in summary["files"]]
    # No NDJSON sample ships, nor a SMART Health Link: a link's import fetches from its server.
    assert sorted(set(formats)) == sorted(set(FORMATS) - {"ndjson", "shlink"})
    apple = sorted(Path(f["path"]).name for f in summary["files"] if f["format"] == "apple-health")
    assert apple == [
        "dogsheep-export.xml",
        "export.xml",
        "export.xml",  # samples/newcomer's unzipped export
        "opendroid-sampleexport-2.xml",
        "opendroid-sampleexport.xml",
    ]
    # 24, the four CGM exports of samples/cgm, and the newcomer's clinic C-CDA and Apple export
    assert summary["file_count"] == 30
    why = {Path(s["path"]).name: s["why"] for s in summary["skipped"]}
    records = "Observation-gwc-hgb-2909.json"  # the newcomer's export's Health Records file
    assert set(why) == {"SOURCES.md", "route_2019-06-11_3.00pm.gpx", records}
    assert why["SOURCES.md"].startswith("not a format this version imports")
    for part in ("route_2019-06-11_3.00pm.gpx", records):
        assert "part of the export in" in why[part]
        assert "only its export.xml is imported" in why[part]
    assert summary["passed_over"] == 3


def test_an_apple_health_folder_imports_its_exports(tmp_path: Path) -> None:
    """Once refused with "no FHIR files": three export.xml files and one unzipped export."""
    home = tmp_path / "v"
    assert run_cli("init", home=home).returncode == 0
    done = run_cli("import", str(APPLE), home=home)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Imported 4 of 4 file(s):")
    assert "Passed over 1 file(s) of the folder(s) given:" in done.stdout
    assert "route_2019-06-11_3.00pm.gpx: part of the export in" in done.stdout


def test_a_zipped_export_inside_a_folder_is_found(tmp_path: Path) -> None:
    folder = tmp_path / "downloads" / "phone"
    folder.mkdir(parents=True)
    unzipped = APPLE / "dogsheep-zip"
    with zipfile.ZipFile(folder / "export.zip", "w") as zf:
        for f in sorted(unzipped.rglob("*")):
            zf.write(f, f.relative_to(unzipped).as_posix())
    (folder / "scan.pdf").write_bytes(b"%PDF-1.4\n")
    (folder / "notes.csv").write_text("Month,Rent\n2024-01,1200\n")
    (folder / "empty.json").write_text("")
    (tmp_path / "elsewhere").mkdir()
    (folder / "elsewhere").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    summary = _import_json(tmp_path / "v", str(tmp_path / "downloads"))
    assert [(Path(f["path"]).name, f["format"]) for f in summary["files"]] == [
        ("export.zip", "apple-health")
    ]
    assert summary["files"][0]["added"] > 0
    why = {Path(s["path"]).name: s["why"] for s in summary["skipped"]}
    assert why["scan.pdf"] == (
        "not a format this version imports (not a .csv/.json/.jsonl/.ndjson/.shl/.xml/.zip file)"
    )
    assert why["notes.csv"].startswith("CSV: not a format this version imports (")
    assert why["empty.json"] == "the file is empty"
    assert why["elsewhere"] == "a link to a folder: not followed"


def test_a_folder_with_a_format_takes_only_that_formats_files(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(SAMPLE_OF["peloton"], folder / "rides.csv")
    shutil.copy(SAMPLE_OF["fhir-json"], folder / "patient.json")
    summary = _import_json(tmp_path / "v", str(folder), "--format", "peloton")
    assert [(Path(f["path"]).name, f["format"]) for f in summary["files"]] == [
        ("rides.csv", "peloton")
    ]
    assert [(Path(s["path"]).name, s["why"]) for s in summary["skipped"]] == [
        ("patient.json", "not a peloton file: not a .csv file")
    ]


def test_a_missing_path_fails_alone_and_the_others_go_on(tmp_path: Path) -> None:
    summary = _import_json(tmp_path / "v", str(tmp_path / "nope.json"), str(SAMPLE_OF["peloton"]))
    assert not summary["ok"]
    missing, peloton = summary["files"]
    assert missing["error"] == f"{tmp_path / 'nope.json'}: no such file or folder"
    assert peloton["format"] == "peloton" and peloton["added"] > 0
