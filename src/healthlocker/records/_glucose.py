"""CGM statistics: the core metrics of the international consensus report on time in range.

Pure functions: sensor readings ``(time, mg/dL)`` in, a view out. The metrics and their
definitions are those of Battelino T, et al., *Clinical Targets for Continuous Glucose
Monitoring Data Interpretation: Recommendations From the International Consensus on Time in
Range*, Diabetes Care 2019;42(8):1593–1603 (doi:10.2337/dci19-0028), and the GMI of Bergenstal
RM, et al., Diabetes Care 2018;41(11):2275–2280 (doi:10.2337/dc18-1581):

=========================  ===================================================================
mean glucose               the mean of the readings (mg/dL; also in mmol/L)
GMI                        3.31 + 0.02392 × mean mg/dL (%); 12.71 + 4.70587 × mean mmol/L
                           (mmol/mol)
CV                         standard deviation (n − 1) / mean × 100 (%)
time in ranges             % of readings: very low < 54, low 54–69, in range 70–180, high
                           181–250, very high > 250 mg/dL; below 70 (= very low + low) and
                           above 180 (= high + very high) as the report's TBR and TAR
% time CGM active          the sensor's reading slots (one per interval) that hold a reading,
                           over those of the period
days                       the days of the period, and those with readings
=========================  ===================================================================

Readings are placed in ranges by their value in whole mg/dL (rounded half up): sensors report
whole mg/dL or mmol/L to one decimal, and only so do the report's thresholds in mmol/L (3.0,
3.9, 10.0, 13.9) fall on the same readings as those in mg/dL (54, 70, 180, 250): 10.0 mmol/L is
180.2 mg/dL, in range in both. Means and deviations use the values as they are. A reading the
sensor gave only as beyond its range (``< 40``) counts as its limit, as the vendors' own reports
do. Days are the readings' own local dates. The consensus asks for 14 days with at least 70% of
the possible readings; ``sufficient`` says whether the period has them.
"""

from __future__ import annotations

import bisect
import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import Field

from healthlocker.records._common import fmt_number
from healthlocker.records._view import View

MG_DL_PER_MMOL_L = 18.0156  # glucose, 180.156 g/mol
CGM_CODES = frozenset({"99504-3", "105272-9"})  # the HL7 CGM IG's sensor readings
_LOINC = "http://loinc.org"
_UNITS = {"mg/dL": 1.0, "mmol/L": MG_DL_PER_MMOL_L}
_DAY = timedelta(days=1)
MIN_DAYS, MIN_ACTIVE = 14, 70.0
# The bands' upper bounds in whole mg/dL: very low ≤ 53, low ≤ 69, in range ≤ 180, high ≤ 250.
_BOUNDS = (53, 69, 180, 250)

Reading = tuple[datetime, float]  # (when, mg/dL)


def reading_of(resource: Mapping[str, Any]) -> Reading | None:
    """The ``(time, mg/dL)`` of a stored CGM sensor reading; None for anything else, and for a
    scan (an on-demand reading between the sensor's own: it would weigh its moment twice)."""
    code = resource.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    if not isinstance(codings, list) or not any(
        isinstance(c, dict) and c.get("system") == _LOINC and c.get("code") in CGM_CODES
        for c in codings
    ):
        return None
    if resource.get("method") is not None:
        return None
    quantity = resource.get("valueQuantity")
    stamp = resource.get("effectiveDateTime")
    if not isinstance(quantity, dict) or not isinstance(stamp, str):
        return None
    value, factor = quantity.get("value"), _UNITS.get(str(quantity.get("code")))
    if not isinstance(value, int | float) or factor is None or not math.isfinite(value):
        return None
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return when, value * factor


class TimeInRanges(View):
    very_low: float = Field(description="% of readings below 54 mg/dL (3.0 mmol/L)")
    low: float = Field(description="% of readings 54–69 mg/dL (3.0–3.8 mmol/L)")
    in_range: float = Field(description="% of readings 70–180 mg/dL (3.9–10.0 mmol/L): TIR")
    high: float = Field(description="% of readings 181–250 mg/dL (10.1–13.9 mmol/L)")
    very_high: float = Field(description="% of readings above 250 mg/dL (13.9 mmol/L)")
    below_70: float = Field(description="% below 70 mg/dL: time below range (very low + low)")
    above_180: float = Field(description="% above 180 mg/dL: time above range (high + very high)")


class GlucoseDay(View):
    date: str = Field(description="The local date (ISO)")
    readings: int
    mean_mg_dl: float
    cv_percent: float | None = Field(
        default=None, description="Coefficient of variation (absent: 1 reading)"
    )
    active_percent: float = Field(description="% of the day's reading slots with a reading")
    ranges: TimeInRanges


class GlucoseTargets(View):
    """The consensus's targets for most adults with type 1 or type 2 diabetes (for older or
    high-risk people: in range above 50%, below 70 under 1%): published facts, not advice."""

    in_range_over: float = 70.0
    below_70_under: float = 4.0
    very_low_under: float = 1.0
    above_180_under: float = 25.0
    very_high_under: float = 5.0
    cv_at_most: float = 36.0


