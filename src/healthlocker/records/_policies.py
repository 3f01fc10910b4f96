"""Coverage resources as plain entries: payer, plan, status, period, masked member id.

Stored Coverage (Blue Button) becomes one entry each. Coverage contained in claims (Synthea
puts one in every ExplanationOfBenefit) is grouped by payer, plan and type; without dates of
its own, its period is that of the first and last claim naming it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import Field

from healthlocker.records._claims import Claim
from healthlocker.records._common import (
    SourceRef,
    clean,
    concept_name,
    day,
    source_of,
)
from healthlocker.records._scope import Scope
from healthlocker.records._view import View

_COVERAGE_TYPES = {
    "SUBSIDIZ": "Subsidized health program",
    "PUBLICPOL": "Public healthcare",
    "EHCPOL": "Extended healthcare",
    "HIP": "Health insurance plan",
    "MCPOL": "Managed care policy",
    "HMO": "Health maintenance organization (HMO)",
    "PPO": "Preferred provider organization (PPO)",
    "POS": "Point of service (POS)",
    "DENTAL": "Dental",
    "VISPOL": "Vision",
    "DRUGPOL": "Drug",
}


class CoveragePeriod(View):
    start: str | None = Field(default=None, description="First day (YYYY-MM-DD), if known")
    end: str | None = Field(default=None, description="Last day (YYYY-MM-DD), if known or ended")


class CoverageEntry(View):
    """One insurance coverage."""

    payer: str | None = Field(default=None, description="Who pays (insurer or program)")
    plan: str | None = Field(default=None, description="Plan name or group, e.g. 'Medicare Part B'")
    type: str | None = Field(
        default=None, description="Kind of coverage as recorded, e.g. 'private'"
    )
    status: str | None = Field(
        default=None, description="active, cancelled, draft or entered-in-error"
    )
    period: CoveragePeriod = Field(description="When the coverage applies")
    period_basis: Literal["coverage", "claims"] = Field(
        description="'coverage': the coverage's own dates; 'claims': first and last claim that "
        "names it (the record gives no dates)"
    )
    member_id: str | None = Field(
        default=None, description="Member id, last characters only (e.g. '…1234')"
    )
    claims: int = Field(description="How many of the claims shown name this coverage")
    source: SourceRef


def mask_id(value: Any) -> str | None:
    """A member id reduced to its last characters: at most 4 shown, at least 3 hidden."""
    text = re.sub(r"\s", "", str(value or ""))
    if not text:
        return None
    keep = min(4, max(len(text) - 3, 0))
    return "…" + text[len(text) - keep :] if keep else "…"


def _member_id(cov: Mapping[str, Any]) -> str | None:
    if cov.get("subscriberId"):
        return mask_id(cov["subscriberId"])
    for ident in cov.get("identifier") or ():
        if isinstance(ident, dict) and ident.get("value"):
            return mask_id(ident["value"])
    return None


def _plan(cov: Mapping[str, Any]) -> str | None:
    parts: list[str] = []
    for kind in ("group", "plan", "subplan"):
        for cls in cov.get("class") or ():
            codes = {c.get("code") for c in (cls.get("type") or {}).get("coding") or ()}
            label = cls.get("name") or cls.get("value")
            if kind in codes and label and clean(label) not in parts:
                parts.append(clean(label))
    return " ".join(parts) or None


def _payer(cov: Mapping[str, Any], names: Callable[[str], str | None]) -> str | None:
    for payor in cov.get("payor") or ():
        if not isinstance(payor, dict):
            continue
        label = payor.get("display") or (payor.get("identifier") or {}).get("value")
        label = label or names(str(payor.get("reference") or ""))
        if label:
            return clean(label)
    return None


def _cov_type(cov: Mapping[str, Any]) -> str | None:
    name = concept_name(cov.get("type"))
    if name:
        return name
    for coding in (cov.get("type") or {}).get("coding") or ():
        code = str(coding.get("code") or "")
        if code:
            return _COVERAGE_TYPES.get(code, clean(code))
    return None


def _entry(
    cov: Mapping[str, Any], source: SourceRef, names: Callable[[str], str | None]
) -> CoverageEntry:
    period = cov.get("period") or {}
    return CoverageEntry(
        payer=_payer(cov, names),
        plan=_plan(cov),
        type=_cov_type(cov),
        status=clean(cov["status"]) if cov.get("status") else None,
        period=CoveragePeriod(start=day(period.get("start")), end=day(period.get("end"))),
        period_basis="coverage",
        member_id=_member_id(cov),
        claims=0,
        source=source,
    )


def coverage_entries(
    reader: Scope,
    names: Callable[[str], str | None],
    claims: list[Claim],
    contained: dict[str, tuple[dict[str, Any], Claim]],
) -> tuple[list[CoverageEntry], dict[str, str | None]]:
    """Coverage entries, and a label per claim (by source resource) naming its coverage."""
    by_ref = Counter(c.coverage_ref for c in claims)
    entries: list[CoverageEntry] = []
    labels: dict[str, str | None] = {}
    own: dict[str, CoverageEntry] = {}
    for item in reader.resources("Coverage"):
        entry = _entry(item.resource, source_of(item), names)
        entry.claims = by_ref.get(item.ref, 0)
        entries.append(entry)
        own[item.ref] = entry
    entries.sort(key=lambda e: e.period.start or "", reverse=True)
    groups: dict[tuple[Any, ...], list[tuple[CoverageEntry, Claim]]] = {}
    for res, claim in contained.values():
        entry = _entry(res, claim.source, names)
        groups.setdefault((entry.payer, entry.plan, entry.type), []).append((entry, claim))
    for group in sorted(groups.values(), key=lambda g: -len(g)):
        group.sort(key=lambda pair: pair[1].date or "")
        latest = group[-1][0]
        latest.claims = len(group)
        if latest.period.start is None and latest.period.end is None:
            latest.period_basis = "claims"
            latest.period = CoveragePeriod(start=group[0][1].date, end=group[-1][1].date)
        entries.append(latest)
        for entry, claim in group:
            labels[claim.source.resource] = _label(entry)
    for claim in claims:
        if claim.coverage_ref in own:
            labels[claim.source.resource] = _label(own[claim.coverage_ref])
    return entries, labels


def _label(entry: CoverageEntry) -> str | None:
    return entry.plan or entry.type or entry.payer
