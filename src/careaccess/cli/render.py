"""How the command prints records for people: bilingual lines, dates in the store's zone.

Every fixed text comes from :mod:`careaccess.texts`. Identity numbers are printed in
full where the manual shows them to the administrator (a resident's page, the resident
list, a decision) and masked in the event log (see :func:`event_line`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from careaccess import regions
from careaccess.models import (
    Action,
    AreaRule,
    CaseType,
    Clinic,
    Decision,
    Event,
    Grant,
    Residence,
    Resident,
    ResidentAccess,
)
from careaccess.texts import CONFIRMATIONS, REASONS

NO_RESIDENTS = "No residents are approved or hold a grant. / Inga invånare är godkända eller har en utdelad ärendetyp."


def confirmation(action: Action) -> str:
    """The confirmation after *action*: English / the manual's Swedish."""
    return str(CONFIRMATIONS[action])


def until(end: dt.date | None) -> str:
    if end is None:
        return "until further notice / tills vidare"
    return f"through {end.isoformat()} / till och med {end.isoformat()}"


def area(region: str | None, municipality: str | None) -> str:
    if region is None:
        return "the whole country / hela landet"
    county = regions.county(region)
    text = f"region {region}" + (f" ({county.name})" if county is not None else "")
    if municipality is not None:
        found = regions.municipality(municipality)
        text += f", municipality {municipality}" + (f" ({found.name})" if found is not None else "")
    return text


def rule_text(rule: AreaRule) -> str:
    parts = [area(rule.region, rule.municipality)]
    if rule.gender is not None:
        parts.append(rule.gender.value)
    if rule.min_age is not None or rule.max_age is not None:
        low = "" if rule.min_age is None else str(rule.min_age)
        high = "" if rule.max_age is None else str(rule.max_age)
        parts.append(f"age {low}-{high}")
    return ", ".join(parts)


def residence_text(residence: Residence | None) -> str:
    if residence is None:
        return "unknown / okänd"
    return area(residence.region, residence.municipality)


def clinic_lines(clinic: Clinic, case_types: Sequence[CaseType]) -> list[str]:
    lines = [f"Clinic / Mottagning: {clinic.name} ({clinic.id})"]
    if clinic.service_area.rules:
        lines.append("Service area / Betjäningsområde:")
        lines.extend(f"  - {rule_text(rule)}" for rule in clinic.service_area.rules)
    else:
        lines.append("Service area / Betjäningsområde: none; residents must be approved one by one / inget")
    lines.append("Case types / Ärendetyper:" if case_types else "Case types / Ärendetyper: none / inga")
    lines.extend(f"  - {case_type_line(case_type)}" for case_type in case_types)
    return lines


def case_type_line(case_type: CaseType) -> str:
    kind = "restricted / begränsat urval" if case_type.restricted else "open / öppen"
    return f"{case_type.id}: {case_type.name} ({kind})"


def resident_lines(resident: Resident) -> list[str]:
    """Name and identity number, as the manual shows them before approving or granting."""
    return [
        f"Name / Namn: {resident.name or '-'}",
        f"Identity number / Personnummer: {resident.pnr}",
        f"Registered in / Folkbokförd i: {residence_text(resident.residence)}",
    ]


def grant_line(grant: Grant, today: dt.date) -> str:
    expired = "" if grant.is_valid_on(today) else " [expired / har gått ut]"
    return f"{grant.case_type_id}: {until(grant.until)}, version {grant.version}{expired}"


def access_lines(access: ResidentAccess, today: dt.date, zone: ZoneInfo) -> list[str]:
    lines = [
        f"Name / Namn: {access.name or '-'}",
        f"Identity number / Personnummer: {access.pnr}",
    ]
    if access.approval is not None:
        approval = access.approval
        lines.append(
            f"Approved for communication / Godkänd för kommunikation: "
            f"{moment(approval.approved_at, zone)} by {approval.approved_by}"
        )
    else:
        lines.append("Approved for communication / Godkänd för kommunikation: no / nej")
    lines.append("Granted case types / Utdelade ärendetyper:" if access.grants else "Granted case types: none / inga")
    lines.extend(f"  - {grant_line(grant, today)}" for grant in access.grants)
    return lines


def listed_line(access: ResidentAccess, today: dt.date) -> str:
    parts = ["approved / godkänd"] if access.approval is not None else []
    parts.extend(grant_line(grant, today) for grant in access.grants)
    return f"{access.pnr}  {access.name or '-'}  " + "; ".join(parts)


def decision_lines(decision: Decision, zone: ZoneInfo) -> list[str]:
    verdict = "ALLOWED / TILLÅTET" if decision.allowed else "DENIED / NEKAT"
    lines = [
        f"{verdict}  reason: {decision.reason.value}",
        f"  {REASONS[decision.reason]}",
        f"  at {moment(decision.at, zone)}; resident {decision.pnr}, "
        f"clinic {decision.clinic_id}, case type {decision.case_type_id}",
    ]
    if decision.grant is not None:
        lines.append(f"  grant: {until(decision.grant.until)} (version {decision.grant.version})")
    if decision.approval is not None:
        lines.append(f"  approved {moment(decision.approval.approved_at, zone)} by {decision.approval.approved_by}")
    if decision.rule is not None:
        lines.append(f"  service-area rule: {rule_text(decision.rule)}")
    return lines


def moment(at: dt.datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local.isoformat(sep=' ')} {local.tzname()}"


def event_line(event: Event, zone: ZoneInfo, *, full_numbers: bool = False) -> str:
    """One event of the log; the identity number masked unless *full_numbers*.

    The event log is a log: its lines are pasted into tickets and kept in files, so
    identity numbers are masked in it, in text and in ``--json`` alike.
    """
    parts = [
        event.id,
        event.at.astimezone(zone).isoformat(),
        event.actor_id,
        event.action.value,
        f"clinic={event.clinic_id}",
    ]
    if event.pnr is not None:
        parts.append(f"resident={event.pnr if full_numbers else event.pnr.masked()}")
    if event.case_type_id is not None:
        parts.append(f"case_type={event.case_type_id}")
    return "  ".join(parts)
