"""The in-memory store's indexes for the resident's side (:class:`~careaccess.reachstore.ReachStore`).

:class:`ReachIndex` is kept by :class:`~careaccess.memory.MemoryStore`'s write path,
under the store's lock, in the same step as the records it indexes; so every read sees
the index and the records agree exactly.

.. versionadded:: 0.2
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from typing import TypeVar

from attrs import define, field

from careaccess.models import Clinic
from careaccess.reach import AreaKey, area_keys
from careaccess.reachstore import ClinicQuery, clinic_matches

__all__ = ["ReachIndex"]

K = TypeVar("K")


@define
class ReachIndex:
    """Clinic ids by resident, by service-area key and by region, plus the sorted ids of all clinics."""

    #: 12 digits -> ids of the clinics where the resident is approved or holds a grant.
    by_resident: dict[str, set[str]] = field(factory=dict)
    #: :func:`~careaccess.reach.area_keys` entry -> ids of the clinics with such a rule.
    by_area: dict[AreaKey, set[str]] = field(factory=dict)
    #: region code -> ids of the clinics with a rule naming the region (with or without a municipality).
    by_region: dict[str, set[str]] = field(factory=dict)
    #: every clinic id, sorted.
    order: list[str] = field(factory=list)
    _keys: dict[str, tuple[frozenset[AreaKey], frozenset[str]]] = field(factory=dict)

    # -- kept by the write path --------------------------------------------------------

    def clinic_saved(self, clinic: Clinic) -> None:
        """Index a new clinic, or re-index a changed service area."""
        if clinic.id not in self._keys:
            bisect.insort(self.order, clinic.id)
        else:
            self._forget_area(clinic.id)
        keys = area_keys(clinic.service_area.rules)
        regions = frozenset(r.region for r in clinic.service_area.rules if r.region is not None)
        self._keys[clinic.id] = (keys, regions)
        for key in keys:
            self.by_area.setdefault(key, set()).add(clinic.id)
        for region in regions:
            self.by_region.setdefault(region, set()).add(clinic.id)

    def clinic_removed(self, clinic_id: str, residents: Iterable[str]) -> None:
        """Forget a deleted clinic and its listed *residents* (12 digits each)."""
        if clinic_id not in self._keys:
            return
        self._forget_area(clinic_id)
        del self._keys[clinic_id]
        del self.order[bisect.bisect_left(self.order, clinic_id)]
        for digits in residents:
            self.unlisted(clinic_id, digits)

    def listed(self, clinic_id: str, digits: str) -> None:
        """The resident got a first record (approval or grant) at the clinic."""
        self.by_resident.setdefault(digits, set()).add(clinic_id)

    def unlisted(self, clinic_id: str, digits: str) -> None:
        """The resident's last record at the clinic is gone."""
        clinics = self.by_resident.get(digits)
        if clinics is not None:
            clinics.discard(clinic_id)
            if not clinics:
                del self.by_resident[digits]

    def _forget_area(self, clinic_id: str) -> None:
        keys, regions = self._keys[clinic_id]
        for key in keys:
            _discard(self.by_area, key, clinic_id)
        for region in regions:
            _discard(self.by_region, region, clinic_id)

    # -- reads -------------------------------------------------------------------------

    def candidates(self, digits: str, area: Iterable[AreaKey]) -> set[str]:
        """Ids of the clinics where *digits* is listed or that have a rule under one of *area*."""
        found = set(self.by_resident.get(digits, ()))
        for key in area:
            found.update(self.by_area.get(key, ()))
        return found

    def page(self, query: ClinicQuery, clinic: Callable[[str], Clinic | None]) -> list[Clinic]:
        """One page of :meth:`~careaccess.reachstore.ReachStore.list_clinics`; *clinic* reads a clinic by id."""
        narrowed: set[str] | None = None
        if query.clinic_ids is not None:
            narrowed = set(query.clinic_ids)
        if query.region is not None:
            narrowed = _meet(narrowed, self.by_region.get(query.region, set()))
        if query.municipality is not None:
            covering = self.by_area.get(("municipality", query.municipality), set()) | self.by_area.get(
                ("region", query.municipality[:2]), set()
            )
            narrowed = _meet(narrowed, covering)
        ids = self.order if narrowed is None else sorted(narrowed)
        start = 0 if query.after is None else bisect.bisect_right(ids, query.after)
        page: list[Clinic] = []
        for clinic_id in ids[start:]:
            found = clinic(clinic_id)
            if found is not None and clinic_matches(found, query):
                page.append(found)
                if len(page) >= query.limit:
                    break
        return page


def _meet(narrowed: set[str] | None, ids: set[str]) -> set[str]:
    return set(ids) if narrowed is None else narrowed & ids


def _discard(index: dict[K, set[str]], key: K, clinic_id: str) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(clinic_id)
        if not members:
            del index[key]
