"""The records package's public surface: what it exports, and what every view function shares."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

import healthlocker.records as records
from healthlocker.errors import ArgumentError
from healthlocker.store import StoredResource

EXPORTED = [
    "AllergyItem",
    "Answer",
    "ClaimTotals",
    "ClaimsSummary",
    "ConditionItem",
    "ConditionList",
    "ConditionOverview",
    "ConditionOverviewItem",
    "CoverageEntry",
    "CoveragePeriod",
    "CoverageView",
    "DocumentItem",
    "DocumentList",
    "DocumentPage",
    "EncounterItem",
    "EncounterList",
    "GlossaryEntry",
    "GlucoseDay",
    "GlucoseStats",
    "GlucoseTargets",
    "HealthSummary",
    "ImmunizationItem",
    "ImmunizationList",
    "LabResult",
    "LabResults",
    "LabTest",
    "MeasureView",
    "Measurement",
    "MedicationItem",
    "MedicationUse",
    "MedicationsView",
    "Mention",
    "PersonLine",
    "PlanCopays",
    "PlanEstimate",
    "PlanOption",
    "PreviousPeriod",
    "Reader",
    "Reading",
    "RecentClaim",
    "RecordText",
    "ReferenceRange",
    "Scope",
    "SearchHit",
    "SearchResults",
    "SectionItem",
    "SourceCopy",
    "SourceRef",
    "SummaryAllergy",
    "SummaryCondition",
    "SummaryLab",
    "SummaryMedication",
    "TimeInRanges",
    "TrendPoint",
    "TrendStats",
    "TrendView",
    "TypeTotals",
    "VitalSign",
    "Withheld",
    "YearTotals",
    "clean",
    "condition_overview",
    "explain_coverage",
    "find_terms",
    "get_meds",
    "glucose_stats",
    "health_summary",
    "latest_vitals",
    "list_conditions",
    "list_documents",
    "list_encounters",
    "list_immunizations",
    "list_labs",
    "lookup",
    "named_metrics",
    "read_document",
    "record_text",
    "search_records",
    "summarize_trends",
]

# The view functions: (function, the arguments it needs besides the reader).
VIEWS: list[tuple[Callable[..., Any], dict[str, Any]]] = [
    (records.list_labs, {}),
    (records.get_meds, {}),
    (records.explain_coverage, {}),
    (records.summarize_trends, {"metric": "body_weight"}),
    (records.list_conditions, {}),
    (records.list_immunizations, {}),
    (records.list_encounters, {}),
    (records.search_records, {"query": "asthma"}),
    (records.health_summary, {}),
    (records.latest_vitals, {}),
    (records.list_documents, {}),
    (records.condition_overview, {}),
]
IDS = [f.__name__ for f, _ in VIEWS]


class EmptyReader:
    def resources(self, resource_type: str, **_: Any) -> list[StoredResource]:
        return []


def test_all_is_pinned_and_sorted() -> None:
    assert records.__all__ == EXPORTED
    assert records.__all__ == sorted(records.__all__)
    assert all(hasattr(records, name) for name in records.__all__)


def test_every_view_function_is_exported() -> None:
    exported = {getattr(records, name) for name in records.__all__}
    assert {f for f, _ in VIEWS} <= exported


@pytest.mark.parametrize(("view", "needs"), VIEWS, ids=IDS)
def test_view_functions_take_a_reader_then_keywords_and_no_window(
    view: Callable[..., Any], needs: dict[str, Any]
) -> None:
    """The period and the person come only in the reader (a Scope): no view takes them as
    arguments, so none can be called with, or forget, a window of its own."""
    params = list(inspect.signature(view).parameters.values())
    assert params[0].name == "reader"
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[1:])
    assert "window_start" not in {p.name for p in params}
    assert "patient" not in {p.name for p in params}
    with pytest.raises(TypeError):
        view(EmptyReader(), **needs, window_start="2024-01-01")


@pytest.mark.parametrize(("view", "needs"), [v for v in VIEWS if v[0] is not records.latest_vitals])
def test_every_view_answers_with_what_its_scope_withheld(
    view: Callable[..., Any], needs: dict[str, Any]
) -> None:
    assert view(EmptyReader(), **needs).withheld is None  # nothing to leave out
    scope = records.Scope(EmptyReader(), window_start="2024-01-01", patient="p1")
    answer = view(scope, **needs)
    assert isinstance(answer, records.Answer)
    assert answer.withheld is None


@pytest.mark.parametrize(("view", "needs"), VIEWS, ids=IDS)
def test_views_render_short_text(view: Callable[..., Any], needs: dict[str, Any]) -> None:
    result = view(EmptyReader(), **needs)
    for item in result if isinstance(result, list) else [result]:
        assert isinstance(item, BaseModel)
        assert isinstance(item.render(), str)
        assert len(item.render().splitlines()) <= 12


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"window_start": "2024/01/31"}, "ISO date like 2024-01-31"),
        ({"window_start": "2024-02-30"}, "ISO date like 2024-01-31"),
        ({"patient": "a/b"}, "Patient id like"),
    ],
)
@pytest.mark.parametrize(("view", "needs"), VIEWS, ids=IDS)
def test_every_view_rejects_bad_dates_and_patients_alike(
    view: Callable[..., Any], needs: dict[str, Any], bad: dict[str, Any], message: str
) -> None:
    with pytest.raises(ArgumentError, match=message):
        view(records.Scope(EmptyReader(), **bad), **needs)


@pytest.mark.parametrize(
    ("view", "needs"),
    [(f, n) for f, n in VIEWS if "until" in inspect.signature(f).parameters],
    ids=[f.__name__ for f, _ in VIEWS if "until" in inspect.signature(f).parameters],
)
def test_since_after_until_is_one_error_everywhere(
    view: Callable[..., Any], needs: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="since must be on or before until"):
        view(EmptyReader(), **needs, since="2024-02-01", until="2024-01-01")


def test_records_never_imports_mcp() -> None:
    code = (
        "import sys, healthlocker.records as r\n"
        "[getattr(r, name) for name in r.__all__]\n"  # each name loads on first use
        "print(any(m.split('.')[0] == 'mcp' for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
