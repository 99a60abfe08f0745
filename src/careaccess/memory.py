"""The in-memory store (``memory://``): the embedded default, safe under threads.

Everything lives in plain dicts guarded by one lock; records are immutable, so reads
hand them out without copying.
"""

from __future__ import annotations

import bisect
import secrets
import threading
from collections.abc import Sequence

from attrs import define, field

from careaccess.errors import InvalidRequest
from careaccess.hookspecs import hookimpl
from careaccess.memoryreach import ReachIndex
from careaccess.models import Approval, CaseType, Clinic, Event, Grant, ResidentAccess
from careaccess.names import fold
from careaccess.reach import ReachFacts
from careaccess.reachstore import ClinicQuery, ReachRequest
from careaccess.store import (
    ApprovalKey,
    CaseTypeKey,
    CaseTypeUnused,
    Changeset,
    ClinicKey,
    DecisionFacts,
    FactsRequest,
    Key,
    MustBeAbsent,
    MustExist,
    MustHaveVersion,
    Precondition,
    Put,
    Record,
    ResidentQuery,
)

__all__ = ["MemoryStore", "MemoryStorePlugin"]


@define
class _Listed:
    """One resident's rows at one clinic."""

    approval: Approval | None = None
    grants: dict[str, Grant] = field(factory=dict)
    folded: dict[str | None, str] = field(factory=dict)  # names folded at write time: None = the approval's

    def empty(self) -> bool:
        return self.approval is None and not self.grants

    def access(self) -> ResidentAccess:
        pnr = self.approval.pnr if self.approval is not None else next(iter(self.grants.values())).pnr
        return ResidentAccess.of(pnr, self.approval, list(self.grants.values()))


@define
class _Clinic:
    clinic: Clinic
    case_types: dict[str, CaseType] = field(factory=dict)
    residents: dict[str, _Listed] = field(factory=dict)
    order: list[str] = field(factory=list)  # sorted identity numbers of listed residents
    grants_of: dict[str, int] = field(factory=dict)  # case type id -> number of grants
    events: list[int] = field(factory=list)  # positions in MemoryStore._events


_NO_FACTS = DecisionFacts(None, None, None, None)
_new_tuple = tuple.__new__


