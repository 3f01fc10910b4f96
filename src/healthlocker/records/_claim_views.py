"""The claims in the coverage answer: totals (overall, by claim type and by year) and each recent
claim as the payer explained it. An amount no claim reported is null, never 0."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import Field

from healthlocker.people import ref_id
from healthlocker.records._claims import Claim
from healthlocker.records._common import SourceRef
from healthlocker.records._policies import CoveragePeriod
from healthlocker.records._view import View

_AMOUNTS = ("billed", "allowed", "plan_paid", "patient_paid")


class ClaimTotals(View):
    """Sums over claims; an amount no claim reported is null, never 0."""

    billed: float | None = Field(default=None, description="What providers charged")
    allowed: float | None = Field(
        default=None, description="What the plan allowed (its negotiated price)"
    )
    plan_paid: float | None = Field(default=None, description="What the plan paid")
    patient_paid: float | None = Field(
        default=None, description="The person's share (see recent_claims)"
    )
    claims_without: dict[str, int] = Field(
        description="How many claims lacked each amount; the total leaves them out"
    )


class TypeTotals(View):
    type: str = Field(description="Claim type, e.g. 'Inpatient', 'Pharmacy (Part D)'")
    count: int
    totals: ClaimTotals


class YearTotals(View):
    year: int = Field(description="Calendar year of the claim date")
    count: int
    totals: ClaimTotals


class ClaimsSummary(View):
    count: int = Field(description="Claims (explanations of benefits) counted")
    period: CoveragePeriod = Field(description="First and last claim date")
    totals: ClaimTotals
    by_type: list[TypeTotals] = Field(description="Per claim type, most claims first")
    by_year: list[YearTotals] = Field(description="Per calendar year, oldest first")


class RecentClaim(View):
    """One claim as the payer explained it."""

    date: str | None = Field(default=None, description="Claim date: start of the billing period")
    end: str | None = Field(default=None, description="End of the billing period")
    type: str = Field(description="Claim type")
    provider: str | None = Field(
        default=None, description="Provider's name, where the record gives one"
    )
    coverage: str | None = Field(
        default=None, description="The coverage that paid (plan, type or payer)"
    )
    billed: float | None = Field(default=None, description="What the provider charged")
    allowed: float | None = Field(default=None, description="What the plan allowed")
    plan_paid: float | None = Field(default=None, description="What the plan paid")
    patient_paid: float | None = Field(default=None, description="The person's share ('you paid')")
    patient_paid_basis: Literal["reported", "deductible+coinsurance+copay"] | None = Field(
        description="'reported': the payer gave the amount; 'deductible+coinsurance+copay': "
        "the sum of those parts the payer listed"
    )
    deductible: float | None = Field(
        default=None, description="Part of the share that went to the deductible"
    )
    coinsurance: float | None = Field(
        default=None, description="Part of the share that was coinsurance"
    )
    copay: float | None = Field(default=None, description="Part of the share that was a copay")
    noncovered: float | None = Field(default=None, description="Charges the plan did not cover")
    patient: str | None = Field(default=None, description="Id of the Patient the claim is about")
    source: SourceRef


def _totals(claims: Sequence[Claim]) -> ClaimTotals:
    sums: dict[str, float | None] = {}
    missing: dict[str, int] = {}
    for name in _AMOUNTS:
        values = [v for c in claims if (v := getattr(c, name)) is not None]
        sums[name] = round(sum(values), 2) if values else None
        if len(values) < len(claims):
            missing[name] = len(claims) - len(values)
    return ClaimTotals(**sums, claims_without=missing)


def claims_summary(claims: list[Claim]) -> ClaimsSummary:
    by_type: dict[str, list[Claim]] = {}
    by_year: dict[int, list[Claim]] = {}
    for claim in claims:
        by_type.setdefault(claim.type, []).append(claim)
        if claim.date:
            by_year.setdefault(int(claim.date[:4]), []).append(claim)
    dates = [c.date for c in claims if c.date]
    return ClaimsSummary(
        count=len(claims),
        period=CoveragePeriod(start=min(dates, default=None), end=max(dates, default=None)),
        totals=_totals(claims),
        by_type=[
            TypeTotals(type=kind, count=len(group), totals=_totals(group))
            for kind, group in sorted(by_type.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ],
        by_year=[
            YearTotals(year=year, count=len(group), totals=_totals(group))
            for year, group in sorted(by_year.items())
        ],
    )


def recent_claim(claim: Claim, labels: Mapping[str, str | None]) -> RecentClaim:
    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return RecentClaim(
        date=claim.date,
        end=claim.end,
        type=claim.type,
        provider=claim.provider,
        coverage=labels.get(claim.source.resource),
        billed=r(claim.billed),
        allowed=r(claim.allowed),
        plan_paid=r(claim.plan_paid),
        patient_paid=r(claim.patient_paid),
        patient_paid_basis=claim.patient_basis,
        deductible=r(claim.deductible),
        coinsurance=r(claim.coinsurance),
        copay=r(claim.copay),
        noncovered=r(claim.noncovered),
        patient=_patient(claim.patient_ref),
        source=claim.source,
    )


def _patient(reference: str | None) -> str | None:
    """``Patient/<id>`` of a claim's patient reference (relative or absolute)."""
    pid = ref_id(reference, "Patient") if reference else None
    return f"Patient/{pid}" if pid else None
