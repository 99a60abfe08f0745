"""Several processes change the same residents at once: no lost update, the feed matches the state."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import careaccess
import pytest
from careaccess import Action

import sql_workload
from sql_support import with_options

WORKERS = 4
OPERATIONS = 150


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    base: str = request.getfixturevalue(f"{request.param}_url")
    return with_options(base, create="true")


@pytest.mark.slow
def test_processes_racing_on_the_same_residents(url: str) -> None:
    with careaccess.connect(url) as access:
        sql_workload.set_up(access)
        setup_events = len(access.events(limit=1000))
    script = str(Path(sql_workload.__file__))
    workers = [
        subprocess.Popen([sys.executable, script, url, str(seed), str(OPERATIONS)], stdout=subprocess.PIPE, text=True)
        for seed in range(WORKERS)
    ]
    totals: Counter[str] = Counter()
    for worker in workers:
        out, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0
        totals.update(json.loads(out))
    assert totals["unavailable"] == 0
    assert sum(totals.values()) == WORKERS * OPERATIONS
    with careaccess.connect(url) as access:
        events = sql_workload.check_feed_matches_state(access)
    changes = Counter(e.action.value for e in events[setup_events:])
    # Every change a process saw succeed is in the feed exactly once, and nothing else is
    # (an approval of someone already approved succeeds without an event).
    approvals = Action.RESIDENT_APPROVED.value
    assert 0 < changes.pop(approvals) <= totals.pop(approvals)
    assert changes == Counter({k: v for k, v in totals.items() if k not in {"refused", "unavailable"}})
    assert changes[Action.GRANT_CHANGED.value] > 0
    assert totals["refused"] > 0  # the processes really did collide
