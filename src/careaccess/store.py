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

from careaccess.errors import Conflict, InvalidRequest
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Action, Approval, CaseType, Clinic, Event, Grant, ResidentAccess

__all__ = [
    "MAX_BULK",
    "MAX_CHANGESET",
    "MAX_IMPORT",
    "MAX_VERSION",
    "ApprovalKey",
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
    digits: str  # the identity number's 12 canonical digits


@frozen
class GrantKey:
    clinic_id: str
    digits: str  # the identity number's 12 canonical digits
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


#: The most writes one :class:`Changeset` may hold (and the most events): enough to move
#: a clinic a batch at a time, small enough that a server-side script applying it stays
#: brief. Stores may rely on it.
MAX_CHANGESET = 5000
#: The most records one :meth:`careaccess.CareAccess.import_residents` call takes.
MAX_IMPORT = MAX_CHANGESET
#: The most records one bulk action takes.
MAX_BULK = MAX_CHANGESET
#: The highest grant version: every store keeps it exactly (a double's integer range).
MAX_VERSION = 2**53 - 1


def _clinic_of(write: Write) -> str:
    if isinstance(write, Delete):
        return write.key.clinic_id
    record = write.record
    return record.id if isinstance(record, Clinic) else record.clinic_id


@frozen
class Changeset:
    """Writes and their events at one clinic, applied all-or-nothing once every precondition holds.

    Built by the core's planning. Rules checked on construction (stores may rely on them):

    - every precondition's key, every written record or deleted key and every event
      draft is of ``clinic_id``, else ``InvalidRequest("changeset_spans_clinics")``;
    - at least one event, else ``InvalidRequest("changeset_without_event")``;
    - at most :data:`MAX_CHANGESET` writes and as many events, else
      ``InvalidRequest("changeset_too_large")``.

    The store checks ``preconditions`` in order, then applies ``writes`` in order and
    appends ``events`` in order (see :meth:`Store.apply`).
    """

    clinic_id: str
    preconditions: tuple[Precondition, ...]
    writes: tuple[Write, ...]
    events: tuple[EventDraft, ...]

    def __attrs_post_init__(self) -> None:
        if not self.events:
            raise InvalidRequest(
                "changeset_without_event",
                "A change must record at least one event.",
                "En ändring måste ge minst en händelse.",
            )
        if len(self.writes) > MAX_CHANGESET or len(self.events) > MAX_CHANGESET:
            raise InvalidRequest(
                "changeset_too_large",
                f"One change may write at most {MAX_CHANGESET} records.",
                f"En ändring får skriva högst {MAX_CHANGESET} poster.",
            )
        clinic_id = self.clinic_id
        if (
            any(p.key.clinic_id != clinic_id for p in self.preconditions)
            or any(_clinic_of(w) != clinic_id for w in self.writes)
            or any(e.clinic_id != clinic_id for e in self.events)
        ):
            raise InvalidRequest(
                "changeset_spans_clinics",
                "One change may only touch one clinic.",
                "En ändring får bara röra en mottagning.",
            )


# -- reads -----------------------------------------------------------------------------


# The two types on the decision's hot path are named tuples: built millions of times a
# second, where a frozen attrs class would cost several times more.


class FactsRequest(NamedTuple):
    """What one decision asks of the store."""

    digits: str  # the identity number's 12 canonical digits
    clinic_id: str
    case_type_id: str
    #: ``digits`` parsed, when the caller has it: a store may use it for the records it
    #: builds instead of parsing ``digits`` again. (Read the fields by name.)
    person: PersonalIdentityNumber | None = None


class DecisionFacts(NamedTuple):
    """Every stored fact for one ``(digits, clinic_id, case_type_id)``: each None where absent.

    Complete regardless of the case type: the clinic, the case type, the resident's
    approval at the clinic and the resident's grant of ``case_type_id`` at the clinic
    (looked up by id even when the case type does not exist). A store never branches
    on ``restricted``; which facts matter is :func:`careaccess.decision.decide`'s call.
    """

    clinic: Clinic | None
    case_type: CaseType | None
    approval: Approval | None
    grant: Grant | None


@frozen
class ResidentQuery:
    """One page of a clinic's listed residents, in ascending order of identity number.

    Built by the core, which parses the admin's search text and the opaque cursor;
    the store only matches. Filters combine with AND.

    - ``after``: 12 canonical digits, exclusive: the last resident of the previous page.
    - ``digit_prefixes``: match if the 12 digits start with ANY of these; empty means no
      prefix filter. (The core expands a 10-digit form to its possible centuries.)
    - ``digit_suffix``: match if the 12 digits end with this.
    - ``name_contains``: already folded by :func:`careaccess.names.fold`; match if the
      folded name of the approval or of any grant contains it.
    """

    clinic_id: str
    limit: int
    after: str | None = None
    digit_prefixes: tuple[str, ...] = ()
    digit_suffix: str | None = None
    name_contains: str | None = None


@runtime_checkable
class Store(Protocol):
    """What a storage backend provides. Every method may raise :class:`StoreUnavailable`."""

    def load_facts(self, request: FactsRequest) -> DecisionFacts:
        """Every stored fact for one decision (see :class:`DecisionFacts`), in one round trip."""
        ...

    def load_facts_many(self, requests: Sequence[FactsRequest]) -> list[DecisionFacts]:
        """Facts for many decisions, in request order, in as few round trips as possible."""
        ...

    def apply(self, changeset: Changeset) -> list[Event]:
        """Check every precondition, then apply every write and append every event, atomically.

        :returns: the stored events, with their ids, in the order of ``changeset.events``.
        :raises Conflict: from the first failing precondition's ``conflict()`` (in the
            order given); nothing written.
        """
        ...

    def get_clinic(self, clinic_id: str) -> Clinic | None: ...

    def list_case_types(self, clinic_id: str) -> list[CaseType]:
        """The clinic's case types, ordered by id."""
        ...

    def get_resident_access(self, clinic_id: str, digits: str) -> ResidentAccess | None:
        """The approval and grants (ordered by case type id) of one resident, or None."""
        ...

    def list_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        """Up to ``query.limit`` listed residents (approved or holding a grant) matching *query*."""
        ...

    def read_events(self, after: str | None, limit: int, clinic_id: str | None) -> list[Event]:
        """Up to ``limit`` events after the event id ``after``, oldest first.

        :raises InvalidRequest: ``invalid_cursor`` when ``after`` is not an event id of
            this store (never a raw driver error).
        """
        ...

    def cursor_key(self) -> bytes:
        """32 random bytes made once per store, the same for every process sharing it.

        The core keys its opaque resident-list cursors with it.
        """
        ...

    def close(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...
