"""The whole country: up to 10.5 million residents over 1,200 clinics, derived from each resident's index.

- Resident ``i`` has the identity number and name of :func:`dataset.pnr_of` and
  :func:`dataset.name_of` and lives at home clinic ``(i // 100) % 1200``: growing the data
  set only adds residents, and at 1,000 residents ten clinics hold 100 each (so a page of
  50 is full at every size); at 10.5 million every clinic lists 8,750 residents at home.
- Every resident is approved at the home clinic; three in ten (``i % 10 < 3``) are also
  approved at a second clinic, ``(home + 600) % 1200``: most residents at one or two
  clinics, 1.3 approvals per resident.
- A minority hold grants, at the home clinic only: one in ten holds ``kbt`` until further
  notice, one in forty ``diabetes`` until 2030-06-30 (one in four hundred one that ended on
  2024-12-31): 0.125 grants per resident, 1.425 records per resident in all.
- Every clinic has the four case types of :data:`dataset.CASE_TYPES` and no service area.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

import dataset

from careaccess import Actor, Approval, CaseType, Clinic, Grant

__all__ = [
    "ADMIN",
    "CLINICS",
    "COUNTRY",
    "Request",
    "case_types_of",
    "clinic_id",
    "clinics",
    "expected",
    "grants_of",
    "records",
    "requests",
    "second_clinic",
]

COUNTRY = 10_500_000
CLINICS = 1200
BLOCK = 100
#: A resident's records go into import calls of at most this many residents per clinic.
CALL_RESIDENTS = 1000

Request = dataset.Request
case_types_of = dataset.case_types_of


def clinic_id(number: int) -> str:
    return f"k{number:04d}"


#: The local administrator of every clinic of the country.
ADMIN = Actor(id=dataset.ADMIN.id, clinics=frozenset(clinic_id(n) for n in range(CLINICS)))


def clinics() -> list[Clinic]:
    """All 1,200 clinics (they exist at every size)."""
    return [Clinic(clinic_id(n), f"Hälsocentralen {n}") for n in range(CLINICS)]


def home_number(index: int) -> int:
    return (index // BLOCK) % CLINICS


def second_clinic(index: int) -> str | None:
    """The resident's second clinic, for three residents in ten."""
    return clinic_id((home_number(index) + CLINICS // 2) % CLINICS) if index % 10 < 3 else None


def grants_of(index: int) -> list[tuple[str, dt.date | None]]:
    """(case type id, end date) of each grant resident *index* holds at the home clinic."""
    held: list[tuple[str, dt.date | None]] = []
    if index % 10 == 0:
        held.append(("kbt", None))
    if index % 40 == 0:
        held.append(("diabetes", dataset.ENDED if index % 400 == 0 else dataset.GRANT_END))
    return held


def _indexes(number: int, start: int, stop: int, *, second: bool) -> list[int]:
    """Residents in ``start..stop-1`` at clinic *number* (home, or with *second* the second approvals)."""
    home = (number - CLINICS // 2) % CLINICS if second else number
    first_block = start // BLOCK
    offset = (home - first_block) % CLINICS
    found: list[int] = []
    for block in range(first_block + offset, -(-stop // BLOCK), CLINICS):
        for index in range(max(start, block * BLOCK), min(stop, (block + 1) * BLOCK)):
            if not second or index % 10 < 3:
                found.append(index)
    return found


def records(start: int, stop: int) -> Iterator[tuple[str, list[Approval], list[Grant]]]:
    """The approvals and grants of residents ``start..stop-1``, one group per import call.

    Clinic by clinic; a group holds at most :data:`CALL_RESIDENTS` residents listed at
    home and as many with a second approval there (at most about 2,300 records).
    """
    admin, at = dataset.ADMIN.id, dataset.RECORDED_AT
    for number in range(CLINICS):
        clinic = clinic_id(number)
        home = _indexes(number, start, stop, second=False)
        second = _indexes(number, start, stop, second=True)
        for cut in range(0, max(len(home), len(second)), CALL_RESIDENTS):
            approvals: list[Approval] = []
            grants: list[Grant] = []
            for index in home[cut : cut + CALL_RESIDENTS]:
                pnr, name = dataset.pnr_of(index), dataset.name_of(index)
                approvals.append(Approval(clinic, pnr, name, at, admin))
                for case_type, until in grants_of(index):
                    grants.append(Grant(clinic, pnr, case_type, until, 1, at, admin, at, name))
            for index in second[cut : cut + CALL_RESIDENTS]:
                approvals.append(Approval(clinic, dataset.pnr_of(index), dataset.name_of(index), at, admin))
            if approvals or grants:
                yield clinic, approvals, grants


def record_counts(residents: int) -> dict[str, int]:
    """Approvals and grants of the first *residents* residents."""
    second = sum(1 for i in range(residents % 10) if i < 3) + (residents // 10) * 3
    grants = -(-residents // 10) + -(-residents // 40)
    return {"approvals": residents + second, "grants": grants, "records": residents + second + grants}


def requests(residents: int, count: int, seed: int) -> list[Request]:
    """*count* decisions on residents drawn uniformly: three in four at home, the rest at the
    second clinic where the resident has one; case types in turn."""
    rng = random.Random(seed)  # noqa: S311 -- reproducible sample, not a secret
    order = ("fraga", "kbt", "recept", "diabetes")
    chosen: list[Request] = []
    for n in range(count):
        index = rng.randrange(residents)
        second = second_clinic(index)
        clinic = second if second is not None and rng.random() < 0.25 else clinic_id(home_number(index))
        chosen.append(Request(index, dataset.pnr_of(index).digits, clinic, order[n % len(order)]))
    return chosen


def expected(request: Request, day: dt.date) -> bool:
    """Whether the data set allows *request* on the local date *day*."""
    if request.case_type_id in ("fraga", "recept"):
        return True
    if request.clinic_id != clinic_id(home_number(request.index)):
        return False  # grants are held at the home clinic only
    for case_type, until in grants_of(request.index):
        if case_type == request.case_type_id:
            return until is None or day <= until
    return False


def all_case_types() -> Iterator[CaseType]:
    for clinic in clinics():
        yield from case_types_of(clinic.id)
