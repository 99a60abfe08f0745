"""The decision reads on the driver: pooled connections borrowed and given back, rows read into records."""

from __future__ import annotations

import datetime as dt
from typing import Any

import careaccess
import pytest
import sqlalchemy as sa
from careaccess import Actor, CaseType, Clinic
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import ServiceArea
from careaccess.serialization import converter
from careaccess.store import FactsRequest
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import make_pnr

from careaccess_sql import SqlStore
from careaccess_sql.driverquery import DriverQuery
from careaccess_sql.rows import NO_FACTS, FactsReader, facts_of, json_text, sqlite_instant_reader
from careaccess_sql.schema import UtcDateTime
from sql_support import Server, postgresql_server_url

ADMIN = Actor("admin", frozenset({"c1"}))
START = dt.datetime(2026, 1, 15, 8, 30, 0, 123456, tzinfo=dt.UTC)
PEOPLE = [make_pnr(f"19{50 + i:02d}0{1 + i % 9}2{i % 10}", 200 + i) for i in range(6)]


def _world(store: SqlStore) -> careaccess.CareAccess:
    """A clinic with an open and a restricted case type; residents approved, granted, both or neither."""
    access = careaccess.connect(store, clock=FrozenClock(START))
    access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
    access.put_case_type(ADMIN, CaseType("c1", "open", "Öppen"))
    access.put_case_type(ADMIN, CaseType("c1", "restr", "Begränsad", restricted=True))
    access.approve_resident(ADMIN, "c1", PEOPLE[0], name="Approved Only")
    access.grant_case_type(ADMIN, "c1", PEOPLE[1], "restr", dt.date(2027, 3, 1), name="Granted Only")
    access.approve_resident(ADMIN, "c1", PEOPLE[2], name="Both")
    access.grant_case_type(ADMIN, "c1", PEOPLE[2], "restr", None)
    return access


def _requests() -> list[FactsRequest]:
    asked = []
    for person in PEOPLE[:4]:
        for clinic_id, case_type_id in (("c1", "open"), ("c1", "restr"), ("c1", "nope"), ("c2", "open")):
            asked.append(FactsRequest(person.digits, clinic_id, case_type_id, person))
    # Without the parsed number, the store parses the digits itself.
    asked.append(FactsRequest(PEOPLE[2].digits, "c1", "restr"))
    return asked


def _params(request: FactsRequest) -> dict[str, Any]:
    return {"clinic_id": request.clinic_id, "case_type_id": request.case_type_id, "pnr": request.digits}


def test_the_rows_read_raw_give_the_facts_of_the_converted_rows(store: SqlStore) -> None:
    _world(store)
    asked = _requests()
    query = store.driver_queries()[0]
    for request in asked:
        row = query.first(_params(request))
        assert store.load_facts(request) == (NO_FACTS if row is None else facts_of(request, row, 0))
    facts = store.load_facts_many(asked)
    assert facts == [store.load_facts(request) for request in asked]
    both = store.load_facts(asked[-1])
    assert both.approval is not None
    assert both.grant is not None
    assert both.grant.until is None
    assert both.approval.approved_at == START
    assert both.approval.approved_at.tzinfo is dt.UTC
    assert isinstance(both.approval.pnr, PersonalIdentityNumber)


def test_a_reader_converts_whole_rows_whose_other_columns_need_it() -> None:
    processors: list[Any] = [None] * 17
    processors[0] = int  # the batch's ordinal, say
    processors[1] = str.upper  # the clinic's name: not a column the reader knows to convert
    reader = FactsReader(processors, 1)
    request = FactsRequest(PEOPLE[0].digits, "c1", "open", PEOPLE[0])
    area = json_text(converter.unstructure(ServiceArea()))
    assert area is not None
    row = ["7", "Vårdcentralen", area, *[None] * 14]
    facts = reader(request, row)
    assert facts.clinic == Clinic("c1", "VÅRDCENTRALEN")
    assert facts == facts_of(request, [7, "VÅRDCENTRALEN", area, *[None] * 14], 1)
    assert reader(request, [None] * 17) is NO_FACTS


def test_decision_reads_give_their_connection_back_and_reuse_it(store: SqlStore) -> None:
    access = _world(store)
    connects: list[object] = []
    sa.event.listen(store.read_engine, "connect", lambda connection, _record: connects.append(connection))
    pool = store.read_engine.pool
    for _ in range(5):
        access.decide(PEOPLE[2], "c1", "restr")
        access.decide_many([(PEOPLE[0], "c1", "open"), (PEOPLE[1], "c1", "restr")])
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
    assert len(connects) <= 1  # one pooled connection, borrowed again and again


