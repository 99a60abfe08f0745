"""The decision table, and grants expiring at the exact local boundaries."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careaccess import (
    Actor,
    AreaRule,
    CareAccess,
    CaseType,
    Clinic,
    InvalidIdentityNumber,
    InvalidRequest,
    Reason,
    Residence,
    ServiceArea,
    StaticDirectory,
    connect,
)
from careaccess.store import Store
from careaccess.testing.adversarial import CHUNK_SIZES, batches, neighbours
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance.fixtures import (
    ASA,
    C1,
    C2,
    COORD,
    KAJSA,
    NILS,
    OPEN,
    OPEN2,
    RESTRICTED,
    RESTRICTED2,
    STOCKHOLM,
    TOLVAN,
    UTC,
    ConformanceBase,
    assert_same_list,
    at_local,
)


class DecisionTests(ConformanceBase):
    """The decision table, and grants expiring at the exact local boundaries."""

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

    def test_every_row_carries_its_inputs_and_only_its_own_evidence(self, world: CareAccess, admin: Actor) -> None:
        approval = world.approve_resident(admin, C2, ASA)
        valid = world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        ended = world.grant_case_type(admin, C1, TOLVAN, RESTRICTED, until=dt.date(2026, 1, 15))
        moment = at_local(2026, 1, 16)
        rows = [
            (ASA, "nowhere", OPEN, Reason.UNKNOWN_CLINIC, (None, None, None)),
            (ASA, C1, "nothing", Reason.UNKNOWN_CASE_TYPE, (None, None, None)),
            (ASA, C1, RESTRICTED, Reason.NOT_GRANTED, (None, None, None)),
            (KAJSA, C1, RESTRICTED, Reason.GRANTED, (None, valid, None)),
            (TOLVAN, C1, RESTRICTED, Reason.GRANT_EXPIRED, (None, ended, None)),
            (ASA, C2, OPEN, Reason.APPROVED, (approval, None, None)),
            (TOLVAN, C1, OPEN, Reason.SERVICE_AREA, (None, None, AreaRule(region="01"))),
            (NILS, C1, OPEN, Reason.NOT_APPROVED, (None, None, None)),
        ]
        many = world.decide_many([(p, c, t) for p, c, t, _, _ in rows], at=moment)
        for (person, clinic, case_type, reason, evidence), batched in zip(rows, many, strict=True):
            for decision in (world.decide(person, clinic, case_type, at=moment), batched):
                assert decision.reason is reason
                assert decision.allowed is (reason in {Reason.GRANTED, Reason.APPROVED, Reason.SERVICE_AREA})
                assert (decision.pnr, decision.clinic_id, decision.case_type_id, decision.at) == (
                    person,
                    clinic,
                    case_type,
                    moment,
                ), reason
                assert (decision.approval, decision.grant, decision.rule) == evidence, reason

    def test_residents_who_collide_keep_their_own_facts(self, world: CareAccess, admin: Actor) -> None:
        # Sharing a birth date, the last four digits, the 10 digits (a century apart) or,
        # as a coordination number, the birth date: one resident's facts are never another's.
        family = [KAJSA, *neighbours(KAJSA, today=dt.date(2026, 1, 15)).values()]
        assert len(family) == 5
        for index, person in enumerate(family):
            if index % 2 == 0:
                world.approve_resident(admin, C2, person)
            else:
                world.grant_case_type(admin, C2, person, RESTRICTED)
        requests = [(p, C2, t) for p in family for t in (OPEN, RESTRICTED)]
        approved = (Reason.APPROVED, Reason.NOT_GRANTED)
        granted = (Reason.NOT_APPROVED, Reason.GRANTED)
        expected = [reason for i in range(len(family)) for reason in (granted if i % 2 else approved)]
        assert [d.reason for d in world.decide_many(requests)] == expected
        assert [world.decide(*r).reason for r in requests] == expected
        for person in family:
            access = world.resident_access(admin, C2, person)
            assert {g.pnr for g in access.grants} <= {person}
            assert access.approval is None or access.approval.pnr == person

    def test_ids_that_look_alike_are_different_ids(self, world: CareAccess, admin: Actor) -> None:
        kinds = ["kbt", "kbt-barn", "kb", "KBT", "Kbt-barn", "kbt\u0430", "k\u03bat"]  # Cyrillic a, Greek kappa
        for kind in kinds:
            world.put_case_type(admin, CaseType(C1, kind, kind, restricted=True))
        clinics = ("vc", "vc-ost-2", "VC-OST", "vc-\u03bfst")  # Greek omicron
        founder = Actor("admin-2", frozenset(clinics))
        for clinic in clinics:
            world.put_clinic(founder, Clinic(clinic, clinic))
            world.put_case_type(founder, CaseType(clinic, OPEN, "Fråga"))
        world.grant_case_type(admin, C1, KAJSA, "kbt-barn")
        world.approve_resident(admin, C1, KAJSA)
        requests = [(KAJSA, C1, kind) for kind in kinds]
        requests += [(KAJSA, clinic, OPEN) for clinic in clinics]
        expected = [Reason.GRANTED if kind == "kbt-barn" else Reason.NOT_GRANTED for kind in kinds]
        expected += [Reason.NOT_APPROVED] * 4
        assert [d.reason for d in world.decide_many(requests)] == expected
        assert [world.decide(*r).reason for r in requests] == expected
        assert sorted(c.id for c in world.case_types(C1)) == sorted([OPEN, OPEN2, RESTRICTED, RESTRICTED2, *kinds])

    def test_decide_many_keeps_order_and_repeats_past_every_chunk(self, world: CareAccess, admin: Actor) -> None:
        world.approve_resident(admin, C2, ASA)
        world.grant_case_type(admin, C1, KAJSA, RESTRICTED)
        pool = [(p, c, t) for p in (TOLVAN, ASA, NILS, KAJSA, COORD) for c in (C1, C2) for t in (OPEN, RESTRICTED)]
        single = {r: world.decide(*r, at=at_local(2026, 1, 16)) for r in pool}
        for size in sorted({1, *(n + d for n in CHUNK_SIZES for d in (-1, 0, 1)), 2 * max(CHUNK_SIZES) + 1}):
            batch = [pool[(i * 7 + i // len(pool)) % len(pool)] for i in range(size)]
            assert_same_list(world.decide_many(batch, at=at_local(2026, 1, 16)), [single[r] for r in batch], f"{size}")

    @settings(
        max_examples=10,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,  # reads only: the examples cannot disturb each other
            HealthCheck.differing_executors,  # the suite's class is subclassed once per store
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )
    @given(data=st.data())
    def test_decide_many_agrees_with_decide_on_drawn_batches(
        self, world: CareAccess, admin: Actor, data: st.DataObject
    ) -> None:
        # Reads only: every example may share the one world.
        pool = [(p, c, t) for p in (TOLVAN, ASA, KAJSA) for c in (C1, C2, "nowhere") for t in (OPEN, RESTRICTED)]
        single = {r: world.decide(*r, at=at_local(2026, 1, 16)) for r in pool}
        batch = data.draw(batches(pool), label="batch")
        assert_same_list(world.decide_many(batch, at=at_local(2026, 1, 16)), [single[r] for r in batch], "decide_many")

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
