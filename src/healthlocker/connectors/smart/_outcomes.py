"""What came of a sync, type by type and search by search, for `sync --json` and its summary.

A type's outcome is ``fetched``, ``refused`` (by the server: status and its words),
``not-offered`` (by the server's CapabilityStatement) or ``not-granted`` (by the token's scopes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SearchOutcome:
    query: str  # "" for a plain patient search, else e.g. "category=laboratory"
    resources: int = 0
    refused: str | None = None  # the server's refusal: status and its words
    status: int | None = None  # the HTTP status of that refusal
    restarts: int = 0  # times it was asked again from the first page (an expired next link)

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"query": self.query, "resources": self.resources}
        if self.refused:
            out["refused"] = self.refused
        if self.restarts:
            out["restarts"] = self.restarts
        return out


@dataclass
class TypeOutcome:
    """What came of one type: ``fetched``, ``refused`` (by the server), ``not-offered`` (by
    its CapabilityStatement) or ``not-granted`` (by the token's scopes)."""

    rtype: str
    outcome: str
    resources: int = 0  # distinct resources of this type fetched
    why: str | None = None
    searches: list[SearchOutcome] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"outcome": self.outcome, "resources": self.resources}
        if self.why:
            out["why"] = self.why
        if self.searches:
            out["searches"] = [s.public() for s in self.searches]
        return out


def notes(types: dict[str, TypeOutcome]) -> list[str]:
    """One line per thing a sync did not fetch: refused types and searches, then the types
    the scopes do not cover and the types the server does not offer."""
    lines: list[str] = []
    missing: dict[str, list[str]] = {"not-granted": [], "not-offered": []}
    for rtype, outcome in types.items():
        if outcome.outcome in missing:
            missing[outcome.outcome].append(rtype)
        elif outcome.outcome == "refused":
            lines.append(f"{rtype}: refused by the server ({outcome.why})")
        else:
            searches = outcome.searches
            if outcome.why and outcome.why.startswith("asked by category"):
                lines.append(f"{rtype}: {outcome.why}")
                searches = searches[1:]
            refused = [s for s in searches if s.refused]
            if refused:
                lines.append(
                    f"{rtype}: {len(refused)} of {len(searches)} searches refused by the "
                    f"server ({refused[0].query}: {refused[0].refused})"
                )
    if missing["not-granted"]:
        lines.append(f"not in the granted scopes: {', '.join(missing['not-granted'])}")
    if missing["not-offered"]:
        lines.append(f"not offered by the server: {', '.join(missing['not-offered'])}")
    return lines
