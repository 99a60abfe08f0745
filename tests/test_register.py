"""The file population register and the line-file reader under it."""

from __future__ import annotations

import datetime as dt
import json
import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import careaccess
from careaccess.identity import PersonalIdentityNumber
from careaccess.linefile import InvalidFile, LineProblem, format_of, mask, read_rows
from careaccess.models import Residence, Resident
from careaccess.register import FileRegister, demo_register
from careaccess.testing.strategies import identity_numbers, renderings

TOLVAN = PersonalIdentityNumber.from_digits("191212121212")
GRETA = PersonalIdentityNumber.from_digits("198506152381")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_in_every_written_form(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "residents.csv",
        "personnummer,name,region,municipality\n"
        "19121212-1212,Tolvan Tolvansson,12,1280\n"
        "\n"
        "8506152381,Greta Exempelsson,,0180\n",
    )
    register = FileRegister.from_path(path, today=dt.date(2025, 1, 1))
    assert len(register) == 2
    assert register.get(TOLVAN) == Resident(TOLVAN, "Tolvan Tolvansson", Residence("12", "1280"))
    assert register.get(GRETA) == Resident(GRETA, "Greta Exempelsson", Residence("01", "0180"))


def test_spreadsheet_csv_with_semicolons_a_byte_order_mark_and_any_column_order(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("\ufeffName;Personnummer;Municipality\r\nTolvan;191212121212;1280\r\n".encode())
    assert FileRegister.from_path(path).get(TOLVAN) == Resident(TOLVAN, "Tolvan", Residence("12", "1280"))


def test_json_lines(tmp_path: Path) -> None:
    lines = [
        {"personnummer": "19121212-1212", "name": "Tolvan", "region": "12", "municipality": "1280"},
        {"personnummer": "198506152381", "name": None},
    ]
    path = write(tmp_path, "residents.jsonl", "".join(json.dumps(line) + "\n" for line in lines))
    register = FileRegister.from_path(path)
    assert register.get(TOLVAN) == Resident(TOLVAN, "Tolvan", Residence("12", "1280"))
    assert register.get(GRETA) == Resident(GRETA, None, None)


def test_the_format_follows_the_suffix_then_the_content() -> None:
    assert format_of("a.csv", "{") == "csv"
    assert format_of("a.jsonl") == "jsonl"
    assert format_of("a.txt", '{"personnummer": 1}') == "jsonl"
    assert format_of("a.txt", "personnummer,name") == "csv"


def test_every_bad_line_is_reported_with_its_number_a_masked_number_and_the_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "residents.csv",
        "personnummer,name,region,municipality\n"
        "19121212-1212,Tolvan,12,1280\n"
        "19121212-1213,Wrong check digit,,\n"
        "19121212-1212,Tolvan again,,\n"
        "198506152381,Greta,01,9999\n"
        ",No number,,\n"
        "198506152381,Greta,01,0180,extra\n",
    )
    with pytest.raises(InvalidFile) as raised:
        FileRegister.from_path(path)
    error = raised.value
    assert error.code == "invalid_register"
    assert isinstance(error, careaccess.InvalidRequest)
    found = [(p.line, p.masked, p.field, p.code) for p in error.problems]
    assert found == [
        (3, "19121212-****", "personnummer", "pnr_checksum"),
        (4, "19121212-****", "personnummer", "invalid_line"),
        (5, "19850615-****", "municipality", "unknown_municipality"),
        (6, None, "personnummer", "invalid_line"),
        (7, None, None, "invalid_line"),
    ]
    assert "Line 3 (19121212-****), personnummer: The check digit" in error.message_en
    assert "Rad 3 (19121212-****), personnummer: Kontrollsiffran" in error.message_sv
    assert "already on line 2" in error.problems[1].en
    for text in (error.message_en, error.message_sv, str(error), repr(error)):
        assert "1212121213" not in text
        assert "121212-1213" not in text
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert copy.problems == error.problems
    assert copy.message_sv == error.message_sv


def test_bad_json_lines_are_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "r.jsonl", '{"personnummer": "191212121212"}\n[1, 2]\nnot json\n')
    with pytest.raises(InvalidFile) as raised:
        FileRegister.from_path(path)
    assert [(p.line, p.code) for p in raised.value.problems] == [(2, "invalid_line"), (3, "invalid_line")]


def test_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(careaccess.InvalidRequest) as raised:
        FileRegister.from_path(tmp_path / "missing.csv")
    assert raised.value.code == "register_unreadable"
    (tmp_path / "latin1.csv").write_bytes("personnummer,name\n191212121212,Åsa\n".encode("latin-1"))
    with pytest.raises(careaccess.InvalidRequest) as raised:
        FileRegister.from_path(tmp_path / "latin1.csv")
    assert raised.value.code == "register_unreadable"


def test_the_register_answers_the_lookup_hook() -> None:
    register = FileRegister([Resident(TOLVAN, "Tolvan", Residence("12", "1280"))])
    with careaccess.connect("memory://", plugins=[register]) as access:
        found = access.lookup_resident("19121212-1212")
        assert found is not None
        assert found.name == "Tolvan"
        assert access.lookup_resident(GRETA) is None


def test_the_demo_register_holds_the_demo_residents() -> None:
    register = demo_register()
    assert len(register) >= 2
    tolvan = register.get(TOLVAN)
    assert tolvan is not None
    assert tolvan.name == "Tolvan Tolvansson"
    assert any(resident.pnr.is_coordination_number for resident in register)


TODAY = dt.date(2025, 6, 1)


@given(st.data())
def test_any_legal_written_form_reads_to_the_same_resident(data: st.DataObject) -> None:
    today = TODAY
    pnr = data.draw(identity_numbers(max_birth_date=today))
    written = data.draw(renderings(pnr, today=today, whitespace=False))
    register = FileRegister.from_lines(["personnummer,name\n", f"{written},N\n"], "csv", today=today)
    assert [resident.pnr for resident in register] == [pnr]


@given(st.text(max_size=30))
def test_mask_hides_the_last_four_characters(text: str) -> None:
    masked = mask(text)
    stripped = text.strip()
    assert masked.endswith("****")
    assert len(masked) <= max(len(stripped) + 1, 4)
    prefix = masked[:-4]  # what is shown: the start of the text, perhaps with a '-' added
    assert stripped.startswith(prefix) or (prefix.endswith("-") and stripped.startswith(prefix[:-1]))
    assert len(stripped) - len(prefix.rstrip("-")) >= min(4, len(stripped))  # at least four characters hidden
    assert mask("191212121213") == mask("19121212-1213") == "19121212-****"
    assert mask("1212121213") == "121212-****"
    assert mask("121212+1213") == "121212+****"


def test_csv_line_numbers_count_blank_lines_before_the_header() -> None:
    rows = list(read_rows(["\n", "\n", "personnummer\n", "191212121212\n", "x,y\n"], "csv"))
    assert rows[0] == (4, {"personnummer": "191212121212"})
    assert isinstance(rows[1][1], LineProblem)
    assert rows[1][0] == 5
