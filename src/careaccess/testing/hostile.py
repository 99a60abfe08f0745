"""Hostile and careless input, checked the same on every store.

Three checks any store's test suite can run (they need ``pytest`` and ``hypothesis``):

- **One answer to bad input.** :func:`hostile_cases` is a table: every public method of
  :class:`~careaccess.CareAccess`, called with wrong types (``int``, ``None``,
  ``bytes``, ``list`` where text is expected), empty and space-padded text, NUL and other
  control characters, lone surrogates, text at and just past each documented limit
  (:mod:`careaccess.validation`), 1 MB strings, malformed identity numbers, naive and
  extreme datetimes, bad page limits, forged and foreign cursors and out-of-range
  versions. Each row names the one outcome every store must give: a documented error
  class and code, a fail-closed decision, or an empty answer. :func:`check_case` runs
  one row and asserts that nothing was written (the store's listable state and the whole
  event feed are the same before and after). Never ``StoreUnavailable``, never a raw
  Python error.
- **No identity number where it can leak.** :func:`leak_workflow` runs a whole
  workflow (approve, grant, change, list with search and cursor, decide, decide_many,
  the feed, a failing notification hook, a failing directory hook, hostile input);
  :func:`assert_no_identity_number` checks every log record (message, arguments and
  traceback rendered) and every ``repr`` against every written form of the numbers used.
- **Memory stays flat.** :func:`retained_bytes` makes many calls with unique 200 kB
  ids and returns how much more memory (``tracemalloc``) the process holds afterwards.

Subclass :class:`HostileChecks` in a test module and give it a ``store`` fixture that
yields a fresh, empty store, as for :class:`careaccess.testing.conformance.StoreConformance`::

    class TestMyStoreHostile(HostileChecks):
        @pytest.fixture
        def store(self):
            store = MyStore("...")
            yield store
            store.close()

.. versionadded:: 0.1
"""

from __future__ import annotations

import datetime as dt
import gc
import itertools
import logging
import re
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar

import attrs
import pytest
from attrs import frozen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careaccess import (
    Actor,
    Approval,
    CareAccess,
    CareAccessError,
    CaseType,
    Clinic,
    Conflict,
    Grant,
    InvalidIdentityNumber,
    InvalidRequest,
    NotFound,
    PersonalIdentityNumber,
    Reason,
    Resident,
    connect,
    hookimpl,
)
from careaccess.identity import luhn_check_digit
from careaccess.listing import MAX_LIMIT, Cursors, Search
from careaccess.store import MAX_BULK, MAX_IMPORT, MAX_VERSION, ResidentQuery, Store
from careaccess.testing.clock import FrozenClock
from careaccess.testing.strategies import identity_numbers
from careaccess.validation import MAX_DECIDE_MANY, MAX_ID_LENGTH, MAX_NAME_LENGTH, MAX_SEARCH_LENGTH

__all__ = [
    "CLINIC",
    "OTHER_CLINIC",
    "HostileCase",
    "HostileChecks",
    "Outcome",
    "assert_no_identity_number",
    "check_case",
    "check_outcome",
    "hostile_cases",
    "hostile_world",
    "leak_workflow",
    "number_forms",
    "raises",
    "refused",
    "retained_bytes",
    "returns",
    "snapshot",
]

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
        "digits-made-non-ascii": made.translate(digits),
        "NUL": made[:-1] + "\x00",
        "1MB": "A" * ONE_MB,
    }


