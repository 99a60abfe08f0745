"""Connections killed by the server while changesets are in flight leave nothing half-written."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import careaccess
import pytest
from careaccess import Conflict, NotFound, StoreUnavailable

import sql_workload
from sql_support import Server, with_options

THREADS = 6
OPERATIONS = 120  # per thread


@pytest.mark.slow
def test_killed_connections_leave_every_change_whole_or_absent(server: Server) -> None:
    access = careaccess.connect(with_options(server.url, create="true"))
    sql_workload.set_up(access)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    done = threading.Event()
    kills = 0

    def killer() -> None:
        nonlocal kills
        rng = random.Random(7)
        while not done.is_set():
            time.sleep(rng.uniform(0.001, 0.01))
            kills += server.kill_all(busy=True)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(OPERATIONS):
            try:
                sql_workload.one_change(access, rng)
                outcome = "ok"
            except (Conflict, NotFound):
                outcome = "refused"
            except StoreUnavailable:
                outcome = "unavailable"
            with lock:
                outcomes[outcome] += 1

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(THREADS)]
    killing = threading.Thread(target=killer)
    killing.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    done.set()
    killing.join(timeout=30)
    try:
        assert kills > 50, kills
        assert outcomes["unavailable"] > 0, outcomes  # faults really hit requests in flight
        assert outcomes["ok"] > 0, outcomes
        sql_workload.check_feed_matches_state(access)  # every change whole (with its event) or absent
        print(f"{kills} connections killed; outcomes: {dict(outcomes)}")  # shown with -s
    finally:
        access.close()
