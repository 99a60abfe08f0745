"""Decision reads on the driver's own connection: the hot path without Core's execution layer.

A decision is one SELECT by primary keys. Run through SQLAlchemy's ``Connection`` it
spends most of its time in the execution layer (connection wrapper, events, result
rows): about 50 µs against 6 µs for the same statement on the driver, measured on
SQLite. :class:`DriverQuery` keeps everything SQLAlchemy does that matters here — the
statement is built and compiled by SQLAlchemy once, connections come from the engine's
pool (with its connect-time settings), and every result column is converted by the
type processor SQLAlchemy itself would apply — and skips the rest.

On PostgreSQL (psycopg) the statement is prepared on each pooled connection at its
first run (``prepare=True``: parsed and planned once per connection instead of after
psycopg's default five runs), and a query built with ``binary=True`` takes its rows in
the binary format: the server sends timestamps and dates without formatting them as
text and the driver reads them without parsing text (about 15 µs of a decision's
100 µs, measured on loopback).

Connections. A read borrows the pool's connection record itself (its ``_do_get`` and
``checkin``) rather than the proxy :meth:`~sqlalchemy.pool.Pool.connect` builds around it
(the proxy, its garbage-collection finalizer and the rollback on return: 18 µs against
4.5 µs for the record's own get and put, under load). What keeps the pool correct is kept: a record
invalidated, recycled or older than the pool's last invalidation reconnects on the way
out of the pool, exactly as on a checkout; a lost connection invalidates the pool; an
interrupted read closes its connection; checkin listeners run. Nothing is left to roll
back: the read runs alone in autocommit (SQLite: without a transaction, which is checked).
A pool with checkout or reset listeners or a pre-ping, or of another class, gets the
proxy as before. On psycopg each pooled connection also keeps its cursor for these reads
(in the record's ``info``, which SQLAlchemy empties when the record reconnects).

Only single-statement reads use it; every write still runs through SQLAlchemy in one
transaction.
"""

from __future__ import annotations

import contextlib
import inspect
import operator
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, NoReturn, cast

import sqlalchemy as sa
from sqlalchemy.pool import AsyncAdaptedQueuePool, QueuePool, StaticPool

__all__ = ["ConnectionLostError", "DriverQuery"]

Processor = Callable[[Any], Any]

_fetchone = operator.methodcaller("fetchone")
_fetchall = operator.methodcaller("fetchall")

#: The pools whose connection records :meth:`DriverQuery._run_on_pool` borrows (exact types:
#: a subclass may get and return connections its own way).
_DIRECT_POOLS = (QueuePool, AsyncAdaptedQueuePool, StaticPool)


