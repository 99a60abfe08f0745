"""The decisions' reads: the packed FACTS call, the connection kept aside for it, and FACTS_MANY."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator
from typing import Any, cast

import pytest
from careaccess import Actor, CaseType, Clinic, Reason, connect
from careaccess.store import DecisionFacts, FactsRequest
from careaccess.testing.conformance import make_pnr
from redis import Redis
from redis.connection import Connection

from careaccess_redis import RedisStore, facts, lua, scripting
from careaccess_redis.scripting import execute
from conftest import delete_prefix, fresh_prefix
from redis_servers import RedisServer

ODD = ("c1", "{odd}%clinic", "å/ä:ö", "}")
ADMIN = Actor("admin", frozenset(ODD))
APPROVED = make_pnr("19800314", 242)
STRANGER = make_pnr("19800314", 250)


def _world(store: RedisStore, clinic: str) -> None:
    access = connect(store)
    access.put_clinic(ADMIN, Clinic(clinic, "Vårdcentralen"))
    access.put_case_type(ADMIN, CaseType(clinic, "öppen-å", "Öppen"))
    access.put_case_type(ADMIN, CaseType(clinic, "kbt", "KBT", restricted=True))
    access.approve_resident(ADMIN, clinic, APPROVED, name="Åsa")
    access.grant_case_type(ADMIN, clinic, APPROVED, "kbt")


def _through_the_client(store: RedisStore, request: FactsRequest) -> DecisionFacts:
    call = facts.facts_call(store.keys, request)
    return facts.decode_facts(request, call.script(store.client, call.keys, call.args))


@pytest.fixture
def odd_prefix_store(single_url: str) -> Iterator[RedisStore]:
    """A store under a prefix with characters UTF-8 spends several bytes on."""
    prefix = "å-" + fresh_prefix()
    store = RedisStore(Redis.from_url(single_url, decode_responses=True), prefix=prefix)
    try:
        yield store
    finally:
        try:
            delete_prefix(store.client, prefix)
        finally:
            store.close()


@pytest.mark.parametrize("kind", ["single", "cluster", "odd_prefix"])
def test_every_way_of_reading_facts_agrees(kind: str, request: pytest.FixtureRequest) -> None:
    store: RedisStore = request.getfixturevalue(f"{kind}_store")
    for clinic in ODD:
        _world(store, clinic)
    asked = [
        FactsRequest(person.digits, clinic, case_type, person)
        for clinic in (*ODD, "missing")
        for case_type in ("öppen-å", "kbt", "none")
        for person in (APPROVED, STRANGER)
    ]
    single = [store.load_facts(r) for r in asked]
    assert single == [_through_the_client(store, r) for r in asked]
    assert store.load_facts_many(asked) == single
    assert single[ODD.index("å/ä:ö") * 6 + 2].grant is not None  # ("å/ä:ö", "kbt", APPROVED)
    assert single[-1] == DecisionFacts(None, None, None, None)


def test_decisions_from_many_threads_are_each_their_own(single_store: RedisStore) -> None:
    _world(single_store, "c1")
    access = connect(single_store)
    wrong: list[object] = []

    def decide() -> None:
        for n in range(150):
            person, expected = (APPROVED, Reason.GRANTED) if n % 2 else (STRANGER, Reason.NOT_GRANTED)
            decision = access.decide(person, "c1", "kbt")
            if decision.reason is not expected or decision.pnr != person:
                wrong.append(decision)

    threads = [threading.Thread(target=decide) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_the_connection_kept_aside_comes_back_after_a_close_and_a_kill(private_server: RedisServer) -> None:
    store = RedisStore.from_url(f"{private_server.url}?prefix=aside:")
    try:
        _world(store, "c1")
        access = connect(store)
        assert access.decide(APPROVED, "c1", "kbt").reason is Reason.GRANTED
        assert isinstance(getattr(cast(Redis, store.client).connection_pool, scripting._ATTRIBUTE), scripting._Reserved)
        cast(Redis, store.client).close()  # the pool closes every connection, the one kept aside too
        assert access.decide(APPROVED, "c1", "kbt").reason is Reason.GRANTED
        killer = Redis(port=private_server.port)
        try:
            execute(killer, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        finally:
            killer.close()
        for _ in range(3):
            assert access.decide(APPROVED, "c1", "kbt").reason is Reason.GRANTED
            assert access.decide(STRANGER, "c1", "kbt").reason is Reason.NOT_GRANTED
    finally:
        store.close()


def test_a_capped_pool_keeps_no_connection_aside(single_url: str) -> None:
    prefix = fresh_prefix()
    store = RedisStore(Redis.from_url(single_url, decode_responses=True, max_connections=2), prefix=prefix)
    try:
        _world(store, "c1")
        assert connect(store).decide(APPROVED, "c1", "kbt").reason is Reason.GRANTED
        assert getattr(cast(Redis, store.client).connection_pool, scripting._ATTRIBUTE) is False
    finally:
        try:
            delete_prefix(store.client, prefix)
        finally:
            store.close()


def test_a_store_dropped_without_closing_lets_its_pool_go(single_url: str) -> None:
    # The connection kept aside lives on its pool: nothing global holds the pool (or its
    # sockets) once the store and its client are gone.
    prefix = fresh_prefix()
    store = RedisStore.from_url(f"{single_url}?prefix={prefix}")
    try:
        _world(store, "c1")
        assert connect(store).decide(APPROVED, "c1", "kbt").reason is Reason.GRANTED
        pool = weakref.ref(cast(Redis, store.client).connection_pool)
        assert isinstance(getattr(pool(), scripting._ATTRIBUTE), scripting._Reserved)
    finally:
        delete_prefix(store.client, prefix)
    del store
    gc.collect()
    assert pool() is None


@pytest.mark.parametrize(("clinic_key", "case_type_id"), [("p:{c1}:clinic", "kbt"), ("å-p:{vård}:clinic", "Ärende 1")])
def test_the_packed_facts_call_is_what_redis_py_would_send(clinic_key: str, case_type_id: str) -> None:
    digits = "191212121212"
    ours = facts._facts_head(clinic_key, case_type_id) + digits.encode() + b"\r\n"
    packer: Any = Connection  # redis-py leaves it untyped
    theirs = packer().pack_command("EVALSHA", lua.FACTS.sha, 1, clinic_key, case_type_id, digits)
    assert ours == b"".join(theirs)
