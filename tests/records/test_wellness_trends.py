"""End to end: the MyFitnessPal and Peloton samples imported with the CLI, then trends read
back (through records, and through the MCP server) equal to daily totals and means computed
here from the sample rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import pytest
from mcp import Client

from connectors.wellness_helpers import LB, MFP, PELOTON, sample, table
from healthlocker.consent import OpenGate
from healthlocker.records import summarize_trends
from healthlocker.records._series import too_little
from healthlocker.server import build_server
from healthlocker.store import Vault
from helpers import PASSPHRASE, run_cli


@pytest.fixture(scope="module")
def wellness_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    home = tmp_path_factory.mktemp("wellness") / "vault"
    assert run_cli("init", home=home).returncode == 0
    result = run_cli("import", str(MFP), str(PELOTON), home=home)
    assert result.returncode == 0, result.stderr
    assert "daily weights read in lb" in result.stdout
    with Vault.open(home, prompt=lambda _: PASSPHRASE) as vault:
        yield vault


def _sums(rows: list[tuple[str, float]]) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for day, value in rows:
        out[day] += value
    return dict(out)


def _exercise() -> list[dict[str, str]]:
    return [r for r in table(sample("Exercise")) if "calorie adjustment" not in r["Exercise"]]


def _expected(metric: str) -> dict[str, float]:
    nutrition = table(sample("Nutrition"))
    peloton = table(PELOTON)
    if metric in ("calories_in", "protein"):
        column = "Calories" if metric == "calories_in" else "Protein (g)"
        return _sums([(r["Date"], float(r[column])) for r in nutrition])
    # Activity both apps record comes from one per day: Peloton before MyFitnessPal (a workout
    # MyFitnessPal dates by the day alone overlaps every Peloton workout of that day).
    if metric == "workouts":
        rides = [r["Workout Timestamp"][:10] for r in peloton]
        days = [r["Date"] for r in _exercise() if r["Date"] not in rides] + rides
        return _sums([(d, 1.0) for d in days])
    if metric == "active_energy":
        pel = [(r["Workout Timestamp"][:10], r["Calories Burned"]) for r in peloton]
        ridden = {d for d, v in pel if v}
        mfp = [(r["Date"], r["Exercise Calories"]) for r in _exercise() if r["Date"] not in ridden]
        return _sums([(d, float(v)) for d, v in mfp + pel if v])
    weights: dict[str, list[float]] = defaultdict(list)
    for r in table(sample("Measurement")):
        if r["Weight"]:
            weights[r["Date"]].append(float(r["Weight"]) * LB)
    return {d: sum(v) / len(v) for d, v in weights.items()}


@pytest.mark.parametrize(
    ("metric", "unit"),
    [
        ("calories_in", "kcal"),
        ("protein", "g"),
        ("workouts", "{workouts}"),
        ("active_energy", "kcal"),
        ("body_weight", "kg"),
    ],
)
def test_trends_are_the_daily_totals_and_means_of_the_rows(
    wellness_vault: Vault, metric: str, unit: str
) -> None:
    view = summarize_trends(wellness_vault, metric=metric, granularity="day")
    expected = _expected(metric)
    assert view.unit == unit
    assert {p.start: p.value for p in view.points} == pytest.approx(expected, abs=1e-3)
    assert view.stats.mean == pytest.approx(sum(expected.values()) / len(expected), abs=1e-3)
    origins = {s.origin for s in view.sources}
    assert origins <= {"myfitnesspal", "jdoe_workouts"}
    # A few days of app data: no rate per month is made up from them, and the notes say why.
    assert view.stats.slope_per_month is None
    little = too_little(view.points[0].start, view.points[-1].start, len(view.points))
    if metric in ("workouts", "active_energy"):  # the days both apps record, said
        assert little in view.notes and len(view.notes) == 2
        (note,) = [n for n in view.notes if n != little]
        assert "left out records that another source also has (" in note
        assert "from myfitnesspal" in note
        assert "apple-health, peloton, myfitnesspal" in note
    else:
        assert view.notes == [little]


@pytest.mark.anyio
async def test_the_assistant_sees_the_same_calories(wellness_vault: Vault) -> None:
    async with Client(build_server(wellness_vault, gate=OpenGate())) as client:
        result = await client.call_tool(
            "summarize_trends", {"metric": "calories", "granularity": "day"}
        )
    assert not result.is_error, result.content
    points = result.structured_content["points"]  # type: ignore[index]
    assert {p["start"]: p["value"] for p in points} == pytest.approx(_expected("calories_in"))
