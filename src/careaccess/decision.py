"""The access decision: DESIGN.md's table as one pure function.

Rows are checked in the table's order and the first that matches wins. Nothing here
reads storage or the clock: the caller passes the facts, the moment and the time zone
its dates are judged in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from careaccess import clock
from careaccess.area import matching_rule
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Decision, Reason, Residence
from careaccess.store import DecisionFacts

__all__ = ["decide"]


def _day(
    at: dt.datetime, zone: ZoneInfo, day: dt.date | None, local_date: Callable[[dt.datetime], dt.date] | None
) -> dt.date:
    if day is not None:
        return day
    return local_date(at) if local_date is not None else clock.local_date(at, zone)


def decide(
    facts: DecisionFacts,
    pnr: PersonalIdentityNumber,
    clinic_id: str,
    case_type_id: str,
    at: dt.datetime,
    zone: ZoneInfo,
    residence: Residence | None,
    residence_of: Callable[[PersonalIdentityNumber], Residence | None],
    day: dt.date | None = None,
    local_date: Callable[[dt.datetime], dt.date] | None = None,
) -> Decision:
    """Decide from stored *facts* at the aware moment *at*, judging dates in *zone*.

    :param day: *at*'s local date in *zone*, if the caller has it already; otherwise it
        is computed only when a row needs it (a grant's end date, an age bound), with
        *local_date* if given (a memo of the caller's), else :func:`careaccess.clock.local_date`.
    :param residence: the resident's residence if the caller knows it.
    :param residence_of: asked for the residence only when *residence* is None and a
        service area could decide, so a directory lookup is made only where it matters;
        it returns None when the residence is unknown.
    """
    # Decisions are built with positional arguments only: keywords cost a third more per call.
    clinic = facts.clinic
    if clinic is None:
        return Decision(False, Reason.UNKNOWN_CLINIC, pnr, clinic_id, case_type_id, at)
    case_type = facts.case_type
    if case_type is None:
        return Decision(False, Reason.UNKNOWN_CASE_TYPE, pnr, clinic_id, case_type_id, at)
    if case_type.restricted:
        grant = facts.grant
        if grant is None:
            return Decision(False, Reason.NOT_GRANTED, pnr, clinic_id, case_type_id, at)
        if grant.until is None:
            return Decision(True, Reason.GRANTED, pnr, clinic_id, case_type_id, at, None, grant)
        if grant.is_valid_on(_day(at, zone, day, local_date)):
            return Decision(True, Reason.GRANTED, pnr, clinic_id, case_type_id, at, None, grant)
        return Decision(False, Reason.GRANT_EXPIRED, pnr, clinic_id, case_type_id, at, None, grant)
    if facts.approval is not None:
        return Decision(True, Reason.APPROVED, pnr, clinic_id, case_type_id, at, facts.approval)
    if clinic.service_area.rules:
        if residence is None:
            residence = residence_of(pnr)
        if residence is not None:
            rule = matching_rule(clinic.service_area, residence, pnr, _day(at, zone, day, local_date))
            if rule is not None:
                return Decision(True, Reason.SERVICE_AREA, pnr, clinic_id, case_type_id, at, None, None, rule)
    return Decision(False, Reason.NOT_APPROVED, pnr, clinic_id, case_type_id, at)
