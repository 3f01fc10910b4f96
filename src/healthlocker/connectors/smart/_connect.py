"""SMART on FHIR patient-access APIs: link one (``connect``) and keep the vault up to date
from it (``sync``). Modules: ``_auth`` (discovery, PKCE, loopback redirect, tokens),
``_origin`` (the approved origin, URL normalisation, checked addresses), ``_http`` (requests,
retries, time limits), ``_answers`` (JSON caps, refusals), ``_scopes`` (SMART v1/v2 scopes),
``_recipes`` (what to ask per type), ``_sync`` (the searches, the atomic store),
``_outcomes`` (what came of each type), ``_presets``, and ``connectors._links`` (the sealed
``links`` table).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from healthlocker.connectors._links import Link, LinkStore, stamp
from healthlocker.connectors.smart import _auth as auth
from healthlocker.connectors.smart._http import FhirHttp, Net
from healthlocker.connectors.smart._origin import Origin, normalise_base
from healthlocker.connectors.smart._presets import PRESETS, resolve_preset
from healthlocker.connectors.smart._recipes import Rules
from healthlocker.connectors.smart._scopes import Grants
from healthlocker.connectors.smart._sync import (
    DEFAULT_PAGE_SIZE,
    Progress,
    SyncResult,
    fetch_and_store,
)
from healthlocker.errors import AuthError, SyncError
from healthlocker.store import Vault

REFRESH_MARGIN = 60.0  # seconds: refresh a token this close to expiry before using it
DEFAULT_DEADLINE = 3600.0  # seconds one sync may take in all


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


class LinkTokens:
    """The access token of a link; refreshes it (and saves the new one, sealed) when needed."""

    def __init__(self, link: Link, store: LinkStore, net: Net) -> None:
        self.link = link
        self.store = store
        self.net = net

    def token(self) -> str:
        left = self.link.expires_in()
        if left is not None and left < REFRESH_MARGIN and not self.refresh() and left <= 0:
            raise AuthError(
                f"{self.link.name}: the authorisation expired and the server gave no refresh "
                f"token; run `healthlocker connect {self.link.name}` again"
            )
        return self.link.access_token

    def refresh(self) -> bool:
        link = self.link
        if not link.refresh_token:
            return False
        tokens = auth.refresh(
            link.token_url,
            link.refresh_token,
            client_id=link.client_id,
            client_secret=link.client_secret,
            origin=Origin.of(link.fhir_base),
            net=self.net,
        )
        link.access_token = tokens.access_token
        link.refresh_token = tokens.refresh_token or link.refresh_token
        link.expires_at = _iso(tokens.expires_at)
        self.store.save(link)  # a rotated refresh token must survive a failed sync
        return True


def connect_link(
    vault: Vault,
    name: str,
    *,
    fhir_base: str | None,
    client_id: str | None,
    client_secret: str | None = None,
    scopes: list[str] | None = None,
    preset: str | None = None,
    open_url: Callable[[str], object],
    net: Net | None = None,
    timeout: float = 300.0,
) -> Link:
    """Run a SMART standalone launch and save the link, sealed. *open_url* shows the sign-in."""
    net = net or Net()
    if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").isalnum():
        raise SyncError("a link name is 1-64 letters, digits, '-' or '_'")
    store = LinkStore(vault)
    existing = store.get(name) if store.exists(name) else None
    if existing is None and any(s.label == name for s in vault.sources()):
        raise SyncError(f"a source named {name!r} already holds imported files; choose another")
    base, client, chosen = resolve_preset(preset, fhir_base, client_id)
    if chosen is not None and chosen.needs_secret and not client_secret:
        raise SyncError(f"{chosen.title} needs the app's client secret: --client-secret-env VAR")
    origin = Origin.of(normalise_base(base))
    config = auth.discover(origin.base, net=net)  # refuses a base on a private address
    if chosen is not None and chosen.scopes and not scopes:
        scope = " ".join(chosen.scopes)
    else:
        scope = auth.choose_scopes(scopes, config)
    tokens = _sign_in(
        config,
        origin,
        client=client,
        client_secret=client_secret,
        scope=scope,
        open_url=open_url,
        net=net,
        timeout=timeout,
    )
    if not tokens.patient:
        raise AuthError(
            "the authorisation server did not say which patient the token is for "
            "(no `patient` in the token response); nothing was linked"
        )
    granted = tokens.scope or scope
    # The cursor is kept only for the same base, patient and scopes: wider scopes must bring
    # the older records of the newly covered types too.
    same = existing is not None and (existing.fhir_base, existing.patient, existing.scope) == (
        origin.base,
        tokens.patient,
        granted,
    )
    link = Link(
        name=name,
        fhir_base=origin.base,
        client_id=client,
        authorize_url=config.authorize_url,
        token_url=config.token_url,
        patient=tokens.patient,
        scope=granted,
        preset=chosen.name if chosen else None,
        client_secret=client_secret,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_at=_iso(tokens.expires_at),
        cursor=existing.cursor if same and existing else None,
        last_sync=existing.last_sync if same and existing else None,
        last_counts=existing.last_counts if same and existing else {},
    )
    store.save(link)
    return link


def _sign_in(
    config: auth.SmartConfig,
    origin: Origin,
    *,
    client: str,
    client_secret: str | None,
    scope: str,
    open_url: Callable[[str], object],
    net: Net,
    timeout: float,
) -> auth.Tokens:
    """The authorization code flow with PKCE: the person signs in (*open_url* shows the page),
    the code comes back to a loopback receiver, and is exchanged for tokens."""
    states = auth.StateBook()
    receiver = auth.LoopbackReceiver(states)
    try:
        verifier, challenge = auth.pkce_pair()
        url = auth.authorize_url(
            config,
            client_id=client,
            redirect_uri=receiver.redirect_uri,
            scope=scope,
            state=states.issue(),
            challenge=challenge,
            aud=origin.base,
        )
        open_url(url)
        code = receiver.wait(timeout)
        redirect_uri = receiver.redirect_uri
    finally:
        receiver.close()
    return auth.exchange_code(
        config,
        code,
        verifier=verifier,
        redirect_uri=redirect_uri,
        client_id=client,
        client_secret=client_secret,
        origin=origin,
        net=net,
    )


def sync_link(
    vault: Vault,
    name: str,
    *,
    net: Net | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    use_everything: bool = True,
    full: bool = False,
    progress: Progress | None = None,
    deadline: float | None = DEFAULT_DEADLINE,
) -> SyncResult:
    """Fetch what is new from one linked API and store it atomically; raise on any failure.

    *deadline* bounds the whole sync in seconds (None: no bound beyond each request's own).
    """
    net = net or Net()
    store = LinkStore(vault)
    link = store.get(name)
    tokens = LinkTokens(link, store, net)
    preset = PRESETS.get(link.preset or "")
    started = time.perf_counter()
    http = FhirHttp(link.fhir_base, tokens, net=net, deadline=deadline, redact=(link.patient,))
    with http:
        result = fetch_and_store(
            vault,
            http,
            name=link.name,
            patient=link.patient,
            cursor=None if full else link.cursor,
            grants=Grants.parse(link.scope),
            rules=preset.rules if preset else Rules(),
            page_size=page_size,
            use_everything=use_everything,
            progress=progress,
        )
    link.cursor = result.cursor
    link.last_sync = stamp()
    link.last_counts = result.fetched
    store.save(link)
    result.elapsed = time.perf_counter() - started
    return result
