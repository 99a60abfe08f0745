"""Area rules and identity numbers whose birth date was never established (DESIGN.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from careaccess import AreaRule, Residence, connect
from careaccess.area import rule_matches
from careaccess.identity import Gender, PersonalIdentityNumber
from careaccess.models import Actor, CaseType, Clinic, ServiceArea
from careaccess.testing.clock import FrozenClock

TODAY = dt.date(2025, 6, 15)
HOME = Residence(region="01", municipality="0180")
UNKNOWN_MONTH = PersonalIdentityNumber.parse("19150088-2392", today=TODAY)  # Skatteverket's test number
UNKNOWN_DAY = PersonalIdentityNumber.parse("19171160-2399", today=TODAY)


@pytest.mark.parametrize("pnr", [UNKNOWN_MONTH, UNKNOWN_DAY])
@pytest.mark.parametrize(
    ("rule", "matches"),
    [
        (AreaRule(region="01"), True),
        (AreaRule(region=None, gender=Gender.MALE), True),
        (AreaRule(region="01", gender=Gender.FEMALE), False),
        (AreaRule(region="01", min_age=0), False),
        (AreaRule(region="01", max_age=150), False),
        (AreaRule(region="01", min_age=18, max_age=120), False),
    ],
)
def test_an_age_bounded_rule_never_matches_an_unknown_birth_date(
    pnr: PersonalIdentityNumber, rule: AreaRule, matches: bool
) -> None:
    assert pnr.birth_date is None
    assert rule_matches(rule, HOME, pnr, TODAY) is matches


def test_such_a_resident_can_be_approved_granted_and_decided() -> None:
    at = dt.datetime(2025, 6, 15, 10, tzinfo=dt.UTC)
    access = connect("memory://", clock=FrozenClock(at))
    admin = Actor("admin", frozenset({"c"}))
    area = ServiceArea((AreaRule(region="01", min_age=18), AreaRule(region="03")))
    access.put_clinic(admin, Clinic("c", "Mottagningen", service_area=area))
    access.put_case_type(admin, CaseType("c", "open", "Öppen"))
    access.put_case_type(admin, CaseType("c", "closed", "Begränsad", restricted=True))
    text = "150088+2392"
    assert not access.decide(text, "c", "open", residence=HOME)  # only the age-bounded rule covers 01
    assert access.decide(text, "c", "open", residence=Residence(region="03"))
    access.approve_resident(admin, "c", text)
    assert access.decide(text, "c", "open", residence=HOME).reason == "approved"
    access.grant_case_type(admin, "c", text, "closed", until=None)
    assert access.decide(UNKNOWN_MONTH, "c", "closed").reason == "granted"
