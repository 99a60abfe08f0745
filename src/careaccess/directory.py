"""A ready-made resident directory plugin, for tests, demos and small deployments."""

from __future__ import annotations

from collections.abc import Iterable

from careaccess.hookspecs import hookimpl
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Resident

__all__ = ["StaticDirectory"]


class StaticDirectory:
    """Answers ``careaccess_lookup_resident`` from a fixed set of residents."""

    def __init__(self, residents: Iterable[Resident] = ()) -> None:
        self._residents = {resident.pnr: resident for resident in residents}

    def add(self, resident: Resident) -> None:
        self._residents[resident.pnr] = resident

    @hookimpl
    def careaccess_lookup_resident(self, pnr: PersonalIdentityNumber) -> Resident | None:
        return self._residents.get(pnr)
