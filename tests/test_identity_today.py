"""Every date judgement of an identity number uses the ``today`` it is given, never the host's.

DESIGN.md, "Today": the century of a 10-digit number, the '+' rule and a birth date in the
future are judged against the local date, in the configured zone, of the moment being
judged. The caller (the service) passes that date; these tests run the process in zones
far from Stockholm and make the host's clock unreadable, around midnight, New Year and
the daylight saving time changes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
import types
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careaccess import identity
from careaccess.errors import InvalidIdentityNumber
from careaccess.identity import PersonalIdentityNumber, luhn_check_digit
from careaccess.testing.strategies import identity_numbers, renderings

STOCKHOLM = ZoneInfo("Europe/Stockholm")
PROCESS_ZONES = ["UTC", "Pacific/Kiritimati", "America/Los_Angeles"]


def pnr(body: str) -> str:
    """Complete the nine digits before the check digit (separator kept) with the right check digit."""
    digits = body.replace("-", "").replace("+", "")
    return body + str(luhn_check_digit(digits[-9:]))


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def stockholm_date(moment: dt.datetime) -> dt.date:
    """What the service passes: the local date of the moment, in the configured zone."""
    return moment.astimezone(STOCKHOLM).date()


@contextlib.contextmanager
def local_zone(zone: str) -> Iterator[None]:
    """The process's local time zone set to *zone* (TZ and time.tzset) for the block."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


@pytest.fixture(params=PROCESS_ZONES)
def process_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """The process's local time zone set to *zone* (TZ and time.tzset), restored afterwards."""
    zone: str = request.param
    with local_zone(zone):
        yield zone


class _NoHostToday(dt.date):
    @classmethod
    def today(cls) -> _NoHostToday:
        raise AssertionError("the host's local date was read")


@pytest.fixture
def host_clock_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any read of the host's date from identity.py fails the test."""

    def refuse() -> dt.date:
        raise AssertionError("the host's local date was read")

    monkeypatch.setattr(identity, "_host_today", refuse)
    monkeypatch.setattr(identity, "dt", types.SimpleNamespace(date=_NoHostToday, timedelta=dt.timedelta))


# (moment judged, text, birth date read, or the error code)
CASES = [
    # 00:30 in Stockholm on 15 June 2026 is still 14 June in UTC and in Los Angeles.
    (utc("2026-06-14T22:30"), pnr("260615-002"), dt.date(2026, 6, 15)),
    (utc("2026-06-14T22:30"), pnr("20260615-002"), dt.date(2026, 6, 15)),
    (utc("2026-06-14T22:30"), pnr("20260615002"), dt.date(2026, 6, 15)),
    (utc("2026-06-14T21:30"), pnr("260615-002"), dt.date(1926, 6, 15)),  # 23:30 on the 14th
    (utc("2026-06-14T21:30"), pnr("20260615-002"), "pnr_future_birth_date"),
    # 00:30 on 16 June in Kiritimati is 12:30 on 15 June in Stockholm.
    (utc("2026-06-15T10:30"), pnr("260616-002"), dt.date(1926, 6, 16)),
    (utc("2026-06-15T10:30"), pnr("20260616002"), "pnr_future_birth_date"),
    # New Year: 00:30 on 1 January 2027 in Stockholm, still 2026 in UTC.
    (utc("2026-12-31T23:30"), pnr("270101-002"), dt.date(2027, 1, 1)),
    (utc("2026-12-31T23:30"), pnr("270101+002"), dt.date(1927, 1, 1)),  # turns 100 in 2027
    (utc("2026-12-31T23:30"), pnr("271231+002"), dt.date(1927, 12, 31)),
    (utc("2026-12-31T23:30"), pnr("19271231+002"), dt.date(1927, 12, 31)),
    (utc("2026-12-31T22:30"), pnr("270101+002"), dt.date(1827, 1, 1)),  # 23:30 on New Year's Eve
    (utc("2026-12-31T22:30"), pnr("19271231+002"), "pnr_format"),
    (utc("2026-12-31T22:30"), pnr("270101-002"), dt.date(1927, 1, 1)),
    # Unknown birth month in the year that has just begun.
    (utc("2026-12-31T23:30"), pnr("270060-002"), None),
    (utc("2026-12-31T23:30"), pnr("20270060-002"), None),
    (utc("2026-12-31T22:30"), pnr("20270060-002"), "pnr_future_birth_date"),
    # Daylight saving time starts at 02:00 CET on 29 March 2026 and ends at 03:00 CEST on 25 October.
    (utc("2026-03-28T23:30"), pnr("260329-002"), dt.date(2026, 3, 29)),
    (utc("2026-03-28T22:59"), pnr("260329-002"), dt.date(1926, 3, 29)),
    (utc("2026-03-29T01:30"), pnr("20260329-002"), dt.date(2026, 3, 29)),
    (utc("2026-10-24T22:30"), pnr("261025-002"), dt.date(2026, 10, 25)),  # 00:30 CEST
    (utc("2026-10-24T21:59"), pnr("20261025-002"), "pnr_future_birth_date"),
    (utc("2026-10-25T22:59"), pnr("20261026-002"), "pnr_future_birth_date"),  # 23:59 CET
    (utc("2026-10-25T23:00"), pnr("20261026-002"), dt.date(2026, 10, 26)),
]


