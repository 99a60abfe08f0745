"""The careaccess conformance suite, unchanged, on one Redis server and on a Redis Cluster."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from careaccess.store import Store
from careaccess.testing.conformance import StoreConformance

from conftest import open_store


class TestRedisStore(StoreConformance):
    @pytest.fixture
    def store(self, single_url: str) -> Iterator[Store]:
        yield from open_store(single_url)


class TestRedisClusterStore(StoreConformance):
    @pytest.fixture
    def store(self, cluster_url: str) -> Iterator[Store]:
        yield from open_store(cluster_url, cluster=True)
