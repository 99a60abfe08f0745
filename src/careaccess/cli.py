"""The ``careaccess`` command: a scripted demo and the local-administrator operations.

Admin commands work directly on a store (``--store URL`` or ``CAREACCESS_STORE``) as
the actor named by ``--actor`` (``CAREACCESS_ACTOR``), who is treated as administering
the clinic the command acts on: the command line is an operator tool, and whoever can
open the store can change it anyway.

To run the commands on a store you already hold (tests, embedding), pass an
:class:`Environment` as click's ``obj``, e.g.
``cli.main(["list", "c1"], obj=Environment.sharing(access))``.

Identity numbers are printed in full, as the manual shows them to the administrator,
except in the event log listing, which shows them masked like every log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import click
from attrs import frozen

import careaccess
from careaccess import regions
from careaccess.errors import CareAccessError, InvalidRequest, NotFound, UnknownStore
from careaccess.identity import Gender, PersonalIdentityNumber, as_pnr, luhn_check_digit
from careaccess.models import (
    Action,
    Actor,
    Approval,
    AreaRule,
    CaseType,
    Clinic,
    Decision,
    Event,
    Grant,
    Reason,
    Residence,
    Resident,
    ResidentAccess,
    ServiceArea,
)
from careaccess.plugins import make_plugin_manager
from careaccess.serialization import converter
from careaccess.service import CareAccess
from careaccess.store import MAX_IMPORT

__all__ = ["DEFAULT_STORE", "Environment", "cli", "main", "parse_rule", "run_demo"]

#: The store admin commands open when neither ``--store`` nor ``CAREACCESS_STORE`` is given.
DEFAULT_STORE = "sqlite:///careaccess.db"
DEFAULT_ACTOR = "cli"

OpenAccess = Callable[[str], AbstractContextManager[CareAccess]]
Upgrade = Callable[[str], str | None]


def _connect(url: str) -> AbstractContextManager[CareAccess]:
    return careaccess.connect(url)  # CareAccess closes its store on leaving the with block


def _upgrade(url: str) -> str | None:
    result: str | None = make_plugin_manager().hook.careaccess_upgrade_store(url=url)
    return result


@frozen
class Environment:
    """What the admin commands run against; pass one as click's ``obj`` to replace it.

    :ivar open_access: called with the ``--store`` URL for each command; returns a
        context manager giving the :class:`~careaccess.CareAccess` to use.
    :ivar upgrade: called with the URL by ``db upgrade``; returns the hook's description,
        or ``None`` when no plugin handles the URL.
    """

    open_access: OpenAccess = _connect
    upgrade: Upgrade = _upgrade

    @classmethod
    def sharing(cls, access: CareAccess) -> Environment:
        """Every command uses *access*, whatever ``--store`` says, and leaves it open."""

        def open_access(url: str) -> AbstractContextManager[CareAccess]:
            return contextlib.nullcontext(access)

        def upgrade(url: str) -> str | None:
            result: str | None = access.plugin_manager.hook.careaccess_upgrade_store(url=url)
            return result

        return cls(open_access, upgrade)


# -- texts -----------------------------------------------------------------------------

#: The confirmation after each change: English, then the manual's Swedish text.
CONFIRMATIONS: dict[Action, tuple[str, str]] = {
    Action.CLINIC_SAVED: ("The clinic has been saved.", "Mottagningen har sparats."),
    Action.CASE_TYPE_SAVED: ("The case type has been saved.", "Ärendetypen har sparats."),
    Action.CASE_TYPE_REMOVED: (
        "The case type has been removed from the clinic.",
        "Ärendetypen har tagits bort från mottagningen.",
    ),
    Action.RESIDENT_APPROVED: (
        "The resident is approved for communication.",
        "Invånaren är godkänd för kommunikation.",
    ),
    Action.APPROVAL_REVOKED: (
        "The approval for communication has been removed.",
        "Godkännandet för kommunikation har tagits bort.",
    ),
    Action.CASE_TYPE_GRANTED: ("The case type has been granted.", "Ärendetypen har delats ut."),
    Action.GRANT_CHANGED: ("The granted case type has been changed.", "Den utdelade ärendetypen har ändrats."),
    Action.GRANT_REMOVED: ("The granted case type has been removed.", "Ärendetypen är borttagen."),
}

#: What each decision reason means, in English and Swedish.
REASONS: dict[Reason, tuple[str, str]] = {
    Reason.UNKNOWN_CLINIC: ("There is no such clinic.", "Mottagningen finns inte."),
    Reason.UNKNOWN_CASE_TYPE: ("The clinic has no such case type.", "Mottagningen har ingen sådan ärendetyp."),
    Reason.GRANTED: ("The case type is granted to the resident.", "Ärendetypen är utdelad till invånaren."),
    Reason.GRANT_EXPIRED: ("The grant of the case type has ended.", "Den utdelade ärendetypen har gått ut."),
    Reason.NOT_GRANTED: (
        "The case type has a restricted selection and is not granted to the resident.",
        "Ärendetypen har begränsat urval och är inte utdelad till invånaren.",
    ),
    Reason.APPROVED: (
        "The resident is approved for communication with the clinic.",
        "Invånaren är godkänd för kommunikation med mottagningen.",
    ),
    Reason.SERVICE_AREA: (
        "The resident is registered in the clinic's service area.",
        "Invånaren är folkbokförd i mottagningens betjäningsområde.",
    ),
    Reason.NOT_APPROVED: (
        "The resident is neither approved for communication nor in the service area.",
        "Invånaren är varken godkänd för kommunikation eller folkbokförd i betjäningsområdet.",
    ),
}


def _both(en: str, sv: str) -> str:
    return f"{en} / {sv}"


def _confirmation(action: Action) -> str:
    return _both(*CONFIRMATIONS[action])


def _until(until: dt.date | None) -> str:
    if until is None:
        return "until further notice / tills vidare"
    return f"through {until.isoformat()} / till och med {until.isoformat()}"


def _area(region: str | None, municipality: str | None) -> str:
    if region is None:
        return "the whole country / hela landet"
    county = regions.county(region)
    text = f"region {region}" + (f" ({county.name})" if county is not None else "")
    if municipality is not None:
        found = regions.municipality(municipality)
        text += f", municipality {municipality}" + (f" ({found.name})" if found is not None else "")
    return text


def _rule(rule: AreaRule) -> str:
    parts = [_area(rule.region, rule.municipality)]
    if rule.gender is not None:
        parts.append(rule.gender.value)
    if rule.min_age is not None or rule.max_age is not None:
        low = "" if rule.min_age is None else str(rule.min_age)
        high = "" if rule.max_age is None else str(rule.max_age)
        parts.append(f"age {low}-{high}")
    return ", ".join(parts)


def _residence(residence: Residence | None) -> str:
    if residence is None:
        return "unknown / okänd"
    return _area(residence.region, residence.municipality)


def _clinic_lines(clinic: Clinic, case_types: Sequence[CaseType]) -> list[str]:
    lines = [f"Clinic / Mottagning: {clinic.name} ({clinic.id})"]
    if clinic.service_area.rules:
        lines.append("Service area / Betjäningsområde:")
        lines.extend(f"  - {_rule(rule)}" for rule in clinic.service_area.rules)
    else:
        lines.append("Service area / Betjäningsområde: none; residents must be approved one by one / inget")
    lines.append("Case types / Ärendetyper:" if case_types else "Case types / Ärendetyper: none / inga")
    lines.extend(f"  - {_case_type(case_type)}" for case_type in case_types)
    return lines


def _case_type(case_type: CaseType) -> str:
    kind = "restricted / begränsat urval" if case_type.restricted else "open / öppen"
    return f"{case_type.id}: {case_type.name} ({kind})"


def _resident_lines(resident: Resident) -> list[str]:
    return [
        f"Name / Namn: {resident.name or '-'}",
        f"Identity number / Personnummer: {resident.pnr}",
        f"Registered in / Folkbokförd i: {_residence(resident.residence)}",
    ]


def _grant(grant: Grant, today: dt.date) -> str:
    expired = "" if grant.is_valid_on(today) else " [expired / har gått ut]"
    return f"{grant.case_type_id}: {_until(grant.until)}, version {grant.version}{expired}"


def _access_lines(access: ResidentAccess, today: dt.date, zone: ZoneInfo) -> list[str]:
    lines = [
        f"Name / Namn: {access.name or '-'}",
        f"Identity number / Personnummer: {access.pnr}",
    ]
    if access.approval is not None:
        approval = access.approval
        lines.append(
            f"Approved for communication / Godkänd för kommunikation: "
            f"{_moment(approval.approved_at, zone)} by {approval.approved_by}"
        )
    else:
        lines.append("Approved for communication / Godkänd för kommunikation: no / nej")
    lines.append("Granted case types / Utdelade ärendetyper:" if access.grants else "Granted case types: none / inga")
    lines.extend(f"  - {_grant(grant, today)}" for grant in access.grants)
    return lines


def _listed(access: ResidentAccess, today: dt.date) -> str:
    parts = ["approved / godkänd"] if access.approval is not None else []
    parts.extend(_grant(grant, today) for grant in access.grants)
    return f"{access.pnr}  {access.name or '-'}  " + "; ".join(parts)


def _decision_lines(decision: Decision, zone: ZoneInfo) -> list[str]:
    verdict = "ALLOWED / TILLÅTET" if decision.allowed else "DENIED / NEKAT"
    lines = [
        f"{verdict}  reason: {decision.reason.value}",
        f"  {_both(*REASONS[decision.reason])}",
        f"  at {_moment(decision.at, zone)}; resident {decision.pnr}, "
        f"clinic {decision.clinic_id}, case type {decision.case_type_id}",
    ]
    if decision.grant is not None:
        lines.append(f"  grant: {_until(decision.grant.until)} (version {decision.grant.version})")
    if decision.approval is not None:
        lines.append(f"  approved {_moment(decision.approval.approved_at, zone)} by {decision.approval.approved_by}")
    if decision.rule is not None:
        lines.append(f"  service-area rule: {_rule(decision.rule)}")
    return lines


def _moment(at: dt.datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local.isoformat(sep=' ')} {local.tzname()}"


def _event(event: Event, zone: ZoneInfo) -> str:
    # The event log is a log: identity numbers are masked here, as in every log line.
    parts = [
        event.id,
        event.at.astimezone(zone).isoformat(),
        event.actor_id,
        event.action.value,
        f"clinic={event.clinic_id}",
    ]
    if event.pnr is not None:
        parts.append(f"resident={event.pnr.masked()}")
    if event.case_type_id is not None:
        parts.append(f"case_type={event.case_type_id}")
    return "  ".join(parts)


# -- parameter types -------------------------------------------------------------------


def _region_of(region: str | None, municipality: str | None) -> str | None:
    """The region a municipality lies in, when only the municipality was given."""
    if region is None and municipality is not None:
        found = regions.municipality(municipality)
        return None if found is None else found.county_code
    return region


_GENDERS = {"female": Gender.FEMALE, "kvinna": Gender.FEMALE, "male": Gender.MALE, "man": Gender.MALE}


_RULE_KEYS = ("region", "municipality", "gender", "min-age", "max-age", "age")


def _rule_error(en: str, sv: str) -> InvalidRequest:
    return InvalidRequest("invalid_rule", en, sv)


def parse_rule(text: str) -> AreaRule:
    """Parse a ``--rule`` value: comma-separated ``key=value`` pairs, or ``all``.

    Keys: ``region`` (2 digits), ``municipality`` (4 digits; implies its region),
    ``gender`` (``female``/``male``), ``min-age``, ``max-age`` and ``age=LOW-HIGH``;
    ``all`` is the whole country. Example:
    ``region=01,municipality=0180,gender=female,min-age=18,max-age=64``.

    :raises InvalidRequest: ``invalid_rule``, or the :class:`~careaccess.AreaRule` error.
    """
    text = text.strip()
    if text.lower() in ("all", "*"):
        return AreaRule()
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, sep, raw = part.partition("=")
        key = key.strip().lower().replace("_", "-")
        if not sep or not raw.strip():
            raise _rule_error(
                f"Expected key=value, got {part.strip()!r}.", f"Väntade nyckel=värde, fick {part.strip()!r}."
            )
        if key not in _RULE_KEYS:
            raise _rule_error(
                f"Unknown key {key!r}; use {', '.join(_RULE_KEYS)}.",
                f"Okänd nyckel {key!r}; använd {', '.join(_RULE_KEYS)}.",
            )
        if key in fields:
            raise _rule_error(f"{key} is given twice.", f"{key} anges två gånger.")
        fields[key] = raw.strip()
    gender = None
    if "gender" in fields:
        gender = _GENDERS.get(fields["gender"].lower())
        if gender is None:
            raise _rule_error("gender must be female or male.", "gender måste vara female eller male.")
    low, high = fields.get("min-age"), fields.get("max-age")
    if "age" in fields:
        if low is not None or high is not None:
            raise _rule_error(
                "Give age=LOW-HIGH or min-age/max-age, not both.",
                "Ange age=LÄGST-HÖGST eller min-age/max-age, inte båda.",
            )
        low, _, high = fields["age"].partition("-")
    municipality = fields.get("municipality")
    return AreaRule(
        region=_region_of(fields.get("region"), municipality),
        municipality=municipality,
        gender=gender,
        min_age=_age(low),
        max_age=_age(high),
    )


def _age(text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    if not text.strip().isdigit():
        raise _rule_error(f"Ages are whole numbers, got {text!r}.", f"Åldrar är heltal, fick {text!r}.")
    return int(text)


def _rules_option(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[AreaRule, ...]:
    try:
        return tuple(parse_rule(value) for value in values)
    except InvalidRequest as error:
        raise click.BadParameter(_both(error.message_en, error.message_sv), ctx, param) from error


def _date_option(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2025-03-30", ctx, param) from None


def _moment_option(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date and time like 2025-03-30T23:59:59+02:00", ctx, param
        ) from None


# -- running admin commands ------------------------------------------------------------


@frozen
class _Session:
    access: CareAccess
    actor_id: str

    def actor(self, clinic_id: str) -> Actor:
        # The operator is treated as administering the clinic the command acts on.
        return Actor(self.actor_id, frozenset({clinic_id}))


@frozen
class _Output:
    """A command's result: JSON-ready data for ``--json``, and lines for people."""

    data: Any
    lines: Sequence[str]


