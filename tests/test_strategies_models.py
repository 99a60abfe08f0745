"""The model strategies are sound: the library accepts every value they yield, through its public API."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from careaccess import (
    Action,
    Actor,
    Approval,
    AreaRule,
    CareAccess,
    CaseType,
    Clinic,
    Event,
    Grant,
    Page,
    PersonalIdentityNumber,
    Reason,
    Residence,
    Resident,
    ResidentAccess,
    ServiceArea,
    StaticDirectory,
    connect,
    converter,
)
from careaccess.testing import strategies as cs
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance import make_pnr
from careaccess.testing.world import WORLD_TIMEZONE, World, grant_state, local_noon

TODAY = dt.date(2026, 3, 29)  # the day daylight saving time starts in Stockholm
NOW = local_noon(TODAY)


def earliest_birth(pnr: PersonalIdentityNumber) -> dt.date:
    """The birth date, or the first date a number whose month or day was never established allows."""
    digits = pnr.digits
    return pnr.birth_date or dt.date(pnr.birth_year, int(digits[4:6]) or 1, int(digits[6:8]) - 60 or 1)


SETUP = Actor("setup", frozenset())


def fresh(*plugins: object) -> tuple[CareAccess, FrozenClock]:
    clock = FrozenClock(NOW)
    return connect("memory://", plugins=plugins, clock=clock), clock


def admin_of(*clinic_ids: str) -> Actor:
    return Actor("test-admin", frozenset(clinic_ids))


def round_trips(value: Any) -> None:
    assert converter.structure(converter.unstructure(value), type(value)) == value


# -- service areas, clinics, case types --------------------------------------------------


@given(cs.service_areas(max_rules=2))
def test_service_areas_respect_max_rules_and_are_stored(area: ServiceArea) -> None:
    assert len(area.rules) <= 2
    access, _ = fresh()
    access.put_clinic(admin_of("c"), Clinic("c", "Mottagningen", area))
    assert access.clinic("c") == Clinic("c", "Mottagningen", area)
    round_trips(area)


@given(cs.clinics())
def test_clinics_are_accepted_and_read_back(clinic: Clinic) -> None:
    access, _ = fresh()
    assert access.put_clinic(admin_of(clinic.id), clinic) == clinic
    assert access.clinic(clinic.id) == clinic
    assert [e.action for e in access.events()] == [Action.CLINIC_SAVED]
    round_trips(clinic)


@given(cs.clinics(ids=st.just("vc-1"), service_area=st.just(ServiceArea())))
def test_clinics_take_their_ids_and_area_from_the_given_strategies(clinic: Clinic) -> None:
    assert clinic.id == "vc-1"
    assert clinic.service_area == ServiceArea()


@given(st.data(), st.sampled_from([None, True, False]))
def test_case_types_are_accepted_and_listed(data: st.DataObject, restricted: bool | None) -> None:
    clinic = data.draw(cs.clinics())
    case_type = data.draw(cs.case_types(clinic_id=clinic.id, restricted=restricted))
    assert case_type.clinic_id == clinic.id
    assert restricted is None or case_type.restricted is restricted
    access, _ = fresh()
    admin = admin_of(clinic.id)
    access.put_clinic(admin, clinic)
    access.put_case_type(admin, case_type)
    assert access.case_types(clinic.id) == [case_type]
    round_trips(case_type)


@given(cs.case_types(ids=st.just("t1")))
def test_case_types_without_a_clinic_draw_one(case_type: CaseType) -> None:
    assert case_type.id == "t1"
    access, _ = fresh()
    admin = admin_of(case_type.clinic_id)
    access.put_clinic(admin, Clinic(case_type.clinic_id, "Mottagningen"))
    access.put_case_type(admin, case_type)


# -- actors and residents ----------------------------------------------------------------


@given(cs.actors())
def test_drawn_actors_may_change_exactly_their_clinics(actor: Actor) -> None:
    assert len(actor.clinics) <= 3
    access, _ = fresh()
    for clinic_id in sorted(actor.clinics):
        access.put_clinic(actor, Clinic(clinic_id, "Mottagningen"))
        assert access.authorized(actor, Action.RESIDENT_APPROVED, clinic_id)
    assert not access.authorized(actor, Action.RESIDENT_APPROVED, "_not-an-id-the-strategy-draws_")
    round_trips(actor)


@given(cs.actors(clinics=["a", "b"], ids=st.just("anna")))
def test_actors_administer_the_given_clinics(actor: Actor) -> None:
    assert actor == Actor("anna", frozenset({"a", "b"}))


@given(cs.residents(today=TODAY), st.sampled_from([None, True, False]), st.data())
def test_residents_are_born_by_today_and_found_through_the_directory(
    resident: Resident, known: bool | None, data: st.DataObject
) -> None:
    assert earliest_birth(resident.pnr) <= TODAY
    shaped = data.draw(cs.residents(today=TODAY, named=known, known_residence=known))
    if known is not None:
        assert (shaped.name is not None) is known
        assert (shaped.residence is not None) is known
    access, _ = fresh(StaticDirectory([resident]))
    assert access.lookup_resident(resident.pnr) == resident
    access.put_clinic(admin_of("c"), Clinic("c", "Mottagningen"))
    assert access.approve_resident(admin_of("c"), "c", resident.pnr).name == resident.name
    round_trips(resident)


# -- approvals and grants ----------------------------------------------------------------


def local_date(at: dt.datetime) -> dt.date:
    return at.astimezone(WORLD_TIMEZONE).date()


@given(cs.approvals(today=TODAY))
def test_approvals_are_what_the_api_makes_at_their_time(approval: Approval) -> None:
    assert earliest_birth(approval.pnr) <= local_date(approval.approved_at) < TODAY
    access, clock = fresh()
    access.put_clinic(admin_of(approval.clinic_id), Clinic(approval.clinic_id, "Mottagningen"))
    clock.set(approval.approved_at)
    author = Actor(approval.approved_by, frozenset({approval.clinic_id}))
    made = access.approve_resident(author, approval.clinic_id, approval.pnr, name=approval.name)
    assert made == approval
    round_trips(approval)


def make_grant_through_the_api(grant: Grant) -> tuple[CareAccess, Grant]:
    access, clock = fresh()
    author = Actor(grant.granted_by, frozenset({grant.clinic_id}))
    access.put_clinic(author, Clinic(grant.clinic_id, "Mottagningen"))
    access.put_case_type(author, CaseType(grant.clinic_id, grant.case_type_id, "Begränsad", restricted=True))
    clock.set(grant.granted_at)
    made = access.grant_case_type(author, grant.clinic_id, grant.pnr, grant.case_type_id, grant.until, name=grant.name)
    clock.set(grant.changed_at)
    for _ in range(grant.version - 1):
        made = access.change_grant(author, grant.clinic_id, grant.pnr, grant.case_type_id, grant.until)
    clock.set(NOW)
    return access, made


@given(st.data(), st.sampled_from([None, *cs.GRANT_STATES]))
def test_grants_are_what_the_api_makes_and_have_their_state(data: st.DataObject, state: cs.GrantState | None) -> None:
    grant = data.draw(cs.grants(state=state, today=TODAY, max_version=4))
    assert 1 <= grant.version <= 4
    assert earliest_birth(grant.pnr) <= local_date(grant.granted_at)
    assert grant.granted_at <= grant.changed_at < NOW
    assert grant.version > 1 or grant.granted_at == grant.changed_at
    assert state is None or grant_state(grant, TODAY) == state
    access, made = make_grant_through_the_api(grant)
    assert made == grant
    decision = access.decide(grant.pnr, grant.clinic_id, grant.case_type_id)
    expected = Reason.GRANT_EXPIRED if grant_state(grant, TODAY) == "past" else Reason.GRANTED
    assert decision.reason is expected
    round_trips(grant)


@given(cs.grants(clinic_id="c", case_type_id="t", pnr=PersonalIdentityNumber.from_digits("191212121212")))
def test_grants_use_the_given_clinic_case_type_and_resident(grant: Grant) -> None:
    assert (grant.clinic_id, grant.case_type_id, grant.pnr.digits) == ("c", "t", "191212121212")


# -- decision requests -------------------------------------------------------------------


@given(cs.decision_requests(today=TODAY, days=30))
def test_decision_requests_never_raise_and_fail_closed_on_an_empty_store(asked: cs.DecisionRequest) -> None:
    assert asked.at.utcoffset() is not None
    assert abs(local_date(asked.at) - TODAY) <= dt.timedelta(days=31)
    access, _ = fresh()
    decision = access.decide(*asked)
    assert decision.reason is Reason.UNKNOWN_CLINIC
    assert (decision.pnr, decision.clinic_id, decision.case_type_id, decision.at) == asked[:4]


# -- worlds ------------------------------------------------------------------------------


def stored_records(access: CareAccess, world: World) -> tuple[set[Approval], set[Grant]]:
    found_approvals: set[Approval] = set()
    found_grants: set[Grant] = set()
    for clinic in world.clinics:
        page = access.list_residents(world.admin(), clinic.id, limit=1000)
        assert page.next_cursor is None
        for item in page.items:
            if item.approval is not None:
                found_approvals.add(item.approval)
            found_grants.update(item.grants)
    return found_approvals, found_grants


@given(cs.worlds(today=TODAY))
def test_a_loaded_world_is_stored_exactly_and_decides_as_its_records_say(world: World) -> None:
    assert 1 <= len(world.clinics) <= 3
    assert world.today == TODAY
    access, clock = fresh(world.directory())
    world.load(access, clock)
    assert clock() == world.now == NOW
    for clinic in world.clinics:
        assert access.clinic(clinic.id) == clinic
        assert access.case_types(clinic.id) == sorted(
            (t for t in world.case_types if t.clinic_id == clinic.id), key=lambda t: t.id
        )
    assert stored_records(access, world) == (set(world.approvals), set(world.grants))
    changes = sum(grant.version for grant in world.grants) + len(world.approvals)
    assert len(access.events(limit=1000)) == len(world.clinics) + len(world.case_types) + changes
    restricted = {(t.clinic_id, t.id) for t in world.case_types if t.restricted}
    for grant in world.grants:
        assert (grant.clinic_id, grant.case_type_id) in restricted
        reason = access.decide(grant.pnr, grant.clinic_id, grant.case_type_id).reason
        assert reason is (Reason.GRANT_EXPIRED if grant_state(grant, TODAY) == "past" else Reason.GRANTED)
    for approval in world.approvals:
        for kind in world.case_types:
            if kind.clinic_id == approval.clinic_id and not kind.restricted:
                assert access.decide(approval.pnr, kind.clinic_id, kind.id).reason is Reason.APPROVED
    everything = [(r.pnr, t.clinic_id, t.id) for r in world.residents for t in world.case_types]
    assert [d.allowed for d in access.decide_many(everything)] == [access.decide(*r).allowed for r in everything]


@given(cs.worlds(min_clinics=2, max_clinics=2, max_case_types=0, max_residents=0, today=TODAY))
def test_worlds_respect_their_bounds(world: World) -> None:
    assert len(world.clinics) == 2
    assert (world.case_types, world.residents, world.approvals, world.grants) == ((), (), (), ())


@given(st.data(), cs.worlds(today=TODAY, max_residents=4))
def test_decision_requests_about_a_world_are_decided(data: st.DataObject, world: World) -> None:
    access, clock = fresh(world.directory())
    world.load(access, clock)
    people = [r.pnr for r in world.residents] or [PersonalIdentityNumber.from_digits("191212121212")]
    request = data.draw(
        cs.decision_requests(
            clinic_ids=st.sampled_from([c.id for c in world.clinics]),
            case_type_ids=st.sampled_from([t.id for t in world.case_types] or ["none"]),
            pnrs=st.sampled_from(people),
            today=TODAY,
            residence=False,
        )
    )
    assert request.residence is None
    assert access.decide(*request).reason is not Reason.UNKNOWN_CLINIC


def test_loading_needs_the_clock_the_access_reads() -> None:
    world = World((Clinic("c", "Mottagningen"),), (), (), (), (), TODAY + dt.timedelta(days=1))
    access, _ = fresh()  # reads another clock, frozen at noon on TODAY
    with pytest.raises(ValueError, match="FrozenClock"):
        world.load(access, FrozenClock(NOW))
    assert access.clinic("c") is None


# -- registration ------------------------------------------------------------------------

REGISTERED: list[type[Any]] = [
    PersonalIdentityNumber,
    Residence,
    AreaRule,
    ServiceArea,
    Clinic,
    CaseType,
    Actor,
    Resident,
    Approval,
    Grant,
    cs.DecisionRequest,
    World,
]


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model.__name__)
def test_every_model_type_is_registered_for_from_type(model: type[Any]) -> None:
    @given(st.from_type(model))
    def check(value: object) -> None:
        assert type(value) is model

    check()


@pytest.mark.parametrize(
    "strategy",
    [
        st.deferred(lambda: cs.identifiers(max_size=0)),
        st.deferred(lambda: cs.display_names(max_size=0)),
        cs.service_areas(max_rules=-1),
        cs.approvals(today=dt.date(1900, 1, 1)),
        cs.approvals(pnr=make_pnr("20260329", 8), today=TODAY),  # born on the day
        cs.grants(max_version=0),
        cs.grants(state="expired"),  # type: ignore[arg-type]
        cs.decision_requests(days=-1),
        cs.worlds(min_clinics=2, max_clinics=1),
        cs.worlds(max_residents=-1),
    ],
)
def test_bad_bounds_are_refused(strategy: st.SearchStrategy[object]) -> None:
    @given(strategy)
    def draw(value: object) -> None:
        raise AssertionError(f"drew {value!r} despite bad bounds")

    with pytest.raises(InvalidArgument):
        draw()


@pytest.mark.parametrize(
    "first",
    ["careaccess.testing.strategies", "hypothesis", "careaccess.testing.registration", "careaccess"],
)
def test_the_strategies_import_whatever_was_imported_first(first: str) -> None:
    # hypothesis runs its entry points (ours among them) while it is first imported.
    script = (
        f"import {first}\n"
        "import careaccess.testing.strategies as cs\n"
        "from hypothesis import strategies as st\n"
        "from careaccess import Clinic\n"
        "assert isinstance(st.from_type(Clinic).example(), Clinic)\n"
        "assert isinstance(st.from_type(cs.DecisionRequest).example(), cs.DecisionRequest)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)  # noqa: S603 -- our own script
    assert done.returncode == 0, done.stderr


# -- events, resident list entries and pages ---------------------------------------------------------


@given(cs.events(today=TODAY))
def test_events_are_what_the_service_records(event: Event) -> None:
    assert event.at.utcoffset() is not None
    assert len(event.id) == 16
    assert event.id.isdigit()
    concerns_a_resident = event.action not in (Action.CLINIC_SAVED, Action.CASE_TYPE_SAVED, Action.CASE_TYPE_REMOVED)
    assert (event.pnr is not None) is concerns_a_resident
    assert (event.case_type_id is not None) is (event.action not in _NO_CASE_TYPE)
    if event.action in (Action.RESIDENT_APPROVED, Action.CASE_TYPE_GRANTED):
        assert event.before is None
    elif event.action not in (Action.CLINIC_SAVED, Action.CASE_TYPE_SAVED):  # a save may create
        assert event.before is not None
    assert (event.after is None) is (
        event.action in (Action.CASE_TYPE_REMOVED, Action.APPROVAL_REVOKED, Action.GRANT_REMOVED)
    )
    for data in (event.before, event.after):
        assert data is None or ("pnr" not in data and data.get("clinic_id", data.get("id")) == event.clinic_id)
    if event.action is Action.GRANT_CHANGED:
        assert event.before is not None
        assert event.after is not None
        assert event.after["version"] == event.before["version"] + 1
    round_trips(event)


_NO_CASE_TYPE = (Action.CLINIC_SAVED, Action.RESIDENT_APPROVED, Action.APPROVAL_REVOKED)


@given(cs.events(actions=[Action.RESIDENT_APPROVED, Action.CASE_TYPE_GRANTED], today=TODAY))
def test_approval_and_grant_events_match_the_api(event: Event) -> None:
    access, clock = fresh()
    author = Actor(event.actor_id, frozenset({event.clinic_id}))
    access.put_clinic(author, Clinic(event.clinic_id, "Mottagningen"))
    assert event.pnr is not None
    assert event.after is not None
    clock.set(event.at)
    if event.action is Action.RESIDENT_APPROVED:
        access.approve_resident(author, event.clinic_id, event.pnr, name=event.after["name"])
    else:
        assert event.case_type_id is not None
        access.put_case_type(author, CaseType(event.clinic_id, event.case_type_id, "Begränsad", restricted=True))
        until = event.after["until"]
        access.grant_case_type(
            author,
            event.clinic_id,
            event.pnr,
            event.case_type_id,
            None if until is None else dt.date.fromisoformat(until),
            name=event.after["name"],
        )
    recorded = access.events(clinic_id=event.clinic_id)[-1]
    assert attrs.evolve(recorded, id=event.id) == event


@given(st.from_type(Event), st.from_type(Page), st.from_type(Page[Event]), st.from_type(ResidentAccess))
def test_events_pages_and_resident_list_entries_come_from_from_type(
    event: Event, page: Page[Any], events: Page[Event], entry: ResidentAccess
) -> None:
    assert isinstance(event, Event)
    assert all(isinstance(item, (Event, ResidentAccess)) for item in page.items)
    assert len({type(item) for item in page.items}) <= 1
    assert all(isinstance(item, Event) for item in events.items)
    assert entry.approval is not None or entry.grants
    assert all(g.pnr == entry.pnr and g.clinic_id == (entry.grants[0].clinic_id) for g in entry.grants)
    assert entry.approval is None or entry.approval.pnr == entry.pnr
    assert [g.case_type_id for g in entry.grants] == sorted({g.case_type_id for g in entry.grants})
    round_trips(event)
    round_trips(entry)


@given(cs.pages(items=cs.identifiers(), max_size=3, last=False), cs.pages(max_size=2, last=True))
def test_pages_respect_their_bounds(page: Page[Any], last: Page[Any]) -> None:
    assert len(page.items) <= 3
    assert page.next_cursor
    assert last.next_cursor is None
    assert len(last.items) <= 2


@pytest.mark.parametrize(
    "strategy",
    [
        cs.events(actions=[]),
        cs.events(actions=["clinic_saved_twice"]),  # type: ignore[list-item]
        cs.pages(max_size=-1),
        cs.resident_accesses(max_grants=-1),
    ],
)
def test_bad_event_and_page_bounds_are_refused(strategy: st.SearchStrategy[object]) -> None:
    @given(strategy)
    def draw(value: object) -> None:
        raise AssertionError(f"drew {value!r} despite bad bounds")

    with pytest.raises(InvalidArgument):
        draw()


def test_identity_unknown_birth_date_bounds_are_refused() -> None:
    for strategy in (
        cs.identity_numbers(coordination=False, unknown_birth_date=True),
        cs.identity_numbers(
            min_birth_date=dt.date(2000, 6, 2), max_birth_date=dt.date(2000, 6, 30), unknown_birth_date=True
        ),
    ):
        with pytest.raises(InvalidArgument):
            given(strategy)(lambda value: None)()
