"""The resident's side: ``clinics_for`` on one store at growing sizes.

Run by ``benchmarks/run.py`` once per store, each in a process of its own::

    python benchmarks/bench_reach.py --store sqlite --sizes 1000,100000,1000000 --out sqlite.json

or for every store in one run (each still in a process of its own, one after the
other), judged against the targets, without the rest of the benchmark::

    python benchmarks/bench_reach.py --store all --sizes 1000,100000,1000000 --out reach.json

The data follows the issue's workload, over the benchmark's 1,000 clinics
(:func:`dataset.clinic_id`, each with :func:`dataset.case_types_of`'s two open and two
restricted case types):

- every even-numbered clinic has a service area: every 50th the whole country from age
  70, every 4th (of the rest) one municipality (the first of its region), the others one
  region — the 21 regions in turn; the odd-numbered clinics have none;
- resident ``i`` (:func:`dataset.pnr_of`) lives in one of the 21 regions (in its first
  municipality every second time), is approved at 1-3 clinics, and every 5th holds
  ``kbt`` until further notice at one more clinic (every 50th also an ended
  ``diabetes`` grant there).

A resident's candidates are then about 2 listed clinics, some 23 clinics of their region
or municipality and the 20 whole-country clinics: about 45 clinics and 180 decisions per
call. Each call passes the residence (no directory). The store is grown with
``CareAccess.import_residents`` (the bulk path), residents added in windows of 500,000 so
each call carries a few hundred records; every answer of a sample is checked against
the data set (*wrong answers*).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import random
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bench_stores
import dataset
import harness
import stores

from careaccess import Approval, AreaRule, CareAccess, Clinic, Grant, Residence, ServiceArea, regions
from careaccess.identity import PersonalIdentityNumber
from careaccess.store import MAX_IMPORT

__all__ = ["clinic", "expected", "load", "main", "measure_size", "residence_of"]

SEED = 20261130
WINDOW = 500_000
COUNTIES = tuple(sorted(regions.counties()))
OPEN = frozenset({"fraga", "recept"})


def _first_municipality(region: str) -> str:
    return min(m.code for m in regions.municipalities_of(region))


def clinic(number: int) -> Clinic:
    """Clinic *number* (0-999) with its service area."""
    region = COUNTIES[number // 2 % len(COUNTIES)]
    if number % 2:
        area = ServiceArea()
    elif number % 50 == 0:
        area = ServiceArea([AreaRule(min_age=70)])
    elif number % 4 == 2:
        area = ServiceArea([AreaRule(region, _first_municipality(region))])
    else:
        area = ServiceArea([AreaRule(region)])
    return Clinic(dataset.clinic_id(number), f"Vårdcentralen {number}", area)


def _mix(index: int) -> int:
    return (index * 2654435761 + 97) % 2**32


def approved_at(index: int) -> list[int]:
    """The numbers of the 1-3 clinics resident *index* is approved at (distinct)."""
    mixed = _mix(index)
    return [(mixed + j * 337) % dataset.MAX_CLINICS for j in range(1 + mixed % 3)]


def granted_at(index: int) -> int | None:
    """The clinic where resident *index* holds grants (every 5th resident), else None."""
    return (_mix(index) + 500) % dataset.MAX_CLINICS if index % 5 == 0 else None


def residence_of(index: int) -> Residence:
    """Where resident *index* lives."""
    region = COUNTIES[_mix(index) // 7 % len(COUNTIES)]
    return Residence(region, _first_municipality(region) if index % 2 else None)


def expected(index: int, person: PersonalIdentityNumber, day: dt.date) -> dict[str, frozenset[str]]:
    """The clinics resident *index* may contact on *day*, with the case types allowed at each."""
    allowed: dict[str, set[str]] = {}
    for number in approved_at(index):
        allowed.setdefault(dataset.clinic_id(number), set()).update(OPEN)
    grant = granted_at(index)
    if grant is not None:
        allowed.setdefault(dataset.clinic_id(grant), set()).add("kbt")
    home = residence_of(index)
    age = person.age(on=day)
    for number in range(0, dataset.MAX_CLINICS, 2):
        rule = clinic(number).service_area.rules[0]
        if rule.region is None:
            matches = age is not None and age >= 70
        elif rule.municipality is not None:
            matches = rule.municipality == home.municipality
        else:
            matches = rule.region == home.region
        if matches:
            allowed.setdefault(dataset.clinic_id(number), set()).update(OPEN)
    return {clinic_id: frozenset(types) for clinic_id, types in allowed.items()}


def records(start: int, stop: int) -> Iterator[tuple[str, list[Approval], list[Grant]]]:
    """Approvals and grants of residents ``start..stop-1`` by clinic, at most ``MAX_IMPORT`` per group."""
    groups: dict[str, tuple[list[Approval], list[Grant]]] = {}
    for index in range(start, stop):
        person = dataset.pnr_of(index)
        name = dataset.name_of(index)
        for number in approved_at(index):
            clinic_id = dataset.clinic_id(number)
            groups.setdefault(clinic_id, ([], []))[0].append(
                Approval(clinic_id, person, name, dataset.RECORDED_AT, dataset.ADMIN.id)
            )
        grant = granted_at(index)
        if grant is not None:
            clinic_id = dataset.clinic_id(grant)
            held = groups.setdefault(clinic_id, ([], []))[1]
            at = dataset.RECORDED_AT
            held.append(Grant(clinic_id, person, "kbt", None, 1, at, dataset.ADMIN.id, at, name))
            if index % 50 == 0:
                held.append(Grant(clinic_id, person, "diabetes", dataset.ENDED, 1, at, dataset.ADMIN.id, at, name))
    for clinic_id in sorted(groups):
        approvals, grants = groups[clinic_id]
        for begin in range(0, len(approvals) + len(grants), MAX_IMPORT):
            both = [*approvals, *grants][begin : begin + MAX_IMPORT]
            yield (
                clinic_id,
                [r for r in both if isinstance(r, Approval)],
                [r for r in both if isinstance(r, Grant)],
            )


def load(access: CareAccess, start: int, stop: int) -> dict[str, Any]:
    """Grow the store from *start* to *stop* residents (the clinics first, when *start* is 0)."""
    begin = time.perf_counter()
    if start == 0:
        for number in range(dataset.MAX_CLINICS):
            access.put_clinic(dataset.ADMIN, clinic(number))
            for case_type in dataset.case_types_of(dataset.clinic_id(number)):
                access.put_case_type(dataset.ADMIN, case_type)
    clinic_seconds = time.perf_counter() - begin
    calls = count = 0
    import_seconds = 0.0
    for window in range(start, stop, WINDOW):
        for clinic_id, approvals, grants in records(window, min(stop, window + WINDOW)):
            started = time.perf_counter()
            access.import_residents(dataset.ADMIN, clinic_id, approvals, grants)
            import_seconds += time.perf_counter() - started
            calls += 1
            count += len(approvals) + len(grants)
    return {
        "residents_added": stop - start,
        "records_imported": count,
        "import_calls": calls,
        "import_seconds": round(import_seconds, 2),
        "records_per_second": round(count / import_seconds, 1) if import_seconds else None,
        "clinic_setup_seconds": round(clinic_seconds, 2),
        "seconds_with_generation": round(time.perf_counter() - begin, 2),
    }


def _sample(residents: int, count: int, seed: int) -> list[tuple[int, str, Residence]]:
    rng = random.Random(seed)  # noqa: S311 -- a reproducible sample, not a secret
    chosen = [rng.randrange(residents) for _ in range(count)]
    return [(i, dataset.pnr_of(i).digits, residence_of(i)) for i in chosen]


def check(access: CareAccess, residents: int, count: int) -> dict[str, Any]:
    """How many of *count* residents' answers differ from the data set, and the answers' sizes."""
    day = access.today()
    wrong = clinics = decisions = 0
    for index, digits, home in _sample(residents, count, SEED - residents):
        person = dataset.pnr_of(index)
        found = access.clinics_for(digits, residence=home)
        got = {item.clinic.id: frozenset(d.case_type_id for d in item.decisions) for item in found}
        wrong += got != expected(index, person, day)
        clinics += len(found)
        decisions += sum(len(item.decisions) for item in found)
    return {
        "checked": count,
        "wrong_answers": wrong,
        "clinics_per_answer": round(clinics / count, 1),
        "allowed_per_answer": round(decisions / count, 1),
    }


def measure_size(access: CareAccess, residents: int, *, quick: bool) -> dict[str, Any]:
    """``clinics_for`` of residents drawn uniformly from all *residents*, each call timed alone."""
    result: dict[str, Any] = {"residents": residents, **check(access, residents, 50 if quick else 200)}
    sample = _sample(residents, 300 if quick else 1000, SEED + residents)

    def one(item: tuple[int, str, Residence]) -> object:
        return access.clinics_for(item[1], residence=item[2])

    timing = harness.time_calls(one, sample, warmup=100, repeat=1 if quick else 2)
    result["clinics_for"] = timing.as_dict()
    return result


def _stop(signum: int, frame: object) -> None:
    """SIGTERM ends the run like Ctrl-C: the finally blocks remove the store's data."""
    raise KeyboardInterrupt


