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

import datetime as dt
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from careaccess import (
    Action,
    CareAccess,
    CareAccessError,
    CaseType,
    Clinic,
    Conflict,
    Event,
    Grant,
    InvalidRequest,
    NotFound,
    Page,
    PermissionDenied,
    PersonalIdentityNumber,
    ResidentAccess,
    StoreUnavailable,
)
from careaccess.service import VIEW
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from careaccess_admin.admins import Admin, verify_password
from careaccess_admin.handles import BadHandle, Sealer
from careaccess_admin.texts import LANGUAGES, Language, confirmation, error_text, translate

__all__ = ["PAGE_SIZE", "create_app"]

HERE = Path(__file__).parent
#: Residents per page of the list.
PAGE_SIZE = 50
#: Events per page of the event log.
EVENTS_PAGE = 50
_SESSION_COOKIE = "careaccess_admin"
_TWELVE_DIGITS = re.compile(r"\d{8}[-+]?\d{4}")
_SESSION_AGE = 8 * 3600  # a working day
_STATUS = {PermissionDenied: 403, NotFound: 404, Conflict: 409, StoreUnavailable: 503, InvalidRequest: 400}


class CsrfRejected(Exception):
    """A form arrived without this session's CSRF token."""


class ClinicGone(Exception):
    """The clinic of the URL does not exist (any more)."""


class NotLoggedIn(Exception):
    """The request needs a logged-in administrator."""


class Refused(Exception):
    """The administrator may not see this clinic (the library's authorization said no)."""


def _whole_number(value: object) -> int | None:
    """A form's version field; None (no optimistic check) when absent or not a number."""
    text = value if isinstance(value, str) else ""
    return int(text) if text.isdigit() and len(text) < 19 else None


def mask(pnr: PersonalIdentityNumber) -> str:
    """The identity number as the list shows it: ``19121212-****``."""
    return str(pnr)[:-4] + "****"


@dataclass(frozen=True)
class GrantRow:
    """One granted case type as a page shows it."""

    case_type_id: str
    name: str
    until: dt.date | None
    expired: bool
    version: int


@dataclass(frozen=True)
class ResidentRow:
    """One resident of the list: masked identity number, approval and grants."""

    handle: str
    name: str | None
    masked: str
    approved: bool
    grants: tuple[GrantRow, ...]


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


