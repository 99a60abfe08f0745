"""The resident list's digit-prefix search: exact at the edges of its ranges, and a seek of the key."""

from __future__ import annotations

import datetime as dt

import careaccess
import pytest
import sqlalchemy as sa
from careaccess import Actor, Clinic
from careaccess.memory import MemoryStore
from careaccess.store import ResidentQuery, Store
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import make_pnr

from careaccess_sql import SqlStore
from careaccess_sql.statements import prefix_range

ADMIN = Actor("admin", frozenset({"c1"}))
START = dt.datetime(2026, 1, 15, 8, 30, tzinfo=dt.UTC)
# Numbers on both sides of digit carries (…09/…10, …99/20…) and from three centuries.
PEOPLE = [
    make_pnr("18991231", 2),
    make_pnr("19090909", 9),
    make_pnr("19091010", 10),
    make_pnr("19191109", 99),
    make_pnr("19991231", 999),
    make_pnr("20000101", 1),
    make_pnr("20091209", 909),
    make_pnr("20120101", 100),
]


def _fill(store: Store) -> None:
    access = careaccess.connect(store, clock=FrozenClock(START))
    access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
    for person in PEOPLE:
        access.approve_resident(ADMIN, "c1", person, name=f"Namn {person.digits[-4:]}")


def test_prefix_range_holds_exactly_the_values_starting_with_the_prefix() -> None:
    values = [p.digits for p in PEOPLE] + ["", "1", "19", "199", "2", "9" * 12, "\U0010ffff"]
    for prefix in ["", "1", "19", "1999", "9", "99", "2012010110000", "%", "\U0010ffff", "1\U0010ffff"]:
        low, high = prefix_range(prefix)
        assert [v for v in values if low <= v <= high] == [v for v in values if v.startswith(prefix)], prefix


@pytest.mark.parametrize(
    "prefixes",
    [
        ("",),
        ("1",),
        ("19",),
        ("1909",),
        ("19091", "200"),
        ("1", "19"),  # overlapping: each resident once
        ("1999", "2"),
        ("9",),
        ("20120101",),
        ("2012010110000",),  # longer than any number
        ("1909%",),
        ("19_9",),
        ("\U0010ffff",),
    ],
)
def test_prefix_search_agrees_with_the_memory_store(store: SqlStore, prefixes: tuple[str, ...]) -> None:
    memory = MemoryStore()
    _fill(store)
    _fill(memory)
    for limit in (1, 3, 50):
        query = ResidentQuery("c1", limit, digit_prefixes=prefixes)
        assert store.list_residents(query) == memory.list_residents(query), (prefixes, limit)
        after = ResidentQuery("c1", limit, after=PEOPLE[2].digits, digit_prefixes=prefixes)
        assert store.list_residents(after) == memory.list_residents(after), (prefixes, limit)


def test_a_prefix_search_seeks_the_key_of_each_table(tmp_path: object) -> None:
    """SQLite: each prefix is a range of the (clinic_id, pnr) key, never a scan of the clinic."""
    store = SqlStore.open(f"sqlite:///{tmp_path}/care.db", create=True)
    _fill(store)
    seen: list[tuple[str, object]] = []

    def _record(_conn: object, _cursor: object, statement: str, parameters: object, *_args: object) -> None:
        seen.append((statement, parameters))

    sa.event.listen(store.read_engine, "before_cursor_execute", _record)
    store.list_residents(ResidentQuery("c1", 10, digit_prefixes=("1909", "2000")))
    sa.event.remove(store.read_engine, "before_cursor_execute", _record)
    [(statement, parameters)] = seen
    with store.read_engine.connect() as connection:
        plan = [row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]  # type: ignore[arg-type]
    store.close()
    seeks = [step for step in plan if step.startswith("SEARCH") and "pnr>? AND pnr<?" in step]
    assert len(seeks) == 4, plan  # two prefixes on each of the approvals and the grants
    assert not any(step.startswith("SCAN") and ("approvals" in step or "grants" in step) for step in plan), plan
