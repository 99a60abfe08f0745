"""The resident list's inputs: page limits, an admin's search text, and page cursors.

The core parses all of it once, into a :class:`~careaccess.store.ResidentQuery` the
store only has to match.

.. versionadded:: 0.1
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re

from attrs import frozen

from careaccess.errors import InvalidRequest
from careaccess.names import fold

__all__ = ["MAX_LIMIT", "Search", "check_limit", "decode_cursor", "encode_cursor", "parse_search"]

#: The most items one page (of residents or of events) may hold.
MAX_LIMIT = 1000

_NUMBER = re.compile(r"[0-9+\-]+")
_LAST_DIGITS = re.compile(r"[+\-][0-9]+")
#: The first century an identity number's birth date can lie in (see careaccess.identity).
_FIRST_CENTURY = 18
_CURSOR_TAG = "r1:"


@frozen
class Search:
    """A search text parsed into the filters of a :class:`~careaccess.store.ResidentQuery`."""

    digit_prefixes: tuple[str, ...] = ()
    digit_suffix: str | None = None
    name_contains: str | None = None


def parse_search(search: str | None, today: dt.date) -> Search:
    """What an admin's search text asks for.

    - empty or blank: no filter;
    - a separator and digits (``-1212``, ``+1212``): the last digits of the number;
    - digits, with ``-``/``+`` anywhere (``19121212-12``, ``121212-1212``): the start of
      the 12-digit form, or of the 10-digit form in any century up to *today*'s;
    - anything else: part of a name, compared folded (:func:`careaccess.names.fold`).
    """
    text = "" if search is None else search.strip()
    if not text:
        return Search()
    if _LAST_DIGITS.fullmatch(text):
        return Search(digit_suffix=text[1:])
    if _NUMBER.fullmatch(text):
        digits = text.replace("-", "").replace("+", "")
        if not digits:
            return Search()
        candidates = {digits} | {f"{c}{digits}" for c in range(_FIRST_CENTURY, today.year // 100 + 1)}
        fitting = sorted(p for p in candidates if len(p) <= 12) or [digits]
        # Keep the shortest: a prefix that starts with another one adds nothing.
        kept: list[str] = []
        for prefix in sorted(fitting, key=len):
            if not any(prefix.startswith(k) for k in kept):
                kept.append(prefix)
        return Search(digit_prefixes=tuple(sorted(kept)))
    name = fold(text)
    return Search(name_contains=name) if name else Search()


def check_limit(limit: int) -> None:
    """:raises InvalidRequest: ``invalid_limit`` unless 1 <= *limit* <= :data:`MAX_LIMIT`."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(
            "invalid_limit",
            f"limit must be a whole number from 1 to {MAX_LIMIT}.",
            f"limit måste vara ett heltal från 1 till {MAX_LIMIT}.",
        )


def encode_cursor(digits: str) -> str:
    """The cursor after the resident with these 12 digits."""
    return base64.urlsafe_b64encode((_CURSOR_TAG + digits).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The 12 digits a cursor of :func:`encode_cursor` holds.

    :raises InvalidRequest: ``invalid_cursor``.
    """
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    digits = text.removeprefix(_CURSOR_TAG)
    if not text.startswith(_CURSOR_TAG) or len(digits) != 12 or not digits.isdigit():
        raise InvalidRequest(
            "invalid_cursor",
            "The cursor is not one this list returned.",
            "Markören kommer inte från den här listan.",
        )
    return digits
