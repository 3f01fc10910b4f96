"""``healthlocker import shlink:/…``: a SMART Health Link's content, as one batch.

The link (given in place of a path, or in a file) is parsed; an expired one is refused before
anything is sent. Its manifest is asked for (POST with the recipient and, for a ``P`` link, the
passcode: ``HEALTHLOCKER_SHL_PASSCODE``, else the CLI's prompt), or its one file fetched
directly (``U``). Each file is decrypted with the link's key. FHIR JSON files are imported as
they are; SMART Health Cards only once each card's signature checks out against its issuer's
published keys (``iss`` + ``/.well-known/jwks.json``): a bad signature is always refused, and a
card whose issuer's keys cannot be had (an unknown issuer) only comes in with ``--unverified``.
SMART API access files are passed over with a note (``healthlocker connect`` links an API).

Everything is fetched, decrypted and checked when :func:`read_shlink` is called -- before the
batch opens, so the network never holds the vault's write lock -- and then handed out.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from healthlocker.connectors._read import ReadOptions, ensure_unchanged
from healthlocker.connectors.fhir._json import document_items
from healthlocker.connectors.shl._fetch import MAX_FILE_BODY, MAX_KEYS, LinkHttp
from healthlocker.connectors.shl._jose import card_claims, card_header, decrypt_file
from healthlocker.connectors.shl._link import MAX_LINK, LinkPayload, parse
from healthlocker.errors import ShlError
from healthlocker.store import Item

ENV_PASSCODE = "HEALTHLOCKER_SHL_PASSCODE"
FHIR_JSON = "application/fhir+json"
CARD = "application/smart-health-card"
API_ACCESS = "application/smart-api-access"
MAX_FILES = 100


def read_shlink(path: Path, options: ReadOptions) -> Iterator[Item]:
    """Every resource a link holds (see the module's docstring)."""
    where = "the link" if options.link is not None else str(path)
    text = options.link if options.link is not None else _link_in(path, options)
    payload = parse(text, where)
    if payload.exp is not None and payload.exp < time.time():
        raise ShlError("the link has expired; ask whoever shared it for a new one", where=where)
    items: list[Item] = []
    digest = hashlib.sha256()
    with LinkHttp(payload.url) as http:
        files = _files(http, payload, options, where)
        keys: dict[str, dict[str, Any] | None] = {}
        for n, (content_type, token) in enumerate(files, 1):
            place = f"{where}: file {n}"
            cty, plain = decrypt_file(token, payload.key, place)
            digest.update(len(plain).to_bytes(8, "big") + plain)
            kind = content_type or cty
            if kind == FHIR_JSON:
                items += document_items(_json(plain, place), place, tolerance=options.tolerance)
            elif kind == CARD:
                items += _cards(_json(plain, place), http, keys, options, place)
            elif kind == API_ACCESS:
                options.notes.append(
                    f"file {n}: access to a FHIR API, not records; passed over "
                    "(`healthlocker connect` links an API)"
                )
            else:
                options.notes.append(f"file {n}: content of a type this version does not read")
    if not items:
        raise ShlError("the link holds nothing this version imports", where=where)
    options.digest = digest.digest()
    return iter(items)


def _link_in(path: Path, options: ReadOptions) -> str:
    ensure_unchanged(path, options)
    with path.open("rb") as f:
        data = f.read(MAX_LINK + 1)
    try:
        return data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        raise ShlError("not UTF-8 text", where=str(path)) from None


def _json(plain: bytes, where: str) -> Any:
    try:
        return json.loads(plain)
    except (ValueError, RecursionError):
        raise ShlError("a decrypted file that is not JSON", where=where) from None


def _passcode(payload: LinkPayload, options: ReadOptions, where: str) -> str:
    given = os.environ.get(ENV_PASSCODE)
    if given:
        return given
    if options.shl.ask_passcode is not None:
        return options.shl.ask_passcode(payload.label or "this SMART Health Link")
    raise ShlError(
        f"the link needs a passcode: set {ENV_PASSCODE}, or import it from a terminal",
        where=where,
    )


def _files(
    http: LinkHttp, payload: LinkPayload, options: ReadOptions, where: str
) -> list[tuple[str | None, str]]:
    """The link's files, each (content type, compact JWE)."""
    recipient = options.shl.recipient
    if payload.direct:
        answer = http.get(
            payload.url, f"{where}: its file", params={"recipient": recipient}, cap=MAX_FILE_BODY
        )
        _check_status(answer.status, answer, where)
        return [(None, answer.body.decode("ascii", "replace"))]
    body: dict[str, Any] = {"recipient": recipient}
    if payload.needs_passcode:
        body["passcode"] = _passcode(payload, options, where)
    answer = http.post_json(payload.url, body, f"{where}: its manifest")
    _check_status(answer.status, answer, where)
    manifest = answer.json(f"{where}: its manifest")
    entries = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ShlError("the link's manifest lists no files", where=where)
    if len(entries) > MAX_FILES:
        raise ShlError(f"the link's manifest lists over {MAX_FILES} files", where=where)
    return [_file(http, entry, n, where) for n, entry in enumerate(entries, 1)]


def _file(http: LinkHttp, entry: Any, n: int, where: str) -> tuple[str | None, str]:
    place = f"{where}: file {n}"
    if not isinstance(entry, dict):
        raise ShlError("a manifest entry that is not a JSON object", where=place)
    content_type = entry.get("contentType")
    content_type = content_type if isinstance(content_type, str) else None
    embedded, location = entry.get("embedded"), entry.get("location")
    if isinstance(embedded, str):
        return content_type, embedded
    if not isinstance(location, str):
        raise ShlError("a manifest entry with neither location nor embedded", where=place)
    answer = http.get(location, place, cap=MAX_FILE_BODY)
    _check_status(answer.status, answer, place)
    return content_type, answer.body.decode("ascii", "replace")


def _check_status(status: int, answer: Any, where: str) -> None:
    """The one mapping from a SMART Health Link server's status to what the person reads."""
    if status < 300:
        return
    if status == 401:
        left = _remaining(answer)
        more = f"; {left} attempts left before the link is disabled" if left is not None else ""
        raise ShlError(f"wrong passcode{more}", where=where)
    if status == 404:
        raise ShlError(
            "the link is no longer active (expired, revoked, used up, or disabled after too "
            "many wrong passcodes); ask whoever shared it for a new one",
            where=where,
        )
    if status == 429:
        raise ShlError("the server is rate-limiting us (HTTP 429); try again later", where=where)
    raise ShlError(f"the server answered HTTP {status}", where=where)


def _remaining(answer: Any) -> int | None:
    try:
        left = json.loads(answer.body).get("remainingAttempts")
    except (ValueError, AttributeError):
        return None
    return left if isinstance(left, int) and not isinstance(left, bool) else None


def _cards(
    doc: Any,
    http: LinkHttp,
    keys: dict[str, dict[str, Any] | None],
    options: ReadOptions,
    where: str,
) -> list[Item]:
    """The resources of a SMART Health Card file's cards, each checked against its issuer."""
    cards = doc.get("verifiableCredential") if isinstance(doc, dict) else None
    if not isinstance(cards, list) or not cards or not all(isinstance(c, str) for c in cards):
        raise ShlError("a SMART Health Card file without verifiableCredential", where=where)
    items: list[Item] = []
    for n, token in enumerate(cards, 1):
        place = f"{where}: card {n}"
        claims = card_claims(token, None, place)  # its issuer, to fetch the keys from
        iss = str(claims["iss"]).rstrip("/")
        if iss not in keys:
            keys[iss] = _issuer_keys(http, iss, place)
        jwks = keys[iss]
        kid = card_header(token, place)["kid"]
        known = jwks is not None and any(
            isinstance(k, dict) and k.get("kid") == kid for k in jwks.get("keys", [])
        )
        if known:
            claims = card_claims(token, jwks, place)
            options.notes.append(f"card {n}: signature verified; issued by {iss}")
        elif options.shl.unverified:
            options.notes.append(f"card {n}: NOT verified (issuer {iss} unknown); --unverified")
        else:
            raise ShlError(
                f"the card's issuer ({iss}) is unknown: its keys could not be fetched or do not "
                "include the card's key, so its signature cannot be checked; not imported "
                "(`--unverified` imports it anyway)",
                where=place,
            )
        items += document_items(_bundle_of(claims, place), place, tolerance=options.tolerance)
    return items


def _issuer_keys(http: LinkHttp, iss: str, where: str) -> dict[str, Any] | None:
    """The issuer's JWKS, or None when it cannot be had (an unknown issuer)."""
    try:
        what = f"{where}: its issuer's keys"
        answer = http.get(f"{iss}/.well-known/jwks.json", what, cap=MAX_KEYS)
        found = json.loads(answer.body) if answer.status == 200 else None
    except (ShlError, ValueError):
        return None
    return found if isinstance(found, dict) and isinstance(found.get("keys"), list) else None


def _bundle_of(claims: dict[str, Any], where: str) -> Any:
    vc = claims.get("vc")
    subject = vc.get("credentialSubject") if isinstance(vc, dict) else None
    bundle = subject.get("fhirBundle") if isinstance(subject, dict) else None
    if not isinstance(bundle, dict):
        raise ShlError("a SMART Health Card without a FHIR Bundle (vc)", where=where)
    return bundle
