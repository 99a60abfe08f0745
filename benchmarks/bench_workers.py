"""Throughput under concurrency: decisions per second with 1 and 2 worker processes per networked store.

::

    python benchmarks/bench_workers.py --store postgresql --residents 100000 --out workers-postgresql.json

A service runs several worker processes, each with its own connection pool. The store is
loaded with the benchmark's data set (``dataset.py``) through ``import_residents``; then
for 1 and 2 workers, each worker process (started fresh, ``spawn``) opens its own
``careaccess.connect(url)``, checks its answers against the data set, waits for the
others and calls ``decide`` on its own random requests, one after another, for
``--seconds``; the figure is all workers' decisions over the wall time. The same follows
for ``decide_many`` of 100 requests (decisions per second, counting each request).
The data lives apart (a schema or a key prefix of its own, as ``stores.py`` makes it)
and is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import bench_stores
import dataset
import stores

import careaccess

SEED = 20261201


def _worker(url: str, residents: int, seed: int, seconds: float, batch: int, start: Any, out: Any) -> None:
    """One worker process: its own connection, its own requests; counts decisions until the deadline."""
    access = careaccess.connect(url)
    try:
        requests = dataset.requests(residents, 2000, seed)
        day = access.today()
        wrong = sum(
            bool(access.decide(r.pnr, r.clinic_id, r.case_type_id)) != dataset.expected(r, day) for r in requests
        )
        tuples = [r.as_tuple() for r in requests]
        start.wait()
        done = 0
        deadline = time.perf_counter() + seconds
        position = 0
        if batch == 1:
            decide = access.decide
            while time.perf_counter() < deadline:
                for pnr, clinic_id, case_type_id in tuples[position : position + 50]:
                    decide(pnr, clinic_id, case_type_id)
                done += 50
                position = (position + 50) % len(tuples)
        else:
            many = access.decide_many
            while time.perf_counter() < deadline:
                many(tuples[position : position + batch])
                done += batch
                position = (position + batch) % len(tuples)
        out.put((done, wrong))
    finally:
        access.close()


def throughput(url: str, residents: int, workers: int, seconds: float, batch: int) -> dict[str, Any]:
    """Decisions per second of *workers* processes, each calling decide (or decide_many of *batch*)."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(workers + 1)
    out = context.Queue()
    processes = [
        context.Process(target=_worker, args=(url, residents, SEED + n, seconds, batch, start, out))
        for n in range(workers)
    ]
    for process in processes:
        process.start()
    start.wait(timeout=300)
    begin = time.perf_counter()
    results = [out.get(timeout=seconds + 300) for _ in processes]
    elapsed = time.perf_counter() - begin
    for process in processes:
        process.join(timeout=60)
    decisions = sum(done for done, _ in results)
    return {
        "workers": workers,
        "batch": batch,
        "decisions": decisions,
        "seconds": round(elapsed, 2),
        "per_second": round(decisions / elapsed, 1),
        "wrong_answers": sum(wrong for _, wrong in results),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def measure(store: str, residents: int, seconds: float) -> dict[str, Any]:
    """Load *store* with *residents* and measure 1 and 2 workers; the data is removed afterwards."""
    target = stores.TARGETS[store]()
    result: dict[str, Any] = {"store": store, "residents": residents, "cpus": os.cpu_count()}
    access = None
    try:
        access = target.open()
        result["load"] = bench_stores.load(access, 0, residents)
        target.after_load(access)
        access.close()
        access = None
        url = target.url()
        result["decide"] = [throughput(url, residents, n, seconds, 1) for n in (1, 2)]
        result["decide_many_100"] = [throughput(url, residents, n, seconds, 100) for n in (1, 2)]
        one, two = result["decide"]
        result["decide_scaling"] = round(two["per_second"] / one["per_second"], 2)
    finally:
        if access is not None:
            access.close()
        target.cleanup()
    return result


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, bench_stores._stop)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, choices=["postgresql", "redis", "sqlite"])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="how long each configuration runs")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        result = measure(args.store, args.residents, args.seconds)
    except (Exception, KeyboardInterrupt) as error:
        traceback.print_exc()
        result = {"store": args.store, "error": "".join(traceback.format_exception_only(error)).strip()}
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        return 1
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