class MemoryStore:
    """A :class:`~careaccess.store.Store` kept in process memory."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._clinics: dict[str, _Clinic] = {}
        self._events: list[Event] = []
        self._cursor_key = secrets.token_bytes(32)
        self._reach = ReachIndex()

    # -- reads -------------------------------------------------------------------------

    def load_facts(self, request: FactsRequest) -> DecisionFacts:
        with self._lock:
            held = self._clinics.get(request.clinic_id)
            if held is None:
                return _NO_FACTS
            listed = held.residents.get(request.digits)
            case_type = held.case_types.get(request.case_type_id)
            # tuple.__new__ skips the named tuple's generated __new__: this is the hot path.
            if listed is None:
                return _new_tuple(DecisionFacts, (held.clinic, case_type, None, None))
            return _new_tuple(
                DecisionFacts, (held.clinic, case_type, listed.approval, listed.grants.get(request.case_type_id))
            )

    def load_facts_many(self, requests: Sequence[FactsRequest]) -> list[DecisionFacts]:
        with self._lock:
            return [self.load_facts(request) for request in requests]

    def get_clinic(self, clinic_id: str) -> Clinic | None:
        held = self._clinics.get(clinic_id)
        return None if held is None else held.clinic

    def list_case_types(self, clinic_id: str) -> list[CaseType]:
        with self._lock:
            held = self._clinics.get(clinic_id)
            return [] if held is None else sorted(held.case_types.values(), key=lambda c: c.id)

    def get_resident_access(self, clinic_id: str, digits: str) -> ResidentAccess | None:
        with self._lock:
            held = self._clinics.get(clinic_id)
            listed = None if held is None else held.residents.get(digits)
            return None if listed is None else listed.access()

    def list_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        with self._lock:
            held = self._clinics.get(query.clinic_id)
            if held is None:
                return []
            start = 0 if query.after is None else bisect.bisect_right(held.order, query.after)
            prefixes, suffix, needle = query.digit_prefixes, query.digit_suffix, query.name_contains
            if not (prefixes or suffix is not None or needle is not None):
                return [held.residents[digits].access() for digits in held.order[start : start + query.limit]]
            page: list[ResidentAccess] = []
            for digits in held.order[start:]:
                if prefixes and not digits.startswith(prefixes):
                    continue
                if suffix is not None and not digits.endswith(suffix):
                    continue
                listed = held.residents[digits]
                if needle is not None and not any(needle in name for name in listed.folded.values()):
                    continue
                page.append(listed.access())
                if len(page) >= query.limit:
                    break
            return page

    def read_events(self, after: str | None, limit: int, clinic_id: str | None) -> list[Event]:
        start = 0 if after is None else _event_position(after)
        with self._lock:
            if clinic_id is None:
                return self._events[start : start + limit]
            held = self._clinics.get(clinic_id)
            if held is None:
                return []
            # Event ids are 1-based positions: the first index whose id exceeds `after`.
            first = bisect.bisect_right(held.events, start - 1)
            return [self._events[i] for i in held.events[first : first + limit]]

    def cursor_key(self) -> bytes:
        """Random bytes made when the store was, for as long as it lives."""
        return self._cursor_key

    def close(self) -> None:
        """Nothing to release."""

    # -- writes ------------------------------------------------------------------------

    def apply(self, changeset: Changeset) -> list[Event]:
        with self._lock:
            for precondition in changeset.preconditions:
                if not self._holds(precondition):
                    raise precondition.conflict()
            for write in changeset.writes:
                if isinstance(write, Put):
                    self._put(write.record)
                else:
                    self._delete(write.key)
            # The clinic may be gone (a deleted clinic's last event): the feed keeps it.
            held = self._clinics.get(changeset.clinic_id)
            events: list[Event] = []
            for draft in changeset.events:
                event = draft.with_id(f"{len(self._events) + 1:016d}")
                self._events.append(event)
                if held is not None:
                    held.events.append(len(self._events) - 1)
                events.append(event)
            return events

    def _holds(self, precondition: Precondition) -> bool:
        if isinstance(precondition, MustExist):
            return self._get(precondition.key) is not None
        if isinstance(precondition, MustBeAbsent):
            return self._get(precondition.key) is None
        if isinstance(precondition, MustHaveVersion):
            grant = self._get(precondition.key)
            return isinstance(grant, Grant) and grant.version == precondition.version
        held = self._clinics.get(precondition.key.clinic_id)
        if isinstance(precondition, CaseTypeUnused):
            return held is None or not held.grants_of.get(precondition.key.case_type_id)
        case_type = self._get(precondition.key)
        return isinstance(case_type, CaseType) and case_type.restricted

    def _get(self, key: Key) -> Record | None:
        held = self._clinics.get(key.clinic_id)
        if held is None:
            return None
        if isinstance(key, ClinicKey):
            return held.clinic
        if isinstance(key, CaseTypeKey):
            return held.case_types.get(key.case_type_id)
        listed = held.residents.get(key.digits)
        if listed is None:
            return None
        if isinstance(key, ApprovalKey):
            return listed.approval
        return listed.grants.get(key.case_type_id)

    def _put(self, record: Record) -> None:
        if isinstance(record, Clinic):
            held = self._clinics.get(record.id)
            if held is None:
                self._clinics[record.id] = _Clinic(record)
            else:
                held.clinic = record
            self._reach.clinic_saved(record)
            return
        held = self._clinics[record.clinic_id]
        if isinstance(record, CaseType):
            held.case_types[record.id] = record
            return
        pnr = record.pnr.digits
        listed = held.residents.get(pnr)
        if listed is None:
            listed = held.residents[pnr] = _Listed()
            bisect.insort(held.order, pnr)
            self._reach.listed(record.clinic_id, pnr)
        if isinstance(record, Approval):
            listed.approval = record
            _set_folded(listed, None, record.name)
        else:
            if record.case_type_id not in listed.grants:
                held.grants_of[record.case_type_id] = held.grants_of.get(record.case_type_id, 0) + 1
            listed.grants[record.case_type_id] = record
            _set_folded(listed, record.case_type_id, record.name)

    def _delete(self, key: Key) -> None:
        held = self._clinics.get(key.clinic_id)
        if held is None:
            return
        if isinstance(key, ClinicKey):
            del self._clinics[key.clinic_id]
            self._reach.clinic_removed(key.clinic_id, held.residents)
            return
        if isinstance(key, CaseTypeKey):
            held.case_types.pop(key.case_type_id, None)
            return
        listed = held.residents.get(key.digits)
        if listed is None:
            return
        if isinstance(key, ApprovalKey):
            listed.approval = None
            listed.folded.pop(None, None)
        elif listed.grants.pop(key.case_type_id, None) is not None:
            held.grants_of[key.case_type_id] -= 1
            listed.folded.pop(key.case_type_id, None)
        if listed.empty():
            del held.residents[key.digits]
            del held.order[bisect.bisect_left(held.order, key.digits)]
            self._reach.unlisted(key.clinic_id, key.digits)

    # -- the resident's side (ReachStore) ----------------------------------------------

    def list_clinics(self, query: ClinicQuery) -> list[Clinic]:
        """One page of the clinic directory, from the clinic indexes (see :class:`ClinicQuery`)."""
        with self._lock:
            return self._reach.page(query, self.get_clinic)

    def load_reach(self, request: ReachRequest) -> ReachFacts:
        """The resident's candidate clinics from the by-resident and service-area indexes."""
        with self._lock:
            clinics: list[Clinic] = []
            case_types: list[CaseType] = []
            approvals: list[Approval] = []
            grants: list[Grant] = []
            for clinic_id in self._reach.candidates(request.digits, request.area):
                held = self._clinics[clinic_id]
                clinics.append(held.clinic)
                case_types.extend(held.case_types.values())
                listed = held.residents.get(request.digits)
                if listed is not None:
                    if listed.approval is not None:
                        approvals.append(listed.approval)
                    grants.extend(listed.grants.values())
            return ReachFacts(clinics, case_types, approvals, grants)


def _event_position(event_id: str) -> int:
    if len(event_id) != 16 or not event_id.isdigit():
        raise InvalidRequest(
            "invalid_cursor",
            "The event cursor is not an event id of this store.",
            "Markören är inte ett händelse-id från den här lagringen.",
        )
    return int(event_id)


def _set_folded(listed: _Listed, slot: str | None, name: str | None) -> None:
    if name is None:
        listed.folded.pop(slot, None)
    else:
        listed.folded[slot] = fold(name)


class MemoryStorePlugin:
    """Built-in plugin opening :class:`MemoryStore` for ``memory://`` URLs."""

    @hookimpl(trylast=True)
    def careaccess_open_store(self, url: str) -> MemoryStore | None:
        return MemoryStore() if url.split(":", 1)[0] == "memory" else None

    @hookimpl
    def careaccess_store_schemes(self) -> list[str]:
        return ["memory"]

    @hookimpl(trylast=True)
    def careaccess_upgrade_store(self, url: str) -> str | None:
        return "memory stores have no schema" if url.split(":", 1)[0] == "memory" else None
