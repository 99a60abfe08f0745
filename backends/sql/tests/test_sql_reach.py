"""The resident's side on every database this backend opens: native, and the core's fallback on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from careaccess.store import Store
from careaccess.testing.conformance_reach import ReachConformance

from careaccess_sql import SqlStore


class TestSqliteReach(ReachConformance):
    expects_reach_capability = True
    directory_clinics = 10_000

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        store = SqlStore.open(f"sqlite:///{tmp_path / 'careaccess.db'}")
        yield store
        store.close()


class TestPostgresqlReach(ReachConformance):
    expects_reach_capability = True
    directory_clinics = 10_000

    @pytest.fixture
    def store(self, postgresql_url: str) -> Iterator[Store]:
        store = SqlStore.open(postgresql_url, create=True)
        yield store
        store.close()


class TestMariadbReach(ReachConformance):
    expects_reach_capability = True
    directory_clinics = 10_000

    @pytest.fixture
    def store(self, mariadb_url: str) -> Iterator[Store]:
        store = SqlStore.open(mariadb_url, create=True)
        yield store
        store.close()
