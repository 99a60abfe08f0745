"""The ASGI application: every screen of the manual's *Invånare* card.

Pages are rendered on the server (Starlette + Jinja2); htmx and a small script only
enhance them (live search, the look-up step in place, pop-ups, *Markera alla*, a
disabled *Dela ut* until the form is complete, no double submits). Every form works
without JavaScript.

The logged-in administrator is the library's :class:`careaccess.Actor`; every read and
change goes through :class:`careaccess.CareAccess`, which authorizes it. Identity
numbers never appear in URLs: a resident is named by an opaque handle sealed for the
session and clinic (:mod:`careaccess_admin.handles`), and so is a position in the
resident list (the library's cursor and the search text).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from careaccess import CareAccess, CareAccessError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from careaccess_admin.admins import Admin
from careaccess_admin.auth import AuthPages, SecurityHeaders, hashlib_key
from careaccess_admin.base import (
    EVENTS_PAGE,
    HERE,
    PAGE_SIZE,
    ClinicGone,
    CsrfRejected,
    GrantRow,
    NotLoggedIn,
    Refused,
    ResidentRow,
    mask,
)
from careaccess_admin.bulk import BulkPages
from careaccess_admin.errors import ErrorPages
from careaccess_admin.handles import BadHandle, Sealer

# The pages live in auth, residents, bulk and errors (shared helpers in base); names
# other code imports from this module are re-exported here.
__all__ = [
    "EVENTS_PAGE",
    "HERE",
    "PAGE_SIZE",
    "AdminUI",
    "ClinicGone",
    "CsrfRejected",
    "GrantRow",
    "NotLoggedIn",
    "Refused",
    "ResidentRow",
    "SecurityHeaders",
    "create_app",
    "hashlib_key",
    "mask",
]

_SESSION_COOKIE = "careaccess_admin"
_SESSION_AGE = 8 * 3600  # a working day


class AdminUI(AuthPages, BulkPages, ErrorPages):
    """The pages, bound to one :class:`CareAccess` and one set of administrators.

    :param access: the library service every page reads and changes through.
    :param admins: the administrators who may log in, by id.
    :param sealer: makes and opens the opaque handles in URLs.
    :param trusted_header: when set, the administrator's id is taken from this request
        header (set by a single-sign-on proxy in front of the app) instead of the login form.
    """


def create_app(
    access: CareAccess,
    admins: Mapping[str, Admin],
    *,
    secret_key: bytes | None = None,
    trusted_header: str | None = None,
    https_only: bool = False,
    page_size: int = PAGE_SIZE,
) -> Starlette:
    """The admin UI as an ASGI application.

    :param access: the library service; the app never closes it.
    :param admins: who may log in (see :mod:`careaccess_admin.admins`), by id.
    :param secret_key: signs the session cookie and seals handles; default: random, so
        sessions end when the process does and every process needs the same key.
    :param trusted_header: take the administrator's id from this header (single sign-on
        behind a proxy that sets it and strips it from clients); off by default.
    :param https_only: mark the session cookie ``Secure``.
    :param page_size: residents per page of the list, and clinics per page of the start page.
    """
    key = secret_key if secret_key is not None else secrets.token_bytes(32)
    ui = AdminUI(access, admins, Sealer(key), trusted_header, page_size)

    def post(path: str, endpoint: Callable[[Request], Awaitable[Response]]) -> Route:
        return Route(path, endpoint, methods=["POST"])

    routes = [
        Route("/", ui.home),
        Route("/login", ui.login_page),
        post("/login", ui.login),
        post("/logout", ui.logout),
        post("/language", ui.language),
        Route("/c/{clinic_id}", ui.clinic_page),
        Route("/c/{clinic_id}/residents", ui.residents),
        post("/c/{clinic_id}/search", ui.search),
        Route("/c/{clinic_id}/approve", ui.approve_start),
        post("/c/{clinic_id}/approve/lookup", ui.approve_lookup),
        post("/c/{clinic_id}/approve", ui.approve),
        Route("/c/{clinic_id}/grant", ui.grant_start),
        post("/c/{clinic_id}/grant/lookup", ui.grant_lookup),
        post("/c/{clinic_id}/grant", ui.grant),
        Route("/c/{clinic_id}/r/{handle}", ui.resident),
        Route("/c/{clinic_id}/r/{handle}/revoke", ui.revoke_confirm),
        post("/c/{clinic_id}/r/{handle}/revoke", ui.revoke),
        Route("/c/{clinic_id}/r/{handle}/grants/{case_type_id}", ui.grant_edit),
        post("/c/{clinic_id}/r/{handle}/grants/{case_type_id}", ui.grant_change),
        Route("/c/{clinic_id}/r/{handle}/grants/{case_type_id}/remove", ui.grant_remove_confirm),
        post("/c/{clinic_id}/r/{handle}/grants/{case_type_id}/remove", ui.grant_remove),
        Route("/c/{clinic_id}/manage", ui.manage),
        post("/c/{clinic_id}/manage/confirm", ui.manage_confirm),
        post("/c/{clinic_id}/manage/remove", ui.manage_remove),
        Route("/c/{clinic_id}/events", ui.events),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        CareAccessError: ui.library_error,
        CsrfRejected: ui.csrf_error,
        BadHandle: ui.handle_error,
        Refused: ui.refused,
        ClinicGone: ui.clinic_gone,
        NotLoggedIn: ui.not_logged_in,
        HTTPException: ui.http_error,
    }
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=hashlib_key(key),
            session_cookie=_SESSION_COOKIE,
            max_age=_SESSION_AGE,
            same_site="strict",
            https_only=https_only,
        ),
    ]
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)
    app.state.ui = ui
    return app
