"""The benchmark report (``benchmarks/report.py``) shows every measured part and every target's verdict.

The whole country's figures come from ``benchmarks/bench_country.py`` itself, run at a tiny
size on the in-memory store and on Redis (stopped after its first 1,000 residents, as
``--max-load-minutes`` stops a long run), and are merged into results the way a separately
run country measurement is; PostgreSQL's plan is the real ``EXPLAIN ANALYZE`` of the
decision statement from ``benchmarks/stores.py``. The workers' figures are shaped as
``bench_workers.py`` writes them (that script needs the benchmark's own extras). Nothing
here is timed: the tests check that what was measured is what the report says.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
PLOTS = {name: f"{name}.png" for name in ("decide", "pages", "ratios", "many", "writes", "feed")}


@pytest.fixture(scope="module")
def bench() -> Iterator[dict[str, ModuleType]]:
    """The benchmark modules (``report``, ``targets``, ``stores``), imported from benchmarks/."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield {name: importlib.import_module(name) for name in ("report", "targets", "stores")}
    finally:
        sys.path.remove(str(BENCHMARKS))


def _country(tmp: Path, store: str, *args: str) -> Path:
    out = tmp / f"country-{store}.json"
    script = str(BENCHMARKS / "bench_country.py")
    subprocess.run(  # noqa: S603 -- the benchmark's own script
        [sys.executable, script, "--store", store, "--requests", "50", *args, "--out", str(out)],
        check=True,
        cwd=BENCHMARKS,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def country_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """bench_country.py outputs: the in-memory store grown to 2,000 residents by two import calls at
    once, and Redis asked for the whole country but stopped after its first 1,000 residents (a zero
    load-time limit)."""
    tmp = tmp_path_factory.mktemp("country")
    return {
        "memory": _country(tmp, "memory", "--residents", "2000", "--threads", "2"),
        "redis": _country(tmp, "redis", "--max-load-minutes", "0"),
    }


def _workers() -> dict[str, Any]:
    """One store's output of ``bench_workers.py`` (its keys and nesting), as run.py stores it."""

    def run(workers: int, batch: int, per_second: float) -> dict[str, Any]:
        return {
            "workers": workers,
            "batch": batch,
            "decisions": int(per_second * 3),
            "seconds": 3.0,
            "per_second": per_second,
            "wrong_answers": 0,
            "load_average_after": [1.5, 1.25, 1.0],
        }

    return {
        "store": "postgresql",
        "residents": 10000,
        "cpus": 2,
        "load": {"records_imported": 17000, "import_seconds": 3.1},
        "decide": [run(1, 1, 3001.5), run(2, 1, 5102.5)],
        "decide_many_100": [run(1, 100, 40000.0), run(2, 100, 70000.0)],
        "decide_scaling": 1.7,
        "seconds": 20.0,
        "load_average_before": [0.5, 0.25, 0.125],
    }


def _results(bench: dict[str, ModuleType]) -> dict[str, Any]:
    """A run's results as run.py writes them, with no store measured by bench_stores.py."""
    results: dict[str, Any] = {
        "command": "python benchmarks/run.py --quick",
        "mode": "quick",
        "sizes": [1000, 10000],
        "started": "2026-12-01T05:00:00+00:00",
        "commit": "abc1234",
        "uncommitted_changes": [],
        "machine": {
            "cpu": "a test CPU",
            "cores": 2,
            "memory_gib": 8,
            "os": "Linux",
            "kernel": "6",
            "load_average_at_start": [0.5, 0.25, 0.125],
            "python": "3.11",
            "implementation": "CPython",
            "servers": {"postgresql": "15", "redis": "7", "sqlite": "3.40"},
            "packages": {"careaccess": "0.1.0"},
        },
        "stores": {},
        "reach": {},
        "workers": {"postgresql": _workers()},
        "seconds": 60.0,
    }
    results["targets"] = bench["targets"].judge_all(results)
    return results


def _rows(markdown: str, first_cell: str) -> list[list[str]]:
    """The cells of every table row of *markdown* whose first cell is *first_cell*."""
    rows = []
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            rows.append(cells)
    return rows


def _verdict(markdown: str, text: str) -> list[str]:
    (row,) = _rows(markdown, text)
    return row


def test_every_judge_feeds_the_verdict_list(bench: dict[str, ModuleType]) -> None:
    targets = bench["targets"]
    every = targets.judge_all({})
    parts = targets.judge({}) + targets.judge_reach({}) + targets.judge_peers(None) + targets.judge_country(None)
    assert [t["id"] for t in every] == [t["id"] for t in parts]
    assert len({t["id"] for t in every}) == len(every)
    assert {"country-decide-1.3x", "country-page-2x", "country-load-15min"} <= {t["id"] for t in every}
    assert all(t["met"] is None for t in every)


def test_without_the_country_its_targets_read_not_measured(bench: dict[str, ModuleType], tmp_path: Path) -> None:
    report = bench["report"]
    results = _results(bench)
    markdown = report.render(results, PLOTS, tmp_path)
    for target in results["targets"]:
        assert _verdict(markdown, target["text"])[1].startswith("not measured")
    country = [t for t in results["targets"] if t["id"].startswith("country-")]
    assert len(country) == 3
    for target in country:
        assert _verdict(markdown, target["text"])[1:] == ["not measured (run with --country)", "–"]
    assert "## The whole country" in markdown
    assert "Not measured in this run: run with `--country`" in markdown


def test_merged_country_measurements_show_per_store(
    bench: dict[str, ModuleType], country_files: dict[str, Path], tmp_path: Path
) -> None:
    report = bench["report"]
    results = _results(bench)
    assert report.merge_country(results, [country_files["memory"], country_files["redis"]]) == ["memory", "redis"]
    memory = json.loads(country_files["memory"].read_text(encoding="utf-8"))
    redis = json.loads(country_files["redis"].read_text(encoding="utf-8"))
    assert memory["reached"] == 2000
    assert redis["reached"] == 1000
    assert redis["stopped_early"].startswith("growth stopped after")
    markdown = report.render(results, {**PLOTS, "country_load": "country_load.png"}, tmp_path)

    # reached, records, load rate, bytes per resident, how it ended, the load average
    (row,) = [r for r in _rows(markdown, "in-memory") if r[1] == "2k of 2k"]
    assert row[2] == f"{memory['records']:,}" == "2,850"
    seconds = memory["load_seconds"]  # 0.0 at this size: its steps' times are rounded to 0.1 s
    assert row[3] == f"{seconds:,.1f} s"
    assert row[4] == (f"{memory['records'] / seconds:,.0f}" if seconds else "–")
    assert row[5] == "2" == str(memory["threads"])  # import calls at once
    assert row[6] == f"{memory['stored']['per_resident']:,.1f}"
    assert row[7] == "reached the size asked for"
    assert row[8].startswith(", ".join(f"{x:g}" for x in memory["load_average_before"]) + " → ")
    (row,) = [r for r in _rows(markdown, "Redis") if r[1] == "1k of 10.5M"]
    assert row[7] == redis["stopped_early"]
    assert f"- Redis: {redis['stored']['how']} ({redis['stored']['bytes']:,} bytes at 1k)." in markdown

    # decide and a page of 50 at 1,000 against the size reached, with the ratio and wrong answers
    (row,) = [r for r in _rows(markdown, "in-memory") if r[1] == "1k → 2k" and len(r) == 10]
    small, large = memory["small"], memory["large"]
    assert row[2] == f"{report._us(small['decide']['median_us'])} → {report._us(large['decide']['median_us'])}"
    assert row[3] == f"{memory['decide_growth']:,.2f}×"
    assert row[4] == f"{report._us(small['decide']['p99_us'])} → {report._us(large['decide']['p99_us'])}"
    assert row[5] == f"{report._us(small['page_of_50']['median_us'])} → {report._us(large['page_of_50']['median_us'])}"
    assert row[6] == f"{memory['page_growth']:,.2f}×"
    assert row[8] == "0 → 0"
    assert row[9] == "50"

    # every load step, and where a merged measurement came from
    steps = [r for r in _rows(markdown, "in-memory") if r[1] in ("0 → 1k", "1k → 2k") and len(r) == 6]
    assert [r[2] for r in steps] == [f"{step['records']:,}" for step in memory["loads"]] == ["1,425", "1,425"]
    assert f"- Redis: from `{country_files['redis'].name}`, started {redis['started']}" in markdown
    assert "![the whole country's load rate](" in markdown

    # the verdicts: Redis stopped short of 10.5M misses; the stores not run are named
    for ident in ("country-decide-1.3x", "country-page-2x", "country-load-15min"):
        (target,) = [t for t in results["targets"] if t["id"] == ident]
        cells = _verdict(markdown, target["text"])
        assert cells[1] == "**missed** where measured (not measured: SQLite, PostgreSQL)"
        assert cells[2].startswith("Redis 1k vs 1k: " if target["id"] != "country-load-15min" else "Redis 1k: ")
        assert cells[2].endswith("✗ (stopped short of 10,500,000 residents)")
    (decide,) = [t for t in results["targets"] if t["id"] == "country-decide-1.3x"]
    assert decide["checks"][0]["measured"] == redis["decide_growth"]


def test_merge_rejects_a_file_that_is_not_a_country_output(bench: dict[str, ModuleType], tmp_path: Path) -> None:
    path = tmp_path / "workers.json"
    path.write_text(json.dumps(_workers()), encoding="utf-8")
    results = _results(bench)
    with pytest.raises(ValueError, match=r"not an output of bench_country\.py"):
        bench["report"].merge_country(results, [path])
    assert "country" not in results


def test_throughput_with_one_and_two_workers(bench: dict[str, ModuleType], tmp_path: Path) -> None:
    markdown = bench["report"].render(_results(bench), PLOTS, tmp_path)
    assert "## Throughput under concurrency" in markdown
    (row,) = _rows(markdown, "PostgreSQL")
    assert row[1:] == [
        "10k",
        "3,002",
        "5,102",
        f"{5102.5 / 3001.5:,.2f}×",
        "40,000",
        "70,000",
        "1.75×",
        "0",
        "2",
        "0.5, 0.25, 0.125 → 1.5, 1.25, 1",
    ]


def test_postgresql_plan_of_the_decision_statement(bench: dict[str, ModuleType]) -> None:
    target = bench["stores"].PostgresqlTarget()
    try:
        access = target.open()
        try:
            explain = target.explain_decide(access, ("199001011234", "c0000", "kbt"))
        finally:
            access.close()
    finally:
        target.cleanup()
    store: dict[str, Any] = {"sizes": {"1000": {"explain_decide": explain}, "100000": {"explain_decide": explain}}}
    lines = bench["report"]._explain_lines({"stores": {"postgresql": store}})
    text = "\n".join(lines)
    assert lines[0] == "### PostgreSQL's decision statement"
    assert text.count(explain["statement"].strip()) == 1
    assert "At 1k residents, the generic plan (as run):" in text
    assert "At 100k residents, the generic plan (as run):" in text
    assert text.count(explain["generic_plan"]) == 2
    assert text.count(explain["custom_plan"]) == 2
    assert "Execution Time" in explain["generic_plan"]
    assert text.count("```") % 2 == 0


def test_a_country_run_cut_short_says_why(bench: dict[str, ModuleType], tmp_path: Path) -> None:
    """What bench_country.py writes when it is stopped (SIGTERM) before its first measurement."""
    path = tmp_path / "country-sqlite.json"
    stopped = {"store": "sqlite", "requested_residents": 10_500_000, "loads": [], "error": "KeyboardInterrupt"}
    path.write_text(json.dumps(stopped), encoding="utf-8")
    results = _results(bench)
    bench["report"].merge_country(results, [path])
    markdown = bench["report"].render(results, PLOTS, tmp_path)
    (row,) = [r for r in _rows(markdown, "SQLite") if len(r) == 9]
    assert row[1] == "0 of 10.5M"
    assert row[7] == "KeyboardInterrupt"
    for target in results["targets"]:
        if target["id"].startswith("country-"):
            assert _verdict(markdown, target["text"])[1] == "not measured (no store finished: see the whole country)"
