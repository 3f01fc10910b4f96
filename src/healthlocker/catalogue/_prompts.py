"""The prompts and the resource: each reads the data of catalogued tools, gated as they are."""

from __future__ import annotations

from healthlocker.catalogue._spec import PromptSpec, ResourceSpec

PROMPTS: tuple[PromptSpec, ...] = (
    PromptSpec(
        name="prepare_for_visit",
        title="Prepare for a visit",
        description="Questions to ask at an upcoming appointment, grounded in recent results, "
        "active medications and open conditions.",
        reads=("health_summary", "list_labs"),
    ),
    PromptSpec(
        name="explain_my_labs",
        title="Explain my labs",
        description="A plain-language walk through recent lab results: what each test "
        "measures, whether it is in range, and what to ask about.",
        reads=("list_labs",),
    ),
)

RESOURCES: tuple[ResourceSpec, ...] = (
    ResourceSpec(
        uri="healthlocker://summary",
        name="health-summary",
        title="Health summary",
        description="A short overview of the person's health records (no name or identifiers)",
        reads=("health_summary",),
    ),
)
