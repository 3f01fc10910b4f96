"""Claims: an ExplanationOfBenefit (Synthea, CMS Blue Button 2.0, CARIN BB) as plain amounts.

Each adjudication amount falls into one bucket (billed, allowed, plan paid, deductible, …). A
category's codings decide, in this order: a Blue Button variable in ``_BB_OVERRIDES`` (filed by
the Blue Button server under a generic category that does not fit it), else the generic category
(HL7 ``adjudication`` or CARIN ``C4BBAdjudication``, ``_GENERIC``), else a Blue Button variable
in ``_BB_PLAIN``. A claim's amount for a bucket comes from the first level that has it: the
EOB's own ``total``, then its header ``adjudication``, then the sum of its lines, then Blue
Button ``benefitBalance`` figures; levels are never added together. The whole mapping, and
how billed, plan_paid and patient_paid are chosen from the buckets, is in ``docs/coverage.md``
(keep the two in step).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from healthlocker.records._common import (
    SourceRef,
    clean,
    codes_of,
    concept_name,
    contained,
    day,
    human_name,
    source_of,
)
from healthlocker.store import StoredResource

HL7_ADJUDICATION = "http://terminology.hl7.org/CodeSystem/adjudication"
CARIN_ADJUDICATION = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"
BB_VARIABLES = "https://bluebutton.cms.gov/resources/variables/"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
BB_EOB_TYPE = "https://bluebutton.cms.gov/resources/codesystem/eob-type"

Setting = Literal["primary_care", "specialist", "emergency", "inpatient", "pharmacy"]
PatientBasis = Literal["reported", "deductible+coinsurance+copay"]

_GENERIC: dict[str, str | None] = {
    "submitted": "billed",
    "drugcost": "drug_cost",
    "eligible": "allowed",
    "benefit": "plan_paid",
    "paidtoprovider": "plan_part",
    "paidtopatient": "plan_part",
    "deductible": "deductible",
    "unallocdeduct": "deductible",
    "coinsurance": "coinsurance",
    "copay": "copay",
    "memberliability": "member_liability",
    "paidbypatient": "paid_by_patient",
    "paidbypatientcash": "paid_by_patient",
    "paidbypatientother": "paid_by_patient",
    "noncovered": "noncovered",
    "priorpayerpaid": None,
    "discount": None,
    "tax": None,
    "eligpercent": None,
}
_GENERIC_SYSTEMS = {HL7_ADJUDICATION, CARIN_ADJUDICATION, ""}

_BB_OVERRIDES: dict[str, str | None] = {
    "rev_cntr_pmt_amt_amt": "plan_paid",
    "rev_cntr_rate_amt": None,
    "line_dme_prchs_price_amt": None,
    "line_prmry_alowd_chrg_amt": None,
    "rev_cntr_rdcd_coinsrnc_amt": None,
    "gdc_blw_oopt_amt": None,
    "gdc_abv_oopt_amt": None,
}
_BB_PLAIN: dict[str, str] = {
    **dict.fromkeys(("line_sbmtd_chrg_amt", "clm_tot_chrg_amt", "rev_cntr_tot_chrg_amt"), "billed"),
    "nch_carr_clm_sbmtd_chrg_amt": "billed",
    "tot_rx_cst_amt": "drug_cost",
    "line_alowd_chrg_amt": "allowed",
    "nch_carr_clm_alowd_amt": "allowed",
    **dict.fromkeys(
        ("line_nch_pmt_amt", "clm_pmt_amt", "cvrd_d_plan_pd_amt", "ncvrd_plan_pd_amt"),
        "plan_paid",
    ),
    **dict.fromkeys(
        ("line_prvdr_pmt_amt", "line_bene_pmt_amt", "rev_cntr_prvdr_pmt_amt"), "plan_part"
    ),
    "rev_cntr_bene_pmt_amt": "plan_part",
    **dict.fromkeys(
        (
            "line_bene_ptb_ddctbl_amt",
            "line_bene_ddctbl_amt",
            "rev_cntr_cash_ddctbl_amt",
            "rev_cntr_blood_ddctbl_amt",
            "nch_bene_ip_ddctbl_amt",
            "nch_bene_ptb_ddctbl_amt",
            "nch_bene_blood_ddctbl_lblty_am",
            "carr_clm_cash_ddctbl_apld_amt",
        ),
        "deductible",
    ),
    **dict.fromkeys(
        (
            "line_coinsrnc_amt",
            "rev_cntr_coinsrnc_wge_adjstd_c",
            "nch_bene_pta_coinsrnc_lblty_amt",
            "nch_bene_ptb_coinsrnc_amt",
        ),
        "coinsurance",
    ),
    "ptnt_pay_amt": "paid_by_patient",
    "rev_cntr_ptnt_rspnsblty_pmt": "paid_by_patient",
    "rev_cntr_ncvrd_chrg_amt": "noncovered",
    "nch_ip_ncvrd_chrg_amt": "noncovered",
}

_BB_TYPES = {
    "CARRIER": "Professional (carrier)",
    "DME": "Durable medical equipment",
    "HHA": "Home health",
    "HOSPICE": "Hospice",
    "INPATIENT": "Inpatient",
    "OUTPATIENT": "Outpatient",
    "PDE": "Pharmacy (Part D)",
    "SNF": "Skilled nursing facility",
}
_CLAIM_TYPES = {
    "institutional": "Institutional",
    "professional": "Professional",
    "pharmacy": "Pharmacy",
    "oral": "Dental",
    "vision": "Vision",
}
_SUBTYPES = {"inpatient": "Inpatient", "outpatient": "Outpatient"}

# Place-of-service codes (CMS POS; FHIR ex-serviceplace and Blue Button use the same codes).
_INPATIENT_POS = {"21", "51", "61"}
_EMERGENCY_POS = {"23"}
# Office, urgent care and clinics: visits a primary care or specialist copay covers. Hospital
# outpatient claims (POS 19, 22) are not visits of that kind: they pay deductible and coinsurance.
_OFFICE_POS = {"11", "20", "49", "50", "71", "72"}
# Primary care by NUCC taxonomy or Medicare provider specialty; any other known specialty
# counts as a specialist, and a claim naming none counts as primary care.
_PRIMARY_TAXONOMY = {
    "207Q00000X", "207QA0505X", "207QG0300X", "207R00000X", "207RG0300X", "208D00000X",
    "208000000X", "363L00000X", "363LF0000X", "363LP2300X", "363A00000X", "261QP2300X",
}  # fmt: skip
_PRIMARY_SPECIALTY = {"01", "08", "11", "37", "38", "50", "97"}
_CARE_ROLES = {"primary", "performing", "attending", "rendering"}


@dataclass(frozen=True)
class Claim:
    """One adjudicated claim, amounts as the payer reported them (None: not reported)."""

    source: SourceRef
    date: str | None
    end: str | None
    type: str
    setting: Setting | None
    setting_guessed: bool
    provider: str | None
    coverage_ref: str | None
    patient_ref: str | None
    currency: str | None
    billed: float | None
    allowed: float | None
    plan_paid: float | None
    patient_paid: float | None
    patient_basis: PatientBasis | None
    deductible: float | None
    coinsurance: float | None
    copay: float | None
    noncovered: float | None


def bucket_of(category: Any) -> str | None:
    """The bucket an adjudication category falls in (see docs/coverage.md), or None."""
    codings = [c for c in (category or {}).get("coding") or () if isinstance(c, dict)]
    variables = [_variable(c) for c in codings]
    for var in variables:
        if var in _BB_OVERRIDES:
            return _BB_OVERRIDES[var]
    for c in codings:
        if str(c.get("system") or "") in _GENERIC_SYSTEMS and c.get("code") in _GENERIC:
            return _GENERIC[str(c["code"])]
    for var in variables:
        if var in _BB_PLAIN:
            return _BB_PLAIN[var]
    return None


def _variable(coding: Mapping[str, Any]) -> str | None:
    # Blue Button puts the variable URL in `code` (adjudication) or in `system` (older forms).
    for value in (coding.get("code"), coding.get("system")):
        if isinstance(value, str) and value.startswith(BB_VARIABLES):
            return value[len(BB_VARIABLES) :]
    return None


def _money(value: Any) -> tuple[float, str | None] | None:
    if not isinstance(value, dict):
        return None
    number = value.get("value")
    if isinstance(number, bool) or not isinstance(number, int | float):
        return None
    return float(number), (str(value["currency"]) if value.get("currency") else None)


class _Level:
    """Sums per bucket over a set of adjudication-like entries."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.currencies: list[str] = []

    def add(self, bucket: str | None, money: tuple[float, str | None] | None) -> None:
        if bucket is None or money is None:
            return
        self.sums[bucket] = self.sums.get(bucket, 0.0) + money[0]
        if money[1]:
            self.currencies.append(money[1])


