"""The standard world every conformance test starts from, and the fixtures that build it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest

from careaccess import (
    Actor,
    AreaRule,
    CareAccess,
    CaseType,
    Clinic,
    Gender,
    Residence,
    Resident,
    ServiceArea,
    StaticDirectory,
    connect,
)
from careaccess.identity import PersonalIdentityNumber, luhn_check_digit
from careaccess.models import Grant
from careaccess.serialization import converter
from careaccess.store import (
    ResidentQuery,
    Store,
)
from careaccess.testing.clock import FrozenClock

STOCKHOLM = ZoneInfo("Europe/Stockholm")
UTC = dt.UTC


def make_pnr(birth: str, serial: int) -> PersonalIdentityNumber:
    """A valid identity number for the birth date ``YYYYMMDD`` (day + 60 for coordination) and serial."""
    nine = f"{birth[2:]}{serial:03d}"
    return PersonalIdentityNumber.from_digits(f"{birth}{serial:03d}{luhn_check_digit(nine)}")


# Residents of the standard world (born well before the clock's start date).
TOLVAN = make_pnr("19121212", 121)  # man, Stockholm county
ASA = make_pnr("19800314", 242)  # woman, Uppsala county, non-ASCII name
NILS = make_pnr("20050601", 357)  # man, no residence known
KAJSA = make_pnr("19901224", 468)  # woman, Stockholm county, aged 35 at the start
COORD = make_pnr("19700175", 571)  # coordination number (day 15 + 60)

RESIDENTS = (
    Resident(TOLVAN, "Tolvan Tolvansson", Residence("01", "0180")),
    Resident(ASA, "Åsa Öberg-Ärlig", Residence("03", "0380")),
    Resident(NILS, "Nils Holgersson", None),
    Resident(KAJSA, "Kajsa Anka", Residence("01", "0114")),
    Resident(COORD, "Zoë Ångström", Residence("12", "1280")),
)

C1, C2 = "vc-ost", "vc-vast"
OPEN, OPEN2, RESTRICTED, RESTRICTED2 = "fraga", "recept", "psyk-kbt", "diabetes"


def at_local(year: int, month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0) -> dt.datetime:
    """An aware moment given as Stockholm wall-clock time, converted to UTC."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=STOCKHOLM).astimezone(UTC)


class ConformanceBase:
    """Fixtures, the standard world and helpers shared by every area of the suite."""

    supports_threads: ClassVar[bool] = True
    race_threads: ClassVar[int] = 8

    # -- fixtures ----------------------------------------------------------------------

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        raise NotImplementedError("subclass StoreConformance and provide a `store` fixture")

    @pytest.fixture
    def clock(self) -> FrozenClock:
        return FrozenClock(at_local(2026, 1, 15, 9, 30))

    @pytest.fixture
    def directory(self) -> StaticDirectory:
        return StaticDirectory(RESIDENTS)

    @pytest.fixture
    def access(self, store: Store, clock: FrozenClock, directory: StaticDirectory) -> CareAccess:
        return connect(store, plugins=[directory], clock=clock)

    @pytest.fixture
    def admin(self) -> Actor:
        return Actor("admin-1", frozenset({C1, C2}))

    @pytest.fixture
    def outsider(self) -> Actor:
        return Actor("admin-9", frozenset({"elsewhere"}))

    @pytest.fixture
    def world(self, access: CareAccess, admin: Actor) -> CareAccess:
        """Two clinics: C1 serves Stockholm county (women 18–64 in Uppsala too), C2 has no area."""
        area = ServiceArea(
            (
                AreaRule(region="01"),
                AreaRule(region="03", municipality="0380", gender=Gender.FEMALE, min_age=18, max_age=64),
            )
        )
        access.put_clinic(admin, Clinic(C1, "Vårdcentralen Öst", area))
        access.put_clinic(admin, Clinic(C2, "Vårdcentralen Väst"))
        for clinic in (C1, C2):
            access.put_case_type(admin, CaseType(clinic, OPEN, "Fråga om vård"))
            access.put_case_type(admin, CaseType(clinic, OPEN2, "Förnya recept"))
            access.put_case_type(admin, CaseType(clinic, RESTRICTED, "KBT-behandling", restricted=True))
            access.put_case_type(admin, CaseType(clinic, RESTRICTED2, "Diabetesuppföljning", restricted=True))
        return access

    # -- helpers -----------------------------------------------------------------------

    @staticmethod
    def snapshot(access: CareAccess) -> tuple[Any, ...]:
        """Everything observable through the store, to assert that nothing changed."""
        store = access.store
        state: list[Any] = [tuple(store.read_events(None, 1000, None))]
        for clinic in (C1, C2, "elsewhere"):
            state.append(store.get_clinic(clinic))
            state.append(tuple(store.list_case_types(clinic)))
            state.append(tuple(access.store.list_residents(everyone(clinic))))
        return tuple(state)


def everyone(clinic_id: str) -> ResidentQuery:
    return ResidentQuery(clinic_id, 1000)


def grant_data(grant: Grant) -> dict[str, Any]:
    data: dict[str, Any] = converter.unstructure(grant)
    return data


def assert_same_list(actual: list[Any], expected: list[Any], what: str) -> None:
    """``actual == expected`` for long lists, failing with the first difference.

    pytest's own diff of two lists of thousands of records takes minutes; this names the
    position, both lengths and the two items there.
    """
    if actual == expected:
        return
    at = next((i for i, (a, b) in enumerate(zip(actual, expected, strict=False)) if a != b), None)
    if at is None:
        at = min(len(actual), len(expected))
    got = repr(actual[at]) if at < len(actual) else "nothing"
    wanted = repr(expected[at]) if at < len(expected) else "nothing"
    raise AssertionError(
        f"{what}: {len(actual)} items where {len(expected)} were expected; "
        f"first difference at {at}: {got[:300]} instead of {wanted[:300]}"
    )
