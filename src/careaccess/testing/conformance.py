"""The conformance suite every :class:`~careaccess.store.Store` must pass.

Subclass :class:`StoreConformance` in a test module and give it a ``store`` fixture
that yields a fresh, empty store (and closes it)::

    import pytest
    from careaccess.testing.conformance import StoreConformance

    class TestMyStore(StoreConformance):
        @pytest.fixture
        def store(self):
            store = MyStore("...")
            yield store
            store.close()

The suite drives the store through the public :class:`~careaccess.CareAccess` API and,
for atomicity, through :meth:`~careaccess.store.Store.apply` directly. It needs
``pytest``; it runs against real servers, never fakes.

Capability flags (class attributes) switch off what a backend does not claim:

- ``supports_threads``: the store may be shared by several threads (default True).
- ``race_threads``: how many threads race in the concurrency tests (default 8).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import attrs
import pytest

from careaccess import (
    Action,
    Actor,
    AreaRule,
    CareAccess,
    CaseType,
    Clinic,
    Conflict,
    Gender,
    InvalidIdentityNumber,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    Reason,
    Residence,
    Resident,
    ServiceArea,
    StaticDirectory,
    connect,
)
from careaccess.identity import PersonalIdentityNumber, luhn_check_digit
from careaccess.models import Approval, Grant
from careaccess.serialization import converter
from careaccess.store import (
    ApprovalKey,
    CaseTypeKey,
    CaseTypeRestricted,
    CaseTypeUnused,
    Changeset,
    ClinicKey,
    Delete,
    EventDraft,
    FactsRequest,
    GrantKey,
    MustBeAbsent,
    MustExist,
    MustHaveVersion,
    Precondition,
    Put,
    ResidentQuery,
    Store,
    key_of,
)
from careaccess.testing.clock import FrozenClock

__all__ = ["StoreConformance", "make_pnr"]

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


class StoreConformance:
    """Generic tests of a Store; subclasses provide the ``store`` fixture."""

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
            state.append(tuple(access.store.list_residents(_everyone(clinic))))
        return tuple(state)

    # == the decision table ============================================================

    def test_unknown_clinic(self, world: CareAccess) -> None:
        decision = world.decide(TOLVAN, "no-such-clinic", OPEN)
        assert not decision
        assert decision.reason is Reason.UNKNOWN_CLINIC

    def test_unknown_case_type(self, world: CareAccess) -> None:
        decision = world.decide(TOLVAN, C1, "no-such-type")
        assert not decision
        assert decision.reason is Reason.UNKNOWN_CASE_TYPE

    def test_case_type_of_another_clinic_is_unknown(self, world: CareAccess, admin: Actor) -> None:
        world.put_case_type(admin, CaseType(C2, "only-vast", "Bara väst"))
        assert world.decide(TOLVAN, C1, "only-vast").reason is Reason.UNKNOWN_CASE_TYPE

    def test_restricted_granted(self, world: CareAccess, admin: Actor) -> None:
        grant = world.grant_case_type(admin, C2, NILS, RESTRICTED, until=dt.date(2026, 2, 1))
        decision = world.decide(NILS, C2, RESTRICTED)
        assert decision
        assert decision.allowed is True
        assert decision.reason is Reason.GRANTED
        assert decision.grant == grant
        assert decision.approval is None

    def test_restricted_grant_until_further_notice(self, world: CareAccess, admin: Actor) -> None:
        world.grant_case_type(admin, C2, NILS, RESTRICTED, until=None)
        assert world.decide(NILS, C2, RESTRICTED, at=at_local(2090, 1, 1)).reason is Reason.GRANTED

    def test_restricted_grant_expired(self, world: CareAccess, admin: Actor) -> None:
        grant = world.grant_case_type(admin, C2, NILS, RESTRICTED, until=dt.date(2026, 2, 1))
        decision = world.decide(NILS, C2, RESTRICTED, at=at_local(2026, 2, 2))
        assert not decision
        assert decision.reason is Reason.GRANT_EXPIRED
        assert decision.grant == grant

    def test_restricted_not_granted_even_when_approved(self, world: CareAccess, admin: Actor) -> None:
        world.approve_resident(admin, C1, TOLVAN)
        decision = world.decide(TOLVAN, C1, RESTRICTED)
        assert not decision
        assert decision.reason is Reason.NOT_GRANTED

    def test_grant_is_for_its_own_case_type_only(self, world: CareAccess, admin: Actor) -> None:
        world.grant_case_type(admin, C2, NILS, RESTRICTED)
        assert world.decide(NILS, C2, RESTRICTED2).reason is Reason.NOT_GRANTED
        assert world.decide(NILS, C2, OPEN).reason is Reason.NOT_APPROVED
        assert world.decide(NILS, C1, RESTRICTED).reason is Reason.NOT_GRANTED

    def test_open_approved(self, world: CareAccess, admin: Actor) -> None:
        approval = world.approve_resident(admin, C2, ASA)
        decision = world.decide(ASA, C2, OPEN)
        assert decision
        assert decision.reason is Reason.APPROVED
        assert decision.approval == approval

    def test_approval_is_reported_before_service_area(self, world: CareAccess, admin: Actor) -> None:
        world.approve_resident(admin, C1, TOLVAN)
        assert world.decide(TOLVAN, C1, OPEN).reason is Reason.APPROVED

    def test_open_service_area_by_region(self, world: CareAccess) -> None:
        decision = world.decide(TOLVAN, C1, OPEN)
        assert decision
        assert decision.reason is Reason.SERVICE_AREA
        assert decision.rule == AreaRule(region="01")

    def test_service_area_rule_with_municipality_gender_and_age(self, world: CareAccess) -> None:
        decision = world.decide(ASA, C1, OPEN)  # woman aged 45 in Uppsala municipality
        assert decision.reason is Reason.SERVICE_AREA
        assert decision.rule is not None
        assert decision.rule.municipality == "0380"

    def test_service_area_residence_passed_in_wins_over_directory(self, world: CareAccess) -> None:
        assert world.decide(TOLVAN, C1, OPEN, residence=Residence("12")).reason is Reason.NOT_APPROVED
        assert world.decide(NILS, C1, OPEN, residence=Residence("01")).reason is Reason.SERVICE_AREA

    def test_service_area_age_bounds_are_inclusive_on_local_date(self, world: CareAccess) -> None:
        # Åsa turns 65 on 2045-03-14 (Stockholm): max_age=64 holds through the day before.
        last = world.decide(ASA, C1, OPEN, at=at_local(2045, 3, 13, 23, 59, 59))
        first_out = world.decide(ASA, C1, OPEN, at=at_local(2045, 3, 14, 0, 0, 0))
        assert last.reason is Reason.SERVICE_AREA
        assert first_out.reason is Reason.NOT_APPROVED
        # min_age=18: she turned 18 on 1998-03-14.
        assert world.decide(ASA, C1, OPEN, at=at_local(1998, 3, 13, 23, 59)).reason is Reason.NOT_APPROVED
        assert world.decide(ASA, C1, OPEN, at=at_local(1998, 3, 14, 0, 0)).reason is Reason.SERVICE_AREA

    def test_service_area_gender_must_match(self, world: CareAccess) -> None:
        man_in_uppsala = Residence("03", "0380")
        assert world.decide(TOLVAN, C1, OPEN, residence=man_in_uppsala).reason is Reason.NOT_APPROVED

    def test_unknown_residence_means_no_service_area(self, world: CareAccess) -> None:
        assert world.decide(NILS, C1, OPEN).reason is Reason.NOT_APPROVED

    def test_clinic_without_rules_exposes_itself_to_nobody(self, world: CareAccess) -> None:
        assert world.decide(TOLVAN, C2, OPEN).reason is Reason.NOT_APPROVED

    def test_whole_country_rule(self, world: CareAccess, admin: Actor) -> None:
        world.put_clinic(admin, Clinic(C2, "Vårdcentralen Väst", ServiceArea((AreaRule(),))))
        assert world.decide(COORD, C2, OPEN).reason is Reason.SERVICE_AREA
        assert world.decide(NILS, C2, OPEN).reason is Reason.NOT_APPROVED  # residence unknown

    def test_open_not_approved(self, world: CareAccess) -> None:
        decision = world.decide(ASA, C2, OPEN)
        assert not decision
        assert decision.reason is Reason.NOT_APPROVED
        assert (decision.approval, decision.grant, decision.rule) == (None, None, None)

    def test_decision_carries_its_inputs(self, world: CareAccess, clock: FrozenClock) -> None:
        decision = world.decide(str(TOLVAN), C1, OPEN)
        assert decision.pnr == TOLVAN
        assert (decision.clinic_id, decision.case_type_id) == (C1, OPEN)
        assert decision.at == clock()

    def test_decide_accepts_any_rendering_of_the_number(self, world: CareAccess) -> None:
        for text in (TOLVAN.digits, str(TOLVAN), TOLVAN.short(), f"  {TOLVAN.digits}  "):
            assert world.decide(text, C1, OPEN).reason is Reason.SERVICE_AREA

    def test_decide_rejects_malformed_input(self, world: CareAccess) -> None:
        with pytest.raises(InvalidIdentityNumber):
            world.decide("19121212-1213", C1, OPEN)
        with pytest.raises(InvalidRequest) as raised:
            world.decide(TOLVAN, C1, OPEN, at=dt.datetime(2026, 1, 1, 12, 0))  # noqa: DTZ001
        assert raised.value.code == "naive_datetime"

    def test_decide_many_matches_decide(self, world: CareAccess, admin: Actor) -> None:
        world.approve_resident(admin, C2, ASA)
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED, until=dt.date(2026, 1, 20))
        requests = [
            (person, clinic, case_type)
            for person in (TOLVAN, ASA, NILS, KAJSA, COORD)
            for clinic in (C1, C2, "nowhere")
            for case_type in (OPEN, RESTRICTED, "nothing")
        ]
        moment = at_local(2026, 1, 18)
        many = world.decide_many(requests, at=moment)
        assert many == [world.decide(p, c, t, at=moment) for p, c, t in requests]
        assert world.decide_many([]) == []

    # == expiry at the exact boundaries ================================================

    @pytest.mark.parametrize(
        ("until", "last_valid", "first_expired"),
        [
            # an ordinary winter day (UTC+1)
            (dt.date(2026, 2, 10), "2026-02-10T22:59:59+00:00", "2026-02-10T23:00:00+00:00"),
            # the day daylight saving time starts (2026-03-29, 02:00 -> 03:00)
            (dt.date(2026, 3, 29), "2026-03-29T21:59:59+00:00", "2026-03-29T22:00:00+00:00"),
            # the day before it starts: midnight is still UTC+1
            (dt.date(2026, 3, 28), "2026-03-28T22:59:59+00:00", "2026-03-28T23:00:00+00:00"),
            # the day daylight saving time ends (2026-10-25, 03:00 -> 02:00)
            (dt.date(2026, 10, 25), "2026-10-25T22:59:59+00:00", "2026-10-25T23:00:00+00:00"),
            # the day before it ends: midnight is still UTC+2
            (dt.date(2026, 10, 24), "2026-10-24T21:59:59+00:00", "2026-10-24T22:00:00+00:00"),
            # a leap day
            (dt.date(2028, 2, 29), "2028-02-29T22:59:59+00:00", "2028-02-29T23:00:00+00:00"),
        ],
    )
    def test_grant_expiry_boundaries_in_local_time(
        self, world: CareAccess, admin: Actor, until: dt.date, last_valid: str, first_expired: str
    ) -> None:
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED, until=until)
        last = dt.datetime.fromisoformat(last_valid)
        first = dt.datetime.fromisoformat(first_expired)
        assert world.decide(KAJSA, C1, RESTRICTED, at=last).reason is Reason.GRANTED
        assert world.decide(KAJSA, C1, RESTRICTED, at=last.astimezone(STOCKHOLM)).reason is Reason.GRANTED
        assert world.decide(KAJSA, C1, RESTRICTED, at=first).reason is Reason.GRANT_EXPIRED
        new_york = first.astimezone(ZoneInfo("America/New_York"))
        assert world.decide(KAJSA, C1, RESTRICTED, at=new_york).reason is Reason.GRANT_EXPIRED

    def test_grant_valid_through_repeated_hour_when_dst_ends(self, world: CareAccess, admin: Actor) -> None:
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED, until=dt.date(2026, 10, 25))
        for hour_utc in (0, 1, 2):  # 02:00-02:59 local happens twice: 00:xx and 01:xx UTC
            moment = dt.datetime(2026, 10, 25, hour_utc, 30, tzinfo=UTC)
            assert world.decide(KAJSA, C1, RESTRICTED, at=moment).reason is Reason.GRANTED

    def test_grant_judged_in_configured_time_zone(
        self, store: Store, clock: FrozenClock, directory: StaticDirectory, admin: Actor
    ) -> None:
        access = connect(store, plugins=[directory], clock=clock, timezone="UTC")
        access.put_clinic(admin, Clinic(C1, "Vårdcentralen Öst"))
        access.put_case_type(admin, CaseType(C1, RESTRICTED, "KBT", restricted=True))
        access.grant_case_type(admin, C1, KAJSA, RESTRICTED, until=dt.date(2026, 2, 10))
        late = dt.datetime(2026, 2, 10, 23, 30, tzinfo=UTC)  # already 11 Feb in Stockholm
        assert access.decide(KAJSA, C1, RESTRICTED, at=late).reason is Reason.GRANTED

    # == clinics and case types ========================================================

    def test_put_clinic_creates_and_updates_with_events(self, access: CareAccess, admin: Actor) -> None:
        first = Clinic(C1, "Vårdcentralen Öst")
        access.put_clinic(admin, first)
        assert access.clinic(C1) == first
        second = Clinic(C1, "Vårdcentralen Öst", ServiceArea((AreaRule(region="01", municipality="0180"),)))
        access.put_clinic(admin, second)
        access.put_clinic(admin, second)  # unchanged: no event
        assert access.clinic(C1) == second
        events = access.events()
        assert [e.action for e in events] == [Action.CLINIC_SAVED, Action.CLINIC_SAVED]
        assert events[0].before is None
        assert events[1].before is not None
        assert events[1].before["service_area"] == {"rules": []}
        assert events[1].after is not None
        assert events[1].after["service_area"]["rules"][0]["municipality"] == "0180"

    def test_case_types_listed_in_id_order(self, world: CareAccess) -> None:
        assert [c.id for c in world.case_types(C1)] == sorted([OPEN, OPEN2, RESTRICTED, RESTRICTED2])
        assert world.case_types("no-such-clinic") == []

    def test_put_case_type_needs_clinic(self, access: CareAccess, admin: Actor) -> None:
        before = self.snapshot(access)
        with pytest.raises(NotFound) as raised:
            access.put_case_type(admin, CaseType(C1, OPEN, "Fråga"))
        assert raised.value.code == "unknown_clinic"
        assert self.snapshot(access) == before

    def test_opening_a_granted_case_type_is_refused(self, world: CareAccess, admin: Actor) -> None:
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        before = self.snapshot(world)
        with pytest.raises(Conflict) as raised:
            world.put_case_type(admin, CaseType(C1, RESTRICTED, "KBT-behandling", restricted=False))
        assert raised.value.code == "case_type_in_use"
        assert self.snapshot(world) == before

    def test_remove_case_type(self, world: CareAccess, admin: Actor) -> None:
        world.remove_case_type(admin, C1, OPEN2)
        assert OPEN2 not in [c.id for c in world.case_types(C1)]
        assert world.decide(TOLVAN, C1, OPEN2).reason is Reason.UNKNOWN_CASE_TYPE
        event = world.events()[-1]
        assert (event.action, event.case_type_id, event.after) == (Action.CASE_TYPE_REMOVED, OPEN2, None)
        assert event.before is not None
        assert event.before["name"] == "Förnya recept"
        with pytest.raises(NotFound) as raised:
            world.remove_case_type(admin, C1, OPEN2)
        assert raised.value.code == "unknown_case_type"

    def test_remove_case_type_in_use_changes_nothing(self, world: CareAccess, admin: Actor) -> None:
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        before = self.snapshot(world)
        with pytest.raises(Conflict) as raised:
            world.remove_case_type(admin, C1, RESTRICTED)
        assert raised.value.code == "case_type_in_use"
        assert self.snapshot(world) == before
        world.remove_grant(admin, C1, KAJSA, RESTRICTED)
        world.remove_case_type(admin, C1, RESTRICTED)

    # == approvals =====================================================================

    def test_approve_resident(self, world: CareAccess, admin: Actor, clock: FrozenClock) -> None:
        approval = world.approve_resident(admin, C2, ASA)
        assert approval == Approval(C2, ASA, "Åsa Öberg-Ärlig", clock(), admin.id)
        assert world.resident_access(admin, C2, ASA).approval == approval
        event = world.events()[-1]
        assert (event.action, event.clinic_id, event.pnr, event.actor_id) == (
            Action.RESIDENT_APPROVED,
            C2,
            ASA,
            admin.id,
        )
        assert event.before is None
        assert event.after is not None
        assert event.after["name"] == "Åsa Öberg-Ärlig"

    def test_approve_is_idempotent(self, world: CareAccess, admin: Actor, clock: FrozenClock) -> None:
        first = world.approve_resident(admin, C2, ASA)
        count = len(world.events())
        clock.advance(hours=1)
        again = world.approve_resident(admin, C2, str(ASA))
        assert again == first
        assert len(world.events()) == count

    def test_approve_with_explicit_name_and_without_directory_entry(self, world: CareAccess, admin: Actor) -> None:
        stranger = make_pnr("19661010", 800)
        assert world.approve_resident(admin, C2, stranger).name is None
        named = world.approve_resident(admin, C1, stranger, name="Märta Måsdotter")
        assert named.name == "Märta Måsdotter"

    def test_approve_at_unknown_clinic(self, access: CareAccess, admin: Actor) -> None:
        with pytest.raises(NotFound) as raised:
            access.approve_resident(admin, C1, ASA)
        assert raised.value.code == "unknown_clinic"
        assert access.events() == []

    def test_revoke_keeps_grants(self, world: CareAccess, admin: Actor) -> None:
        world.approve_resident(admin, C2, ASA)
        grant = world.grant_case_type(admin, C2, ASA, RESTRICTED)
        world.revoke_approval(admin, C2, ASA)
        assert world.decide(ASA, C2, OPEN).reason is Reason.NOT_APPROVED
        assert world.decide(ASA, C2, RESTRICTED).reason is Reason.GRANTED
        access = world.resident_access(admin, C2, ASA)
        assert access.approval is None
        assert access.grants == (grant,)
        event = world.events()[-1]
        assert (event.action, event.after) == (Action.APPROVAL_REVOKED, None)

    def test_revoke_when_not_approved(self, world: CareAccess, admin: Actor) -> None:
        before = self.snapshot(world)
        with pytest.raises(NotFound) as raised:
            world.revoke_approval(admin, C2, ASA)
        assert raised.value.code == "approval_not_found"
        assert self.snapshot(world) == before

    # == grants ========================================================================

    def test_grant_case_type(self, world: CareAccess, admin: Actor, clock: FrozenClock) -> None:
        grant = world.grant_case_type(admin, C1, KAJSA, RESTRICTED, until=dt.date(2026, 6, 30))
        assert grant == Grant(C1, KAJSA, RESTRICTED, dt.date(2026, 6, 30), 1, clock(), admin.id, clock(), "Kajsa Anka")
        event = world.events()[-1]
        assert (event.action, event.case_type_id, event.pnr) == (Action.CASE_TYPE_GRANTED, RESTRICTED, KAJSA)
        assert event.after is not None
        assert (event.after["until"], event.after["version"]) == ("2026-06-30", 1)

    def test_grant_until_today_is_allowed(self, world: CareAccess, admin: Actor, clock: FrozenClock) -> None:
        today = clock().astimezone(STOCKHOLM).date()
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED, until=today)
        assert world.decide(KAJSA, C1, RESTRICTED).reason is Reason.GRANTED

    @pytest.mark.parametrize(
        ("case_type", "until", "error", "code"),
        [
            (OPEN, None, InvalidRequest, "case_type_not_restricted"),
            (RESTRICTED, dt.date(2026, 1, 14), InvalidRequest, "end_date_in_past"),
            ("no-such-type", None, NotFound, "unknown_case_type"),
        ],
    )
    def test_grant_refusals_change_nothing(
        self,
        world: CareAccess,
        admin: Actor,
        case_type: str,
        until: dt.date | None,
        error: type[Exception],
        code: str,
    ) -> None:
        before = self.snapshot(world)
        with pytest.raises(error) as raised:
            world.grant_case_type(admin, C1, KAJSA, case_type, until=until)
        assert getattr(raised.value, "code", None) == code
        assert self.snapshot(world) == before

    def test_grant_twice_conflicts(self, world: CareAccess, admin: Actor) -> None:
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        before = self.snapshot(world)
        with pytest.raises(Conflict) as raised:
            world.grant_case_type(admin, C1, KAJSA, RESTRICTED, until=dt.date(2027, 1, 1))
        assert raised.value.code == "grant_exists"
        assert self.snapshot(world) == before

    def test_grant_at_unknown_clinic(self, access: CareAccess, admin: Actor) -> None:
        with pytest.raises(NotFound) as raised:
            access.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        assert raised.value.code == "unknown_clinic"

    def test_change_grant(self, world: CareAccess, admin: Actor, clock: FrozenClock) -> None:
        grant = world.grant_case_type(admin, C1, KAJSA, RESTRICTED, until=dt.date(2026, 2, 1))
        clock.advance(days=3)
        changed = world.change_grant(admin, C1, KAJSA, RESTRICTED, until=None, expected_version=1)
        assert (changed.until, changed.version, changed.changed_at) == (None, 2, clock())
        assert (changed.granted_at, changed.granted_by) == (grant.granted_at, grant.granted_by)
        assert world.resident_access(admin, C1, KAJSA).grants == (changed,)
        event = world.events()[-1]
        assert event.action is Action.GRANT_CHANGED
        assert event.before is not None
        assert event.after is not None
        assert (event.before["until"], event.after["until"]) == ("2026-02-01", None)
        again = world.change_grant(admin, C1, KAJSA, RESTRICTED, until=dt.date(2026, 12, 31))
        assert again.version == 3

    def test_change_grant_with_stale_version_changes_nothing(self, world: CareAccess, admin: Actor) -> None:
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        world.change_grant(admin, C1, KAJSA, RESTRICTED, until=dt.date(2026, 5, 1))
        before = self.snapshot(world)
        with pytest.raises(Conflict) as raised:
            world.change_grant(admin, C1, KAJSA, RESTRICTED, until=None, expected_version=1)
        assert raised.value.code == "version_mismatch"
        with pytest.raises(Conflict):
            world.remove_grant(admin, C1, KAJSA, RESTRICTED, expected_version=1)
        assert self.snapshot(world) == before

    def test_change_grant_refusals(self, world: CareAccess, admin: Actor) -> None:
        with pytest.raises(NotFound) as missing:
            world.change_grant(admin, C1, KAJSA, RESTRICTED, until=None)
        assert missing.value.code == "grant_not_found"
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        before = self.snapshot(world)
        with pytest.raises(InvalidRequest) as past:
            world.change_grant(admin, C1, KAJSA, RESTRICTED, until=dt.date(2025, 12, 31))
        assert past.value.code == "end_date_in_past"
        assert self.snapshot(world) == before

    def test_remove_grant(self, world: CareAccess, admin: Actor) -> None:
        grant = world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        world.remove_grant(admin, C1, KAJSA, RESTRICTED, expected_version=grant.version)
        assert world.decide(KAJSA, C1, RESTRICTED).reason is Reason.NOT_GRANTED
        event = world.events()[-1]
        assert (event.action, event.after) == (Action.GRANT_REMOVED, None)
        assert event.before is not None
        assert event.before["version"] == 1
        with pytest.raises(NotFound) as raised:
            world.remove_grant(admin, C1, KAJSA, RESTRICTED)
        assert raised.value.code == "grant_not_found"

    def test_removing_an_expired_grant_purges_it(self, world: CareAccess, admin: Actor, clock: FrozenClock) -> None:
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED, until=dt.date(2026, 1, 20))
        clock.advance(days=30)
        listed = world.list_residents(admin, C1).items
        assert [r.pnr for r in listed] == [KAJSA]
        assert listed[0].expired_grants(world.today())[0].case_type_id == RESTRICTED
        world.remove_grant(admin, C1, KAJSA, RESTRICTED)
        assert world.list_residents(admin, C1).items == ()

    # == the resident list =============================================================

    def test_resident_access_of_unlisted_resident(self, world: CareAccess, admin: Actor) -> None:
        access = world.resident_access(admin, C1, TOLVAN)
        assert (access.pnr, access.name, access.approval, access.grants) == (TOLVAN, "Tolvan Tolvansson", None, ())
        with pytest.raises(NotFound) as raised:
            world.resident_access(Actor("admin-2", {"ghost"}), "ghost", TOLVAN)
        assert raised.value.code == "unknown_clinic"

    def test_list_shows_approved_or_granted_residents(self, world: CareAccess, admin: Actor) -> None:
        world.approve_resident(admin, C1, TOLVAN)
        world.grant_case_type(admin, C1, ASA, RESTRICTED)
        world.grant_case_type(admin, C1, ASA, RESTRICTED2, until=dt.date(2026, 3, 1))
        world.approve_resident(admin, C1, KAJSA)
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        world.approve_resident(admin, C2, NILS)  # another clinic's resident
        page = world.list_residents(admin, C1)
        assert [r.pnr for r in page.items] == sorted([TOLVAN, ASA, KAJSA])
        assert page.next_cursor is None
        by_pnr = {r.pnr: r for r in page.items}
        assert by_pnr[ASA].name == "Åsa Öberg-Ärlig"
        assert by_pnr[ASA].approval is None
        assert [g.case_type_id for g in by_pnr[ASA].grants] == sorted([RESTRICTED, RESTRICTED2])
        assert by_pnr[KAJSA].approval is not None
        assert len(by_pnr[KAJSA].grants) == 1
        assert by_pnr[TOLVAN].grants == ()

    def test_list_pages_with_cursor(self, world: CareAccess, admin: Actor) -> None:
        people = [make_pnr(f"19{50 + i:02d}0101", 100 + i) for i in range(23)]
        for person in reversed(people):
            world.approve_resident(admin, C2, person)
        seen: list[PersonalIdentityNumber] = []
        cursor = None
        pages = 0
        while True:
            page = world.list_residents(admin, C2, limit=5, cursor=cursor)
            pages += 1
            seen.extend(r.pnr for r in page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == sorted(people)
        assert pages == 5

    def test_exact_page_has_no_next_cursor(self, world: CareAccess, admin: Actor) -> None:
        for person in (TOLVAN, ASA):
            world.approve_resident(admin, C2, person)
        assert world.list_residents(admin, C2, limit=2).next_cursor is None
        assert world.list_residents(admin, C2, limit=1).next_cursor is not None

    def test_pagination_neither_repeats_nor_skips_under_writes(self, world: CareAccess, admin: Actor) -> None:
        stable = [make_pnr(f"19{40 + 2 * i:02d}0505", 200 + i) for i in range(20)]
        for person in stable:
            world.approve_resident(admin, C2, person)
        extra = iter(make_pnr(f"19{41 + 2 * i:02d}0505", 300 + i) for i in range(20))
        seen: list[PersonalIdentityNumber] = []
        cursor = None
        while True:
            page = world.list_residents(admin, C2, limit=4, cursor=cursor)
            seen.extend(r.pnr for r in page.items)
            # Between pages: residents appear before and after the cursor, others leave.
            world.approve_resident(admin, C2, next(extra))
            world.grant_case_type(admin, C2, next(extra), RESTRICTED)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert len(seen) == len(set(seen))
        assert set(stable) <= set(seen)
        assert seen == sorted(seen)

    def test_search_by_number_prefix_and_name(self, world: CareAccess, admin: Actor) -> None:
        for person in (TOLVAN, ASA, KAJSA, COORD):
            world.approve_resident(admin, C1, person)

        def found(search: str) -> list[PersonalIdentityNumber]:
            return [r.pnr for r in world.list_residents(admin, C1, search=search).items]

        assert found("1912") == [TOLVAN]
        assert found("121212") == [TOLVAN]
        assert found("19800314-") == [ASA]
        assert found("800314-2") == [ASA]
        assert found("åsa") == [ASA]
        assert found("ÖBERG") == [ASA]
        assert found("anka") == [KAJSA]
        assert found("ångström") == [COORD]
        assert found("ingen alls") == []
        assert found("  ") == sorted([TOLVAN, ASA, KAJSA, COORD])

    def test_search_by_name_finds_grant_only_residents_and_pages(self, world: CareAccess, admin: Actor) -> None:
        world.grant_case_type(admin, C1, ASA, RESTRICTED)
        people = [make_pnr(f"19{60 + i:02d}0202", 400 + i) for i in range(6)]
        for person in people:
            world.approve_resident(admin, C1, person, name=f"Sven Svensson {person.birth_date.year}")
        assert [r.pnr for r in world.list_residents(admin, C1, search="åSA").items] == [ASA]
        first = world.list_residents(admin, C1, limit=4, search="svensson")
        assert first.next_cursor is not None
        rest = world.list_residents(admin, C1, limit=4, search="svensson", cursor=first.next_cursor)
        assert [r.pnr for r in first.items + rest.items] == people
        assert rest.next_cursor is None

    @pytest.mark.parametrize("cursor", ["", "garbage", "cjE6MTIz", "!!!"])
    def test_invalid_cursor(self, world: CareAccess, admin: Actor, cursor: str) -> None:
        with pytest.raises(InvalidRequest) as raised:
            world.list_residents(admin, C1, cursor=cursor)
        assert raised.value.code == "invalid_cursor"

    @pytest.mark.parametrize("limit", [0, -1, 1001])
    def test_invalid_limit(self, world: CareAccess, admin: Actor, limit: int) -> None:
        with pytest.raises(InvalidRequest) as raised:
            world.list_residents(admin, C1, limit=limit)
        assert raised.value.code == "invalid_limit"
        with pytest.raises(InvalidRequest):
            world.events(limit=limit)

    def test_non_ascii_names_round_trip(self, world: CareAccess, admin: Actor) -> None:
        names = ["Åsa Öberg-Ärlig", "Zoë Ångström", "Ülle Ñúñez", "李小龍", "Ŋiellá Sámi"]
        people = [make_pnr(f"19{70 + i:02d}0707", 500 + i) for i in range(len(names))]
        for person, name in zip(people, names, strict=True):
            world.approve_resident(admin, C2, person, name=name)
        assert [r.name for r in world.list_residents(admin, C2).items] == names
        assert world.resident_access(admin, C2, people[3]).name == "李小龍"

    # == events ========================================================================

    def test_every_change_appends_exactly_one_event_in_order(
        self, world: CareAccess, admin: Actor, clock: FrozenClock
    ) -> None:
        start = len(world.events(limit=1000))
        steps: list[tuple[Action, Callable[[], object]]] = [
            (Action.RESIDENT_APPROVED, lambda: world.approve_resident(admin, C1, KAJSA)),
            (Action.CASE_TYPE_GRANTED, lambda: world.grant_case_type(admin, C1, KAJSA, RESTRICTED)),
            (Action.GRANT_CHANGED, lambda: world.change_grant(admin, C1, KAJSA, RESTRICTED, dt.date(2026, 9, 1))),
            (Action.GRANT_REMOVED, lambda: world.remove_grant(admin, C1, KAJSA, RESTRICTED)),
            (Action.APPROVAL_REVOKED, lambda: world.revoke_approval(admin, C1, KAJSA)),
            (Action.CASE_TYPE_SAVED, lambda: world.put_case_type(admin, CaseType(C2, "ny", "Ny"))),
            (Action.CASE_TYPE_REMOVED, lambda: world.remove_case_type(admin, C2, "ny")),
            (Action.CLINIC_SAVED, lambda: world.put_clinic(admin, Clinic(C2, "Nytt namn"))),
        ]
        for action, step in steps:
            clock.advance(minutes=1)
            step()
            events = world.events(limit=1000)
            assert len(events) == start + 1
            assert events[-1].action is action
            assert events[-1].at == clock()
            assert events[-1].actor_id == admin.id
            start += 1
        ids = [e.id for e in world.events(limit=1000)]
        assert ids == sorted(ids)
        assert len(set(ids)) == len(ids)

    def test_event_feed_pages_and_filters(self, world: CareAccess, admin: Actor) -> None:
        for person in (TOLVAN, ASA, KAJSA):
            world.approve_resident(admin, C1, person)
            world.approve_resident(admin, C2, person)
        everything = world.events(limit=1000)
        paged = []
        after = None
        while batch := world.events(after=after, limit=3):
            paged.extend(batch)
            after = batch[-1].id
        assert paged == everything
        only_c2 = world.events(clinic_id=C2, limit=1000)
        assert only_c2 == [e for e in everything if e.clinic_id == C2]
        middle = only_c2[2].id
        assert world.events(after=middle, clinic_id=C2) == only_c2[3:]
        assert world.events(after=everything[-1].id) == []
        assert world.events(clinic_id="no-such-clinic") == []

    def test_invalid_event_cursor(self, world: CareAccess) -> None:
        with pytest.raises(InvalidRequest) as raised:
            world.events(after="not an event id")
        assert raised.value.code == "invalid_cursor"

    # == authorization =================================================================

    def test_outsider_changes_nothing(self, world: CareAccess, admin: Actor, outsider: Actor) -> None:
        world.approve_resident(admin, C1, TOLVAN)
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        before = self.snapshot(world)
        attempts: list[Callable[[], object]] = [
            lambda: world.put_clinic(outsider, Clinic(C1, "Kapad")),
            lambda: world.put_case_type(outsider, CaseType(C1, "x", "X")),
            lambda: world.remove_case_type(outsider, C1, OPEN),
            lambda: world.approve_resident(outsider, C1, ASA),
            lambda: world.revoke_approval(outsider, C1, TOLVAN),
            lambda: world.grant_case_type(outsider, C1, ASA, RESTRICTED),
            lambda: world.change_grant(outsider, C1, KAJSA, RESTRICTED, until=None),
            lambda: world.remove_grant(outsider, C1, KAJSA, RESTRICTED),
            lambda: world.resident_access(outsider, C1, TOLVAN),
            lambda: world.list_residents(outsider, C1),
        ]
        for attempt in attempts:
            with pytest.raises(PermissionDenied) as raised:
                attempt()
            assert raised.value.code == "permission_denied"
        assert self.snapshot(world) == before

    # == atomicity at the store level ==================================================

    def _draft(self, access: CareAccess, clinic: str = C1) -> EventDraft:
        return EventDraft(access.now(), "admin-1", Action.RESIDENT_APPROVED, clinic, TOLVAN)

    def test_failed_precondition_writes_nothing(self, world: CareAccess, admin: Actor) -> None:
        grant = world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        world.approve_resident(admin, C1, TOLVAN)
        approval = Approval(C1, ASA, "Åsa", world.now(), "admin-1")
        failing: list[tuple[Precondition, str]] = [
            (MustExist(ApprovalKey(C1, NILS.digits)), "approval_missing"),
            (MustBeAbsent(ApprovalKey(C1, TOLVAN.digits)), "approval_exists"),
            (MustExist(ClinicKey("nowhere")), "clinic_missing"),
            (MustBeAbsent(ClinicKey(C1)), "clinic_exists"),
            (MustExist(CaseTypeKey(C1, "nothing")), "case_type_missing"),
            (MustBeAbsent(GrantKey(C1, KAJSA.digits, RESTRICTED)), "grant_exists"),
            (MustExist(GrantKey(C1, KAJSA.digits, RESTRICTED2)), "grant_missing"),
            (MustHaveVersion(GrantKey(C1, KAJSA.digits, RESTRICTED), grant.version + 1), "version_mismatch"),
            (MustHaveVersion(GrantKey(C1, ASA.digits, RESTRICTED), 1), "version_mismatch"),
            (CaseTypeUnused(CaseTypeKey(C1, RESTRICTED)), "case_type_in_use"),
            (CaseTypeRestricted(CaseTypeKey(C1, OPEN)), "case_type_no_longer_restricted"),
            (CaseTypeRestricted(CaseTypeKey(C1, "nothing")), "case_type_no_longer_restricted"),
        ]
        for precondition, code in failing:
            before = self.snapshot(world)
            if precondition.key.clinic_id == C1:
                holding: list[Precondition] = [MustExist(ClinicKey(C1)), MustBeAbsent(ApprovalKey(C1, ASA.digits))]
                changeset = Changeset(
                    C1,
                    (*holding, precondition),
                    (
                        Put(approval),
                        Delete(ApprovalKey(C1, TOLVAN.digits)),
                        Delete(GrantKey(C1, KAJSA.digits, RESTRICTED)),
                        Put(Clinic(C1, "Ändrad")),
                    ),
                    (self._draft(world),),
                )
            else:  # a changeset is of one clinic: the writes go where the precondition looks
                elsewhere = precondition.key.clinic_id
                moved = attrs.evolve(approval, clinic_id=elsewhere)
                changeset = Changeset(
                    elsewhere,
                    (precondition,),
                    (Put(Clinic(elsewhere, "Ny")), Put(moved)),
                    (self._draft(world, elsewhere),),
                )
            with pytest.raises(Conflict) as raised:
                world.store.apply(changeset)
            assert raised.value.code == code, precondition
            assert self.snapshot(world) == before, precondition

    def test_holding_preconditions_apply_all_writes(self, world: CareAccess, admin: Actor) -> None:
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        approval = Approval(C1, ASA, "Åsa", world.now(), "admin-1")
        (event,) = world.store.apply(
            Changeset(
                C1,
                (
                    MustExist(ClinicKey(C1)),
                    MustBeAbsent(ApprovalKey(C1, ASA.digits)),
                    MustHaveVersion(GrantKey(C1, KAJSA.digits, RESTRICTED), 1),
                    CaseTypeUnused(CaseTypeKey(C1, RESTRICTED2)),
                    CaseTypeRestricted(CaseTypeKey(C1, RESTRICTED)),
                ),
                (Put(approval), Delete(GrantKey(C1, KAJSA.digits, RESTRICTED))),
                (self._draft(world),),
            )
        )
        assert world.events()[-1] == event
        assert world.resident_access(admin, C1, ASA).approval == approval
        assert world.resident_access(admin, C1, KAJSA).grants == ()

    def test_load_facts(self, world: CareAccess, admin: Actor) -> None:
        approval = world.approve_resident(admin, C1, KAJSA)
        grant = world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        store = world.store
        facts = store.load_facts(FactsRequest(KAJSA.digits, C1, RESTRICTED))
        assert facts.clinic == world.clinic(C1)
        assert facts.case_type == CaseType(C1, RESTRICTED, "KBT-behandling", restricted=True)
        assert facts.grant == grant
        assert facts.approval == approval  # complete facts: the approval even for a restricted type
        open_facts = store.load_facts(FactsRequest(KAJSA.digits, C1, OPEN))
        assert open_facts.approval == approval
        assert open_facts.grant is None
        none = store.load_facts(FactsRequest(KAJSA.digits, "nowhere", OPEN))
        assert (none.clinic, none.case_type, none.approval, none.grant) == (None, None, None, None)
        requests = [FactsRequest(p.digits, C1, t) for p in (KAJSA, TOLVAN) for t in (OPEN, RESTRICTED, "x")]
        assert store.load_facts_many(requests) == [store.load_facts(r) for r in requests]
        # The parsed number, when given, changes nothing but the work.
        parsed = [r._replace(person=PersonalIdentityNumber.from_digits(r.digits)) for r in requests]
        assert [store.load_facts(r) for r in parsed] == [store.load_facts(r) for r in requests]
        assert store.load_facts_many(parsed) == store.load_facts_many(requests)

    def test_load_facts_is_complete_whatever_the_case_type(self, world: CareAccess, admin: Actor) -> None:
        # Grants the workflows never make (of an open or an unknown case type), written
        # straight to the store: a store returns every stored fact and never judges them.
        approval = world.approve_resident(admin, C1, KAJSA)
        stray = [Grant(C1, KAJSA, case_type, None, 2, world.now(), "admin-1", world.now()) for case_type in (OPEN, "x")]
        draft = EventDraft(world.now(), "admin-1", Action.CASE_TYPE_GRANTED, C1, KAJSA, OPEN)
        world.store.apply(Changeset(C1, (), tuple(Put(g) for g in stray), (draft,)))
        store = world.store
        requests = [FactsRequest(KAJSA.digits, C1, OPEN), FactsRequest(KAJSA.digits, C1, "x", KAJSA)]
        expected = [
            (world.clinic(C1), CaseType(C1, OPEN, "Fråga om vård"), approval, stray[0]),
            (world.clinic(C1), None, approval, stray[1]),
        ]
        assert [tuple(store.load_facts(r)) for r in requests] == expected
        assert [tuple(f) for f in store.load_facts_many(requests)] == expected
        elsewhere = store.load_facts(FactsRequest(KAJSA.digits, C2, OPEN))
        assert tuple(elsewhere) == (world.clinic(C2), CaseType(C2, OPEN, "Fråga om vård"), None, None)

    def test_apply_appends_every_event_in_order(self, world: CareAccess, admin: Actor) -> None:
        approvals = [Approval(C2, p, None, world.now(), "admin-1") for p in (TOLVAN, ASA, KAJSA)]
        drafts = tuple(EventDraft(world.now(), "admin-1", Action.RESIDENT_APPROVED, C2, a.pnr) for a in approvals)
        guards = tuple(MustBeAbsent(ApprovalKey(C2, a.pnr.digits)) for a in approvals)
        events = world.store.apply(Changeset(C2, guards, tuple(Put(a) for a in approvals), drafts))
        assert [e.pnr for e in events] == [TOLVAN, ASA, KAJSA]
        assert world.events(limit=1000)[-3:] == events
        assert world.events(clinic_id=C2, limit=1000)[-3:] == events
        assert len({e.id for e in events}) == 3

    def test_resident_query_filters(self, world: CareAccess, admin: Actor) -> None:
        world.approve_resident(admin, C1, TOLVAN)
        world.approve_resident(admin, C1, ASA)  # "Åsa Öberg-Ärlig"
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED, name="Kajsa  ANKA–Duck")
        store = world.store

        def listed(**query: Any) -> list[PersonalIdentityNumber]:
            return [r.pnr for r in store.list_residents(ResidentQuery(C1, 10, **query))]

        assert listed() == sorted([TOLVAN, ASA, KAJSA])
        assert listed(digit_prefixes=("1912", "1980")) == sorted([TOLVAN, ASA])
        assert listed(digit_prefixes=("2012",)) == []
        assert listed(digit_suffix=TOLVAN.digits[-4:]) == [TOLVAN]
        assert listed(digit_suffix=KAJSA.digits[-4:], digit_prefixes=("1912",)) == []
        assert listed(name_contains="öberg ärlig") == [ASA]
        assert listed(name_contains="anka duck") == [KAJSA]
        assert listed(name_contains="ANKA") == []  # the store compares with the folded text as given
        assert listed(after=TOLVAN.digits) == sorted([ASA, KAJSA])
        assert listed(after=ASA.digits, name_contains="a") == [KAJSA]

    def test_cursor_key_is_stable(self, world: CareAccess) -> None:
        key = world.store.cursor_key()
        assert isinstance(key, bytes)
        assert len(key) == 32
        assert world.store.cursor_key() == key

    @pytest.mark.parametrize("after", ["", "x", "0" * 200, "-1", "\u0000", "99999999999999999999999"])
    def test_forged_event_cursor(self, world: CareAccess, after: str) -> None:
        with pytest.raises(InvalidRequest) as raised:
            world.store.read_events(after, 10, None)
        assert raised.value.code == "invalid_cursor"

    # == concurrency ===================================================================

    def _race(self, count: int, attempt: Callable[[int], object]) -> tuple[list[object], list[BaseException]]:
        if not self.supports_threads:
            pytest.skip("this store does not claim thread safety")
        barrier = threading.Barrier(count)
        wins: list[object] = []
        losses: list[BaseException] = []
        lock = threading.Lock()

        def run(index: int) -> None:
            barrier.wait()
            try:
                result = attempt(index)
            except Exception as error:  # collected and asserted on below
                with lock:
                    losses.append(error)
            else:
                with lock:
                    wins.append(result)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        return wins, losses

    def test_racing_change_grant_with_same_version_has_one_winner(self, world: CareAccess, admin: Actor) -> None:
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        count = self.race_threads
        wins, losses = self._race(
            count,
            lambda i: world.change_grant(
                admin, C1, KAJSA, RESTRICTED, until=dt.date(2026, 2, 1) + dt.timedelta(days=i), expected_version=1
            ),
        )
        assert len(wins) == 1, losses
        assert len(losses) == count - 1
        assert all(isinstance(e, Conflict) and e.code == "version_mismatch" for e in losses), losses
        (winner,) = wins
        assert isinstance(winner, Grant)
        assert world.resident_access(admin, C1, KAJSA).grants == (winner,)
        changes = [e for e in world.events(limit=1000) if e.action is Action.GRANT_CHANGED]
        assert len(changes) == 1
        assert changes[0].after == {k: v for k, v in _grant_data(winner).items() if k != "pnr"}

    def test_racing_grants_of_the_same_case_type_have_one_winner(self, world: CareAccess, admin: Actor) -> None:
        count = self.race_threads
        wins, losses = self._race(count, lambda i: world.grant_case_type(admin, C1, ASA, RESTRICTED))
        assert len(wins) == 1
        assert all(isinstance(e, Conflict) and e.code == "grant_exists" for e in losses), losses
        granted = [e for e in world.events(limit=1000) if e.action is Action.CASE_TYPE_GRANTED]
        assert len(granted) == 1

    def test_racing_approvals_make_one_event(self, world: CareAccess, admin: Actor) -> None:
        wins, losses = self._race(self.race_threads, lambda i: world.approve_resident(admin, C2, ASA))
        assert losses == []
        assert len({id(w) for w in wins}) >= 1
        assert len(set(map(repr, wins))) == 1  # everyone sees the one approval
        approved = [e for e in world.events(limit=1000) if e.action is Action.RESIDENT_APPROVED]
        assert len(approved) == 1

    # == bulk import ===================================================================

    @pytest.fixture
    def importing(self, world: CareAccess) -> CareAccess:
        return world

    @staticmethod
    def imported_records(count: int, clinic_id: str = C1) -> tuple[list[Approval], list[Grant]]:
        """*count* residents, each approved, every other one also granted (one expired)."""
        when = at_local(2025, 6, 1, 8, 0)
        approvals: list[Approval] = []
        grants: list[Grant] = []
        for index in range(count):
            person = make_pnr(f"19{50 + index // 300:02d}{1 + index // 28 % 12:02d}{1 + index % 28:02d}", 100 + index)
            name = f"Invånare {index} Åström"
            approvals.append(Approval(clinic_id, person, name, when, "legacy"))
            if index % 2 == 0:
                until = dt.date(2026, 1, 1) if index == 0 else None
                grants.append(Grant(clinic_id, person, RESTRICTED, until, 3, when, "legacy", when, name))
        return approvals, grants

    def test_import_writes_records_and_events(self, importing: CareAccess, admin: Actor) -> None:
        approvals, grants = self.imported_records(40)
        after = importing.events(limit=1000)[-1].id
        events = importing.import_residents(admin, C1, approvals, grants)
        assert [e.action for e in events] == [Action.RESIDENT_APPROVED] * 40 + [Action.CASE_TYPE_GRANTED] * 20
        assert importing.events(after=after, limit=1000) == events
        assert all(e.actor_id == admin.id and e.clinic_id == C1 and e.before is None for e in events)
        records: list[Approval | Grant] = [*approvals, *grants]
        assert [e.pnr for e in events] == [r.pnr for r in records]
        assert [e.case_type_id for e in events[40:]] == [RESTRICTED] * 20
        # Records keep their own history: times, authors, versions, end dates.
        listed = importing.list_residents(admin, C1, limit=1000).items
        assert [r.pnr for r in listed] == sorted(a.pnr for a in approvals)
        by_pnr = {r.pnr: r for r in listed}
        for approval in approvals:
            assert by_pnr[approval.pnr].approval == approval
            assert by_pnr[approval.pnr].name == approval.name
        for grant in grants:
            assert by_pnr[grant.pnr].grants == (grant,)
        first, second = grants[0], grants[1]
        assert importing.decide(first.pnr, C1, RESTRICTED).reason is Reason.GRANT_EXPIRED
        assert importing.decide(second.pnr, C1, RESTRICTED).reason is Reason.GRANTED
        assert importing.decide(approvals[1].pnr, C1, RESTRICTED).reason is Reason.NOT_GRANTED
        assert importing.decide(approvals[1].pnr, C2, OPEN).reason is Reason.NOT_APPROVED
        # Imported grants behave like any other: the version goes on from where it was.
        changed = importing.change_grant(admin, C1, second.pnr, RESTRICTED, until=None, expected_version=3)
        assert changed.version == 4

    def test_import_by_clinic_feed(self, importing: CareAccess, admin: Actor) -> None:
        approvals, grants = self.imported_records(6, C2)
        events = importing.import_residents(admin, C2, approvals, grants)
        feed = importing.events(clinic_id=C2, limit=1000)
        assert feed[-len(events) :] == events
        assert all(e.clinic_id == C1 for e in importing.events(clinic_id=C1, limit=1000))

    def test_import_conflict_writes_nothing(self, importing: CareAccess, admin: Actor) -> None:
        approvals, grants = self.imported_records(30)
        importing.approve_resident(admin, C1, approvals[17].pnr)
        before = self.snapshot(importing)
        with pytest.raises(Conflict) as raised:
            importing.import_residents(admin, C1, approvals, grants)
        assert raised.value.code == "approval_exists"
        assert self.snapshot(importing) == before

    def test_import_existing_grant_conflicts(self, importing: CareAccess, admin: Actor) -> None:
        approvals, grants = self.imported_records(10)
        importing.grant_case_type(admin, C1, grants[-1].pnr, RESTRICTED)
        before = self.snapshot(importing)
        with pytest.raises(Conflict) as raised:
            importing.import_residents(admin, C1, approvals, grants)
        assert raised.value.code == "grant_exists"
        assert self.snapshot(importing) == before

    def test_import_batch_preconditions_hold_in_the_store(self, importing: CareAccess, admin: Actor) -> None:
        # Checked by the store itself, for a caller racing a change of the case type.
        approvals, grants = self.imported_records(4)
        store = importing.store
        records: tuple[Approval | Grant, ...] = (*approvals, *grants)
        drafts = tuple(
            EventDraft(
                at_local(2026, 1, 15),
                admin.id,
                Action.RESIDENT_APPROVED if isinstance(r, Approval) else Action.CASE_TYPE_GRANTED,
                C1,
                r.pnr,
                getattr(r, "case_type_id", None),
            )
            for r in records
        )

        def planned(clinic_id: str, some: tuple[Approval | Grant, ...], events: tuple[EventDraft, ...]) -> Changeset:
            """What the core plans for an import: the store checks it, knowing no import rule."""
            kinds = sorted({r.case_type_id for r in some if isinstance(r, Grant)})
            guards: list[Precondition] = [MustExist(ClinicKey(clinic_id))]
            guards += [CaseTypeRestricted(CaseTypeKey(clinic_id, t)) for t in kinds]
            guards += [MustBeAbsent(key_of(r)) for r in some]
            return Changeset(clinic_id, tuple(guards), tuple(Put(r) for r in some), events)

        importing.put_case_type(admin, CaseType(C1, RESTRICTED, "Nu öppen", restricted=False))
        with pytest.raises(Conflict) as raised:
            store.apply(planned(C1, records, drafts))
        assert raised.value.code == "case_type_no_longer_restricted"
        importing.remove_case_type(admin, C1, RESTRICTED)
        with pytest.raises(Conflict) as raised:
            store.apply(planned(C1, records, drafts))
        assert raised.value.code == "case_type_no_longer_restricted"
        moved = tuple(attrs.evolve(r, clinic_id="gone") for r in approvals)
        gone_drafts = tuple(attrs.evolve(d, clinic_id="gone") for d in drafts[: len(moved)])
        with pytest.raises(Conflict) as raised:
            store.apply(planned("gone", moved, gone_drafts))
        assert raised.value.code == "clinic_missing"
        assert store.list_residents(_everyone(C1)) == []
        assert importing.events(limit=1000)[-1].action is Action.CASE_TYPE_REMOVED

    def test_import_is_validated_and_authorized(self, importing: CareAccess, admin: Actor, outsider: Actor) -> None:
        approvals, grants = self.imported_records(4)
        before = self.snapshot(importing)
        with pytest.raises(PermissionDenied):
            importing.import_residents(outsider, C1, approvals, grants)
        with pytest.raises(NotFound) as unknown:
            importing.import_residents(admin, C1, (), [attrs.evolve(grants[0], case_type_id="nope")])
        assert unknown.value.code == "unknown_case_type"
        cases = {
            "case_type_not_restricted": ((), [attrs.evolve(grants[0], case_type_id=OPEN)]),
            "import_mixed_clinics": ([*approvals, attrs.evolve(approvals[0], clinic_id=C2)], ()),
            "import_duplicate": ([*approvals, approvals[2]], ()),
            "invalid_version": ((), [attrs.evolve(grants[0], version=0)]),
        }
        wrong: Any = (1.5, None, 5)  # values the types forbid, as an untyped caller may send
        for bad in (
            ("invalid_version", (), [attrs.evolve(grants[0], version=wrong[0])]),
            ("invalid_version", (), [attrs.evolve(grants[0], version=True)]),
            ("invalid_version", (), [attrs.evolve(grants[0], version=2**63)]),
            ("invalid_record", (), [attrs.evolve(grants[0], granted_by=wrong[1])]),
            ("invalid_record", [attrs.evolve(approvals[0], approved_by="")], ()),
            ("invalid_record", [attrs.evolve(approvals[0], name=wrong[2])], ()),
        ):
            with pytest.raises(InvalidRequest) as invalid:
                importing.import_residents(admin, C1, bad[1], bad[2])
            assert invalid.value.code == bad[0]
        for code, (some_approvals, some_grants) in cases.items():
            with pytest.raises(InvalidRequest) as invalid:
                importing.import_residents(admin, C1, some_approvals, some_grants)
            assert invalid.value.code == code
        assert self.snapshot(importing) == before
        assert importing.import_residents(admin, C1) == []


def _everyone(clinic_id: str) -> ResidentQuery:
    return ResidentQuery(clinic_id, 1000)


def _grant_data(grant: Grant) -> dict[str, Any]:
    data: dict[str, Any] = converter.unstructure(grant)
    return data
