"""``AsyncRedisStore``: the careaccess store on ``redis.asyncio``, one server or a Redis Cluster.

Every read and change is the synchronous store's own step generator (:mod:`.steps`,
:mod:`.operations`, :mod:`.facts`, :mod:`.feed`) driven by an asyncio client: the same
scripts, keys, requests and decoding, sent without a thread. So an awaited decision is
one ``EVALSHA`` round trip on the event loop, and ``decide_many`` one script call per
chunk of requests (per hash slot on a cluster), pipelined.

Cancellation. :meth:`AsyncRedisStore.apply` runs each changeset in a task of its own
that the caller's cancellation does not reach (:func:`asyncio.shield`): once ``apply``
is called, the change is applied whole with its events by its one ``APPLY`` script
call (atomic on the server), or fails whole, whether or not anyone still awaits it. A
NOSCRIPT answer means the script did not run, so loading it and calling again cannot
apply a change twice; a call that redis-py repeats after a dropped connection is
applied once (its replay token). A cancelled *read* leaves no half-read reply behind:
redis-py closes a connection whose command was interrupted, so the next command gets
a fresh connection. :meth:`AsyncRedisStore.aclose` waits for changes still in flight.

The resident's side (:mod:`.reach`) runs the same way: the index entries of a change
are added, as by the synchronous store, before its script runs, and ``clinics_for`` and
``list_clinics`` read the indexes and each candidate clinic with the steps of
:class:`~careaccess_redis.reach.RedisReach`. A store written before the indexes existed
is answered by the core's asynchronous fallback (:mod:`careaccess.aio.reach`) until
``careaccess db upgrade`` has built them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from careaccess import InvalidRequest
from careaccess.aio import reach as fallback
from careaccess.models import CaseType, Clinic, Event, ResidentAccess
from careaccess.reach import ReachFacts
from careaccess.reachstore import ClinicQuery, ReachRequest
from careaccess.store import Changeset, DecisionFacts, FactsRequest, ResidentQuery
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.exceptions import RedisClusterException, RedisError

from careaccess_redis import facts, feed, lua, operations
from careaccess_redis.connection import Client, async_retry, flag, is_down, reachable, split_url, unavailable
from careaccess_redis.keys import KeySchema
from careaccess_redis.reach import RedisReach
from careaccess_redis.steps import Steps, arun
from careaccess_redis.store import INDEXED_NAME_BUDGET, NAME_SEARCH_BUDGET

__all__ = ["AsyncClient", "AsyncRedisStore"]

AsyncClient = AsyncRedis | AsyncRedisCluster
T = TypeVar("T")


class AsyncRedisStore:
    """A :class:`careaccess.aio.store.AsyncStore` (and ``AsyncReachStore``) on ``redis.asyncio``.

    Build it with :meth:`from_url` or from a ready ``redis.asyncio`` client
    (``decode_responses=True``). Use it on one event loop: redis-py's asyncio
    connections belong to the loop they were opened on.
    """

    def __init__(self, client: AsyncClient, *, prefix: str = "careaccess:") -> None:
        self.client = client
        self.keys = KeySchema(prefix)
        self.cluster = isinstance(client, AsyncRedisCluster)
        # Only its steps are used here, driven on the asyncio client (never its blocking methods).
        self.reach = RedisReach(cast(Client, client), self.keys)
        self._cursor_key: bytes | None = None
        self._in_flight: set[asyncio.Task[list[Event]]] = set()

    def __repr__(self) -> str:
        return f"AsyncRedisStore({type(self.client).__name__}, prefix={self.keys.prefix!r})"

    @classmethod
    def from_url(cls, url: str) -> AsyncRedisStore:
        """Open ``redis://``, ``rediss://`` or ``unix://`` URLs, as :meth:`RedisStore.from_url` does.

        Query options: ``prefix`` (default ``careaccess:``), ``cluster=true`` for Redis
        Cluster; every other query option is redis-py's (e.g. ``socket_timeout``).

        :raises InvalidRequest: ``invalid_store_url`` for a bad prefix or ``cluster=`` value.
        """
        plain, options = split_url(url)
        prefix = options.get("prefix", "careaccess:")
        cluster = flag(options.get("cluster", ""))
        settings: dict[str, Any] = {"decode_responses": True}
        client: AsyncClient
        with reachable():
            if cluster:
                client = AsyncRedisCluster.from_url(plain, retry=async_retry(), **settings)
            else:
                client = AsyncRedis.from_url(plain, retry=async_retry(), **settings)
        try:
            return cls(client, prefix=prefix)
        except ValueError as error:
            raise InvalidRequest("invalid_store_url", str(error), "Ogiltigt prefix i lagringsadressen.") from error

    async def run_steps(self, steps: Steps[T]) -> T:
        """Drive a step generator of this store (see :mod:`careaccess_redis.steps`) on its client."""
        return await arun(self.client, steps)

    async def aclose(self) -> None:
        """Wait for changes still in flight, then close the client."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self.client.aclose()

    async def load_scripts(self) -> None:
        """Load the Lua scripts now (they are also loaded on first use; on every primary of a cluster)."""
        try:
            for script in lua.SCRIPTS:
                await self.client.script_load(script.source)
        except (RedisError, RedisClusterException) as error:
            raise unavailable(error) if is_down(error) else error from error

    # -- decisions ---------------------------------------------------------------------

    async def load_facts(self, request: FactsRequest) -> DecisionFacts:
        """Every stored fact for one decision: one script call (see :func:`careaccess_redis.facts.load_facts`)."""
        call = facts.facts_call(self.keys, request)
        return facts.decode_facts(request, await self.run_steps(_one(call)))

    async def load_facts_many(self, requests: Sequence[FactsRequest]) -> list[DecisionFacts]:
        """Facts for many decisions: one script call per chunk (per hash slot on a cluster), pipelined."""
        return await self.run_steps(facts.facts_many_steps(self.keys, self.cluster, requests))

    async def get_clinic(self, clinic_id: str) -> Clinic | None:
        return await self.run_steps(operations.get_clinic(self.keys, clinic_id))

    async def list_case_types(self, clinic_id: str) -> list[CaseType]:
        return await self.run_steps(operations.list_case_types(self.keys, clinic_id))

    async def get_resident_access(self, clinic_id: str, digits: str) -> ResidentAccess | None:
        return await self.run_steps(operations.get_resident_access(self.keys, clinic_id, digits))

    async def list_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        """Up to ``query.limit`` listed residents matching *query* (see :meth:`RedisStore.list_residents`)."""
        return await self.run_steps(
            operations.list_residents(self.keys, query, NAME_SEARCH_BUDGET, INDEXED_NAME_BUDGET)
        )

    async def read_events(self, after: str | None, limit: int, clinic_id: str | None) -> list[Event]:
        """Up to *limit* events after the event id *after*, oldest first (see :mod:`careaccess_redis.feed`)."""
        return await self.run_steps(feed.read_events_steps(self.keys, self.cluster, after, limit, clinic_id))

    async def cursor_key(self) -> bytes:
        """The store's 32-byte cursor key, shared with every other client of the store."""
        if self._cursor_key is None:
            self._cursor_key = await self.run_steps(operations.cursor_key(self.keys))
        return self._cursor_key

    # -- changes -----------------------------------------------------------------------

    async def apply(self, changeset: Changeset) -> list[Event]:
        """Check the preconditions, write and append every event: one script call, all or nothing.

        The change runs in a task of its own, shielded from the caller's cancellation
        (see the module docs): a cancelled caller leaves it whole or absent.

        :raises Conflict: the first failing precondition's, nothing written.
        """
        task = asyncio.create_task(self._apply(changeset))
        self._in_flight.add(task)
        task.add_done_callback(_forget(self._in_flight))
        return await asyncio.shield(task)

    async def _apply(self, changeset: Changeset) -> list[Event]:
        # Index entries first (as the synchronous store): a crash leaves extras, never gaps.
        await self.run_steps(self.reach.prepare_steps(changeset.writes))
        return await self.run_steps(operations.apply(self.keys, self.cluster, changeset))

    async def build_name_index(self) -> int:
        """Build the name search's index of older clinics (see :meth:`RedisStore.build_name_index`)."""
        return await self.run_steps(operations.build_name_index(self.keys))

    # -- the resident's side (AsyncReachStore, see careaccess_redis.reach) ---------------

    async def list_clinics(self, query: ClinicQuery) -> list[Clinic]:
        """One page of the clinic directory (see :meth:`RedisStore.list_clinics`)."""
        if await self.run_steps(self.reach.is_ready_steps()):
            return await self.run_steps(self.reach.list_clinics_steps(query))
        return await fallback.list_clinics_fallback(self, query)

    async def load_reach(self, request: ReachRequest) -> ReachFacts:
        """The resident's candidate clinics with each clinic's facts (see :meth:`RedisStore.load_reach`)."""
        if await self.run_steps(self.reach.is_ready_steps()):
            return await self.run_steps(self.reach.load_reach_steps(request))
        return await fallback.load_reach_fallback(self, request)


def _one(call: Any) -> Steps[Any]:
    reply = yield call
    return reply


def _forget(tasks: set[asyncio.Task[list[Event]]]) -> Callable[[asyncio.Task[list[Event]]], None]:
    def done(task: asyncio.Task[list[Event]]) -> None:
        tasks.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a caller that was cancelled never awaits it

    return done
