"""The stores under test, each in data of its own, with its raw baseline and its size on disk or in RAM.

Every target opens careaccess on an isolated place (a temporary SQLite file with a
``bench_`` table prefix, a fresh PostgreSQL schema, a fresh Redis key prefix, or a new
in-memory store), removes it afterwards, and offers the one raw operation its decisions
are compared with:

- memory: the dict lookups a decision needs (clinic, case type, resident, grant), on
  plain dicts holding the same records;
- SQLite: a primary-key ``SELECT`` of one approval through the stdlib ``sqlite3`` module;
- PostgreSQL: the same ``SELECT`` through psycopg (prepared, autocommit);
- Redis: a ``GET`` of a clinic's key on the store's own redis-py client.

Servers: ``CAREACCESS_BENCH_POSTGRESQL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) and ``CAREACCESS_BENCH_REDIS``
(default ``redis://127.0.0.1:6379/15``: a database of its own besides the key prefix, so
other clients' ``SCAN``s of database 0 neither walk the benchmark's millions of keys nor
hold up the server while it is measured).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dataset

import careaccess
from careaccess import CareAccess

__all__ = ["TARGETS", "Target", "rss_bytes"]

POSTGRESQL = os.environ.get("CAREACCESS_BENCH_POSTGRESQL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("CAREACCESS_BENCH_REDIS", "redis://127.0.0.1:6379/15")

#: A raw lookup, called once per request (a request is (pnr digits, clinic id, case type id)).
Lookup = Callable[[tuple[str, str, str]], object]


def rss_bytes() -> int:
    """The resident set size of this process (Linux ``/proc``), in bytes."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class Target:
    """One store: where it lives, how to open and remove it, its baseline and its size."""

    name = ""
    #: What the baseline is, for the report.
    baseline_name = ""
    #: Whether decide_many and single decide calls differ by network round trips.
    networked = False

    def url(self) -> str:
        raise NotImplementedError

    def open(self) -> CareAccess:
        """careaccess connected to this target's isolated data."""
        return careaccess.connect(self.url())

    def after_load(self, access: CareAccess) -> None:
        """Called after each bulk load (e.g. to refresh planner statistics)."""

    def baseline(self, access: CareAccess, residents: int) -> tuple[Lookup, Callable[[], None]]:
        """The raw lookup to compare ``decide`` with, and how to release it."""
        raise NotImplementedError

    def stored_bytes(self, access: CareAccess, residents: int) -> dict[str, Any]:
        """What the stored data takes, in bytes; keys depend on the store."""
        raise NotImplementedError

    def cleanup(self) -> None:
        """Remove everything this target stored."""


class MemoryTarget(Target):
    name = "memory"
    baseline_name = "bare dict lookups (clinic, case type, resident, grant)"

    def url(self) -> str:
        return "memory://"

    def baseline(self, access: CareAccess, residents: int) -> tuple[Lookup, Callable[[], None]]:
        # The same records in plain dicts, read back through the public API page by page.
        clinics: dict[str, tuple[dict[str, object], dict[str, tuple[object, dict[str, object]]]]] = {}
        for clinic in dataset.clinics_for(residents):
            listed_at: dict[str, tuple[object, dict[str, object]]] = {}
            cursor: str | None = None
            while True:
                page = access.list_residents(dataset.ADMIN, clinic.id, limit=1000, cursor=cursor)
                for listed in page.items:
                    listed_at[listed.pnr.digits] = (listed.approval, {g.case_type_id: g for g in listed.grants})
                cursor = page.next_cursor
                if cursor is None:
                    break
            clinics[clinic.id] = ({c.id: c for c in access.case_types(clinic.id)}, listed_at)

        def lookup(request: tuple[str, str, str]) -> object:
            pnr, clinic_id, case_type_id = request
            held = clinics.get(clinic_id)
            if held is None:
                return None
            case_type = held[0].get(case_type_id)
            listed = held[1].get(pnr)
            if listed is None:
                return (case_type, None, None)
            return (case_type, listed[0], listed[1].get(case_type_id))

        return lookup, clinics.clear

    def stored_bytes(self, access: CareAccess, residents: int) -> dict[str, Any]:
        return {"process_rss": rss_bytes()}