@pytest.mark.usefixtures("host_clock_unreadable")
@pytest.mark.parametrize(("moment", "text", "expected"), CASES)
def test_judged_against_the_local_date_of_the_moment_in_every_process_zone(
    process_zone: str, moment: dt.datetime, text: str, expected: dt.date | str | None
) -> None:
    today = stockholm_date(moment)
    if isinstance(expected, str):
        with pytest.raises(InvalidIdentityNumber) as caught:
            PersonalIdentityNumber.parse(text, today=today)
        assert caught.value.code == expected
        return
    p = PersonalIdentityNumber.parse(text, today=today)
    assert p.birth_date == expected
    assert PersonalIdentityNumber.parse(p.short(today=today), today=today) == p
    assert PersonalIdentityNumber.parse(p.digits, today=today) == p
    if expected is not None:
        assert p.age(on=today) == (today.year - expected.year) - (
            (today.month, today.day) < (expected.month, expected.day)
        )


@pytest.mark.usefixtures("host_clock_unreadable")
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from(PROCESS_ZONES),
    st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2150, 12, 31), timezones=st.just(dt.UTC)),
    st.data(),
)
def test_parse_never_reads_the_host_clock_when_given_today(zone: str, moment: dt.datetime, data: st.DataObject) -> None:
    today = stockholm_date(moment)
    lowest = max(dt.date(1800, 1, 1), dt.date(today.year - 199, 1, 1))
    number = data.draw(identity_numbers(min_birth_date=lowest, max_birth_date=today))
    text = data.draw(renderings(number, today=today))
    with local_zone(zone):
        assert PersonalIdentityNumber.parse(text, today=today) == number
        assert PersonalIdentityNumber.parse(number.short(today=today), today=today) == number
        age = number.age(on=today)
        assert age is None or age >= 0


def test_the_default_today_is_the_host_date_in_the_process_zone(process_zone: str) -> None:
    """The documented default for standalone callers: the host's local date, read on every call."""
    zone = ZoneInfo(process_zone)
    before = dt.datetime.now(zone).date()
    host = identity._host_today()
    after = dt.datetime.now(zone).date()
    assert host in (before, after)
    for days in (-1, 0):
        born = host + dt.timedelta(days=days)
        text = pnr(f"{born:%y%m%d}-002")
        assert PersonalIdentityNumber.parse(text) == PersonalIdentityNumber.parse(text, today=host)
        assert PersonalIdentityNumber.parse(pnr(f"{born:%Y%m%d}002")).birth_date == born
    tomorrow = host + dt.timedelta(days=1)
    if dt.datetime.now(zone).date() == host:  # not across midnight while the test ran
        with pytest.raises(InvalidIdentityNumber) as caught:
            PersonalIdentityNumber.parse(pnr(f"{tomorrow:%Y%m%d}002"))
        assert caught.value.code == "pnr_future_birth_date"
