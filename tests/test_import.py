"""Bulk import through the service: what the conformance suite cannot see from a store."""

from __future__ import annotations

import datetime as dt

import pytest

from careaccess import Action, Actor, Approval, CaseType, Clinic, Event, Grant, InvalidRequest, connect, hookimpl
from careaccess.memory import MemoryStore
from careaccess.store import MAX_IMPORT, BulkImportStore, ImportBatch
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import make_pnr

ADMIN = Actor("admin", frozenset({"c1"}))
WHEN = dt.datetime(2025, 5, 1, 8, 0, tzinfo=dt.UTC)


class NoImport:
    """A store that hides the in-memory store's import_batch: the Store protocol alone."""

    def __init__(self) -> None:
        self._inner = MemoryStore()

    def __getattr__(self, name: str) -> object:
        if name == "import_batch":
            raise AttributeError(name)
        return getattr(self._inner, name)


def approvals(count: int) -> list[Approval]:
    births = [dt.date(1950, 1, 1) + dt.timedelta(days=i // 900) for i in range(count)]
    return [
        Approval("c1", make_pnr(f"{born:%Y%m%d}", 100 + i % 900), None, WHEN, "legacy") for i, born in enumerate(births)
    ]


def test_a_store_without_import_batch_refuses_and_changes_nothing() -> None:
    store = NoImport()
    assert not isinstance(store, BulkImportStore)
    access = connect(store, clock=FrozenClock(WHEN))  # type: ignore[arg-type]
    access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
    before = access.events()
    with pytest.raises(InvalidRequest) as refused:
        access.import_residents(ADMIN, "c1", approvals(2))
    assert refused.value.code == "import_unsupported"
    assert access.events() == before


def test_at_most_max_import_records_per_call() -> None:
    access = connect("memory://", clock=FrozenClock(WHEN))
    access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
    with pytest.raises(InvalidRequest) as refused:
        access.import_residents(ADMIN, "c1", approvals(MAX_IMPORT + 1))
    assert refused.value.code == "import_too_large"
    assert len(access.import_residents(ADMIN, "c1", approvals(MAX_IMPORT))) == MAX_IMPORT
    assert len(access.list_residents(ADMIN, "c1", limit=1000).items) == 1000


def test_only_approvals_and_grants_are_imported() -> None:
    access = connect("memory://", clock=FrozenClock(WHEN))
    access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
    with pytest.raises(InvalidRequest) as refused:
        access.import_residents(ADMIN, "c1", [CaseType("c1", "x", "X")])  # type: ignore[list-item]
    assert refused.value.code == "invalid_record"


def test_every_imported_event_is_told_after_commit() -> None:
    told: list[Event] = []

    class Listener:
        @hookimpl
        def careaccess_notify(self, event: Event) -> None:
            told.append(event)

    access = connect("memory://", plugins=[Listener()], clock=FrozenClock(WHEN))
    access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
    access.put_case_type(ADMIN, CaseType("c1", "kbt", "KBT", restricted=True))
    people = approvals(3)
    grant = Grant("c1", people[0].pnr, "kbt", None, 1, WHEN, "legacy", WHEN)
    told.clear()
    events = access.import_residents(ADMIN, "c1", people, [grant])
    assert told == events
    assert [e.action for e in told] == [Action.RESIDENT_APPROVED] * 3 + [Action.CASE_TYPE_GRANTED]


def test_import_batch_lists_the_case_types_it_grants() -> None:
    people = approvals(3)
    grants = tuple(Grant("c1", p.pnr, t, None, 1, WHEN, "x", WHEN) for p, t in zip(people, "bab", strict=True))
    assert ImportBatch("c1", grants, ()).case_type_ids() == ["a", "b"]