class AdminUI:
    """The pages, bound to one :class:`CareAccess` and one set of administrators.

    :param access: the library service every page reads and changes through.
    :param admins: the administrators who may log in, by id.
    :param sealer: makes and opens the opaque handles in URLs.
    :param trusted_header: when set, the administrator's id is taken from this request
        header (set by a single-sign-on proxy in front of the app) instead of the login form.
    """

    def __init__(
        self,
        access: CareAccess,
        admins: Mapping[str, Admin],
        sealer: Sealer,
        trusted_header: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.access = access
        self.admins = dict(admins)
        self.sealer = sealer
        self.trusted_header = trusted_header
        self.page_size = page_size
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals["mask"] = mask

    # -- session, language, CSRF -------------------------------------------------------

    @staticmethod
    def session(request: Request) -> dict[str, Any]:
        session: dict[str, Any] = request.session
        if "sid" not in session:
            session["sid"] = secrets.token_urlsafe(16)
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(32)
        return session

    def lang(self, request: Request) -> Language:
        chosen = request.session.get("lang")
        return "en" if chosen == "en" else "sv"

    def admin(self, request: Request) -> Admin | None:
        if self.trusted_header is not None:
            user = request.headers.get(self.trusted_header)
            return self.admins.get(user) if user else None
        admin_id = request.session.get("admin")
        return self.admins.get(admin_id) if isinstance(admin_id, str) else None

    def require_admin(self, request: Request) -> Admin:
        admin = self.admin(request)
        if admin is None:
            raise NotLoggedIn
        return admin

    async def form(self, request: Request) -> FormData:
        """The posted form, after checking its CSRF token against the session's."""
        form = await request.form()
        sent = form.get("csrf_token") or request.headers.get("x-csrf-token") or ""
        expected = request.session.get("csrf")
        if not isinstance(sent, str) or not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
            raise CsrfRejected
        return form

    def flash(self, request: Request, text: str, kind: str = "ok", details: Sequence[str] = ()) -> None:
        request.session["flash"] = {"kind": kind, "text": text, "details": list(details)}

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> Response:
        lang = self.lang(request)
        session = self.session(request)

        def t(text: str) -> str:
            return translate(text, lang)

        context.setdefault("flash", session.pop("flash", None))
        return self.templates.TemplateResponse(
            request,
            template,
            {
                "lang": lang,
                "t": t,
                "csrf": session["csrf"],
                "admin": self.admin(request),
                "sso": self.trusted_header is not None,
                "other_lang": "en" if lang == "sv" else "sv",
                **context,
            },
            status_code=status,
        )

    def partial_or_page(self, request: Request, page: str, partial: str, status: int = 200, **context: Any) -> Response:
        """The partial for an htmx request, the whole page otherwise."""
        is_htmx = request.headers.get("hx-request") == "true"
        return self.render(request, partial if is_htmx else page, status, **context)

    # -- handles -----------------------------------------------------------------------

    def resident_handle(self, request: Request, clinic_id: str, pnr: PersonalIdentityNumber) -> str:
        return self.sealer.seal(self.session(request)["sid"], "r", clinic_id, {"p": pnr.digits})

    def open_resident(self, request: Request, clinic_id: str, handle: str) -> PersonalIdentityNumber:
        data = self.sealer.open(handle, self.session(request)["sid"], "r", clinic_id)
        digits = data.get("p")
        if not isinstance(digits, str):
            raise BadHandle
        return PersonalIdentityNumber.from_digits(digits)

    def list_token(self, request: Request, clinic_id: str, search: str | None, cursor: str | None) -> str:
        return self.sealer.seal(self.session(request)["sid"], "l", clinic_id, {"q": search, "k": cursor})

    def open_list_token(self, request: Request, clinic_id: str) -> tuple[str | None, str | None]:
        token = request.query_params.get("page")
        if not token:
            return None, None
        data = self.sealer.open(token, self.session(request)["sid"], "l", clinic_id)
        search, cursor = data.get("q"), data.get("k")
        if not (search is None or isinstance(search, str)) or not (cursor is None or isinstance(cursor, str)):
            raise BadHandle
        return search, cursor

    # -- shared lookups ----------------------------------------------------------------

    def clinic_for(self, admin: Admin, clinic_id: str) -> Clinic:
        """The clinic, if the library lets *admin* see it."""
        if not self.access.authorized(admin.actor, VIEW, clinic_id):
            # Let the library refuse, so the page shows the library's own message.
            self.access.list_residents(admin.actor, clinic_id, 1)
            raise Refused  # only if authorization changed between the two calls
        clinic = self.access.clinic(clinic_id)
        if clinic is None:
            raise ClinicGone
        return clinic

    def case_type_names(self, clinic_id: str) -> dict[str, CaseType]:
        return {case_type.id: case_type for case_type in self.access.case_types(clinic_id)}

    def rows(self, request: Request, clinic_id: str, items: Sequence[ResidentAccess]) -> list[ResidentRow]:
        today = self.access.today()
        case_types = self.case_type_names(clinic_id)
        return [
            ResidentRow(
                self.resident_handle(request, clinic_id, item.pnr),
                item.name,
                mask(item.pnr),
                item.approval is not None,
                self.grant_rows(item.grants, case_types, today),
            )
            for item in items
        ]

    @staticmethod
    def grant_rows(grants: Sequence[Grant], case_types: Mapping[str, CaseType], today: dt.date) -> tuple[GrantRow, ...]:
        return tuple(
            GrantRow(
                grant.case_type_id,
                case_types[grant.case_type_id].name if grant.case_type_id in case_types else grant.case_type_id,
                grant.until,
                not grant.is_valid_on(today),
                grant.version,
            )
            for grant in grants
        )

    def exact_number(self, search: str | None) -> PersonalIdentityNumber | None:
        """The identity number a search names in full (12 digits, any separator), else None."""
        if search is None or not _TWELVE_DIGITS.fullmatch(search.strip()):
            return None
        try:
            return self.parse_pnr(search)
        except CareAccessError:
            return None

    def parse_pnr(self, text: str) -> PersonalIdentityNumber:
        """An identity number typed by the administrator (10 or 12 digits, with or without a separator)."""
        return PersonalIdentityNumber.parse(text.strip(), today=self.access.today())

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

    # -- start page and clinic ---------------------------------------------------------

    async def home(self, request: Request) -> Response:
        admin = self.require_admin(request)

        def clinics() -> list[Clinic]:
            found = []
            for clinic_id in sorted(admin.clinics):
                if not self.access.authorized(admin.actor, VIEW, clinic_id):
                    continue
                clinic = self.access.clinic(clinic_id)
                if clinic is not None:
                    found.append(clinic)
            return sorted(found, key=lambda clinic: (clinic.name.casefold(), clinic.id))

        return self.render(request, "home.html", clinics=await run_in_threadpool(clinics))

    async def clinic_page(self, request: Request) -> Response:
        admin = self.require_admin(request)
        clinic = await run_in_threadpool(self.clinic_for, admin, request.path_params["clinic_id"])
        return self.render(request, "clinic.html", clinic=clinic)

    # -- the resident list -------------------------------------------------------------

    def list_context(
        self, request: Request, admin: Admin, clinic_id: str, search: str | None, cursor: str | None
    ) -> dict[str, Any]:
        clinic = self.clinic_for(admin, clinic_id)
        exact = self.exact_number(search)
        if exact is not None:
            # A whole 12-digit number names one resident: read it by key instead of searching the list.
            found = self.access.resident_access(admin.actor, clinic_id, exact)
            listed = found.approval is not None or bool(found.grants)
            page: Page[ResidentAccess] = Page((found,) if listed else ())
        else:
            page = self.access.list_residents(admin.actor, clinic_id, self.page_size, cursor, search)
        next_token = (
            self.list_token(request, clinic_id, search, page.next_cursor) if page.next_cursor is not None else None
        )
        first_token = self.list_token(request, clinic_id, search, None) if cursor is not None else None
        return {
            "clinic": clinic,
            "rows": self.rows(request, clinic_id, page.items),
            "search": search or "",
            "next_token": next_token,
            "first_token": first_token,
        }

    async def list_page(self, request: Request, template: str) -> Response:
        admin = self.require_admin(request)
        clinic_id = request.path_params["clinic_id"]
        search, cursor = self.open_list_token(request, clinic_id)
        context = await run_in_threadpool(self.list_context, request, admin, clinic_id, search, cursor)
        return self.render(request, template, **context)

    async def residents(self, request: Request) -> Response:
        return await self.list_page(request, "residents.html")

    async def search(self, request: Request) -> Response:
        """The search form: a new first page for the text, reached by an opaque token."""
        admin = self.require_admin(request)
        form = await self.form(request)
        clinic_id = request.path_params["clinic_id"]
        search = str(form.get("q", "")).strip()[:100] or None
        token = self.list_token(request, clinic_id, search, None)
        url = f"/c/{quote(clinic_id)}/{'manage' if form.get('view') == 'manage' else 'residents'}?page={token}"
        if request.headers.get("hx-request") != "true":
            return RedirectResponse(url, 303)
        context = await run_in_threadpool(self.list_context, request, admin, clinic_id, search, None)
        template = "_manage_results.html" if form.get("view") == "manage" else "_results.html"
        response = self.render(request, template, **context)
        response.headers["HX-Push-Url"] = url
        return response

    # -- approve -----------------------------------------------------------------------

    async def approve_start(self, request: Request) -> Response:
        admin = self.require_admin(request)
        clinic = await run_in_threadpool(self.clinic_for, admin, request.path_params["clinic_id"])
        return self.render(request, "approve.html", clinic=clinic, step="enter", pnr_text="")

    def looked_up(self, request: Request, admin: Admin, clinic_id: str, pnr: PersonalIdentityNumber) -> dict[str, Any]:
        clinic = self.clinic_for(admin, clinic_id)
        found = self.access.resident_access(admin.actor, clinic_id, pnr)
        unknown = self.access.lookup_resident(pnr) is None
        case_types = self.case_type_names(clinic_id)
        today = self.access.today()
        return {
            "clinic": clinic,
            "resident": found,
            "pnr_shown": str(pnr),
            "handle": self.resident_handle(request, clinic_id, pnr),
            "unknown": unknown,
            "grants": self.grant_rows(found.grants, case_types, today),
            "restricted": [c for c in case_types.values() if c.restricted],
            "held": {grant.case_type_id for grant in found.grants},
            "today": today.isoformat(),
            "zone": self.access.timezone,
        }

    async def lookup(self, request: Request, flow: str) -> Response:
        admin = self.require_admin(request)
        form = await self.form(request)
        clinic_id = request.path_params["clinic_id"]
        text = str(form.get("pnr", ""))[:40]
        page, partial = f"{flow}.html", f"_{flow}_step.html"
        try:
            pnr = self.parse_pnr(text)
        except CareAccessError as error:
            clinic = await run_in_threadpool(self.clinic_for, admin, clinic_id)
            return self.partial_or_page(
                request,
                page,
                partial,
                400,
                clinic=clinic,
                step="enter",
                pnr_text=text,
                error=error_text(error, self.lang(request)),
            )
        context = await run_in_threadpool(self.looked_up, request, admin, clinic_id, pnr)
        return self.partial_or_page(request, page, partial, step="confirm", **context)

    async def approve_lookup(self, request: Request) -> Response:
        return await self.lookup(request, "approve")

    async def approve(self, request: Request) -> Response:
        admin = self.require_admin(request)
        form = await self.form(request)
        clinic_id = request.path_params["clinic_id"]
        handle = str(form.get("resident", ""))
        pnr = self.open_resident(request, clinic_id, handle)
        await run_in_threadpool(self.access.approve_resident, admin.actor, clinic_id, pnr)
        self.flash(request, confirmation(Action.RESIDENT_APPROVED, self.lang(request)))
        return RedirectResponse(f"/c/{quote(clinic_id)}/r/{handle}", 303)

    # -- one resident ------------------------------------------------------------------

    async def resident(self, request: Request) -> Response:
        admin = self.require_admin(request)
        clinic_id, handle = request.path_params["clinic_id"], request.path_params["handle"]
        pnr = self.open_resident(request, clinic_id, handle)
        context = await run_in_threadpool(self.looked_up, request, admin, clinic_id, pnr)
        context["handle"] = handle
        return self.render(request, "resident.html", **context)

    async def revoke_confirm(self, request: Request) -> Response:
        """Without JavaScript, the pop-up's question is a page of its own."""
        admin = self.require_admin(request)
        clinic_id, handle = request.path_params["clinic_id"], request.path_params["handle"]
        pnr = self.open_resident(request, clinic_id, handle)
        context = await run_in_threadpool(self.looked_up, request, admin, clinic_id, pnr)
        context["handle"] = handle
        return self.render(request, "confirm_revoke.html", **context)

    async def revoke(self, request: Request) -> Response:
        admin = self.require_admin(request)
        await self.form(request)
        clinic_id, handle = request.path_params["clinic_id"], request.path_params["handle"]
        pnr = self.open_resident(request, clinic_id, handle)
        await run_in_threadpool(self.access.revoke_approval, admin.actor, clinic_id, pnr)
        self.flash(request, confirmation(Action.APPROVAL_REVOKED, self.lang(request)))
        return RedirectResponse(f"/c/{quote(clinic_id)}/r/{handle}", 303)

    # -- grant, change, remove ---------------------------------------------------------

    async def grant_start(self, request: Request) -> Response:
        admin = self.require_admin(request)
        clinic_id = request.path_params["clinic_id"]
        handle = request.query_params.get("r")
        if handle:
            pnr = self.open_resident(request, clinic_id, handle)
            context = await run_in_threadpool(self.looked_up, request, admin, clinic_id, pnr)
            return self.render(request, "grant.html", step="confirm", **context)
        clinic = await run_in_threadpool(self.clinic_for, admin, clinic_id)
        return self.render(request, "grant.html", clinic=clinic, step="enter", pnr_text="")

    async def grant_lookup(self, request: Request) -> Response:
        return await self.lookup(request, "grant")

    @staticmethod
    def until_from(form: FormData) -> dt.date | None:
        """The end date a form chose: ``until=date`` with ``date=YYYY-MM-DD``, or ``until=none``.

        :raises ValueError: neither chosen, or not a date (the message is a UI text key).
        """
        choice = form.get("until")
        if choice == "none":
            return None
        if choice != "date":
            raise ValueError("Välj ett datum eller tills vidare.")
        try:
            return dt.date.fromisoformat(str(form.get("date", "")))
        except ValueError:
            raise ValueError("Datumet är inte giltigt.") from None

    async def grant(self, request: Request) -> Response:
        admin = self.require_admin(request)
        form = await self.form(request)
        clinic_id = request.path_params["clinic_id"]
        handle = str(form.get("resident", ""))
        pnr = self.open_resident(request, clinic_id, handle)
        lang = self.lang(request)
        case_type_id = str(form.get("case_type", ""))
        problem: str | None = None
        try:
            until = self.until_from(form)
        except ValueError as error:
            problem = translate(str(error), lang)
        if problem is None and not case_type_id:
            problem = translate("Fyll i alla fält.", lang)
        if problem is None:
            try:
                await run_in_threadpool(self.access.grant_case_type, admin.actor, clinic_id, pnr, case_type_id, until)
            except (InvalidRequest, Conflict, NotFound) as error:
                problem = error_text(error, lang)
            else:
                self.flash(request, confirmation(Action.CASE_TYPE_GRANTED, lang))
                return RedirectResponse(f"/c/{quote(clinic_id)}/r/{handle}", 303)
        context = await run_in_threadpool(self.looked_up, request, admin, clinic_id, pnr)
        return self.render(request, "grant.html", 400, step="confirm", error=problem, **context)

    def grant_context(
        self, request: Request, admin: Admin, clinic_id: str, handle: str, case_type_id: str
    ) -> dict[str, Any]:
        pnr = self.open_resident(request, clinic_id, handle)
        context = self.looked_up(request, admin, clinic_id, pnr)
        row = next((g for g in context["grants"] if g.case_type_id == case_type_id), None)
        if row is None:
            raise NotFound("grant_not_found")  # the library's text for the code
        context.update(handle=handle, grant=row)
        return context

    async def grant_edit(self, request: Request) -> Response:
        admin = self.require_admin(request)
        params = request.path_params
        context = await run_in_threadpool(
            self.grant_context, request, admin, params["clinic_id"], params["handle"], params["case_type_id"]
        )
        return self.render(request, "grant_edit.html", **context)

    async def grant_change(self, request: Request) -> Response:
        admin = self.require_admin(request)
        form = await self.form(request)
        clinic_id, handle, case_type_id = (request.path_params[k] for k in ("clinic_id", "handle", "case_type_id"))
        pnr = self.open_resident(request, clinic_id, handle)
        lang = self.lang(request)
        problem: str | None = None
        version = _whole_number(form.get("version"))
        try:
            until = self.until_from(form)
        except ValueError as error:
            problem = translate(str(error), lang)
        if problem is None:
            try:
                await run_in_threadpool(
                    self.access.change_grant, admin.actor, clinic_id, pnr, case_type_id, until, version
                )
            except (InvalidRequest, Conflict, NotFound) as error:
                problem = error_text(error, lang)
            else:
                self.flash(request, confirmation(Action.GRANT_CHANGED, lang))
                return RedirectResponse(f"/c/{quote(clinic_id)}/r/{handle}", 303)
        context = await run_in_threadpool(self.grant_context, request, admin, clinic_id, handle, case_type_id)
        return self.render(request, "grant_edit.html", 400, error=problem, **context)

    async def grant_remove_confirm(self, request: Request) -> Response:
        admin = self.require_admin(request)
        params = request.path_params
        context = await run_in_threadpool(
            self.grant_context, request, admin, params["clinic_id"], params["handle"], params["case_type_id"]
        )
        return self.render(request, "confirm_grant_remove.html", **context)

    async def grant_remove(self, request: Request) -> Response:
        admin = self.require_admin(request)
        form = await self.form(request)
        clinic_id, handle, case_type_id = (request.path_params[k] for k in ("clinic_id", "handle", "case_type_id"))
        pnr = self.open_resident(request, clinic_id, handle)
        version = _whole_number(form.get("version"))
        await run_in_threadpool(self.access.remove_grant, admin.actor, clinic_id, pnr, case_type_id, version)
        self.flash(request, confirmation(Action.GRANT_REMOVED, self.lang(request)))
        return RedirectResponse(f"/c/{quote(clinic_id)}/r/{handle}", 303)

    # -- many at once ------------------------------------------------------------------

    async def manage(self, request: Request) -> Response:
        return await self.list_page(request, "manage.html")

    def selected(self, request: Request, clinic_id: str, form: FormData) -> list[PersonalIdentityNumber]:
        handles = [str(value) for value in form.getlist("r")]
        return [self.open_resident(request, clinic_id, handle) for handle in dict.fromkeys(handles)]

    async def manage_confirm(self, request: Request) -> Response:
        """Without JavaScript, the pop-up's question is a page of its own."""
        admin = self.require_admin(request)
        form = await self.form(request)
        clinic_id = request.path_params["clinic_id"]
        clinic = await run_in_threadpool(self.clinic_for, admin, clinic_id)
        handles = list(dict.fromkeys(str(value) for value in form.getlist("r")))
        chosen = [(handle, mask(self.open_resident(request, clinic_id, handle))) for handle in handles]
        if not chosen:
            self.flash(request, translate("Markera minst en invånare.", self.lang(request)), "error")
            return RedirectResponse(f"/c/{quote(clinic_id)}/manage", 303)
        return self.render(request, "confirm_manage.html", clinic=clinic, chosen=chosen)

    async def manage_remove(self, request: Request) -> Response:
        admin = self.require_admin(request)
        form = await self.form(request)
        clinic_id = request.path_params["clinic_id"]
        pnrs = self.selected(request, clinic_id, form)
        lang = self.lang(request)
        if not pnrs:
            self.flash(request, translate("Markera minst en invånare.", lang), "error")
            return RedirectResponse(f"/c/{quote(clinic_id)}/manage", 303)
        result = await run_in_threadpool(self.access.revoke_approvals, admin.actor, clinic_id, pnrs)
        # Residents whose approval someone else removed meanwhile: reported, not an error.
        stale = [mask(item) for item in result.stale if isinstance(item, PersonalIdentityNumber)]
        details = [translate("Redan borttagna av någon annan:", lang), *stale] if stale else []
        text = f"{translate('Borttagna godkännanden:', lang)} {len(result.events)}."
        self.flash(request, text, details=details)
        return RedirectResponse(f"/c/{quote(clinic_id)}/manage", 303)

    # -- the event log -----------------------------------------------------------------

    async def events(self, request: Request) -> Response:
        admin = self.require_admin(request)
        clinic_id = request.path_params["clinic_id"]
        after = request.query_params.get("after") or None

        def load() -> tuple[Clinic, list[Event], dict[str, CaseType]]:
            clinic = self.clinic_for(admin, clinic_id)
            return clinic, self.access.events(after, EVENTS_PAGE, clinic_id), self.case_type_names(clinic_id)

        clinic, events, case_types = await run_in_threadpool(load)
        lang = self.lang(request)
        rows = [
            {
                "at": event.at.astimezone(self.access.timezone).strftime("%Y-%m-%d %H:%M:%S"),
                "who": self.admins[event.actor_id].name if event.actor_id in self.admins else event.actor_id,
                "what": confirmation(event.action, lang),
                "resident": mask(event.pnr) if event.pnr is not None else "",
                "case_type": case_types[event.case_type_id].name
                if event.case_type_id in case_types
                else (event.case_type_id or ""),
            }
            for event in events
        ]
        later = events[-1].id if len(events) == EVENTS_PAGE else None
        return self.render(request, "events.html", clinic=clinic, rows=rows, later=later)

    # -- errors ------------------------------------------------------------------------

    def error_page(self, request: Request, status: int, message: str) -> Response:
        """The error page; an htmx request gets it in place of the whole page body."""
        response = self.render(request, "error.html", status, message=message)
        if request.headers.get("hx-request") == "true":
            response.headers["HX-Retarget"] = "body"
            response.headers["HX-Reswap"] = "innerHTML"
        return response

    async def library_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, CareAccessError)
        status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 400)
        return self.error_page(request, status, error_text(exc, self.lang(request)))

    async def csrf_error(self, request: Request, exc: Exception) -> Response:
        message = translate("Formuläret har gått ut. Ladda om sidan och försök igen.", self.lang(request))
        return self.error_page(request, 403, message)

    async def handle_error(self, request: Request, exc: Exception) -> Response:
        message = translate("Länken gäller inte längre. Öppna invånaren från listan igen.", self.lang(request))
        return self.error_page(request, 404, message)

    async def refused(self, request: Request, exc: Exception) -> Response:
        return self.error_page(request, 403, translate("Något gick fel", self.lang(request)))

    async def clinic_gone(self, request: Request, exc: Exception) -> Response:
        return self.error_page(request, 404, translate("Mottagningen finns inte längre.", self.lang(request)))

    async def not_logged_in(self, request: Request, exc: Exception) -> Response:
        if request.method == "GET":
            return RedirectResponse("/login", 303)
        return self.error_page(request, 401, translate("Logga in", self.lang(request)))

    async def http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        text = "Sidan finns inte." if exc.status_code == 404 else "Något gick fel"
        return self.error_page(request, exc.status_code, translate(text, self.lang(request)))


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
    :param page_size: residents per page of the list.
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


def hashlib_key(key: bytes) -> str:
    """The session-signing key, derived from the server's secret (separate from the handles' key)."""
    return hmac.new(key, b"careaccess-admin sessions", "sha256").hexdigest()
