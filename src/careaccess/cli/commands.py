"""Commands on clinics and case types, decisions, the event log and the schema."""

from __future__ import annotations

import datetime as dt

import click

from careaccess.cli.app import (
    Environment,
    Group,
    Output,
    Session,
    admin,
    cli,
    emit,
    fail,
    json_option,
    store_option,
    with_install_hint,
)
from careaccess.cli.params import moment_option, region_of, rules_option
from careaccess.cli.render import case_type_line, clinic_lines, confirmation, decision_lines, event_line
from careaccess.errors import CareAccessError, NotFound, UnknownStore
from careaccess.models import Action, AreaRule, CaseType, Clinic, Residence, ServiceArea
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


# -- decisions and the log -------------------------------------------------------------


@cli.command()
@click.argument("pnr")
@click.argument("clinic_id")
@click.argument("case_type_id")
@click.option(
    "--at",
    metavar="ISO-DATETIME",
    callback=moment_option,
    help="When, with a UTC offset (e.g. 2025-03-30T23:59:59+02:00); default: now.",
)
@click.option("--region", metavar="CODE", help="The resident's county; default: asked of the directory.")
@click.option("--municipality", metavar="CODE", help="The resident's municipality (implies its county).")
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
    residence = None
    region = region_of(region, municipality)
    if region is not None:
        residence = Residence(region, municipality)
    elif municipality is not None:
        raise click.BadParameter("unknown municipality code", param_hint="--municipality")
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


@cli.group(cls=Group)
def db() -> None:
    """Manage a store's schema."""


@db.command()
@store_option
@json_option
@click.pass_context
def upgrade(ctx: click.Context, store_url: str, as_json: bool) -> None:
    """Create or upgrade the store's schema, through the careaccess_upgrade_store hook."""
    environment = ctx.find_object(Environment) or Environment()
    try:
        description = environment.upgrade(store_url)
        if description is None:
            scheme = store_url.split(":", 1)[0]
            raise with_install_hint(
                UnknownStore(
                    "unknown_store_scheme",
                    f"No installed plugin upgrades {scheme!r} stores; install the backend package for it.",
                    f"Inget installerat tillägg uppgraderar {scheme!r}-lagringar; installera paketet för den.",
                ),
                store_url,
            )
    except CareAccessError as error:
        fail(error, as_json)
    emit(Output({"url": store_url, "description": description}, [description]), as_json)
