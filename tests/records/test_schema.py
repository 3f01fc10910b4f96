"""The views' JSON Schemas are written to be cheap to check, and accept exactly what pydantic's
own form accepts: nullable fields as ``type: [T, "null"]`` instead of a two-way ``anyOf``, and
nested views inline instead of through ``$ref``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import BaseModel, create_model

import healthlocker.records as records
from healthlocker.records._view import View, compact_nullable

VIEWS = [
    m
    for m in vars(records).values()
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


def test_nullable_fields_are_one_type_list() -> None:
    schema = records.LabResult.model_json_schema()
    loinc = schema["properties"]["loinc"]
    assert loinc["type"] == ["string", "null"]
    assert "anyOf" not in loinc
    assert loinc["description"] == "LOINC code, if the record has one"
    # A nested view that may be null: anyOf the view (inline) or null.
    reference_range = schema["properties"]["reference_range"]
    assert "kind" in reference_range["anyOf"][0]["properties"]
    assert {"type": "null"} in reference_range["anyOf"]


@pytest.mark.parametrize("model", VIEWS, ids=lambda m: m.__name__)
def test_nested_views_are_inline_and_otherwise_unchanged(model: type[View]) -> None:
    schema = model.model_json_schema()
    assert "$ref" not in json.dumps(schema)
    assert "$defs" not in schema
    plain = _plain(model)
    expected = compact_nullable(_resolve(plain, plain.get("$defs", {})))
    assert schema["properties"] == expected["properties"]
    assert schema.get("required") == expected.get("required")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            {"anyOf": [{"type": "number", "minimum": 0}, {"type": "null"}], "title": "X"},
            {"type": ["number", "null"], "minimum": 0, "title": "X"},
        ),
        (
            {"anyOf": [{"type": "null"}, {"type": "array", "items": {"type": "string"}}]},
            {"type": ["array", "null"], "items": {"type": "string"}},
        ),
        # Not equivalent in the compact form: left alone.
        (
            {"anyOf": [{"enum": ["a", "b"], "type": "string"}, {"type": "null"}]},
            {"anyOf": [{"enum": ["a", "b"], "type": "string"}, {"type": "null"}]},
        ),
        (
            {"anyOf": [{"$ref": "#/$defs/SourceRef"}, {"type": "null"}]},
            {"anyOf": [{"$ref": "#/$defs/SourceRef"}, {"type": "null"}]},
        ),
        (
            {"anyOf": [{"type": "string"}, {"type": "integer"}]},
            {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        ),
    ],
)
def test_compact_nullable(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert compact_nullable(before) == after


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
def test_compact_form_accepts_exactly_what_the_original_accepts(value: Any, index: int) -> None:
    name, original = PROPERTIES[index % len(PROPERTIES)]
    defs = {"$defs": {m.__name__: {"type": "object"} for m in VIEWS}}
    before = Draft202012Validator({**original, **defs})
    after = Draft202012Validator({**compact_nullable(original), **defs})
    assert before.is_valid(value) == after.is_valid(value), name
