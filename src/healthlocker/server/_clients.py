"""Registering an OAuth client: what is accepted, and for how long.

Anyone who can reach ``/register`` can register, so a registration is cheap to refuse and does
not last: until the person first allows it something on the consent page it expires after an
hour, and there are at most 200 clients (100 not yet allowed anything); the Guard allows 10
registrations an hour from one address. Names are the client's own words about itself, so they
are held to a safe set of characters (no markup for a terminal or a page); ``_registry`` shows
them. Redirect URIs are ``https://``, or ``http://`` on loopback, and never carry user info
(``https://claude.ai@evil.example/cb`` goes to evil.example).
"""

from __future__ import annotations

import ipaddress
import time
from urllib.parse import urlsplit

from mcp.server.auth.provider import RegistrationError
from mcp.shared.auth import OAuthClientInformationFull

from healthlocker.consent import CLIENT_RULE, check_client
from healthlocker.errors import ConsentError
from healthlocker.server._oauth_store import OAuthStore
from healthlocker.server._tokens import ALL_SCOPES

REGISTRATION_TTL = 3600
MAX_CLIENTS = 200
MAX_UNCONSENTED = 100


def check_registration(info: OAuthClientInformationFull) -> None:
    """Refuse metadata this server does not accept (``RegistrationError``)."""
    for uri in info.redirect_uris or []:
        if not acceptable_redirect(str(uri)):
            raise RegistrationError(
                "invalid_redirect_uri",
                "redirect URIs must use https, or http on a loopback address, with no user info",
            )
    if info.scope and not set(info.scope.split()) <= set(ALL_SCOPES):
        raise RegistrationError("invalid_client_metadata", "unknown scope requested")
    if info.client_name is not None:
        try:
            check_client(info.client_name)
        except ConsentError:
            raise RegistrationError(
                "invalid_client_metadata", f"client_name must be {CLIENT_RULE}"
            ) from None


def save_client(s: OAuthStore, info: OAuthClientInformationFull) -> None:
    """Store a new registration, which expires unless the person allows it something."""
    clients = s.all("client")
    if len(clients) >= MAX_CLIENTS:
        raise RegistrationError("invalid_client_metadata", "too many registered clients")
    if sum(1 for _, body in clients if body.get("consented_at") is None) >= MAX_UNCONSENTED:
        raise RegistrationError(
            "invalid_client_metadata", "too many registrations waiting for consent; try later"
        )
    s.put("client", info.client_id or "", info.model_dump(mode="json"), REGISTRATION_TTL)


def mark_consented(s: OAuthStore, client_id: str) -> None:
    """The person allowed this client something: its registration no longer expires."""
    body = s.get("client", client_id)
    if body is not None and body.get("consented_at") is None:
        s.put("client", client_id, {**body, "consented_at": int(time.time())}, None)


def consented(s: OAuthStore, client_id: str) -> bool:
    body = s.get("client", client_id)
    return body is not None and body.get("consented_at") is not None


def acceptable_redirect(uri: str) -> bool:
    parts = urlsplit(uri)
    if parts.fragment or not parts.hostname or "@" in parts.netloc:
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme != "http":
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False
