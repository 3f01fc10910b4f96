"""Insurance coverage and claims: who covers the person, what was billed, paid, and owed.

Coverage comes from stored Coverage resources (Blue Button) and from Coverage resources
contained in claims (Synthea); claims are ExplanationOfBenefit resources, read as in
``_claims`` (the amount mapping is in ``docs/coverage.md``). With ``plans``, each plan's yearly cost
is estimated from the person's own claims, as in ``_plans``.

``since``/``until`` select claims by date. The scope's period hides claims dated before it;
coverage still in force belongs to any period.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, Literal

from pydantic import Field

from healthlocker.errors import ArgumentError
from healthlocker.records._claims import Claim, parse_claim
from healthlocker.records._common import (
    SourceRef,
    check_count,
    check_span,
    clean,
    contained,
    fmt_money,
)
from healthlocker.records._plans import PlanEstimate, PlanOption, compare_plans, parse_plans
from healthlocker.records._policies import CoverageEntry, CoveragePeriod, coverage_entries
from healthlocker.records._scope import Resolver, Scope, scoped
from healthlocker.records._view import Answer, View
from healthlocker.store import StoredResource

MAX_RECENT = 100
QUESTION_CAP = 500
_AMOUNTS = ("billed", "allowed", "plan_paid", "patient_paid")
_SKIPPED_STATUS = {"entered-in-error", "cancelled"}


class ClaimTotals(View):
    """Sums over claims; an amount no claim reported is null, never 0."""

    billed: float | None = Field(description="What providers charged")
    allowed: float | None = Field(description="What the plan allowed (its negotiated price)")
    plan_paid: float | None = Field(description="What the plan paid")
    patient_paid: float | None = Field(description="The person's share (see recent_claims)")
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

    date: str | None = Field(description="Claim date: start of the billing period")
    end: str | None = Field(description="End of the billing period")
    type: str = Field(description="Claim type")
    provider: str | None = Field(description="Provider's name, where the record gives one")
    coverage: str | None = Field(description="The coverage that paid (plan, type or payer)")
    billed: float | None = Field(description="What the provider charged")
    allowed: float | None = Field(description="What the plan allowed")
    plan_paid: float | None = Field(description="What the plan paid")
    patient_paid: float | None = Field(description="The person's share ('you paid')")
    patient_paid_basis: Literal["reported", "deductible+coinsurance+copay"] | None = Field(
        description="'reported': the payer gave the amount; 'deductible+coinsurance+copay': "
        "the sum of those parts the payer listed"
    )
    deductible: float | None = Field(description="Part of the share that went to the deductible")
    coinsurance: float | None = Field(description="Part of the share that was coinsurance")
    copay: float | None = Field(description="Part of the share that was a copay")
    noncovered: float | None = Field(description="Charges the plan did not cover")
    patient: str | None = Field(description="Id of the Patient the claim is about")
    source: SourceRef


class CoverageView(Answer):
    """Insurance coverage, claims and (when plans are given) a plan comparison."""

    question: str | None = Field(description="The question asked, echoed (cleaned, capped)")
    coverage: list[CoverageEntry]
    claims: ClaimsSummary
    recent_claims: list[RecentClaim] = Field(description="Newest first")
    currency: str | None = Field(description="Currency of every amount (ISO 4217, e.g. USD)")
    plan_comparison: list[PlanEstimate] = Field(
        description="Estimated yearly cost per plan offered, cheapest first"
    )
    cheapest: str | None = Field(description="Name of the cheapest plan, if plans were given")
    notes: list[str] = Field(description="Caveats about these numbers; pass them on")

    def describe(self) -> str:
        def m(value: float | None) -> str:
            return "unknown" if value is None else fmt_money(value, self.currency)

        lines = []
        for cov in self.coverage[:4]:
            what = cov.plan or cov.type or "coverage"
            extra = ", ".join(x for x in (cov.payer, cov.status, cov.member_id) if x)
            lines.append(f"Coverage: {what}" + (f" ({extra})" if extra else ""))
        if len(self.coverage) > 4:
            lines.append(f"… and {len(self.coverage) - 4} more coverages")
        c, t = self.claims, self.claims.totals
        if c.count:
            lines.append(
                f"Claims: {c.count} from {c.period.start} to {c.period.end}; billed "
                f"{m(t.billed)}, plan paid {m(t.plan_paid)}, you paid {m(t.patient_paid)}"
            )
        else:
            lines.append("Claims: none in the records shown")
        if self.plan_comparison:
            best = self.plan_comparison[0]
            lines.append(
                f"Cheapest plan: {best.name}, about {m(best.estimated_yearly_cost)} a year "
                f"(of {len(self.plan_comparison)} compared)"
            )
        return "\n".join(lines)


@scoped
def explain_coverage(
    reader: Scope,
    *,
    question: str | None = None,
    plans: Sequence[PlanOption | Mapping[str, Any]] | None = None,
    since: str | date | None = None,
    until: str | date | None = None,
    recent: int = 10,
) -> CoverageView:
    """Coverage, claim totals, recent claims, and an estimate per plan when plans are given."""
    since, until = check_span(since, until)
    check_count(recent, "recent", 0, MAX_RECENT)
    if question is not None and not isinstance(question, str):
        raise ArgumentError("question must be text, e.g. 'What did I pay for my hospital stay?'")
    options = parse_plans(plans)
    stored = reader.resources(
        "ExplanationOfBenefit",
        since=since,
        until=until,
        where=lambda s: s.resource.get("status") not in _SKIPPED_STATUS,
    )
    notes: list[str] = []
    names = Resolver(reader).party
    claims, inline = _read_claims(stored, names, notes)
    currency = _currency(claims, notes)
    claims = [c for c in claims if c.currency in (None, currency)]
    inline = {k: v for k, v in inline.items() if v[1].currency in (None, currency)}
    coverage, labels = coverage_entries(reader, names, claims, inline)
    _claim_notes(claims, stored, reader.lookup("Claim", since=since, until=until), notes)
    estimates = compare_plans(options, claims, currency) if options else []
    ordered = sorted(claims, key=lambda c: (c.date or "", c.source.resource), reverse=True)
    return CoverageView(
        question=(clean(question, cap=QUESTION_CAP) or None) if question else None,
        coverage=coverage,
        claims=_summary(claims),
        recent_claims=[_recent(c, labels) for c in ordered[:recent]],
        currency=currency,
        plan_comparison=estimates,
        cheapest=estimates[0].name if estimates else None,
        notes=notes,
    )


def _read_claims(
    stored: list[StoredResource], names: Callable[[str], str | None], notes: list[str]
) -> tuple[list[Claim], dict[str, tuple[dict[str, Any], Claim]]]:
    """Claims, and per claim with a contained Coverage: that Coverage."""
    claims, inline = [], {}
    skipped = 0
    for item in stored:
        if item.resource.get("status") in _SKIPPED_STATUS:
            skipped += 1
            continue
        claim = parse_claim(item, names)
        claims.append(claim)
        if (claim.coverage_ref or "").startswith("#") and (
            res := contained(item.resource, claim.coverage_ref)
        ):
            inline[item.ref] = (res, claim)
    if skipped:
        notes.append(f"{skipped} cancelled or entered-in-error claim(s) are left out.")
    return claims, inline


def _currency(claims: list[Claim], notes: list[str]) -> str | None:
    counts = Counter(c.currency for c in claims if c.currency)
    if not counts:
        return None
    currency = counts.most_common(1)[0][0]
    others = sum(n for cur, n in counts.items() if cur != currency)
    if others:
        notes.append(f"{others} claim(s) in other currencies than {currency} are left out.")
    return currency


def _totals(claims: Sequence[Claim]) -> ClaimTotals:
    sums: dict[str, float | None] = {}
    missing: dict[str, int] = {}
    for name in _AMOUNTS:
        values = [v for c in claims if (v := getattr(c, name)) is not None]
        sums[name] = round(sum(values), 2) if values else None
        if len(values) < len(claims):
            missing[name] = len(claims) - len(values)
    return ClaimTotals(**sums, claims_without=missing)


def _summary(claims: list[Claim]) -> ClaimsSummary:
    by_type: dict[str, list[Claim]] = {}
    by_year: dict[int, list[Claim]] = {}
    for claim in claims:
        by_type.setdefault(claim.type, []).append(claim)
        if claim.date:
            by_year.setdefault(int(claim.date[:4]), []).append(claim)
    dates = [c.date for c in claims if c.date]
    ends = [end for c in claims if (end := c.end or c.date)]
    return ClaimsSummary(
        count=len(claims),
        period=CoveragePeriod(start=min(dates, default=None), end=max(ends, default=None)),
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


def _recent(claim: Claim, labels: Mapping[str, str | None]) -> RecentClaim:
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
        patient=claim.patient_ref.removeprefix("Patient/") if claim.patient_ref else None,
        source=claim.source,
    )


def _claim_notes(
    claims: list[Claim],
    stored: list[StoredResource],
    sent: list[StoredResource],
    notes: list[str],
) -> None:
    notes.append(
        "Amounts are as the payer reported them on explanations of benefits; they are not a bill."
    )
    unknown = sum(1 for c in claims if c.patient_paid is None)
    parts = sum(1 for c in claims if c.patient_basis == "deductible+coinsurance+copay")
    if unknown:
        notes.append(
            f"{unknown} of {len(claims)} claims do not say what the person paid; the "
            "patient_paid totals leave them out."
        )
    if parts:
        notes.append(
            f"For {parts} claims the person's share is the deductible, coinsurance and copay the "
            "payer listed; the payer did not report an amount paid."
        )
    patients = {c.patient_ref for c in claims if c.patient_ref}
    if len(patients) > 1:
        notes.append(
            f"These claims name {len(patients)} different patients and the totals add them up; "
            "give a patient id to see one person's."
        )
    explained = {str((s.resource.get("claim") or {}).get("reference") or "") for s in stored}
    pending = [c for c in sent if c.ref not in explained]
    if pending:
        notes.append(
            f"{len(pending)} submitted claim(s) have no explanation of benefits, so what was "
            "paid is unknown; they are not counted."
        )
