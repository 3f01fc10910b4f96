"""The browser pages of remote mode: the consent page, and the account page (grants, audit).

Both ask for the vault passphrase: the consent page on every authorization, the account page
once per session (a sealed, 30-minute session keyed by a digest of its cookie). Forms carry a
CSRF token that must equal a SameSite=Strict cookie and the value kept sealed server-side.
Pages are plain server-rendered HTML with every value escaped, a stylesheet from this origin
and no scripts; the Content-Security-Policy says so.
"""

from __future__ import annotations

import hmac
import html
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from healthlocker.catalogue import TOOL_NAMES, tool
from healthlocker.consent import AuditLog, GrantStore, describe_window, window_for
from healthlocker.server._guard import RateLimiter
from healthlocker.server._oauth import Pending, VaultAuthProvider
from healthlocker.server._oauth_store import OAuthStore, new_secret
from healthlocker.server._tokens import tools_in
from healthlocker.store import Vault

T = TypeVar("T")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:\d{1,5})?$|^http://\[[0-9a-fA-F:]+\](:\d{1,5})?$")
SESSION_TTL = 1800
DURATIONS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "30d": timedelta(days=30)}
WINDOWS = {"all": None, "12": 12, "3": 3}
STYLE = """body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;
color:#1b1b1b}h1{font-size:1.4rem}fieldset{border:1px solid #ccc;border-radius:6px;margin:1rem 0}
label{display:block;margin:.25rem 0}table{border-collapse:collapse;width:100%;font-size:.9rem}
td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left}.note{color:#555}
.error{color:#a00}button{font-size:1rem;margin:.5rem .5rem 0 0;padding:.4rem 1rem}"""