class GlucoseStats(View):
    first_day: str | None = Field(default=None, description="First day of the period (ISO date)")
    last_day: str | None = Field(default=None, description="Last day of the period (ISO date)")
    days: int = Field(description="Days in the period")
    days_with_data: int = Field(description="Days with at least one reading (days worn)")
    readings: int
    interval_minutes: float = Field(description="The sensor's interval between readings")
    active_percent: float | None = Field(
        default=None, description="% time CGM active (of possible readings)"
    )
    mean_mg_dl: float | None = None
    mean_mmol_l: float | None = None
    sd_mg_dl: float | None = Field(default=None, description="Standard deviation (n − 1)")
    cv_percent: float | None = Field(
        default=None, description="Coefficient of variation: SD / mean × 100"
    )
    gmi_percent: float | None = Field(default=None, description="Glucose management indicator (%)")
    gmi_mmol_mol: float | None = Field(
        default=None, description="Glucose management indicator (mmol/mol)"
    )
    ranges: TimeInRanges | None = None
    sufficient: bool = Field(description="At least 14 days and 70% of possible readings")
    daily: list[GlucoseDay] = Field(description="Per local day, oldest first")
    targets: GlucoseTargets = Field(default_factory=GlucoseTargets)
    notes: list[str]

    def render(self) -> str:
        """The consensus metrics in three lines (and the notes)."""
        if not self.readings or self.ranges is None:
            why = f" ({self.notes[0]})" if self.notes else ""
            return f"Glucose (CGM): no sensor readings{why}"
        n, cv = fmt_number, self.cv_percent
        lines = [
            f"Glucose (CGM), {self.first_day} → {self.last_day}: {self.days} days, "
            f"{self.readings:,} readings every {n(self.interval_minutes)} min, sensor active "
            f"{self.active_percent or 0:.1f}%",
            f"mean {n(self.mean_mg_dl)} mg/dL ({n(self.mean_mmol_l, 2)} mmol/L), GMI "
            f"{self.gmi_percent or 0:.1f}% ({n(self.gmi_mmol_mol)} mmol/mol), CV "
            + (f"{cv:.1f}%" if cv is not None else "?"),
            _bands(self.ranges),
        ]
        return "\n".join(lines + self.notes[:3])

    def lines(self) -> list[str]:
        """Every fact of the structure in words (the text of ``summarize_trends`` for glucose):
        the three lines, then the spread, the targets and each day's figures."""
        if not self.readings or self.ranges is None:
            return [self.render()]
        n, t = fmt_number, self.targets
        sd = f"SD {n(self.sd_mg_dl, 4)} mg/dL; " if self.sd_mg_dl is not None else ""
        enough = "enough" if self.sufficient else "too little"
        return [
            *self.render().split("\n"),
            f"{sd}{self.days_with_data} of the {self.days} days have readings; {enough} data for "
            f"the consensus ({MIN_DAYS} days, {MIN_ACTIVE:.0f}% of the possible readings).",
            f"The consensus targets for most adults with diabetes (published figures, not "
            f"advice): in range over {n(t.in_range_over)}%, below 70 under {n(t.below_70_under)}%"
            f", below 54 under {n(t.very_low_under)}%, above 180 under {n(t.above_180_under)}%, "
            f"above 250 under {n(t.very_high_under)}%, CV at most {n(t.cv_at_most)}%.",
            "Per day: " + "; ".join(_daily(d) for d in self.daily) + ".",
        ]


def _bands(r: TimeInRanges) -> str:
    return (
        f"time in range 70–180 mg/dL {r.in_range:.1f}%; below 70 {r.below_70:.1f}% (below 54 "
        f"{r.very_low:.1f}%); above 180 {r.above_180:.1f}% (above 250 {r.very_high:.1f}%)"
    )


def _daily(d: GlucoseDay) -> str:
    cv = f", CV {d.cv_percent:.1f}%" if d.cv_percent is not None else ""
    return (
        f"{d.date} {d.readings} readings, mean {fmt_number(d.mean_mg_dl)} mg/dL{cv}, active "
        f"{d.active_percent:.0f}%, {_bands(d.ranges).replace(' 70–180 mg/dL', '')}"
    )


