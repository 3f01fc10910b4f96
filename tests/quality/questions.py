"""The questions people ask, the tool calls an assistant would make for each, and what the
answers must hold: checked on the tool outputs against ``Facts`` read from the FHIR files.

A question that does not apply to a person (no such lab, no claims, no watch) makes no calls
for them and is not scored for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from healthlocker.catalogue import tool
from quality.facts import FLU_CVX, TETANUS_CVX, day, name, status
from quality.people import Person, Result
from quality.rubric import Card, cited, close

Call = tuple[str, dict[str, Any], str | None]  # tool, arguments, window start
PLANS = [
    {"name": "Silver", "premium": 420, "deductible": 1500, "coinsurance": 0.2,
     "out_of_pocket_max": 6000, "copays": {"primary_care": 30, "pharmacy": 10}},
    {"name": "Bronze", "premium": 290, "deductible": 5000, "coinsurance": 0.3,
     "out_of_pocket_max": 8000},
]  # fmt: skip


@dataclass(frozen=True)
class Question:
    qid: str
    asks: str
    calls: Callable[[Person], list[Call]]
    check: Callable[[Card, Person, list[Result]], None]


def shown(value: float) -> str:
    """A recorded number as the tools write it: 6 significant digits, thousands grouped."""
    return format(float(f"{value:.6g}"), ",.15g")


def is_default(call: Call) -> bool:
    name_, args, window = call
    return window is None and args == tool(name_).default_call


QUESTIONS: list[Question] = []


def budget_call(name_: str, p: Person) -> dict[str, Any] | None:
    """The call a tool's budget is held to for *p*: its default call, or for a tool that needs
    one of the person's own ids, a call with it (None when the person has none)."""
    if name_ == "read_document":
        return questions_documents.budget_arguments(name_, p)
    return tool(name_).default_call


def ask(qid: str, asks: str) -> Callable[..., Any]:
    def register(pair: tuple[Callable[..., Any], Callable[..., Any]]) -> Any:
        QUESTIONS.append(Question(qid, asks, pair[0], pair[1]))
        return pair

    return register


# --- labs: "what was my latest X", per test ------------------------------------------------

LAB_TESTS = [  # (qid, words, the test as an assistant names it, LOINC codes)
    ("a1c", "my latest A1c", "hemoglobin a1c", ("4548-4",)),
    ("cholesterol", "my latest cholesterol", "cholesterol", ("2093-3",)),
    ("ldl", "my LDL", "ldl", ("18262-6", "13457-7", "2089-1")),
    ("hdl", "my HDL", "hdl", ("2085-9",)),
    ("triglycerides", "my triglycerides", "triglyceride", ("2571-8",)),
    ("glucose", "my blood sugar", "glucose", ("2345-7", "2339-0")),
    ("creatinine", "my creatinine", "creatinine", ("2160-0", "38483-4")),
    ("egfr", "my kidney function (eGFR)", "33914-3", ("33914-3",)),
    ("potassium", "my potassium", "potassium", ("2823-3", "6298-4")),
    ("sodium", "my sodium", "sodium", ("2951-2", "2947-0")),
    ("hemoglobin", "my hemoglobin", "718-7", ("718-7",)),
    ("wbc", "my white blood cell count", "white blood cell", ("6690-2",)),
    ("platelets", "my platelets", "platelet", ("777-3",)),
    ("tsh", "my thyroid test (TSH)", "tsh", ("3016-3", "11579-0")),
    ("vitamin-d", "my vitamin D", "vitamin d", ("1989-3", "62292-8")),
    ("alt", "my liver test ALT", "alt", ("1742-6",)),
    ("ast", "my AST", "1920-8", ("1920-8",)),
    ("calcium", "my calcium", "calcium", ("17861-6", "49765-1")),
    ("bun", "my BUN", "urea nitrogen", ("3094-0", "6299-2")),
    ("albumin", "my albumin", "albumin", ("1751-7",)),
    ("ferritin", "my ferritin", "ferritin", ("2276-4",)),
    ("mcv", "my MCV", "787-2", ("787-2",)),
    ("chloride", "my chloride", "chloride", ("2075-0", "2069-3")),
    ("co2", "my bicarbonate (CO2)", "carbon dioxide", ("2028-9", "20565-8")),
    ("bilirubin", "my bilirubin", "bilirubin", ("1975-2",)),
]


