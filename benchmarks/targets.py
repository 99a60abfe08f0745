"""The performance targets of the benchmark, judged on one run's results: met or missed.

A target is never a failing test: the verdicts are published in the report. Where a
target is a ratio, both sides come from the same run. Size targets compare the largest
size measured with the smallest (1,000,000 with 1,000 residents in the full run).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["judge", "judge_all", "judge_country", "judge_peers", "judge_reach"]

Results = dict[str, Any]
#: The whole country's residents (``benchmarks/country.py``).
COUNTRY = 10_500_000


def _sizes(store: Results) -> list[str]:
    return sorted(store.get("sizes", {}), key=int)


def _verdict(
    target: str, text: str, checks: list[dict[str, Any]], *, unmeasured: str = "", missing: list[str] | None = None
) -> dict[str, Any]:
    """A target's verdict: ``met`` is True or False over its *checks*, None when there are none.

    *unmeasured* says why nothing was measured (shown with "not measured"); *missing* names
    the stores the target covers that were not measured, so a verdict met on some stores
    does not read as met on all.
    """
    verdict: dict[str, Any] = {"id": target, "text": text, "met": None, "checks": checks}
    if checks:
        verdict["met"] = all(c["met"] for c in checks)
    elif unmeasured:
        verdict["unmeasured"] = unmeasured
    if missing:
        verdict["missing"] = missing
    return verdict


def _per_size(
    stores: Results, store: str, value: Callable[[Results], float | None], limit: float, *, at_most: bool, unit: str
) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []
    data = stores.get(store, {})
    for size in _sizes(data):
        measured = value(data["sizes"][size])
        if measured is None:
            continue
        met = measured <= limit if at_most else measured >= limit
        checks.append({"store": store, "residents": int(size), "measured": measured, "unit": unit, "met": met})
    return checks


def _growth(stores: Results, store: str, value: Callable[[Results], float], limit: float) -> list[dict[str, Any]]:
    data = stores.get(store, {})
    sizes = _sizes(data)
    if len(sizes) < 2:
        return []
    small, large = value(data["sizes"][sizes[0]]), value(data["sizes"][sizes[-1]])
    ratio = round(large / small, 2)
    return [
        {
            "store": store,
            "residents": int(sizes[-1]),
            "compared_with": int(sizes[0]),
            "measured": ratio,
            "unit": "×",
            "met": ratio <= limit,
        }
    ]


def _decide(size: Results) -> float:
    return float(size["decide"]["median_us"])


def judge(stores: Results) -> list[dict[str, Any]]:
    """Every target with its verdict (``met`` is None where nothing was measured) and its checks."""
    names = [name for name in ("memory", "sqlite", "postgresql", "redis") if name in stores]
    verdicts = [
        _verdict(
            "memory-decide-2us",
            "in-memory `decide` ≤ 2 µs median",
            _per_size(stores, "memory", _decide, 2.0, at_most=True, unit="µs"),
        ),
        _verdict(
            "decide-flat-1.3x",
            "`decide` at the largest size ≤ 1.3× its time at the smallest, on every store",
            [check for name in names for check in _growth(stores, name, _decide, 1.3)],
        ),
    ]
    for store, limit, what in (
        ("redis", 1.3, "a raw redis-py GET round trip"),
        ("postgresql", 1.5, "a raw psycopg primary-key SELECT"),
        ("sqlite", 3.0, "a raw sqlite3 primary-key SELECT"),
    ):
        verdicts.append(
            _verdict(
                f"{store}-vs-raw-{limit}x",
                f"{store} `decide` ≤ {limit}× {what}",
                _per_size(stores, store, lambda s: s["decide_to_baseline"], limit, at_most=True, unit="×"),
            )
        )
    verdicts.append(
        _verdict(
            "decide-many-20x",
            "`decide_many(1000)` ≥ 20× faster than 1,000 single `decide` calls, on Redis and PostgreSQL",
            [
                check
                for store in ("redis", "postgresql")
                for check in _per_size(
                    stores, store, lambda s: s["decide_many"]["speedup"], 20.0, at_most=False, unit="×"
                )
            ],
        )
    )
    verdicts.append(
        _verdict(
            "page-flat-2x",
            "a resident page of 50 at the largest size ≤ 2× its time at the smallest",
            [
                check
                for name in names
                for check in _growth(stores, name, lambda s: float(s["page_of_50"]["median_us"]), 2.0)
            ],
        )
    )
    return verdicts


#: (id, text, ratio key in the peers' results or a median, limit, at most?)
_PEER_TARGETS = (
    (
        "memory-decide-text-2us",
        "in-memory `decide` from text ≤ 2 µs median (peers loop)",
        "careaccess decide (text)",
        2.0,
        True,
    ),
    (
        "memory-decide-parsed-1us",
        "in-memory `decide` pre-parsed ≤ 1 µs median",
        "careaccess decide (parsed)",
        1.0,
        True,
    ),
    ("memory-vs-floor-1.5x", "`decide` from text ≤ 1.5× the hand-written floor", "text_to_floor", 1.5, True),
    ("memory-parsed-vs-floor-1.5x", "`decide` pre-parsed ≤ 1.5× the floor pre-parsed", "parsed_to_floor", 1.5, True),
    ("memory-vs-casbin-20x", "`decide` from text ≥ 20× pycasbin (best encoding)", "casbin_best_to_text", 20.0, False),
    (
        "memory-vs-cedar-15x",
        "`decide` from text ≥ 15× cedarpy (prebuilt entities)",
        "cedar_prebuilt_to_text",
        15.0,
        False,
    ),
)


def judge_peers(peers: Results | None) -> list[dict[str, Any]]:
    """The hot-path targets, judged on ``bench_peers.py``'s one interleaved loop."""
    verdicts: list[dict[str, Any]] = []
    for ident, text, key, limit, at_most in _PEER_TARGETS:
        checks: list[dict[str, Any]] = []
        if peers:
            unit = "µs" if key in peers["median_us"] else "×"
            measured = peers["median_us"][key] if unit == "µs" else peers["ratios"][key]
            met = measured <= limit if at_most else measured >= limit
            checks.append(
                {"store": "memory", "residents": peers["residents"], "measured": measured, "unit": unit, "met": met}
            )
        verdicts.append(_verdict(ident, text, checks))
    return verdicts


