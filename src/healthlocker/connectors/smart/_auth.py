"""SMART App Launch v2, standalone patient launch, as a native app (RFC 8252).

Discovery from ``/.well-known/smart-configuration`` (the CapabilityStatement's oauth-uris
extension as a fallback); authorization code with PKCE S256 only; a ``state`` of 256 random
bits, single-use, expiring; ``aud`` set to the FHIR base; the code received by a one-shot HTTP
server on 127.0.0.1; token exchange and refresh. Tokens are returned to the caller, never
printed or logged; errors name the step, never a secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2

from healthlocker.connectors.smart._answers import parse_json
from healthlocker.connectors.smart._http import FHIR_JSON, Net, error_for
from healthlocker.connectors.smart._origin import Origin, send_checked
from healthlocker.errors import AuthError, SyncError

STATE_TTL = 600.0  # seconds a started authorisation stays valid
CALLBACK_PATH = "/callback"
DEFAULT_SCOPES = ("launch/patient", "patient/*.rs", "offline_access")
_OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


@dataclass(frozen=True)
class SmartConfig:
    authorize_url: str
    token_url: str
    scopes_supported: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    pkce_methods: tuple[str, ...] = ()


@dataclass
class Tokens:
    access_token: str = field(repr=False)
    expires_at: float | None
    scope: str
    refresh_token: str | None = field(default=None, repr=False)
    patient: str | None = None


# -- discovery -----------------------------------------------------------------------------------


def _get_json(client: httpx2.Client, url: str, origin: Origin, net: Net) -> dict[str, Any] | None:
    try:
        response = send_checked(
            client,
            "GET",
            httpx2.URL(url),
            allow_local=origin.loopback,
            resolve=net.resolve,
            headers={"Accept": f"application/json, {FHIR_JSON}"},
        )
    except httpx2.TransportError as exc:
        raise SyncError(f"cannot reach {origin.base} ({type(exc).__name__})") from None
    if response.status_code != 200:
        return None
    try:
        doc = parse_json(response.content, "discovery")
    except SyncError:
        return None  # not JSON, or absurdly nested: as good as absent
    return doc if isinstance(doc, dict) else None


def _endpoint(value: object, origin: Origin, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise AuthError(f"{origin.base} does not advertise a {what} endpoint")
    url = httpx2.URL(value)
    if url.scheme != "https" and not (origin.loopback and url.scheme == "http"):
        raise AuthError(f"the {what} endpoint {value} is not https; refused")
    return value


def discover(base: str, *, net: Net) -> SmartConfig:
    """The authorization server of a FHIR base, from its SMART configuration."""
    origin = Origin.of(base)
    with net.client() as client:
        doc = _get_json(client, origin.base + "/.well-known/smart-configuration", origin, net)
        if doc is not None and doc.get("authorization_endpoint"):
            methods = tuple(doc.get("code_challenge_methods_supported") or ())
            if methods and "S256" not in methods:
                raise AuthError(f"{origin.base} does not support PKCE S256; refusing to connect")
            return SmartConfig(
                authorize_url=_endpoint(doc.get("authorization_endpoint"), origin, "authorize"),
                token_url=_endpoint(doc.get("token_endpoint"), origin, "token"),
                scopes_supported=tuple(doc.get("scopes_supported") or ()),
                capabilities=tuple(doc.get("capabilities") or ()),
                pkce_methods=methods,
            )
        cap = _get_json(client, origin.base + "/metadata", origin, net)
    uris: dict[str, str] = {}
    for rest in (cap or {}).get("rest") or []:
        for ext in (rest.get("security") or {}).get("extension") or []:
            if ext.get("url") == _OAUTH_URIS:
                for sub in ext.get("extension") or []:
                    uris[str(sub.get("url"))] = str(sub.get("valueUri") or "")
    if not uris:
        raise AuthError(
            f"{origin.base} has no SMART configuration (/.well-known/smart-configuration or "
            "CapabilityStatement oauth-uris); is it a SMART on FHIR base?"
        )
    return SmartConfig(
        authorize_url=_endpoint(uris.get("authorize"), origin, "authorize"),
        token_url=_endpoint(uris.get("token"), origin, "token"),
    )


def choose_scopes(requested: list[str] | None, config: SmartConfig) -> str:
    """Requested scopes, or the default set; ``offline_access`` only where the server offers it."""
    scopes = list(requested or DEFAULT_SCOPES)
    if "launch/patient" not in scopes:
        scopes.insert(0, "launch/patient")
    if (
        requested is None
        and config.scopes_supported
        and "offline_access" not in (config.scopes_supported)
    ):
        scopes.remove("offline_access")
    return " ".join(dict.fromkeys(scopes))


# -- PKCE and state ------------------------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    """A code verifier (86 characters, 512 bits) and its S256 challenge."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class StateBook:
    """Outstanding ``state`` values: 256 random bits each, single-use, expiring."""

    def __init__(self, ttl: float = STATE_TTL, clock: Callable[[], float] = time.monotonic):
        self._pending: dict[str, float] = {}
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()

    def issue(self) -> str:
        state = secrets.token_urlsafe(32)
        with self._lock:
            self._pending[state] = self._clock() + self._ttl
        return state

    def consume(self, state: str | None) -> bool:
        """True once for a live state we issued; False for unknown, reused or expired ones."""
        if not state:
            return False
        with self._lock:
            for known in list(self._pending):
                if hmac.compare_digest(known.encode(), state.encode()):
                    deadline = self._pending.pop(known)
                    return self._clock() <= deadline
        return False


