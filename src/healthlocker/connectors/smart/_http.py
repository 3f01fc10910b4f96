"""HTTP to a linked FHIR API: one approved origin, a bearer token, retries and time limits.

The rules (see docs/connect.md, "Security rules"; the URL and address rules are in
``_origin``):

* Every URL fetched with the token — the base, ``next`` links, redirect targets — is
  normalised, then must be on the approved origin; anything else stops the sync with
  :class:`OriginError` before a byte is sent there.
* The host is resolved once per request, every address is checked, and the connection goes to
  a checked address (the URL aimed at it, with the host name kept for ``Host`` and TLS SNI and
  certificate checks): no second resolution between the check and the connection.
* Redirects are never followed by the HTTP library; we follow same-origin ones ourselves.
* 429 and 5xx are retried with exponential backoff, honouring ``Retry-After``; a 401 triggers
  one token refresh and one retry. A server's refusal of a search (400, 403, 404, 405, 410,
  422) is handed back as a :class:`Refusal` for the caller to record.
* Time: 10 s to connect, 60 s per read, at most ``Net.request_limit`` (120 s) for one whole
  answer however slowly it trickles in, and an optional deadline for the whole sync.
* JSON answers are capped in size (64 MiB) and nesting (``MAX_DEPTH`` levels).
"""

from __future__ import annotations

import email.utils
import random
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx2

