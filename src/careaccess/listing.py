"""The resident list's inputs: page limits, an admin's search text, and page cursors.

The core parses all of it once, into a :class:`~careaccess.store.ResidentQuery` the
store only has to match; cursors are opaque (:class:`Cursors`).

.. versionadded:: 0.1
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import re

from attrs import frozen

from careaccess.errors import InvalidRequest
from careaccess.names import fold

__all__ = ["MAX_LIMIT", "Cursors", "Search", "check_limit", "parse_search"]

#: The most items one page (of residents or of events) may hold.
MAX_LIMIT = 1000

_NUMBER = re.compile(r"[0-9+\-]+")
_LAST_DIGITS = re.compile(r"[+\-][0-9]+")
#: The first century an identity number's birth date can lie in (see careaccess.identity).
_FIRST_CENTURY = 18


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


class Cursors:
    """Opaque, tamper-evident resident-list cursors, keyed by the store's cursor key.

    A cursor names the last resident of a page without revealing the identity number:
    it is a deterministic authenticated encryption (the SIV construction of RFC 5297,
    with HMAC-SHA-256 as its pseudo-random function) of the 12 digits, bound to the
    clinic and the parsed search it was made for. Any process sharing the store (and
    so :meth:`~careaccess.store.Store.cursor_key`) reads it; a cursor altered, made by
    another store, or used with another clinic or search is ``invalid_cursor``.

    Layout (base64url, unpadded, 30 characters): version byte ``0x02``, a 16-byte tag
    ``HMAC(k_mac, binding || digits)``, and the digits as a 5-byte number XORed with
    ``HMAC(k_enc, tag)``. Equal cursors reveal only "same resident, same list".

    :param key: the store's cursor key (32 random bytes).
    """

    _VERSION = b"\x02"
    _SIZE = 1 + 16 + 5

    def __init__(self, key: bytes) -> None:
        self._mac_key = hmac.digest(key, b"careaccess resident cursor: mac", "sha256")
        self._enc_key = hmac.digest(key, b"careaccess resident cursor: encryption", "sha256")

    @staticmethod
    def _binding(clinic_id: str, search: Search) -> bytes:
        parts = [clinic_id, ",".join(search.digit_prefixes), search.digit_suffix or "", search.name_contains or ""]
        return "\x00".join(parts).encode("utf-8", "surrogatepass") + b"\x00"

    def _tag(self, binding: bytes, plain: bytes) -> bytes:
        return hmac.digest(self._mac_key, binding + plain, "sha256")[:16]

    def _mask(self, tag: bytes, data: bytes) -> bytes:
        stream = hmac.digest(self._enc_key, tag, "sha256")
        return bytes(a ^ b for a, b in zip(data, stream, strict=False))

    def encode(self, digits: str, clinic_id: str, search: Search) -> str:
        """The cursor after the resident with these 12 digits, in this clinic's list for *search*."""
        plain = int(digits).to_bytes(5, "big")
        tag = self._tag(self._binding(clinic_id, search), plain)
        return base64.urlsafe_b64encode(self._VERSION + tag + self._mask(tag, plain)).decode("ascii").rstrip("=")

    def decode(self, cursor: object, clinic_id: str, search: Search) -> str:
        """The 12 digits *cursor* stands for.

        :raises InvalidRequest: ``invalid_cursor`` unless this object made *cursor* for
            the same clinic and search.
        """
        raw = b""
        if type(cursor) is str and len(cursor) == 30 and cursor.isascii():
            try:
                raw = base64.urlsafe_b64decode(cursor + "==")
            except (binascii.Error, ValueError):
                raw = b""
        canonical = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") == cursor
        if canonical and len(raw) == self._SIZE and raw[:1] == self._VERSION:
            tag = raw[1:17]
            plain = self._mask(tag, raw[17:])
            number = int.from_bytes(plain, "big")
            if hmac.compare_digest(tag, self._tag(self._binding(clinic_id, search), plain)) and number < 10**12:
                return f"{number:012d}"
        raise InvalidRequest(
            "invalid_cursor",
            "The cursor is not one this list returned.",
            "Markören kommer inte från den här listan.",
        )
