"""What the SQL store promises beyond the conformance suite: round trips, exact data, failures."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

import careaccess
import pytest
import sqlalchemy as sa
from careaccess import Action, Actor, CaseType, Clinic, Reason, StoreUnavailable
from careaccess.memory import MemoryStore
from careaccess.store import ApprovalKey, ClinicKey, EventDraft, MustBeAbsent, MustExist, Put, ResidentQuery, Store
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import make_pnr

from careaccess_sql import SqlStore
from sql_support import Server

ADMIN = Actor("admin", frozenset({"c1"}))
START = dt.datetime(2026, 1, 15, 8, 30, 0, 123456, tzinfo=dt.UTC)
PEOPLE = [make_pnr(f"19{40 + i:02d}0{1 + i % 9}1{i % 10}", 100 + i) for i in range(30)]


def _world(store: Store, clock: FrozenClock | None = None) -> careaccess.CareAccess:
    access = careaccess.connect(store, clock=clock or FrozenClock(START))
    access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
    access.put_case_type(ADMIN, CaseType("c1", "open", "Öppen"))
    access.put_case_type(ADMIN, CaseType("c1", "restr", "Begränsad", restricted=True))
    return access


def _statements(store: SqlStore) -> list[str]:
    seen: list[str] = []

    def _count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    for engine in {store.engine, store.read_engine}:
        sa.event.listen(engine, "before_cursor_execute", _count)
    for query in store.driver_queries():
        query.listeners.append(lambda statement, _arguments: seen.append(statement))
    return seen


def test_a_decision_is_one_statement(store: SqlStore) -> None:
    access = _world(store)
    access.approve_resident(ADMIN, "c1", PEOPLE[0])
    seen = _statements(store)
    assert access.decide(PEOPLE[0], "c1", "open").reason is careaccess.Reason.APPROVED
    assert len(seen) == 1


def test_decide_many_is_one_statement_for_the_whole_batch(store: SqlStore) -> None:
    access = _world(store)
    for person in PEOPLE[::3]:
        access.grant_case_type(ADMIN, "c1", person, "restr")
    requests = [(p, c, t) for p in PEOPLE for c in ("c1", "c2") for t in ("open", "restr", "none")]
    seen = _statements(store)
    many = access.decide_many(requests)
    assert len(seen) == 1
    assert many == [access.decide(*request) for request in requests]


def test_a_page_of_residents_is_one_statement(store: SqlStore) -> None:
    access = _world(store)
    for person in PEOPLE:
        access.approve_resident(ADMIN, "c1", person)
    seen = _statements(store)
    assert [r.pnr for r in store.page_residents(ResidentQuery("c1", 10, after=PEOPLE[3].digits))] == sorted(PEOPLE)[
        4:14
    ]
    assert len(seen) == 1


def test_datetimes_round_trip_exactly_whatever_their_offset(store: SqlStore) -> None:
    stockholm = dt.datetime(2026, 7, 1, 9, 15, 42, 987654, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    access = _world(store, FrozenClock(stockholm))
    approval = access.approve_resident(ADMIN, "c1", PEOPLE[1])
    grant = access.grant_case_type(ADMIN, "c1", PEOPLE[1], "restr", until=dt.date(2026, 12, 31))
    listed = store.resident_access("c1", PEOPLE[1].digits)
    assert listed is not None
    assert listed.approval == approval
    assert listed.grants == (grant,)
    assert listed.grants[0].granted_at.utcoffset() == dt.timedelta(0)
    assert access.events()[-1].at == stockholm


def test_name_search_treats_like_wildcards_literally(store: SqlStore) -> None:
    memory = MemoryStore()
    names = ["100% Säker", "Anna_Berg", "Anna Berg", "Back\\slash", "STRASSE", "Straße"]
    for target in (store, memory):
        access = _world(target)
        for person, name in zip(PEOPLE, names, strict=False):
            access.approve_resident(ADMIN, "c1", person, name=name)
    for needle in ("%", "_", "a_b", "\\", "ss", "straße", "säk", "anna"):
        query = ResidentQuery("c1", 50, name_contains=needle.casefold())
        assert store.page_residents(query) == memory.page_residents(query), needle
    for prefix in ("19", "40", "4", "194001", "%", ""):
        query = ResidentQuery("c1", 50, digits_prefix=prefix)
        assert store.page_residents(query) == memory.page_residents(query), prefix


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=2",
        "mariadb+pymysql://nobody@127.0.0.1:1/nothing?connect_timeout=2",
        "mysql+pymysql://nobody@127.0.0.1:1/nothing?connect_timeout=2",
    ],
)
def test_unreachable_server_is_store_unavailable(url: str, request: pytest.FixtureRequest) -> None:
    if "pymysql" in url:
        request.getfixturevalue("mariadb_admin")  # the driver is there (or the test skips, or under CI fails)
    with pytest.raises(StoreUnavailable) as raised:
        SqlStore.open(url)
    assert raised.value.code == "store_unavailable"


def test_sqlite_writer_waits_for_the_lock_then_reports_unavailable_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    store = SqlStore.open(f"sqlite:///{path}?busy_timeout=200")
    try:
        access = _world(store)
        before = access.events()
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            with pytest.raises(StoreUnavailable):
                access.approve_resident(ADMIN, "c1", PEOPLE[2])
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert access.events() == before
        assert store.resident_access("c1", PEOPLE[2].digits) is None
        access.approve_resident(ADMIN, "c1", PEOPLE[2])  # and works once the lock is free
    finally:
        store.close()


def test_sqlite_files_are_tuned_for_several_processes(tmp_path: Path) -> None:
    store = SqlStore.open(f"sqlite:///{tmp_path / 'tuned.db'}")
    try:
        with store.engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() == 10_000
    finally:
        store.close()


def test_server_connection_killed_between_requests_is_replaced(server: Server) -> None:
    store = SqlStore.open(server.url, create=True)
    try:
        access = _world(store)
        assert server.kill_all()
        assert access.decide(PEOPLE[0], "c1", "open").reason is careaccess.Reason.NOT_APPROVED
        server.kill_all()
        access.approve_resident(ADMIN, "c1", PEOPLE[0])
        assert [e.action for e in access.events()][-1] is Action.RESIDENT_APPROVED
    finally:
        store.close()


def test_a_grant_can_never_reference_a_removed_case_type(store: SqlStore) -> None:
    access = _world(store)
    access.remove_case_type(ADMIN, "c1", "restr")
    grant_without_guard = careaccess.Grant("c1", PEOPLE[0], "restr", None, 1, START, "admin", START)
    with pytest.raises(careaccess.Conflict) as raised:
        store.apply(
            careaccess.store.Changeset(
                (MustExist(ClinicKey("c1")),),
                (Put(grant_without_guard),),
                EventDraft(START, "admin", Action.CASE_TYPE_GRANTED, "c1", PEOPLE[0], "restr"),
            )
        )
    assert raised.value.code == "constraint_violated"
    assert store.resident_access("c1", PEOPLE[0].digits) is None


def test_event_ids_are_sixteen_digits_in_feed_order(store: SqlStore) -> None:
    access = _world(store)
    draft = EventDraft(START, "admin", Action.RESIDENT_APPROVED, "c1", PEOPLE[0])
    approval = careaccess.Approval("c1", PEOPLE[0], None, START, "admin")
    event = store.apply(
        careaccess.store.Changeset((MustBeAbsent(ApprovalKey("c1", PEOPLE[0].digits)),), (Put(approval),), draft)
    )
    ids = [e.id for e in access.events()]
    assert ids[-1] == event.id
    assert all(len(i) == 16 and i.isdigit() for i in ids)
    assert ids == sorted(ids) == [f"{n:016d}" for n in range(1, len(ids) + 1)]


def test_every_idle_connection_killed_at_once_costs_no_decision(server: Server) -> None:
    # A restart or failover drops every connection: one lost connection must not leave
    # its equally dead siblings in the pool for the next decisions.
    store = SqlStore.open(server.url, create=True)
    try:
        access = _world(store)
        held = [store.read_engine.pool.connect() for _ in range(4)]
        for connection in held:
            connection.close()  # four idle connections in the read pool
        assert server.kill_all() >= 4
        for _ in range(4):
            assert access.decide(PEOPLE[0], "c1", "open").reason is careaccess.Reason.NOT_APPROVED
    finally:
        store.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_never_shares_the_parents_connections(server: Server) -> None:
    store = SqlStore.open(server.url, create=True)
    try:
        access = _world(store)
        access.grant_case_type(ADMIN, "c1", PEOPLE[0], "restr")
        for _ in range(3):
            access.decide(PEOPLE[0], "c1", "restr")  # warm pooled connections, then fork
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the child process
            wrong = sum(access.decide(PEOPLE[1], "c1", "restr").reason is not Reason.NOT_GRANTED for _ in range(300))
            os._exit(1 if wrong else 0)
        wrong = sum(access.decide(PEOPLE[0], "c1", "restr").reason is not Reason.GRANTED for _ in range(300))
        _, status = os.waitpid(child, 0)
        assert wrong == 0
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        store.close()


def test_errors_carry_no_statement_parameters(tmp_path: Path) -> None:
    store = SqlStore.open(f"sqlite:///{tmp_path / 'care.db'}")
    try:
        for engine in (store.engine, store.read_engine):
            assert engine.hide_parameters
    finally:
        store.close()
