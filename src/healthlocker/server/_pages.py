"""The browser pages of remote mode: the consent page, and the account page (assistants, grants,
audit).

Both ask for the vault passphrase: the consent page on every answer, the account page once per
session (a sealed, 30-minute session keyed by a digest of its cookie). Forms carry a CSRF token
that must equal a SameSite=Strict cookie and the value kept sealed server-side. Pages are plain
server-rendered HTML with every value escaped, a stylesheet from this origin and no scripts;
the Content-Security-Policy says so. What the pages say is in ``_consent_page`` and
``_account``; tries of the passphrase are limited in ``_passphrase``.
"""

from __future__ import annotations

import hmac
import html
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from healthlocker.consent import GrantStore, window_for
from healthlocker.server._account import account_body, account_data, live_grant
from healthlocker.server._asks import Asks
from healthlocker.server._clients import mark_consented
from healthlocker.server._consent_page import (
    DURATIONS,
    WINDOWS,
    Choice,
    consent_body,
    done_body,
)
from healthlocker.server._consent_page import Request as Ask
from healthlocker.server._oauth import VaultAuthProvider
from healthlocker.server._oauth_store import OAuthStore, new_secret
from healthlocker.server._passphrase import Passphrases
from healthlocker.server._registry import label_of, revoke_client
from healthlocker.server._tokens import tools_in

T = TypeVar("T")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:\d{1,5})?$|^http://\[[0-9a-fA-F:]+\](:\d{1,5})?$")
SESSION_TTL = 1800
STYLE = """body{font:17px/1.5 system-ui,sans-serif;max-width:40rem;margin:1.5rem auto;
padding:0 1rem;color:#1b1b1b}h1{font-size:1.35rem;line-height:1.3}h2{font-size:1.1rem}
fieldset{border:1px solid #ccc;border-radius:8px;margin:1rem 0;padding:.5rem .9rem}
legend{font-weight:600;padding:0 .3rem}label{display:block;margin:.3rem 0}
label.choice{display:flex;gap:.6rem;align-items:flex-start;padding:.35rem 0}
label.choice input{margin-top:.3rem;flex:none;width:1.15rem;height:1.15rem}
label.pass input{display:block;width:100%;box-sizing:border-box;font-size:1rem;padding:.5rem;
margin-top:.3rem}.lead{font-size:1.1rem}.note{color:#555;font-size:.9rem}
.error{color:#a00;font-weight:600}.buttons{display:flex;gap:.75rem;flex-wrap:wrap;margin:1rem 0}
button{font:inherit;padding:.5rem 1.3rem;border-radius:6px;border:1px solid #888;
background:#f4f4f4}button[value=allow]{background:#1d5fd6;border-color:#1d5fd6;color:#fff}
.wide{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.9rem}
td,th{border-bottom:1px solid #ddd;padding:.35rem;text-align:left;vertical-align:top}
.nw{white-space:nowrap}td form{margin:0}td button{font-size:.85rem;padding:.25rem .6rem}
td .note{font-size:inherit}code{font-size:.9em}
@media (max-width:30rem){table{font-size:.8rem}td,th{padding:.25rem}}"""


