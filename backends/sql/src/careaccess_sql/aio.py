"""``AsyncSqlStore``: the careaccess store on PostgreSQL through psycopg's asyncio connections.

The store is SQLAlchemy's asyncio extension over psycopg 3's ``AsyncConnection``: two
``AsyncEngine`` pools (reads in autocommit, writes at ``READ COMMITTED``, as the
synchronous store's) whose synchronous faces run an ordinary
:class:`~careaccess_sql.SqlStore`. Each call runs that store's own method in
SQLAlchemy's greenlet bridge (``greenlet_spawn``), where every driver call awaits
psycopg on the event loop — the mechanism SQLAlchemy's ``AsyncConnection`` itself is
built on. So the statements, the decision reads on the driver
(:mod:`~careaccess_sql.driverquery`), the row decoding, the changeset's translation
(:mod:`~careaccess_sql.writes`), the retries and error mapping
(:mod:`~careaccess_sql.transactions`), the resident's side (:mod:`~careaccess_sql.reach`)
and the migrations are the synchronous store's, unchanged; no thread is used.

Cancellation. No call is interrupted midway: each runs in a task of its own that the
caller's cancellation does not reach (:func:`asyncio.shield`). A cancelled caller stops
waiting at once; its call goes on to the end on its own. So once :meth:`AsyncSqlStore.apply`
is called, its transaction commits whole with its events or rolls back whole, whether or
not anyone still awaits it, and every connection goes back to the pool only after its
statement, COMMIT or ROLLBACK has finished — never mid-statement or mid-transaction,
and never half-opened (psycopg leaves a connection whose opening is cancelled to the
garbage collector, still open on the server until then). :meth:`AsyncSqlStore.aclose`
waits for the calls still running. Should the loop itself cancel a call (at shutdown),
SQLAlchemy and :class:`~careaccess_sql.driverquery.DriverQuery` close its connection
instead of pooling it, and the server rolls its transaction back.

SQLite and MariaDB have no asynchronous store here: :func:`careaccess.aio.connect` runs
their synchronous store in worker threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from careaccess.errors import InvalidRequest
from careaccess.models import CaseType, Clinic, Event, ResidentAccess
from careaccess.reach import ReachFacts
from careaccess.reachstore import ClinicQuery, ReachRequest
from careaccess.store import Changeset, DecisionFacts, FactsRequest, ResidentQuery
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import greenlet_spawn

from careaccess_sql.engine import server_engine_arguments, without_row_logging
from careaccess_sql.options import StoreOptions, parse_url
from careaccess_sql.store import SqlStore

__all__ = ["ASYNC_DRIVER", "AsyncSqlStore"]

T = TypeVar("T")

#: The SQLAlchemy driver the asyncio store connects with: psycopg 3's ``AsyncConnection``.
ASYNC_DRIVER = "postgresql+psycopg_async"


class AsyncSqlStore:
    """A :class:`careaccess.aio.store.AsyncStore` (and ``AsyncReachStore``) on PostgreSQL.

    Build it with :meth:`from_url` from a ``postgresql://``, ``postgres://`` or
    ``postgresql+psycopg://`` store URL, with the synchronous store's URL options
    (``prefix``, ``schema``, ``create``, ``pool_size``, ``max_overflow``). Opening makes
    no connection; the schema is checked (with ``create=true``, created or upgraded)
    by :meth:`prepare`, or by the first call that needs the database. Use a store on
    one event loop: its pooled connections belong to the loop that opened them.

    :raises InvalidRequest: ``invalid_store_url`` for a URL that is not PostgreSQL's.
    """

    def __init__(self, options: StoreOptions, *, create: bool | None = None) -> None:
        if not options.is_postgresql:
            raise InvalidRequest(
                "invalid_store_url",
                "The asyncio SQL store opens PostgreSQL URLs only; SQLite and MariaDB run in threads.",
                "Den asynkrona SQL-lagringen öppnar bara PostgreSQL-adresser; SQLite och MariaDB körs i trådar.",
            )
        self.options = options
        url = options.database_url.set(drivername=ASYNC_DRIVER)
        #: The pool of single-statement reads (autocommit).
        self.read_engine: AsyncEngine = create_async_engine(url, **server_engine_arguments(options, "AUTOCOMMIT"))
        #: The pool of write transactions and migrations.
        self.engine: AsyncEngine = create_async_engine(url, **server_engine_arguments(options, "READ COMMITTED"))
        without_row_logging(self.read_engine.sync_engine)
        without_row_logging(self.engine.sync_engine)
        #: The synchronous store every call runs, on the engines' synchronous faces.
        self.sync = SqlStore(options, engines=(self.read_engine.sync_engine, self.engine.sync_engine))
        self._create = options.create if create is None else create
        self._prepared = False
        self._preparing = asyncio.Lock()
        self._in_flight: set[asyncio.Task[Any]] = set()

    @classmethod
    def from_url(cls, url: str, *, create: bool | None = None) -> AsyncSqlStore:
        """The store a URL names, without connecting yet.

        :param create: overrides the URL's ``create`` option.
        :raises InvalidRequest: ``invalid_store_url`` for a bad option or a URL that is
            not PostgreSQL's.
        """
        return cls(parse_url(url), create=create)

    def __repr__(self) -> str:
        return f"AsyncSqlStore({self.options.display_url!r})"

    async def prepare(self) -> None:
        """Check the schema now (with ``create``, create or upgrade it); once per store.

        Otherwise the first call does it.

        :raises SchemaMismatch: the schema is missing, out of date or too new.
        :raises StoreUnavailable: the database cannot be reached (the next call tries again).
        """
        await self._run(_nothing)

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        """*function* of the synchronous store, in a task of its own, its I/O awaited on this loop."""
        task = asyncio.ensure_future(self._call(function, *args))
        self._in_flight.add(task)
        task.add_done_callback(self._settled)
        return await asyncio.shield(task)

    async def _call(self, function: Callable[..., T], *args: Any) -> T:
        if not self._prepared:
            async with self._preparing:
                if not self._prepared:
                    await greenlet_spawn(self.sync._prepare, self._create)
                    self._prepared = True
        return await greenlet_spawn(function, *args)

    def _settled(self, task: asyncio.Task[Any]) -> None:
        """Forget a finished call, and take its outcome (a cancelled caller is not there to)."""
        self._in_flight.discard(task)
        if not task.cancelled():
            task.exception()

    async def aclose(self) -> None:
        """Wait for the calls still running, then close every pooled connection."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        try:
            await self.read_engine.dispose()
        finally:
            await self.engine.dispose()

    # -- reads ---------------------------------------------------------------------------

    async def load_facts(self, request: FactsRequest) -> DecisionFacts:
        """Every fact of one decision in one statement (see :meth:`SqlStore.load_facts`)."""
        return await self._run(self.sync.load_facts, request)

    async def load_facts_many(self, requests: Sequence[FactsRequest]) -> list[DecisionFacts]:
        """The facts of many decisions in one statement, in request order."""
        return await self._run(self.sync.load_facts_many, requests)

    async def get_clinic(self, clinic_id: str) -> Clinic | None:
        return await self._run(self.sync.get_clinic, clinic_id)

    async def list_case_types(self, clinic_id: str) -> list[CaseType]:
        return await self._run(self.sync.list_case_types, clinic_id)

    async def get_resident_access(self, clinic_id: str, digits: str) -> ResidentAccess | None:
        return await self._run(self.sync.get_resident_access, clinic_id, digits)

    async def list_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        """One page of a clinic's residents (see :meth:`SqlStore.list_residents`)."""
        return await self._run(self.sync.list_residents, query)

    async def read_events(self, after: str | None, limit: int, clinic_id: str | None) -> list[Event]:
        """Up to *limit* events after the event id *after*, oldest first.

        :raises InvalidRequest: ``invalid_cursor`` when *after* is not 16 ASCII digits.
        """
        return await self._run(self.sync.read_events, after, limit, clinic_id)

    async def cursor_key(self) -> bytes:
        """The store's 32 random bytes for opaque cursors (read once, then kept)."""
        return await self._run(self.sync.cursor_key)

    # -- writes --------------------------------------------------------------------------

    async def apply(self, changeset: Changeset) -> list[Event]:
        """Check the preconditions, write and append the events, in one transaction.

        As :meth:`SqlStore.apply`; the transaction runs in a task of its own, so a
        cancelled caller leaves it to commit or roll back whole (see the module docs).

        :returns: the stored events, in the order of ``changeset.events``.
        :raises Conflict: the first failing precondition's; nothing written.
        :raises StoreUnavailable: the database failed; the change is either fully
            committed with its events or not at all.
        """
        return await self._run(self.sync.apply, changeset)

    # -- the resident's side (AsyncReachStore) -------------------------------------------

    async def list_clinics(self, query: ClinicQuery) -> list[Clinic]:
        """One page of the clinic directory by id, filtered in the database."""
        return await self._run(self.sync.list_clinics, query)

    async def load_reach(self, request: ReachRequest) -> ReachFacts:
        """The resident's candidate clinics and facts, in one statement (one snapshot)."""
        return await self._run(self.sync.load_reach, request)


def _nothing() -> None:
    """A call that needs only the schema check every first call makes."""
