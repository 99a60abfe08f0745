"""careaccess's in-memory ``decide`` and its peers, timed by pyperf in one interleaved run on the same data.

::

    python benchmarks/bench_peers.py --residents 10000 --rounds 5 -o rounds.json  # one benchmark per round
    python -c "import bench_peers; bench_peers.measure(10000, 2000, 5)"        # merged, with the check

Why pyperf: it is the tool CPython's own benchmarks run on. It calibrates each
contender's loop to a minimum time per value (so a 0.5 µs floor and a 500 µs oso call
are both timed well above the clock's resolution), runs every value in fresh worker
processes (so one process's heap layout, hash seed or bad luck does not decide a
result), and writes a JSON that ``python -m pyperf stats``, ``hist`` and ``compare_to``
read. What stays ours: the data set, the hand-written floor, the check of every
contender's answers and the interleaving.

The interleaving: pyperf runs a benchmark's worker processes one after the other, so
each contender is registered once per *round* (``"<name> #<round>"``, one worker process
each, loops calibrated in the first round and kept after it) and the rounds follow each
other. Every contender thus runs once in every stretch of the run, and a change in the
machine's load falls on both sides of every ratio alike; :func:`merge` then puts each
contender's runs back into one benchmark. Every contender answers the same requests (the
benchmark's data set: approvals open the two open case types, grants the two restricted
ones through their end date) and is checked, in the master process, to give the data
set's answer on every request before anything is timed.

The contenders:

- careaccess ``decide`` with the number as text, and with it parsed beforehand;
- the hand-written floor: plain dicts holding the same records, a Luhn check of the text
  (for the text variant) and a small result object naming the reason and the fact — what
  any library call that returns an explanation must at least do in CPython;
- pycasbin ``FastEnforcer`` in two encodings (``casbin_model.conf`` with ``g()``; the flat
  ``casbin_flat.conf``, one line per resident, clinic and case type, no ``g()``);
- cedarpy with the whole data set as one prebuilt ``Entities`` handle, and with the few
  entities a request needs built per request from the caller's dicts (see
  :mod:`peer_cedar` for the encoding);
- oso (``oso`` on PyPI, the Polar engine) with the facts on Python objects;
- the batch APIs where they exist, 100 requests a call: ``decide_many``, casbin
  ``batch_enforce``, cedarpy ``is_authorized_batch``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import dataset
import harness
import peer
import peer_cedar
import peer_oso
import pyperf

import careaccess
from careaccess import CareAccess
from careaccess.identity import as_pnr

SEED = 20251130
Request = tuple[str, str, str]

# Luhn contributions of a (doubled, plain) pair of digits, for the floor's check of the text.
_PAIRS = {f"{a}{b}": (2 * a) // 10 + (2 * a) % 10 + b for a in range(10) for b in range(10)}


class Answer:
    """The floor's result: allowed, the reason and the fact that decided it."""

    __slots__ = ("allowed", "fact", "reason")

    def __init__(self, allowed: bool, reason: str, fact: object) -> None:
        self.allowed = allowed
        self.reason = reason
        self.fact = fact


