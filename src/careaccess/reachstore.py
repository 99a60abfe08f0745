"""The store side of the resident's view: an optional capability and a fallback for every store.

A store that implements :class:`ReachStore` answers the clinic directory
(:meth:`ReachStore.list_clinics`) and a resident's candidate facts
(:meth:`ReachStore.load_reach`) from its own indexes. A store that does not is still
answered, slowly but correctly, by :func:`list_clinics_fallback` and
:func:`load_reach_fallback`, which use only the :class:`~careaccess.store.Store`
contract (the event feed to find clinic ids, then ``get_clinic``, ``list_case_types``
and the resident's records per clinic).

Stores translate; the core decides. The store matches filters exactly as documented on
:class:`ClinicQuery` and returns candidates as :class:`~careaccess.reach.ReachFacts`
documents; every rule of access stays in :func:`careaccess.decision.decide`.

.. versionadded:: 0.2
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from attrs import frozen

from careaccess.models import Approval, CaseType, Clinic, Grant
from careaccess.names import fold
from careaccess.reach import COUNTRY, AreaKey, ReachFacts, area_keys
from careaccess.store import Store

__all__ = [
    "FEED_PAGE",
    "ClinicQuery",
    "ReachRequest",
    "ReachStore",
    "clinic_ids_from_feed",
    "clinic_matches",
    "list_clinics_fallback",
    "load_reach_fallback",
    "supports_reach",
]

#: How many events the fallback reads from the feed per call.
FEED_PAGE = 1000


@frozen
class ClinicQuery:
    """One page of the clinic directory, in ascending order of clinic id.

    Filters combine with AND:

    - ``region`` (2-digit code): the clinic's service area has a rule naming this region
      (with or without a municipality);
    - ``municipality`` (4-digit code, region ``municipality[:2]``): a rule names this
      municipality, or names its region without a municipality (it covers it);
    - ``name_contains``: already folded with :func:`careaccess.names.fold`; the folded clinic name
      contains it;
    - ``clinic_ids``: the clinic's id is one of these (None: any).

    Whole-country rules match neither place filter: a directory of a region lists the
    clinics that serve it by name.
    """

    limit: int
    after: str | None = None
    region: str | None = None
    municipality: str | None = None
    name_contains: str | None = None
    clinic_ids: frozenset[str] | None = None


@frozen
class ReachRequest:
    """Whose candidate facts to load: the 12 canonical digits and the :func:`~careaccess.reach.residence_keys`."""

    digits: str
    area: tuple[AreaKey, ...] = (COUNTRY,)


@runtime_checkable
class ReachStore(Store, Protocol):
    """A store with native indexes for the resident's side (optional).

    Every built-in store implements it; :meth:`careaccess.CareAccess.clinics_for` and
    :meth:`careaccess.CareAccess.list_clinics` fall back to the plain
    :class:`~careaccess.store.Store` contract on a store that does not.

    .. versionadded:: 0.2
    """

    def list_clinics(self, query: ClinicQuery) -> list[Clinic]:
        """Up to ``query.limit`` clinics with ids greater than ``query.after`` that match, by id."""
        ...

    def load_reach(self, request: ReachRequest) -> ReachFacts:
        """The resident's candidate facts (see :class:`~careaccess.reach.ReachFacts`), in one read.

        ``clinics`` holds every clinic where ``request.digits`` has an approval or a
        grant, and every clinic with a rule under one of ``request.area``'s keys (as
        :func:`~careaccess.reach.area_keys` gives them), with their case types and the
        resident's records there. Extra clinics are allowed, missing ones are not.
        """
        ...


def supports_reach(store: Store) -> bool:
    """Whether *store* claims the :class:`ReachStore` capability."""
    return isinstance(store, ReachStore)


def clinic_matches(clinic: Clinic, query: ClinicQuery) -> bool:
    """Whether *clinic* passes *query*'s filters (the reference the stores are tested against)."""
    if query.clinic_ids is not None and clinic.id not in query.clinic_ids:
        return False
    if query.region is not None or query.municipality is not None:
        keys = area_keys(clinic.service_area.rules)
        regions = {r.region for r in clinic.service_area.rules if r.region is not None}
        if query.region is not None and query.region not in regions:
            return False
        if query.municipality is not None and not (
            ("municipality", query.municipality) in keys or ("region", query.municipality[:2]) in keys
        ):
            return False
    return query.name_contains is None or query.name_contains in fold(clinic.name)


def clinic_ids_from_feed(store: Store) -> list[str]:
    """Every clinic id the event feed names, sorted (each clinic's first change is an event)."""
    seen: set[str] = set()
    after: str | None = None
    while True:
        events = store.read_events(after, FEED_PAGE, None)
        seen.update(event.clinic_id for event in events)
        if len(events) < FEED_PAGE:
            return sorted(seen)
        after = events[-1].id


def list_clinics_fallback(store: Store, query: ClinicQuery) -> list[Clinic]:
    """:meth:`ReachStore.list_clinics` on the plain contract: reads the whole feed, then each clinic."""
    ids: Sequence[str] = clinic_ids_from_feed(store) if query.clinic_ids is None else sorted(query.clinic_ids)
    start = 0 if query.after is None else bisect.bisect_right(ids, query.after)
    page: list[Clinic] = []
    for clinic_id in ids[start:]:
        clinic = store.get_clinic(clinic_id)
        if clinic is not None and clinic_matches(clinic, query):
            page.append(clinic)
            if len(page) >= query.limit:
                break
    return page


def load_reach_fallback(store: Store, request: ReachRequest) -> ReachFacts:
    """:meth:`ReachStore.load_reach` on the plain contract: every clinic, its case types and the resident's records.

    Returns every stored clinic as a candidate (a superset, as allowed).
    """
    clinics: list[Clinic] = []
    case_types: list[CaseType] = []
    approvals: list[Approval] = []
    grants: list[Grant] = []
    for clinic_id in clinic_ids_from_feed(store):
        clinic = store.get_clinic(clinic_id)
        if clinic is None:
            continue
        clinics.append(clinic)
        case_types.extend(store.list_case_types(clinic_id))
        listed = store.get_resident_access(clinic_id, request.digits)
        if listed is not None:
            if listed.approval is not None:
                approvals.append(listed.approval)
            grants.extend(listed.grants)
    return ReachFacts(clinics, case_types, approvals, grants)
