"""Turn a run's results (``results.json``) into ``benchmarks.md`` with its plots.

::

    python benchmarks/report.py docs/benchmarks/results.json docs/benchmarks.md
    python benchmarks/report.py docs/benchmarks/results.json docs/benchmarks.md --country country-sqlite.json

The first redraws the report from saved results; ``run.py`` calls :func:`write` at the end
of a run. The second first merges ``bench_country.py`` outputs, measured separately (the
whole country takes hours a store), into the results (:func:`merge_country`: each file
replaces its store's entry under ``"country"``, and every target is judged again), writes
the results back and redraws the report: nothing else is run again.
Every figure in the report is read from the results: nothing is estimated.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import dataset
import profiles
import report_peers
import targets

__all__ = ["merge_country", "render", "write"]

STORE_NAMES = {"memory": "in-memory", "sqlite": "SQLite", "postgresql": "PostgreSQL", "redis": "Redis"}
COLOURS = {"memory": "#4c72b0", "sqlite": "#55a868", "postgresql": "#8172b2", "redis": "#c44e52", "casbin": "#937860"}
Results = dict[str, Any]


def _n(residents: int | str) -> str:
    value = int(residents)
    if value >= 1_000_000 and value % 100_000 == 0:
        return f"{value / 1_000_000:g}M"  # 1M, 2.4M, 10.5M
    if value >= 1000 and value % 1000 == 0:
        return f"{value // 1000}k"
    return str(value)


def _us(value: float | None) -> str:
    if value is None:
        return "–"
    if value >= 1000:
        return f"{value / 1000:,.2f} ms"
    return f"{value:,.2f} µs" if value < 100 else f"{value:,.0f} µs"


def _num(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _sizes(store: Results) -> list[str]:
    return sorted(store.get("sizes", {}), key=int)


def _stores(results: Results) -> list[tuple[str, Results]]:
    return [(name, data) for name, data in results["stores"].items() if data.get("sizes")]


def _table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


# -- storage ----------------------------------------------------------------------------


def _events_stored(store: Results, size: str) -> int:
    """Events in the store when *size* was measured: one per record and per clinic or case type
    saved, plus the write benchmarks' two per resident at the smaller sizes."""
    residents = int(size)
    events = dataset.record_counts(residents)["records"] + 5 * len(dataset.clinics_for(residents))
    for earlier in _sizes(store):
        if int(earlier) < residents:
            events += 2 * store["sizes"][earlier]["writes"]["count"]
    return events


def _storage(name: str, store: Results, size: str) -> tuple[str, str]:
    """(bytes per record with its event, how it was measured) for one store and size."""
    data = store["sizes"][size]
    records = data["records"]
    stored = data["stored"]
    if name == "memory":
        sizes = _sizes(store)
        at = sizes.index(size)
        rss = store["loads"][size].get("rss_after_load", 0)
        if at == 0:
            grown, added = rss - store.get("rss_before_load", 0), records
            since = "since before loading (one-time allocations included)"
        else:
            earlier = sizes[at - 1]
            grown = rss - store["loads"][earlier].get("rss_after_load", 0)
            added = records - store["sizes"][earlier]["records"] + 2 * store["sizes"][earlier]["writes"]["count"]
            since = f"since {_n(earlier)}"
        return _num(grown / added), f"process RSS {rss / 2**20:,.0f} MiB; per record: RSS growth {since}"
    if name == "redis":
        sample_events = stored["sample_events"] / (stored["sample_records"] + 5 * len(stored["sample_clinics"]))
        detail = (
            f"records {stored['sample_state'] / stored['sample_records']:,.0f} + event {sample_events:,.0f} "
            f"(MEMORY USAGE, {len(stored['sample_clinics'])} clinics)"
        )
        return _num(stored["used_memory_growth"] / records), f"`INFO used_memory` growth; {detail}"
    tables = stored.get("tables", {})
    counts = dataset.record_counts(int(size))
    events = _events_stored(store, size)
    parts = []
    if tables.get("approvals"):
        parts.append(f"approval {tables['approvals'] / counts['approvals']:,.0f}")
    if tables.get("grants"):
        parts.append(f"grant {tables['grants'] / counts['grants']:,.0f}")
    if tables.get("events"):
        parts.append(f"event {tables['events'] / events:,.0f}")
    how = "file size after a checkpoint" if name == "sqlite" else "`pg_total_relation_size` of every table"
    return _num(stored["file"] / records), f"{how}; per row with indexes: {', '.join(parts)}"


# -- plots ------------------------------------------------------------------------------


