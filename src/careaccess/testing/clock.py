"""A clock for tests: frozen until you move it."""

from __future__ import annotations

import datetime as dt

__all__ = ["FrozenClock"]


class FrozenClock:
    """A zero-argument callable returning a fixed aware datetime, for ``connect(clock=...)``."""

    def __init__(self, now: dt.datetime) -> None:
        if now.utcoffset() is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, now: dt.datetime) -> None:
        """Jump to *now* (aware)."""
        if now.utcoffset() is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.now = now

    def advance(self, delta: dt.timedelta | None = None, /, **kwargs: float) -> dt.datetime:
        """Move forward by *delta* or by ``timedelta(**kwargs)``; returns the new time."""
        self.now += delta if delta is not None else dt.timedelta(**kwargs)
        return self.now

    def __repr__(self) -> str:
        return f"FrozenClock({self.now.isoformat()})"
