"""Every administrator workflow through the public API: clinics, case types, approvals, grants, authorization."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from careaccess import (
    Action,
    Actor,
    AreaRule,
    CareAccess,
    CaseType,
    Clinic,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    Reason,
    ServiceArea,
)
from careaccess.models import Approval, Grant
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance.fixtures import (
    ASA,
    C1,
    C2,
    KAJSA,
    OPEN,
    OPEN2,
    RESTRICTED,
    RESTRICTED2,
    STOCKHOLM,
    TOLVAN,
    ConformanceBase,
    at_local,
    make_pnr,
)


class WorkflowTests(ConformanceBase):
    """Every administrator workflow through the public API: clinics, case types, approvals, grants, authorization."""

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

    def test_every_read_sees_a_change_at_once(self, world: CareAccess, admin: Actor, clock: FrozenClock) -> None:
        # Read, change, read again: a store that caches reads must not answer from before the change.
        late = at_local(2026, 2, 5)
        reads: list[tuple[str, Callable[[], object]]] = [
            ("decide", lambda: world.decide(KAJSA, C1, RESTRICTED, at=late).reason),
            ("decide_many", lambda: [d.reason for d in world.decide_many([(KAJSA, C1, RESTRICTED)] * 2, at=late)]),
            ("resident_access", lambda: world.resident_access(admin, C1, KAJSA).grants),
            ("list_residents", lambda: world.list_residents(admin, C1).items),
        ]

        def seen() -> dict[str, object]:
            return {name: read() for name, read in reads}

        grant = world.grant_case_type(admin, C1, KAJSA, RESTRICTED, until=dt.date(2026, 2, 1))
        before = seen()
        assert before["decide"] is Reason.GRANT_EXPIRED
        changed = world.change_grant(admin, C1, KAJSA, RESTRICTED, until=dt.date(2026, 3, 1))
        after = seen()
        assert after["decide"] is Reason.GRANTED
        assert after["decide_many"] == [Reason.GRANTED] * 2
        assert after["resident_access"] == (changed,)
        assert changed != grant
        world.remove_grant(admin, C1, KAJSA, RESTRICTED)
        assert world.decide(KAJSA, C1, RESTRICTED, at=late).reason is Reason.NOT_GRANTED
        assert world.decide_many([(KAJSA, C1, RESTRICTED)], at=late)[0].reason is Reason.NOT_GRANTED
        world.put_case_type(admin, CaseType(C1, RESTRICTED, "KBT", restricted=False))
        world.approve_resident(admin, C1, KAJSA)
        assert world.decide(KAJSA, C1, RESTRICTED, at=late).reason is Reason.APPROVED
        world.revoke_approval(admin, C1, KAJSA)
        assert world.decide_many([(KAJSA, C1, RESTRICTED)], at=late)[0].reason is Reason.SERVICE_AREA  # she lives there

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