def _pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, imported only to draw (rendering the text needs none)."""
    import matplotlib as mpl  # noqa: PLC0415

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def _figure() -> tuple[Any, Any]:
    figure, axes = _pyplot().subplots(figsize=(8.5, 4.2), dpi=110)
    axes.grid(True, which="both", alpha=0.3)
    return figure, axes


def _save(figure: Any, path: Path) -> str:
    figure.tight_layout()
    figure.savefig(path)
    _pyplot().close(figure)
    return path.name


def _line_plot(
    results: Results, path: Path, title: str, ylabel: str, value: Callable[[Results], float | None], *, p99: bool
) -> str:
    figure, axes = _figure()
    for name, store in _stores(results):
        sizes = _sizes(store)
        xs = [int(s) for s in sizes]
        ys = [value(store["sizes"][s]) for s in sizes]
        axes.plot(xs, ys, marker="o", color=COLOURS[name], label=f"{STORE_NAMES[name]} median")
        if p99:
            axes.plot(
                xs,
                [store["sizes"][s]["decide"]["p99_us"] for s in sizes],
                linestyle="--",
                color=COLOURS[name],
                alpha=0.6,
                label=f"{STORE_NAMES[name]} p99",
            )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("residents")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _save(figure, path)


def _bars(
    path: Path, title: str, ylabel: str, groups: list[str], series: dict[str, list[float]], *, log: bool = True
) -> str:
    figure, axes = _figure()
    width = 0.8 / max(1, len(series))
    for n, (label, values) in enumerate(series.items()):
        positions = [i + n * width - 0.4 + width / 2 for i in range(len(groups))]
        axes.bar(positions, values, width, label=label)
    axes.set_xticks(range(len(groups)), groups)
    if log:
        axes.set_yscale("log")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.legend(fontsize=7)
    return _save(figure, path)


def _many(store: Results, size: str, which: str) -> float:
    return float(store["sizes"][size]["decide_many"][which]["median_us"]) / 1000


def _plots(results: Results, assets: Path) -> dict[str, str]:
    plots: dict[str, str] = {}
    plots["decide"] = _line_plot(
        results,
        assets / "decide.png",
        "decide: time per call",
        "µs per call (log)",
        lambda s: s["decide"]["median_us"],
        p99=True,
    )
    plots["pages"] = _line_plot(
        results,
        assets / "page.png",
        "list_residents: one page of 50",
        "µs per page (log)",
        lambda s: s["page_of_50"]["median_us"],
        p99=False,
    )
    stores = _stores(results)
    ratios: dict[str, list[float]] = {}
    groups = [STORE_NAMES[name] for name, _ in stores]
    for size in results["sizes"]:
        ratios[f"{_n(size)} residents"] = [
            store["sizes"].get(str(size), {}).get("decide_to_baseline", 0.0) for _, store in stores
        ]
    plots["ratios"] = _bars(
        assets / "ratio.png", "decide ÷ its raw baseline (same run)", "× the baseline (log)", groups, ratios
    )
    largest = [(name, store, _sizes(store)[-1]) for name, store in stores]
    labels = [f"{STORE_NAMES[name]} ({_n(size)})" for name, _, size in largest]
    plots["many"] = _bars(
        assets / "decide_many.png",
        "1,000 decisions: decide_many vs. 1,000 decide calls (largest size)",
        "ms for 1,000 (log)",
        labels,
        {
            "1,000 × decide": [_many(s, n, "single_decide_x1000") for _, s, n in largest],
            "decide_many(1,000)": [_many(s, n, "decide_many_1000") for _, s, n in largest],
        },
    )
    plots["writes"] = _bars(
        assets / "writes.png",
        "writes per second, one at a time (largest size)",
        "per second (log)",
        labels,
        {
            "approve_resident": [s["sizes"][n]["writes"]["approve_resident"]["per_second"] for _, s, n in largest],
            "grant_case_type": [s["sizes"][n]["writes"]["grant_case_type"]["per_second"] for _, s, n in largest],
        },
    )
    plots["feed"] = _bars(
        assets / "feed.png",
        "event feed read rate, 1,000 events per read (largest size)",
        "events per second (log)",
        labels,
        {
            "events() across clinics": [s["sizes"][n]["feed"]["all_clinics"]["per_second"] for _, s, n in largest],
            "events(clinic_id=...)": [s["sizes"][n]["feed"]["one_clinic"]["per_second"] for _, s, n in largest],
        },
    )
    memory = results["stores"].get("memory", {})
    if memory.get("sizes"):
        sizes = _sizes(memory)
        plots["casbin"] = _bars(
            assets / "casbin.png",
            "in-memory decide vs. pycasbin FastEnforcer, same data",
            "µs per decision (log)",
            [_n(s) for s in sizes],
            {
                "careaccess decide": [memory["sizes"][s]["decide"]["median_us"] for s in sizes],
                "pycasbin enforce": [memory["sizes"][s]["casbin"]["decide"]["median_us"] for s in sizes],
            },
        )
    country = _country_plot(results, assets / "country_load.png")
    if country:
        plots["country_load"] = country
    return plots


def _country_plot(results: Results, path: Path) -> str | None:
    """Records per second of each load step of the whole country, against the residents it reached."""
    country = {name: data for name, data in results.get("country", {}).items() if data.get("loads")}
    if not country:
        return None
    figure, axes = _figure()
    for name, data in country.items():
        steps = [step for step in data["loads"] if step.get("records_per_second")]
        axes.plot(
            [step["to"] for step in steps],
            [step["records_per_second"] for step in steps],
            marker="o",
            color=COLOURS.get(name),
            label=STORE_NAMES.get(name, name),
        )
    axes.set_xscale("log")
    axes.set_xlabel("residents after the step")
    axes.set_ylabel("records per second")
    axes.set_ylim(bottom=0)
    axes.set_title("the whole country: load rate of each step (import_residents)")
    axes.legend(fontsize=7)
    return _save(figure, path)


# -- profiles ---------------------------------------------------------------------------


def _profile_lines(results: Results, assets: Path) -> list[str]:
    lines: list[str] = []
    for name, store in _stores(results):
        for function, call in (("CareAccess.decide", "decide"), ("CareAccess.decide_many", "decide_many")):
            path = assets / "profiles" / f"{call}-{name}.txt"
            if not path.exists():
                continue
            shares, chain = profiles.summary(path, function)
            top = ", ".join(f"{label} {share:.0%}" for label, share in shares[:6] if share >= 0.02)
            hot = f"; hot path {' → '.join(chain)}" if len(chain) > 1 else ""
            link = f"{{download}}`profile <benchmarks/profiles/{path.name}>`"
            size = _n(store.get("profiled_at", _sizes(store)[-1]))
            lines.append(f"- {STORE_NAMES[name]} `{call}` at {size}: {top or 'no samples'}{hot} ({link})")
    return lines


# -- the report -------------------------------------------------------------------------


def _name(store: str) -> str:
    return STORE_NAMES.get(store, store)


def _verdict(target: Results) -> str:
    """met, missed or not measured (with why, where the target says), and where it was not measured."""
    if target["met"] is None:
        why = target.get("unmeasured")
        return f"not measured ({why})" if why else "not measured"
    verdict = "**met**" if target["met"] else "**missed**"
    if target.get("missing"):
        verdict += " where measured (not measured: " + ", ".join(_name(s) for s in target["missing"]) + ")"
    return verdict


def _verdict_lines(results: Results) -> list[str]:
    rows = []
    for target in results["targets"]:
        measured = "; ".join(
            f"{_name(c['store'])} {_n(c['residents'])}"
            + (f" vs {_n(c['compared_with'])}" if "compared_with" in c else "")
            + f": {c['measured']:,.2f} {c['unit']}"
            + ("" if c["met"] else " ✗")
            + (f" ({c['note']})" if c.get("note") else "")
            for c in target["checks"]
        )
        rows.append([target["text"], _verdict(target), measured or "–"])
    return _table(["target", "verdict", "measured (✗ = this check missed)"], rows)


def _decide_rows(results: Results) -> list[list[str]]:
    rows = []
    for name, store in _stores(results):
        for size in _sizes(store):
            data = store["sizes"][size]
            many = data["decide_many"]
            rows.append(
                [
                    STORE_NAMES[name],
                    _n(size),
                    _us(data["decide"]["median_us"]),
                    _us(data["decide"]["p99_us"]),
                    _us(data["baseline"]["median_us"]),
                    f"{data['decide_to_baseline']:,.1f}×",
                    _us(many["decide_many_1000"]["median_us"]),
                    _us(many["single_decide_x1000"]["median_us"]),
                    f"{many['speedup']:,.1f}×",
                    str(data["mismatches"]),
                ]
            )
    return rows


def _other_rows(results: Results) -> list[list[str]]:
    rows = []
    for name, store in _stores(results):
        for size in _sizes(store):
            data = store["sizes"][size]
            writes = data["writes"]
            feed = data["feed"]
            rows.append(
                [
                    STORE_NAMES[name],
                    _n(size),
                    _num(writes["approve_resident"]["per_second"]),
                    _num(writes["grant_case_type"]["per_second"]),
                    _us(data["page_of_50"]["median_us"]),
                    _us(data["page_of_50"]["p99_us"]),
                    _num(feed["all_clinics"]["per_second"]),
                    _num(feed["one_clinic"]["per_second"]),
                    _num(writes.get("bulk", {}).get("grant_case_types", {}).get("per_second")),
                    _num(writes.get("bulk", {}).get("revoke_approvals", {}).get("per_second")),
                ]
            )
    return rows


def _load_rows(results: Results) -> list[list[str]]:
    rows = []
    for name, store in _stores(results):
        for size in _sizes(store):
            load = store["loads"][size]
            per_record, how = _storage(name, store, size)
            rows.append(
                [
                    STORE_NAMES[name],
                    _n(size),
                    f"{load['records_imported']:,} in {load['import_calls']:,} calls",
                    f"{load['import_seconds']:,.1f} s",
                    _num(load["records_per_second"]),
                    per_record,
                    how,
                ]
            )
    return rows


def _casbin_rows(results: Results) -> list[list[str]]:
    memory = results["stores"].get("memory", {})
    rows = []
    for size in _sizes(memory):
        data = memory["sizes"][size]
        casbin = data["casbin"]
        rows.append(
            [
                _n(size),
                _us(data["decide"]["median_us"]),
                _us(data.get("decide_parsed_pnr", {}).get("median_us")),
                _us(casbin["decide"]["median_us"]),
                _us(casbin["decide"]["p99_us"]),
                f"{data['casbin_to_decide']:,.1f}×",
                f"{casbin['load_seconds']:,.1f} s",
                f"{casbin['rss_growth'] / 2**20:,.0f} MiB",
                str(casbin["mismatches"]),
            ]
        )
    return rows


def _missing_lines(results: Results) -> list[str]:
    lines = []
    for name, store in results["stores"].items():
        done = [int(s) for s in store.get("sizes", {})]
        missing = [s for s in store.get("requested_sizes", results["sizes"]) if s not in done]
        if missing or store.get("stopped") or store.get("error"):
            reason = store.get("error") or store.get("stopped") or "not reached"
            sizes = ", ".join(_n(s) for s in missing) or "none"
            lines.append(f"- {STORE_NAMES.get(name, name)}: sizes not measured: {sizes} ({reason}).")
    return lines


def _diagnosis_lines(results: Results, assets: Path) -> list[str]:
    """The layers of a decision from ``diagnose.py``, when it ran on the same commit as the results."""
    path = assets / "diagnosis.json"
    if not path.exists():
        return []
    diagnosis = json.loads(path.read_text(encoding="utf-8"))
    if diagnosis.get("commit") != results.get("commit"):
        return []  # measured on other code: it would explain nothing here
    names = [name for name in diagnosis["stores"] if name in STORE_NAMES]
    layers: list[str] = []
    for name in names:
        for label in diagnosis["stores"][name]["median_us"]:
            if not label.startswith("raw baseline") and label not in layers:
                layers.append(label)
    rows = [[label, *[_us(diagnosis["stores"][name]["median_us"].get(label)) for name in names]] for label in layers]
    rows.append(
        [
            "the raw baseline",
            *[
                _us(next(v for k, v in diagnosis["stores"][name]["median_us"].items() if k.startswith("raw baseline")))
                for name in names
            ],
        ]
    )
    residents = {diagnosis["stores"][name]["residents"] for name in names}
    return [
        "### The layers of a decision",
        "",
        f"Medians from `{diagnosis['command']}`, run with the library at the same commit "
        f"({diagnosis['commit']}) at "
        f"{diagnosis['started']} with {', '.join(_n(r) for r in sorted(residents))} residents; the "
        "layers take turns on the same requests. The gap between two rows is what a layer costs. "
        f"PostgreSQL's query plan is in {{download}}`diagnosis.json <{assets.name}/diagnosis.json>`.",
        "",
        *_table(["", *[STORE_NAMES[name] for name in names]], rows),
        "",
    ]


def _notes_lines(results: Results) -> list[str]:
    """``notes.md`` beside this script, when its first line names this run's start time.

    Notes are written by a person for one run; another run's figures would make them wrong.
    """
    path = Path(__file__).with_name("notes.md")
    if not path.exists():
        return []
    first, _, body = path.read_text(encoding="utf-8").partition("\n")
    if first.strip() != f"<!-- run: {results['started']} -->":
        return []
    return [body.strip(), ""]


def _reach_lines(results: Results) -> list[str]:
    """The resident's side: ``clinics_for`` per store and size, from ``bench_reach.py``."""
    reach = {name: data for name, data in results.get("reach", {}).items() if data.get("sizes")}
    if not reach:
        return []
    rows = []
    for name, store in reach.items():
        sizes = _sizes(store)
        first = store["sizes"][sizes[0]]["clinics_for"]["median_us"]
        for size in sizes:
            data, load = store["sizes"][size], store["loads"][size]
            timing = data["clinics_for"]
            rows.append(
                [
                    STORE_NAMES[name],
                    _n(size),
                    _us(timing["median_us"]),
                    _us(timing["p99_us"]),
                    f"{timing['median_us'] / first:,.2f}×",
                    _num(data["clinics_per_answer"], 1),
                    _num(data["allowed_per_answer"], 1),
                    f"{data['wrong_answers']} of {data['checked']}",
                    f"{_num(load['records_imported'])} in {load['import_seconds']:,.0f} s",
                ]
            )
    stopped = [f"- {STORE_NAMES[n]}: {d['stopped']}" for n, d in results.get("reach", {}).items() if d.get("stopped")]
    return [
        "## The resident's side: clinics_for",
        "",
        "`clinics_for(pnr, residence=...)` over 1,000 clinics (half with a service area: a region, a "
        "municipality, or every 50th the whole country from age 70), every resident approved at 1–3 "
        "clinics and a fifth holding grants at one more (`benchmarks/bench_reach.py`); residents drawn "
        "uniformly, each call timed alone. *Wrong answers* compares a sample of answers with the data set.",
        "",
        *_table(
            [
                "store",
                "residents",
                "median",
                "p99",
                "median ÷ smallest size",
                "clinics per answer",
                "allowed case types per answer",
                "wrong answers",
                "records loaded (import_residents)",
            ],
            rows,
        ),
        "",
        *stopped,
    ]


