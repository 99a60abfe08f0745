"""One clock: every date the service judges is the local date of the moment judged."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careaccess import Actor, AreaRule, CaseType, Clinic, InvalidRequest, Reason, Residence, ServiceArea, connect
from careaccess.clock import LocalDates, aware, local_date, zone
from careaccess.testing.clock import FrozenClock

ADMIN = Actor("admin", frozenset({"c1"}))
ZONES = ["Europe/Stockholm", "Pacific/Kiritimati", "America/St_Johns", "Asia/Kathmandu", "UTC", "Africa/Monrovia"]


@given(
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.timezones()),
    st.sampled_from(ZONES),
)
def test_local_dates_agree_with_a_plain_conversion(at: dt.datetime, name: str) -> None:
    dates = LocalDates(ZoneInfo(name))
    expected = at.astimezone(ZoneInfo(name)).date()
    assert dates.of(at) == expected
    assert dates.of(at) == expected  # from the memo
    # Another second of the same minute: the memo answers only when that is right.
    other = at.replace(second=(at.second + 30) % 60)
    assert dates.of(other) == other.astimezone(ZoneInfo(name)).date()


def test_local_mean_time_minutes_are_not_remembered() -> None:
    # Monrovia kept -0:44:30 until 1972: a UTC minute can span two local dates there.
    dates = LocalDates(ZoneInfo("Africa/Monrovia"))
    before = dt.datetime(1950, 1, 1, 0, 44, 29, tzinfo=dt.UTC)
    after = before.replace(second=31)
    assert dates.of(before) == dt.date(1949, 12, 31)
    assert dates.of(after) == dt.date(1950, 1, 1)


def test_the_ends_of_time_never_overflow() -> None:
    stockholm = ZoneInfo("Europe/Stockholm")
    assert local_date(dt.datetime(9999, 12, 31, 23, 30, tzinfo=dt.UTC), stockholm) == dt.date.max
    assert local_date(dt.datetime(1, 1, 1, 0, 30, tzinfo=dt.UTC), ZoneInfo("America/New_York")) == dt.date.min
    access = connect(clock=FrozenClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    access.put_clinic(ADMIN, Clinic("c1", "C"))
    access.put_case_type(ADMIN, CaseType("c1", "kbt", "KBT", restricted=True))
    access.grant_case_type(ADMIN, "c1", "19121212-1212", "kbt", dt.date(2026, 6, 1))
    late = dt.datetime(9999, 12, 31, 23, 30, tzinfo=dt.UTC)
    assert access.decide("19121212-1212", "c1", "kbt", at=late).reason is Reason.GRANT_EXPIRED
    assert access.decide_many([("19121212-1212", "c1", "kbt")], at=late)[0].reason is Reason.GRANT_EXPIRED


def test_naive_and_unknown_inputs() -> None:
    with pytest.raises(InvalidRequest) as naive:
        aware(dt.datetime(2026, 1, 1), "at")
    assert naive.value.code == "naive_datetime"
    with pytest.raises(InvalidRequest) as unknown:
        zone("Mars/Olympus_Mons")
    assert unknown.value.code == "unknown_timezone"


@pytest.fixture(params=["UTC", "Pacific/Kiritimati", "America/Los_Angeles"])
def host_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """The process's own time zone, which must make no difference."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    yield request.param
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


def test_a_clock_in_2021_parses_ten_digit_numbers_against_2021(host_zone: str) -> None:
    clock = FrozenClock(dt.datetime(2021, 1, 1, 12, tzinfo=dt.UTC))
    access = connect(clock=clock)
    area = ServiceArea((AreaRule(region="01", min_age=65),))
    access.put_clinic(ADMIN, Clinic("c1", "C", area))
    access.put_case_type(ADMIN, CaseType("c1", "open", "Fråga"))
    # 220505: in 2021 that is 1922 (aged 98), not 2022 (not yet born).
    decision = access.decide("220505-0012", "c1", "open", residence=Residence("01", "0180"))
    assert decision.pnr.birth_date == dt.date(1922, 5, 5)
    assert decision.reason is Reason.SERVICE_AREA
    approval = access.approve_resident(ADMIN, "c1", "220505-0012", name="Greta")
    assert approval.pnr.birth_date == dt.date(1922, 5, 5)
    (many,) = access.decide_many([("220505-0012", "c1", "open")])
    assert many.pnr == decision.pnr


def test_the_moment_judged_decides_the_century_at_local_midnight(host_zone: str) -> None:
    # 00:30 in Stockholm on 15 June 2026 is 22:30 UTC on the 14th.
    moment = dt.datetime(2026, 6, 14, 22, 30, tzinfo=dt.UTC)
    access = connect(clock=FrozenClock(moment))
    access.put_clinic(ADMIN, Clinic("c1", "C"))
    newborn = "260615-0023"
    assert access.approve_resident(ADMIN, "c1", newborn).pnr.birth_date == dt.date(2026, 6, 15)
    assert access.decide(newborn, "c1", "x", at=moment).pnr.birth_date == dt.date(2026, 6, 15)
    assert access.decide("20260615-0023", "c1", "x", at=moment).reason is Reason.UNKNOWN_CASE_TYPE
    assert access.lookup_resident(newborn) is None
