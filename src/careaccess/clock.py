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


_MINUTE = dt.timedelta(minutes=1)
_MICROSECOND = dt.timedelta(microseconds=1)
#: An interval no moment lies in: the first lookup always converts.
_NEVER = (dt.datetime.max.replace(tzinfo=dt.UTC), dt.datetime.min.replace(tzinfo=dt.UTC), dt.date.min)


class LocalDates:
    """The local date of aware moments in one zone, remembered for the last minute asked.

    A decision needs the local date of its moment (for a grant's end, an age, the
    century of a 10-digit number). Converting costs more than the rest of a cheap
    decision; consecutive decisions mostly fall in the same minute, so the date of the
    last UTC minute asked is kept, as an interval of absolute time: a moment in any
    zone is compared with it exactly (aware comparison), and one in UTC, as the default
    clock gives, by a comparison of its fields alone. A minute is remembered only when
    its first and last microsecond fall on the same local date, so a minute with a
    transition inside it is converted every time. Safe under threads: the memo is one
    tuple, replaced whole.

    Out-of-range local dates are clamped as :func:`local_date` does.
    """

    __slots__ = ("_memo", "zone")

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._memo: tuple[dt.datetime, dt.datetime, dt.date] = _NEVER

    def of(self, at: dt.datetime) -> dt.date:
        """The local date of the aware moment *at* in :attr:`zone`."""
        memo = self._memo
        if memo[0] <= at < memo[1]:
            return memo[2]
        day = local_date(at, self.zone)
        try:
            first = at.astimezone(dt.UTC).replace(second=0, microsecond=0)
            end = first + _MINUTE
        except OverflowError:  # the first or last minute there is: converted every time
            return day
        if local_date(first, self.zone) == day == local_date(end - _MICROSECOND, self.zone):
            self._memo = (first, end, day)
        return day
