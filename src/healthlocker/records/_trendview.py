"""What ``summarize_trends`` returns, and its text: every point, the first and the latest
measurement with their sources, units as people write them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from healthlocker.records._common import SourceRef, fmt_number
from healthlocker.records._glucose import GlucoseStats
from healthlocker.records._text import Cites, count, with_unit
from healthlocker.records._view import Answer, View

Granularity = Literal["day", "week", "month", "year"]
VITAL_LABELS = {
    "body_weight": "Body weight",
    "blood_pressure": "Blood pressure",
    "bmi": "Body mass index",
    "heart_rate": "Heart rate",
}
_EVERY = {"day": "daily", "week": "weekly", "month": "monthly", "year": "yearly"}


class TrendPoint(View):
    start: str = Field(description="First day of the period (ISO date)")
    period: str | None = Field(
        default=None,
        description="The period in words: '2021', 'March 2021', 'week of 2021-03-01' or a day",
    )
    value: float = Field(description="The period's value (systolic for blood pressure)")
    n: int = Field(description="How many samples (records) the period holds")
    value2: float | None = Field(default=None, description="Diastolic, for blood pressure")


class Measurement(View):
    """One day's measurement: the day's latest sample, or for totals and counts (steps, sleep,
    energy, calories, workouts) the day's total or count."""

    value: float = Field(description="The value, in the trend's unit")
    date: str = Field(description="The day it was measured (ISO date)")
    source: SourceRef = Field(description="The record (for a day's total: its newest record)")
    records: int | None = Field(
        default=None, description="How many records a day's total or count adds up"
    )


class TrendStats(View):
    min: float | None = Field(default=None, description="Lowest point")
    max: float | None = Field(default=None, description="Highest point")
    mean: float | None = Field(default=None, description="Mean of the points")
    first: Measurement | None = Field(default=None, description="The first measurement")
    last: Measurement | None = Field(default=None, description="The latest measurement")
    change: float | None = Field(default=None, description="last.value − first.value")
    slope_per_month: float | None = Field(
        default=None,
        description="Least-squares change per 30.44 days over the points; absent with too "
        "little data for a rate (fewer than 3 points, or spanning under 28 days: the notes say)",
    )


class PreviousPeriod(View):
    start: str = Field(description="First day of the period of equal length before `since`")
    end: str = Field(description="Its last day")
    mean: float = Field(description="Mean of its points")
    points: int
    n: int = Field(description="Samples it holds")
    change_in_mean: float | None = Field(default=None, description="This period's mean − that mean")


