"""The resident's side on every database this backend opens: native, and the core's fallback on it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from careaccess import Residence
from careaccess.reach import residence_keys
from careaccess.reachstore import ClinicQuery, ReachRequest
from careaccess.store import Store
from careaccess.testing.conformance_reach import ReachConformance

from careaccess_sql import SqlStore, parse_url


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


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'care.db'}"
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


def test_upgrade_indexes_the_clinics_already_stored(database: str) -> None:
    """Revision 0003 fills the place and name tables from the clinics written before it."""
    store = SqlStore(parse_url(database))
    try:
        store.upgrade("0002")
        area = {"rules": [{"region": "01", "municipality": "0180"}, {"region": "03"}]}
        with store.engine.connect() as connection, connection.begin():
            connection.execute(
                store.tables.clinics.insert(),
                [
                    {"id": "c1", "name": "Vårdcentralen  ÖST", "service_area": json.dumps(area)},
                    {"id": "c2", "name": "Nätläkaren", "service_area": json.dumps({"rules": [{}]})},
                ],
            )
        store.upgrade()
        assert [c.id for c in store.list_clinics(ClinicQuery(10, municipality="0180"))] == ["c1"]
        assert [c.id for c in store.list_clinics(ClinicQuery(10, region="03"))] == ["c1"]
        assert [c.id for c in store.list_clinics(ClinicQuery(10, name_contains="centralen öst"))] == ["c1"]
        facts = store.load_reach(ReachRequest("198001012429", residence_keys(None)))
        assert [c.id for c in facts.clinics] == ["c2"]
        facts = store.load_reach(ReachRequest("198001012429", residence_keys(Residence("03", "0380"))))
        assert sorted(c.id for c in facts.clinics) == ["c1", "c2"]
    finally:
        store.close()