def test_a_checkout_listener_sees_every_decision_read(store: SqlStore) -> None:
    access = _world(store)
    checkouts: list[object] = []
    sa.event.listen(store.read_engine, "checkout", lambda *_args: checkouts.append(1))
    access.decide(PEOPLE[2], "c1", "restr")
    access.decide_many([(PEOPLE[0], "c1", "open")])
    assert len(checkouts) == 2
    assert store.read_engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_failing_read_gives_its_connection_back_and_the_next_read_works(store: SqlStore) -> None:
    access = _world(store)
    missing = sa.table(f"{store.options.prefix}no_such_table", sa.column("x"))
    failing = DriverQuery(store.read_engine, sa.select(missing.c.x))
    with pytest.raises(store.read_engine.dialect.loaded_dbapi.Error):  # the driver's own error
        failing.first({})
    assert store.read_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert access.decide(PEOPLE[2], "c1", "restr").allowed


def test_a_connection_killed_under_a_kept_cursor_is_replaced(server: Server) -> None:
    store = SqlStore.open(server.url, create=True)
    try:
        access = _world(store)
        for _ in range(3):
            assert access.decide(PEOPLE[2], "c1", "restr").allowed  # the pooled connection keeps its cursor
        assert server.kill_all()
        for _ in range(3):
            assert access.decide(PEOPLE[2], "c1", "restr").allowed
        assert store.read_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        store.close()


@pytest.mark.parametrize(
    "stored",
    [
        "2025-01-15 09:30:00.000000",
        "2025-01-15 09:30:00.123456",
        "2025-01-15 09:30:00",
        "2025-01-15T09:30:00.5",
        "2025-01-15",
        "2025-01-15 09:30:00.000000+02:00",
        "2025-01-15 09:30:00.1+0200",
        "2025-01-15T09:30:00.123456",
        "2025-01-15 09:30:00Z",
        None,
    ],
)
def test_the_sqlite_instant_reader_reads_what_sqlalchemy_reads(stored: str | None) -> None:
    dialect = sa.create_engine("sqlite://").dialect
    processor = UtcDateTime().dialect_impl(dialect).result_processor(dialect, None)
    assert processor is not None
    fast = sqlite_instant_reader(processor)
    read = fast(stored)
    assert read == processor(stored)
    if read is not None:
        assert read.tzinfo is dt.UTC
        assert read.utcoffset() == dt.timedelta(0)


def test_an_instant_not_text_is_refused_as_sqlalchemy_refuses_it() -> None:
    dialect = sa.create_engine("sqlite://").dialect
    processor = UtcDateTime().dialect_impl(dialect).result_processor(dialect, None)
    assert processor is not None
    with pytest.raises(TypeError):
        sqlite_instant_reader(processor)(12)


def test_a_grant_changed_after_it_was_given_keeps_both_instants(store: SqlStore) -> None:
    access = careaccess.connect(store, clock=FrozenClock(START))
    access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
    access.put_case_type(ADMIN, CaseType("c1", "restr", "Begränsad", restricted=True))
    access.approve_resident(ADMIN, "c1", PEOPLE[0])
    later = careaccess.connect(store, clock=FrozenClock(START + dt.timedelta(days=3, microseconds=7)))
    later.grant_case_type(ADMIN, "c1", PEOPLE[0], "restr", dt.date(2027, 1, 1))
    last = careaccess.connect(store, clock=FrozenClock(START + dt.timedelta(days=9)))
    last.change_grant(ADMIN, "c1", PEOPLE[0], "restr", dt.date(2028, 1, 1))
    request = FactsRequest(PEOPLE[0].digits, "c1", "restr", PEOPLE[0])
    facts = store.load_facts(request)
    assert facts.approval is not None
    assert facts.grant is not None
    assert facts.approval.approved_at == START
    assert facts.grant.changed_at == START + dt.timedelta(days=9)
    assert facts.grant.granted_at == START + dt.timedelta(days=3, microseconds=7)
    assert facts.grant.version == 2
    row = store.driver_queries()[0].first(_params(request))
    assert row is not None
    assert facts == facts_of(request, row, 0)
    assert store.load_facts_many([request]) == [facts]


def test_a_static_pool_without_a_lock_shares_no_kept_cursor_between_threads() -> None:
    # A StaticPool hands its one connection to every thread: a cursor kept on it would let
    # one thread's fetch read another's row, so reads there take a cursor of their own.
    engine = sa.create_engine(postgresql_server_url(), poolclass=sa.pool.StaticPool, isolation_level="AUTOCOMMIT")
    try:
        query = DriverQuery(engine, sa.select(sa.literal_column("1")), binary=True)
        assert query.first({}) == (1,)
        with engine.connect() as connection:
            kept = [key for key in connection.connection.info if isinstance(key, tuple)]
        assert kept == []
    finally:
        engine.dispose()
