"""CGM exports: every reading of the samples at full resolution, as the HL7 CGM IG draws it;
local times and daylight saving; the same readings from a later export; bad rows skipped and
named; hostile files refused with their place."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.cgm_helpers import (
    CGM,
    DEXCOM_MG,
    DEXCOM_MMOL,
    LIBRE_DE,
    LIBRE_US,
    ZONES,
    read_export,
    text_of,
)
from healthlocker.connectors import ReadOptions, detect_format, import_paths
from healthlocker.connectors.cgm._dexcom import read_dexcom
from healthlocker.connectors.cgm._libreview import _local, read_libreview
from healthlocker.connectors.cgm._time import Clock
from healthlocker.errors import InputFormatError, LimitError, ParseError
from healthlocker.store import Vault
from helpers import run_cli

LOINC = "http://loinc.org"
HEAD = "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Glucose Value (mg/dL)\n"
FORMAT_OF = {DEXCOM_MG: "dexcom-clarity", DEXCOM_MMOL: "dexcom-clarity",
             LIBRE_US: "libreview", LIBRE_DE: "libreview"}  # fmt: skip


def _import(vault: Vault, path: Path, zone: str | None = None) -> Any:
    report = import_paths(vault, [path], time_zone=zone or ZONES.get(path))
    [outcome] = report.files
    assert outcome.error is None, outcome.error
    return outcome


def _stored(vault: Vault, rtype: str = "Observation") -> list[dict[str, Any]]:
    return [s.resource for s in vault.resources(rtype)]


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("path", list(FORMAT_OF), ids=lambda p: p.name)
def test_every_reading_of_a_sample_is_an_observation_as_the_ig_draws_it(path: Path) -> None:
    vault = Vault.ephemeral()
    assert detect_format(path) == FORMAT_OF[path]
    outcome = _import(vault, path)
    unit, rows = read_export(path)
    observations = _stored(vault)
    assert len(observations) == len(rows)
    devices = {f"Device/{d['id']}": d for d in _stored(vault, "Device")}
    code = "99504-3" if unit == "mg/dL" else "105272-9"
    by_local: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for obs in observations:
        assert obs["code"] == {"coding": [{"system": LOINC, "code": code}]}
        assert obs["valueQuantity"]["code"] == obs["valueQuantity"]["unit"] == unit
        assert obs["device"]["reference"] in devices
        assert "category" not in obs and "subject" not in obs
        key = (obs["effectiveDateTime"][:16], "method" in obs)
        by_local.setdefault(key, []).append(obs)
    for row in rows:  # each row of the file, with its value, comparator and local time
        found = by_local[(row.local.strftime("%Y-%m-%dT%H:%M"), row.scan)]
        values = [
            (o["valueQuantity"]["value"], o["valueQuantity"].get("comparator")) for o in found
        ]
        assert (row.value, row.beyond) in values, row
    for device in devices.values():
        assert device["deviceName"][0]["type"] == "user-friendly-name"
        assert device["identifier"][0]["value"] == device["serialNumber"]
    assert outcome.notes[0].startswith(f"{sum(not r.scan for r in rows):,} sensor readings")


def test_readings_beyond_the_sensors_range_keep_their_limit_and_comparator() -> None:
    vault = Vault.ephemeral()
    outcome = _import(vault, DEXCOM_MMOL)
    beyond = [o["valueQuantity"] for o in _stored(vault) if "comparator" in o["valueQuantity"]]
    assert {(q["comparator"], q["value"]) for q in beyond} == {("<", 2.2), (">", 22.2)}
    lows = sum(q["comparator"] == "<" for q in beyond)
    assert f"{lows} × below the sensor's range (stored as < 2.2 mmol/L)" in outcome.notes[0]
    assert "Dexcom G6" in outcome.notes[0]


def test_the_devices_are_the_sensors() -> None:
    """A G7 has a transmitter per sensor: the sample's sensor change makes two Devices."""
    vault = Vault.ephemeral()
    _import(vault, DEXCOM_MG)
    devices = _stored(vault, "Device")
    assert sorted(d["identifier"][0]["value"] for d in devices) == ["501725288431", "501726931431"]
    assert {d["deviceName"][0]["name"] for d in devices} == {"Dexcom G7"}
    assert {d["manufacturer"] for d in devices} == {"Dexcom"}


@pytest.mark.parametrize("path", [DEXCOM_MMOL, LIBRE_DE], ids=["sorted-by-local", "in-order"])
def test_the_hour_that_repeats_when_clocks_go_back_gives_two_hours(path: Path) -> None:
    """Clarity sorts rows by local time (the repeated hour's readings interleave; the
    transmitter's clock tells them apart); LibreView lists them in order (time steps back)."""
    vault = Vault.ephemeral()
    _import(vault, path)
    times = sorted(
        datetime.fromisoformat(o["effectiveDateTime"]).astimezone(UTC)
        for o in _stored(vault)
        if "method" not in o
    )
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= timedelta(minutes=4)  # none on top of another
    day = "2024-10-27"
    offsets = {
        o["effectiveDateTime"][19:] for o in _stored(vault) if o["effectiveDateTime"][:10] == day
    }
    assert offsets == ({"+01:00", "+00:00"} if path == DEXCOM_MMOL else {"+02:00", "+01:00"})