def _clinics_for(size: Results) -> float:
    return float(size["clinics_for"]["median_us"]) / 1000


def judge_reach(reach: Results) -> list[dict[str, Any]]:
    """The resident's side (``bench_reach.py``): ``clinics_for`` per store, and its growth with size."""
    verdicts = [
        _verdict(
            f"{store}-clinics-for-{limit:g}ms",
            f"{store} `clinics_for` ≤ {limit:g} ms median",
            _per_size(reach, store, _clinics_for, limit, at_most=True, unit="ms"),
        )
        for store, limit in (("memory", 1.0), ("sqlite", 3.0), ("postgresql", 3.0), ("redis", 3.0))
    ]
    names = [name for name in ("memory", "sqlite", "postgresql", "redis") if name in reach]
    verdicts.append(
        _verdict(
            "clinics-for-flat-1.5x",
            "`clinics_for` at the largest size ≤ 1.5× its time at the smallest, on every store",
            [check for name in names for check in _growth(reach, name, _clinics_for, 1.5)],
        )
    )
    return verdicts


#: The stores the whole country's targets cover.
COUNTRY_STORES = ("sqlite", "postgresql", "redis")


def judge_country(country: Results | None) -> list[dict[str, Any]]:
    """The whole country (``bench_country.py``): decide and a page of 50 at 10.5M against 1,000
    residents, and the load time, on SQLite, PostgreSQL and Redis.

    Always the three verdicts: without ``--country`` (or a merged ``bench_country.py`` output)
    they are not measured ("run with --country"); a store that did not get to its final
    measurement is named in ``missing``; a store stopped short of 10.5M residents is a check
    that missed.
    """
    country = country or {}
    names = [name for name in COUNTRY_STORES if "large" in country.get(name, {})]
    missing = [name for name in COUNTRY_STORES if name not in names] if names else []
    started = any(name in country for name in COUNTRY_STORES)
    unmeasured = "" if names else "no store finished: see the whole country" if started else "run with --country"

    def check(name: str, key: str, limit: float, unit: str) -> dict[str, Any]:
        data = country[name]
        measured = data[key] if key != "load_minutes" else round(data["load_seconds"] / 60, 1)
        short = data["reached"] < COUNTRY
        return {
            "store": name,
            "residents": data["reached"],
            # the load time is of the whole load, the growths against the first 1,000 residents
            **({"compared_with": data["small"]["residents"]} if unit == "×" else {}),
            "measured": measured,
            "unit": unit,
            # A verdict on 10.5M residents only: a run stopped short of that is reported, never met.
            "met": measured <= limit and not short,
            **({"note": f"stopped short of {COUNTRY:,} residents"} if short else {}),
        }

    return [
        _verdict(
            "country-decide-1.3x",
            "`decide` at 10.5M residents ≤ 1.3× its time at 1,000, on SQLite, PostgreSQL and Redis",
            [check(name, "decide_growth", 1.3, "×") for name in names],
            unmeasured=unmeasured,
            missing=missing,
        ),
        _verdict(
            "country-page-2x",
            "a resident page of 50 at 10.5M residents ≤ 2× its time at 1,000, on SQLite, PostgreSQL and Redis",
            [check(name, "page_growth", 2.0, "×") for name in names],
            unmeasured=unmeasured,
            missing=missing,
        ),
        _verdict(
            "country-load-15min",
            "loading 10.5M residents through the bulk path in under 15 minutes per store",
            [check(name, "load_minutes", 15.0, "min") for name in names],
            unmeasured=unmeasured,
            missing=missing,
        ),
    ]


def judge_all(results: Results) -> list[dict[str, Any]]:
    """Every target of every part of a run (``run.py``'s results): the stores, the resident's
    side, the peers and the whole country, in that order; a part not run is "not measured"."""
    return (
        judge(results.get("stores", {}))
        + judge_reach(results.get("reach", {}))
        + judge_peers(results.get("peers"))
        + judge_country(results.get("country"))
    )
