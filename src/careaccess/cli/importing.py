"""``careaccess import``: approvals and grants from CSV or JSON Lines, checked before writing.

Two formats (chosen by ``--format``, else by the file's suffix, else by its first line):

- **CSV**, as administrators export it from a spreadsheet: a header naming the
  columns ``personnummer`` (any legal written form), and optionally ``name``,
  ``case_type`` and ``until``. A row without a case type is an approval for
  communication; a row with one is a grant of that (restricted) case type, through
  ``until`` (``YYYY-MM-DD``) or, with ``until`` empty, until further notice (*tills
  vidare*). Imported records are made by ``--actor`` now.
- **JSON Lines** in ``careaccess.converter``'s form of an approval or a grant, as
  ``--json`` prints them (a grant has a ``case_type_id``; ``clinic_id`` may be left out).

Every line is read and checked first — its fields, duplicates anywhere in the file,
each grant's case type against the clinic, and records the clinic already holds — and
every bad line is reported with
its line number, the identity number masked and the field that is wrong, in English
and Swedish (error ``invalid_import_file``); then nothing is written. Only a clean file
is written, in batches of up to ``MAX_IMPORT`` records through
:meth:`~careaccess.CareAccess.import_residents`, each batch all or nothing.

Two options for the real cases: ``--skip-existing`` skips (and reports) the records
the clinic already holds; ``--resume`` goes on with a file an earlier run stopped in
(a batch refused, the connection lost), skipping exactly what that run imported — the
records held with the file's content — so a resumed run ends in the state and with the
events of one clean run, and never imports a record twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import sys
from collections.abc import Iterable, Sequence
from typing import IO, Any

import cattrs
import click
from click._termui_impl import ProgressBar

from careaccess.cli.app import Output, Session, admin, cli
from careaccess.errors import CareAccessError, InvalidRequest
from careaccess.linefile import (
    Format,
    InvalidFile,
    LineProblem,
    Row,
    format_of,
    parse_pnr,
    problem,
    read_rows,
    text_field,
)
from careaccess.models import Actor, Approval, Grant
from careaccess.serialization import converter
from careaccess.store import MAX_IMPORT
from careaccess.texts import ERRORS, Text

__all__ = ["MAX_IMPORT", "Parsed", "check_against_clinic", "import_", "parse_lines", "same_content"]

#: Above this many records, the write phase shows a progress bar on a terminal.
PROGRESS_FROM = 1000

Record = Approval | Grant


class Parsed:
    """The records of a file, each with its line number, and the problems found.

    ``lines[i]`` is the line of ``records[i]``, so a check that names a record by its
    position in the list names its line.
    """

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.lines: list[int] = []
        self.problems: list[LineProblem] = []


def _line_problem(number: int, masked: str | None, field: str | None, code: str, en: str, sv: str) -> LineProblem:
    return LineProblem(number, masked, field, code, Text(en, sv))


def _date(text: str, number: int, masked: str) -> dt.date | LineProblem | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return _line_problem(
            number,
            masked,
            "until",
            "invalid_date",
            "Give the end date as YYYY-MM-DD, or leave it empty for until further notice.",
            "Ange slutdatumet som ÅÅÅÅ-MM-DD, eller lämna det tomt för tills vidare.",
        )


def _csv_record(
    row: Row, number: int, clinic_id: str, actor_id: str, now: dt.datetime, today: dt.date
) -> Record | LineProblem:
    pnr = parse_pnr(row, number, today=today)
    if isinstance(pnr, LineProblem):
        return pnr
    masked = pnr.masked()
    name = text_field(row, "name", "namn") or None
    case_type = text_field(row, "case_type", "case_type_id", "ärendetyp")
    until = _date(text_field(row, "until", "end_date", "slutdatum"), number, masked)
    if isinstance(until, LineProblem):
        return until
    if not case_type:
        if until is not None:
            return _line_problem(
                number,
                masked,
                "until",
                "invalid_line",
                "An approval has no end date; give a case type to grant, or leave the end date empty.",
                "Ett godkännande har inget slutdatum; ange en ärendetyp att dela ut, eller lämna slutdatumet tomt.",
            )
    elif until is not None and until < today:
        return problem(number, masked, "until", InvalidRequest("end_date_in_past"))
    try:
        if not case_type:
            return Approval(clinic_id, pnr, name, now, actor_id)
        return Grant(clinic_id, pnr, case_type, until, 1, now, actor_id, now, name)
    except CareAccessError as error:  # a field the models refuse, e.g. an over-long case type id
        field = "name" if "name" in error.code else "case_type" if case_type else None
        return problem(number, masked, field, error)


_CATTRS_MESSAGE = re.compile(r"^(?P<what>.*?) @ \$\.(?P<field>\w+)")


def _cattrs_problems(error: Exception, number: int, masked: str | None) -> list[LineProblem]:
    """One problem per field cattrs refused; its messages never quote the value."""
    if not isinstance(error, cattrs.BaseValidationError):
        text = ERRORS["invalid_import_line"].text
        return [LineProblem(number, masked, None, "invalid_import_line", text)]
    found = []
    for message in cattrs.transform_error(error):
        match = _CATTRS_MESSAGE.match(message)
        field = match["field"] if match else None
        what = match["what"] if match else message
        if what == "required field missing":
            en, sv = "The field is missing.", "Fältet saknas."
        elif what.startswith("invalid value for type, expected "):
            expected = what.removeprefix("invalid value for type, expected ")
            en, sv = (
                f"The value is not valid here (expected {expected}).",
                f"Värdet är inte giltigt (väntade {expected}).",
            )
        else:
            en, sv = what, what
        found.append(_line_problem(number, masked, field, "invalid_import_line", en, sv))
    return found


def _json_record(row: Row, number: int, clinic_id: str, today: dt.date) -> Record | list[LineProblem]:
    pnr = parse_pnr(row, number, today=today, names=("pnr", "personnummer"))
    if isinstance(pnr, LineProblem):
        return [pnr]
    data = dict(row)
    data.setdefault("clinic_id", clinic_id)
    kind: type[Record] = Grant if "case_type_id" in data else Approval
    try:
        return converter.structure(data, kind)
    except CareAccessError as error:
        return [problem(number, pnr.masked(), None, error)]
    except Exception as error:  # cattrs' errors; the line itself may hold an identity number
        return _cattrs_problems(error, number, pnr.masked())


def parse_lines(
    lines: Iterable[str], format: Format, *, clinic_id: str, actor_id: str, now: dt.datetime, today: dt.date
) -> Parsed:
    """Read every line into a record or into problems; duplicates in the file are problems too."""
    parsed = Parsed()
    seen: dict[tuple[str, ...], int] = {}
    for number, row in read_rows(lines, format, required=("personnummer", "pnr")):
        if isinstance(row, LineProblem):
            parsed.problems.append(row)
            continue
        found = (
            _csv_record(row, number, clinic_id, actor_id, now, today)
            if format == "csv"
            else _json_record(row, number, clinic_id, today)
        )
        if isinstance(found, LineProblem):
            parsed.problems.append(found)
            continue
        if isinstance(found, list):
            parsed.problems.extend(found)
            continue
        key = (found.pnr.digits,) if isinstance(found, Approval) else (found.pnr.digits, found.case_type_id)
        if key in seen:
            field = "personnummer" if isinstance(found, Approval) else "case_type"
            parsed.problems.append(
                _line_problem(
                    number,
                    found.pnr.masked(),
                    field,
                    "import_duplicate",
                    f"The same {'approval' if len(key) == 1 else 'grant'} is already on line {seen[key]}.",
                    f"Samma {'godkännande' if len(key) == 1 else 'utdelning'} finns redan på rad {seen[key]}.",
                )
            )
            continue
        seen[key] = number
        parsed.records.append(found)
        parsed.lines.append(number)
    return parsed


_PAGE = 500  # residents per page when reading what the clinic already holds


def _stored(session: Session, clinic_id: str) -> dict[tuple[str, ...], Record]:
    """The approvals and grants the clinic holds now, keyed as :func:`parse_lines` keys records."""
    stored: dict[tuple[str, ...], Record] = {}
    actor = session.actor(clinic_id)
    cursor = None
    while True:
        page = session.access.list_residents(actor, clinic_id, _PAGE, cursor)
        for held in page.items:
            if held.approval is not None:
                stored[(held.pnr.digits,)] = held.approval
            stored.update(((held.pnr.digits, grant.case_type_id), grant) for grant in held.grants)
        cursor = page.next_cursor
        if cursor is None:
            return stored


def same_content(file: Record, stored: Record) -> bool:
    """Whether *stored* is what importing *file* writes, but for when and by whom it was made.

    A rerun of the same file (``--resume``) finds the records an earlier, interrupted
    run imported this way; a record stored with another end date or name is not one.
    """
    if isinstance(file, Approval):
        return isinstance(stored, Approval) and stored.name == file.name
    return isinstance(stored, Grant) and (stored.until, stored.name) == (file.until, file.name)


def check_against_clinic(
    session: Session, clinic_id: str, parsed: Parsed, *, skip: str | None = None
) -> tuple[list[LineProblem], list[LineProblem]]:
    """The lines the clinic's stored state refuses, and the lines it lets be skipped.

    Refused: a grant of a case type the clinic lacks or that is open to all, and a
    record the clinic already holds. With *skip* ``"existing"`` every record already
    held is skipped instead (``--skip-existing``); with ``"resumed"`` those held with
    the file's content are (``--resume``: what an earlier run of the file wrote), and a
    record held with other content stays refused. The library checks all of this again,
    atomically, when it writes; here it is found for every line before anything is
    written, and named by line. Reads the clinic's case types and its whole resident
    list (a page of 500 at a time).

    :returns: ``(problems, skipped)``, each in line order.
    """
    restricted = {case_type.id: case_type.restricted for case_type in session.access.case_types(clinic_id)}
    stored = _stored(session, clinic_id)
    found: list[LineProblem] = []
    skipped: list[LineProblem] = []
    for record, number in zip(parsed.records, parsed.lines, strict=True):
        masked = record.pnr.masked()
        if isinstance(record, Grant) and not restricted.get(record.case_type_id, False):
            code = "case_type_not_restricted" if record.case_type_id in restricted else "unknown_case_type"
            found.append(LineProblem(number, masked, "case_type", code, ERRORS[code].text))
            continue
        key = (record.pnr.digits,) if isinstance(record, Approval) else (record.pnr.digits, record.case_type_id)
        held = stored.get(key)
        if held is None:
            continue
        code, field = (
            ("approval_exists", "personnummer") if isinstance(record, Approval) else ("grant_exists", "case_type")
        )
        line = LineProblem(number, masked, field, code, ERRORS[code].text)
        if skip == "existing" or (skip == "resumed" and same_content(record, held)):
            skipped.append(line)
        else:
            found.append(line)
    return found, skipped


def shows_progress(as_json: bool, stream: IO[str], count: int) -> bool:
    """A progress bar only for people: not with --json, not into a file or pipe, not for short files."""
    return not as_json and count >= PROGRESS_FROM and stream.isatty()


@cli.command("import")
@click.argument("clinic_id")
@click.argument("source", type=click.File("r", encoding="utf-8-sig"))
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "jsonl"]),
    help="The file's format; default: by its suffix (.csv, .jsonl), else by its first line.",
)
@click.option(
    "--skip-existing",
    is_flag=True,
    help="Skip records the clinic already holds (each reported on standard error) instead of refusing the file.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Go on with a file an earlier run stopped in: skip the records it imported "
    "(held with the file's content); a record held with other content is still refused.",
)
@admin()
def import_(
    session: Session, *, clinic_id: str, source: Any, file_format: str | None, skip_existing: bool, resume: bool
) -> Output:
    """Import approvals and grants from CSV or JSON Lines (SOURCE, or - for standard input).

    CSV columns: personnummer, and optionally name, case_type and until (YYYY-MM-DD;
    empty: until further notice); a row without case_type is an approval. JSON Lines:
    approvals and grants as --json prints them. Every line is checked first (fields,
    duplicates, case types, records already stored) and every bad line reported (line,
    masked number, field); then nothing is written. A clean
    file is written in batches of up to MAX_IMPORT, each all or nothing; if a batch
    fails, a note on standard error says how many records went in before it.
    """
    lines: Sequence[str] = source.readlines()
    first = next((line for line in lines if line.strip()), "")
    chosen: Format = (
        "csv"
        if file_format == "csv"
        else "jsonl"
        if file_format == "jsonl"
        else format_of(getattr(source, "name", "-"), first)
    )
    actor = session.actor(clinic_id)
    parsed = parse_lines(
        lines,
        chosen,
        clinic_id=clinic_id,
        actor_id=session.actor_id,
        now=session.access.now(),
        today=session.access.today(),
    )
    if skip_existing and resume:
        raise click.UsageError("give at most one of --skip-existing and --resume")
    problems = parsed.problems
    skipped: list[LineProblem] = []
    if parsed.records and session.access.clinic(clinic_id) is not None:
        skip = "existing" if skip_existing else "resumed" if resume else None
        refused, skipped = check_against_clinic(session, clinic_id, parsed, skip=skip)
        problems = sorted([*problems, *refused], key=lambda p: p.line)
    if problems:
        raise InvalidFile("invalid_import_file", ERRORS["invalid_import_file"].text, problems)
    lines_skipped = {p.line for p in skipped}
    for line in skipped:
        click.echo(
            f"Line {line.line} / rad {line.line} ({line.masked}): already stored, skipped. / finns redan, hoppas över.",
            err=True,
        )
    records = [r for r, n in zip(parsed.records, parsed.lines, strict=True) if n not in lines_skipped]
    output = _write(session, actor, clinic_id, records)
    output.data["skipped"] = len(skipped)
    return output


def _write(session: Session, actor: Actor, clinic_id: str, records: Sequence[Record]) -> Output:
    as_json = bool(click.get_current_context().params.get("as_json"))
    stream = sys.stderr
    imported = 0
    with contextlib.ExitStack() as stack:
        bar: ProgressBar[int] | None = None
        if shows_progress(as_json, stream, len(records)):
            label = "Importing / Importerar"
            bar = stack.enter_context(click.progressbar(length=len(records), label=label, file=stream))
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
            if bar is not None:
                bar.update(len(batch))
    return Output(
        {"clinic_id": clinic_id, "imported": imported},
        [f"{imported} records imported. / {imported} poster har importerats."],
    )
