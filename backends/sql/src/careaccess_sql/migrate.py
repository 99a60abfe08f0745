"""Schema versions: Alembic migrations shipped inside the package, with their own version table.

``careaccess db upgrade --store URL`` and ``?create=true`` run :func:`upgrade`; every
store checks :func:`check_schema` when it opens and refuses a schema it does not know.
"""

from __future__ import annotations

import contextlib
import functools
import zlib
from collections.abc import Iterator

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from careaccess.errors import InvalidRequest, StoreUnavailable

__all__ = ["SchemaMismatch", "check_schema", "current_revision", "downgrade", "exclusive", "head_revision", "upgrade"]

SCRIPT_LOCATION = "careaccess_sql:migrations"
#: Seconds a MariaDB upgrade waits for another process's upgrade of the same tables.
UPGRADE_LOCK_TIMEOUT = 300


class SchemaMismatch(InvalidRequest):
    """The database's schema is missing, older or newer than this version of careaccess-sql.

    ``code`` is ``schema_missing``, ``schema_out_of_date`` or ``schema_too_new``.
    """

    default_code = "schema_out_of_date"


def alembic_config(prefix: str, connection: sa.Connection | None = None) -> Config:
    """An Alembic configuration for this package's migrations, for *prefix*."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["prefix"] = prefix
    config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(""))


def head_revision() -> str:
    """The newest schema revision this version of careaccess-sql knows."""
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package always ships its migrations
        raise RuntimeError("careaccess-sql ships no migrations")
    return head


@functools.cache
def known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _scripts().walk_revisions())


def version_table(prefix: str) -> str:
    return f"{prefix}alembic_version"


def current_revision(connection: sa.Connection, prefix: str) -> str | None:
    """The revision the database is at, or None when the schema was never created."""
    context = MigrationContext.configure(connection, opts={"version_table": version_table(prefix)})
    return context.get_current_revision()


def check_schema(connection: sa.Connection, prefix: str, display_url: str) -> None:
    """Refuse a schema this version does not know, naming the command that fixes it.

    :raises SchemaMismatch: ``schema_missing``, ``schema_out_of_date`` or ``schema_too_new``.
    """
    current = current_revision(connection, prefix)
    head = head_revision()
    if current == head:
        return
    fix = f"careaccess db upgrade --store {display_url}"
    if current is None:
        raise SchemaMismatch(
            "schema_missing",
            f"The database has no careaccess schema; run `{fix}` (or open it with ?create=true).",
            f"Databasen saknar careaccess-schemat; kör `{fix}` (eller öppna med ?create=true).",
        )
    if current in known_revisions():
        raise SchemaMismatch(
            "schema_out_of_date",
            f"The careaccess schema is at revision {current}, this version needs {head}; run `{fix}`.",
            f"careaccess-schemat har version {current}, den här versionen behöver {head}; kör `{fix}`.",
        )
    raise SchemaMismatch(
        "schema_too_new",
        f"The careaccess schema is at revision {current}, newer than this careaccess-sql knows ({head}); "
        f"upgrade careaccess-sql, then run `{fix}` if it asks for it.",
        f"careaccess-schemat har version {current}, nyare än den här careaccess-sql känner till ({head}); "
        "uppgradera careaccess-sql.",
    )


@contextlib.contextmanager
def exclusive(engine: sa.Engine, prefix: str) -> Iterator[None]:
    """Serialize upgrades of one MariaDB database's tables by concurrent processes, through commit.

    MariaDB commits each DDL statement at once, so no lock inside the upgrade's
    transaction can keep another process out: a named lock, held on a connection of
    its own until the upgrade has committed, does. Other databases lock in
    :func:`upgrade` instead.

    :raises StoreUnavailable: another upgrade held the lock for ``UPGRADE_LOCK_TIMEOUT`` seconds.
    """
    if engine.dialect.name not in ("mysql", "mariadb"):
        yield
        return
    # Lock names are server-wide and at most 64 characters: a checksum of database and prefix.
    name = f"careaccess-sql:{zlib.crc32(f'{engine.url.database}:{prefix}'.encode()):08x}"
    with engine.connect() as connection:
        taken = connection.execute(
            sa.text("SELECT GET_LOCK(:name, :timeout)"), {"name": name, "timeout": UPGRADE_LOCK_TIMEOUT}
        ).scalar()
        if taken != 1:
            raise StoreUnavailable(
                "store_unavailable",
                "Another process is upgrading the careaccess schema; try again when it has finished.",
                "En annan process uppgraderar careaccess-schemat; försök igen när den är klar.",
            )
        try:
            yield
        finally:
            connection.execute(sa.text("SELECT RELEASE_LOCK(:name)"), {"name": name})


def _lock(connection: sa.Connection, prefix: str) -> None:
    """Serialize upgrades of one schema by concurrent processes.

    (SQLite: ``BEGIN IMMEDIATE`` does; MariaDB: :func:`exclusive`.)
    """
    if connection.dialect.name == "postgresql":
        key = zlib.crc32(f"careaccess-sql:{prefix}".encode())
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def upgrade(connection: sa.Connection, prefix: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate to *revision* in the caller's open transaction; returns (from, to) revisions.

    :raises SchemaMismatch: ``schema_too_new`` when the database is newer than this package.
    """
    _lock(connection, prefix)
    before = current_revision(connection, prefix)
    if before is not None and before not in known_revisions():
        raise SchemaMismatch(
            "schema_too_new",
            f"The careaccess schema is at revision {before}, newer than this careaccess-sql knows; "
            "upgrade careaccess-sql instead.",
            f"careaccess-schemat har version {before}, nyare än den här careaccess-sql känner till; "
            "uppgradera careaccess-sql.",
        )
    command.upgrade(alembic_config(prefix, connection), revision)
    return before, current_revision(connection, prefix)


def downgrade(connection: sa.Connection, prefix: str, revision: str) -> tuple[str | None, str | None]:
    """Migrate back to *revision* (``"base"``: no schema) in the caller's open transaction.

    For operators undoing an upgrade; returns (from, to) revisions. Data a later
    revision normalized stays normalized (names stay in NFC).
    """
    _lock(connection, prefix)
    before = current_revision(connection, prefix)
    command.downgrade(alembic_config(prefix, connection), revision)
    return before, current_revision(connection, prefix)
