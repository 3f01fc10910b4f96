"""summarize_trends: Synthea vital signs read back exactly; every rule on hand-built series."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import pytest

from healthlocker.errors import ArgumentError
from healthlocker.records import Scope
from healthlocker.records._common import fmt_number
from healthlocker.records._trends import METRICS, TrendView, latest_vitals, summarize_trends
from healthlocker.store import StoredResource, Vault, clinical_date, index_terms
from helpers import SAMPLES, cites_each, load_json, scoped_call

LOINC = "http://loinc.org"
_ids = itertools.count()


# --- what the sample files hold ---------------------------------------------------------------


def _synthea() -> Iterable[dict[str, Any]]:
    for path in sorted((SAMPLES / "synthea").glob("*.json")):
        yield from (e["resource"] for e in load_json(path)["entry"])


def _patient(res: dict[str, Any]) -> str:
    return "Patient/" + str(res["subject"]["reference"]).removeprefix("urn:uuid:")


def _codes(concept: dict[str, Any]) -> set[str]:
    return {c["code"] for c in concept.get("coding", [])}


def _series(code: str) -> dict[str, list[tuple[str, float, float | None]]]:
    """Per patient: (day, value, value2) of the Observations with *code* (BP: its components)."""
    out: dict[str, list[tuple[str, float, float | None]]] = {}
    for res in _synthea():
        if res["resourceType"] != "Observation" or code not in _codes(res["code"]):
            continue
        if "component" in res:
            parts = {
                c: comp["valueQuantity"]["value"]
                for comp in res["component"]
                for c in _codes(comp["code"])
            }
            sample = (res["effectiveDateTime"][:10], parts["8480-6"], parts["8462-4"])
        else:
            sample = (res["effectiveDateTime"][:10], res["valueQuantity"]["value"], None)
        out.setdefault(_patient(res), []).append(sample)
    return out


def _bucket(day: str, granularity: str) -> str:
    if granularity == "week":
        d = date.fromisoformat(day)
        return (d - timedelta(days=d.weekday())).isoformat()
    return {"day": day, "month": day[:7] + "-01", "year": day[:4] + "-01-01"}[granularity]


def _expected_points(
    samples: list[tuple[str, float, float | None]], granularity: str
) -> list[tuple[str, float, int, float | None]]:
    groups: dict[str, list[tuple[str, float, float | None]]] = {}
    for s in samples:
        groups.setdefault(_bucket(s[0], granularity), []).append(s)
    out = []
    for start in sorted(groups):
        g = groups[start]
        second = [s[2] for s in g if s[2] is not None]
        mean2 = sum(second) / len(second) if second else None
        out.append((start, sum(s[1] for s in g) / len(g), len(g), mean2))
    return out


def _slope_per_month(starts: list[str], values: list[float]) -> float:
    xs = [date.fromisoformat(s).toordinal() for s in starts]
    mx, my = sum(xs) / len(xs), sum(values) / len(values)
    num = sum((x - mx) * (y - my) for x, y in zip(xs, values, strict=True))
    return num / sum((x - mx) ** 2 for x in xs) * 30.44


def _check_stats(
    view: TrendView,
    values: list[float],
    starts: list[str],
    samples: list[tuple[str, float, float | None]],
    second: bool = False,
) -> None:
    s = view.stats2 if second else view.stats
    assert s is not None
    assert s.min == pytest.approx(min(values), abs=1e-3)
    assert s.max == pytest.approx(max(values), abs=1e-3)
    assert s.mean == pytest.approx(sum(values) / len(values), abs=1e-3)
    # first and last: the first and the latest measurement (the day's, with its date)
    days = sorted({d for d, *_ in samples})
    assert s.first is not None and s.last is not None
    assert (s.first.date, s.last.date) == (days[0], days[-1])
    pick = 2 if second else 1
    assert s.first.value in [pytest.approx(x[pick], abs=1e-3) for x in samples if x[0] == days[0]]
    assert s.last.value in [pytest.approx(x[pick], abs=1e-3) for x in samples if x[0] == days[-1]]
    assert s.change == pytest.approx(s.last.value - s.first.value, abs=1e-3)
    span = (date.fromisoformat(starts[-1]) - date.fromisoformat(starts[0])).days
    if len(values) < 3 or span < 28:  # too little data for a rate per month
        assert s.slope_per_month is None
    else:
        assert s.slope_per_month == pytest.approx(_slope_per_month(starts, values), rel=5e-3)


# --- the samples, per person ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "code"), [("body_weight", "29463-7"), ("bmi", "39156-5"), ("body_height", "8302-2")]
)
@pytest.mark.parametrize("granularity", ["day", "month", "year"])
def test_sample_series_per_patient(
    loaded_vault: Vault, metric: str, code: str, granularity: str
) -> None:
    series = _series(code)
    assert len(series) >= 5
    for patient, samples in series.items():
        view = summarize_trends(
            Scope(loaded_vault, patient=patient), metric=metric, granularity=granularity
        )
        expected = _expected_points(samples, granularity)
        assert view.patient == patient
        assert view.unit == METRICS[metric].unit
        assert [(p.start, p.n) for p in view.points] == [(e[0], e[2]) for e in expected]
        assert [p.value for p in view.points] == pytest.approx([e[1] for e in expected], abs=1e-3)
        _check_stats(view, [e[1] for e in expected], [e[0] for e in expected], samples)
        assert view.source_count == len(samples)
        assert view.stats2 is None


def test_blood_pressure_gives_systolic_and_diastolic(loaded_vault: Vault) -> None:
    series = _series("55284-4")  # Synthea's panel code
    assert series
    for patient, samples in series.items():
        view = summarize_trends(
            Scope(loaded_vault, patient=patient), metric="blood_pressure", granularity="year"
        )
        expected = _expected_points(samples, "year")
        assert view.unit == "mm[Hg]"
        assert view.value2_label == "diastolic"
        assert [p.value for p in view.points] == pytest.approx([e[1] for e in expected], abs=1e-3)
        assert [p.value2 for p in view.points] == pytest.approx([e[3] for e in expected], abs=1e-3)
        assert view.stats2 is not None
        _check_stats(view, [e[1] for e in expected], [e[0] for e in expected], samples)
        _check_stats(view, [e[3] or 0 for e in expected], [e[0] for e in expected], samples, True)
        assert view.stats2.mean == pytest.approx(
            sum(e[3] or 0 for e in expected) / len(expected), abs=1e-3
        )


def test_heart_rate_absent_from_the_samples_is_an_empty_trend(loaded_vault: Vault) -> None:
    assert not _series("8867-4")  # Synthea records no heart rate in these files
    view = summarize_trends(loaded_vault, metric="heart_rate")
    assert view.points == []
    assert view.stats.mean is None
    assert view.source_count == 0
    assert any("no heart rate data" in n.lower() for n in view.notes)


def test_a_lab_named_in_words_is_the_same_test_whatever_the_period(loaded_vault: Vault) -> None:
    """The word "glucose" means the test the person has, even when the period allowed hides
    all of it: the answer then says what the period hid (it once chose a test with no data)."""
    full = summarize_trends(Scope(loaded_vault), metric="glucose")
    assert full.points
    hidden = summarize_trends(Scope(loaded_vault, window_start="2022-01-01"), metric="glucose")
    assert (hidden.metric, hidden.codes) == (full.metric, full.codes)
    assert hidden.points == []
    assert hidden.withheld is not None and hidden.withheld.count > 0
    assert "outside the period you allowed (before 2022-01-01)" in hidden.render()


def test_several_people_the_most_recent_is_shown_and_said(loaded_vault: Vault) -> None:
    series = _series("29463-7")
    newest = max(series, key=lambda p: max(s[0] for s in series[p]))
    view = summarize_trends(loaded_vault, metric="weight")  # an alias
    assert view.metric == "body_weight"
    assert view.patient == newest
    assert any(f"showing {newest}" in n for n in view.notes)
    other = next(p for p in series if p != newest)
    picked = summarize_trends(
        Scope(loaded_vault, patient=other.split("/")[1]), metric="body_weight"
    )
    assert picked.patient == other
    assert not any("showing" in n for n in picked.notes)


def test_lab_by_loinc_code_or_by_name(loaded_vault: Vault) -> None:
    series = _series("2339-0")  # Glucose in Synthea
    patient = max(series, key=lambda p: len(series[p]))
    by_code = summarize_trends(
        Scope(loaded_vault, patient=patient), metric="2339-0", granularity="year"
    )
    by_name = summarize_trends(
        Scope(loaded_vault, patient=patient), metric="glucose", granularity="year"
    )
    expected = _expected_points(series[patient], "year")
    for view in (by_code, by_name):
        assert view.unit == "mg/dL"
        assert "2339-0" in view.codes
        assert [p.value for p in view.points] == pytest.approx([e[1] for e in expected], abs=1e-3)
    assert any("also matches" in n for n in by_name.notes)


def test_window_start_hides_older_samples(loaded_vault: Vault) -> None:
    series = _series("29463-7")
    patient = max(series, key=lambda p: len(series[p]))
    days = sorted(s[0] for s in series[patient])
    cut = days[len(days) // 2]
    view = summarize_trends(
        Scope(loaded_vault, patient=patient, window_start=cut),
        metric="body_weight",
        granularity="day",
    )
    assert [p.start for p in view.points] == sorted({d for d in days if d >= cut})
    assert view.source_count == sum(1 for d in days if d >= cut)
    # A `since` before the window is moved up to it; the previous period lies outside it.
    early = summarize_trends(
        Scope(loaded_vault, patient=patient, window_start=cut), metric="body_weight", since=days[0]
    )
    assert early.since == cut
    assert early.previous_period is None
    assert min(p.start for p in early.points) >= cut[:4]


def test_a_lab_by_name_with_nothing_in_the_window_says_what_the_window_withheld(
    loaded_vault: Vault,
) -> None:
    """With every glucose result before the window, 'glucose' resolves to another glucose test
    than without the window; the results the window held back are still disclosed."""
    newest = max(d for days in _series("2339-0").values() for d, *_ in days)
    cut = (date.fromisoformat(newest) + timedelta(days=1)).isoformat()
    view = summarize_trends(Scope(loaded_vault, window_start=cut), metric="glucose")
    assert view.points == []
    assert view.withheld is not None and view.withheld.before == cut
    assert view.withheld.count > 0
    assert view.withheld.note in view.render()


def test_the_text_holds_every_point_and_the_latest_measurement(loaded_vault: Vault) -> None:
    view = summarize_trends(loaded_vault, metric="blood_pressure")
    text = view.render()
    assert text.startswith(f"Blood pressure: {len(view.points)} yearly points")
    assert "Diastolic: Latest" in text
    assert "mm[Hg]" not in text and "mmHg" in text  # units as people write them
    for p in view.points:  # periods as periods, not as the day a bucket starts
        assert f"{p.start[:4]} {fmt_number(p.value, 2)}/" in text or f"{p.period} " in text
        assert f"{p.start} " not in text
    assert view.stats.last is not None
    assert f"Latest {fmt_number(view.stats.last.value)} mmHg on {view.stats.last.date}" in text
    assert cites_each(text, [view.stats.last.source.resource, *(r.resource for r in view.sources)])


# --- hand-built series ------------------------------------------------------------------------


class FakeReader:
    """The vault's query contract over a list, with its per-query result cache."""

    def __init__(self, resources: list[dict[str, Any]]) -> None:
        self.stored = [StoredResource(i, "s", "test", r) for i, r in enumerate(resources)]
        self._cache: dict[Any, list[StoredResource]] = {}

    def resources(
        self, resource_type: str, *, terms: Any = (), since: Any = None, until: Any = None
    ) -> list[StoredResource]:
        key = (resource_type, tuple(sorted(terms)), since, until)
        if key not in self._cache:
            out = []
            for s in reversed(self.stored):
                when = (clinical_date(s.resource) or "")[:10]
                if s.resource_type != resource_type:
                    continue
                if terms and not set(terms) & index_terms(s.resource):
                    continue
                if (since or until) and not when:
                    continue
                if (since and when < since) or (until and when > until):
                    continue
                out.append(s)
            self._cache[key] = out
        return self._cache[key]


