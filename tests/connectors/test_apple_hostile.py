"""Hostile and broken Apple Health exports: refused with the file and the place named, nothing
stored, no traceback; and the source-priority rule as a property."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.apple_helpers import APPLE, ME, PHONE, WATCH, Q, export, record, write, zip_of
from healthlocker.connectors import ReadOptions, import_paths
from healthlocker.connectors.apple import _zip as apple_zip
from healthlocker.connectors.apple._reader import read_apple
from healthlocker.errors import ConnectorError, InputFormatError, LimitError, ParseError
from healthlocker.store import Vault
from helpers import run_cli

GOOD = export(record(Q + "StepCount", 10, "2024-03-01 09:00:00"))


def _refused(vault: Vault, path: Path, fmt: str | None = "apple-health") -> str:
    report = import_paths(vault, [path], fmt=fmt)
    assert not report.ok
    assert vault.stats()["resources"] == 0, "nothing of a refused file is stored"
    error = report.files[0].error or ""
    assert str(path) in error
    return error


def test_truncated_xml_names_the_line(vault: Vault, tmp_path: Path) -> None:
    text = (APPLE / "opendroid-sampleexport-2.xml").read_text(encoding="utf-8")
    path = write(tmp_path / "export.xml", text[: len(text) * 2 // 3])
    error = _refused(vault, path)
    assert "ends early at line" in error or "line" in error
    with pytest.raises(ParseError, match=r"line \d+"):
        list(read_apple(path, ReadOptions()))


def test_malformed_xml_names_line_and_column(vault: Vault, tmp_path: Path) -> None:
    path = write(tmp_path / "export.xml", GOOD.replace("<Record ", "<Record <", 1))
    assert "line 5, column" in _refused(vault, path)


@pytest.mark.parametrize(
    "dtd",
    [
        # billion laughs
        '<!DOCTYPE HealthData [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>',
        # external entity
        '<!DOCTYPE HealthData [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        # parameter entity, case games
        '<!DOCTYPE HealthData [<!entity % p SYSTEM "http://example.invalid/x.dtd"> %p;]>',
    ],
    ids=["expansion", "external", "parameter"],
)
def test_entity_declarations_are_refused(vault: Vault, tmp_path: Path, dtd: str) -> None:
    body = GOOD.replace("<HealthData", dtd + "\n<HealthData", 1)
    path = write(tmp_path / "export.xml", body.replace("</HealthData>", "&c;&x;</HealthData>"))
    error = _refused(vault, path)
    assert "entities" in error


def test_the_apple_dtd_is_allowed(vault: Vault) -> None:
    report = import_paths(vault, [APPLE / "opendroid-sampleexport.xml"])
    assert report.ok


def test_other_encodings_and_other_xml_are_refused(vault: Vault, tmp_path: Path) -> None:
    utf16 = tmp_path / "utf16.xml"
    utf16.write_bytes(GOOD.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"))
    assert "UTF-8" in _refused(vault, utf16)
    latin = write(tmp_path / "latin.xml", GOOD.replace("UTF-8", "ISO-8859-1"))
    assert "encoding" in _refused(vault, latin)
    cda = write(tmp_path / "cda.xml", '<?xml version="1.0"?><ClinicalDocument/>')
    assert "not an Apple Health export" in _refused(vault, cda)
    # without --format, detection says what it is not
    assert "not a format this version imports" in _refused(vault, cda, fmt=None)


def test_deep_nesting_is_refused(vault: Vault, tmp_path: Path) -> None:
    path = write(tmp_path / "export.xml", export("<a>" * 100_000 + "</a>" * 100_000))
    assert "nested more than" in _refused(vault, path)


def test_a_huge_attribute_is_refused(vault: Vault, tmp_path: Path) -> None:
    big = record(Q + "StepCount", 1, "2024-03-01 09:00:00").replace(
        'unit="count"', f'unit="{"x" * (11 * 2**20)}"'
    )
    assert "line" in _refused(vault, write(tmp_path / "export.xml", export(big)))


def test_empty_and_binary_files(vault: Vault, tmp_path: Path) -> None:
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    assert "empty" in _refused(vault, empty)
    noise = tmp_path / "noise.xml"
    noise.write_bytes(b"<\x00\x01\x02" * 100)
    _refused(vault, noise)


# --- zip archives -----------------------------------------------------------------------------


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize(
    "name",
    [
        "../evil.json",
        "apple_health_export/../../evil.json",
        "/etc/cron.d/evil",
        "C:/evil",
        "apple_health_export\\..\\evil",
    ],
)
def test_path_traversal_members_refuse_the_archive(vault: Vault, tmp_path: Path, name: str) -> None:
    path = _zip(
        tmp_path / "export.zip",
        {"apple_health_export/export.xml": GOOD.encode(), name: b"{}"},
    )
    assert "refused" in _refused(vault, path)
    assert not (tmp_path.parent / "evil.json").exists()


def test_symlink_members_refuse_the_archive(vault: Vault, tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("apple_health_export/export.xml", GOOD)
        link = zipfile.ZipInfo("apple_health_export/clinical-records/x.json")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    assert "symbolic link" in _refused(vault, path)


def test_resource_file_path_is_a_member_name_never_a_path(tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"resourceType": "Patient", "id": "stolen"}')
    clinical = (
        ' <ClinicalRecord type="Patient" identifier="x" sourceName="x" sourceURL="x"'
        f' fhirVersion="4.0.1" receivedDate="x" resourceFilePath="{secret}"/>\n'
        ' <ClinicalRecord type="Patient" identifier="y" sourceName="x" sourceURL="x"'
        ' fhirVersion="4.0.1" receivedDate="x"'
        ' resourceFilePath="/clinical-records/../../secret.json"/>\n'
    )
    xml = write(tmp_path / "export.xml", export(clinical))
    notes: list[str] = []
    resources = [
        r for _, r in read_apple(zip_of(xml, tmp_path / "export.zip"), ReadOptions(notes=notes))
    ]
    assert all(r["id"] != "stolen" for r in resources)
    assert any("2 × clinical records whose file is missing" in n for n in notes)


def test_a_zip_bomb_is_refused_by_its_ratio(vault: Vault, tmp_path: Path) -> None:
    bomb = GOOD.replace("</HealthData>", "<!--" + " " * (40 * 2**20) + "--></HealthData>")
    path = _zip(tmp_path / "export.zip", {"apple_health_export/export.xml": bomb.encode()})
    assert path.stat().st_size < 200_000
    error = _refused(vault, path)
    assert "zip bomb" in error
    assert "apple_health_export/export.xml" in error


def test_caps_on_inflated_size(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = zip_of(write(tmp_path / "export.xml", GOOD), tmp_path / "export.zip")
    monkeypatch.setattr(apple_zip, "MAX_XML_BYTES", 100)
    assert "over the cap" in _refused(vault, path)
    monkeypatch.setattr(apple_zip, "MAX_XML_BYTES", 2**30)
    monkeypatch.setattr(apple_zip, "MAX_TOTAL_BYTES", 100)
    assert "cap on uncompressed size" in _refused(vault, path)
    monkeypatch.setattr(apple_zip, "MAX_TOTAL_BYTES", 2**30)
    monkeypatch.setattr(apple_zip, "MAX_MEMBERS", 0)
    assert "members" in _refused(vault, path)


def test_zips_that_are_not_exports(vault: Vault, tmp_path: Path) -> None:
    other = _zip(tmp_path / "other.zip", {"notes.txt": b"hello"})
    assert "no export.xml" in _refused(vault, other)
    assert "zip archive" in _refused(vault, other, fmt=None)
    broken = tmp_path / "broken.zip"
    data = zip_of(write(tmp_path / "export.xml", GOOD * 1), tmp_path / "ok.zip").read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    _refused(vault, broken)
    twice = tmp_path / "twice.zip"
    with zipfile.ZipFile(twice, "w") as zf:
        zf.writestr("export.xml", GOOD)
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr("export.xml", GOOD)
    assert "two members" in _refused(vault, twice)


def test_a_damaged_member_is_named(vault: Vault, tmp_path: Path) -> None:
    path = zip_of(write(tmp_path / "export.xml", GOOD * 1), tmp_path / "export.zip")
    data = bytearray(path.read_bytes())
    at = data.index(b"apple_health_export/export.xml") + 40  # inside the deflated stream
    data[at : at + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    error = _refused(vault, path)
    assert "export.xml" in error


def test_cli_refuses_without_a_traceback(tmp_path: Path) -> None:
    home = tmp_path / "vault"
    assert run_cli("init", home=home).returncode == 0
    bad = write(tmp_path / "export.xml", GOOD.replace("</HealthData>", ""))
    result = run_cli("import", str(bad), "--format", "apple-health", home=home)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "ends early at line" in result.stderr
    ok = run_cli("import", str(APPLE / "dogsheep-export.xml"), "--json", home=home)
    assert ok.returncode == 0, ok.stderr
    assert '"format": "apple-health"' in ok.stdout


# --- reader errors as exceptions --------------------------------------------------------------


def test_reader_errors_are_connector_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError):
        list(read_apple(write(tmp_path / "a.xml", "<Other/>"), ReadOptions()))
    with pytest.raises(LimitError):
        list(read_apple(write(tmp_path / "b.xml", export("<a>" * 20 + "</a>" * 20)), ReadOptions()))
    with pytest.raises(ConnectorError):
        list(read_apple(write(tmp_path / "c.xml", "<HealthData>"), ReadOptions()))


# --- the priority rule, as a property ---------------------------------------------------------

_minutes = st.integers(min_value=0, max_value=24 * 4 - 1)


@given(
    watch=st.lists(st.tuples(_minutes, st.integers(1, 500)), max_size=12),
    phone=st.lists(st.tuples(_minutes, st.integers(1, 500)), max_size=12),
)
def test_a_slot_counts_from_one_source_the_watch_first(
    tmp_path_factory: pytest.TempPathFactory,
    watch: list[tuple[int, int]],
    phone: list[tuple[int, int]],
) -> None:
    """Samples inside one 15-minute slot: per slot the watch's sum if it has any, else the
    phone's; never both."""

    def stamp(slot: int) -> str:
        return f"2024-03-01 {slot // 4:02d}:{slot % 4 * 15 + 1:02d}:00"

    records = [record(Q + "StepCount", v, stamp(s), source=WATCH) for s, v in watch]
    records += [record(Q + "StepCount", v, stamp(s), source=PHONE) for s, v in phone]
    path = write(tmp_path_factory.mktemp("p") / "export.xml", export(*records, me=ME))
    got = [
        r["valueQuantity"]["value"]
        for _, r in read_apple(path, ReadOptions())
        if r.get("code", {}).get("coding", [{}])[0].get("code") == "41950-7"
    ]
    slots: dict[int, dict[str, int]] = {}
    for source, samples in (("watch", watch), ("phone", phone)):
        for s, v in samples:
            slots.setdefault(s, {}).setdefault(source, 0)
            slots[s][source] += v
    expected = sum(s.get("watch") or s.get("phone", 0) for s in slots.values())
    assert got == ([expected] if records else [])
