"""What a tool, a prompt and a resource are, declared once: the specs everything else reads."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from healthlocker.records import Answer, Scope

SCOPE_PREFIX = "read:"

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