def floor(
    access: CareAccess, residents: int, day: dt.date
) -> tuple[Callable[[Request], Answer], Callable[..., Answer]]:
    """The hand-written floor, from text and pre-parsed: the same records in plain dicts."""
    clinics: dict[str, tuple[dict[str, bool], dict[str, tuple[object, dict[str, Any]]]]] = {}
    for clinic in dataset.clinics_for(residents):
        listed: dict[str, tuple[object, dict[str, Any]]] = {}
        cursor: str | None = None
        while True:
            page = access.list_residents(dataset.ADMIN, clinic.id, limit=1000, cursor=cursor)
            for item in page.items:
                listed[item.pnr.digits] = (item.approval, {g.case_type_id: g for g in item.grants})
            cursor = page.next_cursor
            if cursor is None:
                break
        clinics[clinic.id] = ({c.id: c.restricted for c in access.case_types(clinic.id)}, listed)

    def decided(digits: str, clinic_id: str, case_type_id: str) -> Answer:
        held = clinics.get(clinic_id)
        if held is None:
            return Answer(False, "unknown_clinic", None)
        restricted = held[0].get(case_type_id)
        if restricted is None:
            return Answer(False, "unknown_case_type", None)
        facts = held[1].get(digits)
        if restricted:
            grant = None if facts is None else facts[1].get(case_type_id)
            if grant is None:
                return Answer(False, "not_granted", None)
            if grant.until is None or day <= grant.until:
                return Answer(True, "granted", grant)
            return Answer(False, "grant_expired", grant)
        if facts is not None and facts[0] is not None:
            return Answer(True, "approved", facts[0])
        return Answer(False, "not_approved", None)

    def from_text(request: Request) -> Answer:
        text = request[0]
        if len(text) != 12 or not text.isdigit() or not text.isascii():
            raise ValueError("not 12 digits")
        if (_PAIRS[text[2:4]] + _PAIRS[text[4:6]] + _PAIRS[text[6:8]] + _PAIRS[text[8:10]] + _PAIRS[text[10:]]) % 10:
            raise ValueError("check digit")
        return decided(text, request[1], request[2])

    return from_text, decided


def load(residents: int) -> CareAccess:
    """An in-memory service holding the data set's first *residents* residents."""
    access = careaccess.connect("memory://")
    for clinic in dataset.clinics_for(residents):
        access.put_clinic(dataset.ADMIN, clinic)
        for case_type in dataset.case_types_of(clinic.id):
            access.put_case_type(dataset.ADMIN, case_type)
    for clinic_id, approvals, grants in dataset.records_for(0, residents):
        access.import_residents(dataset.ADMIN, clinic_id, approvals, grants)
    return access


Loop = Callable[[Sequence[Any]], object]

#: Every contender, in the order of each round; batch contenders take 100 requests a call.
SINGLE = (
    "careaccess decide (text)",
    "careaccess decide (parsed)",
    "floor (text)",
    "floor (parsed)",
    "pycasbin FastEnforcer, g() (peer.py)",
    "pycasbin FastEnforcer, flat",
    "cedarpy, prebuilt entities",
    "cedarpy, entities per request",
    "oso",
)
BATCH = (
    "batch: careaccess decide_many",
    "batch: pycasbin flat batch_enforce",
    "batch: cedarpy is_authorized_batch, prebuilt",
)
BATCH_SIZE = 100


