"""Helpers for the C-CDA tests: a document builder (the bundled Synthea samples have no
medications or allergies) and an independent reference count of entries (stdlib ElementTree)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from helpers import ROOT

CCDA = ROOT / "samples" / "ccda"
SAMPLE_XML = sorted(CCDA.glob("*.xml"))
NS = {"v3": "urn:hl7-org:v3"}
T = "2.16.840.1.113883.10.20.22"
LOINC, SNOMED, RXNORM, CVX = (
    "2.16.840.1.113883.6.1",
    "2.16.840.1.113883.6.96",
    "2.16.840.1.113883.6.88",
    "2.16.840.1.113883.12.292",
)
HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <templateId root="2.16.840.1.113883.10.20.22.1.2"/>
  <id root="2.16.840.1.113883.19.5.99999.1" extension="doc-1"/>
  <code code="34133-9" codeSystem="2.16.840.1.113883.6.1"/>
  <effectiveTime value="20240315120000-0500"/>
  <recordTarget><patientRole>
    <id root="2.16.840.1.113883.19.5.99999.2" extension="pat-42"/>
    <addr use="HP"><streetAddressLine>1 Test Street</streetAddressLine><city>Testville</city>
      <state>MA</state><postalCode>02139</postalCode></addr>
    <telecom use="HP" value="tel:+1-555-0100"/>
    <patient>
      <name use="L"><given>Alex</given><family>Example</family></name>
      <administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>
      <birthTime value="19800214"/>
    </patient>
  </patientRole></recordTarget>
  <component><structuredBody>
"""
FOOTER = "  </structuredBody></component>\n</ClinicalDocument>\n"


def section(template: str, code: str, entries: str = "", text: str = "") -> str:
    return (
        f'<component><section><templateId root="{T}.2.{template}"/>'
        f'<code code="{code}" codeSystem="{LOINC}"/><title>t</title><text>{text}</text>'
        f"{entries}</section></component>\n"
    )


def document(*sections: str, header: str = HEADER) -> str:
    return header + "".join(sections) + FOOTER


def medication(ident: str, rxnorm: str, name: str, *, status: str = "active") -> str:
    return f"""<entry><substanceAdministration classCode="SBADM" moodCode="INT">
  <templateId root="{T}.4.16"/><id root="1.2.3.4.5" extension="{ident}"/>
  <text><reference value="#sig-{ident}"/></text>
  <statusCode code="{status}"/>
  <effectiveTime xsi:type="IVL_TS"><low value="20240101"/></effectiveTime>
  <effectiveTime xsi:type="PIVL_TS" operator="A"><period value="12" unit="h"/></effectiveTime>
  <routeCode code="C38288" codeSystem="2.16.840.1.113883.3.26.1.1" displayName="ORAL"/>
  <doseQuantity value="1"/>
  <consumable><manufacturedProduct><manufacturedMaterial>
    <code code="{rxnorm}" codeSystem="{RXNORM}" displayName="{name}"/>
  </manufacturedMaterial></manufacturedProduct></consumable>
</substanceAdministration></entry>"""


def allergy(ident: str, rxnorm: str, name: str, *, negated: bool = False) -> str:
    negation = ' negationInd="true"' if negated else ""
    return f"""<entry><act classCode="ACT" moodCode="EVN"><templateId root="{T}.4.30"/>
  <id root="1.2.3.4.6" extension="c-{ident}"/><code code="CONC" codeSystem="2.16.840.1.113883.5.6"/>
  <statusCode code="active"/><effectiveTime><low value="20200101"/></effectiveTime>
  <entryRelationship typeCode="SUBJ"><observation classCode="OBS" moodCode="EVN"{negation}>
    <templateId root="{T}.4.7"/><id root="1.2.3.4.7" extension="{ident}"/>
    <code code="ASSERTION" codeSystem="2.16.840.1.113883.5.4"/><statusCode code="completed"/>
    <effectiveTime><low value="20200101"/></effectiveTime>
    <value xsi:type="CD" code="416098002" codeSystem="{SNOMED}" displayName="Drug allergy"/>
    <participant typeCode="CSM"><participantRole classCode="MANU"><playingEntity classCode="MMAT">
      <code code="{rxnorm}" codeSystem="{RXNORM}" displayName="{name}"/>
    </playingEntity></participantRole></participant>
    <entryRelationship typeCode="SUBJ" inversionInd="true"><observation classCode="OBS"
        moodCode="EVN"><templateId root="{T}.4.145"/><code code="82606-5" codeSystem="{LOINC}"/>
      <value xsi:type="CD" code="CRITH" codeSystem="2.16.840.1.113883.5.1063"/></observation>
    </entryRelationship>
    <entryRelationship typeCode="MFST" inversionInd="true"><observation classCode="OBS"
        moodCode="EVN"><templateId root="{T}.4.9"/><id root="1.2.3.4.8" extension="r-{ident}"/>
      <code code="ASSERTION" codeSystem="2.16.840.1.113883.5.4"/>
      <value xsi:type="CD" code="247472004" codeSystem="{SNOMED}" displayName="Hives"/>
      <entryRelationship typeCode="SUBJ" inversionInd="true"><observation classCode="OBS"
          moodCode="EVN"><templateId root="{T}.4.8"/><code code="SEV"
          codeSystem="2.16.840.1.113883.5.4"/>
        <value xsi:type="CD" code="6736007" codeSystem="{SNOMED}" displayName="Moderate"/>
      </observation></entryRelationship>
    </observation></entryRelationship>
  </observation></entryRelationship>
</act></entry>"""