def _levels(eob: Mapping[str, Any]) -> tuple[_Level, _Level, _Level, _Level]:
    """Sums per bucket at each level: the EOB's own totals, its header adjudications, its
    lines, its benefit balances. Levels are never added together: a payer's ``total`` already
    sums what its header and lines say (CARIN files carry all three)."""
    totals, claim, lines, balance = _Level(), _Level(), _Level(), _Level()
    for entry in eob.get("total") or ():
        if isinstance(entry, dict):
            totals.add(bucket_of(entry.get("category")), _money(entry.get("amount")))
    for entry in eob.get("adjudication") or ():
        if isinstance(entry, dict):
            claim.add(bucket_of(entry.get("category")), _money(entry.get("amount")))
    for item in eob.get("item") or ():
        for entry in (item or {}).get("adjudication") or ():
            if isinstance(entry, dict):
                lines.add(bucket_of(entry.get("category")), _money(entry.get("amount")))
    for benefit in eob.get("benefitBalance") or ():
        for fin in (benefit or {}).get("financial") or ():
            if isinstance(fin, dict):
                balance.add(bucket_of(fin.get("type")), _money(fin.get("usedMoney")))
    return totals, claim, lines, balance


def _first(bucket: str, levels: Iterable[_Level]) -> float | None:
    for level in levels:
        if bucket in level.sums:
            return level.sums[bucket]
    return None


