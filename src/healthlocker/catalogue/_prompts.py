"""The prompts and the resource: each reads the data of catalogued tools, gated as they are."""

from __future__ import annotations

from healthlocker.catalogue._spec import PromptSpec, ResourceSpec

PROMPTS: tuple[PromptSpec, ...] = (
    PromptSpec(
        name="prepare_for_visit",
        title="Prepare for a visit",
        description="Questions to ask at an upcoming appointment, grounded in recent results, "
        "active medications, open conditions and how their measures have gone.",
        reads=("health_summary", "list_labs", "condition_overview"),
    ),
    PromptSpec(
        name="explain_my_note",
        title="Explain my note",
        description="A plain-language walk through a clinical note or report (the latest, or "
        "the one named): its text, the meanings of its terms, and what to ask about.",
        reads=("list_documents", "read_document"),
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
