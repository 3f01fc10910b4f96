"""Unit spellings: common ways real records write a unit, read as UCUM codes, and the simple
concentration and count units that convert by their prefixes alone.

Conversions that need an analyte (mmol/L to mg/dL) live with the catalog in ``_catalog``.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Common spellings of units in real records, lower-cased, mapped to UCUM codes.
_SPELLINGS: dict[str, str] = {
    "k/ul": "10*3/uL",
    "k/mm3": "10*3/uL",
    "thou/ul": "10*3/uL",
    "x10e3/ul": "10*3/uL",
    "x10^3/ul": "10*3/uL",
    "10^3/ul": "10*3/uL",
    "10e3/ul": "10*3/uL",
    "10*3/mm3": "10*3/uL",
    "x10e9/l": "10*9/L",
    "x10^9/l": "10*9/L",
    "10^9/l": "10*9/L",
    "m/ul": "10*6/uL",
    "mil/ul": "10*6/uL",
    "x10e6/ul": "10*6/uL",
    "x10^6/ul": "10*6/uL",
    "10^6/ul": "10*6/uL",
    "10*6/mm3": "10*6/uL",
    "x10e12/l": "10*12/L",
    "10^12/l": "10*12/L",
    "mm/hr": "mm/h",
    "sec": "s",
    "secs": "s",
    "seconds": "s",
    "percent": "%",
    "iu/l": "[IU]/L",
    "miu/l": "m[IU]/L",
    "miu/ml": "m[IU]/mL",
    "uiu/ml": "u[IU]/mL",
    "kiu/l": "k[IU]/L",
    "mml/l": "mmol/L",
}
_PREFIX = {"": 1.0, "k": 1e3, "d": 1e-1, "c": 1e-2, "m": 1e-3, "u": 1e-6, "n": 1e-9, "p": 1e-12}
_PREFIX["f"] = 1e-15
_AMOUNTS = {p + base for p in _PREFIX for base in ("g", "mol", "eq")}
_VOLUME = re.compile(r"^([kdcmunpf]?)L$")
_AMOUNT = re.compile(r"^([kdcmunpf]?)(g|mol|eq|U|\[IU\]|kat)$")
_COUNT = re.compile(r"^10[*^](\d{1,2})$")


@lru_cache(maxsize=4096)
def normalize_unit(unit: str | None) -> str | None:
    """A unit string as a UCUM code where a common spelling is recognised (``mg/dl`` → ``mg/dL``,
    ``K/uL`` → ``10*3/uL``); otherwise the input, trimmed."""
    if unit is None:
        return None
    text = unit.strip().replace("µ", "u").replace("μ", "u").replace(" ", "")
    if not text:
        return None
    lower = text.lower()
    if lower in _SPELLINGS:
        return _SPELLINGS[lower]
    if "/" in text:
        head, _, tail = text.rpartition("/")
        if vol := re.fullmatch(r"([kdcmunpf]?)l", tail, flags=re.IGNORECASE):
            tail = vol.group(1).lower() + "L"
        if head.lower() in _AMOUNTS:
            head = head.lower()
        text = f"{head}/{tail}"
    return text


def dimension(unit: str) -> tuple[str, float] | None:
    """(dimension, factor to the dimension's base) for a simple concentration or count unit, or
    None (``mg/dL`` → ``("g/L", 0.01)``, ``K/uL`` after normalizing → ``("count/L", 1e9)``)."""
    if unit.startswith("/"):
        unit = "1" + unit
    num, slash, den = unit.partition("/")
    if not slash:
        return None
    den = "uL" if den == "mm3" else den
    vol = _VOLUME.match(den)
    if vol is None:
        return None
    per = _PREFIX[vol.group(1)]
    if num == "1":
        return "count/L", 1.0 / per
    if count := _COUNT.match(num):
        return "count/L", 10.0 ** int(count.group(1)) / per
    amount = _AMOUNT.match(num)
    if amount is None:
        return None
    return f"{amount.group(2)}/L", _PREFIX[amount.group(1)] / per
