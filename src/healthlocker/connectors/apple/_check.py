"""Validation of an Apple Health import's resources: once per shape, not once per resource.

Every resource of an import still passes :func:`store.validate_resource` (``fhir.resources``
R4B) or is shown to validate the same way: most of them differ from one already validated only
in a few *variable leaves*, the values that change from day to day. The others are built from
our own tables and from the record type, unit and workout kind, all of which stay in the
*shape*. So a resource's shape is the whole resource with each variable leaf replaced by the
FHIR type it must have, checked here as strictly as fhir.resources checks that type:

=====================================================  ======================================
where (any resource)                                   check (the FHIR primitive's rule)
=====================================================  ======================================
``id`` of the resource itself                          ``id``: ``[A-Za-z0-9\\-.]{1,64}``
``effectiveDateTime``; ``start`` and ``end`` of        ``dateTime``: ``YYYY-MM-DD`` or
``effectivePeriod`` and ``valuePeriod``                ``YYYY-MM-DDThh:mm:ss±hh:mm``, a real
                                                       calendar date and time, FHIR's offsets
``value`` of any ``valueQuantity``                     ``decimal``: a finite float (or int)
``valueInteger``                                       ``integer``: an int in 32 bits
=====================================================  ======================================

fhir.resources' validators for these types look at the value alone, and its model validators
(choice types, required elements, no nulls) look at which elements are present, never at the
values (see docs/apple-health.md, "Validation"). So two resources of the same shape, each of
whose variable leaves passes its check, validate alike: the first of each shape is validated
in full, and the rest are checked leaf by leaf, about twenty times faster. A leaf that fails
its check (a Python type or format this module does not vouch for) sends the resource to full
validation, whose error names the place. Every key, every other value and its Python type are
part of the shape, so nothing else can differ. The rules hold for any FHIR R4 resource, not
only for ours (the names above have one type wherever they appear).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from healthlocker.store import validate_resource

MAX_SHAPES = 4096  # past this many shapes (a hostile variety of types), validate in full
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# The dateTime forms this importer writes, with FHIR's bounds on the offset (at most ±14:00).
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
)
_INT32 = range(-(2**31), 2**31)
_EXACT = 2**53  # an int a float holds exactly: str() of it is a FHIR decimal


class _Unsure(Exception):
    """A variable leaf this module does not vouch for: validate the resource in full."""


def _id(value: Any) -> str:
    if type(value) is str and _ID.fullmatch(value):
        return "id"
    raise _Unsure


def _decimal(value: Any) -> str:
    if (type(value) is float and math.isfinite(value)) or (
        type(value) is int and -_EXACT < value < _EXACT
    ):
        return "decimal"
    raise _Unsure


def _integer(value: Any) -> str:
    if type(value) is int and value in _INT32:
        return "integer"
    raise _Unsure


@functools.lru_cache(maxsize=8192)  # a resource's dates repeat: a day has a dozen resources
def _form(text: str) -> str | None:
    """``date`` or ``dateTime`` for a valid FHIR dateTime in the forms we write, else None."""
    if not _DATETIME.fullmatch(text):
        return None
    try:
        if len(text) == 10:
            date.fromisoformat(text)
        else:
            datetime.fromisoformat(text)
    except ValueError:
        return None
    return "date" if len(text) == 10 else "dateTime"


def _date_time(value: Any) -> str:
    form = _form(value) if type(value) is str else None
    if form is None:
        raise _Unsure
    return form


Rule = Callable[[Any], str]
# (parent element, element) → the check of a variable leaf; parent "" is the resource itself,
# and items of a list have the list's name as their parent.
_AT: dict[tuple[str, str], Rule] = {
    ("", "id"): _id,
    ("effectivePeriod", "start"): _date_time,
    ("effectivePeriod", "end"): _date_time,
    ("valuePeriod", "start"): _date_time,
    ("valuePeriod", "end"): _date_time,
    ("valueQuantity", "value"): _decimal,
}
# element → its check, whatever its parent
_ANYWHERE: dict[str, Rule] = {"effectiveDateTime": _date_time, "valueInteger": _integer}


def shape(node: Any, parent: str = "") -> Any:
    """The shape of *node* (a resource): hashable, equal for resources that validate alike.

    Raises ``_Unsure`` when a variable leaf fails its check.
    """
    kind = type(node)
    if kind is dict:
        out: list[Any] = [dict]
        for key, value in node.items():
            rule = _AT.get((parent, key)) or _ANYWHERE.get(key)
            out.append((key, rule(value) if rule is not None else shape(value, key)))
        return tuple(out)
    if kind is list:
        return (list, *(shape(item, parent) for item in node))
    if kind is str:
        return node
    return (kind, node)  # the type too: True == 1 == 1.0, but FHIR tells them apart


class Checker:
    """Validates the resources of one import, each shape in full once."""

    def __init__(self) -> None:
        self.known: set[Any] = set()
        self.full = 0  # how many were validated in full (for the tests and the benchmark)

    def __call__(self, resource: dict[str, Any], where: str) -> None:
        try:
            form = shape(resource)
        except _Unsure:
            form = None
        if form is not None and form in self.known:
            return
        self.full += 1
        validate_resource(resource, where=where)
        if form is not None and len(self.known) < MAX_SHAPES:
            self.known.add(form)
