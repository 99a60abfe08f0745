"""Shared by the tests and the scripts: where the test PostgreSQL and MariaDB servers are."""

from __future__ import annotations

import os
import secrets

import sqlalchemy as sa
from attrs import frozen

__all__ = [
    "DEFAULT_MARIADB",
    "DEFAULT_POSTGRESQL",
    "Server",
    "create_database",
    "database_url",
    "drop_database",
    "in_ci",
    "mariadb_server_url",
    "postgresql_server_url",
    "schema_url",
    "with_options",
]

DEFAULT_POSTGRESQL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_MARIADB = "mariadb+pymysql://root@127.0.0.1:3306/test"
# MariaDB's "Unknown thread id": the connection to kill has already gone.
UNKNOWN_THREAD = 1094


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def postgresql_server_url() -> sa.URL:
    """The test server, from ``CAREACCESS_TEST_POSTGRESQL`` or the local default."""
    return sa.make_url(os.environ.get("CAREACCESS_TEST_POSTGRESQL", DEFAULT_POSTGRESQL))


def mariadb_server_url() -> sa.URL:
    """The MariaDB test server, from ``CAREACCESS_TEST_MARIADB`` or the local default."""
    return sa.make_url(os.environ.get("CAREACCESS_TEST_MARIADB", DEFAULT_MARIADB))


def schema_url(schema: str, **options: str) -> str:
    """A store URL for *schema* on the test server, with more query options."""
    url = postgresql_server_url()
    return url.update_query_dict({"schema": schema, **options}).render_as_string(hide_password=False)


def database_url(database: str, **options: str) -> str:
    """A store URL for *database* on the MariaDB test server, with more query options."""
    url = mariadb_server_url().set(database=database)
    return url.update_query_dict(options).render_as_string(hide_password=False)


def with_options(url: str, **options: str) -> str:
    """*url* with more query options."""
    return sa.make_url(url).update_query_dict(options).render_as_string(hide_password=False)


def create_database(admin: sa.Engine, stem: str = "careaccess_test") -> str:
    """A new, empty database on the MariaDB server *admin* is connected to; its name."""
    database = f"{stem}_{secrets.token_hex(6)}"
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE `{database}`"))
        if connection.in_transaction():
            connection.commit()
    return database


def drop_database(admin: sa.Engine, database: str) -> None:
    """Drop a database made by :func:`create_database`, with everything in it."""
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS `{database}`"))
        if connection.in_transaction():
            connection.commit()


@frozen
class Server:
    """A test database on a PostgreSQL or MariaDB server, and what fault tests do to its connections.

    The store's connections carry *tag*: PostgreSQL's ``application_name``, MariaDB's
    database name (each test has its own).
    """

    #: A store URL for the test database (without ``create``), whose connections carry the tag.
    url: str
    admin: sa.Engine
    tag: str

    @property
    def is_mariadb(self) -> bool:
        return self.admin.dialect.name in ("mysql", "mariadb")

    def kill_all(self, *, busy: bool = False) -> int:
        """Kill the server side of the store's connections (with *busy*, of those in a statement
        or transaction); how many were killed."""
        with self.admin.connect() as connection:
            if not self.is_mariadb:
                sql = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :tag"
                if busy:
                    sql += " AND state <> 'idle'"
                return int(connection.execute(sa.text(sql), {"tag": self.tag}).scalar_one())
            sql = "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = :tag"
            if busy:
                # An idle connection inside a transaction shows as 'Sleep' too.
                in_transaction = "SELECT trx_mysql_thread_id FROM information_schema.INNODB_TRX"
                sql += f" AND (COMMAND <> 'Sleep' OR ID IN ({in_transaction}))"
            ids = [int(row[0]) for row in connection.execute(sa.text(sql), {"tag": self.tag})]
            return sum(self._kill_mariadb(connection, server_id) for server_id in ids)

    def kill(self, server_id: int) -> bool:
        """Kill the server side of one connection; whether it was still there to kill."""
        with self.admin.connect() as connection:
            if self.is_mariadb:
                return self._kill_mariadb(connection, server_id)
            return bool(connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": server_id}).scalar())

    @staticmethod
    def _kill_mariadb(connection: sa.Connection, server_id: int) -> bool:
        try:
            connection.execute(sa.text(f"KILL CONNECTION {int(server_id)}"))
        except sa.exc.DBAPIError as error:
            if error.orig is None or error.orig.args[0] != UNKNOWN_THREAD:
                raise
            return False  # it ended by itself
        return True

    def lock_waiters(self) -> int:
        """How many of the store's connections wait for a row lock."""
        if self.is_mariadb:
            sql = (
                "SELECT count(*) FROM information_schema.INNODB_TRX t"
                " JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id"
                " WHERE t.trx_state = 'LOCK WAIT' AND p.DB = :tag"
            )
        else:
            sql = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = :tag"
        with self.admin.connect() as connection:
            return int(connection.execute(sa.text(sql), {"tag": self.tag}).scalar_one())

    @staticmethod
    def connection_id(connection: sa.Connection) -> int:
        """The server id of a store connection (pass it to :meth:`kill`)."""
        driver = connection.connection.driver_connection
        if connection.dialect.name in ("mysql", "mariadb"):
            return int(driver.thread_id())  # type: ignore[union-attr]
        return int(driver.info.backend_pid)  # type: ignore[union-attr]
