"""Engines: SQLite tuned for embedded use by several processes; PostgreSQL and MariaDB servers.

Each store uses its engine in two modes, chosen by execution options:

- reads run without a transaction (autocommit): one statement, one round trip, no
  ``BEGIN``/``ROLLBACK`` around it;
- writes run in one transaction; on SQLite it starts with ``BEGIN IMMEDIATE`` so a
  writer takes the file's write lock up front and waits ``busy_timeout`` for it, instead
  of failing halfway when another process wrote first.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from careaccess_sql.options import StoreOptions

__all__ = ["MODE", "make_engines", "server_engine_arguments", "without_row_logging"]

#: The execution option that tells the begin hook whether a transaction is for writing.
MODE = "careaccess_mode"


def make_engines(options: StoreOptions) -> tuple[sa.Engine, sa.Engine]:
    """New (read, write) engines for the database the options name."""
    if options.is_sqlite:
        engine = _sqlite_engine(options)
        return (
            without_row_logging(engine.execution_options(**{MODE: "read"})),
            without_row_logging(engine.execution_options(**{MODE: "write"})),
        )
    # Two pools, each with its isolation level fixed at connect: switching it per checkout
    # costs more than the query. No pool_pre_ping either: it would double every
    # decision's round trips; a dropped connection invalidates the pool and the request
    # is retried (reads, writes that never reached COMMIT) or reported.
    read = sa.create_engine(options.database_url, **server_engine_arguments(options, "AUTOCOMMIT"))
    write = sa.create_engine(options.database_url, **server_engine_arguments(options, "READ COMMITTED"))
    return without_row_logging(read), without_row_logging(write)


def server_engine_arguments(options: StoreOptions, isolation_level: str) -> dict[str, Any]:
    """The ``create_engine`` arguments of a PostgreSQL or MariaDB pool (the asyncio store's too).

    hide_parameters: statement parameters hold identity numbers, and must not reach
    error texts, tracebacks or logs.
    """
    connect_args: dict[str, Any] = {}
    if options.schema is not None:
        # Set at connect time, so it costs no round trip per request.
        connect_args["options"] = f"-c search_path={options.schema}"
    if options.is_mariadb:
        connect_args.update(_mariadb_connect_args(options))
    arguments: dict[str, Any] = {
        "connect_args": connect_args,
        "isolation_level": isolation_level,
        "hide_parameters": True,
    }
    if options.pool_size is not None:
        arguments["pool_size"] = options.pool_size
    if options.max_overflow is not None:
        arguments["max_overflow"] = options.max_overflow
    return arguments


def without_row_logging(engine: sa.Engine) -> sa.Engine:
    """*engine*, never logging result rows: they hold identity numbers and names.

    SQLAlchemy logs every fetched row when its ``sqlalchemy.engine`` logger is at DEBUG
    (and statements at INFO, whose parameters ``hide_parameters`` hides); the row log
    is asked for through the engine's ``_should_log_debug``, answered here for this
    engine alone. A test holds SQLAlchemy to it.
    """
    engine._should_log_debug = _never  # type: ignore[method-assign]
    return engine


def _never() -> bool:
    return False


def _mariadb_connect_args(options: StoreOptions) -> dict[str, Any]:
    """PyMySQL settings: full Unicode, and strict mode so an over-long value fails instead of being cut."""
    args: dict[str, Any] = {"init_command": "SET SESSION sql_mode = 'TRADITIONAL'"}
    if "charset" not in options.database_url.query:
        args["charset"] = "utf8mb4"
    return args


def _sqlite_engine(options: StoreOptions) -> sa.Engine:
    timeout = options.busy_timeout_ms / 1000
    if options.is_memory:
        # One connection, so every use sees the same in-memory database.
        engine = sa.create_engine(
            options.database_url,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False, "timeout": timeout},
            hide_parameters=True,
        )
    else:
        engine = sa.create_engine(options.database_url, connect_args={"timeout": timeout}, hide_parameters=True)
    without_row_logging(engine)
    memory = options.is_memory
    busy = options.busy_timeout_ms

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: object) -> None:
        # Hand transaction control to the begin hook below instead of pysqlite's guesswork.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA busy_timeout = {int(busy)}")
            if not memory:
                # WAL: readers never block the writer and vice versa, across processes.
                cursor.execute("PRAGMA journal_mode = WAL")
                # Durable at every checkpoint, and a crash never corrupts a WAL database.
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        mode = connection.get_execution_options().get(MODE)
        if mode == "write":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif mode != "read":
            connection.exec_driver_sql("BEGIN")

    return engine