def _fail(error: CareAccessError, as_json: bool) -> NoReturn:
    if as_json:
        payload = {"error": {"code": error.code, "message_en": error.message_en, "message_sv": error.message_sv}}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        click.echo(f"error [{error.code}]: {error.message_en} / {error.message_sv}", err=True)
    raise click.exceptions.Exit(1)


def _emit(output: _Output, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(output.data, ensure_ascii=False, indent=2))
    else:
        for line in output.lines:
            click.echo(line)


def _store_option(function: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--store",
        "store_url",
        envvar="CAREACCESS_STORE",
        default=DEFAULT_STORE,
        show_default=True,
        show_envvar=True,
        metavar="URL",
        help="Store URL, e.g. sqlite:///careaccess.db (needs careaccess-sql) or memory://.",
    )(function)


def _json_option(function: Callable[..., None]) -> Callable[..., None]:
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print the result (or the error) as JSON, in careaccess.converter's form.",
    )(function)


def _admin(function: Callable[..., _Output]) -> Callable[..., None]:
    """Give a command ``--store``, ``--json`` and ``--actor``, open the store, print the result."""

    @_store_option
    @_json_option
    @click.option(
        "--actor",
        "actor_id",
        envvar="CAREACCESS_ACTOR",
        default=DEFAULT_ACTOR,
        show_default=True,
        show_envvar=True,
        metavar="ID",
        help="The acting administrator's id, recorded in the event log. "
        "The actor is treated as administering the clinic acted on.",
    )
    @functools.wraps(function)
    def command(store_url: str, as_json: bool, actor_id: str, **arguments: Any) -> None:
        environment = click.get_current_context().find_object(Environment) or Environment()
        try:
            with environment.open_access(store_url) as access:
                output = function(_Session(access, actor_id), **arguments)
        except CareAccessError as error:
            _fail(error, as_json)
        _emit(output, as_json)

    return command


