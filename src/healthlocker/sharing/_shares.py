"""Shares: SMART Health Links made from the vault, kept sealed in the ``shares`` table.

A share holds its content already encrypted (JWE, ``dir`` + ``A256GCM``) with a fresh 32-byte
key that is shown once, in the link, and never stored: the vault keeps only what the server
hands out, so a copy of the vault does not open a share. The manifest URL's path holds 32
random bytes (the IG's 256 bits); the table keeps only their blind tag, found again by it.

Serving (``serve --http``: ``POST /shl/<secret>/manifest``, ``GET /shl/<secret>/file/<n>``):
a live share's manifest lists its files, each at a location that works for
``FILE_TICKET_SECONDS`` (a keyed ticket in its query), or embedded when the recipient's
``embeddedLengthMax`` allows. A wrong passcode is counted, for the share's whole life and
inside the write transaction (so parallel guesses are counted too); after ``MAX_FAILURES`` the
share is disabled and answers 404, as an expired, revoked or unknown one does. Every answer
to a share's request is one audit entry: client ``shl:<label>``, tool ``share``.
"""

from __future__ import annotations

import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from healthlocker.connectors import LinkPayload, encrypt_file
from healthlocker.consent import AuditEvent, AuditLog, Outcome
from healthlocker.errors import ShareError
from healthlocker.records import clean
from healthlocker.sharing._ips import Summary, bundle_bytes
from healthlocker.store import Vault

MAX_DURATION = timedelta(days=90)
MAX_FAILURES = 10
MIN_PASSCODE = 6
FILE_TICKET_SECONDS = 600
FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class NewShare:
    id: str
    link: str
    expires: float
    records: int


@dataclass(frozen=True)
class ShareInfo:
    id: str
    label: str
    created: str
    expires: float
    what: str
    records: int
    passcode: bool
    failures: int
    accesses: int

    @property
    def disabled(self) -> bool:
        return self.failures >= MAX_FAILURES


@dataclass(frozen=True)
class Answer:
    """What the server sends back for one request to a share."""

    status: int
    body: bytes
    content_type: str = "application/json"

    @classmethod
    def of(cls, status: int, doc: Any) -> Answer:
        return cls(status, json.dumps(doc).encode())


_GONE = Answer.of(404, {"error": "This SMART Health Link is not active."})


