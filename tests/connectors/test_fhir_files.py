"""FHIR file import: formats, detection, bad input (clear error, nothing stored), parsers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthlocker.connectors import ReadOptions, detect_format, import_paths
from healthlocker.connectors._read import kind_of
from healthlocker.connectors.fhir import _json as _fhir
from healthlocker.store import Vault
from helpers import SAMPLES

OBS = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "t"}}


def _count(vault: Vault) -> int:
    return int(vault.stats()["resources"])


def _bundle(kind: str, resources: list[dict], **extra) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return {
        "resourceType": "Bundle",
        "type": kind,
        "entry": [{"resource": r, **extra} for r in resources],
    }


@pytest.mark.parametrize("kind", ["transaction", "batch", "collection", "searchset"])
def test_bundle_types_import(vault: Vault, tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.json"
    path.write_text(json.dumps(_bundle(kind, [OBS, {**OBS, "id": "o2"}])))
    report = import_paths(vault, [path])
    assert report.ok
    assert report.totals()["added"] == 2


def test_ndjson_and_folders(vault: Vault, tmp_path: Path) -> None:
    folder = tmp_path / "bulk"
    (folder / "nested").mkdir(parents=True)
    lines = [json.dumps({**OBS, "id": f"n{i}"}) for i in range(5)]
    (folder / "Observation.ndjson").write_text("\n".join(lines) + "\n\n")
    (folder / "nested" / "one.json").write_text(json.dumps({**OBS, "id": "single"}))
    (folder / "notes.txt").write_text("ignored")
    report = import_paths(vault, [folder])
    assert report.ok, report.files
    assert [f.format for f in report.files] == ["ndjson", "fhir-json"]
    assert {r.id for r in vault.resources("Observation")} == {f"n{i}" for i in range(5)} | {
        "single"
    }
    assert {s.label for s in vault.sources()} == {"bulk"}


def test_detection_does_not_trust_the_extension(tmp_path: Path) -> None:
    a = tmp_path / "a.json"
    a.write_text(json.dumps(OBS) + "\n" + json.dumps({**OBS, "id": "o2"}) + "\n")
    assert detect_format(a) == "ndjson"
    b = tmp_path / "b.ndjson"
    b.write_text(json.dumps(_bundle("collection", [OBS]), indent=2))
    assert detect_format(b) == "fhir-json"


def test_source_option_and_resources_without_ids(vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "x.ndjson"
    no_id = {k: v for k, v in OBS.items() if k != "id"}
    path.write_text(json.dumps(no_id) + "\n" + json.dumps({**no_id, "status": "amended"}) + "\n")
    import_paths(vault, [path], source="lab portal")
    import_paths(vault, [path], source="lab portal")
    ids = {r.id for r in vault.resources("Observation")}
    assert len(ids) == 2
    assert all(i.startswith("hl-") for i in ids)
    assert [s.label for s in vault.sources()] == ["lab portal"]


BAD_INPUTS = {
    "malformed.json": (b'{"resourceType": "Bundle", "entry": [', "malformed JSON at line 1"),
    "empty.json": (b"", "empty"),
    "blank.json": (b"   \n\n", "empty"),
    "notfhir.json": (b'{"hello": "world"}', "not FHIR"),
    "array.json": (b"[1, 2, 3]", "not FHIR"),
    "unknown.json": (
        json.dumps({"resourceType": "Spaceship", "id": "x"}).encode(),
        "unknown FHIR R4 resource type",
    ),
    "deep.json": (
        b'{"resourceType": "Observation", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "nested too deeply",
    ),
    "binary.json": (b"\x00\x01\x02\xff" * 10, "not a format"),
    "doc.xml": (b"<?xml version='1.0'?><ClinicalDocument/>", "XML"),
    # more bad lines than good: not read as NDJSON (one bad line of many is skipped: see
    # test_tolerance.py)
    "badline.ndjson": (json.dumps(OBS).encode() + b"\n{broken\n[1]\n", "line 2"),
    "latin1.json": (b'{"resourceType": "Observation", "id": "\xe9"}', "not UTF-8"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_is_refused_clearly_and_stores_nothing(
    vault: Vault, tmp_path: Path, name: str
) -> None:
    data, expected = BAD_INPUTS[name]
    path = tmp_path / name
    path.write_bytes(data)
    report = import_paths(vault, [path])
    [outcome] = report.files
    assert not report.ok
    assert str(path) in (outcome.error or "")
    assert expected in (outcome.error or ""), outcome.error
    assert _count(vault) == 0
    assert vault.sources() == []


def test_invalid_resource_names_entry_and_element_and_stores_nothing_of_the_batch_when_strict(
    vault: Vault, tmp_path: Path
) -> None:
    bad = {**OBS, "id": "bad", "valueQuantity": {"value": "twelve"}}
    path = tmp_path / "b.json"
    path.write_text(json.dumps(_bundle("collection", [OBS, {**OBS, "id": "o2"}, bad])))
    [outcome] = import_paths(vault, [path], strict=True).files
    assert outcome.error is not None
    assert f"{path}: entry 2" in outcome.error
    assert "valueQuantity.value" in outcome.error
    assert "twelve" not in outcome.error  # the offending value may be health data
    assert _count(vault) == 0


def test_bad_file_does_not_stop_good_ones(vault: Vault, tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{")
    report = import_paths(vault, [tmp_path / "a.json", SAMPLES / "bluebutton" / "patientRead.json"])
    assert [f.error is None for f in report.files] == [False, True]
    assert _count(vault) == 1


def test_folder_without_fhir_and_missing_path(vault: Vault, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.md").write_text("hi")
    for target, message in (
        (tmp_path / "empty", "no file in this folder is a format this version imports"),
        (tmp_path / "nope", "no such file"),
    ):
        report = import_paths(vault, [target])
        [outcome] = report.files
        assert message in (outcome.error or "")
        assert str(target) in (outcome.error or "")
        assert [s.path for s in report.skipped] == (
            [str(tmp_path / "empty" / "readme.md")] if target.name == "empty" else []
        )


def test_caps_are_enforced(vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_fhir, "MAX_JSON_BYTES", 1000)
    monkeypatch.setattr(_fhir, "MAX_LINE_BYTES", 100)
    monkeypatch.setattr(_fhir, "MAX_ENTRIES", 3)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({**OBS, "note": [{"text": "x" * 2000}]}))
    long_line = tmp_path / "long.ndjson"
    long_line.write_text(
        json.dumps(OBS) + "\n" + json.dumps({**OBS, "note": [{"text": "y" * 500}]}) + "\n"
    )
    many = tmp_path / "many.json"
    many.write_text(json.dumps(_bundle("collection", [{**OBS, "id": f"m{i}"} for i in range(4)])))
    errors = [f.error for f in import_paths(vault, [big, long_line, many]).files]
    assert "over 0 MiB" in str(errors[0]) or "single JSON document" in str(errors[0])
    assert f"{long_line}: line 2" in str(errors[1])
    assert "over 3 entries" in str(errors[2])
    assert _count(vault) == 0


@given(st.binary(max_size=300))
def test_sniff_never_crashes(data: bytes) -> None:
    assert kind_of(data) in {"text", "json", "ndjson", "xml", "zip"}


ids = st.from_regex(r"[A-Za-z0-9\-.]{1,20}", fullmatch=True)


@given(st.lists(st.tuples(ids, st.sampled_from(["final", "amended", "preliminary"])), max_size=20))
def test_ndjson_parser_round_trips(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str]]
) -> None:
    path = tmp_path_factory.mktemp("nd") / "x.ndjson"
    resources = [{**OBS, "id": i, "status": s} for i, s in rows]
    path.write_text("".join(json.dumps(r) + "\n" for r in resources))
    if not resources:
        with pytest.raises(Exception, match=r"empty|no FHIR"):
            list(_fhir.read_ndjson(path, ReadOptions()))
        return
    assert [r for _, r in _fhir.read_ndjson(path, ReadOptions())] == resources


@given(st.binary(min_size=1, max_size=200))
def test_arbitrary_bytes_never_escape_as_tracebacks(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "x.json"
    path.write_bytes(data)
    vault = Vault.ephemeral()
    report = import_paths(vault, [path])
    assert report.ok or str(path) in str(report.files[0].error)
