"""careaccess.aio on the Redis store: the asynchronous service's changes, cancelled in
flight, are whole with their events or absent, on one server and on a cluster."""

from __future__ import annotations

import pytest
from careaccess.testing.aio import check_cancelled_changes_are_whole

from careaccess_redis import RedisStore


@pytest.mark.parametrize("seed", [0, 1])
def test_cancelled_changes_are_whole_or_absent(any_store: RedisStore, seed: int) -> None:
    check_cancelled_changes_are_whole(any_store, seed=seed)
