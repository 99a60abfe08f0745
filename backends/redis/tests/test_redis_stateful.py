"""The core's stateful model check on the single Redis server."""

from __future__ import annotations

import os

import pytest
from careaccess.store import Store
from careaccess.testing.stateful import CareAccessMachine
from hypothesis import HealthCheck, settings

from careaccess_redis import RedisStore
from conftest import SINGLE_URL, delete_prefix, fresh_prefix

# CI runs at least 200 examples on every store; locally a quicker run.
EXAMPLES = 200 if os.environ.get("CI") == "true" else 25


class RedisMachine(CareAccessMachine):
    """Each example under its own key prefix, deleted when the example ends."""

    def make_store(self) -> Store:
        self.prefix = fresh_prefix()
        return RedisStore.from_url(f"{SINGLE_URL}?prefix={self.prefix}")

    def close_store(self, store: Store) -> None:
        assert isinstance(store, RedisStore)
        try:
            delete_prefix(store.client, self.prefix)
        finally:
            store.close()


TestRedisMachine = RedisMachine.TestCase
TestRedisMachine.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# Skips (or under CI fails) with a clear reason when the server is unreachable.
pytest.mark.usefixtures("single_url")(TestRedisMachine)
