"""What a tool, a prompt and a resource are, declared once: the specs everything else reads."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

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


@dataclass(frozen=True)
class ToolSpec:
    """One tool: everything the server, the consent prompt and page, OAuth and the docs say
    about it. Adding a tool is one of these, one view function in ``records`` and tests."""

    name: str
    title: str
    purpose: str  # what it reads, in the person's words: the consent prompt and page show it
    description: str  # for the model: what it returns and how to ask
    input: type[Arguments]
    view: Callable[..., Answer]  # (reader, **input.view_arguments()) -> output
    output: type[Answer]
    # The arguments a server answers once at start-up, so its first calls find warm caches.
    warm: tuple[dict[str, Any], ...] = ({},)
    # What the tool's default call may cost a model, in tokens (``estimate_tokens``), in each
    # channel on its own: the text, and the structured content as compact JSON.
    budget: int = 1_500
    # The default call: every argument's default, and a value for those that have none.
    default_call: dict[str, Any] = field(default_factory=dict)

    @property
    def scope(self) -> str:
        """The OAuth scope that lets a token call this tool (e.g. ``read:list_labs``)."""
        return SCOPE_PREFIX + self.name

    def answer(self, scope: Scope, args: Arguments) -> Answer:
        """The view of *args* over what *scope* lets the call read."""
        return self.view(scope, **args.view_arguments())


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
