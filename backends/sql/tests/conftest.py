"""Fixtures for careaccess-sql's tests: throwaway PostgreSQL schemas.

PostgreSQL comes from ``CAREACCESS_TEST_POSTGRESQL`` (default: the local server). Each
test gets its own schema, dropped afterwards. An unreachable server skips those tests,
except under ``CI=true``, where it fails them: CI must never pass by skipping.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from sql_support import in_ci, postgresql_server_url, schema_url


@pytest.fixture(scope="session")
def postgresql_admin() -> Iterator[sa.Engine]:
    """An engine on the test server, for creating and dropping schemas."""
    url = postgresql_server_url()
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        engine.dispose()
        reason = f"PostgreSQL at {url.render_as_string()} is unreachable: {error.orig}"
        if in_ci():
            pytest.fail(f"{reason} (CI=true: PostgreSQL is required)")
        pytest.skip(f"{reason}; set CAREACCESS_TEST_POSTGRESQL to run these tests")
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