class _Group(click.Group):
    """Keeps commands in the order they are defined, so help reads like the manual."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(careaccess.__version__, prog_name="careaccess")
def cli() -> None:
    """May a resident contact a clinic through a case type, and why (not)?

    `careaccess demo` runs the local administrator's whole workflow on an in-memory
    store. The other commands administer a real store given by --store or
    CAREACCESS_STORE. They act as the administrator named by --actor (or
    CAREACCESS_ACTOR), who is treated as administering the clinic acted on: this is an
    operator tool with direct access to the store, not an access-controlled UI.
    """


# -- clinics and case types ------------------------------------------------------------


@cli.group(cls=_Group)
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
    callback=_rules_option,
    help="A service-area rule, repeatable: region=01,municipality=0180,gender=female,min-age=18,max-age=64 "
    "(or 'all' for the whole country).",
)
@_admin
def clinic_put(
    session: _Session,
    *,
    clinic_id: str,
    name: str,
    region: str | None,
    municipality: str | None,
    rules: tuple[AreaRule, ...],
) -> _Output:
    """Create or replace a clinic, including its whole service area.

    Without --region, --municipality or --rule the clinic exposes itself to nobody:
    each resident must then be approved.
    """
    area_rules = list(rules)
    if region is not None or municipality is not None:
        area_rules.insert(0, AreaRule(_region_of(region, municipality), municipality))
    saved = session.access.put_clinic(session.actor(clinic_id), Clinic(clinic_id, name, ServiceArea(area_rules)))
    lines = [_confirmation(Action.CLINIC_SAVED), *_clinic_lines(saved, session.access.case_types(clinic_id))]
    return _Output(converter.unstructure(saved), lines)


@clinic.command("show")
@click.argument("clinic_id")
@_admin
def clinic_show(session: _Session, *, clinic_id: str) -> _Output:
    """Show a clinic, its service area and its case types."""
    found = session.access.clinic(clinic_id)
    if found is None:
        raise NotFound("unknown_clinic", "There is no such clinic.", "Mottagningen finns inte.")
    case_types = session.access.case_types(clinic_id)
    data = {"clinic": converter.unstructure(found), "case_types": converter.unstructure(case_types)}
    return _Output(data, _clinic_lines(found, case_types))


@cli.group("case-type", cls=_Group)
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
@_admin
def case_type_put(session: _Session, *, clinic_id: str, case_type_id: str, name: str, restricted: bool) -> _Output:
    """Create or change a case type of a clinic."""
    saved = session.access.put_case_type(
        session.actor(clinic_id), CaseType(clinic_id, case_type_id, name, restricted=restricted)
    )
    return _Output(converter.unstructure(saved), [_confirmation(Action.CASE_TYPE_SAVED), _case_type(saved)])


@case_type.command("remove")
@click.argument("clinic_id")
@click.argument("case_type_id")
@_admin
def case_type_remove(session: _Session, *, clinic_id: str, case_type_id: str) -> _Output:
    """Remove a case type; refused while any resident holds a grant of it."""
    session.access.remove_case_type(session.actor(clinic_id), clinic_id, case_type_id)
    data = {"removed": Action.CASE_TYPE_REMOVED.value, "clinic_id": clinic_id, "case_type_id": case_type_id}
    return _Output(data, [_confirmation(Action.CASE_TYPE_REMOVED)])


@case_type.command("list")
@click.argument("clinic_id")
@_admin
def case_type_list(session: _Session, *, clinic_id: str) -> _Output:
    """List a clinic's case types."""
    if session.access.clinic(clinic_id) is None:
        raise NotFound("unknown_clinic", "There is no such clinic.", "Mottagningen finns inte.")
    found = session.access.case_types(clinic_id)
    lines = [_case_type(c) for c in found] or ["No case types / Inga ärendetyper"]
    return _Output(converter.unstructure(found), lines)


