"""Hostile and careless input on SQLite, PostgreSQL and MariaDB (careaccess.testing.hostile)."""

from __future__ import annotations

import pytest
from careaccess.store import Store
from careaccess.testing.hostile import HostileChecks

from careaccess_sql import SqlStore


class TestSqlStoreHostile(HostileChecks):
    @pytest.fixture
    def store(self, store: SqlStore) -> Store:
        """conftest's store: a new schema on SQLite, PostgreSQL and MariaDB in turn."""
        return store
