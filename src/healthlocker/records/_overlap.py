"""Wellness data several apps record: one source per metric and day, never counted twice.

Apple Health, Peloton and MyFitnessPal each write a day's active energy; Apple Health also holds
the workouts and the food that Peloton and MyFitnessPal write to it when they are linked.
Adding them up would count the same ride, or the same lunch, twice. So a trend reads:

- for a measure added up per day (steps, energy, sleep, food), each day from one source: the
  first in the metric's order that has data that day (:data:`ORDER`); the other sources' rows
  of that day are left out, and the trend's notes say how many;
- for workouts (counted), a workout is left out when a workout from a source earlier in the
  order overlaps it in time (a workout with a day and no time overlaps every workout that day).

Sources are told by their kind, the format they were imported as (``StoredResource.kind``);
kinds not in the order come after it, by name. Measures that are averaged (weight, heart rate)
are left as they are: a second scale's reading is a second sample, not a double count.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from healthlocker.store import StoredResource

# Per kind of metric: the sources, best first. Food: the food diary before the phone (Apple
# Health's dietary records are mostly what MyFitnessPal wrote to it). Activity: the phone and
# watch (worn all day) before the apps that record one workout each.
ORDER: dict[str, tuple[str, ...]] = {
    "food": ("myfitnesspal", "apple-health"),
    "activity": ("apple-health", "peloton", "myfitnesspal"),
}
_FOOD_CODES = ("9052-2", "HKQuantityTypeIdentifierDietary")

# One sample, as ``_metrics`` reads it: (day, value, value2, recorded unit, resource).
Row = tuple[str, float | None, float | None, str, StoredResource]


def order_for(codes: tuple[str, ...]) -> tuple[str, ...]:
    """The order of sources for a metric with these codes."""
    food = any(code.startswith(_FOOD_CODES) for code in codes)
    return ORDER["food" if food else "activity"]


def _rank(stored: StoredResource, order: tuple[str, ...]) -> tuple[int, str]:
    kind = stored.kind
    return (order.index(kind), "") if kind in order else (len(order), kind)


def one_source_per_day(rows: list[Row], order: tuple[str, ...]) -> tuple[list[Row], Counter[str]]:
    """*rows* of an added-up measure with each day from its best source; how many rows of
    each other source were left out."""
    best: dict[str, tuple[tuple[int, str], str]] = {}
    for row in rows:
        rank = (_rank(row[4], order), row[4].source_id)
        if row[0] not in best or rank < best[row[0]]:
            best[row[0]] = rank
    kept, dropped = [], Counter[str]()
    for row in rows:
        if best[row[0]][1] == row[4].source_id:
            kept.append(row)
        else:
            dropped[row[4].kind or row[4].source] += 1
    return kept, dropped


def _moment(value: object) -> datetime | None:
    """A dateTime with a time of day, in UTC when it has a zone; None for a bare day."""
    if not isinstance(value, str) or len(value) <= 10:
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp.astimezone(UTC).replace(tzinfo=None) if stamp.tzinfo else stamp


def _span(stored: StoredResource) -> tuple[datetime, datetime] | None:
    """A workout's time, or None when only its day is known."""
    r = stored.resource
    period = r.get("effectivePeriod")
    period = period if isinstance(period, dict) else {}
    begins = _moment(period.get("start") or r.get("effectiveDateTime"))
    ends = _moment(period.get("end")) or begins
    return None if begins is None or ends is None else (begins, ends)


def _overlaps(a: Row, b: Row) -> bool:
    span_a, span_b = _span(a[4]), _span(b[4])
    if span_a is None or span_b is None:
        return a[0] == b[0]
    return span_a[0] <= span_b[1] and span_b[0] <= span_a[1]


def distinct_workouts(rows: list[Row], order: tuple[str, ...]) -> tuple[list[Row], Counter[str]]:
    """*rows* of workouts less those a better source also recorded (overlapping in time)."""
    by_day: dict[str, list[Row]] = {}
    for row in rows:
        by_day.setdefault(row[0], []).append(row)
    left_out: set[int] = set()
    dropped = Counter[str]()
    for day_rows in by_day.values():
        chosen: list[Row] = []
        for row in sorted(day_rows, key=lambda r: _rank(r[4], order)):
            rank = _rank(row[4], order)
            if any(_rank(c[4], order) < rank and _overlaps(row, c) for c in chosen):
                dropped[row[4].kind or row[4].source] += 1
                left_out.add(id(row))
            else:
                chosen.append(row)
    return [r for r in rows if id(r) not in left_out], dropped


def left_out_note(label: str, dropped: Counter[str], order: tuple[str, ...]) -> list[str]:
    """What :func:`one_source_per_day` or :func:`distinct_workouts` left out, in words."""
    if not dropped:
        return []
    what = ", ".join(f"{n} from {kind}" for kind, n in sorted(dropped.items()))
    return [
        f"{label}: left out records that another source also has ({what}), so nothing is "
        f"counted twice (one source per day and workout, in this order: {', '.join(order)})"
    ]
