"""A small, consistent set of stored facts that tests can write through the public API.

:func:`careaccess.testing.strategies.worlds` draws them; :meth:`World.load` writes one
into any store, so the stored records afterwards are exactly the world's records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Literal
from zoneinfo import ZoneInfo

from attrs import frozen

from careaccess.directory import StaticDirectory
from careaccess.models import Actor, Approval, CaseType, Clinic, Grant, Resident

if TYPE_CHECKING:
    from careaccess.service import CareAccess
    from careaccess.testing.clock import FrozenClock

__all__ = ["WORLD_TIMEZONE", "GrantState", "World", "grant_state", "local_noon"]

#: The zone in which worlds and the record strategies judge dates: the library's default.
WORLD_TIMEZONE: Final = ZoneInfo("Europe/Stockholm")

GrantState = Literal["past", "current", "open_ended"]


def local_noon(day: dt.date) -> dt.datetime:
    """Noon of *day* in :data:`WORLD_TIMEZONE`, as an aware UTC datetime."""
    return dt.datetime.combine(day, dt.time(12), tzinfo=WORLD_TIMEZONE).astimezone(dt.UTC)


def grant_state(grant: Grant, today: dt.date) -> GrantState:
    """Whether *grant* has ended before *today*, still holds through a date, or holds until further notice."""
    if grant.until is None:
        return "open_ended"
    return "current" if grant.is_valid_on(today) else "past"


@frozen
class World:
    """Clinics with their case types, residents, approvals and grants that fit together.

    Every approval and grant names a clinic of the world and a resident of the world;
    every grant names a restricted case type of its clinic; each resident appears at
    most once per clinic in :attr:`approvals` and once per case type in :attr:`grants`.
    Every record's time lies before :attr:`today` in :data:`WORLD_TIMEZONE`.
    """

    clinics: tuple[Clinic, ...]
    case_types: tuple[CaseType, ...]
    approvals: tuple[Approval, ...]
    grants: tuple[Grant, ...]
    residents: tuple[Resident, ...]
    today: dt.date

    @property
    def now(self) -> dt.datetime:
        """Noon of :attr:`today`: where :meth:`load` leaves the clock."""
        return local_noon(self.today)

    def admin(self, actor_id: str = "world-admin") -> Actor:
        """An actor administering every clinic of the world."""
        return Actor(actor_id, frozenset(clinic.id for clinic in self.clinics))

    def directory(self) -> StaticDirectory:
        """A resident-directory plugin that knows exactly the world's residents."""
        return StaticDirectory(self.residents)

    def load(self, access: CareAccess, clock: FrozenClock) -> None:
        """Write the world through *access*'s public API, then set *clock* to :attr:`now`.

        Clinics and case types are put by :meth:`admin`; each approval and grant is made
        by an actor with its ``approved_by``/``granted_by`` id who administers its clinic.
        Records carry the time they were made, so the clock is moved to each record's
        time before it is written, in time order: the stored records then equal the
        world's, and grants that have ended since could be made while still current.

        :param clock: the clock *access* was connected with.
        :raises ValueError: when *access* does not read its time from *clock*.
        """
        steps: list[tuple[dt.datetime, Callable[[], object]]] = []
        for approval in self.approvals:
            steps.append((approval.approved_at, _approve(access, approval)))
        for grant in self.grants:
            steps.append((grant.granted_at, _grant(access, grant)))
            steps.extend((grant.changed_at, _change(access, grant)) for _ in range(grant.version - 1))
        _move(clock, access, min((at for at, _ in steps), default=self.now))
        admin = self.admin()
        for clinic in self.clinics:
            access.put_clinic(admin, clinic)
        for case_type in self.case_types:
            access.put_case_type(admin, case_type)
        # A stable sort keeps each grant before its changes when they share a moment.
        for at, step in sorted(steps, key=lambda pair: pair[0]):
            clock.set(at)
            step()
        clock.set(self.now)


def _move(clock: FrozenClock, access: CareAccess, at: dt.datetime) -> None:
    clock.set(at)
    if access.now() != at:
        raise ValueError("World.load needs the FrozenClock that the CareAccess was connected with")


def _approve(access: CareAccess, approval: Approval) -> Callable[[], object]:
    actor = Actor(approval.approved_by, frozenset({approval.clinic_id}))
    return lambda: access.approve_resident(actor, approval.clinic_id, approval.pnr, name=approval.name)


def _grant(access: CareAccess, grant: Grant) -> Callable[[], object]:
    actor = Actor(grant.granted_by, frozenset({grant.clinic_id}))
    return lambda: access.grant_case_type(
        actor, grant.clinic_id, grant.pnr, grant.case_type_id, until=grant.until, name=grant.name
    )


def _change(access: CareAccess, grant: Grant) -> Callable[[], object]:
    actor = Actor(grant.granted_by, frozenset({grant.clinic_id}))
    return lambda: access.change_grant(actor, grant.clinic_id, grant.pnr, grant.case_type_id, until=grant.until)
