"""The careaccess plugin: opens and upgrades stores for sqlite, postgresql and MariaDB URLs.

Registered through the ``careaccess.stores`` entry-point group under each scheme it opens.
"""

from __future__ import annotations

from careaccess.hookspecs import hookimpl

from careaccess_sql.options import SCHEMES, handles, parse_url
from careaccess_sql.store import SqlStore

__all__ = ["careaccess_open_store", "careaccess_store_schemes", "careaccess_upgrade_store"]


@hookimpl
def careaccess_open_store(url: str) -> SqlStore | None:
    """Open a :class:`SqlStore` for the URL schemes in :data:`~careaccess_sql.SCHEMES`."""
    return SqlStore.open(url) if handles(url) else None


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
