"""Plan comparison: what a year of the person's own care would cost under each plan offered.

The usage year is built from the person's claims: the most recent complete 12 months on record
(the 12 months ending on the latest claim, when the claims go back at least that far), else the
yearly average over the calendar years the claims fall in. Each claim counts at its allowed
amount, else its billed amount. Under a plan: a copay for the claim's kind of care replaces the
deductible and coinsurance for that claim (never more than the claim's cost); everything else
pays the deductible first, then coinsurance; copays, deductible and coinsurance together stop at
the out-of-pocket maximum. Yearly cost = premium × 12 + that share.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from healthlocker.errors import ArgumentError
from healthlocker.records._claims import Claim, Setting
from healthlocker.records._common import clean, fmt_money
from healthlocker.records._text import count
from healthlocker.records._view import View

MAX_PLANS = 10
_MONEY_CAP = 10_000_000.0
PLAN_EXAMPLE = (
    "{'name': 'Silver', 'premium': 350, 'deductible': 2000, 'coinsurance': 0.2, "
    "'out_of_pocket_max': 8000, 'copays': {'primary_care': 30}}"
)
_SETTING_WORDS: dict[Setting, str] = {
    "primary_care": "primary care",
    "specialist": "specialist",
    "emergency": "emergency",
    "inpatient": "inpatient stay",
    "pharmacy": "pharmacy",
}


def _money_field(description: str) -> Any:
    return Field(ge=0, le=_MONEY_CAP, description=description)


class PlanCopays(BaseModel):
    """Flat amounts paid per claim of a kind of care, instead of deductible and coinsurance."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    primary_care: float | None = Field(
        default=None, ge=0, le=_MONEY_CAP, description="Copay per primary care visit"
    )
    specialist: float | None = Field(
        default=None, ge=0, le=_MONEY_CAP, description="Copay per specialist visit"
    )
    emergency: float | None = Field(
        default=None, ge=0, le=_MONEY_CAP, description="Copay per emergency room visit"
    )
    inpatient: float | None = Field(
        default=None, ge=0, le=_MONEY_CAP, description="Copay per hospital or nursing stay"
    )
    pharmacy: float | None = Field(
        default=None, ge=0, le=_MONEY_CAP, description="Copay per prescription fill"
    )


class PlanOption(BaseModel):
    """A health plan to price against the person's own claims history."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str = Field(min_length=1, max_length=100, description="Plan name, e.g. 'Silver HMO'")
    premium: float = _money_field("Premium per month (what the person pays, after any subsidy)")
    deductible: float = _money_field("Yearly deductible")
    coinsurance: float = Field(
        ge=0,
        le=100,
        description="Share of costs the person pays after the deductible: a fraction (0.2) or a "
        "percent (20) — both mean 20%; values up to 1 are fractions, so 1 means 100% (write 1% "
        "as 0.01)",
    )
    out_of_pocket_max: float | None = Field(
        default=None,
        ge=0,
        le=_MONEY_CAP,
        description="Yearly out-of-pocket maximum (deductible + coinsurance + copays); "
        "omit if the plan has none",
    )
    copays: PlanCopays = Field(
        default_factory=PlanCopays,
        description="Copays by kind of care; a kind left out pays deductible and coinsurance",
    )

    @field_validator("name")
    @classmethod
    def _clean_name(cls, value: str) -> str:
        cleaned = clean(value, cap=100)
        if not cleaned:
            raise ValueError("name must have visible characters")
        return cleaned

    @model_validator(mode="after")
    def _max_covers_deductible(self) -> PlanOption:
        if self.out_of_pocket_max is not None and self.out_of_pocket_max < self.deductible:
            raise ValueError("out_of_pocket_max must be at least the deductible")
        return self

    @property
    def rate(self) -> float:
        """Coinsurance as a fraction."""
        return self.coinsurance if self.coinsurance <= 1 else self.coinsurance / 100


class PlanEstimate(View):
    """One plan's estimated yearly cost for the person, with its working."""

    name: str = Field(description="Plan name as given")
    estimated_yearly_cost: float = Field(description="Premiums + the person's share of care")
    premiums: float = Field(description="Premium × 12")
    your_share: float = Field(description="Copays + deductible + coinsurance, after the cap")
    copays_part: float = Field(description="Copays, before the cap")
    deductible_part: float = Field(description="Deductible paid, before the cap")
    coinsurance_part: float = Field(description="Coinsurance paid, before the cap")
    out_of_pocket_max_reached: bool = Field(description="True when the cap limited the share")
    arithmetic: list[str] = Field(description="The calculation, step by step, with the numbers")
    assumptions: list[str] = Field(description="What the estimate assumes; say these when citing")


