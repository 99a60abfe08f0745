"""Plugin hooks awaited: async implementations of the resident lookup and notification.

The synchronous :class:`careaccess.plugins.Hooks` calls every hook through pluggy. An
``async def`` implementation returns a coroutine there, which pluggy cannot await, so
for the two hooks that talk to the outside world — ``careaccess_lookup_resident`` and
``careaccess_notify`` — :class:`AsyncHooks` walks the implementations in pluggy's own
call order (reverse registration, ``tryfirst`` first, ``trylast`` last) and awaits the
ones that return an awaitable. Synchronous implementations keep working unchanged.

Notifications never hold up a change: :meth:`AsyncHooks.notify` queues the event and
returns; one worker task per service delivers the queue in commit order, each
implementation isolated (one that raises or times out is logged, redacted, and the
others still hear of the event). :meth:`AsyncHooks.drain` waits until everything
queued has been delivered; closing the service drains.

.. versionadded:: 0.2
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import traceback
from typing import Any

import pluggy

from careaccess.identity import PersonalIdentityNumber, redact
from careaccess.models import Event, Resident
from careaccess.plugins import Hooks

__all__ = ["NOTIFY_TIMEOUT", "AsyncHooks"]

log = logging.getLogger("careaccess")

#: Seconds one ``careaccess_notify`` implementation may take for one event before it
#: is abandoned (logged) so the next events are delivered.
NOTIFY_TIMEOUT = 30.0


def _call_order(caller: pluggy.HookCaller) -> list[pluggy.HookImpl]:
    """The plain implementations of a hook in the order pluggy calls them."""
    # get_hookimpls() lists trylast first and tryfirst last; pluggy calls them reversed.
    return [impl for impl in reversed(caller.get_hookimpls()) if not (impl.wrapper or impl.hookwrapper)]


def _label(impl: pluggy.HookImpl) -> str:
    plugin = impl.plugin
    if impl.plugin_name == str(id(plugin)):
        kind = plugin if isinstance(plugin, type) else type(plugin)
        return f"{kind.__module__}.{kind.__qualname__}"
    return impl.plugin_name


async def _result(impl: pluggy.HookImpl, **kwargs: Any) -> Any:
    # The sync Hooks may have wrapped the function to isolate it; call the original.
    function = getattr(impl.function, "__wrapped__", impl.function)
    result = function(*[kwargs[name] for name in impl.argnames])
    if inspect.isawaitable(result):
        result = await result
    return result


class AsyncHooks:
    """The hook calls of :class:`~careaccess.aio.AsyncCareAccess`.

    Store opening, authorization and store upgrades stay synchronous (they are pure
    or run once) and go through ``sync``, the same :class:`~careaccess.plugins.Hooks`
    the synchronous service uses.
    """

    def __init__(self, hooks: Hooks) -> None:
        self.sync = hooks
        self._queue: asyncio.Queue[Event | None] | None = None
        self._worker: asyncio.Task[None] | None = None

    # -- the population register ---------------------------------------------------------

    async def lookup_resident(self, pnr: PersonalIdentityNumber) -> Resident | None:
        """The first non-None answer of ``careaccess_lookup_resident``, awaited where async.

        Each implementation is asked in pluggy's order, so a ``tryfirst`` register is
        asked first and the search stops at the first answer, as pluggy's
        ``firstresult`` does.
        """
        for impl in _call_order(self.sync.manager.hook.careaccess_lookup_resident):
            resident: Resident | None = await _result(impl, pnr=pnr)
            if resident is not None:
                return resident
        return None

    # -- notifications -------------------------------------------------------------------

    def notify(self, event: Event) -> None:
        """Queue *event* for every ``careaccess_notify`` implementation; returns at once."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.get_running_loop().create_task(self._deliver(), name="careaccess-notify")
        self._queue.put_nowait(event)

    async def drain(self) -> None:
        """Wait until every queued event has been delivered to every implementation."""
        if self._queue is not None:
            await self._queue.join()

    async def aclose(self) -> None:
        """Deliver what is queued, then stop the worker."""
        if self._queue is None or self._worker is None:
            return
        await self._queue.join()
        self._queue.put_nowait(None)
        await self._worker
        self._queue = self._worker = None

    async def _deliver(self) -> None:
        assert self._queue is not None  # set before the task starts
        while True:
            event = await self._queue.get()
            try:
                if event is None:
                    return
                for impl in _call_order(self.sync.manager.hook.careaccess_notify):
                    await self._deliver_one(impl, event)
            finally:
                self._queue.task_done()

    async def _deliver_one(self, impl: pluggy.HookImpl, event: Event) -> None:
        try:
            await asyncio.wait_for(_result(impl, event=event), NOTIFY_TIMEOUT)
        except Exception as error:  # a failing listener never undoes a committed change
            log.error(
                "careaccess_notify hook %r failed on event %s (%s):\n%s",
                _label(impl),
                event.id,
                event.action.value,
                redact("".join(traceback.format_exception(error))),
            )