class TrendView(Answer):
    metric: str = Field(description="The metric as understood (a named metric, or the lab)")
    label: str = Field(description="What is measured, in words")
    codes: list[str] = Field(description="The LOINC codes looked for")
    unit: str | None = Field(default=None, description="UCUM unit of every value")
    unit_text: str | None = Field(
        default=None,
        description="The unit as people write it (mmHg, steps, beats per minute), where that "
        "is not `unit` itself",
    )
    granularity: Granularity
    aggregation: str = Field(description="How samples become a point")
    patient: str | None = Field(default=None, description="Whose data (Patient/id)")
    since: str | None = Field(default=None, description="First day looked at (ISO date)")
    until: str | None = Field(default=None, description="Last day looked at (ISO date)")
    points: list[TrendPoint] = Field(description="Oldest first")
    value2_label: str | None = Field(
        default=None, description="What value2 holds (diastolic), if anything"
    )
    stats: TrendStats
    stats2: TrendStats | None = Field(default=None, description="Statistics of value2, if any")
    previous_period: PreviousPeriod | None = Field(
        default=None,
        description="The same length of time just before `since` (only when `since` is given)",
    )
    sources: list[SourceRef] = Field(description="The newest records used (at most 12)")
    source_count: int = Field(description="How many records the trend is built from")
    notes: list[str]
    cgm: GlucoseStats | None = Field(
        default=None,
        description="For glucose from a CGM: the consensus metrics (time in ranges, GMI, CV, "
        "% time active, per day)",
    )

    def describe(self) -> str:
        if not self.points:
            notes = " ".join(self.notes[-1:])
            return f"{self.label}: no data." + (f" {notes}" if notes else "")
        cite = Cites([*self.sources, *_measured(self.stats), *_measured(self.stats2)])
        first = self.points[0].period or self.points[0].start
        last = self.points[-1].period or self.points[-1].start
        span = f"{first} to {last}" if first != last else first
        lines = [
            *(self.cgm.lines() if self.cgm is not None else ()),  # the consensus metrics first
            f"{self.label}: {len(self.points)} {_EVERY[self.granularity]} points, {span} "
            f"({self.aggregation}), from {count(self.source_count, 'record')}.",
            *self._stats_lines(self.stats, None, cite),
        ]
        if self.stats2 is not None:
            lines += self._stats_lines(self.stats2, self.value2_label, cite)
        if self.previous_period:
            lines.append(self._previous())
        if self.cgm is not None and self.granularity == "day":  # each point is a day above
            lines.append("Points: the days' means above.")
        else:
            lines.append("Points: " + "; ".join(self._point(p) for p in self.points) + ".")
        lines += [f"Note: {n}" for n in self.notes]
        shown = ", ".join(cite(s) for s in self.sources)
        used = f"{len(self.sources)} of {self.source_count:,}"
        lines.append(f"Newest records used ({used}): {shown}.")
        lines.append(cite.legend())
        return "\n".join(lines)

    def _num(self, value: float | None) -> str:
        return with_unit(fmt_number(value), self.unit_text or self.unit)

    def _point(self, p: TrendPoint) -> str:
        value = fmt_number(p.value)
        if p.value2 is not None:
            value += f"/{fmt_number(p.value2)}"
        return f"{p.period or p.start} {with_unit(value, self.unit_text or self.unit)} (n={p.n})"

    def _stats_lines(self, s: TrendStats, which: str | None, cite: Cites) -> list[str]:
        head = f"{which.capitalize()}: " if which else ""
        out = []
        if s.last and s.first:
            out.append(
                f"{head}Latest {self._reading(s.last, cite)}; first {self._reading(s.first, cite)}"
                f"; change {self._num(s.change)}."
            )
        rate = (
            f"; about {self._num(s.slope_per_month)} per month (least-squares over the points)"
            if s.slope_per_month is not None
            else ""
        )
        out.append(
            f"{head}Over the points: mean {self._num(s.mean)}, lowest {self._num(s.min)}, "
            f"highest {self._num(s.max)}{rate}."
        )
        return out

    def _reading(self, m: Measurement, cite: Cites) -> str:
        total = f" (total of {m.records} records)" if m.records else ""
        return f"{self._num(m.value)} on {m.date}{total} {cite(m.source)}"

    def _previous(self) -> str:
        p = self.previous_period
        assert p is not None
        change = ""
        if p.change_in_mean is not None:
            way = "higher" if p.change_in_mean > 0 else "lower" if p.change_in_mean < 0 else "same"
            change = (
                f"; this period's mean is {self._num(abs(p.change_in_mean))} {way}"
                if way != "same"
                else "; this period's mean is the same"
            )
        return (
            f"Previous period ({p.start} to {p.end}): mean {self._num(p.mean)} over "
            f"{count(p.points, 'point')} ({count(p.n, 'sample')}){change}."
        )


def _measured(stats: TrendStats | None) -> list[SourceRef]:
    if stats is None:
        return []
    return [m.source for m in (stats.first, stats.last) if m is not None]


class VitalSign(View):
    metric: str = Field(description="body_weight, blood_pressure, bmi or heart_rate")
    value: float = Field(description="Systolic for blood pressure")
    value2: float | None = Field(default=None, description="Diastolic for blood pressure")
    unit: str | None = Field(default=None, description="UCUM unit")
    unit_text: str | None = Field(
        default=None, description="The unit as people write it, where that is not `unit` itself"
    )
    date: str = Field(description="When it was measured (ISO date)")
    source: SourceRef

    def line(self, cite: Cites) -> str:
        both = fmt_number(self.value)
        if self.value2 is not None:  # blood pressure, read in whole mmHg
            both = f"{fmt_number(self.value, 2)}/{fmt_number(self.value2, 2)}"
        label = VITAL_LABELS.get(self.metric, self.metric)
        shown = with_unit(both, self.unit_text or self.unit)
        return f"{label} {shown} on {self.date} {cite(self.source)}"
