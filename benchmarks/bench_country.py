"""The whole country on one store: 10.5 million residents over 1,200 clinics (``country.py``).

::

    python benchmarks/bench_country.py --store postgresql --out country-postgresql.json
    python benchmarks/bench_country.py --store sqlite --residents 2000000 --out check.json
    python benchmarks/bench_country.py --store memory --residents 1000000 --out memory.json

Run by ``benchmarks/run.py --country`` once per store, each in a process of its own. The
store gets all 1,200 clinics, is loaded to 1,000 residents through
``CareAccess.import_residents`` and measured (``decide``, a page of 50), then grown
through the same bulk path, 1.2 million residents at a time, to the full size and
measured again; ``--max-load-minutes`` stops the growth at the step it has reached and
measures there (the JSON says which size that was). Reported: the load time, ``decide``
and a page of 50 at the full size against 1,000 residents, and bytes per resident (the
SQLite file, ``pg_database_size`` of a database of its own, Redis ``used_memory``
growth, or the in-memory store's growth of the process's resident set).

Each store's data lives apart and is removed at the end, also on failure or SIGTERM: a
temporary SQLite file, a PostgreSQL database of its own (dropped), a Redis key prefix of
its own in database 15 (its keys unlinked).
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import gc
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import country
import machine
import stores

import careaccess
from careaccess import CareAccess

SEED = 20261201
STEP = 1_200_000
SMALL = 1000


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] country: {message}", file=sys.stderr, flush=True)


class Place:
    """Where one store's country lives, how big it is and how it is removed."""

    def __init__(self, store: str) -> None:
        self.store = store
        self.token = uuid.uuid4().hex[:10]
        self.directory: Path | None = None
        self.database = f"careaccess_country_{self.token}"
        self.prefix = f"careaccess-country-{self.token}:"
        self.used_before = 0

    def url(self) -> str:
        if self.store == "memory":
            return "memory://"
        if self.store == "sqlite":
            self.directory = Path(tempfile.mkdtemp(prefix="careaccess-country-", dir=os.environ.get("TMPDIR")))
            return f"sqlite:///{self.directory / 'country.db'}"
        if self.store == "postgresql":
            with self._server() as connection:
                connection.execute(f'CREATE DATABASE "{self.database}"')
            base = stores.POSTGRESQL.rsplit("/", 1)[0]
            return f"{base}/{self.database}?create=true"
        separator = "&" if "?" in stores.REDIS else "?"
        return f"{stores.REDIS}{separator}prefix={self.prefix}"

    def _server(self) -> Any:
        import psycopg  # noqa: PLC0415 -- only this store needs the driver

        return psycopg.connect(stores.POSTGRESQL.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True)

    def opened(self, access: CareAccess) -> None:
        if self.store == "redis":
            self.used_before = int(access.store.client.info("memory")["used_memory"])  # type: ignore[attr-defined]
        elif self.store == "memory":
            gc.collect()
            self.used_before = stores.rss_bytes()

    def after_load(self, access: CareAccess) -> None:
        if self.store == "postgresql":  # planner statistics, as after any bulk load
            import psycopg  # noqa: PLC0415

            conninfo = stores.POSTGRESQL.replace("postgresql+psycopg://", "postgresql://", 1).rsplit("/", 1)[0]
            with psycopg.connect(f"{conninfo}/{self.database}", autocommit=True) as connection:
                connection.execute("ANALYZE")

    def stored(self, access: CareAccess, residents: int) -> dict[str, Any]:
        """Bytes the data takes, in all and per resident."""
        out: dict[str, Any] = {}
        if self.store == "memory":
            gc.collect()
            out["bytes"] = stores.rss_bytes() - self.used_before
            out["how"] = "growth of the process's resident set since the store was opened"
        elif self.store == "sqlite":
            import sqlite3  # noqa: PLC0415

            assert self.directory is not None
            path = self.directory / "country.db"
            with sqlite3.connect(path, isolation_level=None) as connection:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            out["bytes"] = path.stat().st_size
            out["how"] = "the database file after a checkpoint"
        elif self.store == "postgresql":
            with self._server() as connection:
                row = connection.execute("SELECT pg_database_size(%s)", (self.database,)).fetchone()
            out["bytes"] = int(row[0])
            out["how"] = "pg_database_size of the store's own database (tables, indexes, catalog)"
        else:
            used = int(access.store.client.info("memory")["used_memory"])  # type: ignore[attr-defined]
            out["bytes"] = used - self.used_before
            out["how"] = "INFO used_memory growth since the store was opened (records, indexes, events)"
        out["per_resident"] = round(out["bytes"] / residents, 1)
        return out

    def cleanup(self) -> None:
        if self.store == "sqlite" and self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
        elif self.store == "postgresql":
            with self._server() as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        elif self.store == "redis":
            import redis  # noqa: PLC0415

            client = redis.Redis.from_url(stores.REDIS)
            try:
                batch: list[bytes] = []
                for key in client.scan_iter(match=_glob(self.prefix) + "*", count=10_000):
                    batch.append(key)
                    if len(batch) >= 10_000:
                        client.unlink(*batch)
                        batch = []
                if batch:
                    client.unlink(*batch)
            finally:
                client.close()


