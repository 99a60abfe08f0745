"""Many residents at once (*Hantera*), and a clinic's event log."""

from __future__ import annotations

from urllib.parse import quote

from careaccess import (
    CaseType,
    Clinic,
    Event,
    PersonalIdentityNumber,
)
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from careaccess_admin.base import (
    EVENTS_PAGE,
    mask,
)
from careaccess_admin.residents import ResidentPages
from careaccess_admin.texts import confirmation, translate


class BulkPages(ResidentPages):
    """Removing many approvals at once, and the event log."""

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