# -- residents -------------------------------------------------------------------------


@cli.command()
@click.argument("pnr")
@_admin
def lookup(session: _Session, *, pnr: str) -> _Output:
    """Look a resident up in the population register: name, identity number, residence."""
    resident = session.access.lookup_resident(pnr)
    if resident is None:
        raise NotFound(
            "resident_not_found",
            "No installed directory knows this resident.",
            "Invånaren finns inte i något installerat register.",
        )
    return _Output(converter.unstructure(resident), _resident_lines(resident))


@cli.command()
@click.argument("clinic_id")
@click.argument("pnr")
@click.option("--name", help="The resident's name; default: asked of the directory.")
@_admin
def approve(session: _Session, *, clinic_id: str, pnr: str, name: str | None) -> _Output:
    """Approve a resident for communication with a clinic (Godkänn invånare)."""
    approval = session.access.approve_resident(session.actor(clinic_id), clinic_id, pnr, name=name)
    lines = [
        _confirmation(Action.RESIDENT_APPROVED),
        f"Name / Namn: {approval.name or '-'}",
        f"Identity number / Personnummer: {approval.pnr}",
    ]
    return _Output(converter.unstructure(approval), lines)


@cli.command()
@click.argument("clinic_id")
@click.argument("pnr")
@_admin
def revoke(session: _Session, *, clinic_id: str, pnr: str) -> _Output:
    """Remove a resident's approval for communication (Ta bort godkännande); grants stay."""
    person = as_pnr(pnr)
    session.access.revoke_approval(session.actor(clinic_id), clinic_id, person)
    data = {"removed": Action.APPROVAL_REVOKED.value, "clinic_id": clinic_id, "pnr": person.digits}
    return _Output(data, [_confirmation(Action.APPROVAL_REVOKED)])


