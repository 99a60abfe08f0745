"""careaccess.aio on the SQL store: the asynchronous service's changes, cancelled in flight,
are whole with their events or absent, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import pytest
from careaccess.testing.aio import check_cancelled_changes_are_whole

from careaccess_sql import SqlStore


@pytest.mark.parametrize("seed", [0, 1])
def test_cancelled_changes_are_whole_or_absent(store: SqlStore, seed: int) -> None:
    check_cancelled_changes_are_whole(store, seed=seed)
