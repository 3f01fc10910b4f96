"""Registered OAuth clients: who may register, how they are shown, and revoking one entirely.

Anyone who can reach ``/register`` can register, so a registration is cheap to refuse and does
not last: until the person first allows it something on the consent page it expires after an
hour, and there are at most 200 clients (100 not yet allowed anything). Names are the client's
own words about itself, so they are held to a safe set of characters (no markup for a terminal
or a page) and always shown as self-declared, beside a short id and the day of registration:
four registrations named "Claude" still look different. Redirect URIs are ``https://``, or
``http://`` on loopback, and never carry user info (``https://claude.ai@evil.example/cb`` goes
to evil.example).
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from mcp.server.auth.provider import RegistrationError
from mcp.shared.auth import OAuthClientInformationFull

from healthlocker.consent import CLIENT_RULE, GrantStore, check_client
from healthlocker.errors import ConsentError
from healthlocker.server._oauth_store import OAuthStore
from healthlocker.server._tokens import ACCESS_TTL, ALL_SCOPES, LEEWAY
from healthlocker.store import Vault

REGISTRATION_TTL = 3600
MAX_CLIENTS = 200
MAX_UNCONSENTED = 100


@dataclass(frozen=True)
class ClientLabel:
    """How the pages and the command line show a client."""

    id: str
    name: str  # self-declared at registration
    registered: str  # YYYY-MM-DD, or "" when unknown
    consented: bool = True

    @property
    def short(self) -> str:
        return self.id[:8]

    @property
    def text(self) -> str:
        return f"{self.name} ({self.short})"


def label_of(client_id: str, body: dict[str, Any]) -> ClientLabel:
    issued = body.get("client_id_issued_at")
    day = datetime.fromtimestamp(issued, UTC).date().isoformat() if issued else ""
    name = str(body.get("client_name") or "")
    try:
        check_client(name)
    except ConsentError:
        name = "unnamed"  # registered before names were checked
    return ClientLabel(client_id, name, day, consented=body.get("consented_at") is not None)


def client_labels(vault: Vault) -> dict[str, ClientLabel]:
    """Every registered client's label, by client id (the name grants and the audit use)."""
    return {cid: label_of(cid, body) for cid, body in OAuthStore(vault).all("client")}


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


def find_client(vault: Vault, text: str) -> str:
    """The client *text* names, as grants name it: a name grants use, a registered client's id,
    the short id shown beside its name, or its name when only one registration has it."""
    labels = client_labels(vault)
    known = {g.client for g in GrantStore(vault).all()} | set(labels)
    if text in known:
        return text
    matches = {cid for cid, label in labels.items() if text in (label.short, label.name)}
    if len(matches) == 1:
        return matches.pop()
    if matches:
        shown = ", ".join(sorted(labels[m].text for m in matches))
        raise ConsentError(f"several clients go by that name ({shown}); name one by its id")
    raise ConsentError("no such client; `healthlocker grants --all` lists them")


@dataclass(frozen=True)
class Revoked:
    grants: int
    families: int
    registration: bool


def revoke_client(vault: Vault, client: str) -> Revoked:
    """End everything *client* (as :func:`find_client` returns it) holds, in one transaction:
    its live grants, its refresh tokens, its access tokens (refused from now on) and, for a
    registered client, its registration (it must register again and ask the person)."""
    store = OAuthStore(vault)
    with vault.transaction():
        grants = GrantStore(vault).revoke(None, client=client)
        families = {b["family"] for _, b in store.all("refresh") if b["client_id"] == client}
        store.delete_where("refresh", client_id=client)
        store.delete_where("ask", client_id=client)
        registration = store.delete("client", client)
        store.put("revoked", f"client:{client}", {}, ACCESS_TTL + LEEWAY)
    return Revoked(len(grants), len(families), registration)
