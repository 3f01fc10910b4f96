"""Apple Health and Peloton record the same rides and the same energy: a trend counts each once,
from one source per day (energy) and per overlapping workout (workouts)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from healthlocker.connectors import import_paths
from healthlocker.records import Scope, summarize_trends
from healthlocker.records._series import too_little
from healthlocker.store import Vault
from helpers import ROOT

PELOTON = ROOT / "samples" / "peloton" / "jdoe_workouts.csv"
ME = (
    '<Me HKCharacteristicTypeIdentifierDateOfBirth="1984-06-01"'
    ' HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>'
)


def _workout(kind: str, start: str, end: str) -> str:
    return (
        f'<Workout workoutActivityType="HKWorkoutActivityType{kind}" duration="30"'
        f' durationUnit="min" sourceName="Watch" startDate="{start}" endDate="{end}"/>'
    )


# The watch saw the first Peloton ride (Peloton writes it into Apple Health) and a walk that
# overlaps no Peloton class; it measured the whole of 4 March's active energy.
APPLE_RIDE = _workout("Cycling", "2024-03-04 06:45:00 -0800", "2024-03-04 07:15:00 -0800")
APPLE_WALK = _workout("Walking", "2024-03-11 12:00:00 -0700", "2024-03-11 12:30:00 -0700")
APPLE_ENERGY = (
    '<Record type="HKQuantityTypeIdentifierActiveEnergyBurned" sourceName="Watch" unit="kcal"'
    ' startDate="2024-03-04 06:00:00 -0800" endDate="2024-03-04 21:00:00 -0800" value="650"/>'
)


@pytest.fixture
def both(vault: Vault, tmp_path: Path) -> Vault:
    export = tmp_path / "export.xml"
    body = f"<HealthData>{ME}{APPLE_ENERGY}{APPLE_RIDE}{APPLE_WALK}</HealthData>"
    export.write_text(body, encoding="utf-8")
    assert import_paths(vault, [export, PELOTON]).ok
    return vault


def _rides() -> list[dict[str, str]]:
    with PELOTON.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _too_little(view: Any) -> str:
    return too_little(view.points[0].start, view.points[-1].start, len(view.points))


def test_a_workout_both_recorded_counts_once(both: Vault) -> None:
    view = summarize_trends(Scope.for_tool(both), metric="workouts", granularity="day")
    # 4 March: Peloton's 06:45 ride is the watch's ride, counted once (as the watch's).
    expected = Counter(r["Workout Timestamp"][:10] for r in _rides())
    expected["2024-03-11"] += 1  # the walk overlaps no class: both count
    assert {p.start: p.value for p in view.points} == expected
    (note,) = [n for n in view.notes if n != _too_little(view)]  # (a week: no rate, said)
    assert "left out records that another source also has (1 from peloton)" in note
    assert {s.origin for s in view.sources} == {"apple-health", "jdoe_workouts"}


def test_a_days_energy_comes_from_one_source(both: Vault) -> None:
    view = summarize_trends(Scope.for_tool(both), metric="active_energy", granularity="day")
    peloton: Counter[str] = Counter()
    for r in _rides():
        if r["Calories Burned"]:
            peloton[r["Workout Timestamp"][:10]] += int(r["Calories Burned"])
    expected = {**peloton, "2024-03-04": 650}  # the watch's day, not the watch's plus Peloton's
    assert {p.start: p.value for p in view.points} == pytest.approx(expected)
    assert any("1 from peloton" in n for n in view.notes)


def test_one_source_alone_is_read_as_it_is(vault: Vault) -> None:
    assert import_paths(vault, [PELOTON]).ok
    view = summarize_trends(Scope.for_tool(vault), metric="workouts", granularity="day")
    assert sum(p.value for p in view.points) == len(_rides())
    assert view.notes == [_too_little(view)]  # nothing left out; only a week of rides
