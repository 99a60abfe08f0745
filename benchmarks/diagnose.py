"""Split a decision's time into its layers, to show where a missed target's time goes.

::

    python benchmarks/diagnose.py --residents 100000 --out docs/benchmarks/diagnosis.json

For each store, on one data set, these take turns on the same requests (as in the
benchmark): ``decide``; the store's ``load_facts`` alone; the driver running the very
query the store sends (the SQL statement through stdlib ``sqlite3`` or psycopg, the
Lua script through a bare ``EVALSHA``) with nothing of careaccess around it; and the
raw baseline of the benchmark. The gaps between them are the cost of each layer. On
PostgreSQL it also records ``EXPLAIN (ANALYZE, BUFFERS)`` of the store's statement.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bench_stores
import dataset
import harness
import machine
import stores

from careaccess import CareAccess
from careaccess.identity import as_pnr
from careaccess.store import FactsRequest

Request = tuple[str, str, str]


def _driver_query(target: stores.Target, access: CareAccess, extra: dict[str, Any]) -> Callable[[Request], object]:
    """The store's own decision query, run straight through the driver."""
    store: Any = access.store
    if isinstance(target, stores.RedisTarget):
        from careaccess_redis import lua  # noqa: PLC0415 -- only for this store

        lua.FACTS.load(store.client)
        execute = store.client.execute_command

        def script(request: Request) -> object:
            return execute("EVALSHA", lua.FACTS.sha, 1, store.keys.of(request[1]).clinic, request[2], request[0])

        return script
    # The SQL store's prepared decision statement (a private attribute: this is a diagnosis).
    compiled = store._load_facts.compile(dialect=store.engine.dialect)
    sql = str(compiled)
    if isinstance(target, stores.SqliteTarget):
        connection = sqlite3.connect(target.path, isolation_level=None)
        names = compiled.positiontup or []

        def run_sqlite(request: Request) -> object:
            values = {"pnr": request[0], "clinic_id": request[1], "case_type_id": request[2]}
            return connection.execute(sql, [values[name] for name in names]).fetchall()

        return run_sqlite
    assert isinstance(target, stores.PostgresqlTarget)
    pg = target._connect()
    pg.execute(f'SET search_path TO "{target.schema}"')

    def run_pg(request: Request) -> object:
        params = {"pnr": request[0], "clinic_id": request[1], "case_type_id": request[2]}
        return pg.execute(sql, params, prepare=True).fetchall()

    extra["statement"] = sql
    return run_pg


def _explain(target: stores.Target, access: CareAccess, request: Request) -> list[str]:
    store: Any = access.store
    sql = str(store._load_facts.compile(dialect=store.engine.dialect))
    assert isinstance(target, stores.PostgresqlTarget)
    with target._connect() as pg:
        pg.execute(f'SET search_path TO "{target.schema}"')
        params = {"pnr": request[0], "clinic_id": request[1], "case_type_id": request[2]}
        for _ in range(3):  # warm the catalog caches, as a long-running service has them
            pg.execute("EXPLAIN (ANALYZE) " + sql, params)
        return [str(row[0]) for row in pg.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)]


def _sampler(part: Callable[[Request], object]) -> Callable[[list[Request]], list[float]]:
    return lambda chunk: harness.call_samples(part, chunk)


def diagnose(name: str, residents: int) -> dict[str, Any]:
    target = stores.TARGETS[name]()
    access = target.open()
    extra: dict[str, Any] = {}
    try:
        bench_stores.load(access, 0, residents)
        target.after_load(access)
        requests = [r.as_tuple() for r in dataset.requests(residents, 3000, bench_stores.SEED + 7)]
        store = access.store
        lookup, release = target.baseline(access, residents)
        parsed = {r: as_pnr(r[0]) for r in requests}
        parts: dict[str, Callable[[Request], object]] = {
            "decide": lambda r: access.decide(*r),
            "decide, identity number parsed beforehand": lambda r: access.decide(parsed[r], r[1], r[2]),
            "the store's load_facts alone": lambda r: store.load_facts(FactsRequest(parsed[r].digits, r[1], r[2])),
        }
        if name != "memory":
            parts["the driver running the store's own query"] = _driver_query(target, access, extra)
        parts[f"raw baseline: {target.baseline_name}"] = lookup
        for request in requests[:300]:
            for part in parts.values():
                part(request)
        chunks = [requests[i : i + 100] for i in range(0, len(requests), 100)]
        timings = harness.interleave({label: _sampler(part) for label, part in parts.items()}, chunks)
        if isinstance(target, stores.PostgresqlTarget):
            extra["explain"] = _explain(target, access, requests[0])
        release()
    finally:
        access.close()
        target.cleanup()
    return {"residents": residents, "median_us": {k: round(v.median_ns / 1000, 2) for k, v in timings.items()}, **extra}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--stores", default="memory,sqlite,postgresql,redis")
    parser.add_argument("--out", type=Path, help="write the JSON here (default: print it)")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {
        "command": " ".join(["python", "benchmarks/diagnose.py", *(sys.argv[1:] if argv is None else argv)]),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": machine.commit(),
        "load_average_at_start": machine.describe()["load_average_at_start"],
        "stores": {},
    }
    for name in args.stores.split(","):
        print(f"== {name}", file=sys.stderr, flush=True)
        result["stores"][name] = diagnose(name, args.residents)
    text = json.dumps(result, indent=1) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
