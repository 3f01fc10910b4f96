"""The MCP tools: thin wrappers that parse input, pass the gate, call ``records``, shape output."""

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from healthlocker.errors import HealthLockerError
from healthlocker.records import (
    ConditionList,
    CoverageView,
    EncounterList,
    HealthSummary,
    ImmunizationList,
    LabResults,
    MedicationsView,
    PlanOption,
    SearchResults,
    TrendView,
    explain_coverage,
    get_meds,
    health_summary,
    list_conditions,
    list_encounters,
    list_immunizations,
    list_labs,
    search_records,
    summarize_trends,
)
from healthlocker.records._metrics import METRICS
from healthlocker.server._consent import Consent, client_of, consent_resolver, settle
from healthlocker.server._state import ServerState
from healthlocker.store import Vault

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)

Since = Annotated[
    date | None, Field(description="Only records dated on or after this day (YYYY-MM-DD)")
]
Until = Annotated[
    date | None, Field(description="Only records dated on or before this day (YYYY-MM-DD)")
]
Patient = Annotated[
    str | None,
    Field(
        description="Only this person's records (a Patient id, as in a result's `patient`); "
        "needed only when the vault holds several people"
    ),
]


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def answer(
    state: ServerState,
    ctx: Context,
    tool: str,
    arguments: dict[str, Any],
    call: Callable[[Vault, str | None], BaseModel],
    consent: Consent,
) -> CallToolResult:
    """Settle consent, run the call through the gate, and return structured + text content."""
    client = client_of(state, ctx)
    try:
        decision = settle(state, client=client, tool=tool, arguments=arguments, consent=consent)
        view = state.run(
            client=client, tool=tool, arguments=arguments, call=call, decision=decision
        )
    except PermissionError as exc:
        raise ToolError(str(exc)) from None
    except (ValueError, HealthLockerError) as exc:
        raise ToolError(str(exc)) from None
    text = view.render()  # type: ignore[attr-defined]
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=view.model_dump(mode="json"),
    )


