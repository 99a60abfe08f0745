"""Hypothesis strategies for whole scenarios: decision requests and consistent worlds."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from careaccess.identity import PersonalIdentityNumber
from careaccess.models import CaseType, Clinic, Residence, Resident
from careaccess.testing.strategies.identity import identity_numbers
from careaccess.testing.strategies.places import residences
from careaccess.testing.strategies.records import (
    _instants,
    _record_today,
    approvals,
    case_types,
    clinics,
    grants,
    identifiers,
    residents,
)
from careaccess.testing.world import WORLD_TIMEZONE, World

__all__ = ["DecisionRequest", "decision_requests", "worlds"]

# ---------------------------------------------------------------------------
# Decision requests
# ---------------------------------------------------------------------------


class DecisionRequest(NamedTuple):
    """The arguments of :meth:`careaccess.CareAccess.decide`, in order: ``access.decide(*request)``."""

    pnr: PersonalIdentityNumber
    clinic_id: str
    case_type_id: str
    at: dt.datetime
    residence: Residence | None


@st.composite
def decision_requests(
    draw: st.DrawFn,
    *,
    clinic_ids: st.SearchStrategy[str] | None = None,
    case_type_ids: st.SearchStrategy[str] | None = None,
    pnrs: st.SearchStrategy[PersonalIdentityNumber] | None = None,
    today: dt.date | None = None,
    days: int = 400,
    residence: bool | None = None,
) -> DecisionRequest:
    """Well-formed decision requests, for which ``decide`` never raises.

    :param clinic_ids, case_type_ids, pnrs: where the ids and numbers come from (default:
        any); pass ``st.sampled_from`` of a world's ids to ask about stored facts.
    :param today, days: ``at`` lies within *days* days of *today* (default: the local
        date), in UTC or Europe/Stockholm.
    :param residence: True to always pass a residence, False never (the directory is
        asked), None sometimes.
    """
    if days < 0:
        raise InvalidArgument(f"days={days} must not be negative")
    on = _record_today(today)
    span = dt.timedelta(days=days)
    at = draw(_instants(on - span, on + span))
    at = at.astimezone(draw(st.sampled_from([dt.UTC, WORLD_TIMEZONE])))
    pnr = draw(identity_numbers(max_birth_date=on) if pnrs is None else pnrs)
    given = draw(st.booleans()) if residence is None else residence
    return DecisionRequest(
        pnr,
        draw(identifiers() if clinic_ids is None else clinic_ids),
        draw(identifiers() if case_type_ids is None else case_type_ids),
        at,
        draw(residences()) if given else None,
    )


# ---------------------------------------------------------------------------
# Worlds
# ---------------------------------------------------------------------------


def _subset(people: list[Resident]) -> st.SearchStrategy[list[Resident]]:
    if not people:
        return st.just([])
    return st.lists(st.sampled_from(people), unique_by=_digits)


def _digits(resident: Resident) -> str:
    return resident.pnr.digits


def _clinic_id(clinic: Clinic) -> str:
    return clinic.id


def _case_type_id(case_type: CaseType) -> str:
    return case_type.id


@st.composite
def worlds(
    draw: st.DrawFn,
    *,
    min_clinics: int = 1,
    max_clinics: int = 3,
    max_case_types: int = 4,
    max_residents: int = 10,
    today: dt.date | None = None,
) -> World:
    """Consistent worlds: clinics, their case types, named residents, approvals and grants.

    Grants are of restricted case types only and come in every state relative to *today*
    (default: the local date). Write one into a store with :meth:`World.load`.
    """
    if not 0 <= min_clinics <= max_clinics:
        raise InvalidArgument(f"need 0 <= min_clinics={min_clinics} <= max_clinics={max_clinics}")
    if max_case_types < 0 or max_residents < 0:
        raise InvalidArgument("max_case_types and max_residents must not be negative")
    on = _record_today(today)
    places = draw(st.lists(clinics(), min_size=min_clinics, max_size=max_clinics, unique_by=_clinic_id))
    kinds = [
        case_type
        for clinic in places
        for case_type in draw(
            st.lists(case_types(clinic_id=clinic.id), max_size=max_case_types, unique_by=_case_type_id)
        )
    ]
    people = draw(
        st.lists(
            residents(today=on - dt.timedelta(days=1), named=True),
            max_size=max_residents,
            unique_by=_digits,
        )
    )
    approved = [
        attrs.evolve(draw(approvals(clinic_id=clinic.id, pnr=person.pnr, today=on)), name=person.name)
        for clinic in places
        for person in draw(_subset(people))
    ]
    granted = [
        attrs.evolve(
            draw(grants(clinic_id=kind.clinic_id, case_type_id=kind.id, pnr=person.pnr, today=on)),
            name=person.name,
        )
        for kind in kinds
        if kind.restricted
        for person in draw(_subset(people))
    ]
    return World(tuple(places), tuple(kinds), tuple(approved), tuple(granted), tuple(people), on)


# DecisionRequest lives here, so it is registered here; careaccess.testing.registration
# (the hypothesis entry point) registers every other type.
st.register_type_strategy(DecisionRequest, decision_requests())
