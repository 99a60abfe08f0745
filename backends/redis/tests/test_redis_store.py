"""What the Redis store promises beyond the conformance suite."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import attrs
import careaccess
import pytest
from careaccess import (
    Action,
    Actor,
    Approval,
    CaseType,
    Clinic,
    Grant,
    InvalidRequest,
    Reason,
    StoreUnavailable,
    connect,
    converter,
)
from careaccess.store import (
    MAX_VERSION,
    Changeset,
    EventDraft,
    FactsRequest,
    GrantKey,
    MustHaveVersion,
    Put,
    ResidentQuery,
)
from careaccess.testing.conformance import make_pnr
from hypothesis import given
from hypothesis import strategies as st
from redis import Redis
from redis.cluster import RedisCluster
from redis.crc import key_slot

from careaccess_redis import KeySchema, RedisStore, lua, scripting
from careaccess_redis.feed import event_id, parse_event_id
from careaccess_redis.keys import hash_tag
from careaccess_redis.plan import plan_changeset
from careaccess_redis.plugin import careaccess_open_store, careaccess_store_schemes, careaccess_upgrade_store
from careaccess_redis.records import approval_from, dump_record, dump_through_converter, grant_from
from careaccess_redis.store import split_url
from conftest import delete_prefix, fresh_prefix
from redis_servers import RedisServer, free_port, redis_server_binary

# isort: split
# After hypothesis: importing hypothesis first loads this module through its entry point.
from careaccess.testing.strategies import approvals, grants

ADMIN = Actor("admin", frozenset({"c1", "c2", "{odd}%clinic", "å/ä:ö", "}"}))
PERSON = make_pnr("19800314", 242)
WHEN = dt.datetime(2025, 6, 1, 8, 0, tzinfo=dt.UTC)


def _world(store: RedisStore, clinic: str = "c1") -> careaccess.CareAccess:
    access = connect(store)
    access.put_clinic(ADMIN, Clinic(clinic, "Vårdcentralen"))
    access.put_case_type(ADMIN, CaseType(clinic, "open", "Öppen"))
    access.put_case_type(ADMIN, CaseType(clinic, "kbt", "KBT", restricted=True))
    return access


def _reads(client: Redis) -> int:
    """Read events the server has processed: one per request that arrives, pipelined or not."""
    return int(client.info("stats")["total_reads_processed"])


# == opening ===========================================================================


def test_connect_opens_redis_urls_through_the_entry_point(single_url: str) -> None:
    prefix = fresh_prefix()
    with connect(f"{single_url}?prefix={prefix}") as access:
        assert isinstance(access.store, RedisStore)
        assert access.store.keys.prefix == prefix
        access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
        assert access.clinic("c1") == Clinic("c1", "Vårdcentralen")
        delete_prefix(access.store.client, prefix)


def test_unix_socket_urls(tmp_path: Any) -> None:
    socket_path = tmp_path / "redis.sock"
    server = RedisServer(redis_server_binary(), tmp_path / "unix", free_port(), ["--unixsocket", str(socket_path)])
    server.start()
    try:
        with connect(f"unix://{socket_path}?db=0&prefix=sock:") as access:
            access.put_clinic(ADMIN, Clinic("c1", "Via uttaget"))
            assert access.clinic("c1") == Clinic("c1", "Via uttaget")
    finally:
        server.stop()


def test_plugin_claims_only_its_schemes() -> None:
    assert sorted(careaccess_store_schemes()) == ["redis", "rediss", "unix"]
    assert careaccess_open_store("memory://") is None
    assert careaccess_open_store("sqlite:///x.db") is None
    assert careaccess_upgrade_store("memory://") is None


def test_upgrade_loads_the_scripts(private_server: RedisServer) -> None:
    said = careaccess_upgrade_store(private_server.url)
    assert said == (
        "redis stores have no schema; scripts loaded; 0 clinics indexed for the resident's side; "
        "0 names rewritten; 0 clinics indexed for the name search"
    )
    client = Redis(port=private_server.port)
    try:
        assert client.script_exists(*(script.sha for script in lua.SCRIPTS)) == [True] * len(lua.SCRIPTS)
    finally:
        client.close()


def test_url_options_are_taken_out_and_the_rest_left_for_redis_py() -> None:
    plain, options = split_url("redis://u:p@h:1/2?prefix=app:&socket_timeout=3&cluster=true")
    assert plain == "redis://u:p@h:1/2?socket_timeout=3"
    assert options == {"prefix": "app:", "cluster": "true"}
    assert split_url("rediss://h") == ("rediss://h", {})


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0?prefix=a{b}", "redis://127.0.0.1:1/0?cluster=maybe"])
def test_bad_url_options_are_invalid_requests(url: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        RedisStore.from_url(url)
    assert raised.value.code == "invalid_store_url"


# == the key schema =====================================================================


@given(st.text(max_size=30), st.text(max_size=30))
def test_hash_tags_are_injective_and_brace_free(first: str, second: str) -> None:
    assert "{" not in hash_tag(first)
    assert "}" not in hash_tag(first)
    assert hash_tag(first)
    assert (hash_tag(first) == hash_tag(second)) == (first == second)


@given(st.text(max_size=30), st.text(alphabet="0123456789", min_size=12, max_size=12), st.text(max_size=10))
def test_every_key_of_a_clinic_shares_one_slot(clinic_id: str, pnr: str, token: str) -> None:
    keys = KeySchema("app:").of(clinic_id)
    names = [keys.clinic, keys.types, keys.uses, keys.residents, keys.events, keys.resident(pnr)]
    names += [keys.names, keys.names_ready]
    names.append(keys.replay_prefix + token)
    assert len({key_slot(name.encode()) for name in names}) == 1


def test_odd_clinic_ids_work_on_a_cluster(cluster_store: RedisStore) -> None:
    for clinic in ("{odd}%clinic", "å/ä:ö", "}"):
        access = _world(cluster_store, clinic)
        access.approve_resident(ADMIN, clinic, PERSON, name="Åsa")
        assert access.decide(PERSON, clinic, "open").reason is Reason.APPROVED
        assert [e.clinic_id for e in access.events(clinic_id=clinic)] == [clinic] * 4
    assert {e.clinic_id for e in connect(cluster_store).events()} == {"{odd}%clinic", "å/ä:ö", "}"}


# == round trips ========================================================================


def test_a_decision_is_one_round_trip(private_server: RedisServer) -> None:
    store = RedisStore.from_url(private_server.url)
    monitor = Redis(port=private_server.port)
    try:
        _reads(monitor)  # connect the monitor first: its handshake is not the store's
        access = _world(store)
        access.grant_case_type(ADMIN, "c1", PERSON, "kbt")
        access.decide(PERSON, "c1", "kbt")  # connections and scripts are warm now
        access.decide_many([(PERSON, "c1", "kbt")])
        before = _reads(monitor)
        assert access.decide(PERSON, "c1", "kbt", residence=careaccess.Residence("01")).reason is Reason.GRANTED
        assert _reads(monitor) - before == 2  # the decision, and this INFO
        # Small enough for one packet: a larger pipeline is still one round trip, but several reads.
        requests = [(make_pnr("19700101", n), "c1", "open") for n in range(100, 120)]
        before = _reads(monitor)
        decisions = access.decide_many(requests, at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        assert _reads(monitor) - before == 2
        assert [d.reason for d in decisions] == [Reason.NOT_APPROVED] * 20
    finally:
        monitor.close()
        store.close()


def test_decide_many_is_one_round_trip_per_node(cluster_store: RedisStore) -> None:
    clinics = [f"c{n}" for n in range(12)]
    admin = Actor("admin", frozenset(clinics))
    access = connect(cluster_store)
    for clinic in clinics:
        access.put_clinic(admin, Clinic(clinic, clinic))
        access.put_case_type(admin, CaseType(clinic, "open", "Öppen"))
        access.approve_resident(admin, clinic, PERSON)
    requests = [(PERSON, clinic, "open") for clinic in clinics]
    access.decide_many(requests)
    client = cast(RedisCluster, cluster_store.client)
    nodes = scripting.primaries(client)
    slots = {scripting.node_of(client, cluster_store.keys.of(c).clinic).name for c in clinics}
    assert len(slots) == 3, "the clinics should spread over all three masters"
    monitors = [Redis(host=node.host, port=node.port) for node in nodes]
    try:
        before = [_reads(m) for m in monitors]
        decisions = access.decide_many(requests)
        after = [_reads(m) for m in monitors]
    finally:
        for monitor in monitors:
            monitor.close()
    assert [d.reason for d in decisions] == [Reason.APPROVED] * len(clinics)
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 2, 2]


# == scripts and failures ===============================================================


def _flush_scripts(store: RedisStore) -> None:
    if isinstance(store.client, RedisCluster):
        for node in scripting.primaries(store.client):
            node.redis_connection.script_flush()
    else:
        store.client.script_flush()


def test_scripts_reload_after_script_flush(any_store: RedisStore) -> None:
    access = _world(any_store)
    access.approve_resident(ADMIN, "c1", PERSON, name="Åsa")
    for flush in range(4):
        _flush_scripts(any_store)
        if flush == 0:
            assert access.decide(PERSON, "c1", "open").reason is Reason.APPROVED
        elif flush == 1:
            assert [d.reason for d in access.decide_many([(PERSON, "c1", "open")] * 3)] == [Reason.APPROVED] * 3
        elif flush == 2:
            assert [r.name for r in access.list_residents(ADMIN, "c1").items] == ["Åsa"]
        else:
            access.grant_case_type(ADMIN, "c1", PERSON, "kbt")
            assert access.decide(PERSON, "c1", "kbt").reason is Reason.GRANTED


def test_decide_many_reloads_the_script_for_a_pipeline_of_calls(any_store: RedisStore) -> None:
    access = _world(any_store)
    _world(any_store, "c2")
    access.approve_resident(ADMIN, "c1", PERSON)
    _flush_scripts(any_store)
    # More requests than one script call carries: several calls in one pipeline.
    decisions = access.decide_many([(PERSON, "c1", "open"), (PERSON, "c2", "open")] * 700)
    assert [d.reason for d in decisions] == [Reason.APPROVED, Reason.NOT_APPROVED] * 700


def test_store_keeps_working_across_a_server_restart(private_server: RedisServer) -> None:
    store = RedisStore.from_url(private_server.url)
    try:
        access = _world(store)
        approval = access.approve_resident(ADMIN, "c1", PERSON)
        private_server.restart()  # the append-only file brings the data back; scripts and connections are gone
        assert access.decide(PERSON, "c1", "open").approval == approval
        access.grant_case_type(ADMIN, "c1", PERSON, "kbt")
        assert [e.action for e in access.events()][-2:] == [Action.RESIDENT_APPROVED, Action.CASE_TYPE_GRANTED]
    finally:
        store.close()


def test_unreachable_redis_is_store_unavailable() -> None:
    store = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0?socket_connect_timeout=0.2")
    access = connect(store)
    calls: list[Callable[[], object]] = [
        lambda: access.decide(PERSON, "c1", "open"),
        lambda: access.decide_many([(PERSON, "c1", "open")]),
        lambda: access.put_clinic(ADMIN, Clinic("c1", "X")),
        lambda: store.apply(Changeset("c1", (), (Put(Clinic("c1", "X")),), (_draft("c1"),))),
        access.events,
        lambda: access.events(clinic_id="c1"),
        lambda: store.list_residents(ResidentQuery("c1", 10)),
    ]
    for call in calls:
        with pytest.raises(StoreUnavailable) as raised:
            call()
        assert raised.value.code == "store_unavailable"
    store.close()


def test_unreachable_cluster_is_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable):
        RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0?cluster=true&socket_connect_timeout=0.2")


def test_a_stalled_server_is_store_unavailable(private_server: RedisServer) -> None:
    store = RedisStore.from_url(f"{private_server.url}?socket_timeout=0.05")
    staller = Redis(port=private_server.port)
    try:
        access = _world(store)
        stall = threading.Thread(target=lambda: scripting.execute(staller, "DEBUG", "SLEEP", "4"))
        stall.start()
        time.sleep(0.2)  # the server is asleep now
        try:
            with pytest.raises(StoreUnavailable):
                access.decide(PERSON, "c1", "open")
        finally:
            stall.join()
        assert access.decide(PERSON, "c1", "open").reason is Reason.NOT_APPROVED
    finally:
        staller.close()
        store.close()


# == changesets =========================================================================


def _draft(clinic: str, action: Action = Action.CLINIC_SAVED) -> EventDraft:
    return EventDraft(
        dt.datetime(2026, 1, 1, 12, 0, 0, 654321, tzinfo=dt.timezone(dt.timedelta(hours=1))), "a", action, clinic
    )


def test_a_replayed_call_returns_the_first_event_and_writes_nothing_more(any_store: RedisStore) -> None:
    _world(any_store)
    keys = any_store.keys.of("c1")
    changeset = Changeset("c1", (), (Put(Clinic("c1", "Ny")),), (_draft("c1"),))
    plan = plan_changeset(changeset, keys, keys.floor)
    token_key = plan.keys[5] = keys.replay_prefix + "fixed-token"
    plan.args[0] = "0"
    plan.args[1] = 60
    first = lua.APPLY(any_store.client, plan.keys, plan.args)
    again = lua.APPLY(any_store.client, plan.keys, plan.args)
    assert first == again
    assert first[0] == "ok"
    assert len(any_store.read_events(None, 100, "c1")) == 4  # clinic, two case types, this one
    assert 0 < int(any_store.client.ttl(token_key)) <= 60


def test_records_round_trip_exactly(any_store: RedisStore) -> None:
    access = _world(any_store)
    moment = dt.datetime(2026, 1, 1, 12, 0, 0, 654321, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    access = connect(any_store, clock=lambda: moment)
    approval = access.approve_resident(ADMIN, "c1", PERSON, name="Zoë 李")
    grant = access.grant_case_type(ADMIN, "c1", PERSON, "kbt", until=dt.date(2026, 12, 31), name="Zoë 李")
    facts = any_store.load_facts(FactsRequest(PERSON.digits, "c1", "kbt"))
    assert (facts.approval, facts.grant) == (approval, grant)  # complete facts, whatever the case type
    assert any_store.load_facts(FactsRequest(PERSON.digits, "c1", "open")).approval == approval
    assert any_store.load_facts_many([FactsRequest(PERSON.digits, "c1", t) for t in ("kbt", "open")]) == [
        facts,
        any_store.load_facts(FactsRequest(PERSON.digits, "c1", "open")),
    ]
    assert facts.grant is not None
    assert facts.grant.granted_at.microsecond == 654321
    assert facts.grant.granted_at.utcoffset() is not None
    event = access.events()[-1]
    assert event.at == moment
    assert event.after is not None
    assert event.after["until"] == "2026-12-31"


@given(approval=approvals(), grant=grants())
def test_records_dump_as_the_converter_unstructures_them(approval: Approval, grant: Grant) -> None:
    # dump_record builds approvals and grants by hand: the same text as through the converter.
    for record in (approval, grant):
        assert dump_record(record) == dump_through_converter(record)


@given(approval=approvals(), grant=grants())
def test_records_load_as_the_converter_builds_them(approval: Approval, grant: Grant) -> None:
    data = json.loads(dump_record(approval))
    assert approval_from(approval.clinic_id, approval.pnr, data) == approval
    assert converter.structure({**data, "clinic_id": approval.clinic_id, "pnr": approval.pnr}, Approval) == approval
    data = json.loads(dump_record(grant))
    assert grant_from(grant.clinic_id, grant.pnr, grant.case_type_id, data) == grant
    del data["name"]  # optional: a record stored without it loads with the default
    assert grant_from(grant.clinic_id, grant.pnr, grant.case_type_id, data) == attrs.evolve(grant, name=None)


def test_record_loaders_know_every_field() -> None:
    # approval_from and grant_from name each field: a new one must be added there too.
    assert [f.name for f in attrs.fields(Approval)] == ["clinic_id", "pnr", "name", "approved_at", "approved_by"]
    assert [f.name for f in attrs.fields(Grant)] == [
        "clinic_id",
        "pnr",
        "case_type_id",
        "until",
        "version",
        "granted_at",
        "granted_by",
        "changed_at",
        "name",
    ]


def test_batched_facts_equal_single_facts(any_store: RedisStore) -> None:
    # A comma is a separator of the batch script's arguments (a newline, its other one, can
    # no longer be in an id: the records refuse control characters).
    odd_types = ("a b,1", "ö 2")
    for clinic in ("c1", "{odd}%clinic", "å/ä:ö", "}"):
        access = _world(any_store, clinic)
        # The service refuses such an id; the store must still keep it apart, so it is written directly.
        odd = Grant(clinic, PERSON, odd_types[0], dt.date(2030, 1, 1), 1, WHEN, "admin", WHEN)
        writes = (Put(CaseType(clinic, odd_types[0], "Udda", restricted=True)), Put(odd))
        any_store.apply(Changeset(clinic, (), writes, (_draft(clinic),)))
        access.put_case_type(ADMIN, CaseType(clinic, odd_types[1], "Udda öppen"))
        access.approve_resident(ADMIN, clinic, PERSON, name="Åsa")
        if clinic != "}":
            access.grant_case_type(ADMIN, clinic, make_pnr("19900101", 123), "kbt")
    people = [PERSON.digits, make_pnr("19900101", 123).digits, make_pnr("19700101", 100).digits]
    # Not identity numbers (the service never asks so): short, long, 12 characters but not 12 bytes.
    people += ["", "1234", PERSON.digits + "0", "åäö123456789"]
    clinics = ["c1", "{odd}%clinic", "å/ä:ö", "}", "nowhere"]
    case_types = ["open", "kbt", *odd_types, "x"]
    distinct = [FactsRequest(p, c, t) for p in people for c in clinics for t in case_types]
    single = {request: any_store.load_facts(request) for request in distinct}
    # Complete facts: the approval whatever the case type (five ids, four clinics).
    assert sum(f.approval is not None for f in single.values()) == 4 * 5
    assert sum(f.grant is not None for f in single.values()) == 4 + 3
    requests = distinct * 9  # 1 575 requests: more than one script call carries
    assert any_store.load_facts_many(requests) == [single[request] for request in requests]
    assert any_store.load_facts_many(distinct[:7]) == [single[request] for request in distinct[:7]]


def test_grant_versions_compare_exactly_up_to_the_maximum(any_store: RedisStore) -> None:
    _world(any_store)
    grant = Grant("c1", PERSON, "kbt", None, MAX_VERSION, WHEN, "x", WHEN)
    draft = EventDraft(WHEN, "x", Action.CASE_TYPE_GRANTED, "c1", PERSON, "kbt")
    any_store.apply(Changeset("c1", (), (Put(grant),), (draft,)))
    key = GrantKey("c1", PERSON.digits, "kbt")
    for wrong in (MAX_VERSION - 1, MAX_VERSION - 2, 1):
        with pytest.raises(careaccess.Conflict):
            any_store.apply(Changeset("c1", (MustHaveVersion(key, wrong),), (), (draft,)))
    any_store.apply(Changeset("c1", (MustHaveVersion(key, MAX_VERSION),), (), (draft,)))


def test_the_cursor_key_is_made_once_and_shared(any_store: RedisStore) -> None:
    key = any_store.cursor_key()
    assert isinstance(key, bytes)
    assert len(key) == 32
    other = RedisStore(any_store.client, prefix=any_store.keys.prefix)
    assert other.cursor_key() == key
    elsewhere = RedisStore(any_store.client, prefix=any_store.keys.prefix + "other:")
    try:
        assert elsewhere.cursor_key() != key
    finally:
        any_store.client.delete(elsewhere.keys.cursor_key)


# == the change feed ====================================================================


def test_feed_follows_commit_order_across_clinics(any_store: RedisStore) -> None:
    clinics = [f"k{n:02d}" for n in range(10)]
    admin = Actor("admin", frozenset(clinics))
    access = connect(any_store)
    order = []
    for round_ in range(3):
        for clinic in reversed(clinics) if round_ % 2 else clinics:
            access.put_clinic(admin, Clinic(clinic, f"{clinic} {round_}"))
            order.append((clinic, f"{clinic} {round_}"))
    feed = access.events(limit=1000)
    assert [(e.clinic_id, e.after["name"] if e.after else None) for e in feed] == order
    paged: list[careaccess.Event] = []
    while batch := access.events(after=paged[-1].id if paged else None, limit=4):
        paged.extend(batch)
    assert paged == feed
    # A cursor from one clinic's event works on another clinic's feed.
    middle = feed[len(feed) // 2]
    assert access.events(after=middle.id, clinic_id="k03") == [
        e for e in feed[len(feed) // 2 + 1 :] if e.clinic_id == "k03"
    ]


def test_feed_pages_merge_uneven_streams_in_order(any_store: RedisStore) -> None:
    # One busy clinic among quiet ones: the merge reads a few entries per stream at a
    # time and must refill the busy one before handing out anything past its buffer.
    clinics = ["busy", "q1", "q2", "q3", "q4", "q5"]
    admin = Actor("admin", frozenset(clinics))
    access = connect(any_store)
    for clinic in clinics:
        access.put_clinic(admin, Clinic(clinic, clinic))
    for n in range(40):
        access.put_clinic(admin, Clinic("busy", f"busy {n}"))
        if n % 13 == 0:
            access.put_clinic(admin, Clinic(clinics[1 + n // 13], f"quiet {n}"))
    everything = access.events(limit=1000)
    assert len(everything) == 6 + 40 + 4
    assert [e.id for e in everything] == sorted(e.id for e in everything)
    names = [e.after["name"] if e.after else None for e in everything if e.clinic_id == "busy"]
    assert names[1:] == [f"busy {n}" for n in range(40)]
    for limit in (1, 2, 3, 7, 11, 49):
        paged: list[careaccess.Event] = []
        while batch := access.events(after=paged[-1].id if paged else None, limit=limit):
            assert len(batch) <= limit
            paged.extend(batch)
        assert paged == everything, limit


def test_event_ids_are_opaque_and_checked() -> None:
    made = event_id("1700000000000000-7", "vc-öst")
    assert parse_event_id(made).clinic_id == "vc-öst"
    assert (parse_event_id(made).micros, parse_event_id(made).seq) == (1700000000000000, 7)
    for bad in ["", "1-2-3", made.upper(), made + "0", made.replace("-", "+"), "0" * 17 + "-" + "0" * 20 + "-ff"]:
        with pytest.raises(InvalidRequest) as raised:
            parse_event_id(bad)
        assert raised.value.code == "invalid_cursor"


def test_events_of_a_cluster_come_from_every_node(cluster_store: RedisStore) -> None:
    clinics = [f"n{n}" for n in range(9)]
    admin = Actor("admin", frozenset(clinics))
    access = connect(cluster_store)
    for clinic in clinics:
        access.put_clinic(admin, Clinic(clinic, clinic))
    assert [e.clinic_id for e in access.events()] == clinics