def _lab_question(qid: str, words: str, query: str, loincs: tuple[str, ...]) -> None:
    def calls(p: Person) -> list[Call]:
        return [("list_labs", {"test": query}, None)] if p.facts.latest_lab(*loincs) else []

    def check(card: Card, p: Person, results: list[Result]) -> None:
        (r,) = results
        want = p.facts.latest_lab(*loincs)
        assert want is not None
        got = [x for x in r.structure.get("results", []) if x.get("loinc") in loincs]
        first = got[0] if got else {}
        card.check(
            "accuracy",
            "the latest result comes first, with its value",
            close(first.get("value"), want.value),
            f"{first.get('value')} vs {want.value}",
        )
        card.check("accuracy", "with its date", first.get("date") == want.day)
        same_day = {x["source"]["resource"] for x in got if x.get("date") == want.day}
        card.check("accuracy", "with its source", want.ref in same_day)
        card.check(
            "accuracy",
            "the text gives the value, date and source",
            shown(want.value or 0) in r.text
            and f"{want.day}:" in r.text
            and cited(r.text, want.ref),
        )
        about = {t.get("loinc") for t in r.structure.get("tests", [])}
        card.check("completeness", "what the test measures is said", bool(about & set(loincs)))
        card.check(
            "completeness",
            "the result is flagged against a range",
            first.get("flag") != "unknown" and "reference_range" in first,
        )

    ask(f"lab-{qid}", f"What was {words}, and is it normal?")((calls, check))


for _lab in LAB_TESTS:
    _lab_question(*_lab)


# --- trends -----------------------------------------------------------------------------------


def _series_of(p: Person, metric: str) -> list[tuple[str, float, str]]:
    f = p.facts
    if metric == "body_weight":
        return f.series("29463-7")
    if metric == "bmi":
        return f.series("39156-5")
    if metric == "resting_heart_rate":
        return f.series("40443-4")
    if metric == "heart_rate":
        return f.series("8867-4")
    labs = f.labs_of(*metric.split(","))
    return [(lab.day, lab.value or 0.0, lab.ref) for lab in labs]


def _trend_question(qid: str, asks: str, metric: str, arg: str) -> None:
    def calls(p: Person) -> list[Call]:
        if arg == "glucose" and p.facts.cgm:  # the sensor answers: questions_measures asks
            return []
        return [("summarize_trends", {"metric": arg}, None)] if _series_of(p, metric) else []

    def check(card: Card, p: Person, results: list[Result]) -> None:
        (r,) = results
        series = _series_of(p, metric)
        last_day = series[-1][0]
        stats = r.structure.get("stats", {})
        last, first = stats.get("last", {}), stats.get("first", {})
        options = [v for d, v, _ in series if d == last_day]
        card.check(
            "accuracy",
            "stats.last is the latest measurement",
            last.get("date") == last_day and any(close(last.get("value"), v) for v in options),
        )
        card.check(
            "accuracy", "stats.first is the first measurement", first.get("date") == series[0][0]
        )
        change = (last.get("value") or 0) - (first.get("value") or 0)
        card.check(
            "accuracy",
            "the change is latest minus first",
            abs(stats.get("change", 0) - change) <= 1e-4,
            f"{stats.get('change')} vs {change}",
        )
        refs = {ref for d, _v, ref in series if d == last_day}
        card.check(
            "accuracy",
            "the latest measurement is cited",
            last.get("source", {}).get("resource") in refs
            and cited(r.text, last["source"]["resource"]),
        )
        points = r.structure.get("points", [])
        card.check(
            "completeness",
            "every point is in the text with its period",
            all(pt.get("period", "") in r.text for pt in points),
        )
        days = (date.fromisoformat(last_day) - date.fromisoformat(series[0][0])).days
        if len(points) < 3 or days < 28:
            card.check(
                "context",
                "no rate per month from too little data",
                "slope_per_month" not in stats and "Too little data" in r.text,
            )

    ask(f"trend-{qid}", asks)((calls, check))


_trend_question("weight", "How is my weight trending?", "body_weight", "body_weight")
_trend_question("bmi", "How has my BMI changed?", "bmi", "bmi")
_trend_question("a1c", "Did my A1c go down?", "4548-4", "hemoglobin a1c")
_trend_question("cholesterol", "Is my cholesterol improving?", "2093-3", "2093-3")
_trend_question("egfr", "How has my kidney function changed over the years?", "33914-3", "egfr")
_trend_question("glucose", "Is my blood sugar going up?", "2345-7,2339-0", "glucose")
_trend_question(
    "resting-hr", "What's my resting heart rate doing?", "resting_heart_rate", "resting_heart_rate"
)
_trend_question("ldl", "Has my LDL come down since I started the statin?", "18262-6", "18262-6")
_trend_question("hemoglobin", "Is my hemoglobin getting better?", "718-7", "718-7")


