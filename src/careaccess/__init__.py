"""careaccess: may resident R contact clinic C through case type T at time t, and why (not)?

Start with :func:`connect`; see the documentation for the workflows, the decision
table and the plugin hooks.
"""

from __future__ import annotations

from careaccess.bulk import BulkResult
from careaccess.directory import StaticDirectory
from careaccess.errors import (
    CareAccessError,
    Conflict,
    InvalidIdentityNumber,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    StoreUnavailable,
    UnknownStore,
)
from careaccess.hookspecs import hookimpl, hookspec
from careaccess.identity import Gender, PersonalIdentityNumber
from careaccess.models import (
    Action,
    Actor,
    Approval,
    AreaRule,
    CaseType,
    Clinic,
    Decision,
    Event,
    Grant,
    Page,
    Reason,
    Residence,
    Resident,
    ResidentAccess,
    ServiceArea,
)
from careaccess.serialization import converter, make_converter
from careaccess.service import CareAccess, connect
from careaccess.store import Store

__all__ = [
    "Action",
    "Actor",
    "Approval",
    "AreaRule",
    "BulkResult",
    "CareAccess",
    "CareAccessError",
    "CaseType",
    "Clinic",
    "Conflict",
    "Decision",
    "Event",
    "Gender",
    "Grant",
    "InvalidIdentityNumber",
    "InvalidRequest",
    "NotFound",
    "Page",
    "PermissionDenied",
    "PersonalIdentityNumber",
    "Reason",
    "Residence",
    "Resident",
    "ResidentAccess",
    "ServiceArea",
    "StaticDirectory",
    "Store",
    "StoreUnavailable",
    "UnknownStore",
    "connect",
    "converter",
    "hookimpl",
    "hookspec",
    "make_converter",
]

__version__ = "0.1.0"