# -- the loopback redirect -----------------------------------------------------------------------


@dataclass
class _Outcome:
    code: str | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


_PAGE = (
    "<!doctype html><meta charset=utf-8><title>healthlocker</title>"
    "<p>{}</p><p>You can close this window and return to the terminal.</p>"
)


class LoopbackReceiver:
    """A one-shot HTTP server on 127.0.0.1 (an ephemeral port) that receives the code."""

    def __init__(self, states: StateBook) -> None:
        self.states = states
        self.outcome = _Outcome()
        outcome, book = self.outcome, states

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != CALLBACK_PATH or outcome.done.is_set():
                    self._reply(404, "Not found.")
                    return
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if not book.consume(query.get("state")):
                    # A forged, replayed or stale redirect: refuse and keep waiting.
                    self._reply(400, "This sign-in link is not valid (unknown or used state).")
                    return
                if "error" in query:
                    outcome.error = query["error"][:80]
                    self._reply(400, "The authorisation was not granted.")
                else:
                    outcome.code = query.get("code")
                    self._reply(200, "healthlocker received the authorisation.")
                outcome.done.set()

            def _reply(self, status: int, text: str) -> None:
                body = _PAGE.format(text).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the query string holds the code: never log it

        self._server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{CALLBACK_PATH}"

    def wait(self, timeout: float) -> str:
        if not self.outcome.done.wait(timeout):
            raise AuthError(f"no authorisation arrived within {timeout:.0f} s; run connect again")
        if self.outcome.error or not self.outcome.code:
            raise AuthError(
                f"the authorisation server refused ({self.outcome.error or 'no code'}); "
                "nothing was linked"
            )
        return self.outcome.code

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# -- tokens --------------------------------------------------------------------------------------


def authorize_url(
    config: SmartConfig,
    *,
    client_id: str,
    redirect_uri: str,
    scope: str,
    state: str,
    challenge: str,
    aud: str,
) -> str:
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "aud": aud,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    sep = "&" if "?" in config.authorize_url else "?"
    return config.authorize_url + sep + urlencode(query)


def token_request(
    token_url: str,
    form: dict[str, str],
    *,
    client_id: str,
    client_secret: str | None,
    origin: Origin,
    net: Net,
) -> Tokens:
    """POST to the token endpoint; a confidential client authenticates with HTTP Basic."""
    headers = {"Accept": "application/json"}
    if client_secret:
        pair = f"{client_id}:{client_secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    else:
        form = {**form, "client_id": client_id}
    what = "token " + ("refresh" if form.get("grant_type") == "refresh_token" else "exchange")
    with net.client() as client:
        try:
            response = send_checked(
                client,
                "POST",
                httpx2.URL(token_url),
                allow_local=origin.loopback,
                resolve=net.resolve,
                data=form,
                headers=headers,
            )
        except httpx2.TransportError as exc:
            raise AuthError(
                f"{what}: cannot reach the token endpoint ({type(exc).__name__})"
            ) from None
    if response.status_code in (400, 401):
        raise AuthError(
            f"{what}: the authorisation server refused it; run `healthlocker connect` again"
        )
    if response.status_code != 200:
        raise error_for(response.status_code, what)
    try:
        doc = parse_json(response.content, what)
    except SyncError:
        raise AuthError(f"{what}: the token endpoint's answer is not JSON") from None
    token = doc.get("access_token") if isinstance(doc, dict) else None
    if not isinstance(token, str) or not token:
        raise AuthError(f"{what}: the answer holds no access token")
    if str(doc.get("token_type", "bearer")).lower() != "bearer":
        raise AuthError(f"{what}: unsupported token type (only Bearer)")
    expires_in = doc.get("expires_in")
    return Tokens(
        access_token=token,
        expires_at=time.time() + float(expires_in) if isinstance(expires_in, int | float) else None,
        scope=str(doc.get("scope") or form.get("scope") or ""),
        refresh_token=doc.get("refresh_token")
        if isinstance(doc.get("refresh_token"), str)
        else None,
        patient=doc.get("patient") if isinstance(doc.get("patient"), str) else None,
    )


def exchange_code(
    config: SmartConfig,
    code: str,
    *,
    verifier: str,
    redirect_uri: str,
    client_id: str,
    client_secret: str | None,
    origin: Origin,
    net: Net,
) -> Tokens:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    return token_request(
        config.token_url,
        form,
        client_id=client_id,
        client_secret=client_secret,
        origin=origin,
        net=net,
    )


def refresh(
    token_url: str,
    refresh_token: str,
    *,
    client_id: str,
    client_secret: str | None,
    origin: Origin,
    net: Net,
) -> Tokens:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return token_request(
        token_url, form, client_id=client_id, client_secret=client_secret, origin=origin, net=net
    )
