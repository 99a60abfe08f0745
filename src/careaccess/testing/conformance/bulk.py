"""Bulk actions and the rarest identity numbers, on the store under test.

- A bulk action ("Hantera invånare → Ta bort markerade", a case type handed out to or
  taken from a group) is one changeset of up to ``MAX_BULK`` records: the store writes
  all of it with one event per record, and a selection that went stale (records
  someone else removed first) is reported exactly.
- A coordination number whose birth month or day was never established (month ``00``,
  day ``60``) is stored, found, listed and decided like any other; an age-bounded
  service-area rule never matches it, one without ages does.
"""

from __future__ import annotations

import datetime as dt

from careaccess import Action, Actor, Approval, AreaRule, CareAccess, Clinic, Reason, Residence, ServiceArea
from careaccess.identity import PersonalIdentityNumber, luhn_check_digit
from careaccess.store import MAX_BULK
from careaccess.testing.conformance.fixtures import C1, OPEN, RESTRICTED, ConformanceBase, everyone

#: Skatteverket's test samordningsnummer whose birth month (00), day (60) or both were never established.
UNKNOWN_DATES = ("19150088-2392", "19171160-2399", "19310060-2394")


def _people(count: int) -> list[PersonalIdentityNumber]:
    """*count* distinct numbers born 1950-1999, none of the standard world's."""
    found: list[PersonalIdentityNumber] = []
    day = dt.date(1950, 1, 1)
    serial = 2
    while len(found) < count:
        nine = f"{day:%y%m%d}{serial:03d}"
        found.append(PersonalIdentityNumber.from_digits(f"{day:%Y%m%d}{serial:03d}{luhn_check_digit(nine)}"))
        serial += 2
        if serial > 998:
            serial, day = 2, day + dt.timedelta(days=1)
    return found


class BulkTests(ConformanceBase):
    """Bulk actions as one changeset each; coordination numbers without a birth date."""

    def test_a_bulk_revoke_of_max_bulk_residents_is_one_change_with_an_event_each(
        self, world: CareAccess, admin: Actor
    ) -> None:
        people = _people(MAX_BULK)
        world.import_residents(admin, C1, [Approval(C1, p, "Massa Invånare", world.now(), admin.id) for p in people])
        stale = people[:100]
        world.revoke_approvals(admin, C1, stale)
        result = world.revoke_approvals(admin, C1, people)
        assert list(result.stale) == stale
        assert len(result.events) == MAX_BULK - 100
        assert {e.action for e in result.events} == {Action.APPROVAL_REVOKED}
        assert [e.pnr for e in result.events] == people[100:]
        assert world.store.list_residents(everyone(C1)) == []
        # The events follow each other in the feed, in selection order.
        following = world.store.read_events(result.events[0].id, 1000, C1)
        assert [e.id for e in following] == [e.id for e in result.events[1:1001]]

    def test_a_bulk_grant_and_removal_report_exactly_the_stale_residents(self, world: CareAccess, admin: Actor) -> None:
        people = _people(300)
        for person in people[:150]:
            world.approve_resident(admin, C1, person, name="Grupp")
        already = people[:20]
        world.grant_case_types(admin, C1, already, RESTRICTED, dt.date(2026, 12, 31))
        granted = world.grant_case_types(admin, C1, people, RESTRICTED, None)
        assert list(granted.stale) == [(p, RESTRICTED) for p in already]
        assert len(granted.events) == 280
        gone = people[50:60]
        world.remove_grants(admin, C1, [(p, RESTRICTED) for p in gone])
        removed = world.remove_grants(admin, C1, [(p, RESTRICTED) for p in people])
        assert list(removed.stale) == [(p, RESTRICTED) for p in gone]
        assert len(removed.events) == 290
        assert all(not item.grants for item in world.store.list_residents(everyone(C1)))

    def test_coordination_numbers_without_a_birth_date_are_stored_found_and_decided(
        self, world: CareAccess, admin: Actor
    ) -> None:
        ages = ServiceArea((AreaRule(region="01", min_age=18, max_age=120),))
        world.put_clinic(admin, Clinic(C1, "Vårdcentralen Öst", ages))
        numbers = [PersonalIdentityNumber.parse(text) for text in UNKNOWN_DATES]
        for person in numbers:
            assert person.birth_date is None
            world.approve_resident(admin, C1, person, name="Okänt Datum")
            world.grant_case_type(admin, C1, person, RESTRICTED, None)
        listed = [item.pnr for item in world.list_residents(admin, C1, search=numbers[0].digits[:8]).items]
        assert numbers[0] in listed
        assert [item.pnr for item in world.list_residents(admin, C1, search="-2392").items] == [numbers[0]]
        for person in numbers:
            assert world.decide(person, C1, RESTRICTED).reason is Reason.GRANTED
            assert world.decide(person, C1, OPEN).reason is Reason.APPROVED
            world.revoke_approval(admin, C1, person)
            stockholm = Residence("01", "0180")
            assert world.decide(person, C1, OPEN, residence=stockholm).reason is Reason.NOT_APPROVED
        world.put_clinic(admin, Clinic(C1, "Vårdcentralen Öst", ServiceArea((AreaRule(region="01"),))))
        assert world.decide(numbers[0], C1, OPEN, residence=Residence("01", "0180")).reason is Reason.SERVICE_AREA
