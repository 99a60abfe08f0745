"""The resident's side on one Redis server and on a Redis Cluster, with its crash promise.

The indexes span hash slots, so a writer can die between the index write and the
clinic write; these tests kill a real writer process there and check that every answer
still agrees with ``decide`` afterwards, and that a store without indexes (written by an
older version) answers through the fallback until ``build_reach_index`` has run.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import careaccess
import pytest
from careaccess import Actor, AreaRule, CaseType, Clinic, Residence, ServiceArea
from careaccess.store import Store
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import make_pnr
from careaccess.testing.conformance_reach import ReachConformance

from careaccess_redis import RedisStore, reach
from careaccess_redis.keys import glob_prefix
from conftest import open_store

ADMIN = Actor("admin", frozenset({"c1", "c2", "c3"}))
ANNA = make_pnr("19800101", 242)
HOME = Residence("01", "0180")
NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


class TestRedisReach(ReachConformance):
    expects_reach_capability = True
    directory_clinics = 10_000

    @pytest.fixture
    def store(self, single_url: str) -> Iterator[Store]:
        yield from open_store(single_url)


class TestRedisClusterReach(ReachConformance):
    expects_reach_capability = True
    directory_clinics = 10_000

    @pytest.fixture
    def store(self, cluster_url: str) -> Iterator[Store]:
        yield from open_store(cluster_url, cluster=True)


def _world(access: careaccess.CareAccess) -> None:
    access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen Norr", ServiceArea([AreaRule("01")])))
    access.put_clinic(ADMIN, Clinic("c2", "Vårdcentralen Syd"))
    for clinic in ("c1", "c2"):
        access.put_case_type(ADMIN, CaseType(clinic, "fraga", "Fråga"))
        access.put_case_type(ADMIN, CaseType(clinic, "kbt", "KBT", restricted=True))


def _agrees(access: careaccess.CareAccess, clinic_ids: list[str]) -> list[str]:
    """clinics_for's clinics, after checking every decision against decide."""
    found = access.clinics_for(ANNA, residence=HOME)
    for kind in ("fraga", "kbt"):
        for clinic_id in clinic_ids:
            verdict = access.decide(ANNA, clinic_id, kind, residence=HOME)
            listed = [d for a in found if a.clinic.id == clinic_id for d in a.decisions if d.case_type_id == kind]
            assert listed == ([verdict] if verdict.allowed else [])
    return [a.clinic.id for a in found]


_CRASHING_WRITER = """
import os, sys, datetime as dt
import careaccess
from careaccess_redis import RedisStore, reach
from careaccess.testing.conformance import make_pnr

store = RedisStore.from_url(sys.argv[1])
prepare = store.reach.prepare

def prepare_then_die(writes):
    prepare(writes)
    os._exit(17)  # killed between the index write and the clinic write

store.reach.prepare = prepare_then_die
access = careaccess.connect(store)
admin = careaccess.Actor("admin", frozenset({"c2", "c3"}))
north = careaccess.ServiceArea([careaccess.AreaRule("01")])
{action}
"""


def _crash(url: str, action: str) -> None:
    script = _CRASHING_WRITER.replace("{action}", textwrap.dedent(action))
    done = subprocess.run([sys.executable, "-c", script, url], check=False, capture_output=True, timeout=60)
    assert done.returncode == 17, done.stderr.decode()


@pytest.mark.parametrize("cluster", [False, True], ids=["single", "cluster"])
def test_a_writer_killed_between_index_and_clinic_leaves_answers_exact(
    single_url: str, cluster_url: str, cluster: bool
) -> None:
    base = cluster_url if cluster else single_url
    for store in open_store(base, cluster=cluster):
        url = f"{base}?prefix={store.keys.prefix}" + ("&cluster=true" if cluster else "")
        access = careaccess.connect(store, clock=FrozenClock(NOW))
        _world(access)
        assert _agrees(access, ["c1", "c2"]) == ["c1"]
        # An approval that never happened: its index entry exists, the approval does not.
        _crash(url, 'access.approve_resident(admin, "c2", make_pnr("19800101", 242))')
        assert store.client.sismember(store.reach.resident(ANNA.digits), "c2")
        assert _agrees(access, ["c1", "c2"]) == ["c1"]
        # A clinic that never was, and a service area change that never happened.
        _crash(
            url,
            'access.put_clinic(admin, careaccess.Clinic("c3", "Ny", north))',
        )
        _crash(
            url,
            'access.put_clinic(admin, careaccess.Clinic("c2", "Syd", north))',
        )
        assert _agrees(access, ["c1", "c2", "c3"]) == ["c1"]
        assert [c.id for c in access.list_clinics(region="01").items] == ["c1"]
        assert [c.id for c in access.list_clinics().items] == ["c1", "c2"]
        # After recovery the same changes go through, and are seen at once.
        access.approve_resident(ADMIN, "c2", ANNA)
        access.grant_case_type(ADMIN, "c1", ANNA, "kbt")
        assert _agrees(access, ["c1", "c2"]) == ["c1", "c2"]
        access.revoke_approval(ADMIN, "c2", ANNA)
        access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen Norr"))  # the area is gone, the grant stays
        assert _agrees(access, ["c1", "c2"]) == ["c1"]
        assert [d.reason for d in access.clinics_for(ANNA, residence=HOME)[0].decisions] == ["granted"]