# -- the whole country, workers, PostgreSQL's plan --------------------------------------


def _load_average(values: list[float] | None) -> str:
    return ", ".join(f"{x:g}" for x in values) if values else "–"


def _reached(data: Results) -> int:
    """Residents in the store when it was last measured (or loaded, if it stopped before)."""
    if "reached" in data:
        return int(data["reached"])
    return int(data["loads"][-1]["to"]) if data.get("loads") else 0


def _ended(data: Results) -> str:
    """How one store's country run ended: every reason it gives, or that it reached its size."""
    reasons = [data[key] for key in ("stopped_early", "stopped", "error") if data.get(key)]
    if reasons:
        return "; ".join(str(reason) for reason in reasons)
    if "large" not in data:
        return "not measured at the size reached"
    return "reached the size asked for"


def _timing_pair(small: Results | None, large: Results | None, part: str, key: str) -> str:
    before = _us(small[part][key]) if small else "–"
    after = _us(large[part][key]) if large else "–"
    return f"{before} → {after}"


def _country_lines(results: Results, plots: dict[str, str], folder: str) -> list[str]:
    """The whole country per store (``bench_country.py``, run by ``run.py --country`` or merged)."""
    country: dict[str, Results] = results.get("country") or {}
    out = [
        "## The whole country",
        "",
        "10.5 million residents over 1,200 clinics (`benchmarks/country.py`), one store at a time in a "
        "process of its own (`benchmarks/bench_country.py`; the in-memory store up to 1M): every clinic "
        "and case type is set up, 1,000 residents are loaded through `import_residents` and measured, then "
        "the store grows through the same bulk path, 1.2 million residents a step, and is measured again at "
        "the size it reached (`--threads N`: N import calls, of different clinics and each atomic on its own, "
        "at once from a pool of threads, as a loader of many clinics would run them). "
        "`decide` is timed call by call on random requests, a page of 50 "
        "(`list_residents`) at up to 40 positions of five clinics' lists; *wrong answers* compares every "
        "request's answer with the data set.",
        "",
    ]
    if not country:
        return [
            *out,
            "Not measured in this run: run with `--country`, or merge separately run "
            "`bench_country.py` outputs (see *How to rerun*).",
            "",
        ]
    reached_rows: list[list[str]] = []
    timing_rows: list[list[str]] = []
    step_rows: list[list[str]] = []
    how: list[str] = []
    for name, data in country.items():
        records = data.get("records", sum(step["records"] for step in data.get("loads", [])))
        seconds = data.get("load_seconds", sum(step["seconds"] for step in data.get("loads", [])))
        stored = data.get("stored", {})
        reached_rows.append(
            [
                _name(name),
                f"{_n(_reached(data))} of {_n(data.get('requested_residents', _reached(data)))}",
                _num(records),
                f"{seconds:,.1f} s" if seconds < 120 else f"{seconds / 60:,.1f} min",
                _num(records / seconds) if seconds else "–",
                str(data.get("threads", 1)),
                _num(stored.get("per_resident"), 1),
                _ended(data),
                f"{_load_average(data.get('load_average_before'))} → {_load_average(data.get('load_average_after'))}",
            ]
        )
        if stored:
            how.append(f"- {_name(name)}: {stored['how']} ({stored['bytes']:,} bytes at {_n(_reached(data))}).")
        small, large = data.get("small"), data.get("large")
        wrong = [str(part["wrong_answers"]) for part in (small, large) if part]
        timing_rows.append(
            [
                _name(name),
                f"{_n(small['residents']) if small else '–'} → {_n(large['residents']) if large else '–'}",
                _timing_pair(small, large, "decide", "median_us"),
                f"{data['decide_growth']:,.2f}×" if "decide_growth" in data else "–",
                _timing_pair(small, large, "decide", "p99_us"),
                _timing_pair(small, large, "page_of_50", "median_us"),
                f"{data['page_growth']:,.2f}×" if "page_growth" in data else "–",
                _timing_pair(small, large, "page_of_50", "p99_us"),
                " → ".join(wrong) or "–",
                f"{large['decide']['samples']:,}" if large else "–",
            ]
        )
        step_rows.extend(
            [
                _name(name),
                f"{_n(step['from'])} → {_n(step['to'])}",
                _num(step["records"]),
                _num(step["calls"]),
                f"{step['seconds']:,.1f} s",
                _num(step.get("records_per_second")),
            ]
            for step in data.get("loads", [])
        )
    out += [
        *_table(
            [
                "store",
                "residents reached",
                "records",
                "load time",
                "records/s",
                "import calls at once",
                "bytes per resident",
                "ended",
                "load average before → after",
            ],
            reached_rows,
        ),
        "",
        *(["Bytes per resident, as measured:", "", *how, ""] if how else []),
        *_table(
            [
                "store",
                "residents",
                "decide median",
                "decide ÷ at 1k",
                "decide p99",
                "page of 50 median",
                "page ÷ at 1k",
                "page of 50 p99",
                "wrong answers",
                "decide requests",
            ],
            timing_rows,
        ),
        "",
    ]
    sources = [
        f"- {_name(name)}: from `{data['merged_from']}`"
        + (f", started {data['started']}" if data.get("started") else "")
        + (f" on commit `{data['commit']}`" if data.get("commit") else "")
        + (" (not this run's commit)" if data.get("commit") and data["commit"] != results.get("commit") else "")
        + (
            " with uncommitted changes in " + ", ".join(f"`{f}`" for f in data["uncommitted_changes"])
            if data.get("uncommitted_changes")
            else ""
        )
        + "."
        for name, data in country.items()
        if data.get("merged_from")
    ]
    if sources:
        out += ["Measured separately and merged into these results:", "", *sources, ""]
    if "country_load" in plots:
        out += [f"![the whole country's load rate]({folder}/{plots['country_load']})", ""]
    out += [
        "Each load step (`import_residents`, one call per clinic and at most 1,000 residents):",
        "",
        *_table(["store", "residents", "records", "import calls", "time", "records/s"], step_rows),
        "",
    ]
    return out