def register_tools(server: MCPServer, state: ServerState) -> None:
    @server.tool(
        name="list_labs",
        title="Lab results",
        description=(
            "The person's lab results, newest first, each with its value, unit, reference range "
            "(the lab's own, or a typical adult range labelled as such), a flag (low, high, "
            "normal, abnormal, critical, unknown), what the test measures in plain language, "
            "and its source. Filter by test (LOINC code or any part of the name), dates, or "
            "abnormal_only. Explain results; never diagnose."
        ),
        annotations=READ_ONLY,
    )
    def list_labs_tool(
        ctx: Context,
        consent: Annotated[Consent, Resolve(consent_resolver(state, "list_labs", "lab results"))],
        test: Annotated[
            str | None,
            Field(
                description="LOINC code (e.g. 2345-7) or any part of the test name "
                "(e.g. 'glucose')",
                max_length=100,
            ),
        ] = None,
        since: Since = None,
        until: Until = None,
        abnormal_only: Annotated[
            bool, Field(description="Only results flagged low, high, abnormal or critical")
        ] = False,
        limit: Annotated[
            int,
            Field(
                description="At most this many results (1-200); `truncated` says if more matched",
                ge=1,
                le=200,
            ),
        ] = 50,
        patient: Patient = None,
    ) -> Annotated[CallToolResult, LabResults]:
        args = {
            "test": test,
            "since": _iso(since),
            "until": _iso(until),
            "abnormal_only": abnormal_only,
            "limit": limit,
            "patient": patient,
        }
        return answer(
            state,
            ctx,
            "list_labs",
            args,
            lambda v, w: list_labs(
                v,
                test=test,
                since=_iso(since),
                until=_iso(until),
                abnormal_only=abnormal_only,
                limit=limit,
                patient=patient,
                window_start=w,
            ),
            consent,
        )

    @server.tool(
        name="get_meds",
        title="Medications and allergies",
        description=(
            "The person's medications (name, RxNorm code, status, dosage in words, dates, "
            "prescriber, reason, source) and allergies (substance, reaction, criticality). "
            "status='active' (default) or 'all' for past ones too."
        ),
        annotations=READ_ONLY,
    )
    def get_meds_tool(
        ctx: Context,
        consent: Annotated[
            Consent, Resolve(consent_resolver(state, "get_meds", "medications and allergies"))
        ],
        status: Annotated[
            Literal["active", "all"],
            Field(description="'active' (default): current medications; 'all': past ones too"),
        ] = "active",
        patient: Patient = None,
    ) -> Annotated[CallToolResult, MedicationsView]:
        args = {"status": status, "patient": patient}
        return answer(
            state,
            ctx,
            "get_meds",
            args,
            lambda v, w: get_meds(v, status=status, patient=patient, window_start=w),
            consent,
        )

    @server.tool(
        name="explain_coverage",
        title="Insurance coverage and claims",
        description=(
            "What insurance the person has (member id shown as last 4 only) and what their "
            "claims cost: totals billed, paid by the plan and paid by the person, by claim type "
            "and year, and recent claims. Give `plans` to compare offered plans: each is "
            "estimated against the person's own claims history, with its arithmetic shown."
        ),
        annotations=READ_ONLY,
    )
    def explain_coverage_tool(
        ctx: Context,
        consent: Annotated[
            Consent,
            Resolve(consent_resolver(state, "explain_coverage", "insurance coverage and claims")),
        ],
        question: Annotated[
            str | None,
            Field(description="The person's question, for context (optional)", max_length=500),
        ] = None,
        plans: Annotated[
            list[PlanOption] | None,
            Field(
                description="Plans to compare (name, monthly premium, deductible, coinsurance, "
                "out-of-pocket max, copays)",
                max_length=10,
            ),
        ] = None,
        since: Since = None,
        until: Until = None,
        patient: Patient = None,
    ) -> Annotated[CallToolResult, CoverageView]:
        args = {
            "question": question,
            "plans": [p.name for p in plans or []],
            "since": _iso(since),
            "until": _iso(until),
            "patient": patient,
        }
        return answer(
            state,
            ctx,
            "explain_coverage",
            args,
            lambda v, w: explain_coverage(
                v,
                question=question,
                plans=plans,
                since=_iso(since),
                until=_iso(until),
                patient=patient,
                window_start=w,
            ),
            consent,
        )

    @server.tool(
        name="summarize_trends",
        title="Trends over time",
        description=(
            "How a measure changes over time: wearable and nutrition metrics (steps, "
            "heart_rate, resting_heart_rate, body_weight, sleep, active_energy, workouts, "
            "calories_in, blood_pressure, bmi, ...) or a lab (LOINC code or name). Returns "
            "points per day/week/month/year, min/max/mean/first/last, change, slope per month "
            "and a comparison with the previous period."
        ),
        annotations=READ_ONLY,
    )
    def summarize_trends_tool(
        ctx: Context,
        consent: Annotated[
            Consent,
            Resolve(
                consent_resolver(state, "summarize_trends", "trends of measurements over time")
            ),
        ],
        metric: Annotated[
            str,
            Field(
                description="e.g. body_weight, steps, sleep, blood_pressure, or a lab such as "
                "'2345-7' or 'cholesterol'",
                min_length=1,
                max_length=100,
            ),
        ],
        since: Since = None,
        until: Until = None,
        granularity: Annotated[
            Literal["day", "week", "month", "year"] | None,
            Field(description="Bucket size; chosen from the span when omitted"),
        ] = None,
        patient: Patient = None,
    ) -> Annotated[CallToolResult, TrendView]:
        args = {
            "metric": metric,
            "since": _iso(since),
            "until": _iso(until),
            "granularity": granularity,
            "patient": patient,
        }
        return answer(
            state,
            ctx,
            "summarize_trends",
            args,
            lambda v, w: summarize_trends(
                v,
                metric=metric,
                since=_iso(since),
                until=_iso(until),
                granularity=granularity,
                patient=patient,
                window_start=w,
            ),
            consent,
        )

    @server.tool(
        name="list_conditions",
        title="Conditions",
        annotations=READ_ONLY,
        description="The person's recorded conditions and problems, with status, "
        "onset and source. status='active' (default) or 'all'.",
    )
    def list_conditions_tool(
        ctx: Context,
        consent: Annotated[
            Consent, Resolve(consent_resolver(state, "list_conditions", "conditions"))
        ],
        status: Annotated[
            Literal["active", "all"],
            Field(description="'active' (default) or 'all' including resolved"),
        ] = "active",
        patient: Patient = None,
    ) -> Annotated[CallToolResult, ConditionList]:
        args = {"status": status, "patient": patient}
        return answer(
            state,
            ctx,
            "list_conditions",
            args,
            lambda v, w: list_conditions(v, status=status, patient=patient, window_start=w),
            consent,
        )

    @server.tool(
        name="list_immunizations",
        title="Immunizations",
        annotations=READ_ONLY,
        description="Vaccines the person received, newest first, with dates and source.",
    )
    def list_immunizations_tool(
        ctx: Context,
        consent: Annotated[
            Consent, Resolve(consent_resolver(state, "list_immunizations", "immunizations"))
        ],
        since: Since = None,
        patient: Patient = None,
    ) -> Annotated[CallToolResult, ImmunizationList]:
        args = {"since": _iso(since), "patient": patient}
        return answer(
            state,
            ctx,
            "list_immunizations",
            args,
            lambda v, w: list_immunizations(v, since=_iso(since), patient=patient, window_start=w),
            consent,
        )

    @server.tool(
        name="list_visits",
        title="Visits",
        annotations=READ_ONLY,
        description="The person's visits (encounters), newest first: date, kind, "
        "reason, provider and source.",
    )
    def list_visits_tool(
        ctx: Context,
        consent: Annotated[Consent, Resolve(consent_resolver(state, "list_visits", "visits"))],
        since: Since = None,
        until: Until = None,
        limit: Annotated[int, Field(description="At most this many (1-200)", ge=1, le=200)] = 20,
        patient: Patient = None,
    ) -> Annotated[CallToolResult, EncounterList]:
        args = {"since": _iso(since), "until": _iso(until), "limit": limit, "patient": patient}
        return answer(
            state,
            ctx,
            "list_visits",
            args,
            lambda v, w: list_encounters(
                v,
                since=_iso(since),
                until=_iso(until),
                limit=limit,
                patient=patient,
                window_start=w,
            ),
            consent,
        )

    @server.tool(
        name="search_records",
        title="Search records",
        annotations=READ_ONLY,
        description="Find records by words in their names across conditions, "
        "medications, labs and observations, procedures, immunizations, allergies "
        "and visits.",
    )
    def search_records_tool(
        ctx: Context,
        consent: Annotated[
            Consent, Resolve(consent_resolver(state, "search_records", "searching all records"))
        ],
        query: Annotated[
            str,
            Field(
                description="Words to look for, e.g. 'asthma' or 'statin'",
                min_length=2,
                max_length=100,
            ),
        ],
        limit: Annotated[
            int, Field(description="At most this many hits (1-100)", ge=1, le=100)
        ] = 20,
        patient: Patient = None,
    ) -> Annotated[CallToolResult, SearchResults]:
        args = {"query": query, "limit": limit, "patient": patient}
        return answer(
            state,
            ctx,
            "search_records",
            args,
            lambda v, w: search_records(
                v, query=query, limit=limit, patient=patient, window_start=w
            ),
            consent,
        )

    @server.tool(
        name="health_summary",
        title="Health summary",
        annotations=READ_ONLY,
        description="A short overview: age band and sex, active conditions, active "
        "medications, allergies, latest vital signs and recent lab dates, each with "
        "its source. No name, address or identifiers.",
    )
    def health_summary_tool(
        ctx: Context,
        consent: Annotated[
            Consent, Resolve(consent_resolver(state, "health_summary", "a health summary"))
        ],
        patient: Patient = None,
    ) -> Annotated[CallToolResult, HealthSummary]:
        args = {"patient": patient}
        return answer(
            state,
            ctx,
            "health_summary",
            args,
            lambda v, w: health_summary(v, patient=patient, window_start=w),
            consent,
        )

    _publish_without_revalidating(server)


