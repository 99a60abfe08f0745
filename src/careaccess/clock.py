"""Time: the one clock and the one time zone every date judgement uses.

DESIGN.md, "Today": a date is always the local date, in the configured zone, of the
moment being judged — the service's clock for a change, ``at`` for a decision. Never
the host's date or zone.

.. versionadded:: 0.1
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from careaccess.errors import InvalidRequest

__all__ = ["Clock", "LocalDates", "aware", "local_date", "utc_now", "zone"]

#: A zero-argument callable returning the current time, timezone-aware.
Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    """The default clock: now, in UTC."""
    return dt.datetime.now(dt.UTC)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone *name*.

    :raises InvalidRequest: ``unknown_timezone``.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as error:
        raise InvalidRequest(
            "unknown_timezone",
            f"Unknown time zone {name!r}.",
            f"Okänd tidszon {name!r}.",
        ) from error


def aware(at: object, name: str) -> dt.datetime:
    """*at* if it is a timezone-aware datetime.

    :param name: what the caller calls it, for the message (``"at"``, ``"clock"``).
    :raises InvalidRequest: ``naive_datetime``.
    """
    if not isinstance(at, dt.datetime) or at.utcoffset() is None:
        raise InvalidRequest(
            "naive_datetime",
            f"{name} must be a timezone-aware datetime.",
            f"{name} måste vara en tidpunkt med tidszon.",
        )
    return at


def local_date(at: dt.datetime, zone: ZoneInfo) -> dt.date:
    """The date of the aware moment *at* in *zone*.

    A moment whose local date lies past ``date.max`` (the last hours of
    year 9999 east of UTC) gives ``date.max``, one before ``date.min`` gives
    ``date.min``: never ``OverflowError``.
    """
    try:
        return at.astimezone(zone).date()
    except OverflowError:
        return dt.date.max if at.year > 1 else dt.date.min


class LocalDates:
    """The local date of aware moments in one zone, remembered for the last minute asked.

    A decision needs the local date of its moment (for a grant's end, an age, the
    century of a 10-digit number). Converting costs more than the rest of a cheap
    decision; consecutive decisions mostly fall in the same minute, so the date of the
    last minute (as written in the moment's own zone) is kept. A minute is remembered
    only when its first and last microsecond fall on the same local date, so offsets
    with seconds (local mean time before 1900) and transitions inside a minute are
    converted every time. Safe under threads: the memo is one tuple, replaced whole.

    Out-of-range local dates are clamped as :func:`local_date` does.
    """

    __slots__ = ("_memo", "zone")

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._memo: tuple[object, dt.date] = ((), dt.date.min)

    def of(self, at: dt.datetime) -> dt.date:
        """The local date of the aware moment *at* in :attr:`zone`."""
        key = (at.minute, at.hour, at.day, at.month, at.year, at.tzinfo, at.fold)
        memo = self._memo
        if memo[0] == key:
            return memo[1]
        day = self._convert(at)
        first = at.replace(second=0, microsecond=0)
        if self._convert(first) == day == self._convert(first.replace(second=59, microsecond=999999)):
            self._memo = (key, day)
        return day

    def _convert(self, at: dt.datetime) -> dt.date:
        return local_date(at, self.zone)
