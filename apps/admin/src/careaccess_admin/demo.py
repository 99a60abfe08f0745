"""Demo data: two clinics, their case types, a population register and some residents.

Used by ``careaccess-admin demo`` (``nox -s admin``), the screenshots and the tests.
Every name and identity number is fictional; the numbers are valid test-style
numbers built from a birth date, a serial and the Luhn check digit.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

from careaccess import (
    Actor,
    AreaRule,
    CareAccess,
    CaseType,
    Clinic,
    Grant,
    PersonalIdentityNumber,
    Residence,
    Resident,
    ServiceArea,
)
from careaccess.identity import luhn_check_digit

from careaccess_admin.admins import Admin, hash_password

__all__ = [
    "DEMO_PASSWORD",
    "DEMO_USER",
    "MAIN_CLINIC",
    "OTHER_CLINIC",
    "demo_admins",
    "demo_residents",
    "seed_demo",
    "test_number",
]

MAIN_CLINIC = "vc-exempel"
OTHER_CLINIC = "vc-norr"
THIRD_CLINIC = "vc-soder"
DEMO_USER = "anna"
DEMO_PASSWORD = "demo-lösenord"  # noqa: S105 (the published demo login)

_FIRST = ["Tolvan", "Greta", "Sven", "Astrid", "Nils", "Karin", "Olof", "Ingrid", "Erik", "Maja", "Lars", "Sigrid"]
_LAST = ["Tolvansson", "Exempelsson", "Provsson", "Testberg", "Demodotter", "Fiktiv", "Påhittad", "Låtsasson"]


def test_number(birth: dt.date, serial: int) -> PersonalIdentityNumber:
    """A valid identity number for a fictional resident born on *birth* (serial 1-999)."""
    nine = f"{birth:%y%m%d}{serial:03d}"
    return PersonalIdentityNumber.from_digits(f"{birth:%Y%m%d}{serial:03d}{luhn_check_digit(nine)}")


def _numbers() -> Iterator[PersonalIdentityNumber]:
    start = dt.date(1940, 1, 1)
    for index in itertools.count():
        yield test_number(start + dt.timedelta(days=index * 211), 100 + index % 800)


def demo_residents(count: int = 40) -> list[Resident]:
    """*count* fictional residents of Stockholm and Uppsala counties, with names."""
    residents = []
    for index, pnr in zip(range(count), _numbers(), strict=False):
        name = f"{_FIRST[index % len(_FIRST)]} {_LAST[(index // len(_FIRST) + index) % len(_LAST)]}"
        residence = Residence("01", "0180") if index % 3 else Residence("03", "0380")
        residents.append(Resident(pnr, name, residence))
    return residents


def demo_admins(password_hash: str | None = None) -> dict[str, Admin]:
    """Anna administers two clinics; Bertil only the third (for the refused-clinic case).

    :param password_hash: the hash both log in with; default: a new hash of :data:`DEMO_PASSWORD`.
    """
    hashed = password_hash or hash_password(DEMO_PASSWORD)
    return {
        DEMO_USER: Admin(DEMO_USER, "Anna Andersson", {MAIN_CLINIC, OTHER_CLINIC}, hashed),
        "bertil": Admin("bertil", "Bertil Berg", {THIRD_CLINIC}, hashed),
    }


def admins_toml(admins: dict[str, Admin]) -> str:
    """The admins file holding *admins*."""
    tables = []
    for admin in admins.values():
        clinics = ", ".join(f'"{clinic}"' for clinic in sorted(admin.clinics))
        tables.append(
            f'[[admin]]\nid = "{admin.id}"\nname = "{admin.name}"\nclinics = [{clinics}]\n'
            f'password_hash = "{admin.password_hash}"\n'
        )
    return "\n".join(tables)


def seed_demo(access: CareAccess, residents: list[Resident] | None = None) -> None:
    """Create the demo clinics and case types, and approve and grant a few residents.

    Uses only the library's workflows (so the event log tells the story); one grant that
    ended last month comes in through ``import_residents``, the only way to make one.
    """
    people = residents if residents is not None else demo_residents()
    setup = Actor("anna", {MAIN_CLINIC, OTHER_CLINIC, THIRD_CLINIC})
    stockholm = ServiceArea([AreaRule("01", "0180")])
    access.put_clinic(setup, Clinic(MAIN_CLINIC, "Vårdcentralen Exempel", stockholm))
    access.put_clinic(setup, Clinic(OTHER_CLINIC, "Vårdcentralen Norr"))
    access.put_clinic(setup, Clinic(THIRD_CLINIC, "Vårdcentralen Söder"))
    for clinic_id in (MAIN_CLINIC, OTHER_CLINIC, THIRD_CLINIC):
        access.put_case_type(setup, CaseType(clinic_id, "radgivning", "Rådgivning"))
        access.put_case_type(setup, CaseType(clinic_id, "provsvar", "Provsvar", restricted=True))
    access.put_case_type(setup, CaseType(MAIN_CLINIC, "kbt", "KBT-behandling", restricted=True))
    access.put_case_type(setup, CaseType(MAIN_CLINIC, "recept", "Förnya recept"))
    today = access.today()
    for resident in people[:12]:
        access.approve_resident(setup, MAIN_CLINIC, resident.pnr)
    for resident in people[3:7]:
        access.grant_case_type(setup, MAIN_CLINIC, resident.pnr, "provsvar", today + dt.timedelta(days=90))
    access.grant_case_type(setup, MAIN_CLINIC, people[12].pnr, "kbt", None)
    expired = people[13]
    ended = today - dt.timedelta(days=30)
    granted_at = access.now() - dt.timedelta(days=120)
    access.import_residents(
        setup,
        MAIN_CLINIC,
        grants=[Grant(MAIN_CLINIC, expired.pnr, "kbt", ended, 1, granted_at, "anna", granted_at, expired.name)],
    )
    for resident in people[20:23]:
        access.approve_resident(setup, OTHER_CLINIC, resident.pnr)
