"""The views' JSON Schemas are written to be cheap to check and portable: a field that may be
None is its one other type and optional (answers leave such fields out instead of sending a
null), nested views are inline instead of through ``$ref``; otherwise they accept exactly what
pydantic's own form accepts. Every answer's structure fits its schema, and the schemas the
server publishes pass the MCP Inspector's portability rules."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import BaseModel, create_model

import healthlocker.records as records
from healthlocker.records._view import View, without_null

VIEWS = [
    m
    for m in (getattr(records, name) for name in records.__all__)  # each loads on first use
    if isinstance(m, type) and issubclass(m, View) and m is not View
]


def _plain(model: type[BaseModel]) -> dict[str, Any]:
    """The schema pydantic writes for *model*'s fields, without the View hook at its level."""
    fields = {name: (f.annotation, f) for name, f in model.model_fields.items()}
    plain = create_model(f"Plain{model.__name__}", __base__=BaseModel, **fields)  # type: ignore[call-overload]
    return plain.model_json_schema()


def _property_schemas() -> list[tuple[str, dict[str, Any]]]:
    """(model.field, property schema as pydantic writes it) for every field of every view."""
    return [
        (f"{model.__name__}.{name}", prop)
        for model in VIEWS
        for name, prop in _plain(model)["properties"].items()
    ]


def _resolve(schema: Any, defs: dict[str, Any]) -> Any:
    """Every ``$ref`` replaced by its definition, the reference's own keywords kept."""
    if isinstance(schema, list):
        return [_resolve(item, defs) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        target = _resolve(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
        return {**target, **{k: _resolve(v, defs) for k, v in schema.items() if k != "$ref"}}
    return {k: _resolve(v, defs) for k, v in schema.items() if k != "$defs"}


PROPERTIES = _property_schemas()


def test_the_original_form_is_what_is_compared() -> None:
    forms = dict(PROPERTIES)
    assert "anyOf" in forms["LabResult.loinc"]  # pydantic's own form, before compaction
    assert len(forms) > 100


def test_every_returned_model_is_a_view() -> None:
    names = {m.__name__ for m in VIEWS}
    assert {"LabResults", "LabResult", "SourceRef", "TrendView", "HealthSummary"} <= names
    # Plan options are inputs (validated by pydantic, not by clients): left as they are.
    assert "PlanOption" not in names


def test_nullable_fields_are_their_one_type_and_optional() -> None:
    schema = records.LabResult.model_json_schema()
    loinc = schema["properties"]["loinc"]
    assert loinc == {
        "type": "string",
        "title": "Loinc",
        "description": "LOINC code, if the record has one",
    }
    assert "loinc" not in schema["required"]
    assert {"test", "flag", "source"} <= set(schema["required"])
    # A nested view that may be None: the view, inline, optional.
    reference_range = schema["properties"]["reference_range"]
    assert reference_range["type"] == "object"
    assert "kind" in reference_range["properties"]
    assert "reference_range" not in schema["required"]


def _lean(schema: Any) -> Any:
    """pydantic's form with every null choice taken out, as the views publish it."""
    if isinstance(schema, list):
        return [_lean(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _lean(v) for k, v in schema.items()}
    properties = out.get("properties")
    if isinstance(properties, dict):
        nullable = set()
        for name, prop in properties.items():
            properties[name], had = without_null(prop)
            if had:
                nullable.add(name)
        required = [n for n in out.get("required", []) if n not in nullable]
        if required:
            out["required"] = required
        else:
            out.pop("required", None)
    return out


@pytest.mark.parametrize("model", VIEWS, ids=lambda m: m.__name__)
def test_nested_views_are_inline_and_otherwise_unchanged(model: type[View]) -> None:
    schema = model.model_json_schema()
    assert "$ref" not in json.dumps(schema)
    assert "$defs" not in schema
    plain = _plain(model)
    expected = _lean(_resolve(plain, plain.get("$defs", {})))
    assert schema["properties"] == expected["properties"]
    assert schema.get("required") == expected.get("required")


@pytest.mark.parametrize(
    ("before", "after", "had"),
    [
        (
            {"anyOf": [{"type": "number", "minimum": 0}, {"type": "null"}], "title": "X"},
            {"type": "number", "minimum": 0, "title": "X"},
            True,
        ),
        (
            {"anyOf": [{"type": "null"}, {"type": "array", "items": {"type": "string"}}]},
            {"type": "array", "items": {"type": "string"}},
            True,
        ),
        (
            {"anyOf": [{"enum": ["a", "b"], "type": "string"}, {"type": "null"}], "default": None},
            {"enum": ["a", "b"], "type": "string"},
            True,
        ),
        (
            {"anyOf": [{"$ref": "#/$defs/SourceRef"}, {"type": "null"}]},
            {"$ref": "#/$defs/SourceRef"},
            True,
        ),
        ({"type": ["string", "null"]}, {"type": "string"}, True),
        (
            {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            False,
        ),
        ({"type": "string", "default": "x"}, {"type": "string", "default": "x"}, False),
    ],
)
def test_without_null(before: dict[str, Any], after: dict[str, Any], had: bool) -> None:
    assert without_null(before) == (after, had)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(value=JSON, index=st.integers(min_value=0))
def test_lean_form_accepts_exactly_what_the_original_accepts_but_null(
    value: Any, index: int
) -> None:
    name, original = PROPERTIES[index % len(PROPERTIES)]
    defs = {"$defs": {m.__name__: {"type": "object"} for m in VIEWS}}
    lean, nullable = without_null(original)
    before = Draft202012Validator({**original, **defs})
    after = Draft202012Validator({**lean, **defs})
    if value is None and nullable:
        assert before.is_valid(value) and not after.is_valid(value), name
    else:
        assert before.is_valid(value) == after.is_valid(value), name