def obs(
    when: str, code: str, value: float | None, unit: str | None = "kg", patient: str = "p1"
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"o{next(_ids)}",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": when,
    }
    if value is not None:
        res["valueQuantity"] = {"value": value, **({"unit": unit, "code": unit} if unit else {})}
    return res


def daily(start: str, days: int, code: str, value: Any, unit: str = "kg") -> list[dict[str, Any]]:
    first = date.fromisoformat(start)
    return [obs((first + timedelta(days=i)).isoformat(), code, value(i), unit) for i in range(days)]


def test_slope_of_a_linear_series_is_exact() -> None:
    reader = FakeReader(daily("2024-01-01", 30, "29463-7", lambda i: 70 + 0.5 * i))
    view = summarize_trends(reader, metric="body_weight")
    assert view.granularity == "day"
    assert len(view.points) == 30
    assert view.stats.slope_per_month == pytest.approx(0.5 * 30.44, rel=5e-3)  # 3 digits
    assert view.stats.change == pytest.approx(14.5)
    assert view.stats.mean == pytest.approx(77.25)
    assert view.stats.first is not None and view.stats.last is not None
    assert (view.stats.first.value, view.stats.first.date) == (70, "2024-01-01")
    assert (view.stats.last.value, view.stats.last.date) == (84.5, "2024-01-30")
    assert view.stats.last.source.resource == f"Observation/{reader.stored[-1].resource['id']}"


