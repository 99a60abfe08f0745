"""The event feed: one event per change, in order, paged and filtered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from careaccess import (
    Action,
    Actor,
    CareAccess,
    CaseType,
    Clinic,
    InvalidRequest,
)
from careaccess.testing.clock import FrozenClock
from careaccess.testing.conformance.fixtures import (
    ASA,
    C1,
    C2,
    KAJSA,
    RESTRICTED,
    TOLVAN,
    ConformanceBase,
)


class FeedTests(ConformanceBase):
    """The event feed: one event per change, in order, paged and filtered."""

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

    def test_clinic_feed_goes_on_from_another_clinics_event(self, world: CareAccess, admin: Actor) -> None:
        for person in (TOLVAN, ASA, KAJSA):
            world.approve_resident(admin, C2, person)
            world.approve_resident(admin, C1, person)
        everything = world.events(limit=1000)
        for index, event in enumerate(everything):
            for clinic in (C1, C2, "no-such-clinic"):
                later = [e for e in everything[index + 1 :] if e.clinic_id == clinic]
                assert world.events(after=event.id, clinic_id=clinic, limit=1000) == later, (index, clinic)
                assert world.events(after=event.id, clinic_id=clinic, limit=1) == later[:1], (index, clinic)
            assert world.events(after=event.id, limit=1000) == everything[index + 1 :]

    def test_invalid_event_cursor(self, world: CareAccess) -> None:
        with pytest.raises(InvalidRequest) as raised:
            world.events(after="not an event id")
        assert raised.value.code == "invalid_cursor"
