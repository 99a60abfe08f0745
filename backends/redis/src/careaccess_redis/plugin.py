"""The careaccess plugin (entry points ``redis``, ``rediss`` and ``unix`` in the ``careaccess.stores`` group)."""

from __future__ import annotations

from careaccess import hookimpl

from careaccess_redis import SCHEMES
from careaccess_redis.aio import AsyncRedisStore
from careaccess_redis.migrate import counted, normalize_names
from careaccess_redis.store import RedisStore

__all__ = [
    "careaccess_open_async_store",
    "careaccess_open_store",
    "careaccess_store_schemes",
    "careaccess_upgrade_store",
]


def _ours(url: str) -> bool:
    return url.split(":", 1)[0].lower() in SCHEMES


@hookimpl
def careaccess_open_store(url: str) -> RedisStore | None:
    """A :class:`RedisStore` for ``redis://``, ``rediss://`` and ``unix://`` URLs."""
    return RedisStore.from_url(url) if _ours(url) else None


@hookimpl
def careaccess_open_async_store(url: str) -> AsyncRedisStore | None:
    """An :class:`AsyncRedisStore` (``redis.asyncio``) for the same URLs, for :func:`careaccess.aio.connect`."""
    return AsyncRedisStore.from_url(url) if _ours(url) else None


@hookimpl
def careaccess_store_schemes() -> list[str]:
    return list(SCHEMES)


@hookimpl
def careaccess_upgrade_store(url: str) -> str | None:
    """Redis has no schema: load the scripts, and bring data stored by older versions up to date.

    Only what is missing is done, so running it at every deployment is cheap: the
    resident's-side indexes unless marked ready; where a clinic lacks its name index,
    first every name rewritten to the form this version searches
    (:func:`careaccess_redis.migrate.normalize_names`), then the name index of each
    such clinic built.
    """
    if not _ours(url):
        return None
    store = RedisStore.from_url(url)
    try:
        store.load_scripts()
        clinics = 0 if store.reach.is_ready() else store.build_reach_index()
        rewritten = normalize_names(store) if store.name_index_pending() else 0
        named = store.build_name_index()
    finally:
        store.close()
    return (
        f"redis stores have no schema; scripts loaded; {counted(clinics, 'clinic')} indexed for the resident's side; "
        f"{counted(rewritten, 'name')} rewritten; {counted(named, 'clinic')} indexed for the name search"
    )