def test_a_single_point_has_no_slope() -> None:
    view = summarize_trends(FakeReader([obs("2024-01-01", "29463-7", 70)]), metric="body_weight")
    assert view.stats.slope_per_month is None
    assert view.stats.change == 0


def test_three_days_give_no_rate_per_month_and_say_so() -> None:
    """Issue 14: a slope per month was extrapolated from 3 days of weights."""
    reader = FakeReader(daily("2024-03-04", 3, "29463-7", lambda i: 80.0 - i))
    view = summarize_trends(reader, metric="body_weight")
    assert len(view.points) == 3
    assert view.stats.slope_per_month is None
    assert any("Too little data for a rate of change per month" in n for n in view.notes)
    assert "per month (least-squares" not in view.render()
    enough = summarize_trends(
        FakeReader(daily("2024-03-04", 29, "29463-7", lambda i: 80.0)), metric="body_weight"
    )
    assert enough.stats.slope_per_month == 0


def test_last_is_the_latest_measurement_not_the_last_buckets_mean() -> None:
    """Issue 14: with yearly points, `last` was a year's mean."""
    samples = [obs("2023-06-01", "29463-7", 90), obs("2024-02-01", "29463-7", 80)]
    samples += [obs("2024-11-30", "29463-7", 70)]
    view = summarize_trends(FakeReader(samples), metric="body_weight", granularity="year")
    assert [(p.period, p.value) for p in view.points] == [("2023", 90), ("2024", 75)]
    assert view.stats.last is not None and view.stats.first is not None
    assert (view.stats.last.value, view.stats.last.date) == (70, "2024-11-30")
    assert view.stats.change == -20
    assert "Latest 70 kg on 2024-11-30" in view.render()


