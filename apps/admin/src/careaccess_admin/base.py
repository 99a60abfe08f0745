"""Shared by every page: constants, row types, and the base of the pages' class.

:class:`BaseUI` holds the service, the administrators and the templates, and the
helpers every page uses: the session, language and CSRF check, rendering, the opaque
handles in URLs, and the look-ups shared between pages.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from careaccess import (
    CareAccess,
    CareAccessError,
    CaseType,
    Clinic,
    Grant,
    PersonalIdentityNumber,
    ResidentAccess,
)
from careaccess.service import VIEW
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from careaccess_admin.admins import Admin
from careaccess_admin.handles import BadHandle, Sealer
from careaccess_admin.texts import Language, translate

HERE = Path(__file__).parent
#: Residents per page of the list.
PAGE_SIZE = 50
#: Events per page of the event log.
EVENTS_PAGE = 50
_TWELVE_DIGITS = re.compile(r"\d{8}[-+]?\d{4}")


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


class BaseUI:
    """The state and helpers shared by the pages of :class:`careaccess_admin.app.AdminUI`."""

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
