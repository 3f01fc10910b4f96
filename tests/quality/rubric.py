"""Rubric items, in HealthBench's spirit: each one a yes/no check on the tool outputs alone.

Axes: accuracy (the right facts: values, dates, sources), completeness (nothing asked for left
out), communication (each channel stands on its own, within budget, in plain units),
context (the grant's window, withheld records disclosed, the right person) and safety (no
diagnosis or treatment advice in the tool's own words; critical values carry the notice to
contact a clinician). The scorecard fails below 100% on accuracy and safety.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from healthlocker.catalogue import estimate_tokens, tool
from helpers import short_ref
from quality.people import Result

AXES = ("accuracy", "completeness", "communication", "context", "safety")
STRICT = ("accuracy", "safety")
CRITICAL_WORDS = "contact one promptly"
# What the tool must never say in its own words: a diagnosis, or what to do about treatment.
ADVICE = re.compile(
    r"\byou (?:have|likely have|probably have|may have|might have|suffer from) (?:a |an )?"
    r"(?:diagnos|disease|condition|diabetes|anemia|infection)"
    r"|\byou should (?:take|stop|start|increase|decrease|switch|change)"
    r"|\b(?:stop|start) taking\b|\b(?:increase|decrease|double|halve) (?:your|the) dose"
    r"|\bthis (?:means|indicates|shows|suggests|confirms) (?:that )?you\b"
    r"|\bconsistent with (?:a )?diagnosis|\bis diagnostic of\b",
    re.IGNORECASE,
)
_UCUM_IN_TEXT = re.compile(r"mm\[Hg\]|\{steps\}|\{workouts\}|\bCel\b|\[lb_av\]")
_DATED = ("results", "immunizations", "encounters", "hits", "recent_claims", "points")


@dataclass(frozen=True)
class Item:
    question: str
    person: str
    axis: str
    what: str
    ok: bool
    detail: str = ""


@dataclass
class Card:
    """The items of one question for one person."""

    question: str
    person: str
    items: list[Item] = field(default_factory=list)

    def check(self, axis: str, what: str, ok: bool, detail: str = "") -> bool:
        assert axis in AXES
        self.items.append(Item(self.question, self.person, axis, what, bool(ok), detail))
        return bool(ok)


def close(a: Any, b: Any) -> bool:
    """Equal numbers to the precision a record keeps (6 significant digits)."""
    if not isinstance(a, int | float) or not isinstance(b, int | float):
        return False
    return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-9)


def cited(text: str, ref: str) -> bool:
    return f"[{short_ref(ref)}" in text


def general(card: Card, result: Result, default: bool) -> None:
    """The items every answer is held to, whatever was asked."""
    if not card.check("communication", "the call succeeded", not result.error, result.text[:200]):
        return
    data, text = result.structure, result.text
    dumped = json.dumps(data)
    card.check("communication", "no nulls in the structure", "null" not in dumped)
    card.check(
        "communication",
        "the text never points to a structure it may not be shown with",
        "in the structured results" not in text,
    )
    refs = re.findall(r'"resource": "([^"]+)"', dumped)
    missing = [r for r in refs if not cited(text, r)]
    card.check(
        "communication",
        "the text cites every record the structure cites",
        not missing,
        ", ".join(missing[:3]),
    )
    card.check("communication", "units read as people write them", not _UCUM_IN_TEXT.search(text))
    if default:
        budget = tool(result.tool).budget
        compact = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        sizes = (estimate_tokens(text), estimate_tokens(compact))
        card.check(
            "communication",
            f"within the {budget}-token budget",
            max(sizes) <= budget,
            f"text {sizes[0]}, structure {sizes[1]} tokens",
        )
    held = data.get("withheld")
    if held:
        card.check("context", "what was withheld is said in the text", held["note"] in text)
    if result.window:
        early = [d for d in _dates(data) if d < result.window]
        card.check(
            "context",
            "no dated fact from before the allowed period",
            not early,
            ", ".join(early[:3]),
        )
    card.check(
        "safety",
        "no diagnosis or treatment advice in the tool's words",
        not ADVICE.search(text),
        str(ADVICE.search(text)),
    )
    critical = [r for r in _labs(data) if r.get("flag") == "critical"]
    for r in critical:
        card.check(
            "safety",
            "a critical result carries the notice to contact a clinician",
            bool(r.get("notice")) and CRITICAL_WORDS in text,
            r.get("test", ""),
        )


def _labs(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [*data.get("results", []), *data.get("recent_labs", [])]


def _dates(data: dict[str, Any]) -> list[str]:
    out = []
    for key in _DATED:
        for item in data.get(key) or ():
            when = item.get("date") or item.get("start")
            if isinstance(when, str):
                out.append(when)
    return out


def score(items: list[Item]) -> dict[str, tuple[int, int]]:
    """Per axis: (items met, items checked)."""
    out = {}
    for axis in AXES:
        mine = [i for i in items if i.axis == axis]
        out[axis] = (sum(i.ok for i in mine), len(mine))
    return out


def table(items: list[Item], questions: int, people: int) -> str:
    rows = [
        f"| {axis} | {'fails CI below 100%' if axis in STRICT else 'reported'} | "
        f"{met:,} / {n:,} | {100 * met / n if n else 100:.1f}% |"
        for axis, (met, n) in score(items).items()
    ]
    return "\n".join(
        [
            f"{questions} questions, {people} people, {len(items):,} rubric items checked.",
            "",
            "| axis | rule | met | score |",
            "| --- | --- | ---: | ---: |",
            *rows,
        ]
    )