class Contenders:
    """The contenders over one data set, each built on first use (a worker builds only its own).

    :meth:`loop` is the timed loop over a list of requests (of batches, for a batch
    contender); given a list to collect into, it also keeps every answer (for the check).
    """

    def __init__(self, residents: int) -> None:
        self.residents = residents
        self.day = careaccess.connect("memory://").today()
        self.today = self.day.isoformat()
        self._built: dict[str, Any] = {}
        self._parsed: dict[str, Any] = {}

    @property
    def access(self) -> CareAccess:
        """The in-memory service over the data set, loaded on first use (a peer's worker never loads it)."""
        found: CareAccess | None = self._built.get("access")
        if found is None:
            found = self._built["access"] = load(self.residents)
        return found

    def _get(self, what: str) -> Any:
        found = self._built.get(what)
        if found is None:
            residents = self.residents
            makers: dict[str, Callable[[], Any]] = {
                "floor": lambda: floor(self.access, residents, self.day),
                "fast": lambda: peer.enforcer(residents),
                "flat": lambda: peer.flat_enforcer(residents),
                "cedar": lambda: peer_cedar.Cedar(residents),
                "oso": lambda: peer_oso.Oso(residents),
            }
            found = self._built[what] = makers[what]()
        return found

    def parsed(self, request: Request) -> tuple[Any, str, str]:
        """The request with its number parsed (once per number)."""
        text = request[0]
        found = self._parsed.get(text)
        if found is None:
            found = self._parsed[text] = as_pnr(text)
        return (found, request[1], request[2])

    def shape(self, name: str, requests: Sequence[Request]) -> list[Any]:
        """The requests as *name* is given them: numbers parsed beforehand for the parsed variants."""
        if name == "careaccess decide (parsed)":
            return [self.parsed(r) for r in requests]
        return list(requests)

    def loop(self, name: str, collect: list[bool] | None = None) -> Loop:  # noqa: PLR0912 -- one branch per contender
        """The timed loop of *name*; with *collect*, it also appends each answer there (for the check)."""
        keep = collect.append if collect is not None else None
        day, today = self.day, self.today
        if name in ("careaccess decide (text)", "careaccess decide (parsed)"):
            decide = self.access.decide
            if keep is None:

                def run(work: Sequence[Any]) -> None:
                    for pnr, clinic, case_type in work:
                        decide(pnr, clinic, case_type)

                return run
            return lambda work: [keep(bool(decide(*r))) for r in work]
        if name in ("floor (text)", "floor (parsed)"):
            from_text, decided = self._get("floor")
            if name == "floor (text)":
                if keep is None:

                    def run_floor(work: Sequence[Any]) -> None:
                        for request in work:
                            from_text(request)

                    return run_floor
                return lambda work: [keep(from_text(r).allowed) for r in work]
            if keep is None:

                def run_decided(work: Sequence[Any]) -> None:
                    for digits, clinic, case_type in work:
                        decided(digits, clinic, case_type)

                return run_decided
            return lambda work: [keep(decided(*r).allowed) for r in work]
        if name.startswith("pycasbin FastEnforcer"):
            enforce = self._get("flat" if name.endswith("flat") else "fast").enforce
            if keep is None:

                def run_casbin(work: Sequence[Any]) -> None:
                    for pnr, clinic, case_type in work:
                        enforce(pnr, clinic, f"{clinic}/{case_type}", today)

                return run_casbin
            return lambda work: [keep(bool(enforce(p, c, f"{c}/{t}", today))) for p, c, t in work]
        if name.startswith("cedarpy, "):
            cedar = self._get("cedar")
            ask = cedar.prebuilt if name.endswith("prebuilt entities") else cedar.per_request
            return lambda work: [keep(ask(r, day)) if keep else ask(r, day) for r in work]
        if name == "oso":
            allowed = self._get("oso").allowed
            return lambda work: [keep(allowed(r, day)) if keep else allowed(r, day) for r in work]
        if name == "batch: careaccess decide_many":
            many = self.access.decide_many
            return lambda batches: [a for b in batches for a in (bool(d) for d in many(b))]
        if name == "batch: pycasbin flat batch_enforce":
            flat = self._get("flat")
            return lambda batches: [
                a for b in batches for a in flat.batch_enforce([[p, c, f"{c}/{t}", today] for p, c, t in b])
            ]
        if name == "batch: cedarpy is_authorized_batch, prebuilt":
            cedar = self._get("cedar")
            return lambda batches: [a for b in batches for a in cedar.prebuilt_batch(b, day)]
        raise KeyError(name)

    def about(self) -> dict[str, str]:
        return {
            "cedar_policies": peer_cedar.POLICIES,
            "oso_policy": peer_oso.POLICY,
            "casbin_flat_model": peer.FLAT_MODEL.read_text(encoding="utf-8"),
        }


def requests_for(residents: int, count: int) -> tuple[list[Request], list[bool], dt.date]:
    """The timed requests (as text) and the data set's answers, judged today."""
    requests = dataset.requests(residents, count, SEED + residents)
    day = careaccess.connect("memory://").today()
    return [r.as_tuple() for r in requests], [dataset.expected(r, day) for r in requests], day


