"""explain_coverage: coverage, claim totals from both EOB shapes, masking, plan arithmetic."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthlocker.errors import ArgumentError
from healthlocker.records import PlanOption, Scope, explain_coverage
from healthlocker.records._common import fmt_money
from healthlocker.records._policies import mask_id
from healthlocker.store import StoredResource, Vault, clinical_date
from helpers import SAMPLES, cites_each, load_json, scoped_call

BB = "https://bluebutton.cms.gov/resources/variables/"
BB_PATIENT = "567834"
BB_TYPES = {
    "CARRIER": "Professional (carrier)",
    "DME": "Durable medical equipment",
    "HHA": "Home health",
    "HOSPICE": "Hospice",
    "INPATIENT": "Inpatient",
    "OUTPATIENT": "Outpatient",
    "PDE": "Pharmacy (Part D)",
    "SNF": "Skilled nursing facility",
}


# --- an independent walker over the fixture files ---------------------------------------------


def _resources(folder: str) -> list[dict[str, Any]]:
    out = []
    for path in sorted((SAMPLES / folder).glob("*.json")):
        doc = load_json(path)
        if doc.get("resourceType") == "Bundle":
            out += [e["resource"] for e in doc.get("entry", [])]
        else:
            out.append(doc)
    return out


def _eobs(folder: str) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in _resources(folder) if r["resourceType"] == "ExplanationOfBenefit"}


def _codes(category: dict[str, Any]) -> set[str]:
    return {str(c.get("code", "")).removeprefix(BB) for c in category.get("coding", [])}


def _item_sum(eob: dict[str, Any], wanted: set[str]) -> float | None:
    values = [
        adj["amount"]["value"]
        for item in eob.get("item", [])
        for adj in item.get("adjudication", [])
        if "amount" in adj and _codes(adj["category"]) & wanted
    ]
    return sum(values) if values else None


def _synthea_expected(eob: dict[str, Any]) -> dict[str, Any]:
    submitted = [t["amount"]["value"] for t in eob["total"] if "submitted" in _codes(t["category"])]
    return {
        "type": "Institutional",
        "year": int(eob["billablePeriod"]["start"][:4]),
        "billed": sum(submitted),
        "plan_paid": eob["payment"]["amount"]["value"],
        "patient_paid": _item_sum(eob, {"line_coinsrnc_amt", "line_bene_ptb_ddctbl_amt"}),
    }


def _bluebutton_expected(eob: dict[str, Any]) -> dict[str, Any]:
    kind = next(c["code"] for c in eob["type"]["coding"] if c["code"] in BB_TYPES)
    totals = {c: t["amount"]["value"] for t in eob.get("total", []) for c in _codes(t["category"])}
    billed = totals.get("submitted")
    if billed is None:
        billed = _item_sum(eob, {"line_sbmtd_chrg_amt"}) or totals.get("drugcost")
    plan = eob["payment"].get("amount", {}).get("value")
    if plan is None:
        plan = _item_sum(eob, {"cvrd_d_plan_pd_amt", "line_nch_pmt_amt"})
    patient = _item_sum(eob, {"ptnt_pay_amt", "rev_cntr_ptnt_rspnsblty_pmt"})
    if patient is None:
        patient = _item_sum(eob, {"line_bene_ptb_ddctbl_amt", "line_coinsrnc_amt"})
    if patient is None:
        balance = {
            _codes(f["type"]).pop(): f["usedMoney"]["value"]
            for b in eob.get("benefitBalance", [])
            for f in b["financial"]
            if "usedMoney" in f
        }
        parts = ("nch_bene_ip_ddctbl_amt", "nch_bene_blood_ddctbl_lblty_am")
        parts += ("nch_bene_pta_coinsrnc_lblty_amt",)
        found = [balance[p] for p in parts if p in balance]
        patient = sum(found) if found else None
    return {
        "type": BB_TYPES[kind],
        "year": int(eob["billablePeriod"]["start"][:4]),
        "billed": billed,
        "plan_paid": plan,
        "patient_paid": patient,
    }


def _expected() -> dict[str, dict[str, Any]]:
    out = {f"ExplanationOfBenefit/{i}": _synthea_expected(e) for i, e in _eobs("synthea").items()}
    for i, eob in _eobs("bluebutton").items():
        out[f"ExplanationOfBenefit/{i}"] = _bluebutton_expected(eob)
    return out


def _sum(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r[key] is not None]
    return pytest.approx(sum(values), abs=0.011) if values else None


# --- against the bundled samples --------------------------------------------------------------


def test_claim_totals_match_the_fixture_files(loaded_vault: Vault) -> None:
    expected = _expected()
    view = explain_coverage(loaded_vault)
    rows = list(expected.values())
    assert view.claims.count == len(expected) == 137
    assert view.currency == "USD"
    for key in ("billed", "plan_paid", "patient_paid"):
        assert getattr(view.claims.totals, key) == _sum(rows, key), key
    missing = sum(1 for r in rows if r["patient_paid"] is None)
    assert view.claims.totals.claims_without["patient_paid"] == missing > 0
    assert "billed" not in view.claims.totals.claims_without


def test_totals_by_type_and_by_year(loaded_vault: Vault) -> None:
    expected = list(_expected().values())
    view = explain_coverage(loaded_vault)
    for group_key, groups in (("type", view.claims.by_type), ("year", view.claims.by_year)):
        wanted: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for row in expected:
            wanted[row[group_key]].append(row)
        got = {getattr(g, group_key): g for g in groups}
        assert set(got) == set(wanted)
        for name, rows in wanted.items():
            assert got[name].count == len(rows)
            for key in ("billed", "plan_paid", "patient_paid"):
                assert getattr(got[name].totals, key) == _sum(rows, key), (name, key)
    assert [g.year for g in view.claims.by_year] == sorted(g.year for g in view.claims.by_year)


def test_unknown_amounts_are_null_not_zero(loaded_vault: Vault) -> None:
    view = explain_coverage(Scope(loaded_vault, patient=BB_PATIENT), recent=100)
    home_health = next(t for t in view.claims.by_type if t.type == "Home health")
    assert home_health.totals.patient_paid is None
    assert home_health.totals.claims_without == {"allowed": 1, "patient_paid": 1}
    hha = next(c for c in view.recent_claims if c.source.resource.endswith("hha-2925555555"))
    assert hha.patient_paid is None
    assert hha.patient_paid_basis is None
    assert any("do not say what the person paid" in n for n in view.notes)


def test_blue_button_claims_follow_the_mapping(loaded_vault: Vault) -> None:
    ids = {f"ExplanationOfBenefit/{i}" for i in _eobs("bluebutton")}
    expected = {i: e for i, e in _expected().items() if i in ids}
    view = explain_coverage(Scope(loaded_vault, patient=BB_PATIENT), recent=100)
    got = {c.source.resource: c for c in view.recent_claims}
    assert set(got) == set(expected)
    assert {c.source.origin for c in got.values()} == {"bluebutton"}
    for ref, want in expected.items():
        claim = got[ref]
        assert claim.type == want["type"]
        for key in ("billed", "plan_paid", "patient_paid"):
            value = getattr(claim, key)
            assert value == (None if want[key] is None else pytest.approx(want[key], abs=0.01))
    pde = got["ExplanationOfBenefit/pde-89"]
    assert pde.patient_paid_basis == "reported"
    assert pde.coinsurance is None  # gross drug cost filed as coinsurance is not counted
    dme = got["ExplanationOfBenefit/dme-2188888888"]
    assert dme.allowed == pytest.approx(129.45)  # the primary payer's allowed amount is not added
    assert dme.provider == "DR. DAVID SMITH MD"
    assert got["ExplanationOfBenefit/outpatient-1234567890"].provider == "Fake ORG Name"


def test_duplicated_blue_button_eobs_are_counted_once(loaded_vault: Vault) -> None:
    files = ("eobByPatientIdAll.json", "eobByPatientIdPaged.json")
    ids = [
        [e["resource"]["id"] for e in load_json(SAMPLES / "bluebutton" / f)["entry"]] for f in files
    ]
    assert sorted(ids[0]) == sorted(ids[1])  # the same claims in both search results
    copies = [r for r in _resources("bluebutton") if r["resourceType"] == "ExplanationOfBenefit"]
    unique = {r["id"]: r for r in copies}
    assert len(copies) > len(unique)
    view = explain_coverage(Scope(loaded_vault, patient=BB_PATIENT))
    assert view.claims.count == len(unique) == 8
    billed = sum(_bluebutton_expected(e)["billed"] for e in unique.values())
    assert view.claims.totals.billed == pytest.approx(billed, abs=0.011)
    assert sum(t.count for t in view.claims.by_type) == 8


def test_coverage_from_stored_and_contained_resources(loaded_vault: Vault) -> None:
    view = explain_coverage(loaded_vault)
    stored = [c for c in view.coverage if c.source.resource.startswith("Coverage/")]
    fixture = [r for r in _resources("bluebutton") if r["resourceType"] == "Coverage"]
    assert {c.source.resource for c in stored} == {f"Coverage/{r['id']}" for r in fixture}
    part_b = next(c for c in stored if c.source.resource == "Coverage/part-b-567834")
    assert part_b.plan == "Medicare Part B"
    assert part_b.payer == "Centers for Medicare and Medicaid Services"
    assert (part_b.status, part_b.period.start, part_b.period.end) == (
        "active",
        "2021-07-17",
        "2022-08-17",
    )
    assert part_b.period_basis == "coverage"
    refs = [
        i["coverage"]["reference"] for e in _eobs("bluebutton").values() for i in e["insurance"]
    ]
    assert part_b.claims == refs.count("Coverage/part-b-567834")
    kinds: dict[str, int] = defaultdict(int)
    for eob in _eobs("synthea").values():
        cov = next(c for c in eob["contained"] if c["resourceType"] == "Coverage")
        kinds[cov["type"]["text"]] += 1
    contained = {c.type: c for c in view.coverage if c.period_basis == "claims"}
    assert {k: c.claims for k, c in contained.items()} == dict(kinds)


def test_member_id_shows_last_four_only(loaded_vault: Vault) -> None:
    view = explain_coverage(loaded_vault, recent=100)
    dumped = view.model_dump_json()
    full_ids = {r["subscriberId"] for r in _resources("bluebutton") if r.get("subscriberId")}
    assert full_ids
    for member in full_ids:
        assert member not in dumped
        assert member not in view.render()
    assert {c.member_id for c in view.coverage if c.source.resource.startswith("Coverage/")} == {
        "…" + member[-4:] for member in full_ids
    }


@given(st.text(alphabet="ABCDEFGHJKMNPQRTUVWXY0123456789", min_size=1, max_size=40))
def test_mask_never_reveals_a_whole_id(member: str) -> None:
    masked = mask_id(member)
    assert masked is not None
    assert masked.startswith("…")
    shown = masked[1:]
    assert len(shown) <= 4
    assert len(shown) < len(member)
    assert member.endswith(shown)


def test_window_start_hides_older_claims_and_coverage(loaded_vault: Vault) -> None:
    window = "2016-01-01"
    rows = [e for e in _expected().items() if e[1]["year"] >= 2016]
    view = explain_coverage(
        Scope(loaded_vault, window_start=window), since="1900-01-01", recent=100
    )
    assert view.claims.count == len(rows)
    assert view.claims.period.start is not None
    assert view.claims.period.start >= window
    assert all(c.date is not None and c.date >= window for c in view.recent_claims)
    assert view.claims.totals.billed == _sum([r for _, r in rows], "billed")
    refs = {c.source.resource for c in view.coverage}
    # Undated, but in force: coverage still in force belongs to any period (issue 14).
    assert "Coverage/part-c-567834" in refs
    assert "ExplanationOfBenefit/outpatient-1234567890" not in view.model_dump_json()
    assert view.withheld is not None and view.withheld.before == window
    later = explain_coverage(Scope(loaded_vault, window_start="2021-01-01"))
    shown = {c.source.resource for c in later.coverage}
    assert "Coverage/part-a-567834" not in shown  # cancelled, dated 2020: before the period
    assert {f"Coverage/part-{p}-567834" for p in "bcd"} <= shown
    assert later.withheld is not None
    assert later.withheld.by_kind["coverage records"] == 1


def test_since_until_select_claims(loaded_vault: Vault) -> None:
    view = explain_coverage(loaded_vault, since="2015-01-01", until="2015-12-31")
    rows = [r for r in _expected().values() if r["year"] == 2015]
    assert view.claims.count == len(rows)
    assert [y.year for y in view.claims.by_year] == [2015]


def test_recent_claims_newest_first_with_providers(loaded_vault: Vault) -> None:
    view = explain_coverage(loaded_vault, recent=5)
    dates = [c.date or "" for c in view.recent_claims]
    assert len(dates) == 5
    assert dates == sorted(dates, reverse=True)
    names = {}
    for path in sorted((SAMPLES / "synthea").glob("*.json")):
        for entry in load_json(path)["entry"]:
            res = entry["resource"]
            if res["resourceType"] == "Practitioner":
                name = res["name"][0]
                names[res["id"]] = " ".join([*name["prefix"], *name["given"], name["family"]])
    eobs = _eobs("synthea")
    for claim in view.recent_claims:
        eob = eobs[claim.source.resource.removeprefix("ExplanationOfBenefit/")]
        practitioner = eob["provider"]["reference"].removeprefix("urn:uuid:")
        assert claim.provider == names[practitioner]


def test_notes_and_question(loaded_vault: Vault) -> None:
    question = "  What did\u202e I pay\u200b for my hospital stay?\n" + "x" * 900
    view = explain_coverage(loaded_vault, question=question)
    assert view.question is not None
    assert view.question.startswith("What did I pay for my hospital stay? x")
    assert len(view.question) <= 500
    assert any("7 different patients" in n for n in view.notes)
    assert explain_coverage(loaded_vault).question is None


def test_the_text_holds_every_figure_of_the_structure(loaded_vault: Vault) -> None:
    plans = [{"name": "Only", "premium": 10, "deductible": 0, "coinsurance": 0}]
    view = explain_coverage(loaded_vault, plans=plans)
    text = view.render()
    assert "137 claims from" in text
    assert "…6789" in text
    assert "- Only: about $120.00 a year" in text
    assert all(step in text for step in view.plan_comparison[0].arithmetic)
    for year in view.claims.by_year:  # per-year figures, not only the grand total
        billed = fmt_money(year.totals.billed or 0, view.currency)
        assert f"- {year.year}: {year.count} claim" in text and billed in text
    for kind in view.claims.by_type:
        assert f"- {kind.type}: {kind.count} claim" in text
    assert cites_each(text, [c.source.resource for c in view.recent_claims])
    assert cites_each(text, [c.source.resource for c in view.coverage])
    assert all(n in text for n in view.notes)


# --- hand-built claims ------------------------------------------------------------------------


class FakeReader:
    """A Reader over hand-built resources, filtering dates the way the vault does."""

    def __init__(self, resources: list[dict[str, Any]]) -> None:
        self.stored = [StoredResource(i, "s1", "hand", r) for i, r in enumerate(resources, 1)]

    def resources(
        self, resource_type: str, *, terms: Any = (), since: Any = None, until: Any = None
    ) -> list[StoredResource]:
        out = []
        for item in self.stored:
            when = clinical_date(item.resource)
            if item.resource_type != resource_type:
                continue
            if since or until:
                day = (when or "")[:10]
                if not day or (since and day < since) or (until and day > until):
                    continue
            out.append(item)
        return out


def eob(ident: str, when: str, kind: str, allowed: float, place: str | None = None) -> dict:
    item: dict[str, Any] = {
        "sequence": 1,
        "adjudication": [
            {
                "category": {"coding": [{"system": HL7_ADJ, "code": "eligible"}]},
                "amount": {"value": allowed, "currency": "USD"},
            },
            {
                "category": {"coding": [{"system": HL7_ADJ, "code": "submitted"}]},
                "amount": {"value": allowed * 2, "currency": "USD"},
            },
        ],
    }
    if place:
        item["locationCodeableConcept"] = {"coding": [{"code": place}]}
    return {
        "resourceType": "ExplanationOfBenefit",
        "id": ident,
        "status": "active",
        "type": {"coding": [{"system": CLAIM_TYPE, "code": kind}]},
        "patient": {"reference": "Patient/p1"},
        "billablePeriod": {"start": when},
        "insurance": [{"focal": True, "coverage": {"reference": "Coverage/c1"}}],
        "item": [item],
    }


HL7_ADJ = "http://terminology.hl7.org/CodeSystem/adjudication"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
COVERAGE = {
    "resourceType": "Coverage",
    "id": "c1",
    "status": "active",
    "subscriberId": "W123456789",
    "beneficiary": {"reference": "Patient/p1"},
    "period": {"start": "2020-01-01"},
    "payor": [{"display": "Acme Health"}],
}
THREE_CLAIMS = [
    eob("visit", "2023-02-01", "professional", 200.0, place="11"),
    eob("stay", "2023-06-10", "institutional", 10_000.0, place="21"),
    eob("fill", "2023-11-20", "pharmacy", 300.0),
]
HIGH_DEDUCTIBLE = {
    "name": "High deductible",
    "premium": 200,
    "deductible": 3000,
    "coinsurance": 0.2,
    "out_of_pocket_max": 4000,
}
LOW_DEDUCTIBLE = {
    "name": "Low deductible",
    "premium": 450,
    "deductible": 500,
    "coinsurance": 10,
    "out_of_pocket_max": 2000,
    "copays": {"primary_care": 25, "pharmacy": 10},
}


def test_plan_comparison_arithmetic() -> None:
    reader = FakeReader([COVERAGE, *THREE_CLAIMS])
    view = explain_coverage(reader, plans=[LOW_DEDUCTIBLE, HIGH_DEDUCTIBLE])
    assert [p.name for p in view.plan_comparison] == ["High deductible", "Low deductible"]
    assert view.cheapest == "High deductible"
    high, low = view.plan_comparison
    # 200 + 10,000 + 300 allowed; no copays: 3,000 deductible + 20% of 7,500 = 4,500 > 4,000 cap.
    assert (high.premiums, high.deductible_part, high.coinsurance_part) == (2400, 3000, 1500)
    assert high.your_share == 4000
    assert high.out_of_pocket_max_reached
    assert high.estimated_yearly_cost == 6400
    assert "Out-of-pocket maximum: your share stops at $4,000.00" in high.arithmetic
    assert high.arithmetic[-1] == "Estimated yearly cost: $2,400.00 + $4,000.00 = $6,400.00"
    # Copays $25 + $10; the 10,000 stay: 500 deductible + 10% of 9,500 = 950.
    assert (low.copays_part, low.deductible_part, low.coinsurance_part) == (35, 500, 950)
    assert low.your_share == 1485
    assert not low.out_of_pocket_max_reached
    assert low.estimated_yearly_cost == 6885
    assert "Coinsurance: 10% of the remaining $9,500.00 = $950.00" in low.arithmetic
    assert any("averaged over the 1 calendar year" in a for a in low.assumptions)
    assert view.coverage[0].member_id == "…6789"
    assert "W123456789" not in view.model_dump_json()


def test_plan_comparison_uses_the_most_recent_complete_year() -> None:
    old = eob("old", "2021-01-05", "institutional", 50_000.0, place="21")
    reader = FakeReader([COVERAGE, old, *THREE_CLAIMS])
    view = explain_coverage(reader, plans=[HIGH_DEDUCTIBLE, LOW_DEDUCTIBLE])
    by_name = {p.name: p for p in view.plan_comparison}
    assert by_name["High deductible"].estimated_yearly_cost == 6400
    assert by_name["Low deductible"].estimated_yearly_cost == 6885
    assumption = by_name["Low deductible"].assumptions[0]
    assert "2022-11-21 to 2023-11-20" in assumption
    assert "most recent complete 12 months" in assumption


def test_plan_comparison_averages_a_short_history_over_its_years() -> None:
    claims = [
        eob("a", "2022-12-01", "institutional", 200.0),
        eob("b", "2023-03-01", "institutional", 300.0),
    ]
    plan = {"name": "Half", "premium": 0, "deductible": 0, "coinsurance": 50}
    view = explain_coverage(FakeReader(claims), plans=[plan])
    (only,) = view.plan_comparison
    assert only.estimated_yearly_cost == 125  # (200 + 300) / 2 years × 50%
    assert any("2 calendar years they fall in (2022, 2023)" in a for a in only.assumptions)
    assert any("not capped" in a for a in only.assumptions)


def test_copay_never_exceeds_the_claim() -> None:
    cheap = eob("cheap", "2023-05-01", "professional", 15.0, place="11")
    plan = {"name": "P", "premium": 0, "deductible": 0, "coinsurance": 0}
    plan["copays"] = {"primary_care": 40}
    view = explain_coverage(FakeReader([cheap]), plans=[plan])
    assert view.plan_comparison[0].copays_part == 15


def test_plan_option_model_is_the_input_schema() -> None:
    schema = PlanOption.model_json_schema()
    assert set(schema["required"]) == {"name", "premium", "deductible", "coinsurance"}
    assert all(p.get("description") for p in schema["properties"].values())
    assert PlanOption(name="x", premium=1, deductible=0, coinsurance=20).rate == 0.2
    assert PlanOption(name="x", premium=1, deductible=0, coinsurance=0.2).rate == 0.2
    assert PlanOption(name="x", premium=1, deductible=0, coinsurance=1).rate == 1.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"premium": -1}, "premium"),
        ({"deductible": -5}, "deductible"),
        ({"coinsurance": 150}, "coinsurance"),
        ({"coinsurance": -0.1}, "coinsurance"),
        ({"out_of_pocket_max": 100}, "at least the deductible"),
        ({"copays": {"primary_care": -10}}, "copays.primary_care"),
        ({"copays": {"dental": 10}}, "copays.dental"),
        ({"premuim": 10}, "premuim"),
        ({"name": "\u200b"}, "name"),
        ({"premium": float("nan")}, "premium"),
    ],
)
def test_bad_plans_raise_value_error(change: dict[str, Any], message: str) -> None:
    plan = {**HIGH_DEDUCTIBLE, **change}
    with pytest.raises(ValueError, match=message) as info:
        explain_coverage(FakeReader([]), plans=[plan])
    assert "a plan looks like" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"plans": HIGH_DEDUCTIBLE}, "list of plans"),
        ({"plans": [HIGH_DEDUCTIBLE] * 2}, "different name"),
        ({"plans": [{**HIGH_DEDUCTIBLE, "name": str(i)} for i in range(11)]}, "at most 10"),
        ({"since": "2024-13-01"}, "ISO date"),
        ({"until": "yesterday"}, "ISO date"),
        ({"window_start": "2024/01/01"}, "ISO date"),
        ({"since": "2024-02-01", "until": "2024-01-01"}, "since"),
        ({"recent": -1}, "recent"),
        ({"recent": 101}, "recent"),
        ({"patient": "not an id!"}, "patient"),
        ({"question": 42}, "question"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        scoped_call(explain_coverage, FakeReader([]), **kwargs)


def test_no_claims_gives_empty_totals() -> None:
    view = explain_coverage(FakeReader([]), plans=[HIGH_DEDUCTIBLE])
    assert view.claims.count == 0
    assert view.claims.totals.billed is None
    assert view.recent_claims == []
    assert view.plan_comparison[0].estimated_yearly_cost == 2400
    assert "no claims in the records shown" in view.render()


def test_through_a_real_vault(vault: Vault, tmp_path: Path) -> None:
    """Hand-built claims imported like any file: the vault is a Reader too."""
    from healthlocker.connectors import import_paths

    patient = {"resourceType": "Patient", "id": "p1"}
    resources = [patient, COVERAGE, *THREE_CLAIMS]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": _valid(r)} for r in resources],
    }
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    report = import_paths(vault, [path], source="hand")
    assert report.ok, [f.error for f in report.files]
    view = explain_coverage(Scope(vault, window_start="2023-03-01"))
    assert [c.source.resource for c in view.recent_claims] == [
        "ExplanationOfBenefit/fill",
        "ExplanationOfBenefit/stay",
    ]
    assert {c.source.origin for c in view.recent_claims} == {"hand"}
    assert view.recent_claims[0].provider == "Dr. Hand"
    assert view.claims.totals.allowed == 10_300
    # Dated 2020-01-01 by its period start, but in force (no end): part of the period.
    assert [(c.payer, c.member_id, c.claims) for c in view.coverage] == [
        ("Acme Health", "…6789", 2)
    ]
    assert view.withheld is not None
    assert view.withheld.by_kind == {"claims": 1}  # the visit of 2023-02-01
    view = explain_coverage(Scope(vault, window_start="2019-01-01"))
    assert [(c.payer, c.member_id, c.claims) for c in view.coverage] == [
        ("Acme Health", "…6789", 3)
    ]


def _valid(resource: dict[str, Any]) -> dict[str, Any]:
    """The fields FHIR R4 requires of a hand-built ExplanationOfBenefit."""
    if resource["resourceType"] != "ExplanationOfBenefit":
        return resource
    code = {"coding": [{"system": "http://snomed.info/sct", "code": "185349003"}]}
    return {
        **resource,
        "item": [{**item, "productOrService": code} for item in resource["item"]],
        "use": "claim",
        "created": resource["billablePeriod"]["start"],
        "insurer": {"display": "Acme Health"},
        "provider": {"display": "Dr. Hand"},
        "outcome": "complete",
    }


# --- regressions from real files (issue 13, issue 14) -----------------------------------------

CARIN_ADJ = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"


def _carin_like() -> dict[str, Any]:
    """The shape of a CARIN Blue Button inpatient EOB: its own `total` (submitted 7,147.20, the
    sum of its lines), a header adjudication filed as submitted too, and the lines."""

    def adj(system: str, code: str, value: float) -> dict[str, Any]:
        return {
            "category": {"coding": [{"system": system, "code": code}]},
            "amount": {"value": value, "currency": "USD"},
        }

    return {
        **eob("carin", "2023-03-01", "institutional", 0.0),
        "total": [adj(HL7_ADJ, "submitted", 7147.20), adj(HL7_ADJ, "benefit", 5200.00)],
        "adjudication": [adj(HL7_ADJ, "submitted", 2650.00), adj(CARIN_ADJ, "paidtoprovider", 1)],
        "item": [
            {"sequence": 1, "adjudication": [adj(HL7_ADJ, "submitted", 4497.20)]},
            {"sequence": 2, "adjudication": [adj(HL7_ADJ, "submitted", 2650.00)]},
        ],
    }


def test_billed_is_the_eobs_own_total_never_total_plus_header() -> None:
    view = explain_coverage(FakeReader([COVERAGE, _carin_like()]))
    assert view.claims.totals.billed == 7147.20  # was 9,797.20: total and header added
    assert view.recent_claims[0].billed == 7147.20
    assert view.recent_claims[0].plan_paid == 5200.00


def test_without_a_total_the_header_is_used_before_the_lines() -> None:
    claim = _carin_like()
    del claim["total"]
    view = explain_coverage(FakeReader([COVERAGE, claim]))
    assert view.claims.totals.billed == 2650.00


def test_the_claims_period_never_passes_until() -> None:
    stay = {**eob("stay", "2023-12-28", "institutional", 100.0), "billablePeriod": {}}
    stay["billablePeriod"] = {"start": "2023-12-28", "end": "2024-01-03"}
    view = explain_coverage(FakeReader([COVERAGE, stay]), until="2023-12-31")
    assert view.claims.count == 1
    assert (view.claims.period.start, view.claims.period.end) == ("2023-12-28", "2023-12-28")
    assert "2024" not in view.render().split("\n")[0]
