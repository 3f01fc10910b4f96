"""Validation of what enters the store, with ``fhir.resources``' R4B models.

fhir.resources 8.x models R5 at its top level and R4B under ``fhir.resources.R4B``; there is no
R4 module. R4B is R4 plus a handful of additions, so R4 content validates under R4B, while a
quarter of real R4 resources fail under R5. See docs/security.md ("What enters the vault").
The models load lazily: importing them costs seconds and the server's start-up never needs them.
"""

from __future__ import annotations

import functools
from typing import Any

from healthlocker.errors import ValidationError

# Types R4 has that R4B renamed or dropped; we refuse them by name rather than guess a mapping.
_R4_ONLY = frozenset({"EffectEvidenceSynthesis", "RiskEvidenceSynthesis", "SubstanceNucleicAcid"})


@functools.lru_cache(maxsize=256)
def _model(resource_type: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(resource_type)
    except (ValueError, KeyError):
        return None


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(resource)"


def validate_resource(resource: Any, *, where: str) -> str:
    """Check one resource against FHIR R4(B); return its type or raise ValidationError."""
    if not isinstance(resource, dict):
        raise ValidationError("expected a FHIR resource (a JSON object)", where=where)
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise ValidationError("not a FHIR resource: it has no resourceType", where=where)
    model = _model(rtype) if rtype not in _R4_ONLY and rtype.isalnum() else None
    if model is None:
        raise ValidationError(f"unknown FHIR R4 resource type {rtype[:40]!r}", where=where)
    try:
        model.model_validate(resource)
    except Exception as exc:  # pydantic's ValidationError and fhir_core's value errors
        errors = getattr(exc, "errors", None)
        if not callable(errors):
            raise ValidationError(f"invalid {rtype}", where=where) from None
        first = errors()[0]
        # The message states the rule, never the offending value (it may be health data).
        msg = str(first.get("msg", "invalid")).splitlines()[0][:160]
        count = len(errors())
        more = f" (and {count - 1} more)" if count > 1 else ""
        raise ValidationError(
            f"invalid {rtype} at {_path(tuple(first.get('loc', ())))}: {msg}{more}", where=where
        ) from None
    return rtype
