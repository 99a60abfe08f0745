"""Log-in and log-out, the language choice, the session key and the security headers."""

from __future__ import annotations

import hmac

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from careaccess_admin.admins import verify_password
from careaccess_admin.base import (
    BaseUI,
)
from careaccess_admin.texts import LANGUAGES


class SecurityHeaders:
    """Adds a strict Content-Security-Policy and no-store caching to every response."""

    HEADERS: tuple[tuple[bytes, bytes], ...] = (
        (
            b"content-security-policy",
            b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(self.HEADERS)
                if not is_static:  # pages hold identity numbers: never keep them in caches
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AuthPages(BaseUI):
    """Logging in and out, and choosing the language."""

    # -- log in and out, language ------------------------------------------------------

    async def login_page(self, request: Request) -> Response:
        if self.admin(request) is not None:
            return RedirectResponse("/", 303)
        return self.render(request, "login.html")

    async def login(self, request: Request) -> Response:
        form = await self.form(request)
        user = str(form.get("username", "")).strip()
        password = str(form.get("password", ""))
        admin = await run_in_threadpool(verify_password, self.admins, user, password)
        if admin is None:
            return self.render(request, "login.html", 401, error="Fel användarnamn eller lösenord.", username=user)
        lang = request.session.get("lang")
        request.session.clear()  # a new session id and CSRF token at every log-in
        session = self.session(request)
        session["admin"] = admin.id
        if lang in LANGUAGES:
            session["lang"] = lang
        return RedirectResponse("/", 303)

    async def logout(self, request: Request) -> Response:
        await self.form(request)
        lang = request.session.get("lang")
        request.session.clear()
        if lang in LANGUAGES:
            request.session["lang"] = lang
        return RedirectResponse("/login", 303)

    async def language(self, request: Request) -> Response:
        form = await self.form(request)
        lang = form.get("lang")
        if lang in LANGUAGES:
            request.session["lang"] = lang
        back = str(form.get("back", "/"))
        if not back.startswith("/") or back.startswith("//"):
            back = "/"
        return RedirectResponse(back, 303)


def hashlib_key(key: bytes) -> str:
    """The session-signing key, derived from the server's secret (separate from the handles' key)."""
    return hmac.new(key, b"careaccess-admin sessions", "sha256").hexdigest()
