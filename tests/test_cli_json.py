"""``--json`` always prints exactly one JSON document on standard output."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pytest
from click.testing import CliRunner, Result

import careaccess
from careaccess import cli


@pytest.fixture
def access() -> Any:
    with careaccess.connect("memory://") as opened:
        yield opened


def invoke(args: list[str], environment: cli.Environment | None = None) -> Result:
    return CliRunner().invoke(cli.cli, args, obj=environment)


def error_of(result: Result) -> dict[str, str]:
    data = json.loads(result.stdout)
    assert set(data) == {"error"}
    error: dict[str, str] = data["error"]
    assert set(error) == {"code", "message_en", "message_sv"}
    return error


@pytest.mark.parametrize(
    "args",
    [
        ["grant", "--json"],  # missing arguments
        ["list", "c1", "--json", "--limit", "0"],  # out of range
        ["clinic", "put", "c1", "--name", "VC", "--rule", "colour=blue", "--json"],  # a bad rule
        ["decide", "19121212-1212", "c1", "t1", "--at", "tomorrow", "--json"],  # a bad moment
        ["events", "--json", "--no-such-option"],
    ],
)
def test_usage_errors_are_json_with_status_2(args: list[str], access: careaccess.CareAccess) -> None:
    result = invoke(args, cli.Environment.sharing(access))
    assert result.exit_code == 2
    error = error_of(result)
    assert error["code"] == "usage_error"
    assert error["message_sv"].startswith("Fel i kommandoraden: ")


def test_usage_errors_without_json_stay_text(access: careaccess.CareAccess) -> None:
    result = invoke(["grant"], cli.Environment.sharing(access))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Missing argument" in result.stderr


def test_an_unexpected_failure_is_json_and_names_only_its_type(access: careaccess.CareAccess) -> None:
    def broken(url: str) -> AbstractContextManager[careaccess.CareAccess]:
        raise RuntimeError("secret 191212121212 in a message")

    environment = cli.Environment(open_access=broken)
    result = invoke(["events", "--json"], environment)
    assert result.exit_code == 1
    error = error_of(result)
    assert error["code"] == "internal_error"
    assert "RuntimeError" in error["message_en"]
    assert "191212121212" not in result.stdout
    # Without --json the traceback is the operator's to see.
    plain = invoke(["events"], environment)
    assert isinstance(plain.exception, RuntimeError)


def test_an_unexpected_failure_inside_a_command_is_json(access: careaccess.CareAccess) -> None:
    class Exploding:
        def __getattr__(self, name: str) -> Any:
            if name == "events":
                raise KeyError("1912")
            return getattr(access, name)

    environment = cli.Environment(open_access=lambda url: nullcontext(Exploding()))  # type: ignore[arg-type]
    assert error_of(invoke(["events", "--json"], environment))["code"] == "internal_error"


def test_careaccess_errors_and_results_are_json(access: careaccess.CareAccess) -> None:
    environment = cli.Environment.sharing(access)
    assert error_of(invoke(["clinic", "show", "nope", "--json"], environment))["code"] == "unknown_clinic"
    assert json.loads(invoke(["events", "--json"], environment).stdout) == []


def test_the_console_entry_point_prints_json_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["grant", "--json"])
    assert exited.value.code == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "usage_error"
    with pytest.raises(SystemExit) as shown:
        cli.main(["events", "--help", "--json"])
    assert shown.value.code == 0
