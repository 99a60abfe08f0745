"""The native asynchronous store (:class:`AsyncSqlStore`, psycopg's asyncio connections) on PostgreSQL.

The conformance suite, the resident's-side conformance and the stateful check run
unchanged: the store-level tests drive an :class:`AsyncSqlStore` through
:class:`careaccess.aio.BlockingStore`, the workflow tests an
:class:`~careaccess.aio.AsyncCareAccess` opened by ``careaccess.aio.connect(url)`` (which
must pick the native store) through :class:`~careaccess.testing.aio.BlockingCareAccess`;
both in the test's own schema. Then tasks are cancelled at many points of a change and
of a read: every change is whole with its events or absent, no connection is left
inside a statement or a transaction, and the same store answers rightly afterwards.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import secrets
from collections.abc import Iterator
from typing import Any

import careaccess.aio
import pytest
import sqlalchemy as sa
from careaccess import Action, Actor, CaseType, Clinic, InvalidRequest, Reason, StaticDirectory
from careaccess.aio import BlockingStore, InlineStore, ThreadedStore
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

from careaccess_sql import AsyncSqlStore, SchemaMismatch, SqlStore, parse_url
from sql_support import schema_url

#: Few connections per pool: max_connections is shared by every test run on the server.
POOL = {"pool_size": "2", "max_overflow": "2"}


class BlockingSqlStore(BlockingStore):
    """:class:`BlockingStore` with the resident's side, so the suites see the capability."""

    def list_clinics(self, query: ClinicQuery) -> list[Clinic]:
        store = self.store
        assert isinstance(store, AsyncSqlStore)
        return self._wait(store.list_clinics(query))

    def load_reach(self, request: ReachRequest) -> ReachFacts:
        store = self.store
        assert isinstance(store, AsyncSqlStore)
        return self._wait(store.load_reach(request))


def _created(schema: str, **options: str) -> str:
    """A store URL for *schema*, whose tables are made here (by the synchronous store)."""
    url = schema_url(schema, **POOL, **options)
    SqlStore.open(url, create=True).close()
    return url


class NativeFixtures:
    """``store``: the native store behind a blocking face; ``access``: the async service on the same schema."""

    @pytest.fixture
    def url(self, postgresql_schema: str) -> str:
        return _created(postgresql_schema)

    @pytest.fixture
    def store(self, url: str) -> Iterator[Store]:
        blocking = BlockingSqlStore(lambda: AsyncSqlStore.from_url(url))
        yield blocking
        blocking.close()

    @pytest.fixture
    def access(self, url: str, clock: FrozenClock, directory: StaticDirectory) -> Iterator[BlockingCareAccess]:
        facade = BlockingCareAccess(lambda: careaccess.aio.connect(url, plugins=[directory], clock=clock))
        assert isinstance(facade.service.store, AsyncSqlStore)  # native, not a thread
        yield facade
        facade.close()


class TestNativePostgresql(NativeFixtures, StoreConformance):
    pass


class TestNativePostgresqlReach(NativeFixtures, ReachConformance):
    expects_reach_capability = True
    # As the other asynchronous stores' runs: the rules are held by the synchronous runs
    # (10,000 clinics, the profile's examples); here the native store's wiring.
    directory_clinics = 1000
    agreement_examples = 25


class NativeMachine(CareAccessMachine):
    """The stateful check on the native store: each example in its own schema."""

    def make_store(self) -> Store:
        self.schema = f"careaccess_test_{secrets.token_hex(6)}"
        url = schema_url(self.schema, **POOL, create="true")
        self.facade = BlockingCareAccess(
            lambda: careaccess.aio.connect(url, plugins=[self.directory], clock=self.clock)
        )
        return SqlStore.open(url)  # creates the schema; the machine's own reads of the store, if any

    def __init__(self) -> None:
        super().__init__()
        self.access = self.facade  # type: ignore[assignment]  # the same methods, on the native async store

    def close_store(self, store: Store) -> None:
        assert isinstance(store, SqlStore)
        try:
            self.facade.close()
            with store.engine.connect() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
                connection.commit()
        finally:
            store.close()


