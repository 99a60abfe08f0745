"""Measure one store at growing sizes: load, decide, decide_many, writes, pages, feed, bytes.

Run by ``benchmarks/run.py`` once per store, each in a process of its own::

    python benchmarks/bench_stores.py --store memory --sizes 1000,100000 --out memory.json

The store is loaded to the first size through ``CareAccess.import_residents``, measured,
grown to the next size (only residents are added) and measured again. The JSON file is
rewritten after every size, so a run cut short keeps the sizes it finished. The store's
data is removed at the end, also on failure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import dataset
import harness
import peer
import stores
from attrs import frozen

from careaccess import BulkResult, CareAccess
from careaccess.identity import as_pnr

SEED = 20251126
ZONE_DAY = dt.timedelta(hours=1)


@frozen
class Settings:
    """How much to measure: the quick mode does less of everything."""

    decide_requests: int
    decide_repeat: int
    warmup: int
    many_repeat: int
    writes: int
    page_samples: int
    feed_seconds: float

    @classmethod
    def of(cls, target: stores.Target, *, quick: bool) -> Settings:
        if not target.networked and target.name == "memory":
            return cls(5000, 2 if quick else 6, 2000, 5 if quick else 20, 2000, 2000, 2.0 if quick else 5.0)
        if quick:
            return cls(1000, 1, 300, 3, 200, 300, 2.0)
        return cls(2000, 2, 500, 10, 1000, 600, 5.0)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- loading ----------------------------------------------------------------------------


def load(access: CareAccess, start: int, stop: int) -> dict[str, Any]:
    """Grow the store from *start* to *stop* residents; returns how long it took."""
    clinic_seconds = 0.0
    before = {c.id for c in dataset.clinics_for(start)} if start else set()
    begin = time.perf_counter()
    for clinic in dataset.clinics_for(stop):
        if clinic.id in before:
            continue
        access.put_clinic(dataset.ADMIN, clinic)
        for case_type in dataset.case_types_of(clinic.id):
            access.put_case_type(dataset.ADMIN, case_type)
    clinic_seconds = time.perf_counter() - begin
    import_seconds = 0.0
    calls = records = 0
    begin = time.perf_counter()
    for clinic_id, approvals, grants in dataset.records_for(start, stop):
        started = time.perf_counter()
        access.import_residents(dataset.ADMIN, clinic_id, approvals, grants)
        import_seconds += time.perf_counter() - started
        calls += 1
        records += len(approvals) + len(grants)
    total = time.perf_counter() - begin
    return {
        "residents_added": stop - start,
        "records_imported": records,
        "import_calls": calls,
        "import_seconds": round(import_seconds, 3),
        "records_per_second": round(records / import_seconds, 1) if import_seconds else None,
        "clinic_setup_seconds": round(clinic_seconds, 3),
        "seconds_with_generation": round(total + clinic_seconds, 3),
    }


# -- measurements -----------------------------------------------------------------------


def check_decisions(access: CareAccess, requests: list[dataset.Request]) -> int:
    """How many decisions disagree with the data set (0 when the load is right)."""
    day = access.today()
    return sum(bool(access.decide(r.pnr, r.clinic_id, r.case_type_id)) != dataset.expected(r, day) for r in requests)


def measure_decide(
    access: CareAccess, target: stores.Target, residents: int, settings: Settings
) -> tuple[dict[str, Any], list[dataset.Request]]:
    """decide and its raw baseline on the same requests, taking turns in chunks of 100."""
    requests = dataset.requests(residents, settings.decide_requests, SEED + residents)
    result: dict[str, Any] = {"mismatches": check_decisions(access, requests)}
    decide = access.decide

    def one(r: dataset.Request) -> object:
        return decide(r.pnr, r.clinic_id, r.case_type_id)

    parsed = {r: as_pnr(r.pnr) for r in requests}

    def one_parsed(r: dataset.Request) -> object:
        return decide(parsed[r], r.clinic_id, r.case_type_id)

    lookup, release = target.baseline(access, residents)
    try:

        def run_batch(batch: Sequence[tuple[str, str, str]]) -> None:
            for request in batch:
                lookup(request)

        def baseline(chunk: list[dataset.Request]) -> list[float]:
            raw = [r.as_tuple() for r in chunk]
            if target.networked:
                return harness.call_samples(lookup, raw)
            # Far below a microsecond: timed 50 at a time.
            return harness.batch_samples(run_batch, [raw[i : i + 50] for i in range(0, len(raw), 50)])

        parts: dict[str, Callable[[Any], list[float]]] = {
            "decide": lambda chunk: harness.call_samples(one, chunk),
            "baseline": baseline,
        }
        if target.name == "memory":
            parts["decide_parsed_pnr"] = lambda chunk: harness.call_samples(one_parsed, chunk)
        for n in range(settings.warmup):
            request = requests[n % len(requests)]
            one(request)
            lookup(request.as_tuple())
        chunks = [requests[i : i + 100] for i in range(0, len(requests), 100)] * settings.decide_repeat
        timings = harness.interleave(parts, chunks)
    finally:
        release()
    result["decide"] = timings["decide"].as_dict()
    if "decide_parsed_pnr" in timings:
        result["decide_parsed_pnr"] = timings["decide_parsed_pnr"].as_dict()
    result["baseline"] = {"what": target.baseline_name, **timings["baseline"].as_dict()}
    result["decide_to_baseline"] = round(timings["decide"].median_ns / timings["baseline"].median_ns, 2)
    return result, requests


def measure_many(access: CareAccess, requests: list[dataset.Request], settings: Settings) -> dict[str, Any]:
    """decide_many of 1,000 requests against the same 1,000 as single calls, taking turns."""
    batch = [r.as_tuple() for r in (requests * (1 + 1000 // len(requests)))[:1000]]
    decide = access.decide

    def singles(b: list[tuple[str, str, str]]) -> None:
        for pnr, clinic_id, case_type_id in b:
            decide(pnr, clinic_id, case_type_id)

    access.decide_many(batch)
    singles(batch)
    timings = harness.interleave(
        {
            "many": lambda b: harness.call_samples(access.decide_many, [b]),
            "singles": lambda b: harness.call_samples(singles, [b]),
        },
        [batch] * settings.many_repeat,
    )
    many, loop = timings["many"], timings["singles"]
    return {
        "decide_many_1000": many.as_dict(),
        "single_decide_x1000": loop.as_dict(),
        "speedup": round(loop.median_ns / many.median_ns, 2),
    }


def measure_writes(access: CareAccess, residents: int, settings: Settings) -> dict[str, Any]:
    """approve_resident, then grant_case_type, of new residents one call at a time.

    Timed as a service runs them: the garbage collector stays on, and the rate is the
    calls over the time of the whole loop.
    """
    people = dataset.write_pnrs(residents, settings.writes)
    # The first ten clinics exist at every size; storage is sampled at the last ten.
    pairs = [(dataset.clinic_id(n % 10), person) for n, person in enumerate(people)]
    out: dict[str, Any] = {"count": len(pairs)}
    for name, call in (
        ("approve_resident", lambda p: access.approve_resident(dataset.ADMIN, p[0], p[1], name="Bench Resident")),
        (
            "grant_case_type",
            lambda p: access.grant_case_type(dataset.ADMIN, p[0], p[1], "kbt", None, name="Bench Resident"),
        ),
    ):
        begin = time.perf_counter_ns()
        samples = harness.call_samples(call, pairs)
        seconds = (time.perf_counter_ns() - begin) / 1e9
        out[name] = {**harness.Timing.of(samples).as_dict(), "per_second": round(len(pairs) / seconds, 1)}
    out["bulk"] = measure_bulk(access, pairs)
    return out


def measure_bulk(access: CareAccess, pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """The bulk actions on the residents just written, one call per clinic: records per second.

    ``grant_case_types`` hands out ``diabetes`` until a date, ``remove_grants`` takes it
    back, ``revoke_approvals`` removes the approvals ("Ta bort markerade"): each one
    changeset with one event per record.
    """
    by_clinic: dict[str, list[Any]] = {}
    for clinic, person in pairs:
        by_clinic.setdefault(clinic, []).append(person)
    actions: dict[str, Callable[[str, list[Any]], BulkResult]] = {
        "grant_case_types": lambda c, people: access.grant_case_types(
            dataset.ADMIN, c, people, "diabetes", dataset.GRANT_END
        ),
        "remove_grants": lambda c, people: access.remove_grants(dataset.ADMIN, c, [(p, "diabetes") for p in people]),
        "revoke_approvals": lambda c, people: access.revoke_approvals(dataset.ADMIN, c, people),
    }
    out: dict[str, Any] = {}
    for name, action in actions.items():
        begin = time.perf_counter_ns()
        changed = sum(len(action(clinic, people).events) for clinic, people in by_clinic.items())
        seconds = (time.perf_counter_ns() - begin) / 1e9
        out[name] = {"records": changed, "calls": len(by_clinic), "per_second": round(changed / seconds, 1)}
    return out


def measure_pages(access: CareAccess, residents: int, settings: Settings) -> dict[str, Any]:
    """Pages of 50 at every position of up to 20 clinics' resident lists."""
    pages: list[tuple[str, str | None]] = []
    for clinic in dataset.clinics_for(residents)[:20]:
        cursor: str | None = None
        while True:
            pages.append((clinic.id, cursor))
            cursor = access.list_residents(dataset.ADMIN, clinic.id, limit=50, cursor=cursor).next_cursor
            if cursor is None:
                break
    repeat = max(1, -(-settings.page_samples // len(pages)))
    timing = harness.time_calls(
        lambda p: access.list_residents(dataset.ADMIN, p[0], limit=50, cursor=p[1]),
        pages,
        warmup=min(100, len(pages)),
        repeat=repeat,
    )
    return {"pages": len(pages), **timing.as_dict()}


def measure_feed(access: CareAccess, residents: int, settings: Settings) -> dict[str, Any]:
    """Events per second reading the whole feed, and one clinic's feed, 1,000 at a time."""
    state: dict[str, str | None] = {"after": None}

    def step_all() -> int | None:
        events = access.events(after=state["after"], limit=1000)
        if not events:
            return None
        state["after"] = events[-1].id
        return len(events)

    read, rate = harness.time_rate(step_all, seconds=settings.feed_seconds, max_steps=10_000)
    clinics = [c.id for c in dataset.clinics_for(residents)]
    position = {"clinic": 0}
    cursor: dict[str, str | None] = {}

    def step_clinic() -> int | None:
        if position["clinic"] >= len(clinics):
            return None
        clinic_id = clinics[position["clinic"]]
        events = access.events(after=cursor.get(clinic_id), limit=1000, clinic_id=clinic_id)
        if events:
            cursor[clinic_id] = events[-1].id
        else:
            position["clinic"] += 1  # this clinic's feed is read to its end: go on to the next
        return len(events)

    clinic_read, clinic_rate = harness.time_rate(step_clinic, seconds=settings.feed_seconds, max_steps=100_000)
    return {
        "all_clinics": {"events": read, "per_second": round(rate, 1)},
        "one_clinic": {"events": clinic_read, "per_second": round(clinic_rate, 1)},
    }


def measure_casbin(residents: int, requests: list[dataset.Request], settings: Settings) -> dict[str, Any]:
    rss0 = stores.rss_bytes()
    begin = time.perf_counter()
    enforcer = peer.enforcer(residents)
    load_seconds = time.perf_counter() - begin
    rss1 = stores.rss_bytes()
    day = dt.datetime.now(dt.UTC).astimezone(peer.ZONE).date()
    mismatches = sum(
        peer.decide(enforcer, r.pnr, r.clinic_id, r.case_type_id) != dataset.expected(r, day) for r in requests
    )
    timing = harness.time_calls(
        lambda r: peer.decide(enforcer, r.pnr, r.clinic_id, r.case_type_id),
        requests,
        warmup=min(settings.warmup, 500),
        repeat=1,
    )
    return {
        "what": "pycasbin FastEnforcer, policy indexed by (subject, clinic)",
        "load_seconds": round(load_seconds, 2),
        "rss_growth": rss1 - rss0,
        "mismatches": mismatches,
        "decide": timing.as_dict(),
    }


def profile(call: Callable[[], object], seconds: float, path: Path) -> None:
    """Run *call* under pyinstrument for about *seconds* and write the text report to *path*."""
    from pyinstrument import Profiler  # noqa: PLC0415 -- only for profiling runs

    profiler = Profiler(interval=0.0002)
    profiler.start()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        call()
    profiler.stop()
    text = profiler.output_text(unicode=True, color=False)
    root = str(Path(__file__).resolve().parent.parent)
    text = text.replace(root + "/", "").replace(sys.prefix + "/", "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def profile_decisions(access: CareAccess, store: str, residents: int, folder: Path) -> None:
    """Profiles of ``decide`` and of ``decide_many(1000)``, about three seconds of each."""
    requests = dataset.requests(residents, 1000, SEED + 1)
    position = {"n": 0}

    def one() -> None:
        r = requests[position["n"] % len(requests)]
        position["n"] += 1
        access.decide(r.pnr, r.clinic_id, r.case_type_id)

    log(f"{store}: profiling decide at {residents}")
    profile(one, 3.0, folder / f"decide-{store}.txt")
    batch = [r.as_tuple() for r in requests]
    profile(lambda: access.decide_many(batch), 3.0, folder / f"decide_many-{store}.txt")


def measure_size(access: CareAccess, target: stores.Target, residents: int, settings: Settings) -> dict[str, Any]:
    result: dict[str, Any] = {"residents": residents, **dataset.record_counts(residents)}
    log(f"{target.name} {residents}: decide")
    decide, requests = measure_decide(access, target, residents, settings)
    result.update(decide)
    log(f"{target.name} {residents}: decide_many")
    result["decide_many"] = measure_many(access, requests, settings)
    log(f"{target.name} {residents}: pages")
    result["page_of_50"] = measure_pages(access, residents, settings)
    log(f"{target.name} {residents}: feed")
    result["feed"] = measure_feed(access, residents, settings)
    log(f"{target.name} {residents}: bytes")
    gc.collect()
    result["stored"] = target.stored_bytes(access, residents)
    if isinstance(target, stores.PostgresqlTarget):
        result["explain_decide"] = target.explain_decide(access, requests[1].as_tuple())
    if target.name == "memory":
        log(f"{target.name} {residents}: pycasbin")
        result["casbin"] = measure_casbin(residents, requests, settings)
        result["casbin_to_decide"] = round(result["casbin"]["decide"]["median_us"] / result["decide"]["median_us"], 2)
    log(f"{target.name} {residents}: writes")
    result["writes"] = measure_writes(access, residents, settings)
    return result


def _stop(signum: int, frame: object) -> None:
    """SIGTERM ends the run like Ctrl-C: the finally blocks remove the store's data."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, choices=sorted(stores.TARGETS))
    parser.add_argument("--sizes", required=True, help="comma-separated resident counts, ascending")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--profile-dir", type=Path, help="write pyinstrument profiles of decide here")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    target = stores.TARGETS[args.store]()
    settings = Settings.of(target, quick=args.quick)
    output: dict[str, Any] = {"store": target.name, "sizes": {}, "loads": {}, "baseline_what": target.baseline_name}
    gc.collect()
    output["rss_before_load"] = stores.rss_bytes()

    def save() -> None:
        args.out.write_text(json.dumps(output, indent=1) + "\n", encoding="utf-8")

    access: CareAccess | None = None
    try:
        access = target.open()
        loaded = 0
        for size in sizes:
            log(f"{target.name}: loading {loaded} -> {size} residents")
            output["loads"][str(size)] = load(access, loaded, size)
            loaded = size
            target.after_load(access)
            gc.collect()
            if target.name == "memory":
                output["loads"][str(size)]["rss_after_load"] = stores.rss_bytes()
            log(f"{target.name}: loaded {output['loads'][str(size)]}")
            output["sizes"][str(size)] = measure_size(access, target, size, settings)
            save()
        if args.profile_dir is not None:
            profile_decisions(access, target.name, sizes[-1], args.profile_dir)
            output["profiled_at"] = sizes[-1]
            save()
    except Exception as error:
        output["error"] = "".join(traceback.format_exception_only(error)).strip()
        log(traceback.format_exc())
        save()
        return 1
    finally:
        if access is not None:
            access.close()
        target.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
