"""The careaccess Store conformance suite, unchanged, on every database this backend opens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from careaccess.store import Store
from careaccess.testing.conformance import StoreConformance

from careaccess_sql import SqlStore


class TestSqliteMemory(StoreConformance):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = SqlStore.open("sqlite://")
        yield store
        store.close()


class TestSqliteFile(StoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        store = SqlStore.open(f"sqlite:///{tmp_path / 'careaccess.db'}")
        yield store
        store.close()


class TestSqliteFilePrefixed(StoreConformance):
    """Inside an application's database: prefixed tables beside the application's own."""

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Store]:
        store = SqlStore.open(f"sqlite:///{tmp_path / 'app.db'}?prefix=careaccess_&create=true")
        yield store
        store.close()


class TestPostgresql(StoreConformance):
    @pytest.fixture
    def store(self, postgresql_url: str) -> Iterator[Store]:
        store = SqlStore.open(postgresql_url, create=True)
        yield store
        store.close()


class TestMariadb(StoreConformance):
    @pytest.fixture
    def store(self, mariadb_url: str) -> Iterator[Store]:
        store = SqlStore.open(mariadb_url, create=True)
        yield store
        store.close()


class TestMariadbThroughMysqlScheme(StoreConformance):
    """``mysql+pymysql://``: SQLAlchemy's MySQL dialect, which finds the server is MariaDB."""

    @pytest.fixture
    def store(self, mariadb_url: str) -> Iterator[Store]:
        url = sa.make_url(mariadb_url).set(drivername="mysql+pymysql").render_as_string(hide_password=False)
        store = SqlStore.open(url, create=True)
        yield store
        store.close()
