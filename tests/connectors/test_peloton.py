"""Peloton: every row of the sample a workout in metric units; time zones; metric accounts;
stable ids across downloads."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.wellness_helpers import (
    METRIC_HEADER,
    MI,
    PELOTON,
    PELOTON_HEADER,
    code_of,
    component,
    csv_text,
    resources,
    table,
    write,
)
from healthlocker.connectors import ReadOptions, Tolerance, detect_format, import_paths
from healthlocker.connectors.wellness._peloton import parse_stamp, read_peloton
from healthlocker.errors import ParseError
from healthlocker.store import Vault


def _row(stamp: str, **cells: str) -> list[str]:
    values = dict.fromkeys(PELOTON_HEADER, "")
    values.update({"Workout Timestamp": stamp, "Fitness Discipline": "Cycling"})
    values.update({"Length (minutes)": "20", "Calories Burned": "200"})
    values.update(cells)
    return [values[h] for h in PELOTON_HEADER]


def _workouts(vault: Vault) -> list[dict[str, Any]]:
    return [r for r in resources(vault) if code_of(r) == "73985-4"]


def _number(text: str) -> float | None:
    return float(text.rstrip("%")) if text else None


def test_every_sample_row_is_a_workout_in_metric_units(vault: Vault) -> None:
    assert detect_format(PELOTON) == "peloton"
    assert import_paths(vault, [PELOTON]).ok
    rows = table(PELOTON)
    by_start = {w["effectivePeriod"]["start"][:16]: w for w in _workouts(vault)}
    assert len(by_start) == len(rows)
    for row in rows:
        day, clock = row["Workout Timestamp"][:10], row["Workout Timestamp"][11:16]
        w = by_start[f"{day}T{clock}"]
        offset = "-08:00" if "(PST)" in row["Workout Timestamp"] else "-07:00"
        assert w["effectivePeriod"]["start"].endswith(offset)
        start = datetime.fromisoformat(w["effectivePeriod"]["start"])
        end = datetime.fromisoformat(w["effectivePeriod"]["end"])
        assert end - start == timedelta(minutes=float(row["Length (minutes)"]))
        assert w["valueCodeableConcept"]["text"] == row["Fitness Discipline"]
        expected = {
            "41981-2": _number(row["Calories Burned"]),
            "8867-4": _number(row["Avg. Heartrate"]),
            "total-output": _number(row["Total Output"]),
            "resistance-average": _number(row["Avg. Resistance"]),
            "cadence-average": _number(row["Avg. Cadence (RPM)"]),
            "distance": _number(row["Distance (mi)"]),
            "speed-average": _number(row["Avg. Speed (mph)"]),
            "pace-average": _number(row["Avg. Pace (min/mi)"]),
        }
        for key in ("distance", "speed-average"):
            expected[key] = None if expected[key] is None else expected[key] * MI  # type: ignore[operator]
        if expected["pace-average"] is not None:
            expected["pace-average"] /= MI
        got = {code: component(w, code) for code in expected}
        assert got == pytest.approx(expected, abs=1e-3)
        assert component(w, "class-title") == row["Title"]


def test_progress_is_reported_in_bytes() -> None:
    seen: list[int] = []
    assert list(read_peloton(PELOTON, ReadOptions(progress=seen.append)))
    assert sum(seen) == PELOTON.stat().st_size


def test_daily_active_energy_is_the_sum_of_the_days_workouts(vault: Vault) -> None:
    import_paths(vault, [PELOTON])
    expected: dict[str, float] = {}
    for row in table(PELOTON):
        if row["Calories Burned"]:
            day = row["Workout Timestamp"][:10]
            expected[day] = expected.get(day, 0) + float(row["Calories Burned"])
    got = {
        r["effectiveDateTime"]: r["valueQuantity"]["value"]
        for r in resources(vault)
        if code_of(r) == "41981-2"
    }
    assert got == expected


def test_metric_accounts_are_not_converted(tmp_path: Path) -> None:
    metric = dict(zip(METRIC_HEADER, _row("2024-01-02 07:00 (CET)"), strict=True))
    metric.update({"Distance (km)": "10", "Avg. Speed (kph)": "30", "Avg. Pace (min/km)": "5:30"})
    path = write(tmp_path / "me_workouts.csv", csv_text(METRIC_HEADER, [list(metric.values())]))
    [w] = [r for _, r in read_peloton(path, ReadOptions()) if code_of(r) == "73985-4"]
    assert (component(w, "distance"), component(w, "speed-average")) == (10, 30)
    assert component(w, "pace-average") == 5.5
    assert w["effectivePeriod"]["start"] == "2024-01-02T07:00:00+01:00"


@pytest.mark.parametrize(
    ("stamp", "iso"),
    [
        ("2020-04-17 12:29 (PDT)", "2020-04-17T12:29:00-07:00"),
        ("2020-01-17 12:29 (EST)", "2020-01-17T12:29:00-05:00"),
        ("2020-07-01 06:00 (BST)", "2020-07-01T06:00:00+01:00"),
        ("2020-07-01 06:00 (UTC)", "2020-07-01T06:00:00+00:00"),
        ("2020-07-01 06:00 (-03)", "2020-07-01T06:00:00-03:00"),
        ("2020-07-01 06:00 (+0530)", "2020-07-01T06:00:00+05:30"),
        ("2020-07-01 06:00:15 (ACST)", "2020-07-01T06:00:15+09:30"),
    ],
)
def test_time_zones(stamp: str, iso: str) -> None:
    parsed = parse_stamp(stamp, "x")
    assert parsed.start is not None
    assert parsed.start.isoformat() == iso


def test_an_unknown_zone_keeps_the_local_date_and_says_so(tmp_path: Path) -> None:
    rows = [_row("2024-02-01 21:30 (IST)"), _row("2024-02-02 21:30 (XYZT)")]
    path = write(tmp_path / "a_workouts.csv", csv_text(PELOTON_HEADER, rows))
    notes: list[str] = []
    workouts = [
        r for _, r in read_peloton(path, ReadOptions(notes=notes)) if code_of(r) == "73985-4"
    ]
    assert sorted(w["effectiveDateTime"] for w in workouts) == ["2024-02-01", "2024-02-02"]
    assert any("'IST'" in n and "local date" in n for n in notes)


@pytest.mark.parametrize("stamp", ["2024-02-30 10:00 (PST)", "yesterday", "2024-02-01 10:00"])
def test_unreadable_timestamps_name_line_and_column(tmp_path: Path, stamp: str) -> None:
    rows = [_row("2024-02-01 10:00 (PST)"), _row(stamp)]
    path = write(tmp_path / "b_workouts.csv", csv_text(PELOTON_HEADER, rows))
    with pytest.raises(ParseError, match=r"line 3: column 'Workout Timestamp'"):
        list(read_peloton(path, ReadOptions(tolerance=Tolerance(strict=True))))
    # Without strict, the row is left out and named the same way (see test_tolerance.py).
    options = ReadOptions()
    assert len([r for _, r in read_peloton(path, options) if code_of(r) == "73985-4"]) == 1
    [skipped] = options.tolerance.skipped
    assert skipped.where == f"{path}: line 3"
    assert skipped.why.startswith("column 'Workout Timestamp'")


def test_a_later_download_adds_new_workouts_and_updates_changed_ones(
    vault: Vault, tmp_path: Path
) -> None:
    rows = [_row(f"2024-03-{d:02d} 07:00 (PST)") for d in range(1, 8)]
    first = write(tmp_path / "first.csv", csv_text(PELOTON_HEADER, rows))
    assert import_paths(vault, [first], source="peloton").totals()["added"] == 14
    # Downloaded later: one workout's heart rate came in since; two new workouts.
    more = [_row(f"2024-03-{d:02d} 07:00 (PST)") for d in range(1, 10)]
    more[2][PELOTON_HEADER.index("Avg. Heartrate")] = "140"
    later = write(tmp_path / "later.csv", csv_text(PELOTON_HEADER, more))
    totals = import_paths(vault, [later], source="peloton").totals()
    assert (totals["added"], totals["updated"], totals["unchanged"]) == (4, 1, 13)
    # Downloaded again with the account set to Eastern time: the same instants, written three
    # hours later, are the same workouts (their times are rewritten, nothing is added).
    moved = [_row(f"2024-03-{d:02d} 10:00 (EST)") for d in range(1, 10)]
    moved_file = write(tmp_path / "moved.csv", csv_text(PELOTON_HEADER, moved))
    assert import_paths(vault, [moved_file], source="peloton").totals()["added"] == 0
    assert len(_workouts(vault)) == 9
    assert {w["effectivePeriod"]["start"][-6:] for w in _workouts(vault)} == {"-05:00"}
