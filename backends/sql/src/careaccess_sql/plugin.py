"""The careaccess plugin: opens and upgrades stores for sqlite, postgresql and MariaDB URLs.

For :func:`careaccess.aio.connect` it opens PostgreSQL URLs natively
(:class:`~careaccess_sql.aio.AsyncSqlStore`, on psycopg's asyncio connections); SQLite
and MariaDB URLs get no asynchronous store, so they run the synchronous one in threads.

Registered through the ``careaccess.stores`` entry-point group under each scheme it opens.
"""

from __future__ import annotations

from careaccess.hookspecs import hookimpl

from careaccess_sql.aio import AsyncSqlStore
from careaccess_sql.options import SCHEMES, handles, parse_url
from careaccess_sql.store import SqlStore

__all__ = [
    "careaccess_open_async_store",
    "careaccess_open_store",
    "careaccess_store_schemes",
    "careaccess_upgrade_store",
]

#: The schemes with a native asynchronous store.
ASYNC_SCHEMES = ("postgresql", "postgresql+psycopg", "postgres")


@hookimpl
def careaccess_open_store(url: str) -> SqlStore | None:
    """Open a :class:`SqlStore` for the URL schemes in :data:`~careaccess_sql.SCHEMES`."""
    return SqlStore.open(url) if handles(url) else None


@hookimpl
def careaccess_open_async_store(url: str) -> AsyncSqlStore | None:
    """An :class:`~careaccess_sql.aio.AsyncSqlStore` for the PostgreSQL schemes; None for the others."""
    return AsyncSqlStore.from_url(url) if url.split(":", 1)[0].lower() in ASYNC_SCHEMES else None


@hookimpl
def careaccess_store_schemes() -> list[str]:
    return list(SCHEMES)


@hookimpl
def careaccess_upgrade_store(url: str) -> str | None:
    """Migrate the schema to the newest revision; say from which revision to which."""
    if not handles(url):
        return None
    options = parse_url(url)
    store = SqlStore(options)
    try:
        before, after = store.upgrade()
    finally:
        store.close()
    if before == after:
        return f"{options.display_url}: schema already at revision {after}"
    return f"{options.display_url}: schema upgraded from {before or 'nothing'} to revision {after}"
