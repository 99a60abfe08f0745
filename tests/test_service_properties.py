"""Properties of the service over generated operations: authorization, bad input, no leaks."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from careaccess import (
    Actor,
    AreaRule,
    CareAccess,
    CareAccessError,
    CaseType,
    Clinic,
    Event,
    InvalidIdentityNumber,
    InvalidRequest,
    PermissionDenied,
    Residence,
    Resident,
    ServiceArea,
    StaticDirectory,
    connect,
    hookimpl,
)
from careaccess.identity import PersonalIdentityNumber
from careaccess.memory import MemoryStore
from careaccess.store import ResidentQuery
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import make_pnr

START = dt.datetime(2026, 1, 15, 8, 30, tzinfo=dt.UTC)
ADMIN = Actor("admin", frozenset({"c1", "c2"}))


@st.composite
def people(draw: st.DrawFn) -> PersonalIdentityNumber:
    born = draw(st.dates(dt.date(1925, 1, 1), dt.date(2020, 12, 31)))
    day = born.day + 60 if draw(st.booleans()) else born.day
    return make_pnr(f"{born:%Y%m}{day:02d}", draw(st.integers(1, 999)))


def world(clock: FrozenClock | None = None, plugins: tuple[object, ...] = ()) -> CareAccess:
    access = connect(MemoryStore(), clock=clock or FrozenClock(START), plugins=plugins)
    for clinic in ("c1", "c2"):
        access.put_clinic(ADMIN, Clinic(clinic, f"Mottagning {clinic}", ServiceArea((AreaRule(region="01"),))))
        access.put_case_type(ADMIN, CaseType(clinic, "open", "Fråga"))
        access.put_case_type(ADMIN, CaseType(clinic, "restricted", "KBT", restricted=True))
    return access


def state(access: CareAccess) -> tuple[Any, ...]:
    store = access.store
    return (
        tuple(store.read_events(None, 1000, None)),
        tuple(store.get_clinic(c) for c in ("c1", "c2", "x")),
        tuple(tuple(store.list_case_types(c)) for c in ("c1", "c2", "x")),
        tuple(tuple(store.list_residents(ResidentQuery(c, 1000))) for c in ("c1", "c2", "x")),
    )


Operation = Callable[[CareAccess, Actor, str, PersonalIdentityNumber], object]

OPERATIONS: dict[str, Operation] = {
    "put_clinic": lambda a, actor, c, p: a.put_clinic(actor, Clinic(c, "Kapad")),
    "put_case_type": lambda a, actor, c, p: a.put_case_type(actor, CaseType(c, "new", "Ny")),
    "remove_case_type": lambda a, actor, c, p: a.remove_case_type(actor, c, "open"),
    "approve": lambda a, actor, c, p: a.approve_resident(actor, c, p),
    "revoke": lambda a, actor, c, p: a.revoke_approval(actor, c, p),
    "grant": lambda a, actor, c, p: a.grant_case_type(actor, c, p, "restricted"),
    "change": lambda a, actor, c, p: a.change_grant(actor, c, p, "restricted", until=None),
    "remove_grant": lambda a, actor, c, p: a.remove_grant(actor, c, p, "restricted"),
    "resident_access": lambda a, actor, c, p: a.resident_access(actor, c, p),
    "list": lambda a, actor, c, p: a.list_residents(actor, c),
}


@given(
    person=people(),
    setup=st.lists(st.sampled_from(["approve", "grant", "change"]), max_size=3),
    attempts=st.lists(st.tuples(st.sampled_from(sorted(OPERATIONS)), st.sampled_from(["c1", "c2", "x"])), min_size=1),
    actor=st.builds(
        Actor, st.sampled_from(["intruder", "admin"]), st.frozensets(st.sampled_from(["c3", "other"]), max_size=2)
    ),
)
def test_actor_who_does_not_administer_changes_nothing(
    person: PersonalIdentityNumber, setup: list[str], attempts: list[tuple[str, str]], actor: Actor
) -> None:
    access = world()
    for name in setup:
        with contextlib.suppress(CareAccessError):  # e.g. changing a grant that does not exist yet
            OPERATIONS[name](access, ADMIN, "c1", person)
    before = state(access)
    for name, clinic in attempts:
        with pytest.raises(PermissionDenied):
            OPERATIONS[name](access, actor, clinic, person)
    assert state(access) == before


BAD_NUMBERS = ["", "abc", "19121212-1213", "121212+12", "20991231-1234", "19121212-0001", "19121312-1212"]


TAKES_PNR = sorted(set(OPERATIONS) - {"put_clinic", "put_case_type", "remove_case_type", "list"})


@pytest.mark.parametrize("name", TAKES_PNR)
@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_malformed_identity_number_changes_nothing(name: str, bad: str) -> None:
    access = world()
    before = state(access)
    with pytest.raises(InvalidIdentityNumber) as raised:
        OPERATIONS[name](access, ADMIN, "c1", bad)  # type: ignore[arg-type]
    assert raised.value.code.startswith("pnr_")
    assert state(access) == before
    with pytest.raises(InvalidIdentityNumber):
        access.decide(bad, "c1", "open")
    with pytest.raises(InvalidIdentityNumber):
        access.decide_many([("19121212-1212", "c1", "open"), (bad, "c1", "open")])


def test_naive_clock_is_refused_and_changes_nothing() -> None:
    access = world()
    before = state(access)
    naive = connect(access.store, clock=lambda: dt.datetime(2026, 1, 1, 12, 0))
    with pytest.raises(InvalidRequest) as raised:
        naive.approve_resident(ADMIN, "c1", make_pnr("19121212", 121))
    assert raised.value.code == "naive_datetime"
    with pytest.raises(InvalidRequest):
        naive.decide("191212121212", "c1", "open")
    assert state(access) == before


def test_until_must_be_a_date() -> None:
    access = world()
    with pytest.raises(InvalidRequest) as raised:
        access.grant_case_type(ADMIN, "c1", "191212121212", "restricted", until=START)
    assert raised.value.code == "invalid_date"


def test_unknown_time_zone() -> None:
    with pytest.raises(InvalidRequest) as raised:
        connect(timezone="Europe/Atlantis")
    assert raised.value.code == "unknown_timezone"


# -- no identity number in any repr, str, error or log line ------------------------------


class Captured(logging.Handler):
    """Collects formatted log lines (with tracebacks) of the careaccess logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _texts(access: CareAccess, person: PersonalIdentityNumber, log: Captured) -> list[str]:
    """Every repr and str the workflow produces for one resident."""
    objects: list[object] = []  # str(person) is the display form and shows the number, by design
    objects.append(access.approve_resident(ADMIN, "c1", person))
    objects.append(access.grant_case_type(ADMIN, "c1", person, "restricted", until=dt.date(2026, 6, 1)))
    objects.append(access.change_grant(ADMIN, "c1", person, "restricted", until=None))
    objects.append(access.resident_access(ADMIN, "c1", person))
    objects.append(access.list_residents(ADMIN, "c1"))
    objects.append(access.lookup_resident(person))
    objects.extend(access.decide_many([(person, c, t) for c in ("c1", "c2", "x") for t in ("open", "restricted")]))
    for attempt in (
        lambda: access.grant_case_type(ADMIN, "c1", person, "restricted"),
        lambda: access.change_grant(ADMIN, "c1", person, "restricted", until=None, expected_version=1),
        lambda: access.revoke_approval(ADMIN, "c2", person),
        lambda: access.approve_resident(Actor("x"), "c1", person),
    ):
        try:
            attempt()
        except CareAccessError as error:
            objects.append(error)
    access.revoke_approval(ADMIN, "c1", person)
    access.remove_grant(ADMIN, "c1", person, "restricted")
    objects.extend(access.events(limit=1000))
    assert log.lines, "the failing notify hook must have been logged"
    return [repr(person), *map(repr, objects), *map(str, objects), *log.lines]


