"""HTTP to a linked FHIR API: one approved origin, a bearer token, retries and timeouts.

The rules (see docs/connect.md, "Security rules"):

* Every URL fetched with the token — the base, ``next`` links, redirect targets — must be on
  the approved origin: same scheme, host and port, and a path under the base's path. Anything
  else stops the sync with :class:`OriginError` before a byte is sent there.
* Redirects are never followed by the HTTP library; we follow same-origin ones ourselves.
* A host that resolves to a private, link-local, loopback or otherwise special address is
  refused, unless the configured base itself is on loopback (tests and local servers).
* 429 and 5xx are retried with exponential backoff, honouring ``Retry-After``; a 401 triggers
  one token refresh and one retry. Every request has a timeout.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import random
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx2

from healthlocker.errors import AuthError, OriginError, SyncError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRIES = 4
MAX_RETRY_AFTER = 120.0  # seconds; a server asking for longer gets a clear error instead
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_BODY = 64 * 1024 * 1024
DEFAULT_TIMEOUT = httpx2.Timeout(60.0, connect=10.0)
FHIR_JSON = "application/fhir+json"

Resolver = Callable[[str], list[str]]


def system_resolver(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        raise SyncError(f"cannot resolve {host}; check the address and your network") from None
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True)
class Net:
    """How to reach the network; tests swap the transport, resolver and clock."""

    transport: httpx2.BaseTransport | None = None
    resolve: Resolver = system_resolver
    sleep: Callable[[float], None] = time.sleep
    timeout: httpx2.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)

    def client(self) -> httpx2.Client:
        # trust_env=False: no proxy or netrc credentials from the environment get involved.
        return httpx2.Client(
            transport=self.transport,
            timeout=self.timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": "healthlocker"},
        )


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Origin:
    """The approved FHIR origin: scheme, host, port and path prefix of the base."""

    scheme: str
    host: str
    port: int
    prefix: str

    @classmethod
    def of(cls, base: str) -> Origin:
        url = httpx2.URL(normalise_base(base))
        port = url.port or (443 if url.scheme == "https" else 80)
        return cls(url.scheme, url.host.lower(), port, url.path.rstrip("/") + "/")

    @property
    def base(self) -> str:
        default = 443 if self.scheme == "https" else 80
        port = "" if self.port == default else f":{self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}{port}{self.prefix.rstrip('/')}"

    @property
    def loopback(self) -> bool:
        return _is_loopback(self.host)

    def allows(self, url: httpx2.URL) -> bool:
        port = url.port or (443 if url.scheme == "https" else 80)
        path = url.path if url.path.endswith("/") else url.path + "/"
        return (
            url.scheme == self.scheme
            and url.host.lower() == self.host
            and port == self.port
            and path.startswith(self.prefix)
            and not url.userinfo
        )


def normalise_base(base: str) -> str:
    """A FHIR base as we store it; https unless on loopback; no query, fragment or userinfo."""
    try:
        url = httpx2.URL(base.strip())
    except Exception:
        raise SyncError(f"{base!r} is not a URL") from None
    if url.scheme not in ("https", "http") or not url.host:
        raise SyncError(f"{base!r} is not an http(s) URL")
    if url.scheme == "http" and not _is_loopback(url.host):
        raise SyncError(f"{base} uses plain http; a FHIR API must use https (loopback excepted)")
    if url.query or url.fragment or url.userinfo:
        raise SyncError(f"{base} has a query, fragment or credentials; give the bare FHIR base")
    return str(url.copy_with(path=url.path.rstrip("/") or "/")).rstrip("/")


def check_address(url: httpx2.URL, *, allow_local: bool, resolve: Resolver) -> None:
    """Refuse hosts on private, link-local, loopback or reserved addresses (SSRF guard)."""
    if allow_local:
        return
    host = url.host.strip("[]")
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolve(host)]
    for ip in addresses:
        if (
            ip.is_private
            or ip.is_loopback
            or ip.is_link_local
            or ip.is_reserved
            or ip.is_multicast
            or ip.is_unspecified
        ):
            raise OriginError(
                f"{url.host} is on a private or link-local address ({ip}); refused "
                "(only a FHIR base on loopback may use local addresses)"
            )


def error_for(status: int, what: str) -> SyncError:
    """The one mapping from an HTTP status to the error the user sees."""
    if status == 401:
        return AuthError(
            f"{what}: the server refused the authorisation (HTTP 401); "
            "run `healthlocker connect` again to re-authorise"
        )
    if status == 403:
        return AuthError(f"{what}: not permitted by the granted scopes (HTTP 403)")
    if status == 404:
        return SyncError(f"{what}: not found on the server (HTTP 404)")
    if status == 429:
        return SyncError(f"{what}: the server is rate-limiting us (HTTP 429); try again later")
    if status >= 500:
        return SyncError(f"{what}: the server failed (HTTP {status}) after retries; try later")
    return SyncError(f"{what}: the server answered HTTP {status}")


def retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class TokenSource(Protocol):
    def token(self) -> str: ...

    def refresh(self) -> bool:
        """Get a new access token; False when there is no way to."""
        ...


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx2.Headers
    content: bytes


@dataclass
class Stats:
    requests: int = 0
    retries: int = 0
    refreshes: int = 0
    waiting: float = 0.0  # seconds spent waiting on the server (request sent → body read)
    slept: float = 0.0  # seconds of backoff
    bytes: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


class FhirHttp:
    """GETs JSON from one approved FHIR origin, with the bearer token, retries and checks."""

    def __init__(self, base: str, tokens: TokenSource | None, *, net: Net | None = None) -> None:
        self.origin = Origin.of(base)
        self.tokens = tokens
        self.net = net or Net()
        self.stats = Stats()
        self._client = self.net.client()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> FhirHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, ref: str, params: Mapping[str, str] | None = None) -> httpx2.URL:
        """A relative path (``Patient/1``) under the base, or an absolute URL (a next link)."""
        if "://" in ref:
            url = httpx2.URL(ref)
        else:
            url = httpx2.URL(self.origin.base + "/" + ref.lstrip("/"))
        return url.copy_merge_params(dict(params)) if params else url

    def get_json(
        self, ref: str, params: Mapping[str, str] | None = None, *, what: str | None = None
    ) -> tuple[dict[str, Any], httpx2.Headers]:
        url = self.url(ref, params)
        label = what or url.path.removeprefix(self.origin.prefix.rstrip("/")) or "/"
        answer = self._send(url, label)
        try:
            doc = json.loads(answer.content)
        except ValueError:
            raise SyncError(f"{label}: the server's answer is not JSON") from None
        if not isinstance(doc, dict):
            raise SyncError(f"{label}: the server's answer is not a FHIR resource")
        return doc, answer.headers

    def _check(self, url: httpx2.URL, label: str, why: str) -> None:
        if not self.origin.allows(url):
            raise OriginError(
                f"{label}: {why} {url.scheme}://{url.netloc.decode()} — outside the approved "
                f"FHIR base {self.origin.base}; stopped (the token was not sent there)"
            )
        check_address(url, allow_local=self.origin.loopback, resolve=self.net.resolve)

    def _send(self, url: httpx2.URL, label: str) -> Answer:
        why = "a link to"
        for _ in range(MAX_REDIRECTS + 1):
            self._check(url, label, why)
            answer = self._attempt(url, label)
            if answer.status not in _REDIRECTS:
                return answer
            location = answer.headers.get("location")
            if not location:
                raise SyncError(f"{label}: a redirect without a Location")
            url = url.join(location)
            why = "a redirect to"
        raise SyncError(f"{label}: too many redirects")

    def _attempt(self, url: httpx2.URL, label: str) -> Answer:
        refreshed = False
        for attempt in range(MAX_RETRIES + 1):
            answer = self._once(url, label)
            status = answer.status
            if status == 401 and self.tokens is not None and not refreshed:
                refreshed = True
                if self.tokens.refresh():
                    self.stats.refreshes += 1
                    continue
            if status in RETRY_STATUSES and attempt < MAX_RETRIES:
                self._backoff(answer, attempt, label)
                continue
            if status < 300 or status in _REDIRECTS:
                return answer
            raise error_for(status, label)
        raise error_for(503, label)  # unreachable: the loop returns or raises

    def _once(self, url: httpx2.URL, label: str) -> Answer:
        headers = {"Accept": FHIR_JSON}
        if self.tokens is not None:
            headers["Authorization"] = f"Bearer {self.tokens.token()}"
        self.stats.requests += 1
        started = time.perf_counter()
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY:
                        raise SyncError(f"{label}: an answer over {MAX_BODY // 2**20} MiB")
                answer = Answer(response.status_code, response.headers, bytes(body))
        except httpx2.TimeoutException:
            raise SyncError(f"{label}: the server did not answer in time") from None
        except httpx2.TransportError as exc:
            raise SyncError(f"{label}: cannot reach the server ({type(exc).__name__})") from None
        finally:
            self.stats.waiting += time.perf_counter() - started
        self.stats.bytes += len(answer.content)
        self.stats.statuses[answer.status] = self.stats.statuses.get(answer.status, 0) + 1
        return answer

    def _backoff(self, answer: Answer, attempt: int, label: str) -> None:
        wait = retry_after(answer.headers.get("retry-after"))
        if wait is None:
            wait = min(30.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2)
        elif wait > MAX_RETRY_AFTER:
            raise SyncError(
                f"{label}: the server asks us to wait {wait:.0f} s (HTTP "
                f"{answer.status}); try again later"
            )
        self.stats.retries += 1
        self.stats.slept += wait
        self.net.sleep(wait)
