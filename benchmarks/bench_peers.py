"""careaccess's in-memory ``decide`` and its peers, all in one interleaved loop on the same data.

::

    python benchmarks/bench_peers.py --residents 10000 --json peers.json

Every contender answers the same requests (the benchmark's data set: approvals open the
two open case types, grants the two restricted ones through their end date) and is
checked to give the data set's answer on every request before anything is timed. Then
they take turns on chunks of 100 requests (:func:`harness.interleave`), so a change in the
machine's load, and the CPU caches each evicts, fall on all of them alike.

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

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import dataset
import harness
import peer
import peer_cedar
import peer_oso

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


def contenders(
    access: CareAccess, residents: int, day: dt.date
) -> tuple[dict[str, Callable[[Request], bool]], dict[str, Any]]:
    """Every single-request contender as ``request -> allowed``, and what each is."""
    decide = access.decide
    parsed: dict[str, Any] = {}
    from_text, decided = floor(access, residents, day)
    fast = peer.enforcer(residents)
    flat = peer.flat_enforcer(residents)
    cedar = peer_cedar.Cedar(residents)
    oso = peer_oso.Oso(residents)
    today = day.isoformat()

    def parsed_pnr(text: str) -> Any:
        found = parsed.get(text)
        if found is None:
            found = parsed[text] = as_pnr(text)
        return found

    single: dict[str, Callable[[Request], bool]] = {
        "careaccess decide (text)": lambda r: bool(decide(r[0], r[1], r[2])),
        "careaccess decide (parsed)": lambda r: bool(decide(parsed_pnr(r[0]), r[1], r[2])),
        "floor (text)": lambda r: from_text(r).allowed,
        "floor (parsed)": lambda r: decided(r[0], r[1], r[2]).allowed,
        "pycasbin FastEnforcer, g() (peer.py)": lambda r: bool(fast.enforce(r[0], r[1], f"{r[1]}/{r[2]}", today)),
        "pycasbin FastEnforcer, flat": lambda r: bool(flat.enforce(r[0], r[1], f"{r[1]}/{r[2]}", today)),
        "cedarpy, prebuilt entities": lambda r: cedar.prebuilt(r, day),
        "cedarpy, entities per request": lambda r: cedar.per_request(r, day),
        "oso": lambda r: oso.allowed(r, day),
    }
    batch: dict[str, Callable[[Sequence[Request]], list[bool]]] = {
        "careaccess decide_many": lambda b: [bool(d) for d in access.decide_many(b)],
        "pycasbin flat batch_enforce": lambda b: flat.batch_enforce([[p, c, f"{c}/{t}", today] for p, c, t in b]),
        "cedarpy is_authorized_batch, prebuilt": lambda b: cedar.prebuilt_batch(b, day),
    }
    about = {
        "cedar_policies": peer_cedar.POLICIES,
        "oso_policy": peer_oso.POLICY,
        "casbin_flat_model": peer.FLAT_MODEL.read_text(encoding="utf-8"),
    }
    return single | {f"batch: {k}": _per_item(v) for k, v in batch.items()}, about


def _per_item(run: Callable[[Sequence[Request]], list[bool]]) -> Callable[[Any], Any]:
    run.batched = True  # type: ignore[attr-defined]
    return run


def measure(residents: int, requests_count: int, repeat: int) -> dict[str, Any]:
    """Load *residents*, check every contender's answers, then time them all in turns."""
    access = careaccess.connect("memory://")
    begin = time.perf_counter()
    for clinic in dataset.clinics_for(residents):
        access.put_clinic(dataset.ADMIN, clinic)
        for case_type in dataset.case_types_of(clinic.id):
            access.put_case_type(dataset.ADMIN, case_type)
    for clinic_id, approvals, grants in dataset.records_for(0, residents):
        access.import_residents(dataset.ADMIN, clinic_id, approvals, grants)
    day = access.today()
    requests = dataset.requests(residents, requests_count, SEED + residents)
    raw = [r.as_tuple() for r in requests]
    expected = [dataset.expected(r, day) for r in requests]
    built = time.perf_counter()
    parts, about = contenders(access, residents, day)
    setup_seconds = time.perf_counter() - built
    mismatches: dict[str, int] = {}
    for name, part in parts.items():
        if getattr(part, "batched", False):
            got = [a for i in range(0, len(raw), 100) for a in part(raw[i : i + 100])]
        else:
            got = [part(r) for r in raw]
        mismatches[name] = sum(g != e for g, e in zip(got, expected, strict=True))
    wrong = {name: n for name, n in mismatches.items() if n}
    if wrong:
        raise SystemExit(f"answers differ from the data set's: {wrong}")

    def sampler(name: str, part: Callable[..., Any]) -> Callable[[list[Request]], list[float]]:
        if getattr(part, "batched", False):
            return lambda chunk: harness.batch_samples(part, [chunk])
        return lambda chunk: harness.call_samples(part, chunk)

    chunks = [raw[i : i + 100] for i in range(0, len(raw), 100)] * repeat
    for part in parts.values():  # warm-up
        if getattr(part, "batched", False):
            part(raw[:100])
        else:
            for r in raw[:200]:
                part(r)
    timings = harness.interleave({name: sampler(name, part) for name, part in parts.items()}, chunks)
    result = {
        "residents": residents,
        "requests": len(raw),
        "repeat": repeat,
        "load_seconds": round(built - begin, 1),
        "peer_setup_seconds": round(setup_seconds, 1),
        "mismatches": mismatches,
        "median_us": {name: round(t.median_ns / 1000, 3) for name, t in timings.items()},
        "timings": {name: t.as_dict() for name, t in timings.items()},
        "encodings": about,
    }
    result["ratios"] = ratios(result["median_us"])
    access.close()
    return result


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    result = measure(args.residents, args.requests, args.repeat)
    result["python"] = sys.version.split()[0]
    for name, value in result["median_us"].items():
        print(f"{name:45s} {value:9.3f} µs")
    for name, value in result["ratios"].items():
        print(f"{name:45s} {value:9.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