class Pages:
    def __init__(self, provider: VaultAuthProvider, secure_cookies: bool) -> None:
        self.provider = provider
        self.state = provider.state
        self.secure = secure_cookies
        # Wrong passphrases per client address: 5 at once, then one more every 5 s.
        self.failures = RateLimiter(rate=0.2, burst=5)

    def routes(self) -> list[Route]:
        return [
            Route("/consent", self.consent, methods=["GET", "POST"]),
            Route("/account", self.account, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/account/revoke", self.revoke, methods=["POST"]),
            Route("/static/style.css", self.style, methods=["GET"]),
        ]

    async def db(self, fn: Callable[[Vault], T]) -> T:
        return await anyio.to_thread.run_sync(lambda: self.state.using(fn))

    async def style(self, request: Request) -> Response:
        return Response(STYLE, media_type="text/css")

    # -- consent -------------------------------------------------------------------------------

    async def consent(self, request: Request) -> Response:
        form = await _form(request) if request.method == "POST" else _Form({})
        request_id = form.get("request") or request.query_params.get("request", "")
        pending = (
            await self.provider.db(lambda s: self.provider.pending(s, request_id))
            if request_id
            else None
        )
        if pending is None:
            return _page(
                "Request expired",
                "<p>This authorization request has expired or was "
                "already answered. Start again from your assistant.</p>",
                status=400,
            )
        if request.method == "GET":
            response = self._consent_form(pending, "")
            response.set_cookie(
                "hl_csrf",
                pending.csrf,
                httponly=True,
                samesite="strict",
                secure=self.secure,
                path="/consent",
                max_age=600,
            )
            return response
        if not _same(form.get("csrf"), request.cookies.get("hl_csrf"), pending.csrf):
            return _page("Refused", "<p>This form did not come from this page.</p>", status=403)
        if form.get("action") != "allow":
            target = await self.provider.db(
                lambda s: self.provider.decide(
                    s, request_id, tools=None, duration=timedelta(0), window="all"
                )
            )
            return RedirectResponse(target, status_code=303)
        tools = [t for t in form.getlist("tool") if t in TOOL_NAMES]
        duration = DURATIONS.get(form.get("duration", ""), DURATIONS["1h"])
        months = WINDOWS.get(form.get("window", "all"))
        if not tools:
            return self._consent_form(pending, "Choose at least one kind of record, or Deny.")
        if not await self._unlocks(request, form.get("passphrase", "")):
            return self._consent_form(pending, "That passphrase does not unlock this vault.")
        target = await self.provider.db(
            lambda s: self.provider.decide(
                s, request_id, tools=tools, duration=duration, window=window_for(months=months)
            )
        )
        return RedirectResponse(target, status_code=303)

    def _consent_form(self, pending: Pending, error: str) -> Response:
        offered = tools_in(pending.scopes)
        boxes = "".join(
            f'<label><input type="checkbox" name="tool" value="{t}" checked> '
            f"{html.escape(tool(t).title)}: {html.escape(tool(t).purpose)} "
            f"<span class=note>({t})</span></label>"
            for t in offered
        )
        redirect = urlsplit(pending.redirect_uri)
        body = f"""<p><strong>{html.escape(pending.client_name)}</strong> asks to read your health
records through healthlocker. After you answer you return to
<strong>{html.escape(redirect.netloc)}</strong>.</p>
{f"<p class=error role=alert>{html.escape(error)}</p>" if error else ""}
<form method=post action="/consent">
<input type=hidden name=request value="{html.escape(pending.request_id)}">
<input type=hidden name=csrf value="{html.escape(pending.csrf)}">
<fieldset><legend>What it may read</legend>{boxes}</fieldset>
<fieldset><legend>For how long</legend><select name=duration aria-label="For how long">
<option value=1h>1 hour</option><option value=24h>24 hours</option>
<option value=30d>30 days</option></select></fieldset>
<fieldset><legend>Which records</legend><select name=window aria-label="Which records">
<option value=all>All records</option><option value=12>The last 12 months</option>
<option value=3>The last 3 months</option></select></fieldset>
<label>Vault passphrase <input type=password name=passphrase autocomplete=current-password
required></label>
<button type=submit name=action value=allow>Allow</button>
<button type=submit name=action value=deny formnovalidate>Deny</button>
</form><p class=note>You can review and revoke this at <a href="/account">/account</a> or with
<code>healthlocker revoke</code>.</p>"""
        origin = f"{redirect.scheme}://{redirect.netloc}"
        # The browser applies form-action to the redirect after the POST, so the client's
        # origin must be listed; only a plain origin ever reaches the header.
        origin = origin if _ORIGIN.match(origin) else ""
        return _page("Allow access to your health records?", body, form_action=origin)

    async def _unlocks(self, request: Request, passphrase: str) -> bool:
        """Whether the passphrase is right; after 5 wrong ones an address must wait."""
        address = request.client.host if request.client else "?"
        if self.failures.take(address, spend=False):
            return False
        if await self.db(lambda v: v.check_passphrase(passphrase)):
            return True
        self.failures.take(address)
        return False

    # -- account -------------------------------------------------------------------------------

    async def _session(self, request: Request) -> dict[str, Any] | None:
        sid = request.cookies.get("hl_session", "")
        if not sid:
            return None
        return await self.provider.db(lambda s: s.get("session", s.secret_id(sid)))

    async def account(self, request: Request) -> Response:
        session = await self._session(request)
        if session is None:
            return self._login_form("", request)
        grants, entries, intact, names = await self.provider.db(_account_data)
        rows = "".join(
            f"<tr><td>{html.escape(names.get(g.client, g.client))}</td><td>{g.tool}</td>"
            f"<td>{html.escape(describe_window(g.window))}</td><td>{g.expires[:16]}</td><td>"
            f'<form method=post action="/account/revoke"><input type=hidden name=csrf '
            f'value="{session["csrf"]}"><input type=hidden name=grant value="{g.id}">'
            f"<button type=submit>Revoke</button></form></td></tr>"
            for g in grants
        )
        log = "".join(
            f"<tr><td>{e.seq}</td><td>{e.event.at[:19]}</td>"
            f"<td>{html.escape(names.get(e.event.client, e.event.client))}</td>"
            f"<td>{e.event.tool}</td><td>{e.event.outcome}</td><td>{e.event.records}</td></tr>"
            for e in entries
        )
        body = f"""<h2>Grants in force</h2>
<table><tr><th>Client</th><th>Tool</th><th>Records</th><th>Until (UTC)</th><th></th></tr>
{rows or "<tr><td colspan=5>No live grants.</td></tr>"}</table>
<h2>Audit log</h2><p>{
            "The log is intact: chain and head verified."
            if intact
            else "<span class=error>The audit log failed verification; "
            "run healthlocker audit --verify.</span>"
        }</p>
<table><tr><th>#</th><th>When (UTC)</th><th>Client</th><th>Tool</th><th>Outcome</th>
<th>Records</th></tr>{log}</table>
<form method=post action="/logout"><input type=hidden name=csrf value="{session["csrf"]}">
<button type=submit>Sign out</button></form>"""
        return _page("Your healthlocker", body)

    def _login_form(self, error: str, request: Request) -> Response:
        token = new_secret()
        body = f"""{f"<p class=error role=alert>{html.escape(error)}</p>" if error else ""}
<form method=post action="/login"><input type=hidden name=csrf value="{token}">
<label>Vault passphrase <input type=password name=passphrase autocomplete=current-password
required></label><button type=submit>Unlock</button></form>"""
        response = _page("Unlock your healthlocker", body, status=401 if error else 200)
        response.set_cookie(
            "hl_login",
            token,
            httponly=True,
            samesite="strict",
            secure=self.secure,
            path="/login",
            max_age=600,
        )
        return response

    async def login(self, request: Request) -> Response:
        form = await _form(request)
        if not _same(form.get("csrf"), request.cookies.get("hl_login")):
            return _page("Refused", "<p>This form did not come from this page.</p>", status=403)
        if not await self._unlocks(request, form.get("passphrase", "")):
            return self._login_form("That passphrase does not unlock this vault.", request)
        sid = new_secret()
        csrf = new_secret()
        await self.provider.db(
            lambda s: s.put("session", s.secret_id(sid), {"csrf": csrf}, SESSION_TTL)
        )
        response = RedirectResponse("/account", status_code=303)
        response.set_cookie(
            "hl_session",
            sid,
            httponly=True,
            samesite="strict",
            secure=self.secure,
            path="/",
            max_age=SESSION_TTL,
        )
        return response

    async def logout(self, request: Request) -> Response:
        session = await self._session(request)
        form = await _form(request)
        if session is not None and _same(form.get("csrf"), session["csrf"]):
            sid = request.cookies.get("hl_session", "")
            await self.provider.db(lambda s: s.delete("session", s.secret_id(sid)))
        response = RedirectResponse("/account", status_code=303)
        response.delete_cookie("hl_session", path="/")
        return response

    async def revoke(self, request: Request) -> Response:
        session = await self._session(request)
        form = await _form(request)
        if session is None or not _same(form.get("csrf"), session["csrf"]):
            return _page("Refused", "<p>Sign in again to revoke grants.</p>", status=403)
        grant_id = form.get("grant", "")
        await self.db(lambda v: GrantStore(v).revoke(grant_id) if _live(v, grant_id) else None)
        return RedirectResponse("/account", status_code=303)


class _Form(dict[str, str]):
    def __init__(self, raw: dict[str, list[str]]) -> None:
        super().__init__({k: v[0] for k, v in raw.items()})
        self.raw = raw

    def getlist(self, key: str) -> list[str]:
        return self.raw.get(key, [])


async def _form(request: Request) -> _Form:
    # The Guard has already capped the body; urlencoded forms only (no multipart parser).
    raw = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=40)
    return _Form(raw)