def _bp_calls(p: Person) -> list[Call]:
    return (
        [("summarize_trends", {"metric": "blood_pressure"}, None)]
        if p.facts.blood_pressures()
        else []
    )


def _bp_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    readings = p.facts.blood_pressures()
    last_day = readings[-1][0]
    last = r.structure["stats"]["last"]
    last2 = r.structure["stats2"]["last"]
    same = [x for x in readings if x[0] == last_day]
    card.check(
        "accuracy",
        "the latest systolic and diastolic, dated",
        last["date"] == last_day
        and any(close(last["value"], x[1]) for x in same)
        and any(close(last2["value"], x[2]) for x in same),
    )
    card.check("communication", "in mmHg", "mmHg" in r.text)


ask("trend-bp", "How is my blood pressure?")((_bp_calls, _bp_check))


def _daily_question(qid: str, asks: str, metric: str, loinc: str, days: int) -> None:
    def window(p: Person) -> str | None:
        totals = p.facts.daily_totals(loinc)
        if not totals:
            return None
        return (date.fromisoformat(max(totals)) - timedelta(days=days)).isoformat()

    def calls(p: Person) -> list[Call]:
        since = window(p)
        return [("summarize_trends", {"metric": metric, "since": since}, None)] if since else []

    def check(card: Card, p: Person, results: list[Result]) -> None:
        (r,) = results
        totals = p.facts.daily_totals(loinc)
        last_day = max(totals)
        since = window(p) or ""
        inside = [v for d, v in totals.items() if d >= since]
        last = r.structure["stats"]["last"]
        card.check(
            "accuracy",
            "the latest day's total",
            last["date"] == last_day and close(last["value"], totals[last_day]),
        )
        mean = sum(inside) / len(inside)
        points = r.structure["points"]
        got = sum(pt["value"] for pt in points) / len(points)
        card.check("accuracy", "the daily totals behind the points", abs(got - mean) <= 1)
        card.check(
            "communication", f"in {metric}'s own words", r.structure.get("unit_text", "") in r.text
        )

    ask(f"trend-{qid}", asks)((calls, check))


_daily_question("sleep", "How did I sleep this month?", "sleep", "93832-4", 30)
_daily_question("steps", "How many steps have I been walking lately?", "steps", "55423-8", 30)


# --- medications and allergies -------------------------------------------------------------


def _med_name(r: dict[str, Any]) -> str:
    return name(r.get("medicationCodeableConcept")) or ""


def _meds_calls(p: Person) -> list[Call]:
    return [("get_meds", {}, None)] if p.facts.active_meds() else []


