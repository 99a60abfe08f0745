"""Commands on clinics and their case types."""

from __future__ import annotations

import click

from careaccess.cli.app import (
    Group,
    Output,
    Session,
    admin,
    cli,
)
from careaccess.cli.params import region_of, rules_option
from careaccess.cli.render import case_type_line, clinic_lines, confirmation
from careaccess.errors import NotFound
from careaccess.models import Action, AreaRule, CaseType, Clinic, ServiceArea
from careaccess.serialization import converter

# -- clinics and case types ------------------------------------------------------------


@cli.group(cls=Group)
def clinic() -> None:
    """Create, change and show clinics (mottagningar)."""


@clinic.command("put")
@click.argument("clinic_id")
@click.option("--name", required=True, help="The clinic's name.")
@click.option("--region", metavar="CODE", help="Service area: a county (län) code such as 01.")
@click.option("--municipality", metavar="CODE", help="Service area: a municipality (kommun) code such as 0180.")
@click.option(
    "--rule",
    "rules",
    multiple=True,
    callback=rules_option,
    help="A service-area rule, repeatable: region=01,municipality=0180,gender=female,min-age=18,max-age=64 "
    "(or 'all' for the whole country).",
)
@admin()
def clinic_put(
    session: Session,
    *,
    clinic_id: str,
    name: str,
    region: str | None,
    municipality: str | None,
    rules: tuple[AreaRule, ...],
) -> Output:
    """Create or replace a clinic, including its whole service area.

    Without --region, --municipality or --rule the clinic exposes itself to nobody:
    each resident must then be approved.
    """
    area_rules = list(rules)
    if region is not None or municipality is not None:
        area_rules.insert(0, AreaRule(region_of(region, municipality), municipality))
    saved = session.access.put_clinic(session.actor(clinic_id), Clinic(clinic_id, name, ServiceArea(area_rules)))
    lines = [confirmation(Action.CLINIC_SAVED), *clinic_lines(saved, session.access.case_types(clinic_id))]
    return Output(converter.unstructure(saved), lines)


@clinic.command("show")
@click.argument("clinic_id")
@admin(read_only=True)
def clinic_show(session: Session, *, clinic_id: str) -> Output:
    """Show a clinic, its service area and its case types."""
    found = session.access.clinic(clinic_id)
    if found is None:
        raise NotFound("unknown_clinic")
    case_types = session.access.case_types(clinic_id)
    data = {"clinic": converter.unstructure(found), "case_types": converter.unstructure(case_types)}
    return Output(data, clinic_lines(found, case_types))


@cli.group("case-type", cls=Group)
def case_type() -> None:
    """Create, remove and list a clinic's case types (ärendetyper)."""


@case_type.command("put")
@click.argument("clinic_id")
@click.argument("case_type_id")
@click.option("--name", required=True, help="The case type's name.")
@click.option(
    "--restricted/--open",
    default=False,
    show_default=True,
    help="Restricted (begränsat urval): only residents holding a grant may use it.",
)
@admin()
def case_type_put(session: Session, *, clinic_id: str, case_type_id: str, name: str, restricted: bool) -> Output:
    """Create or change a case type of a clinic."""
    saved = session.access.put_case_type(
        session.actor(clinic_id), CaseType(clinic_id, case_type_id, name, restricted=restricted)
    )
    return Output(converter.unstructure(saved), [confirmation(Action.CASE_TYPE_SAVED), case_type_line(saved)])


@case_type.command("remove")
@click.argument("clinic_id")
@click.argument("case_type_id")
@admin()
def case_type_remove(session: Session, *, clinic_id: str, case_type_id: str) -> Output:
    """Remove a case type; refused while any resident holds a grant of it."""
    session.access.remove_case_type(session.actor(clinic_id), clinic_id, case_type_id)
    data = {"removed": Action.CASE_TYPE_REMOVED.value, "clinic_id": clinic_id, "case_type_id": case_type_id}
    return Output(data, [confirmation(Action.CASE_TYPE_REMOVED)])


@case_type.command("list")
@click.argument("clinic_id")
@admin(read_only=True)
def case_type_list(session: Session, *, clinic_id: str) -> Output:
    """List a clinic's case types."""
    if session.access.clinic(clinic_id) is None:
        raise NotFound("unknown_clinic")
    found = session.access.case_types(clinic_id)
    lines = [case_type_line(c) for c in found] or ["No case types / Inga ärendetyper"]
    return Output(converter.unstructure(found), lines)
