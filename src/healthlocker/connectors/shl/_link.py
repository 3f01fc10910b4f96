"""The SMART Health Link itself: ``shlink:/`` + the base64url of a minified JSON payload
(``url``, ``key``, optional ``exp``, ``flag``, ``label``, ``v``), optionally after a viewer URL
that ends in ``#``. Parsing needs no network; the link is a secret (it holds the key), so no
message repeats it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from healthlocker.connectors._read import Head
from healthlocker.errors import ShlError

PREFIX = "shlink:/"
MAX_LINK = 8 * 1024  # a QR code holds < 3 kB; a link this long is not one
MAX_URL = 128  # the IG's limit on the manifest URL
MAX_LABEL = 80
KEY_BYTES = 32
VERSION = 1
_LINK = re.compile(r"(?:^|#)shlink:/([A-Za-z0-9_-]+=*)\s*$")
_FLAGS = frozenset("LPU")


@dataclass(frozen=True)
class LinkPayload:
    """A link's payload. ``flag`` holds its single-letter flags (L long-term, P passcode,
    U a single file fetched directly)."""

    MAX_URL: ClassVar[int] = MAX_URL
    MAX_LABEL: ClassVar[int] = MAX_LABEL

    url: str
    key: bytes
    exp: float | None = None
    flag: str = ""
    label: str | None = None
    v: int = VERSION

    @property
    def needs_passcode(self) -> bool:
        return "P" in self.flag

    @property
    def direct(self) -> bool:
        return "U" in self.flag

    def link(self, viewer: str | None = None) -> str:
        """The ``shlink:/`` URI of this payload (after *viewer*, a URL ending in ``#``)."""
        body: dict[str, Any] = {"url": self.url, "key": b64(self.key)}
        if self.exp is not None:
            body["exp"] = int(self.exp)
        if self.flag:
            body["flag"] = "".join(sorted(set(self.flag)))
        if self.label:
            body["label"] = self.label
        if self.v != VERSION:
            body["v"] = self.v
        encoded = b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{viewer or ''}{PREFIX}{encoded}"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    """base64url, padded or not; binascii.Error (a ValueError) if it is not."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encoded(text: str) -> str | None:
    """The base64url payload of a link (bare, or after a viewer URL ending in #), or None."""
    text = text.strip()
    if len(text) > MAX_LINK:
        return None
    found = _LINK.search(text)
    return found.group(1) if found else None


def is_link(text: str) -> bool:
    return _encoded(text) is not None


def parse(text: str, where: str = "the link") -> LinkPayload:
    """The payload of a link; ShlError saying what is wrong (never repeating the link)."""
    encoded = _encoded(text)
    if encoded is None:
        raise ShlError(f"not a SMART Health Link (one starts with {PREFIX})", where=where)
    try:
        body = json.loads(unb64(encoded))
    except (binascii.Error, ValueError):
        raise ShlError("the link's payload is not base64url-encoded JSON", where=where) from None
    if not isinstance(body, dict):
        raise ShlError("the link's payload is not a JSON object", where=where)
    return _payload(body, where)


def _payload(body: dict[str, Any], where: str) -> LinkPayload:
    url, key, flag = body.get("url"), body.get("key"), body.get("flag", "")
    version = body.get("v", VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version != VERSION:
        raise ShlError(
            f"the link is of SMART Health Links version {str(version)[:10]}; this version of "
            f"healthlocker reads version {VERSION} only",
            where=where,
        )
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise ShlError("the link has no manifest URL", where=where)
    if len(url) > MAX_URL:
        raise ShlError(f"the link's manifest URL is over {MAX_URL} characters", where=where)
    try:
        raw_key = unb64(key) if isinstance(key, str) else b""
    except (binascii.Error, ValueError):
        raw_key = b""
    if len(raw_key) != KEY_BYTES:
        raise ShlError("the link's key is not 32 bytes, base64url-encoded", where=where)
    if not isinstance(flag, str):
        raise ShlError("the link's flags are not text", where=where)
    flags = "".join(sorted(set(flag) & _FLAGS))  # unknown flags are ignored, as the IG says
    if "P" in flags and "U" in flags:
        raise ShlError("the link has both flags P and U, which the IG forbids", where=where)
    exp = body.get("exp")
    if exp is not None and (isinstance(exp, bool) or not isinstance(exp, int | float)):
        raise ShlError("the link's expiry is not a number", where=where)
    label = body.get("label")
    label = label.strip()[:MAX_LABEL] if isinstance(label, str) and label.strip() else None
    return LinkPayload(url, raw_key, None if exp is None else float(exp), flags, label, version)


def sniff(head: Head) -> bool:
    """A file holding a SMART Health Link (and nothing else)."""
    try:
        return is_link(head.data.decode("utf-8").lstrip("\ufeff"))
    except UnicodeDecodeError:
        return False


def link_label(text: str) -> str | None:
    """The source label a link given in place of a path imports as: its own label, else one
    made from its manifest URL; None when *text* is not a link."""
    if not is_link(text):
        return None
    try:
        payload = parse(text)
    except ShlError:
        return "shlink"  # the reader says what is wrong with it
    if payload.label:
        return payload.label
    return "shlink-" + hashlib.sha256(payload.url.encode()).hexdigest()[:8]
