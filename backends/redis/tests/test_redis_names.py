"""Resident-list filters on the server, in bounded steps; and the one-off name migration."""

from __future__ import annotations

import datetime as dt
import itertools
import unicodedata
from collections.abc import Sequence
from typing import Any

import pytest
from careaccess import Actor, CaseType, Clinic, connect
from careaccess.memory import MemoryStore
from careaccess.models import Approval, Grant
from careaccess.names import fold
from careaccess.store import ResidentQuery
from careaccess.testing.conformance import make_pnr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careaccess_redis import RedisStore, lua
from careaccess_redis import store as store_module
from careaccess_redis.connection import Client
from careaccess_redis.migrate import main, normalize_names
from careaccess_redis.plugin import careaccess_upgrade_store
from careaccess_redis.records import dump_record

ADMIN = Actor("admin", frozenset({"c1"}))
WHEN = dt.datetime(2025, 6, 1, 8, 0, tzinfo=dt.UTC)
NAMES = ["Åsa Öberg-Ärlig", "Per-Erik Ström", "Kajsa  ANKA\u2013Duck", None, "Zoë Ångström", "Straße"]
PEOPLE = [make_pnr(f"{1930 + 3 * n}0{1 + n % 9}1{n % 10}", 100 + n) for n in range(24)]


def _fill(store: RedisStore | MemoryStore) -> None:
    access = connect(store, clock=lambda: WHEN)
    access.put_clinic(ADMIN, Clinic("c1", "Ett"))
    access.put_case_type(ADMIN, CaseType("c1", "kbt", "KBT", restricted=True))
    access.put_case_type(ADMIN, CaseType("c1", "diet", "Dietist", restricted=True))
    for n, person in enumerate(PEOPLE):
        name = NAMES[n % len(NAMES)]
        if n % 3 != 2:
            access.approve_resident(ADMIN, "c1", person, name=name)
        if n % 2:
            access.grant_case_type(ADMIN, "c1", person, "kbt" if n % 4 == 1 else "diet", name=NAMES[(n + 1) % 6])


@pytest.fixture
def filled(single_store: RedisStore) -> RedisStore:
    _fill(single_store)
    return single_store


@pytest.fixture(scope="module")
def reference() -> MemoryStore:
    memory = MemoryStore()
    _fill(memory)
    return memory


