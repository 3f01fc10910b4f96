"""The base of the models the tools return, and how their JSON Schema is written."""

from __future__ import annotations

import copy
from abc import abstractmethod
from typing import Any

from pydantic import BaseModel, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


def without_null(schema: Any) -> tuple[Any, bool]:
    """A property's schema without its ``null`` choice, and whether it had one.

    Answers never hold a null (``Answer.structured`` leaves such fields out), so a field that
    may be None is published as its other type and left out of ``required``. One type per
    schema, no ``[T, "null"]`` lists and no two-way ``anyOf``: the form every client reads
    (some read ``type`` as one string, some translate schemas into a dialect without ``null``).
    """
    if not isinstance(schema, dict):
        return schema, False
    out = {k: v for k, v in schema.items() if not (k == "default" and v is None)}
    kind = out.get("type")
    if isinstance(kind, list) and "null" in kind:
        rest = [t for t in kind if t != "null"]
        out["type"] = rest[0] if len(rest) == 1 else rest
        return out, True
    choices = out.get("anyOf")
    if isinstance(choices, list) and {"type": "null"} in choices:
        rest = [c for c in choices if c != {"type": "null"}]
        del out["anyOf"]
        if len(rest) == 1 and isinstance(rest[0], dict):
            return {**rest[0], **out}, True
        return {**out, "anyOf": rest}, True
    return out, False


def _inline(schema: Any, handler: GetJsonSchemaHandler, depth: int = 0) -> Any:
    """*schema* with each ``$ref`` to another view replaced by a copy of its definition (and the
    references in that, a few levels down: views nest, they never contain themselves)."""
    if isinstance(schema, list):
        return [_inline(item, handler, depth) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema and depth < 8:
        try:
            target = handler.resolve_ref_schema({"$ref": schema["$ref"]})
        except LookupError:  # not defined yet (a model that contains itself): keep the $ref
            return schema
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return _inline({**copy.deepcopy(target), **rest}, handler, depth + 1)
    return {key: _inline(value, handler, depth) for key, value in schema.items()}


class View(BaseModel):
    """Base of the models the tools return.

    Clients may check every result against the tool's output schema (the Python SDK does,
    with ``jsonschema``), and some read only the schema's simplest forms, so it is written
    plain: a field that may be None is its one other type and optional (answers leave such
    fields out rather than send a null), and nested views are inline instead of through
    ``$ref`` (each reference costs a lookup per value checked, and not every client follows
    them).
    """

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        own = handler.resolve_ref_schema(schema)
        properties = own.get("properties")
        if isinstance(properties, dict):
            optional = set()
            lean = {}
            for name, prop in properties.items():
                plain, nullable = without_null(prop)
                if nullable:
                    optional.add(name)
                lean[name] = _inline(plain, handler)
            own["properties"] = lean
            required = [n for n in own.get("required", ()) if n not in optional]
            if required:
                own["required"] = required
            else:
                own.pop("required", None)
        return schema


class Withheld(View):
    """What the answer leaves out: records outside the allowed period, or about someone else."""

    count: int = Field(description="How many records this answer leaves out")
    before: str | None = Field(
        default=None,
        description="First day of the period the person allowed; the records left out by it "
        "are older (or undated), and not ongoing",
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

    patient: str | None = Field(
        default=None,
        description="Whom the answer is about (Patient/id) when every record in it is about one "
        "person; otherwise each record names its own",
    )
    origin: str | None = Field(
        default=None,
        description="The source (import label or linked API) every record cited here came "
        "from, when they all came from one; otherwise each `source` names its own `origin`",
    )
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
        """The view in plain text, complete on its own (the first line says what it holds)."""

    def structured(self) -> dict[str, Any]:
        """The structure a client gets: no nulls; the person, and the source the records came
        from, said once when every record in the answer shares them."""
        data: dict[str, Any] = self.model_dump(mode="json", exclude_none=True)
        _person_once(data)
        _origin_once(data)
        return data


def _sources(value: Any) -> list[dict[str, Any]]:
    """Every source reference (``{"resource", "origin"}``) anywhere in *value*."""
    if isinstance(value, list):
        return [s for item in value for s in _sources(item)]
    if not isinstance(value, dict):
        return []
    if isinstance(value.get("resource"), str) and "origin" in value:
        return [value]
    return [s for item in value.values() for s in _sources(item)]


def _origin_once(data: dict[str, Any]) -> None:
    refs = _sources({k: v for k, v in data.items() if k != "withheld"})
    origins = {ref["origin"] for ref in refs}
    if len(origins) != 1:
        return
    (data["origin"],) = origins
    for ref in refs:
        del ref["origin"]


def _person_once(data: dict[str, Any]) -> None:
    """Move ``patient`` from the items of *data*'s lists to *data* itself when they all name
    the same person (and *data* names no other)."""
    items = [
        item
        for value in data.values()
        if isinstance(value, list)
        for item in value
        if isinstance(item, dict)
    ]
    named = {item["patient"] for item in items if "patient" in item}
    if len(named) != 1:
        return
    (person,) = named
    if data.setdefault("patient", person) != person:
        return
    for item in items:
        item.pop("patient", None)
