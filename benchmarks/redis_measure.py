"""Measure the Redis store: memory per record, bulk import rate, name search, decide.

Run against a Redis server that nothing else writes to while it runs::

    python benchmarks/redis_measure.py redis://127.0.0.1:6379/0 --count 10000
    python benchmarks/redis_measure.py redis://127.0.0.1:6379/0 --import-batches 100 --batch-size 2000
    python benchmarks/redis_measure.py redis://127.0.0.1:6379/0 --name-search 50000
    python benchmarks/redis_measure.py redis://127.0.0.1:6379/0 --decide

It writes under a fresh random prefix and deletes everything it wrote afterwards.
``--json`` prints the figures as one JSON object (the fields of :class:`MemoryFigures`
or :class:`ImportFigures`) instead of a table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
import timeit
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from attrs import asdict, frozen
from careaccess_redis.keys import glob_prefix
from careaccess_redis.scripting import execute
from careaccess_redis.store import RedisStore
from redis.cluster import RedisCluster

from careaccess import Actor, CaseType, Clinic, connect
from careaccess.identity import PersonalIdentityNumber, luhn_check_digit
from careaccess.models import Approval, Grant

__all__ = ["ImportFigures", "MemoryFigures", "main", "measure", "measure_import"]

_CLINIC = "measure-clinic"
_CASE_TYPE = "kbt"
_NAME = "Karin Lindqvist-Öberg"  # a typical name length, with non-ASCII letters


@frozen
class MemoryFigures:
    """Bytes per record, averaged over ``count`` records."""

    count: int
    approval: float  # the resident hash and list entry of a resident with one approval
    grant_alone: float  # the same for a resident holding only one grant
    grant_added: float  # one more grant for an already listed resident
    event: float  # one event in the clinic's stream
    replay_token: float  # the replay key of one change, until it expires
    used_memory_per_approval: float  # INFO used_memory growth per approval, everything included

    def table(self) -> str:
        rows = [
            ("approval (resident hash + list entry)", self.approval),
            ("grant, resident holds nothing else", self.grant_alone),
            ("grant added to a listed resident", self.grant_added),
            ("event in the clinic's stream", self.event),
            (f"replay token per change (expires after {300} s)", self.replay_token),
            ("INFO used_memory growth per approval, all included", self.used_memory_per_approval),
        ]
        lines = [f"{self.count} records each; bytes per record:"]
        lines.extend(f"  {label:<55} {value:8.1f}" for label, value in rows)
        return "\n".join(lines)


@frozen
class ImportFigures:
    """Bulk import through ``CareAccess.import_residents``: residents approved and granted."""

    batches: int
    batch_size: int  # records per batch: half approvals, half grants of the same residents
    clinics: int  # the batches take turns over this many clinics
    seconds: float  # wall time of the import calls alone
    resident: float  # bytes per imported resident (hash with approval and grant, list entry)
    event: float  # bytes per imported event in the clinic's stream
    used_memory_per_record: float  # INFO used_memory growth per record, everything included

    @property
    def records_per_second(self) -> float:
        return self.batches * self.batch_size / self.seconds

    def table(self) -> str:
        rows = [
            ("records imported per second", self.records_per_second),
            ("resident with approval and grant (hash + list entry)", self.resident),
            ("imported event in the clinic's stream", self.event),
            ("INFO used_memory growth per record, all included", self.used_memory_per_record),
        ]
        lines = [
            f"{self.batches} batches of {self.batch_size} records over {self.clinics} clinics in {self.seconds:.2f} s:"
        ]
        lines.extend(f"  {label:<55} {value:10.1f}" for label, value in rows)
        return "\n".join(lines)


@frozen
class SearchFigures:
    """Name search in one clinic of ``residents`` residents: median ms of one page of 50."""

    residents: int
    no_match: float  # a name no resident has: every resident is examined
    few_match: float  # a name one resident in a thousand has
    all_match: float  # a name every resident has: the first page fills at once
    digits_and_name: float  # a birth-year prefix and a name no resident has

    def table(self) -> str:
        rows = [
            ("search, no resident matches", self.no_match),
            ("search, one resident in a thousand matches", self.few_match),
            ("search, every resident matches", self.all_match),
            ("birth year and a name nobody has", self.digits_and_name),
        ]
        lines = [f"name search over {self.residents} residents, median ms per page of 50:"]
        lines.extend(f"  {label:<55} {value:10.2f}" for label, value in rows)
        return "\n".join(lines)


@frozen
class DecideFigures:
    """Median µs of one ``CareAccess.decide`` (timeit loops of ``number`` calls)."""

    number: int
    restricted_granted: float
    open_approved: float
    unknown_resident: float

    def table(self) -> str:
        rows = [
            ("decide, restricted case type, granted", self.restricted_granted),
            ("decide, open case type, approved", self.open_approved),
            ("decide, resident unknown", self.unknown_resident),
        ]
        lines = [f"median µs per decide ({self.number} calls a loop):"]
        lines.extend(f"  {label:<55} {value:10.1f}" for label, value in rows)
        return "\n".join(lines)


def _residents(count: int, offset: int) -> Iterator[PersonalIdentityNumber]:
    for n in range(offset, offset + count):
        birth = dt.date(1940, 1, 1) + dt.timedelta(days=n // 900)
        nine = f"{birth:%y%m%d}{n % 900 + 1:03d}"
        yield PersonalIdentityNumber.from_digits(f"{birth:%Y%m%d}{n % 900 + 1:03d}{luhn_check_digit(nine)}")


def _usage(store: RedisStore, keys: Sequence[str]) -> int:
    pipe = store.client.pipeline(transaction=False)
    for key in keys:
        execute(pipe, "MEMORY", "USAGE", key, "SAMPLES", 0)
    return sum(int(found or 0) for found in pipe.execute())


def _used_memory(store: RedisStore) -> int:
    if isinstance(store.client, RedisCluster):  # summed over the primaries: only the clinic's node grows
        nodes = cast(dict[str, dict[str, Any]], store.client.info("memory", target_nodes=RedisCluster.PRIMARIES))
        return sum(int(node["used_memory"]) for node in nodes.values())
    return int(store.client.info("memory")["used_memory"])


def _scan(store: RedisStore, match: str) -> list[str]:
    if isinstance(store.client, RedisCluster):
        return list(store.client.scan_iter(match=match, count=1000, target_nodes=RedisCluster.PRIMARIES))
    return list(store.client.scan_iter(match=match, count=1000))


def measure(url: str, count: int = 10_000) -> MemoryFigures:
    """Write *count* approvals and grants through the service and measure what they take."""
    with _scratch(url) as store:
        return _measure(store, count)


def measure_import(url: str, batches: int = 100, batch_size: int = 2000, clinics: int = 10) -> ImportFigures:
    """Import *batches* batches of *batch_size* records and time the import calls."""
    with _scratch(url) as store:
        return _measure_import(store, batches, batch_size, clinics)


def measure_search(url: str, residents: int = 50_000, repeat: int = 7) -> SearchFigures:
    """Import *residents* residents into one clinic and time name searches of a page of 50."""
    with _scratch(url) as store:
        access = connect(store)
        admin = Actor("measure", frozenset({_CLINIC}))
        access.put_clinic(admin, Clinic(_CLINIC, "Mätmottagningen"))
        when = dt.datetime(2025, 6, 1, 8, 0, tzinfo=dt.UTC)
        people = list(_residents(residents, 0))
        for start in range(0, residents, 5000):
            batch = people[start : start + 5000]
            names = [_NAME if (start + n) % 1000 else "Zlatan Unik" for n in range(len(batch))]
            access.import_residents(
                admin, _CLINIC, [Approval(_CLINIC, p, name, when, "m") for p, name in zip(batch, names, strict=True)]
            )

        def median_ms(search: str) -> float:
            access.list_residents(admin, _CLINIC, limit=50, search=search)  # warm
            runs = timeit.repeat(
                lambda: access.list_residents(admin, _CLINIC, limit=50, search=search), number=1, repeat=repeat
            )
            return statistics.median(runs) * 1e3

        return SearchFigures(
            residents=residents,
            no_match=median_ms("ingen sådan"),
            few_match=median_ms("zlatan"),
            all_match=median_ms("lindqvist"),
            digits_and_name=median_ms("1940 ingen sådan") if _search_takes_both(access, admin) else float("nan"),
        )


def _search_takes_both(access: Any, admin: Actor) -> bool:
    try:
        access.list_residents(admin, _CLINIC, limit=1, search="1940 x")
    except Exception:  # older versions take digits or a name, not both
        return False
    return True


def measure_decide(url: str, number: int = 2000, repeat: int = 15) -> DecideFigures:
    """Median time of one decide: restricted and granted, open and approved, resident unknown."""
    with _scratch(url) as store:
        access = connect(store)
        admin = Actor("measure", frozenset({_CLINIC}))
        access.put_clinic(admin, Clinic(_CLINIC, "Mätmottagningen"))
        access.put_case_type(admin, CaseType(_CLINIC, _CASE_TYPE, "KBT", restricted=True))
        access.put_case_type(admin, CaseType(_CLINIC, "open", "Öppen"))
        person, stranger = _residents(2, 0)
        access.approve_resident(admin, _CLINIC, person, name=_NAME)
        access.grant_case_type(admin, _CLINIC, person, _CASE_TYPE, until=None, name=_NAME)

        def median_us(case_type: str, who: PersonalIdentityNumber) -> float:
            timeit.timeit(lambda: access.decide(who, _CLINIC, case_type), number=number)  # warm
            runs = timeit.repeat(lambda: access.decide(who, _CLINIC, case_type), number=number, repeat=repeat)
            return statistics.median(runs) / number * 1e6

        return DecideFigures(
            number=number,
            restricted_granted=median_us(_CASE_TYPE, person),
            open_approved=median_us("open", person),
            unknown_resident=median_us(_CASE_TYPE, stranger),
        )


@contextmanager
def _scratch(url: str) -> Iterator[RedisStore]:
    """A store under a fresh prefix; every key under it is deleted afterwards."""
    prefix = f"measure-{uuid.uuid4().hex[:8]}:"
    separator = "&" if "?" in url else "?"
    store = RedisStore.from_url(f"{url}{separator}prefix={prefix}")
    try:
        yield store
    finally:
        keys = _scan(store, store.keys.pattern())
        pipe = store.client.pipeline(transaction=False)
        for key in keys:
            pipe.delete(key)
        pipe.execute()
        store.close()


def _measure(store: RedisStore, count: int) -> MemoryFigures:
    access = connect(store)
    admin = Actor("measure", frozenset({_CLINIC}))
    access.put_clinic(admin, Clinic(_CLINIC, "Mätmottagningen"))
    access.put_case_type(admin, CaseType(_CLINIC, _CASE_TYPE, "KBT", restricted=True))
    access.put_case_type(admin, CaseType(_CLINIC, "second", "Andra", restricted=True))
    keys = store.keys.of(_CLINIC)
    approved = list(_residents(count, 0))
    granted = list(_residents(count, count))

    def state() -> tuple[int, int, int]:
        resident_keys = _scan(store, glob_prefix(keys.resident_prefix))
        replay_keys = _scan(store, glob_prefix(keys.replay_prefix))
        listed = _usage(store, [*resident_keys, keys.residents, keys.uses])
        return listed, _usage(store, [keys.events]), _usage(store, replay_keys)

    listed0, events0, replay0 = state()
    used0 = _used_memory(store)
    for person in approved:
        access.approve_resident(admin, _CLINIC, person, name=_NAME)
    used1 = _used_memory(store)
    listed1, events1, replay1 = state()
    for person in granted:
        access.grant_case_type(admin, _CLINIC, person, _CASE_TYPE, until=None, name=_NAME)
    listed2, _, _ = state()
    for person in granted:
        access.grant_case_type(admin, _CLINIC, person, "second", until=dt.date(2099, 12, 31), name=_NAME)
    listed3, _, _ = state()
    return MemoryFigures(
        count=count,
        approval=(listed1 - listed0) / count,
        grant_alone=(listed2 - listed1) / count,
        grant_added=(listed3 - listed2) / count,
        event=(events1 - events0) / count,
        replay_token=(replay1 - replay0) / count,
        used_memory_per_approval=(used1 - used0) / count,
    )


def _measure_import(store: RedisStore, batches: int, batch_size: int, clinic_count: int) -> ImportFigures:
    access = connect(store)
    clinics = [f"{_CLINIC}-{n}" for n in range(clinic_count)]
    admin = Actor("measure", frozenset(clinics))
    for clinic in clinics:
        access.put_clinic(admin, Clinic(clinic, "Mätmottagningen"))
        access.put_case_type(admin, CaseType(clinic, _CASE_TYPE, "KBT", restricted=True))
    when = dt.datetime(2025, 6, 1, 8, 0, tzinfo=dt.UTC)
    per_batch = batch_size // 2
    work: list[tuple[str, list[Approval], list[Grant]]] = []
    for n in range(batches):  # built beforehand: the timing covers the import calls only
        clinic = clinics[n % clinic_count]
        people = list(_residents(per_batch, n * per_batch))
        approvals = [Approval(clinic, person, _NAME, when, "legacy") for person in people]
        grants = [Grant(clinic, person, _CASE_TYPE, None, 1, when, "legacy", when, _NAME) for person in people]
        work.append((clinic, approvals, grants))
    all_keys = [store.keys.of(clinic) for clinic in clinics]

    def state() -> tuple[int, int]:
        resident_keys = [key for keys in all_keys for key in _scan(store, glob_prefix(keys.resident_prefix))]
        listed = _usage(store, [*resident_keys, *(keys.residents for keys in all_keys)])
        return listed, _usage(store, [keys.events for keys in all_keys])

    listed0, events0 = state()
    used0 = _used_memory(store)
    started = time.perf_counter()
    for clinic, approvals, grants in work:
        access.import_residents(admin, clinic, approvals, grants)
    seconds = time.perf_counter() - started
    used1 = _used_memory(store)
    listed1, events1 = state()
    records = batches * per_batch * 2
    return ImportFigures(
        batches=batches,
        batch_size=per_batch * 2,
        clinics=clinic_count,
        seconds=seconds,
        resident=(listed1 - listed0) / (records / 2),
        event=(events1 - events0) / records,
        used_memory_per_record=(used1 - used0) / records,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="store URL, e.g. redis://127.0.0.1:6379/0 (add ?cluster=true for a cluster)")
    parser.add_argument("--count", type=int, default=10_000, help="records of each kind (default 10000)")
    parser.add_argument("--import-batches", type=int, help="measure bulk import instead: this many batches")
    parser.add_argument("--batch-size", type=int, default=2000, help="records per import batch (default 2000)")
    parser.add_argument("--clinics", type=int, default=10, help="clinics the import batches go to (default 10)")
    parser.add_argument("--name-search", type=int, help="measure name search instead: this many residents")
    parser.add_argument("--decide", action="store_true", help="measure decide instead (median of timeit loops)")
    parser.add_argument("--json", action="store_true", help="print the figures as a JSON object")
    arguments = parser.parse_args(argv)
    figures: MemoryFigures | ImportFigures | SearchFigures | DecideFigures
    if arguments.decide:
        figures = measure_decide(arguments.url)
    elif arguments.name_search:
        figures = measure_search(arguments.url, arguments.name_search)
    elif arguments.import_batches:
        figures = measure_import(arguments.url, arguments.import_batches, arguments.batch_size, arguments.clinics)
    else:
        figures = measure(arguments.url, arguments.count)
    print(json.dumps(asdict(figures)) if arguments.json else figures.table())


if __name__ == "__main__":
    main()
