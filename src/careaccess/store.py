"""The Store contract: what a backend must do, and nothing it may decide.

A backend stores facts and applies changesets. It never judges access: the core reads
facts with :meth:`Store.load_facts` and decides in :mod:`careaccess.decision`, and it
turns every change into a :class:`Changeset` whose preconditions the backend checks
atomically with the writes and the event.

.. versionadded:: 0.1
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

from attrs import frozen

from careaccess.errors import Conflict
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Action, Approval, CaseType, Clinic, Event, Grant, ResidentAccess

__all__ = [
    "MAX_IMPORT",
    "ApprovalKey",
    "BulkImportStore",
    "CaseTypeKey",
    "CaseTypeRestricted",
    "CaseTypeUnused",
    "Changeset",
    "ClinicKey",
    "DecisionFacts",
    "Delete",
    "EventDraft",
    "FactsRequest",
    "GrantKey",
    "ImportBatch",
    "Key",
    "MustBeAbsent",
    "MustExist",
    "MustHaveVersion",
    "Precondition",
    "Put",
    "Record",
    "ResidentQuery",
    "Store",
    "Write",
    "key_of",
]


@frozen
class ClinicKey:
    clinic_id: str


@frozen
class CaseTypeKey:
    clinic_id: str
    case_type_id: str


@frozen
class ApprovalKey:
    clinic_id: str
    pnr: str  # 12 canonical digits


@frozen
class GrantKey:
    clinic_id: str
    pnr: str  # 12 canonical digits
    case_type_id: str


Key = ClinicKey | CaseTypeKey | ApprovalKey | GrantKey
Record = Clinic | CaseType | Approval | Grant


def key_of(record: Record) -> Key:
    """The key a record is stored under."""
    if isinstance(record, Clinic):
        return ClinicKey(record.id)
    if isinstance(record, CaseType):
        return CaseTypeKey(record.clinic_id, record.id)
    if isinstance(record, Approval):
        return ApprovalKey(record.clinic_id, record.pnr.digits)
    return GrantKey(record.clinic_id, record.pnr.digits, record.case_type_id)


_NOUN = {ClinicKey: "clinic", CaseTypeKey: "case_type", ApprovalKey: "approval", GrantKey: "grant"}


# -- preconditions ---------------------------------------------------------------------


@frozen
class MustExist:
    """The record under ``key`` must exist."""

    key: Key

    def conflict(self) -> Conflict:
        noun = _NOUN[type(self.key)]
        return Conflict(
            f"{noun}_missing",
            f"The {noun.replace('_', ' ')} no longer exists; it was changed by someone else.",
            "Posten finns inte längre; den har ändrats av någon annan.",
        )


@frozen
class MustBeAbsent:
    """No record may exist under ``key``."""

    key: Key

    def conflict(self) -> Conflict:
        noun = _NOUN[type(self.key)]
        return Conflict(
            f"{noun}_exists",
            f"The {noun.replace('_', ' ')} already exists.",
            "Posten finns redan.",
        )


@frozen
class MustHaveVersion:
    """The grant under ``key`` must exist with exactly this version."""

    key: GrantKey
    version: int

    def conflict(self) -> Conflict:
        return Conflict(
            "version_mismatch",
            "The grant was changed by someone else; reload it and try again.",
            "Den utdelade ärendetypen har ändrats av någon annan; ladda om och försök igen.",
        )


@frozen
class CaseTypeUnused:
    """No grant of the case type under ``key`` may exist."""

    key: CaseTypeKey

    def conflict(self) -> Conflict:
        return Conflict(
            "case_type_in_use",
            "The case type is granted to residents; remove those grants first.",
            "Ärendetypen är utdelad till invånare; ta bort de utdelningarna först.",
        )


@frozen
class CaseTypeRestricted:
    """The case type under ``key`` must exist and be restricted."""

    key: CaseTypeKey

    def conflict(self) -> Conflict:
        return Conflict(
            "case_type_no_longer_restricted",
            "The case type no longer exists or is no longer restricted.",
            "Ärendetypen finns inte längre eller har inte längre begränsat urval.",
        )


Precondition = MustExist | MustBeAbsent | MustHaveVersion | CaseTypeUnused | CaseTypeRestricted


# -- writes ----------------------------------------------------------------------------


@frozen
class Put:
    """Insert or replace ``record`` under its key."""

    record: Record


@frozen
class Delete:
    """Delete the record under ``key`` (a no-op if absent; guard with :class:`MustExist`)."""

    key: Key


Write = Put | Delete


@frozen
class EventDraft:
    """An event before the store has given it its id."""

    at: dt.datetime
    actor_id: str
    action: Action
    clinic_id: str
    pnr: PersonalIdentityNumber | None = None
    case_type_id: str | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None

    def with_id(self, event_id: str) -> Event:
        return Event(
            event_id,
            self.at,
            self.actor_id,
            self.action,
            self.clinic_id,
            self.pnr,
            self.case_type_id,
            self.before,
            self.after,
        )


@frozen
class Changeset:
    """Writes and their event, applied all-or-nothing once every precondition holds."""

    preconditions: tuple[Precondition, ...]
    writes: tuple[Write, ...]
    event: EventDraft


#: The most records one :class:`ImportBatch` may hold: enough to move a clinic a batch
#: at a time, small enough that a server-side script applying it stays brief.
MAX_IMPORT = 5000


@frozen
class ImportBatch:
    """New approvals and grants of one clinic, each with its event, to be written at once.

    Built and validated by :meth:`careaccess.CareAccess.import_residents`. The store
    writes all of it, or nothing and raises :class:`Conflict`, when any of these fails:

    - the clinic exists (``clinic_missing``);
    - every grant's case type exists and is restricted (``case_type_not_restricted``);
    - no record's key is already stored (``approval_exists`` / ``grant_exists``).

    ``records`` have distinct keys, all at ``clinic_id``; ``events[i]`` records
    ``records[i]``, every event is of ``clinic_id`` too, and the events are appended
    in that order.
    """

    clinic_id: str
    records: tuple[Approval | Grant, ...]
    events: tuple[EventDraft, ...]

    def case_type_ids(self) -> list[str]:
        """The distinct case types the batch grants, sorted."""
        return sorted({r.case_type_id for r in self.records if isinstance(r, Grant)})

    def conflict_for(self, key: Key) -> Conflict:
        """The error for a batch that would overwrite the record under *key*."""
        return MustBeAbsent(key).conflict()


# -- reads -----------------------------------------------------------------------------


# The two types on the decision's hot path are named tuples: built millions of times a
# second, where a frozen attrs class would cost several times more.


class FactsRequest(NamedTuple):
    """What one decision asks of the store."""

    pnr: str  # 12 canonical digits
    clinic_id: str
    case_type_id: str
    #: ``pnr`` parsed, when the caller has it: a store may use it for the records it
    #: builds instead of parsing ``pnr`` again. (Read the fields by name: a request is
    #: no longer a 3-tuple.)
    person: PersonalIdentityNumber | None = None


class DecisionFacts(NamedTuple):
    """Everything stored that a decision needs: each part None where absent.

    ``approval`` and ``grant`` may be left None when the case type makes them
    irrelevant, but a store that loads them anyway is equally correct.
    """

    clinic: Clinic | None
    case_type: CaseType | None
    approval: Approval | None
    grant: Grant | None


@frozen
class ResidentQuery:
    """One page of a clinic's resident list, in ascending order of identity number.

    ``after`` is the last identity number (12 digits) of the previous page.
    ``digits_prefix`` matches the start of the 12-digit form or of the 10-digit form;
    ``name_contains`` matches case-insensitively anywhere in the approval's or a grant's
    name (compared after ``str.casefold``).
    """

    clinic_id: str
    limit: int
    after: str | None = None
    digits_prefix: str | None = None
    name_contains: str | None = None


@runtime_checkable
class Store(Protocol):
    """What a storage backend provides. Every method may raise :class:`StoreUnavailable`."""

    def load_facts(self, request: FactsRequest) -> DecisionFacts:
        """All facts for one decision, in one round trip."""
        ...

    def load_facts_many(self, requests: Sequence[FactsRequest]) -> list[DecisionFacts]:
        """Facts for many decisions, in request order, in as few round trips as possible."""
        ...

    def apply(self, changeset: Changeset) -> Event:
        """Check every precondition, then apply the writes and append the event, atomically.

        :returns: the stored event, with its id.
        :raises Conflict: from the first failing precondition's ``conflict()``; nothing written.
        """
        ...

    def get_clinic(self, clinic_id: str) -> Clinic | None: ...

    def list_case_types(self, clinic_id: str) -> list[CaseType]:
        """The clinic's case types, ordered by id."""
        ...

    def resident_access(self, clinic_id: str, pnr: str) -> ResidentAccess | None:
        """The approval and grants (ordered by case type id) of one resident, or None."""
        ...

    def page_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        """Up to ``query.limit`` listed residents (approved or holding a grant) after ``query.after``."""
        ...

    def read_events(self, after: str | None, limit: int, clinic_id: str | None) -> list[Event]:
        """Up to ``limit`` events after the event id ``after``, oldest first."""
        ...

    def close(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...


@runtime_checkable
class BulkImportStore(Store, Protocol):
    """A store that can also write a whole :class:`ImportBatch` in one atomic step.

    Optional: :meth:`careaccess.CareAccess.import_residents` refuses
    (``import_unsupported``) on a store without it. Every built-in store has it.

    .. versionadded:: 0.1
    """

    def import_batch(self, batch: ImportBatch) -> list[Event]:
        """Check the batch's preconditions, then write every record and append its event.

        :returns: the stored events, in the order of ``batch.events``.
        :raises Conflict: for the first failing precondition; nothing written.
        """
        ...
