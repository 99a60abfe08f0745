"""The refusals several layers raise, each built in one place with both texts.

.. versionadded:: 0.1
"""

from __future__ import annotations

from careaccess.errors import InvalidRequest, NotFound, PermissionDenied

__all__ = [
    "approval_not_found",
    "case_type_not_restricted",
    "grant_not_found",
    "permission_denied",
    "unknown_case_type",
    "unknown_clinic",
]


def unknown_clinic() -> NotFound:
    """``NotFound("unknown_clinic")``."""
    return NotFound("unknown_clinic", "There is no such clinic.", "Mottagningen finns inte.")


def unknown_case_type() -> NotFound:
    """``NotFound("unknown_case_type")``."""
    return NotFound("unknown_case_type", "The clinic has no such case type.", "Mottagningen har ingen sådan ärendetyp.")


def case_type_not_restricted() -> InvalidRequest:
    """``InvalidRequest("case_type_not_restricted")``: granting an open case type."""
    return InvalidRequest(
        "case_type_not_restricted",
        "Only case types with a restricted selection can be granted; this one is open to all.",
        "Endast ärendetyper med begränsat urval kan delas ut; den här är öppen för alla.",
    )


def approval_not_found() -> NotFound:
    """``NotFound("approval_not_found")``."""
    return NotFound(
        "approval_not_found",
        "The resident is not approved for communication with the clinic.",
        "Invånaren är inte godkänd för kommunikation med mottagningen.",
    )


def grant_not_found() -> NotFound:
    """``NotFound("grant_not_found")``."""
    return NotFound(
        "grant_not_found",
        "The resident does not hold that case type.",
        "Invånaren har inte den ärendetypen utdelad.",
    )


def permission_denied() -> PermissionDenied:
    """``PermissionDenied("permission_denied")``."""
    return PermissionDenied(
        "permission_denied",
        "You do not administer this clinic.",
        "Du är inte administratör för den här mottagningen.",
    )