class SqliteTarget(Target):
    name = "sqlite"
    baseline_name = "stdlib sqlite3 primary-key SELECT of one approval"
    prefix = "bench_"

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="careaccess-bench-"))
        self.path = self.directory / "bench.db"

    def url(self) -> str:
        return f"sqlite:///{self.path}?prefix={self.prefix}"

    def baseline(self, access: CareAccess, residents: int) -> tuple[Lookup, Callable[[], None]]:
        connection = sqlite3.connect(self.path, isolation_level=None)
        statement = f"SELECT * FROM {self.prefix}approvals WHERE clinic_id = ? AND pnr = ?"  # noqa: S608 -- fixed prefix
        execute = connection.execute

        def lookup(request: tuple[str, str, str]) -> object:
            return execute(statement, (request[1], request[0])).fetchone()

        return lookup, connection.close

    def stored_bytes(self, access: CareAccess, residents: int) -> dict[str, Any]:
        with sqlite3.connect(self.path, isolation_level=None) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            tables = _sqlite_tables(connection, self.prefix)
        return {"file": self.path.stat().st_size, "tables": tables}

    def cleanup(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _sqlite_tables(connection: sqlite3.Connection, prefix: str) -> dict[str, int]:
    """Bytes per table, indexes included (needs the ``dbstat`` table; empty without it)."""
    try:
        rows = connection.execute(
            "SELECT coalesce(m.tbl_name, s.name), sum(s.pgsize) FROM dbstat s "
            "LEFT JOIN sqlite_schema m ON m.name = s.name GROUP BY 1"
        ).fetchall()
    except sqlite3.OperationalError:
        return {}
    return {name.removeprefix(prefix): int(size) for name, size in rows if name.startswith(prefix)}


class PostgresqlTarget(Target):
    name = "postgresql"
    baseline_name = "psycopg primary-key SELECT of one approval (prepared, autocommit)"
    networked = True

    def __init__(self) -> None:
        self.schema = f"bench_{uuid.uuid4().hex[:12]}"

    def url(self) -> str:
        separator = "&" if "?" in POSTGRESQL else "?"
        return f"{POSTGRESQL}{separator}schema={self.schema}&create=true"

    def _connect(self) -> Any:
        import psycopg  # noqa: PLC0415 -- only this target needs the driver

        conninfo = POSTGRESQL.replace("postgresql+psycopg://", "postgresql://", 1)
        return psycopg.connect(conninfo, autocommit=True)

    def after_load(self, access: CareAccess) -> None:
        with self._connect() as connection:
            connection.execute(f'ANALYZE "{self.schema}".approvals, "{self.schema}".grants')

    def baseline(self, access: CareAccess, residents: int) -> tuple[Lookup, Callable[[], None]]:
        connection = self._connect()
        statement = f'SELECT * FROM "{self.schema}".approvals WHERE clinic_id = %s AND pnr = %s'  # noqa: S608
        execute = connection.execute

        def lookup(request: tuple[str, str, str]) -> object:
            return execute(statement, (request[1], request[0]), prepare=True).fetchone()

        return lookup, connection.close

    def explain_decide(self, access: CareAccess, request: tuple[str, str, str]) -> dict[str, str]:
        """``EXPLAIN (ANALYZE, BUFFERS)`` of the store's decision statement for *request*, as the
        store runs it (prepared: the generic plan) and with the values inlined (a custom plan)."""
        from psycopg import sql as psycopg_sql  # noqa: PLC0415 -- only this target needs the driver

        sql = access.store.driver_queries()[0].sql  # type: ignore[attr-defined]
        pnr, clinic_id, case_type_id = request
        values = {"pnr": pnr, "clinic_id": clinic_id, "case_type_id": case_type_id}
        numbered = sql
        for number, name in enumerate(values, start=1):
            numbered = numbered.replace(f"%({name})s", f"${number}")
        with self._connect() as connection:
            connection.execute(f'SET search_path = "{self.schema}"')
            custom = connection.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, values).fetchall()
            connection.execute("SET plan_cache_mode = force_generic_plan")
            connection.execute("PREPARE careaccess_facts AS " + numbered)
            execute = psycopg_sql.SQL("EXPLAIN (ANALYZE, BUFFERS) EXECUTE careaccess_facts({}, {}, {})")
            literals = [psycopg_sql.Literal(value) for value in values.values()]
            generic = connection.execute(execute.format(*literals)).fetchall()
        return {
            "statement": sql,
            "generic_plan": "\n".join(row[0] for row in generic),
            "custom_plan": "\n".join(row[0] for row in custom),
        }

    def stored_bytes(self, access: CareAccess, residents: int) -> dict[str, Any]:
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
                (self.schema,),
            ).fetchall()
        tables = {str(name): int(size) for name, size in rows}
        return {"file": sum(tables.values()), "tables": tables}

    def cleanup(self) -> None:
        with self._connect() as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


