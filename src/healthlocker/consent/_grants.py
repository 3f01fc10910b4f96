"""Grants: which client may use which tool, until when, over which period of records.

Grants are made only by the person -- through the consent prompt or `healthlocker grant` --
never by a tool argument. They live sealed in the vault (`grants` table), so a server that is
already running sees a revocation on its next call.
"""

from __future__ import annotations

import calendar
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone

from healthlocker.errors import ConsentError
from healthlocker.store import Vault

Clock = Callable[[], datetime]
# A grant names one tool of the catalogue (``healthlocker.catalogue``), or all of them.
ALL_TOOLS = "all"
MAX_DURATION = timedelta(days=366)
MAX_MONTHS = 999  # the most `last:Nm` holds
_DURATION = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w)\s*$")
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
# Data windows: all records, records since a fixed day, or the last N months (moving).
_WINDOW = re.compile(r"^(all|since:\d{4}-\d{2}-\d{2}|last:(\d{1,3})m)$")
# A client's name as grants, the audit and the pages show it: letters and digits (any script),
# spaces and . - _ ( ). Nothing a terminal or a page could read as markup or controls.
_CLIENT = re.compile(r"^[^\W_][\w .()-]{0,63}$")
_NOT_CLIENT = re.compile(r"[^\w .()-]+")
CLIENT_RULE = "1-64 letters, digits, spaces, dots, dashes, underscores or parentheses"


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_duration(text: str) -> timedelta:
    """'90m', '1h', '24h', '30d', '2w' -> timedelta (at most a year: nothing is for good)."""
    m = _DURATION.match(text or "")
    if not m:
        raise ConsentError(f"not a duration: {text!r}; use e.g. 30m, 1h, 24h, 30d or 2w")
    if int(m.group(1)) == 0:
        raise ConsentError(f"a grant for {text.strip()} would never be live; give at least 1m")
    span = timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
    if span > MAX_DURATION:
        raise ConsentError("a grant lasts at most 366 days; renew it when it runs out")
    return span


def check_client(name: str) -> str:
    """*name* as a client's name, or a ConsentError saying what a name may hold."""
    if not _CLIENT.match(name or "") or name != name.strip():
        raise ConsentError(f"a client name is {CLIENT_RULE}, starting with a letter or digit")
    return name


def clean_client(reported: str) -> str:
    """A name a client reported about itself (MCP's clientInfo), as a client's name: what
    :func:`check_client` refuses is dropped; empty when nothing is left."""
    name = " ".join(_NOT_CLIENT.sub("", reported or "").split())[:64]
    return name.lstrip("._-() ")


def window_for(*, since: str | None = None, months: int | None = None) -> str:
    """The data window of records dated on or after *since*, or in the last *months* months,
    or (neither) all records."""
    if since is not None:
        try:
            day = date.fromisoformat(since)
        except ValueError:
            raise ConsentError(f"not a date: {since!r}; use YYYY-MM-DD") from None
        if len(since) != 10:  # fromisoformat also takes 20200101 and 2020-W01-1
            raise ConsentError(f"not a date: {since!r}; use YYYY-MM-DD")
        if day > _latest_today():
            raise ConsentError(f"{since} is in the future: no record would be in the window")
        return f"since:{since}"
    if months is None:
        return "all"
    if not 1 <= months <= MAX_MONTHS:
        raise ConsentError(
            f"the last {months} months: give between 1 and {MAX_MONTHS} (leave it out for all "
            "records)"
        )
    return f"last:{months}m"


def _latest_today() -> date:
    """Today's date where it is latest (UTC+14): no record is dated after it anywhere."""
    return datetime.now(timezone(timedelta(hours=14))).date()


def window_start(window: str, now: datetime) -> str | None:
    """The first day a grant's window lets a call see (None: all records)."""
    if window == "all":
        return None
    if window.startswith("since:"):
        return window[len("since:") :]
    months = int(window[len("last:") : -1])
    year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
    # The same day N months back; where that month is shorter, its last day (never earlier,
    # which would show more than the person allowed).
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day).isoformat()


