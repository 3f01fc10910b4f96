"""What to ask a FHIR API for, type by type, and what came of each question.

The searches for one resource type are chosen from three things:

* the CapabilityStatement: is the type searchable, by which patient parameter, and does it
  declare ``category``;
* the scopes the token was granted (``_scopes``): a type they do not cover is not asked for,
  and a v2 scope limited by a query (``patient/Observation.rs?category=…|laboratory``) is
  asked exactly that query;
* what is known of the API (a preset's :class:`Rules`): types it refuses to search without a
  category (Epic: Observation, CarePlan) are asked once per category.

Otherwise a type is asked with one plain patient search; when the server refuses that with a
400 or 422 and declares ``category``, it is asked once per US Core category instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from healthlocker.connectors.smart._outcomes import TypeOutcome
from healthlocker.connectors.smart._scopes import Grants, Query

# US Core's patient-compartment types, plus what payers (Blue Button) and portals add.
COMPARTMENT_TYPES = (
    "AllergyIntolerance",
    "CarePlan",
    "CareTeam",
    "Claim",
    "Condition",
    "Coverage",
    "Device",
    "DiagnosticReport",
    "DocumentReference",
    "Encounter",
    "ExplanationOfBenefit",
    "Goal",
    "ImagingStudy",
    "Immunization",
    "MedicationAdministration",
    "MedicationDispense",
    "MedicationRequest",
    "MedicationStatement",
    "Observation",
    "Procedure",
    "Provenance",
    "QuestionnaireResponse",
    "RelatedPerson",
    "ServiceRequest",
    "Specimen",
)
_PATIENT_PARAMS = ("patient", "subject", "beneficiary")

# The categories US Core (6.1/7.0) searches by, per type: observation-category and
# us-core-category codes; DiagnosticReport's v2-0074 and LOINC report categories; the US Core
# DocumentReference and Condition categories; the US Core CarePlan category.
US_CORE_CATEGORIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "Observation": (
            "laboratory",
            "vital-signs",
            "social-history",
            "survey",
            "exam",
            "sdoh",
            "imaging",
            "procedure",
            "activity",
        ),
        "DiagnosticReport": ("LAB", "RAD", "LP29684-5", "LP29708-2", "LP7839-6"),
        "DocumentReference": ("clinical-note",),
        "Condition": ("problem-list-item", "encounter-diagnosis", "health-concern"),
        "CarePlan": ("assess-plan",),
    }
)
FALLBACK_STATUSES = frozenset({400, 422})


@dataclass(frozen=True)
class Rules:
    """What is known of one API beyond its CapabilityStatement (see docs/connect.md)."""

    # type -> the categories to ask, for types the API refuses to search without one
    by_category: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    everything: bool = True  # False: never ask ``$everything`` (not offered to patients)


@dataclass(frozen=True)
class Capabilities:
    everything: bool
    search: dict[str, str]  # type -> the search parameter naming the patient
    params: dict[str, frozenset[str]]  # type -> its declared search parameters (empty: unknown)
    listed: frozenset[str]  # every type the statement names

    @classmethod
    def of(cls, statement: dict[str, Any]) -> Capabilities:
        everything = False
        search: dict[str, str] = {}
        params: dict[str, frozenset[str]] = {}
        listed: set[str] = set()
        for rest in statement.get("rest") or []:
            if rest.get("mode", "server") != "server":
                continue
            ops = {str(o.get("name", "")).lstrip("$") for o in rest.get("operation") or []}
            everything = everything or "everything" in ops
            for res in rest.get("resource") or []:
                rtype = str(res.get("type"))
                listed.add(rtype)
                codes = {i.get("code") for i in res.get("interaction") or []}
                if rtype == "Patient":
                    pops = {str(o.get("name", "")).lstrip("$") for o in res.get("operation") or []}
                    everything = everything or "everything" in pops
                if codes and "search-type" not in codes:
                    continue
                names = frozenset(str(p.get("name")) for p in res.get("searchParam") or [])
                params[rtype] = names
                param = next((p for p in _PATIENT_PARAMS if p in names), None)
                if param is None and not names:
                    param = "patient"  # the statement lists no parameters; try the usual one
                if param is not None:
                    search[rtype] = param
        return cls(everything, dict(sorted(search.items())), params, frozenset(listed))

    def not_offered(self, rtype: str) -> str | None:
        """Why the server does not offer a patient search of *rtype*, or None if it does."""
        if rtype in self.search:
            return None
        if rtype not in self.listed:
            return "not in the server's CapabilityStatement"
        if rtype not in self.params:
            return "the server offers no search of it"
        return "the server declares no patient search parameter for it"


def query_text(query: Query) -> str:
    return "&".join(f"{k}={v}" for k, v in query)


@dataclass(frozen=True)
class TypePlan:
    rtype: str
    param: str  # the search parameter naming the patient
    queries: tuple[Query, ...]  # () is the plain patient search
    fallback: tuple[Query, ...] = ()  # asked when the plain search is refused (400/422)
    how: str | None = None  # why these queries, when they are not the plain search


def _per_category(categories: tuple[str, ...]) -> tuple[Query, ...]:
    return tuple((("category", c),) for c in categories)


def plan_type(
    rtype: str, caps: Capabilities, grants: Grants, rules: Rules
) -> TypePlan | TypeOutcome:
    """The searches for one compartment type, or the outcome that says why there are none."""
    why_not = caps.not_offered(rtype)
    if why_not is not None:
        return TypeOutcome(rtype, "not-offered", why=why_not)
    access = grants.access(rtype)
    if not access.search:
        return TypeOutcome(rtype, "not-granted", why="the granted scopes do not cover searching it")
    param = caps.search[rtype]
    declared = caps.params.get(rtype) or frozenset()
    by_category = not declared or "category" in declared
    if access.queries is not None:
        return TypePlan(rtype, param, access.queries, how="only what the granted scopes name")
    if rtype in rules.by_category:
        if not by_category:
            why = "this API needs a category to search it, and the server declares no category"
            return TypeOutcome(rtype, "not-offered", why=why)
        queries = _per_category(rules.by_category[rtype])
        return TypePlan(rtype, param, queries, how="by category, as this API requires")
    fallback = _per_category(US_CORE_CATEGORIES.get(rtype, ())) if by_category else ()
    return TypePlan(rtype, param, ((),), fallback)


def plan(
    caps: Capabilities, grants: Grants, rules: Rules
) -> tuple[list[TypePlan], list[TypeOutcome]]:
    """The searches to run for every compartment type, and the types that get none."""
    plans: list[TypePlan] = []
    skipped: list[TypeOutcome] = []
    for rtype in COMPARTMENT_TYPES:
        chosen = plan_type(rtype, caps, grants, rules)
        if isinstance(chosen, TypePlan):
            plans.append(chosen)
        else:
            skipped.append(chosen)
    return plans, skipped
