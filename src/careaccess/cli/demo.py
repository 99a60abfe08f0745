"""``careaccess demo``: the manual's whole workflow, step by step, on a fixed clock.

The residents come from the demo population register shipped with careaccess
(:func:`careaccess.register.demo_register`), read through the same
:class:`~careaccess.register.FileRegister` that ``--directory`` uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import click

import careaccess
from careaccess.cli.app import cli, fail, with_install_hint
from careaccess.cli.render import (
    NO_RESIDENTS,
    access_lines,
    clinic_lines,
    confirmation,
    decision_lines,
    event_line,
    grant_line,
    listed_line,
    moment,
    resident_lines,
)
from careaccess.errors import CareAccessError, UnknownStore
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Action, Actor, AreaRule, CaseType, Clinic, Resident, ServiceArea
from careaccess.register import DEMO_REGISTER, demo_register
from careaccess.service import CareAccess

__all__ = ["DEMO_START", "DemoClock", "demo_residents", "run_demo"]

STOCKHOLM = ZoneInfo("Europe/Stockholm")
DEMO_START = dt.datetime(2025, 3, 28, 8, 0, tzinfo=STOCKHOLM)
CLINIC_ID = "vc-exempel"
OPEN_TYPE = "radgivning"
RESTRICTED_TYPE = "provsvar"
TOLVAN = PersonalIdentityNumber.from_digits("191212121212")
GRETA = PersonalIdentityNumber.from_digits("198506152381")


class DemoClock:
    """A clock the demo moves forward by hand, so its output never changes."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, moment: dt.datetime) -> None:
        self.now = moment


def demo_residents() -> tuple[Resident, ...]:
    """The demo's two main residents, from the demo register: Tolvan (outside the
    service area) and Greta (inside it)."""
    register = demo_register()
    found = tuple(register.get(pnr) for pnr in (TOLVAN, GRETA))
    return tuple(resident for resident in found if resident is not None)


