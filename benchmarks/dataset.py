"""The benchmark's data: residents, clinics, case types, approvals and grants, all derived
from a resident's index, so every store (and pycasbin) holds exactly the same facts.

- Resident ``i`` has a valid, distinct identity number (a bijection of ``i`` onto birth
  dates 1930-2012 times serials 001-999) and lives at clinic ``(i // 100) % 1000``: 100
  residents per clinic up to 100,000 residents, then more per clinic up to 1,000 each at
  1,000,000. Growing from one size to the next only adds residents.
- Every clinic has two open case types (``fraga``, ``recept``) and two restricted ones
  (``kbt``, ``diabetes``) and no service area, so access comes from approvals and grants.
- Every resident is approved at their clinic; every 2nd holds ``kbt`` until further
  notice; every 5th holds ``diabetes`` until 2030-06-30, except every 50th, whose
  ``diabetes`` grant ended on 2024-12-31. That is 1.7 records per resident.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from collections.abc import Iterator

from attrs import frozen

from careaccess import Actor, Approval, CaseType, Clinic, Grant
from careaccess.identity import PersonalIdentityNumber, luhn_check_digit

__all__ = [
    "ADMIN",
    "CASE_TYPES",
    "MAX_CLINICS",
    "Request",
    "case_types_of",
    "clinic_id",
    "clinic_of",
    "clinics_for",
    "expected",
    "grants_of",
    "indexes_at",
    "name_of",
    "pnr_of",
    "record_counts",
    "records_for",
    "requests",
    "write_pnrs",
]

MAX_CLINICS = 1000
PER_CLINIC_BLOCK = 100
#: (case type id, name, restricted)
CASE_TYPES = (
    ("diabetes", "Diabetesmottagning", True),
    ("fraga", "Fråga om vård", False),
    ("kbt", "KBT-behandling", True),
    ("recept", "Förnya recept", False),
)
RECORDED_AT = dt.datetime(2025, 1, 15, 9, 30, tzinfo=dt.UTC)
GRANT_END = dt.date(2030, 6, 30)
ENDED = dt.date(2024, 12, 31)

_BIRTH_START = dt.date(1930, 1, 1)
_DAYS = 30_000
_SERIALS = 999
_SPACE = _DAYS * _SERIALS  # identity numbers available
_STRIDE = 7919  # prime, coprime with _SPACE: i -> (i * _STRIDE + _OFFSET) % _SPACE is a bijection
_OFFSET = 12_345
_FIRST = ("Anna", "Erik", "Åsa", "Lars", "Karin", "Nils", "Maria", "Johan", "Sara", "Björn", "Eva", "Per")
_LAST = ("Andersson", "Öberg", "Lindqvist", "Johansson", "Ek", "Nyström", "Karlsson", "Ångström", "Berg", "Holm")


def clinic_id(number: int) -> str:
    """The id of clinic number *number* (0-999)."""
    return f"c{number:04d}"


def _admin() -> Actor:
    return Actor(id="bench-admin", clinics=frozenset(clinic_id(n) for n in range(MAX_CLINICS)))


#: The local administrator of every benchmark clinic.
ADMIN = _admin()


def clinic_of(index: int) -> str:
    """The clinic resident *index* is listed at."""
    return clinic_id((index // PER_CLINIC_BLOCK) % MAX_CLINICS)


def indexes_at(number: int, residents: int) -> list[int]:
    """The indexes of the residents listed at clinic number *number* among the first *residents*."""
    blocks = range(number, -(-residents // PER_CLINIC_BLOCK), MAX_CLINICS)
    return [i for b in blocks for i in range(b * PER_CLINIC_BLOCK, min(residents, (b + 1) * PER_CLINIC_BLOCK))]


def clinics_for(residents: int) -> list[Clinic]:
    """The clinics that hold residents when there are *residents* of them."""
    count = min(MAX_CLINICS, -(-residents // PER_CLINIC_BLOCK))
    return [Clinic(clinic_id(n), f"Vårdcentralen {n}") for n in range(count)]


def case_types_of(clinic: str) -> list[CaseType]:
    """The clinic's four case types."""
    return [CaseType(clinic, ident, name, restricted=restricted) for ident, name, restricted in CASE_TYPES]


