"""What a token's granted scopes allow, in SMART v1 and v2 syntax.

v1: ``patient/Observation.read``, ``patient/*.read``, ``user/Condition.*`` (read implies search).
v2: ``patient/Observation.rs``, ``patient/*.cruds`` and, with a query,
``patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory``
— search limited to what the query names: we then ask exactly that query.

``launch/patient``, ``openid``, ``offline_access`` and other non-resource scopes are ignored.
A scope string that holds no resource scope at all (a server that reports none) is read as
"unknown": nothing is ruled out, and the server's own answers say what is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

_V1 = re.compile(r"^(patient|user|system)/([A-Za-z]+|\*)\.(read|write|\*)$")
_V2 = re.compile(r"^(patient|user|system)/([A-Za-z]+|\*)\.([cruds]+)(?:\?(.+))?$")

Query = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Scope:
    rtype: str  # a resource type or "*"
    read: bool
    search: bool
    query: Query | None = None  # v2: only resources matching this query


def parse_scope(text: str) -> Scope | None:
    """One resource scope, or None for anything else (``launch/patient``, ``openid``…)."""
    if m := _V1.match(text):
        allowed = m.group(3) in ("read", "*")
        return Scope(m.group(2), allowed, allowed)
    if m := _V2.match(text):
        perms, query = m.group(3), m.group(4)
        pairs = tuple(parse_qsl(query, keep_blank_values=False)) if query else None
        return Scope(m.group(2), "r" in perms, "s" in perms, pairs or None)
    return None


@dataclass(frozen=True)
class Access:
    """What the scopes allow for one resource type."""

    read: bool
    search: bool
    queries: tuple[Query, ...] | None = None  # None: any search; else only these queries

    @property
    def any(self) -> bool:
        return self.read or self.search


_ALL = Access(read=True, search=True)


@dataclass(frozen=True)
class Grants:
    scopes: tuple[Scope, ...]

    @classmethod
    def parse(cls, scope: str) -> Grants:
        found = (parse_scope(part) for part in scope.split())
        return cls(tuple(s for s in found if s is not None))

    @property
    def known(self) -> bool:
        return bool(self.scopes)

    @property
    def everything(self) -> bool:
        """Whether every type may be read and searched without limits (``$everything``)."""
        if not self.known:
            return True
        return any(s.rtype == "*" and s.read and s.search and not s.query for s in self.scopes)

    def access(self, rtype: str) -> Access:
        if not self.known:
            return _ALL
        mine = [s for s in self.scopes if s.rtype in (rtype, "*")]
        read = any(s.read for s in mine)
        searches = [s for s in mine if s.search]
        if any(s.query is None for s in searches):
            return Access(read=read, search=True)
        queries = tuple(dict.fromkeys(s.query for s in searches if s.query))
        return Access(read=read, search=bool(queries), queries=queries or None)