QUERIES = st.builds(
    ResidentQuery,
    clinic_id=st.just("c1"),
    limit=st.integers(1, 30),
    after=st.none() | st.sampled_from([p.digits for p in PEOPLE]),
    digit_prefixes=st.lists(st.sampled_from(["19", "1930", "1944", "195", "20", "19790", "1"]), max_size=3).map(tuple),
    digit_suffix=st.none() | st.sampled_from([p.digits[-4:] for p in PEOPLE[:6]] + ["0", "99999"]),
    name_contains=st.none() | st.sampled_from(["", "a", "per erik", "öberg ärlig", "strasse", "ström", "nobody"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=QUERIES, budget=st.sampled_from([1, 2, 3, 7, 2000]))
def test_filters_match_the_reference_store_whatever_the_budget(
    filled: RedisStore, reference: MemoryStore, monkeypatch: pytest.MonkeyPatch, query: ResidentQuery, budget: int
) -> None:
    # A small budget makes every query resume many times, across prefix ranges too.
    with monkeypatch.context() as patch:
        patch.setattr(store_module, "NAME_SEARCH_BUDGET", budget)
        patch.setattr(store_module, "INDEXED_NAME_BUDGET", budget)
        assert filled.list_residents(query) == reference.list_residents(query)


def _legacy_resident(store: RedisStore, approval: Approval, *grants: Grant) -> None:
    """Write a resident as earlier versions did: names as given, no folded forms."""
    keys = store.keys.of(approval.clinic_id)
    fields: dict[Any, Any] = {"a": dump_record(approval)} | {f"g:{g.case_type_id}": dump_record(g) for g in grants}
    store.client.hset(keys.resident(approval.pnr.digits), mapping=fields)
    store.client.zadd(keys.residents, {approval.pnr.digits: 0})


def test_the_name_migration_normalizes_and_folds_existing_names(any_store: RedisStore) -> None:
    connect(any_store).put_clinic(ADMIN, Clinic("c1", "Ett"))
    decomposed = unicodedata.normalize("NFD", "Åsa Öberg")
    asa, per, anon = PEOPLE[:3]
    _legacy_resident(
        any_store,
        Approval("c1", asa, decomposed, WHEN, "old"),
        Grant("c1", asa, "kbt", None, 1, WHEN, "old", WHEN, decomposed),
    )
    _legacy_resident(any_store, Approval("c1", per, "Per-Erik", WHEN, "old"))
    _legacy_resident(any_store, Approval("c1", anon, None, WHEN, "old"))

    def found(text: str) -> list[str]:
        return [r.pnr.digits for r in any_store.list_residents(ResidentQuery("c1", 10, name_contains=fold(text)))]

    assert found("åsa") == []  # not searchable before the migration
    assert normalize_names(any_store) == 3  # two names of Åsa, one of Per-Erik; no name: nothing to do
    assert found("åsa") == [asa.digits]
    assert found("ÅSA ÖBERG") == [asa.digits]
    assert found("per erik") == [per.digits]
    access = any_store.get_resident_access("c1", asa.digits)
    assert access is not None
    assert access.approval is not None
    assert access.approval.name == "Åsa Öberg"
    assert unicodedata.is_normalized("NFC", access.approval.name)
    assert [g.name for g in access.grants] == ["Åsa Öberg"]
    assert normalize_names(any_store) == 0  # idempotent


def test_the_migration_command_runs(single_store: RedisStore, capsys: pytest.CaptureFixture[str]) -> None:
    connect(single_store).put_clinic(ADMIN, Clinic("c1", "Ett"))
    _legacy_resident(single_store, Approval("c1", PEOPLE[0], "Ann", WHEN, "old"))
    keys = single_store.keys.of("c1")
    single_store.client.delete(keys.names_ready)  # as a version without the name index left it
    url = single_store.client.get_connection_kwargs()
    main([f"redis://{url['host']}:{url['port']}/{url.get('db', 0)}?prefix={single_store.keys.prefix}"])
    assert capsys.readouterr().out == "1 record rewritten\n1 clinic indexed for the name search\n"
    assert single_store.client.zrange(keys.names, 0, -1) == [f"{PEOPLE[0].digits}\x1fa\x1fann"]
    assert [r.pnr for r in single_store.list_residents(ResidentQuery("c1", 10, name_contains="an"))] == [PEOPLE[0]]


@pytest.mark.parametrize("indexed", [True, False])
def test_a_search_holds_the_server_a_bounded_while(
    single_store: RedisStore, monkeypatch: pytest.MonkeyPatch, indexed: bool
) -> None:
    # 280 residents of one name each, none matching: with a budget of 50 residents (or
    # names zset members) the search takes six calls, on the names zset or without it.
    access = connect(single_store)
    access.put_clinic(ADMIN, Clinic("c1", "Ett"))
    people = [make_pnr("19500101", n) for n in range(100, 380)]
    access.import_residents(ADMIN, "c1", [Approval("c1", p, "Namn", WHEN, "x") for p in people])
    if not indexed:
        single_store.client.delete(single_store.keys.of("c1").names_ready)
    calls = itertools.count()
    page = lua.PAGE
    monkeypatch.setattr(store_module, "NAME_SEARCH_BUDGET", 50)
    monkeypatch.setattr(store_module, "INDEXED_NAME_BUDGET", 50)

    class Counting:
        def __call__(self, client: Client, keys: Sequence[str], args: Sequence[str | int]) -> Any:
            next(calls)
            return page(client, keys, args)

    monkeypatch.setattr(lua, "PAGE", Counting())
    assert single_store.list_residents(ResidentQuery("c1", 10, name_contains="nobody")) == []
    assert next(calls) == 6


def test_the_name_migration_replaces_an_outdated_folded_name_in_the_name_index(single_store: RedisStore) -> None:
    # A folded name from an earlier fold (dashes kept) and its names zset member, in a ready clinic.
    connect(single_store).put_clinic(ADMIN, Clinic("c1", "Ett"))
    _legacy_resident(single_store, Approval("c1", PEOPLE[0], "Per-Erik", WHEN, "old"))
    keys = single_store.keys.of("c1")
    single_store.client.hset(keys.resident(PEOPLE[0].digits), "n", "per-erik")
    single_store.client.zadd(keys.names, {f"{PEOPLE[0].digits}\x1fa\x1fper-erik": 0})
    assert normalize_names(single_store) == 1
    assert single_store.client.zrange(keys.names, 0, -1) == [f"{PEOPLE[0].digits}\x1fa\x1fper erik"]
    assert single_store.list_residents(ResidentQuery("c1", 10, name_contains="-")) == []


def test_the_upgrade_hook_makes_older_names_searchable_and_then_does_nothing(single_store: RedisStore) -> None:
    """``careaccess db upgrade`` alone brings names stored before folding into the search (and its index)."""
    connect(single_store).put_clinic(ADMIN, Clinic("c1", "Ett"))
    _legacy_resident(single_store, Approval("c1", PEOPLE[0], "Ängström", WHEN, "old"))
    keys = single_store.keys.of("c1")
    single_store.client.delete(keys.names_ready)  # as a version without the name index left it
    assert single_store.name_index_pending()
    kwargs = single_store.client.get_connection_kwargs()
    url = f"redis://{kwargs['host']}:{kwargs['port']}/{kwargs.get('db', 0)}?prefix={single_store.keys.prefix}"

    said = careaccess_upgrade_store(url)

    assert said is not None
    assert said.endswith("; 1 name rewritten; 1 clinic indexed for the name search")
    assert not single_store.name_index_pending()
    query = ResidentQuery("c1", 10, name_contains=fold("ÄNGSTRÖM"))
    assert [r.pnr for r in single_store.list_residents(query)] == [PEOPLE[0]]
    assert careaccess_upgrade_store(url) == (
        "redis stores have no schema; scripts loaded; 0 clinics indexed for the resident's side; "
        "0 names rewritten; 0 clinics indexed for the name search"
    )
