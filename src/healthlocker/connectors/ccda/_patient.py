"""The C-CDA header's ``recordTarget/patientRole`` → a FHIR R4 Patient."""

from __future__ import annotations

from typing import Any

from healthlocker.connectors.ccda._narrative import Narrative
from healthlocker.connectors.ccda._types import (
    child,
    children,
    concept,
    content_key,
    entry_key,
    identifier,
    null,
    plain,
    stable_id,
    ts,
)

_GENDER = {"M": "male", "F": "female", "UN": "other", "UNK": "unknown"}
_NAME_USE = {"L": "official", "P": "nickname", "C": "official", "A": "anonymous", "PN": "usual"}
_ADDR_USE = {"H": "home", "HP": "home", "HV": "home", "WP": "work", "TMP": "temp", "OLD": "old"}
_TEL_USE = {"H": "home", "HP": "home", "WP": "work", "MC": "mobile", "TMP": "temp"}
_PARTS = 200  # characters kept of any one name or address part


def patient_id(role: Any) -> str:
    """From the patient's first ``<id>``; else from the whole patientRole (a document that
    names its patient with no id still gets the same Patient every time)."""
    key = entry_key(role)
    return stable_id("Patient", *key) if key else stable_id("Patient", content_key(role))


def patient(role: Any, narrative: Narrative) -> dict[str, Any]:
    person = child(role, "patient")
    out: dict[str, Any] = {"resourceType": "Patient", "id": patient_id(role)}
    idents = [i for i in (identifier(x) for x in children(role, "id")) if i]
    if idents:
        out["identifier"] = idents
    names = [n for n in (_name(x) for x in children(person, "name")) if n]
    if names:
        out["name"] = names
    telecoms = [t for t in (_telecom(x) for x in children(role, "telecom")) if t]
    if telecoms:
        out["telecom"] = telecoms
    gender = child(person, "administrativeGenderCode")
    if not null(gender) and gender.get("code") in _GENDER:
        out["gender"] = _GENDER[gender.get("code")]
    birth = child(person, "birthTime")
    born = None if null(birth) else ts(birth.get("value"))
    if born:
        out["birthDate"] = born[:10]
    addresses = [a for a in (_address(x) for x in children(role, "addr")) if a]
    if addresses:
        out["address"] = addresses
    marital = concept(child(person, "maritalStatusCode"), narrative)
    if marital:
        out["maritalStatus"] = marital
    languages = [
        c
        for comm in children(person, "languageCommunication")
        if (c := _language(child(comm, "languageCode")))
    ]
    if languages:
        out["communication"] = [{"language": c} for c in languages]
    return out


def _name(el: Any) -> dict[str, Any] | None:
    if null(el):
        return None
    out: dict[str, Any] = {}
    use = _NAME_USE.get((el.get("use") or "").split(" ")[0])
    if use:
        out["use"] = use
    family = [p for p in (plain(x.text, _PARTS) for x in children(el, "family")) if p]
    if family:
        out["family"] = " ".join(family)
    for part in ("given", "prefix", "suffix"):
        values = [p for p in (plain(x.text, _PARTS) for x in children(el, part)) if p]
        if values:
            out[part] = values
    if len(out) == int("use" in out):  # an unstructured name: its text
        text = plain("".join(el.itertext()), _PARTS)
        return {"text": text} if text else None
    return out


def _address(el: Any) -> dict[str, Any] | None:
    if null(el):
        return None
    out: dict[str, Any] = {}
    use = _ADDR_USE.get((el.get("use") or "").split(" ")[0])
    if use:
        out["use"] = use
    lines = [p for p in (plain(x.text, _PARTS) for x in children(el, "streetAddressLine")) if p]
    if lines:
        out["line"] = lines
    for cda, fhir in (("city", "city"), ("state", "state"), ("postalCode", "postalCode")):
        value = plain(getattr(child(el, cda), "text", None), _PARTS)
        if value:
            out[fhir] = value
    country = plain(getattr(child(el, "country"), "text", None), _PARTS)
    if country:
        out["country"] = country
    return out if len(out) > int("use" in out) else None


def _telecom(el: Any) -> dict[str, str] | None:
    value = (el.get("value") or "").strip() if not null(el) else ""
    scheme, _, rest = value.partition(":")
    system = {"tel": "phone", "mailto": "email", "fax": "fax", "http": "url", "https": "url"}.get(
        scheme.lower()
    )
    rest = plain(rest if system != "url" else value, _PARTS) or ""
    if system is None or not rest:
        return None
    out = {"system": system, "value": rest}
    use = _TEL_USE.get((el.get("use") or "").split(" ")[0])
    if use:
        out["use"] = use
    return out


def _language(el: Any) -> dict[str, Any] | None:
    code = "" if null(el) else (el.get("code") or "").strip()
    if not code or " " in code or len(code) > 20:
        return None
    return {"coding": [{"system": "urn:ietf:bcp:47", "code": code}]}