class Pages:
    def __init__(self, provider: VaultAuthProvider, asks: Asks, secure_cookies: bool) -> None:
        self.provider = provider
        self.state = provider.state
        self.asks = asks
        self.secure = secure_cookies
        self.passphrases = Passphrases(self.state)

    def routes(self) -> list[Route]:
        return [
            Route("/consent", self.consent, methods=["GET", "POST"]),
            Route("/account", self.account, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/account/revoke", self.revoke, methods=["POST"]),
            Route("/account/client", self.revoke_client, methods=["POST"]),
            Route("/static/style.css", self.style, methods=["GET"]),
        ]

    async def db(self, fn: Callable[[OAuthStore], T]) -> T:
        return await self.provider.db(fn)

    async def style(self, request: Request) -> Response:
        return Response(STYLE, media_type="text/css")

    # -- consent -------------------------------------------------------------------------------

    async def consent(self, request: Request) -> Response:
        form = await _form(request) if request.method == "POST" else _Form({})
        token = form.get("request") or request.query_params.get("request", "")
        found = await self.db(lambda s: self._request(s, token)) if token else None
        if found is None:
            return page(
                "This request has expired",
                "<p>This request has expired or was already answered. Nothing was shared. "
                "Start again from your assistant.</p>",
                status=400,
            )
        if request.method == "GET":
            response = self._consent_form(found, Choice.default(found), "")
            response.set_cookie(
                "hl_csrf",
                found.csrf,
                httponly=True,
                samesite="strict",
                secure=self.secure,
                path="/consent",
                max_age=600,
            )
            return response
        if not _same(form.get("csrf"), request.cookies.get("hl_csrf"), found.csrf):
            return page("Refused", "<p>This form did not come from this page.</p>", status=403)
        choice = Choice.posted(
            found, form.getlist("tool"), form.get("duration", ""), form.get("window", "")
        )
        if form.get("action") != "allow":
            return await self._answer(found, None)
        if not choice.tools:
            return self._consent_form(found, choice, "Choose at least one kind of record.")
        problem = await self.passphrases.check(_address(request), form.get("passphrase", ""))
        if problem is not None:
            return self._consent_form(found, choice, problem)
        return await self._answer(found, choice)

    def _request(self, s: OAuthStore, token: str) -> Ask | None:
        """The connect or call request *token* names, while its client is registered."""
        kind: Literal["connect", "call"] = "connect"
        pending = self.provider.pending(s, token)
        if pending is not None:
            client, offered = pending.client_id, tools_in(pending.scopes)
            csrf, redirect = pending.csrf, pending.redirect_uri
        else:
            ask = self.asks.get(s, token)
            if ask is None or ask.answer != "pending":
                return None
            kind, client, offered, csrf, redirect = "call", ask.client_id, [ask.tool], ask.csrf, ""
        body = s.get("client", client)
        if body is None:
            return None
        return Ask(token, kind, label_of(client, body), tuple(offered), csrf, redirect)

    def _consent_form(self, request: Ask, choice: Choice, error: str) -> Response:
        origin = ""
        if request.kind == "connect":
            # The browser applies form-action to the redirect after the POST, so the client's
            # origin must be listed; only a plain origin ever reaches the header.
            parts = urlsplit(request.redirect_uri)
            origin = f"{parts.scheme}://{parts.netloc}"
            origin = origin if _ORIGIN.match(origin) else ""
        return page(
            "Allow an assistant to read your health records?",
            consent_body(request, choice, error),
            form_action=origin,
        )

    async def _answer(self, request: Ask, choice: Choice | None) -> Response:
        """The person's answer (None: they said no)."""
        window = window_for(months=WINDOWS[choice.window]) if choice else "all"
        duration = DURATIONS[choice.duration] if choice else None
        if request.kind == "connect":
            target = await self.db(
                lambda s: self.provider.decide(
                    s,
                    request.token,
                    tools=list(choice.tools) if choice else None,
                    duration=duration or timedelta(hours=1),  # "once" is for calls only
                    window=window,
                )
            )
            return RedirectResponse(target, status_code=303)

        def settle(s: OAuthStore) -> None:
            ask = self.asks.get(s, request.token)
            if ask is None:
                return
            with s.vault.transaction():
                if choice is None:
                    self.asks.answer(s, ask, "denied")
                elif duration is None:
                    self.asks.answer(s, ask, "once", window)
                    mark_consented(s, ask.client_id)
                else:
                    GrantStore(s.vault).add(
                        client=ask.client_id, tool=ask.tool, duration=duration, window=window
                    )
                    self.asks.answer(s, ask, "granted", window)
                    mark_consented(s, ask.client_id)

        await self.db(settle)
        title = "Allowed" if choice else "Not allowed"
        return page(title, done_body(request, choice is not None))

    # -- account -------------------------------------------------------------------------------

    async def _session(self, request: Request) -> dict[str, Any] | None:
        sid = request.cookies.get("hl_session", "")
        if not sid:
            return None
        return await self.db(lambda s: s.get("session", s.secret_id(sid)))

    async def account(self, request: Request) -> Response:
        session = await self._session(request)
        if session is None:
            return self._login_form("", request)
        data = await self.db(account_data)
        return page("Your healthlocker", account_body(data, session["csrf"]))

    def _login_form(self, error: str, request: Request) -> Response:
        token = new_secret()
        body = f"""{f"<p class=error role=alert>{html.escape(error)}</p>" if error else ""}
<form method=post action="/login"><input type=hidden name=csrf value="{token}">
<label class=pass>Your vault passphrase <input type=password name=passphrase
autocomplete=current-password required></label><div class=buttons>
<button type=submit>Unlock</button></div></form>"""
        response = page("Unlock your healthlocker", body, status=401 if error else 200)
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
            return page("Refused", "<p>This form did not come from this page.</p>", status=403)
        problem = await self.passphrases.check(_address(request), form.get("passphrase", ""))
        if problem is not None:
            return self._login_form(problem, request)
        sid = new_secret()
        csrf = new_secret()
        await self.db(lambda s: s.put("session", s.secret_id(sid), {"csrf": csrf}, SESSION_TTL))
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
            await self.db(lambda s: s.delete("session", s.secret_id(sid)))
        response = RedirectResponse("/account", status_code=303)
        response.delete_cookie("hl_session", path="/")
        return response

    async def revoke(self, request: Request) -> Response:
        """Revoke one grant (its client's refresh tokens end with it: see ``_oauth``)."""
        form = await self._signed_form(request)
        if form is None:
            return page("Refused", "<p>Sign in again to revoke grants.</p>", status=403)
        grant_id = form.get("grant", "")

        def revoke(s: OAuthStore) -> None:
            if live_grant(s.vault, grant_id):
                GrantStore(s.vault).revoke(grant_id)

        await self.db(revoke)
        return RedirectResponse("/account", status_code=303)

    async def revoke_client(self, request: Request) -> Response:
        """Revoke everything one assistant holds, and remove its registration."""
        form = await self._signed_form(request)
        if form is None:
            return page("Refused", "<p>Sign in again to remove an assistant.</p>", status=403)
        client = form.get("client", "")
        if client:
            await self.db(lambda s: revoke_client(s.vault, client))
        return RedirectResponse("/account", status_code=303)

    async def _signed_form(self, request: Request) -> _Form | None:
        """The posted form, if it comes from a signed-in account page."""
        session = await self._session(request)
        form = await _form(request)
        return form if session is not None and _same(form.get("csrf"), session["csrf"]) else None


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


def _address(request: Request) -> str:
    return request.client.host if request.client else "?"


def _same(*values: str | None) -> bool:
    first = values[0]
    return bool(first) and all(
        v is not None and hmac.compare_digest(first or "", v) for v in values
    )


def page(title: str, body: str, *, status: int = 200, form_action: str = "") -> HTMLResponse:
    """A page in the one shell: title, this origin's stylesheet, no scripts."""
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