def describe_window(window: str) -> str:
    if window == "all":
        return "all records"
    if window.startswith("since:"):
        return f"records since {window[6:]}"
    return f"the last {window[5:-1]} months"


@dataclass(frozen=True)
class Grant:
    id: str
    client: str
    tool: str  # a tool name, or "all"
    created: str
    expires: str
    window: str
    revoked: str | None = None

    def live(self, now: datetime) -> bool:
        return self.revoked is None and datetime.fromisoformat(self.expires) > now

    def covers(self, *, client: str, tool: str, now: datetime) -> bool:
        return self.client == client and self.tool in (tool, ALL_TOOLS) and self.live(now)


class GrantStore:
    """Grants sealed in the vault."""

    def __init__(self, vault: Vault, clock: Clock = utcnow) -> None:
        self.vault = vault
        self.clock = clock
        # Each grant opened before, by id, with the sealed body it was opened from. The rows are
        # still read on every call, so a grant made or revoked anywhere counts at once; only an
        # unchanged body skips its unsealing (which, with a few hundred grants, took ~20 ms).
        self._opened: dict[str, tuple[bytes, Grant]] = {}
        self._table = vault.table("grants")

    def _write(self, grant: Grant) -> None:
        self._table.put(grant.id, body=json.dumps(asdict(grant)).encode())

    def add(self, *, client: str, tool: str, duration: timedelta, window: str = "all") -> Grant:
        check_client(client)
        if not _WINDOW.match(window):
            raise ConsentError(f"not a data window: {window!r}")
        if duration > MAX_DURATION or duration <= timedelta(0):
            raise ConsentError("a grant lasts between a minute and 366 days")
        now = self.clock()
        grant = Grant(
            id=secrets.token_hex(4),
            client=client,
            tool=tool,
            created=now.isoformat(timespec="microseconds"),
            expires=(now + duration).isoformat(timespec="seconds"),
            window=window,
        )
        # The same consent again replaces the live one rather than piling up beside it: the
        # person's latest answer sets how long it lasts.
        with self.vault.transaction():
            for old in self.same_as(client=client, tool=tool, window=window):
                self._write(replace(old, revoked=now.isoformat(timespec="seconds")))
            self._write(grant)
        return grant

    def same_as(self, *, client: str, tool: str, window: str) -> list[Grant]:
        """The live grants a new one for *client*, *tool* and *window* would replace."""
        now = self.clock()
        return [
            g
            for g in self.all()
            if (g.client, g.tool, g.window) == (client, tool, window) and g.live(now)
        ]

    def all(self) -> list[Grant]:
        opened: dict[str, tuple[bytes, Grant]] = {}
        for gid, body in self._table.rows("id", "body"):
            known = self._opened.get(gid)
            if known is None or known[0] != body:
                # A new or rewritten row (each sealing has a fresh nonce, so any write changes
                # the bytes), or one moved from another id: open it, which checks it.
                known = (body, Grant(**json.loads(self._table.open(gid, body))))
            opened[gid] = known
        self._opened = opened  # forget deleted rows
        return sorted((grant for _, grant in opened.values()), key=lambda g: g.created)

    def live_for(self, *, client: str, tool: str) -> list[Grant]:
        now = self.clock()
        return [g for g in self.all() if g.covers(client=client, tool=tool, now=now)]

    def revoke(self, grant_id: str | None, *, client: str | None = None) -> list[Grant]:
        """Revoke one grant by id (or every live one, with None; of one *client* if named);
        return those revoked."""
        now = self.clock()
        targets = [
            g
            for g in self.all()
            if g.live(now)
            and (grant_id is None or g.id == grant_id)
            and (client is None or g.client == client)
        ]
        if grant_id is not None and not targets:
            raise ConsentError(f"no live grant {grant_id!r}; `healthlocker grants` lists them")
        with self.vault.transaction():  # all of them, or (on any error) none
            for g in targets:
                self._write(replace(g, revoked=now.isoformat(timespec="seconds")))
        return targets