def _same(*values: str | None) -> bool:
    first = values[0]
    return bool(first) and all(
        v is not None and hmac.compare_digest(first or "", v) for v in values
    )


def _live(vault: Vault, grant_id: str) -> bool:
    now = datetime.now(UTC)
    return any(g.id == grant_id and g.live(now) for g in GrantStore(vault).all())


def _account_data(store: OAuthStore) -> tuple[list[Any], list[Any], bool, dict[str, str]]:
    vault = store.vault
    now = datetime.now(UTC)
    grants = [g for g in GrantStore(vault).all() if g.live(now)]
    log = AuditLog(vault)
    entries = list(reversed(log.entries()))[:200]
    names = {cid: str(body.get("client_name") or cid) for cid, body in store.all("client")}
    return grants, entries, not log.verify(), names


def _page(title: str, body: str, *, status: int = 200, form_action: str = "") -> HTMLResponse:
    doc = f"""<!doctype html><html lang=en><head><meta charset=utf-8>
<meta name=viewport content="width=device-width,initial-scale=1"><title>{html.escape(title)}</title>
<link rel=stylesheet href="/static/style.css"></head><body><h1>{html.escape(title)}</h1>
{body}</body></html>"""
    csp = (
        "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; "
        f"base-uri 'none'; form-action 'self'{' ' + form_action if form_action else ''}"
    )
    # same-origin, not the Guard's no-referrer: under no-referrer a browser posts the page's own
    # forms with `Origin: null`, which the Guard's Origin allowlist rightly refuses. same-origin
    # still sends no Referer to any other origin (such as the client's redirect URI).
    headers = {"content-security-policy": csp, "referrer-policy": "same-origin"}
    return HTMLResponse(doc, status_code=status, headers=headers)
