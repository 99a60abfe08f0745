"""The resident's side: which clinics a resident may contact, and the clinic directory."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from careaccess.cli.app import Output, Session, admin, cli
from careaccess.cli.params import residence_of, resident_options
from careaccess.reach import ClinicAccess
from careaccess.serialization import converter
from careaccess.texts import REASONS


def _access_data(found: ClinicAccess) -> dict[str, Any]:
    return {"clinic": converter.unstructure(found.clinic), "decisions": converter.unstructure(list(found.decisions))}


def _access_line(found: ClinicAccess) -> str:
    parts = [
        f"{d.case_type_id} ({'allowed' if d.allowed else 'denied'}: {REASONS[d.reason].en} / {REASONS[d.reason].sv})"
        for d in found.decisions
    ]
    return f"{found.clinic.id}  {found.clinic.name}: " + "; ".join(parts)


@cli.command("clinics-for")
@click.argument("pnr")
@resident_options
@click.option("--include-denied", is_flag=True, help="Also the clinics that could let the resident in, with reasons.")
@admin(read_only=True)
def clinics_for(
    session: Session,
    *,
    pnr: str,
    at: dt.datetime | None,
    region: str | None,
    municipality: str | None,
    include_denied: bool,
) -> Output:
    """Every clinic a resident may contact now, with the case types and why (the resident's view)."""
    residence = residence_of(region, municipality)
    found = session.access.clinics_for(pnr, at=at, residence=residence, include_denied=include_denied)
    lines = [_access_line(item) for item in found] or ["No clinic can be contacted. / Ingen mottagning kan kontaktas."]
    return Output([_access_data(item) for item in found], lines)


@cli.command("clinics")
@click.option("--region", metavar="CODE", help="Clinics whose service area names this county.")
@click.option("--municipality", metavar="CODE", help="Clinics whose service area covers this municipality.")
@click.option("--search", help="Part of the clinic's name.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="Clinics per page.")
@click.option("--cursor", help="The next-page cursor a previous call printed.")
@admin(read_only=True)
def clinics(
    session: Session,
    *,
    region: str | None,
    municipality: str | None,
    search: str | None,
    limit: int,
    cursor: str | None,
) -> Output:
    """The clinic directory a resident searches to add a clinic: by name, county and municipality."""
    page = session.access.list_clinics(region, municipality, search, limit=limit, cursor=cursor)
    lines = [f"{clinic.id}  {clinic.name}" for clinic in page.items] or ["No clinics. / Inga mottagningar."]
    if page.next_cursor is not None:
        lines.append(f"More: --cursor {page.next_cursor}")
    return Output(converter.unstructure(page), lines)
