"""A downstream project's tests: only the careaccess pytest fixtures and strategies."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inbox import Inbox, Message, Refused

from careaccess import Actor, CareAccess, CaseType, Clinic, connect
from careaccess.testing import strategies as cs
from careaccess.testing.clock import FrozenClock

TOLVAN = "19121212-1212"
# These tests only read through the fixture they share between examples.
SHARED_FIXTURE = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)


def test_an_approved_resident_reaches_the_clinic(
    careaccess_access: CareAccess, careaccess_clinic: Clinic, careaccess_actor: Actor
) -> None:
    careaccess_access.put_case_type(careaccess_actor, CaseType(careaccess_clinic.id, "fraga", "Fråga om vård"))
    inbox = Inbox(careaccess_access)
    assert inbox.submit(TOLVAN, careaccess_clinic.id, "fraga", "Hej!") == Refused("not_approved")
    careaccess_access.approve_resident(careaccess_actor, careaccess_clinic.id, TOLVAN)
    accepted = inbox.submit(TOLVAN, careaccess_clinic.id, "fraga", "Hej igen!")
    assert isinstance(accepted, Message)
    assert inbox.by_clinic == {careaccess_clinic.id: [accepted]}


def test_a_grant_opens_a_restricted_case_type_until_its_end_date(
    careaccess_access: CareAccess,
    careaccess_clock: FrozenClock,
    careaccess_clinic: Clinic,
    careaccess_actor: Actor,
) -> None:
    clinic = careaccess_clinic.id
    careaccess_access.put_case_type(careaccess_actor, CaseType(clinic, "kbt", "KBT", restricted=True))
    careaccess_access.grant_case_type(
        careaccess_actor, clinic, TOLVAN, "kbt", until=careaccess_access.today() + dt.timedelta(days=7)
    )
    inbox = Inbox(careaccess_access)
    assert isinstance(inbox.submit(TOLVAN, clinic, "kbt", "Veckans övning"), Message)
    careaccess_clock.advance(days=8)
    assert inbox.submit(TOLVAN, clinic, "kbt", "För sent") == Refused("grant_expired")


@SHARED_FIXTURE
@given(invalid=cs.invalid_identity_number_texts())
def test_malformed_numbers_are_refused_with_their_code(
    careaccess_access: CareAccess, careaccess_clinic: Clinic, invalid: cs.InvalidText
) -> None:
    refused = Inbox(careaccess_access).submit(invalid.text, careaccess_clinic.id, "fraga", "Hej")
    assert refused == Refused(invalid.code)


@SHARED_FIXTURE
@given(world=cs.worlds(max_residents=5), text=st.text(max_size=20))
def test_the_inbox_accepts_exactly_what_careaccess_allows(careaccess_url: str, world: cs.World, text: str) -> None:
    clock = FrozenClock(world.now)
    # A fresh store for every example: worlds reuse ids.
    with connect(careaccess_url, plugins=[world.directory()], clock=clock) as access:
        world.load(access, clock)
        inbox = Inbox(access)
        allowed_count = 0
        for resident in world.residents:
            for kind in world.case_types:
                allowed = access.decide(resident.pnr, kind.clinic_id, kind.id).allowed
                outcome = inbox.submit(resident.pnr, kind.clinic_id, kind.id, text)
                assert isinstance(outcome, Message) is allowed
                allowed_count += allowed
        assert sum(len(messages) for messages in inbox.by_clinic.values()) == allowed_count