def check(contenders: Contenders, raw: list[Request], expected: list[bool]) -> dict[str, int]:
    """How many of *raw* each contender answers unlike the data set (all must be 0 to time anything)."""
    mismatches: dict[str, int] = {}
    for name in SINGLE:
        got: list[bool] = []
        contenders.loop(name, collect=got)(contenders.shape(name, raw))
        mismatches[name] = sum(g != e for g, e in zip(got, expected, strict=True))
    for name in BATCH:
        batches = [raw[i : i + BATCH_SIZE] for i in range(0, len(raw), BATCH_SIZE)]
        answers = contenders.loop(name)(batches)
        mismatches[name] = sum(g != e for g, e in zip(answers, expected, strict=True))  # type: ignore[call-overload]
    return mismatches


def time_func(name: str, residents: int, count: int) -> Callable[[int], float]:
    """pyperf's time function for *name*: ``loops`` requests (or batches), cycling through the requests."""
    state: dict[str, Any] = {}

    def timed(loops: int) -> float:
        if not state:  # built in the worker, before its first (warm-up) value
            contenders = Contenders(residents)
            raw, _, _ = requests_for(residents, count)
            shaped = contenders.shape(name, raw)
            if name in BATCH:
                shaped = [shaped[i : i + BATCH_SIZE] for i in range(0, len(shaped), BATCH_SIZE)]
            state.update(loop=contenders.loop(name), requests=shaped)
        work = list(itertools.islice(itertools.cycle(state["requests"]), loops))
        run = state["loop"]
        clock = time.perf_counter
        start = clock()
        run(work)
        return clock() - start

    return timed


def _round_name(name: str, turn: int) -> str:
    return f"{name} #{turn}"


def run_pyperf() -> None:
    """The pyperf script: every contender once per round, rounds after rounds (see the module docs)."""
    runner = pyperf.Runner(processes=1, add_cmdline_args=_worker_args)
    runner.argparser.add_argument("--residents", type=int, default=10_000)
    runner.argparser.add_argument("--requests", type=int, default=2000)
    runner.argparser.add_argument("--rounds", type=int, default=5)
    runner.argparser.add_argument("--check-out", type=Path, help="(master) write the answers' check here")
    args = runner.parse_args()
    residents, count = args.residents, args.requests
    runner.metadata["careaccess_residents"] = residents
    runner.metadata["careaccess_requests"] = count
    if not args.worker:
        raw, expected, _ = requests_for(residents, count)
        begin = time.perf_counter()
        everyone = Contenders(residents)
        mismatches = check(everyone, raw, expected)
        report = {"mismatches": mismatches, "setup_seconds": round(time.perf_counter() - begin, 1)}
        report["encodings"] = everyone.about()
        if args.check_out:
            args.check_out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        wrong = {name: n for name, n in mismatches.items() if n}
        if wrong:
            raise SystemExit(f"answers differ from the data set's: {wrong}")
        del everyone
    calibrated: dict[str, int] = {}
    for turn in range(args.rounds):
        for name in SINGLE + BATCH:
            if not args.worker:  # calibrate each contender's loops once, in its first round
                runner.args.loops = calibrated.get(name, 0)
            inner = BATCH_SIZE if name in BATCH else None
            bench = runner.bench_time_func(
                _round_name(name, turn), time_func(name, residents, count), inner_loops=inner
            )
            if bench is not None and not args.worker:
                calibrated[name] = bench.get_runs()[-1].get_loops()


def _worker_args(command: list[str], args: Any) -> None:
    command.extend(["--residents", str(args.residents), "--requests", str(args.requests), "--rounds", str(args.rounds)])