def parse_plans(plans: Sequence[PlanOption | Mapping[str, Any]] | None) -> list[PlanOption]:
    """Validated plans; ArgumentError naming the plan and showing what a plan looks like."""
    if plans is None:
        return []
    if isinstance(plans, str | bytes | Mapping) or not isinstance(plans, Sequence):
        raise ArgumentError(f"plans must be a list of plans like {PLAN_EXAMPLE}")
    if len(plans) > MAX_PLANS:
        raise ArgumentError(f"plans: compare at most {MAX_PLANS} plans at a time")
    out = []
    for i, plan in enumerate(plans):
        try:
            out.append(PlanOption.model_validate(plan))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "plan"
            raise ArgumentError(
                f"plans[{i}].{where}: {err['msg']}; a plan looks like {PLAN_EXAMPLE}"
            ) from None
    names = [p.name.casefold() for p in out]
    if len(set(names)) != len(names):
        raise ArgumentError("plans: each plan needs a different name")
    return out


@dataclass
class Usage:
    """A year of care: (amount, kind of care, weight) per claim, and how it was chosen."""

    items: list[tuple[float, Setting | None, float]] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)


def _as_date(value: str) -> date:
    parts = [*value[:10].split("-"), "01", "01"][:3]
    return date(int(parts[0]), int(parts[1]), int(parts[2]))


def _year_before(day_: date) -> date:
    try:
        return day_.replace(year=day_.year - 1)
    except ValueError:  # 29 February
        return day_.replace(year=day_.year - 1, day=28)


def usage_year(claims: Sequence[Claim]) -> Usage:
    usage = Usage()
    priced = [
        (c, _as_date(c.date), c.allowed if c.allowed is not None else c.billed)
        for c in claims
        if c.date
    ]
    unpriced = len(claims) - sum(1 for _, _, amount in priced if amount is not None)
    dated = [(c, d, a) for c, d, a in priced if a is not None]
    if not dated:
        usage.assumptions.append("No claims with an amount: the estimate is premiums only.")
        return usage
    latest, earliest = max(d for _, d, _ in dated), min(d for _, d, _ in dated)
    start = _year_before(latest)
    if earliest <= start:
        chosen = [(c, a, 1.0) for c, d, a in dated if d > start]
        usage.assumptions.append(
            f"Usage year: your {len(chosen)} claims from {start + timedelta(days=1)} to "
            f"{latest}, the most recent complete 12 months of claims on record."
        )
    else:
        years = sorted({d.year for _, d, _ in dated})
        chosen = [(c, a, 1.0 / len(years)) for c, _, a in dated]
        usage.assumptions.append(
            f"Usage year: your claims cover less than 12 months ({earliest} to {latest}), so "
            f"they are averaged over the {count(len(years), 'calendar year')} they fall in "
            f"({', '.join(map(str, years))})."
        )
    usage.items = [(a, c.setting, w) for c, a, w in chosen]
    _usage_notes(usage, [c for c, _, _ in chosen], unpriced)
    return usage


def _usage_notes(usage: Usage, chosen: list[Claim], unpriced: int) -> None:
    billed = sum(1 for c in chosen if c.allowed is None)
    guessed = sum(1 for c in chosen if c.setting_guessed)
    notes = usage.assumptions
    notes.append(
        "Costs are the amounts allowed on your past claims; a new plan's network and prices "
        "may differ, and your future care may not match your past care."
    )
    if billed:
        notes.append(
            f"For {count(billed, 'claim')} with no allowed amount, the billed amount stands in; "
            "billed amounts are usually higher, so the estimate may lean high."
        )
    if unpriced:
        notes.append(f"Left out {count(unpriced, 'claim')} with no allowed or billed amount.")
    if guessed:
        notes.append(
            f"{guessed} claim(s) did not name the clinician's specialty and count as primary care."
        )
    notes.append(
        "A plan's copay for a kind of care replaces the deductible and coinsurance for that "
        "claim; copays count toward the out-of-pocket maximum. Visits are professional claims "
        "and office, clinic or urgent care claims; other care (hospital outpatient, equipment, "
        "home health, hospice) pays the deductible, then coinsurance."
    )


