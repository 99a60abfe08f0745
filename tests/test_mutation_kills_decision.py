"""Which local date ``decide`` judges by, and what a dated grant's decision carries.

Gaps that mutation testing (``nox -s mutation``, docs/testing.md) showed in
``careaccess.decision``: no test told the zone, the caller's ``day`` or its
``local_date`` memo apart from another way of finding the date, and no test read the
inputs back from a decision granted by a grant with an end date.

The moment used is 22:30 UTC on 10 June 2026, which is already 11 June in Stockholm.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from careaccess import AreaRule, CaseType, Clinic, Grant, Reason, Residence, ServiceArea
from careaccess.decision import decide
from careaccess.identity import PersonalIdentityNumber
from careaccess.store import DecisionFacts
from careaccess.testing.conformance import make_pnr

ZONE = ZoneInfo("Europe/Stockholm")
AT = dt.datetime(2026, 6, 10, 22, 30, tzinfo=dt.UTC)  # 00:30 on 11 June in Stockholm
UTC_DAY = dt.date(2026, 6, 10)
PERSON = make_pnr("19800314", 242)
#: 18 on 11 June 2026, 17 the day before.
TEENAGER = make_pnr("20080611", 242)
KBT = CaseType("c1", "kbt", "KBT", restricted=True)


def nobody(_: PersonalIdentityNumber) -> Residence | None:
    return None


def granted_until(until: dt.date) -> DecisionFacts:
    grant = Grant("c1", PERSON, "kbt", until, 1, AT, "admin", AT, "Åsa")
    return DecisionFacts(Clinic("c1", "Vårdcentralen"), KBT, None, grant)


def test_a_grant_ends_by_the_local_date_in_the_zone_given() -> None:
    """The grant ended on 10 June: in Stockholm the moment is 11 June, so it has expired."""
    decision = decide(granted_until(UTC_DAY), PERSON, "c1", "kbt", AT, ZONE, None, nobody)
    assert decision.reason is Reason.GRANT_EXPIRED
    later = decide(granted_until(dt.date(2026, 6, 11)), PERSON, "c1", "kbt", AT, ZONE, None, nobody)
    assert later.reason is Reason.GRANTED


def test_the_callers_day_is_the_day_judged() -> None:
    decision = decide(granted_until(UTC_DAY), PERSON, "c1", "kbt", AT, ZONE, None, nobody, day=UTC_DAY)
    assert decision.reason is Reason.GRANTED


def test_the_callers_local_date_is_asked_when_no_day_is_given() -> None:
    asked: list[dt.datetime] = []

    def local_date(at: dt.datetime) -> dt.date:
        asked.append(at)
        return UTC_DAY

    decision = decide(granted_until(UTC_DAY), PERSON, "c1", "kbt", AT, ZONE, None, nobody, local_date=local_date)
    assert decision.reason is Reason.GRANTED
    assert asked == [AT]


def test_a_dated_grant_decision_carries_its_inputs() -> None:
    facts = granted_until(dt.date(2026, 12, 31))
    decision = decide(facts, PERSON, "c1", "kbt", AT, ZONE, None, nobody)
    assert decision.allowed
    assert decision.reason is Reason.GRANTED
    assert (decision.pnr, decision.clinic_id, decision.case_type_id, decision.at) == (PERSON, "c1", "kbt", AT)
    assert decision.grant == facts.grant


def adults_only() -> DecisionFacts:
    clinic = Clinic("c1", "Vårdcentralen", ServiceArea((AreaRule(min_age=18),)))
    return DecisionFacts(clinic, CaseType("c1", "open", "Fråga"), None, None)


def test_an_age_bound_is_judged_on_the_local_date_in_the_zone_given() -> None:
    """18 years old from 11 June 2026, the local date of the moment in Stockholm."""
    home = Residence("01")
    decision = decide(adults_only(), TEENAGER, "c1", "open", AT, ZONE, home, nobody)
    assert decision.reason is Reason.SERVICE_AREA


def test_an_age_bound_uses_the_callers_day_or_local_date() -> None:
    home = Residence("01")
    by_day = decide(adults_only(), TEENAGER, "c1", "open", AT, ZONE, home, nobody, day=UTC_DAY)
    assert by_day.reason is Reason.NOT_APPROVED
    by_memo = decide(adults_only(), TEENAGER, "c1", "open", AT, ZONE, home, nobody, local_date=lambda _: UTC_DAY)
    assert by_memo.reason is Reason.NOT_APPROVED
