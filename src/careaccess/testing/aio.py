"""Running the synchronous test kit against the asynchronous service and stores.

:class:`BlockingCareAccess` gives :class:`~careaccess.aio.AsyncCareAccess` the
synchronous face of :class:`~careaccess.CareAccess`: every coroutine method is run to
completion on an event loop in a thread of its own. The conformance suite and the
stateful check accept it wherever they take a ``CareAccess``, so both flavours are held
to one set of promises::

    class TestAsyncMemory(StoreConformance):
        @pytest.fixture
        def store(self):
            yield MemoryStore()

        @pytest.fixture
        def access(self, store, clock, directory):
            return BlockingCareAccess(lambda: careaccess.aio.connect(store, plugins=[directory], clock=clock))

.. versionadded:: 0.2
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from careaccess.aio import AsyncCareAccess

__all__ = ["BlockingCareAccess"]

T = TypeVar("T")


class _Blocking:
    """*target* with every coroutine method run to completion by *run*; ``close`` is ``aclose``."""

    def __init__(self, target: object, run: Callable[[Coroutine[Any, Any, Any]], Any]) -> None:
        self._target = target
        self._run = run

    def close(self) -> None:
        self._run(self._target.aclose())  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute
        return lambda *args, **kwargs: self._run(attribute(*args, **kwargs))


class BlockingCareAccess:
    """A synchronous facade over an :class:`~careaccess.aio.AsyncCareAccess`.

    :param factory: builds the asynchronous service; called on the facade's own loop.
    :param wait_for_notifications: after each change, wait until the notification
        hooks have heard of it (as the synchronous service guarantees on return).
    """

    def __init__(self, factory: Callable[[], AsyncCareAccess], *, wait_for_notifications: bool = True) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="careaccess-blocking", daemon=True)
        self._thread.start()
        self._wait_for_notifications = wait_for_notifications

        async def build() -> AsyncCareAccess:
            return factory()

        self.service: AsyncCareAccess = self._run(build())

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.service, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        @functools.wraps(attribute)
        def call(*args: Any, **kwargs: Any) -> Any:
            async def run() -> Any:
                try:
                    return await attribute(*args, **kwargs)
                finally:
                    if self._wait_for_notifications:
                        await self.service.notified()

            return self._run(run())

        return call

    @property
    def store(self) -> Any:
        """The service's store with a synchronous face (each call run on the facade's loop)."""
        return _Blocking(self.service.store, self._run)

    def __repr__(self) -> str:
        return f"BlockingCareAccess({self.service!r})"

    def __enter__(self) -> BlockingCareAccess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the service (its store included), then stop the loop and its thread."""
        if self._loop.is_closed():
            return
        try:
            self._run(self.service.aclose())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()