@pytest.mark.parametrize(
    ("granularity", "period"),
    [
        ("day", "2021-03-03"),
        ("week", "week of 2021-03-01"),
        ("month", "March 2021"),
        ("year", "2021"),
    ],
)
def test_points_are_labelled_as_periods(granularity: str, period: str) -> None:
    view = summarize_trends(
        FakeReader([obs("2021-03-03", "55423-8", 5000, "{steps}")]),
        metric="steps",
        granularity=granularity,
    )
    assert [p.period for p in view.points] == [period]
    assert view.unit == "{steps}" and view.unit_text == "steps"
    assert f"{period} 5,000 steps (n=1)" in view.render()


@pytest.mark.parametrize(
    ("metric", "code", "unit", "words"),
    [
        ("heart_rate", "8867-4", "/min", "beats per minute"),
        ("blood_pressure", "8480-6", "mm[Hg]", "mmHg"),
        ("body_weight", "29463-7", "kg", "kg"),
        ("body_temperature", "8310-5", "Cel", "°C"),
    ],
)
def test_units_are_written_as_people_write_them(
    metric: str, code: str, unit: str, words: str
) -> None:
    view = summarize_trends(FakeReader([obs("2024-01-01", code, 70, unit)]), metric=metric)
    assert view.unit == unit  # the UCUM code stays in the structure
    assert view.unit_text == (None if words == unit else words)
    assert f"70 {words}" in view.render()


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (30, "day"),
        (61, "day"),
        (62, "week"),
        (300, "week"),
        (1000, "month"),
        (2000, "year"),
    ],
)
def test_granularity_chosen_for_about_60_points(days: int, expected: str) -> None:
    reader = FakeReader(daily("2015-01-01", days, "29463-7", lambda i: 70.0))
    assert summarize_trends(reader, metric="body_weight").granularity == expected
    view = summarize_trends(reader, metric="body_weight", since="2015-01-01", until="2015-01-31")
    assert view.granularity == "day"


