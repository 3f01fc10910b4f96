"""Every document of the vendor corpus (tests/connectors/data/ccda-vendors, 61 documents from
Allscripts, Greenway, Kareo, NIST, Partners, Practice Fusion, mTuitive and HL7) imports, each
into a fresh vault, and the vault holds at least the entries the document does.

What a document holds is counted here with XPath over the XML, independently of the importer:
the entries of each kind (by their C-CDA templateId) in the sections that carry that kind of
fact, leaving out what records no fact (negated entries, planned ones, entries with no code and
no text or a text that only says there is nothing, such as "No medication data is applicable"),
and counting entries that are the same XML once.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from healthlocker.connectors import import_paths
from healthlocker.store import Vault

CORPUS = Path(__file__).parent / "data" / "ccda-vendors"
DOCUMENTS = sorted(p for p in CORPUS.iterdir() if p.suffix.lower() == ".xml")
NS = {"v3": "urn:hl7-org:v3"}
_T = "2.16.840.1.113883.10.20.22.4."


def _t(number: str) -> str:
    """XPath predicate: carries the C-CDA entry templateId 2.16.840.1.113883.10.20.22.4.<n>."""
    return f"v3:templateId[@root='{_T}{number}']"


def _in(*codes: str) -> str:
    """XPath: the sections coded with one of *codes* (LOINC)."""
    return "//v3:section[" + " or ".join(f"v3:code/@code='{c}'" for c in codes) + "]"


# A coded or named element: a code, a coded translation, or some text (its own or referred to).
_NAMED = (
    "[@code or v3:translation/@code or normalize-space(v3:originalText)"
    " or v3:originalText/v3:reference]"
)
_MED_SECTIONS = _in("10160-0", "10183-2", "75311-1", "42346-7", "29549-3", "59774-0")
_PROBLEM_SECTIONS = (
    _in(
        "11450-4",  # problems
        "11348-0",  # past medical history
        "46241-6",  # admission diagnosis
        "11535-2",  # discharge diagnosis
        "10219-4",  # preoperative diagnosis
        "10218-6",  # postoperative diagnosis
        "59769-0",  # postprocedure diagnosis
        "55109-3",  # complications
        "59776-5",  # procedure findings
    )
    + " | //v3:section[v3:templateId/@root='2.16.840.1.113883.10.20.22.2.24']"
)  # discharge dx
_MATERIAL = "v3:consumable/v3:manufacturedProduct/v3:manufacturedMaterial"
QUERIES: dict[str, list[str]] = {
    # Medication activities: in an entry, or in a discharge/admission medication act.
    "medications": [
        f"({_MED_SECTIONS})/v3:entry/v3:substanceAdministration[{_t('16')}]",
        f"({_MED_SECTIONS})/v3:entry/v3:act/v3:entryRelationship"
        f"/v3:substanceAdministration[{_t('16')}]",
    ],
    # Problem observations: in a problem, history or diagnosis section, or an encounter's.
    "problems": [
        f"({_PROBLEM_SECTIONS})/v3:entry/v3:observation[{_t('4')}]",
        f"({_PROBLEM_SECTIONS})/v3:entry/v3:act/v3:entryRelationship/v3:observation[{_t('4')}]",
        f"{_in('46240-8')}/v3:entry/v3:encounter/v3:entryRelationship/v3:act[{_t('80')}]"
        f"/v3:entryRelationship/v3:observation[{_t('4')}]",
    ],
    "allergies": [
        f"{_in('48765-2')}/v3:entry/v3:act/v3:entryRelationship/v3:observation[{_t('7')}]"
    ],
    "results": [
        f"{_in('30954-2')}/v3:entry/v3:organizer/v3:component/v3:observation[{_t('2')}]",
        f"{_in('30954-2')}/v3:entry/v3:observation[{_t('2')}]",
    ],
    "vital signs": [f"{_in('8716-3')}/v3:entry/v3:organizer/v3:component/v3:observation"],
    "social history": [
        f"{_in('29762-2')}/v3:entry/v3:observation[{_t('78')} or {_t('38')} or {_t('85')}]"
    ],
    "immunizations": [f"{_in('11369-6')}/v3:entry/v3:substanceAdministration[{_t('52')}]"],
    "encounters": [f"{_in('46240-8')}/v3:entry/v3:encounter"],
    "procedures": [
        f"{_in('47519-4')}/v3:entry/v3:procedure",
        f"{_in('47519-4')}/v3:entry/v3:act",
        f"{_in('47519-4')}/v3:entry/v3:observation",
        f"{_in('59774-0')}/v3:entry/v3:procedure",
    ],
}
# Each kind's own test of "records a fact": what the entry is about is named, and not "none".
_ABOUT = {
    "medications": f"{_MATERIAL}/v3:code{_NAMED} | {_MATERIAL}/v3:name[normalize-space()]",
    "problems": f"v3:value{_NAMED} | v3:value/v3:translation/v3:originalText"
    " | v3:text[normalize-space() or v3:reference]",
    "allergies": f"v3:participant[@typeCode='CSM']/v3:participantRole/v3:playingEntity"
    f"/v3:code{_NAMED}",
    "immunizations": f"{_MATERIAL}/v3:code{_NAMED}",
    "procedures": f"v3:code{_NAMED}",
    **dict.fromkeys(("results", "vital signs", "social history"), f"v3:code{_NAMED}"),
}
_NOTHING = re.compile(r"^(no|none|nothing|not applicable|n/a)([\s.:,]|$)", re.I)
# FHIR resource types each kind becomes.
TYPES = {
    "medications": ("MedicationStatement", "MedicationRequest"),
    "problems": ("Condition",),
    "allergies": ("AllergyIntolerance",),
    "observations": ("Observation",),
    "immunizations": ("Immunization",),
    "encounters": ("Encounter",),
    "procedures": ("Procedure",),
}
_STORED = ("Patient", "DocumentReference", *(t for ts in TYPES.values() for t in ts))
# What an import may say it left out: entries that record no fact or sections with no FHIR
# resource here (their text is kept), never an entry that failed to map.
ALLOWED_NOTES = re.compile(
    r"not imported: \d+ × ("
    r"entries of (the|an?) [\w ,()-]+ section \(its text is kept with the document\)"
    r"|negated entries .*|planned \w+ \(not .*\)|entries that only say there is nothing .*"
    r"|\w+ with no (code|substance code|vaccine code) .*|observations with no code and no text"
    r"|entries the document repeats word for word \(kept once\)"
    r"|unstructured bodies that are a file outside the document \(its name is kept\)"
    r"|vital signs recorded as 0 \(a form's placeholder, not a measurement\)"
    r"|problem concerns with no problem observation"
    r"|entries that are a nullFlavor \(no information\)"
    r")$"
)


def _about(el: Any, kind: str, ids: dict[str, str]) -> bool:
    """Whether the entry names what it is about, other than "nothing" (narrative references
    resolved through *ids*)."""
    if kind not in _ABOUT:
        return True
    found = el.xpath(_ABOUT[kind], namespaces=NS)
    coded = any(f.get("code") or f.xpath("v3:translation/@code", namespaces=NS) for f in found)
    texts = ["".join(f.itertext()) for f in found]
    texts += [
        ids.get(ref[1:], "")
        for f in found
        for ref in f.xpath(".//v3:reference/@value", namespaces=NS)
    ]
    text = " ".join(t.strip() for t in texts if t.strip())
    return coded or bool(text and not _NOTHING.match(text))


def _dated(el: Any) -> bool:
    return bool(el.xpath("v3:effectiveTime/@value | v3:effectiveTime/v3:low/@value", namespaces=NS))


def _content(el: Any) -> bytes:
    """The entry's XML without its pointers into the narrative (``<reference value="#…">``):
    the same entry in two sections points to two places, and is still one fact."""
    copy = etree.fromstring(etree.tostring(el))
    for ref in copy.iter("{urn:hl7-org:v3}reference"):
        ref.attrib.pop("value", None)
    return bytes(etree.tostring(copy, method="c14n"))


def expected(path: Path) -> Counter[str]:
    """Distinct entries of each kind the document holds (independently of the importer)."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, remove_blank_text=True, remove_comments=True
    )
    tree = etree.parse(str(path), parser)
    ids = {el.get("ID"): "".join(el.itertext()) for el in tree.xpath("//*[@ID]")}
    out: Counter[str] = Counter()
    for kind, queries in QUERIES.items():
        found = list({id(el): el for q in queries for el in tree.xpath(q, namespaces=NS)}.values())
        found = [el for el in found if not el.get("nullFlavor")]  # "no information"
        if kind != "immunizations":  # a refused vaccine is kept, as not done
            found = [el for el in found if el.get("negationInd") != "true"]
        if kind != "medications":  # a medication list's "intended" entries are the current ones
            found = [el for el in found if el.get("moodCode", "EVN") == "EVN"]
        found = [el for el in found if _about(el, kind, ids)]
        if kind == "immunizations":
            found = [el for el in found if _dated(el)]
        if kind == "vital signs":  # a 0 is a form's empty field (0 °F, 0 lb), not a reading
            found = [el for el in found if el.xpath("number(v3:value/@value)", namespaces=NS) != 0]
        distinct = {_content(el) for el in found}
        group = "observations" if kind in ("results", "vital signs", "social history") else kind
        out[group] += len(distinct)
    return out