@cli.command()
@click.argument("clinic_id")
@click.argument("pnr")
@click.argument("case_type_id")
@click.option(
    "--until",
    metavar="YYYY-MM-DD",
    callback=_date_option,
    help="Last valid day (inclusive); default: until further notice (tills vidare).",
)
@click.option("--name", help="The resident's name; default: asked of the directory.")
@_admin
def grant(
    session: _Session, *, clinic_id: str, pnr: str, case_type_id: str, until: dt.date | None, name: str | None
) -> _Output:
    """Grant a restricted case type to a resident (Dela ut ärendetyp)."""
    granted = session.access.grant_case_type(session.actor(clinic_id), clinic_id, pnr, case_type_id, until, name=name)
    lines = [_confirmation(Action.CASE_TYPE_GRANTED), _grant(granted, session.access.today())]
    return _Output(converter.unstructure(granted), lines)


@cli.command("change-grant")
@click.argument("clinic_id")
@click.argument("pnr")
@click.argument("case_type_id")
@click.option("--until", metavar="YYYY-MM-DD", callback=_date_option, help="New last valid day (inclusive).")
@click.option("--until-further-notice", is_flag=True, help="Make the grant hold until further notice (tills vidare).")
@click.option("--expected-version", type=click.IntRange(min=1), help="Change only if the grant still has this version.")
@_admin
def change_grant(
    session: _Session,
    *,
    clinic_id: str,
    pnr: str,
    case_type_id: str,
    until: dt.date | None,
    until_further_notice: bool,
    expected_version: int | None,
) -> _Output:
    """Change how long a granted case type holds (Redigera utdelad ärendetyp).

    Give exactly one of --until and --until-further-notice.
    """
    if (until is None) == (not until_further_notice):
        raise click.UsageError("give exactly one of --until DATE and --until-further-notice")
    changed = session.access.change_grant(
        session.actor(clinic_id), clinic_id, pnr, case_type_id, until, expected_version=expected_version
    )
    lines = [_confirmation(Action.GRANT_CHANGED), _grant(changed, session.access.today())]
    return _Output(converter.unstructure(changed), lines)


