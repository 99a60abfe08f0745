"""Errors a caller can act on.

Every error derives from :class:`CareAccessError` and carries a stable ``code``
(a short snake_case string a UI may switch on), an English and a Swedish message,
and never a full identity number. Every code belongs to exactly one class; the
catalogue of codes, their classes and their texts is :data:`careaccess.texts.ERRORS`
(documented in ``docs/errors.md``).
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "CareAccessError",
    "Conflict",
    "InvalidIdentityNumber",
    "InvalidRequest",
    "NotFound",
    "PermissionDenied",
    "StoreUnavailable",
    "UnknownStore",
    "from_code",
]


class CareAccessError(Exception):
    """Base class of every error careaccess raises on purpose.

    Raise one with just a code (and the values its text needs), and it takes its texts
    from the catalogue, :data:`careaccess.texts.ERRORS`::

        raise InvalidRequest("invalid_limit", maximum=MAX_LIMIT)

    or pass texts of its own, more specific than the catalogue's::

        raise InvalidRequest("invalid_store_url", "cluster= takes true or false.", "...")

    :ivar code: stable machine-readable code, e.g. ``"grant_exists"``.
    :ivar message_en: what went wrong and what to do, in English.
    :ivar message_sv: the same in Swedish, for end users of an admin UI.
    """

    default_code: ClassVar[str] = "error"

    def __init__(self, code: str | None = None, message_en: str = "", message_sv: str = "", **values: object) -> None:
        self.code = code or self.default_code
        if not message_en:
            from careaccess.texts import error_text  # noqa: PLC0415 - texts imports this module

            entry = error_text(self.code)
            if entry is not None:
                text = entry.format(**values)
                message_en, message_sv = text.en, message_sv or text.sv
        self.message_en = message_en or self.code
        self.message_sv = message_sv or self.message_en
        super().__init__(f"{self.message_en} ({self.message_sv}) [{self.code}]")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message_en={self.message_en!r})"

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.code, self.message_en, self.message_sv))


class InvalidRequest(CareAccessError, ValueError):
    """The request itself is wrong: fix the input and try again."""

    default_code = "invalid_request"


class InvalidIdentityNumber(InvalidRequest):
    """A string is not a valid Swedish personal identity or coordination number.

    The code tells which rule failed (``pnr_format``, ``pnr_checksum``, ``pnr_date``,
    ``pnr_serial``, ``pnr_future_birth_date``, ``pnr_reserve_number``,
    ``pnr_coordination_refused``); the message never repeats the input.
    """

    default_code = "pnr_format"


class UnknownStore(InvalidRequest):
    """No installed plugin opens a store for the given URL."""

    default_code = "unknown_store_scheme"


class PermissionDenied(CareAccessError):
    """The actor may not do this at this clinic. Nothing was changed."""

    default_code = "permission_denied"


class NotFound(CareAccessError):
    """The clinic, case type, approval or grant does not exist."""

    default_code = "not_found"


class Conflict(CareAccessError):
    """The change clashes with the stored state (already there, stale version, in use).

    Nothing was written; re-read and decide again.
    """

    default_code = "conflict"


class StoreUnavailable(CareAccessError):
    """The backend could not be reached or failed mid-request; nothing was half-written."""

    default_code = "store_unavailable"


def from_code(code: str, **values: object) -> CareAccessError:
    """The error of the class the catalogue gives *code*, with the catalogue's texts.

    *values* fill in the text's placeholders (see :attr:`careaccess.texts.Text.fields`).

    :raises KeyError: for a code that is not in :data:`careaccess.texts.ERRORS`.
    """
    from careaccess.texts import ERRORS  # noqa: PLC0415 - texts imports this module

    entry = ERRORS[code]
    text = entry.format(**values)
    return entry.error(code, text.en, text.sv)
