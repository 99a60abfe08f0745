"""The resident's side on the in-memory store (native indexes, and the core's fallback on it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from careaccess.memory import MemoryStore
from careaccess.store import Store
from careaccess.testing.conformance_reach import ReachConformance


class TestMemoryReach(ReachConformance):
    expects_reach_capability = True
    directory_clinics = 10_000

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        store = MemoryStore()
        yield store
        store.close()