def test_spring_forward_skips_an_hour_and_no_reading_is_lost() -> None:
    vault = Vault.ephemeral()
    _import(vault, DEXCOM_MG)
    march_10 = [
        o["effectiveDateTime"]
        for o in _stored(vault)
        if o["effectiveDateTime"].startswith("2024-03-10")
    ]
    assert not [s for s in march_10 if s[11:13] == "02"]  # 02:xx does not exist in New York
    assert {s[19:] for s in march_10} == {"-05:00", "-04:00"}


def test_the_time_zone_decides_the_offset_and_is_part_of_the_files_identity() -> None:
    vault = Vault.ephemeral()
    first = _import(vault, LIBRE_US, "Asia/Tokyo")
    assert "local times read in Asia/Tokyo" in first.notes[0]
    assert {o["effectiveDateTime"][19:] for o in _stored(vault)} == {"+09:00"}
    again = _import(vault, LIBRE_US, "Asia/Tokyo")
    assert again.result.skipped_file
    moved = _import(vault, LIBRE_US, "America/Chicago")  # read again: same ids, new times
    assert not moved.result.skipped_file
    assert moved.result.updated == first.result.added - 1  # every reading; the Device is as was
    assert {o["effectiveDateTime"][19:] for o in _stored(vault)} == {"-05:00"}


def test_without_a_time_zone_the_computers_is_used(tmp_path: Path) -> None:
    home = tmp_path / "v"
    assert run_cli("init", home=home).returncode == 0
    done = run_cli("import", str(LIBRE_US), "--json", home=home, env={"TZ": "America/Denver"})
    assert done.returncode == 0, done.stderr
    [file] = json.loads(done.stdout)["files"]
    assert "this computer's time zone (MST/MDT); --time-zone names another" in file["notes"][0]


def test_an_unknown_time_zone_is_a_usage_error(tmp_path: Path) -> None:
    done = run_cli("import", str(LIBRE_US), "--time-zone", "Mars/Olympus", home=tmp_path / "v")
    assert done.returncode == 2
    assert "unknown time zone 'Mars/Olympus'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_later_export_lands_on_the_same_readings(tmp_path: Path) -> None:
    """Exports are named after when they were made; both go to the one source, and the
    readings they share are the same rows."""
    lines = text_of(DEXCOM_MG).splitlines(keepends=True)
    early = _write(tmp_path / "Clarity_Export_Doe_Jane_2024-03-11_090000.csv",
                   "\ufeff" + "".join(lines[:2000]))  # fmt: skip
    vault = Vault.ephemeral()
    first = _import(vault, early, ZONES[DEXCOM_MG])
    later = _import(vault, DEXCOM_MG)
    assert later.result.unchanged == first.result.added
    assert later.result.added == len(read_export(DEXCOM_MG)[1]) + 2 - first.result.added
    assert [s.label for s in vault.sources()] == ["dexcom-clarity"]


def test_rows_that_cannot_be_read_are_skipped_and_named_by_line(tmp_path: Path) -> None:
    lines = text_of(LIBRE_DE).splitlines(keepends=True)
    broken = {4: ("21-10-2024 00:13", "31-02-2024 00:13"), 6: (";0;", ";0;zwölf"),
              8: (";0;", ";0;99,0;x")}  # fmt: skip
    for index, (old, new) in broken.items():
        assert old in lines[index]
        lines[index] = lines[index].replace(old, new, 1)
    path = _write(tmp_path / "export.csv", "".join(lines))
    vault = Vault.ephemeral()
    outcome = _import(vault, path, "Europe/Berlin")
    assert len(_stored(vault)) == len(read_export(LIBRE_DE)[1]) - 3
    where = str(path)
    assert [(r.where, r.why) for r in outcome.skipped_records] == [
        (f"{where}: line 5", "column 'Gerätezeitstempel': not a date and time"),
        (f"{where}: line 7", "column 'Glukosewert-Verlauf mmol/L': not a glucose reading"),
        (f"{where}: line 9", "column 'Glukosewert-Verlauf mmol/L': not a glucose reading"),
    ]
    said = repr(outcome.skipped_records) + repr(outcome.notes)
    assert "zwölf" not in said and "99,0" not in said  # no value from the file


def test_strict_refuses_a_cgm_file_at_its_first_bad_row(tmp_path: Path) -> None:
    lines = text_of(LIBRE_DE).splitlines(keepends=True)
    lines[6] = lines[6].replace(";0;", ";0;zwölf", 1)
    path = _write(tmp_path / "export.csv", "".join(lines))
    vault = Vault.ephemeral()
    report = import_paths(vault, [path], time_zone="Europe/Berlin", strict=True)
    [outcome] = report.files
    assert outcome.error == (
        f"{path}: line 7: column 'Glukosewert-Verlauf mmol/L': not a glucose reading"
    )
    assert _stored(vault) == []