class _Demo:
    """One run of the demo: the phases of the manual, each printing its steps."""

    def __init__(self, access: CareAccess, clock: DemoClock, echo: Callable[[str], None]) -> None:
        self.access = access
        self.clock = clock
        self.echo = echo
        self.zone = access.timezone
        self.admin = Actor("demo-admin", frozenset({CLINIC_ID}))
        self.tolvan, self.greta = demo_residents()
        self.steps = 0

    def step(self, title: str, manual: str) -> None:
        self.steps += 1
        self.echo("")
        self.echo(f"{self.steps}. {title}  [manual: {manual}]")
        self.echo(f"   clock / klockan: {moment(self.clock(), self.zone)}")

    def say(self, *lines: str) -> None:
        for line in lines:
            self.echo(f"   {line}")

    def later(self, minutes: int) -> None:
        self.clock.set(self.clock() + dt.timedelta(minutes=minutes))

    def decide(
        self, pnr: PersonalIdentityNumber, clinic_id: str, case_type_id: str, at: dt.datetime | None = None
    ) -> None:
        found = self.access.decide(pnr, clinic_id, case_type_id, at=at)
        self.say(
            f"decide({pnr}, {clinic_id}, {case_type_id}):", *(f"  {line}" for line in decision_lines(found, self.zone))
        )

    def setup(self) -> None:
        self.step("Set up the clinic, its service area and case types", "Inställningar")
        area = ServiceArea([AreaRule("01", "0180")])
        saved = self.access.put_clinic(self.admin, Clinic(CLINIC_ID, "Vårdcentralen Exempel", area))
        self.say(confirmation(Action.CLINIC_SAVED))
        for case_type in (
            CaseType(CLINIC_ID, OPEN_TYPE, "Rådgivning"),
            CaseType(CLINIC_ID, RESTRICTED_TYPE, "Provsvar", restricted=True),
        ):
            self.access.put_case_type(self.admin, case_type)
            self.say(confirmation(Action.CASE_TYPE_SAVED))
        self.say(*clinic_lines(saved, self.access.case_types(CLINIC_ID)))

    def approval(self) -> None:
        tolvan = self.tolvan
        self.later(5)
        self.step("Look up a resident", "Godkänn invånare, ange personnumret")
        found = self.access.lookup_resident(tolvan.pnr)
        self.say(f"Population register / Folkbokföring: {DEMO_REGISTER} (careaccess.register.FileRegister)")
        self.say("Namn och personnummer på invånaren visas. / The resident's name and identity number are shown.")
        self.say(*resident_lines(found or tolvan))
        self.say("Lives outside the service area, so only an approval opens the clinic.")
        self.decide(tolvan.pnr, CLINIC_ID, OPEN_TYPE)

        self.later(1)
        self.step("Approve the resident for communication", "Godkänn invånare för kommunikation")
        self.access.approve_resident(self.admin, CLINIC_ID, tolvan.pnr)
        self.say(confirmation(Action.RESIDENT_APPROVED))
        self.decide(tolvan.pnr, CLINIC_ID, OPEN_TYPE)

        self.later(1)
        self.step("A resident of the service area, not approved", "betjäningsområde")
        self.say(*resident_lines(self.greta))
        self.decide(self.greta.pnr, CLINIC_ID, OPEN_TYPE)

        self.step("A restricted case type without a grant: approval does not open it", "begränsat urval")
        self.decide(tolvan.pnr, CLINIC_ID, RESTRICTED_TYPE)

    def grants(self) -> None:
        pnr = self.tolvan.pnr
        self.later(5)
        self.step("Grant the restricted case type until a date", "Dela ut en ärendetyp, specifikt datum")
        granted = self.access.grant_case_type(self.admin, CLINIC_ID, pnr, RESTRICTED_TYPE, until=dt.date(2025, 3, 30))
        self.say(confirmation(Action.CASE_TYPE_GRANTED), grant_line(granted, self.access.today()))

        self.step("Decide on the grant's last day and the day after", "specifikt datum")
        self.say(
            "The end date is inclusive and judged in Europe/Stockholm, where summer time began that night.",
            "Slutdatumet räknas till och med dagen, i svensk tid.",
        )
        self.decide(pnr, CLINIC_ID, RESTRICTED_TYPE, at=dt.datetime(2025, 3, 30, 23, 59, 59, tzinfo=self.zone))
        self.decide(pnr, CLINIC_ID, RESTRICTED_TYPE, at=dt.datetime(2025, 3, 31, 0, 0, 0, tzinfo=self.zone))

        self.clock.set(dt.datetime(2025, 3, 31, 9, 0, tzinfo=self.zone))
        self.step("Change the grant to until further notice", "Redigera utdelad ärendetyp, tills vidare")
        changed = self.access.change_grant(self.admin, CLINIC_ID, pnr, RESTRICTED_TYPE, until=None)
        self.say(
            "En bekräftelse visas om att den utdelade ärendetypen har ändrats:",
            confirmation(Action.GRANT_CHANGED),
            grant_line(changed, self.access.today()),
        )
        self.decide(pnr, CLINIC_ID, RESTRICTED_TYPE)

        self.later(2)
        self.step("The resident's page at the clinic", "Klicka på den invånare")
        self.say(
            *access_lines(
                self.access.resident_access(self.admin, CLINIC_ID, pnr), self.access.today(), self.access.timezone
            )
        )

    def removals(self) -> None:
        pnr = self.tolvan.pnr
        self.later(3)
        self.step("Remove the granted case type", "Ta bort utdelad ärendetyp")
        self.access.remove_grant(self.admin, CLINIC_ID, pnr, RESTRICTED_TYPE)
        self.say(confirmation(Action.GRANT_REMOVED))
        self.decide(pnr, CLINIC_ID, RESTRICTED_TYPE)

        self.later(2)
        self.step("Revoke the approval for communication", "Ta bort godkännande för kommunikation")
        self.access.revoke_approval(self.admin, CLINIC_ID, pnr)
        self.say(confirmation(Action.APPROVAL_REVOKED))
        self.decide(pnr, CLINIC_ID, OPEN_TYPE)

        self.later(2)
        self.step("Remove the restricted case type; ask about an unknown clinic", "ärendetyper")
        self.access.remove_case_type(self.admin, CLINIC_ID, RESTRICTED_TYPE)
        self.say(confirmation(Action.CASE_TYPE_REMOVED))
        self.decide(pnr, CLINIC_ID, RESTRICTED_TYPE)
        self.decide(pnr, "vc-okand", OPEN_TYPE)

    def records(self) -> None:
        self.step("The clinic's resident list", "kortet Invånare")
        page = self.access.list_residents(self.admin, CLINIC_ID)
        self.say(*[listed_line(item, self.access.today()) for item in page.items] or [NO_RESIDENTS])

        self.step("The event log, identity numbers masked", "händelselogg")
        self.say(*[event_line(event, self.zone) for event in self.access.events()])


def run_demo(access: CareAccess, clock: DemoClock, echo: Callable[[str], None] = click.echo) -> None:
    """Run the manual's whole workflow on *access*, printing each step through *echo*.

    *access* must use *clock* and a directory that knows :func:`demo_residents`, and
    its store must not yet hold the clinic ``vc-exempel``.
    """
    echo("careaccess demo: the local administrator's workflow, step by step.")
    echo("Manual: Invånare (lokal administratör). Every name and number here is fictional.")
    demo = _Demo(access, clock, echo)
    demo.setup()
    demo.approval()
    demo.grants()
    demo.removals()
    demo.records()


@cli.command()
@click.option(
    "--store",
    "store_url",
    default="memory://",
    show_default=True,
    metavar="URL",
    help="Store to run on; it should hold no clinic 'vc-exempel' yet.",
)
def demo(store_url: str) -> None:
    """Run the manual's whole workflow with fictional residents and a fixed clock.

    Prints each step with the manual's Swedish confirmation next to English and the
    decisions, with reasons, before and after each change. The output is the same on
    every run.
    """
    clock = DemoClock(DEMO_START)
    try:
        try:
            access = careaccess.connect(store_url, plugins=[demo_register()], clock=clock)
        except UnknownStore as error:
            raise with_install_hint(error, store_url) from None
        with access:
            run_demo(access, clock)
    except CareAccessError as error:
        fail(error, as_json=False)