@cli.command("remove-grant")
@click.argument("clinic_id")
@click.argument("pnr")
@click.argument("case_type_id")
@click.option("--expected-version", type=click.IntRange(min=1), help="Remove only if the grant still has this version.")
@_admin
def remove_grant(
    session: _Session, *, clinic_id: str, pnr: str, case_type_id: str, expected_version: int | None
) -> _Output:
    """Remove a granted case type (Ta bort utdelad ärendetyp); also purges expired grants."""
    person = as_pnr(pnr)
    session.access.remove_grant(
        session.actor(clinic_id), clinic_id, person, case_type_id, expected_version=expected_version
    )
    data = {
        "removed": Action.GRANT_REMOVED.value,
        "clinic_id": clinic_id,
        "pnr": person.digits,
        "case_type_id": case_type_id,
    }
    return _Output(data, [_confirmation(Action.GRANT_REMOVED)])


@cli.command()
@click.argument("clinic_id")
@click.argument("pnr")
@_admin
def show(session: _Session, *, clinic_id: str, pnr: str) -> _Output:
    """Show a resident's approval and grants at a clinic."""
    found = session.access.resident_access(session.actor(clinic_id), clinic_id, pnr)
    return _Output(converter.unstructure(found), _access_lines(found, session.access.today(), session.access.timezone))


@cli.command("list")
@click.argument("clinic_id")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="Residents per page.")
@click.option("--cursor", help="The next-page cursor a previous call printed.")
@click.option("--search", help="Start of the identity number, or part of the name.")
@_admin
def list_(session: _Session, *, clinic_id: str, limit: int, cursor: str | None, search: str | None) -> _Output:
    """List the residents who are approved or hold a grant at a clinic (kortet Invånare)."""
    page = session.access.list_residents(session.actor(clinic_id), clinic_id, limit, cursor, search)
    today = session.access.today()
    lines = [_listed(item, today) for item in page.items] or [_NO_RESIDENTS]
    if page.next_cursor is not None:
        lines.append(f"More: --cursor {page.next_cursor}")
    return _Output(converter.unstructure(page), lines)


# -- decisions and the log -------------------------------------------------------------


@cli.command()
@click.argument("pnr")
@click.argument("clinic_id")
@click.argument("case_type_id")
@click.option(
    "--at",
    metavar="ISO-DATETIME",
    callback=_moment_option,
    help="When, with a UTC offset (e.g. 2025-03-30T23:59:59+02:00); default: now.",
)
@click.option("--region", metavar="CODE", help="The resident's county; default: asked of the directory.")
@click.option("--municipality", metavar="CODE", help="The resident's municipality (implies its county).")
@_admin
def decide(
    session: _Session,
    *,
    pnr: str,
    clinic_id: str,
    case_type_id: str,
    at: dt.datetime | None,
    region: str | None,
    municipality: str | None,
) -> _Output:
    """May a resident use a case type at a clinic, and why (not)? Denials exit with 0."""
    residence = None
    region = _region_of(region, municipality)
    if region is not None:
        residence = Residence(region, municipality)
    elif municipality is not None:
        raise click.BadParameter("unknown municipality code", param_hint="--municipality")
    found = session.access.decide(pnr, clinic_id, case_type_id, at=at, residence=residence)
    return _Output(converter.unstructure(found), _decision_lines(found, session.access.timezone))


@cli.command()
@click.option("--after", help="Print the events after this event id.")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--clinic", "clinic_id", help="Only this clinic's events.")
@_admin
def events(session: _Session, *, after: str | None, limit: int, clinic_id: str | None) -> _Output:
    """Print the event log (the change feed), oldest first; identity numbers masked."""
    found = session.access.events(after=after, limit=limit, clinic_id=clinic_id)
    return _Output(
        converter.unstructure(found),
        [_event(e, session.access.timezone) for e in found] or ["No events / Inga händelser"],
    )


