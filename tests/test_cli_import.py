"""``careaccess import`` of CSV as spreadsheets export it: checked whole before writing."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result

import careaccess
from careaccess import cli
from careaccess.cli.importing import PROGRESS_FROM, parse_lines, shows_progress
from careaccess.identity import PersonalIdentityNumber, luhn_check_digit
from careaccess.linefile import LineProblem

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NOW = dt.datetime(2025, 3, 28, 10, 0, tzinfo=STOCKHOLM)
ADMIN = careaccess.Actor("admin", frozenset({"c1"}))


def pnr(birth: str, serial: str) -> str:
    return f"{birth}{serial}{luhn_check_digit(birth[2:] + serial)}"


TOLVAN = "191212121212"
GRETA = pnr("19850615", "238")
NILS = pnr("19700101", "239")


@pytest.fixture
def access() -> Iterator[careaccess.CareAccess]:
    with careaccess.connect("memory://", clock=lambda: NOW) as opened:
        opened.put_clinic(ADMIN, careaccess.Clinic("c1", "VC"))
        opened.put_case_type(ADMIN, careaccess.CaseType("c1", "open", "Rådgivning"))
        opened.put_case_type(ADMIN, careaccess.CaseType("c1", "lab", "Provsvar", restricted=True))
        yield opened


def run(access: careaccess.CareAccess, text: str, *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(
        cli.cli, ["import", "c1", "-", "--actor", "anna", *args], obj=cli.Environment.sharing(access), input=text
    )
    assert result.exit_code == code, (result.output, result.exception)
    return result


def test_csv_approvals_and_grants_in_any_written_form(access: careaccess.CareAccess) -> None:
    text = (
        "personnummer;name;case_type;until\n"  # a Swedish spreadsheet's separator
        f"{TOLVAN[:8]}-{TOLVAN[8:]};Tolvan Tolvansson;;\n"
        f"{GRETA[2:]};Greta;lab;2025-12-31\n"
        f"{TOLVAN};Tolvan Tolvansson;lab;\n"
    )
    result = run(access, text, "--format", "csv")
    assert result.stdout == "3 records imported. / 3 poster har importerats.\n"
    tolvan = access.resident_access(ADMIN, "c1", TOLVAN)
    assert tolvan.approval is not None
    assert tolvan.approval.approved_by == "anna"
    assert tolvan.approval.approved_at == NOW
    assert [(g.case_type_id, g.until, g.version) for g in tolvan.grants] == [("lab", None, 1)]
    greta = access.resident_access(ADMIN, "c1", GRETA)
    assert greta.approval is None
    assert [(g.case_type_id, g.until) for g in greta.grants] == [("lab", dt.date(2025, 12, 31))]
    assert [e.actor_id for e in access.events()[-3:]] == ["anna"] * 3


def test_every_bad_line_is_reported_and_nothing_is_written(access: careaccess.CareAccess) -> None:
    before = access.events(limit=1000)
    text = (
        "personnummer,name,case_type,until\n"
        f"{TOLVAN},Tolvan,,\n"  # good
        "19121212-1213,Wrong,,\n"  # check digit
        f"{GRETA},Greta,lab,31/12/2025\n"  # date form
        f"{GRETA},Greta,nope,\n"  # unknown case type
        f"{NILS},Nils,open,\n"  # an open case type cannot be granted
        f"{TOLVAN},Tolvan again,,\n"  # duplicate of line 2
        f"{NILS},Nils,,2025-12-31\n"  # an approval has no end date
        f"{GRETA},Greta,lab,2025-01-01\n"  # ended before today
        ",Nobody,,\n"  # no number
    )
    result = run(access, text, "--json", code=1)
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "invalid_import_file"
    for en in [
        "Line 3 (19121212-****), personnummer: The check digit",
        "Line 4 (19850615-****), until: Give the end date as YYYY-MM-DD",
        "Line 5 (19850615-****), case_type: The clinic has no such case type.",
        "Line 6 (19700101-****), case_type: Only case types with a restricted selection",
        "Line 7 (19121212-****), personnummer: The same approval is already on line 2.",
        "Line 8 (19700101-****), until: An approval has no end date",
        "Line 9 (19850615-****), until: The end date lies in the past",
        "Line 10, personnummer: The identity number is missing.",
    ]:
        assert en in error["message_en"]
    assert "Rad 3 (19121212-****), personnummer: Kontrollsiffran" in error["message_sv"]
    assert "Rad 7 (19121212-****), personnummer: Samma godkännande finns redan på rad 2." in error["message_sv"]
    assert error["message_en"].index("Line 3") < error["message_en"].index("Line 10")
    for full in (TOLVAN, GRETA, NILS, "191212121213"):
        assert full not in result.stdout
        assert f"-{full[8:]}" not in result.stdout
    assert access.events(limit=1000) == before


def test_the_report_names_only_so_many_lines(access: careaccess.CareAccess) -> None:
    wrong = [f"19121212-{n}{(luhn_check_digit(f'121212{n}') + 1) % 10}" for n in range(100, 129)]
    text = "personnummer\n" + "".join(f"{number}\n" for number in wrong)
    error = json.loads(run(access, text, "--json", "--format", "csv", code=1).stdout)["error"]
    assert error["message_en"].count("Line ") == 20
    assert error["message_en"].endswith("... and 9 more.")


def test_a_header_without_personnummer(access: careaccess.CareAccess) -> None:
    error = json.loads(run(access, "name,case_type\nTolvan,lab\n", "--json", "--format", "csv", code=1).stdout)
    assert "Line 1, personnummer: The header line names no personnummer column." in error["error"]["message_en"]


def test_parse_lines_keeps_line_numbers_for_the_library_check() -> None:
    parsed = parse_lines(
        ["personnummer,case_type\n", "\n", f"{TOLVAN},lab\n", f"{GRETA},\n"],
        "csv",
        clinic_id="c1",
        actor_id="anna",
        now=NOW,
        today=NOW.date(),
    )
    assert parsed.lines == [3, 4]
    assert [type(r).__name__ for r in parsed.records] == ["Grant", "Approval"]
    assert parsed.records[0].pnr == PersonalIdentityNumber.from_digits(TOLVAN)
    assert parsed.problems == []
    bad = parse_lines(
        ['{"pnr": "191212121212", "version": "x"}\n'], "jsonl", clinic_id="c1", actor_id="a", now=NOW, today=NOW.date()
    )
    assert all(isinstance(p, LineProblem) and p.line == 1 and p.masked == "19121212-****" for p in bad.problems)
    assert "approved_at" in {p.field for p in bad.problems}


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_is_only_for_people_and_long_files() -> None:
    assert shows_progress(False, Terminal(), PROGRESS_FROM)
    assert not shows_progress(True, Terminal(), PROGRESS_FROM)  # --json
    assert not shows_progress(False, io.StringIO(), PROGRESS_FROM)  # a pipe or file
    assert not shows_progress(False, Terminal(), PROGRESS_FROM - 1)


def test_a_long_import_writes_no_progress_into_captured_output(access: careaccess.CareAccess) -> None:
    people = [pnr(f"19{50 + n // 300:02d}{1 + n // 28 % 12:02d}{1 + n % 28:02d}", "123") for n in range(PROGRESS_FROM)]
    result = run(access, "personnummer\n" + "\n".join(people) + "\n", "--format", "csv")
    assert result.stdout == f"{PROGRESS_FROM} records imported. / {PROGRESS_FROM} poster har importerats.\n"
    assert result.stderr == ""


def test_records_already_stored_are_found_on_every_page_of_the_clinic(access: careaccess.CareAccess) -> None:
    people = [pnr(f"19{50 + n // 300:02d}{1 + n // 28 % 12:02d}{1 + n % 28:02d}", "123") for n in range(1100)]
    approvals = [careaccess.Approval("c1", PersonalIdentityNumber.from_digits(p), None, NOW, "old") for p in people]
    access.import_residents(ADMIN, "c1", approvals, [])
    text = f"personnummer\n{people[0]}\n{people[1099]}\n{TOLVAN}\n"
    error = json.loads(run(access, text, "--json", "--format", "csv", code=1).stdout)["error"]
    assert error["message_en"].count("The approval already exists.") == 2
    assert "Line 3 (" in error["message_en"]


def test_a_field_the_models_refuse_is_a_line_problem(access: careaccess.CareAccess) -> None:
    text = f"personnummer,case_type\n{TOLVAN},{'x' * 201}\n"
    error = json.loads(run(access, text, "--json", "--format", "csv", code=1).stdout)["error"]
    assert "Line 2 (19121212-****), case_type: " in error["message_en"]
