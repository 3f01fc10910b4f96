"""The scorecard's cohort and every answer it is scored on, built once per session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from healthlocker.catalogue import TOOLS
from quality.people import Key, Person, cohort, key, run_calls
from quality.questions import QUESTIONS, Question, budget_call, is_default
from quality.rubric import Card, Item, general, table


@dataclass
class Scorecard:
    people: list[Person]
    items: list[Item]
    applies: dict[str, list[str]]  # question → the people it was asked for


def _evaluate(people: list[Person]) -> Scorecard:
    wanted: dict[str, set[Key]] = {}
    plans: dict[tuple[str, str], list[tuple[str, dict, str | None]]] = {}
    for person in people:
        mine = wanted.setdefault(person.name, set())
        for spec in TOOLS:  # every tool's default call, for its budget
            if (args := budget_call(spec.name, person)) is not None:
                mine.add(key(spec.name, args, None))
        for q in QUESTIONS:
            calls = q.calls(person)
            if calls:
                plans[(q.qid, person.name)] = calls
                mine.update(key(*c) for c in calls)
    run_calls(people, wanted)
    items: list[Item] = []
    applies: dict[str, list[str]] = {q.qid: [] for q in QUESTIONS}
    by_name = {p.name: p for p in people}
    for q in QUESTIONS:
        for person in people:
            calls = plans.get((q.qid, person.name))
            if not calls:
                continue
            applies[q.qid].append(person.name)
            items += _score(q, by_name[person.name], calls)
    for person in people:  # budgets of every default call, whoever asks
        for spec in TOOLS:
            if (args := budget_call(spec.name, person)) is None:
                continue
            card = Card(f"budget-{spec.name}", person.name)
            general(card, person.result(spec.name, args), default=True)
            items += card.items
    return Scorecard(people, items, applies)


def _score(q: Question, person: Person, calls: list[tuple[str, dict, str | None]]) -> list[Item]:
    card = Card(q.qid, person.name)
    results = [person.result(*c) for c in calls]
    for call, result in zip(calls, results, strict=True):
        general(card, result, default=is_default(call))
    if all(not r.error for r in results):
        try:
            q.check(card, person, results)
        except (KeyError, IndexError, TypeError, AssertionError) as exc:
            card.check("accuracy", "the answer has the shape the question needs", False, repr(exc))
    return card.items


_BUILT: list[Scorecard] = []


@pytest.fixture(scope="session")
def scorecard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scorecard]:
    people = cohort(tmp_path_factory.mktemp("cohort"))
    try:
        card = _evaluate(people)
        _BUILT.append(card)
        yield card
    finally:
        for person in people:
            person.vault.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The scorecard's table per rubric axis, at the end of any run that built it."""
    for card in _BUILT:
        terminalreporter.section("patient-question scorecard")
        text = table(card.items, len(QUESTIONS), len(card.people))
        for line in text.splitlines():
            terminalreporter.write_line(line)