def _imported(line_number: int, text: str, clinic_id: str) -> Approval | Grant:
    """One JSON line in ``careaccess.converter``'s form of an approval or a grant."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        data.setdefault("clinic_id", clinic_id)
        kind: type[Approval | Grant] = Grant if "case_type_id" in data else Approval
        return converter.structure(data, kind)
    except CareAccessError:
        raise
    except Exception as error:  # JSON and cattrs errors; the line itself may hold an identity number
        raise InvalidRequest(
            "invalid_import_line",
            f"Line {line_number} is not an approval or a grant in careaccess JSON form ({type(error).__name__}).",
            f"Rad {line_number} är inte ett godkännande eller en utdelning i careaccess JSON-form.",
        ) from None


@cli.command("import")
@click.argument("clinic_id")
@click.argument("source", type=click.File("r", encoding="utf-8"))
@_admin
def import_(session: _Session, *, clinic_id: str, source: Any) -> _Output:
    """Import approvals and grants from JSON Lines (SOURCE, or - for standard input).

    Each line is one approval or grant as ``--json`` prints them (a grant has a
    case_type_id); clinic_id may be left out. Every line is read and checked before
    anything is written. Then the records go in batches of up to MAX_IMPORT, each
    batch all or nothing; the first batch that fails stops the import, and a note on
    standard error says how many records went in before it.
    """
    actor = session.actor(clinic_id)
    records = [_imported(number, line, clinic_id) for number, line in enumerate(source, start=1) if line.strip()]
    imported = 0
    for start in range(0, len(records), MAX_IMPORT):
        batch = records[start : start + MAX_IMPORT]
        approvals = [r for r in batch if isinstance(r, Approval)]
        grants = [r for r in batch if isinstance(r, Grant)]
        try:
            imported += len(session.access.import_residents(actor, clinic_id, approvals, grants))
        except CareAccessError:
            if imported:
                click.echo(
                    f"{imported} records were imported before this batch. / "
                    f"{imported} poster importerades före den här omgången.",
                    err=True,
                )
            raise
    return _Output(
        {"clinic_id": clinic_id, "imported": imported},
        [f"{imported} records imported. / {imported} poster har importerats."],
    )


@cli.group(cls=_Group)
def db() -> None:
    """Manage a store's schema."""


@db.command()
@_store_option
@_json_option
@click.pass_context
def upgrade(ctx: click.Context, store_url: str, as_json: bool) -> None:
    """Create or upgrade the store's schema, through the careaccess_upgrade_store hook."""
    environment = ctx.find_object(Environment) or Environment()
    try:
        description = environment.upgrade(store_url)
        if description is None:
            scheme = store_url.split(":", 1)[0]
            raise UnknownStore(
                "unknown_store_scheme",
                f"No installed plugin upgrades {scheme!r} stores; install the backend package for it.",
                f"Inget installerat tillägg uppgraderar {scheme!r}-lagringar; installera paketet för den.",
            )
    except CareAccessError as error:
        _fail(error, as_json)
    _emit(_Output({"url": store_url, "description": description}, [description]), as_json)


# -- the demo --------------------------------------------------------------------------

STOCKHOLM = ZoneInfo("Europe/Stockholm")
DEMO_START = dt.datetime(2025, 3, 28, 8, 0, tzinfo=STOCKHOLM)
CLINIC_ID = "vc-exempel"
OPEN_TYPE = "radgivning"
RESTRICTED_TYPE = "provsvar"


class DemoClock:
    """A clock the demo moves forward by hand, so its output never changes."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, moment: dt.datetime) -> None:
        self.now = moment


def _test_number(birth: str, serial: str) -> PersonalIdentityNumber:
    """A valid identity number for a fictional resident (YYYYMMDD + 3-digit serial)."""
    nine = birth[2:] + serial
    return PersonalIdentityNumber.from_digits(f"{birth}{serial}{luhn_check_digit(nine)}")


def demo_residents() -> tuple[Resident, ...]:
    """The fictional residents of the demo's directory."""
    return (
        Resident(PersonalIdentityNumber.from_digits("191212121212"), "Tolvan Tolvansson", Residence("12", "1280")),
        Resident(_test_number("19850615", "238"), "Greta Exempelsson", Residence("01", "0180")),
    )