def _glob(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def load(access: CareAccess, start: int, stop: int, threads: int = 1) -> dict[str, Any]:
    """Grow the store from *start* to *stop* residents through ``import_residents``.

    With *threads* > 1, that many import calls (each one clinic's, atomic on its own) run at
    once from a pool of threads, as a loader of many clinics would run them: while one call
    waits for the store, the next is planned. At most twice *threads* calls are generated
    ahead, so memory stays bounded.
    """
    calls = records = 0
    importing = 0.0
    begin = time.perf_counter()
    last = begin

    def one(clinic_id: str, approvals: Any, grants: Any) -> float:
        started = time.perf_counter()
        access.import_residents(country.ADMIN, clinic_id, approvals, grants)
        return time.perf_counter() - started

    def done(seconds: float, size: int) -> None:
        nonlocal calls, records, importing, last
        importing += seconds
        calls += 1
        records += size
        if time.perf_counter() - last > 60:
            last = time.perf_counter()
            log(f"  {records:,} records in {last - begin:.0f} s")

    if threads <= 1:
        for clinic_id, approvals, grants in country.records(start, stop):
            done(one(clinic_id, approvals, grants), len(approvals) + len(grants))
    else:
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            running: collections.deque[tuple[concurrent.futures.Future[float], int]] = collections.deque()
            for clinic_id, approvals, grants in country.records(start, stop):
                running.append((pool.submit(one, clinic_id, approvals, grants), len(approvals) + len(grants)))
                if len(running) >= 2 * threads:
                    future, size = running.popleft()
                    done(future.result(), size)
            while running:
                future, size = running.popleft()
                done(future.result(), size)
    total = time.perf_counter() - begin
    return {
        "from": start,
        "to": stop,
        "records": records,
        "calls": calls,
        "threads": threads,
        "seconds": round(total, 1),
        "import_seconds": round(importing, 1),
        "records_per_second": round(records / total, 1) if total else None,
    }


def _timed(call: Callable[[Any], object], inputs: list[Any], warmup: int) -> dict[str, float]:
    for item in inputs[:warmup]:
        call(item)
    clock = time.perf_counter_ns
    samples: list[int] = []
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for item in inputs:
            begin = clock()
            call(item)
            samples.append(clock() - begin)
    finally:
        if enabled:
            gc.enable()
    samples.sort()
    rank = max(0, round(0.99 * len(samples)) - 1)
    return {
        "samples": len(samples),
        "median_us": round(statistics.median(samples) / 1000, 2),
        "p99_us": round(samples[rank] / 1000, 2),
    }


def measure(access: CareAccess, residents: int, count: int) -> dict[str, Any]:
    """decide on *count* random requests, and pages of 50 at many positions of five clinics."""
    requests = country.requests(residents, count, SEED + residents)
    day = access.today()
    wrong = sum(bool(access.decide(r.pnr, r.clinic_id, r.case_type_id)) != country.expected(r, day) for r in requests)
    decide = access.decide
    result: dict[str, Any] = {"residents": residents, "wrong_answers": wrong}
    result["decide"] = _timed(lambda r: decide(r.pnr, r.clinic_id, r.case_type_id), requests, min(300, count))
    pages: list[tuple[str, str | None]] = []
    for number in (0, 1, 2, 3, 4):
        cursor: str | None = None
        for _ in range(40):  # up to 2,000 residents into each clinic's list
            pages.append((country.clinic_id(number), cursor))
            page = access.list_residents(country.ADMIN, country.clinic_id(number), limit=50, cursor=cursor)
            cursor = page.next_cursor
            if cursor is None:
                break
    lister = access.list_residents
    result["page_of_50"] = {
        "pages": len(pages),
        **_timed(lambda p: lister(country.ADMIN, p[0], limit=50, cursor=p[1]), pages * max(1, 400 // len(pages)), 20),
    }
    return result


def run(
    access: CareAccess, place: Place, args: argparse.Namespace, output: dict[str, Any], save: Callable[[], None]
) -> None:
    """Set up the clinics, load and measure 1,000 residents, grow to the full size and measure again."""
    begin = time.perf_counter()
    for clinic in country.clinics():
        access.put_clinic(country.ADMIN, clinic)
        for case_type in country.case_types_of(clinic.id):
            access.put_case_type(country.ADMIN, case_type)
    output["clinic_setup_seconds"] = round(time.perf_counter() - begin, 1)
    small = min(SMALL, args.residents)
    output["loads"].append(load(access, 0, small))
    place.after_load(access)
    output["small"] = measure(access, small, args.requests)
    log(f"{args.store} at {small}: {output['small']['decide']}")
    save()
    reached = small
    grow_begin = time.perf_counter()
    while reached < args.residents:
        if args.max_load_minutes is not None and time.perf_counter() - grow_begin > args.max_load_minutes * 60:
            output["stopped_early"] = f"growth stopped after {args.max_load_minutes} minutes"
            break
        step_to = min(args.residents, (reached // STEP + 1) * STEP)
        log(f"{args.store}: loading {reached:,} -> {step_to:,}")
        output["loads"].append(load(access, reached, step_to, args.threads))
        reached = output["reached"] = step_to
        save()
    output["reached"] = reached
    output["load_seconds"] = round(sum(step["seconds"] for step in output["loads"]), 1)
    output["records"] = sum(step["records"] for step in output["loads"])
    begin = time.perf_counter()
    place.after_load(access)
    output["after_load_seconds"] = round(time.perf_counter() - begin, 1)
    output["stored"] = place.stored(access, reached)
    output["large"] = measure(access, reached, args.requests)
    log(f"{args.store} at {reached:,}: {output['large']['decide']}")
    output["decide_growth"] = round(output["large"]["decide"]["median_us"] / output["small"]["decide"]["median_us"], 2)
    output["page_growth"] = round(
        output["large"]["page_of_50"]["median_us"] / output["small"]["page_of_50"]["median_us"], 2
    )
    output["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    save()


def _stop(signum: int, frame: object) -> None:
    """SIGTERM ends the run like Ctrl-C: the finally block removes the data."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, choices=["memory", "sqlite", "postgresql", "redis"])
    parser.add_argument("--residents", type=int, default=country.COUNTRY)
    parser.add_argument("--requests", type=int, default=2000, help="decide requests at each size")
    parser.add_argument("--max-load-minutes", type=float, help="stop growing after this long; measure there")
    parser.add_argument(
        "--threads", type=int, default=1, help="import calls (one clinic each) run at once while growing (default 1)"
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    place = Place(args.store)
    output: dict[str, Any] = {
        "store": args.store,
        "requested_residents": args.residents,
        "threads": args.threads,
        # where it came from, for a report that merges it into another run's results
        "started": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "commit": machine.commit(),
        "uncommitted_changes": machine.uncommitted(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "loads": [],
    }

    def save() -> None:
        args.out.write_text(json.dumps(output, indent=1) + "\n", encoding="utf-8")

    access: CareAccess | None = None
    try:
        access = careaccess.connect(place.url())
        place.opened(access)
        run(access, place, args, output, save)
    except (Exception, KeyboardInterrupt) as error:
        output["error"] = "".join(traceback.format_exception_only(error)).strip()
        log(traceback.format_exc())
        save()
        return 1
    finally:
        if access is not None:
            access.close()
        log(f"{args.store}: removing the data")
        place.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
