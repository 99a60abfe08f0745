"""Fixtures for careaccess-sql's tests: throwaway PostgreSQL schemas and MariaDB databases.

PostgreSQL comes from ``CAREACCESS_TEST_POSTGRESQL`` and MariaDB from
``CAREACCESS_TEST_MARIADB`` (default: the local servers). Each test gets its own
PostgreSQL schema or MariaDB database, dropped afterwards. An unreachable server (or a
missing driver) skips those tests, except under ``CI=true``, where it fails them: CI
must never pass by skipping.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from careaccess_sql import SqlStore
from sql_support import (
    Server,
    create_database,
    database_url,
    drop_database,
    in_ci,
    mariadb_server_url,
    postgresql_server_url,
    schema_url,
)


def _server(url: sa.URL, name: str, variable: str, extra: str) -> sa.Engine:
    """An autocommit engine on a reachable test server; otherwise skip, or under CI fail."""
    shown = url.render_as_string()
    try:
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    except ImportError as error:
        reason = f"{name}'s driver is not installed ({error}); install careaccess-sql[{extra}]"
    else:
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.OperationalError as error:
            engine.dispose()
            reason = f"{name} at {shown} is unreachable: {error.orig}"
        else:
            return engine
    if in_ci():
        pytest.fail(f"{reason} (CI=true: {name} is required)")
    pytest.skip(f"{reason}; set {variable} to run these tests")


@pytest.fixture(scope="session")
def postgresql_admin() -> Iterator[sa.Engine]:
    """An engine on the test server, for creating and dropping schemas."""
    engine = _server(postgresql_server_url(), "PostgreSQL", "CAREACCESS_TEST_POSTGRESQL", "postgresql")
    yield engine
    engine.dispose()


@pytest.fixture
def postgresql_schema(postgresql_admin: sa.Engine) -> Iterator[str]:
    """A new, empty schema, dropped with everything in it afterwards."""
    schema = f"careaccess_test_{secrets.token_hex(6)}"
    with postgresql_admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield schema
    with postgresql_admin.connect() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def postgresql_url(postgresql_schema: str) -> str:
    """A store URL for a new, empty schema (without ``create``)."""
    return schema_url(postgresql_schema)


@pytest.fixture(scope="session")
def mariadb_admin() -> Iterator[sa.Engine]:
    """An engine on the MariaDB test server, for creating, dropping and killing."""
    engine = _server(mariadb_server_url(), "MariaDB", "CAREACCESS_TEST_MARIADB", "mysql")
    yield engine
    engine.dispose()


@pytest.fixture
def mariadb_database(mariadb_admin: sa.Engine) -> Iterator[str]:
    """A new, empty database, dropped with everything in it afterwards."""
    database = create_database(mariadb_admin)
    yield database
    drop_database(mariadb_admin, database)


@pytest.fixture
def mariadb_url(mariadb_database: str) -> str:
    """A store URL for a new, empty MariaDB database (without ``create``)."""
    return database_url(mariadb_database)


@pytest.fixture(params=["postgresql", "mariadb"])
def server(request: pytest.FixtureRequest) -> Server:
    """A new, empty PostgreSQL schema or MariaDB database, with its server's fault tools."""
    if request.param == "postgresql":
        schema: str = request.getfixturevalue("postgresql_schema")
        url = schema_url(schema, application_name=schema)
        return Server(url, request.getfixturevalue("postgresql_admin"), schema)
    database: str = request.getfixturevalue("mariadb_database")
    return Server(database_url(database), request.getfixturevalue("mariadb_admin"), database)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    """A new store with its schema, on a SQLite file, PostgreSQL and MariaDB in turn."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'care.db'}"
    else:
        url = request.getfixturevalue(f"{request.param}_url")
    store = SqlStore.open(url, create=True)
    yield store
    store.close()
