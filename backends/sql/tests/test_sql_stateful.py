"""The core's stateful model check, on SQLite in memory, PostgreSQL and MariaDB."""

from __future__ import annotations

import os
import secrets

import pytest
import sqlalchemy as sa
from careaccess.store import Store
from careaccess.testing.stateful import CareAccessMachine
from hypothesis import HealthCheck, settings

from careaccess_sql import SqlStore
from sql_support import create_database, database_url, drop_database, mariadb_server_url, schema_url


class SqliteMachine(CareAccessMachine):
    def make_store(self) -> Store:
        return SqlStore.open("sqlite://")


# CI runs at least 200 examples on every store; locally a quicker run.
# Every example builds a schema (a database on MariaDB) of its own and checks decisions,
# searches and the resident's side after every step; the rules themselves get 300 examples
# on the in-memory store (tests/test_stateful_memory.py).
EXAMPLES = 50 if os.environ.get("CI") == "true" else 25

TestSqliteMachine = SqliteMachine.TestCase
TestSqliteMachine.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


class PostgresqlMachine(CareAccessMachine):
    """Each example in its own schema, dropped when the example ends."""

    def make_store(self) -> Store:
        self.schema = f"careaccess_test_{secrets.token_hex(6)}"
        return SqlStore.open(schema_url(self.schema), create=True)

    def close_store(self, store: Store) -> None:
        assert isinstance(store, SqlStore)
        with store.engine.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            connection.commit()
        store.close()


TestPostgresqlMachine = PostgresqlMachine.TestCase
TestPostgresqlMachine.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# Skips (or under CI fails) with a clear reason when the server is unreachable.
pytest.mark.usefixtures("postgresql_admin")(TestPostgresqlMachine)


class MariadbMachine(CareAccessMachine):
    """Each example in its own database, dropped when the example ends."""

    def make_store(self) -> Store:
        # Not self.admin: the machine's acting administrator has that name.
        self.server = sa.create_engine(mariadb_server_url(), isolation_level="AUTOCOMMIT")
        self.database = create_database(self.server)
        return SqlStore.open(database_url(self.database), create=True)

    def close_store(self, store: Store) -> None:
        store.close()
        drop_database(self.server, self.database)
        self.server.dispose()


TestMariadbMachine = MariadbMachine.TestCase
TestMariadbMachine.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
pytest.mark.usefixtures("mariadb_admin")(TestMariadbMachine)