def _uptime() -> str:
    return Path("/proc/loadavg").read_text(encoding="ascii").strip()


def run_all(sizes: str, out: Path, *, quick: bool, timeout: float) -> int:
    """Every store in a child process of its own, one after the other; the results and verdicts in *out*."""
    import run  # noqa: PLC0415 -- only this mode needs the runner (and its imports)
    import targets  # noqa: PLC0415

    wanted = tuple(int(size) for size in sizes.split(","))
    results: dict[str, Any] = {"command": " ".join(["python", "benchmarks/bench_reach.py", *sys.argv[1:]])}
    results["reach"] = {}
    with tempfile.TemporaryDirectory(prefix="careaccess-reach-") as work:
        profiles = Path(work) / "profiles"
        for name in run.STORES:
            bench_stores.log(f"== the resident's side: {name} (load {_uptime()})")
            measured = run.run_store(
                name, wanted, Path(work), profiles, quick=quick, timeout=timeout, script="bench_reach.py"
            )
            measured["loadavg_after"] = _uptime()
            results["reach"][name] = measured
            out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    results["targets"] = targets.judge_reach(results["reach"])
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    for name, measured in results["reach"].items():
        medians = {size: round(item["clinics_for"]["median_us"] / 1000, 3) for size, item in measured["sizes"].items()}
        wrong = sum(item["wrong_answers"] for item in measured["sizes"].values())
        print(f"{name}: median ms {medians}, wrong answers {wrong}, load before {measured['load_average_before']}")
    for verdict in results["targets"]:
        state = {True: "met", False: "MISSED", None: "not measured"}[verdict["met"]]
        print(f"{state}: {verdict['text']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, choices=[*sorted(stores.TARGETS), "all"])
    parser.add_argument("--sizes", required=True, help="comma-separated resident counts, ascending")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--quick", action="store_true", help="fewer calls")
    parser.add_argument("--profile-dir", type=Path, help="write a pyinstrument profile of clinics_for here")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds each store may take (--store all)")
    args = parser.parse_args(argv)
    if args.store == "all":
        return run_all(args.sizes, args.out, quick=args.quick, timeout=args.timeout)
    sizes = [int(s) for s in args.sizes.split(",")]
    target = stores.TARGETS[args.store]()
    output: dict[str, Any] = {"store": target.name, "sizes": {}, "loads": {}}

    def save() -> None:
        args.out.write_text(json.dumps(output, indent=1) + "\n", encoding="utf-8")

    access: CareAccess | None = None
    try:
        access = target.open()
        loaded = 0
        for size in sizes:
            bench_stores.log(f"reach {target.name}: loading {loaded} -> {size} residents")
            output["loads"][str(size)] = load(access, loaded, size)
            loaded = size
            target.after_load(access)
            gc.collect()
            bench_stores.log(f"reach {target.name}: loaded {output['loads'][str(size)]}")
            output["sizes"][str(size)] = measure_size(access, size, quick=args.quick)
            bench_stores.log(f"reach {target.name} {size}: {output['sizes'][str(size)]}")
            save()
        if args.profile_dir is not None:
            sample = _sample(sizes[-1], 1000, SEED + 1)
            position = {"n": 0}

            def one() -> None:
                _, digits, home = sample[position["n"] % len(sample)]
                position["n"] += 1
                access.clinics_for(digits, residence=home)

            bench_stores.profile(one, 3.0, args.profile_dir / f"clinics_for-{target.name}.txt")
            output["profiled_at"] = sizes[-1]
            save()
    except Exception as error:
        output["error"] = "".join(traceback.format_exception_only(error)).strip()
        bench_stores.log(traceback.format_exc())
        save()
        return 1
    finally:
        if access is not None:
            access.close()
        target.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