@functools.cache
def _birth_digits(day: int) -> str:
    """The eight date digits (YYYYMMDD) of birth day *day* after 1930-01-01, formatted once per day."""
    return f"{_BIRTH_START + dt.timedelta(days=day):%Y%m%d}"


def pnr_of(index: int) -> PersonalIdentityNumber:
    """The identity number of resident *index* (any index below 29,970,000 is distinct)."""
    slot = (index * _STRIDE + _OFFSET) % _SPACE
    birth = _birth_digits(slot // _SERIALS)
    nine = f"{birth[2:]}{slot % _SERIALS + 1:03d}"
    return PersonalIdentityNumber.from_digits(f"{birth[:2]}{nine}{luhn_check_digit(nine)}")


def name_of(index: int) -> str:
    """A resident's name (about 15-20 characters, some non-ASCII)."""
    return f"{_FIRST[index % len(_FIRST)]} {_LAST[(index // len(_FIRST)) % len(_LAST)]}"


def grants_of(index: int) -> list[tuple[str, dt.date | None]]:
    """The (case type id, end date) of each grant resident *index* holds."""
    held: list[tuple[str, dt.date | None]] = []
    if index % 2 == 0:
        held.append(("kbt", None))
    if index % 5 == 0:
        held.append(("diabetes", ENDED if index % 50 == 0 else GRANT_END))
    return held


def records_for(start: int, stop: int) -> Iterator[tuple[str, list[Approval], list[Grant]]]:
    """The approvals and grants of residents ``start..stop-1``, grouped by clinic.

    Yields ``(clinic_id, approvals, grants)`` once per clinic that gains residents, in
    clinic order; each group holds at most 1,000 residents (1,700 records).
    """
    groups: dict[str, tuple[list[Approval], list[Grant]]] = {}
    for index in range(start, stop):
        clinic = clinic_of(index)
        approvals, grants = groups.setdefault(clinic, ([], []))
        pnr = pnr_of(index)
        name = name_of(index)
        approvals.append(Approval(clinic, pnr, name, RECORDED_AT, ADMIN.id))
        for case_type, until in grants_of(index):
            grants.append(Grant(clinic, pnr, case_type, until, 1, RECORDED_AT, ADMIN.id, RECORDED_AT, name))
    for clinic in sorted(groups):
        approvals, grants = groups[clinic]
        yield clinic, approvals, grants


@frozen
class Request:
    """One decision to ask: resident *index* at their clinic, for *case_type*."""

    index: int
    pnr: str  # 12 digits, as a caller would pass it
    clinic_id: str
    case_type_id: str

    def as_tuple(self) -> tuple[str, str, str]:
        return (self.pnr, self.clinic_id, self.case_type_id)


def requests(residents: int, count: int, seed: int) -> list[Request]:
    """*count* decisions on residents drawn uniformly from all *residents*, case types in turn.

    The mix is a quarter each of ``fraga`` and ``recept`` (allowed by approval), ``kbt``
    (granted to half) and ``diabetes`` (granted to a fifth, a tenth of those expired).
    """
    rng = random.Random(seed)  # noqa: S311 -- reproducible sample, not a secret
    order = ("fraga", "kbt", "recept", "diabetes")
    chosen: list[Request] = []
    for n in range(count):
        index = rng.randrange(residents)
        chosen.append(Request(index, pnr_of(index).digits, clinic_of(index), order[n % len(order)]))
    return chosen


def expected(request: Request, day: dt.date) -> bool:
    """Whether the data set allows *request* on the local date *day*."""
    if request.case_type_id in ("fraga", "recept"):
        return True
    for case_type, until in grants_of(request.index):
        if case_type == request.case_type_id:
            return until is None or day <= until
    return False


def record_counts(residents: int) -> dict[str, int]:
    """How many approvals and grants the first *residents* residents hold (one event each)."""
    grants = -(-residents // 2) + -(-residents // 5)
    return {"approvals": residents, "grants": grants, "records": residents + grants}


def write_pnrs(size: int, count: int) -> list[PersonalIdentityNumber]:
    """Identity numbers of *count* residents outside every data set, for the write benchmarks.

    Distinct for each *size*, so measuring writes at several sizes never meets a resident twice.
    """
    base = 5_000_000 + size
    return [pnr_of(base + n) for n in range(count)]
