"""Memory: what an approval and a grant take in Redis (near the README's figures), and the client's.

The figures come from ``benchmarks/redis_measure.py``, run here as a user runs it.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

from careaccess.store import DecisionFacts, FactsRequest

from careaccess_redis import RedisStore

MEASURE = Path(__file__).resolve().parents[3] / "benchmarks" / "redis_measure.py"


def run_measure(*args: str) -> dict[str, Any]:
    """Run the measuring tool with ``--json`` and return its figures."""
    done = subprocess.run(
        [sys.executable, str(MEASURE), *args, "--json"], capture_output=True, text=True, check=True, timeout=300
    )
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def test_memory_per_record_stays_near_documented_figures(single_url: str) -> None:
    figures = run_measure(single_url, "--count", "500")
    # README (10 000 records): approval 449, grant alone 529, grant added 219, event 356 bytes.
    assert 150 < figures["approval"] < 600
    assert 150 < figures["grant_alone"] < 700
    assert 50 < figures["grant_added"] < 320
    assert 150 < figures["event"] < 480
    assert 0 < figures["replay_token"] < 250


def test_memory_is_measured_on_a_cluster_too(cluster_url: str) -> None:
    figures = run_measure(cluster_url + "?cluster=true", "--count", "200")
    assert 150 < figures["approval"] < 600
    assert 150 < figures["event"] < 480


def test_client_memory_stays_flat_under_unique_huge_ids(single_store: RedisStore) -> None:
    """10,000 reads with unique 200 kB clinic ids leave the client's memory where it was.

    Each id is 200 kB and every call builds several key names from it; a cache that kept
    ids whole would hold gigabytes. The bound (16 MB, under a hundred such ids) is wide.
    """
    store = single_store
    filler = "x" * 200_000
    digits = "191212121212"

    def call(n: int) -> None:
        clinic_id = f"{n:06d}{filler}"
        match n % 4:
            case 0:
                assert store.load_facts(FactsRequest(digits, clinic_id, clinic_id)) == DecisionFacts(
                    None, None, None, None
                )
            case 1:
                assert store.get_clinic(clinic_id) is None
            case 2:
                assert store.list_case_types(clinic_id) == []
            case _:
                assert store.read_events(None, 10, clinic_id) == []

    for n in range(200):  # warm up: connections, scripts, redis-py's own buffers
        call(n)
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for n in range(200, 10_200):
            call(n)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 16_000_000
