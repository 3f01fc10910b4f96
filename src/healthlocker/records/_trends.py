"""Trends: one measure over time, in day/week/month/year points with summary statistics.

Which metrics there are and how their samples are found and converted: ``_metrics``; how
samples become points and statistics: ``_series``; the answer's models and text:
``_trendview``.

Several people: trends are per person. A ``Scope`` with a patient chooses whose; without one, and
with data about several people, the one with the most recent data is shown and the notes say so.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

from healthlocker.errors import ArgumentError
from healthlocker.people import patient_of
from healthlocker.records._common import (
    Reader,
    check_span,
    later_of,
    pick_patient,
    places,
    sig,
    source_of,
)
from healthlocker.records._glucose import cgm_stats
from healthlocker.records._metrics import METRICS, Metric, Row, fetch, find_metric, in_unit
from healthlocker.records._overlap import left_out_note, order_for
from healthlocker.records._scope import Scope, as_scope, scoped
from healthlocker.records._series import (
    GRANULARITIES,
    Granularity,
    Point,
    Reading,
    choose,
    points,
    readings,
    slope,
    too_little,
)
from healthlocker.records._text import unit_words
from healthlocker.records._trendview import (
    Measurement,
    PreviousPeriod,
    TrendPoint,
    TrendStats,
    TrendView,
    VitalSign,
)

__all__ = ["METRICS", "TrendView", "latest_vitals", "summarize_trends"]

SOURCES_CAP = 12
_AGGREGATION = {
    "mean": "mean of the measurements in each {g}",
    "sum": "daily totals averaged per {g}",
    "count": "number of records per {g}",
}


def derived(value: float) -> float:
    """A number computed from measurements (a mean, a change): at most 4 decimals and 6
    significant digits, so no float tails."""
    return sig(round(value, 4)) or 0.0


def _difference(later: float, earlier: float) -> float:
    """*later* − *earlier* to the decimals the two are given to (167.5 − 65.4302 = 102.0698)."""
    return round(later - earlier, places((later, earlier))) + 0.0


def _measurement(reading: Reading | None, second: bool = False) -> Measurement | None:
    if reading is None or (second and reading.value2 is None):
        return None
    return Measurement(
        value=sig(reading.value2 if second else reading.value) or 0.0,
        date=reading.day,
        source=reading.source,
        records=reading.records if reading.records > 1 else None,
    )


def _stats(pts: list[Point], days: list[Reading], second: bool = False) -> TrendStats:
    """Statistics of the points' values (or second values: diastolic), and the first and the
    latest measurement."""
    pairs = [(p.value2 if second else p.value, p.start) for p in pts]
    values = [v for v, _ in pairs if v is not None]
    starts = [s for v, s in pairs if v is not None]
    measured = [r for r in days if not second or r.value2 is not None]
    first = _measurement(measured[0] if measured else None, second)
    last = _measurement(measured[-1] if measured else None, second)
    if not values:
        return TrendStats(first=first, last=last)
    return TrendStats(
        min=min(values),
        max=max(values),
        mean=derived(sum(values) / len(values)),
        first=first,
        last=last,
        change=_difference(last.value, first.value) if first and last else None,
        slope_per_month=slope(starts, values),
    )


# --- the views ------------------------------------------------------------------------------


def _person(rows: list[Row], reader: Scope) -> tuple[list[Row], str | None, list[str]]:
    """The rows about one person: the scope's (whose rows these all are), else the one with
    the most recent data."""
    if reader.person is not None:
        return rows, reader.patient, []
    by: dict[str | None, list[Row]] = {}
    known: dict[Any, str | None] = {}  # reference → person: thousands of samples, few people
    for row in rows:
        subject = row[4].resource.get("subject")
        key = subject.get("reference") if isinstance(subject, dict) else None
        if key not in known:
            known[key] = reader.whose(patient_of(row[4].resource))
        by.setdefault(known[key], []).append(row)
    chosen, note = pick_patient({k: max(r[0] for r in v) for k, v in by.items()})
    return by.get(chosen, []), chosen, [note] if note else []


def _previous(
    reader: Scope,
    m: Metric,
    current: tuple[str, str, Granularity, str | None, str | None],
    mean: float | None,
) -> tuple[PreviousPeriod | None, list[str]]:
    since, end, granularity, person, unit = current
    window_start = reader.window_start
    first = date.fromisoformat(since)
    length = (date.fromisoformat(end) - first).days + 1
    start, last = (first - timedelta(days=length)).isoformat(), (first - timedelta(1)).isoformat()
    if window_start and last < window_start:
        return None, ["No previous period: it falls before the data window this client may see"]
    notes = []
    if window_start and start < window_start:
        start = window_start
        notes.append(f"The previous period is cut short at the data window ({window_start})")
    rows = fetch(reader, m, start, last)
    if reader.person is None:
        rows = [r for r in rows if reader.whose(patient_of(r[4].resource)) == person]
    rows, _ = in_unit(rows, unit, m)
    pts = points(rows, m, granularity)
    if not pts:
        return None, []
    before = derived(sum(p.value for p in pts) / len(pts))
    return PreviousPeriod(
        start=start,
        end=last,
        mean=before,
        points=len(pts),
        n=sum(p.n for p in pts),
        change_in_mean=None if mean is None else derived(mean - before),
    ), notes


def _check(
    metric: Any, since: str | date | None, until: str | date | None, granularity: str | None
) -> tuple[str | None, str | None]:
    if not isinstance(metric, str) or not metric.strip() or len(metric) > 100:
        raise ArgumentError(
            "metric must be a metric name (e.g. steps, body_weight), a LOINC code "
            "or part of a lab test's name"
        )
    since, until = check_span(since, until)
    if granularity is not None and granularity not in GRANULARITIES:
        raise ArgumentError(f"granularity must be one of {', '.join(GRANULARITIES)} (or left out)")
    return since, until


@scoped
def summarize_trends(
    reader: Scope,
    *,
    metric: str,
    since: str | date | None = None,
    until: str | date | None = None,
    granularity: str | None = None,
) -> TrendView:
    """A measure over time: points per day/week/month/year, statistics, the previous period.

    Without ``granularity``, it is chosen for about 60 points at most: up to 60 days → day, up
    to a year → week, up to 5 years → month, beyond → year. Rates and levels (weight, heart
    rate, blood pressure, labs) are averaged per point; additive measures (steps, energy,
    calories, sleep) are summed per day first, then the daily totals averaged per point;
    workouts are counted per point. ``stats.first`` and ``stats.last`` are the first and the
    latest measurement (a day's total or count for those), with their dates and sources.
    """
    since, until = _check(metric, since, until, granularity)
    since = later_of(since, reader.window_start) if since else None
    key, m, notes = find_metric(reader, metric)
    left_out = Counter[str]()
    rows, person, picked = _person(fetch(reader, m, since, until, left_out), reader)
    if picked and person is not None:  # several people: count the others' as withheld
        reader = reader.narrow(person)
        person = reader.patient
        left_out.clear()
        rows = fetch(reader, m, since, until, left_out)
    unit = m.unit or (Counter(r[3] for r in rows).most_common(1)[0][0] if rows else None)
    rows, dropped = in_unit(rows, unit, m)
    first, last = (min(r[0] for r in rows), max(r[0] for r in rows)) if rows else (None, None)
    start, end = since or first, until or last
    chosen: Granularity = granularity or (choose(start, end) if start and end else "day")  # type: ignore[assignment]
    pts = points(rows, m, chosen)
    days = readings(rows, m)
    stats = _stats(pts, days)
    previous, previous_notes = None, list[str]()
    if since:
        current = (since, end or since, chosen, person, unit)
        previous, previous_notes = _previous(reader, m, current, stats.mean)
    used = list({r[4].ref: r[4] for r in sorted(rows, key=lambda r: r[0], reverse=True)}.values())
    if pts and stats.slope_per_month is None:
        notes.append(too_little(pts[0].start, pts[-1].start, len(pts)))
    return TrendView(
        metric=key or m.label,
        label=m.label,
        codes=list(m.codes),
        unit=unit,
        unit_text=_words(unit, key),
        granularity=chosen,
        aggregation=_AGGREGATION[m.kind].format(g=chosen),
        patient=person,
        since=start,
        until=end,
        points=[TrendPoint(**vars(p)) for p in pts],
        value2_label="diastolic" if key == "blood_pressure" else None,
        stats=stats,
        stats2=_stats(pts, days, second=True) if any(p.value2 is not None for p in pts) else None,
        previous_period=previous,
        sources=[source_of(s) for s in used[:SOURCES_CAP]],
        source_count=len(used),
        notes=picked
        + notes
        + _caveats(m, chosen, bool(rows))
        + dropped
        + left_out_note(m.label, left_out, order_for(m.codes))
        + previous_notes,
        cgm=cgm_stats((s.resource for s in used), since, until) if key == "glucose" else None,
    )


def _words(unit: str | None, metric: str | None) -> str | None:
    """The unit as people write it, where that is not the code itself."""
    words = unit_words(unit, metric)
    return words if words and words != unit else None


def _caveats(m: Metric, granularity: Granularity, has_rows: bool) -> list[str]:
    notes = []
    if m.kind == "sum" and granularity != "day":
        notes.append(f"{m.label}: daily totals averaged per {granularity}")
    if not has_rows:
        notes.append(f"No {m.label.lower()} data in this period")
    return notes


def latest_vitals(reader: Reader) -> list[VitalSign]:
    """The latest weight, blood pressure, BMI and heart rate (of the scope's person, if any)."""
    scope = as_scope(reader)
    out = []
    for key in ("body_weight", "blood_pressure", "bmi", "heart_rate"):
        m = METRICS[key]
        rows = [r for r in fetch(scope, m, None, None) if r[1] is not None]
        rows, _ = in_unit(rows, m.unit, m)
        if rows:
            d, v, v2, _unit, stored = max(rows, key=lambda r: r[4].date or "")
            out.append(
                VitalSign(
                    metric=key,
                    value=sig(v or 0.0) or 0.0,
                    value2=sig(v2),
                    unit=m.unit,
                    unit_text=_words(m.unit, key),
                    date=d,
                    source=source_of(stored),
                )
            )
    return out
