"""C-CDA entries → FHIR R4 resources: what every mapper shares, and conditions and allergies.

Each mapper takes the clinical statement of one ``<entry>`` (an act, observation, organizer,
substanceAdministration, encounter or procedure) and yields resources; what it cannot map it
counts in ``Context.skipped`` (reason → how many), never silently. docs/ccda.md has the table.
Mappers are lenient about templateIds (many documents get them wrong) and strict about meaning:
no code and no text means no resource, and a negated statement ("no known allergies") or one
that only says there is nothing to record ("No medication data is applicable") is not recorded
as its opposite.

Resource ids come from the entry's ``<id>`` when no other statement of the document carries
the same one, else from the resource's content (see :meth:`Context.identify`): vendors reuse one
id for several medications, or for every vital sign, and those are different facts.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from healthlocker.connectors.ccda._narrative import Narrative
from healthlocker.connectors.ccda._types import (
    child,
    children,
    concept,
    effective,
    entry_key,
    identifier,
    local,
    null,
    period,
    stable_id,
    when,
)
from healthlocker.connectors.ccda._values import (
    Resource,
    allergy_category,
    allergy_type,
    code_of,
    condition_status,
    criticality,
    severity,
)

CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
PLANNED = frozenset({"INT", "RQO", "PRMS", "PRP", "ARQ", "APT", "GOL"})
_TEMPLATE_PROBLEM_STATUS = "2.16.840.1.113883.10.20.22.4.6"
_TEMPLATE_ALLERGY_STATUS = "2.16.840.1.113883.10.20.22.4.28"
_TEMPLATE_SEVERITY = "2.16.840.1.113883.10.20.22.4.8"
_TEMPLATE_CRITICALITY = "2.16.840.1.113883.10.20.22.4.145"
_SUBORDINATE = frozenset(
    {
        _TEMPLATE_PROBLEM_STATUS,
        _TEMPLATE_ALLERGY_STATUS,
        _TEMPLATE_SEVERITY,
        _TEMPLATE_CRITICALITY,
        "2.16.840.1.113883.10.20.22.4.64",  # comment
    }
)
# An uncoded entry whose text only says there is nothing: "No medication data is applicable".
_NOTHING = re.compile(r"^(no|none|nothing|not applicable|n/a)([\s.:,]|$)", re.I)
Key = tuple[str, str]  # an <id>'s (root, extension)
_NO_PROBLEM = "problems with no code and no text"


@dataclass
class Context:
    """What every mapper needs: the patient, the narrative, the document's date, the ids more
    than one statement carries, and the tally of what was left out."""

    patient: str  # "Patient/<id>"
    narrative: Narrative
    skipped: dict[str, int] = field(default_factory=dict)
    shared: frozenset[Key] = frozenset()
    document_time: str | None = None  # the document's effectiveTime, as a FHIR dateTime
    issued: set[str] = field(default_factory=set)  # ids given from an <id> alone

    def skip(self, what: str, n: int = 1) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + n

    def identify(self, r: Resource, el: Any) -> Resource:
        """Give *r* (mapped from *el*) its id: from the entry's ``<id root extension>`` when
        that is the document's only statement with it (so a later download's changed entry
        updates it), else from *r*'s content as well (so entries sharing an id stay apart, and
        the same entry twice is one); deterministic either way, so importing the same document
        again changes nothing."""
        key = entry_key(el)
        if key is not None and key not in self.shared:
            r["id"] = stable_id(r["resourceType"], *key)
            if r["id"] not in self.issued:  # else the first pass missed a sharing: content too
                self.issued.add(r["id"])
                return r
        body = {k: v for k, v in r.items() if k != "id"}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        r["id"] = stable_id(
            r["resourceType"], *(key or ()), hashlib.sha256(text.encode()).hexdigest()
        )
        return r


def base(rtype: str, el: Any) -> Resource:
    """A resource of *rtype* with *el*'s ids as identifiers; its id comes last (identify)."""
    out: Resource = {"resourceType": rtype, "id": ""}
    idents = [i for i in (identifier(x) for x in children(el, "id")) if i]
    if idents:
        out["identifier"] = idents
    return out


