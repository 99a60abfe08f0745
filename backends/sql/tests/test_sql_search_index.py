"""The resident list's search indexes: name trigrams and last digits answer as the scan does.

The trigram rows must be exactly those of the names stored (checked after every kind of
write), searches by name and by last digits must agree with the memory store, pages and
cursors included, and on SQLite each must seek its index rather than walk the clinic.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
import sqlalchemy as sa
from careaccess import Action, Approval, CaseType, Clinic, Grant
from careaccess.memory import MemoryStore
from careaccess.names import fold
from careaccess.store import (
    ApprovalKey,
    Changeset,
    ClinicKey,
    Delete,
    EventDraft,
    GrantKey,
    MustBeAbsent,
    Put,
    ResidentQuery,
    Store,
)
from careaccess.testing.conformance import make_pnr

from careaccess_sql import SqlStore, head_revision
from careaccess_sql.searchindex import gram_rows, name_grams, records_of, sorted_gram_rows

AT = dt.datetime(2026, 1, 15, 8, 30, tzinfo=dt.UTC)
NAMES = [
    "Anna Berg",
    "Anna Bergström",
    "ANNA-LENA BERG",
    "Bo",
    "Ek",
    "Åsa Öberg\u2013Ärlig",  # an en dash separates like a space
    "Zoë Ångström",
    "A\u030asa Berg",  # decomposed Å
    "Straße",
    "李小龍",
    "😀 Emoji Smile",
    "100% Under_score \\ Back",
    "anna  berg",
    None,
]
NEEDLES = [
    "a",
    "an",
    "ann",
    "anna",
    "anna berg",
    "berg",
    "erg",
    "ergs",
    "åsa",
    "öberg ärlig",
    "ss",
    "strasse",
    "小龍",
    "😀 e",
    "100%",
    "0% u",
    "r_s",
    "under_",
    "\\ b",
    "%",
    "_",
    "nobody here",
    "a b",
]


def _event(clinic_id: str) -> EventDraft:
    return EventDraft(AT, "admin", Action.RESIDENT_APPROVED, clinic_id)


def _apply(stores: list[Store], clinic_id: str, *writes: Put | Delete, absent: bool = False) -> None:
    preconditions = tuple(
        MustBeAbsent(ApprovalKey(w.record.clinic_id, w.record.pnr.digits))
        for w in writes
        if absent and isinstance(w, Put) and isinstance(w.record, Approval)
    )
    for store in stores:
        store.apply(Changeset(clinic_id, preconditions, tuple(writes), (_event(clinic_id),)))


def _approval(clinic_id: str, number: int, name: str | None) -> Approval:
    return Approval(clinic_id, make_pnr("19700101", number), name, AT, "admin")


def _grant(clinic_id: str, number: int, case_type_id: str, name: str | None) -> Grant:
    return Grant(clinic_id, make_pnr("19700101", number), case_type_id, None, 1, AT, "admin", AT, name)


def _expected_grams(store: SqlStore) -> set[tuple[str, str, str, str]]:
    a, g = store.tables.approvals, store.tables.grants
    with store.engine.connect() as connection:
        stored = list(connection.execute(sa.select(a.c.clinic_id, a.c.pnr, sa.null(), a.c.name_folded)))
        stored += connection.execute(sa.select(g.c.clinic_id, g.c.pnr, g.c.case_type_id, g.c.name_folded)).all()
    return {(r["clinic_id"], r["gram"], r["pnr"], r["case_type_id"]) for r in records_of(stored)}


def _grams(store: SqlStore) -> set[tuple[str, str, str, str]]:
    with store.engine.connect() as connection:
        return {(row[0], row[1], row[2], row[3]) for row in connection.execute(sa.select(store.tables.name_grams))}


def _agree(store: SqlStore, memory: MemoryStore, clinic_id: str) -> None:
    assert _grams(store) == _expected_grams(store)
    everyone = [r.pnr.digits for r in memory.list_residents(ResidentQuery(clinic_id, 1000))]
    for needle in NEEDLES:
        for limit in (1, 2, 50):
            query = ResidentQuery(clinic_id, limit, name_contains=needle)
            assert store.list_residents(query) == memory.list_residents(query), (needle, limit)
            for after in everyone[::3]:
                query = ResidentQuery(clinic_id, limit, after=after, name_contains=needle)
                assert store.list_residents(query) == memory.list_residents(query), (needle, limit, after)
    for digits in everyone[::2]:
        for suffix in (digits[-4:], digits[-5:], digits[-3:], digits[-1:], digits, "0" + digits, "9999"):
            for limit in (1, 50):
                query = ResidentQuery(clinic_id, limit, digit_suffix=suffix)
                assert store.list_residents(query) == memory.list_residents(query), (suffix, limit)
                both = ResidentQuery(clinic_id, limit, digit_suffix=suffix, name_contains="ann")
                assert store.list_residents(both) == memory.list_residents(both), (suffix, limit)


def test_sorted_gram_rows_are_the_gram_rows_in_key_order() -> None:
    records = [
        ("k2", "197001010008", "", fold("Åsa Öberg")),
        ("k1", "197001010016", "kbt", fold("Anna-Anna")),
        ("k1", "197001010016", "", fold("Anna-Anna")),
        ("k1", "197001010008", "kbt", "😀 e😀😀"),
        ("k1", "197001010024", "diabetes", "ab"),
        ("k10", "197001010008", "", None),
        ("k1", "197001010008", "", fold("Anna Andersson")),
    ]
    expected = [
        (row["clinic_id"], row["gram"], row["pnr"], row["case_type_id"]) for r in records for row in gram_rows(*r)
    ]
    rows = sorted_gram_rows(records)
    assert rows == sorted(expected)
    assert len(rows) == len(set(rows)) == 7 + 5 + 5 + 3 + 12
    assert sorted_gram_rows([]) == []
    with pytest.raises(ValueError, match="12 canonical digits"):
        sorted_gram_rows([("k1", "7001010008", "", "anna")])


def test_name_grams_are_the_distinct_trigrams_of_the_folded_name() -> None:
    assert name_grams(fold("Anna-Anna")) == {"ann", "nna", "na ", "a a", " an"}
    assert name_grams("ab") == set()
    assert name_grams(None) == set()
    assert name_grams("😀 e") == {"😀 e"}


def test_every_write_keeps_the_trigrams_those_of_the_names_and_searches_agree(store: SqlStore) -> None:
    memory = MemoryStore()
    stores: list[Store] = [store, memory]
    rng = random.Random(17)
    _apply(stores, "c1", Put(Clinic("c1", "Vårdcentralen")))
    _apply(stores, "c2", Put(Clinic("c2", "Andra")))
    for case_type in ("kbt", "x"):
        _apply(stores, "c1", Put(CaseType("c1", case_type, case_type.upper(), restricted=True)))
    # New residents, one by one and (checked absent) many at once.
    for number in range(1, 15):
        _apply(stores, "c1", Put(_approval("c1", number, NAMES[number % len(NAMES)])))
    many = [Put(_approval("c1", number, rng.choice(NAMES))) for number in range(15, 30)]
    _apply(stores, "c1", *many, absent=True)
    _apply(stores, "c2", *(Put(_approval("c2", n, "Anna Berg")) for n in range(1, 5)))
    # Grants with names of their own, some for residents without an approval.
    for number in range(10, 40, 3):
        _apply(stores, "c1", Put(_grant("c1", number, "kbt", rng.choice(NAMES))))
    _apply(stores, "c1", *(Put(_grant("c1", n, "x", rng.choice(NAMES))) for n in range(20, 26)))
    _agree(store, memory, "c1")
    # Names replaced in place, records deleted, a record written twice in one change.
    _apply(stores, "c1", Put(_approval("c1", 1, "Helt Annat Namn")), Put(_grant("c1", 10, "kbt", None)))
    _apply(stores, "c1", Delete(ApprovalKey("c1", make_pnr("19700101", 2).digits)))
    _apply(stores, "c1", *(Delete(GrantKey("c1", make_pnr("19700101", n).digits, "x")) for n in range(20, 24)))
    _apply(stores, "c1", Put(_approval("c1", 3, "Först")), Put(_approval("c1", 3, "Sedan Anna")))
    _apply(stores, "c1", Put(_approval("c1", 4, "Borta")), Delete(ApprovalKey("c1", make_pnr("19700101", 4).digits)))
    _agree(store, memory, "c1")
    _agree(store, memory, "c2")
    _apply(stores, "c2", Delete(ClinicKey("c2")))
    assert all(row[0] != "c2" for row in _grams(store))
    _agree(store, memory, "c1")


def test_search_indexes_are_rebuilt_by_the_migration(store: SqlStore) -> None:
    memory = MemoryStore()
    _apply([store, memory], "c1", Put(Clinic("c1", "Vårdcentralen")))
    _apply([store, memory], "c1", Put(CaseType("c1", "kbt", "KBT", restricted=True)))
    _apply([store, memory], "c1", *(Put(_approval("c1", n, NAMES[n % len(NAMES)])) for n in range(1, 20)))
    _apply([store, memory], "c1", *(Put(_grant("c1", n, "kbt", NAMES[-n % len(NAMES)])) for n in range(15, 25)))
    before = _grams(store)
    assert store.downgrade("0003") == (head_revision(), "0003")
    with store.engine.connect() as connection:
        assert f"{store.options.prefix}name_grams" not in sa.inspect(connection).get_table_names()
    assert store.upgrade() == ("0003", head_revision())
    assert _grams(store) == before == _expected_grams(store)
    with store.engine.connect() as connection:
        for table in (store.tables.approvals, store.tables.grants):
            tails = connection.execute(sa.select(table.c.pnr, table.c.pnr_tail)).all()
            assert tails
            assert all(tail == pnr[-4:] for pnr, tail in tails)
    _agree(store, memory, "c1")


def _plan_of(store: SqlStore, query: ResidentQuery) -> list[str]:
    seen: list[tuple[str, object]] = []

    def record(_conn: object, _cursor: object, statement: str, parameters: object, *_args: object) -> None:
        seen.append((statement, parameters))

    sa.event.listen(store.read_engine, "before_cursor_execute", record)
    store.list_residents(query)
    sa.event.remove(store.read_engine, "before_cursor_execute", record)
    statement, parameters = seen[-1]
    with store.read_engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)  # type: ignore[arg-type]
        return [row[3] for row in rows]


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (ResidentQuery("c1", 10, name_contains="anna berg"), "name_grams"),
        (ResidentQuery("c1", 10, digit_suffix="1234"), "tail_idx"),
        (ResidentQuery("c1", 10, digit_suffix="011234"), "tail_idx"),
    ],
)
def test_a_name_or_last_digits_search_seeks_its_index(tmp_path: Path, query: ResidentQuery, index: str) -> None:
    """SQLite: neither search walks the clinic's approvals or grants."""
    store = SqlStore.open(f"sqlite:///{tmp_path / 'care.db'}", create=True)
    try:
        _apply([store], "c1", Put(Clinic("c1", "Vårdcentralen")))
        _apply([store], "c1", *(Put(_approval("c1", n, "Anna Berg")) for n in range(1, 5)))
        plan = _plan_of(store, query)
    finally:
        store.close()
    assert any(step.startswith("SEARCH") and index in step for step in plan), plan
    assert not any(step.startswith("SCAN") and ("approvals" in step or "grants" in step) for step in plan), plan
