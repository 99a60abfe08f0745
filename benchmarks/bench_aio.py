"""The asynchronous service beside the synchronous one, on the same store and data.

For each store (memory inline; Redis and PostgreSQL through the worker-thread pool of
:class:`careaccess.aio.ThreadedStore`; ``redis-native`` and ``postgresql-native``: the same
data through the native store that ``careaccess.aio.connect(url)`` opens, on ``redis.asyncio``
or psycopg's asyncio connections) loaded
with the benchmark's residents:

- ``decide`` and ``decide_many(1000)``: median per call, the awaited call against the
  synchronous one, taking turns on the same chunks of requests;
- throughput: decisions per second of 100 concurrent tasks on one event loop against
  100 threads calling the synchronous service, each doing the same requests.

Run alone: ``python benchmarks/bench_aio.py [--residents N] [--stores memory,redis-native,postgresql-native]``
(prints JSON); ``run.py`` calls :func:`measure` and puts the table in the report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import bench_stores
import dataset
import stores

import careaccess.aio

CONCURRENCY = 100
STORES = ("memory", "redis", "redis-native", "postgresql", "postgresql-native")
#: Stores measured through their native asynchronous store (opened by URL), by the target they share.
NATIVE = {"redis-native": "redis", "postgresql-native": "postgresql"}


def _median_us(samples: Sequence[float]) -> float:
    return round(statistics.median(samples) * 1e6, 2)


def _single(access: careaccess.CareAccess, requests: Sequence[dataset.Request]) -> list[float]:
    samples = []
    for request in requests:
        started = time.perf_counter()
        access.decide(request.pnr, request.clinic_id, request.case_type_id)
        samples.append(time.perf_counter() - started)
    return samples


async def _single_async(access: careaccess.aio.AsyncCareAccess, requests: Sequence[dataset.Request]) -> list[float]:
    samples = []
    for request in requests:
        started = time.perf_counter()
        await access.decide(request.pnr, request.clinic_id, request.case_type_id)
        samples.append(time.perf_counter() - started)
    return samples


def _triples(requests: Sequence[dataset.Request]) -> list[tuple[str, str, str]]:
    return [(r.pnr, r.clinic_id, r.case_type_id) for r in requests]


def _threads(access: careaccess.CareAccess, requests: Sequence[dataset.Request]) -> float:
    """Decisions per second of CONCURRENCY threads, each deciding every request."""
    start = threading.Barrier(CONCURRENCY + 1)

    def work() -> None:
        start.wait()
        for request in requests:
            access.decide(request.pnr, request.clinic_id, request.case_type_id)

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        futures = [pool.submit(work) for _ in range(CONCURRENCY)]
        start.wait()
        began = time.perf_counter()
        for future in futures:
            future.result()
        return CONCURRENCY * len(requests) / (time.perf_counter() - began)


async def _tasks(access: careaccess.aio.AsyncCareAccess, requests: Sequence[dataset.Request]) -> float:
    """Decisions per second of CONCURRENCY tasks on this loop, each deciding every request."""

    async def work() -> None:
        for request in requests:
            await access.decide(request.pnr, request.clinic_id, request.case_type_id)

    began = time.perf_counter()
    await asyncio.gather(*(work() for _ in range(CONCURRENCY)))
    return CONCURRENCY * len(requests) / (time.perf_counter() - began)


def measure_store(name: str, residents: int, *, rounds: int, per_round: int) -> dict[str, Any]:
    """One store's figures (see the module docs)."""
    target = stores.TARGETS[NATIVE.get(name, name)]()
    sync = target.open()
    try:
        bench_stores.load(sync, 0, residents)
        target.after_load(sync)
        # The same data and clock: the same store object, or the native store on its URL.
        asynchronous = careaccess.aio.connect(target.url() if name in NATIVE else sync.store, clock=sync.now)
        loop = asyncio.new_event_loop()
        try:
            single: list[float] = []
            single_async: list[float] = []
            many: list[float] = []
            many_async: list[float] = []
            for turn in range(rounds):
                chunk = dataset.requests(residents, per_round, seed=turn)
                batch = _triples(dataset.requests(residents, 1000, seed=1000 + turn))
                if turn % 2:  # take turns: neither side always finds the other's rows cached
                    single += _single(sync, chunk)
                    single_async += loop.run_until_complete(_single_async(asynchronous, chunk))
                else:
                    single_async += loop.run_until_complete(_single_async(asynchronous, chunk))
                    single += _single(sync, chunk)
                began = time.perf_counter()
                sync.decide_many(batch)
                many.append(time.perf_counter() - began)
                began = time.perf_counter()
                loop.run_until_complete(asynchronous.decide_many(batch))
                many_async.append(time.perf_counter() - began)
            load = dataset.requests(residents, 20 if name != "memory" else 200, seed=99)
            threads = [_threads(sync, load) for _ in range(2)]
            tasks = [loop.run_until_complete(_tasks(asynchronous, load)) for _ in range(2)]
        finally:
            if name in NATIVE:
                loop.run_until_complete(asynchronous.aclose())  # its connections belong to this loop
            loop.close()
        return {
            "runs_as": type(asynchronous.store).__name__,
            "decide_us": _median_us(single),
            "decide_async_us": _median_us(single_async),
            "decide_many_ms": round(statistics.median(many) * 1e3, 2),
            "decide_many_async_ms": round(statistics.median(many_async) * 1e3, 2),
            "threads_per_s": round(max(threads)),
            "tasks_per_s": round(max(tasks)),
        }
    finally:
        sync.close()
        target.cleanup()


def measure(stores_: Sequence[str] = STORES, residents: int = 1000, *, quick: bool = True) -> dict[str, dict[str, Any]]:
    """Every store's figures; a store whose server is down is reported as skipped."""
    results: dict[str, dict[str, Any]] = {}
    for name in stores_:
        try:
            results[name] = measure_store(name, residents, rounds=4 if quick else 10, per_round=200 if quick else 1000)
        except Exception as error:  # a down server is reported, not fatal
            results[name] = {"skipped": f"{type(error).__name__}: {error}"[:200]}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1000)
    parser.add_argument("--stores", default=",".join(STORES))
    parser.add_argument("--full", action="store_true", help="more rounds")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    print(json.dumps(measure(args.stores.split(","), args.residents, quick=not args.full), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
