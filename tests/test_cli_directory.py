"""``--directory``: the command line reads a population register file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from careaccess import cli

TOLVAN = "19121212-1212"
REGISTER = "personnummer,name,region,municipality\n191212121212,Tolvan Tolvansson,12,1280\n"


@pytest.fixture
def register(tmp_path: Path) -> Path:
    path = tmp_path / "residents.csv"
    path.write_text(REGISTER, encoding="utf-8")
    return path


def invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
    return CliRunner().invoke(cli.cli, list(args), env={"CAREACCESS_DIRECTORY": None, **(env or {})})


def test_lookup_shows_name_and_identity_number_from_the_file(
    register: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("lookup", "121212+1212", "--directory", str(register))  # "+": 100 or older
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "Name / Namn: Tolvan Tolvansson",
        f"Identity number / Personnummer: {TOLVAN}",
        "Registered in / Folkbokförd i: region 12 (Skåne län), municipality 1280 (Malmö)",
    ]
    # The environment variable works the same, and a look-up opens no store.
    data = json.loads(invoke("lookup", TOLVAN, "--json", env={"CAREACCESS_DIRECTORY": str(register)}).stdout)
    assert data == {
        "pnr": "191212121212",
        "name": "Tolvan Tolvansson",
        "residence": {"region": "12", "municipality": "1280"},
    }
    assert list(tmp_path.iterdir()) == [register]


def test_lookup_without_a_register_says_how_to_give_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("lookup", TOLVAN)
    assert result.exit_code == 1
    assert result.stderr.startswith("error [resident_not_found]: ")
    assert "--directory FILE" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no store was created


def test_lookup_of_someone_not_in_the_register(register: Path) -> None:
    result = invoke("lookup", "198506152381", "--directory", str(register))
    assert result.exit_code == 1
    assert "error [resident_not_found]: No population register knows this resident." in result.stderr


def test_a_bad_register_file_names_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("personnummer,name\n191212121213,X\n", encoding="utf-8")
    result = invoke("lookup", TOLVAN, "--directory", str(path), "--json")
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "invalid_register"
    assert "Line 2 (19121212-****), personnummer: The check digit" in error["message_en"]
    assert "1213" not in result.stdout
    missing = invoke("lookup", TOLVAN, "--directory", str(tmp_path / "nope.csv"))
    assert missing.stderr.startswith("error [register_unreadable]: ")


def test_approve_takes_the_name_from_the_register(register: Path, tmp_path: Path) -> None:
    pytest.importorskip("careaccess_sql")
    env: dict[str, str | None] = {"CAREACCESS_STORE": f"sqlite:///{tmp_path}/ca.db"}
    assert invoke("db", "upgrade", env=env).exit_code == 0
    assert invoke("clinic", "put", "c1", "--name", "VC", env=env).exit_code == 0
    named = invoke("approve", "c1", TOLVAN, "--directory", str(register), env=env)
    assert named.exit_code == 0
    assert "Name / Namn: Tolvan Tolvansson" in named.stdout
    assert named.stderr == ""
    unnamed = invoke("approve", "c1", "198506152381", env=env)
    assert unnamed.exit_code == 0
    assert unnamed.stderr.startswith("warning: No population register knows this resident's name; give --name")
    assert "Name / Namn: -" in unnamed.stdout
    # The warning goes to standard error, so --json output stays one JSON document.
    again = invoke("approve", "c1", "198506152381", "--json", env=env)
    assert json.loads(again.stdout)["name"] is None
    assert again.stderr.startswith("warning: ")


def test_the_demo_reads_the_shipped_register() -> None:
    result = CliRunner().invoke(cli.cli, ["demo"])
    assert result.exit_code == 0, result.output
    assert "Population register / Folkbokföring: demo-register.csv (careaccess.register.FileRegister)" in result.stdout
    assert "Name / Namn: Tolvan Tolvansson" in result.stdout
    assert [resident.name for resident in cli.demo_residents()] == ["Tolvan Tolvansson", "Greta Exempelsson"]