class RedisTarget(Target):
    name = "redis"
    baseline_name = "redis-py GET of a clinic key, on the store's own client"
    networked = True

    def __init__(self) -> None:
        self.prefix = f"careaccess-bench-{uuid.uuid4().hex[:12]}:"
        self.used_before: int | None = None

    def url(self) -> str:
        separator = "&" if "?" in REDIS else "?"
        return f"{REDIS}{separator}prefix={self.prefix}"

    def _client(self, access: CareAccess) -> Any:
        return access.store.client  # type: ignore[attr-defined]

    def open(self) -> CareAccess:
        access = super().open()
        self.used_before = int(self._client(access).info("memory")["used_memory"])
        return access

    def baseline(self, access: CareAccess, residents: int) -> tuple[Lookup, Callable[[], None]]:
        client = self._client(access)
        keys = access.store.keys  # type: ignore[attr-defined]
        get = client.get

        def lookup(request: tuple[str, str, str]) -> object:
            return get(keys.of(request[1]).clinic)

        return lookup, lambda: None

    def stored_bytes(self, access: CareAccess, residents: int) -> dict[str, Any]:
        client = self._client(access)
        used = int(client.info("memory")["used_memory"])
        keys = access.store.keys  # type: ignore[attr-defined]
        # An exact split for a sample of clinics: their records' keys, and their event streams.
        # The last ten clinics: the write benchmarks add residents only to the first ten.
        clinics = len(dataset.clinics_for(residents))
        sample = range(max(0, clinics - 10), clinics)
        state = events = records = 0
        for number in sample:
            of = keys.of(dataset.clinic_id(number))
            indexes = dataset.indexes_at(number, residents)
            records += sum(1 + len(dataset.grants_of(i)) for i in indexes)
            listed = [of.resident(dataset.pnr_of(i).digits) for i in indexes]
            names = [of.residents, of.uses, *listed]
            pipe = client.pipeline(transaction=False)
            for name in names:
                pipe.memory_usage(name, samples=0)
            pipe.memory_usage(of.events, samples=0)
            sizes = [int(size or 0) for size in pipe.execute()]
            state += sum(sizes[:-1])
            events += sizes[-1]
        return {
            "used_memory_growth": used - (self.used_before or used),
            "sample_clinics": [dataset.clinic_id(n) for n in sample],
            "sample_records": records,
            "sample_state": state,
            "sample_events": events,
        }

    def cleanup(self) -> None:
        import redis  # noqa: PLC0415 -- only this target needs the driver

        client = redis.Redis.from_url(REDIS)
        try:
            batch: list[bytes] = []
            for key in client.scan_iter(match=f"{_glob(self.prefix)}*", count=10_000):
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


TARGETS: dict[str, type[Target]] = {
    "memory": MemoryTarget,
    "sqlite": SqliteTarget,
    "postgresql": PostgresqlTarget,
    "redis": RedisTarget,
}
