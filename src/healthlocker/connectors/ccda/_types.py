"""CDA R2 data types → FHIR R4 data types: codes, times, quantities, identifiers.

Everything here reads one lxml element (in the ``urn:hl7-org:v3`` namespace) and returns plain
JSON-ready values, or None when the element says nothing usable (absent, ``nullFlavor``, or
malformed). Narrative references (``<reference value="#id"/>``) are resolved through a
``_narrative.Narrative``, the ``ID``-bearing text of the section the entry belongs to.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from typing import TYPE_CHECKING, Any

from lxml import etree

from healthlocker.connectors._read import XML_HARDENED

if TYPE_CHECKING:
    from healthlocker.connectors.ccda._narrative import Narrative

V3 = "{urn:hl7-org:v3}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
UCUM = "http://unitsofmeasure.org"
MAX_TEXT = 2000  # characters kept from one narrative cell or originalText

# codeSystem OID → FHIR system URI (terminology.hl7.org's list); others stay as urn:oid:…
SYSTEMS = {
    "2.16.840.1.113883.6.1": "http://loinc.org",
    "2.16.840.1.113883.6.96": "http://snomed.info/sct",
    "2.16.840.1.113883.6.88": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "2.16.840.1.113883.12.292": "http://hl7.org/fhir/sid/cvx",
    "2.16.840.1.113883.12.227": "http://hl7.org/fhir/sid/mvx",
    "2.16.840.1.113883.6.90": "http://hl7.org/fhir/sid/icd-10-cm",
    "2.16.840.1.113883.6.3": "http://hl7.org/fhir/sid/icd-10",
    "2.16.840.1.113883.6.103": "http://hl7.org/fhir/sid/icd-9-cm",
    "2.16.840.1.113883.6.104": "http://hl7.org/fhir/sid/icd-9-cm",
    "2.16.840.1.113883.6.4": "http://www.cms.gov/Medicare/Coding/ICD10",
    "2.16.840.1.113883.6.12": "http://www.ama-assn.org/go/cpt",
    "2.16.840.1.113883.6.285": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "2.16.840.1.113883.6.69": "http://hl7.org/fhir/sid/ndc",
    "2.16.840.1.113883.4.9": "http://fdasis.nlm.nih.gov",
    "2.16.840.1.113883.6.8": UCUM,
    "2.16.840.1.113883.6.101": "http://nucc.org/provider-taxonomy",
    "2.16.840.1.113883.5.1": "http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender",
    "2.16.840.1.113883.5.2": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
    "2.16.840.1.113883.5.4": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
    "2.16.840.1.113883.5.83": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
    "2.16.840.1.113883.5.112": "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration",
    "2.16.840.1.113883.5.111": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
    "2.16.840.1.113883.5.1063": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "2.16.840.1.113883.5.1008": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor",
}
_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]{0,19})){1,40}$")
_UUID = re.compile(r"^[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$")
_CODE = re.compile(r"^\S+( \S+)*$")  # FHIR's code: no leading, trailing or double spaces
# TS: YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+|-ZZzz]
_TS = re.compile(
    r"^(\d{4})(\d{2})?(\d{2})?(?:(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,9}))?)?([+-]\d{4})?$"
)
_WHITESPACE = re.compile(r"\s+")


def pull_parser(**options: Any) -> etree.XMLPullParser:
    """An lxml pull parser hardened like every XML reader here (``XML_HARDENED``); comments
    and processing instructions dropped."""
    return etree.XMLPullParser(
        **XML_HARDENED,
        remove_comments=True,
        remove_pis=True,
        **options,
    )


def tag(name: str) -> str:
    return V3 + name


def child(el: Any, name: str) -> Any:
    """The first child *name* of *el* (or None; None in, None out)."""
    # iterchildren filters in C; find() would parse a path on every call
    return None if el is None else next(el.iterchildren(V3 + name), None)


def children(el: Any, name: str) -> list[Any]:
    return [] if el is None else list(el.iterchildren(V3 + name))


def null(el: Any) -> bool:
    return el is None or el.get("nullFlavor") is not None


def local(el: Any) -> str:
    """The element's name without its namespace (for messages and dispatch)."""
    return str(etree.QName(el).localname) if isinstance(el.tag, str) else ""


def xsi_type(el: Any) -> str:
    """``xsi:type`` without a prefix (``PQ``, ``CD``, ``IVL_TS`` …), or ""."""
    return str(el.get(XSI_TYPE) or "").rpartition(":")[2]


def plain(text: str | None, cap: int = MAX_TEXT) -> str | None:
    """Whitespace folded, capped; None for nothing."""
    if not text:
        return None
    folded = _WHITESPACE.sub(" ", text).strip()
    return folded[:cap] or None


def system_of(oid: str | None) -> str | None:
    if not oid:
        return None
    oid = oid.strip()
    if oid in SYSTEMS:
        return SYSTEMS[oid]
    if _OID.match(oid):
        return f"urn:oid:{oid}"
    if _UUID.match(oid):
        return f"urn:uuid:{oid.lower()}"
    return None


