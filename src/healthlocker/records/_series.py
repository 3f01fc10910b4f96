"""A measure's samples as points per day, week, month or year, and the statistics of a trend.

Pure computations over ``Row``s (see ``_metrics``): how samples become points, what each point's
period is called, which measurement is the first and the latest, and when there is enough data
for a rate of change per month.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from healthlocker.records._common import SourceRef, places, sig, source_of
from healthlocker.records._metrics import Metric, Row
from healthlocker.records._text import count

Granularity = Literal["day", "week", "month", "year"]
GRANULARITIES: tuple[Granularity, ...] = ("day", "week", "month", "year")
# A rate per month needs about a month of data, in a few points: less is not a trend.
MIN_SLOPE_DAYS = 28
MIN_SLOPE_POINTS = 3
DAYS_PER_MONTH = 30.44
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class Point:
    start: str  # first day of the period (ISO date)
    period: str  # the period in words: "2021", "March 2021", "week of 2021-03-01", "2021-03-01"
    value: float
    n: int  # samples (records) in it
    value2: float | None


@dataclass(frozen=True)
class Reading:
    """One day's measurement: a sample (the day's latest), or a day's total or count."""

    day: str
    value: float
    value2: float | None
    source: SourceRef
    records: int  # how many records it is made of (1 for a sample)


def choose(first: str, last: str) -> Granularity:
    """About 60 points at most: up to 60 days → day, a year → week, 5 years → month."""
    span = (date.fromisoformat(last) - date.fromisoformat(first)).days
    return "day" if span <= 60 else "week" if span <= 366 else "month" if span <= 1830 else "year"


def period_name(start: str, granularity: Granularity) -> str:
    """A point's period as people name it."""
    if granularity == "year":
        return start[:4]
    if granularity == "month":
        return f"{_MONTHS[int(start[5:7]) - 1]} {start[:4]}"
    if granularity == "week":
        return f"week of {start}"
    return start


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


def points(rows: list[Row], m: Metric, granularity: Granularity) -> list[Point]:
    """Rows as points: the mean of the samples in each period; for totals (steps, energy,
    sleep) the mean of the daily totals; for workouts, their count. Values are given to one
    decimal more than the samples were recorded with (totals and counts: as recorded)."""
    bucket_of = _bucketer(granularity)
    # Per bucket: [sum of value, values counted, sum of value2, value2s counted, samples].
    acc: dict[str, list[float]] = {}
    for day, value, value2, n in _per_day(rows, m):
        a = acc.setdefault(bucket_of(day), [0.0, 0, 0.0, 0, 0])
        if value is not None:
            a[0] += value
            a[1] += 1
        if value2 is not None:
            a[2] += value2
            a[3] += 1
        a[4] += n
    digits = places(v for r in rows for v in (r[1], r[2])) + (1 if m.kind == "mean" else 0)
    out = []
    for start in sorted(acc):
        total, k, total2, k2, samples = acc[start]
        if k:
            mean = total if m.kind == "count" else total / k
            out.append(
                Point(
                    start=start,
                    period=period_name(start, granularity),
                    value=round(mean, min(digits, 4)),
                    n=int(samples),
                    value2=round(total2 / k2, min(digits, 4)) if k2 else None,
                )
            )
    return out


def _per_day(rows: list[Row], m: Metric) -> list[tuple[str, float | None, float | None, int]]:
    """(day, value, value2, samples): each sample, or for totals and counts each day's."""
    if m.kind == "mean":
        return [(d, v, v2, 1) for d, v, v2, _unit, _stored in rows]
    days: dict[str, list[float]] = {}
    for d, v, _v2, _unit, _stored in rows:
        t = days.setdefault(d, [0.0, 0])
        t[0] += 1.0 if m.kind == "count" else v or 0.0
        t[1] += 1
    return [(d, t[0], None, int(t[1])) for d, t in days.items()]


def readings(rows: list[Row], m: Metric) -> list[Reading]:
    """One measurement per day, oldest first: the day's latest sample (for a level), or the
    day's total (steps, energy, sleep) or count (workouts), cited by its newest record."""
    by_day: dict[str, list[Row]] = {}
    for row in rows:
        by_day.setdefault(row[0], []).append(row)
    out = []
    for day in sorted(by_day):
        group = sorted(by_day[day], key=lambda r: (r[4].date or "", r[4].ref))
        newest = group[-1]
        if m.kind == "mean":
            values = [r for r in group if r[1] is not None]
            if not values:
                continue
            pick = values[-1]
            out.append(Reading(day, pick[1] or 0.0, pick[2], source_of(pick[4]), 1))
            continue
        total = float(len(group)) if m.kind == "count" else sum(r[1] or 0.0 for r in group)
        out.append(Reading(day, total, None, source_of(newest[4]), len(group)))
    return out


def slope(starts: list[str], values: list[float]) -> float | None:
    """Least-squares change per month over the points; None with too little data for one:
    fewer than ``MIN_SLOPE_POINTS`` points, or spanning less than ``MIN_SLOPE_DAYS``."""
    if len(values) < MIN_SLOPE_POINTS:
        return None
    origin = date.fromisoformat(starts[0]).toordinal()
    xs = [date.fromisoformat(s).toordinal() - origin for s in starts]
    if xs[-1] - xs[0] < MIN_SLOPE_DAYS:
        return None
    mx, my = sum(xs) / len(xs), sum(values) / len(values)
    sxx = sum((x - mx) ** 2 for x in xs)
    rate = sum((x - mx) * (y - my) for x, y in zip(xs, values, strict=True)) / sxx
    return sig(rate * DAYS_PER_MONTH, 3)


def too_little(first: str | None, last: str | None, n: int) -> str:
    """Why there is no rate per month, in words."""
    if first is None or last is None:
        return ""
    days = (date.fromisoformat(last) - date.fromisoformat(first)).days
    return (
        f"Too little data for a rate of change per month: it needs {MIN_SLOPE_POINTS} or more "
        f"points spanning at least {MIN_SLOPE_DAYS} days; these are {count(n, 'point')} over "
        f"{count(days, 'day')}."
    )