TestNativeMachine = NativeMachine.TestCase
# As the other asynchronous runs (tests/test_aio_stateful.py): the rules are checked by
# the synchronous machines; here the native store's wiring, in fewer, shorter runs.
TestNativeMachine.settings = settings(
    max_examples=15, stateful_step_count=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
pytest.mark.usefixtures("postgresql_admin")(TestNativeMachine)


# -- opening ------------------------------------------------------------------------------


def test_connect_opens_the_native_store_for_postgresql_only(postgresql_schema: str, tmp_path: Any) -> None:
    url = _created(postgresql_schema)
    native = [url, url.replace("postgresql+psycopg://", "postgresql://"), url.replace("postgresql+psycopg", "postgres")]

    async def main() -> None:
        for each in native:
            async with careaccess.aio.connect(each) as access:
                assert isinstance(access.store, AsyncSqlStore)
                assert await access.store.get_clinic("none") is None
        async with careaccess.aio.connect(f"sqlite:///{tmp_path / 'care.db'}") as access:
            assert isinstance(access.store, ThreadedStore)  # SQLite (and MariaDB) run in threads
        async with careaccess.aio.connect("memory://") as access:
            assert isinstance(access.store, InlineStore)

    asyncio.run(main())


@pytest.mark.parametrize("url", ["sqlite://", "mariadb+pymysql://root@127.0.0.1/test"])
def test_the_native_store_refuses_other_databases(url: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        AsyncSqlStore.from_url(url)
    assert refused.value.code == "invalid_store_url"


@pytest.mark.parametrize(
    "query", ["pool_size=0", "pool_size=many", "max_overflow=-1", "pool_size=1&pool_size=2", "max_overflow=2.5"]
)
def test_pool_options_are_checked(query: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_url(f"postgresql://h/db?{query}")
    assert refused.value.code == "invalid_store_url"


def test_pool_options_are_server_options() -> None:
    with pytest.raises(InvalidRequest, match="pool_size"):
        parse_url("sqlite:///care.db?pool_size=2")


def test_pool_options_size_both_pools(postgresql_schema: str) -> None:
    url = schema_url(postgresql_schema, pool_size="3", max_overflow="0")
    native = AsyncSqlStore.from_url(url)
    blocking = SqlStore(parse_url(url))
    try:
        engines = (native.engine.sync_engine, native.read_engine.sync_engine, blocking.engine, blocking.read_engine)
        for engine in engines:
            pool: Any = engine.pool
            assert (pool.size(), pool._max_overflow) == (3, 0)
        default: Any = SqlStore(parse_url(schema_url(postgresql_schema))).engine.pool
        assert (default.size(), default._max_overflow) == (5, 10)  # SQLAlchemy's
    finally:
        blocking.close()
        asyncio.run(native.aclose())


def test_the_schema_is_checked_on_first_use_and_created_on_request(postgresql_schema: str) -> None:
    url = schema_url(postgresql_schema, **POOL)

    async def main() -> None:
        async with careaccess.aio.connect(url) as access:  # opening connects to nothing
            with pytest.raises(SchemaMismatch) as missing:
                await access.store.get_clinic("c1")
            assert missing.value.code == "schema_missing"
        store = AsyncSqlStore.from_url(url, create=True)
        try:
            await asyncio.gather(*(store.prepare() for _ in range(4)))  # once, however many ask
            assert await store.get_clinic("c1") is None
        finally:
            await store.aclose()

    asyncio.run(main())


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


async def _server_states(admin: sa.Engine, tag: str) -> list[str]:
    """The states of the store's connections as the server sees them (``idle``, ``active``, ...)."""
    sql = "SELECT state FROM pg_stat_activity WHERE application_name = :tag"

    def states() -> list[str]:
        with admin.connect() as connection:
            return [row[0] for row in connection.execute(sa.text(sql), {"tag": tag})]

    return await asyncio.to_thread(states)


async def _changes_cancelled_mid_flight(url: str, tag: str, admin: sa.Engine, seed: int) -> None:
    rng = random.Random(seed)
    directory = StaticDirectory([Resident(p, "Avbruten", None) for p in PEOPLE])
    async with careaccess.aio.connect(url, plugins=[directory], clock=lambda: NOW) as access:
        store = access.store
        assert isinstance(store, AsyncSqlStore)
        await access.put_clinic(ADMIN, Clinic("vc-cancel", "Vårdcentralen Avbrott"))
        await access.put_case_type(ADMIN, CaseType("vc-cancel", "fraga", "Fråga"))
        await access.put_case_type(ADMIN, CaseType("vc-cancel", "kbt", "KBT", restricted=True))

        async def change(person: PersonalIdentityNumber) -> None:
            await access.approve_resident(ADMIN, "vc-cancel", person)
            await access.grant_case_type(ADMIN, "vc-cancel", person, "kbt", None)

        # Every person's change is cancelled at its own point: before it reaches the
        # store, while it waits for a pooled connection, mid-transaction, at COMMIT, or after.
        tasks = [asyncio.create_task(change(person)) for person in PEOPLE]
        await asyncio.gather(*(_cancel_at(task, n if seed == 0 else rng.randrange(90)) for n, task in enumerate(tasks)))
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        assert any(isinstance(o, asyncio.CancelledError) for o in outcomes), "no change was cancelled"
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes

        # Reads cancelled at every point, a few at a time, so that many hold a connection.
        retired: list[object] = []
        for engine in (store.read_engine, store.engine):
            sa.event.listen(engine.sync_engine, "invalidate", lambda *args: retired.append(args))
        for n, person in enumerate(PEOPLE):
            reads = [
                asyncio.create_task(access.decide(person, "vc-cancel", "kbt")),
                asyncio.create_task(access.decide_many([(person, "vc-cancel", "fraga")] * 50)),
                asyncio.create_task(access.resident_access(ADMIN, "vc-cancel", person)),
            ]
            await asyncio.gather(*(_cancel_at(task, (n + i) % 12) for i, task in enumerate(reads)))
            await asyncio.gather(*reads, return_exceptions=True)

        # The same store, after: every call has ended, no connection was thrown away, none
        # is left mid-statement, mid-transaction or half-opened, and the pool serves rightly.
        while store._in_flight:
            await asyncio.sleep(0.01)
        assert retired == []
        pools: list[Any] = [store.engine.sync_engine.pool, store.read_engine.sync_engine.pool]
        assert [pool.checkedout() for pool in pools] == [0, 0]
        states = await _server_states(admin, tag)
        assert set(states) <= {"idle"}, states
        assert len(states) <= 2 * (2 + 2), states  # within the two pools' bounds
        events = await access.events(limit=1000, clinic_id="vc-cancel")
        for person in PEOPLE:
            stored = await store.get_resident_access("vc-cancel", person.digits)
            approvals = [e for e in events if e.pnr == person and e.action is Action.RESIDENT_APPROVED]
            grants = [e for e in events if e.pnr == person and e.action is Action.CASE_TYPE_GRANTED]
            has_approval = stored is not None and stored.approval is not None
            has_grant = stored is not None and any(g.case_type_id == "kbt" for g in stored.grants)
            assert len(approvals) == int(has_approval), (person, "approval and its events disagree", approvals)
            assert len(grants) == int(has_grant), (person, "grant and its events disagree", grants)
            assert has_approval or not has_grant, (person, "granted before the approval that precedes it")
            decision = await access.decide(person, "vc-cancel", "kbt")
            assert decision.allowed == has_grant, person
            assert decision.reason is (Reason.GRANTED if has_grant else Reason.NOT_GRANTED), person
        batch = await access.decide_many([(p, "vc-cancel", "fraga") for p in PEOPLE])
        assert [d.allowed for d in batch] == [
            (await store.get_resident_access("vc-cancel", p.digits)) is not None for p in PEOPLE
        ]
        assert [e.id for e in events] == sorted(e.id for e in events)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cancelled_changes_are_whole_or_absent(postgresql_schema: str, postgresql_admin: sa.Engine, seed: int) -> None:
    tag = f"aio-{postgresql_schema}"
    url = _created(postgresql_schema, application_name=tag)
    asyncio.run(_changes_cancelled_mid_flight(url, tag, postgresql_admin, seed))


def test_a_cancelled_caller_leaves_the_change_to_commit(postgresql_schema: str) -> None:
    """A change cancelled mid-transaction commits whole: the caller's cancellation does not reach it."""
    url = _created(postgresql_schema)
    person = PEOPLE[0]

    async def main() -> None:
        async with careaccess.aio.connect(url, clock=lambda: NOW) as access:
            await access.put_clinic(ADMIN, Clinic("vc-cancel", "Vårdcentralen Avbrott"))
            stored_before = len(await access.events())
            store = access.store
            assert isinstance(store, AsyncSqlStore)
            begun: list[object] = []
            sa.event.listen(store.engine.sync_engine, "begin", begun.append)
            approving = asyncio.create_task(access.approve_resident(ADMIN, "vc-cancel", person))
            while not begun:  # the change's transaction has begun
                await asyncio.sleep(0)
            approving.cancel()
            with pytest.raises(asyncio.CancelledError):
                await approving
        async with careaccess.aio.connect(url, clock=lambda: NOW) as access:  # aclose waited for it
            events = await access.events()
            assert [e.action for e in events[stored_before:]] == [Action.RESIDENT_APPROVED]
            assert (await access.decide(person, "vc-cancel", "x")).reason is Reason.UNKNOWN_CASE_TYPE
            assert (await access.resident_access(ADMIN, "vc-cancel", person)).approval is not None

    asyncio.run(main())


def test_connections_killed_by_the_server_are_replaced(postgresql_schema: str, postgresql_admin: sa.Engine) -> None:
    """The synchronous store's retries hold on the asyncio driver: a read or a change whose
    pooled connection the server killed runs once more on a new one."""
    tag = f"kill-{postgresql_schema}"
    url = _created(postgresql_schema, application_name=tag)
    kill = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :tag"

    def kill_all() -> int:
        with postgresql_admin.connect() as connection:
            return int(connection.execute(sa.text(kill), {"tag": tag}).scalar_one())

    async def main() -> None:
        async with careaccess.aio.connect(url, clock=lambda: NOW) as access:
            await access.put_clinic(ADMIN, Clinic("vc-cancel", "Vårdcentralen Avbrott"))
            await access.put_case_type(ADMIN, CaseType("vc-cancel", "fraga", "Fråga"))
            for person in PEOPLE[:3]:
                assert await asyncio.to_thread(kill_all) > 0  # every pooled connection, reads' and writes'
                assert not await access.decide(person, "vc-cancel", "fraga")
                assert await asyncio.to_thread(kill_all) > 0
                await access.approve_resident(ADMIN, "vc-cancel", person)
                assert (await access.decide(person, "vc-cancel", "fraga")).reason is Reason.APPROVED
            approved = [e for e in await access.events() if e.action is Action.RESIDENT_APPROVED]
            assert [e.pnr for e in approved] == PEOPLE[:3]

    asyncio.run(main())
