"""What a tool, a prompt and a resource are, declared once: the specs everything else reads."""

from __future__ import annotations

import importlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any, cast

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from healthlocker.records import Answer, Scope

SCOPE_PREFIX = "read:"
CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """How many tokens *text* is, by the project's one rule: a quarter of its characters,
    rounded up. No model's own tokenizer (each counts differently, and none installs without
    downloading its vocabulary); JSON punctuation makes real counts of structured content
    somewhat higher, so budgets leave room."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


Patient = Annotated[
    str | None,
    Field(
        description="Whose records: a person's id as an answer's `person` names them "
        "(`person-2`), one of their Patient ids, or `owner`; default: the vault's owner. "
        "Needed only when the vault holds several people"
    ),
]

# Argument values the audit keeps verbatim; any other text is replaced by its length, since an
# assistant may echo record text (a test name, a question) into an argument.
_KEEP = frozenset({"active", "all", "day", "week", "month", "year"})
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Arguments(BaseModel):
    """A tool's validated arguments: flat fields, each with a description and its limits.

    The one object a call is made of: the view function's keywords, the view cache's key and
    (redacted) the audit entry all come from it. ``patient`` chooses the person the call's
    scope reads, so it never reaches the view function as an argument.
    """

    # Built on first use: at start-up the SDK reads only the fields, to publish them.
    model_config = ConfigDict(frozen=True, defer_build=True)

    patient: Patient = None

    def view_arguments(self) -> dict[str, Any]:
        """The keyword arguments of the view function (everything but the person)."""
        return {name: getattr(self, name) for name in type(self).model_fields if name != "patient"}

    def key(self) -> str:
        """Every argument, in one string: equal for equal calls, different otherwise."""
        return self.model_dump_json()

    def audited(self) -> dict[str, Any]:
        """The arguments as the audit keeps them: no free text, lists as their length."""
        out: dict[str, Any] = {}
        for name, value in self.model_dump(mode="json").items():
            if isinstance(value, str) and not (value in _KEEP or _DAY.match(value)):
                out[name] = f"<text, {len(value)} chars>"
            elif isinstance(value, list):
                out[name] = f"<{len(value)} items>"
            else:
                out[name] = value
        return out


class ChartArguments(Arguments):
    """The arguments of a tool whose result has a chart (``healthlocker.charts``): ``chart``
    asks for it as a picture. Like ``patient``, ``chart`` never reaches the view function, and
    the view it draws is the one the call built (same key, same cached answer)."""

    chart: Annotated[
        bool,
        Field(
            description="Also return the chart as a PNG image (given unasked to a client that "
            "cannot show the chart itself)"
        ),
    ] = False

    def view_arguments(self) -> dict[str, Any]:
        arguments = super().view_arguments()
        del arguments["chart"]
        return arguments

    def key(self) -> str:
        return self.model_dump_json(exclude={"chart"})

    def charted(self) -> bool:
        """Whether the call is the one its chart is for (e.g. one lab test's history), so a
        client that cannot show the chart gets it as a picture unasked."""
        return True

    def picture(self, shown: bool) -> bool:
        """Whether the result goes with its chart as a PNG: asked for, or the call is the
        chart's and the client cannot show the chart (*shown* False)."""
        return self.chart or (self.charted() and not shown)


OUTPUT_SCHEMAS = "output_schemas.json"


@cache
def output_schemas() -> dict[str, dict[str, Any]]:
    """Each tool's published output schema, by tool name: the JSON Schema the SDK derives from
    the tool's answer model, kept in ``output_schemas.json`` beside this module (a test checks
    it equals the models' own, and ``UPDATE_SNAPSHOT=1`` rewrites it). Read from the file so a
    server lists its tools without importing ``records`` or building 12 schemas at start-up."""
    text = resources.files(__package__).joinpath(OUTPUT_SCHEMAS).read_text(encoding="utf-8")
    return cast(dict[str, dict[str, Any]], json.loads(text))


@dataclass(frozen=True)
class ToolSpec:
    """One tool: everything the server, the consent prompt and page, OAuth and the docs say
    about it. Adding a tool is one of these, one view function in ``records`` and tests.

    The view function and the answer model are named, not imported: ``records`` is imported on
    a tool's first call (``view``, ``output``), not when a server starts and lists its tools.
    """

    name: str
    title: str
    purpose: str  # what it reads, in the person's words: the consent prompt and page show it
    description: str  # for the model: what it returns and how to ask
    input: type[Arguments]
    view_name: str  # the view function in ``healthlocker.records``
    output_name: str  # the model it returns, in ``healthlocker.records``
    # The arguments a server answers once at start-up, so its first calls find warm caches
    # (or what gives them, on first use: ``warm_calls``).
    warm: tuple[dict[str, Any], ...] | Callable[[], tuple[dict[str, Any], ...]] = ({},)
    # What the tool's default call may cost a model, in tokens (``estimate_tokens``), in each
    # channel on its own: the text, and the structured content as compact JSON.
    budget: int = 1_500
    # The default call: every argument's default, and a value for those that have none.
    default_call: dict[str, Any] = field(default_factory=dict)

    @property
    def view(self) -> Callable[..., Answer]:
        """The view function: ``(scope, **input.view_arguments()) -> output``."""
        return cast("Callable[..., Answer]", _records(self.view_name))

    @property
    def output(self) -> type[Answer]:
        """The model the view returns (its structured content, schema ``output_schema``)."""
        return cast("type[Answer]", _records(self.output_name))

    @property
    def output_schema(self) -> dict[str, Any]:
        """The output schema the server publishes for this tool."""
        return output_schemas()[self.name]

    def warm_calls(self) -> tuple[dict[str, Any], ...]:
        """The arguments of the calls a server answers at start-up (``warm``)."""
        return self.warm() if callable(self.warm) else self.warm

    @property
    def scope(self) -> str:
        """The OAuth scope that lets a token call this tool (e.g. ``read:list_labs``)."""
        return SCOPE_PREFIX + self.name

    def answer(self, scope: Scope, args: Arguments) -> Answer:
        """The view of *args* over what *scope* lets the call read."""
        return self.view(scope, **args.view_arguments())


def _records(name: str) -> Any:
    return getattr(importlib.import_module("healthlocker.records"), name)


@dataclass(frozen=True)
class PromptSpec:
    """One prompt: a finished message a person would send, built from the tools it reads
    (each read consented and audited as that tool's call)."""

    name: str
    title: str
    description: str
    reads: tuple[str, ...]  # the tools whose data it embeds


@dataclass(frozen=True)
class ResourceSpec:
    """One resource: a text the client reads, built from the tools it reads."""

    uri: str
    name: str
    title: str
    description: str
    reads: tuple[str, ...]
