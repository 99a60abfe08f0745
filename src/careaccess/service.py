"""``CareAccess``: the local-administrator workflows and the access decision.

Every change goes the same way: authorize the actor, validate the request against
the stored facts, build a :class:`~careaccess.store.Changeset` (writes, the
preconditions that make them safe under races, and exactly one event), let the store
apply it atomically, then tell the notification hooks.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import pluggy

from careaccess import decision, reachservice
from careaccess.errors import Conflict, InvalidRequest, NotFound, PermissionDenied, UnknownStore
from careaccess.identity import PersonalIdentityNumber, as_pnr, redact
from careaccess.listing import check_limit, decode_cursor, encode_cursor, parse_search
from careaccess.models import (
    Action,
    Actor,
    Approval,
    CaseType,
    Clinic,
    Decision,
    Event,
    Grant,
    Page,
    Residence,
    Resident,
    ResidentAccess,
)
from careaccess.names import normalize
from careaccess.plugins import make_plugin_manager
from careaccess.reach import ClinicAccess
from careaccess.serialization import converter
from careaccess.store import (
    MAX_IMPORT,
    MAX_VERSION,
    ApprovalKey,
    CaseTypeKey,
    CaseTypeRestricted,
    CaseTypeUnused,
    Changeset,
    ClinicKey,
    Delete,
    EventDraft,
    FactsRequest,
    GrantKey,
    MustBeAbsent,
    MustExist,
    MustHaveVersion,
    Precondition,
    Put,
    Record,
    ResidentQuery,
    Store,
    Write,
    key_of,
)

__all__ = ["VIEW", "CareAccess", "connect"]

log = logging.getLogger("careaccess")

#: The action name authorization is asked about for reading a clinic's residents.
VIEW = "view"

PnrLike = str | PersonalIdentityNumber
Clock = Callable[[], dt.datetime]


# Builds a named tuple without the Python-level __new__ the class generates: several
# times faster, and FactsRequest is built once per decision.
_new_tuple = tuple.__new__


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
    :param timezone: IANA zone in which dates (grant ends, ages) are judged.
    :raises UnknownStore: when no installed plugin opens the URL.
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidRequest(
            "unknown_timezone",
            f"Unknown time zone {timezone!r}.",
            f"Okänd tidszon {timezone!r}.",
        ) from error
    manager = make_plugin_manager(plugins)
    if isinstance(url, str):
        store = manager.hook.careaccess_open_store(url=url)
        if store is None:
            raise _unknown_store(url, manager)
    else:
        store = url
    return CareAccess(store, manager, clock or _utc_now, zone)


_PACKAGE_FOR_SCHEME = {
    "redis": "careaccess-redis",
    "rediss": "careaccess-redis",
    "unix": "careaccess-redis",
    "sqlite": "careaccess-sql",
    "postgresql": "careaccess-sql",
    "postgres": "careaccess-sql",
    "mysql": "careaccess-sql",
    "mariadb": "careaccess-sql",
}


def _unknown_store(url: str, manager: pluggy.PluginManager) -> UnknownStore:
    scheme = url.split(":", 1)[0]
    installed = sorted({s for schemes in manager.hook.careaccess_store_schemes() for s in schemes})
    package = _PACKAGE_FOR_SCHEME.get(scheme.split("+", 1)[0])
    hint_en = f" Install {package} to use it." if package else ""
    hint_sv = f" Installera {package} för att använda det." if package else ""
    return UnknownStore(
        "unknown_store_scheme",
        f"No installed store opens {scheme!r} URLs; installed schemes: {', '.join(installed)}.{hint_en}",
        f"Ingen installerad lagring öppnar {scheme!r}-adresser; installerade: {', '.join(installed)}.{hint_sv}",
    )


def _snapshot(record: Record | None) -> dict[str, Any] | None:
    """A record as event data: JSON-ready, without the identity number (the event has it)."""
    if record is None:
        return None
    data: dict[str, Any] = converter.unstructure(record)
    data.pop("pnr", None)
    return data


def _unknown_clinic() -> NotFound:
    return NotFound("unknown_clinic", "There is no such clinic.", "Mottagningen finns inte.")


def _unknown_case_type() -> NotFound:
    return NotFound("unknown_case_type", "The clinic has no such case type.", "Mottagningen har ingen sådan ärendetyp.")


def _check_imported_fields(record: Approval | Grant) -> None:
    """The fields the workflows set themselves, which an imported record brings along."""
    author = record.approved_by if isinstance(record, Approval) else record.granted_by
    if not isinstance(author, str) or not author or len(author) > 200:
        raise InvalidRequest(
            "invalid_record",
            "Who approved or granted must be given (text, at most 200 characters).",
            "Vem som godkände eller delade ut måste anges (text, högst 200 tecken).",
        )
    if record.name is not None and not isinstance(record.name, str):
        raise InvalidRequest("invalid_record", "A name must be text.", "Ett namn måste vara text.")
    if isinstance(record, Grant):
        version = record.version
        if type(version) is not int or not 1 <= version <= MAX_VERSION:
            raise InvalidRequest(
                "invalid_version",
                "A grant's version is a whole number from 1.",
                "En utdelnings version är ett heltal från 1.",
            )


def _not_restricted() -> InvalidRequest:
    return InvalidRequest(
        "case_type_not_restricted",
        "Only case types with a restricted selection can be granted; this one is open to all.",
        "Endast ärendetyper med begränsat urval kan delas ut; den här är öppen för alla.",
    )


def _grant_not_found() -> NotFound:
    return NotFound(
        "grant_not_found",
        "The resident does not hold that case type.",
        "Invånaren har inte den ärendetypen utdelad.",
    )


class CareAccess:
    """The service: answers access questions and runs local-administrator workflows.

    Stateless apart from its store connection, so any number of instances (in any
    number of processes) may share one store. Build it with :func:`connect`.
    """

    def __init__(self, store: Store, plugin_manager: pluggy.PluginManager, clock: Clock, timezone: ZoneInfo) -> None:
        self.store = store
        self.plugin_manager = plugin_manager
        self.timezone = timezone
        self._clock = clock
        self._hook = plugin_manager.hook

    def __repr__(self) -> str:
        return f"CareAccess(store={type(self.store).__name__}, timezone={self.timezone.key!r})"

    def __enter__(self) -> CareAccess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the store's connections."""
        self.store.close()

    # -- time --------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        """The injected clock's current time (always aware)."""
        return self._aware(self._clock(), "clock")

    def today(self) -> dt.date:
        """The current date in the configured time zone."""
        return self.now().astimezone(self.timezone).date()

    def local_date(self, at: dt.datetime) -> dt.date:
        """The date of the moment *at* in the configured time zone."""
        return self._aware(at, "at").astimezone(self.timezone).date()

    @staticmethod
    def _aware(at: dt.datetime, name: str) -> dt.datetime:
        if not isinstance(at, dt.datetime) or at.utcoffset() is None:
            raise InvalidRequest(
                "naive_datetime",
                f"{name} must be a timezone-aware datetime.",
                f"{name} måste vara en tidpunkt med tidszon.",
            )
        return at

    # -- lookups -----------------------------------------------------------------------

    def lookup_resident(self, pnr: PnrLike) -> Resident | None:
        """Ask the directory hook for a resident's name and residence."""
        result: Resident | None = self._hook.careaccess_lookup_resident(pnr=as_pnr(pnr))
        return result

    def clinic(self, clinic_id: str) -> Clinic | None:
        """The clinic with this id, or None."""
        return self.store.get_clinic(clinic_id)

    def case_types(self, clinic_id: str) -> list[CaseType]:
        """The clinic's case types, ordered by id."""
        return self.store.list_case_types(clinic_id)

    def _case_type(self, clinic_id: str, case_type_id: str) -> CaseType:
        if self.store.get_clinic(clinic_id) is None:
            raise _unknown_clinic()
        for case_type in self.store.list_case_types(clinic_id):
            if case_type.id == case_type_id:
                return case_type
        raise _unknown_case_type()

    def _require_clinic(self, clinic_id: str) -> Clinic:
        clinic = self.store.get_clinic(clinic_id)
        if clinic is None:
            raise _unknown_clinic()
        return clinic

    # -- authorization -----------------------------------------------------------------

    def authorized(self, actor: Actor, action: str, clinic_id: str) -> bool:
        """Whether *actor* may do *action* at *clinic_id* (see ``careaccess_authorize``)."""
        votes = self._hook.careaccess_authorize(actor=actor, action=str(action), clinic_id=clinic_id)
        if False in votes:
            return False
        return True in votes or actor.administers(clinic_id)

    def _authorize(self, actor: Actor, action: str, clinic_id: str) -> None:
        if not self.authorized(actor, action, clinic_id):
            raise PermissionDenied(
                "permission_denied",
                "You do not administer this clinic.",
                "Du är inte administratör för den här mottagningen.",
            )

    # -- committing --------------------------------------------------------------------

    def _commit(
        self,
        actor: Actor,
        action: Action,
        clinic_id: str,
        preconditions: Sequence[Precondition],
        writes: Sequence[Write],
        *,
        at: dt.datetime,
        before: Record | None,
        after: Record | None,
        pnr: PersonalIdentityNumber | None = None,
        case_type_id: str | None = None,
    ) -> Event:
        draft = EventDraft(at, actor.id, action, clinic_id, pnr, case_type_id, _snapshot(before), _snapshot(after))
        (event,) = self.store.apply(Changeset(clinic_id, tuple(preconditions), tuple(writes), (draft,)))
        self._notify(event)
        return event

    def _notify(self, event: Event) -> None:
        for impl in self._hook.careaccess_notify.get_hookimpls():
            try:
                impl.function(*[event for _ in impl.argnames])
            except Exception as error:  # a failing listener never undoes a committed change
                details = redact("".join(traceback.format_exception(error)))
                log.error(
                    "careaccess_notify hook %r failed on event %s (%s):\n%s",
                    _plugin_label(impl.plugin_name, impl.plugin),
                    event.id,
                    event.action.value,
                    details,
                )

    # -- clinics and case types ----------------------------------------------------------

    def put_clinic(self, actor: Actor, clinic: Clinic) -> Clinic:
        """Create or update a clinic and its service area. No event if nothing changed."""
        self._authorize(actor, Action.CLINIC_SAVED, clinic.id)
        before = self.store.get_clinic(clinic.id)
        if before == clinic:
            return clinic
        key = ClinicKey(clinic.id)
        guard: Precondition = MustBeAbsent(key) if before is None else MustExist(key)
        self._commit(
            actor, Action.CLINIC_SAVED, clinic.id, [guard], [Put(clinic)], at=self.now(), before=before, after=clinic
        )
        return clinic

    def put_case_type(self, actor: Actor, case_type: CaseType) -> CaseType:
        """Create or update a case type. No event if nothing changed.

        :raises NotFound: ``unknown_clinic``.
        :raises Conflict: ``case_type_in_use`` when opening a restricted case type that is granted.
        """
        self._authorize(actor, Action.CASE_TYPE_SAVED, case_type.clinic_id)
        self._require_clinic(case_type.clinic_id)
        before = next((c for c in self.store.list_case_types(case_type.clinic_id) if c.id == case_type.id), None)
        if before == case_type:
            return case_type
        key = CaseTypeKey(case_type.clinic_id, case_type.id)
        guards: list[Precondition] = [MustExist(ClinicKey(case_type.clinic_id))]
        guards.append(MustBeAbsent(key) if before is None else MustExist(key))
        if not case_type.restricted:
            guards.append(CaseTypeUnused(key))  # grants only make sense on restricted case types
        self._commit(
            actor,
            Action.CASE_TYPE_SAVED,
            case_type.clinic_id,
            guards,
            [Put(case_type)],
            at=self.now(),
            before=before,
            after=case_type,
            case_type_id=case_type.id,
        )
        return case_type

    def remove_case_type(self, actor: Actor, clinic_id: str, case_type_id: str) -> None:
        """Remove a case type.

        :raises NotFound: ``unknown_clinic``, ``unknown_case_type``.
        :raises Conflict: ``case_type_in_use`` while any grant of it exists.
        """
        self._authorize(actor, Action.CASE_TYPE_REMOVED, clinic_id)
        before = self._case_type(clinic_id, case_type_id)
        key = CaseTypeKey(clinic_id, case_type_id)
        self._commit(
            actor,
            Action.CASE_TYPE_REMOVED,
            clinic_id,
            [MustExist(key), CaseTypeUnused(key)],
            [Delete(key)],
            at=self.now(),
            before=before,
            after=None,
            case_type_id=case_type_id,
        )

    # -- approvals ---------------------------------------------------------------------

    def approve_resident(self, actor: Actor, clinic_id: str, pnr: PnrLike, *, name: str | None = None) -> Approval:
        """Approve a resident for communication with the clinic (idempotent: no second event).

        :param name: the resident's name; default: asked of the directory hook.
        :raises NotFound: ``unknown_clinic``.
        """
        self._authorize(actor, Action.RESIDENT_APPROVED, clinic_id)
        person = as_pnr(pnr)
        self._require_clinic(clinic_id)
        existing = self._approval(clinic_id, person)
        if existing is not None:
            return existing
        name = self._name(person, name)
        now = self.now()
        approval = Approval(clinic_id, person, name, now, actor.id)
        key = ApprovalKey(clinic_id, person.digits)
        try:
            self._commit(
                actor,
                Action.RESIDENT_APPROVED,
                clinic_id,
                [MustExist(ClinicKey(clinic_id)), MustBeAbsent(key)],
                [Put(approval)],
                at=now,
                before=None,
                after=approval,
                pnr=person,
            )
        except Conflict as conflict:
            raced = self._approval(clinic_id, person) if conflict.code == "approval_exists" else None
            if raced is None:
                raise
            return raced  # someone approved the same resident at the same moment
        return approval

    def _name(self, person: PersonalIdentityNumber, name: str | None) -> str | None:
        """*name*, else the directory's, normalized as every stored name is (NFC)."""
        if name is None:
            resident = self.lookup_resident(person)
            name = resident.name if resident is not None else None
        return None if name is None else normalize(name)

    def _approval(self, clinic_id: str, pnr: PersonalIdentityNumber) -> Approval | None:
        access = self.store.get_resident_access(clinic_id, pnr.digits)
        return None if access is None else access.approval

    def revoke_approval(self, actor: Actor, clinic_id: str, pnr: PnrLike) -> None:
        """Remove the approval; grants stay.

        :raises NotFound: ``approval_not_found``.
        """
        self._authorize(actor, Action.APPROVAL_REVOKED, clinic_id)
        person = as_pnr(pnr)
        approval = self._approval(clinic_id, person)
        if approval is None:
            raise NotFound(
                "approval_not_found",
                "The resident is not approved for communication with the clinic.",
                "Invånaren är inte godkänd för kommunikation med mottagningen.",
            )
        key = ApprovalKey(clinic_id, person.digits)
        self._commit(
            actor,
            Action.APPROVAL_REVOKED,
            clinic_id,
            [MustExist(key)],
            [Delete(key)],
            at=self.now(),
            before=approval,
            after=None,
            pnr=person,
        )

    # -- grants ------------------------------------------------------------------------

    def _check_until(self, until: dt.date | None, now: dt.datetime) -> None:
        if until is None:
            return
        if not isinstance(until, dt.date) or isinstance(until, dt.datetime):
            raise InvalidRequest(
                "invalid_date", "until must be a date or None.", "Slutdatum måste vara ett datum eller tills vidare."
            )
        if until < now.astimezone(self.timezone).date():
            raise InvalidRequest(
                "end_date_in_past",
                "The end date lies in the past; choose today or later, or until further notice.",
                "Slutdatumet har redan passerat; välj i dag eller senare, eller tills vidare.",
            )

    def _grant(self, clinic_id: str, pnr: PersonalIdentityNumber, case_type_id: str) -> Grant | None:
        access = self.store.get_resident_access(clinic_id, pnr.digits)
        if access is None:
            return None
        return next((g for g in access.grants if g.case_type_id == case_type_id), None)

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

        :raises NotFound: ``unknown_clinic``, ``unknown_case_type``.
        :raises InvalidRequest: ``case_type_not_restricted``, ``end_date_in_past``.
        :raises Conflict: ``grant_exists``.
        """
        self._authorize(actor, Action.CASE_TYPE_GRANTED, clinic_id)
        person = as_pnr(pnr)
        now = self.now()
        self._check_until(until, now)
        case_type = self._case_type(clinic_id, case_type_id)
        if not case_type.restricted:
            raise _not_restricted()
        if self._grant(clinic_id, person, case_type_id) is not None:
            raise MustBeAbsent(GrantKey(clinic_id, person.digits, case_type_id)).conflict()
        name = self._name(person, name)
        grant = Grant(clinic_id, person, case_type_id, until, 1, now, actor.id, now, name)
        key = GrantKey(clinic_id, person.digits, case_type_id)
        self._commit(
            actor,
            Action.CASE_TYPE_GRANTED,
            clinic_id,
            [CaseTypeRestricted(CaseTypeKey(clinic_id, case_type_id)), MustBeAbsent(key)],
            [Put(grant)],
            at=now,
            before=None,
            after=grant,
            pnr=person,
            case_type_id=case_type_id,
        )
        return grant

    def _current_grant(
        self, clinic_id: str, person: PersonalIdentityNumber, case_type_id: str, expected_version: int | None
    ) -> Grant:
        grant = self._grant(clinic_id, person, case_type_id)
        if grant is None:
            raise _grant_not_found()
        if expected_version is not None and grant.version != expected_version:
            raise MustHaveVersion(GrantKey(clinic_id, person.digits, case_type_id), expected_version).conflict()
        return grant

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
        :raises InvalidRequest: ``end_date_in_past``.
        """
        self._authorize(actor, Action.GRANT_CHANGED, clinic_id)
        person = as_pnr(pnr)
        now = self.now()
        self._check_until(until, now)
        before = self._current_grant(clinic_id, person, case_type_id, expected_version)
        after = attrs.evolve(before, until=until, version=before.version + 1, changed_at=now)
        key = GrantKey(clinic_id, person.digits, case_type_id)
        self._commit(
            actor,
            Action.GRANT_CHANGED,
            clinic_id,
            [MustHaveVersion(key, before.version)],
            [Put(after)],
            at=now,
            before=before,
            after=after,
            pnr=person,
            case_type_id=case_type_id,
        )
        return after

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
        """
        self._authorize(actor, Action.GRANT_REMOVED, clinic_id)
        person = as_pnr(pnr)
        before = self._current_grant(clinic_id, person, case_type_id, expected_version)
        key = GrantKey(clinic_id, person.digits, case_type_id)
        self._commit(
            actor,
            Action.GRANT_REMOVED,
            clinic_id,
            [MustHaveVersion(key, before.version)],
            [Delete(key)],
            at=self.now(),
            before=before,
            after=None,
            pnr=person,
            case_type_id=case_type_id,
        )

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
        is imported as expired). Each record gets its ``resident_approved`` or
        ``case_type_granted`` event by *actor*, and the notification hooks hear of each
        after commit. At most :data:`~careaccess.store.MAX_IMPORT` records per call.

        :returns: the events, approvals first, each group in the order given.
        :raises PermissionDenied: unless *actor* may both approve and grant at the clinic.
        :raises NotFound: ``unknown_clinic``, ``unknown_case_type``.
        :raises InvalidRequest: ``import_too_large``, ``import_mixed_clinics``,
            ``import_duplicate``, ``case_type_not_restricted``, ``invalid_version``.
        :raises Conflict: ``approval_exists`` / ``grant_exists`` for a record already
            stored; nothing is written.
        """
        self._authorize(actor, Action.RESIDENT_APPROVED, clinic_id)
        self._authorize(actor, Action.CASE_TYPE_GRANTED, clinic_id)
        records: list[Approval | Grant] = [*approvals, *grants]
        if len(records) > MAX_IMPORT:
            raise InvalidRequest(
                "import_too_large",
                f"Import at most {MAX_IMPORT} records at a time.",
                f"Importera högst {MAX_IMPORT} poster åt gången.",
            )
        self._require_clinic(clinic_id)
        self._check_import(clinic_id, records)
        if not records:
            return []
        records = [r if r.name is None else attrs.evolve(r, name=normalize(r.name)) for r in records]
        now = self.now()
        case_type_ids = sorted({r.case_type_id for r in records if isinstance(r, Grant)})
        preconditions: list[Precondition] = [MustExist(ClinicKey(clinic_id))]
        preconditions += [CaseTypeRestricted(CaseTypeKey(clinic_id, t)) for t in case_type_ids]
        preconditions += [MustBeAbsent(key_of(record)) for record in records]
        drafts = tuple(
            EventDraft(
                now,
                actor.id,
                Action.RESIDENT_APPROVED if isinstance(record, Approval) else Action.CASE_TYPE_GRANTED,
                clinic_id,
                record.pnr,
                None if isinstance(record, Approval) else record.case_type_id,
                None,
                _snapshot(record),
            )
            for record in records
        )
        changeset = Changeset(clinic_id, tuple(preconditions), tuple(Put(r) for r in records), drafts)
        events = self.store.apply(changeset)
        for event in events:
            self._notify(event)
        return events

    def _check_import(self, clinic_id: str, records: Sequence[Approval | Grant]) -> None:
        restricted = {c.id: c.restricted for c in self.store.list_case_types(clinic_id)}
        seen: set[tuple[str, ...]] = set()
        for record in records:
            if not isinstance(record, Approval | Grant):
                raise InvalidRequest(
                    "invalid_record",
                    "Only approvals and grants can be imported.",
                    "Endast godkännanden och utdelade ärendetyper kan importeras.",
                )
            _check_imported_fields(record)
            if record.clinic_id != clinic_id:
                raise InvalidRequest(
                    "import_mixed_clinics",
                    "Every imported record must belong to the clinic imported into.",
                    "Alla importerade poster måste höra till mottagningen som importeras till.",
                )
            key = (record.pnr.digits,) if isinstance(record, Approval) else (record.pnr.digits, record.case_type_id)
            if key in seen:
                raise InvalidRequest(
                    "import_duplicate",
                    "The import holds the same approval or grant twice.",
                    "Importen innehåller samma godkännande eller utdelning två gånger.",
                )
            seen.add(key)
            if isinstance(record, Grant):
                if record.case_type_id not in restricted:
                    raise _unknown_case_type()
                if not restricted[record.case_type_id]:
                    raise _not_restricted()

    # -- the resident list -------------------------------------------------------------

    def resident_access(self, actor: Actor, clinic_id: str, pnr: PnrLike) -> ResidentAccess:
        """A resident's approval and grants at the clinic (empty if neither).

        The name is the stored one, else the directory's.
        """
        self._authorize(actor, VIEW, clinic_id)
        person = as_pnr(pnr)
        self._require_clinic(clinic_id)
        access = self.store.get_resident_access(clinic_id, person.digits)
        if access is not None and access.name is not None:
            return access
        resident = self.lookup_resident(person)
        name = resident.name if resident is not None else None
        if access is None:
            return ResidentAccess(person, name, None, ())
        return attrs.evolve(access, name=name)

    def list_residents(
        self,
        actor: Actor,
        clinic_id: str,
        limit: int = 50,
        cursor: str | None = None,
        search: str | None = None,
    ) -> Page[ResidentAccess]:
        """One page of the residents who are approved or hold a grant, by identity number.

        :param cursor: ``next_cursor`` of the previous page. Residents added or removed
            between pages never make a page repeat or skip anyone listed throughout.
        :param search: digits (with optional ``-``/``+``) match the start of the 12- or
            10-digit identity number; anything else matches part of the name, ignoring case.
        """
        self._authorize(actor, VIEW, clinic_id)
        check_limit(limit)
        self._require_clinic(clinic_id)
        found = parse_search(search, self.today())
        after = None if cursor is None else decode_cursor(cursor)
        query = ResidentQuery(
            clinic_id, limit + 1, after, found.digit_prefixes, found.digit_suffix, found.name_contains
        )
        rows = self.store.list_residents(query)
        items = rows[:limit]
        next_cursor = encode_cursor(items[-1].pnr.digits) if len(rows) > limit else None
        return Page(items, next_cursor)

    # -- decisions ---------------------------------------------------------------------

    def residence_of(self, pnr: PersonalIdentityNumber) -> Residence | None:
        """The resident's residence according to the directory hook, or None if unknown."""
        resident = self.lookup_resident(pnr)
        return None if resident is None else resident.residence

    def decide(
        self,
        pnr: PnrLike,
        clinic_id: str,
        case_type_id: str,
        at: dt.datetime | None = None,
        residence: Residence | None = None,
    ) -> Decision:
        """May this resident use this case type at this clinic at *at*? And why (not)?

        Never raises for unknown facts (it fails closed with a reason); raises
        :class:`InvalidIdentityNumber` or ``InvalidRequest(naive_datetime)`` for bad input.

        :param at: aware datetime; default: the clock's now.
        :param residence: the resident's residence; default: asked of the directory hook
            when a service area could decide.
        """
        person = pnr if type(pnr) is PersonalIdentityNumber else as_pnr(pnr)
        if at is None:
            moment = self.now()
        elif type(at) is dt.datetime and at.utcoffset() is not None:
            moment = at  # the common case, checked inline: this is the hot path
        else:
            moment = self._aware(at, "at")
        facts = self.store.load_facts(_new_tuple(FactsRequest, (person.digits, clinic_id, case_type_id, person)))
        return decision.decide(
            facts, person, clinic_id, case_type_id, moment, self.timezone, residence, self.residence_of
        )

    def decide_many(
        self,
        requests: Iterable[tuple[PnrLike, str, str]],
        at: dt.datetime | None = None,
    ) -> list[Decision]:
        """Decide many ``(pnr, clinic_id, case_type_id)`` requests with one store round trip."""
        moment = self.now() if at is None else self._aware(at, "at")
        day = moment.astimezone(self.timezone).date()
        parsed = [(as_pnr(pnr), clinic_id, case_type_id) for pnr, clinic_id, case_type_id in requests]
        facts = self.store.load_facts_many([FactsRequest(p.digits, c, t, p) for p, c, t in parsed])
        return [
            decision.decide(f, p, c, t, moment, self.timezone, None, self.residence_of, day=day)
            for f, (p, c, t) in zip(facts, parsed, strict=True)
        ]

    # -- the change feed ---------------------------------------------------------------

    def events(self, after: str | None = None, limit: int = 100, clinic_id: str | None = None) -> list[Event]:
        """Committed changes after the event id *after*, oldest first (the durable change feed)."""
        check_limit(limit)
        return self.store.read_events(after, limit, clinic_id)

    # -- the resident's side -----------------------------------------------------------

    def clinics_for(
        self,
        pnr: PnrLike,
        at: dt.datetime | None = None,
        residence: Residence | None = None,
        include_denied: bool = False,
    ) -> list[ClinicAccess]:
        """Every clinic the resident may contact at *at*, each with the decision of every allowed case type.

        Agrees exactly with :meth:`decide` for every clinic and case type: each decision
        is ``decide``'s own. Ordered by clinic id, decisions by case type id. Reads the
        store once (natively on a :class:`~careaccess.reachstore.ReachStore`, otherwise
        clinic by clinic), and asks the directory for the residence once when not given.

        :param include_denied: also list the clinics that could have let the resident in
            (approved, granted, or with a service-area rule for the resident's region,
            municipality or the whole country) but allow nothing now, and every denied
            case type with its reason: an administrator's "why can't this resident reach us?".
        :raises InvalidIdentityNumber: for a malformed *pnr*.
        :raises InvalidRequest: ``naive_datetime``.
        """
        person = as_pnr(pnr)
        moment = self.now() if at is None else self._aware(at, "at")
        return reachservice.clinics_for(self, person, moment, residence, include_denied)

    def list_clinics(
        self,
        region: str | None = None,
        municipality: str | None = None,
        search: str | None = None,
        actor: Actor | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Clinic]:
        """One page of the clinic directory, by clinic id.

        :param region: clinics whose service area names this region (2-digit code).
        :param municipality: clinics whose service area covers this municipality (a rule
            names it, or names its region as a whole).
        :param search: part of the clinic's name, compared folded (case, Unicode form,
            runs of spaces and dashes ignored).
        :param actor: only the clinics *actor* may view (``careaccess_authorize``, ``"view"``).
        :param cursor: ``next_cursor`` of the previous page of the same query; clinics
            added or changed between pages never make a page repeat or skip a clinic
            listed throughout.
        :raises InvalidRequest: ``invalid_limit`` (1..MAX_LIMIT), ``invalid_cursor``,
            ``invalid_search``, ``unknown_region``, ``unknown_municipality``,
            ``municipality_outside_region``.
        """
        check_limit(limit)
        return reachservice.list_clinics(
            self,
            region=region,
            municipality=municipality,
            search=search,
            actor=actor,
            limit=limit,
            cursor=cursor,
        )


def _plugin_label(name: str, plugin: object) -> str:
    """A plugin's registered name, or its class for one registered without a name.

    pluggy names an unnamed plugin by ``id()``: a number that says nothing to a reader
    and that could, by chance, repeat digits of the identity number being redacted.
    """
    if name == str(id(plugin)):
        kind = plugin if isinstance(plugin, type) else type(plugin)
        return f"{kind.__module__}.{kind.__qualname__}"
    return name
