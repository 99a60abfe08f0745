"""The input boundary: ids, names and search texts checked once, before any store is touched.

Every public method of :class:`careaccess.CareAccess` passes its ids, names and texts
through here first, so every store sees only text it can keep, and bad input gets the
same clear :class:`~careaccess.errors.InvalidRequest` on every store:

========================  ==========================================================
input                     accepted
========================  ==========================================================
ids (clinic, case type,   ``str`` of 1 to :data:`MAX_ID_LENGTH` characters, all
actor, event cursor)      printable (``str.isprintable()``: no control, format,
                          surrogate, private-use or unassigned character, no
                          separator but the ASCII space), no surrounding spaces
names (residents,         ``str`` of 1 to :data:`MAX_NAME_LENGTH` characters, no
clinics, case types)      control character (Unicode Cc, which includes NUL) and no
                          lone surrogate; ``None`` where a name is optional
search texts              ``None`` or ``str`` of at most :data:`MAX_SEARCH_LENGTH`
                          characters, no control character, no lone surrogate
========================  ==========================================================

Read paths answer a malformed id without a store round trip: a decision fails closed
(``unknown_clinic`` / ``unknown_case_type``), a lookup finds nothing.

.. versionadded:: 0.1
"""

from __future__ import annotations

import re
from typing import Any, Final, TypeGuard, TypeVar

from careaccess.errors import InvalidRequest

_T = TypeVar("_T")

__all__ = [
    "KNOWN_IDS",
    "MAX_DECIDE_MANY",
    "MAX_ID_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_SEARCH_LENGTH",
    "check_id",
    "check_instance",
    "check_name",
    "check_search",
    "check_tuple",
    "is_id",
]

#: The longest id (clinic, case type, actor) accepted.
MAX_ID_LENGTH: Final = 200
#: The longest name (of a resident, clinic or case type) accepted.
MAX_NAME_LENGTH: Final = 200
#: The longest resident-list search text accepted.
MAX_SEARCH_LENGTH: Final = 200
#: The most requests one :meth:`careaccess.CareAccess.decide_many` call takes.
MAX_DECIDE_MANY: Final = 5000

_UNSAFE_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


#: Ids already found acceptable (at most ``_KNOWN_IDS_MAX`` of them, each at most
#: :data:`MAX_ID_LENGTH` characters): decisions ask about the same few clinics and case
#: types again and again, and ``str in set`` is the cheapest check there is. Read it as
#: ``type(x) is str and x in KNOWN_IDS`` (an unhashable value must not reach ``in``).
KNOWN_IDS: set[str] = set()
_KNOWN_IDS_MAX = 4096


def is_id(value: object) -> TypeGuard[str]:
    """Whether *value* is an id careaccess accepts (see the module docs)."""
    if type(value) is not str:
        return False
    if value in KNOWN_IDS:
        return True
    if 0 < len(value) <= MAX_ID_LENGTH and value.isprintable() and value == value.strip():
        if len(KNOWN_IDS) < _KNOWN_IDS_MAX:
            KNOWN_IDS.add(value)
        return True
    return False


def check_id(value: object, field: str) -> str:
    """*value* if it is an acceptable id.

    :param field: what the caller calls it, for the message (``"clinic_id"``).
    :raises InvalidRequest: ``invalid_identifier`` (the code record constructors use too).
    """
    if is_id(value):
        return value
    raise InvalidRequest(
        "invalid_identifier",
        f"{field} must be text of 1 to {MAX_ID_LENGTH} printable characters, without surrounding spaces.",
        f"{field} måste vara text med 1 till {MAX_ID_LENGTH} skrivbara tecken, utan omgivande blanksteg.",
    )


def _is_text(value: object, longest: int, *, empty: bool) -> TypeGuard[str]:
    return (
        type(value) is str
        and (empty or len(value) > 0)
        and len(value) <= longest
        and _UNSAFE_TEXT.search(value) is None
    )


def check_name(value: object, field: str, *, optional: bool = True) -> str | None:
    """*value* if it is an acceptable name (or None, when *optional*).

    :raises InvalidRequest: ``invalid_name``.
    """
    if value is None and optional:
        return None
    if _is_text(value, MAX_NAME_LENGTH, empty=False):
        return value
    raise InvalidRequest(
        "invalid_name",
        f"{field} must be text of 1 to {MAX_NAME_LENGTH} characters, without control characters.",
        f"{field} måste vara text med 1 till {MAX_NAME_LENGTH} tecken, utan styrtecken.",
    )


def check_search(value: object) -> str | None:
    """*value* if it is None or an acceptable search text.

    :raises InvalidRequest: ``invalid_search``.
    """
    if value is None or _is_text(value, MAX_SEARCH_LENGTH, empty=True):
        return value
    raise InvalidRequest(
        "invalid_search",
        f"The search must be text of at most {MAX_SEARCH_LENGTH} characters, without control characters.",
        f"Sökningen måste vara text med högst {MAX_SEARCH_LENGTH} tecken, utan styrtecken.",
    )


def check_instance(value: object, kind: type[_T], field: str) -> _T:
    """*value* if it is a *kind* (an :class:`~careaccess.models.Actor`, a record).

    :raises InvalidRequest: ``invalid_request`` naming *field* and the type expected.
    """
    if isinstance(value, kind):
        return value
    raise InvalidRequest(
        "invalid_request",
        f"{field} must be a {kind.__name__}, not {type(value).__name__}.",
        f"{field} måste vara en {kind.__name__}, inte {type(value).__name__}.",
    )


def check_tuple(value: object, size: int, field: str) -> tuple[Any, ...]:
    """*value* if it is a tuple or list of *size* items (one request of a batch).

    :raises InvalidRequest: ``invalid_request`` naming *field* and the shape expected.
    """
    if isinstance(value, tuple | list) and len(value) == size:
        return tuple(value)
    raise InvalidRequest(
        "invalid_request",
        f"Each item of {field} must be a tuple of {size}.",
        f"Varje post i {field} måste vara en tupel med {size} delar.",
    )
