"""What the account page shows: the assistants, what each may read now, and the audit log.

Every assistant is shown by the name it gave itself, its short id and the day it registered, so
four registrations named "Claude" are four different lines. Each has one button that revokes
everything it holds (grants, tokens) and removes its registration; each grant has its own Revoke
button.
Registrations nobody allowed anything yet are listed too, with the hour left before they go.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime

from healthlocker.catalogue import TOOL_NAMES, tool
from healthlocker.consent import ALL_TOOLS, AuditLog, Entry, Grant, GrantStore, describe_window
from healthlocker.server._oauth_store import OAuthStore
from healthlocker.server._registry import ClientLabel, client_labels
from healthlocker.store import Vault


@dataclass(frozen=True)
class AccountData:
    labels: dict[str, ClientLabel]
    grants: list[Grant]  # live ones
    clients: list[str]  # registered ones, and any other name a live grant has
    entries: list[Entry]  # newest first
    intact: bool


def account_data(s: OAuthStore) -> AccountData:
    vault = s.vault
    now = datetime.now(UTC)
    grants = [g for g in GrantStore(vault).all() if g.live(now)]
    labels = client_labels(vault)
    others = sorted({g.client for g in grants} - set(labels))
    by_day = sorted(labels.values(), key=lambda label: (label.registered, label.name, label.id))
    log = AuditLog(vault)
    return AccountData(
        labels,
        grants,
        [label.id for label in by_day] + others,
        list(reversed(log.entries()))[:200],
        not log.verify(),
    )


def live_grant(vault: Vault, grant_id: str) -> bool:
    now = datetime.now(UTC)
    return any(g.id == grant_id and g.live(now) for g in GrantStore(vault).all())


def shown(data: AccountData, client: str) -> str:
    """A client as a line of the page says it (escaped)."""
    label = data.labels.get(client)
    return html.escape(label.text if label else client)


def account_body(data: AccountData, csrf: str) -> str:
    hidden = f'<input type=hidden name=csrf value="{html.escape(csrf)}">'
    assistants = "".join(_assistant_row(data, client, hidden) for client in data.clients)
    grants = "".join(
        f"<tr><td>{shown(data, g.client)}</td><td>{_tool(g.tool)}</td>"
        f"<td>{html.escape(describe_window(g.window))}<br><span class=note>until "
        f"{_when(g.expires)} UTC</span></td><td>"
        f'<form method=post action="/account/revoke">{hidden}<input type=hidden name=grant '
        f'value="{html.escape(g.id)}"><button type=submit>Revoke</button></form></td></tr>'
        for g in data.grants
    )
    log = "".join(
        f"<tr><td>{e.seq}</td><td>{_when(e.event.at, 19)}</td>"
        f"<td>{shown(data, e.event.client)}</td>"
        f"<td>{_tool(e.event.tool)}</td><td>{e.event.outcome}</td>"
        f"<td>{e.event.records}</td></tr>"
        for e in data.entries
    )
    verified = (
        "The log is intact: chain and head verified."
        if data.intact
        else "<span class=error>The audit log failed verification; "
        "run healthlocker audit --verify.</span>"
    )
    return f"""<h2>Grants in force</h2><div class=wide>
<table><tr><th>Assistant</th><th>Tool</th><th>Records, for how long</th><th></th></tr>
{grants or "<tr><td colspan=4>No live grants.</td></tr>"}</table></div>
<h2>Assistants</h2><p class=note>Names are what each assistant calls itself; the id tells two
with the same name apart.</p><div class=wide>
<table><tr><th>Assistant</th><th>Registered</th><th>Status</th><th></th></tr>
{assistants or "<tr><td colspan=4>None.</td></tr>"}</table></div>
<h2>Audit log</h2><p>{verified}</p><div class=wide>
<table><tr><th>#</th><th>When (UTC)</th><th>Assistant</th><th>Tool</th><th>Outcome</th>
<th>Records</th></tr>{log}</table></div>
<form method=post action="/logout">{hidden}<div class=buttons>
<button type=submit>Sign out</button></div></form>"""


def _tool(name: str) -> str:
    """A tool in the person's words (its catalogue title), escaped."""
    title = "Every tool" if name == ALL_TOOLS else tool(name).title if name in TOOL_NAMES else name
    return html.escape(title)


def _when(stamp: str, length: int = 16) -> str:
    """An ISO time as the page shows it, e.g. 2026-12-06 18:44 (a narrow column breaks it
    between the day and the time, never inside either)."""
    day, _, time = html.escape(stamp[:length]).partition("T")
    return f"<span class=nw>{day}</span> <span class=nw>{time}</span>"


def _assistant_row(data: AccountData, client: str, hidden: str) -> str:
    label = data.labels.get(client)
    live = sum(1 for g in data.grants if g.client == client)
    if label is None:
        status = f"{live} live grant(s); not registered here (a local assistant)"
    elif label.consented or live:
        status = f"{live} live grant(s)"
    else:
        status = "never allowed anything; its registration ends within an hour"
    return (
        f"<tr><td>{shown(data, client)}</td><td>{html.escape(label.registered if label else '')}"
        f'</td><td>{html.escape(status)}</td><td><form method=post action="/account/client">'
        f'{hidden}<input type=hidden name=client value="{html.escape(client)}"><button '
        "type=submit>Revoke everything</button></form></td></tr>"
    )
