"""Where a call's time goes, read from pyinstrument's profiles: saved sessions through
pyinstrument's API, or (for profiles saved without a session) its text report."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = ["profile_summary", "session_summary", "summary"]

_FRAME = re.compile(r"^(?P<indent>[\s│├└─]*)(?P<seconds>\d+\.\d+)\s+(?P<name>\S+)\s+(?P<where>.*)$")


def _children(lines: list[re.Match[str]], at: int) -> list[int]:
    """Indexes of the direct callees of frame *at* (frames under a hidden group included)."""
    depth = len(lines[at].group("indent"))
    below: list[int] = []
    for n in range(at + 1, len(lines)):
        if len(lines[n].group("indent")) <= depth:
            break
        below.append(n)
    if not below:
        return []
    level = min(len(lines[n].group("indent")) for n in below)
    return [n for n in below if len(lines[n].group("indent")) == level]


def _label(match: re.Match[str], caller: str) -> str:
    return f"{caller} itself" if match.group("name") == "[self]" else match.group("name")


def profile_summary(text: str, function: str) -> tuple[list[tuple[str, float]], list[str]]:
    """Where *function*'s time goes in a pyinstrument text profile.

    :returns: its direct callees with their share of its time, and its hot path: the
        chain of callees that each take at least 70 % of their caller's time, with their
        share of *function*'s.
    """
    lines = [m for m in (_FRAME.match(line) for line in text.splitlines()) if m]
    start = next((n for n, m in enumerate(lines) if m.group("name") == function), None)
    if start is None:
        return [], []
    total = float(lines[start].group("seconds"))

    def seconds(n: int) -> float:
        return float(lines[n].group("seconds"))

    shares = sorted(
        ((_label(lines[n], function), seconds(n) / total) for n in _children(lines, start)), key=lambda x: -x[1]
    )
    chain: list[str] = []
    node = start
    while True:
        heaviest = max(_children(lines, node), key=seconds, default=None)
        if heaviest is None or lines[heaviest].group("name") == "[self]" or seconds(heaviest) < 0.7 * seconds(node):
            break
        node = heaviest
        chain.append(f"{lines[node].group('name')} {seconds(node) / total:.0%}")
    return shares, chain


def _label_of(frame: Any) -> str:
    return f"{frame.class_name}.{frame.function}" if frame.class_name else frame.function


def session_summary(path: Path, function: str) -> tuple[list[tuple[str, float]], list[str]]:
    """Where *function*'s time goes in a saved pyinstrument session, read through pyinstrument's API.

    :returns: as :func:`profile_summary`: its direct callees with their share of its time, and
        its hot path (callees that each take at least 70 % of their caller's time).
    """
    from pyinstrument.renderers import ConsoleRenderer  # noqa: PLC0415 -- only where profiles were taken
    from pyinstrument.session import Session  # noqa: PLC0415

    # The frame tree as pyinstrument's own report shows it: one frame per function, its time
    # outside callees as a [self] leaf.
    frames = [ConsoleRenderer().preprocess(Session.load(path).root_frame())]
    found = None
    while frames and found is None:
        frame = frames.pop()
        if frame is None:
            continue
        if _label_of(frame) == function:
            found = frame
        frames.extend(frame.children)
    if found is None or not found.time:
        return [], []
    total = found.time

    def label(child: Any) -> str:
        return f"{function} itself" if child.is_synthetic_leaf else _label_of(child)

    summed: dict[str, float] = {}
    for child in found.children:  # one entry per function (pyinstrument keeps a frame per calling line)
        summed[label(child)] = summed.get(label(child), 0.0) + child.time / total
    shares = sorted(summed.items(), key=lambda x: -x[1])
    chain: list[str] = []
    node = found
    while node.children:
        heaviest = max(node.children, key=lambda c: c.time)
        if heaviest.is_synthetic_leaf or heaviest.time < 0.7 * node.time:
            break
        node = heaviest
        chain.append(f"{_label_of(node)} {node.time / total:.0%}")
    return shares, chain


def summary(path: Path, function: str) -> tuple[list[tuple[str, float]], list[str]]:
    """From the saved session where there is one (pyinstrument's API), else from the text report."""
    session = path.with_suffix(".pyisession")
    if session.exists():
        return session_summary(session, function)
    return profile_summary(path.read_text(encoding="utf-8"), function)
