"""Hostile and careless input on Redis, single server and cluster (careaccess.testing.hostile)."""

from __future__ import annotations

import pytest
from careaccess.store import Store
from careaccess.testing.hostile import HostileChecks

from careaccess_redis import RedisStore


class TestRedisStoreHostile(HostileChecks):
    @pytest.fixture
    def store(self, any_store: RedisStore) -> Store:
        """conftest's store under a fresh prefix, on the single server and on the cluster."""
        return any_store
