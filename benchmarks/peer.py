"""pycasbin enforcing careaccess's policy over the benchmark's data (see casbin_model.conf).

pycasbin is what a team would otherwise reach for. It runs here in its fastest
configuration: ``FastEnforcer`` with its policy indexed by (subject, clinic), so an
enforce call evaluates the matcher only over one resident's lines at one clinic.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import casbin  # type: ignore[import-untyped]
import dataset
from casbin.persist import Adapter  # type: ignore[import-untyped]

__all__ = ["FLAT_MODEL", "MODEL", "FlatPolicyLoader", "PolicyLoader", "enforcer", "flat_enforcer"]

MODEL = Path(__file__).with_name("casbin_model.conf")
FLAT_MODEL = Path(__file__).with_name("casbin_flat.conf")
_FOREVER = "9999-12-31"
ZONE = ZoneInfo("Europe/Stockholm")


class PolicyLoader(Adapter):  # type: ignore[misc]
    """Loads the data set's first ``residents`` residents as policy lines, straight into the model."""

    def __init__(self, residents: int) -> None:
        self.residents = residents

    def load_policy(self, model: Any) -> None:
        policy = model.model["p"]["p"].policy
        groups = model.model["g"]["g"].policy
        for held in dataset.clinics_for(self.residents):
            for case_type in dataset.case_types_of(held.id):
                if not case_type.restricted:
                    groups.append([f"{held.id}/{case_type.id}", "open"])
        for clinic, approvals, grants in dataset.records_for(0, self.residents):
            for approval in approvals:
                policy.append([approval.pnr.digits, clinic, "open", _FOREVER])
            for grant in grants:
                until = _FOREVER if grant.until is None else grant.until.isoformat()
                policy.append([grant.pnr.digits, clinic, f"{clinic}/{grant.case_type_id}", until])

    def save_policy(self, model: Any) -> bool:
        return False


class FlatPolicyLoader(Adapter):  # type: ignore[misc]
    """The same facts without ``g()``: an approval becomes one line per open case type."""

    def __init__(self, residents: int) -> None:
        self.residents = residents

    def load_policy(self, model: Any) -> None:
        policy = model.model["p"]["p"].policy
        open_types = [ident for ident, _, restricted in dataset.CASE_TYPES if not restricted]
        for clinic, approvals, grants in dataset.records_for(0, self.residents):
            for approval in approvals:
                for case_type in open_types:
                    policy.append([approval.pnr.digits, clinic, f"{clinic}/{case_type}", _FOREVER])
            for grant in grants:
                until = _FOREVER if grant.until is None else grant.until.isoformat()
                policy.append([grant.pnr.digits, clinic, f"{clinic}/{grant.case_type_id}", until])

    def save_policy(self, model: Any) -> bool:
        return False


def flat_enforcer(residents: int) -> Any:
    """A ``FastEnforcer`` over the flat model (``casbin_flat.conf``), indexed by (subject, clinic)."""
    return casbin.FastEnforcer(str(FLAT_MODEL), FlatPolicyLoader(residents), cache_key_order=[0, 1])


def enforcer(residents: int) -> Any:
    """A ``FastEnforcer`` over the data set's first *residents* residents, indexed by (subject, clinic)."""
    return casbin.FastEnforcer(str(MODEL), PolicyLoader(residents), cache_key_order=[0, 1])


def decide(peer: Any, pnr: str, clinic_id: str, case_type_id: str) -> bool:
    """The decision through pycasbin, judged on today's local date like careaccess's ``decide``."""
    day = dt.datetime.now(ZONE).date().isoformat()
    return bool(peer.enforce(pnr, clinic_id, f"{clinic_id}/{case_type_id}", day))
