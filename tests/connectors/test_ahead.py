"""Validation ahead of storage, in a worker process: same result as the ordinary path, and a
file that changes after it was validated is never stored."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from healthlocker.connectors import ReadOptions, _ahead, import_paths
from healthlocker.connectors.fhir import _json as _fhir
from healthlocker.errors import ParseError
from healthlocker.store import Vault
from helpers import SAMPLES


def _content(vault: Vault) -> set[str]:
    return {json.dumps(r, sort_keys=True) for r in vault.iter_all()}


def test_worker_path_stores_what_the_ordinary_path_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial, ahead = Vault.ephemeral(), Vault.ephemeral()
    monkeypatch.setattr(_ahead, "MIN_BYTES", 10**15)
    assert import_paths(serial, [SAMPLES / "synthea"]).ok
    monkeypatch.setattr(_ahead, "MIN_BYTES", 1)
    calls: list[bool] = []
    real = _ahead.validator

    def spy(jobs):  # type: ignore[no-untyped-def]
        calls.append(True)
        return real(jobs)

    monkeypatch.setattr(_ahead, "validator", spy)
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "resourceType": "Observation",
                "id": "x",
                "status": "final",
                "code": {"text": "t"},
                "valueQuantity": {"value": "abc"},
            }
        )
    )
    report = import_paths(ahead, [SAMPLES / "synthea", bad])
    assert calls == [True]
    assert [f.error is None for f in report.files] == [True] * 6 + [False]
    assert f"{bad}: resource" in str(report.files[-1].error)  # same error, same place
    assert _content(ahead) == _content(serial)


def test_worker_verdict_is_checked_against_the_bytes_read(tmp_path: Path) -> None:
    path = tmp_path / "x.ndjson"
    path.write_text(json.dumps({"resourceType": "Patient", "id": "p1"}) + "\n")
    validated = _ahead.check_file(str(path), "ndjson")
    assert validated == hashlib.sha256(path.read_bytes()).digest()
    path.write_text(json.dumps({"resourceType": "Patient", "id": "p2"}) + "\n")
    vault = Vault.ephemeral()
    with pytest.raises(ParseError, match="changed while it was being imported"):
        vault.import_batch(
            _fhir.read_ndjson(path, ReadOptions(expect=validated)),
            source="s",
            kind="ndjson",
            name="x",
            file_digest=validated,
            validated=True,
        )
    assert list(vault.iter_all()) == []
    bundle = tmp_path / "b.json"
    bundle.write_text(json.dumps({"resourceType": "Patient", "id": "p3"}))
    with pytest.raises(ParseError, match="changed"):
        list(_fhir.read_json(bundle, ReadOptions(expect=validated)))


def test_invalid_file_gets_no_verdict(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"resourceType": "Patient", "id": "p", "gender": 5}))
    assert _ahead.check_file(str(path), "fhir-json") is None


def test_jobs_are_shared_and_verdicts_match_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_ahead, "MIN_BYTES", 1)
    paths = []
    for i in range(6):
        path = tmp_path / f"p{i}.ndjson"
        path.write_text(json.dumps({"resourceType": "Patient", "id": f"p{i}"}) + "\n")
        paths.append(path)
    with _ahead.validator([(p, "ndjson") for p in paths]) as ahead:
        assert ahead is not None
        verdicts = [ahead.claim(i) for i in range(len(paths))]
    assert verdicts[0] is None  # the first file is this process's own
    for path, verdict in zip(paths, verdicts, strict=True):
        assert verdict in (None, hashlib.sha256(path.read_bytes()).digest())
    assert _ahead.claim(None, 0) is None


def test_other_formats_get_no_verdict_without_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = tmp_path / "export.zip"
    export.write_bytes(b"PK\x03\x04" + bytes(1024))

    def unexpected(path: Path) -> bytes:
        raise AssertionError(f"{path.name} was read")

    monkeypatch.setattr(_ahead, "file_digest", unexpected)
    assert _ahead.check_file(str(export), "apple-health") is None
