"""How long each page takes with 100,000 residents in the clinic: medians, in milliseconds.

    python apps/admin/tests/measure_pages.py [--residents N] [--runs N] [--store URL]

Default store: a new SQLite file; pass a PostgreSQL URL with ``?schema=...&create=true``
to measure there (the schema must exist and be empty), or a Redis URL with a ``prefix``
no other data uses. The clinic's residents are seeded with ``import_residents`` (every
one approved, every tenth also holding a grant); on PostgreSQL the tables are then
vacuumed and analyzed, as autovacuum does within a minute of a bulk load
(``--no-analyze`` measures the minute before). The requests go through Starlette's TestClient in-process (server
time, no network), logged in as the demo admin. Prints a Markdown table: median and
90th percentile per page. A search is measured as the browser does it without htmx:
the form's POST, then the page.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import argon2
import sqlalchemy as sa
from careaccess import Actor, Approval, CaseType, Clinic, Grant, Resident, StaticDirectory, connect
from careaccess.store import MAX_IMPORT
from starlette.testclient import TestClient

from careaccess_admin import create_app
from careaccess_admin.demo import DEMO_PASSWORD, DEMO_USER, MAIN_CLINIC, demo_admins, test_number

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FIRST = ["Anna", "Bo", "Cecilia", "David", "Eva", "Filip", "Greta", "Hugo", "Ida", "Jonas"]
LAST = ["Andersson", "Berg", "Carlsson", "Dahl", "Ek", "Falk", "Gran", "Holm", "Isaksson", "Jansson"]


def residents(count: int) -> list[Resident]:
    start = dt.date(1930, 1, 1)
    people = []
    for index in range(count):
        pnr = test_number(start + dt.timedelta(days=index // 900), 1 + index % 900)
        name = f"{FIRST[index % 10]} {LAST[(index // 10) % 10]}-{index}"
        people.append(Resident(pnr, name))
    return people


def seed(url: str, people: list[Resident]) -> float:
    """Seconds to import *people* into a new clinic at *url*."""
    access = connect(url)
    actor = Actor(DEMO_USER, {MAIN_CLINIC})
    access.put_clinic(actor, Clinic(MAIN_CLINIC, "Vårdcentralen Exempel"))
    access.put_case_type(actor, CaseType(MAIN_CLINIC, "kbt", "KBT-behandling", restricted=True))
    now = access.now()
    began = time.perf_counter()
    for first in range(0, len(people), MAX_IMPORT):
        batch = people[first : first + MAX_IMPORT]
        approvals = [Approval(MAIN_CLINIC, p.pnr, p.name, now, DEMO_USER) for p in batch[: MAX_IMPORT * 9 // 10]]
        grants = [
            Grant(MAIN_CLINIC, p.pnr, "kbt", None, 1, now, DEMO_USER, now, p.name) for p in batch[len(approvals) :]
        ]
        access.import_residents(actor, MAIN_CLINIC, approvals, grants)
    access.close()
    return time.perf_counter() - began


def analyze(url: str) -> None:
    """Vacuum a PostgreSQL store's tables and gather the planner's statistics, as autovacuum
    does after a bulk load (since PostgreSQL 13 inserts alone start it)."""
    if not url.startswith("postgresql"):
        return
    store_url = sa.make_url(url)
    schema = store_url.query.get("schema")
    engine = sa.create_engine(store_url.set(query={}), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if isinstance(schema, str):
            connection.exec_driver_sql(f"SET search_path TO {schema}")  # a-z, 0-9 and _ only (the URL's rule)
        tables = connection.exec_driver_sql("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        for (table,) in tables.all():
            connection.exec_driver_sql(f'VACUUM (ANALYZE) "{table}"')
    engine.dispose()


def timed(runs: int, request: Callable[[], object]) -> list[float]:
    request()  # warm caches and connections
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        request()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def measure(url: str, people: list[Resident], runs: int) -> None:
    access = connect(url, plugins=[StaticDirectory(people)])
    cheap = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(DEMO_PASSWORD)
    app = create_app(access, demo_admins(cheap), secret_key=b"measure")
    clinic = f"/c/{MAIN_CLINIC}"
    with TestClient(app) as client:
        token = CSRF.findall(client.get("/login").text)[0]
        client.post("/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD, "csrf_token": token})
        token = CSRF.findall(client.get("/").text)[0]
        first = client.get(f"{clinic}/residents").text
        next_page = re.findall(r'href="([^"]+)" rel="next"', first)[0]
        resident = re.findall(rf'href="({clinic}/r/[^"]+)"', first)[10]
        middle = people[len(people) // 2]

        def search(text: str) -> Callable[[], object]:
            def run() -> object:
                response = client.post(f"{clinic}/search", data={"q": text, "view": "residents", "csrf_token": token})
                assert response.status_code == 200, response.status_code
                assert "<table" in response.text, "the search found nobody"
                return response

            return run

        def get(path: str) -> Callable[[], object]:
            def run() -> object:
                response = client.get(path)
                assert response.status_code == 200, response.status_code
                return response

            return run

        def lookup() -> object:
            return client.post(f"{clinic}/approve/lookup", data={"pnr": str(middle.pnr), "csrf_token": token})

        pages: dict[str, Callable[[], object]] = {
            "start page (Välj mottagning)": get("/"),
            "Invånare, first page": get(f"{clinic}/residents"),
            "Invånare, next page": get(next_page),
            "Invånare, search by part of name": search("Hugo Falk-47"),
            "Invånare, search by whole personnummer": search(str(middle.pnr)),
            "Invånare, search by start of personnummer": search(str(middle.pnr)[:11]),
            "Invånare, search by last digits (-NNNN)": search(str(middle.pnr)[-5:]),
            "resident page": get(resident),
            "Godkänn invånare, look-up step": lookup,
            "Hantera invånare, first page": get(f"{clinic}/manage"),
            "Händelselogg, first page": get(f"{clinic}/events"),
        }
        print(f"| {'page':50} | {'median ms':>9} | {'p90 ms':>6} |")
        print(f"|{'-' * 52}|{'-' * 10}:|{'-' * 7}:|")
        actor = Actor(DEMO_USER, {MAIN_CLINIC})
        library: dict[str, Callable[[], object]] = {
            "(library alone) list_residents, first page": lambda: access.list_residents(actor, MAIN_CLINIC, 50),
            "(library alone) list_residents, part of name": lambda: access.list_residents(
                actor, MAIN_CLINIC, 50, None, "Hugo Falk-47"
            ),
            "(library alone) list_residents, start of number": lambda: access.list_residents(
                actor, MAIN_CLINIC, 50, None, str(middle.pnr)[:11]
            ),
        }
        for name, request in {**pages, **library}.items():
            samples = timed(runs, request)
            p90 = statistics.quantiles(samples, n=10)[-1]
            print(f"| {name:50} | {statistics.median(samples):9.1f} | {p90:6.1f} |")
    access.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--store", help="store URL; default: a new SQLite file")
    parser.add_argument("--no-analyze", action="store_true", help="PostgreSQL: measure before vacuum and statistics")
    args = parser.parse_args()
    people = residents(args.residents)
    with tempfile.TemporaryDirectory() as scratch:
        url = args.store or f"sqlite:///{Path(scratch) / 'measure.db'}"
        seconds = seed(url, people)
        print(f"{args.residents} residents imported in {seconds:.1f} s into {url.split('?')[0].split('@')[-1]}")
        if not args.no_analyze:
            analyze(url)
        measure(url, people, args.runs)


if __name__ == "__main__":
    main()
