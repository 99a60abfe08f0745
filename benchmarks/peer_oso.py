"""oso (the ``oso`` package on PyPI: the Polar engine, embedded) deciding careaccess's rule.

The encoding: the caller hands Polar a ``Resident`` (the clinics where it is approved and
its grants' end dates, as YYYYMMDD numbers) and a ``Request`` (clinic, case type key,
restricted, today); Polar's rule reads them through the Python objects.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dataset
from oso import Oso as _Oso  # type: ignore[import-untyped]

__all__ = ["POLICY", "Oso"]

POLICY = """
allow(resident: Resident, "contact", request: Request) if
    not request.restricted and request.clinic in resident.approved;
allow(resident: Resident, "contact", request: Request) if
    request.restricted and resident.grant_until(request.key) >= request.today;
"""
_FOREVER = 99991231


class Resident:
    def __init__(self, approved: set[str], grants: dict[str, int]) -> None:
        self.approved = approved
        self.grants = grants

    def grant_until(self, key: str) -> int:
        return self.grants.get(key, 0)


class Request:
    def __init__(self, clinic: str, key: str, restricted: bool, today: int) -> None:
        self.clinic = clinic
        self.key = key
        self.restricted = restricted
        self.today = today


class Oso:
    """The data set's first *residents* residents as Python objects Polar reads."""

    def __init__(self, residents: int) -> None:
        self.restricted = {ident: restricted for ident, _, restricted in dataset.CASE_TYPES}
        self.residents: dict[str, Resident] = {}
        for clinic, approvals, grants in dataset.records_for(0, residents):
            for approval in approvals:
                self.residents.setdefault(approval.pnr.digits, Resident(set(), {})).approved.add(clinic)
            for grant in grants:
                until = _FOREVER if grant.until is None else int(grant.until.strftime("%Y%m%d"))
                held = self.residents.setdefault(grant.pnr.digits, Resident(set(), {}))
                held.grants[f"{clinic}/{grant.case_type_id}"] = until
        self.oso: Any = _Oso()
        self.oso.register_class(Resident)
        self.oso.register_class(Request)
        self.oso.load_str(POLICY)

    def allowed(self, request: tuple[str, str, str], day: dt.date) -> bool:
        pnr, clinic, case_type = request
        resident = self.residents.get(pnr) or Resident(set(), {})
        today = day.year * 10000 + day.month * 100 + day.day
        asked = Request(clinic, f"{clinic}/{case_type}", self.restricted[case_type], today)
        return bool(self.oso.is_allowed(resident, "contact", asked))
