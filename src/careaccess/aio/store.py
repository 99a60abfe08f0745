"""The asynchronous store contract, and adapters between the two flavours.

:class:`AsyncStore` promises exactly what :class:`careaccess.store.Store` promises
(docs/backends.md), each method awaitable. Three adapters connect the flavours:

- :class:`InlineStore` awaits a synchronous store that never blocks on I/O (the
  in-memory store) by calling it directly on the event loop: no thread, no copy.
- :class:`ThreadedStore` runs a synchronous store that does block (SQLite, MariaDB,
  or any third-party store) in a worker thread of its own bounded pool.
- :class:`BlockingStore` turns an :class:`AsyncStore` back into a synchronous
  :class:`~careaccess.store.Store`, driving it on an event loop in a thread of its own,
  so the one conformance suite (``careaccess.testing.conformance.StoreConformance``) holds
  both flavours to the same promises.

:class:`AsyncReachStore` is the optional capability of the resident's side, the twin of
:class:`careaccess.reachstore.ReachStore`.

.. versionadded:: 0.2
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from careaccess.models import CaseType, Clinic, Event, ResidentAccess
from careaccess.reach import ReachFacts
from careaccess.reachstore import ClinicQuery, ReachRequest
from careaccess.store import Changeset, DecisionFacts, FactsRequest, ResidentQuery, Store

__all__ = ["AsyncReachStore", "AsyncStore", "BlockingStore", "InlineStore", "ThreadedStore"]

T = TypeVar("T")


@runtime_checkable
class AsyncStore(Protocol):
    """What an asynchronous storage backend provides: :class:`~careaccess.store.Store`, awaitable.

    Every method may raise :class:`~careaccess.errors.StoreUnavailable`. A change is
    applied whole or not at all also when the awaiting task is cancelled: once
    :meth:`~AsyncStore.apply` has sent a changeset, the store finishes or abandons it atomically.
    """

    async def load_facts(self, request: FactsRequest) -> DecisionFacts:
        """All facts for one decision, in one round trip (see :meth:`Store.load_facts`)."""
        ...

    async def load_facts_many(self, requests: Sequence[FactsRequest]) -> list[DecisionFacts]:
        """Facts for many decisions, in request order."""
        ...

    async def apply(self, changeset: Changeset) -> list[Event]:
        """Check every precondition, then apply every write and append every event, atomically."""
        ...

    async def get_clinic(self, clinic_id: str) -> Clinic | None:
        """The clinic, or None."""
        ...

    async def list_case_types(self, clinic_id: str) -> list[CaseType]:
        """The clinic's case types, ordered by id."""
        ...

    async def get_resident_access(self, clinic_id: str, digits: str) -> ResidentAccess | None:
        """The approval and grants of one resident at the clinic, or None."""
        ...

    async def list_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        """Up to ``query.limit`` listed residents after ``query.after``."""
        ...

    async def read_events(self, after: str | None, limit: int, clinic_id: str | None) -> list[Event]:
        """Up to ``limit`` events after the event id ``after``, oldest first."""
        ...

    async def cursor_key(self) -> bytes:
        """The store's 32-byte cursor key (see :meth:`Store.cursor_key`)."""
        ...

    async def aclose(self) -> None:
        """Release connections; the store is not used afterwards."""
        ...


@runtime_checkable
class AsyncReachStore(AsyncStore, Protocol):
    """An asynchronous store with native indexes for the resident's side (optional).

    The same promises as :class:`careaccess.reachstore.ReachStore`, awaitable.
    :meth:`~careaccess.aio.AsyncCareAccess.clinics_for` and
    :meth:`~careaccess.aio.AsyncCareAccess.list_clinics` fall back to the plain
    :class:`AsyncStore` contract on a store that does not implement it.

    .. versionadded:: 0.2
    """

    async def list_clinics(self, query: ClinicQuery) -> list[Clinic]:
        """Up to ``query.limit`` clinics with ids greater than ``query.after`` that match, by id."""
        ...

    async def load_reach(self, request: ReachRequest) -> ReachFacts:
        """The resident's candidate facts (see :class:`~careaccess.reach.ReachFacts`), in one read.

        ``clinics`` holds every clinic where ``request.digits`` has an approval or a
        grant, and every clinic with a rule under one of ``request.area``'s keys (as
        :func:`~careaccess.reach.area_keys` gives them), with their case types and the
        resident's records there. Extra clinics are allowed, missing ones are not.
        """
        ...


