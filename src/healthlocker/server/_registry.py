"""Registered clients as the person sees and ends them: labels, finding one, revoking one.

A client's name is its own words about itself, so it is always shown beside a short id and the
day it registered: four registrations named "Claude" still look different. Revoking a client
entirely ends everything it holds at once. No ``mcp`` here: the command line (``grants``,
``audit``, ``revoke --client``) uses this without loading the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from healthlocker.consent import GrantStore, check_client
from healthlocker.errors import ConsentError
from healthlocker.server._oauth_store import ACCESS_TTL, LEEWAY, OAuthStore
from healthlocker.store import Vault


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
