"""The start page, a clinic, its resident list, and one resident: approve, revoke and grants."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from careaccess import (
    Action,
    CareAccessError,
    Clinic,
    Conflict,
    InvalidRequest,
    NotFound,
    Page,
    PersonalIdentityNumber,
    ResidentAccess,
)
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from careaccess_admin.admins import Admin
from careaccess_admin.base import (
    BaseUI,
    _whole_number,
)
from careaccess_admin.texts import confirmation, error_text, translate


class ResidentPages(BaseUI):
    """The start page, the clinic and resident pages."""

    # -- start page and clinic ---------------------------------------------------------

    async def home(self, request: Request) -> Response:
        """*Välj mottagning*: the clinics the admin administers, a page at a time, by clinic id.

        The library's ``list_clinics(actor=...)`` chooses them (the admin's clinics, as the
        authorization hooks allow); ``?after=`` carries its opaque cursor to the next page.
        """
        admin = self.require_admin(request)
        cursor = request.query_params.get("after") or None

        def clinics() -> Page[Clinic]:
            return self.access.list_clinics(actor=admin.actor, limit=self.page_size, cursor=cursor)

        page = await run_in_threadpool(clinics)
        return self.render(
            request, "home.html", clinics=page.items, next_cursor=page.next_cursor, paged=cursor is not None
        )

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