from healthlocker.connectors.smart._answers import Answer, Refusal, parse_json
from healthlocker.connectors.smart._origin import (
    Aimed,
    Origin,
    Resolver,
    aim,
    check_address,
    normalise_url,
    system_resolver,
)
from healthlocker.errors import AuthError, OriginError, SyncError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REFUSALS = frozenset({400, 403, 404, 405, 410, 422})
MAX_RETRIES = 4
MAX_RETRY_AFTER = 120.0  # seconds; a server asking for longer gets a clear error instead
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_BODY = 64 * 1024 * 1024
REQUEST_LIMIT = 120.0  # seconds for one whole answer, however slowly it trickles in
DEFAULT_TIMEOUT = httpx2.Timeout(60.0, connect=10.0)
FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class Net:
    """How to reach the network; tests swap the transport, resolver, clock and trust store."""

    transport: httpx2.BaseTransport | None = None
    resolve: Resolver = system_resolver
    sleep: Callable[[float], None] = time.sleep
    timeout: httpx2.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    request_limit: float = REQUEST_LIMIT
    verify: ssl.SSLContext | bool = True

    def client(self) -> httpx2.Client:
        # trust_env=False: no proxy or netrc credentials from the environment get involved.
        return httpx2.Client(
            transport=self.transport,
            timeout=self.timeout,
            verify=self.verify,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": "healthlocker"},
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


@dataclass
class Stats:
    requests: int = 0
    retries: int = 0
    refreshes: int = 0
    waiting: float = 0.0  # seconds spent waiting on the server (request sent → body read)
    slept: float = 0.0  # seconds of backoff
    bytes: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


def bounded(timeout: httpx2.Timeout, left: float) -> httpx2.Timeout:
    """*timeout* with no phase longer than the *left* seconds of a request's limit."""

    def cap(value: float | None) -> float:
        return max(0.001, left if value is None else min(value, left))

    return httpx2.Timeout(
        connect=cap(timeout.connect),
        read=cap(timeout.read),
        write=cap(timeout.write),
        pool=cap(timeout.pool),
    )


def read_capped(
    response: httpx2.Response, *, until: float, label: str, cap: int = MAX_BODY
) -> bytes:
    """A streamed answer's body: at most *cap* bytes, all of it by *until* (monotonic time;
    a trickle past it raises ReadTimeout, to be handled as a timeout)."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > cap:
            raise SyncError(f"{label}: an answer over {cap // 2**20} MiB")
        if time.monotonic() > until:
            raise httpx2.ReadTimeout("past the limit")
    return bytes(body)


class FhirHttp:
    """GETs JSON from one approved FHIR origin, with the bearer token, retries and checks.

    *deadline* (seconds) bounds everything this client does from its creation; *redact* lists
    strings (the patient id) never to repeat from a server's refusal text.
    """

    def __init__(
        self,
        base: str,
        tokens: TokenSource | None,
        *,
        net: Net | None = None,
        deadline: float | None = None,
        redact: tuple[str, ...] = (),
    ) -> None:
        self.origin = Origin.of(base)
        self.tokens = tokens
        self.net = net or Net()
        self.stats = Stats()
        self.deadline = deadline
        self.redact = redact
        self._ends = time.monotonic() + deadline if deadline is not None else None
        self._sent = ""  # the last bearer token sent, never to be repeated from an answer
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
        """A JSON object; any refusal is an error."""
        found = self.fetch(ref, params, what=what)
        if isinstance(found, Refusal):
            raise error_for(found.status, what or ref)
        return found

    def fetch(
        self, ref: str, params: Mapping[str, str] | None = None, *, what: str | None = None
    ) -> tuple[dict[str, Any], httpx2.Headers] | Refusal:
        """A JSON object, or the server's :class:`Refusal` (400, 403, 404, 405, 410, 422)."""
        url = self.url(ref, params)
        label = what or url.path.removeprefix(self.origin.prefix.rstrip("/")) or "/"
        answer = self._send(url, label)
        if answer.status in REFUSALS:
            return Refusal.of(answer, (*self.redact, self._sent))
        doc = parse_json(answer.content, label)
        if not isinstance(doc, dict):
            raise SyncError(f"{label}: the server's answer is not a FHIR resource")
        return doc, answer.headers

    def _check(self, url: httpx2.URL, label: str, why: str) -> tuple[httpx2.URL, list[str]]:
        url = normalise_url(url, label)
        if not self.origin.allows(url):
            raise OriginError(
                f"{label}: {why} {url.scheme}://{url.netloc.decode()} — outside the approved "
                f"FHIR base {self.origin.base}; stopped (the token was not sent there)"
            )
        addresses = check_address(url, allow_local=self.origin.loopback, resolve=self.net.resolve)
        return url, addresses

    def _send(self, url: httpx2.URL, label: str) -> Answer:
        why = "a link to"
        for _ in range(MAX_REDIRECTS + 1):
            answer = self._attempt(url, label, why)
            if answer.status not in _REDIRECTS:
                return answer
            location = answer.headers.get("location")
            if not location:
                raise SyncError(f"{label}: a redirect without a Location")
            url = url.join(location)
            why = "a redirect to"
        raise SyncError(f"{label}: too many redirects")

    def _attempt(self, url: httpx2.URL, label: str, why: str) -> Answer:
        refreshed = False
        for attempt in range(MAX_RETRIES + 1):
            checked, addresses = self._check(url, label, why)  # resolved afresh, used at once
            answer = self._once(checked, addresses, label)
            status = answer.status
            if status == 401 and self.tokens is not None and not refreshed:
                refreshed = True
                if self.tokens.refresh():
                    self.stats.refreshes += 1
                    continue
            if status in RETRY_STATUSES and attempt < MAX_RETRIES:
                self._backoff(answer, attempt, label)
                continue
            if status < 300 or status in _REDIRECTS or status in REFUSALS:
                return answer
            raise error_for(status, label)
        raise error_for(503, label)  # unreachable: the loop returns or raises

    def _limit(self) -> tuple[float, bool]:
        """When this request must end, and whether that is the sync's deadline."""
        now = time.monotonic()
        limit = now + self.net.request_limit
        if self._ends is None or limit < self._ends:
            return limit, False
        if now >= self._ends:
            raise self._late()
        return self._ends, True

    def _late(self) -> SyncError:
        return SyncError(
            f"the sync ran past its limit of {self.deadline:.0f} s and was stopped; nothing of "
            "it is stored (`healthlocker sync --deadline SECONDS` allows more time)"
        )

    def _once(self, url: httpx2.URL, addresses: list[str], label: str) -> Answer:
        headers = {"Accept": FHIR_JSON}
        if self.tokens is not None:
            self._sent = self.tokens.token()
            headers["Authorization"] = f"Bearer {self._sent}"
        limit, is_sync = self._limit()
        self.stats.requests += 1
        started = time.perf_counter()
        targets = list(aim(url, addresses))
        try:
            for i, target in enumerate(targets):
                try:
                    answer = self._exchange(target, headers, label, limit)
                    break
                except httpx2.ConnectError:
                    if i == len(targets) - 1:
                        raise
        except httpx2.TimeoutException:
            if time.monotonic() < limit - 0.05:
                raise SyncError(f"{label}: the server did not answer in time") from None
            raise self._late() if is_sync else self._slow(label) from None
        except httpx2.TransportError as exc:
            raise SyncError(f"{label}: cannot reach the server ({type(exc).__name__})") from None
        finally:
            self.stats.waiting += time.perf_counter() - started
        self.stats.bytes += len(answer.content)
        self.stats.statuses[answer.status] = self.stats.statuses.get(answer.status, 0) + 1
        return answer

    def _slow(self, label: str) -> SyncError:
        return SyncError(
            f"{label}: the server took over {self.net.request_limit:.0f} s to send one answer; "
            "stopped (nothing of this sync is stored)"
        )

    def _exchange(self, target: Aimed, headers: dict[str, str], label: str, limit: float) -> Answer:
        timeout = bounded(self.net.timeout, limit - time.monotonic())
        with self._client.stream(
            "GET",
            target.url,
            headers={**headers, **target.headers},
            extensions=target.extensions,
            timeout=timeout,
        ) as response:
            body = read_capped(response, until=limit, label=label)
            return Answer(response.status_code, response.headers, body)

    def _backoff(self, answer: Answer, attempt: int, label: str) -> None:
        wait = retry_after(answer.headers.get("retry-after"))
        if wait is None:
            wait = min(30.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2)
        elif wait > MAX_RETRY_AFTER:
            raise SyncError(
                f"{label}: the server asks us to wait {wait:.0f} s (HTTP "
                f"{answer.status}); try again later"
            )
        if self._ends is not None and time.monotonic() + wait >= self._ends:
            raise self._late()
        self.stats.retries += 1
        self.stats.slept += wait
        self.net.sleep(wait)
