"""Trends: one measure over time, in day/week/month/year points with summary statistics.

Which metrics there are and how their samples are found and converted: ``_metrics``.

Several people: trends are per person. A ``Scope`` with a patient chooses whose; without one, and
with data about several people, the one with the most recent data is shown and the notes say so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, Literal

from pydantic import Field

from healthlocker.errors import ArgumentError
from healthlocker.people import patient_of
from healthlocker.records._common import (
    Reader,
    SourceRef,
    check_span,
    fmt_number,
    later_of,
    pick_patient,
    source_of,
)
from healthlocker.records._glucose import GlucoseStats, cgm_stats
from healthlocker.records._metrics import METRICS, Metric, Row, fetch, find_metric, in_unit
from healthlocker.records._overlap import left_out_note, order_for
from healthlocker.records._scope import Scope, as_scope, scoped
from healthlocker.records._view import Answer, View

Granularity = Literal["day", "week", "month", "year"]
GRANULARITIES: tuple[Granularity, ...] = ("day", "week", "month", "year")
SOURCES_CAP = 50
_AGGREGATION = {
    "mean": "mean of the samples in each {g}",
    "sum": "daily totals averaged per {g}",
    "count": "number of records per {g}",
}


class TrendPoint(View):
    start: str = Field(description="First day of the bucket (ISO date)")
    value: float = Field(description="The bucket's value (systolic for blood pressure)")
    n: int = Field(description="How many samples (records) the bucket holds")
    value2: float | None = Field(default=None, description="Diastolic, for blood pressure")


class TrendStats(View):
    min: float | None
    max: float | None
    mean: float | None = Field(description="Mean of the points")
    first: float | None = Field(description="The first point's value")
    last: float | None = Field(description="The last point's value")
    change: float | None = Field(description="last − first")
    slope_per_month: float | None = Field(
        description="Least-squares slope over the points, per 30.44 days (null with < 2 points)"
    )


class PreviousPeriod(View):
    start: str = Field(description="First day of the period of equal length before `since`")
    end: str = Field(description="Its last day")
    mean: float = Field(description="Mean of its points")
    points: int
    n: int = Field(description="Samples it holds")
    change_in_mean: float | None = Field(description="This period's mean − that mean")


class TrendView(Answer):
    metric: str = Field(description="The metric as understood (a named metric, or the lab)")
    label: str = Field(description="What is measured, in words")
    codes: list[str] = Field(description="The LOINC codes looked for")
    unit: str | None = Field(description="UCUM unit of every value")
    granularity: Granularity
    aggregation: str = Field(description="How samples become a point")
    patient: str | None = Field(description="Whose data (Patient/id)")
    since: str | None = Field(description="First day looked at (ISO date)")
    until: str | None = Field(description="Last day looked at (ISO date)")
    points: list[TrendPoint] = Field(description="Oldest first")
    value2_label: str | None = Field(description="What value2 holds (diastolic), if anything")
    stats: TrendStats
    stats2: TrendStats | None = Field(description="Statistics of value2, if any")
    previous_period: PreviousPeriod | None = Field(
        description="The same length of time just before `since` (only when `since` is given)"
    )
    sources: list[SourceRef] = Field(description=f"The newest {SOURCES_CAP} records used")
    source_count: int = Field(description="How many records the trend is built from")
    notes: list[str]
    cgm: GlucoseStats | None = Field(
        default=None,
        description="For glucose from a CGM: the consensus metrics (time in ranges, GMI, CV, "
        "% time active, per day)",
    )

    def describe(self) -> str:
        s, unit, n = self.stats, self.unit or "", fmt_number
        if not self.points:
            return f"{self.label}: no data" + (f" ({self.notes[-1]})" if self.notes else "")
        if self.cgm is not None:  # its own three lines, then how the period went
            slope = s.slope_per_month
            per_month = f", {n(slope)} {unit}/month" if slope is not None else ""
            return "\n".join([
                self.cgm.render(),
                f"{len(self.points)} {self.granularity} points ({self.aggregation}), change "
                f"{n(s.change)} {unit}{per_month}",
                *self.notes[:3],
            ])  # fmt: skip
        slope = s.slope_per_month
        lines = [
            f"{self.label} ({unit}), {len(self.points)} {self.granularity} points "
            f"{self.points[0].start} → {self.points[-1].start}, {self.aggregation}",
            f"mean {n(s.mean)}, min {n(s.min)}, max {n(s.max)}, change {n(s.change)}"
            + (f", {n(slope)} {unit}/month" if slope is not None else ""),
        ]
        if self.stats2 and self.stats2.mean is not None:
            lines.append(
                f"{self.value2_label}: mean {n(self.stats2.mean)}, change {n(self.stats2.change)}"
            )
        if self.previous_period:
            lines.append(f"previous period mean {n(self.previous_period.mean)}")
        return "\n".join(lines + self.notes[:3])


class VitalSign(View):
    metric: str = Field(description="body_weight, blood_pressure, bmi or heart_rate")
    label: str
    value: float = Field(description="Systolic for blood pressure")
    value2: float | None = Field(description="Diastolic for blood pressure")
    unit: str | None
    date: str = Field(description="When it was measured (ISO date)")
    source: SourceRef

    def render(self) -> str:
        both = fmt_number(self.value)
        if self.value2 is not None:  # blood pressure, read in whole mmHg
            both = f"{fmt_number(self.value, 2)}/{fmt_number(self.value2, 2)}"
        return f"{self.label}: {both} {self.unit or ''} ({self.date})"


# --- points and statistics ------------------------------------------------------------------


def _choose(first: str, last: str) -> Granularity:
    span = (date.fromisoformat(last) - date.fromisoformat(first)).days
    return "day" if span <= 60 else "week" if span <= 366 else "month" if span <= 1830 else "year"


def _bucketer(granularity: Granularity) -> Callable[[str], str]:
    if granularity == "day":
        return lambda d: d
    if granularity == "month":
        return lambda d: d[:7] + "-01"
    if granularity == "year":
        return lambda d: d[:4] + "-01-01"
    weeks: dict[str, str] = {}

    def week(d: str) -> str:
        if d not in weeks:
            x = date.fromisoformat(d)
            weeks[d] = (x - timedelta(days=x.weekday())).isoformat()
        return weeks[d]

    return week


def _points(rows: list[Row], m: Metric, granularity: Granularity) -> list[TrendPoint]:
    bucket_of = _bucketer(granularity)
    # Per bucket: [sum of value, values counted, sum of value2, value2s counted, samples].
    acc: dict[str, list[float]] = {}
    days: dict[str, list[float]] = {}
    for d, v, v2, _unit, _stored in rows:
        if m.kind == "sum":  # daily totals first
            t = days.setdefault(d, [0.0, 0.0])
            t[0] += v or 0.0
            t[1] += 1
            continue
        a = acc.setdefault(bucket_of(d), [0.0, 0, 0.0, 0, 0])
        if v is not None:
            a[0] += v
            a[1] += 1
        if v2 is not None:
            a[2] += v2
            a[3] += 1
        a[4] += 1
    for d, (total, n) in days.items():
        a = acc.setdefault(bucket_of(d), [0.0, 0, 0.0, 0, 0])
        a[0], a[1], a[4] = a[0] + total, a[1] + 1, a[4] + n
    out = []
    for start in sorted(acc):
        s, k, s2, k2, n = acc[start]
        if k:
            value = s if m.kind == "count" else s / k
            out.append(
                TrendPoint(
                    start=start,
                    value=round(value, 4),
                    n=int(n),
                    value2=round(s2 / k2, 4) if k2 else None,
                )
            )
    return out


def _stats(values: list[float], starts: list[str]) -> TrendStats:
    if not values:
        return TrendStats(
            min=None, max=None, mean=None, first=None, last=None, change=None, slope_per_month=None
        )
    slope = None
    if len(values) >= 2:
        origin = date.fromisoformat(starts[0]).toordinal()
        xs = [date.fromisoformat(s).toordinal() - origin for s in starts]
        mx, my = sum(xs) / len(xs), sum(values) / len(values)
        sxx = sum((x - mx) ** 2 for x in xs)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, values, strict=True)) / sxx * 30.44
    return TrendStats(
        min=min(values),
        max=max(values),
        mean=round(sum(values) / len(values), 4),
        first=values[0],
        last=values[-1],
        change=round(values[-1] - values[0], 4),
        slope_per_month=None if slope is None else round(slope, 4),
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
    points = _points(rows, m, granularity)
    if not points:
        return None, []
    before = round(sum(p.value for p in points) / len(points), 4)
    return PreviousPeriod(
        start=start,
        end=last,
        mean=before,
        points=len(points),
        n=sum(p.n for p in points),
        change_in_mean=None if mean is None else round(mean - before, 4),
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
    workouts are counted per point.
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
    chosen: Granularity = granularity or (_choose(start, end) if start and end else "day")  # type: ignore[assignment]
    points = _points(rows, m, chosen)
    stats = _stats([p.value for p in points], [p.start for p in points])
    previous, previous_notes = None, list[str]()
    if since:
        current = (since, end or since, chosen, person, unit)
        previous, previous_notes = _previous(reader, m, current, stats.mean)
    used = list({r[4].ref: r[4] for r in sorted(rows, key=lambda r: r[0], reverse=True)}.values())
    return TrendView(
        metric=key or m.label,
        label=m.label,
        codes=list(m.codes),
        unit=unit,
        granularity=chosen,
        aggregation=_AGGREGATION[m.kind].format(g=chosen),
        patient=person,
        since=start,
        until=end,
        points=points,
        value2_label="diastolic" if key == "blood_pressure" else None,
        stats=stats,
        stats2=_stats2(points),
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


def _stats2(points: list[TrendPoint]) -> TrendStats | None:
    """Statistics of the points' second values (diastolic), if any."""
    pairs = [(p.value2, p.start) for p in points if p.value2 is not None]
    return _stats([v for v, _ in pairs], [s for _, s in pairs]) if pairs else None


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
                    label=m.label,
                    value=round(v or 0.0, 4),
                    value2=None if v2 is None else round(v2, 4),
                    unit=m.unit,
                    date=d,
                    source=source_of(stored),
                )
            )
    return out
