"""The memory an approval and a grant take stays near the figures in the README."""

from __future__ import annotations

from careaccess_redis.measure import measure


def test_memory_per_record_stays_near_documented_figures(single_url: str) -> None:
    figures = measure(single_url, count=500)
    # README (10 000 records): approval 449, grant alone 529, grant added 219, event 356 bytes.
    assert 150 < figures.approval < 600
    assert 150 < figures.grant_alone < 700
    assert 50 < figures.grant_added < 320
    assert 150 < figures.event < 480
    assert 0 < figures.replay_token < 250
    assert "approval" in figures.table()


def test_memory_is_measured_on_a_cluster_too(cluster_url: str) -> None:
    figures = measure(cluster_url + "?cluster=true", count=200)
    assert 150 < figures.approval < 600
    assert 150 < figures.event < 480
