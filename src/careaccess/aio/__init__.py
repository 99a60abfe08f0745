"""careaccess for asyncio services: :class:`AsyncCareAccess`, the same API awaitable.

::

    import careaccess.aio

    async with careaccess.aio.connect("memory://") as access:
        decision = await access.decide("19121212-1212", "vc-ost", "fraga")

Which store runs how:

- a URL whose plugin has a native asynchronous store (the
  ``careaccess_open_async_store`` hook): that store, on the event loop without threads.
  ``redis://``, ``rediss://`` and ``unix://`` (careaccess-redis, on ``redis.asyncio``,
  Redis Cluster included) and ``postgresql://`` / ``postgres://`` (careaccess-sql with
  psycopg's asynchronous connections) are native;
- ``memory://``: the in-memory store, called directly on the event loop
  (:class:`~careaccess.aio.store.InlineStore`);
- every other URL (``sqlite://``, ``mysql://``, ``mariadb://``, third-party stores
  without an asynchronous store): the synchronous store its plugin opens, run in a
  bounded pool of worker threads (:class:`~careaccess.aio.store.ThreadedStore`) — one
  thread per *concurrent* store call at most, never one per request;
- a ready :class:`~careaccess.aio.store.AsyncStore` object: used as it is.

.. versionadded:: 0.2
"""

from __future__ import annotations

from collections.abc import Iterable

from careaccess.aio.hooks import NOTIFY_TIMEOUT, AsyncHooks
from careaccess.aio.service import AsyncCareAccess
from careaccess.aio.store import AsyncReachStore, AsyncStore, BlockingStore, InlineStore, ThreadedStore
from careaccess.clock import Clock, utc_now, zone
from careaccess.memory import MemoryStore
from careaccess.plugins import Hooks, make_plugin_manager
from careaccess.store import Store

__all__ = [
    "NOTIFY_TIMEOUT",
    "AsyncCareAccess",
    "AsyncHooks",
    "AsyncReachStore",
    "AsyncStore",
    "BlockingStore",
    "InlineStore",
    "ThreadedStore",
    "connect",
]


def connect(
    url: str | AsyncStore | Store = "memory://",
    *,
    plugins: Iterable[object] = (),
    clock: Clock | None = None,
    timezone: str = "Europe/Stockholm",
    max_workers: int = 8,
) -> AsyncCareAccess:
    """Open a store and return the asynchronous service on it.

    The arguments are those of :func:`careaccess.connect`, plus:

    :param url: a store URL (its native asynchronous store if a plugin has one, else
        its synchronous store, wrapped), an :class:`~careaccess.aio.store.AsyncStore`, or
        a synchronous :class:`~careaccess.store.Store` (wrapped as described in the
        module docs).
    :param max_workers: threads for a synchronous store that blocks (see
        :class:`~careaccess.aio.store.ThreadedStore`).
    :raises InvalidRequest: ``unknown_timezone``.
    :raises UnknownStore: ``unknown_store_scheme`` when no installed plugin opens the URL.
    """
    local = zone(timezone)
    manager = make_plugin_manager(plugins)
    opened: AsyncStore | Store
    if isinstance(url, str):
        hooks = Hooks(manager)
        native = hooks.open_async_store(url)
        opened = native if native is not None else hooks.open_store(url)
    else:
        opened = url
    store: AsyncStore
    if isinstance(opened, MemoryStore):
        store = InlineStore(opened)
    elif isinstance(opened, AsyncStore):
        store = opened
    else:
        store = ThreadedStore(opened, max_workers=max_workers)
    return AsyncCareAccess(store, manager, clock or utc_now, local)
