"""Regression tests for what real vendors' C-CDA documents do (issue 13), each on a copied vendor
document (tests/connectors/data/ccda-vendors, see its SOURCES.md) and on a minimal document
that has the pattern and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.ccda_helpers import LOINC, SNOMED, T, document, medication, section
from healthlocker.connectors import ReadOptions, import_paths
from healthlocker.connectors.ccda._meds import medication_status
from healthlocker.connectors.ccda._reader import read_ccda
from healthlocker.records import get_meds, list_conditions, summarize_trends
from healthlocker.store import Vault

VENDORS = Path(__file__).parent / "data" / "ccda-vendors"


def _resources(path: Path, notes: list[str] | None = None) -> list[dict[str, Any]]:
    return [r for _, r in read_ccda(path, ReadOptions(notes=[] if notes is None else notes))]


def _write(tmp_path: Path, text: str, name: str = "doc.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _vitals(*observations: str, ident: str = 'root="1.2.3" extension="v"') -> str:
    """A vital-signs organizer; every observation and the organizer carry the same id."""
    components = "".join(
        f"""<component><observation classCode="OBS" moodCode="EVN">
  <templateId root="{T}.4.27"/><id {ident}/>{obs}<statusCode code="completed"/>
</observation></component>"""
        for obs in observations
    )
    return f"""<entry><organizer classCode="CLUSTER" moodCode="EVN"><templateId root="{T}.4.26"/>
  <id {ident}/><code code="46680005" codeSystem="{SNOMED}"/><statusCode code="completed"/>
  <effectiveTime value="20240301"/>{components}</organizer></entry>"""


def _vital(loinc: str, value: str, unit: str, when: str = "20240301") -> str:
    return (
        f'<code code="{loinc}" codeSystem="{LOINC}"/><effectiveTime value="{when}"/>'
        f'<value xsi:type="PQ" value="{value}" unit="{unit}"/>'
    )


# --- entries that share an <id> ---------------------------------------------------------------


def test_medications_sharing_one_id_are_three(tmp_path: Path) -> None:
    # Practice Fusion writes every medication of the list with one <id root> and no extension.
    source = VENDORS / "practicefusion-MaryGrant-ClinicalSummary.xml"
    with Vault.ephemeral() as vault:
        first = import_paths(vault, [source], source="portal").files[0].result
        names = sorted(m.name or "" for m in get_meds(vault).medications)
        assert names == ["FLUoxetine 40 mg", "cephalexin 500 mg", "levothyroxine 50 mcg (0.05 mg)"]
        # The same document again (other bytes, so it is read again) changes nothing.
        copy = _write(tmp_path, source.read_text(encoding="utf-8") + "\n<!-- again -->\n")
        again = import_paths(vault, [copy], source="portal").files[0].result
        assert first is not None and again is not None
        assert (again.added, again.updated, again.unchanged) == (0, 0, first.added)


def test_vital_signs_sharing_one_id_are_each_kept() -> None:
    # HL7's samples give every vital sign and every organizer the same <id>: 2 visits × 3 signs.
    source = VENDORS / "hl7-HandP.sample.xml"
    vitals = [
        r
        for r in _resources(source)
        if r["resourceType"] == "Observation"
        and r["category"][0]["coding"][0]["code"] == "vital-signs"
    ]
    found = sorted((r["code"]["coding"][0]["code"], r["effectiveDateTime"]) for r in vitals)
    assert found == [
        ("3141-9", "1999-11-14"),
        ("3141-9", "2000-04-07"),
        ("8302-2", "1999-11-14"),
        ("8302-2", "2000-04-07"),
        ("8480-6", "1999-11-14"),
        ("8480-6", "2000-04-07"),
    ]


def test_the_same_entry_twice_is_one_and_different_ones_under_one_id_are_two(
    tmp_path: Path,
) -> None:
    systolic, diastolic = _vital("8480-6", "120", "mm[Hg]"), _vital("8462-4", "80", "mm[Hg]")
    path = _write(
        tmp_path,
        document(section("4.1", "8716-3", _vitals(systolic, diastolic) + _vitals(systolic))),
    )
    notes: list[str] = []
    observations = [r for r in _resources(path, notes) if r["resourceType"] == "Observation"]
    assert sorted(r["valueQuantity"]["value"] for r in observations) == [80, 120]
    assert len({r["id"] for r in observations}) == 2
    assert any("repeats word for word (kept once)" in n for n in notes)


def test_an_id_only_one_entry_has_names_the_resource_as_before(tmp_path: Path) -> None:
    """A later download whose entry changed (same id) updates it rather than adding one."""
    old = _write(tmp_path, document(section("1.1", "10160-0", medication("m1", "197361", "A"))))
    new = _write(
        tmp_path,
        document(section("1.1", "10160-0", medication("m1", "197361", "A", status="aborted"))),
        "new.xml",
    )
    with Vault.ephemeral() as vault:
        import_paths(vault, [old], source="portal")
        result = import_paths(vault, [new], source="portal").files[0].result
        assert result is not None and result.updated == 1
        [med] = get_meds(vault, status="all").medications
        assert med.status == "stopped"


# --- medication status ----------------------------------------------------------------------


def test_current_medications_written_as_intended_and_completed_are_active() -> None:
    # Allscripts (C-CDA 1.1 style): insulin as moodCode INT, statusCode completed, no end.
    source = VENDORS / "allscripts-170.314_b_2_InPt_Discharge_Summary_CED_Type.xml"
    with Vault.ephemeral() as vault:
        assert import_paths(vault, [source]).ok
        active = {m.name for m in get_meds(vault).medications}
    assert {"Insulin aspart, human 100", "Lantus insulin"} <= active


def _activity(mood: str, status: str, high: str = "", observed: str = "") -> Any:
    from lxml import etree

    status_obs = (
        f"""<entryRelationship typeCode="REFR"><observation classCode="OBS" moodCode="EVN">
  <templateId root="2.16.840.1.113883.10.20.1.47"/><code code="33999-4" codeSystem="{LOINC}"/>
  <value xsi:type="CE" code="{observed}" codeSystem="{SNOMED}"/></observation>
