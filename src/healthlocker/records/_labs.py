"""Lab results: laboratory Observations as plain results with ranges, flags and explanations.

Which Observations are lab results and how each becomes one is in ``_labrows``; how each value
is read and flagged is in ``_flags`` (following ``docs/lab-catalog.md``). Results are newest
first; what each test measures is said once per test (``LabResults.tests``).
"""

from __future__ import annotations

from datetime import date

from pydantic import Field

from healthlocker.errors import ArgumentError
from healthlocker.records._catalog import CRITICAL_NOTICE, search
from healthlocker.records._common import check_choice, check_count, check_span
from healthlocker.records._labresult import LabResult
from healthlocker.records._labrows import Query, lab_observations, rows
from healthlocker.records._scope import Scope, scoped
from healthlocker.records._text import Cites, count
from healthlocker.records._view import Answer, View

MAX_LIMIT = 200
DEFAULT_LIMIT = 20


class LabTest(View):
    """What one test measures, stated once for all its results."""

    loinc: str | None = Field(default=None, description="LOINC code of its results")
    test: str | None = Field(
        default=None, description="Its name as recorded, for results without a LOINC code"
    )
    name: str = Field(description="Its plain name")
    about: str = Field(description="What the test measures, in plain language")


class LabResults(Answer):
    """Lab results, newest first."""

    results: list[LabResult] = Field(description="Results, newest first, at most `limit`")
    tests: list[LabTest] = Field(
        default_factory=list,
        description="What each test in `results` measures, once per test: a result's test is "
        "the one with its `loinc` (or, without one, its `test` name); tests the catalog does "
        "not know are left out",
    )
    total: int = Field(description="How many results matched before the limit")
    truncated: bool = Field(description="True when more results matched than are shown")
    next_hint: str | None = Field(
        default=None, description="How to see the results that were left out"
    )

    def about(self, result: LabResult) -> str | None:
        """What *result*'s test measures, as ``tests`` states it."""
        return next((t.about for t in self.tests if (t.loinc or t.test) == result.key), None)

    def describe(self) -> str:
        if not self.results:
            return "Lab results: none match."
        dates = [r.date for r in self.results if r.date]
        span = f", from {min(dates)} to {max(dates)}" if len(set(dates)) > 1 else ""
        span = span or (f", from {dates[0]}" if dates else "")
        if self.truncated:
            head = f"Lab results: {self.total:,} match; the newest {len(self.results)}{span}."
        else:
            head = f"Lab results: {count(self.total, 'result')}{span}, newest first."
        lines = [head]
        if self.next_hint:
            lines.append(self.next_hint)
        return "\n".join([*lines, *self.lines()])

    def lines(self) -> list[str]:
        """The results by day, what each test measures, the critical notice and the legend:
        everything but how to ask for more (a prompt embeds these as they are)."""
        cite = Cites((r.source for r in self.results), (r.patient for r in self.results))
        labels = _labels(self.results)
        out: list[str] = []
        day = None
        for result in self.results:
            if result.date != day:
                day = result.date
                out.append(f"{day or 'Undated'}:")
            out.append("- " + result.line(cite, labels[result.key]) + cite.whose(result.patient))
        if self.tests:
            recorded: dict[str, set[str]] = {}
            for r in self.results:
                recorded.setdefault(r.key, set()).add(r.test)
            out.append("What the tests measure:")
            out.extend(f"- {_test_words(t, labels, recorded)}: {t.about}" for t in self.tests)
        critical = sum(r.flag == "critical" for r in self.results)
        if critical:
            out.append(f"{count(critical, 'result')} marked CRITICAL: {CRITICAL_NOTICE}")
        out.append(cite.legend())
        return out


