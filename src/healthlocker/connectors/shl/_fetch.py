"""HTTP for SMART Health Links: the manifest, its files, and card issuers' keys.

The SMART connector's safety rules, from its own helpers (``smart._origin``, ``smart._http``):
every URL is normalised before it is checked and sent; https only (plain http and local
addresses only when the link's own manifest URL is on loopback, as a local server's is); the
host is resolved once and the connection goes to the checked address; redirects are not
followed; every answer is capped in size and every request in time, and the whole link in
time too (``deadline``). Nothing but the manifest request's body (the recipient and the
passcode) is ever sent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx2

from healthlocker.connectors.smart._http import Net, bounded, read_capped
from healthlocker.connectors.smart._origin import (
    aim,
    check_address,
    is_loopback,
    normalise_url,
)
from healthlocker.errors import OriginError, ShlError, SyncError

MAX_MANIFEST = 32 * 1024 * 1024  # embedded files make a manifest as big as its files
MAX_FILE_BODY = 24 * 1024 * 1024
MAX_KEYS = 256 * 1024
DEADLINE = 120.0  # seconds for everything one link needs


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx2.Headers
    body: bytes

    def json(self, what: str) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise ShlError(f"{what}: the server's answer is not JSON") from None


class LinkHttp:
    """The requests of one link; local addresses allowed only if its manifest URL is local."""

    def __init__(self, manifest_url: str, net: Net | None = None, deadline: float = DEADLINE):
        self.net = net or Net()
        self.local = is_loopback(httpx2.URL(manifest_url).host)
        self._ends = time.monotonic() + deadline
        self._client = self.net.client()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> LinkHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post_json(self, url: str, body: Mapping[str, Any], what: str) -> Answer:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        return self.send("POST", url, what, headers=headers, content=data, cap=MAX_MANIFEST)

    def get(
        self, url: str, what: str, *, params: Mapping[str, str] | None = None, cap: int
    ) -> Answer:
        return self.send("GET", url, what, params=params, cap=cap)

    def send(
        self,
        method: str,
        url: str,
        what: str,
        *,
        cap: int,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Answer:
        target = self._checked(url, what, params)
        addresses = self._addresses(target, what)
        limit = min(self._ends, time.monotonic() + self.net.request_limit)
        if time.monotonic() >= limit:
            raise ShlError(f"{what}: the link took over {DEADLINE:.0f} s to fetch; stopped")
        last = len(addresses) - 1
        for i, aimed in enumerate(aim(target, addresses)):
            try:
                return self._exchange(method, aimed, headers, content, limit, what, cap)
            except httpx2.ConnectError:
                if i == last:
                    raise ShlError(f"{what}: cannot reach the server") from None
            except httpx2.TimeoutException:
                raise ShlError(f"{what}: the server did not answer in time") from None
            except httpx2.TransportError as exc:
                raise ShlError(f"{what}: cannot reach the server ({type(exc).__name__})") from None
        raise ShlError(f"{what}: cannot reach the server")

    def _exchange(
        self,
        method: str,
        aimed: Any,
        headers: Mapping[str, str] | None,
        content: bytes | None,
        limit: float,
        what: str,
        cap: int,
    ) -> Answer:
        with self._client.stream(
            method,
            aimed.url,
            headers={**(headers or {}), **aimed.headers},
            content=content,
            extensions=aimed.extensions,
            timeout=bounded(self.net.timeout, limit - time.monotonic()),
        ) as response:
            try:
                body = read_capped(response, until=limit, label=what, cap=cap)
            except SyncError as exc:
                raise ShlError(str(exc)) from None
            if 300 <= response.status_code < 400:
                raise ShlError(f"{what}: the server redirected the request; not followed")
            return Answer(response.status_code, response.headers, body)

    def _checked(self, url: str, what: str, params: Mapping[str, str] | None) -> httpx2.URL:
        try:
            parsed = httpx2.URL(url)
        except Exception:
            raise ShlError(f"{what}: not a URL") from None
        if parsed.scheme not in ("https", "http") or not parsed.host:
            raise ShlError(f"{what}: not an http(s) URL")
        if parsed.scheme == "http" and not (self.local and is_loopback(parsed.host)):
            raise ShlError(f"{what}: uses plain http; a SMART Health Link's files need https")
        if parsed.userinfo:
            raise ShlError(f"{what}: a URL with credentials in it; refused")
        if params:
            parsed = parsed.copy_merge_params(dict(params))
        try:
            return normalise_url(parsed, what)
        except OriginError:
            raise ShlError(
                f"{what}: a URL whose path holds an encoded slash, backslash or percent sign; "
                "refused"
            ) from None

    def _addresses(self, url: httpx2.URL, what: str) -> list[str]:
        try:
            return check_address(url, allow_local=self.local, resolve=self.net.resolve)
        except OriginError:
            raise ShlError(
                f"{what}: the link points at a private or local address; refused "
                "(only a link whose own address is on loopback may)"
            ) from None
        except SyncError:
            raise ShlError(f"{what}: cannot resolve {url.host}; check your network") from None