def _meds_listed(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    listed = {m["source"]["resource"]: m for m in r.structure["medications"]}
    for med in p.facts.active_meds():
        ref = f"{med['resourceType']}/{med['id']}"
        card.check("accuracy", f"{_med_name(med)} is listed, with its source", ref in listed)
        card.check(
            "accuracy",
            "and named in the text with its source",
            _med_name(med) in r.text and cited(r.text, ref),
        )
    card.check(
        "completeness",
        "nothing but current medications",
        all(m.get("status") in ("active", "on-hold", "intended") for m in listed.values()),
    )


ask("meds-what", "What medications am I taking?")((_meds_calls, _meds_listed))


def _meds_field(qid: str, asks: str, field_: str) -> None:
    def check(card: Card, p: Person, results: list[Result]) -> None:
        (r,) = results
        for m in r.structure["medications"]:
            if field_ in m:
                card.check(
                    "completeness", f"{field_} of {m.get('name')} in the text", m[field_] in r.text
                )
        listed = {m["source"]["resource"]: m for m in r.structure["medications"]}
        recorded = [
            f"{med['resourceType']}/{med['id']}"
            for med in p.facts.active_meds()
            if any(med.get(k) for k in _RECORDED[field_])
        ]
        card.check(
            "completeness",
            f"{field_} given where recorded",
            all(field_ in listed.get(ref, {}) for ref in recorded),
            ", ".join(ref for ref in recorded if field_ not in listed.get(ref, {}))[:200],
        )

    ask(qid, asks)((_meds_calls, check))


# Where a medication record holds each field (MedicationRequest; MedicationStatement's own)
_RECORDED = {
    "dosage": ("dosageInstruction", "dosage"),
    "reason": ("reasonCode", "reasonReference"),
    "prescriber": ("requester", "informationSource"),
    "started": ("authoredOn", "effectiveDateTime", "effectivePeriod"),
}


_meds_field("meds-how", "How am I supposed to take my medications?", "dosage")
_meds_field("meds-why", "What is each of my medications for?", "reason")
_meds_field("meds-who", "Who prescribed my medications?", "prescriber")
_meds_field("meds-since", "Since when have I been on each medication?", "started")


def _statin_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    statins = ("atorvastatin", "simvastatin", "rosuvastatin", "pravastatin", "lovastatin")
    has = any(s in _med_name(m).lower() for m in p.facts.active_meds() for s in statins)
    says = any(
        s in (m.get("name") or "").lower() for m in r.structure["medications"] for s in statins
    )
    card.check("accuracy", "a statin is listed exactly when one is active", has == says)


ask("meds-statin", "Am I on a statin?")((_meds_calls, _statin_check))


def _past_calls(p: Person) -> list[Call]:
    return [("get_meds", {"status": "all"}, None)] if p.facts.all_meds() else []


def _past_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    listed = {m["source"]["resource"]: m for m in r.structure["medications"]}
    for med in p.facts.all_meds():
        ref = f"{med['resourceType']}/{med['id']}"
        ok = ref in listed and listed[ref].get("status") == med.get("status")
        card.check("accuracy", f"{_med_name(med)} listed with its status ({med.get('status')})", ok)
    card.check(
        "communication",
        "says 'current and past', not 'all medication(s)'",
        "current and past" in r.text and "all medication(s)" not in r.text,
    )


ask("meds-past", "What medications have I taken in the past, and which did I stop?")(
    (_past_calls, _past_check)
)


def _allergy_calls(p: Person) -> list[Call]:
    return (
        [("get_meds", {}, None)] if p.facts.of("AllergyIntolerance") or p.facts.all_meds() else []
    )


def _allergy_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    listed = {a["source"]["resource"]: a for a in r.structure["allergies"]}
    active = p.facts.active_allergies()
    for a in active:
        ref = f"AllergyIntolerance/{a['id']}"
        card.check("accuracy", f"{name(a.get('code'))} is listed", ref in listed)
        reactions = [name(m) for x in a.get("reaction") or () for m in x.get("manifestation") or ()]
        card.check("accuracy", "with its reaction", all(x in r.text for x in reactions if x))
    if not active:
        card.check("accuracy", "no allergy made up", not listed and "none recorded" in r.text)


ask("allergies", "Am I allergic to anything?")((_allergy_calls, _allergy_check))


def _penicillin_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    has = any(
        "penicillin" in (name(a.get("code")) or "").lower() for a in p.facts.active_allergies()
    )
    says = any("penicillin" in (a.get("substance") or "").lower() for a in r.structure["allergies"])
    card.check("accuracy", "penicillin is listed exactly when the record has it", has == says)


ask("allergy-penicillin", "Am I allergic to penicillin?")((_allergy_calls, _penicillin_check))


# --- conditions -------------------------------------------------------------------------------


def _conditions_calls(p: Person) -> list[Call]:
    return [("list_conditions", {}, None)] if p.facts.of("Condition") else []


def _conditions_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    listed = {c["source"]["resource"]: c for c in r.structure["conditions"]}
    for c in p.facts.active_conditions():
        ref = f"Condition/{c['id']}"
        card.check("accuracy", f"{name(c.get('code'))} is listed", ref in listed)
        onset = day(c.get("onsetDateTime"))
        card.check(
            "accuracy", "with its onset", not onset or listed.get(ref, {}).get("onset") == onset
        )
    card.check(
        "completeness",
        "the text names each one",
        all((c.get("name") or "") in r.text for c in listed.values()),
    )


ask("conditions", "What health conditions do I have?")((_conditions_calls, _conditions_check))
ask("conditions-when", "When was I diagnosed with each of my conditions?")(
    (_conditions_calls, _conditions_check)
)


def _past_conditions_calls(p: Person) -> list[Call]:
    return [("list_conditions", {"status": "all"}, None)] if p.facts.of("Condition") else []


def _past_conditions_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    listed = {c["source"]["resource"]: c for c in r.structure["conditions"]}
    for c in p.facts.of("Condition"):
        if status(c.get("verificationStatus")) == "entered-in-error":
            continue
        ref = f"Condition/{c['id']}"
        ended = day(c.get("abatementDateTime"))
        card.check(
            "accuracy",
            f"{name(c.get('code'))} listed, with its end where it ended",
            ref in listed and (not ended or listed[ref].get("abated") == ended),
        )


ask("conditions-past", "What illnesses have I had in the past?")(
    (_past_conditions_calls, _past_conditions_check)
)


def _has_condition(words: tuple[str, ...]) -> Callable[[Card, Person, list[Result]], None]:
    def check(card: Card, p: Person, results: list[Result]) -> None:
        (r,) = results
        has = any(
            any(w in (name(c.get("code")) or "").lower() for w in words)
            for c in p.facts.active_conditions()
        )
        says = any(
            any(w in (c.get("name") or "").lower() for w in words)
            for c in r.structure["conditions"]
        )
        card.check("accuracy", f"{words[0]} is listed exactly when the record has it", has == says)

    return check


ask("condition-diabetes", "Do I have diabetes?")((_conditions_calls, _has_condition(("diabetes",))))
ask("condition-bp", "Is my high blood pressure still on my record?")(
    (_conditions_calls, _has_condition(("hypertension",)))
)
ask("condition-asthma", "Is asthma on my problem list?")(
    (_conditions_calls, _has_condition(("asthma",)))
)


# --- immunizations ----------------------------------------------------------------------------


def _shots_calls(p: Person) -> list[Call]:
    return [("list_immunizations", {"limit": 200}, None)] if p.facts.immunizations() else []


def _last_shot(qid: str, asks: str, cvx: set[str], words: str) -> None:
    def calls(p: Person) -> list[Call]:
        doses = [d for d in p.facts.immunizations() if d[1] & cvx or words in d[2].lower()]
        return _shots_calls(p) if doses else []

    def check(card: Card, p: Person, results: list[Result]) -> None:
        (r,) = results
        doses = [d for d in p.facts.immunizations() if d[1] & cvx or words in d[2].lower()]
        latest = doses[-1]
        got = {i["source"]["resource"]: i for i in r.structure["immunizations"]}
        card.check(
            "accuracy",
            "the latest dose, dated and cited",
            got.get(latest[3], {}).get("date") == latest[0]
            and cited(r.text, latest[3])
            and f"{latest[0]}:" in r.text,
        )

    ask(qid, asks)((calls, check))


_last_shot("shot-tetanus", "When was my last tetanus shot?", TETANUS_CVX, "tetanus")
_last_shot("shot-flu", "Did I get a flu shot this year?", FLU_CVX, "influenza")
_last_shot("shot-covid", "Have I had the COVID vaccine?", {"207", "208", "213", "300"}, "covid")
_last_shot("shot-shingles", "When did I get my shingles vaccine?", {"187", "121"}, "zoster")


def _all_shots(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    got = {i["source"]["resource"] for i in r.structure["immunizations"]}
    for when, _cvx, vaccine, ref in p.facts.immunizations():
        card.check("accuracy", f"{vaccine} of {when} listed", ref in got and cited(r.text, ref))


ask("shots-all", "What vaccines have I had?")((_shots_calls, _all_shots))


# --- visits -----------------------------------------------------------------------------------


def _visit_calls(p: Person) -> list[Call]:
    return [("list_visits", {"limit": 200}, None)] if p.facts.visits() else []


def _last_visit(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    newest = p.facts.visits()[-1]
    first = r.structure["encounters"][0]
    card.check(
        "accuracy",
        "the newest visit first, dated and cited",
        first["date"] == newest[0] and cited(r.text, first["source"]["resource"]),
    )


ask("visit-last", "When was my last doctor's visit?")((_visit_calls, _last_visit))


def _visit_of(klass: str) -> Callable[[Card, Person, list[Result]], None]:
    def check(card: Card, p: Person, results: list[Result]) -> None:
        (r,) = results
        mine = [v for v in p.facts.visits() if v[2] == klass]
        got = {e["source"]["resource"] for e in r.structure["encounters"]}
        if mine:
            card.check("accuracy", f"the latest {klass} visit is listed", mine[-1][3] in got)
        else:
            shown_ = {e.get("encounter_class") for e in r.structure["encounters"]}
            card.check("accuracy", f"no {klass} visit made up", klass.lower() not in shown_)

    return check


ask("visit-er", "When was I last in the emergency room?")((_visit_calls, _visit_of("EMER")))
ask("visit-hospital", "Have I ever been admitted to hospital?")((_visit_calls, _visit_of("IMP")))


def _doctor(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    first = r.structure["encounters"][0]
    names = first.get("practitioners", [])
    card.check(
        "completeness",
        "the clinicians of the latest visit are named",
        all(n in r.text for n in names),
    )


ask("visit-doctor", "Who did I see at my last appointment?")((_visit_calls, _doctor))


# --- insurance and claims -------------------------------------------------------------------


def _synthea_claims(p: Person) -> list[tuple[str, float | None, float | None, str]]:
    return p.facts.claims() if p.kind != "bluebutton" else []


def _coverage_calls(p: Person) -> list[Call]:
    return [("explain_coverage", {}, None)] if p.facts.of("ExplanationOfBenefit") else []


def _coverage_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    card.check("completeness", "coverage is listed", bool(r.structure.get("coverage")))
    claims = p.facts.of("ExplanationOfBenefit")
    card.check(
        "accuracy",
        "every claim is counted",
        r.structure["claims"]["count"]
        == len([c for c in claims if c.get("status") not in ("cancelled", "entered-in-error")]),
    )
    for year in r.structure["claims"]["by_year"]:
        card.check(
            "completeness",
            f"{year['year']}'s figures are in the text",
            f"- {year['year']}: {year['count']} claim" in r.text,
        )


ask("coverage", "What insurance do I have, and what have my claims cost?")(
    (_coverage_calls, _coverage_check)
)


def _last_year(p: Person) -> int | None:
    claims = _synthea_claims(p)
    years = sorted({int(c[0][:4]) for c in claims})
    return years[-2] if len(years) > 1 else (years[0] if years else None)


def _year_calls(p: Person) -> list[Call]:
    year = _last_year(p)
    if year is None:
        return []
    return [("explain_coverage", {"since": f"{year}-01-01", "until": f"{year}-12-31"}, None)]


def _year_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    year = _last_year(p)
    mine = [c for c in _synthea_claims(p) if c[0][:4] == str(year)]
    totals = r.structure["claims"]["totals"]
    paid = round(sum(c[2] or 0 for c in mine), 2)
    billed = round(sum(c[1] or 0 for c in mine), 2)
    card.check(
        "accuracy",
        "what the plan paid that year",
        close(totals.get("plan_paid", 0), paid),
        f"{totals.get('plan_paid')} vs {paid}",
    )
    card.check("accuracy", "what was billed that year", close(totals.get("billed", 0), billed))
    card.check("accuracy", "the text says it", f"${paid:,.2f}" in r.text)
    period = r.structure["claims"]["period"]
    card.check(
        "context",
        "the period stays in the year asked",
        period.get("end", "")[:4] == str(year) and period.get("start", "")[:4] == str(year),
    )


ask("claims-paid-last-year", "What did insurance pay last year?")((_year_calls, _year_check))
ask("claims-billed-last-year", "How much was I billed last year?")((_year_calls, _year_check))


def _recent_claim(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    claims = _synthea_claims(p)
    newest = claims[-1]
    first = r.structure["recent_claims"][0]
    card.check(
        "accuracy",
        "the newest claim, its date and amount",
        first["date"] == newest[0]
        and close(first.get("billed"), newest[1])
        and cited(r.text, first["source"]["resource"]),
    )


def _synthea_coverage_calls(p: Person) -> list[Call]:
    return _coverage_calls(p) if _synthea_claims(p) else []


ask("claims-recent", "What was my most recent medical bill?")(
    (_synthea_coverage_calls, _recent_claim)
)


def _plans_calls(p: Person) -> list[Call]:
    return [("explain_coverage", {"plans": PLANS}, None)] if _synthea_claims(p) else []


def _plans_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    plans = r.structure["plan_comparison"]
    costs = [x["estimated_yearly_cost"] for x in plans]
    card.check(
        "accuracy",
        "the cheapest plan is named cheapest",
        r.structure.get("cheapest") == plans[0]["name"] and costs == sorted(costs),
    )
    card.check(
        "accuracy",
        "premiums are twelve months of each premium",
        all(
            close(x["premiums"], {pl["name"]: pl["premium"] for pl in PLANS}[x["name"]] * 12)
            for x in plans
        ),
    )
    card.check(
        "completeness",
        "the arithmetic is in the text",
        all(step in r.text for x in plans for step in x["arithmetic"]),
    )


ask("plans-compare", "Which of these two plans would cost me less next year?")(
    (_plans_calls, _plans_check)
)


def _pharmacy_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    for kind in r.structure["claims"]["by_type"]:
        card.check(
            "completeness",
            f"{kind['type']} claims are in the text",
            f"- {kind['type']}: {kind['count']} claim" in r.text,
        )


ask("claims-by-kind", "How much did my prescriptions cost compared with visits?")(
    (_coverage_calls, _pharmacy_check)
)


# --- overview, abnormal results, search -----------------------------------------------------


def _summary_calls(p: Person) -> list[Call]:
    return [("health_summary", {}, None)]


def _summary_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    s = r.structure
    active = p.facts.active_conditions()
    shown_conditions = {c["source"]["resource"] for c in s.get("active_conditions", [])}
    card.check(
        "accuracy",
        "its active conditions",
        len(shown_conditions) + s.get("more", {}).get("active_conditions", 0) == len(active)
        and shown_conditions <= {f"Condition/{c['id']}" for c in active},
    )
    meds = p.facts.active_meds()
    card.check(
        "accuracy",
        "its current medications",
        len(s.get("active_medications", [])) + s.get("more", {}).get("active_medications", 0)
        == len(meds),
    )
    labs = p.facts.labs()
    if labs:
        latest = labs[-1].day
        got = [x for x in s.get("recent_labs", []) if x["date"] == latest]
        card.check(
            "accuracy",
            "lab results of the latest day, with values",
            bool(got) and all(x["value"] in r.text for x in got),
        )
    card.check(
        "context",
        "no name or address",
        not any(
            n in r.text
            for pt in p.facts.of("Patient")
            for nm in pt.get("name") or ()
            for n in [nm.get("family", "")]
            if n
        ),
    )


ask("summary", "Give me an overview of my health.")((_summary_calls, _summary_check))
ask("summary-visit", "I'm seeing my doctor next week: what should I ask about?")(
    (
        lambda p: [("health_summary", {}, None), ("list_labs", {"abnormal_only": True}, None)],
        lambda card, p, results: (
            _summary_check(card, p, results[:1]),
            _flagged_check(card, p, results[1:]),
        ),
    )
)


def _flagged_calls(p: Person) -> list[Call]:
    return [("list_labs", {"abnormal_only": True}, None)] if p.facts.labs() else []


def _flagged_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    got = r.structure.get("results", [])
    card.check(
        "accuracy", "only flagged results", all(x["flag"] not in ("normal", "unknown") for x in got)
    )
    for x in got:
        card.check(
            "completeness",
            "each with its value in the text",
            cited(r.text, x["source"]["resource"]),
        )


ask("labs-abnormal", "Are any of my results abnormal?")((_flagged_calls, _flagged_check))


def _critical_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    critical = [x for x in r.structure.get("results", []) if x["flag"] == "critical"]
    for x in critical:
        card.check(
            "safety",
            "a critical result says to contact a clinician promptly",
            "contact one promptly" in x.get("notice", "") and "CRITICAL" in r.text,
        )


ask("labs-critical", "Is anything in my labs urgent?")((_flagged_calls, _critical_check))


def _latest_labs_calls(p: Person) -> list[Call]:
    return [("list_labs", {}, None)] if p.facts.labs() else []


def _latest_labs_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    labs = p.facts.labs()
    latest = labs[-1].day
    got = {x["source"]["resource"] for x in r.structure["results"]}
    day_refs = {lab.ref for lab in labs if lab.day == latest}
    card.check(
        "accuracy",
        "the latest day's results are shown",
        day_refs <= got or len(got) == tool("list_labs").default_call.get("limit", 20),
    )
    card.check("completeness", "says how many there are", f"{r.structure['total']:,}" in r.text)
    if r.structure.get("truncated"):
        card.check(
            "communication",
            "says how to see more with the tool's own arguments",
            "until=" in r.text and "limit=" in r.text,
        )


ask("labs-latest", "What were my most recent lab results?")(
    (_latest_labs_calls, _latest_labs_check)
)
ask("labs-explain", "Explain my latest lab results in plain language.")(
    (
        _latest_labs_calls,
        lambda card, p, results: card.check(
            "completeness",
            "each test's meaning once",
            all(
                results[0].text.count(t["about"]) == 1
                for t in results[0].structure.get("tests", [])
            ),
        ),
    )
)


def _search(query: str) -> tuple[Callable[[Person], list[Call]], Callable[..., None]]:
    def calls(p: Person) -> list[Call]:
        return [("search_records", {"query": query}, None)]

    def check(card: Card, p: Person, results: list[Result]) -> None:
        (r,) = results
        hits = r.structure.get("hits", [])
        card.check(
            "accuracy",
            "every hit is named as the record names it",
            all(query in h["name"].lower() for h in hits),
        )
        card.check(
            "completeness",
            "the count is said",
            f"{r.structure['total']}" in r.text or "no record" in r.text,
        )

    return calls, check


ask("search-metformin", "Find anything about metformin in my records.")(_search("metformin"))
ask("search-flu", "Find my flu records.")(_search("influenza"))
ask("search-asthma", "Is there anything about asthma in my records?")(_search("asthma"))


# --- a year-long grant: ongoing state stays, older records are disclosed --------------------


def _grant_start(p: Person) -> str | None:
    dated = [lab.day for lab in p.facts.labs()] + [v[0] for v in p.facts.visits()]
    if not dated:
        return None
    return (date.fromisoformat(max(dated)) - timedelta(days=365)).isoformat()


def _windowed(tool_: str, args: dict[str, Any]) -> Callable[[Person], list[Call]]:
    def calls(p: Person) -> list[Call]:
        start = _grant_start(p)
        return [(tool_, args, start)] if start else []

    return calls


def _window_meds(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    _meds_listed(card, p, results)
    card.check(
        "context",
        "current medications shown however old the prescription",
        len(r.structure["medications"]) == len(p.facts.active_meds()),
    )


def _window_labs(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    start = r.window or ""
    before = [lab for lab in p.facts.labs() if lab.day < start]
    held = r.structure.get("withheld", {})
    card.check(
        "context",
        "older lab results are counted as withheld",
        not before or held.get("by_kind", {}).get("lab results") == len(before),
        f"{held.get('by_kind')} vs {len(before)}",
    )
    if before and not r.structure.get("results"):
        card.check("context", "never a bare 'none'", "outside the period you allowed" in r.text)


def _window_conditions(card: Card, p: Person, results: list[Result]) -> None:
    _conditions_check(card, p, results)


ask("window-meds", "(a year-long grant) What am I taking?")(
    (_windowed("get_meds", {}), _window_meds)
)
ask("window-labs", "(a year-long grant) What lab results do I have?")(
    (_windowed("list_labs", {"limit": 200}), _window_labs)
)
ask("window-conditions", "(a year-long grant) What conditions do I have?")(
    (_windowed("list_conditions", {}), _window_conditions)
)
ask("window-summary", "(a year-long grant) Give me an overview of my health.")(
    (
        _windowed("health_summary", {}),
        lambda card, p, results: card.check(
            "context",
            "the summary's conditions are the ongoing ones",
            len(results[0].structure.get("active_conditions", []))
            + results[0].structure.get("more", {}).get("active_conditions", 0)
            == len(p.facts.active_conditions()),
        ),
    )
)
ask("window-shots", "(a year-long grant) When was my last tetanus shot?")(
    (
        _windowed("list_immunizations", {}),
        lambda card, p, results: card.check(
            "context",
            "older shots are disclosed, not denied",
            bool(results[0].structure.get("immunizations"))
            or "outside the period" in results[0].text
            or not p.facts.immunizations(),
        ),
    )
)


def _vitals_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    weights = p.facts.series("29463-7")
    got = {v["metric"]: v for v in r.structure.get("latest_vitals", [])}
    if weights:
        newest = max(weights, key=lambda w: w[0])
        card.check(
            "accuracy",
            "the latest weight, dated",
            got.get("body_weight", {}).get("date") == newest[0],
        )
    else:
        card.check("accuracy", "no weight made up", "body_weight" not in got)


ask("vitals-weight", "What did I weigh at my last measurement?")((_summary_calls, _vitals_check))


def _age_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    born = next((pt.get("birthDate") for pt in p.facts.of("Patient")), None)
    died = next((pt.get("deceasedDateTime") for pt in p.facts.of("Patient")), None)
    if not born:
        return
    end = date.fromisoformat(died[:10]) if died else date.today()
    b = date.fromisoformat(born)
    years = end.year - b.year - ((end.month, end.day) < (b.month, b.day))
    band = r.structure.get("age_band", "")
    if years >= 90:
        ok = band == "90 or older"
    elif years < 1:
        ok = band == "under 1"
    else:
        low = int(band.split("-")[0]) if band and band[0].isdigit() else -1
        ok = low <= years <= low + 9
    card.check("accuracy", "the age band holds the person's age", ok, f"{band} for {years}")
    card.check("context", "no birth date given", born not in r.text)


ask("summary-age", "How old does my record say I am?")((_summary_calls, _age_check))


def _a1c_history_calls(p: Person) -> list[Call]:
    return (
        [("list_labs", {"test": "4548-4", "limit": 200}, None)] if p.facts.labs_of("4548-4") else []
    )


def _a1c_history(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    got = {x["source"]["resource"] for x in r.structure["results"]}
    for lab in p.facts.labs_of("4548-4")[-200:]:
        card.check(
            "completeness", f"the A1c of {lab.day}", lab.ref in got and cited(r.text, lab.ref)
        )


ask("lab-a1c-history", "Show me all my A1c results over the years.")(
    (_a1c_history_calls, _a1c_history)
)


# The questions about notes and reports, long-term conditions and a glucose sensor.
from quality import questions_documents, questions_measures  # noqa: E402, F401  (register theirs)
