"""Timing primitives: warm-up, many repetitions, median and p99 from ``perf_counter_ns``.

Every measurement is a :class:`Timing` of per-operation nanoseconds. Calls of a
microsecond or more are timed one by one; operations far below that (a dict lookup)
are timed in batches and each batch divided by its size, so the clock's own cost
(tens of nanoseconds) does not swamp them.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from attrs import frozen

__all__ = [
    "Timing",
    "batch_samples",
    "call_samples",
    "interleave",
    "profile",
    "time_batches",
    "time_calls",
    "time_rate",
]


@frozen
class Timing:
    """Nanoseconds per operation over ``samples`` timed samples (after warm-up)."""

    samples: int
    median_ns: float
    p99_ns: float
    mean_ns: float
    min_ns: float

    @classmethod
    def of(cls, nanoseconds: Sequence[float]) -> Timing:
        """Summarize samples: the median, the 99th percentile (nearest rank), mean and minimum."""
        ordered = sorted(nanoseconds)
        rank = max(0, min(len(ordered) - 1, round(0.99 * len(ordered)) - 1))
        return cls(len(ordered), statistics.median(ordered), ordered[rank], statistics.fmean(ordered), ordered[0])

    def as_dict(self) -> dict[str, float]:
        """JSON-ready: microseconds, rounded to the nanosecond."""
        return {
            "samples": self.samples,
            "median_us": round(self.median_ns / 1000, 3),
            "p99_us": round(self.p99_ns / 1000, 3),
            "mean_us": round(self.mean_ns / 1000, 3),
            "min_us": round(self.min_ns / 1000, 3),
        }


def _quiet_gc() -> bool:
    """Collect now and pause the cyclic collector, so a collection never lands inside a sample."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    return enabled


def call_samples(call: Callable[[Any], object], inputs: Iterable[Any]) -> list[float]:
    """Nanoseconds of ``call(item)`` for each item, one sample per call."""
    clock = time.perf_counter_ns
    samples: list[float] = []
    for item in inputs:
        start = clock()
        call(item)
        samples.append(clock() - start)
    return samples


def batch_samples(run_batch: Callable[[Sequence[Any]], object], batches: Iterable[Sequence[Any]]) -> list[float]:
    """Nanoseconds per operation of each ``run_batch(batch)``: the batch's time over its length."""
    clock = time.perf_counter_ns
    samples: list[float] = []
    for batch in batches:
        start = clock()
        run_batch(batch)
        samples.append((clock() - start) / len(batch))
    return samples


def interleave(parts: dict[str, Callable[[Any], list[float]]], chunks: Sequence[Any]) -> dict[str, Timing]:
    """Let the parts take turns: in round ``k`` part number ``i`` runs on chunk ``k + i``.

    For ratios: the sides of a comparison alternate, so a change in the machine's load
    during the run falls on all of them alike instead of on whichever ran last. Each
    part sees every chunk once, but never the chunk another part has just touched, so
    none finds its data in the CPU's or the server's cache because of another.
    """
    collected: dict[str, list[float]] = {name: [] for name in parts}
    enabled = _quiet_gc()
    try:
        for turn in range(len(chunks)):
            for offset, (name, part) in enumerate(parts.items()):
                collected[name].extend(part(chunks[(turn + offset) % len(chunks)]))
    finally:
        if enabled:
            gc.enable()
    return {name: Timing.of(samples) for name, samples in collected.items()}


def time_calls(call: Callable[[Any], object], inputs: Sequence[Any], *, warmup: int, repeat: int = 1) -> Timing:
    """Time ``call(item)`` once per item of *inputs*, *repeat* times over, after *warmup* calls.

    The warm-up runs over the first items (cycling if needed); each timed sample is one call.
    """
    count = len(inputs)
    for index in range(warmup):
        call(inputs[index % count])
    clock = time.perf_counter_ns
    samples: list[int] = []
    enabled = _quiet_gc()
    try:
        for _ in range(repeat):
            for item in inputs:
                start = clock()
                call(item)
                samples.append(clock() - start)
    finally:
        if enabled:
            gc.enable()
    return Timing.of(samples)


def time_batches(
    run_batch: Callable[[Sequence[Any]], object], batches: Sequence[Sequence[Any]], *, warmup: int, repeat: int = 1
) -> Timing:
    """Time ``run_batch(batch)`` for each batch, each sample divided by the batch's length.

    For operations too short to time one by one; the per-operation figure is the batch
    time over its size.
    """
    for index in range(warmup):
        run_batch(batches[index % len(batches)])
    clock = time.perf_counter_ns
    samples: list[float] = []
    enabled = _quiet_gc()
    try:
        for _ in range(repeat):
            for batch in batches:
                start = clock()
                run_batch(batch)
                samples.append((clock() - start) / len(batch))
    finally:
        if enabled:
            gc.enable()
    return Timing.of(samples)


def time_rate(step: Callable[[], int | None], *, seconds: float, max_steps: int) -> tuple[int, float]:
    """Run *step* (returning how many items it handled, None when there are no more)
    until *seconds* or *max_steps* pass.

    :returns: (items handled, items per second).
    """
    clock = time.perf_counter_ns
    items = 0
    start = clock()
    deadline = start + int(seconds * 1e9)
    for _ in range(max_steps):
        handled = step()
        if handled is None:
            break
        items += handled
        if clock() >= deadline:
            break
    elapsed = (clock() - start) / 1e9
    return items, (items / elapsed if elapsed > 0 else 0.0)


def profile(call: Callable[[], object], seconds: float, path: Path) -> None:
    """Run *call* under pyinstrument for about *seconds*; save the session to *path* (``.pyisession``,
    which the report reads through pyinstrument's API) and its text report beside it (``.txt``, for readers).
    """
    from pyinstrument import Profiler  # noqa: PLC0415 -- only for profiling runs

    path.parent.mkdir(parents=True, exist_ok=True)
    profiler = Profiler(interval=0.0002)
    deadline = time.perf_counter() + seconds
    profiler.start()
    while time.perf_counter() < deadline:
        call()
    profiler.stop()
    session = profiler.last_session
    if session is None:
        return
    session.save(path.with_suffix(".pyisession"))
    path.with_suffix(".txt").write_text(profiler.output_text(unicode=True, color=False), encoding="utf-8")
