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

Only single-statement reads use it; every write still runs through SQLAlchemy in one
transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa

__all__ = ["ConnectionLostError", "DriverQuery"]

Processor = Callable[[Any], Any]


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
        self._engine = engine
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._dialect = dialect
        self._dbapi_error: type[Exception] = dialect.loaded_dbapi.Error
        self._lock = lock if lock is not None else contextlib.nullcontext()
        # psycopg's own connection (not SQLAlchemy's adapter of its async one, whose cursor takes neither option).
        psycopg = dialect.driver == "psycopg" and not dialect.is_async
        #: Keyword arguments of the driver's ``cursor()`` and ``execute()`` (psycopg's own).
        self._cursor_options: dict[str, Any] = {"binary": True} if psycopg and binary else {}
        self._execute_options: dict[str, Any] = {"prepare": True} if psycopg else {}
        self._order: Sequence[str] | None = compiled.positiontup if compiled.positional else None
        # Values the statement binds itself (literals such as JSON paths), by parameter name.
        self._fixed = {name: value for name, value in compiled.params.items() if value is not None}
        # The processors SQLAlchemy applies to these columns on this dialect (None: as is).
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in statement.selected_columns
        ]
        #: Called with the SQL and its arguments before each run (tracing, tests); SQLAlchemy's
        #: cursor events do not see these statements.
        self.listeners: list[Callable[[str, Any], None]] = []
        self._processors: list[tuple[int, Processor]] = [
            (index, processor) for index, processor in enumerate(processors) if processor is not None
        ]

    def _arguments(self, params: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        if self._fixed:
            params = {**self._fixed, **params}
        return params if self._order is None else tuple(params[name] for name in self._order)

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
        with self._lock:
            # The engine's current pool, each time: dispose() (after a fork, or below) replaces it.
            connection = self._engine.pool.connect()
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
                    self._engine.pool._invalidate(connection, error)
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

    def first(self, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row, converted, or None."""
        row = self._run(params, lambda cursor: cursor.fetchone())
        return None if row is None else self._convert(row)

    def all(self, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row, converted."""
        rows = self._run(params, lambda cursor: cursor.fetchall())
        return [self._convert(row) for row in rows]
