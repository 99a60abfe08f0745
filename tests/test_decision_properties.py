"""``decide`` agrees with a plain, independent reading of DESIGN.md's table.

The reference below is written from the table alone — no imports from the core's
decision or area modules — and compared with the full service on generated facts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from careaccess import (
    Actor,
    AreaRule,
    CaseType,
    Clinic,
    Gender,
    Reason,
    Residence,
    ServiceArea,
    connect,
)
from careaccess.identity import PersonalIdentityNumber
from careaccess.memory import MemoryStore
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import make_pnr

STOCKHOLM = ZoneInfo("Europe/Stockholm")
ADMIN = Actor("admin", frozenset({"c"}))
# A few counties with two of their municipalities each, so rules and residences collide often.
AREAS = {"01": ("0180", "0114"), "03": ("0380", "0305"), "12": ("1280", "1281")}


@st.composite
def people(draw: st.DrawFn) -> PersonalIdentityNumber:
    born = draw(st.dates(dt.date(1930, 1, 1), dt.date(2018, 12, 31)))
    coordination = draw(st.booleans())
    day = born.day + 60 if coordination else born.day
    return make_pnr(f"{born:%Y%m}{day:02d}", draw(st.integers(1, 999)))


@st.composite
def residences(draw: st.DrawFn) -> Residence | None:
    region = draw(st.none() | st.sampled_from(sorted(AREAS)))
    if region is None:
        return None
    return Residence(region, draw(st.none() | st.sampled_from(AREAS[region])))


@st.composite
def rules(draw: st.DrawFn) -> AreaRule:
    region = draw(st.none() | st.sampled_from(sorted(AREAS)))
    municipality = None if region is None else draw(st.none() | st.sampled_from(AREAS[region]))
    low = draw(st.none() | st.integers(0, 90))
    high = draw(st.none() | st.integers(low or 0, 100))
    return AreaRule(region, municipality, draw(st.none() | st.sampled_from(Gender)), low, high)


moments = st.datetimes(
    dt.datetime(2020, 1, 1), dt.datetime(2030, 12, 31), timezones=st.sampled_from([dt.UTC, STOCKHOLM])
)


def reference(facts: dict[str, Any], pnr: PersonalIdentityNumber, at: dt.datetime) -> str:
    """DESIGN.md's decision table, read literally."""
    day = at.astimezone(STOCKHOLM).date()
    if not facts["clinic"]:
        return "unknown_clinic"
    if not facts["case_type"]:
        return "unknown_case_type"
    if facts["restricted"]:
        if not facts["granted"]:
            return "not_granted"
        until = facts["until"]
        return "granted" if until is None or day <= until else "grant_expired"
    if facts["approved"]:
        return "approved"
    residence = facts["residence"]
    if residence is not None:
        digits = pnr.digits
        born = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]) % 60)
        age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
        gender = "male" if int(digits[10]) % 2 else "female"
        for rule in facts["rules"]:
            if (
                rule.region in (None, residence.region)
                and rule.municipality in (None, residence.municipality)
                and (rule.gender is None or rule.gender.value == gender)
                and (rule.min_age is None or age >= rule.min_age)
                and (rule.max_age is None or age <= rule.max_age)
            ):
                return "service_area"
    return "not_approved"


facts_strategy = st.fixed_dictionaries(
    {
        "clinic": st.booleans(),
        "case_type": st.booleans(),
        "restricted": st.booleans(),
        "approved": st.booleans(),
        "granted": st.booleans(),
        "until": st.none() | st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)),
        "rules": st.lists(rules(), max_size=3),
        "residence": residences(),
    }
)


@given(facts=facts_strategy, pnr=people(), at=moments)
def test_decide_agrees_with_reference(facts: dict[str, Any], pnr: PersonalIdentityNumber, at: dt.datetime) -> None:
    clock = FrozenClock(dt.datetime(2019, 6, 1, tzinfo=dt.UTC))  # before every generated date
    access = connect(MemoryStore(), clock=clock)
    if facts["clinic"]:
        access.put_clinic(ADMIN, Clinic("c", "Mottagningen", ServiceArea(facts["rules"])))
        if facts["case_type"]:
            access.put_case_type(ADMIN, CaseType("c", "t", "Ärende", restricted=facts["restricted"]))
            # A grant needs a restricted case type: give it one of its own when "t" is open.
            granted_type = "t" if facts["restricted"] else "other"
            if not facts["restricted"]:
                access.put_case_type(ADMIN, CaseType("c", "other", "Annat", restricted=True))
            if facts["granted"]:
                access.grant_case_type(ADMIN, "c", pnr, granted_type, until=facts["until"])
        if facts["approved"]:
            access.approve_resident(ADMIN, "c", pnr)
    decision = access.decide(pnr, "c", "t", at=at, residence=facts["residence"])
    expected = reference(facts, pnr, at)
    assert decision.reason == expected
    assert bool(decision) == (expected in {"granted", "approved", "service_area"})
    assert decision.reason is Reason(expected)
    # The deciding fact is named, and only that one.
    assert (decision.grant is not None) == (expected in {"granted", "grant_expired"})
    assert (decision.approval is not None) == (expected == "approved")
    assert (decision.rule is not None) == (expected == "service_area")
    many = access.decide_many([(pnr, "c", "t")], at=at)
    if facts["residence"] is None:
        assert many == [decision]
