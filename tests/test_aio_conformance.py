"""The conformance suite and the stateful check through the asynchronous service.

Each workflow test drives :class:`~careaccess.aio.AsyncCareAccess` (through the
blocking facade of :mod:`careaccess.testing.aio`), so the asynchronous service is held
to exactly the promises of the synchronous one, on the in-memory store run inline and
on the same store run in worker threads.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import careaccess.aio
from careaccess.directory import StaticDirectory
from careaccess.memory import MemoryStore
from careaccess.store import Store
from careaccess.testing.aio import BlockingCareAccess
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import StoreConformance


class TestAsyncServiceInline(StoreConformance):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = MemoryStore()
        yield store
        store.close()

    @pytest.fixture
    def access(self, store: Store, clock: FrozenClock, directory: StaticDirectory) -> Iterator[BlockingCareAccess]:
        facade = BlockingCareAccess(lambda: careaccess.aio.connect(store, plugins=[directory], clock=clock))
        assert isinstance(facade.service.store, careaccess.aio.InlineStore)
        yield facade
        facade.close()


class TestAsyncServiceThreaded(StoreConformance):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = MemoryStore()
        yield store
        store.close()

    @pytest.fixture
    def access(self, store: Store, clock: FrozenClock, directory: StaticDirectory) -> Iterator[BlockingCareAccess]:
        threaded = careaccess.aio.ThreadedStore(store, max_workers=4)
        facade = BlockingCareAccess(lambda: careaccess.aio.connect(threaded, plugins=[directory], clock=clock))
        yield facade
        facade.close()
