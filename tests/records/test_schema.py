"""The views' JSON Schemas are written compactly, and accept exactly what pydantic's own form
accepts: nullable fields as ``type: [T, "null"]`` instead of a two-way ``anyOf``."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import BaseModel, create_model

import healthlocker.records as records
from healthlocker.records._common import View, compact_nullable

VIEWS = [
    m
    for m in vars(records).values()
    if isinstance(m, type) and issubclass(m, View) and m is not View
]


def _property_schemas() -> list[tuple[str, dict[str, Any]]]:
    """(model.field, property schema as pydantic writes it) for every field of every view."""
    out = []
    for model in VIEWS:
        fields = {name: (f.annotation, f) for name, f in model.model_fields.items()}
        plain = create_model(f"Plain{model.__name__}", __base__=BaseModel, **fields)  # type: ignore[call-overload]
        for name, prop in plain.model_json_schema()["properties"].items():
            out.append((f"{model.__name__}.{name}", prop))
    return out


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
    # A nested model that may be null keeps its reference.
    assert "anyOf" in schema["properties"]["reference_range"]


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
