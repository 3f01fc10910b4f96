"""CGM statistics: each sample's, from what its import stored, against a computation straight
from the file in its own unit; the same readings in both units and both separators give the
same statistics; the consensus's edges (thresholds, days, activity, too little data)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from connectors.cgm_helpers import (
    DEXCOM_MG,
    DEXCOM_MMOL,
    LIBRE_DE,
    LIBRE_US,
    MMOL,
    ZONES,
    expected,
    read_export,
    text_of,
)
from healthlocker.connectors import import_paths
from healthlocker.records import summarize_trends
from healthlocker.records._glucose import GlucoseStats, glucose_stats, reading_of
from healthlocker.records._scope import Scope
from healthlocker.store import Vault

SAMPLES = [DEXCOM_MG, DEXCOM_MMOL, LIBRE_US, LIBRE_DE]


def _stats_of(path: Path, zone: str | None = None, **window: date) -> GlucoseStats:
    vault = Vault.ephemeral()
    report = import_paths(vault, [path], time_zone=zone or ZONES[path])
    assert report.ok, [f.error for f in report.files]
    readings = [r for s in vault.resources("Observation") if (r := reading_of(s.resource))]
    return glucose_stats(readings, **window)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_each_samples_statistics_match_a_computation_from_the_file(path: Path) -> None:
    unit, rows = read_export(path)
    sensor = [r for r in rows if not r.scan]  # scans are on-demand extras, not the record
    want = expected(unit, [r.value for r in sensor])
    got = _stats_of(path)
    assert got.readings == len(sensor)
    assert got.ranges is not None
    assert got.ranges.model_dump() == want.ranges
    assert got.mean_mg_dl == pytest.approx(want.mean_mg_dl, abs=0.005)
    factor = MMOL if unit == "mmol/L" else 1.0
    sd = statistics.stdev(r.value * factor for r in sensor)
    assert got.cv_percent == pytest.approx(100 * sd / want.mean_mg_dl, abs=0.005)
    assert got.gmi_percent == pytest.approx(3.31 + 0.02392 * want.mean_mg_dl, abs=0.005)
    assert got.gmi_mmol_mol == pytest.approx(12.71 + 4.70587 * want.mean_mg_dl / MMOL, abs=0.05)
    days = defaultdict(list)
    for r in sensor:
        days[r.local.date().isoformat()].append(r.value * factor)
    assert [(d.date, d.readings) for d in got.daily] == [
        (d, len(v)) for d, v in sorted(days.items())
    ]
    for d in got.daily:
        assert d.mean_mg_dl == pytest.approx(statistics.fmean(days[d.date]), abs=0.005)
    step = 15 if path == LIBRE_US else 5
    assert got.interval_minutes == step
    assert got.days_with_data == len(days)
    assert 97 < got.active_percent <= 100  # a few signal losses and a sensor's warm-up
    # Each reading in a slot of its own: the readings over those the span could hold (local
    # times: an hour off at a clock change, 0.3% of 14 days).
    span = (sensor[-1].local - sensor[0].local).total_seconds() / 60 + step
    assert got.active_percent == pytest.approx(100 * len(sensor) * step / span, abs=0.5)


def _german_as(tmp_path: Path, *, mg_dl: bool, sep: str) -> Path:
    """The German LibreView sample (mmol/L, ';', decimal commas) written in another unit or
    with another separator: the same readings, as another account would export them."""
    lines = text_of(LIBRE_DE).splitlines()
    out = []
    for i, line in enumerate(lines):
        cells = line.split(";")
        if i >= 2 and cells[3] in ("0", "1"):
            column = 4 if cells[3] == "0" else 5
            mmol = float(cells[column].replace(",", "."))
            cells[column] = str(round(mmol * MMOL)) if mg_dl else f"{mmol:.1f}"
        out.append(
            sep.join(cells).replace("mmol/L", "mg/dL" if mg_dl and "Glukose" in line else "mmol/L")
        )
    path = tmp_path / f"{'mg' if mg_dl else 'mmol'}-{'semicolon' if sep == ';' else 'comma'}.csv"
    path.write_text("\r\n".join(out) + "\r\n", encoding="utf-8")
    return path


def test_the_same_readings_in_both_units_and_both_separators_give_the_same_statistics(
    tmp_path: Path,
) -> None:
    base = _stats_of(LIBRE_DE)
    assert base.ranges is not None
    for mg_dl in (False, True):
        for sep in (";", ","):
            other = _stats_of(_german_as(tmp_path, mg_dl=mg_dl, sep=sep), "Europe/Berlin")
            assert other.readings == base.readings
            assert other.ranges == base.ranges  # the consensus's thresholds agree in both units
            assert other.mean_mg_dl == pytest.approx(base.mean_mg_dl, abs=0.3)
            assert other.gmi_percent == pytest.approx(base.gmi_percent, abs=0.01)
            assert other.cv_percent == pytest.approx(base.cv_percent, abs=0.2)
            assert [d.date for d in other.daily] == [d.date for d in base.daily]


def _at(minutes: float, day: int = 1) -> datetime:
    return datetime(2024, 5, day, tzinfo=timezone(timedelta(hours=2))) + timedelta(minutes=minutes)


def test_readings_fall_in_the_consensus_ranges_by_whole_mg_dl() -> None:
    values = [53.4, 53.5, 69.4, 69.5, 180.4, 180.5, 250.4, 250.5, 3.9 * MMOL, 10.0 * MMOL]
    stats = glucose_stats([(_at(5 * i), v) for i, v in enumerate(values)])
    r = stats.ranges
    assert r is not None
    assert (r.very_low, r.low, r.in_range, r.high, r.very_high) == (10.0, 20.0, 40.0, 20.0, 10.0)
    assert (r.below_70, r.above_180) == (30.0, 30.0)


def test_activity_counts_each_slot_once_and_a_window_counts_its_whole_days() -> None:
    readings = [(_at(5 * i), 120.0) for i in range(144)]  # half a day, every 5 minutes
    readings += [(_at(5 * i + 1), 130.0) for i in range(10)]  # a second receiver, same slots
    whole = glucose_stats(readings)
    assert (whole.readings, whole.interval_minutes, whole.active_percent) == (154, 5.0, 100.0)
    window = glucose_stats(readings, first_day=date(2024, 5, 1), last_day=date(2024, 5, 2))
    assert window.days == 2
    assert window.active_percent == 25.0  # 144 slots of the 576 in two days
    assert window.daily[0].active_percent == 50.0
    assert not window.sufficient
    assert window.notes[0].startswith(
        "2 days with the sensor active 25% of the time: the consensus"
    )
    outside = glucose_stats(readings, first_day=date(2024, 5, 3))
    assert outside.readings == 0 and outside.ranges is None
    assert (
        outside.render()
        == "Glucose (CGM): no sensor readings (no CGM sensor readings in the period)"
    )


def test_fourteen_full_days_are_sufficient_and_render_in_three_lines() -> None:
    readings = [(_at(5 * i), 100.0 + (i % 50)) for i in range(14 * 288)]
    stats = glucose_stats(readings)
    assert stats.sufficient and stats.days == 14 and stats.notes == []
    assert stats.render().splitlines() == [
        "Glucose (CGM), 2024-05-01 → 2024-05-14: 14 days, 4,032 readings every 5 min, sensor "
        "active 100.0%",
        "mean 124 mg/dL (6.9 mmol/L), GMI 6.3% (45.2 mmol/mol), CV 11.6%",  # 124.5; SD 14.43
        "time in range 70–180 mg/dL 100.0%; below 70 0.0% (below 54 0.0%); above 180 0.0% "
        "(above 250 0.0%)",
    ]


def test_only_cgm_sensor_readings_count() -> None:
    def obs(code: str, value: float, unit: str, **more: object) -> dict[str, object]:
        return {
            "resourceType": "Observation",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "effectiveDateTime": "2024-05-01T08:00:00+02:00",
            "valueQuantity": {"value": value, "code": unit},
            **more,
        }

    assert reading_of(obs("105272-9", 5.5, "mmol/L")) == (
        datetime(2024, 5, 1, 6, tzinfo=UTC).astimezone(timezone(timedelta(hours=2))),
        5.5 * MMOL,
    )
    assert reading_of(obs("99504-3", 40, "mg/dL"))[1] == 40  # type: ignore[index]
    assert reading_of(obs("99504-3", 99, "mg/dL", method={"text": "scan"})) is None
    assert reading_of(obs("2339-0", 99, "mg/dL")) is None  # a lab glucose, not a sensor's
    assert reading_of(obs("99504-3", 99, "g/L")) is None
    assert reading_of({"resourceType": "Observation"}) is None


# -- summarize_trends(metric="glucose") ----------------------------------------------------


def _vault_with(*paths: Path) -> Vault:
    vault = Vault.ephemeral()
    for path in paths:
        report = import_paths(vault, [path], time_zone=ZONES.get(path))
        assert report.ok, [f.error for f in report.files]
    return vault


def test_the_glucose_trend_carries_the_consensus_metrics_and_daily_means() -> None:
    """Scans are left out of both: the LibreLink sample has 96 of them."""
    unit, rows = read_export(LIBRE_US)
    sensor = [r for r in rows if not r.scan]
    view = summarize_trends(_vault_with(LIBRE_US), metric="glucose")
    assert (view.metric, view.unit, view.granularity) == ("glucose", "mg/dL", "day")
    assert view.source_count == len(sensor) < len(rows)
    assert view.cgm is not None and view.cgm.ranges is not None
    assert view.cgm.ranges.model_dump() == expected(unit, [r.value for r in sensor]).ranges
    days = defaultdict(list)
    for r in sensor:
        days[r.local.date().isoformat()].append(r.value)
    assert [(p.start, p.n) for p in view.points] == [(d, len(v)) for d, v in sorted(days.items())]
    # Each day's mean, to the one decimal a point of whole mg/dL readings is given to.
    assert [p.value for p in view.points] == [
        round(statistics.fmean(v), 1) for _, v in sorted(days.items())
    ]
    text = view.render().splitlines()
    assert text[0].startswith("Glucose (CGM), 2024-04-01 → 2024-04-15: 15 days, 1,334 readings")
    assert text[2].startswith(f"time in range 70–180 mg/dL {view.cgm.ranges.in_range:.1f}%")
    assert text[3].startswith(f"SD {view.cgm.sd_mg_dl} mg/dL; 15 of the 15 days have readings")
    assert text[4].startswith("The consensus targets for most adults with diabetes")
    assert text[5].startswith(f"Per day: {view.cgm.daily[0].date} ")
    assert text[6].startswith("Glucose (CGM): 15 daily points, 2024-04-01 to 2024-04-15 (mean of")


def test_readings_in_mmol_l_are_trended_in_mg_dl() -> None:
    unit, rows = read_export(DEXCOM_MMOL)
    view = summarize_trends(_vault_with(DEXCOM_MMOL), metric="cgm")  # an alias
    assert view.unit == "mg/dL" and unit == "mmol/L"
    assert view.cgm is not None
    want = expected(unit, [r.value for r in rows]).mean_mg_dl
    assert view.cgm.mean_mg_dl == pytest.approx(want, abs=0.005)
    # The mean of the points, to the 3 decimals the points are given to.
    assert view.stats.mean == pytest.approx(
        statistics.fmean(p.value for p in view.points), abs=5e-4
    )


def test_glucose_is_the_lab_test_without_a_sensor_and_the_sensor_with_one(
    samples: Path,
) -> None:
    labs_only = _vault_with(samples / "synthea")
    lab = summarize_trends(labs_only, metric="glucose")
    assert lab.metric != "glucose" and lab.cgm is None and "2339-0" in lab.codes
    both = _vault_with(samples / "synthea", LIBRE_DE)
    sensor = summarize_trends(both, metric="glucose")
    assert sensor.metric == "glucose" and sensor.cgm is not None
    assert any("for lab glucose tests ask for 2345-7" in n for n in sensor.notes)
    assert summarize_trends(both, metric="2339-0").cgm is None


def test_the_consent_window_limits_the_readings_and_says_how_many_it_left_out() -> None:
    vault = _vault_with(LIBRE_DE)
    _, rows = read_export(LIBRE_DE)
    view = summarize_trends(Scope(vault, window_start="2024-10-28"), metric="glucose")
    assert view.cgm is not None
    kept = [r for r in rows if not r.scan and r.local.date() >= date(2024, 10, 28)]
    assert (view.cgm.first_day, view.cgm.readings) == ("2024-10-28", len(kept))
    assert view.withheld is not None
    assert view.withheld.count == sum(not r.scan for r in rows) - len(kept)