</entryRelationship>"""
        if observed
        else ""
    )
    end = f'<high value="{high}"/>' if high else '<high nullFlavor="UNK"/>'
    xml = f"""<substanceAdministration xmlns="urn:hl7-org:v3"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" moodCode="{mood}">
  <statusCode code="{status}"/>
  <effectiveTime xsi:type="IVL_TS"><low value="20200101"/>{end}</effectiveTime>
  {status_obs}</substanceAdministration>"""
    return etree.fromstring(xml)


@pytest.mark.parametrize(
    ("mood", "status", "high", "observed", "expected"),
    [
        ("INT", "completed", "", "", "active"),  # C-CDA 1.1's current list
        ("EVN", "completed", "", "", "active"),  # "completed" describes the record
        ("EVN", "active", "", "", "active"),
        ("EVN", "completed", "20230601", "", "completed"),  # ended before the document
        ("INT", "completed", "20230601", "55561003", "completed"),  # the end date wins
        ("EVN", "completed", "20250601", "", "active"),  # ends after the document
        ("INT", "completed", "", "73425007", "completed"),  # status observation: inactive
        ("INT", "completed", "", "421139008", "on-hold"),
        ("EVN", "aborted", "", "55561003", "stopped"),  # a stopping statusCode wins
        ("EVN", "nullified", "", "", "entered-in-error"),
        ("EVN", "suspended", "", "", "on-hold"),
        ("EVN", "cancelled", "", "", "not-taken"),
        ("INT", "new", "", "", "intended"),
    ],
)
def test_medication_status(mood: str, status: str, high: str, observed: str, expected: str) -> None:
    assert medication_status(_activity(mood, status, high, observed), "2024-03-15") == expected


def test_given_during_the_visit_is_completed() -> None:
    el = _activity("INT", "completed", "", "55561003")
    assert medication_status(el, "2024-03-15", administered=True) == "completed"


# --- dates ------------------------------------------------------------------------------------


def test_a_null_flavored_interval_keeps_its_low_and_high() -> None:
    # Greenway writes <effectiveTime nullFlavor="UNK"><low value=…/><high value=…/>.
    source = VENDORS / "greenway-26562_ExportSummary_CCDA.xml"
    conditions = {
        (r["code"].get("text") or r["code"]["coding"][0].get("display")): r
        for r in _resources(source)
        if r["resourceType"] == "Condition"
    }
    pharyngitis = conditions["Acute Pharyngitis"]
    assert (pharyngitis["onsetDateTime"], pharyngitis["abatementDateTime"]) == (
        "2011-10-28",
        "2012-10-28",
    )
    assert conditions["Essential Hypertension"]["onsetDateTime"] == "2012-09-25"


# --- units and codes ----------------------------------------------------------------------------


def test_vendor_units_and_codes_feed_the_trends() -> None:
    # Allscripts: heights in [in_us], weights in [lb_av], blood pressure with the unit "1".
    source = VENDORS / "allscripts-170.314_b_7_AMB_Patient6_SummaryOfCareCED_Type.xml"
    with Vault.ephemeral() as vault:
        assert import_paths(vault, [source]).ok
        height = summarize_trends(vault, metric="body_height")
        weight = summarize_trends(vault, metric="body_weight")
        pressure = summarize_trends(vault, metric="blood_pressure")
    assert height.unit == "cm" and [p.value for p in height.points] == [152.4, 157.48, 162.56]
    assert weight.unit == "kg" and [round(p.value or 0, 2) for p in weight.points] == [
        56.7,
        65.77,
        73.48,
    ]
    assert pressure.unit == "mm[Hg]" and len(pressure.points) == 3


@pytest.mark.parametrize(
    ("loinc", "value", "unit", "code", "ucum"),
    [
        ("3137-7", "70", "[in_us]", "8302-2", "[in_i]"),  # body height measured
        ("3141-9", "150", "lbs", "29463-7", "[lb_av]"),
        ("8310-5", "98.6", "DEG", "8310-5", "[degF]"),  # DEG: by the value
        ("8310-5", "37", "DEG", "8310-5", "Cel"),
        ("8331-1", "99.1", "F", "8310-5", "[degF]"),  # oral temperature
        ("8480-6", "120", "1", "8480-6", "mm[Hg]"),
        ("39156-5", "24.2", "1", "39156-5", "kg/m2"),
        ("41909-3", "24.2", "kg/m²", "39156-5", "kg/m2"),
    ],
)
def test_vital_sign_codes_and_units(
    loinc: str, value: str, unit: str, code: str, ucum: str, tmp_path: Path
) -> None:
    path = _write(tmp_path, document(section("4.1", "8716-3", _vitals(_vital(loinc, value, unit)))))
    [obs] = [r for r in _resources(path) if r["resourceType"] == "Observation"]
    assert obs["category"][0]["coding"][0]["code"] == "vital-signs"
    codes = [c["code"] for c in obs["code"]["coding"]]
    assert codes[0] == loinc and code in codes
    assert obs["valueQuantity"]["code"] == ucum == obs["valueQuantity"]["unit"]


def test_a_vital_sign_of_zero_is_a_placeholder(tmp_path: Path) -> None:
    # Practice Fusion writes an unmeasured temperature as 0 [degF].
    notes: list[str] = []
    path = _write(
        tmp_path, document(section("4.1", "8716-3", _vitals(_vital("8310-5", "0", "[degF]"))))
    )
    assert not [r for r in _resources(path, notes) if r["resourceType"] == "Observation"]
    assert any("vital signs recorded as 0" in n for n in notes)


def test_dosage_in_words_without_the_drug_name() -> None:
    # Practice Fusion points each medication's text at its whole table row (name, RxNorm code,
    # strength, dates, SIG); Kareo's row is the name and "[RxNorm: …]".
    pf = VENDORS / "practicefusion-MaryGrant-ClinicalSummary.xml"
    with Vault.ephemeral() as vault:
        assert import_paths(
            vault, [pf, VENDORS / "kareo-Kareo_SummaryOfCare_export_Joey_Miller.xml"]
        ).ok
        meds = {m.name: m for m in get_meds(vault).medications}
    assert meds["cephalexin 500 mg"].dosage == "4 times daily for 10 days"
    assert meds["Lipitor 10 mg oral tablet"].dosage == "1 g orally once a day with meals x1 day"
    assert all("RxNorm" not in (m.dosage or "") for m in meds.values())
    for name, med in meds.items():
        assert name.casefold() not in (med.dosage or "").casefold()


# --- sections with clinical content ------------------------------------------------------------


def test_discharge_medications_are_requests_marked_discharge() -> None:
    source = VENDORS / "hl7-DS.sample.xml"
    [request] = [r for r in _resources(source) if r["resourceType"] == "MedicationRequest"]
    assert request["category"][0]["coding"][0]["code"] == "discharge"
    assert (request["intent"], request["status"]) == ("plan", "active")
    with Vault.ephemeral() as vault:
        assert import_paths(vault, [source]).ok
        [med] = [m for m in get_meds(vault).medications if m.kind == "prescription"]
    assert med.rxnorm == "329498"


def test_admission_and_discharge_diagnoses_are_encounter_diagnoses() -> None:
    source = VENDORS / "allscripts-170.314_b_1_InPt_Discharge_Summary_CED_Type.xml"
    conditions = [r for r in _resources(source) if r["resourceType"] == "Condition"]
    categories = {
        (r["code"]["coding"][0]["display"], r["category"][0]["coding"][0]["code"])
        for r in conditions
    }
    assert ("Community Acquired Pneumonia", "encounter-diagnosis") in categories
    assert ("Asthma", "problem-list-item") in categories


def test_past_medical_history_is_inactive_unless_recorded(tmp_path: Path) -> None:
    history = f"""<entry><observation classCode="OBS" moodCode="EVN"><templateId root="{T}.4.4"/>
  <id root="1.2.3" extension="pmh1"/><code code="55607006" codeSystem="{SNOMED}"/>
  <statusCode code="completed"/><effectiveTime><low value="2001"/></effectiveTime>
  <value xsi:type="CD" code="74400008" codeSystem="{SNOMED}" displayName="Appendicitis"/>