def test_weeks_start_on_monday() -> None:
    reader = FakeReader(daily("2024-01-03", 14, "29463-7", lambda i: float(i)))  # a Wednesday
    view = summarize_trends(reader, metric="body_weight", granularity="week")
    assert [p.start for p in view.points] == ["2024-01-01", "2024-01-08", "2024-01-15"]
    assert [p.n for p in view.points] == [5, 7, 2]
    assert [p.value for p in view.points] == [2.0, 8.0, 12.5]


def test_additive_measures_average_daily_totals() -> None:
    samples = [
        obs("2024-01-01T08:00:00Z", "55423-8", 1000, "{steps}"),
        obs("2024-01-01T18:00:00Z", "55423-8", 3000, "{steps}"),
        obs("2024-01-02T09:00:00Z", "55423-8", 2000, "{steps}"),
        obs("2024-01-09T09:00:00Z", "55423-8", 500, "steps"),
    ]
    reader = FakeReader(samples)
    week = summarize_trends(reader, metric="steps", granularity="week")
    assert [(p.start, p.value, p.n) for p in week.points] == [
        ("2024-01-01", 3000.0, 3),
        ("2024-01-08", 500.0, 1),
    ]
    assert any("daily totals averaged per week" in n for n in week.notes)
    day = summarize_trends(reader, metric="steps", granularity="day")
    assert [p.value for p in day.points] == [4000.0, 2000.0, 500.0]


def test_workouts_are_counted_from_observations_and_procedures() -> None:
    procedure = {
        "resourceType": "Procedure",
        "id": "w3",
        "status": "completed",
        "code": {"coding": [{"system": LOINC, "code": "73985-4"}]},
        "subject": {"reference": "Patient/p1"},
        "performedPeriod": {"start": "2024-01-03T07:00:00Z", "end": "2024-01-03T08:00:00Z"},
    }
    reader = FakeReader(
        [
            obs("2024-01-01", "73985-4", None),
            obs("2024-01-02", "55411-3", 30, "min"),
            procedure,
            obs("2024-01-10", "73985-4", None),
        ]
    )
    view = summarize_trends(reader, metric="workouts", granularity="week")
    assert [(p.start, p.value) for p in view.points] == [("2024-01-01", 3.0), ("2024-01-08", 1.0)]
    assert view.source_count == 4


@pytest.mark.parametrize(
    ("metric", "code", "recorded", "unit", "expected"),
    [
        ("body_weight", "29463-7", 154.0, "[lb_av]", 69.853),
        ("body_weight", "29463-7", 80000.0, "g", 80.0),
        ("body_height", "8302-2", 70.0, "[in_i]", 177.8),
        ("body_temperature", "8310-5", 98.6, "[degF]", 37.0),
        ("sleep", "93832-4", 7.5, "h", 450.0),
        ("active_energy", "41981-2", 418.4, "kJ", 100.0),
        ("body_weight", "29463-7", 70.0, None, 70.0),
        # a daily step count, per day (UCUM "/d") or as a plain count
        ("steps", "41950-7", 8000.0, "/d", 8000.0),
        ("steps", "41950-7", 8000.0, "{steps}/d", 8000.0),
        ("steps", "55423-8", 8000.0, "{count}", 8000.0),
        ("steps", "55423-8", 8000.0, "count", 8000.0),
    ],
)
def test_units_are_converted(
    metric: str, code: str, recorded: float, unit: str | None, expected: float
) -> None:
    view = summarize_trends(FakeReader([obs("2024-01-01", code, recorded, unit)]), metric=metric)
    assert view.unit == METRICS[metric].unit
    assert view.points[0].value == pytest.approx(expected, abs=1e-3)


def test_inconvertible_units_are_left_out_and_said() -> None:
    reader = FakeReader(
        [obs("2024-01-01", "29463-7", 70, "kg"), obs("2024-01-02", "29463-7", 9, "m")]
    )
    view = summarize_trends(reader, metric="body_weight")
    assert [p.value for p in view.points] == [70.0]
    assert any("Left out 1 sample" in n and "'m'" in n for n in view.notes)


