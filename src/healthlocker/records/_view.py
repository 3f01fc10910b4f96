"""The base of the models the tools return, and how their JSON Schema is written."""

from __future__ import annotations

import copy
from abc import abstractmethod
from typing import Any

from pydantic import BaseModel, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

# JSON Schema keywords that constrain one type only, so ``{"type": [T, "null"], k: v}`` accepts
# exactly what ``{"anyOf": [{"type": T, k: v}, {"type": "null"}]}`` accepts.
_ONE_TYPE_KEYWORDS = frozenset(
    {
        "type",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
    }
)


def compact_nullable(schema: Any) -> Any:
    """The same JSON Schema with ``anyOf: [{"type": T, ...}, {"type": "null"}]`` written as
    ``type: [T, "null"]``: it accepts the same values, and a client validating every result
    against it (the Python SDK does, with ``jsonschema``) no longer tries two subschemas, and
    builds an error for the first, for each nullable field. References are left as they are."""
    if isinstance(schema, list):
        return [compact_nullable(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: compact_nullable(value) for key, value in schema.items()}
    choices = out.get("anyOf")
    if "type" in out or not isinstance(choices, list) or len(choices) != 2:
        return out
    if {"type": "null"} not in choices:
        return out
    other = choices[1 - choices.index({"type": "null"})]
    kind = other.get("type") if isinstance(other, dict) else None
    if not isinstance(kind, str) or kind == "null" or not set(other) <= _ONE_TYPE_KEYWORDS:
        return out
    del out["anyOf"]
    return {**other, **out, "type": [kind, "null"]}


def _inline(schema: Any, handler: GetJsonSchemaHandler) -> Any:
    """*schema* with each ``$ref`` to another view replaced by a copy of its definition."""
    if isinstance(schema, list):
        return [_inline(item, handler) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        try:
            target = handler.resolve_ref_schema({"$ref": schema["$ref"]})
        except LookupError:  # not defined yet (a model that contains itself): keep the $ref
            return schema
        return {**copy.deepcopy(target), **{k: v for k, v in schema.items() if k != "$ref"}}
    return {key: _inline(value, handler) for key, value in schema.items()}


class View(BaseModel):
    """Base of the models the tools return.

    Clients may check every result against the tool's output schema (the Python SDK does,
    with ``jsonschema``), so the schema is written to be cheap to check and still accept
    exactly the same values: nullable fields as ``type: [T, "null"]``, and nested views inline
    instead of through ``$ref`` (each reference costs a lookup per value checked).
    """

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        own = handler.resolve_ref_schema(schema)
        properties = own.get("properties")
        if isinstance(properties, dict):
            own["properties"] = {
                name: _inline(compact_nullable(prop), handler) for name, prop in properties.items()
            }
        return schema


class Withheld(View):
    """What the answer leaves out: records outside the allowed period, or about someone else."""

    count: int = Field(description="How many records this answer leaves out")
    before: str | None = Field(
        description="First day of the period the person allowed; the records left out by it "
        "are older (or undated), and not ongoing"
    )
    by_kind: dict[str, int] = Field(description="How many of each kind of record were left out")
    other_people: int = Field(
        description="How many of them are about someone other than the person asked for"
    )
    note: str = Field(description="The same in words: pass it on, so none means none")


class PersonLine(View):
    """Whom an answer is about, when the vault holds records about several people."""

    id: str = Field(description="The person's id: pass it as `patient` to ask about them again")
    shown: str = Field(
        description="Who they are: the name the person gave them, else initials and birth year"
    )
    owner: bool = Field(
        description="True for the vault's owner (answers are about them unless `patient` "
        "chooses another)"
    )
    people_in_vault: int = Field(description="How many people the vault holds records about")
    note: str = Field(description="The same in words: pass it on, so no one is taken for another")


class Answer(View):
    """A tool's whole answer: its structure, and a text rendering complete on its own."""

    withheld: Withheld | None = Field(
        default=None,
        description="What the consent window or the person chosen left out; absent when nothing",
    )
    person: PersonLine | None = Field(
        default=None,
        description="Whom the answer is about, when the vault holds several people; absent "
        "when it holds one",
    )

    def render(self) -> str:
        """The text an assistant reads: the view's own words, then whom it is about (when the
        vault holds several people), then what was withheld."""
        lines = self.describe().split("\n")
        extra = [x.note for x in (self.person, self.withheld) if x is not None]
        lines[1:1] = extra
        return "\n".join(lines)

    @abstractmethod
    def describe(self) -> str:
        """The view in a few lines of plain text (the first one says what it holds)."""