class Shares:
    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self._table = vault.table("shares")

    # -- the person's side -------------------------------------------------------------------

    def create(
        self,
        summary: Summary,
        *,
        base_url: str,
        label: str,
        duration: timedelta,
        passcode: str | None,
        what: str,
    ) -> NewShare:
        """Encrypt *summary* for a new link and keep it; the link is returned, once."""
        label = clean(label, LinkPayload.MAX_LABEL)
        if not label:
            raise ShareError("a share needs a --label (what the recipient sees)")
        if duration > MAX_DURATION or duration <= timedelta(0):
            raise ShareError("a share lasts at most 90 days (`--for 90d`); make a new one then")
        if passcode is not None and len(passcode) < MIN_PASSCODE:
            raise ShareError(f"a passcode needs at least {MIN_PASSCODE} characters")
        secret = secrets.token_urlsafe(32)  # 32 random bytes, base64url: 43 characters
        url = f"{base_url.rstrip('/')}/shl/{secret}/manifest"
        if len(url) > LinkPayload.MAX_URL:
            raise ShareError(
                f"--public-url is too long: the link's URL must fit {LinkPayload.MAX_URL} chars"
            )
        key = secrets.token_bytes(32)
        sealed_file = encrypt_file(bundle_bytes(summary), key, FHIR_JSON)
        share_id = secrets.token_hex(4)
        expires = time.time() + duration.total_seconds()
        body = {
            "label": label,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "expires": expires,
            "what": what,
            "records": summary.records,
            "passcode": None if passcode is None else self._passcode(share_id, passcode),
            "failures": 0,
            "accesses": 0,
            "files": [{"type": FHIR_JSON, "jwe": sealed_file}],
        }
        with self.vault.transaction():
            self._table.purge_expired()
            self._table.insert(
                share_id,
                name_tag=self._table.tag(secret),
                expires=expires,
                sources=",".join(sorted(summary.source_ids)),
                body=json.dumps(body).encode(),
            )
        flag = "P" if passcode is not None else ""
        link = LinkPayload(url, key, exp=expires, flag=flag, label=label).link()
        return NewShare(share_id, link, expires, summary.records)

    def list(self) -> list[ShareInfo]:
        rows = self._table.rows("id")
        return [self._info(share_id, self._body(share_id)) for (share_id,) in rows]

    def revoke(self, share_id: str) -> None:
        with self.vault.transaction():
            if not self._table.delete(share_id):
                raise ShareError(f"no share {share_id!r}; `healthlocker share --list` lists them")

    def _passcode(self, share_id: str, passcode: str) -> str:
        return self.vault.digest(f"shl-passcode|{share_id}|{passcode}".encode()).hex()

    def _body(self, share_id: str) -> dict[str, Any]:
        return dict(json.loads(self._table.body(share_id) or b"{}"))

    @staticmethod
    def _info(share_id: str, body: dict[str, Any]) -> ShareInfo:
        return ShareInfo(
            id=share_id,
            label=str(body.get("label", "")),
            created=str(body.get("created", "")),
            expires=float(body.get("expires", 0)),
            what=str(body.get("what", "")),
            records=int(body.get("records", 0)),
            passcode=body.get("passcode") is not None,
            failures=int(body.get("failures", 0)),
            accesses=int(body.get("accesses", 0)),
        )

    # -- the recipient's side (the server) ----------------------------------------------------

    def manifest(self, secret: str, request: Any, *, base_url: str) -> Answer:
        """The answer to ``POST /shl/<secret>/manifest`` with the JSON body *request*."""
        if not isinstance(request, dict) or not isinstance(request.get("recipient"), str):
            return Answer.of(400, {"error": "The body must be JSON with a recipient."})
        recipient = clean(request["recipient"], 80)
        with self.vault.transaction():
            row = self._find(secret)
            if row is None:
                return _GONE
            body = row.body
            given = request.get("passcode")
            if body.get("passcode") is not None and not (
                isinstance(given, str)
                and hmac.compare_digest(self._passcode(row.id, given), body["passcode"])
            ):
                body["failures"] = int(body.get("failures", 0)) + 1
                self._save(row)
                self._audit(row, "manifest", recipient, "refused")
                left = max(0, MAX_FAILURES - body["failures"])
                return Answer.of(401, {"remainingAttempts": left})
            body["accesses"] = int(body.get("accesses", 0)) + 1
            self._save(row)
            self._audit(row, "manifest", recipient, "allowed")
        limit = request.get("embeddedLengthMax")
        files = []
        for n, file in enumerate(body["files"]):
            entry: dict[str, Any] = {"contentType": file["type"]}
            if isinstance(limit, int) and not isinstance(limit, bool) and len(file["jwe"]) <= limit:
                entry["embedded"] = file["jwe"]
            else:
                ticket = self._ticket(secret, n, int(time.time()) + FILE_TICKET_SECONDS)
                entry["location"] = f"{base_url.rstrip('/')}/shl/{secret}/file/{n}?ticket={ticket}"
            files.append(entry)
        return Answer.of(200, {"files": files})

    def file(self, secret: str, n: int, ticket: str) -> Answer:
        """The answer to ``GET /shl/<secret>/file/<n>?ticket=…``: the encrypted file."""
        with self.vault.transaction():
            row = self._find(secret)
            if row is None:
                return _GONE
            files = row.body["files"]
            if not (0 <= n < len(files) and self._ticket_ok(secret, n, ticket)):
                self._audit(row, "file", "", "refused")
                return Answer.of(403, {"error": "This file link has expired; ask the manifest."})
            self._audit(row, "file", "", "allowed")
        return Answer(200, files[n]["jwe"].encode(), "application/jose")

    def _find(self, secret: str) -> _Row | None:
        """The live, enabled share the secret names (read inside the caller's transaction)."""
        if len(secret) != 43:
            return None
        found = self._table.rows(name_tag=self._table.tag(secret))
        if not found:
            return None
        share_id, name_tag, expires, sources, _ = found[0]
        row = _Row(share_id, name_tag, expires, sources, self._body(share_id))
        return None if int(row.body.get("failures", 0)) >= MAX_FAILURES else row

    def _save(self, row: _Row) -> None:
        self._table.put(
            row.id,
            name_tag=row.name_tag,
            expires=row.expires,
            sources=row.sources,
            body=json.dumps(row.body).encode(),
        )

    def _ticket(self, secret: str, n: int, until: int) -> str:
        return f"{until}.{self._ticket_mac(secret, n, str(until)).hex()}"

    def _ticket_mac(self, secret: str, n: int, until: str) -> bytes:
        return self.vault.digest(f"shl-file|{secret}|{n}|{until}".encode())[:16]

    def _ticket_ok(self, secret: str, n: int, ticket: str) -> bool:
        until, _, mac = ticket.partition(".")
        if not until.isdigit() or int(until) < time.time():
            return False
        return hmac.compare_digest(mac, self._ticket_mac(secret, n, until).hex())

    def _audit(self, row: _Row, request: str, recipient: str, outcome: Outcome) -> None:
        """One audit entry per answer to a share's request; its records count when allowed."""
        arguments = {"share": row.id, "request": request}
        if recipient:
            arguments["recipient"] = recipient
        event = AuditEvent(
            client=f"shl:{row.body.get('label', '')}",
            tool="share",
            arguments=arguments,
            outcome=outcome,
            records=int(row.body.get("records", 0)) if outcome == "allowed" else 0,
        )
        AuditLog(self.vault).append(event, [s for s in row.sources.split(",") if s])


@dataclass
class _Row:
    id: str
    name_tag: bytes
    expires: float
    sources: str
    body: dict[str, Any]