def negated(el: Any, ctx: Context) -> bool:
    if (el.get("negationInd") or "").lower() == "true":
        ctx.skip("negated entries (such as 'no known problems'), which record an absence")
        return True
    return False


def named(found: Resource | None, ctx: Context, missing: str) -> Resource | None:
    """*found* (what an entry is about: a problem, a drug …), or None, counted, when it is
    missing (*missing* says what) or, uncoded, only says there is nothing to record."""
    if found is None:
        ctx.skip(missing)
        return None
    if not found.get("coding") and _NOTHING.match(found.get("text", "")):
        ctx.skip("entries that only say there is nothing to record (such as 'No medication data')")
        return None
    return found


def timed(r: Resource, prefix: str, el: Any) -> None:
    """Set ``<prefix>DateTime`` or ``<prefix>Period`` of *r* from *el*'s effectiveTime."""
    point, span = effective(child(el, "effectiveTime"))
    if span:
        r[f"{prefix}Period"] = span
    elif point:
        r[f"{prefix}DateTime"] = point


def related(el: Any, type_code: str | None = None) -> Iterator[Any]:
    """Clinical statements inside ``entryRelationship`` (of one typeCode, or all)."""
    for rel in children(el, "entryRelationship"):
        if type_code is not None and rel.get("typeCode") != type_code:
            continue
        for statement in rel:
            if isinstance(statement.tag, str) and local(statement) in STATEMENTS:
                yield statement


def _subjects(el: Any) -> list[Any]:
    """The statements a concern or diagnosis act is about (its SUBJ observations, leaving out
    a severity or status some documents hang on the act itself); a bare observation itself."""
    if local(el) != "act":
        return [el]
    return [
        s
        for s in related(el, "SUBJ")
        if not {t.get("root") for t in children(s, "templateId")} & _SUBORDINATE
    ]


def templated(el: Any, template: str) -> Iterator[Any]:
    for statement in related(el):
        if any(t.get("root") == template for t in children(statement, "templateId")):
            yield statement


def reasons(el: Any, ctx: Context) -> list[dict[str, Any]]:
    found = [concept(child(s, "value"), ctx.narrative) for s in related(el, "RSON")]
    return [c for c in found if c]


def onset(obs: Any, act: Any) -> tuple[str | None, str | None]:
    """(onset, abatement): the observation's effectiveTime, else the concern act's."""
    for el in (obs, act):
        time = child(el, "effectiveTime")
        span = period(time)
        if span:
            return span.get("start"), span.get("end")
        point = when(time)
        if point:
            return point, None
    return None, None


# --- conditions ------------------------------------------------------------------------------


def conditions(
    el: Any, ctx: Context, *, category: str = "problem-list-item", status: str | None = "active"
) -> Iterator[Resource]:
    """A problem concern act or diagnosis act (its problem observations), or a bare problem
    observation. *category* is the Condition's; *status* the clinical status when the entry
    records none (no status observation, no end): "active" on a problem list, "inactive" in a
    past medical history, None (not recorded) for an encounter's diagnoses."""
    statements = _subjects(el)
    if not statements:
        ctx.skip("problem concerns with no problem observation")
    for obs in statements:
        if local(obs) != "observation" or negated(obs, ctx):
            continue
        # The value is the problem; the observation's own code only says what kind of problem
        # list item it is (condition, diagnosis, symptom …).
        # Vendors that have no code for a problem name it in the observation's text.
        code = named(
            concept(child(obs, "value"), ctx.narrative) or _text(child(obs, "text"), ctx),
            ctx,
            _NO_PROBLEM,
        )
        if code is not None:
            yield ctx.identify(_condition(obs, el, code, ctx, category, status), obs)