def lab(
    ident: str, loinc: str, name: str, value: str, unit: str, when: str, low: str, high: str
) -> str:
    return f"""<entry><organizer classCode="BATTERY" moodCode="EVN"><templateId root="{T}.4.1"/>
  <id root="1.2.3.4.9" extension="o-{ident}"/>
  <code code="24323-8" codeSystem="{LOINC}" displayName="Comprehensive metabolic panel"/>
  <statusCode code="completed"/><effectiveTime value="{when}"/>
  <component><observation classCode="OBS" moodCode="EVN"><templateId root="{T}.4.2"/>
    <id root="1.2.3.4.10" extension="{ident}"/>
    <code code="{loinc}" codeSystem="{LOINC}" displayName="{name}"/>
    <statusCode code="completed"/><effectiveTime value="{when}"/>
    <value xsi:type="PQ" value="{value}" unit="{unit}"/>
    <interpretationCode code="N" codeSystem="2.16.840.1.113883.5.83"/>
    <referenceRange><observationRange>
      <value xsi:type="IVL_PQ"><low value="{low}" unit="{unit}"/><high value="{high}"
        unit="{unit}"/></value>
    </observationRange></referenceRange>
  </observation></component>
</organizer></entry>"""


def problem(ident: str, snomed: str | None, name: str) -> str:
    code = (
        f'code="{snomed}" codeSystem="{SNOMED}" displayName="{name}"'
        if snomed
        else 'nullFlavor="UNK"'
    )
    return f"""<entry><act classCode="ACT" moodCode="EVN"><templateId root="{T}.4.3"/>
  <id root="1.2.3.4.11" extension="c-{ident}"/><statusCode code="active"/>
  <entryRelationship typeCode="SUBJ"><observation classCode="OBS" moodCode="EVN">
    <templateId root="{T}.4.4"/><id root="1.2.3.4.12" extension="{ident}"/>
    <code code="55607006" codeSystem="{SNOMED}" displayName="Problem"/>
    <statusCode code="completed"/><effectiveTime><low value="20190601"/></effectiveTime>
    <value xsi:type="CD" {code}/>
  </observation></entryRelationship>
</act></entry>"""


def rich_document(*extra_meds: str) -> str:
    """Every section kind with hand-checked values, plus what must be skipped (a problem with a
    null code, a negated allergy, a functional status entry) and an empty social history."""
    sig = '<paragraph ID="sig-m1">one tablet twice a day</paragraph>'
    return document(
        section(
            "1.1",
            "10160-0",
            medication("m1", "197361", "Amlodipine 5 MG Oral Tablet") + "".join(extra_meds),
            sig,
        ),
        section(
            "6.1",
            "48765-2",
            allergy("a1", "7980", "Penicillin G") + allergy("a2", "1191", "Aspirin", negated=True),
        ),
        section(
            "3.1",
            "30954-2",
            lab("l1", "2345-7", "Glucose", "95", "mg/dL", "20240301081500-0500", "70", "99"),
        ),
        section(
            "5.1", "11450-4", problem("p1", "38341003", "Hypertension") + problem("p2", None, "")
        ),
        section("17", "29762-2"),
        section("14", "47420-5", FUNCTIONAL_STATUS, "<paragraph>Walks unaided</paragraph>"),
    )


# A Functional Status Observation: not imported as a record (its text is kept).
FUNCTIONAL_STATUS = f"""<entry><observation classCode="OBS" moodCode="EVN">
  <templateId root="{T}.4.67"/><id root="1.2.3.4.13" extension="f1"/>
  <code code="54522-8" codeSystem="{LOINC}"/><statusCode code="completed"/>
  <effectiveTime value="20240301"/>
  <value xsi:type="CD" code="165245003" codeSystem="{SNOMED}" displayName="Walks unaided"/>
</observation></entry>"""


def reference_counts(path: Path) -> Counter[str]:
    """Resources a document should give, counted from its sections with ElementTree xpath:
    distinct entry ids of each section's clinical statements (independent of the importer)."""
    root = ET.parse(path).getroot()
    found: dict[str, set[str]] = {}
    for sec in root.iterfind(".//v3:section", NS):
        code = sec.find("v3:code", NS)
        kind = _KINDS.get(code.get("code", "") if code is not None else "")
        if kind is None:
            continue
        rtype, path_ = kind
        for el in sec.iterfind(path_, NS):
            if el.get("negationInd") == "true" and rtype != "Immunization":
                continue
            ident = el.find("v3:id", NS)
            assert ident is not None, "every entry of the samples has an id"
            key = f"{ident.get('root')}|{ident.get('extension')}"
            found.setdefault(rtype, set()).add(key)
    counts = Counter({rtype: len(ids) for rtype, ids in found.items()})
    counts["Patient"] = len(root.findall("v3:recordTarget/v3:patientRole", NS))
    # The document itself, with its narrative as text: one DocumentReference when it has any.
    narrative = "".join("".join(t.itertext()) for t in root.iterfind(".//v3:section/v3:text", NS))
    counts["DocumentReference"] = int(bool(narrative.strip()))
    return counts


_KINDS = {
    "11450-4": ("Condition", "v3:entry/v3:act/v3:entryRelationship/v3:observation"),
    "10160-0": ("MedicationStatement", "v3:entry/v3:substanceAdministration"),
    "48765-2": ("AllergyIntolerance", "v3:entry/v3:act/v3:entryRelationship/v3:observation"),
    "30954-2": ("Observation", "v3:entry/v3:organizer/v3:component/v3:observation"),
    "8716-3": ("Observation", "v3:entry/v3:organizer/v3:component/v3:observation"),
    "11369-6": ("Immunization", "v3:entry/v3:substanceAdministration"),
    "46240-8": ("Encounter", "v3:entry/v3:encounter"),
    "47519-4": ("Procedure", "v3:entry/v3:procedure"),
}