def coding(el: Any) -> dict[str, Any] | None:
    """A CD/CE/CV (or its translation) as a Coding; None for a null or malformed code."""
    code = (el.get("code") or "").strip()
    if null(el) or not code or not _CODE.match(code) or len(code) > 200:
        return None
    out: dict[str, Any] = {}
    system = system_of(el.get("codeSystem"))
    if system:
        out["system"] = system
    out["code"] = code
    display = plain(el.get("displayName"), 500)
    if display:
        out["display"] = display
    return out


def concept(el: Any, narrative: Narrative) -> dict[str, Any] | None:
    """A coded element as a CodeableConcept: its code, then its translations; its
    ``originalText`` (resolved) as text when no coding has a display (producers point many
    codes at one narrative cell, such as a panel's name, so it is a fallback, not a label).
    None when it has neither a code nor a text."""
    if el is None:
        return None
    translations = children(el, "translation")
    codings = [c for c in (coding(x) for x in [el, *translations]) if c]
    text = None
    if not any("display" in c for c in codings):  # a translation's text when it has none
        text = next(
            (t for x in [el, *translations] if (t := narrative.resolve(child(x, "originalText")))),
            None,
        )
    if not codings and not text:
        return None
    out: dict[str, Any] = {}
    if codings:
        out["coding"] = list({(c.get("system"), c["code"]): c for c in codings}.values())
    if text:
        out["text"] = text
    return out


def when(el: Any) -> str | None:
    """A TS ``value`` as a FHIR dateTime (see :func:`ts`)."""
    return None if null(el) else ts(el.get("value"))


def ts(value: str | None) -> str | None:
    """CDA TS → FHIR dateTime, precision kept. FHIR needs a UTC offset with a time of day, so a
    time recorded without one is kept to its day (which day it was is not in doubt)."""
    m = _TS.match((value or "").strip())
    if m is None:
        return None
    year, month, day_, hour, minute, second, fraction, zone = m.groups()
    if (month and not 1 <= int(month) <= 12) or (
        month and day_ and not 1 <= int(day_) <= calendar.monthrange(int(year), int(month))[1]
    ):
        return None  # no such day (20100431 is written by real documents)
    out = year + (f"-{month}" if month else "") + (f"-{day_}" if month and day_ else "")
    if not (day_ and hour and zone) or int(hour) > 23 or int(minute or 0) > 59:
        return out
    if int(second or 0) > 59 or not 0 <= int(zone[1:3]) <= 14 or int(zone[3:]) > 59:
        return out
    out += f"T{hour}:{minute or '00'}:{second or '00'}" + (f".{fraction}" if fraction else "")
    return out + f"{zone[:3]}:{zone[3:]}"


def period(el: Any) -> dict[str, str] | None:
    """IVL_TS ``low``/``high`` as a Period (either end may be missing). A ``nullFlavor`` on the
    interval itself does not hide the ends it gives (``<effectiveTime nullFlavor="UNK"><low
    value="2019"/></effectiveTime>``: the start is known)."""
    if el is None:
        return None
    out = {}
    start, end = when(child(el, "low")), when(child(el, "high"))
    if start:
        out["start"] = start
    if end:
        out["end"] = end
    return out or None


def effective(el: Any) -> tuple[str | None, dict[str, str] | None]:
    """An effectiveTime as (dateTime, None) for a point or (None, Period) for an interval."""
    if el is None:
        return None, None
    if el.get("value") is not None:
        return when(el), None
    span = period(el)
    if span and span.get("start") and span.get("start") == span.get("end"):
        return span["start"], None
    center = when(child(el, "center"))
    return (center, None) if center and not span else (None, span)


def number(text: str | None) -> int | float | None:
    """A decimal as JSON wants it; None for anything that is not a finite number."""
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return int(value) if value.is_integer() and "." not in (text or "") else value


def quantity(el: Any) -> dict[str, Any] | None:
    """A PQ as a Quantity in UCUM (CDA's units are UCUM); None without a number."""
    if null(el):
        return None
    value = number(el.get("value"))
    if value is None:
        return None
    out: dict[str, Any] = {"value": value}
    unit = (el.get("unit") or "").strip()
    if unit and unit != "1" and _CODE.match(unit):
        out.update(unit=unit, system=UCUM, code=unit)
    return out


def identifier(el: Any) -> dict[str, str] | None:
    """An II as an Identifier (root and extension, the way C-CDA on FHIR writes them)."""
    if null(el):
        return None
    root, ext = (el.get("root") or "").strip(), (el.get("extension") or "").strip()
    system = system_of(root)
    if ext and system:
        return {"system": system, "value": ext[:200]}
    if system:
        return {"system": "urn:ietf:rfc:3986", "value": system}
    return None


def stable_id(kind: str, *parts: str) -> str:
    """A resource id from what identifies the entry: the same entry gets the same id in every
    document (so a re-import changes nothing), different kinds of resource never share one."""
    digest = hashlib.sha256("\x1f".join((kind, *parts)).encode()).hexdigest()
    return f"cda-{digest[:40]}"


def entry_key(el: Any) -> tuple[str, str] | None:
    """(root, extension) of an element's first non-null ``<id>``, or None."""
    for ident in children(el, "id"):
        root = (ident.get("root") or "").strip()
        if root and not null(ident):
            return root, (ident.get("extension") or "").strip()
    return None


def content_key(el: Any) -> str:
    """A digest of an element's canonical form: the identity of an entry that has no id."""
    return hashlib.sha256(etree.tostring(el, method="c14n")).hexdigest()