def _publish_without_revalidating(server: MCPServer) -> None:
    """Keep each tool's output schema published, but stop the SDK validating every result
    back into the view it was dumped from.

    A tool's structured content is ``view.model_dump(mode="json")`` of a view that pydantic
    built and checked; the SDK would parse it into the same model again on every call (10 ms
    for 500 lab results, a third of such a call). Its ``FuncMetadata`` reads the field live and
    documents a published schema without a model as "advertised but not validated". Every
    test that calls a tool through the SDK's client still checks each result against the
    published schema.
    """
    for tool in server._tool_manager.list_tools():
        tool.fn_metadata.output_model = None


def warm_up(state: ServerState) -> None:
    """Build each tool's default view once, before a client waits for it.

    A remote-mode worker starts cold: its first calls would each decrypt and index the records
    they read, fill the catalog caches and build their serializers, while every other call
    waited behind them on the vault's lock. This pays for that at start-up, one view at a
    time (each under the lock, so a call arriving meanwhile waits for one view, not all of
    them). Nothing leaves the process, so nothing is audited.
    """
    steps: list[Callable[[Vault], BaseModel]] = [
        lambda v: list_labs(v),
        lambda v: get_meds(v, status="all"),
        lambda v: explain_coverage(v),
        lambda v: list_conditions(v, status="all"),
        lambda v: list_immunizations(v),
        lambda v: list_encounters(v),
        lambda v: health_summary(v),
        lambda v: search_records(v, query="warm-up"),
    ]
    steps += [lambda v, m=m: summarize_trends(v, metric=m) for m in METRICS]  # type: ignore[misc]
    for step in steps:
        try:
            view = state.using(step)
        except (HealthLockerError, ValueError):  # no such data, or the vault could not open
            continue
        view.model_dump(mode="json")
        view.render()  # type: ignore[attr-defined]
