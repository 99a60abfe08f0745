"""The SQL store's decision reads layer by layer, and an older revision's beside the current one, in one run.

    python benchmarks/probe_sqlread.py --store sqlite --residents 1000
    python benchmarks/probe_sqlread.py --store postgresql --residents 10000 --old-rev main

Loads the data set (``dataset.py``) into a fresh store as ``bench_stores.py`` does, then
times, taking turns in chunks of 100 requests (``harness.interleave``):

- ``raw``: the baseline of ``bench_stores.py`` (a primary-key SELECT of one approval on
  the bare driver; on SQLite timed 50 at a time, as there);
- ``bare``: the store's decision statement on a bare driver connection (no pool, no rows
  turned into records);
- ``old_load`` / ``new_load``: ``SqlStore.load_facts`` with *old-rev*'s ``driverquery.py``
  and ``rows.py`` (loaded from git under other names), and as it is now;
- ``old_decide`` / ``new_decide``: ``CareAccess.decide`` on each of the two;
- then ``decide_many(1000)`` on each of the two beside 1,000 single calls.

Every answer of the old path is checked equal to the new path's before timing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import bench_stores
import dataset
import harness
import stores

from careaccess.identity import as_pnr
from careaccess.store import DecisionFacts, FactsRequest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "backends/sql/src/careaccess_sql"


def old_module(rev: str, name: str, folder: Path) -> ModuleType:
    """*name* (a module of careaccess_sql) as it is at *rev*, imported as ``old_<name>``."""
    text = subprocess.run(  # noqa: S603 -- git, with a revision given on the command line
        ["git", "-C", str(ROOT), "show", f"{rev}:{PACKAGE}/{name}.py"],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = folder / f"old_{name}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"old_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def old_readers(store: Any, rev: str, folder: Path) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """load_facts and load_facts_many as *rev* ran them (its statements, driver queries, rows), on *store*'s engines."""
    driverquery = old_module(rev, "driverquery", folder)
    rows = old_module(rev, "rows", folder)
    statements = old_module(rev, "statements", folder).Statements(store.tables, store.flavour, store.engine.dialect)
    one = driverquery.DriverQuery(store._reader, statements.load_facts, store._serial, binary=True)
    many = driverquery.DriverQuery(store._reader, statements.load_facts_many, store._serial, binary=True)
    runner = store._runner

    def load_facts(request: FactsRequest) -> DecisionFacts:
        params = {"clinic_id": request.clinic_id, "case_type_id": request.case_type_id, "pnr": request.digits}
        row = runner.driver_read(one.first, params)
        return rows.NO_FACTS if row is None else rows.facts_of(request, row, 0)  # type: ignore[no-any-return]

    def load_facts_many(requests: Sequence[FactsRequest]) -> list[DecisionFacts]:
        params: dict[str, Any]
        if store.flavour == "postgresql":
            params = {
                "pnrs": [r.digits for r in requests],
                "clinic_ids": [r.clinic_id for r in requests],
                "case_type_ids": [r.case_type_id for r in requests],
            }
            base = 1
        else:
            params = {"batch": json.dumps([[r.digits, r.clinic_id, r.case_type_id] for r in requests])}
            base = 1 if store.flavour == "mariadb" else 0
        found = runner.driver_read(many.all, params)
        facts: list[DecisionFacts] = [rows.NO_FACTS] * len(requests)
        for row in found:
            index = int(row[0]) - base
            facts[index] = rows.facts_of(requests[index], row, 1)
        return facts

    return load_facts, load_facts_many


def bare_statement(
    store: Any, target: stores.Target, plan: str = "auto"
) -> tuple[Callable[[FactsRequest], object], Callable[[], None]]:
    """The store's decision statement on a connection of the driver's own, outside any pool.

    :param plan: PostgreSQL's ``plan_cache_mode`` on that connection.
    """
    query = store.driver_queries()[0]
    if store.flavour == "sqlite":
        import sqlite3  # noqa: PLC0415

        connection = sqlite3.connect(target.path, isolation_level=None)  # type: ignore[attr-defined]
        sql = query.sql
        order = query._order

        def run(request: FactsRequest) -> object:
            values = {"clinic_id": request.clinic_id, "case_type_id": request.case_type_id, "pnr": request.digits}
            return connection.execute(sql, tuple(values[name] for name in order)).fetchone()

        return run, connection.close
    connection = target._connect()  # type: ignore[attr-defined]
    connection.execute(f'SET search_path = "{target.schema}"')  # type: ignore[attr-defined]
    connection.execute(f"SET plan_cache_mode = {plan}")
    sql = query.sql

    def run_pg(request: FactsRequest) -> object:
        values = {"clinic_id": request.clinic_id, "case_type_id": request.case_type_id, "pnr": request.digits}
        return connection.cursor(binary=True).execute(sql, values, prepare=True).fetchone()

    return run_pg, connection.close