def merge(suite: pyperf.BenchmarkSuite) -> pyperf.BenchmarkSuite:
    """One benchmark per contender, holding the runs of all its rounds (pyperf's JSON, pyperf's statistics)."""
    merged: dict[str, pyperf.Benchmark] = {}
    for bench in suite.get_benchmarks():
        name = bench.get_name().rsplit(" #", 1)[0]
        bench.update_metadata({"name": name})
        if name in merged:
            merged[name].add_runs(bench)
        else:
            merged[name] = bench
    return pyperf.BenchmarkSuite([merged[name] for name in SINGLE + BATCH if name in merged])


def medians_us(suite: pyperf.BenchmarkSuite) -> dict[str, float]:
    """Each contender's median in microseconds per request, from pyperf's values."""
    return {bench.get_name(): round(bench.median() * 1e6, 3) for bench in suite.get_benchmarks()}


def measure(
    residents: int, requests_count: int, rounds: int, out: Path | None = None, profiles: Path | None = None
) -> dict[str, Any]:
    """Run the pyperf script in a process of its own; returns the check, the medians, the ratios and the JSON's path.

    :param out: where to keep pyperf's JSON (merged: one benchmark per contender).
    :param profiles: where to save pyinstrument sessions of ``decide`` (text and parsed), after the timing.
    """
    with tempfile.TemporaryDirectory(prefix="careaccess-peers-") as work:
        raw_json, checked = Path(work) / "rounds.json", Path(work) / "check.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--residents", str(residents)]
        command += ["--requests", str(requests_count), "--rounds", str(rounds), "--check-out", str(checked)]
        command += ["--quiet", "-o", str(raw_json)]
        begin = time.perf_counter()
        subprocess.run(command, check=True)  # noqa: S603 -- our own script
        suite = merge(pyperf.BenchmarkSuite.load(str(raw_json)))
        result: dict[str, Any] = json.loads(checked.read_text(encoding="utf-8"))
    path = out or Path(tempfile.gettempdir()) / "careaccess-peers.json"
    suite.dump(str(path), replace=True)
    median = medians_us(suite)
    result.update(
        residents=residents,
        requests=requests_count,
        rounds=rounds,
        seconds=round(time.perf_counter() - begin, 1),
        pyperf_json=str(path),
        median_us=median,
        ratios=ratios(median),
    )
    if profiles is not None:
        result["profiles"] = profile_decide(residents, requests_count, profiles)
    return result


def profile_decide(residents: int, count: int, folder: Path) -> list[str]:
    """pyinstrument sessions of ``decide`` from text and pre-parsed, about 2 s each; their names."""
    contenders = Contenders(residents)
    raw, _, _ = requests_for(residents, count)
    decide = contenders.access.decide
    names = []
    for variant, name in (("text", "careaccess decide (text)"), ("parsed", "careaccess decide (parsed)")):
        shaped = contenders.shape(name, raw)
        path = folder / f"decide-peers-{variant}.txt"
        harness.profile(lambda shaped=shaped: [decide(*r) for r in shaped], 2.0, path)
        names.append(path.name)
    return names


def ratios(median: dict[str, float]) -> dict[str, float]:
    """The ratios the targets are judged on (peer ÷ careaccess; careaccess ÷ floor)."""
    text, parsed = median["careaccess decide (text)"], median["careaccess decide (parsed)"]
    casbin = min(median["pycasbin FastEnforcer, g() (peer.py)"], median["pycasbin FastEnforcer, flat"])
    out = {
        "text_to_floor": text / median["floor (text)"],
        "parsed_to_floor": parsed / median["floor (parsed)"],
        "casbin_best_to_text": casbin / text,
        "casbin_best_to_parsed": casbin / parsed,
        "cedar_prebuilt_to_text": median["cedarpy, prebuilt entities"] / text,
        "cedar_prebuilt_to_parsed": median["cedarpy, prebuilt entities"] / parsed,
        "cedar_per_request_to_text": median["cedarpy, entities per request"] / text,
        "oso_to_text": median["oso"] / text,
    }
    return {k: round(v, 2) for k, v in out.items()}


if __name__ == "__main__":
    run_pyperf()
