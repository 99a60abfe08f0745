"""The event feed: one event per change, in order, paged and filtered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from careaccess import Action, Actor, AreaRule, CareAccess, CaseType, Clinic, InvalidRequest, ServiceArea
from careaccess.models import Approval, Grant
from careaccess.serialization import converter
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

    def test_every_action_records_every_event_field(self, world: CareAccess, admin: Actor, clock: FrozenClock) -> None:
        def data(record: object) -> dict[str, Any] | None:
            """A record as event data: JSON-ready, without the identity number (the event has it)."""
            if record is None:
                return None
            unstructured: dict[str, Any] = converter.unstructure(record)
            unstructured.pop("pnr", None)
            return unstructured

        old_clinic = world.clinic(C2)
        new_clinic = Clinic(C2, "Vårdcentralen Väst – ny", ServiceArea((AreaRule(region="14", min_age=18),)))
        new_kind = CaseType(C2, "ny-typ", "Ny typ", restricted=True)
        changed_kind = CaseType(C2, "ny-typ", "Ny typ, ändrad", restricted=True)
        approval = Approval(C2, ASA, "Åsa Öberg-Ärlig", clock(), admin.id)
        first = Grant(C2, KAJSA, RESTRICTED, dt.date(2026, 2, 1), 1, clock(), admin.id, clock(), "Kajsa Anka")
        second = attrs.evolve(first, until=None, version=2)
        steps: list[tuple[Callable[[], object], Action, object, object, object, str | None]] = [
            (lambda: world.put_clinic(admin, new_clinic), Action.CLINIC_SAVED, None, old_clinic, new_clinic, None),
            (lambda: world.put_case_type(admin, new_kind), Action.CASE_TYPE_SAVED, None, None, new_kind, "ny-typ"),
            (
                lambda: world.put_case_type(admin, changed_kind),
                Action.CASE_TYPE_SAVED,
                None,
                new_kind,
                changed_kind,
                "ny-typ",
            ),
            (
                lambda: world.remove_case_type(admin, C2, "ny-typ"),
                Action.CASE_TYPE_REMOVED,
                None,
                changed_kind,
                None,
                "ny-typ",
            ),
            (lambda: world.approve_resident(admin, C2, ASA), Action.RESIDENT_APPROVED, ASA, None, approval, None),
            (lambda: world.revoke_approval(admin, C2, ASA), Action.APPROVAL_REVOKED, ASA, approval, None, None),
            (
                lambda: world.grant_case_type(admin, C2, KAJSA, RESTRICTED, until=dt.date(2026, 2, 1)),
                Action.CASE_TYPE_GRANTED,
                KAJSA,
                None,
                first,
                RESTRICTED,
            ),
            (
                lambda: world.change_grant(admin, C2, KAJSA, RESTRICTED, until=None, expected_version=1),
                Action.GRANT_CHANGED,
                KAJSA,
                first,
                second,
                RESTRICTED,
            ),
            (
                lambda: world.remove_grant(admin, C2, KAJSA, RESTRICTED),
                Action.GRANT_REMOVED,
                KAJSA,
                second,
                None,
                RESTRICTED,
            ),
        ]
        previous = world.events(limit=1000)[-1]
        for step, action, pnr, before, after, case_type_id in steps:
            step()
            (event,) = world.events(after=previous.id, limit=1000)
            assert event.id != previous.id
            assert (event.at, event.actor_id, event.action, event.clinic_id) == (clock(), admin.id, action, C2)
            assert (event.pnr, event.case_type_id) == (pnr, case_type_id), action
            assert (event.before, event.after) == (data(before), data(after)), action
            assert world.events(after=previous.id, clinic_id=C2) == [event]
            assert world.events(after=previous.id, clinic_id=C1) == []
            previous = event

    def test_event_feed_pages_and_filters(self, world: CareAccess, admin: Actor) -> None:
        for person in (TOLVAN, ASA, KAJSA):
            world.approve_resident(admin, C1, person)
            world.approve_resident(admin, C2, person)
        everything = world.events(limit=1000)
        paged = []
        after = None
        for _ in range(len(everything) // 3 + 2):  # bounded: a feed that repeats fails, not hangs
            batch = world.events(after=after, limit=3)
            if not batch:
                break
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
