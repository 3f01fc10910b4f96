"""The consent page: where the person, and only the person, lets an assistant read records.

One page answers two kinds of request:

- *connect*: an assistant's OAuth authorization (``/authorize`` sent the browser here). The
  answer becomes grants and the scopes of its tokens, and the browser goes back to it.
- *call*: a tool call that no live grant covers, over HTTP (``_asks``). The answer becomes a
  grant, a just-this-once answer, or a no, which the retried call finds.

It is written for someone who is not technical: who is asking (the name the assistant gives
itself, marked as such, with a short id and the day it registered), where the records go (to
the assistant's provider), what each kind of record is, in the catalogue's words. Nothing is
chosen beyond the tool a call asked for, and the defaults are the narrowest: the shortest time
and the last 3 months. A wrong passphrase keeps every choice. The vault passphrase confirms.
"""

from __future__ import annotations

import html
import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from urllib.parse import urlsplit

from healthlocker.catalogue import TOOL_NAMES, tool
from healthlocker.server._registry import ClientLabel

DURATIONS = {
    "once": None,
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "30d": timedelta(days=30),
}
_DURATION_WORDS = {
    "once": "Just this once",
    "1h": "For 1 hour",
    "24h": "For 24 hours",
    "30d": "For 30 days",
}
WINDOWS = {"3": 3, "12": 12, "all": None}
_WINDOW_WORDS = {"3": "The last 3 months", "12": "The last 12 months", "all": "All my records"}


@dataclass(frozen=True)
class Request:
    """What the page asks the person about."""

    token: str
    kind: Literal["connect", "call"]
    client: ClientLabel
    offered: tuple[str, ...]  # tools, in the catalogue's order
    csrf: str
    redirect_uri: str = ""  # where a connect request returns


@dataclass(frozen=True)
class Choice:
    """What the form holds: the narrowest defaults, or what the person chose before."""

    tools: tuple[str, ...]
    duration: str
    window: str

    @classmethod
    def default(cls, request: Request) -> Choice:
        ticked = request.offered if request.kind == "call" else ()
        return cls(ticked, "once" if request.kind == "call" else "1h", "3")

    @classmethod
    def posted(cls, request: Request, tools: list[str], duration: str, window: str) -> Choice:
        default = cls.default(request)
        return cls(
            tuple(t for t in request.offered if t in tools and t in TOOL_NAMES),
            duration if duration in _durations(request) else default.duration,
            window if window in WINDOWS else default.window,
        )


def _durations(request: Request) -> list[str]:
    return [d for d in DURATIONS if d != "once" or request.kind == "call"]


def returns_to(request: Request) -> str:
    """Where the browser goes after a connect request, in words: the assistant's name and, when
    it is not this computer, the host (so a look-alike host shows)."""
    name = f"<strong>{html.escape(request.client.name)}</strong>"
    host = urlsplit(request.redirect_uri).hostname or ""
    if not host or host == "localhost" or _loopback(host):
        return f"{name}, on this computer"
    return f"{name} at <strong>{html.escape(host)}</strong>"


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def consent_body(request: Request, choice: Choice, error: str) -> str:
    """The page's body (the caller wraps it in the page shell)."""
    client = request.client
    who = (
        f"<p class=lead>An assistant that calls itself <strong>{html.escape(client.name)}</strong>"
        f" asks to read your health records.</p><p class=note>“{html.escape(client.name)}” is the "
        "name it gave itself; healthlocker cannot check it. Its id here is "
        f"<code>{html.escape(client.short)}</code>"
        + (f", registered on {html.escape(client.registered)}" if client.registered else "")
        + ".</p><p>Whatever it reads goes to the assistant's provider (the company that runs "
        "it), which handles it under its own terms.</p>"
    )
    after = (
        f"<p class=note>After you answer, your browser goes back to {returns_to(request)}.</p>"
        if request.kind == "connect"
        else "<p class=note>After you answer, go back to your assistant: it finds your answer "
        "when it tries again.</p>"
    )
    alert = f"<p class=error role=alert>{html.escape(error)}</p>" if error else ""
    return f"""{who}
<form method=post action="/consent">
<input type=hidden name=request value="{html.escape(request.token)}">
<input type=hidden name=csrf value="{html.escape(request.csrf)}">
<fieldset><legend>What it may read</legend>{_tool_boxes(request, choice)}</fieldset>
<fieldset><legend>For how long</legend>{
        _radios("duration", _durations(request), _DURATION_WORDS, choice.duration)
    }</fieldset>
<fieldset><legend>Which records</legend>{
        _radios("window", list(WINDOWS), _WINDOW_WORDS, choice.window)
    }</fieldset>
{alert}<label class=pass>Your vault passphrase <input type=password name=passphrase
autocomplete=current-password required></label>
<div class=buttons><button type=submit name=action value=allow>Allow</button>
<button type=submit name=action value=deny formnovalidate>Don't allow</button></div>
</form>{after}
<p class=note>You can see and withdraw what you allowed at any time on
<a href="/account">your healthlocker page</a> or with <code>healthlocker revoke</code>.</p>"""


def _tool_boxes(request: Request, choice: Choice) -> str:
    boxes = []
    for name in request.offered:
        spec = tool(name)
        checked = " checked" if name in choice.tools else ""
        boxes.append(
            f'<label class=choice><input type="checkbox" name="tool" value="{name}"{checked}> '
            f"<span><strong>{html.escape(spec.title)}</strong>: {html.escape(spec.purpose)}"
            f" <span class=note>({name})</span></span></label>"
        )
    return "".join(boxes)


def _radios(name: str, values: list[str], words: dict[str, str], chosen: str) -> str:
    return "".join(
        f'<label class=choice><input type="radio" name="{name}" value="{value}"'
        f"{' checked' if value == chosen else ''}> <span>{words[value]}</span></label>"
        for value in values
    )


def done_body(request: Request, allowed: bool) -> str:
    """The page after a call request is answered."""
    name = html.escape(request.client.name)
    if allowed:
        return (
            f"<p class=lead>Done. Go back to your assistant ({name}): it can carry on.</p>"
            '<p class=note>You can withdraw this at any time on <a href="/account">your '
            "healthlocker page</a>.</p>"
        )
    return (
        f"<p class=lead>Not allowed. {name} reads nothing, and is told you said no.</p>"
        "<p class=note>You can close this page.</p>"
    )
