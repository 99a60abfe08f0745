"""Schema versions: migrations create exactly the schema the store uses; stores refuse unknown ones."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import careaccess
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from careaccess.plugins import Hooks, make_plugin_manager

from careaccess_sql import SchemaMismatch, SqlStore, head_revision, parse_url
from careaccess_sql.migrate import _scripts, current_revision
from sql_support import Server

ADMIN = careaccess.Actor("admin", frozenset({"c1"}))


def _revisions_before_head() -> list[str | None]:
    """Every starting point an upgrade must handle: an empty database and each older revision."""
    older = [script.revision for script in _scripts().walk_revisions() if script.revision != head_revision()]
    return [None, *older]


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database's store URL (without store options)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'care.db'}"
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


def _with(url: str, **options: str) -> str:
    return sa.make_url(url).update_query_dict(options).render_as_string(hide_password=False)


def _schema_diff(store: SqlStore) -> list[object]:
    with store.engine.connect() as connection:
        opts = {"compare_type": True, "version_table": f"{store.options.prefix}alembic_version"}
        context = MigrationContext.configure(connection, opts=opts)
        return list(compare_metadata(context, store.tables.metadata))


@pytest.mark.parametrize("prefix", ["", "app_"])
def test_migrations_create_exactly_the_schema_the_store_uses(database: str, prefix: str) -> None:
    store = SqlStore.open(_with(database, prefix=prefix), create=True)
    try:
        assert _schema_diff(store) == []
        with store.engine.connect() as connection:
            names = set(sa.inspect(connection).get_table_names())
        expected = {
            "clinics",
            "case_types",
            "approvals",
            "grants",
            "events",
            "event_counter",
            "meta",
            "alembic_version",
            "clinic_places",
            "clinic_names",
            "name_grams",
        }
        assert names == {prefix + name for name in expected}
    finally:
        store.close()


@pytest.mark.parametrize("start", _revisions_before_head())
def test_upgrade_from_every_earlier_revision(database: str, start: str | None) -> None:
    store = SqlStore(parse_url(database))
    try:
        if start is not None:
            store.upgrade(start)
        assert store.upgrade() == (start, head_revision())
        assert _schema_diff(store) == []
        assert store.upgrade() == (head_revision(), head_revision())
    finally:
        store.close()


def test_upgraded_database_is_usable_by_a_new_store(database: str) -> None:
    upgrader = SqlStore(parse_url(database))
    upgrader.upgrade()
    upgrader.close()
    with careaccess.connect(_with(database, create="false")) as access:
        access.put_clinic(ADMIN, careaccess.Clinic("c1", "Vårdcentralen"))
    with careaccess.connect(database) as access:
        assert access.clinic("c1") == careaccess.Clinic("c1", "Vårdcentralen")


def test_server_schema_missing_refuses_and_names_the_command(server: Server) -> None:
    with pytest.raises(SchemaMismatch) as raised:
        careaccess.connect(server.url)
    assert isinstance(raised.value, careaccess.InvalidRequest)
    assert raised.value.code == "schema_missing"
    assert f"careaccess db upgrade --store {server.url}" in raised.value.message_en


def test_concurrent_upgrades_of_a_server_database_take_turns(server: Server) -> None:
    # MariaDB commits every DDL statement at once: only the named lock keeps the second
    # upgrade from creating the tables again.
    stores = [SqlStore(parse_url(server.url)) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    results: list[tuple[str | None, str | None]] = []
    errors: list[BaseException] = []

    def upgrade(store: SqlStore) -> None:
        barrier.wait()
        try:
            results.append(store.upgrade())
        except Exception as error:  # collected and asserted on below
            errors.append(error)

    threads = [threading.Thread(target=upgrade, args=(store,)) for store in stores]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for store in stores:
            store.close()
    assert errors == []
    head = head_revision()
    assert sorted(results, key=str) == sorted([(None, head)] + [(head, head)] * (len(stores) - 1), key=str)
    with careaccess.connect(server.url) as access:
        access.put_clinic(ADMIN, careaccess.Clinic("c1", "Vårdcentralen"))


def test_sqlite_schema_is_created_for_a_new_file_unless_create_false(tmp_path: Path) -> None:
    with pytest.raises(SchemaMismatch) as raised:
        SqlStore.open(f"sqlite:///{tmp_path / 'kept-empty.db'}?create=false")
    assert raised.value.code == "schema_missing"
    store = SqlStore.open(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        with store.engine.connect() as connection:
            assert current_revision(connection, "") == head_revision()
    finally:
        store.close()


def test_newer_schema_refuses_to_open_and_to_upgrade(database: str) -> None:
    store = SqlStore(parse_url(database))
    try:
        store.upgrade()
        with store.engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(SchemaMismatch) as opened:
            SqlStore.open(database)
        assert opened.value.code == "schema_too_new"
        assert "careaccess db upgrade --store" in opened.value.message_en
        with pytest.raises(SchemaMismatch) as upgraded:
            store.upgrade()
        assert upgraded.value.code == "schema_too_new"
        with pytest.raises(SchemaMismatch):
            SqlStore.open(database, create=True)
    finally:
        store.close()


def test_password_never_appears_in_schema_errors(postgresql_url: str) -> None:
    url = sa.make_url(postgresql_url).set(password="s3cret-pw").render_as_string(hide_password=False)
    with pytest.raises(SchemaMismatch) as raised:
        SqlStore.open(url)
    assert "s3cret-pw" not in str(raised.value)


def test_prefixes_keep_stores_apart_in_one_database(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with careaccess.connect(f"sqlite:///{path}?prefix=one_") as one:
        one.put_clinic(ADMIN, careaccess.Clinic("c1", "Ett"))
        with careaccess.connect(f"sqlite:///{path}?prefix=two_") as two:
            assert two.clinic("c1") is None
            assert two.events() == []
            two.put_clinic(ADMIN, careaccess.Clinic("c1", "Två"))
        assert one.clinic("c1") == careaccess.Clinic("c1", "Ett")
        assert len(one.events()) == 1


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("sqlite:///x.db?create=maybe", "invalid_store_url"),
        ("sqlite:///x.db?prefix=Bad-Prefix", "invalid_store_url"),
        ("sqlite:///x.db?schema=public", "invalid_store_url"),
        ("sqlite:///x.db?busy_timeout=soon", "invalid_store_url"),
        ("postgresql://h/db?schema=Not%20ok", "invalid_store_url"),
        ("mariadb+pymysql://h/db?schema=care", "invalid_store_url"),
        ("mysql://h/db", "invalid_store_url"),
    ],
)
def test_bad_store_options_are_invalid_requests(url: str, code: str) -> None:
    with pytest.raises(careaccess.InvalidRequest) as raised:
        parse_url(url)
    assert raised.value.code == code


def test_store_options_are_stripped_and_driver_options_kept() -> None:
    options = parse_url("postgresql://u:pw@h/db?prefix=ca_&create=true&schema=care&sslmode=disable")
    assert options.database_url.drivername == "postgresql+psycopg"
    assert dict(options.database_url.query) == {"sslmode": "disable"}
    assert (options.prefix, options.schema, options.create) == ("ca_", "care", True)
    assert "pw" not in options.display_url


def test_an_unknown_scheme_is_refused_with_the_schemes_that_work() -> None:
    with pytest.raises(careaccess.InvalidRequest) as raised:
        parse_url("mariadb+mariadbconnector://h/db")
    assert "mariadb+pymysql" in raised.value.message_en
    assert "mysql+pymysql" in raised.value.message_en


def test_mariadb_urls_keep_their_driver_and_options() -> None:
    for scheme in ("mariadb+pymysql", "mysql+pymysql"):
        options = parse_url(f"{scheme}://u:pw@h/care?prefix=ca_&charset=utf8mb4")
        assert options.database_url.drivername == scheme
        assert dict(options.database_url.query) == {"charset": "utf8mb4"}
        assert options.is_mariadb
        assert (options.prefix, options.schema) == ("ca_", None)


# -- hooks and the command line ----------------------------------------------------------


def test_hooks_are_registered_through_the_entry_point(tmp_path: Path) -> None:
    """The careaccess.stores entry points name the schemes; the plugin loads when one is used."""
    hooks = Hooks(make_plugin_manager())
    assert {"sqlite", "postgresql", "postgres", "mysql", "mariadb"} <= set(hooks.store_schemes())
    url = f"sqlite:///{tmp_path / 'hook.db'}"
    assert hooks.upgrade_store(url) == f"{url}: schema upgraded from nothing to revision {head_revision()}"
    assert hooks.upgrade_store(url) == f"{url}: schema already at revision {head_revision()}"
    store = hooks.open_store(url)
    assert isinstance(store, SqlStore)
    store.close()
    loaded = {s for found in hooks.manager.hook.careaccess_store_schemes() for s in found}
    assert {"postgresql+psycopg", "mariadb+pymysql", "mysql+pymysql"} <= loaded
    assert isinstance(hooks.open_store("memory://"), careaccess.Store)


def test_cli_db_upgrade_then_demo(database: str, tmp_path: Path) -> None:
    cli = [str(Path(sys.executable).with_name("careaccess"))]
    upgraded = subprocess.run([*cli, "db", "upgrade", "--store", database], check=False, capture_output=True, text=True)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"revision {head_revision()}" in upgraded.stdout
    demo = subprocess.run(
        [*cli, "demo", "--store", database], check=False, capture_output=True, text=True, cwd=tmp_path
    )
    assert demo.returncode == 0, demo.stderr
    with careaccess.connect(database) as access:
        assert [e.action for e in access.events(limit=1000)][-1] is careaccess.Action.CASE_TYPE_REMOVED


def test_cli_default_store_is_created_in_the_working_directory(tmp_path: Path) -> None:
    cli = str(Path(sys.executable).with_name("careaccess"))
    missing = subprocess.run([cli, "events"], check=False, capture_output=True, text=True, cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error [store_not_found]: ")
    assert not (tmp_path / "careaccess.db").exists()  # a command that only reads creates nothing
    saved = subprocess.run(
        [cli, "clinic", "put", "c1", "--name", "VC"], check=False, capture_output=True, text=True, cwd=tmp_path
    )
    assert saved.returncode == 0, saved.stderr
    assert (tmp_path / "careaccess.db").is_file()
    shown = subprocess.run([cli, "events"], check=False, capture_output=True, text=True, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
