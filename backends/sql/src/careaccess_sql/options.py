"""Store URLs: which database, and the store options carried in its query string.

The ``careaccess_open_store`` hook takes only a URL, so the store's own options travel
as query parameters and are stripped before the URL reaches SQLAlchemy:

- ``prefix``: put before every table name (``[a-z0-9_]``, at most 30 characters), so the
  store can live inside an application's existing database.
- ``schema``: PostgreSQL only; the schema (namespace) the tables live in (on MariaDB
  the database in the URL is the namespace).
- ``create``: ``true`` creates or upgrades the schema on open; ``false`` never does.
  The default is ``true`` for SQLite when its schema is missing (a new embedded
  database) and ``false`` otherwise.
- ``busy_timeout``: SQLite only; milliseconds to wait for another process's write lock.
- ``pool_size``, ``max_overflow``: PostgreSQL and MariaDB; the connections each of the
  store's two pools (reads, writes) keeps open, and how many more it may open at a busy
  moment (default 5 and 10, SQLAlchemy's).
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from attrs import frozen
from careaccess.errors import InvalidRequest

__all__ = ["SCHEMES", "StoreOptions", "parse_url"]

#: URL schemes this backend opens, as the user writes them.
SCHEMES = (
    "sqlite",
    "sqlite+pysqlite",
    "postgresql",
    "postgresql+psycopg",
    "postgres",
    "mariadb+pymysql",
    "mysql+pymysql",
)

_DRIVER_FOR = {
    "sqlite": "sqlite+pysqlite",
    "sqlite+pysqlite": "sqlite+pysqlite",
    # SQLAlchemy's bare postgresql:// means psycopg2; this backend ships psycopg 3.
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    # Only MariaDB servers are supported; SQLAlchemy's mysql dialect detects them too.
    "mariadb+pymysql": "mariadb+pymysql",
    "mysql+pymysql": "mysql+pymysql",
}
_PREFIX = re.compile(r"[a-z0-9_]{0,30}", re.ASCII)
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}", re.ASCII)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_OPTIONS = ("prefix", "schema", "create", "busy_timeout", "pool_size", "max_overflow")


def _invalid(en: str, sv: str) -> InvalidRequest:
    return InvalidRequest("invalid_store_url", en, sv)


@frozen
class StoreOptions:
    """A parsed store URL: the SQLAlchemy URL without store options, and the options."""

    #: The URL as given, with any password hidden: for messages.
    display_url: str
    database_url: sa.URL
    prefix: str = ""
    schema: str | None = None
    #: None: the default (create a missing SQLite schema, never anything else).
    create: bool | None = None
    busy_timeout_ms: int = 10_000
    #: Connections each pool keeps, and may open beyond them (server databases; None: SQLAlchemy's default).
    pool_size: int | None = None
    max_overflow: int | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.get_backend_name() == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.database_url.get_backend_name() == "postgresql"

    @property
    def is_mariadb(self) -> bool:
        """A MariaDB server, named by a ``mariadb+pymysql`` or ``mysql+pymysql`` URL."""
        return self.database_url.get_backend_name() in ("mariadb", "mysql")

    @property
    def is_memory(self) -> bool:
        """An in-memory SQLite database: gone when the store closes."""
        return self.is_sqlite and self.database_url.database in (None, "", ":memory:")


def handles(url: str) -> bool:
    """Whether this backend opens *url*."""
    return url.split(":", 1)[0].lower() in _DRIVER_FOR


def parse_url(url: str) -> StoreOptions:
    """Split a store URL into the database URL and the store options.

    :raises InvalidRequest: ``invalid_store_url`` for an unknown option value.
    """
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as error:
        raise _invalid("The store URL cannot be parsed.", "Lagringsadressen kan inte tolkas.") from error
    driver = _DRIVER_FOR.get(parsed.drivername.lower())
    if driver is None:
        schemes = ", ".join(SCHEMES)
        raise _invalid(
            f"careaccess-sql does not open {parsed.drivername!r} URLs; it opens {schemes}.",
            f"careaccess-sql öppnar inte {parsed.drivername!r}-adresser; den öppnar {schemes}.",
        )
    query = dict(parsed.query)
    options: dict[str, str] = {}
    for name in _OPTIONS:
        value = query.pop(name, None)
        if isinstance(value, tuple):
            raise _invalid(f"The option {name!r} is given twice.", f"Alternativet {name!r} anges två gånger.")
        if value is not None:
            options[name] = value
    database_url = parsed.set(drivername=driver, query=query)
    prefix = options.get("prefix", "")
    if not _PREFIX.fullmatch(prefix):
        raise _invalid(
            "prefix may hold only a-z, 0-9 and _ (at most 30 characters).",
            "prefix får bara innehålla a-z, 0-9 och _ (högst 30 tecken).",
        )
    schema = options.get("schema")
    if schema is not None and (not driver.startswith("postgresql") or not _SCHEMA.fullmatch(schema)):
        raise _invalid(
            "schema is a PostgreSQL option and may hold only a-z, 0-9 and _.",
            "schema gäller bara PostgreSQL och får bara innehålla a-z, 0-9 och _.",
        )
    create: bool | None = None
    if "create" in options:
        flag = options["create"].lower()
        if flag not in _TRUE | _FALSE:
            raise _invalid("create must be true or false.", "create måste vara true eller false.")
        create = flag in _TRUE
    busy = options.get("busy_timeout", "10000")
    if not busy.isascii() or not busy.isdigit():
        raise _invalid(
            "busy_timeout must be a whole number of milliseconds.",
            "busy_timeout måste vara ett heltal millisekunder.",
        )
    pool = {name: _pool_option(name, options.get(name), driver) for name in ("pool_size", "max_overflow")}
    return StoreOptions(
        display_url=parsed.render_as_string(hide_password=True),
        database_url=database_url,
        prefix=prefix,
        schema=schema,
        create=create,
        busy_timeout_ms=int(busy),
        **pool,
    )


def _pool_option(name: str, value: str | None, driver: str) -> int | None:
    """``pool_size`` (at least 1) or ``max_overflow`` (at least 0), for a server database."""
    if value is None:
        return None
    least = 1 if name == "pool_size" else 0
    if driver.startswith("sqlite") or not value.isascii() or not value.isdigit() or int(value) < least:
        raise _invalid(
            f"{name} is a PostgreSQL and MariaDB option and must be a whole number of at least {least}.",
            f"{name} gäller bara PostgreSQL och MariaDB och måste vara ett heltal, minst {least}.",
        )
    return int(value)