def hostile_cases() -> list[HostileCase]:  # noqa: PLR0912, PLR0915 - one table, read top to bottom
    """The table: every row must give its outcome on every store, writing nothing.

    Rows needing a cursor made by the store itself build it when called.
    """
    cases: list[HostileCase] = []

    def add(method: str, label: str, call: Callable[..., object], expect: Outcome) -> None:
        cases.append(HostileCase(method, label, call, expect))

    a = ADMIN
    for label, bad in BAD_IDS.items():
        add("put_clinic", f"id-{label}", lambda s, v=bad: s.put_clinic(a, Clinic(v, "Namn")), _INVALID_ID)
        add(
            "put_case_type",
            f"clinic-{label}",
            lambda s, v=bad: s.put_case_type(a, CaseType(v, OPEN, "Namn")),
            _INVALID_ID,
        )
        add(
            "put_case_type",
            f"id-{label}",
            lambda s, v=bad: s.put_case_type(a, CaseType(CLINIC, v, "Namn")),
            _INVALID_ID,
        )
        add("remove_case_type", f"clinic-{label}", lambda s, v=bad: s.remove_case_type(a, v, OPEN), _INVALID_ID)
        add("remove_case_type", f"id-{label}", lambda s, v=bad: s.remove_case_type(a, CLINIC, v), _INVALID_ID)
        add("approve_resident", label, lambda s, v=bad: s.approve_resident(a, v, STRANGER, name="N"), _INVALID_ID)
        add("revoke_approval", label, lambda s, v=bad: s.revoke_approval(a, v, APPROVED), _INVALID_ID)
        add(
            "grant_case_type",
            f"clinic-{label}",
            lambda s, v=bad: s.grant_case_type(a, v, APPROVED, RESTRICTED),
            _INVALID_ID,
        )
        add("grant_case_type", f"id-{label}", lambda s, v=bad: s.grant_case_type(a, CLINIC, APPROVED, v), _INVALID_ID)
        add(
            "change_grant",
            f"clinic-{label}",
            lambda s, v=bad: s.change_grant(a, v, GRANTED, RESTRICTED, None),
            _INVALID_ID,
        )
        add("change_grant", f"id-{label}", lambda s, v=bad: s.change_grant(a, CLINIC, GRANTED, v, None), _INVALID_ID)
        add("remove_grant", f"clinic-{label}", lambda s, v=bad: s.remove_grant(a, v, GRANTED, RESTRICTED), _INVALID_ID)
        add("remove_grant", f"id-{label}", lambda s, v=bad: s.remove_grant(a, CLINIC, GRANTED, v), _INVALID_ID)
        add("import_residents", label, lambda s, v=bad: s.import_residents(a, v, ()), _INVALID_ID)
        add("revoke_approvals", label, lambda s, v=bad: s.revoke_approvals(a, v, [APPROVED]), _INVALID_ID)
        add(
            "remove_grants",
            f"clinic-{label}",
            lambda s, v=bad: s.remove_grants(a, v, [(GRANTED, RESTRICTED)]),
            _INVALID_ID,
        )
        add("remove_grants", f"id-{label}", lambda s, v=bad: s.remove_grants(a, CLINIC, [(GRANTED, v)]), _INVALID_ID)
        add(
            "grant_case_types",
            f"clinic-{label}",
            lambda s, v=bad: s.grant_case_types(a, v, [APPROVED], RESTRICTED),
            _INVALID_ID,
        )
        add(
            "grant_case_types",
            f"id-{label}",
            lambda s, v=bad: s.grant_case_types(a, CLINIC, [APPROVED], v),
            _INVALID_ID,
        )
        add("resident_access", label, lambda s, v=bad: s.resident_access(a, v, APPROVED), _INVALID_ID)
        add("list_residents", label, lambda s, v=bad: s.list_residents(a, v), _INVALID_ID)
        add("decide", f"clinic-{label}", lambda s, v=bad: s.decide(APPROVED, v, OPEN), refused(Reason.UNKNOWN_CLINIC))
        add("decide", f"id-{label}", lambda s, v=bad: s.decide(APPROVED, CLINIC, v), refused(Reason.UNKNOWN_CASE_TYPE))
        add(
            "decide",
            f"both-{label}",
            lambda s, v=bad: s.decide(APPROVED, v, v),
            refused(Reason.UNKNOWN_CLINIC),
        )
        add(
            "decide_many",
            f"clinic-{label}",
            lambda s, v=bad: s.decide_many([(APPROVED, v, OPEN), (GRANTED, v, RESTRICTED)]),
            refused(Reason.UNKNOWN_CLINIC),
        )
        add(
            "decide_many",
            f"id-{label}",
            lambda s, v=bad: s.decide_many([(APPROVED, CLINIC, v)]),
            refused(Reason.UNKNOWN_CASE_TYPE),
        )
        if bad is not None:  # None: every clinic's events
            add("events", f"clinic-{label}", lambda s, v=bad: s.events(clinic_id=v), returns([]))
        add("clinic", label, lambda s, v=bad: s.clinic(v), returns(None))
        add("case_types", label, lambda s, v=bad: s.case_types(v), returns([]))

    for label, odd in ODD_IDS.items():
        unknown_clinic = raises(NotFound, "unknown_clinic")
        add(
            "put_case_type",
            f"unknown-clinic-{label}",
            lambda s, v=odd: s.put_case_type(a, CaseType(v, OPEN, "N")),
            unknown_clinic,
        )
        add(
            "remove_case_type",
            f"unknown-clinic-{label}",
            lambda s, v=odd: s.remove_case_type(a, v, OPEN),
            unknown_clinic,
        )
        add(
            "remove_case_type",
            f"unknown-{label}",
            lambda s, v=odd: s.remove_case_type(a, CLINIC, v),
            raises(NotFound, "unknown_case_type"),
        )
        add(
            "approve_resident",
            f"unknown-{label}",
            lambda s, v=odd: s.approve_resident(a, v, STRANGER, name="N"),
            unknown_clinic,
        )
        add(
            "revoke_approval",
            f"unknown-{label}",
            lambda s, v=odd: s.revoke_approval(a, v, APPROVED),
            raises(NotFound, "approval_not_found"),
        )
        add(
            "grant_case_type",
            f"unknown-clinic-{label}",
            lambda s, v=odd: s.grant_case_type(a, v, APPROVED, RESTRICTED),
            unknown_clinic,
        )
        add(
            "grant_case_type",
            f"unknown-{label}",
            lambda s, v=odd: s.grant_case_type(a, CLINIC, APPROVED, v),
            raises(NotFound, "unknown_case_type"),
        )
        add(
            "change_grant",
            f"unknown-{label}",
            lambda s, v=odd: s.change_grant(a, CLINIC, GRANTED, v, None),
            raises(NotFound, "grant_not_found"),
        )
        add(
            "remove_grant",
            f"unknown-{label}",
            lambda s, v=odd: s.remove_grant(a, v, GRANTED, RESTRICTED),
            raises(NotFound, "grant_not_found"),
        )
        add(
            "import_residents",
            f"unknown-{label}",
            lambda s, v=odd: s.import_residents(a, v, [_approval(v, STRANGER)]),
            unknown_clinic,
        )
        add(
            "revoke_approvals",
            f"unknown-{label}",
            lambda s, v=odd: s.revoke_approvals(a, v, [APPROVED]),
            unknown_clinic,
        )
        add(
            "remove_grants",
            f"unknown-{label}",
            lambda s, v=odd: s.remove_grants(a, v, [(GRANTED, RESTRICTED)]),
            unknown_clinic,
        )
        add(
            "grant_case_types",
            f"unknown-{label}",
            lambda s, v=odd: s.grant_case_types(a, v, [APPROVED], RESTRICTED),
            unknown_clinic,
        )
        add("resident_access", f"unknown-{label}", lambda s, v=odd: s.resident_access(a, v, APPROVED), unknown_clinic)
        add("list_residents", f"unknown-{label}", lambda s, v=odd: s.list_residents(a, v), unknown_clinic)
        add(
            "decide",
            f"unknown-clinic-{label}",
            lambda s, v=odd: s.decide(APPROVED, v, OPEN),
            refused(Reason.UNKNOWN_CLINIC),
        )
        add(
            "decide",
            f"unknown-{label}",
            lambda s, v=odd: s.decide(APPROVED, CLINIC, v),
            refused(Reason.UNKNOWN_CASE_TYPE),
        )
        add(
            "decide_many",
            f"unknown-{label}",
            lambda s, v=odd: s.decide_many([(APPROVED, v, OPEN), (APPROVED, CLINIC, v)] * 2),
            Outcome(value=[Reason.UNKNOWN_CLINIC, Reason.UNKNOWN_CASE_TYPE] * 2),
        )
        add("events", f"unknown-{label}", lambda s, v=odd: s.events(clinic_id=v), returns([]))
        add("clinic", f"unknown-{label}", lambda s, v=odd: s.clinic(v), returns(None))
        add("case_types", f"unknown-{label}", lambda s, v=odd: s.case_types(v), returns([]))

    for label, bad in BAD_NAMES.items():
        add("put_clinic", f"name-{label}", lambda s, v=bad: s.put_clinic(a, Clinic(CLINIC, v)), _INVALID_NAME)
        add(
            "put_case_type",
            f"name-{label}",
            lambda s, v=bad: s.put_case_type(a, CaseType(CLINIC, OPEN, v)),
            _INVALID_NAME,
        )
        add(
            "approve_resident",
            f"name-{label}",
            lambda s, v=bad: s.approve_resident(a, CLINIC, STRANGER, name=v),
            _INVALID_NAME,
        )
        add(
            "grant_case_type",
            f"name-{label}",
            lambda s, v=bad: s.grant_case_type(a, CLINIC, APPROVED, RESTRICTED, name=v),
            _INVALID_NAME,
        )
        import_code = "invalid_record" if not isinstance(bad, str) else "invalid_name"
        add(
            "import_residents",
            f"name-{label}",
            lambda s, v=bad: s.import_residents(a, CLINIC, [_approval(CLINIC, STRANGER, name=v)]),
            raises(InvalidRequest, import_code),
        )
    for label in ("None", "empty"):
        add(
            "put_clinic",
            f"name-{label}",
            lambda s, v=None if label == "None" else "": s.put_clinic(a, Clinic(CLINIC, v)),
            _INVALID_NAME,
        )

    for label, bad in BAD_SEARCHES.items():
        add(
            "list_residents",
            f"search-{label}",
            lambda s, v=bad: s.list_residents(a, CLINIC, search=v),
            raises(InvalidRequest, "invalid_search"),
        )
    for label, text in EMPTY_SEARCHES.items():
        add(
            "list_residents",
            f"search-{label}",
            lambda s, v=text: _listed(s.list_residents(a, CLINIC, search=v)),
            returns([]),
        )

    for label, (bad, code) in BAD_NUMBERS.items():
        refusal = raises(InvalidIdentityNumber, code)
        add("approve_resident", f"pnr-{label}", lambda s, v=bad: s.approve_resident(a, CLINIC, v, name="N"), refusal)
        add("revoke_approval", f"pnr-{label}", lambda s, v=bad: s.revoke_approval(a, CLINIC, v), refusal)
        add("grant_case_type", f"pnr-{label}", lambda s, v=bad: s.grant_case_type(a, CLINIC, v, RESTRICTED), refusal)
        add("change_grant", f"pnr-{label}", lambda s, v=bad: s.change_grant(a, CLINIC, v, RESTRICTED, None), refusal)
        add("remove_grant", f"pnr-{label}", lambda s, v=bad: s.remove_grant(a, CLINIC, v, RESTRICTED), refusal)
        add("revoke_approvals", f"pnr-{label}", lambda s, v=bad: s.revoke_approvals(a, CLINIC, [APPROVED, v]), refusal)
        add(
            "remove_grants",
            f"pnr-{label}",
            lambda s, v=bad: s.remove_grants(a, CLINIC, [(GRANTED, RESTRICTED), (v, RESTRICTED)]),
            refusal,
        )
        add(
            "grant_case_types",
            f"pnr-{label}",
            lambda s, v=bad: s.grant_case_types(a, CLINIC, [STRANGER, v], RESTRICTED),
            refusal,
        )
        add("resident_access", f"pnr-{label}", lambda s, v=bad: s.resident_access(a, CLINIC, v), refusal)
        add("decide", f"pnr-{label}", lambda s, v=bad: s.decide(v, CLINIC, OPEN), refusal)
        add(
            "decide_many",
            f"pnr-{label}",
            lambda s, v=bad: s.decide_many([(APPROVED, CLINIC, OPEN), (v, CLINIC, OPEN)]),
            refusal,
        )
        add("lookup_resident", f"pnr-{label}", lambda s, v=bad: s.lookup_resident(v), refusal)

    naive = dt.datetime(2026, 1, 15, 9, 30)  # noqa: DTZ001 - the point of the row
    naive_refusal = raises(InvalidRequest, "naive_datetime")
    add("decide", "at-naive", lambda s: s.decide(APPROVED, CLINIC, OPEN, at=naive), naive_refusal)
    add("decide_many", "at-naive", lambda s: s.decide_many([(APPROVED, CLINIC, OPEN)], at=naive), naive_refusal)
    add("decide", "at-date", lambda s: s.decide(APPROVED, CLINIC, OPEN, at=dt.date(2026, 1, 15)), naive_refusal)
    add("decide", "at-text", lambda s: s.decide(APPROVED, CLINIC, OPEN, at="2026-01-15T09:30Z"), naive_refusal)
    add(
        "decide",
        "text-pnr-at-year-1",
        lambda s: s.decide(str(APPROVED), CLINIC, OPEN, at=FAR_PAST),
        raises(InvalidIdentityNumber, "pnr_future_birth_date"),
    )
    for label, moment in (("year-1", FAR_PAST), ("9999-12-31T23:30Z", FAR_FUTURE)):
        approved = returns((True, Reason.APPROVED))
        add("decide", f"at-{label}", lambda s, m=moment: _verdict(s.decide(APPROVED, CLINIC, OPEN, at=m)), approved)
        add(
            "decide",
            f"granted-at-{label}",
            lambda s, m=moment: _verdict(s.decide(GRANTED, CLINIC, RESTRICTED, at=m)),
            returns((True, Reason.GRANTED)),
        )
        add(
            "decide",
            f"not-granted-at-{label}",
            lambda s, m=moment: _verdict(s.decide(APPROVED, CLINIC, RESTRICTED, at=m)),
            returns((False, Reason.NOT_GRANTED)),
        )
        add(
            "decide_many",
            f"at-{label}",
            lambda s, m=moment: [_verdict(d) for d in s.decide_many([(APPROVED, CLINIC, OPEN)], at=m)],
            returns([(True, Reason.APPROVED)]),
        )
    add(
        "decide",
        "text-pnr-at-9999-12-31T23:30Z",
        lambda s: _verdict(s.decide(str(APPROVED), CLINIC, OPEN, at=FAR_FUTURE)),
        returns((True, Reason.APPROVED)),
    )
    past_date = dt.date(1, 1, 1)
    far_date = dt.date(9999, 12, 31)
    for method in ("grant_case_type", "change_grant"):
        grant_for = APPROVED if method == "grant_case_type" else GRANTED
        for label, until, code in (
            ("until-year-1", past_date, "end_date_in_past"),
            ("until-yesterday", NOW.date() - dt.timedelta(days=1), "end_date_in_past"),
            ("until-datetime", NOW, "invalid_date"),
            ("until-text", "2027-01-01", "invalid_date"),
            ("until-int", 20270101, "invalid_date"),
        ):
            verb = "grant_case_type" if method == "grant_case_type" else "change_grant"
            call = lambda s, u=until, p=grant_for, m=verb: getattr(s, m)(a, CLINIC, p, RESTRICTED, u)  # noqa: E731
            add(method, label, call, raises(InvalidRequest, code))
    add(
        "grant_case_types",
        "until-year-1",
        lambda s: s.grant_case_types(a, CLINIC, [APPROVED], RESTRICTED, past_date),
        raises(InvalidRequest, "end_date_in_past"),
    )
    add(
        "grant_case_type",
        "until-9999-12-31-exists",
        lambda s: s.grant_case_type(a, CLINIC, GRANTED, RESTRICTED, far_date),
        raises(Conflict, "grant_exists"),
    )

    invalid_limit = raises(InvalidRequest, "invalid_limit")
    for label, limit in BAD_LIMITS.items():
        add("list_residents", f"limit-{label}", lambda s, v=limit: s.list_residents(a, CLINIC, limit=v), invalid_limit)
        add("events", f"limit-{label}", lambda s, v=limit: s.events(limit=v), invalid_limit)
        add("events", f"clinic-limit-{label}", lambda s, v=limit: s.events(limit=v, clinic_id=CLINIC), invalid_limit)

    invalid_cursor = raises(InvalidRequest, "invalid_cursor")
    for label in _foreign_cursor_labels():
        add(
            "list_residents",
            f"cursor-{label}",
            lambda s, k=label: s.list_residents(a, CLINIC, limit=1, cursor=_foreign_cursors(s)[k]),
            invalid_cursor,
        )
    for label, bad in BAD_EVENT_CURSORS.items():
        add("events", f"after-{label}", lambda s, v=bad: s.events(after=v), invalid_cursor)
        add("events", f"clinic-after-{label}", lambda s, v=bad: s.events(after=v, clinic_id=CLINIC), invalid_cursor)

    invalid_version = raises(InvalidRequest, "invalid_version")
    for label, version in BAD_VERSIONS.items():
        add(
            "change_grant",
            f"version-{label}",
            lambda s, v=version: s.change_grant(a, CLINIC, GRANTED, RESTRICTED, None, v),
            invalid_version,
        )
        add(
            "remove_grant",
            f"version-{label}",
            lambda s, v=version: s.remove_grant(a, CLINIC, GRANTED, RESTRICTED, v),
            invalid_version,
        )
        add(
            "import_residents",
            f"version-{label}",
            lambda s, v=version: s.import_residents(a, CLINIC, (), [_grant(STRANGER, v)]),
            invalid_version,
        )
    mismatch = raises(Conflict, "version_mismatch")
    add(
        "change_grant",
        "version-at-limit",
        lambda s: s.change_grant(a, CLINIC, GRANTED, RESTRICTED, None, MAX_VERSION),
        mismatch,
    )
    add(
        "remove_grant",
        "version-at-limit",
        lambda s: s.remove_grant(a, CLINIC, GRANTED, RESTRICTED, MAX_VERSION),
        mismatch,
    )

    too_many = MAX_DECIDE_MANY + 1
    add(
        "decide_many",
        "past-limit",
        lambda s: s.decide_many([(APPROVED, CLINIC, OPEN)] * too_many),
        raises(InvalidRequest, "too_many_requests"),
    )
    add(
        "decide_many",
        "endless",
        lambda s: s.decide_many(itertools.repeat((APPROVED, CLINIC, OPEN))),
        raises(InvalidRequest, "too_many_requests"),
    )
    add("decide_many", "none", lambda s: s.decide_many([]), returns([]))
    bulk_too_large = raises(InvalidRequest, "bulk_too_large")
    many = list(itertools.islice(_endless(), MAX_BULK + 1))
    add("revoke_approvals", "past-limit", lambda s: s.revoke_approvals(a, CLINIC, many), bulk_too_large)
    add("revoke_approvals", "endless", lambda s: s.revoke_approvals(a, CLINIC, _endless()), bulk_too_large)
    add("grant_case_types", "past-limit", lambda s: s.grant_case_types(a, CLINIC, many, RESTRICTED), bulk_too_large)
    add(
        "remove_grants",
        "past-limit",
        lambda s: s.remove_grants(a, CLINIC, [(p, RESTRICTED) for p in many]),
        bulk_too_large,
    )
    add(
        "remove_grants",
        "endless",
        lambda s: s.remove_grants(a, CLINIC, ((p, RESTRICTED) for p in _endless())),
        bulk_too_large,
    )
    add(
        "import_residents",
        "past-limit",
        lambda s: s.import_residents(a, CLINIC, [_approval(CLINIC, p) for p in many[: MAX_IMPORT + 1]]),
        raises(InvalidRequest, "import_too_large"),
    )
    add(
        "import_residents",
        "other-clinic-record",
        lambda s: s.import_residents(a, CLINIC, [_approval(OTHER_CLINIC, STRANGER)]),
        raises(InvalidRequest, "import_mixed_clinics"),
    )
    add(
        "import_residents",
        "record-not-a-record",
        lambda s: s.import_residents(a, CLINIC, [{"pnr": STRANGER.digits}]),
        raises(InvalidRequest, "invalid_record"),
    )
    add(
        "import_residents",
        "existing-record",
        lambda s: s.import_residents(a, CLINIC, [_approval(CLINIC, STRANGER), _approval(CLINIC, APPROVED)]),
        raises(Conflict, "approval_exists"),
    )
    # The acting administrator and an imported record's author follow the id rules too.
    for label, bad in BAD_IDS.items():
        add(
            "approve_resident",
            f"actor-{label}",
            lambda s, v=bad: s.approve_resident(Actor(v, frozenset({CLINIC})), CLINIC, STRANGER, name="N"),
            _INVALID_ID,
        )
        author = raises(InvalidRequest, "invalid_record")
        add(
            "import_residents",
            f"author-{label}",
            lambda s, v=bad: s.import_residents(a, CLINIC, [Approval(CLINIC, STRANGER, "N", NOW, v)]),
            author,
        )
    # Not the objects asked for: a clear InvalidRequest, never a raw Python error.
    shape = raises(InvalidRequest, "invalid_request")
    add("put_clinic", "clinic-None", lambda s: s.put_clinic(a, None), shape)
    add("put_case_type", "case-type-None", lambda s: s.put_case_type(a, None), shape)
    add("approve_resident", "actor-None", lambda s: s.approve_resident(None, CLINIC, STRANGER), shape)
    add("revoke_approvals", "actor-str", lambda s: s.revoke_approvals("hostile-admin", CLINIC, [APPROVED]), shape)
    add("decide_many", "item-None", lambda s: s.decide_many([None]), shape)
    add("decide_many", "item-pair", lambda s: s.decide_many([(APPROVED, CLINIC)]), shape)
    add("decide_many", "item-str", lambda s: s.decide_many(["abc"]), shape)
    add("remove_grants", "item-not-a-pair", lambda s: s.remove_grants(a, CLINIC, [GRANTED]), shape)
    add("remove_grants", "item-triple", lambda s: s.remove_grants(a, CLINIC, [(GRANTED, RESTRICTED, 1)]), shape)
    return cases