</observation></entry>"""
    path = _write(tmp_path, document(section("20", "11348-0", history)))
    with Vault.ephemeral() as vault:
        assert import_paths(vault, [path]).ok
        assert not list_conditions(vault).conditions
        [condition] = list_conditions(vault, status="all").conditions
    assert (condition.name, condition.clinical_status, condition.onset) == (
        "Appendicitis",
        "inactive",
        "2001",
    )


def test_encounter_diagnoses_are_conditions_the_encounter_lists() -> None:
    # Allscripts names each diagnosis only in the narrative (value nullFlavor + originalText).
    source = VENDORS / (
        "allscripts-Encounter_Based_C-CDA_CCD_-_08-06-2012_Jones_Isabella_-_170314E2_.xml"
    )
    resources = _resources(source)
    [encounter] = [r for r in resources if r["resourceType"] == "Encounter"]
    diagnoses = {
        f"Condition/{r['id']}": r["code"].get("text")
        for r in resources
        if r["resourceType"] == "Condition"
        and r["category"][0]["coding"][0]["code"] == "encounter-diagnosis"
    }
    listed = [diagnoses[d["condition"]["reference"]] for d in encounter["diagnosis"]]
    assert sorted(listed) == [
        "Asthma, moderate persistent",
        "Community acquired pneumonia",
        "Hypoxemia",
    ]


def test_social_history_smoking_status(tmp_path: Path) -> None:
    source = VENDORS / "allscripts-170.314_b_7_AMB_Patient6_SummaryOfCareCED_Type.xml"
    smoking = [
        r
        for r in _resources(source)
        if r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == "72166-2"
    ]
    assert [r["category"][0]["coding"][0]["code"] for r in smoking] == ["social-history"] * 2
    assert sorted(r["issued"] for r in smoking) == [
        "2010-04-15T10:30:00-04:00",
        "2011-03-12T09:30:00-05:00",
    ]


def test_placeholders_that_say_nothing_are_not_records() -> None:
    # Partners: "No medication data is applicable" as a medication, and so on.
    notes: list[str] = []
    resources = _resources(VENDORS / "partners-LMR1TEST.xml", notes)
    kinds = {r["resourceType"] for r in resources}
    assert not kinds & {"MedicationStatement", "Immunization", "Condition", "AllergyIntolerance"}
    assert any("only say there is nothing to record" in n for n in notes)