_NO_RESIDENTS = "No residents are approved or hold a grant. / Inga invånare är godkända eller har en utdelad ärendetyp."


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
        self.echo(f"   clock / klockan: {_moment(self.clock(), self.zone)}")

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
            f"decide({pnr}, {clinic_id}, {case_type_id}):", *(f"  {line}" for line in _decision_lines(found, self.zone))
        )

    def setup(self) -> None:
        self.step("Set up the clinic, its service area and case types", "Inställningar")
        area = ServiceArea([AreaRule("01", "0180")])
        saved = self.access.put_clinic(self.admin, Clinic(CLINIC_ID, "Vårdcentralen Exempel", area))
        self.say(_confirmation(Action.CLINIC_SAVED))
        for case_type in (
            CaseType(CLINIC_ID, OPEN_TYPE, "Rådgivning"),
            CaseType(CLINIC_ID, RESTRICTED_TYPE, "Provsvar", restricted=True),
        ):
            self.access.put_case_type(self.admin, case_type)
            self.say(_confirmation(Action.CASE_TYPE_SAVED))
        self.say(*_clinic_lines(saved, self.access.case_types(CLINIC_ID)))

    def approval(self) -> None:
        tolvan = self.tolvan
        self.later(5)
        self.step("Look up a resident", "Godkänn invånare, ange personnumret")
        found = self.access.lookup_resident(tolvan.pnr)
        self.say("Namn och personnummer på invånaren visas. / The resident's name and identity number are shown.")
        self.say(*_resident_lines(found or tolvan))
        self.say("Lives outside the service area, so only an approval opens the clinic.")
        self.decide(tolvan.pnr, CLINIC_ID, OPEN_TYPE)

        self.later(1)
        self.step("Approve the resident for communication", "Godkänn invånare för kommunikation")
        self.access.approve_resident(self.admin, CLINIC_ID, tolvan.pnr)
        self.say(_confirmation(Action.RESIDENT_APPROVED))
        self.decide(tolvan.pnr, CLINIC_ID, OPEN_TYPE)

        self.later(1)
        self.step("A resident of the service area, not approved", "betjäningsområde")
        self.say(*_resident_lines(self.greta))
        self.decide(self.greta.pnr, CLINIC_ID, OPEN_TYPE)

        self.step("A restricted case type without a grant: approval does not open it", "begränsat urval")
        self.decide(tolvan.pnr, CLINIC_ID, RESTRICTED_TYPE)

    def grants(self) -> None:
        pnr = self.tolvan.pnr
        self.later(5)
        self.step("Grant the restricted case type until a date", "Dela ut en ärendetyp, specifikt datum")
        granted = self.access.grant_case_type(self.admin, CLINIC_ID, pnr, RESTRICTED_TYPE, until=dt.date(2025, 3, 30))
        self.say(_confirmation(Action.CASE_TYPE_GRANTED), _grant(granted, self.access.today()))

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
            _confirmation(Action.GRANT_CHANGED),
            _grant(changed, self.access.today()),
        )
        self.decide(pnr, CLINIC_ID, RESTRICTED_TYPE)

        self.later(2)
        self.step("The resident's page at the clinic", "Klicka på den invånare")
        self.say(
            *_access_lines(
                self.access.resident_access(self.admin, CLINIC_ID, pnr), self.access.today(), self.access.timezone
            )
        )

    def removals(self) -> None:
        pnr = self.tolvan.pnr
        self.later(3)
        self.step("Remove the granted case type", "Ta bort utdelad ärendetyp")
        self.access.remove_grant(self.admin, CLINIC_ID, pnr, RESTRICTED_TYPE)
        self.say(_confirmation(Action.GRANT_REMOVED))
        self.decide(pnr, CLINIC_ID, RESTRICTED_TYPE)

        self.later(2)
        self.step("Revoke the approval for communication", "Ta bort godkännande för kommunikation")
        self.access.revoke_approval(self.admin, CLINIC_ID, pnr)
        self.say(_confirmation(Action.APPROVAL_REVOKED))
        self.decide(pnr, CLINIC_ID, OPEN_TYPE)

        self.later(2)
        self.step("Remove the restricted case type; ask about an unknown clinic", "ärendetyper")
        self.access.remove_case_type(self.admin, CLINIC_ID, RESTRICTED_TYPE)
        self.say(_confirmation(Action.CASE_TYPE_REMOVED))
        self.decide(pnr, CLINIC_ID, RESTRICTED_TYPE)
        self.decide(pnr, "vc-okand", OPEN_TYPE)

    def records(self) -> None:
        self.step("The clinic's resident list", "kortet Invånare")
        page = self.access.list_residents(self.admin, CLINIC_ID)
        self.say(*[_listed(item, self.access.today()) for item in page.items] or [_NO_RESIDENTS])

        self.step("The event log, identity numbers masked", "händelselogg")
        self.say(*[_event(event, self.zone) for event in self.access.events()])


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
    directory = careaccess.StaticDirectory(demo_residents())
    try:
        with careaccess.connect(store_url, plugins=[directory], clock=clock) as access:
            run_demo(access, clock)
    except CareAccessError as error:
        _fail(error, as_json=False)


def main(args: Sequence[str] | None = None, **extra: Any) -> None:
    """The ``careaccess`` console script; *extra* goes to click's ``Command.main`` (e.g. ``obj``)."""
    cli.main(args=list(args) if args is not None else None, prog_name="careaccess", **extra)


def _iter_commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    """Every command under *group* by its full name, for documentation."""
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from _iter_commands(command, f"{full} ")
        else:
            yield full, command