def _foreign_cursor_labels() -> list[str]:
    return [
        "int", "bytes", "list", "empty", "word", "truncated", "extended", "padded", "space-padded",
        "bit-flipped", "other-clinic", "other-search", "other-store", "readable-old-format",
        "non-ascii-digits", "digits-made-non-ascii", "NUL", "1MB",
    ]  # fmt: skip


def _endless() -> Iterator[PersonalIdentityNumber]:
    """Distinct valid numbers without end (a caller's runaway generator)."""
    first = dt.date(1950, 1, 1)
    for index in itertools.count():
        birth = first + dt.timedelta(days=index // 999 % 20000)
        yield _pnr(birth.strftime("%Y%m%d"), index % 999 + 1)


def _approval(clinic_id: Any, pnr: PersonalIdentityNumber, *, name: Any = "Importerad") -> Approval:
    return Approval(clinic_id, pnr, name, NOW - dt.timedelta(days=1), "import")


def _grant(pnr: PersonalIdentityNumber, version: Any) -> Grant:
    at = NOW - dt.timedelta(days=1)
    return Grant(CLINIC, pnr, RESTRICTED, None, version, at, "import", at, "Importerad")


def _verdict(decision: Any) -> tuple[bool, Reason]:
    return decision.allowed, decision.reason


def _listed(page: Any) -> list[Any]:
    return list(page.items)


# -- running a row ---------------------------------------------------------------------


def snapshot(access: CareAccess) -> tuple[Any, ...]:
    """Everything listable in the hostile world: the whole event feed, and each clinic's
    record, case types and residents (through the store, so no rule hides anything)."""
    store = access.store
    feed: list[Any] = []
    after: str | None = None
    while True:
        chunk = store.read_events(after, MAX_LIMIT, None)
        feed.extend(chunk)
        if len(chunk) < MAX_LIMIT:
            break
        after = chunk[-1].id
    state: list[Any] = [tuple(feed)]
    for clinic in (CLINIC, OTHER_CLINIC, *ODD_IDS.values()):
        state.append(store.get_clinic(clinic))
        state.append(tuple(store.list_case_types(clinic)))
        state.append(tuple(store.list_residents(ResidentQuery(clinic, MAX_LIMIT))))
    return tuple(state)


def check_case(access: CareAccess, case: HostileCase) -> None:
    """Run one row on *access* (a :func:`hostile_world`): its outcome, and nothing written.

    :raises AssertionError: naming the row, what it expected and what happened.
    """
    before = snapshot(access)
    check_outcome(access, case)
    if snapshot(access) != before:
        raise AssertionError(f"{case.id}: the store changed")


def check_outcome(access: CareAccess, case: HostileCase) -> None:
    """Run one row and check its outcome only (see :func:`check_case`)."""
    expect = case.expect
    try:
        result = case.call(access)
    except CareAccessError as error:
        if type(error) is not expect.error or error.code != expect.code:
            raise AssertionError(f"{case.id}: expected {expect}, raised {error!r}") from error
    else:
        if not _as_expected(result, expect):
            raise AssertionError(f"{case.id}: expected {expect}, returned {_short(result)}")


def _as_expected(result: Any, expect: Outcome) -> bool:
    if expect.error is not None:
        return False
    if expect.reason is not None:
        decisions = result if isinstance(result, list) else [result]
        return bool(decisions) and all(not d.allowed and d.reason is expect.reason for d in decisions)
    if isinstance(expect.value, list) and expect.value and isinstance(expect.value[0], Reason):
        return isinstance(result, list) and [(d.allowed, d.reason) for d in result] == [
            (False, r) for r in expect.value
        ]
    return bool(result == expect.value)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) < 300 else text[:300] + "…"


