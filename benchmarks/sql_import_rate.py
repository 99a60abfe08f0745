"""How fast ``import_residents`` loads a SQL store: ``python sql_import_rate.py [sqlite|postgresql|mariadb] ...``.

With ``--country N`` it loads the first *N* residents of the whole-country data set
(:mod:`country`, as ``bench_country.py`` loads it: 1,200 clinics, their case types, then
every import call of :func:`country.records`) and prints records per second over the
whole load, the data set's generation included, and within ``import_residents``.

Imports ``--batches`` batches of ``--size`` records (each resident approved and granted
one restricted case type, so half the records are approvals, half grants) spread over
``--clinics`` clinics, into a new SQLite file, a new schema on the test PostgreSQL
server (``CAREACCESS_TEST_POSTGRESQL``) or a new database on the test MariaDB server
(``CAREACCESS_TEST_MARIADB``), which is dropped afterwards. Prints records per second
through ``CareAccess.import_residents`` and within ``SqlStore.apply`` (one changeset per batch).

The servers are found as careaccess-sql's tests find them (``backends/sql/tests/sql_support.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import country
import sqlalchemy as sa
from careaccess_sql import SqlStore

import careaccess
from careaccess import Actor, Approval, CareAccess, CaseType, Clinic, Event, Grant, PersonalIdentityNumber
from careaccess.store import Changeset
from careaccess.testing.conformance import make_pnr

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backends" / "sql" / "tests"))
from sql_support import (
    create_database,
    database_url,
    drop_database,
    mariadb_server_url,
    postgresql_server_url,
    schema_url,
)

CASE_TYPE = "restricted"
WHEN = dt.datetime(2025, 6, 1, 8, 0, tzinfo=dt.UTC)
FIRST_BIRTH = dt.date(1930, 1, 1)


def resident(index: int) -> PersonalIdentityNumber:
    """The *index*-th of many distinct residents: 999 serials per birth date."""
    born = FIRST_BIRTH + dt.timedelta(days=index // 999)
    return make_pnr(born.strftime("%Y%m%d"), 1 + index % 999)


@contextmanager
def store_url(kind: str) -> Iterator[str]:
    """A URL for a new, empty store of *kind*, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{Path(directory) / 'import.db'}"
        return
    if kind == "mariadb":
        server = sa.create_engine(mariadb_server_url(), isolation_level="AUTOCOMMIT")
        database = create_database(server, "careaccess_rate")
        try:
            yield database_url(database, create="true")
        finally:
            drop_database(server, database)
            server.dispose()
        return
    schema = f"careaccess_rate_{secrets.token_hex(4)}"
    admin = sa.create_engine(postgresql_server_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        yield schema_url(schema, create="true")
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def measure(access: CareAccess, batches: int, size: int, clinics: int) -> tuple[float, float, int]:
    """Import the batches; returns (seconds in import_residents, seconds in SqlStore.apply, records)."""
    clinic_ids = [f"clinic-{n:04d}" for n in range(clinics)]
    admin = Actor("loader", frozenset(clinic_ids))
    for clinic_id in clinic_ids:
        access.put_clinic(admin, Clinic(clinic_id, f"Vårdcentral {clinic_id}"))
        access.put_case_type(admin, CaseType(clinic_id, CASE_TYPE, "Begränsad", restricted=True))
    store = access.store
    assert isinstance(store, SqlStore)
    in_store = 0.0
    apply = store.apply

    def timed(changeset: Changeset) -> list[Event]:
        nonlocal in_store
        started = time.perf_counter()
        try:
            return apply(changeset)
        finally:
            in_store += time.perf_counter() - started

    store.apply = timed  # type: ignore[method-assign]
    total = 0.0
    records = 0
    people = size // 2
    for number in range(batches):
        clinic_id = clinic_ids[number % clinics]
        persons = [resident(number * people + i) for i in range(people)]
        approvals = [Approval(clinic_id, p, f"Invånare {p.birth_date}", WHEN, "legacy") for p in persons]
        grants = [Grant(clinic_id, p, CASE_TYPE, None, 1, WHEN, "legacy", WHEN, None) for p in persons]
        started = time.perf_counter()
        events = access.import_residents(admin, clinic_id, approvals, grants)
        total += time.perf_counter() - started
        records += len(events)
    return total, in_store, records


def measure_country(access: CareAccess, residents: int, calls: int = 0) -> tuple[float, float, int]:
    """Load the first *residents* of the country (only the first *calls* import calls, if given);
    returns (seconds in all, in import_residents, records)."""
    for clinic in country.clinics():
        access.put_clinic(country.ADMIN, clinic)
        for case_type in country.case_types_of(clinic.id):
            access.put_case_type(country.ADMIN, case_type)
    records = 0
    in_import = 0.0
    started = time.perf_counter()
    for call, (clinic_id, approvals, grants) in enumerate(country.records(0, residents)):
        if call == calls > 0:
            break
        begun = time.perf_counter()
        records += len(access.import_residents(country.ADMIN, clinic_id, approvals, grants))
        in_import += time.perf_counter() - begun
    total = time.perf_counter() - started
    if not calls and records != country.record_counts(residents)["records"]:  # pragma: no cover - a broken load
        raise AssertionError(f"loaded {records} records, expected {country.record_counts(residents)}")
    return total, in_import, records


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("kind", choices=["sqlite", "postgresql", "mariadb"])
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--clinics", type=int, default=10)
    parser.add_argument("--country", type=int, default=0, metavar="RESIDENTS", help="load the country data set")
    parser.add_argument("--calls", type=int, default=0, help="with --country: stop after this many import calls")
    args = parser.parse_args(argv)
    if args.country:
        with store_url(args.kind) as url, careaccess.connect(url) as access:
            total, in_import, records = measure_country(access, args.country, args.calls)
        calls = f" ({args.calls} calls)" if args.calls else ""
        print(
            f"{args.kind}: country of {args.country} residents{calls}, {records} records: {total:.2f} s, "
            f"{records / total:,.0f} records/s in all; {in_import:.2f} s, {records / in_import:,.0f} records/s "
            f"in import_residents; load {os.getloadavg()[0]:.2f}"
        )
        return
    with store_url(args.kind) as url, careaccess.connect(url) as access:
        total, in_store, records = measure(access, args.batches, args.size, args.clinics)
        assert len(access.events(limit=1000)) == min(1000, 2 * args.clinics + records)
    print(
        f"{args.kind}: {records} records in {args.batches} batches of {args.size}: "
        f"{total:.2f} s, {records / total:,.0f} records/s through import_residents; "
        f"{in_store:.2f} s, {records / in_store:,.0f} records/s in apply"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