MASKED = re.compile(r"\d{6,8}[-+]?\*{4}")


class Loud:
    """A notify hook whose failure message carries the identity number."""

    @hookimpl
    def careaccess_notify(self, event: Event) -> None:
        if event.pnr is not None:
            raise RuntimeError(f"could not send {event.pnr.digits} / {event.pnr.short()} / {event.pnr}")


@given(person=people(), control=people())
def test_no_text_shows_the_last_four_digits(person: PersonalIdentityNumber, control: PersonalIdentityNumber) -> None:
    assume(person.digits[-4:] != control.digits[-4:])

    def run(who: PersonalIdentityNumber) -> str:
        directory = StaticDirectory([Resident(who, "Åsa Öberg", Residence("01", "0180"))])
        logger = logging.getLogger("careaccess")
        log = Captured()
        logger.addHandler(log)
        try:
            text = "\n".join(_texts(world(plugins=(directory, Loud())), who, log))
        finally:
            logger.removeHandler(log)
        # Masked forms keep the birth date, whose digits may repeat the last four.
        return MASKED.sub("<masked>", text)

    text = run(person)
    # Digits that show up with any other resident come from dates and ids, not the number.
    assume(person.digits[-4:] not in run(control))
    assert person.digits[-4:] not in text


@given(person=people(), position=st.integers(0, 11), digit=st.integers(0, 9))
def test_errors_never_echo_the_input(person: PersonalIdentityNumber, position: int, digit: int) -> None:
    typed = person.digits[:position] + str(digit) + person.digits[position + 1 :]
    try:
        parsed = PersonalIdentityNumber.parse(typed, today=dt.date(2026, 1, 15))
    except InvalidIdentityNumber as error:
        for shown in (str(error), repr(error), error.message_en, error.message_sv):
            assert typed[-4:] not in shown
            assert typed[2:8] not in shown
    else:
        assert repr(parsed) == f"PersonalIdentityNumber('{parsed.digits[:8]}-****')"
