"""Each schema revision, up and down, with data in it, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from pathlib import Path

import careaccess
import pytest
import sqlalchemy as sa
from careaccess import Actor, CaseType, Clinic
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import make_pnr

from careaccess_sql import SqlStore, head_revision, parse_url
from careaccess_sql.rows import folded

ADMIN = Actor("admin", frozenset({"c1"}))
START = dt.datetime(2026, 1, 15, 8, 30, tzinfo=dt.UTC)
PERSON = make_pnr("19450415", 987)
OTHER = make_pnr("19121212", 121)
DECOMPOSED = "A\u030asa \u00d6berg-Lind"  # "Åsa Öberg-Lind" with the Å decomposed
MAX_VERSION = 2**53 - 1
LONGEST_PREFIX = "p" * 29 + "_"  # the documented maximum: 30 characters


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database's store URL (without store options)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'care.db'}"
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


def _with(url: str, **options: str) -> str:
    return sa.make_url(url).update_query_dict(options).render_as_string(hide_password=False)


def _revision_0001_rows(store: SqlStore) -> None:
    """Rows as revision 0001 stored them: names as given, folded with str.casefold()."""
    t = store.tables
    with store.engine.begin() as connection:
        area = '{"rules":[]}'
        connection.execute(t.clinics.insert(), {"id": "c1", "name": "Vårdcentralen", "service_area": area})
        connection.execute(t.case_types.insert(), {"clinic_id": "c1", "id": "restr", "name": "B", "restricted": True})
        for pnr, name in ((PERSON.digits, DECOMPOSED), (OTHER.digits, None)):
            folded = None if name is None else name.casefold()
            row = {"clinic_id": "c1", "pnr": pnr, "name": name, "name_folded": folded}
            connection.execute(t.approvals.insert(), {**row, "approved_at": START, "approved_by": "admin"})
        grant = {"clinic_id": "c1", "pnr": PERSON.digits, "case_type_id": "restr", "until": None, "version": 7}
        by = {"granted_at": START, "granted_by": "admin", "changed_at": START}
        names = {"name": DECOMPOSED, "name_folded": DECOMPOSED.casefold()}
        connection.execute(t.grants.insert(), {**grant, **by, **names})


def _names(store: SqlStore) -> set[tuple[str, str | None, str | None]]:
    found: set[tuple[str, str | None, str | None]] = set()
    with store.engine.connect() as connection:
        for table in (store.tables.approvals, store.tables.grants):
            rows = connection.execute(sa.select(table.c.pnr, table.c.name, table.c.name_folded))
            found.update((row[0], row[1], row[2]) for row in rows)
    return found


@pytest.mark.parametrize("prefix", ["", "app_"])
def test_0002_normalizes_and_folds_names_and_goes_back(database: str, prefix: str) -> None:
    store = SqlStore(parse_url(_with(database, prefix=prefix)))
    try:
        store.upgrade("0001")
        _revision_0001_rows(store)
        assert store.upgrade() == ("0001", head_revision())
        composed = unicodedata.normalize("NFC", DECOMPOSED)
        assert _names(store) == {
            (PERSON.digits, composed, "åsa öberg lind"),
            (OTHER.digits, None, None),
        }
        found = careaccess.connect(store).list_residents(ADMIN, "c1", search="Åsa Öberg lind")
        assert [r.pnr for r in found.items] == [PERSON]
        assert store.downgrade("0001") == (head_revision(), "0001")
        # Names stay composed; the folded column is str.casefold() again, as 0001 had it.
        assert _names(store) == {
            (PERSON.digits, composed, composed.casefold()),
            (OTHER.digits, None, None),
        }
        assert store.upgrade() == ("0001", head_revision())
    finally:
        store.close()


def test_0002_gives_a_cursor_key_once_and_takes_it_back(database: str) -> None:
    store = SqlStore(parse_url(database))
    try:
        store.upgrade()
        key = store.cursor_key()
        assert isinstance(key, bytes)
        assert len(key) == 32
        other = SqlStore.open(database)
        try:
            assert other.cursor_key() == key
        finally:
            other.close()
        store.downgrade("0001")
        with store.engine.connect() as connection:
            assert "meta" not in sa.inspect(connection).get_table_names()
        store.upgrade()
        again = SqlStore.open(database)
        try:
            assert again.cursor_key() != key  # a new schema, a new key
        finally:
            again.close()
    finally:
        store.close()


def test_grant_versions_reach_max_version_exactly(database: str) -> None:
    store = SqlStore.open(database, create=True)
    try:
        access = careaccess.connect(store, clock=FrozenClock(START))
        access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
        access.put_case_type(ADMIN, CaseType("c1", "restr", "Begränsad", restricted=True))
        grant = careaccess.Grant("c1", PERSON, "restr", None, MAX_VERSION - 1, START, "admin", START)
        access.import_residents(ADMIN, "c1", [], [grant])
        changed = access.change_grant(ADMIN, "c1", PERSON, "restr", dt.date(2027, 1, 1), MAX_VERSION - 1)
        assert changed.version == MAX_VERSION
        assert access.resident_access(ADMIN, "c1", PERSON).grants[0].version == MAX_VERSION
        with pytest.raises(careaccess.Conflict):
            access.change_grant(ADMIN, "c1", PERSON, "restr", None, MAX_VERSION - 1)
    finally:
        store.close()


def test_the_longest_documented_prefix_works_on_every_database(database: str) -> None:
    url = _with(database, prefix=LONGEST_PREFIX)
    with careaccess.connect(_with(url, create="true"), clock=FrozenClock(START)) as access:
        access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
        access.put_case_type(ADMIN, CaseType("c1", "restr", "Begränsad", restricted=True))
        access.grant_case_type(ADMIN, "c1", PERSON, "restr")
        assert access.decide(PERSON, "c1", "restr").allowed
    store = SqlStore(parse_url(url))
    try:
        with store.engine.connect() as connection:
            inspector = sa.inspect(connection)
            names = set(inspector.get_table_names())
            assert {f"{LONGEST_PREFIX}grants", f"{LONGEST_PREFIX}meta"} <= names
            for table in names:
                for fk in inspector.get_foreign_keys(table):
                    assert len(fk["name"] or "") <= 63
                for index in inspector.get_indexes(table):
                    assert len(index["name"] or "") <= 63
        assert store.downgrade("base") == (head_revision(), None)
        assert store.upgrade() == (None, head_revision())
    finally:
        store.close()


def test_names_are_stored_with_the_cores_folded_form() -> None:
    assert folded(DECOMPOSED) == "åsa öberg lind"
    assert folded("  Per \u2013 Erik\u00a0STRAßE ") == "per erik strasse"
    assert folded(None) is None


_FULL_NUMBER = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")


def test_no_identity_number_or_name_reaches_the_logs_at_debug(database: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy.engine", "sqlalchemy.pool", "alembic", "psycopg", "pymysql"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        with careaccess.connect(_with(database, create="true"), clock=FrozenClock(START)) as access:
            access.put_clinic(ADMIN, Clinic("c1", "Vårdcentralen"))
            access.put_case_type(ADMIN, CaseType("c1", "restr", "Begränsad", restricted=True))
            access.approve_resident(ADMIN, "c1", PERSON, name="Hemlig Person")
            access.grant_case_type(ADMIN, "c1", PERSON, "restr")
            access.grant_case_type(ADMIN, "c1", OTHER, "restr", name="Annan Hemlig")
            assert access.decide(PERSON, "c1", "restr").allowed
            assert len(access.list_residents(ADMIN, "c1").items) == 2
            assert len(access.list_residents(ADMIN, "c1", search="hemlig").items) == 2
            assert access.resident_access(ADMIN, "c1", PERSON).approval is not None
            assert len(access.events()) >= 5
    finally:
        for name in ("sqlalchemy.engine", "sqlalchemy.pool", "alembic", "psycopg", "pymysql"):
            logging.getLogger(name).setLevel(logging.NOTSET)
    messages = [record.getMessage() for record in caplog.records]
    assert any(record.name.startswith("sqlalchemy.engine") for record in caplog.records)  # the logger did log
    leaked = [m for m in messages if _FULL_NUMBER.search(m) or "hemlig" in m.lower()]
    assert leaked == []
