"""The native asynchronous store (``redis.asyncio``) on one Redis server and on a Redis Cluster.

The conformance suite, the resident's-side conformance and the stateful check run
unchanged: the store-level tests drive an :class:`AsyncRedisStore` through
:class:`careaccess.aio.BlockingStore`, the workflow tests an
:class:`~careaccess.aio.AsyncCareAccess` opened by ``careaccess.aio.connect(url)`` (which
must pick the native store) through :class:`~careaccess.testing.aio.BlockingCareAccess`;
both on the same keys. Then tasks are cancelled at many points of a change and of a
read: every change is whole with its events or absent, and later reads are right.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Iterator
from typing import Any

import careaccess
import careaccess.aio
import pytest
from careaccess import Action, Actor, AreaRule, CaseType, Clinic, Reason, Residence, ServiceArea, StaticDirectory
from careaccess.aio import BlockingStore
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Resident
from careaccess.reach import ReachFacts
from careaccess.reachstore import ClinicQuery, ReachRequest
from careaccess.store import Store
from careaccess.testing.aio import BlockingCareAccess
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import StoreConformance, make_pnr
from careaccess.testing.conformance_reach import ReachConformance
from careaccess.testing.stateful import CareAccessMachine
from hypothesis import HealthCheck, settings

from careaccess_redis import AsyncRedisStore, RedisStore
from careaccess_redis.keys import glob_prefix
from conftest import SINGLE_URL, delete_prefix, fresh_prefix


class BlockingRedisStore(BlockingStore):
    """:class:`BlockingStore` with the resident's side, so the suites see the capability."""

    def list_clinics(self, query: ClinicQuery) -> list[Clinic]:
        store = self.store
        assert isinstance(store, AsyncRedisStore)
        return self._wait(store.list_clinics(query))

    def load_reach(self, request: ReachRequest) -> ReachFacts:
        store = self.store
        assert isinstance(store, AsyncRedisStore)
        return self._wait(store.load_reach(request))


def _url(base: str, prefix: str, cluster: bool) -> str:
    return f"{base}?prefix={prefix}" + ("&cluster=true" if cluster else "")


class NativeFixtures:
    """``store``: the native store behind a blocking face; ``access``: the async service on the same keys."""

    cluster = False

    @pytest.fixture
    def url(self, request: pytest.FixtureRequest) -> Iterator[str]:
        base = request.getfixturevalue("cluster_url" if self.cluster else "single_url")
        prefix = fresh_prefix()
        yield _url(base, prefix, self.cluster)
        cleanup = RedisStore.from_url(_url(base, prefix, self.cluster))
        try:
            delete_prefix(cleanup.client, prefix)
        finally:
            cleanup.close()

    @pytest.fixture
    def store(self, url: str) -> Iterator[Store]:
        blocking = BlockingRedisStore(lambda: AsyncRedisStore.from_url(url))
        yield blocking
        blocking.close()

    @pytest.fixture
    def access(self, url: str, clock: FrozenClock, directory: StaticDirectory) -> Iterator[BlockingCareAccess]:
        facade = BlockingCareAccess(lambda: careaccess.aio.connect(url, plugins=[directory], clock=clock))
        assert isinstance(facade.service.store, AsyncRedisStore)  # native, not a thread
        yield facade
        facade.close()


class TestNativeRedis(NativeFixtures, StoreConformance):
    pass


class TestNativeRedisCluster(NativeFixtures, StoreConformance):
    cluster = True


class TestNativeRedisReach(NativeFixtures, ReachConformance):
    expects_reach_capability = True
    directory_clinics = 1000
    agreement_examples = 25


class TestNativeRedisClusterReach(NativeFixtures, ReachConformance):
    cluster = True
    expects_reach_capability = True
    directory_clinics = 500
    agreement_examples = 15


