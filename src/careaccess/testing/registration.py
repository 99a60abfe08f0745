"""Registers careaccess's types for hypothesis' ``st.from_type``: the ``hypothesis`` entry point.

Kept apart from :mod:`careaccess.testing.strategies`, which imports hypothesis: hypothesis
runs its entry points while it is first imported, which may be from inside that
module's own import. So this module imports no strategy up front; each registration is
a function that fetches its strategy when ``st.from_type`` first asks for it.
"""

from __future__ import annotations

import importlib
import typing
from collections.abc import Callable
from typing import Any

from careaccess.identity import PersonalIdentityNumber
from careaccess.models import (
    Actor,
    Approval,
    AreaRule,
    CaseType,
    Clinic,
    Event,
    Grant,
    Page,
    Residence,
    Resident,
    ResidentAccess,
    ServiceArea,
)
from careaccess.testing.world import World

__all__ = ["register_types"]

# Type -> the name of its strategy in careaccess.testing.strategies.
STRATEGY_OF: dict[type, str] = {
    PersonalIdentityNumber: "identity_numbers",
    Residence: "residences",
    AreaRule: "area_rules",
    ServiceArea: "service_areas",
    Clinic: "clinics",
    CaseType: "case_types",
    Actor: "actors",
    Resident: "residents",
    Approval: "approvals",
    Grant: "grants",
    Event: "events",
    ResidentAccess: "resident_accesses",
    World: "worlds",
}


def _deferred(name: str) -> Callable[[type], Any]:
    def strategy(_type: type) -> Any:
        return getattr(importlib.import_module("careaccess.testing.strategies"), name)()

    return strategy


def _page(page_type: type) -> Any:
    """``Page[T]``: pages of ``st.from_type(T)``; a bare ``Page``: pages of resident list entries or events."""
    from hypothesis import strategies as st  # noqa: PLC0415 -- only when hypothesis calls us

    strategies = importlib.import_module("careaccess.testing.strategies")
    args = typing.get_args(page_type)
    return strategies.pages(items=st.from_type(args[0]) if args else None)


def register_types() -> None:
    """Register every careaccess record type (``DecisionRequest`` registers itself on import)."""
    from hypothesis import strategies as st  # noqa: PLC0415 -- only when hypothesis calls us

    for kind, name in STRATEGY_OF.items():
        st.register_type_strategy(kind, _deferred(name))
    st.register_type_strategy(Page, _page)