def _labels(results: list[LabResult]) -> dict[str, str]:
    """Per test, the name its lines use: plain where the catalog knows it, with the LOINC code
    where two tests would otherwise read alike."""
    labels = {r.key: r.label for r in results}
    taken: dict[str, int] = {}
    for label in labels.values():
        taken[label.casefold()] = taken.get(label.casefold(), 0) + 1
    return {
        key: f"{label} ({key})" if taken[label.casefold()] > 1 and key != label else label
        for key, label in labels.items()
    }


def _test_words(test: LabTest, labels: dict[str, str], recorded: dict[str, set[str]]) -> str:
    key = test.loinc or test.test or ""
    label = labels.get(key, test.name)
    names = sorted(n for n in recorded.get(key, ()) if n.casefold() != label.casefold())
    extra = [f"LOINC {test.loinc}"] if test.loinc and test.loinc not in label else []
    extra += [f'recorded as "{name}"' for name in names]
    return f"{label} ({'; '.join(extra)})" if extra else label


def _tests(results: list[LabResult]) -> list[LabTest]:
    """Each test of *results* the catalog explains, once, in the order first shown."""
    out: dict[str, LabTest] = {}
    for r in results:
        if r.about is not None and r.key not in out:
            test = None if r.loinc else r.test
            out[r.key] = LabTest(loinc=r.loinc, test=test, name=r.label, about=r.about)
    return list(out.values())


@scoped
def list_labs(
    reader: Scope,
    *,
    test: str | None = None,
    since: str | date | None = None,
    until: str | date | None = None,
    abnormal_only: bool = False,
    limit: int = DEFAULT_LIMIT,
    sex: str | None = None,
) -> LabResults:
    """Laboratory results, newest first, optionally filtered by test, dates and flag.

    *sex* (``male``/``female``) picks sex-specific typical ranges; by default it is read from
    the Patient each result belongs to.
    """
    since, until = check_span(since, until)
    needle = _check_args(test, limit, sex)
    query = Query(
        needle=needle,
        known=frozenset(c for e in search(needle) for c in e.codes) if needle else frozenset(),
        sex=sex,
        abnormal_only=abnormal_only,
    )
    genders = {p.ref: p.resource.get("gender") for p in reader.lookup("Patient")}
    stored = lab_observations(
        reader, since, until, lambda item: any(True for _ in rows(item, query, genders))
    )
    found = [row for item in stored for row in rows(item, query, genders)]
    found.sort(key=lambda row: row[:3], reverse=True)
    results = [row[3] for row in found[:limit]]
    truncated = len(found) > limit
    return LabResults(
        results=results,
        tests=_tests(results),
        total=len(found),
        truncated=truncated,
        next_hint=_hint(results, len(found), limit, needle, abnormal_only) if truncated else None,
    )


def _check_args(test: str | None, limit: int, sex: str | None) -> str | None:
    check_count(limit, "limit", 1, MAX_LIMIT)
    if sex is not None:
        check_choice(sex, "sex", ("male", "female", "other", "unknown"))
    if test is None:
        return None
    needle = " ".join(str(test).lower().split())
    if not needle or len(needle) > 200:
        raise ArgumentError(
            "test must be a LOINC code like '2345-7' or part of a test name like 'glucose'"
        )
    return needle


def _hint(
    results: list[LabResult], total: int, limit: int, needle: str | None, abnormal: bool
) -> str:
    """How to see what was left out, in the tool's own arguments."""
    left = total - len(results)
    oldest = results[-1].date
    ways = []
    if oldest:
        same_day = sum(r.date == oldest for r in results)
        ways.append(
            f"call list_labs again with until={oldest} for older ones (the {same_day} shown "
            f"from {oldest} come again)"
        )
    if limit < MAX_LIMIT:
        ways.append(f"limit={min(MAX_LIMIT, total)} for up to {min(MAX_LIMIT, total)} at once")
    if needle is None:
        ways.append("test='glucose' (a test's name or LOINC code) for one test")
    if not abnormal:
        ways.append("abnormal_only=true for flagged results only")
    return f"{left:,} older results are not shown: " + "; ".join(ways) + "."
