"""The careaccess plugin (entry points ``redis``, ``rediss`` and ``unix`` in the ``careaccess.stores`` group)."""

from __future__ import annotations

from careaccess import hookimpl

from careaccess_redis import SCHEMES
from careaccess_redis.aio import AsyncRedisStore
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
    """Redis has no schema: load the scripts so the first requests need not, and build the indexes older data lacks."""
    if not _ours(url):
        return None
    store = RedisStore.from_url(url)
    try:
        store.load_scripts()
        clinics = store.build_reach_index()
        named = store.build_name_index()
    finally:
        store.close()
    return (
        f"redis stores have no schema; scripts loaded; {clinics} clinics indexed for the resident's side; "
        f"{named} clinics indexed for the name search"
    )