class NativeMachine(CareAccessMachine):
    """The stateful check on the native store: each example under its own prefix."""

    base: str = SINGLE_URL
    cluster = False

    def make_store(self) -> Store:
        self.prefix = fresh_prefix()
        url = _url(self.base, self.prefix, self.cluster)
        self.facade = BlockingCareAccess(
            lambda: careaccess.aio.connect(url, plugins=[self.directory], clock=self.clock)
        )
        native = self.facade.service.store
        assert isinstance(native, AsyncRedisStore)
        assert native.cluster == self.cluster
        return RedisStore.from_url(url)  # for deleting the example's keys afterwards

    def __init__(self) -> None:
        super().__init__()
        self.access = self.facade  # type: ignore[assignment]  # the same methods, on the native async store

    def close_store(self, store: Store) -> None:
        assert isinstance(store, RedisStore)
        try:
            self.facade.close()
            delete_prefix(store.client, self.prefix)
        finally:
            store.close()


class NativeClusterMachine(NativeMachine):
    cluster = True


@pytest.fixture
def machine_cluster(cluster_url: str) -> None:
    """Points the cluster machine at the cluster this session started."""
    NativeClusterMachine.base = cluster_url


# As the other asynchronous runs (tests/test_aio_stateful.py): the rules are checked by
# the synchronous machines; here the native store's wiring, in fewer, shorter runs.
NATIVE_RUNS = settings(
    max_examples=15, stateful_step_count=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestNativeMachine = NativeMachine.TestCase
TestNativeMachine.settings = NATIVE_RUNS
pytest.mark.usefixtures("single_url")(TestNativeMachine)
TestNativeClusterMachine = NativeClusterMachine.TestCase
TestNativeClusterMachine.settings = settings(NATIVE_RUNS, max_examples=10)
pytest.mark.usefixtures("machine_cluster")(TestNativeClusterMachine)


# -- cancellation ---------------------------------------------------------------------------

ADMIN = Actor("admin-cancel", frozenset({"vc-cancel"}))
NOW = dt.datetime(2026, 6, 15, 10, 0, tzinfo=dt.UTC)
PEOPLE = [make_pnr("19800101", serial) for serial in range(2, 122, 2)]


async def _cancel_at(task: asyncio.Task[Any], steps: int) -> None:
    """Cancel *task* after *steps* turns of the event loop (each turn may be a network wait)."""
    for _ in range(steps):
        if task.done():
            return
        await asyncio.sleep(0)
    task.cancel()


async def _changes_cancelled_mid_flight(url: str, seed: int) -> None:
    rng = random.Random(seed)
    directory = StaticDirectory([Resident(p, "Avbruten", None) for p in PEOPLE])
    access = careaccess.aio.connect(url, plugins=[directory], clock=lambda: NOW)
    try:
        assert isinstance(access.store, AsyncRedisStore)
        await access.put_clinic(ADMIN, Clinic("vc-cancel", "Vårdcentralen Avbrott"))
        await access.put_case_type(ADMIN, CaseType("vc-cancel", "fraga", "Fråga"))
        await access.put_case_type(ADMIN, CaseType("vc-cancel", "kbt", "KBT", restricted=True))

        async def change(person: PersonalIdentityNumber) -> None:
            await access.approve_resident(ADMIN, "vc-cancel", person)
            await access.grant_case_type(ADMIN, "vc-cancel", person, "kbt", None)

        # Every person's change is cancelled at its own point: before it reaches the
        # store, while the index, the script or its reply is in flight, or after.
        tasks = [asyncio.create_task(change(person)) for person in PEOPLE]
        await asyncio.gather(*(_cancel_at(task, n if seed == 0 else rng.randrange(60)) for n, task in enumerate(tasks)))
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        assert any(isinstance(o, asyncio.CancelledError) for o in outcomes), "no change was cancelled"

        # Reads cancelled mid-flight must not leave a reply behind for the next command.
        reads = [asyncio.create_task(access.decide(p, "vc-cancel", "kbt")) for p in PEOPLE]
        await asyncio.gather(*(_cancel_at(task, n % 7) for n, task in enumerate(reads)))
        await asyncio.gather(*reads, return_exceptions=True)
    finally:
        await access.aclose()  # waits for the shielded changes still in flight
    async with careaccess.aio.connect(url, plugins=[directory], clock=lambda: NOW) as access:
        events = await access.events(limit=1000, clinic_id="vc-cancel")
        for person in PEOPLE:
            stored = await access.store.get_resident_access("vc-cancel", person.digits)
            approvals = [e for e in events if e.pnr == person and e.action is Action.RESIDENT_APPROVED]
            grants = [e for e in events if e.pnr == person and e.action is Action.CASE_TYPE_GRANTED]
            has_approval = stored is not None and stored.approval is not None
            has_grant = stored is not None and any(g.case_type_id == "kbt" for g in stored.grants)
            assert len(approvals) == int(has_approval), (person, "approval and its events disagree", approvals)
            assert len(grants) == int(has_grant), (person, "grant and its events disagree", grants)
            assert has_approval or not has_grant, (person, "granted before the approval that precedes it")
            # Decisions (one read each, and all in one batch) see exactly what is stored.
            decision = await access.decide(person, "vc-cancel", "kbt")
            assert decision.allowed == has_grant, person
            assert decision.reason is (Reason.GRANTED if has_grant else Reason.NOT_GRANTED), person
        batch = await access.decide_many([(p, "vc-cancel", "fraga") for p in PEOPLE])
        assert [d.allowed for d in batch] == [
            (await access.store.get_resident_access("vc-cancel", p.digits)) is not None for p in PEOPLE
        ]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("cluster", [False, True], ids=["single", "cluster"])
def test_cancelled_changes_are_whole_or_absent(cluster: bool, seed: int, request: pytest.FixtureRequest) -> None:
    base = request.getfixturevalue("cluster_url" if cluster else "single_url")
    prefix = fresh_prefix()
    try:
        asyncio.run(_changes_cancelled_mid_flight(_url(base, prefix, cluster), seed))
    finally:
        cleanup = RedisStore.from_url(_url(base, prefix, cluster))
        try:
            delete_prefix(cleanup.client, prefix)
        finally:
            cleanup.close()


def test_connect_opens_the_native_store_for_every_redis_scheme(single_url: str) -> None:
    async def main() -> None:
        for url in (f"{single_url}?prefix={fresh_prefix()}", "unix:///nonexistent/redis.sock?prefix=x:"):
            async with careaccess.aio.connect(url) as access:
                assert isinstance(access.store, AsyncRedisStore)

    asyncio.run(main())


def test_a_store_without_indexes_answers_through_the_async_fallback_until_built(single_url: str) -> None:
    prefix = fresh_prefix()
    url = _url(single_url, prefix, cluster=False)
    home = Residence("01", "0180")
    anna = make_pnr("19800101", 242)
    admin = Actor("admin", frozenset({"c1", "c2"}))
    sync = RedisStore.from_url(url)
    try:
        access = careaccess.connect(sync, clock=FrozenClock(NOW))
        access.put_clinic(admin, Clinic("c1", "Vårdcentralen Norr", ServiceArea([AreaRule("01")])))
        access.put_clinic(admin, Clinic("c2", "Vårdcentralen Syd"))
        for clinic in ("c1", "c2"):
            access.put_case_type(admin, CaseType(clinic, "fraga", "Fråga"))
        access.approve_resident(admin, "c2", anna)
        before = access.clinics_for(anna, residence=home)
        # As a store written by a version without the indexes: drop them and the ready mark.
        for start in ("{reach}", "{r:"):
            for key in sync.client.scan_iter(match=glob_prefix(prefix + start)):
                sync.client.delete(key)

        async def main() -> None:
            async with careaccess.aio.connect(url, clock=lambda: NOW) as older:
                assert isinstance(older.store, AsyncRedisStore)
                assert not await older.store.run_steps(older.store.reach.is_ready_steps())
                assert await older.clinics_for(anna, residence=home) == before
                assert [c.id for c in (await older.list_clinics(search="syd")).items] == ["c2"]
                assert sync.build_reach_index() == 2
                assert await older.clinics_for(anna, residence=home) == before
                assert await older.store.run_steps(older.store.reach.is_ready_steps())

        asyncio.run(main())
    finally:
        try:
            delete_prefix(sync.client, prefix)
        finally:
            sync.close()
