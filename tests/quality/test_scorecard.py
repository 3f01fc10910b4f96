"""The patient-question scorecard: questions people really ask, the calls an assistant makes for
them, rubric items checked on the tool outputs alone (see ``rubric``). Accuracy and safety must
be 100%; the other axes are reported. ``HEALTHLOCKER_WRITE_QUALITY=1`` writes the table into
docs/quality.md (``scripts/quality`` does it)."""

from __future__ import annotations

import os
import re

import pytest

from helpers import ROOT
from quality.conftest import Scorecard
from quality.questions import QUESTIONS
from quality.rubric import AXES, STRICT, score, table

DOCS = ROOT / "docs" / "quality.md"
START, END = "<!-- scorecard: start -->", "<!-- scorecard: end -->"


def test_the_bank_is_large_and_each_question_is_asked() -> None:
    assert len(QUESTIONS) >= 80
    assert len({q.qid for q in QUESTIONS}) == len(QUESTIONS)


def test_the_cohort_is_the_samples_and_ten_more(scorecard: Scorecard) -> None:
    kinds = [p.kind for p in scorecard.people]
    assert kinds.count("synthea") == 6 and kinds.count("bluebutton") == 1
    assert len(scorecard.people) - 1 >= 10  # beyond the Blue Button sample, 13 patients
    unasked = [q for q, who in scorecard.applies.items() if not who]
    assert unasked == []


@pytest.mark.parametrize("qid", [q.qid for q in QUESTIONS])
def test_accuracy_and_safety_are_whole(scorecard: Scorecard, qid: str) -> None:
    failed = [
        f"{i.person}: [{i.axis}] {i.what} {i.detail}".strip()
        for i in scorecard.items
        if i.question == qid and i.axis in STRICT and not i.ok
    ]
    assert failed == []


def test_budgets_hold_for_every_default_call(scorecard: Scorecard) -> None:
    over = [
        f"{i.person}: {i.question[7:]} {i.detail}"
        for i in scorecard.items
        if i.question.startswith("budget-") and "budget" in i.what and not i.ok
    ]
    assert over == []


# Items held on every answer whatever their axis (docs/quality.md, "The rule"): each channel
# stands alone, so given only the text an assistant can still name the record of each fact (the
# documents and long-term conditions answers once could not); and the health summary names no
# one, not even through a file named after the person, its import's default label (every
# Synthea sample is one).
HELD = ("the text cites every record the structure cites", "no name or address")


@pytest.mark.parametrize("what", HELD)
def test_items_held_on_every_answer(scorecard: Scorecard, what: str) -> None:
    missed = [
        f"{i.person}: {i.question} {i.detail}".strip()
        for i in scorecard.items
        if i.what == what and not i.ok
    ]
    assert missed == []


def test_the_table(scorecard: Scorecard) -> None:
    text = table(scorecard.items, len(QUESTIONS), len(scorecard.people))
    if os.environ.get("HEALTHLOCKER_WRITE_QUALITY") == "1":
        doc = DOCS.read_text(encoding="utf-8")
        block = f"{START}\n{text}\n{_misses(scorecard)}{END}"
        DOCS.write_text(re.sub(f"{START}.*?{END}", lambda _: block, doc, flags=re.S))
    scores = score(scorecard.items)
    assert set(scores) == set(AXES)
    assert all(scores[axis][0] == scores[axis][1] for axis in STRICT)


def _misses(scorecard: Scorecard) -> str:
    """The items not met, on the axes that are reported rather than enforced."""
    missed = sorted({(i.axis, i.question, i.what, i.person) for i in scorecard.items if not i.ok})
    if not missed:
        return "\nEvery item is met.\n"
    lines = ["", "Items not met (reported axes):", ""]
    lines += [f"- {axis}, {q}: {what} ({who})" for axis, q, what, who in missed]
    return "\n".join(lines) + "\n"