def main() -> int:  # noqa: PLR0915 -- one probe, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, choices=["sqlite", "postgresql"])
    parser.add_argument("--residents", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--many-repeat", type=int, default=10)
    parser.add_argument("--old-rev", default="main")
    parser.add_argument("--plans", action="store_true", help="PostgreSQL: also the bare statement's plans forced")
    args = parser.parse_args()
    target = stores.TARGETS[args.store]()
    access = target.open()
    folder = Path(tempfile.mkdtemp(prefix="probe-sqlread-"))
    try:
        bench_stores.load(access, 0, args.residents)
        target.after_load(access)
        store: Any = access.store
        new_load, new_many = store.load_facts, store.load_facts_many
        old_load, old_many = old_readers(store, args.old_rev, folder)
        requests = dataset.requests(args.residents, args.requests, bench_stores.SEED + args.residents)
        facts = []
        for r in requests:
            person = as_pnr(r.pnr)
            facts.append(FactsRequest(person.digits, r.clinic_id, r.case_type_id, person))
        by_request = dict(zip(requests, facts, strict=True))
        assert all(old_load(f) == new_load(f) for f in facts), "old and new load_facts differ"
        assert old_many(facts[:1000]) == new_many(facts[:1000]), "old and new load_facts_many differ"
        lookup, release = target.baseline(access, args.residents)
        bare, close_bare = bare_statement(store, target)
        closing = [close_bare, release]
        if args.store == "postgresql" and args.plans:
            generic, close_generic = bare_statement(store, target, "force_generic_plan")
            custom, close_custom = bare_statement(store, target, "force_custom_plan")
            closing += [close_generic, close_custom]
        decide = access.decide

        def decide_with(load: Callable[..., Any]) -> Callable[[list[dataset.Request]], list[float]]:
            def part(chunk: list[dataset.Request]) -> list[float]:
                store.load_facts = load
                try:
                    return harness.call_samples(lambda r: decide(r.pnr, r.clinic_id, r.case_type_id), chunk)
                finally:
                    del store.load_facts

            return part

        def raw(chunk: list[dataset.Request]) -> list[float]:
            tuples = [r.as_tuple() for r in chunk]
            if target.networked:
                return harness.call_samples(lookup, tuples)
            run = lambda batch: [lookup(t) for t in batch]  # noqa: E731
            return harness.batch_samples(run, [tuples[i : i + 50] for i in range(0, len(tuples), 50)])

        parts: dict[str, Callable[[Any], list[float]]] = {
            "raw": raw,
            "bare": lambda chunk: harness.call_samples(bare, [by_request[r] for r in chunk]),
            "old_load": lambda chunk: harness.call_samples(old_load, [by_request[r] for r in chunk]),
            "new_load": lambda chunk: harness.call_samples(new_load, [by_request[r] for r in chunk]),
            "old_decide": decide_with(old_load),
            "new_decide": decide_with(new_load),
        }
        if args.store == "postgresql" and args.plans:
            parts["bare_generic"] = lambda chunk: harness.call_samples(generic, [by_request[r] for r in chunk])
            parts["bare_custom"] = lambda chunk: harness.call_samples(custom, [by_request[r] for r in chunk])
        for r in requests[:500]:
            for part in parts.values():
                part([r])
        chunks = [requests[i : i + 100] for i in range(0, len(requests), 100)] * args.repeat
        began = time.strftime("%H:%M:%S")
        load_before = os.getloadavg()[0]
        timings = harness.interleave(parts, chunks)
        raw_ns = timings["raw"].median_ns
        load_after = os.getloadavg()[0]
        print(f"{args.store}, {args.residents} residents, {began} UTC, load {load_before:.2f} -> {load_after:.2f}")
        for name, timing in timings.items():
            print(f"  {name:12} median {timing.median_ns / 1000:8.2f} us  / raw {timing.median_ns / raw_ns:5.2f}")

        batch = facts[:1000]
        asked = [r.as_tuple() for r in requests[:1000]]

        def many_with(load: Callable[..., Any]) -> Callable[[Any], list[float]]:
            def part(b: Any) -> list[float]:
                store.load_facts_many = load
                try:
                    return harness.call_samples(access.decide_many, [b])
                finally:
                    del store.load_facts_many

            return part

        def singles(b: Any) -> list[float]:
            return harness.call_samples(lambda items: [decide(*item) for item in items], [b])

        many_parts: dict[str, Callable[[Any], list[float]]] = {
            "old_many": many_with(old_many),
            "new_many": many_with(new_many),
            "old_loadmany": lambda b: harness.call_samples(old_many, [batch]),
            "new_loadmany": lambda b: harness.call_samples(new_many, [batch]),
            "singles": singles,
        }
        for part in many_parts.values():
            part(asked)
        timings = harness.interleave(many_parts, [asked] * args.many_repeat)
        single_ns = timings["singles"].median_ns
        print(f"  decide_many(1000), load {os.getloadavg()[0]:.2f}")
        for name, timing in timings.items():
            ratio = single_ns / timing.median_ns
            print(f"  {name:12} median {timing.median_ns / 1e6:8.2f} ms  singles/this {ratio:5.2f}")
        for close in closing:
            close()
    finally:
        access.close()
        target.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
