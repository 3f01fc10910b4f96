"""Records: pure functions from stored FHIR resources to the views the tools return.

No ``mcp`` here: every view is usable as a library and testable without a server. Each public
function takes a ``Reader`` and keyword-only arguments, and returns an ``Answer`` (a pydantic
model whose ``render()`` gives a plain-text rendering). The reader is a ``Scope`` -- one period of
records and, optionally, one person, as the server builds it from the person's consent -- or a
plain ``healthlocker.store.Vault`` (all records of everyone). What a scope left out is in the
answer's ``withheld``.

Every name loads on first use (``healthlocker._lazy``): a server lists its tools without
importing the views, and a caller pays only for the modules it uses.
"""

from typing import TYPE_CHECKING

from healthlocker._lazy import lazy_attributes

if TYPE_CHECKING:
    from healthlocker.records._claim_views import (
        ClaimsSummary,
        ClaimTotals,
        RecentClaim,
        TypeTotals,
        YearTotals,
    )
    from healthlocker.records._clinical import (
        ConditionItem,
        ConditionList,
        EncounterItem,
        EncounterList,
        ImmunizationItem,
        ImmunizationList,
        list_conditions,
        list_encounters,
        list_immunizations,
    )
    from healthlocker.records._common import (
        Reader,
        RecordText,
        SourceCopy,
        SourceRef,
        clean,
        record_text,
    )
    from healthlocker.records._conditions import (
        ConditionOverview,
        ConditionOverviewItem,
        MeasureView,
        MedicationUse,
        Reading,
        condition_overview,
    )
    from healthlocker.records._coverage import CoverageView, explain_coverage
    from healthlocker.records._documents import (
        DocumentItem,
        DocumentList,
        DocumentPage,
        Mention,
        SectionItem,
        list_documents,
        read_document,
    )
    from healthlocker.records._flags import ReferenceRange
    from healthlocker.records._glossary import GlossaryEntry, find_terms, lookup
    from healthlocker.records._glucose import (
        GlucoseDay,
        GlucoseStats,
        GlucoseTargets,
        TimeInRanges,
        glucose_stats,
    )
    from healthlocker.records._labresult import LabResult
    from healthlocker.records._labs import LabResults, LabTest, list_labs
    from healthlocker.records._meds import AllergyItem, MedicationItem, MedicationsView, get_meds
    from healthlocker.records._metrics import named_metrics
    from healthlocker.records._plans import PlanCopays, PlanEstimate, PlanOption
    from healthlocker.records._policies import CoverageEntry, CoveragePeriod
    from healthlocker.records._scope import Scope
    from healthlocker.records._search import SearchHit, SearchResults, search_records
    from healthlocker.records._summary import (
        HealthSummary,
        SummaryAllergy,
        SummaryCondition,
        SummaryLab,
        SummaryMedication,
        health_summary,
    )
    from healthlocker.records._trends import latest_vitals, summarize_trends
    from healthlocker.records._trendview import (
        Measurement,
        PreviousPeriod,
        TrendPoint,
        TrendStats,
        TrendView,
        VitalSign,
    )
    from healthlocker.records._view import Answer, PersonLine, Withheld

__getattr__ = lazy_attributes(
    __name__,
    {
        "ConditionItem": "_clinical",
        "ConditionList": "_clinical",
        "EncounterItem": "_clinical",
        "EncounterList": "_clinical",
        "ImmunizationItem": "_clinical",
        "ImmunizationList": "_clinical",
        "list_conditions": "_clinical",
        "list_encounters": "_clinical",
        "list_immunizations": "_clinical",
        "Reader": "_common",
        "RecordText": "_common",
        "SourceCopy": "_common",
        "SourceRef": "_common",
        "clean": "_common",
        "record_text": "_common",
        "ConditionOverview": "_conditions",
        "ConditionOverviewItem": "_conditions",
        "MeasureView": "_conditions",
        "MedicationUse": "_conditions",
        "Reading": "_conditions",
        "condition_overview": "_conditions",
        "ClaimsSummary": "_claim_views",
        "ClaimTotals": "_claim_views",
        "CoverageView": "_coverage",
        "RecentClaim": "_claim_views",
        "TypeTotals": "_claim_views",
        "YearTotals": "_claim_views",
        "explain_coverage": "_coverage",
        "DocumentItem": "_documents",
        "DocumentList": "_documents",
        "DocumentPage": "_documents",
        "Mention": "_documents",
        "SectionItem": "_documents",
        "list_documents": "_documents",
        "read_document": "_documents",
        "ReferenceRange": "_flags",
        "GlossaryEntry": "_glossary",
        "find_terms": "_glossary",
        "lookup": "_glossary",
        "GlucoseDay": "_glucose",
        "GlucoseStats": "_glucose",
        "GlucoseTargets": "_glucose",
        "TimeInRanges": "_glucose",
        "glucose_stats": "_glucose",
        "LabResult": "_labresult",
        "LabResults": "_labs",
        "LabTest": "_labs",
        "list_labs": "_labs",
        "AllergyItem": "_meds",
        "MedicationItem": "_meds",
        "MedicationsView": "_meds",
        "get_meds": "_meds",
        "named_metrics": "_metrics",
        "PlanCopays": "_plans",
        "PlanEstimate": "_plans",
        "PlanOption": "_plans",
        "CoverageEntry": "_policies",
        "CoveragePeriod": "_policies",
        "Scope": "_scope",
        "SearchHit": "_search",
        "SearchResults": "_search",
        "search_records": "_search",
        "HealthSummary": "_summary",
        "SummaryAllergy": "_summary",
        "SummaryCondition": "_summary",
        "SummaryLab": "_summary",
        "SummaryMedication": "_summary",
        "health_summary": "_summary",
        "latest_vitals": "_trends",
        "summarize_trends": "_trends",
        "Measurement": "_trendview",
        "PreviousPeriod": "_trendview",
        "TrendPoint": "_trendview",
        "TrendStats": "_trendview",
        "TrendView": "_trendview",
        "VitalSign": "_trendview",
        "Answer": "_view",
        "PersonLine": "_view",
        "Withheld": "_view",
    },
)

__all__ = [
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