def _picker(names: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The values of *names*, in order, as a tuple (``itemgetter`` gives a lone value as is)."""
    if len(names) > 1:
        return operator.itemgetter(*names)
    return lambda params: tuple(params[name] for name in names)


def _pool_internals_known() -> bool:
    """Whether this SQLAlchemy has the pool internals :meth:`DriverQuery._run_on_pool` borrows
    (as 2.0 and 2.1 do); without them every read takes the public checkout."""
    try:
        from sqlalchemy.pool.base import _ConnectionRecord  # noqa: PLC0415 -- probed once, at import

        checkin = inspect.signature(_ConnectionRecord.checkin).parameters
    except (ImportError, AttributeError, TypeError, ValueError):
        return False
    return (
        "_fairy_was_created" in checkin
        and all(hasattr(_ConnectionRecord, name) for name in ("get_connection", "_checkin_failed", "invalidate"))
        and all(hasattr(pool, "_do_get") for pool in _DIRECT_POOLS)
    )


#: Whether records are borrowed directly at all (see :func:`_pool_internals_known`).
_POOL_INTERNALS: Final = _pool_internals_known()


def _has_checkout_hooks(pool: Any) -> bool:
    """Whether a checkout of *pool* runs code of its own: listeners, a pre-ping, a reset."""
    dispatch = pool.dispatch
    return bool(dispatch.checkout or dispatch.reset or pool._pre_ping)


class ConnectionLostError(Exception):
    """The connection died under the query; it has been dropped from the pool."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class DriverQuery:
    """One compiled SELECT, run on a pooled driver connection.

    :param engine: the engine whose pool and dialect to use (reads: the autocommit one).
    :param statement: a SELECT whose bound parameters are all given by name at run time.
    :param lock: held around each run (in-memory SQLite shares one connection).
    :param binary: on psycopg, rows come in the binary format (the columns' Python types
        are the same in either format; only the wire and the parsing differ).
    """

    def __init__(
        self,
        engine: sa.Engine,
        statement: sa.Select[Any],
        lock: contextlib.AbstractContextManager[object] | None = None,
        *,
        binary: bool = False,
    ) -> None:
        dialect = engine.dialect
        # The engine that holds the pool (an engine with other execution options shares its
        # parent's, behind a property): read afresh at each run, as dispose() replaces it.
        self._pool_holder: sa.Engine = getattr(engine, "_proxied", engine)
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._dialect = dialect
        self._dbapi_error: type[Exception] = dialect.loaded_dbapi.Error
        # (A nullcontext, as a store on a file or a server passes, is no lock: skipped.)
        self._lock = None if lock is None or isinstance(lock, contextlib.nullcontext) else lock
        # psycopg's own connection (not SQLAlchemy's adapter of its async one, whose cursor takes neither option).
        psycopg = dialect.driver == "psycopg" and not dialect.is_async
        #: Keyword arguments of the driver's ``cursor()`` and ``execute()`` (psycopg's own).
        self._cursor_options: dict[str, Any] = {"binary": True} if psycopg and binary else {}
        self._execute_options: dict[str, Any] = {"prepare": True} if psycopg else {}
        #: psycopg: each pooled connection keeps its cursor for this query's options in its
        #: record's ``info`` (which SQLAlchemy empties whenever the record reconnects).
        self._cursor_key: tuple[str, bool] | None = ("careaccess_driver_cursor", binary) if psycopg else None
        self._sqlite = dialect.name == "sqlite"
        # The record is borrowed directly only where a read leaves nothing to reset: SQLite
        # (which the store runs without implicit transactions; checked after each read)
        # and pools whose connections are in autocommit.
        isolation = getattr(dialect, "_on_connect_isolation_level", None)
        self._direct = _POOL_INTERNALS and (self._sqlite or isolation == "AUTOCOMMIT")
        self._order: Sequence[str] | None = compiled.positiontup if compiled.positional else None
        #: The positional arguments, in the statement's order, of the parameters by name.
        self._pick: Callable[[Mapping[str, Any]], tuple[Any, ...]] | None = None
        if self._order is not None:
            self._pick = _picker(tuple(self._order))
        # Values the statement binds itself (literals such as JSON paths), by parameter name.
        self._fixed = {name: value for name, value in compiled.params.items() if value is not None}
        # The processors SQLAlchemy applies to these columns on this dialect (None: as is).
        self._columns = list(statement.selected_columns)
        processors = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in self._columns]
        #: Called with the SQL and its arguments before each run (tracing, tests); SQLAlchemy's
        #: cursor events do not see these statements.
        self.listeners: list[Callable[[str, Any], None]] = []
        self._processors: list[tuple[int, Processor]] = [
            (index, processor) for index, processor in enumerate(processors) if processor is not None
        ]

    def _arguments(self, params: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        if self._fixed:
            params = {**self._fixed, **params}
        return params if self._pick is None else self._pick(params)

    def _convert(self, row: Sequence[Any]) -> tuple[Any, ...]:
        if not self._processors:
            return tuple(row)
        values = list(row)
        for index, processor in self._processors:
            values[index] = processor(values[index])
        return tuple(values)

    def _run(self, params: Mapping[str, Any], fetch: Callable[[Any], Any]) -> Any:
        arguments = self._arguments(params)
        for listener in self.listeners:
            listener(self.sql, arguments)
        if self._lock is None:
            return self._run_on_pool(arguments, fetch)
        with self._lock:
            return self._run_on_pool(arguments, fetch)

    def _run_on_pool(self, arguments: Any, fetch: Callable[[Any], Any]) -> Any:
        """Borrow the pool's connection record itself, without the proxy a checkout builds.

        What :meth:`sqlalchemy.pool.Pool.connect` does, less what a single read in
        autocommit needs not: the proxy object, its garbage-collection finalizer and the
        reset (a rollback) on return. A record found invalidated, recycled or older than
        the pool's last invalidation is reconnected by ``get_connection`` exactly as on a
        checkout; a lost connection invalidates the pool as :meth:`_run_proxied` does.
        Only used when no checkout, reset or pre-ping hook is set on the pool (those
        need the proxy), and only on an autocommit connection (nothing to roll back).
        """
        # The engine's current pool, each time: dispose() (after a fork, or below) replaces it.
        pool: Any = self._pool_holder.pool  # its records are used below their public type
        if (
            not self._direct
            or type(pool) not in _DIRECT_POOLS
            # A StaticPool hands its one record to every thread: borrowed directly (its kept
            # cursor shared) only under the store's lock, as the in-memory SQLite store runs it.
            or (type(pool) is StaticPool and self._lock is None)
            or _has_checkout_hooks(pool)
        ):
            return self._run_proxied(pool, arguments, fetch)
        record = pool._do_get()
        try:
            connection = record.get_connection()
        except BaseException as error:
            record._checkin_failed(error, _fairy_was_created=False)
            raise
        cursor = None
        try:
            if self._cursor_key is None:
                cursor = connection.cursor()
                cursor.execute(self.sql, arguments)
                result = fetch(cursor)
                cursor.close()  # an open SQLite statement would pin its read snapshot
                if self._sqlite and connection.in_transaction:  # pragma: no cover - reads never begin one
                    connection.rollback()
            else:
                cursor = self._cursor(record, connection)
                cursor.execute(self.sql, arguments, **self._execute_options)
                result = fetch(cursor)
        except BaseException as error:
            self._failed(pool, record, connection, cursor, error)
        record.checkin(_fairy_was_created=False)
        return result

    def _cursor(self, record: Any, connection: Any) -> Any:
        """A new cursor, or (psycopg) the one the connection keeps for this query's options."""
        if self._cursor_key is None:
            return connection.cursor(**self._cursor_options)
        info = record.info
        cursor = info.get(self._cursor_key)
        if cursor is None:
            cursor = info[self._cursor_key] = connection.cursor(**self._cursor_options)
        return cursor

    def _failed(self, pool: Any, record: Any, connection: Any, cursor: Any, error: BaseException) -> NoReturn:
        """Give a borrowed record back after *error*, and raise it (a lost connection as ConnectionLostError)."""
        lost = isinstance(error, self._dbapi_error) and self._dialect.is_disconnect(
            cast("Any", error), connection, cursor
        )
        try:
            if lost or not isinstance(error, Exception):
                # Lost (as Pool._invalidate: every connection made before this one is
                # retired too), or cancelled or interrupted mid-query: the connection
                # never serves another request.
                if lost and pool._invalidate_time < record.starttime:
                    pool._invalidate_time = time.time()
                record.invalidate(error)
            else:
                if self._cursor_key is not None:
                    record.info.pop(self._cursor_key, None)  # a new cursor for the next read
                if cursor is not None:
                    cursor.close()  # an open SQLite statement would pin its read snapshot
                connection.rollback()  # as the pool's reset on return
        except Exception as failed:  # the cleanup failed: the connection is not to be trusted
            record.invalidate(failed)
        finally:
            record.checkin(_fairy_was_created=False)
        if lost:
            raise ConnectionLostError(error) from error
        raise error

    def _run_proxied(self, pool: Any, arguments: Any, fetch: Callable[[Any], Any]) -> Any:
        """The run on a connection checked out through the pool's proxy (events, pre-ping, reset)."""
        connection = pool.connect()
        cursor = None
        try:
            cursor = connection.cursor(**self._cursor_options)
            cursor.execute(self.sql, arguments, **self._execute_options)
            result = fetch(cursor)
            cursor.close()
        except self._dbapi_error as error:
            if self._dialect.is_disconnect(cast("Any", error), connection, cursor):  # a driver Error
                # The server likely dropped every connection (restart, failover): retire
                # this connection and every one made before it, as SQLAlchemy's own
                # Connection does on a disconnect. Not dispose(): a new pool per lost
                # connection leaves the old pools' checked-out connections open until
                # garbage collection, and under repeated kills the server runs out of slots.
                pool._invalidate(connection, error)
                raise ConnectionLostError(error) from error
            if cursor is not None:
                cursor.close()  # an open SQLite statement would pin its read snapshot
            raise
        except BaseException as interrupted:
            if not isinstance(interrupted, Exception):
                # Cancelled or interrupted mid-query (asyncio.CancelledError, KeyboardInterrupt):
                # the connection's state is unknown, so it never serves another request (as
                # SQLAlchemy's own Connection does).
                connection.invalidate(interrupted)
            raise
        finally:
            connection.close()  # back to the pool (a no-op for an invalidated one)
        return result

    @property
    def processors(self) -> list[Processor | None]:
        """The processor SQLAlchemy applies to each result column on this dialect (None: as is)."""
        found: list[Processor | None] = [None] * len(self._columns)
        for index, processor in self._processors:
            found[index] = processor
        return found

    @property
    def types(self) -> list[sa.types.TypeEngine[Any]]:
        """The SQL type of each result column."""
        return [column.type for column in self._columns]

    def first_raw(self, params: Mapping[str, Any]) -> Sequence[Any] | None:
        """The first row as the driver returns it (see :attr:`processors`), or None."""
        # _run, inlined: this is the hot path.
        arguments = params if self._pick is None and not self._fixed else self._arguments(params)
        for listener in self.listeners:
            listener(self.sql, arguments)
        if self._lock is None:
            return self._run_on_pool(arguments, _fetchone)  # type: ignore[no-any-return]
        with self._lock:
            return self._run_on_pool(arguments, _fetchone)  # type: ignore[no-any-return]

    def all_raw(self, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        """Every row as the driver returns it (see :attr:`processors`)."""
        return self._run(params, _fetchall)  # type: ignore[no-any-return]

    def first(self, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row, converted, or None."""
        row = self._run(params, _fetchone)
        return None if row is None else self._convert(row)

    def all(self, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row, converted."""
        rows = self._run(params, _fetchall)
        return [self._convert(row) for row in rows]
