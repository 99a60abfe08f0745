"""The resident's side: every clinic a resident may contact, decided by :func:`~careaccess.decision.decide`.

:func:`clinics_reachable` is pure. Given the *candidate* facts of one resident — the
clinics that could let them in (where they are approved or hold a grant, or whose
service area names their region, their municipality or the whole country), those
clinics' case types, and the resident's approvals and grants — it asks
:func:`careaccess.decision.decide` about every (clinic, case type) pair and keeps the
clinics where at least one is allowed. No rule of the decision table is repeated here:
the only thing this module knows of access is which clinics can be left out unread
(:func:`area_keys`, :func:`residence_keys`), and a store that returns more candidates
than needed is still exactly right.

.. versionadded:: 0.2
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable
from typing import Final
from zoneinfo import ZoneInfo

from attrs import field, frozen

from careaccess.decision import decide
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Approval, AreaRule, CaseType, Clinic, Decision, Grant, Residence
from careaccess.store import DecisionFacts

__all__ = [
    "COUNTRY",
    "AreaKey",
    "ClinicAccess",
    "ReachFacts",
    "area_keys",
    "clinics_reachable",
    "residence_keys",
]


def _decisions(items: Iterable[Decision]) -> tuple[Decision, ...]:
    return tuple(items)


def _tuple(items: Iterable[object]) -> tuple[object, ...]:
    return tuple(items)


@frozen
class ClinicAccess:
    """One clinic as the resident sees it, with a :class:`~careaccess.Decision` per case type.

    ``decisions`` are ordered by case type id and are exactly what
    :meth:`careaccess.CareAccess.decide` answers for this resident, clinic, case type
    and moment. Without ``include_denied`` every decision is allowed; with it, denied
    ones (with their reasons) appear too.
    """

    clinic: Clinic
    decisions: tuple[Decision, ...] = field(converter=_decisions)

    @property
    def allowed(self) -> tuple[Decision, ...]:
        """The decisions that allow contact, in case type order."""
        return tuple(d for d in self.decisions if d.allowed)

    @property
    def reachable(self) -> bool:
        """True when the resident may contact at least one case type of the clinic."""
        return any(d.allowed for d in self.decisions)


@frozen
class ReachFacts:
    """The stored facts that can let one resident reach any clinic (what a store returns).

    ``clinics`` must include every clinic where the resident is approved or holds a
    grant, and every clinic whose service area has a rule for the resident's region,
    municipality or the whole country (:func:`residence_keys`); it may include more.
    ``case_types`` are all case types of those clinics; ``approvals`` and ``grants`` all
    of the resident's at those clinics. Order does not matter.
    """

    clinics: tuple[Clinic, ...] = field(converter=_tuple)
    case_types: tuple[CaseType, ...] = field(converter=_tuple)
    approvals: tuple[Approval, ...] = field(converter=_tuple)
    grants: tuple[Grant, ...] = field(converter=_tuple)


#: An index entry of a service-area rule: ``("country",)``, ``("region", "01")`` or
#: ``("municipality", "0180")``.
AreaKey = tuple[str, ...]

#: The key of a rule that names no region: it may match a resident anywhere.
COUNTRY: Final[AreaKey] = ("country",)


def area_keys(rules: Iterable[AreaRule]) -> frozenset[AreaKey]:
    """Where a clinic's rules may match: one key per rule, by the narrowest place it names.

    A rule with a municipality can match only residents of that municipality; one with
    only a region, residents anywhere in the region; one with neither, anyone (its
    gender and age bounds come from the identity number). Gender and age are left to
    :func:`~careaccess.decision.decide`: the keys over-approximate, never under.
    """
    keys: set[AreaKey] = set()
    for rule in rules:
        if rule.municipality is not None:
            keys.add(("municipality", rule.municipality))
        elif rule.region is not None:
            keys.add(("region", rule.region))
        else:
            keys.add(COUNTRY)
    return frozenset(keys)


def residence_keys(residence: Residence | None) -> tuple[AreaKey, ...]:
    """The :func:`area_keys` entries under which a clinic may serve a resident living at *residence*.

    With an unknown residence only whole-country rules are candidates: every other
    rule names a place that cannot be checked.
    """
    if residence is None:
        return (COUNTRY,)
    keys: list[AreaKey] = [COUNTRY, ("region", residence.region)]
    if residence.municipality is not None:
        keys.append(("municipality", residence.municipality))
    return tuple(keys)


_case_type_order = operator.attrgetter("id")


def clinics_reachable(
    facts: ReachFacts,
    pnr: PersonalIdentityNumber,
    at: dt.datetime,
    zone: ZoneInfo,
    residence: Residence | None,
    residence_of: Callable[[PersonalIdentityNumber], Residence | None],
    *,
    include_denied: bool = False,
) -> list[ClinicAccess]:
    """Every clinic of *facts* where *pnr* may contact a case type at *at*, by clinic id.

    Each case type's decision is :func:`careaccess.decision.decide` on the facts a
    store's ``load_facts`` would return for it, so the result agrees with ``decide``
    for every clinic and case type in *facts*. *residence_of* is asked at most once
    (and only if some decision needs the residence); its answer is reused.

    :param at: an aware moment; dates are judged in *zone*.
    :param residence: the resident's residence if the caller knows it.
    :param include_denied: also list every *candidate* clinic where nothing is allowed
        — one where the resident is approved or holds a grant, or whose service area
        has a rule under :func:`residence_keys` of the residence (given, or asked of
        *residence_of*) — and every denied case type with its reason. Clinics of
        *facts* beyond the candidates are left out, so the answer does not depend on
        how many extra clinics a store returned.
    :returns: :class:`ClinicAccess` records ordered by clinic id, their decisions by
        case type id. A clinic without case types is never listed.
    """
    lookup: Callable[[PersonalIdentityNumber], Residence | None] = residence_of
    if residence is None:
        asked: list[Residence | None] = []

        def once(person: PersonalIdentityNumber) -> Residence | None:
            if not asked:
                asked.append(residence_of(person))
            return asked[0]

        lookup = once
    day = at.astimezone(zone).date()
    kinds: dict[str, list[CaseType]] = {}
    for case_type in facts.case_types:
        listed_types = kinds.get(case_type.clinic_id)
        if listed_types is None:
            kinds[case_type.clinic_id] = [case_type]
        else:
            listed_types.append(case_type)
    approvals = {a.clinic_id: a for a in facts.approvals if a.pnr == pnr}
    grants = {(g.clinic_id, g.case_type_id): g for g in facts.grants if g.pnr == pnr}
    clinics = {clinic.id: clinic for clinic in facts.clinics}
    if include_denied:
        places = set(residence_keys(residence if residence is not None else lookup(pnr)))
        listed = approvals.keys() | {clinic_id for clinic_id, _ in grants}
        clinics = {
            clinic_id: clinic
            for clinic_id, clinic in clinics.items()
            if clinic_id in listed or area_keys(clinic.service_area.rules) & places
        }
    result: list[ClinicAccess] = []
    grant_of = grants.get
    for clinic_id in sorted(clinics):
        types = kinds.get(clinic_id)
        if not types:
            continue  # nothing to contact
        if len(types) > 1:
            types.sort(key=_case_type_order)
        clinic = clinics[clinic_id]
        approval = approvals.get(clinic_id)
        decisions: list[Decision] = []
        for case_type in types:
            type_id = case_type.id
            grant = grant_of((clinic_id, type_id)) if grants else None
            loaded = DecisionFacts(clinic, case_type, approval, grant)
            verdict = decide(loaded, pnr, clinic_id, type_id, at, zone, residence, lookup, day)
            if verdict.allowed or include_denied:
                decisions.append(verdict)
        if decisions:
            result.append(ClinicAccess(clinic, decisions))
    return result
