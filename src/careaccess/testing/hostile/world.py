"""The hostile world (a clinic with residents, cursors of its own), the outcomes a row
can name, and the hostile values the table is made of."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs
from attrs import frozen

from careaccess import (
    Actor,
    Approval,
    CareAccess,
    CareAccessError,
    CaseType,
    Clinic,
    Grant,
    InvalidRequest,
    PersonalIdentityNumber,
    Reason,
    connect,
    hookimpl,
)
from careaccess.identity import luhn_check_digit
from careaccess.listing import MAX_LIMIT, Cursors, Search
from careaccess.store import MAX_VERSION, Store
from careaccess.testing.clock import FrozenClock
from careaccess.validation import MAX_ID_LENGTH, MAX_NAME_LENGTH, MAX_SEARCH_LENGTH

#: The clinics of the hostile world: both hold residents, so cursors exist for each.
CLINIC, OTHER_CLINIC = "vc-hostile", "vc-hostile-2"
OPEN, RESTRICTED = "fraga", "psyk-kbt"
#: The moment the world's clock stands still at.
NOW = dt.datetime(2026, 1, 15, 8, 30, tzinfo=dt.UTC)
ONE_MB = 1_000_000


def _pnr(birth: str, serial: int) -> PersonalIdentityNumber:
    nine = f"{birth[2:]}{serial:03d}"
    return PersonalIdentityNumber.from_digits(f"{birth}{serial:03d}{luhn_check_digit(nine)}")


#: Approved at CLINIC and OTHER_CLINIC.
APPROVED = _pnr("19121212", 121)
#: Holds RESTRICTED at CLINIC (version 1) and is approved there.
GRANTED = _pnr("19800314", 242)
#: Known to nobody.
STRANGER = _pnr("19901224", 468)


class _AllowAll:
    """Authorizes every actor everywhere, so each refusal in the table comes from the input."""

    @hookimpl
    def careaccess_authorize(self, actor: Actor, action: str, clinic_id: str) -> bool:
        return True


ADMIN = Actor("hostile-admin", frozenset({CLINIC, OTHER_CLINIC}))


def hostile_world(store: Store, plugins: Iterable[object] = ()) -> CareAccess:
    """The service on *store* with two clinics, an open and a restricted case type each,
    two approved residents per clinic and one grant (version 1) at :data:`CLINIC`."""
    access = connect(store, plugins=[_AllowAll(), *plugins], clock=FrozenClock(NOW))
    for clinic in (CLINIC, OTHER_CLINIC):
        access.put_clinic(ADMIN, Clinic(clinic, f"Vårdcentralen {clinic}"))
        access.put_case_type(ADMIN, CaseType(clinic, OPEN, "Fråga om vård"))
        access.put_case_type(ADMIN, CaseType(clinic, RESTRICTED, "KBT", restricted=True))
        access.approve_resident(ADMIN, clinic, APPROVED, name="Tolvan Tolvansson")
        access.approve_resident(ADMIN, clinic, GRANTED, name="Åsa Öberg")
    access.grant_case_type(ADMIN, CLINIC, GRANTED, RESTRICTED, None, name="Åsa Öberg")
    return access


# -- outcomes --------------------------------------------------------------------------


@frozen
class Outcome:
    """What one row must give, on every store.

    Exactly one of: ``error`` with ``code`` (the call raises that class with that code),
    ``reason`` (the call returns a refusing :class:`~careaccess.Decision`, or a list of
    them, each with this reason), or ``value`` (the call returns something equal to it).
    """

    error: type[CareAccessError] | None = None
    code: str | None = None
    reason: Reason | None = None
    value: Any = None

    def __str__(self) -> str:
        if self.error is not None:
            return f"{self.error.__name__}({self.code})"
        if self.reason is not None:
            return f"refused({self.reason})"
        return f"returns {self.value!r}"[:80]


def raises(error: type[CareAccessError], code: str) -> Outcome:
    return Outcome(error=error, code=code)


def refused(reason: Reason) -> Outcome:
    return Outcome(reason=reason)


def returns(value: object) -> Outcome:
    return Outcome(value=value)


@frozen
class HostileCase:
    """One row: a public method, what is wrong with the input, the call, the outcome."""

    method: str
    label: str
    #: Called with the service; lambdas keep their row's value as a default argument.
    call: Callable[..., object] = attrs.field(repr=False)
    expect: Outcome

    @property
    def id(self) -> str:
        return f"{self.method}[{self.label}]"


# -- the hostile values ----------------------------------------------------------------

#: Text no id may be (validation: 1..MAX_ID_LENGTH printable characters, no surrounding spaces).
BAD_IDS: dict[str, object] = {
    "int": 123,
    "None": None,
    "bytes": b"vc-hostile",
    "list": [CLINIC],
    "bool": True,
    "empty": "",
    "space": " ",
    "leading-space": " vc-hostile",
    "trailing-space": "vc-hostile ",
    "tab-padded": "\tvc-hostile",
    "nbsp-padded": "vc-hostile\u00a0",
    "NUL": "vc\x00hostile",
    "bell": "vc\x07hostile",
    "newline": "vc\nhostile",
    "DEL": "vc\x7fhostile",
    "C1-control": "vc\x85hostile",
    "zero-width-space": "vc\u200bhostile",
    "line-separator": "vc\u2028hostile",
    "bidi-override": "vc\u202ehostile",
    "lone-high-surrogate": "vc\ud800hostile",
    "lone-low-surrogate": "vc\udfffhostile",
    "past-limit": "x" * (MAX_ID_LENGTH + 1),
    "past-limit-non-ascii": "å" * (MAX_ID_LENGTH + 1),
    "past-limit-astral": "\U0001f600" * (MAX_ID_LENGTH + 1),
    "1MB": "x" * ONE_MB,
}

#: Well-formed ids no record has, at the limit and of awkward characters.
ODD_IDS: dict[str, str] = {
    "at-limit": "x" * MAX_ID_LENGTH,
    "at-limit-non-ascii": "å" * MAX_ID_LENGTH,
    "at-limit-astral": "\U0001f600" * MAX_ID_LENGTH,
    "inner-space": "vc hostile",
    "sql-wildcards": "vc-%_",
    "quote": "vc-'\";--",
    "redis-glob": "vc-*?[a]",
    "redis-hash-tag": "{vc-hostile}x",
    "backslash": "vc\\x",
    "colon": "vc:hostile:grant",
}

#: Text no name may be (validation: 1..MAX_NAME_LENGTH characters, no control character, no lone surrogate).
BAD_NAMES: dict[str, object] = {
    "int": 123,
    "bytes": b"Tolvan",
    "list": ["Tolvan"],
    "empty": "",
    "NUL": "Tolvan\x00",
    "escape": "Tolvan\x1b[31m",
    "newline": "Tolvan\nTolvansson",
    "DEL": "Tolvan\x7f",
    "C1-control": "Tolvan\x9f",
    "lone-surrogate": "Tolvan\ud800",
    "past-limit": "n" * (MAX_NAME_LENGTH + 1),
    "past-limit-astral": "\U0001f600" * (MAX_NAME_LENGTH + 1),
    "1MB": "n" * ONE_MB,
}

#: Search texts refused (validation: None or at most MAX_SEARCH_LENGTH characters, no control character).
BAD_SEARCHES: dict[str, object] = {
    "int": 121212,
    "bytes": b"Tolvan",
    "list": ["Tolvan"],
    "NUL": "Tol\x00",
    "escape": "\x1b[2J",
    "lone-surrogate": "\udc80",
    "past-limit": "t" * (MAX_SEARCH_LENGTH + 1),
    "past-limit-digits": "1" * (MAX_SEARCH_LENGTH + 1),
    "1MB": "t" * ONE_MB,
}

#: Accepted searches that match nobody in the hostile world (none may match everyone).
EMPTY_SEARCHES: dict[str, str] = {
    "at-limit": "t" * MAX_SEARCH_LENGTH,
    "at-limit-digits": "1" * MAX_SEARCH_LENGTH,
    "at-limit-suffix": "-" + "1" * (MAX_SEARCH_LENGTH - 1),
    "at-limit-astral": "\U0001f600" * MAX_SEARCH_LENGTH,
    "sql-percent": "%",
    "sql-underscore": "_",
    "sql-escape": "\\%",
    "quote": "'; --",
    "redis-star": "*",
    "redis-question": "?",
    "redis-class": "[a-z]",
    "regex": ".*",
    "lua-pattern": "%a",
    "fullwidth-digits": "\uff11\uff19\uff11\uff12",
    "arabic-indic-digits": "\u0661\u0669\u0661\u0662",
}

#: Identity numbers wrong in every way, with the code each must be refused with.
BAD_NUMBERS: dict[str, tuple[object, str]] = {
    "int": (191212121212, "pnr_format"),
    "None": (None, "pnr_format"),
    "bytes": (b"191212121212", "pnr_format"),
    "list": (["191212121212"], "pnr_format"),
    "empty": ("", "pnr_format"),
    "blank": ("   ", "pnr_format"),
    "too-short": ("1212121212"[:9], "pnr_format"),
    "thirteen-digits": ("1912121212121", "pnr_format"),
    "reserve-letters": ("19121212-12AB", "pnr_reserve_number"),
    "letters": ("1912121X-1212", "pnr_format"),
    "template": ("YYYYMMDD-NNNN", "pnr_format"),
    "two-separators": ("191212--1212", "pnr_format"),
    "NUL": ("19121212-1212\x00", "pnr_format"),
    "newline-inside": ("19121212\n1212", "pnr_format"),
    "lone-surrogate": ("19121212-121\ud800", "pnr_format"),
    "fullwidth-digits": ("\uff11\uff19\uff11\uff12\uff11\uff12\uff11\uff12\uff11\uff12\uff11\uff12", "pnr_format"),
    "arabic-indic-digits": ("\u0661\u0669\u0661\u0662\u0661\u0662\u0661\u0662\u0661\u0662\u0661\u0662", "pnr_format"),
    "1MB": ("1" * ONE_MB, "pnr_format"),
    "checksum": ("19121212-1213", "pnr_checksum"),
    "month-13": ("19121312-1212", "pnr_date"),
    "day-32": ("19121232-1212", "pnr_date"),
    "february-30": ("19120230-1214", "pnr_date"),
    "serial-000": ("19121212-0004", "pnr_serial"),
    "future-birth": (str(_pnr("20991231", 123)), "pnr_future_birth_date"),
}

#: Page limits refused by every list.
BAD_LIMITS: dict[str, object] = {
    "zero": 0,
    "negative": -1,
    "past-limit": MAX_LIMIT + 1,
    "huge": 2**63,
    "True": True,
    "float": 1.5,
    "text": "10",
    "None": None,
}

#: Grant versions refused before any store sees them.
BAD_VERSIONS: dict[str, object] = {
    "zero": 0,
    "negative": -1,
    "past-limit": MAX_VERSION + 1,
    "2**63": 2**63,
    "2**64": 2**64,
    "True": True,
    "float": 1.0,
    "text": "1",
}

#: Event-feed cursors no store makes.
BAD_EVENT_CURSORS: dict[str, object] = {
    "int": 1,
    "bytes": b"1",
    "list": ["1"],
    "empty": "",
    "word": "x",
    "negative": "-1",
    "NUL": "\x00",
    "23-nines": "9" * 23,
    "past-limit-zeros": "0" * (MAX_ID_LENGTH + 1),
    "space-padded": " 1",
    "fullwidth-digit": "\uff11",
    "arabic-indic-digits": "\u0661\u0662",
    "underscore-digits": "1_0",
    "plus-sign": "+1",
    "hex": "0x1",
    "exponent": "1e3",
    "lone-surrogate": "\ud800",
    "1MB": "1" * ONE_MB,
}

#: Moments at which no number given as text can be judged the same (0001-01-01) or no
#: local date exists (9999-12-31 23:30 UTC is year 10000 in Stockholm).
FAR_PAST = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
FAR_FUTURE = dt.datetime(9999, 12, 31, 23, 30, tzinfo=dt.UTC)

_INVALID_ID = raises(InvalidRequest, "invalid_identifier")
_INVALID_NAME = raises(InvalidRequest, "invalid_name")


def _foreign_cursors(access: CareAccess) -> dict[str, object]:
    """Resident-list cursors that are not this list's: truncated, altered, of another
    clinic, of another search, of another store, of the old readable format, non-ASCII."""
    made = access.list_residents(ADMIN, CLINIC, limit=1).next_cursor
    other_clinic = access.list_residents(ADMIN, OTHER_CLINIC, limit=1).next_cursor
    other_search = access.list_residents(ADMIN, CLINIC, limit=1, search="19").next_cursor
    if made is None or other_clinic is None or other_search is None:
        raise AssertionError("the hostile world lists more than one resident per page of one")
    flipped = made[:-2] + ("A" if made[-2] != "A" else "B") + made[-1]
    other_store = Cursors(b"\x01" * 32).encode(APPROVED.digits, CLINIC, Search())
    digits = str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669")
    # A cursor is random text: about one in 160 holds no ASCII digit to translate, and then
    # its first character becomes one (an Arabic-Indic one) so it is always altered.
    translated = made.translate(digits)
    non_ascii = translated if translated != made else "\u0661" + made[1:]
    return {
        "int": 1,
        "bytes": made.encode(),
        "list": [made],
        "empty": "",
        "word": "x",
        "truncated": made[:-1],
        "extended": made + "A",
        "padded": made + "==",
        "space-padded": f" {made}",
        "bit-flipped": flipped,
        "other-clinic": other_clinic,
        "other-search": other_search,
        "other-store": other_store,
        "readable-old-format": "cjE6MTkxMjEyMTIxMjEy",
        "non-ascii-digits": "\u0661" * 30,
        "digits-made-non-ascii": non_ascii,
        "NUL": made[:-1] + "\x00",
        "1MB": "A" * ONE_MB,
    }


# -- helpers of the table -------------------------------------------------------------


def foreign_cursor_labels() -> list[str]:
    return [
        "int", "bytes", "list", "empty", "word", "truncated", "extended", "padded", "space-padded",
        "bit-flipped", "other-clinic", "other-search", "other-store", "readable-old-format",
        "non-ascii-digits", "digits-made-non-ascii", "NUL", "1MB",
    ]  # fmt: skip


def endless() -> Iterator[PersonalIdentityNumber]:
    """Distinct valid numbers without end (a caller's runaway generator)."""
    first = dt.date(1950, 1, 1)
    for index in itertools.count():
        birth = first + dt.timedelta(days=index // 999 % 20000)
        yield _pnr(birth.strftime("%Y%m%d"), index % 999 + 1)


def approval(clinic_id: Any, pnr: PersonalIdentityNumber, *, name: Any = "Importerad") -> Approval:
    return Approval(clinic_id, pnr, name, NOW - dt.timedelta(days=1), "import")


def grant(pnr: PersonalIdentityNumber, version: Any) -> Grant:
    at = NOW - dt.timedelta(days=1)
    return Grant(CLINIC, pnr, RESTRICTED, None, version, at, "import", at, "Importerad")


def verdict(decision: Any) -> tuple[bool, Reason]:
    return decision.allowed, decision.reason


def listed(page: Any) -> list[Any]:
    return list(page.items)