def _condition(
    obs: Any, act: Any, code: Resource, ctx: Context, category: str, status: str | None
) -> Resource:
    r = base("Condition", obs)
    start, abated = onset(obs, act)
    status_obs = next(templated(obs, _TEMPLATE_PROBLEM_STATUS), None)
    recorded = child(status_obs, "value")
    clinical: str | None = condition_status(recorded, abated, act)
    if status != "active" and null(recorded) and not abated:  # nothing recorded: the default
        clinical = status
    if clinical:
        r["clinicalStatus"] = code_of(
            "http://terminology.hl7.org/CodeSystem/condition-clinical", clinical
        )
    r["category"] = [code_of(CONDITION_CATEGORY, category)]
    r["code"] = code
    r["subject"] = {"reference": ctx.patient}
    if start:
        r["onsetDateTime"] = start
    if abated and clinical in ("resolved", "inactive"):
        r["abatementDateTime"] = abated
    written = when(child(child(obs, "author"), "time"))
    if written:
        r["recordedDate"] = written
    return r


def _text(el: Any, ctx: Context) -> Resource | None:
    found = ctx.narrative.resolve(el)
    return {"text": found} if found else None


# --- allergies -------------------------------------------------------------------------------


def allergies(el: Any, ctx: Context) -> Iterator[Resource]:
    """An allergy concern act (its allergy observations) or a bare allergy observation."""
    statements = _subjects(el)
    for obs in statements:
        if local(obs) != "observation" or negated(obs, ctx):
            continue
        role = child(_consumable_participant(obs), "participantRole")
        substance = concept(child(child(role, "playingEntity"), "code"), ctx.narrative)
        said = concept(child(obs, "value"), ctx.narrative)
        if substance is None and said and _NOTHING.match(said.get("text", "")):
            substance = {"text": said["text"]}  # "No allergy data is applicable"
        substance = named(substance, ctx, "allergies with no substance code and no text")
        if substance is not None:
            yield ctx.identify(_allergy(obs, el, substance, ctx), obs)


def _allergy(obs: Any, act: Any, substance: Resource, ctx: Context) -> Resource:
    r = base("AllergyIntolerance", obs)
    status_obs = next(templated(obs, _TEMPLATE_ALLERGY_STATUS), None)
    start, ended = onset(obs, act)
    clinical = condition_status(child(status_obs, "value"), ended, act)
    r["clinicalStatus"] = code_of(
        "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
        "active" if clinical in ("recurrence", "relapse") else clinical,
    )
    r["verificationStatus"] = code_of(
        "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "confirmed"
    )
    kind = child(obs, "value")
    kind_code = "" if null(kind) else kind.get("code") or ""
    if allergy_type(kind_code):
        r["type"] = allergy_type(kind_code)
    if allergy_category(kind_code):
        r["category"] = [allergy_category(kind_code)]
    crit = criticality(child(next(templated(obs, _TEMPLATE_CRITICALITY), None), "value"))
    if crit:
        r["criticality"] = crit
    r["code"] = substance
    r["patient"] = {"reference": ctx.patient}
    if start:
        r["onsetDateTime"] = start
    found = [x for x in (_reaction(m, ctx) for m in related(obs, "MFST")) if x]
    if found:
        r["reaction"] = found
    return r


def _consumable_participant(obs: Any) -> Any:
    return next((p for p in children(obs, "participant") if p.get("typeCode") == "CSM"), None)


def _reaction(obs: Any, ctx: Context) -> Resource | None:
    manifestation = concept(child(obs, "value"), ctx.narrative)
    if manifestation is None:
        return None
    out: Resource = {"manifestation": [manifestation]}
    level = severity(child(next(templated(obs, _TEMPLATE_SEVERITY), None), "value"))
    if level:
        out["severity"] = level
    return out


STATEMENTS = frozenset(
    {
        "act",
        "observation",
        "organizer",
        "substanceAdministration",
        "supply",
        "encounter",
        "procedure",
    }
)
Mapper = Callable[[Any, Context], Iterator[Resource]]
