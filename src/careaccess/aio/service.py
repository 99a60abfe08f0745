"""``AsyncCareAccess``: the same service as :class:`careaccess.CareAccess`, awaitable.

Every method has the name, arguments, errors and events of its synchronous twin. The
rules are not repeated here: input checks come from :mod:`careaccess.validation`,
every change is planned by :mod:`careaccess.planning`, every decision is
:func:`careaccess.decision.decide`, lists are parsed by :mod:`careaccess.listing`.
What differs is only the waiting: the store is an :class:`~careaccess.aio.store.AsyncStore`
and the resident lookup and notification hooks may be ``async def``
(:class:`~careaccess.aio.hooks.AsyncHooks`).

.. versionadded:: 0.2
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Awaitable, Callable, Iterable, Sequence

from careaccess import bulk, planning, refusals
from careaccess.aio.reads import AsyncReads, PnrLike
from careaccess.bulk import BulkResult
from careaccess.errors import Conflict
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import (
    Action,
    Actor,
    Approval,
    CaseType,
    Clinic,
    Event,
    Grant,
)
from careaccess.service import Stale, _written
from careaccess.store import MAX_BULK, Changeset, DecisionFacts, FactsRequest
from careaccess.validation import check_id, check_instance, check_name, check_tuple

__all__ = ["AsyncCareAccess"]

_ANY_CASE_TYPE = ""
#: How often a bulk action is planned again after a race with another change (as the sync service).
_BULK_ATTEMPTS = 3


class AsyncCareAccess(AsyncReads):
    """The service for asyncio: answers access questions and runs the workflows, awaitable.

    Build it with :func:`careaccess.aio.connect`; close it with ``await access.aclose()``
    or ``async with``. One instance serves any number of concurrent tasks on its event
    loop; it is not meant to be shared between event loops.
    """

    # -- committing --------------------------------------------------------------------

    async def _apply(self, changeset: Changeset) -> list[Event]:
        events = await self.store.apply(changeset)
        for event in events:
            self.hooks.notify(event)
        return events

    # -- clinics and case types ----------------------------------------------------------

    async def put_clinic(self, actor: Actor, clinic: Clinic) -> Clinic:
        """Create or update a clinic and its service area (see :meth:`CareAccess.put_clinic`)."""
        check_instance(clinic, Clinic, "clinic")
        check_id(clinic.id, "clinic.id")
        check_name(clinic.name, "clinic.name", optional=False)
        self._authorize(actor, Action.CLINIC_SAVED, clinic.id)
        changeset = planning.plan_put_clinic(actor.id, await self.store.get_clinic(clinic.id), clinic, self.now())
        if changeset is not None:
            await self._apply(changeset)
        return clinic

    async def put_case_type(self, actor: Actor, case_type: CaseType) -> CaseType:
        """Create or update a case type (see :meth:`CareAccess.put_case_type`)."""
        check_instance(case_type, CaseType, "case_type")
        check_id(case_type.clinic_id, "case_type.clinic_id")
        check_id(case_type.id, "case_type.id")
        check_name(case_type.name, "case_type.name", optional=False)
        self._authorize(actor, Action.CASE_TYPE_SAVED, case_type.clinic_id)
        clinic, before = await self._case_type(case_type.clinic_id, case_type.id)
        changeset = planning.plan_put_case_type(actor.id, clinic, before, case_type, self.now())
        if changeset is not None:
            await self._apply(changeset)
        return case_type

    async def remove_case_type(self, actor: Actor, clinic_id: str, case_type_id: str) -> None:
        """Remove a case type (see :meth:`CareAccess.remove_case_type`)."""
        check_id(clinic_id, "clinic_id")
        check_id(case_type_id, "case_type_id")
        self._authorize(actor, Action.CASE_TYPE_REMOVED, clinic_id)
        clinic, before = await self._case_type(clinic_id, case_type_id)
        await self._apply(planning.plan_remove_case_type(actor.id, clinic, before, case_type_id, self.now()))

    # -- approvals ---------------------------------------------------------------------

    async def approve_resident(
        self, actor: Actor, clinic_id: str, pnr: PnrLike, *, name: str | None = None
    ) -> Approval:
        """Approve a resident for communication (see :meth:`CareAccess.approve_resident`)."""
        check_id(clinic_id, "clinic_id")
        check_name(name, "name")
        self._authorize(actor, Action.RESIDENT_APPROVED, clinic_id)
        now = self.now()
        person = self._person(pnr, self._dates.of(now))
        facts = await self._facts(clinic_id, person, _ANY_CASE_TYPE)
        name_of = await self._name(person, name, facts.clinic is not None and facts.approval is None)
        planned = planning.plan_approve(actor.id, facts, clinic_id, person, name_of, now)
        if isinstance(planned, Approval):
            return planned
        try:
            await self._apply(planned)
        except Conflict as conflict:
            if conflict.code != "approval_exists":
                raise
            raced = (await self._facts(clinic_id, person, _ANY_CASE_TYPE)).approval
            if raced is None:
                raise
            return raced
        return _written(planned, Approval)

    async def revoke_approval(self, actor: Actor, clinic_id: str, pnr: PnrLike) -> None:
        """Remove the approval; grants stay (see :meth:`CareAccess.revoke_approval`)."""
        check_id(clinic_id, "clinic_id")
        self._authorize(actor, Action.APPROVAL_REVOKED, clinic_id)
        now = self.now()
        person = self._person(pnr, self._dates.of(now))
        facts = await self._facts(clinic_id, person, _ANY_CASE_TYPE)
        changeset = planning.plan_revoke_approval(actor.id, facts, clinic_id, person, now)
        try:
            await self._apply(changeset)
        except Conflict as conflict:
            if conflict.code == "approval_missing":
                raise refusals.approval_not_found() from conflict
            raise

    # -- grants ------------------------------------------------------------------------

    async def grant_case_type(
        self,
        actor: Actor,
        clinic_id: str,
        pnr: PnrLike,
        case_type_id: str,
        until: dt.date | None = None,
        *,
        name: str | None = None,
    ) -> Grant:
        """Grant a restricted case type (see :meth:`CareAccess.grant_case_type`)."""
        check_id(clinic_id, "clinic_id")
        check_id(case_type_id, "case_type_id")
        check_name(name, "name")
        self._authorize(actor, Action.CASE_TYPE_GRANTED, clinic_id)
        now = self.now()
        today = self._dates.of(now)
        person = self._person(pnr, today)
        facts = await self._facts(clinic_id, person, case_type_id)
        needed = facts.case_type is not None and facts.case_type.restricted and facts.grant is None
        name_of = await self._name(person, name, needed)
        changeset = planning.plan_grant(actor.id, facts, clinic_id, person, case_type_id, until, name_of, now, today)
        await self._apply(changeset)
        return _written(changeset, Grant)

    async def change_grant(
        self,
        actor: Actor,
        clinic_id: str,
        pnr: PnrLike,
        case_type_id: str,
        until: dt.date | None,
        expected_version: int | None = None,
    ) -> Grant:
        """Change how long a grant holds (see :meth:`CareAccess.change_grant`)."""
        check_id(clinic_id, "clinic_id")
        check_id(case_type_id, "case_type_id")
        if expected_version is not None:
            planning.check_version(expected_version)
        self._authorize(actor, Action.GRANT_CHANGED, clinic_id)
        now = self.now()
        today = self._dates.of(now)
        person = self._person(pnr, today)
        grant = (await self._facts(clinic_id, person, case_type_id)).grant
        changeset = planning.plan_change_grant(actor.id, grant, until, expected_version, now, today)
        await self._apply(changeset)
        return _written(changeset, Grant)

    async def remove_grant(
        self,
        actor: Actor,
        clinic_id: str,
        pnr: PnrLike,
        case_type_id: str,
        expected_version: int | None = None,
    ) -> None:
        """Remove a grant (see :meth:`CareAccess.remove_grant`)."""
        check_id(clinic_id, "clinic_id")
        check_id(case_type_id, "case_type_id")
        if expected_version is not None:
            planning.check_version(expected_version)
        self._authorize(actor, Action.GRANT_REMOVED, clinic_id)
        now = self.now()
        person = self._person(pnr, self._dates.of(now))
        grant = (await self._facts(clinic_id, person, case_type_id)).grant
        await self._apply(planning.plan_remove_grant(actor.id, grant, expected_version, now))

    # -- bulk import -------------------------------------------------------------------

    async def import_residents(
        self,
        actor: Actor,
        clinic_id: str,
        approvals: Iterable[Approval] = (),
        grants: Iterable[Grant] = (),
    ) -> list[Event]:
        """Write many new approvals and grants at once (see :meth:`CareAccess.import_residents`)."""
        check_id(clinic_id, "clinic_id")
        self._authorize(actor, Action.RESIDENT_APPROVED, clinic_id)
        self._authorize(actor, Action.CASE_TYPE_GRANTED, clinic_id)
        records: list[object] = [*approvals, *grants]
        clinic = await self.store.get_clinic(clinic_id)
        case_types = await self.store.list_case_types(clinic_id) if clinic is not None and records else []
        changeset = planning.plan_import(actor.id, clinic, case_types, records, self.now())
        return [] if changeset is None else await self._apply(changeset)

    # -- bulk actions ------------------------------------------------------------------

    async def revoke_approvals(self, actor: Actor, clinic_id: str, pnrs: Iterable[PnrLike]) -> BulkResult:
        """Revoke many approvals at once (see :meth:`CareAccess.revoke_approvals`)."""
        check_id(clinic_id, "clinic_id")
        self._authorize(actor, Action.APPROVAL_REVOKED, clinic_id)
        now = self.now()
        people = self._selection(pnrs, self._dates.of(now))

        async def plan() -> tuple[Changeset | None, Sequence[Stale]]:
            facts = await self._load_many([(p, clinic_id, _ANY_CASE_TYPE) for p in people])
            return bulk.plan_revoke_approvals(actor.id, clinic_id, list(zip(people, facts, strict=True)), now)

        return await self._bulk(plan)

    async def remove_grants(self, actor: Actor, clinic_id: str, grants: Iterable[tuple[PnrLike, str]]) -> BulkResult:
        """Remove many grants at once (see :meth:`CareAccess.remove_grants`)."""
        check_id(clinic_id, "clinic_id")
        self._authorize(actor, Action.GRANT_REMOVED, clinic_id)
        now = self.now()
        today = self._dates.of(now)
        asked = itertools.islice(grants, MAX_BULK + 1)
        pairs = [check_tuple(item, 2, "grants") for item in asked]
        chosen = list(dict.fromkeys((self._person(p, today), check_id(t, "case_type_id")) for p, t in pairs))
        bulk.check_bulk_size(len(chosen))

        async def plan() -> tuple[Changeset | None, Sequence[Stale]]:
            facts = await self._load_many([(p, clinic_id, t) for p, t in chosen])
            selected = [(p, t, f) for (p, t), f in zip(chosen, facts, strict=True)]
            return bulk.plan_remove_grants(actor.id, clinic_id, selected, now)

        return await self._bulk(plan)

    async def grant_case_types(
        self,
        actor: Actor,
        clinic_id: str,
        pnrs: Iterable[PnrLike],
        case_type_id: str,
        until: dt.date | None = None,
    ) -> BulkResult:
        """Grant one restricted case type to many residents at once (see :meth:`CareAccess.grant_case_types`)."""
        check_id(clinic_id, "clinic_id")
        check_id(case_type_id, "case_type_id")
        self._authorize(actor, Action.CASE_TYPE_GRANTED, clinic_id)
        now = self.now()
        today = self._dates.of(now)
        people = self._selection(pnrs, today)

        async def plan() -> tuple[Changeset | None, Sequence[Stale]]:
            facts = await self._load_many([(p, clinic_id, case_type_id) for p in people])
            selected = list(zip(people, facts, strict=True))
            # The directory is awaited here, for those about to be granted, not inside the plan.
            names = {p: (await self._name(p, None, needed=True))() for p, f in selected if f.grant is None}
            return bulk.plan_grant_many(actor.id, clinic_id, case_type_id, selected, until, names.get, now, today)

        return await self._bulk(plan)

    def _selection(self, pnrs: Iterable[PnrLike], today: dt.date) -> list[PersonalIdentityNumber]:
        people = list(dict.fromkeys(self._person(p, today) for p in itertools.islice(pnrs, MAX_BULK + 1)))
        bulk.check_bulk_size(len(people))
        return people

    async def _load_many(self, asked: Sequence[tuple[PersonalIdentityNumber, str, str]]) -> list[DecisionFacts]:
        if not asked:
            return []
        return await self.store.load_facts_many([FactsRequest(p.digits, c, t, p) for p, c, t in asked])

    async def _bulk(self, plan: Callable[[], Awaitable[tuple[Changeset | None, Sequence[Stale]]]]) -> BulkResult:
        """Plan and apply; on a Conflict (a selected record changed meanwhile), plan again."""
        for _ in range(_BULK_ATTEMPTS - 1):
            changeset, stale = await plan()
            if changeset is None:
                return BulkResult((), tuple(stale))
            try:
                return BulkResult(tuple(await self._apply(changeset)), tuple(stale))
            except Conflict:
                continue
        changeset, stale = await plan()
        return BulkResult(() if changeset is None else tuple(await self._apply(changeset)), tuple(stale))
