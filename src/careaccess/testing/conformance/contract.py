"""Store-level promises, checked by calling the store's methods directly."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest

from careaccess import (
    Action,
    Actor,
    CareAccess,
    CaseType,
    Clinic,
    Conflict,
    InvalidRequest,
)
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Approval, Grant
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
)
from careaccess.testing.conformance.fixtures import (
    ASA,
    C1,
    C2,
    COORD,
    KAJSA,
    NILS,
    OPEN,
    RESTRICTED,
    RESTRICTED2,
    TOLVAN,
    ConformanceBase,
)


class StoreContractTests(ConformanceBase):
    """Store-level promises, checked by calling the store's methods directly."""

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

    def test_apply_raises_the_first_failing_precondition_in_the_order_given(self, world: CareAccess) -> None:
        missing = MustExist(ApprovalKey(C1, NILS.digits))
        in_use = CaseTypeUnused(CaseTypeKey(C1, RESTRICTED))
        world.grant_case_type(Actor("admin-1", frozenset({C1})), C1, KAJSA, RESTRICTED)
        before = self.snapshot(world)
        for preconditions, code in (((missing, in_use), "approval_missing"), ((in_use, missing), "case_type_in_use")):
            with pytest.raises(Conflict) as raised:
                world.store.apply(Changeset(C1, preconditions, (Put(Clinic(C1, "Ändrad")),), (self._draft(world),)))
            assert raised.value.code == code
        assert self.snapshot(world) == before

    def test_apply_writes_in_the_order_given(self, world: CareAccess) -> None:
        store = world.store
        first = Approval(C1, ASA, "Första", world.now(), "admin-1")
        second = Approval(C1, ASA, "Andra", world.now(), "admin-1")
        key = ApprovalKey(C1, ASA.digits)
        draft = (self._draft(world),)
        store.apply(Changeset(C1, (), (Put(first), Put(second)), draft))  # a Put replaces
        assert store.load_facts(FactsRequest(ASA.digits, C1, OPEN)).approval == second
        store.apply(Changeset(C1, (), (Put(first), Delete(key)), draft))  # then deleted
        assert store.get_resident_access(C1, ASA.digits) is None
        store.apply(Changeset(C1, (), (Delete(key), Put(first)), draft))  # deleted, then put
        assert store.load_facts(FactsRequest(ASA.digits, C1, OPEN)).approval == first
        absent = (GrantKey(C1, ASA.digits, RESTRICTED), CaseTypeKey(C1, "nothing"), ApprovalKey(C1, NILS.digits))
        store.apply(Changeset(C1, (), tuple(Delete(k) for k in absent), draft))  # absent keys: no-ops
        assert store.load_facts(FactsRequest(ASA.digits, C1, OPEN)).approval == first

    def test_apply_counts_every_grant_of_a_case_type(self, world: CareAccess, admin: Actor) -> None:
        # CaseTypeUnused must hold only once the last of several grants is gone.
        for person in (KAJSA, ASA, TOLVAN):
            world.grant_case_type(admin, C1, person, RESTRICTED2)
        unused = CaseTypeUnused(CaseTypeKey(C1, RESTRICTED2))
        change = Changeset(C1, (unused,), (Put(Clinic(C1, "Ändrad")),), (self._draft(world),))
        for person in (KAJSA, ASA):
            world.remove_grant(admin, C1, person, RESTRICTED2)
            with pytest.raises(Conflict) as raised:
                world.store.apply(change)
            assert raised.value.code == "case_type_in_use"
        world.remove_grant(admin, C1, TOLVAN, RESTRICTED2)
        world.store.apply(change)
        assert world.clinic(C1) == Clinic(C1, "Ändrad")

    def test_apply_keeps_every_event_field(self, world: CareAccess) -> None:
        store = world.store
        moments = [world.now(), dt.datetime(2026, 3, 29, 1, 59, 59, 999999, tzinfo=dt.UTC)]
        nested = {
            "name": "Zoë Ångström – 李",
            "until": None,
            "rules": [{"region": "01", "min_age": 18}],
            "n": 2**53 - 1,
        }
        drafts = (
            EventDraft(moments[0], "admin-1", Action.RESIDENT_APPROVED, C1, COORD, None, None, {"name": None}),
            EventDraft(moments[1], "lokal-admin-ö", Action.GRANT_CHANGED, C1, KAJSA, "kbt\u0430", nested, {}),
            EventDraft(
                moments[0], "admin-1", Action.CLINIC_SAVED, C1, None, None, {"service_area": {"rules": []}}, None
            ),
            EventDraft(moments[1], "admin-1", Action.CASE_TYPE_REMOVED, C1, None, RESTRICTED2, nested, None),
        )
        last = store.read_events(None, 1000, None)[-1].id
        events = store.apply(Changeset(C1, (), (), drafts))
        assert len({e.id for e in events}) == len(drafts)
        for draft, event in zip(drafts, events, strict=True):
            assert event == draft.with_id(event.id)
            assert event.at == draft.at  # the same instant, however the store keeps it
        assert store.read_events(last, 1000, None) == events
        assert store.read_events(last, 1000, C1) == events
        assert [store.read_events(e.id, 1, None) for e in events[:-1]] == [[e] for e in events[1:]]