def glucose_stats(
    readings: Iterable[Reading],
    *,
    first_day: date | None = None,
    last_day: date | None = None,
    interval: timedelta | None = None,
) -> GlucoseStats:
    """The consensus metrics of *readings* (in any order), over the whole days from *first_day*
    to *last_day* if given (readings outside are left out), else from the first reading to the
    last; *interval* is the sensor's (default: the median gap between readings)."""
    kept = sorted(
        {when: mg for when, mg in readings if _within(when.date(), first_day, last_day)}.items()
    )
    step = interval or _interval(kept)
    if not kept:
        return _empty(first_day, last_day, step)
    days: dict[date, list[Reading]] = defaultdict(list)
    for when, mg in kept:
        days[when.date()].append((when, mg))
    first, last = first_day or kept[0][0].date(), last_day or kept[-1][0].date()
    if first_day is not None and last_day is not None:
        period = (last - first + _DAY) / step
    else:
        period = (kept[-1][0] - kept[0][0] + step) / step
    active = min(100.0, 100 * _slots(kept, step) / max(period, 1))
    values = [mg for _, mg in kept]
    mean, sd = statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)
    span = (last - first).days + 1
    notes = []
    if span < MIN_DAYS or active < MIN_ACTIVE:
        notes.append(
            f"{span} days with the sensor active {active:.0f}% of the time: the consensus asks "
            f"for {MIN_DAYS} days with at least {MIN_ACTIVE:.0f}% of the possible readings "
            "before these statistics stand for the person's usual glucose"
        )
    return GlucoseStats(
        first_day=first.isoformat(),
        last_day=last.isoformat(),
        days=span,
        days_with_data=len(days),
        readings=len(kept),
        interval_minutes=round(step.total_seconds() / 60, 2),
        active_percent=round(active, 2),
        mean_mg_dl=round(mean, 2),
        mean_mmol_l=round(mean / MG_DL_PER_MMOL_L, 2),
        sd_mg_dl=None if sd is None else round(sd, 2),
        cv_percent=None if sd is None else round(100 * sd / mean, 2),
        gmi_percent=round(3.31 + 0.02392 * mean, 2),
        gmi_mmol_mol=round(12.71 + 4.70587 * mean / MG_DL_PER_MMOL_L, 1),
        ranges=_ranges(values),
        sufficient=not notes,
        daily=[_day(d, days[d], step) for d in sorted(days)],
        notes=notes,
    )


def cgm_stats(
    resources: Iterable[Mapping[str, Any]], since: str | None, until: str | None
) -> GlucoseStats:
    """:func:`glucose_stats` of the sensor readings among *resources*, over the days from
    *since* to *until* (ISO dates; the readings' own first and last days where not given)."""
    readings = (r for resource in resources if (r := reading_of(resource)) is not None)
    first = date.fromisoformat(since) if since else None
    last = date.fromisoformat(until) if until else None
    return glucose_stats(readings, first_day=first, last_day=last)


def _within(day: date, first: date | None, last: date | None) -> bool:
    return (first is None or day >= first) and (last is None or day <= last)


def _interval(kept: list[Reading]) -> timedelta:
    """The sensor's interval: the median gap between readings under an hour apart, in whole
    minutes (5 for a Dexcom or a Libre 3, 15 for a Libre 1 or 2); 5 with too few readings."""
    gaps = [(b[0] - a[0]).total_seconds() for a, b in itertools.pairwise(kept)]
    gaps = [g for g in gaps if 0 < g < 3600]
    if not gaps:
        return timedelta(minutes=5)
    return timedelta(minutes=max(1, round(statistics.median(gaps) / 60)))


def _slots(kept: list[Reading], step: timedelta) -> int:
    """How many of the sensor's slots (one per interval) hold a reading: two readings in one
    (from two receivers, or a clock change) count once."""
    seconds = step.total_seconds()
    return len({math.floor(when.timestamp() / seconds) for when, _ in kept})


def _ranges(values: list[float]) -> TimeInRanges:
    counts = [0, 0, 0, 0, 0]
    for value in values:
        counts[bisect.bisect_left(_BOUNDS, math.floor(value + 0.5))] += 1
    p = [round(100 * c / len(values), 2) for c in counts]
    return TimeInRanges(
        very_low=p[0], low=p[1], in_range=p[2], high=p[3], very_high=p[4],
        below_70=round(100 * (counts[0] + counts[1]) / len(values), 2),
        above_180=round(100 * (counts[3] + counts[4]) / len(values), 2),
    )  # fmt: skip


def _day(day: date, kept: list[Reading], step: timedelta) -> GlucoseDay:
    values = [mg for _, mg in kept]
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else None
    active = min(100.0, 100 * _slots(kept, step) * step / _DAY)
    return GlucoseDay(
        date=day.isoformat(),
        readings=len(values),
        mean_mg_dl=round(mean, 2),
        cv_percent=None if sd is None else round(100 * sd / mean, 2),
        active_percent=round(active, 2),
        ranges=_ranges(values),
    )


def _empty(first: date | None, last: date | None, step: timedelta) -> GlucoseStats:
    return GlucoseStats(
        first_day=first.isoformat() if first else None,
        last_day=last.isoformat() if last else None,
        days=(last - first).days + 1 if first and last else 0,
        days_with_data=0,
        readings=0,
        interval_minutes=round(step.total_seconds() / 60, 2),
        active_percent=0.0 if first and last else None,
        mean_mg_dl=None, mean_mmol_l=None, sd_mg_dl=None, cv_percent=None,
        gmi_percent=None, gmi_mmol_mol=None, ranges=None,
        sufficient=False,
        daily=[],
        notes=["no CGM sensor readings in the period"],
    )  # fmt: skip