def test_a_store_without_indexes_answers_through_the_fallback_until_built(single_url: str) -> None:
    for store in open_store(single_url):
        access = careaccess.connect(store, clock=FrozenClock(NOW))
        _world(access)
        access.approve_resident(ADMIN, "c2", ANNA)
        before = access.clinics_for(ANNA, residence=HOME)
        # As a store written by a version without the indexes: drop them and the ready mark.
        for start in ("{reach}", "{r:"):
            for key in store.client.scan_iter(match=glob_prefix(store.keys.prefix + start)):
                store.client.delete(key)
        fresh = RedisStore.from_url(f"{single_url}?prefix={store.keys.prefix}")
        try:
            older = careaccess.connect(fresh, clock=FrozenClock(NOW))
            assert not fresh.reach.is_ready()
            assert older.clinics_for(ANNA, residence=HOME) == before
            assert [c.id for c in older.list_clinics(search="syd").items] == ["c2"]
            assert fresh.build_reach_index() == 2
            assert fresh.reach.is_ready()
            assert older.clinics_for(ANNA, residence=HOME) == before
            assert fresh.client.smembers(fresh.reach.resident(ANNA.digits)) == {"c2"}
        finally:
            fresh.close()


def test_clinic_ids_with_braces_and_percent_signs_are_read_by_their_own_keys(any_store: RedisStore) -> None:
    # On one server the script names each clinic's keys itself (keys.hash_tag's escaping).
    odd = ["a{b}", "100%", "%7B", "{", "}x", "%25{}"]
    admin = Actor("admin", frozenset(odd))
    access = careaccess.connect(any_store, clock=FrozenClock(NOW))
    for clinic_id in odd:
        access.put_clinic(admin, Clinic(clinic_id, clinic_id, ServiceArea([AreaRule("01")])))
        access.put_case_type(admin, CaseType(clinic_id, "fraga", "Fråga"))
        access.put_case_type(admin, CaseType(clinic_id, "kbt", "KBT", restricted=True))
    access.approve_resident(admin, "100%", ANNA)
    access.grant_case_type(admin, "a{b}", ANNA, "kbt")
    found = {
        a.clinic.id: [(d.case_type_id, d.reason) for d in a.decisions] for a in access.clinics_for(ANNA, residence=HOME)
    }
    assert found == {
        clinic_id: [("fraga", "approved" if clinic_id == "100%" else "service_area")]
        + ([("kbt", "granted")] if clinic_id == "a{b}" else [])
        for clinic_id in odd
    }


def test_candidates_beyond_one_script_call_are_read_by_the_grouped_calls(
    single_store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reach, "_CLINICS_PER_CALL", 2)
    access = careaccess.connect(single_store, clock=FrozenClock(NOW))
    ids = [f"c{i}" for i in range(7)]
    admin = Actor("admin", frozenset(ids))
    for clinic_id in ids:
        area = ServiceArea([] if clinic_id == "c3" else [AreaRule("01")])
        access.put_clinic(admin, Clinic(clinic_id, clinic_id, area))
        access.put_case_type(admin, CaseType(clinic_id, "fraga", "Fråga"))
    access.approve_resident(admin, "c3", ANNA)
    found = access.clinics_for(ANNA, residence=HOME)
    assert [a.clinic.id for a in found] == ids
    for item in found:
        assert [d.reason for d in item.decisions] == ["approved" if item.clinic.id == "c3" else "service_area"]