def _per_workers(runs: list[Results], workers: int) -> float | None:
    return next((run["per_second"] for run in runs if run["workers"] == workers), None)


def _scaling(runs: list[Results]) -> str:
    one, two = _per_workers(runs, 1), _per_workers(runs, 2)
    return f"{two / one:,.2f}×" if one and two else "–"


def _workers_lines(results: Results) -> list[str]:
    """Decisions per second with 1 and 2 worker processes per networked store (``bench_workers.py``)."""
    workers: dict[str, Results] = results.get("workers") or {}
    if not workers:
        return []
    rows: list[list[str]] = []
    notes: list[str] = []
    for name, data in workers.items():
        if data.get("error") or data.get("stopped"):
            notes.append(f"- {_name(name)}: {data.get('error') or data.get('stopped')}.")
        if "decide" not in data:
            continue
        decide, many = data["decide"], data.get("decide_many_100", [])
        after = (many or decide)[-1].get("load_average_after")
        rows.append(
            [
                _name(name),
                _n(data["residents"]),
                _num(_per_workers(decide, 1)),
                _num(_per_workers(decide, 2)),
                _scaling(decide),
                _num(_per_workers(many, 1)),
                _num(_per_workers(many, 2)),
                _scaling(many),
                str(sum(run["wrong_answers"] for run in decide + many)),
                f"{data.get('cpus', '–')}",
                f"{_load_average(data.get('load_average_before'))} → {_load_average(after)}",
            ]
        )
    seconds = {run["seconds"] for data in workers.values() for run in data.get("decide", [])}
    return [
        "## Throughput under concurrency",
        "",
        "A service runs several worker processes, each with its own connection: 1 and then 2 worker "
        "processes (fresh, `spawn`) each open `careaccess.connect(url)` to the same store, check their "
        "answers against the data set, start together and call `decide` on their own random requests one "
        "after another — then `decide_many` of 100 requests — for "
        + (f"about {max(seconds):,.0f} s" if seconds else "a fixed time")
        + "; the figure is all workers' decisions over the wall time (`benchmarks/bench_workers.py`).",
        "",
        *_table(
            [
                "store",
                "residents",
                "decide, 1 worker (/s)",
                "decide, 2 workers (/s)",
                "2 ÷ 1",
                "decide_many(100), 1 worker (/s)",
                "decide_many(100), 2 workers (/s)",
                "2 ÷ 1",
                "wrong answers",
                "CPUs",
                "load average before → after",
            ],
            rows,
        ),
        "",
        *notes,
        *([""] if notes else []),
    ]