def test_a_file_none_of_whose_readings_can_be_read_is_refused(tmp_path: Path) -> None:
    """Readings in mg/dL under an mmol/L header: none is a glucose value in mmol/L."""
    text = text_of(LIBRE_US).replace("Glucose mg/dL", "Glucose mmol/L")
    report = import_paths(Vault.ephemeral(), [_write(tmp_path / "x.csv", text)])
    [outcome] = report.files
    assert outcome.error is not None
    assert outcome.error.startswith(f"{tmp_path / 'x.csv'}: line 3: ")
    assert "records could not be read (column 'Historic Glucose mmol/L': not a glucose " in (
        outcome.error
    )


def test_utf16_and_a_byte_order_mark_read_alike(tmp_path: Path) -> None:
    text = text_of(LIBRE_US)
    utf16 = _write(tmp_path / "utf16.csv", "\ufeff" + text, "utf-16-le")
    assert detect_format(utf16) == "libreview"
    a, b = Vault.ephemeral(), Vault.ephemeral()
    _import(a, utf16, "America/Chicago")
    _import(b, LIBRE_US)
    assert sorted(map(json.dumps, _stored(a))) == sorted(map(json.dumps, _stored(b)))


def test_dates_that_fit_both_orders_are_read_as_the_clock_suggests(tmp_path: Path) -> None:
    lines = text_of(LIBRE_US).splitlines(keepends=True)
    early = [line for line in lines[2:] if line.split(",")[2][3:5] <= "12"]
    path = _write(tmp_path / "early.csv", "".join(lines[:2] + early))
    vault = Vault.ephemeral()
    outcome = _import(vault, path, "America/Chicago")
    assert (
        "dates read month first (MM-DD-YYYY): every date in the file fits both orders, and a "
        "12-hour clock is most often written so" in outcome.notes
    )
    assert min(o["effectiveDateTime"] for o in _stored(vault)).startswith("2024-04-01T00:07")


def test_an_export_with_only_its_header_stores_nothing_and_says_so(tmp_path: Path) -> None:
    header = text_of(DEXCOM_MG).splitlines(keepends=True)[0]
    outcome = _import(Vault.ephemeral(), _write(tmp_path / "e.csv", header), "UTC")
    assert outcome.result.added == 0
    assert outcome.notes[0] == "no sensor readings in the file"


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        (HEAD + "1,2024-01-01T00:00:00,EGV,\xff\n", ParseError, "line 2: not UTF-8 text"),
        (HEAD + '1,"2024', ParseError, "malformed CSV"),
        (HEAD + "x" * (2 << 20), LimitError, "line 2: a line over 1 MiB"),
        (HEAD.replace(" (mg/dL)", ""), InputFormatError,
         "no 'Glucose Value (mg/dL)' or 'Glucose Value (mmol/L)' column"),
    ],
    ids=["not-utf8", "unclosed-quote", "endless-line", "no-unit"],
)  # fmt: skip
def test_hostile_clarity_files_are_refused_with_their_place(
    tmp_path: Path, text: str, error: type[Exception], message: str
) -> None:
    path = tmp_path / "clarity.csv"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape").replace(b"\xc3\xbf", b"\xff"))
    with pytest.raises(error) as caught:
        list(read_dexcom(path, ReadOptions(time_zone="UTC")))
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_libreview_file_without_its_header_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "l.csv", "Glucose Data,Generated on\nDevice,Serial\nx,y\n")
    with pytest.raises(InputFormatError, match="not a LibreView export: no header"):
        list(read_libreview(path, ReadOptions(time_zone="UTC")))


def test_a_folder_of_exports_imports_each_under_its_formats_source(tmp_path: Path) -> None:
    home = tmp_path / "v"
    assert run_cli("init", home=home).returncode == 0
    done = run_cli("import", str(CGM), "--time-zone", "Europe/Berlin", "--json", home=home)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert sorted(f["format"] for f in summary["files"]) == [
        "dexcom-clarity", "dexcom-clarity", "libreview", "libreview"
    ]  # fmt: skip
    sources = json.loads(run_cli("sources", "--json", home=home).stdout)
    assert sorted(s["label"] for s in sources) == ["dexcom-clarity", "libreview"]


_LOCAL = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2037, 12, 31))
_ZONES = ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC")


@given(local=_LOCAL.map(lambda d: d.replace(microsecond=0)), name=st.sampled_from(_ZONES))
def test_a_local_time_keeps_its_wall_clock_and_gets_an_offset_of_its_zone(
    local: datetime, name: str
) -> None:
    stamp, fold = Clock(name).stamp("sensor", local)
    aware = datetime.fromisoformat(stamp)
    assert aware.replace(tzinfo=None) == local
    assert aware.utcoffset() == local.replace(tzinfo=ZoneInfo(name), fold=fold).utcoffset()


@given(local=_LOCAL.map(lambda d: d.replace(second=0, microsecond=0)), us=st.booleans())
def test_libreview_dates_read_back_in_either_order(local: datetime, us: bool) -> None:
    text = local.strftime("%m-%d-%Y %I:%M %p" if us else "%d-%m-%Y %H:%M")
    assert _local(text, day_first=not us) == local
    assert _local(local.strftime("%Y-%m-%d %H:%M"), day_first=not us) == local
