"""Commands on a clinic's residents: look up, approve, grant, change, remove, show, list.

Identity numbers are printed in full here, as the manual shows them to the
administrator (*Namn och personnummer på invånaren visas*).
"""

from __future__ import annotations

import datetime as dt

import click

from careaccess.cli.app import Output, Session, admin, cli, warn
from careaccess.cli.params import date_option
from careaccess.cli.render import NO_RESIDENTS, access_lines, confirmation, grant_line, listed_line, resident_lines
from careaccess.errors import NotFound
from careaccess.identity import as_pnr
from careaccess.models import Action
from careaccess.serialization import converter

_NO_NAME = (
    "No population register knows this resident's name; give --name, or a register with --directory FILE.",
    "Inget folkbokföringsregister känner till invånarens namn; ange --name, eller ett register med --directory FIL.",
)


@cli.command()
@click.argument("pnr")
@admin(read_only=True, needs_store=False)
def lookup(session: Session, *, pnr: str) -> Output:
    """Look a resident up in the population register: name, identity number, residence.

    The register is the --directory file (or CAREACCESS_DIRECTORY), or an installed
    directory plugin; no store is opened.
    """
    resident = session.access.lookup_resident(pnr)
    if resident is None:
        if session.directory is None:
            raise NotFound(
                "resident_not_found",
                "No population register knows this resident; give one with --directory FILE.",
                "Inget folkbokföringsregister känner till invånaren; ange ett med --directory FIL.",
            )
        raise NotFound("resident_not_found")
    return Output(converter.unstructure(resident), resident_lines(resident))


@cli.command()
@click.argument("clinic_id")
@click.argument("pnr")
@click.option("--name", help="The resident's name; default: asked of the directory.")
@admin()
def approve(session: Session, *, clinic_id: str, pnr: str, name: str | None) -> Output:
    """Approve a resident for communication with a clinic (Godkänn invånare)."""
    approval = session.access.approve_resident(session.actor(clinic_id), clinic_id, pnr, name=name)
    if approval.name is None:
        warn(*_NO_NAME)
    lines = [
        confirmation(Action.RESIDENT_APPROVED),
        f"Name / Namn: {approval.name or '-'}",
        f"Identity number / Personnummer: {approval.pnr}",
    ]
    return Output(converter.unstructure(approval), lines)


@cli.command()
@click.argument("clinic_id")
@click.argument("pnr")
@admin()
def revoke(session: Session, *, clinic_id: str, pnr: str) -> Output:
    """Remove a resident's approval for communication (Ta bort godkännande); grants stay."""
    person = as_pnr(pnr, today=session.access.today())
    session.access.revoke_approval(session.actor(clinic_id), clinic_id, person)
    data = {"removed": Action.APPROVAL_REVOKED.value, "clinic_id": clinic_id, "pnr": person.digits}
    return Output(data, [confirmation(Action.APPROVAL_REVOKED)])


@cli.command()
@click.argument("clinic_id")
@click.argument("pnr")
@click.argument("case_type_id")
@click.option(
    "--until",
    metavar="YYYY-MM-DD",
    callback=date_option,
    help="Last valid day (inclusive); default: until further notice (tills vidare).",
)
@click.option("--name", help="The resident's name; default: asked of the directory.")
@admin()
def grant(
    session: Session, *, clinic_id: str, pnr: str, case_type_id: str, until: dt.date | None, name: str | None
) -> Output:
    """Grant a restricted case type to a resident (Dela ut ärendetyp)."""
    granted = session.access.grant_case_type(session.actor(clinic_id), clinic_id, pnr, case_type_id, until, name=name)
    if granted.name is None:
        warn(*_NO_NAME)
    lines = [confirmation(Action.CASE_TYPE_GRANTED), grant_line(granted, session.access.today())]
    return Output(converter.unstructure(granted), lines)


@cli.command("change-grant")
@click.argument("clinic_id")
@click.argument("pnr")
@click.argument("case_type_id")
@click.option("--until", metavar="YYYY-MM-DD", callback=date_option, help="New last valid day (inclusive).")
@click.option("--until-further-notice", is_flag=True, help="Make the grant hold until further notice (tills vidare).")
@click.option("--expected-version", type=click.IntRange(min=1), help="Change only if the grant still has this version.")
@admin()
def change_grant(
    session: Session,
    *,
    clinic_id: str,
    pnr: str,
    case_type_id: str,
    until: dt.date | None,
    until_further_notice: bool,
    expected_version: int | None,
) -> Output:
    """Change how long a granted case type holds (Redigera utdelad ärendetyp).

    Give exactly one of --until and --until-further-notice.
    """
    if (until is None) == (not until_further_notice):
        raise click.UsageError("give exactly one of --until DATE and --until-further-notice")
    changed = session.access.change_grant(
        session.actor(clinic_id), clinic_id, pnr, case_type_id, until, expected_version=expected_version
    )
    lines = [confirmation(Action.GRANT_CHANGED), grant_line(changed, session.access.today())]
    return Output(converter.unstructure(changed), lines)


@cli.command("remove-grant")
@click.argument("clinic_id")
@click.argument("pnr")
@click.argument("case_type_id")
@click.option("--expected-version", type=click.IntRange(min=1), help="Remove only if the grant still has this version.")
@admin()
def remove_grant(
    session: Session, *, clinic_id: str, pnr: str, case_type_id: str, expected_version: int | None
) -> Output:
    """Remove a granted case type (Ta bort utdelad ärendetyp); also purges expired grants."""
    person = as_pnr(pnr, today=session.access.today())
    session.access.remove_grant(
        session.actor(clinic_id), clinic_id, person, case_type_id, expected_version=expected_version
    )
    data = {
        "removed": Action.GRANT_REMOVED.value,
        "clinic_id": clinic_id,
        "pnr": person.digits,
        "case_type_id": case_type_id,
    }
    return Output(data, [confirmation(Action.GRANT_REMOVED)])


@cli.command()
@click.argument("clinic_id")
@click.argument("pnr")
@admin(read_only=True)
def show(session: Session, *, clinic_id: str, pnr: str) -> Output:
    """Show a resident's approval and grants at a clinic."""
    found = session.access.resident_access(session.actor(clinic_id), clinic_id, pnr)
    return Output(converter.unstructure(found), access_lines(found, session.access.today(), session.access.timezone))


@cli.command("list")
@click.argument("clinic_id")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="Residents per page.")
@click.option("--cursor", help="The next-page cursor a previous call printed.")
@click.option("--search", help="Start of the identity number, or part of the name.")
@admin(read_only=True)
def list_(session: Session, *, clinic_id: str, limit: int, cursor: str | None, search: str | None) -> Output:
    """List the residents who are approved or hold a grant at a clinic (kortet Invånare)."""
    page = session.access.list_residents(session.actor(clinic_id), clinic_id, limit, cursor, search)
    today = session.access.today()
    lines = [listed_line(item, today) for item in page.items] or [NO_RESIDENTS]
    if page.next_cursor is not None:
        lines.append(f"More: --cursor {page.next_cursor}")
    return Output(converter.unstructure(page), lines)
