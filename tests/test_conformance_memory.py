"""The conformance suite on the in-memory store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from careaccess.memory import MemoryStore
from careaccess.store import Store
from careaccess.testing.conformance import StoreConformance


class TestMemoryStore(StoreConformance):
    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = MemoryStore()
        yield store
        store.close()
