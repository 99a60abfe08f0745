"""Bulk commands on a clinic's residents: "Hantera invånare → Ta bort markerade", removing
one case type from many residents, handing one out to many.

Each command is one change of the library's (all or nothing, one event per record).
Identity numbers come as arguments, from a file (``--file``, one per line, ``#``
comments and blank lines skipped; ``-`` for standard input), or both. Residents whose
record had already gone (or who already held the case type) are reported as stale,
masked, and do not fail the command.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import IO

import click

from careaccess.bulk import BulkResult
from careaccess.cli.app import Output, Session, cli
from careaccess.cli.app import admin as admin_command
from careaccess.cli.params import date_option
from careaccess.cli.render import confirmation
from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Action


def _numbers(arguments: Sequence[str], file: IO[str] | None) -> list[str]:
    numbers = list(arguments)
    if file is not None:
        for line in file:
            text = line.split("#", 1)[0].strip()
            if text:
                numbers.append(text)
    if not numbers:
        raise click.UsageError("give identity numbers as arguments or with --file FILE")
    return numbers


def _stale(item: PersonalIdentityNumber | tuple[PersonalIdentityNumber, str]) -> str:
    return item.masked() if isinstance(item, PersonalIdentityNumber) else f"{item[0].masked()} {item[1]}"


def _output(result: BulkResult, action: Action, stale_en: str, stale_sv: str) -> Output:
    stale = [_stale(item) for item in result.stale]
    data = {
        "action": action.value,
        "changed": len(result.events),
        "events": [event.id for event in result.events],
        "stale": stale,
    }
    lines = [f"{confirmation(action)} ({len(result.events)})"] if result.events else []
    if stale:
        lines.append(f"{stale_en} / {stale_sv}: {', '.join(stale)}")
    return Output(data, lines or ["Nothing to change. / Inget att ändra."])


_FILE = click.option(
    "--file",
    type=click.File("r", encoding="utf-8"),
    help="Identity numbers, one per line (- for standard input).",
)


@cli.command("revoke-many")
@click.argument("clinic_id")
@click.argument("pnrs", nargs=-1)
@_FILE
@admin_command()
def revoke_many(session: Session, *, clinic_id: str, pnrs: tuple[str, ...], file: IO[str] | None) -> Output:
    """Remove the approval of many residents at once (Hantera invånare → Ta bort markerade)."""
    result = session.access.revoke_approvals(session.actor(clinic_id), clinic_id, _numbers(pnrs, file))
    return _output(result, Action.APPROVAL_REVOKED, "Not approved any more", "Inte längre godkända")


@cli.command("remove-grants")
@click.argument("clinic_id")
@click.argument("case_type_id")
@click.argument("pnrs", nargs=-1)
@_FILE
@admin_command()
def remove_grants(
    session: Session, *, clinic_id: str, case_type_id: str, pnrs: tuple[str, ...], file: IO[str] | None
) -> Output:
    """Remove one granted case type from many residents at once."""
    pairs = [(pnr, case_type_id) for pnr in _numbers(pnrs, file)]
    result = session.access.remove_grants(session.actor(clinic_id), clinic_id, pairs)
    return _output(result, Action.GRANT_REMOVED, "Did not hold it any more", "Hade den inte längre")


@cli.command("grant-many")
@click.argument("clinic_id")
@click.argument("case_type_id")
@click.argument("pnrs", nargs=-1)
@_FILE
@click.option(
    "--until",
    metavar="YYYY-MM-DD",
    callback=date_option,
    help="Last valid day (inclusive); default: until further notice (tills vidare).",
)
@admin_command()
def grant_many(
    session: Session,
    *,
    clinic_id: str,
    case_type_id: str,
    pnrs: tuple[str, ...],
    file: IO[str] | None,
    until: dt.date | None,
) -> Output:
    """Hand one restricted case type out to many residents at once (Dela ut ärendetyp)."""
    numbers = _numbers(pnrs, file)
    result = session.access.grant_case_types(session.actor(clinic_id), clinic_id, numbers, case_type_id, until)
    return _output(result, Action.CASE_TYPE_GRANTED, "Held it already", "Hade den redan")