@pytest.fixture(scope="module")
def imported() -> dict[str, tuple[Any, Counter[str], Counter[str]]]:
    """name → (the file's outcome, resources per type, expected entries per kind)."""
    out = {}
    for path in DOCUMENTS:
        with Vault.ephemeral() as vault:
            report = import_paths(vault, [path])
            held = Counter({t: len(vault.resources(t)) for t in _STORED})
            out[path.name] = (report.files[0], held, expected(path))
    return out


def test_the_corpus_is_there() -> None:
    assert len(DOCUMENTS) == 61
    assert (CORPUS / "SOURCES.md").is_file()


@pytest.mark.parametrize("name", [p.name for p in DOCUMENTS])
def test_every_document_imports_whole(name: str, imported: dict[str, Any]) -> None:
    outcome, held, wanted = imported[name]
    assert outcome.error is None, outcome.error
    assert held["Patient"] == 1, "the patient is always kept"
    assert held["DocumentReference"] == 1, "the document itself, with its text"
    for kind, rtypes in TYPES.items():
        have = sum(held[t] for t in rtypes)
        assert have >= wanted[kind], f"{kind}: {have} in the vault, {wanted[kind]} in the document"
    unexpected = [n for n in outcome.notes if not ALLOWED_NOTES.match(n)]
    assert not unexpected, unexpected


def test_the_sweep_counts_something(imported: dict[str, Any]) -> None:
    """The XPath counts are not vacuous: the corpus holds hundreds of entries of each kind."""
    total = sum((wanted for _, _, wanted in imported.values()), Counter())
    assert total["medications"] > 100 and total["problems"] > 150, total
    assert total["observations"] > 600 and total["allergies"] > 80, total
    assert total["immunizations"] > 50 and total["encounters"] > 30, total
    assert total["procedures"] > 40, total
