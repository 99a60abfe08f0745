"""``CareAccess``: the local-administrator workflows and the access decision.

Every change goes the same way: **authorize** the actor (:class:`~careaccess.plugins.Hooks`),
**load** the stored facts (one :meth:`~careaccess.store.Store.load_facts` round trip
where a resident is involved), **plan** the change with a pure function of
:mod:`careaccess.planning`, let the store **apply** the changeset atomically, then
**notify** the hooks of each committed event. The reads (decisions, the resident list,
the change feed) are in :class:`careaccess.reads.Reads`. See docs/architecture.md.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from careaccess import bulk, planning, refusals
from careaccess.bulk import BulkResult
from careaccess.clock import Clock, utc_now, zone
from careaccess.errors import Conflict
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Action, Actor, Approval, CaseType, Clinic, Event, Grant
from careaccess.plugins import Hooks, make_plugin_manager
from careaccess.reads import VIEW, PnrLike, Reads
from careaccess.store import MAX_BULK, Changeset, DecisionFacts, FactsRequest, Put, Store
from careaccess.validation import check_id, check_instance, check_name, check_tuple

__all__ = ["VIEW", "CareAccess", "connect"]

#: The case type asked for when a workflow needs a resident's approval only.
_ANY_CASE_TYPE = ""
#: How often a bulk action is planned again after a race with another change.
_BULK_ATTEMPTS = 3

Stale = PersonalIdentityNumber | tuple[PersonalIdentityNumber, str]


def connect(
    url: str | Store = "memory://",
    *,
    plugins: Iterable[object] = (),
    clock: Clock | None = None,
    timezone: str = "Europe/Stockholm",
) -> CareAccess:
    """Open a store and return the service on it.

    :param url: a store URL (``memory://``, ``sqlite:///file.db``, ``redis://...``), or
        a ready :class:`~careaccess.store.Store` object.
    :param plugins: objects with ``@careaccess.hookimpl`` methods, registered after
        the installed (entry-point) plugins.
    :param clock: zero-argument callable returning an aware datetime; default: now in UTC.
    :param timezone: IANA zone in which dates (grant ends, ages, centuries) are judged.
    :raises InvalidRequest: ``unknown_timezone``.
    :raises UnknownStore: ``unknown_store_scheme`` when no installed plugin opens the URL.
    """
    local = zone(timezone)
    manager = make_plugin_manager(plugins)
    store = Hooks(manager).open_store(url) if isinstance(url, str) else url
    return CareAccess(store, manager, clock or utc_now, local)


class CareAccess(Reads):
    """The service: answers access questions and runs local-administrator workflows.

    Stateless apart from its store connection, so any number of instances (in any
    number of processes) may share one store. Build it with :func:`connect`.
    """

    # -- committing --------------------------------------------------------------------

    def _apply(self, changeset: Changeset) -> list[Event]:
        """Apply *changeset*, then tell the hooks of each committed event."""
        events = self.store.apply(changeset)
        for event in events:
            self.hooks.notify(event)
        return events

    # -- clinics and case types ----------------------------------------------------------

    def put_clinic(self, actor: Actor, clinic: Clinic) -> Clinic:
        """Create or update a clinic and its service area. No event if nothing changed."""
        check_instance(clinic, Clinic, "clinic")
        check_id(clinic.id, "clinic.id")
        check_name(clinic.name, "clinic.name", optional=False)
        self._authorize(actor, Action.CLINIC_SAVED, clinic.id)
        changeset = planning.plan_put_clinic(actor.id, self.store.get_clinic(clinic.id), clinic, self.now())
        if changeset is not None:
            self._apply(changeset)
        return clinic

    def put_case_type(self, actor: Actor, case_type: CaseType) -> CaseType:
        """Create or update a case type. No event if nothing changed.

        :raises NotFound: ``unknown_clinic``.
        :raises Conflict: ``case_type_in_use`` when opening a restricted case type that is granted.
        """
        check_instance(case_type, CaseType, "case_type")
        check_id(case_type.clinic_id, "case_type.clinic_id")
        check_id(case_type.id, "case_type.id")
        check_name(case_type.name, "case_type.name", optional=False)
        self._authorize(actor, Action.CASE_TYPE_SAVED, case_type.clinic_id)
        clinic, before = self._case_type(case_type.clinic_id, case_type.id)
        changeset = planning.plan_put_case_type(actor.id, clinic, before, case_type, self.now())
        if changeset is not None:
            self._apply(changeset)
        return case_type

    def remove_case_type(self, actor: Actor, clinic_id: str, case_type_id: str) -> None:
        """Remove a case type.

        :raises NotFound: ``unknown_clinic``, ``unknown_case_type``.
        :raises Conflict: ``case_type_in_use`` while any grant of it exists.
        """
        check_id(clinic_id, "clinic_id")
        check_id(case_type_id, "case_type_id")
        self._authorize(actor, Action.CASE_TYPE_REMOVED, clinic_id)
        clinic, before = self._case_type(clinic_id, case_type_id)
        self._apply(planning.plan_remove_case_type(actor.id, clinic, before, case_type_id, self.now()))

    # -- approvals ---------------------------------------------------------------------

    def approve_resident(self, actor: Actor, clinic_id: str, pnr: PnrLike, *, name: str | None = None) -> Approval:
        """Approve a resident for communication with the clinic (idempotent: no second event).

        :param name: the resident's name; default: asked of the directory hook.
        :raises NotFound: ``unknown_clinic``.
        """
        check_id(clinic_id, "clinic_id")
        check_name(name, "name")
        self._authorize(actor, Action.RESIDENT_APPROVED, clinic_id)
        now = self.now()
        person = self._person(pnr, self._dates.of(now))
        facts = self._facts(clinic_id, person, _ANY_CASE_TYPE)
        planned = planning.plan_approve(actor.id, facts, clinic_id, person, self._name_of(person, name), now)
        if isinstance(planned, Approval):
            return planned
        try:
            self._apply(planned)
        except Conflict as conflict:
            if conflict.code != "approval_exists":
                raise
            raced = self._facts(clinic_id, person, _ANY_CASE_TYPE).approval
            if raced is None:
                raise
            return raced  # someone approved the same resident at the same moment
        return _written(planned, Approval)

    def revoke_approval(self, actor: Actor, clinic_id: str, pnr: PnrLike) -> None:
        """Remove the approval; grants stay.

        :raises NotFound: ``approval_not_found``, also when another revoke wins a race.
        """
        check_id(clinic_id, "clinic_id")
        self._authorize(actor, Action.APPROVAL_REVOKED, clinic_id)
        now = self.now()
        person = self._person(pnr, self._dates.of(now))
        changeset = planning.plan_revoke_approval(
            actor.id, self._facts(clinic_id, person, _ANY_CASE_TYPE), clinic_id, person, now
        )
        try:
            self._apply(changeset)
        except Conflict as conflict:
            if conflict.code == "approval_missing":
                raise refusals.approval_not_found() from conflict
            raise

    # -- grants ------------------------------------------------------------------------

    def grant_case_type(
        self,
        actor: Actor,
        clinic_id: str,
        pnr: PnrLike,
        case_type_id: str,
        until: dt.date | None = None,
        *,
        name: str | None = None,
    ) -> Grant:
        """Grant a restricted case type through *until* (inclusive) or until further notice.

        One store read (:meth:`~careaccess.store.Store.load_facts`), one write.

        :raises NotFound: ``unknown_clinic``, ``unknown_case_type``.
        :raises InvalidRequest: ``case_type_not_restricted``, ``end_date_in_past``, ``invalid_date``.
        :raises Conflict: ``grant_exists``; ``case_type_no_longer_restricted`` when the
            case type was opened or removed meanwhile.
        """
        check_id(clinic_id, "clinic_id")
        check_id(case_type_id, "case_type_id")
        check_name(name, "name")
        self._authorize(actor, Action.CASE_TYPE_GRANTED, clinic_id)
        now = self.now()
        today = self._dates.of(now)
        person = self._person(pnr, today)
        facts = self._facts(clinic_id, person, case_type_id)
        name_of = self._name_of(person, name)
        changeset = planning.plan_grant(actor.id, facts, clinic_id, person, case_type_id, until, name_of, now, today)
        self._apply(changeset)
        return _written(changeset, Grant)

    def change_grant(
        self,
        actor: Actor,
        clinic_id: str,
        pnr: PnrLike,
        case_type_id: str,
        until: dt.date | None,
        expected_version: int | None = None,
    ) -> Grant:
        """Change how long a grant holds; returns it with ``version`` one higher.

        :param expected_version: when given, the change is made only if the grant still
            has this version (optimistic concurrency for edit forms).
        :raises NotFound: ``grant_not_found``.
        :raises Conflict: ``version_mismatch``.
        :raises InvalidRequest: ``end_date_in_past``, ``invalid_date``, ``invalid_version``.
        """
        check_id(clinic_id, "clinic_id")
        check_id(case_type_id, "case_type_id")
        if expected_version is not None:
            planning.check_version(expected_version)
        self._authorize(actor, Action.GRANT_CHANGED, clinic_id)
        now = self.now()
        today = self._dates.of(now)
        person = self._person(pnr, today)
        grant = self._facts(clinic_id, person, case_type_id).grant
        changeset = planning.plan_change_grant(actor.id, grant, until, expected_version, now, today)
        self._apply(changeset)
        return _written(changeset, Grant)

    def remove_grant(
        self,
        actor: Actor,
        clinic_id: str,
        pnr: PnrLike,
        case_type_id: str,
        expected_version: int | None = None,
    ) -> None:
        """Remove a grant (also how expired grants are purged).

        :raises NotFound: ``grant_not_found``.
        :raises Conflict: ``version_mismatch``.
        :raises InvalidRequest: ``invalid_version``.
        """
        check_id(clinic_id, "clinic_id")
        check_id(case_type_id, "case_type_id")
        if expected_version is not None:
            planning.check_version(expected_version)
        self._authorize(actor, Action.GRANT_REMOVED, clinic_id)
        now = self.now()
        person = self._person(pnr, self._dates.of(now))
        grant = self._facts(clinic_id, person, case_type_id).grant
        self._apply(planning.plan_remove_grant(actor.id, grant, expected_version, now))

    # -- bulk import -------------------------------------------------------------------

    def import_residents(
        self,
        actor: Actor,
        clinic_id: str,
        approvals: Iterable[Approval] = (),
        grants: Iterable[Grant] = (),
    ) -> list[Event]:
        """Write many new approvals and grants of one clinic at once, all or nothing.

        For moving a clinic's residents from another system, or seeding a store: the
        records keep their own times, authors, versions and end dates (an expired grant
        is imported as expired); names are stored in NFC. Each record gets its
        ``resident_approved`` or ``case_type_granted`` event by *actor*, and the
        notification hooks hear of each after commit. At most
        :data:`~careaccess.store.MAX_IMPORT` records per call, one changeset.

        :returns: the events, approvals first, each group in the order given.
        :raises PermissionDenied: unless *actor* may both approve and grant at the clinic.
        :raises NotFound: ``unknown_clinic``, ``unknown_case_type``.
        :raises InvalidRequest: ``import_too_large``, ``import_mixed_clinics``,
            ``import_duplicate``, ``case_type_not_restricted``, ``invalid_version``,
            ``invalid_record``.
        :raises Conflict: ``approval_exists`` / ``grant_exists`` for a record already
            stored, ``case_type_no_longer_restricted``, ``clinic_missing``; nothing is written.
        """
        check_id(clinic_id, "clinic_id")
        self._authorize(actor, Action.RESIDENT_APPROVED, clinic_id)
        self._authorize(actor, Action.CASE_TYPE_GRANTED, clinic_id)
        records: list[object] = [*approvals, *grants]
        clinic = self.store.get_clinic(clinic_id)
        case_types = self.store.list_case_types(clinic_id) if clinic is not None and records else []
        changeset = planning.plan_import(actor.id, clinic, case_types, records, self.now())
        return [] if changeset is None else self._apply(changeset)

    # -- bulk actions ------------------------------------------------------------------

    def revoke_approvals(self, actor: Actor, clinic_id: str, pnrs: Iterable[PnrLike]) -> BulkResult:
        """Revoke the approval of every resident in *pnrs* at once ("Ta bort markerade").

        One changeset (all or nothing), one ``approval_revoked`` event per approval,
        authorization once, hooks told of each event. Residents without an approval
        (already revoked by someone else) are reported in ``stale``; a race with
        another change is retried with fresh facts.

        :raises InvalidRequest: ``bulk_too_large`` above :data:`~careaccess.store.MAX_BULK`.
        :raises NotFound: ``unknown_clinic``.
        """
        check_id(clinic_id, "clinic_id")
        self._authorize(actor, Action.APPROVAL_REVOKED, clinic_id)
        now = self.now()
        people = self._selection(pnrs, self._dates.of(now))

        def plan() -> tuple[Changeset | None, Sequence[Stale]]:
            facts = self._load_many([(p, clinic_id, _ANY_CASE_TYPE) for p in people])
            return bulk.plan_revoke_approvals(actor.id, clinic_id, list(zip(people, facts, strict=True)), now)

        return self._bulk(plan)

    def remove_grants(self, actor: Actor, clinic_id: str, grants: Iterable[tuple[PnrLike, str]]) -> BulkResult:
        """Remove every ``(pnr, case_type_id)`` grant at once, each at the version it has.

        One changeset, one ``grant_removed`` event per grant; grants already gone are
        reported in ``stale``; a race with another change is retried with fresh facts.

        :raises InvalidRequest: ``bulk_too_large``, ``invalid_identifier``.
        :raises NotFound: ``unknown_clinic``.
        """
        check_id(clinic_id, "clinic_id")
        self._authorize(actor, Action.GRANT_REMOVED, clinic_id)
        now = self.now()
        today = self._dates.of(now)
        asked = itertools.islice(grants, MAX_BULK + 1)
        pairs = [check_tuple(item, 2, "grants") for item in asked]
        chosen = list(dict.fromkeys((self._person(p, today), check_id(t, "case_type_id")) for p, t in pairs))
        bulk.check_bulk_size(len(chosen))

        def plan() -> tuple[Changeset | None, Sequence[Stale]]:
            facts = self._load_many([(p, clinic_id, t) for p, t in chosen])
            selected = [(p, t, f) for (p, t), f in zip(chosen, facts, strict=True)]
            return bulk.plan_remove_grants(actor.id, clinic_id, selected, now)

        return self._bulk(plan)

    def grant_case_types(
        self,
        actor: Actor,
        clinic_id: str,
        pnrs: Iterable[PnrLike],
        case_type_id: str,
        until: dt.date | None = None,
    ) -> BulkResult:
        """Grant one restricted case type to many residents at once, through *until* or until further notice.

        One changeset, one ``case_type_granted`` event per new grant, names from the
        directory; residents who already hold the case type are reported in ``stale``.

        :raises InvalidRequest: ``bulk_too_large``, ``case_type_not_restricted``,
            ``end_date_in_past``, ``invalid_date``.
        :raises NotFound: ``unknown_clinic``, ``unknown_case_type``.
        """
        check_id(clinic_id, "clinic_id")
        check_id(case_type_id, "case_type_id")
        self._authorize(actor, Action.CASE_TYPE_GRANTED, clinic_id)
        now = self.now()
        today = self._dates.of(now)
        people = self._selection(pnrs, today)

        def name_of(person: PersonalIdentityNumber) -> str | None:
            return self._name_of(person, None)()

        def plan() -> tuple[Changeset | None, Sequence[Stale]]:
            facts = self._load_many([(p, clinic_id, case_type_id) for p in people])
            selected = list(zip(people, facts, strict=True))
            return bulk.plan_grant_many(actor.id, clinic_id, case_type_id, selected, until, name_of, now, today)

        return self._bulk(plan)

    def _selection(self, pnrs: Iterable[PnrLike], today: dt.date) -> list[PersonalIdentityNumber]:
        people = list(dict.fromkeys(self._person(p, today) for p in itertools.islice(pnrs, MAX_BULK + 1)))
        bulk.check_bulk_size(len(people))
        return people

    def _load_many(self, asked: Sequence[tuple[PersonalIdentityNumber, str, str]]) -> list[DecisionFacts]:
        if not asked:
            return []
        return self.store.load_facts_many([FactsRequest(p.digits, c, t, p) for p, c, t in asked])

    def _bulk(self, plan: Callable[[], tuple[Changeset | None, Sequence[Stale]]]) -> BulkResult:
        """Plan and apply; on a Conflict (someone changed a selected record meanwhile), plan again."""
        for _ in range(_BULK_ATTEMPTS - 1):
            changeset, stale = plan()
            if changeset is None:
                return BulkResult((), tuple(stale))
            try:
                return BulkResult(tuple(self._apply(changeset)), tuple(stale))
            except Conflict:
                continue
        changeset, stale = plan()  # the last attempt: its Conflict is the caller's
        return BulkResult(() if changeset is None else tuple(self._apply(changeset)), tuple(stale))


_Written = TypeVar("_Written", Approval, Grant)


def _written(changeset: Changeset, kind: type[_Written]) -> _Written:
    """The record a planned one-write changeset puts."""
    write = changeset.writes[0]
    if not (isinstance(write, Put) and isinstance(write.record, kind)):
        raise TypeError(f"the changeset does not put a {kind.__name__}")
    return write.record