def test_lab_units_follow_the_catalog() -> None:
    reader = FakeReader(
        [obs("2024-01-01", "2339-0", 99, "mg/dL"), obs("2024-01-02", "2339-0", 5.5, "mmol/L")]
    )
    view = summarize_trends(reader, metric="2339-0")
    assert view.unit == "mg/dL"
    assert view.points[1].value == pytest.approx(5.5 * 18.016, abs=0.01)


def test_recorded_lab_names_without_a_catalog_entry() -> None:
    odd = obs("2024-01-01", "99999-9", 3, "mg/L")
    odd["code"] = {"text": "Zonulin level"}
    reader = FakeReader(
        [odd, {**obs("2024-02-01", "x", 5, "mg/L"), "code": {"text": "Zonulin level"}}]
    )
    view = summarize_trends(reader, metric="zonulin")
    assert view.label == "Zonulin level"
    assert [p.value for p in view.points] == [3.0, 5.0]


def test_blood_pressure_from_separate_component_observations() -> None:
    reader = FakeReader(
        [
            obs("2024-01-01", "8480-6", 120, "mm[Hg]"),
            obs("2024-01-01", "8462-4", 80, "mm[Hg]"),
            obs("2024-01-02", "8480-6", 130, "mm[Hg]"),
        ]
    )
    view = summarize_trends(reader, metric="bp", granularity="week")
    assert [(p.value, p.value2, p.n) for p in view.points] == [(125.0, 80.0, 3)]


def test_previous_period_of_the_same_length() -> None:
    samples = daily("2024-01-01", 10, "29463-7", lambda i: 80.0) + daily(
        "2024-01-11", 10, "29463-7", lambda i: 78.0
    )
    reader = FakeReader(samples)
    view = summarize_trends(reader, metric="body_weight", since="2024-01-11", until="2024-01-20")
    prev = view.previous_period
    assert prev is not None
    assert (prev.start, prev.end, prev.mean, prev.points) == ("2024-01-01", "2024-01-10", 80, 10)
    assert prev.change_in_mean == pytest.approx(-2.0)
    cut = summarize_trends(
        Scope(reader, window_start="2024-01-06"),
        metric="body_weight",
        since="2024-01-11",
        until="2024-01-20",
    )
    assert cut.previous_period is not None
    assert cut.previous_period.start == "2024-01-06"
    assert cut.previous_period.points == 5
    assert summarize_trends(reader, metric="body_weight").previous_period is None


def test_sources_are_capped_and_counted() -> None:
    view = summarize_trends(
        FakeReader(daily("2024-01-01", 80, "29463-7", lambda i: 70.0)), metric="body_weight"
    )
    assert len(view.sources) == 12
    assert view.source_count == 80
    assert view.sources[0].origin == "test"


def test_latest_vitals() -> None:
    reader = FakeReader(
        [obs("2024-01-01", "29463-7", 70), obs("2024-03-01", "29463-7", 160, "[lb_av]")]
    )
    (weight,) = latest_vitals(Scope(reader, patient="Patient/p1"))
    assert (weight.date, weight.value, weight.unit) == ("2024-03-01", 72.5748, "kg")


def test_five_years_of_daily_points_summarise_by_month() -> None:
    """The speed of this (under 20 ms) is measured by bench/bench_apple.py, not timed here."""
    reader = FakeReader(daily("2019-01-01", 5 * 365 + 1, "55423-8", lambda i: 5000 + i, "{steps}"))
    view = summarize_trends(reader, metric="steps")
    assert view.granularity == "month"
    assert len(view.points) == 60  # 2019-01 … 2023-12


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "no-such-measure"}, "known metrics"),
        ({"metric": ""}, "metric must be"),
        ({"metric": "steps", "granularity": "hour"}, "granularity must be one of"),
        ({"metric": "steps", "since": "2024-02-01", "until": "2024-01-01"}, "on or before"),
        ({"metric": "steps", "since": "2024-13-01"}, "ISO date"),
        ({"metric": "steps", "window_start": "yesterday"}, "ISO date"),
        ({"metric": "steps", "patient": "Patient/a b"}, "Patient id"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        scoped_call(summarize_trends, FakeReader([obs("2024-01-01", "29463-7", 70)]), **kwargs)
