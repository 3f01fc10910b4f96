"""The scorecard's questions about long-term conditions (``condition_overview``) and a glucose
sensor (``summarize_trends`` of ``glucose``), registered with ``questions.ask`` when
``questions`` is imported.

The expected answers come from ``Facts``: the conditions and measures from the FHIR resources,
the sensor's readings from the Clarity export's rows; the typical targets the checks hold the
overview to are restated here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from quality.facts import cgm_figures, codes, day, name
from quality.people import Person, Result
from quality.questions import Call, ask
from quality.rubric import Card, close

# --- long-term conditions -----------------------------------------------------------------

Reading = tuple[datetime, str, float]  # (time, ref, value)


def _readings(p: Person, *loincs: str) -> list[Reading]:
    """Every quantity of *loincs*, on an Observation or one of its components, oldest first."""
    out = []
    for r in p.facts.of("Observation"):
        stamp = r.get("effectiveDateTime") or r.get("issued")
        if r.get("status") in ("entered-in-error", "cancelled") or not isinstance(stamp, str):
            continue
        for part in (r, *(r.get("component") or ())):
            q = part.get("valueQuantity") or {}
            if codes(part.get("code")) & set(loincs) and isinstance(q.get("value"), int | float):
                when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
                out.append((when, f"Observation/{r['id']}", float(q["value"])))
                break
    return sorted(out, key=lambda x: (x[0].timestamp(), x[1]))


def _trend(recent: list[float]) -> str:
    change = recent[-1] - recent[0]
    if abs(change) < 0.05 * abs(recent[0]):
        return "about the same"
    return "rising" if change > 0 else "falling"


# (qid, question, argument, words the condition is recorded with, what a word must not be,
#  the measure, its LOINC codes, how the latest value sits against the typical target)
OVERVIEWS: list[tuple[str, str, str, str, str, str, tuple[str, ...], Callable[[float], str]]] = [
    ("overview-bp", "Is my blood pressure under control lately?", "blood pressure",
     "hypertens", "pulmonary", "Systolic blood pressure", ("8480-6",),
     lambda v: "within the typical target" if v < 130 else "above the typical target"),
    ("overview-diabetes", "Is my diabetes under control?", "diabetes", "diabet", "prediabet",
     "HbA1c", ("4548-4", "17856-6", "4549-2"),
     lambda v: "within the typical target" if v < 7 else "above the typical target"),
    ("overview-kidneys", "How are my kidneys doing?", "kidneys", "chronic kidney disease",
     "acute", "eGFR", ("33914-3", "48642-3", "48643-1", "62238-1", "98979-8", "69405-9",
                       "77147-7"),
     lambda v: next(f"category {g}" for low, g in ((90, "G1"), (60, "G2"), (45, "G3a"),
                    (30, "G3b"), (15, "G4"), (0, "G5")) if v >= low)),
]  # fmt: skip
SOURCES = {
    "Systolic blood pressure": "ACC/AHA 2017 High Blood Pressure Guideline",
    "HbA1c": "ADA Standards of Care in Diabetes (2024)",
    "eGFR": "KDIGO 2012 CKD Guideline",
}


def _overview_question(
    qid: str,
    asks: str,
    arg: str,
    words: str,
    unlike: str,
    measure: str,
    loincs: tuple[str, ...],
    sits: Callable[[float], str],
) -> None:
    def recorded(p: Person) -> list[dict[str, Any]]:
        return [
            c
            for c in p.facts.active_conditions()
            if words in (n := (name(c.get("code")) or "").lower()) and unlike not in n
        ]

    def calls(p: Person) -> list[Call]:
        return [("condition_overview", {"condition": arg}, None)] if recorded(p) else []

    def check(card: Card, p: Person, results: list[Result]) -> None:
        (r,) = results
        (item,) = r.structure["conditions"]
        refs = {f"Condition/{c['id']}" for c in recorded(p)}
        card.check(
            "accuracy",
            "the recorded condition, with its sources",
            {s["resource"] for s in item["sources"]} == refs,
        )
        got = next((m for m in item["measures"] if m["name"] == measure), {})
        readings = _readings(p, *loincs)
        if not readings:
            card.check("accuracy", f"no {measure} made up", "latest" not in got)
            card.check("completeness", f"the missing {measure} is said", f"no {measure}" in r.text)
            return
        last = readings[-1]
        latest = got.get("latest", {})
        card.check(
            "accuracy",
            f"the latest {measure}, dated, with its source",
            close(latest.get("value"), last[2])
            and latest.get("date") == day(last[0].isoformat())
            and got.get("source", {}).get("resource") == last[1],
            f"{latest} vs {last}",
        )
        recent = [v for _t, _ref, v in readings[-5:]]
        if len(recent) >= 2:
            card.check(
                "accuracy", "the trend over the last readings", got.get("trend") == _trend(recent)
            )
        card.check(
            "completeness",
            f"the latest {measure} is in the text",
            f"- {measure}: {last[2]:.3g} " in r.text,  # as the tools write it: 3 digits
        )
        card.check(
            "accuracy",
            "how it sits against the typical target, and whose target it is",
            got.get("sits") == sits(last[2]) and got.get("target_source") == SOURCES[measure],
        )
        cutoff = (date.today() - timedelta(days=365)).isoformat()
        if (day(last[0].isoformat()) or "") < cutoff:
            card.check(
                "completeness",
                f"the gap since the last {measure} is said",
                f"no {measure} recorded in the last 12 months" in r.text,
            )
        card.check(
            "safety",
            "says it never makes a diagnosis and a target is not advice",
            "never makes a diagnosis" in r.text and "not advice" in r.text,
        )
        for med in p.facts.active_meds():
            reasons = {x.get("reference") for x in med.get("reasonReference") or ()}
            if reasons & refs:
                ref = f"{med['resourceType']}/{med['id']}"
                card.check(
                    "completeness",
                    "a medication recorded for it is listed",
                    ref in {m["source"]["resource"] for m in item["medications"]},
                )

    ask(qid, asks)((calls, check))


for _overview in OVERVIEWS:
    _overview_question(*_overview)


# --- a glucose sensor ---------------------------------------------------------------------

SENSOR: Call = ("summarize_trends", {"metric": "glucose"}, None)


def _sensor_calls(p: Person) -> list[Call]:
    return [SENSOR] if p.facts.cgm else []


def _tir_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    want = cgm_figures(p.facts.cgm)
    got = r.structure["cgm"]
    for band in ("in_range", "below_70", "very_low", "above_180", "very_high"):
        card.check(
            "accuracy",
            f"time {band.replace('_', ' ')}",
            close(got["ranges"][band], want[band]),
            f"{got['ranges'][band]} vs {want[band]}",
        )
    card.check(
        "completeness",
        "the time in range is in the text",
        f"time in range 70–180 mg/dL {want['in_range']:.1f}%" in r.text,
    )
    card.check(
        "safety",
        "the consensus targets are published figures, not advice",
        "published figures, not advice" in r.text,
    )


ask("cgm-time-in-range", "How much of the time is my glucose in range?")(
    (_sensor_calls, _tir_check)
)


def _average_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    want = cgm_figures(p.facts.cgm)
    got = r.structure["cgm"]
    for key in ("mean_mg_dl", "cv_percent", "gmi_percent"):
        card.check("accuracy", key, close(got[key], want[key]), f"{got[key]} vs {want[key]}")
    card.check(
        "accuracy",
        "the readings and days they come from",
        got["readings"] == want["readings"]
        and (got["first_day"], got["last_day"]) == (want["first_day"], want["last_day"])
        and got["days_with_data"] == want["days_with_data"],
        f"{got['readings']} {got['first_day']}–{got['last_day']} vs {want}",
    )
    card.check(
        "completeness",
        "the mean and GMI are in the text",
        f"GMI {want['gmi_percent']:.1f}%" in r.text and f"{want['readings']:,} readings" in r.text,
    )


ask("cgm-average", "What's my average glucose and my GMI from the sensor?")(
    (_sensor_calls, _average_check)
)


def _sensor_trend_check(card: Card, p: Person, results: list[Result]) -> None:
    (r,) = results
    last_time, last_value = p.facts.cgm[-1]
    first_time, _first = p.facts.cgm[0]
    stats = r.structure["stats"]
    card.check(
        "accuracy",
        "the latest sensor reading, dated",
        stats["last"]["date"] == last_time.date().isoformat()
        and close(stats["last"]["value"], last_value),
        f"{stats['last']} vs {last_time} {last_value}",
    )
    card.check(
        "accuracy",
        "the first sensor reading, dated",
        stats["first"]["date"] == first_time.date().isoformat(),
    )
    card.check(
        "context",
        "says these are the sensor's readings, and how to ask for the lab tests",
        "2345-7" in r.text and "sensor" in r.text,
    )


ask("cgm-trend", "Is my blood sugar going up? (with a glucose sensor)")(
    (_sensor_calls, _sensor_trend_check)
)