class InlineStore:
    """An :class:`AsyncStore` over a synchronous store that never waits on I/O.

    For the in-memory store: every call runs directly on the event loop, so an
    awaited decision costs one coroutine step more than a synchronous one. Do not wrap
    a store that talks to a server with it; use :class:`ThreadedStore`.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def __repr__(self) -> str:
        return f"InlineStore({type(self.store).__name__})"

    async def run_sync(self, function: Callable[[Store], T]) -> T:
        """*function* of the synchronous store, run here (it does not wait on I/O)."""
        return function(self.store)

    async def load_facts(self, request: FactsRequest) -> DecisionFacts:
        return self.store.load_facts(request)

    async def load_facts_many(self, requests: Sequence[FactsRequest]) -> list[DecisionFacts]:
        return self.store.load_facts_many(requests)

    async def apply(self, changeset: Changeset) -> list[Event]:
        return self.store.apply(changeset)

    async def get_clinic(self, clinic_id: str) -> Clinic | None:
        return self.store.get_clinic(clinic_id)

    async def list_case_types(self, clinic_id: str) -> list[CaseType]:
        return self.store.list_case_types(clinic_id)

    async def get_resident_access(self, clinic_id: str, digits: str) -> ResidentAccess | None:
        return self.store.get_resident_access(clinic_id, digits)

    async def list_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        return self.store.list_residents(query)

    async def read_events(self, after: str | None, limit: int, clinic_id: str | None) -> list[Event]:
        return self.store.read_events(after, limit, clinic_id)

    async def cursor_key(self) -> bytes:
        return self.store.cursor_key()

    async def aclose(self) -> None:
        self.store.close()


class ThreadedStore:
    """An :class:`AsyncStore` that runs a blocking synchronous store in worker threads.

    For SQLite, MariaDB and third-party stores without an asynchronous driver. The
    threads come from a pool of its own (``max_workers``, default 8), so a slow store
    never takes the event loop's default executor from the rest of the service.

    A task cancelled while ``apply`` runs does not stop the worker: the changeset
    commits or fails whole in its thread, as it would have without the cancellation.
    """

    def __init__(self, store: Store, *, max_workers: int = 8) -> None:
        self.store = store
        self.max_workers = max_workers
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers, thread_name_prefix="careaccess-store")

    def __repr__(self) -> str:
        return f"ThreadedStore({type(self.store).__name__})"

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, function, *args)

    async def run_sync(self, function: Callable[[Store], T]) -> T:
        """*function* of the synchronous store, run in a worker thread."""
        return await self._run(function, self.store)

    async def load_facts(self, request: FactsRequest) -> DecisionFacts:
        return await self._run(self.store.load_facts, request)

    async def load_facts_many(self, requests: Sequence[FactsRequest]) -> list[DecisionFacts]:
        return await self._run(self.store.load_facts_many, requests)

    async def apply(self, changeset: Changeset) -> list[Event]:
        # A cancelled caller stops waiting; the worker still commits or fails the whole
        # changeset (a thread cannot be interrupted halfway).
        return await self._run(self.store.apply, changeset)

    async def get_clinic(self, clinic_id: str) -> Clinic | None:
        return await self._run(self.store.get_clinic, clinic_id)

    async def list_case_types(self, clinic_id: str) -> list[CaseType]:
        return await self._run(self.store.list_case_types, clinic_id)

    async def get_resident_access(self, clinic_id: str, digits: str) -> ResidentAccess | None:
        return await self._run(self.store.get_resident_access, clinic_id, digits)

    async def list_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        return await self._run(self.store.list_residents, query)

    async def read_events(self, after: str | None, limit: int, clinic_id: str | None) -> list[Event]:
        return await self._run(self.store.read_events, after, limit, clinic_id)

    async def cursor_key(self) -> bytes:
        return await self._run(self.store.cursor_key)

    async def finish(self) -> None:
        """Wait until every call already handed to a worker has returned (cancelled callers' too)."""
        pool = self._pool
        self._pool = concurrent.futures.ThreadPoolExecutor(self.max_workers, thread_name_prefix="careaccess-store")
        await asyncio.get_running_loop().run_in_executor(None, pool.shutdown, True)

    async def aclose(self) -> None:
        await self.finish()
        self.store.close()


class BlockingStore:
    """A synchronous :class:`~careaccess.store.Store` that drives an :class:`AsyncStore`.

    The asynchronous store lives on an event loop in a daemon thread of its own; each
    method submits a coroutine there and waits for it. Built for running the
    synchronous conformance suite and stateful check against asynchronous stores, and
    for scripts that hold only an asynchronous store.

    :param factory: builds the asynchronous store; called on the loop's thread (drivers
        such as ``redis.asyncio`` bind their connections to the loop they are made on).
    """

    def __init__(self, factory: Callable[[], AsyncStore | Awaitable[AsyncStore]]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="careaccess-blocking", daemon=True)
        self._thread.start()

        async def build() -> AsyncStore:
            made = factory()
            return await made if isinstance(made, Awaitable) else made

        self.store: AsyncStore = self._wait(build())

    def __repr__(self) -> str:
        return f"BlockingStore({self.store!r})"

    def _wait(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def load_facts(self, request: FactsRequest) -> DecisionFacts:
        return self._wait(self.store.load_facts(request))

    def load_facts_many(self, requests: Sequence[FactsRequest]) -> list[DecisionFacts]:
        return self._wait(self.store.load_facts_many(requests))

    def apply(self, changeset: Changeset) -> list[Event]:
        return self._wait(self.store.apply(changeset))

    def get_clinic(self, clinic_id: str) -> Clinic | None:
        return self._wait(self.store.get_clinic(clinic_id))

    def list_case_types(self, clinic_id: str) -> list[CaseType]:
        return self._wait(self.store.list_case_types(clinic_id))

    def get_resident_access(self, clinic_id: str, digits: str) -> ResidentAccess | None:
        return self._wait(self.store.get_resident_access(clinic_id, digits))

    def list_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        return self._wait(self.store.list_residents(query))

    def read_events(self, after: str | None, limit: int, clinic_id: str | None) -> list[Event]:
        return self._wait(self.store.read_events(after, limit, clinic_id))

    def cursor_key(self) -> bytes:
        return self._wait(self.store.cursor_key())

    def close(self) -> None:
        """Close the asynchronous store, then stop its loop and thread."""
        if self._loop.is_closed():
            return
        try:
            self._wait(self.store.aclose())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()
