"""Deliberately broken stores: each a small subclass of the in-memory store with one
realistic backend bug. ``test_mutants.py`` proves that our checks catch every one."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import attrs

from careaccess.memory import MemoryStore
from careaccess.models import Approval, Event, Grant, ResidentAccess
from careaccess.store import (
    ApprovalKey,
    CaseTypeRestricted,
    CaseTypeUnused,
    Changeset,
    DecisionFacts,
    FactsRequest,
    GrantKey,
    MustBeAbsent,
    MustHaveVersion,
    Precondition,
    Put,
    Record,
    ResidentQuery,
    key_of,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")


class GrantEndsOneDayLate(MemoryStore):
    """Stores the end date as exclusive (the day after), then reads it back as inclusive."""

    def _put(self, record: Record) -> None:
        if isinstance(record, Grant) and record.until is not None:
            record = attrs.evolve(record, until=record.until + dt.timedelta(days=1))
        super()._put(record)


class GrantEndsInUtc(MemoryStore):
    """Stores the end as the UTC date of local midnight: a day early in Sweden."""

    def _put(self, record: Record) -> None:
        if isinstance(record, Grant) and record.until is not None:
            midnight = dt.datetime.combine(record.until, dt.time(), tzinfo=STOCKHOLM)
            record = attrs.evolve(record, until=midnight.astimezone(dt.UTC).date())
        super()._put(record)


class ApprovalOpensRestricted(MemoryStore):
    """Joins the approval in as if it were a grant of any case type."""

    def load_facts(self, request: FactsRequest) -> DecisionFacts:
        facts = super().load_facts(request)
        if facts.grant is None and facts.approval is not None and facts.case_type is not None:
            approval = facts.approval
            fake = Grant(
                request.clinic_id,
                approval.pnr,
                request.case_type_id,
                None,
                1,
                approval.approved_at,
                approval.approved_by,
                approval.approved_at,
            )
            return facts._replace(grant=fake)
        return facts

    def load_facts_many(self, requests: Sequence[FactsRequest]) -> list[DecisionFacts]:
        return [self.load_facts(r) for r in requests]


class IgnoresExpectedVersion(MemoryStore):
    """Treats the version precondition as always holding (a lost-update bug)."""

    def _holds(self, precondition: Precondition) -> bool:
        if isinstance(precondition, MustHaveVersion):
            return self._get(precondition.key) is not None
        return super()._holds(precondition)


class WritesBeforeCheckingAll(MemoryStore):
    """Applies the first write before it has checked every precondition."""

    def apply(self, changeset: Changeset) -> list[Event]:
        with self._lock:
            if changeset.writes:
                first = changeset.writes[0]
                if isinstance(first, Put):
                    self._put(first.record)
                else:
                    self._delete(first.key)
            return super().apply(changeset)


class DropsChangeEvents(MemoryStore):
    """Forgets to append the event of a changed grant (but returns it)."""

    def apply(self, changeset: Changeset) -> list[Event]:
        if changeset.events[0].action.value != "grant_changed":
            return super().apply(changeset)
        with self._lock:
            for precondition in changeset.preconditions:
                if not self._holds(precondition):
                    raise precondition.conflict()
            for write in changeset.writes:
                if isinstance(write, Put):
                    self._put(write.record)
            return [draft.with_id(f"{len(self._events) + 1:016d}") for draft in changeset.events]


class DuplicatesApprovalEvents(MemoryStore):
    """Appends the event of an approval twice (a retried insert)."""

    def apply(self, changeset: Changeset) -> list[Event]:
        events = super().apply(changeset)
        for event, draft in zip(events, changeset.events, strict=True):
            if event.action.value == "resident_approved":
                with self._lock:
                    self._events.append(draft.with_id(f"{len(self._events) + 1:016d}"))
                    self._clinics[event.clinic_id].events.append(len(self._events) - 1)
        return events


class PageSkipsOne(MemoryStore):
    """Starts each following page one resident too late (an off-by-one keyset bound)."""

    def list_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        if query.after is None:
            return super().list_residents(query)
        return super().list_residents(attrs.evolve(query, limit=query.limit + 1))[1:]


class PageRepeatsLast(MemoryStore):
    """Uses >= instead of > for the keyset bound: the last resident of a page comes again."""

    def list_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        if query.after is None:
            return super().list_residents(query)
        before = str(int(query.after) - 1).zfill(12)
        return super().list_residents(attrs.evolve(query, after=before))


class CursorAsOffset(MemoryStore):
    """Pages by position: residents inserted before the cursor shift the next page."""

    def __init__(self) -> None:
        super().__init__()
        self._offsets: dict[tuple[str, str], int] = {}

    def list_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        everyone = super().list_residents(attrs.evolve(query, after=None, limit=10**6))
        offset = 0 if query.after is None else self._offsets.get((query.clinic_id, query.after), 0)
        page = everyone[offset : offset + query.limit]
        for index, row in enumerate(page):
            self._offsets[query.clinic_id, row.pnr.digits] = offset + index + 1
        return page


class RemovesCaseTypeInUse(MemoryStore):
    """Does not check for grants before removing (or opening) a case type."""

    def _holds(self, precondition: Precondition) -> bool:
        return isinstance(precondition, CaseTypeUnused) or super()._holds(precondition)


class RevokeDropsGrants(MemoryStore):
    """Deletes the resident's grants along with the approval (a cascading delete)."""

    def _delete(self, key: object) -> None:
        if isinstance(key, ApprovalKey):
            held = self._clinics.get(key.clinic_id)
            listed = held.residents.get(key.digits) if held else None
            for case_type in list(listed.grants) if listed else []:
                super()._delete(GrantKey(key.clinic_id, key.digits, case_type))
        super()._delete(key)  # type: ignore[arg-type]


