"""What the Redis store promises for changesets of many records and events (imports, bulk actions)."""

from __future__ import annotations

import datetime as dt

import careaccess
import pytest
from careaccess import Action, Actor, CaseType, Clinic, Conflict, Reason, connect
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Approval, Grant
from careaccess.store import (
    MAX_IMPORT,
    CaseTypeKey,
    CaseTypeRestricted,
    Changeset,
    ClinicKey,
    Delete,
    EventDraft,
    MustBeAbsent,
    MustExist,
    Precondition,
    Put,
    ResidentQuery,
    key_of,
)
from careaccess.testing.conformance import make_pnr
from redis.cluster import RedisCluster

from careaccess_redis import RedisStore, lua, scripting
from careaccess_redis.plan import plan_changeset
from test_redis_memory import run_measure

ADMIN = Actor("admin", frozenset({"c1", "c2", "c3", "{odd}%clinic"}))
WHEN = dt.datetime(2025, 6, 1, 8, 0, tzinfo=dt.UTC)


def _world(store: RedisStore, clinic: str = "c1") -> careaccess.CareAccess:
    access = connect(store)
    access.put_clinic(ADMIN, Clinic(clinic, "Vårdcentralen"))
    access.put_case_type(ADMIN, CaseType(clinic, "open", "Öppen"))
    access.put_case_type(ADMIN, CaseType(clinic, "kbt", "KBT", restricted=True))
    access.put_case_type(ADMIN, CaseType(clinic, "diet", "Dietist", restricted=True))
    return access


def _people(count: int, offset: int = 0) -> list[PersonalIdentityNumber]:
    return [make_pnr(f"19{40 + n // 800:02d}0101", 100 + n % 800) for n in range(offset, offset + count)]


def _records(
    clinic: str, people: list[PersonalIdentityNumber], granted: int, case_type: str = "kbt"
) -> tuple[list[Approval], list[Grant]]:
    """Everyone approved; the first *granted* of them also granted *case_type*."""
    approvals = [Approval(clinic, person, "Åsa Öberg", WHEN, "legacy") for person in people]
    grants = [
        Grant(clinic, person, case_type, None, 2, WHEN, "legacy", WHEN, "Åsa Öberg") for person in people[:granted]
    ]
    return approvals, grants


def _draft(clinic: str, record: Approval | Grant) -> EventDraft:
    if isinstance(record, Approval):
        return EventDraft(WHEN, "admin", Action.RESIDENT_APPROVED, clinic, record.pnr)
    return EventDraft(WHEN, "admin", Action.CASE_TYPE_GRANTED, clinic, record.pnr, record.case_type_id)


def _batch(clinic: str, records: list[Approval | Grant]) -> Changeset:
    """An import as the core plans it: clinic, restricted case types, absent records; one event each."""
    kinds = sorted({r.case_type_id for r in records if isinstance(r, Grant)})
    guards: list[Precondition] = [MustExist(ClinicKey(clinic))]
    guards += [CaseTypeRestricted(CaseTypeKey(clinic, kind)) for kind in kinds]
    guards += [MustBeAbsent(key_of(record)) for record in records]
    writes = tuple(Put(record) for record in records)
    return Changeset(clinic, tuple(guards), writes, tuple(_draft(clinic, record) for record in records))


def _stream_length(store: RedisStore, clinic: str) -> int:
    return int(store.client.xlen(store.keys.of(clinic).events))