def _either(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def _amounts(eob: Mapping[str, Any]) -> dict[str, Any]:
    totals, claim, lines, balance = _levels(eob)
    levels = (totals, claim, lines, balance)
    payment = _money((eob.get("payment") or {}).get("amount"))
    parts = {k: _first(k, levels) for k in ("deductible", "coinsurance", "copay")}
    reported = _either(_first("member_liability", levels), _first("paid_by_patient", levels))
    known_parts = [v for v in parts.values() if v is not None]
    if reported is not None:
        patient, basis = reported, "reported"
    elif known_parts:
        patient, basis = sum(known_parts), "deductible+coinsurance+copay"
    else:
        patient, basis = None, None
    currencies = [c for level in levels for c in level.currencies]
    if payment and payment[1]:
        currencies.insert(0, payment[1])
    return {
        "billed": _either(_first("billed", levels), _first("drug_cost", levels)),
        "allowed": _first("allowed", levels),
        "plan_paid": _either(
            _first("plan_paid", levels[:2]),
            payment[0] if payment else None,
            _first("plan_paid", levels[2:]),
            _first("plan_part", levels),
        ),
        "patient_paid": patient,
        "patient_basis": basis,
        "noncovered": _first("noncovered", levels),
        "currency": currencies[0] if currencies else None,
        **parts,
    }


def claim_type(eob: Mapping[str, Any]) -> str:
    """A plain label for the claim's type: Blue Button's kind, CARIN sub-type, HL7 type."""
    for code in codes_of(eob.get("type"), BB_EOB_TYPE):
        if code in _BB_TYPES:
            return _BB_TYPES[code]
    for code in codes_of(eob.get("subType")):
        if code in _SUBTYPES:
            return _SUBTYPES[code]
    for code in codes_of(eob.get("type"), CLAIM_TYPE):
        if code in _CLAIM_TYPES:
            return _CLAIM_TYPES[code]
    return concept_name(eob.get("type")) or "Other"


def care_setting(eob: Mapping[str, Any]) -> tuple[Setting | None, bool]:
    """Which plan copay would apply to this claim, and whether primary care was a guess."""
    kinds = codes_of(eob.get("type"))
    places: set[str] = set()
    revenue: set[str] = set()
    for item in eob.get("item") or ():
        if isinstance(item, dict):
            places |= codes_of(item.get("locationCodeableConcept"))
            revenue |= codes_of(item.get("revenue"))
    if kinds & {"PDE", "pharmacy"}:
        return "pharmacy", False
    if kinds & {"DME", "HHA", "HOSPICE", "oral", "vision"}:
        return None, False
    if kinds & {"INPATIENT", "SNF"} or "inpatient" in codes_of(eob.get("subType")):
        return "inpatient", False
    if places & _INPATIENT_POS:
        return "inpatient", False
    if places & _EMERGENCY_POS or any(len(r) == 4 and r.startswith("045") for r in revenue):
        return "emergency", False
    if kinds & {"professional", "CARRIER"} or places & _OFFICE_POS:
        return _office_setting(eob)
    return None, False


def _office_setting(eob: Mapping[str, Any]) -> tuple[Setting | None, bool]:
    known: set[str] = set()
    for member in eob.get("careTeam") or ():
        if isinstance(member, dict) and codes_of(member.get("role")) & _CARE_ROLES:
            known |= codes_of(member.get("qualification"))
    if not known:
        return "primary_care", True
    if known & (_PRIMARY_TAXONOMY | _PRIMARY_SPECIALTY):
        return "primary_care", False
    return "specialist", False


def provider_name(eob: Mapping[str, Any], names: Callable[[str], str | None]) -> str | None:
    """The provider's display name, else the contained or stored resource's, else the facility."""
    provider = eob.get("provider") or {}
    if provider.get("display"):
        return clean(provider["display"])
    ref = str(provider.get("reference") or "")
    if ref.startswith("#"):
        found = contained(eob, ref)
        if found and (name := human_name(found)):
            return name
    elif ref and (name := names(ref)):
        return name
    facility = eob.get("facility") or {}
    return clean(facility["display"]) if facility.get("display") else None


def coverage_ref(eob: Mapping[str, Any]) -> str | None:
    """The reference of the claim's focal coverage (``#id`` for a contained one)."""
    insurance = [i for i in eob.get("insurance") or () if isinstance(i, dict)]
    focal = [i for i in insurance if i.get("focal")] or insurance
    for entry in focal:
        ref = str((entry.get("coverage") or {}).get("reference") or "")
        if "://" in ref:  # an absolute URL: keep its Type/id
            ref = "/".join(ref.rstrip("/").split("/")[-2:])
        if ref:
            return ref
    return None


def parse_claim(stored: StoredResource, names: Callable[[str], str | None]) -> Claim:
    eob = stored.resource
    setting, guessed = care_setting(eob)
    period = eob.get("billablePeriod") or {}
    return Claim(
        source=source_of(stored),
        date=day(stored.date),
        end=day(period.get("end")) if isinstance(period, dict) else None,
        type=claim_type(eob),
        setting=setting,
        setting_guessed=guessed,
        provider=provider_name(eob, names),
        coverage_ref=coverage_ref(eob),
        patient_ref=(eob.get("patient") or {}).get("reference"),
        **_amounts(eob),
    )