class CheckThenActRace(MemoryStore):
    """Checks preconditions and writes in two separate critical sections."""

    def apply(self, changeset: Changeset) -> list[Event]:
        with self._lock:
            for precondition in changeset.preconditions:
                if not self._holds(precondition):
                    raise precondition.conflict()
        time.sleep(0.002)  # the window another writer slips through
        with self._lock:
            for write in changeset.writes:
                if isinstance(write, Put):
                    self._put(write.record)
                else:
                    self._delete(write.key)
            events: list[Event] = []
            for draft in changeset.events:
                event = draft.with_id(f"{len(self._events) + 1:016d}")
                self._events.append(event)
                self._clinics[event.clinic_id].events.append(len(self._events) - 1)
                events.append(event)
            return events


class NamesLoseAccents(MemoryStore):
    """Stores residents' names through an ASCII column, replacing what does not fit."""

    def _put(self, record: Record) -> None:
        if isinstance(record, (Approval, Grant)) and record.name is not None:
            record = attrs.evolve(record, name=record.name.encode("ascii", "replace").decode())
        super()._put(record)


class SearchIsCaseSensitive(MemoryStore):
    """Compares names without folding case."""

    def list_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        if query.name_contains is None:
            return super().list_residents(query)
        rows = super().list_residents(attrs.evolve(query, name_contains=None, limit=10**6))
        hits = [r for r in rows if r.name is not None and query.name_contains in r.name]
        return hits[: query.limit]


class FeedOrderByClinic(MemoryStore):
    """Returns the cross-clinic feed grouped by clinic instead of in commit order."""

    def read_events(self, after: str | None, limit: int, clinic_id: str | None) -> list[Event]:
        events = super().read_events(after, limit, clinic_id)
        return events if clinic_id is not None else sorted(events, key=lambda e: e.clinic_id)


class ImportWritesAsItChecks(MemoryStore):
    """Applies a many-record changeset record by record, checking each record's own
    precondition just before writing it: a conflict half-way leaves the records before
    it written."""

    def apply(self, changeset: Changeset) -> list[Event]:
        if len(changeset.events) == 1:
            return super().apply(changeset)
        shared = tuple(p for p in changeset.preconditions if not isinstance(p, MustBeAbsent))
        events: list[Event] = []
        with self._lock:
            for write, draft in zip(changeset.writes, changeset.events, strict=True):
                assert isinstance(write, Put)
                own = tuple(p for p in changeset.preconditions if p == MustBeAbsent(key_of(write.record)))
                events += super().apply(Changeset(changeset.clinic_id, shared + own, (write,), (draft,)))
        return events


class ImportTrustsTheCaseType(MemoryStore):
    """Skips the case-type precondition of a many-record changeset, trusting the caller's
    earlier check, so a case type opened or removed meanwhile still gets grants."""

    def apply(self, changeset: Changeset) -> list[Event]:
        if len(changeset.events) > 1:
            kept = tuple(p for p in changeset.preconditions if not isinstance(p, CaseTypeRestricted))
            changeset = attrs.evolve(changeset, preconditions=kept)
        return super().apply(changeset)


class ImportWithoutEvents(MemoryStore):
    """Writes a many-record changeset's records but appends none of its events."""

    def apply(self, changeset: Changeset) -> list[Event]:
        with self._lock:
            count = len(self._events)
            events = super().apply(changeset)
            if len(events) > 1:
                del self._events[count:]
                held = self._clinics[changeset.clinic_id]
                held.events = [i for i in held.events if i < count]
            return events


ALL = [
    GrantEndsOneDayLate,
    GrantEndsInUtc,
    ApprovalOpensRestricted,
    IgnoresExpectedVersion,
    WritesBeforeCheckingAll,
    DropsChangeEvents,
    DuplicatesApprovalEvents,
    PageSkipsOne,
    PageRepeatsLast,
    CursorAsOffset,
    RemovesCaseTypeInUse,
    RevokeDropsGrants,
    CheckThenActRace,
    NamesLoseAccents,
    SearchIsCaseSensitive,
    FeedOrderByClinic,
    ImportWritesAsItChecks,
    ImportTrustsTheCaseType,
    ImportWithoutEvents,
]
