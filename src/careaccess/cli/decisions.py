"""The access decision and the event log."""

from __future__ import annotations

import datetime as dt

import click

from careaccess.cli.app import (
    Output,
    Session,
    admin,
    cli,
)
from careaccess.cli.params import residence_of, resident_options
from careaccess.cli.render import decision_lines, event_line
from careaccess.serialization import converter

# -- decisions and the log -------------------------------------------------------------


@cli.command()
@click.argument("pnr")
@click.argument("clinic_id")
@click.argument("case_type_id")
@resident_options
@admin(read_only=True)
def decide(
    session: Session,
    *,
    pnr: str,
    clinic_id: str,
    case_type_id: str,
    at: dt.datetime | None,
    region: str | None,
    municipality: str | None,
) -> Output:
    """May a resident use a case type at a clinic, and why (not)? Denials exit with 0."""
    residence = residence_of(region, municipality)
    found = session.access.decide(pnr, clinic_id, case_type_id, at=at, residence=residence)
    return Output(converter.unstructure(found), decision_lines(found, session.access.timezone))


@cli.command()
@click.option("--after", help="Print the events after this event id.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--clinic", "clinic_id", help="Only this clinic's events.")
@click.option(
    "--full-numbers",
    is_flag=True,
    help="Show identity numbers in full (text and JSON); by default they are masked, as in every log.",
)
@admin(read_only=True)
def events(session: Session, *, after: str | None, limit: int, clinic_id: str | None, full_numbers: bool) -> Output:
    """Print the event log (the change feed), oldest first; identity numbers masked.

    The text and the JSON show the same: identity numbers masked (19121212-****), since
    event listings end up in tickets and files like any log, unless --full-numbers.
    """
    found = session.access.events(after=after, limit=limit, clinic_id=clinic_id)
    data = converter.unstructure(found)
    if not full_numbers:
        for item, event in zip(data, found, strict=True):
            if event.pnr is not None:
                item["pnr"] = event.pnr.masked()
    lines = [event_line(e, session.access.timezone, full_numbers=full_numbers) for e in found]
    return Output(data, lines or ["No events / Inga händelser"])
