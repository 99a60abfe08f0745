"""cedarpy (Cedar) deciding careaccess's rule over the benchmark's data.

The encoding (Cedar has no lookup of its own, so the caller names the grant a request is
about; Cedar finds it, or not, among the entities):

- principal ``Resident::"<12 digits>"`` with ``approved``: the set of clinic ids where the
  resident is approved;
- resource ``CaseType::"<clinic>/<case type>"`` with ``clinic`` and ``restricted``;
- ``Grant::"<12 digits>/<clinic>/<case type>"`` with ``until`` (YYYYMMDD as a number,
  99991231 until further notice); the request's context names it as ``grant`` and carries
  ``today`` (YYYYMMDD, the local date). A missing grant entity makes the grant policy's
  condition an error, which Cedar treats as not satisfied: deny.

*Prebuilt*: every entity of the data set parsed once into one ``cedarpy.Entities`` handle
and the policies into one ``PolicySet``. *Per request*: the caller reads the facts from its
own dicts and builds the two or three entities the request needs on every call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import cedarpy  # type: ignore[import-untyped]
import dataset

__all__ = ["POLICIES", "Cedar"]

POLICIES = """
permit(principal, action == Action::"contact", resource)
when { !resource.restricted && principal.approved.contains(resource.clinic) };
permit(principal, action == Action::"contact", resource)
when { resource.restricted && context.grant.until >= context.today };
"""
_FOREVER = 99991231
_ACTION = {"type": "Action", "id": "contact"}


def _number(day: dt.date | None) -> int:
    return _FOREVER if day is None else day.year * 10000 + day.month * 100 + day.day


class Cedar:
    """The data set's first *residents* residents, as Cedar entities, prebuilt and as dicts."""

    def __init__(self, residents: int) -> None:
        self.restricted = {ident: restricted for ident, _, restricted in dataset.CASE_TYPES}
        self.approved: dict[str, set[str]] = {}
        self.grants: dict[tuple[str, str, str], int] = {}
        for clinic, approvals, grants in dataset.records_for(0, residents):
            for approval in approvals:
                self.approved.setdefault(approval.pnr.digits, set()).add(clinic)
            for grant in grants:
                self.grants[(grant.pnr.digits, clinic, grant.case_type_id)] = _number(grant.until)
        entities: list[dict[str, Any]] = [
            self._case_type(clinic.id, ident) for clinic in dataset.clinics_for(residents) for ident in self.restricted
        ]
        entities += [self._resident(pnr, sorted(clinics)) for pnr, clinics in self.approved.items()]
        entities += [self._grant(key, until) for key, until in self.grants.items()]
        self.entities = cedarpy.Entities.from_json_str(_json(entities))
        self.policies = cedarpy.PolicySet.from_str(POLICIES)

    def _case_type(self, clinic: str, ident: str) -> dict[str, Any]:
        attrs = {"clinic": clinic, "restricted": self.restricted[ident]}
        return {"uid": {"type": "CaseType", "id": f"{clinic}/{ident}"}, "attrs": attrs, "parents": []}

    @staticmethod
    def _resident(pnr: str, clinics: list[str]) -> dict[str, Any]:
        return {"uid": {"type": "Resident", "id": pnr}, "attrs": {"approved": clinics}, "parents": []}

    @staticmethod
    def _grant(key: tuple[str, str, str], until: int) -> dict[str, Any]:
        return {"uid": {"type": "Grant", "id": "/".join(key)}, "attrs": {"until": until}, "parents": []}

    @staticmethod
    def _request(request: tuple[str, str, str], today: int) -> dict[str, Any]:
        pnr, clinic, case_type = request
        return {
            "principal": {"type": "Resident", "id": pnr},
            "action": _ACTION,
            "resource": {"type": "CaseType", "id": f"{clinic}/{case_type}"},
            "context": {"today": today, "grant": {"__entity": {"type": "Grant", "id": f"{pnr}/{clinic}/{case_type}"}}},
        }

    def prebuilt(self, request: tuple[str, str, str], day: dt.date) -> bool:
        result = cedarpy.is_authorized(self._request(request, _number(day)), self.policies, self.entities)
        return bool(result.allowed)

    def prebuilt_batch(self, batch: Sequence[tuple[str, str, str]], day: dt.date) -> list[bool]:
        today = _number(day)
        results = cedarpy.is_authorized_batch([self._request(r, today) for r in batch], self.policies, self.entities)
        return [bool(r.allowed) for r in results]

    def per_request(self, request: tuple[str, str, str], day: dt.date) -> bool:
        pnr, clinic, case_type = request
        entities = [
            self._case_type(clinic, case_type),
            self._resident(pnr, [clinic] if clinic in self.approved.get(pnr, ()) else []),
        ]
        until = self.grants.get(request)
        if until is not None:
            entities.append(self._grant(request, until))
        result = cedarpy.is_authorized(self._request(request, _number(day)), self.policies, entities)
        return bool(result.allowed)


def _json(entities: list[dict[str, Any]]) -> str:
    import json  # noqa: PLC0415 -- only at build time

    return json.dumps(entities)
