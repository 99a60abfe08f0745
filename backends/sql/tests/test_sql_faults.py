"""Connections killed by the server while changesets are in flight leave nothing half-written."""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections import Counter

import careaccess
import pytest
import sqlalchemy as sa
from careaccess import Conflict, NotFound, StoreUnavailable

import sql_workload

THREADS = 6
OPERATIONS = 120  # per thread


@pytest.mark.slow
def test_killed_connections_leave_every_change_whole_or_absent(
    postgresql_url: str, postgresql_admin: sa.Engine
) -> None:
    name = f"careaccess_fault_{secrets.token_hex(4)}"
    url = sa.make_url(postgresql_url).update_query_dict({"application_name": name, "create": "true"})
    access = careaccess.connect(url.render_as_string(hide_password=False))
    sql_workload.set_up(access)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    done = threading.Event()
    kills = 0

    def killer() -> None:
        nonlocal kills
        rng = random.Random(7)
        with postgresql_admin.connect() as connection:
            while not done.is_set():
                time.sleep(rng.uniform(0.001, 0.01))
                kills += connection.execute(
                    sa.text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE application_name = :name AND state <> 'idle'"
                    ),
                    {"name": name},
                ).scalar_one()

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
