"""Bulk import on SQL: a fixed number of statements per batch, lost races and dead connections."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import careaccess
import pytest
import sqlalchemy as sa
from careaccess import Action, Actor, Approval, CareAccess, CaseType, Clinic, Conflict, Grant, StoreUnavailable
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import make_pnr

from careaccess_sql import SqlStore
from sql_support import Server

ADMIN = Actor("admin", frozenset({"c1"}))
START = dt.datetime(2026, 1, 15, 8, 30, tzinfo=dt.UTC)
WHEN = dt.datetime(2024, 3, 1, 9, 15, 0, 250000, tzinfo=dt.UTC)


def _records(count: int) -> tuple[list[Approval], list[Grant]]:
    """*count* residents, each approved and granted the restricted case type."""
    born = [dt.date(1940, 1, 1) + dt.timedelta(days=i // 500) for i in range(count)]
    people = [make_pnr(day.strftime("%Y%m%d"), 100 + i % 500) for i, day in enumerate(born)]
    approvals = [Approval("c1", p, f"Invånare {i}", WHEN, "legacy") for i, p in enumerate(people)]
    grants = [Grant("c1", p, "restr", dt.date(2027, 1, 1), 2, WHEN, "legacy", WHEN) for p in people]
    return approvals, grants


def _world(store: SqlStore) -> CareAccess:
    access = careaccess.connect(store, clock=FrozenClock(START))
    access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
    access.put_case_type(ADMIN, CaseType("c1", "restr", "Begränsad", restricted=True))
    return access


def _count(store: SqlStore, table: sa.Table) -> int:
    with store.read_engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _counts(store: SqlStore) -> tuple[int, int, int]:
    t = store.tables
    return _count(store, t.approvals), _count(store, t.grants), _count(store, t.events)


def _on_statement(store: SqlStore, starts: str, action: Callable[[Any], None]) -> None:
    """Run *action* (given the SQLAlchemy connection) before each write statement starting with *starts*."""

    def before(connection: Any, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().startswith(starts):
            action(connection)

    sa.event.listen(store.engine, "before_cursor_execute", before)


@pytest.fixture
def server_store(server: Server) -> Iterator[SqlStore]:
    """A store on a PostgreSQL or MariaDB server (see the ``server`` fixture)."""
    store = SqlStore.open(server.url, create=True)
    yield store
    store.close()


def test_an_import_takes_the_same_statements_whatever_its_size(store: SqlStore) -> None:
    access = _world(store)
    seen: list[str] = []
    sa.event.listen(store.engine, "before_cursor_execute", lambda _c, _k, statement, *_a: seen.append(statement))
    small = _records(4)
    access.import_residents(ADMIN, "c1", small[0][:2], small[1][:2])
    few = list(seen)
    seen.clear()
    large = _records(2000)
    events = access.import_residents(ADMIN, "c1", large[0][2:], large[1][2:])
    assert seen == few
    statements = [s for s in seen if not s.startswith("BEGIN")]
    # clinic, case types, two key checks, two inserts, event ids, events, the names' trigrams
    assert len(statements) == 9
    assert [int(e.id) for e in events] == list(range(int(events[0].id), int(events[0].id) + 3996))
    assert _counts(store) == (2000, 2000, 2 + 4 + 3996)
    # The counter goes on after the block: the next change takes the next id.
    approved = access.approve_resident(ADMIN, "c1", make_pnr("19991231", 999))
    assert approved is not None
    assert [e.id for e in access.events(after=events[-1].id)] == [f"{int(events[-1].id) + 1:016d}"]


def test_an_apply_that_inserts_a_key_first_wins(server_store: SqlStore) -> None:
    # The grant is inserted and committed after the import checked its keys and before
    # its own insert: the import's insert fails on the key, it runs again and reports.
    access = _world(server_store)
    approvals, grants = _records(50)
    racing = False

    def grant_first(_connection: object) -> None:
        nonlocal racing
        if not racing:
            racing = True
            access.grant_case_type(ADMIN, "c1", grants[30].pnr, "restr")

    _on_statement(server_store, "INSERT INTO grants", grant_first)
    with pytest.raises(Conflict) as raised:
        access.import_residents(ADMIN, "c1", approvals, grants)
    assert raised.value.code == "grant_exists"
    assert racing
    assert _counts(server_store) == (0, 1, 3)
    assert access.events(limit=10)[-1].action is Action.CASE_TYPE_GRANTED
    assert access.resident_access(ADMIN, "c1", grants[30].pnr).grants[0].granted_by == ADMIN.id


def test_an_import_that_inserts_a_key_first_wins(server_store: SqlStore, server: Server) -> None:
    # A racing grant waits on the import's uncommitted row (PostgreSQL: at its insert,
    # after finding the key absent; MariaDB: at its locking read of the key); once the
    # import commits, the grant fails on the key or finds it, and reports the conflict.
    access = _world(server_store)
    approvals, grants = _records(50)
    outcome: list[BaseException | None] = []

    def grant() -> None:
        try:
            access.grant_case_type(ADMIN, "c1", grants[7].pnr, "restr")
            outcome.append(None)
        except Conflict as error:
            outcome.append(error)

    racer = threading.Thread(target=grant)

    def grant_while_importing(_connection: object) -> None:
        if racer.is_alive() or outcome:
            return
        racer.start()
        deadline = time.monotonic() + 10
        while server.lock_waiters() == 0:
            assert time.monotonic() < deadline, "the racing grant never waited on the import's row"
            time.sleep(0.2)  # MariaDB refreshes its lock tables only when not read for 0.1 s

    _on_statement(server_store, "UPDATE event_counter", grant_while_importing)
    events = access.import_residents(ADMIN, "c1", approvals, grants)
    racer.join(timeout=10)
    assert len(events) == 100
    assert len(outcome) == 1
    assert isinstance(outcome[0], Conflict)
    assert outcome[0].code == "grant_exists"
    assert _counts(server_store) == (50, 50, 102)
    assert access.resident_access(ADMIN, "c1", grants[7].pnr).grants == (grants[7],)


def _kill(server: Server) -> Callable[[Any], None]:
    def kill(connection: Any) -> None:
        server.kill(server.connection_id(connection))

    return kill


def test_a_connection_killed_mid_import_is_replaced_once(server_store: SqlStore, server: Server) -> None:
    access = _world(server_store)
    approvals, grants = _records(300)
    kills = 0

    def kill_once(connection: Any) -> None:
        nonlocal kills
        if kills == 0:
            kills += 1
            _kill(server)(connection)

    _on_statement(server_store, "INSERT INTO events", kill_once)
    events = access.import_residents(ADMIN, "c1", approvals, grants)
    assert kills == 1
    assert access.events(limit=1000)[2:] == events
    assert _counts(server_store) == (300, 300, 602)


def test_a_connection_killed_on_every_try_leaves_nothing(server_store: SqlStore, server: Server) -> None:
    access = _world(server_store)
    approvals, grants = _records(300)
    _on_statement(server_store, "INSERT INTO events", _kill(server))
    with pytest.raises(StoreUnavailable):
        access.import_residents(ADMIN, "c1", approvals, grants)
    assert _counts(server_store) == (0, 0, 2)


def test_a_connection_killed_before_commit_leaves_nothing(server_store: SqlStore, server: Server) -> None:
    access = _world(server_store)
    approvals, grants = _records(300)
    kill = _kill(server)
    armed = True

    def kill_at_commit(connection: Any) -> None:
        nonlocal armed
        if armed:
            armed = False
            kill(connection)

    sa.event.listen(server_store.engine, "commit", kill_at_commit)
    with pytest.raises(StoreUnavailable):
        access.import_residents(ADMIN, "c1", approvals, grants)
    assert _counts(server_store) == (0, 0, 2)
    # Ids taken by the lost transaction were never committed: the feed has no gap.
    access.approve_resident(ADMIN, "c1", approvals[0].pnr)
    assert [e.id for e in access.events(limit=10)] == [f"{n:016d}" for n in (1, 2, 3)]
