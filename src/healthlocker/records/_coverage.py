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
from typing import Any

from pydantic import Field

from healthlocker.errors import ArgumentError
from healthlocker.records._claim_views import (
    ClaimsSummary,
    ClaimTotals,
    RecentClaim,
    claims_summary,
    recent_claim,
)
from healthlocker.records._claims import Claim, parse_claim
from healthlocker.records._common import (
    check_count,
    check_span,
    clean,
    contained,
    fmt_money,
)
from healthlocker.records._plans import PlanEstimate, PlanOption, compare_plans, parse_plans
from healthlocker.records._policies import CoverageEntry, CoveragePeriod, coverage_entries
from healthlocker.records._scope import Resolver, Scope, scoped
from healthlocker.records._text import Cites, count
from healthlocker.records._view import Answer
from healthlocker.store import StoredResource

MAX_RECENT = 100
QUESTION_CAP = 500
_SKIPPED_STATUS = {"entered-in-error", "cancelled"}
_PARTS = "deductible+coinsurance+copay"


class CoverageView(Answer):
    """Insurance coverage, claims and (when plans are given) a plan comparison."""

    question: str | None = Field(
        default=None, description="The question asked, echoed (cleaned, capped)"
    )
    coverage: list[CoverageEntry]
    claims: ClaimsSummary
    recent_claims: list[RecentClaim] = Field(description="Newest first")
    currency: str | None = Field(
        default=None, description="Currency of every amount (ISO 4217, e.g. USD)"
    )
    plan_comparison: list[PlanEstimate] = Field(
        description="Estimated yearly cost per plan offered, cheapest first"
    )
    cheapest: str | None = Field(
        default=None, description="Name of the cheapest plan, if plans were given"
    )
    notes: list[str] = Field(description="Caveats about these numbers; pass them on")

    def describe(self) -> str:
        cite = Cites(
            [*(c.source for c in self.coverage), *(c.source for c in self.recent_claims)],
            [c.patient for c in self.recent_claims],
        )
        lines = [_head(self), *(f"- {_coverage_line(c, cite)}" for c in self.coverage)]
        lines += _claims_lines(self.claims, self.currency)
        if self.recent_claims:
            lines.append(f"Most recent {count(len(self.recent_claims), 'claim')}, newest first:")
            lines += [
                f"- {_claim_line(c, self.currency, cite)}{cite.whose(c.patient)}"
                for c in self.recent_claims
            ]
        lines += _plan_lines(self.plan_comparison, self.currency)
        lines += [f"Note: {n}" for n in self.notes]
        lines.append(cite.legend())
        return "\n".join(line for line in lines if line)


def _money(value: float | None, currency: str | None) -> str:
    return "not reported" if value is None else fmt_money(value, currency)


def _head(view: CoverageView) -> str:
    n = len(view.coverage)
    what = f"Insurance: {count(n, 'coverage record')}" if n else "Insurance: no coverage recorded"
    claims = view.claims
    if claims.count:
        span = f"{claims.period.start} to {claims.period.end}"
        return f"{what}; {count(claims.count, 'claim')} from {span}."
    return f"{what}; no claims in the records shown."


def _coverage_line(c: CoverageEntry, cite: Cites) -> str:
    what = c.plan or c.type or "coverage"
    facts = [
        f"payer {c.payer}" if c.payer else "",
        c.type if c.plan and c.type else "",
        c.status or "",
        _period(c.period, c.period_basis),
        f"member id {c.member_id}" if c.member_id else "",
        f"{count(c.claims, 'claim')} shown" if c.claims else "",
    ]
    return f"{what}: " + "; ".join(f for f in facts if f) + f" {cite(c.source)}"


def _period(period: CoveragePeriod, basis: str) -> str:
    if not (period.start or period.end):
        return ""
    span = f"{period.start or '?'} to {period.end or 'now'}"
    return span + (" (first and last claim naming it)" if basis == "claims" else "")


def _totals_words(t: ClaimTotals, currency: str | None) -> str:
    parts = [
        f"billed {_money(t.billed, currency)}",
        f"plan allowed {_money(t.allowed, currency)}" if t.allowed is not None else "",
        f"plan paid {_money(t.plan_paid, currency)}",
        f"you paid {_money(t.patient_paid, currency)}",
    ]
    missing = ", ".join(f"{n} without {k.replace('_', ' ')}" for k, n in t.claims_without.items())
    return ", ".join(p for p in parts if p) + (f" ({missing})" if missing else "")


def _claims_lines(claims: ClaimsSummary, currency: str | None) -> list[str]:
    if not claims.count:
        return []
    lines = [f"All claims: {_totals_words(claims.totals, currency)}."]
    lines.append("By year:")
    lines += [
        f"- {y.year}: {count(y.count, 'claim')}; {_totals_words(y.totals, currency)}"
        for y in claims.by_year
    ]
    lines.append("By kind of claim:")
    lines += [
        f"- {t.type}: {count(t.count, 'claim')}; {_totals_words(t.totals, currency)}"
        for t in claims.by_type
    ]
    return lines


def _claim_line(c: RecentClaim, currency: str | None, cite: Cites) -> str:
    when = c.date or "undated"
    if c.end and c.end != c.date:
        when += f" to {c.end}"
    who = f" at {c.provider}" if c.provider else ""
    paid = [
        f"billed {_money(c.billed, currency)}",
        f"allowed {_money(c.allowed, currency)}" if c.allowed is not None else "",
        f"plan paid {_money(c.plan_paid, currency)}",
        f"you paid {_money(c.patient_paid, currency)}"
        + (" (deductible + coinsurance + copay)" if c.patient_paid_basis == _PARTS else ""),
    ]
    parts = [
        f"{name} {_money(v, currency)}"
        for name, v in (
            ("deductible", c.deductible),
            ("coinsurance", c.coinsurance),
            ("copay", c.copay),
            ("not covered", c.noncovered),
        )
        if v
    ]
    covered = f"; covered by {c.coverage}" if c.coverage else ""
    money = ", ".join(p for p in paid if p) + (f" ({', '.join(parts)})" if parts else "")
    return f"{when} {c.type}{who}: {money}{covered} {cite(c.source)}"


def _plan_lines(plans: list[PlanEstimate], currency: str | None) -> list[str]:
    if not plans:
        return []
    lines = [f"Plans compared ({len(plans)}), cheapest first, estimated from your own claims:"]
    for p in plans:
        lines.append(f"- {p.name}: about {_money(p.estimated_yearly_cost, currency)} a year")
        lines += [f"  - {step}" for step in p.arithmetic]
        lines += [f"  - assumes: {a}" for a in p.assumptions]
    return lines


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
        claims=claims_summary(claims),
        recent_claims=[recent_claim(c, labels) for c in ordered[:recent]],
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
        notes.append(f"Left out {count(skipped, 'cancelled or entered-in-error claim')}.")
    return claims, inline


def _currency(claims: list[Claim], notes: list[str]) -> str | None:
    counts = Counter(c.currency for c in claims if c.currency)
    if not counts:
        return None
    currency = counts.most_common(1)[0][0]
    others = sum(n for cur, n in counts.items() if cur != currency)
    if others:
        notes.append(f"Left out {count(others, 'claim')} in other currencies than {currency}.")
    return currency


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
            f"Not counted: {count(len(pending), 'submitted claim')} with no explanation of "
            "benefits, so what was paid is unknown."
        )