def _explain_lines(results: Results) -> list[str]:
    """PostgreSQL's ``EXPLAIN (ANALYZE, BUFFERS)`` of the decision statement, per size (``bench_stores.py``)."""
    out: list[str] = []
    for name, store in _stores(results):
        for size in _sizes(store):
            explain = store["sizes"][size].get("explain_decide")
            if not explain:
                continue
            if not out:
                out += [
                    f"### {_name(name)}'s decision statement",
                    "",
                    "`EXPLAIN (ANALYZE, BUFFERS)` of the statement the store runs for one decision, after the "
                    "size's timings: as the store runs it (prepared, with the generic plan forced) and with the "
                    "values inlined (a custom plan).",
                    "",
                    "```sql",
                    explain["statement"].strip(),
                    "```",
                    "",
                ]
            out += [
                f"At {_n(size)} residents, the generic plan (as run):",
                "",
                "```text",
                explain["generic_plan"],
                "```",
                "",
                "and the custom plan:",
                "",
                "```text",
                explain["custom_plan"],
                "```",
                "",
            ]
    return out


def _rerun_lines(results: Results) -> list[str]:
    return [
        "## How to rerun",
        "",
        "From the repository root, with the PostgreSQL and Redis servers of `nox -s tests`:",
        "",
        "```sh",
        "nox -s bench                   # every part at 1k, 100k and 1M: writes docs/benchmarks.md",
        "nox -s bench -- --quick        # 1k and 10k, fewer repetitions: writes benchmarks/results/",
        "nox -s bench -- --country      # and the whole country, 10.5M residents a store (hours)",
        "# the whole country, one store at a time, merged into saved results without rerunning the rest:",
        "python benchmarks/bench_country.py --store sqlite --out country-sqlite.json",
        "python benchmarks/report.py docs/benchmarks/results.json docs/benchmarks.md --country country-sqlite.json",
        "```",
        "",
        f"This report came from `{results['command']}`.",
        "",
    ]