# -- leaks -----------------------------------------------------------------------------

#: Loggers put at DEBUG for the leak check: the library's, the drivers' and the root.
LEAK_LOGGERS = ("", "careaccess", "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "redis", "psycopg", "pymysql")


def number_forms(pnr: PersonalIdentityNumber) -> set[str]:
    """Every written form of *pnr* that identifies a person: 12 and 10 digits, with and
    without a separator (``-``, ``+``, space)."""
    twelve = pnr.digits
    ten = twelve[2:]
    forms = {twelve, ten}
    for separator in ("-", "+", " "):
        forms.add(f"{twelve[:8]}{separator}{twelve[8:]}")
        forms.add(f"{ten[:6]}{separator}{ten[6:]}")
    return forms


def assert_no_identity_number(texts: Iterable[str], people: Iterable[PersonalIdentityNumber]) -> None:
    """:raises AssertionError: naming the first text that holds a full number of *people*."""
    patterns = [
        (p, re.compile("|".join(re.escape(f) for f in sorted(number_forms(p), key=len, reverse=True)))) for p in people
    ]
    for text in texts:
        for person, pattern in patterns:
            found = pattern.search(text)
            if found is not None:
                shown = pattern.sub("<number>", text[max(0, found.start() - 80) : found.end() + 40])
                raise AssertionError(f"a full identity number ({person!r}) in: {shown!r}")


def rendered_records(records: Iterable[logging.LogRecord]) -> list[str]:
    """Each record as a handler would write it (message, arguments, traceback, stack)."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts: list[str] = []
    for record in records:
        texts.append(formatter.format(record))
        texts.append(repr(record.args))
        if record.exc_text:
            texts.append(record.exc_text)
    return texts


class _FailingNotify:
    """A notification hook that fails, its error naming the number (as a careless one would)."""

    @hookimpl
    def careaccess_notify(self, event: Any) -> None:
        raise RuntimeError(f"webhook refused event for {event.pnr.digits if event.pnr else '-'}")


class _FailingDirectory:
    """A directory hook that fails for one number, its error naming the number."""

    def __init__(self, failing: PersonalIdentityNumber) -> None:
        self.failing = failing
        #: The errors raised: the hook's own text, which reaches the caller unchanged.
        self.raised: list[BaseException] = []

    @hookimpl
    def careaccess_lookup_resident(self, pnr: PersonalIdentityNumber) -> Resident | None:
        if pnr == self.failing:
            error = ConnectionError(f"GET /population/{pnr.digits} ({pnr}) timed out")
            self.raised.append(error)
            raise error
        return Resident(pnr, "Namn Namnsson")


def leak_workflow(
    store: Store, clinic_id: str, people: list[PersonalIdentityNumber], failing: PersonalIdentityNumber
) -> list[object]:
    """A whole workflow on *store* with *people* (at least three): returns every object
    it got back or caught, for their ``repr`` to be checked; the caller checks the logs.

    *failing* is a number the directory fails for (it must not be among *people*).
    """
    directory = _FailingDirectory(failing)
    access = connect(store, plugins=[_AllowAll(), _FailingNotify(), directory], clock=FrozenClock(NOW))
    seen: list[object] = []
    first, second, third = people[:3]
    seen.append(access.put_clinic(ADMIN, Clinic(clinic_id, "Leak test")))
    seen.append(access.put_case_type(ADMIN, CaseType(clinic_id, OPEN, "Open")))
    seen.append(access.put_case_type(ADMIN, CaseType(clinic_id, RESTRICTED, "Restricted", restricted=True)))
    for index, person in enumerate(people):
        text = str(person) if index % 2 else person.digits
        seen.append(access.approve_resident(ADMIN, clinic_id, text, name=None if index == 0 else f"Person {index}"))
    seen.append(access.grant_case_type(ADMIN, clinic_id, first, RESTRICTED, NOW.date() + dt.timedelta(days=30)))
    seen.append(access.change_grant(ADMIN, clinic_id, first, RESTRICTED, None, 1))
    seen.append(access.grant_case_types(ADMIN, clinic_id, [second, third], RESTRICTED))
    page = access.list_residents(ADMIN, clinic_id, limit=1)
    seen.extend([page, page.next_cursor, *page.items])
    page = access.list_residents(ADMIN, clinic_id, limit=1, cursor=page.next_cursor)
    seen.extend([page, page.next_cursor])
    for search in (first.digits[:6], "-" + second.digits[-4:], "Person", first.digits):
        page = access.list_residents(ADMIN, clinic_id, limit=1, search=search)
        seen.extend([page, page.next_cursor])
    seen.append(access.resident_access(ADMIN, clinic_id, first))
    seen.append(access.decide(first, clinic_id, RESTRICTED))
    seen.append(access.decide(str(second), clinic_id, OPEN))
    seen.extend(access.decide_many([(p, clinic_id, RESTRICTED) for p in people]))
    seen.extend(access.events(clinic_id=clinic_id))
    seen.extend(access.events(limit=5))
    seen.append(access.revoke_approvals(ADMIN, clinic_id, [third]))
    seen.append(access.remove_grants(ADMIN, clinic_id, [(third, RESTRICTED)]))
    failures: list[Callable[[], object]] = [
        lambda: access.grant_case_type(ADMIN, clinic_id, first, RESTRICTED),  # grant_exists
        lambda: access.change_grant(ADMIN, clinic_id, first, RESTRICTED, None, 1),  # version_mismatch
        lambda: access.revoke_approval(ADMIN, clinic_id, third),  # approval_not_found
        lambda: access.approve_resident(ADMIN, clinic_id, failing),  # the directory fails
        lambda: access.approve_resident(ADMIN, clinic_id, first.digits[:-1] + str((int(first.digits[-1]) + 1) % 10)),
        lambda: access.approve_resident(ADMIN, clinic_id, first.digits, name="\x00"),
        lambda: access.list_residents(ADMIN, clinic_id, cursor=first.digits),
        lambda: access.list_residents(ADMIN, clinic_id, search=first.digits + "\x00"),
        lambda: access.events(after=first.digits),
        lambda: access.decide(first.digits, clinic_id + "\x00", OPEN),
        lambda: access.decide(first.digits, clinic_id, OPEN, at=dt.datetime(2026, 1, 1)),  # noqa: DTZ001
        lambda: access.import_residents(ADMIN, clinic_id, [_approval(clinic_id, first)]),
        lambda: access.put_clinic(ADMIN, Clinic(first.digits + "\x00", "x")),
    ]
    for fail in failures:
        try:
            seen.append(fail())
        except Exception as error:  # every error is checked, whatever its class
            if not any(error is raised for raised in directory.raised):
                seen.extend([error, str(error)])
    return seen


# -- memory ----------------------------------------------------------------------------

#: The size of each unique id the memory check sends: far past every limit.
BIG_ID_LENGTH = 200_000


def retained_bytes(access: CareAccess, calls: int, call: Callable[[CareAccess, str], object]) -> int:
    """How many bytes more the process holds (``tracemalloc``) after *calls* calls of
    *call* with a unique :data:`BIG_ID_LENGTH`-character id each, than after a warm-up."""

    def run(start: int, count: int) -> None:
        for index in range(start, start + count):
            call(access, f"{index:010d}".ljust(BIG_ID_LENGTH, "x"))

    run(0, 50)
    gc.collect()
    tracemalloc.start()
    try:
        run(50, 50)
        gc.collect()
        baseline, _ = tracemalloc.get_traced_memory()
        run(100, calls)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return after - baseline


#: What the memory check calls with each big id (all fail closed or find nothing).
MEMORY_CALLS: dict[str, Callable[[CareAccess, str], object]] = {
    "decide-clinic": lambda s, big: s.decide(APPROVED, big, OPEN),
    "decide-case-type": lambda s, big: s.decide(APPROVED, CLINIC, big),
    "clinic": lambda s, big: s.clinic(big),
    "case_types": lambda s, big: s.case_types(big),
    "events-clinic": lambda s, big: s.events(clinic_id=big),
}
#: Retained after 10,000 calls: a wide margin over noise, far below one id kept per call
#: (10,000 x 200 kB = 2 GB; 40 ids kept would already pass this bound).
RETAINED_BOUND = 8_000_000


# -- the pytest class ------------------------------------------------------------------


#: A new clinic for each example of the leak check (hypothesis replays examples).
_LEAK_CLINICS = itertools.count()


class HostileChecks:
    """The three checks on a store; subclasses provide a ``store`` fixture (fresh and empty)."""

    #: How many calls the memory check makes per kind of call.
    memory_calls: ClassVar[int] = 10_000

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        raise NotImplementedError("subclass HostileChecks and provide a `store` fixture")

    @pytest.fixture
    def hostile(self, store: Store) -> CareAccess:
        return hostile_world(store)

    def test_hostile_input(self, hostile: CareAccess) -> None:
        """Every row of :func:`hostile_cases` on one world (no row may change it); the
        failure lists every row that did not give its outcome."""
        before = snapshot(hostile)
        last = before[0][-1].id
        failures: list[str] = []
        for case in hostile_cases():
            try:
                check_outcome(hostile, case)
            except AssertionError as failure:
                failures.append(str(failure))
            except Exception as error:  # a raw error is a failing row, reported with the others
                failures.append(f"{case.id}: expected {case.expect}, raised {_short(error)}")
            # Every write appends an event (the store contract): a new one names the row.
            if hostile.store.read_events(last, 1, None):
                failures.append(f"{case.id}: wrote an event")
                last = snapshot(hostile)[0][-1].id
        if snapshot(hostile) != before:
            failures.append("the listable state changed over the table")
        assert not failures, f"{len(failures)} rows failed:\n" + "\n".join(failures)

    def test_limits_round_trip(self, hostile: CareAccess) -> None:
        """Ids and names at their limits, of 1-, 2- and 4-byte characters, are kept whole."""
        for index, (label, unit) in enumerate((("ascii", "x"), ("latin", "å"), ("astral", "\U0001f600"))):
            clinic = Clinic(unit * (MAX_ID_LENGTH - 1) + str(index), unit * MAX_NAME_LENGTH)
            hostile.put_clinic(ADMIN, clinic)
            assert hostile.clinic(clinic.id) == clinic, label
            case_type = CaseType(clinic.id, unit * MAX_ID_LENGTH, unit * MAX_NAME_LENGTH, restricted=True)
            hostile.put_case_type(ADMIN, case_type)
            assert hostile.case_types(clinic.id) == [case_type], label
            name = unit * MAX_NAME_LENGTH
            hostile.grant_case_type(ADMIN, clinic.id, APPROVED, case_type.id, name=name)
            page = hostile.list_residents(ADMIN, clinic.id, search=unit * MAX_SEARCH_LENGTH)
            assert [(r.pnr, r.name) for r in page.items] == [(APPROVED, name)], label
            assert hostile.decide(APPROVED, clinic.id, case_type.id).reason is Reason.GRANTED, label

    @settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        people=st.lists(
            identity_numbers(max_birth_date=dt.date(2025, 12, 31)), min_size=4, max_size=6, unique_by=lambda p: p.digits
        ),
    )
    def test_no_identity_number_leaks(
        self, store: Store, caplog: pytest.LogCaptureFixture, people: list[PersonalIdentityNumber]
    ) -> None:
        failing, *used = people
        caplog.clear()
        for name in LEAK_LOGGERS:
            caplog.set_level(logging.DEBUG, logger=name or None)
        seen = leak_workflow(store, f"leak-{next(_LEAK_CLINICS)}", used, failing)
        texts = rendered_records(caplog.records) + [repr(s) for s in seen] + [str(s) for s in seen]
        assert caplog.records, "nothing was logged: the check would prove nothing"
        assert_no_identity_number(texts, people)

    @pytest.mark.slow
    @pytest.mark.parametrize("kind", sorted(MEMORY_CALLS))
    def test_memory_stays_flat(self, hostile: CareAccess, kind: str) -> None:
        retained = retained_bytes(hostile, self.memory_calls, MEMORY_CALLS[kind])
        assert retained < RETAINED_BOUND, f"{kind}: {retained} bytes retained after {self.memory_calls} calls"
