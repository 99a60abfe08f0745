"""Run every benchmark and write the results and the report: what ``nox -s bench`` runs.

::

    python benchmarks/run.py            # full: 1,000, 100,000 and 1,000,000 residents
    python benchmarks/run.py --quick    # 1,000 and 10,000 residents, fewer repetitions
    python benchmarks/run.py --country  # and the whole country: 10.5 million residents (bench_country.py)

Each store is measured in a process of its own (``bench_stores.py``), one after the
other, so no two measurements share a CPU or a process heap. The full run writes
``docs/benchmarks.md``, ``docs/benchmarks/results.json``, the plots and the profiles;
the quick run writes the same files under ``benchmarks/results/`` (so it never
overwrites the published figures) unless ``--docs`` says otherwise. Missed targets are
reported, never turned into a failing exit status; a target whose part did not run reads
"not measured" (the whole country's: "not measured (run with --country)").

The whole country takes hours a store, so it can also be measured one store at a time
and merged into saved results afterwards, without running anything else again::

    python benchmarks/bench_country.py --store sqlite --out country-sqlite.json
    python benchmarks/report.py docs/benchmarks/results.json docs/benchmarks.md --country country-sqlite.json

``report.py --country FILE...`` puts each file under ``results["country"]`` (replacing that
store's earlier entry), judges every target again, writes ``results.json`` back and redraws
the report and its plots.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import machine
import report
import targets

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FULL_SIZES = (1_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
STORES = ("memory", "sqlite", "postgresql", "redis")


def _command(argv: list[str]) -> str:
    """The exact command that started this run, as a reader would type it."""
    given = os.environ.get("CAREACCESS_BENCH_COMMAND")
    if given:
        return given
    return shlex.join(["python", "benchmarks/run.py", *argv])


def run_store(
    store: str,
    sizes: tuple[int, ...],
    work: Path,
    profiles: Path,
    *,
    quick: bool,
    timeout: float,
    script: str = "bench_stores.py",
) -> dict[str, Any]:
    """Measure one store in a child process running *script*; returns what it wrote, even when cut short."""
    out = work / f"{Path(script).stem}-{store}.json"
    command = [
        sys.executable,
        str(HERE / script),
        "--store",
        store,
        "--sizes",
        ",".join(map(str, sizes)),
        "--out",
        str(out),
        "--profile-dir",
        str(profiles),
    ]
    if quick:
        command.append("--quick")
    load = [round(x, 2) for x in os.getloadavg()]
    begin = time.perf_counter()
    note: str | None = None
    child = subprocess.Popen(command)  # noqa: S603 -- our own script
    try:
        status = child.wait(timeout=timeout)
        if status != 0:
            note = f"the measuring process exited with status {status}"
    except subprocess.TimeoutExpired:
        note = f"stopped after the time limit of {timeout:.0f} s"
        child.terminate()  # it removes its data on SIGTERM
        try:
            child.wait(timeout=300)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    except BaseException:
        child.terminate()
        child.wait()
        raise
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {"sizes": {}}
    result["seconds"] = round(time.perf_counter() - begin, 1)
    result["load_average_before"] = load
    result["requested_sizes"] = list(sizes)
    if note:
        result["stopped"] = note
    return result


def run_script(command: list[str], out: Path, timeout: float) -> dict[str, Any]:
    """Run one of our measuring scripts, which writes *out*; returns what it wrote, even when cut short."""
    load = [round(x, 2) for x in os.getloadavg()]
    begin = time.perf_counter()
    note: str | None = None
    child = subprocess.Popen([sys.executable, *command, "--out", str(out)])  # noqa: S603 -- our own script
    try:
        status = child.wait(timeout=timeout)
        if status != 0:
            note = f"the measuring process exited with status {status}"
    except subprocess.TimeoutExpired:
        note = f"stopped after the time limit of {timeout:.0f} s"
        child.terminate()  # it removes its data on SIGTERM
        try:
            child.wait(timeout=600)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    except BaseException:
        child.terminate()
        child.wait()
        raise
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    result["seconds"] = round(time.perf_counter() - begin, 1)
    result["load_average_before"] = load
    if note:
        result["stopped"] = note
    return result


def run_workers(stores: list[str], work: Path, *, quick: bool) -> dict[str, Any]:
    """Decisions per second with 1 and 2 worker processes on each networked store (``bench_workers.py``)."""
    results: dict[str, Any] = {}
    for store in (name for name in stores if name in ("postgresql", "redis")):
        print(f"== workers: {store}", file=sys.stderr, flush=True)
        command = [str(HERE / "bench_workers.py"), "--store", store]
        command += ["--residents", "10000", "--seconds", "3"] if quick else ["--residents", "100000", "--seconds", "10"]
        results[store] = run_script(command, work / f"workers-{store}.json", timeout=900)
    return results


def run_country(
    stores: list[str], work: Path, residents: int, max_minutes: float | None, threads: int = 1
) -> dict[str, Any]:
    """The whole country on SQLite, PostgreSQL and Redis, and the in-memory store at 1M (``bench_country.py``)."""
    results: dict[str, Any] = {}
    for store in (name for name in ("memory", "sqlite", "postgresql", "redis") if name in stores):
        size = min(residents, 1_000_000) if store == "memory" else residents
        print(f"== the whole country: {store}, {size:,} residents", file=sys.stderr, flush=True)
        command = [str(HERE / "bench_country.py"), "--store", store, "--residents", str(size)]
        command += ["--threads", str(threads)]
        if max_minutes is not None:
            command += ["--max-load-minutes", str(max_minutes)]
        results[store] = run_script(command, work / f"country-{store}.json", timeout=4 * 3600)
    return results


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="The whole country one store at a time: bench_country.py --store NAME --out FILE, then "
        "report.py RESULTS.json REPORT.md --country FILE... merges it into saved results (see run.py).",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes and fewer repetitions (minutes)")
    parser.add_argument("--stores", default=",".join(STORES), help="comma-separated, of: " + ", ".join(STORES))
    parser.add_argument("--sizes", help="comma-separated resident counts (default: by mode)")
    parser.add_argument("--docs", type=Path, help="folder for benchmarks.md and benchmarks/ (default: by mode)")
    parser.add_argument("--timeout", type=float, help="seconds each store may take (default: 240 quick, 1800 full)")
    parser.add_argument("--country", action="store_true", help="also the whole country: 10.5M residents (hours)")
    parser.add_argument("--country-residents", type=int, default=10_500_000, help="residents of --country")
    parser.add_argument("--country-max-load-minutes", type=float, help="stop each country load after this long")
    parser.add_argument(
        "--country-threads", type=int, default=1, help="import calls of different clinics at once (bench_country.py)"
    )
    args = parser.parse_args(argv)
    # The measuring modules import the peers (casbin, cedarpy, oso, pyperf): only once asked to run.
    import bench_aio  # noqa: PLC0415
    import bench_identity  # noqa: PLC0415
    import bench_peers  # noqa: PLC0415

    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else QUICK_SIZES if args.quick else FULL_SIZES
    docs = args.docs or (HERE / "results" if args.quick else ROOT / "docs")
    assets = docs / "benchmarks"
    assets.mkdir(parents=True, exist_ok=True)
    timeout = args.timeout or (240.0 if args.quick else 1800.0)
    started = dt.datetime.now(dt.UTC)
    begin = time.perf_counter()
    results: dict[str, Any] = {
        "command": _command(argv),
        "mode": "quick" if args.quick else "full",
        "sizes": list(sizes),
        "started": started.isoformat(timespec="seconds"),
        "commit": machine.commit(),
        "uncommitted_changes": machine.uncommitted(),
        "machine": machine.describe(),
        "stores": {},
    }
    profiles = assets / "profiles"
    shutil.rmtree(profiles, ignore_errors=True)  # a profile always belongs to this run
    with tempfile.TemporaryDirectory(prefix="careaccess-bench-") as work:
        for store in args.stores.split(","):
            print(f"== {store}", file=sys.stderr, flush=True)
            results["stores"][store] = run_store(store, sizes, Path(work), profiles, quick=args.quick, timeout=timeout)
        results["reach"] = {}
        for store in args.stores.split(","):
            print(f"== the resident's side: {store}", file=sys.stderr, flush=True)
            results["reach"][store] = run_store(
                store, sizes, Path(work), profiles, quick=args.quick, timeout=timeout, script="bench_reach.py"
            )
        results["workers"] = run_workers(args.stores.split(","), Path(work), quick=args.quick)
        if args.country:
            results["country"] = run_country(
                args.stores.split(","),
                Path(work),
                args.country_residents,
                args.country_max_load_minutes,
                args.country_threads,
            )
    print("== identity numbers", file=sys.stderr, flush=True)
    results["identity"] = bench_identity.measure()
    print("== asyncio", file=sys.stderr, flush=True)
    named = args.stores.split(",")
    # each store through threads, and through its native asynchronous store where it has one
    wanted = [name for name in bench_aio.STORES if name in named or name.removesuffix("-native") in named]
    results["asyncio"] = bench_aio.measure(wanted, quick=args.quick)
    print("== peers, one interleaved loop", file=sys.stderr, flush=True)
    peer_size = 2_000 if args.quick else 100_000  # quick: every worker process loads its data set
    # pyperf rounds: each round runs one worker process of every contender, in turn
    rounds = 2 if args.quick else 5
    results["peers"] = bench_peers.measure(peer_size, 2000, rounds, out=assets / "peers-pyperf.json", profiles=profiles)
    results["seconds"] = round(time.perf_counter() - begin, 1)
    results["targets"] = targets.judge_all(results)
    (assets / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    report.write(results, docs / "benchmarks.md", assets)
    print(f"wrote {docs / 'benchmarks.md'} and {assets}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