def _fmt_count(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def estimate(plan: PlanOption, usage: Usage, currency: str | None) -> PlanEstimate:
    """One plan's yearly cost for *usage*, with each step of the arithmetic in words."""

    def m(value: float) -> str:
        return fmt_money(value, currency)

    steps = [f"Premiums: {m(plan.premium)} a month × 12 = {m(plan.premium * 12)}"]
    copays = _copays(plan, usage, m, steps)
    deductible, coinsurance = _deductible_and_coinsurance(plan, usage, m, steps)
    share = copays + deductible + coinsurance
    steps.append(f"Your share: {m(copays)} + {m(deductible)} + {m(coinsurance)} = {m(share)}")
    capped = share if plan.out_of_pocket_max is None else min(share, plan.out_of_pocket_max)
    if capped < share:
        steps.append(f"Out-of-pocket maximum: your share stops at {m(capped)}")
    total = plan.premium * 12 + capped
    steps.append(f"Estimated yearly cost: {m(plan.premium * 12)} + {m(capped)} = {m(total)}")
    assumptions = [*usage.assumptions, "Premium is per month, paid for 12 months."]
    if plan.out_of_pocket_max is None:
        assumptions.append("No out-of-pocket maximum given: your share is not capped.")
    return PlanEstimate(
        name=plan.name,
        estimated_yearly_cost=round(total, 2),
        premiums=round(plan.premium * 12, 2),
        your_share=round(capped, 2),
        copays_part=round(copays, 2),
        deductible_part=round(deductible, 2),
        coinsurance_part=round(coinsurance, 2),
        out_of_pocket_max_reached=capped < share,
        arithmetic=steps,
        assumptions=assumptions,
    )


def _copays(plan: PlanOption, usage: Usage, m: Callable[[float], str], steps: list[str]) -> float:
    """What the plan's copays come to (each at most the claim's cost), a step per kind of care."""
    copays = 0.0
    for setting, words in _SETTING_WORDS.items():
        copay = getattr(plan.copays, setting)
        mine = [(a, w) for a, s, w in usage.items if s == setting]
        if copay is None or not mine:
            continue
        paid = sum(min(copay, max(a, 0.0)) * w for a, w in mine)
        count = sum(w for _, w in mine)
        lower = " (or the claim's cost, when lower)" if any(a < copay for a, _ in mine) else ""
        steps.append(
            f"Copays, {words}: {_fmt_count(count)} claim(s) × {m(copay)}{lower} = {m(paid)}"
        )
        copays += paid
    return copays


def _deductible_and_coinsurance(
    plan: PlanOption, usage: Usage, m: Callable[[float], str], steps: list[str]
) -> tuple[float, float]:
    """Deductible and coinsurance on the care no copay covers, with their steps."""
    shared = 0.0
    for amount, kind, weight in usage.items:
        if kind is None or getattr(plan.copays, kind) is None:
            shared += amount * weight
    deductible = min(max(shared, 0.0), plan.deductible)
    coinsurance = max(shared - plan.deductible, 0.0) * plan.rate
    steps.append(f"Care that goes to the deductible and coinsurance: {m(shared)}")
    steps.append(f"Deductible: you pay the first {m(plan.deductible)} of it = {m(deductible)}")
    if shared > plan.deductible:
        steps.append(
            f"Coinsurance: {plan.rate * 100:g}% of the remaining "
            f"{m(shared - plan.deductible)} = {m(coinsurance)}"
        )
    return deductible, coinsurance


def compare_plans(
    plans: Sequence[PlanOption], claims: Sequence[Claim], currency: str | None
) -> list[PlanEstimate]:
    """Each plan's estimate, cheapest first (ties keep the order given)."""
    usage = usage_year(claims)
    estimates = [estimate(plan, usage, currency) for plan in plans]
    return sorted(estimates, key=lambda e: e.estimated_yearly_cost)