def test_a_full_batch_keeps_the_counters_list_and_feed_right(any_store: RedisStore) -> None:
    # More residents than the script passes to one EXISTS or ZADD: every chunk is used.
    access = _world(any_store, "{odd}%clinic")
    clinic = "{odd}%clinic"
    people = _people(MAX_IMPORT - 1500)
    approvals, grants = _records(clinic, people, 1500)
    events = access.import_residents(ADMIN, clinic, approvals, grants)
    assert len(events) == MAX_IMPORT
    assert any_store.read_events(None, MAX_IMPORT + 10, clinic)[-MAX_IMPORT:] == events
    assert [e.id for e in events] == sorted(e.id for e in events)
    keys = any_store.keys.of(clinic)
    assert any_store.client.hget(keys.uses, "kbt") == "1500"
    assert any_store.client.hget(keys.uses, "diet") is None
    assert int(any_store.client.zcard(keys.residents)) == len(people)
    listed: list[careaccess.ResidentAccess] = []
    cursor = None
    while True:
        page = access.list_residents(ADMIN, clinic, limit=1000, cursor=cursor)
        listed.extend(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [r.pnr for r in listed] == sorted(people, key=lambda p: p.digits)
    assert access.decide(people[0], clinic, "kbt").reason is Reason.GRANTED
    assert access.decide(people[-1], clinic, "kbt").reason is Reason.NOT_GRANTED
    assert access.decide(people[-1], clinic, "open").reason is Reason.APPROVED
    # The grant counter guards the case type like grants made one at a time.
    with pytest.raises(Conflict) as raised:
        access.remove_case_type(ADMIN, clinic, "kbt")
    assert raised.value.code == "case_type_in_use"
    for grant in grants[:-1]:
        access.remove_grant(ADMIN, clinic, grant.pnr, "kbt")
    assert any_store.client.hget(keys.uses, "kbt") == "1"
    access.remove_grant(ADMIN, clinic, grants[-1].pnr, "kbt")
    access.remove_case_type(ADMIN, clinic, "kbt")


def test_a_conflict_names_the_first_clashing_record_in_batch_order(any_store: RedisStore) -> None:
    access = _world(any_store)
    people = _people(10)
    approvals, grants = _records("c1", people, 10)
    # The script meets the grant of people[2] first (it groups records by resident); the batch has
    # the approval of people[7] first (approvals come before grants).
    access.grant_case_type(ADMIN, "c1", people[2], "kbt")
    access.approve_resident(ADMIN, "c1", people[7])
    length = _stream_length(any_store, "c1")
    uses = any_store.client.hget(any_store.keys.of("c1").uses, "kbt")
    with pytest.raises(Conflict) as raised:
        access.import_residents(ADMIN, "c1", approvals, grants)
    assert raised.value.code == "approval_exists"
    with pytest.raises(Conflict) as raised:
        access.import_residents(ADMIN, "c1", approvals[:7], grants)
    assert raised.value.code == "grant_exists"
    assert _stream_length(any_store, "c1") == length
    assert any_store.client.hget(any_store.keys.of("c1").uses, "kbt") == uses
    assert [r.pnr for r in access.list_residents(ADMIN, "c1").items] == sorted([people[2], people[7]])


def test_a_repeated_call_is_applied_once(any_store: RedisStore) -> None:
    # What redis-py does after a connection drops with the reply in flight: send the call again.
    _world(any_store)
    approvals, grants = _records("c1", _people(20), 5)
    keys = any_store.keys.of("c1")
    plan = plan_changeset(_batch("c1", [*approvals, *grants]), keys, keys.floor)
    plan.keys[5] = keys.replay_prefix + "fixed-token"
    plan.args[0] = "0"
    length = _stream_length(any_store, "c1")
    first = lua.APPLY(any_store.client, plan.keys, plan.args)
    again = lua.APPLY(any_store.client, plan.keys, plan.args)
    assert first == again
    assert first[0] == "ok"
    assert _stream_length(any_store, "c1") == length + 25
    assert any_store.client.hget(keys.uses, "kbt") == "5"


def test_imports_survive_a_script_flush(any_store: RedisStore) -> None:
    access = _world(any_store)
    for n in range(3):
        if isinstance(any_store.client, RedisCluster):
            for node in scripting.primaries(any_store.client):
                node.redis_connection.script_flush()
        else:
            any_store.client.script_flush()
        approvals, grants = _records("c1", _people(50, 50 * n), 25)
        assert len(access.import_residents(ADMIN, "c1", approvals, grants)) == 75
    assert any_store.client.hget(any_store.keys.of("c1").uses, "kbt") == "75"


def test_the_feed_keeps_commit_order_across_clinics_with_imports(any_store: RedisStore) -> None:
    for clinic in ("c1", "c2", "c3"):
        _world(any_store, clinic)
    access = connect(any_store)
    start = access.events(limit=1000)[-1].id
    expected: list[careaccess.Event] = []
    for n, clinic in enumerate(["c2", "c1", "c3", "c1", "c2"]):
        approvals, grants = _records(clinic, _people(30, 30 * n), 10)
        expected.extend(access.import_residents(ADMIN, clinic, approvals, grants))
        access.approve_resident(ADMIN, clinic, make_pnr("19991231", 100 + n))
        expected.append(access.events(clinic_id=clinic, after=expected[-1].id)[0])
    feed: list[careaccess.Event] = []
    while batch := access.events(after=feed[-1].id if feed else start, limit=37):
        feed.extend(batch)
    assert [e.id for e in feed] == [e.id for e in expected]


def test_a_clinic_is_indexed_for_the_feed_by_its_first_import(any_store: RedisStore) -> None:
    access = _world(any_store)
    keys = any_store.keys.of("c1")
    # A clinic whose events are gone (trimmed or lost): the next import must index it again.
    any_store.client.delete(keys.events)
    any_store.client.srem(any_store.keys.clinics, "c1")
    fresh = RedisStore(any_store.client, prefix=any_store.keys.prefix)
    approvals, _ = _records("c1", _people(3), 0)
    events = connect(fresh).import_residents(ADMIN, "c1", approvals)
    assert access.events() == events
    # A batch that fails its checks indexes nothing.
    gone = [Approval("gone", person, "Åsa", WHEN, "legacy") for person in _people(2)]
    with pytest.raises(Conflict) as raised:
        fresh.apply(_batch("gone", list(gone)))
    assert raised.value.code == "clinic_missing"
    assert not any_store.client.sismember(any_store.keys.clinics, "gone")


def test_writes_to_one_record_within_a_changeset_apply_in_order(any_store: RedisStore) -> None:
    # The script lists residents and counts grants once at its end: the net effect must
    # still be that of the writes in order.
    access = _world(any_store)
    first, second, third = _people(3)
    approval = Approval("c1", first, "Åsa", WHEN, "x")
    grant = Grant("c1", second, "kbt", None, 1, WHEN, "x", WHEN, "Per-Erik")
    later = Grant("c1", third, "kbt", None, 1, WHEN, "x", WHEN, None)
    writes = (
        Put(approval),
        Delete(key_of(approval)),
        Put(grant),
        Put(grant),
        Put(later),
        Delete(key_of(later)),
        Put(later),
    )
    events = any_store.apply(Changeset("c1", (), writes, (_draft("c1", grant), _draft("c1", later))))
    assert [e.pnr for e in events] == [second, third]
    keys = any_store.keys.of("c1")
    assert any_store.client.hget(keys.uses, "kbt") == "2"
    assert [r.pnr for r in any_store.list_residents(ResidentQuery("c1", 10))] == [second, third]
    assert [r.pnr for r in any_store.list_residents(ResidentQuery("c1", 10, name_contains="per erik"))] == [second]
    gone = (Delete(key_of(grant)), Delete(key_of(later)))
    any_store.apply(Changeset("c1", (), gone, (_draft("c1", grant),)))
    assert any_store.client.hget(keys.uses, "kbt") is None
    assert any_store.list_residents(ResidentQuery("c1", 10)) == []
    assert access.decide(second, "c1", "kbt").reason is Reason.NOT_GRANTED


def test_the_import_rate_tool_runs(single_url: str) -> None:
    figures = run_measure(single_url, "--import-batches", "2", "--batch-size", "100", "--clinics", "2")
    assert figures["seconds"] > 0
    assert 300 < figures["resident"] < 1000
