"""Bulk actions: one changeset per call, one event per record, stale selections reported."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from careaccess import (
    Action,
    Actor,
    Approval,
    BulkResult,
    CareAccess,
    CaseType,
    Clinic,
    Event,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    Residence,
    Resident,
    StaticDirectory,
    connect,
    hookimpl,
    planning,
)
from careaccess.memory import MemoryStore
from careaccess.store import MAX_BULK, Changeset, FactsRequest
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import make_pnr

ADMIN = Actor("admin", frozenset({"c1"}))
NOW = dt.datetime(2026, 3, 1, 11, 0, tzinfo=dt.UTC)
PEOPLE = [make_pnr(f"19{50 + i:02d}0101", 100 + i) for i in range(6)]


class Recording(MemoryStore):
    """Records every changeset; optionally lets "another administrator" act first, once."""

    def __init__(self) -> None:
        super().__init__()
        self.applied: list[Changeset] = []
        self.before_next: Changeset | None = None

    def apply(self, changeset: Changeset) -> list[Event]:
        if self.before_next is not None:
            racing, self.before_next = self.before_next, None
            super().apply(racing)
        self.applied.append(changeset)
        return super().apply(changeset)


class Listener:
    def __init__(self) -> None:
        self.told: list[Event] = []
        self.asked = 0

    @hookimpl
    def careaccess_notify(self, event: Event) -> None:
        self.told.append(event)

    @hookimpl
    def careaccess_authorize(self, actor: Actor, action: str, clinic_id: str) -> bool | None:
        self.asked += 1
        return None


@pytest.fixture
def store() -> Recording:
    return Recording()


@pytest.fixture
def listener() -> Listener:
    return Listener()


@pytest.fixture
def access(store: Recording, listener: Listener) -> CareAccess:
    directory = StaticDirectory([Resident(p, f"Invånare {i}", Residence("01", "0180")) for i, p in enumerate(PEOPLE)])
    service = connect(store, plugins=[listener, directory], clock=FrozenClock(NOW))
    service.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
    service.put_case_type(ADMIN, CaseType("c1", "open", "Fråga"))
    service.put_case_type(ADMIN, CaseType("c1", "kbt", "KBT", restricted=True))
    for person in PEOPLE[:4]:
        service.approve_resident(ADMIN, "c1", person)
    store.applied.clear()
    listener.told.clear()
    listener.asked = 0
    return service


def test_revoke_approvals_is_one_changeset_and_reports_the_stale(
    access: CareAccess, store: Recording, listener: Listener
) -> None:
    result = access.revoke_approvals(ADMIN, "c1", [PEOPLE[0], str(PEOPLE[1]), PEOPLE[4], PEOPLE[0], PEOPLE[3]])
    assert isinstance(result, BulkResult)
    assert [e.pnr for e in result.events] == [PEOPLE[0], PEOPLE[1], PEOPLE[3]]
    assert all(e.action is Action.APPROVAL_REVOKED for e in result.events)
    assert result.stale == (PEOPLE[4],)
    assert len(store.applied) == 1
    assert listener.told == list(result.events)
    assert listener.asked == 1
    assert [r.pnr for r in access.list_residents(ADMIN, "c1").items] == [PEOPLE[2]]
    again = access.revoke_approvals(ADMIN, "c1", PEOPLE[:2])
    assert (again.events, again.stale) == ((), tuple(PEOPLE[:2]))
    assert len(store.applied) == 1


def test_a_race_is_planned_again(access: CareAccess, store: Recording) -> None:
    # Another administrator revokes one of the selection between our load and our apply.
    facts = store.load_facts(FactsRequest(PEOPLE[1].digits, "c1", ""))
    store.before_next = planning.plan_revoke_approval("other", facts, "c1", PEOPLE[1], NOW)
    result = access.revoke_approvals(ADMIN, "c1", PEOPLE[:3])
    assert [e.pnr for e in result.events] == [PEOPLE[0], PEOPLE[2]]
    assert result.stale == (PEOPLE[1],)
    assert len(store.applied) == 2  # the first attempt conflicted and wrote nothing
    assert [e.actor_id for e in access.events(limit=1000) if e.action is Action.APPROVAL_REVOKED] == [
        "other",
        "admin",
        "admin",
    ]


def test_remove_grants(access: CareAccess, store: Recording) -> None:
    for person in PEOPLE[:3]:
        access.grant_case_type(ADMIN, "c1", person, "kbt")
    access.change_grant(ADMIN, "c1", PEOPLE[1], "kbt", dt.date(2026, 6, 1))
    store.applied.clear()
    result = access.remove_grants(ADMIN, "c1", [(PEOPLE[0], "kbt"), (PEOPLE[1], "kbt"), (PEOPLE[3], "kbt")])
    assert [(e.pnr, e.action) for e in result.events] == [
        (PEOPLE[0], Action.GRANT_REMOVED),
        (PEOPLE[1], Action.GRANT_REMOVED),
    ]
    assert result.events[1].before is not None
    assert result.events[1].before["version"] == 2
    assert result.stale == ((PEOPLE[3], "kbt"),)
    assert len(store.applied) == 1
    assert [g.case_type_id for r in access.list_residents(ADMIN, "c1").items for g in r.grants] == ["kbt"]


def test_grant_case_types(access: CareAccess, store: Recording) -> None:
    access.grant_case_type(ADMIN, "c1", PEOPLE[2], "kbt")
    store.applied.clear()
    result = access.grant_case_types(ADMIN, "c1", [PEOPLE[1], PEOPLE[2], PEOPLE[5]], "kbt", dt.date(2026, 12, 31))
    assert [e.pnr for e in result.events] == [PEOPLE[1], PEOPLE[5]]
    assert result.stale == ((PEOPLE[2], "kbt"),)
    assert len(store.applied) == 1
    granted = access.resident_access(ADMIN, "c1", PEOPLE[5]).grants
    assert [(g.until, g.name, g.version) for g in granted] == [(dt.date(2026, 12, 31), "Invånare 5", 1)]
    past = dt.date(2025, 1, 1)
    refusals: list[tuple[str, type[Exception], Callable[[], object]]] = [
        ("case_type_not_restricted", InvalidRequest, lambda: access.grant_case_types(ADMIN, "c1", PEOPLE, "open")),
        ("unknown_case_type", NotFound, lambda: access.grant_case_types(ADMIN, "c1", PEOPLE, "nope")),
        ("end_date_in_past", InvalidRequest, lambda: access.grant_case_types(ADMIN, "c1", PEOPLE, "kbt", past)),
    ]
    for code, kind, call in refusals:
        with pytest.raises(kind) as raised:
            call()
        assert getattr(raised.value, "code", None) == code
    assert len(store.applied) == 1


def test_refusals(access: CareAccess, store: Recording) -> None:
    outsider = Actor("outsider", frozenset())
    with pytest.raises(PermissionDenied):
        access.revoke_approvals(outsider, "c1", PEOPLE)
    with pytest.raises(NotFound) as unknown:
        access.revoke_approvals(Actor("x", frozenset({"c9"})), "c9", PEOPLE)
    assert unknown.value.code == "unknown_clinic"
    many = [make_pnr(f"19{50 + i // 900:02d}0{1 + i // 300 % 3}01", 100 + i % 300) for i in range(MAX_BULK + 1)]
    with pytest.raises(InvalidRequest) as large:
        access.revoke_approvals(ADMIN, "c1", many)
    assert large.value.code == "bulk_too_large"
    assert access.revoke_approvals(ADMIN, "c1", []) == BulkResult((), ())
    assert store.applied == []


def test_the_largest_bulk_action_is_one_changeset(access: CareAccess, store: Recording) -> None:
    births = [dt.date(1940, 1, 1) + dt.timedelta(days=i // 300) for i in range(MAX_BULK)]
    people = [make_pnr(f"{b:%Y%m%d}", 100 + i % 300) for i, b in enumerate(births)]
    access.import_residents(ADMIN, "c1", [Approval("c1", p, None, NOW, "legacy") for p in people])
    store.applied.clear()
    result = access.revoke_approvals(ADMIN, "c1", people)
    assert len(result.events) == MAX_BULK
    assert len(store.applied) == 1