def merge_country(results: Results, paths: Iterable[Path]) -> list[str]:
    """Put ``bench_country.py`` outputs (JSON files) into *results* and judge every target again.

    Each file replaces its store's entry under ``results["country"]`` and is marked with the
    file's name (``merged_from``). Returns the stores merged. Raises ValueError for a file
    that is not a ``bench_country.py`` output (no ``store`` and ``requested_residents``).
    """
    merged = []
    for path in paths:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "store" not in data or "requested_residents" not in data:
            raise ValueError(f"{path} is not an output of bench_country.py")
        data["merged_from"] = Path(path).name
        results.setdefault("country", {})[data["store"]] = data
        merged.append(data["store"])
    results["targets"] = targets.judge_all(results)
    return merged


def render(results: Results, plots: dict[str, str], assets: Path) -> str:
    meta = results["machine"]
    mode = results["mode"]
    folder = assets.name
    out: list[str] = ["# Benchmarks", ""]
    out += [
        "How fast careaccess decides and changes access on each store, at 1,000 to 1,000,000",
        "residents, measured beside the raw operation each store's decision is built on and beside",
        "pycasbin, the general-purpose policy engine a team would otherwise pick. Every figure",
        "below comes from one run of the command shown; targets are reported as met or missed.",
        "",
        "The hot path's instruction counts, the networked stores' layers and what was tried where a",
        "target was missed are kept by hand in [Performance, round 2](performance.md) (measured 2026-12-01).",
        "",
    ]
    if mode != "full":
        out += [
            f"```{{note}}\nThese are the figures of a **{mode}** run (sizes "
            + ", ".join(_n(s) for s in results["sizes"])
            + "): the size targets compare the largest of those with the smallest, not 1M with 1k.\n```",
            "",
        ]
    out += [
        "## The run",
        "",
        f"- Command: `{results['command']}` (from the repository root)",
        f"- Started {results['started']} and took {results['seconds'] / 60:,.1f} minutes; commit `{results['commit']}`"
        + (
            " with uncommitted changes in " + ", ".join(f"`{p}`" for p in results["uncommitted_changes"])
            if results["uncommitted_changes"]
            else ""
        )
        + ".",
        f"- Machine: {meta['cpu']}, {meta['cores']} cores, {meta['memory_gib']} GiB RAM, {meta['os']} "
        f"(kernel {meta['kernel']}); load average {', '.join(map(str, meta['load_average_at_start']))} at the start.",
        f"- Python {meta['python']} ({meta['implementation']}); servers on loopback: PostgreSQL "
        f"{meta['servers']['postgresql']}, Redis {meta['servers']['redis']}; SQLite {meta['servers']['sqlite']}.",
        "- Packages: " + ", ".join(f"{k} {v}" for k, v in meta["packages"].items() if v) + ".",
        "",
    ]
    missing = _missing_lines(results)
    if missing:
        out += ["Not measured in this run:", "", *missing, ""]
    out += ["## Targets", "", *_verdict_lines(results), ""]
    profile_lines = _profile_lines(results, assets)
    if profile_lines:
        out += [
            "### Where the time goes",
            "",
            "pyinstrument profiles of `decide` and `decide_many` on every store at the largest size, "
            "as shares of the call's time: its direct callees, then the hot path (the callees that "
            "each take most of their caller's time); the full profiles are linked:",
            "",
            *profile_lines,
            "",
        ]
    out += _diagnosis_lines(results, assets)
    out += _notes_lines(results)
    out += [
        "## decide",
        "",
        f"![decide per call]({folder}/{plots['decide']})",
        "",
        f"![decide over its baseline]({folder}/{plots['ratios']})",
        "",
        *_table(
            [
                "store",
                "residents",
                "decide median",
                "decide p99",
                "raw baseline median",
                "decide ÷ baseline",
                "decide_many(1,000)",
                "1,000 × decide",
                "speed-up",
                "wrong answers",
            ],
            _decide_rows(results),
        ),
        "",
        "Baselines: "
        + "; ".join(f"{STORE_NAMES[name]}: {store.get('baseline_what', '')}" for name, store in _stores(results))
        + ".",
        "",
        f"![decide_many against single calls]({folder}/{plots['many']})",
        "",
        *_explain_lines(results),
    ]
    out += _reach_lines(results)
    out += _country_lines(results, plots, folder)
    out += _workers_lines(results)
    if "casbin" in plots:
        out += [
            "## Against pycasbin",
            "",
            "pycasbin's `FastEnforcer` with its policy indexed by (subject, clinic) — its fastest "
            "configuration — over the same residents, approvals and grants "
            "(`benchmarks/casbin_model.conf`, loaded by `benchmarks/peer.py`), on the same requests, "
            "in the same process. Both must give the same answers (the last column counts disagreements).",
            "",
            f"![careaccess against pycasbin]({folder}/{plots['casbin']})",
            "",
            *_table(
                [
                    "residents",
                    "decide (text pnr)",
                    "decide (parsed pnr)",
                    "pycasbin median",
                    "pycasbin p99",
                    "pycasbin ÷ decide",
                    "pycasbin load",
                    "pycasbin RSS",
                    "disagreements",
                ],
                _casbin_rows(results),
            ),
            "",
        ]
    out += [
        "## Writes, pages and the feed",
        "",
        f"![writes per second]({folder}/{plots['writes']})",
        "",
        f"![a page of 50]({folder}/{plots['pages']})",
        "",
        f"![feed read rate]({folder}/{plots['feed']})",
        "",
        *_table(
            [
                "store",
                "residents",
                "approve_resident /s",
                "grant_case_type /s",
                "page of 50 median",
                "page of 50 p99",
                "feed, all clinics (events/s)",
                "feed, one clinic (events/s)",
                "grant_case_types records/s",
                "revoke_approvals records/s",
            ],
            _other_rows(results),
        ),
        "",
        "## Loading and storage",
        "",
        "Data is loaded with `CareAccess.import_residents`, one call per clinic and growth step "
        "(at most 1,700 records each), and grown from one size to the next.",
        "",
        *_table(
            [
                "store",
                "residents",
                "records imported",
                "import time",
                "records/s",
                "bytes per record",
                "how measured",
            ],
            _load_rows(results),
        ),
        "",
    ]
    identity = results.get("identity")
    if identity:
        out += [
            "## Identity numbers",
            "",
            f"`PersonalIdentityNumber.parse` against the `personnummer` package on the same "
            f"{identity['numbers']:,} valid numbers (10 and 12 digits, with and without `-`), "
            f"median of {identity['repeats']} runs:",
            "",
            *_table(
                ["careaccess", "personnummer", "careaccess ÷ personnummer"],
                [
                    [
                        _us(identity["careaccess_median_us"]),
                        _us(identity["personnummer_median_us"]),
                        f"{identity['ratio_careaccess_to_personnummer']:.2f}",
                    ]
                ],
            ),
            "",
        ]
    out += report_peers.lines(results.get("peers"), assets)
    aio = results.get("asyncio")
    if aio:
        rows = [
            [
                name,
                figures.get("skipped", "") or figures["runs_as"],
                _us(figures.get("decide_us")),
                _us(figures.get("decide_async_us")),
                _num(figures.get("decide_many_ms"), 2),
                _num(figures.get("decide_many_async_ms"), 2),
                _num(figures.get("threads_per_s")),
                _num(figures.get("tasks_per_s")),
            ]
            for name, figures in aio.items()
        ]
        out += [
            "## asyncio",
            "",
            "`careaccess.aio.AsyncCareAccess` beside `CareAccess` on the same store and data (1,000 "
            "residents), taking turns on the same requests; throughput is 100 concurrent tasks on one "
            "event loop against 100 threads on the synchronous API, each deciding the same requests "
            "(`benchmarks/bench_aio.py`).",
            "",
            *_table(
                [
                    "store",
                    "async store",
                    "decide",
                    "await decide",
                    "decide_many(1,000) ms",
                    "await decide_many ms",
                    "100 threads, decisions/s",
                    "100 tasks, decisions/s",
                ],
                rows,
            ),
            "",
        ]
    out += _rerun_lines(results)
    out += [
        "## Method",
        "",
        "- **Data.** Resident *i* has a valid, distinct identity number and is listed at clinic "
        "(*i* // 100) mod 1,000: 100 residents per clinic up to 100k residents (1,000 clinics), "
        "1,000 per clinic at 1M. Every clinic has two open case types and two restricted ones and "
        "no service area. Every resident is approved at their clinic; every 2nd holds one "
        "restricted case type until further notice, every 5th the other until a date (every 50th "
        "one that has ended): 1.7 records, each with its event, per resident. A size is reached "
        "by adding residents to the previous one (`benchmarks/dataset.py`).",
        "- **decide.** Requests draw residents uniformly from the whole data set and cycle through "
        "the four case types; each is first checked against the data set (the *wrong answers* "
        "column). Each call is timed alone with `time.perf_counter_ns` after a warm-up, with the "
        "garbage collector paused; the identity number is passed as text, as callers pass it "
        "(the in-memory table also shows a pre-parsed `PersonalIdentityNumber`).",
        "- **Baselines** run in the same process on the same requests, taking turns with `decide` "
        "in chunks of 100 requests, so a change in the machine's load falls on both sides of a "
        "ratio alike; in each turn the two work on different chunks, so neither finds the other's "
        "rows in a cache. The in-memory baseline is timed in batches of 50 lookups (each sample is a "
        "batch's time over 50), as single dict lookups are too short to time one by one.",
        "- **decide_many** takes 1,000 requests in one call; it takes turns with the same 1,000 "
        "requests as 1,000 `decide` calls, each timed as a whole.",
        "- **Writes** are `approve_resident` then `grant_case_type` (until further notice) of new "
        "residents, one call at a time, after the read measurements, with the garbage collector "
        "running as in a service; the rate is the calls over the whole loop's time.",
        "- **Pages** are `list_residents(limit=50)` at every position of up to 20 clinics' lists, by cursor.",
        "- **Feed** reads `events(limit=1000)` from the start across all clinics, and clinic by "
        "clinic with `clinic_id`, for up to a few seconds each.",
        "- **Isolation.** Each store's data lives apart and is removed after the run: a temporary "
        "SQLite file (tables prefixed `bench_`), a PostgreSQL schema of its own, a Redis key "
        "prefix of its own in database 15, a fresh in-memory store.",
        "- **p99** is the 99th percentile by nearest rank. Other services shared this machine's two "
        "cores during the run (see the load average), which shows mostly in the p99 figures.",
        f"- Raw numbers: {{download}}`results.json <{folder}/results.json>`.",
        "",
    ]
    return "\n".join(out)


def write(results: Results, markdown: Path, assets: Path) -> None:
    """Draw the plots into *assets* and write the report to *markdown*."""
    assets.mkdir(parents=True, exist_ok=True)
    plots = _plots(results, assets)
    markdown.write_text(render(results, plots, assets), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=(
            "Merge a whole-country run measured on its own into the published report: "
            "python benchmarks/report.py docs/benchmarks/results.json docs/benchmarks.md --country country-sqlite.json "
            "(needs matplotlib; the plots, profiles and diagnosis beside results.json are reused)"
        ),
    )
    parser.add_argument("results", type=Path, help="results.json of a run (its folder holds the plots and profiles)")
    parser.add_argument("markdown", type=Path, help="where to write the report")
    parser.add_argument(
        "--country",
        type=Path,
        nargs="+",
        default=[],
        metavar="FILE",
        help="bench_country.py outputs to merge into the results first (written back to the results file)",
    )
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text(encoding="utf-8"))
    if args.country:
        merge_country(results, args.country)
    # The report first: a failure while drawing leaves the results file as it was.
    write(results, args.markdown, args.results.parent)
    if args.country:
        args.results.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.markdown}" + (f" and {args.results}" if args.country else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
