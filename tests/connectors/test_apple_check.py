"""Validation once per shape: the checker's verdict is always fhir.resources' verdict."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from bench.gen_apple import write as generate
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.apple_helpers import SAMPLE_XML
from healthlocker.connectors.apple import _check as _apple_check
from healthlocker.connectors.apple._check import Checker
from healthlocker.connectors.apple._reader import produce
from healthlocker.errors import ValidationError
from healthlocker.store import validate_resource


@pytest.fixture(scope="module")
def resources(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Resources of every kind the importer builds: the real samples and a generated export."""
    generated = tmp_path_factory.mktemp("check") / "export.xml"
    generate(generated, 5)  # about eight days
    return [r for path in [*SAMPLE_XML, generated] for _, r in produce(path, None, {})]


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaves(v, (*path, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaves(v, (*path, i))]
    return [path]


def _verdict(check: Any, resource: dict[str, Any]) -> bool:
    try:
        check(resource, where="here")
    except ValidationError:
        return False
    return True


# Values that are valid in some places and not in others, near each rule's edges.
TRICKY: list[Any] = [
    None, "", " ", "x", "a b", "ah-" + "a" * 70, "ah-0123", 0, -1, 1.5, 2**31 - 1, 2**31,
    2**53, float("nan"), float("inf"), True, False, [], {}, {"x": 1}, "2024-02-29",
    "2023-02-29", "2024-13-01", "0000-01-01", "2024-01-01T10:00:00-08:00",
    "2024-01-01T24:00:00+01:00", "2024-01-01T10:00:60+01:00", "2024-01-01T10:00:00+14:00",
    "2024-01-01T10:00:00+14:30", "2024-01-01T10:00:00", "2024-01-01T10:00:00Z",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_a_changed_leaf_is_accepted_exactly_when_fhir_resources_accepts_it(
    resources: list[dict[str, Any]], data: st.DataObject
) -> None:
    original = data.draw(st.sampled_from(resources))
    path = data.draw(st.sampled_from(_leaves(original)))
    changed = copy.deepcopy(original)
    node = changed
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = data.draw(st.sampled_from(TRICKY))
    check = Checker()
    check(original, where="template")  # its shape is known now
    assert _verdict(check, changed) == _verdict(validate_resource, changed)


def test_each_shape_is_validated_in_full_once(
    resources: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    def counting(resource: dict[str, Any], *, where: str) -> str:
        seen.append(where)
        return validate_resource(resource, where=where)

    monkeypatch.setattr(_apple_check, "validate_resource", counting)
    check = Checker()
    for r in resources:
        check(r, where=r["id"])
    assert len(seen) == check.full == len(check.known) < len(resources) / 3
    for r in resources:  # the same again: nothing new
        check(r, where=r["id"])
    assert len(seen) == check.full


def test_a_leaf_outside_its_rule_is_validated_in_full_with_its_place(
    resources: list[dict[str, Any]],
) -> None:
    check = Checker()
    day = next(r for r in resources if "effectiveDateTime" in r and "valueQuantity" in r)
    check(day, where="day 1")
    full = check.full
    bad_leaves = (("effectiveDateTime", "2024-02-30"), ("valueQuantity", {"value": float("nan")}))
    for field, value in bad_leaves:
        bad = {**day, field: value}
        with pytest.raises(ValidationError, match="day 2: invalid Observation"):
            check(bad, where="day 2")
        full += 1
        assert check.full == full
