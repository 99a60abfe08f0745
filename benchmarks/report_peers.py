"""The report's section on the hot path and its peers: read from pyperf's JSON of
``bench_peers.py`` (``pyperf.BenchmarkSuite.load``) and its pyinstrument sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import profiles

__all__ = ["lines"]

Results = dict[str, Any]


def _suite(peers: Results, assets: Path) -> Any:
    """pyperf's JSON of the peers' run (one benchmark per contender), or None if it is not there."""
    import pyperf  # noqa: PLC0415 -- only where peers were measured

    path = Path(peers.get("pyperf_json", ""))
    for candidate in (path, assets / path.name):
        if path.name and candidate.exists():
            return pyperf.BenchmarkSuite.load(str(candidate))
    return None


def lines(peers: Results | None, assets: Path) -> list[str]:
    """The hot path against the floor and every peer, read from pyperf's JSON of ``bench_peers.py``."""
    from report import _table, _us  # noqa: PLC0415 -- report imports this module

    if not peers:
        return []
    suite = _suite(peers, assets)
    if suite is None:
        return []
    rows = []
    for bench in suite.get_benchmarks():
        values = bench.get_values()
        rows.append(
            [
                bench.get_name(),
                _us(bench.median() * 1e6),
                _us(min(values) * 1e6),
                _us(bench.percentile(90) * 1e6),
                f"{bench.get_nrun()}",
                f"{len(values)}",
                f"{bench.get_runs()[-1].get_loops():,}",
            ]
        )
    ratios = [[name.replace("_", " "), f"{value:,.2f}×"] for name, value in peers["ratios"].items()]
    link = f"{{download}}`pyperf JSON <{assets.name}/{Path(peers['pyperf_json']).name}>`"
    return [
        "## The hot path and its peers, in one interleaved run",
        "",
        f"{peers['residents']:,} residents in memory; {peers['requests']:,} requests, every contender's answers "
        "checked against the data set first (all 0 wrong), then timed by pyperf: each contender's worker "
        f"processes take turns with every other's ({peers['rounds']} rounds; `benchmarks/bench_peers.py`, "
        "encodings in `peer.py`, `peer_cedar.py`, `peer_oso.py`). A value is pyperf's calibrated loop over "
        f"the requests divided by its length; batch rows are per request, 100 a call. Raw values: {link}.",
        "",
        *_table(["contender", "median", "min", "p90", "runs (with calibration)", "values", "loops per value"], rows),
        "",
        *_table(["ratio (medians, same run)", "value"], ratios),
        "",
        *_profile_lines(peers, assets),
    ]


def _profile_lines(peers: Results, assets: Path) -> list[str]:
    """Where in-memory ``decide``'s time goes, from the saved pyinstrument sessions (pyinstrument's API)."""
    lines = []
    for name in peers.get("profiles", []):
        path = assets / "profiles" / name
        if not path.with_suffix(".pyisession").exists():
            continue
        shares, chain = profiles.session_summary(path.with_suffix(".pyisession"), "CareAccess.decide")
        top = ", ".join(f"{label} {share:.0%}" for label, share in shares[:6] if share >= 0.02)
        hot = f"; hot path {' → '.join(chain)}" if len(chain) > 1 else ""
        link = f"{{download}}`profile <{assets.name}/profiles/{name}>`"
        lines.append(f"- `{name.removesuffix('.txt')}`: {top or 'no samples'}{hot} ({link})")
    if not lines:
        return []
    return ["pyinstrument's view of in-memory `decide` (shares of its time):", "", *lines, ""]
