"""Redis decisions of this tree against those of another commit, in one process, taking turns.

    python benchmarks/probe_redis_facts.py --base main --residents 10000 --rounds 4

The Redis backend of commit ``--base`` is exported beside this one (as the package
``careaccess_redis_base``) and both stores are opened on the same data (one load,
through this tree's store, under a fresh key prefix in the benchmark's database, removed
at the end). Then, interleaved on the same requests (:func:`harness.interleave`): a
redis-py ``GET`` of a clinic key (the baseline of ``bench_stores.py``), ``decide`` on
either store, and ``decide_many`` of 1,000 requests against 1,000 single calls on either
store. Every decision of the two stores is checked equal first.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_stores
import dataset
import harness
import stores

import careaccess
from careaccess import CareAccess

HERE = Path(__file__).resolve().parent
PACKAGE = "backends/redis/src/careaccess_redis"


def export_base(ref: str, into: Path) -> None:
    """The package of *ref* as ``careaccess_redis_base`` under *into* (imports renamed)."""
    command = ["git", "-C", str(HERE.parent), "archive", ref, PACKAGE]
    archive = subprocess.run(command, check=True, capture_output=True).stdout  # noqa: S603 -- git from PATH, the ref given
    target = into / "careaccess_redis_base"
    target.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            data = tar.extractfile(member)
            assert data is not None
            text = data.read().decode("utf-8").replace("careaccess_redis", "careaccess_redis_base")
            (target / Path(member.name).name).write_text(text, encoding="utf-8")


def ratio(a: harness.Timing, b: harness.Timing) -> float:
    return round(a.median_ns / b.median_ns, 3)


def measure(old: CareAccess, new: CareAccess, target: stores.RedisTarget, args: argparse.Namespace) -> None:
    """Check both stores decide alike, then time them taking turns, and print the figures."""
    requests = dataset.requests(args.residents, args.requests, bench_stores.SEED + args.residents)
    raw = [r.as_tuple() for r in requests]
    at = old.now()
    for p, c, t in raw:  # also warms both
        a, b = old.decide(p, c, t, at=at), new.decide(p, c, t, at=at)
        assert a == b, (p, c, t, a, b)
    batch = (raw * (1 + 1000 // len(raw)))[:1000]
    assert old.decide_many(batch, at=at) == new.decide_many(batch, at=at)
    lookup, release = target.baseline(new, args.residents)

    def timed(call: Any) -> Any:
        return lambda chunk: harness.call_samples(lambda r: call(*r), chunk)

    def singles(call: Any) -> Any:
        def run(b: list[tuple[str, str, str]]) -> None:
            for r in b:
                call(*r)

        return lambda b: harness.call_samples(run, [b])

    chunks = [raw[i : i + 100] for i in range(0, len(raw), 100)] * args.rounds
    started = time.strftime("%H:%M:%S")
    get = lambda chunk: harness.call_samples(lookup, chunk)  # noqa: E731
    single = harness.interleave({"get": get, "base": timed(old.decide), "new": timed(new.decide)}, chunks)
    release()
    many = harness.interleave(
        {
            "base_many": lambda b: harness.call_samples(old.decide_many, [b]),
            "new_many": lambda b: harness.call_samples(new.decide_many, [b]),
            "base_singles": singles(old.decide),
            "new_singles": singles(new.decide),
        },
        [batch] * args.many_rounds,
    )
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"{args.residents} residents, base {args.base}, {started}-{time.strftime('%H:%M:%S')}, load {load}")
    for name, timing in {**single, **many}.items():
        print(f"  {name:13} median {timing.median_ns / 1000:9.1f} us  p99 {timing.p99_ns / 1000:9.1f} us")
    print(f"  decide / GET: base {ratio(single['base'], single['get'])}  new {ratio(single['new'], single['get'])}")
    print(f"  new / base decide: {ratio(single['new'], single['base'])}")
    print(
        f"  decide_many speed-up: base {ratio(many['base_singles'], many['base_many'])}"
        f"  new {ratio(many['new_singles'], many['new_many'])}"
    )
    print(f"  new / base decide_many: {ratio(many['new_many'], many['base_many'])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="git ref whose Redis backend is compared")
    parser.add_argument("--residents", type=int, default=10000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the requests")
    parser.add_argument("--many-rounds", type=int, default=10, help="decide_many turns per side")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    export_base(args.base, Path(tmp.name))
    sys.path.insert(0, tmp.name)
    import careaccess_redis_base  # noqa: PLC0415 -- exported above

    target = stores.RedisTarget()
    new: CareAccess | None = None
    old: CareAccess | None = None
    try:
        new = target.open()
        print(f"loading {args.residents} residents", file=sys.stderr)
        bench_stores.load(new, 0, args.residents)
        old = careaccess.connect(careaccess_redis_base.RedisStore.from_url(target.url()))
        measure(old, new, target, args)
    finally:
        if old is not None:
            old.close()
        if new is not None:
            new.close()
        target.cleanup()
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
