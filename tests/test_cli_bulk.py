"""The bulk commands: revoke-many (Ta bort markerade), remove-grants and grant-many."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner, Result

import careaccess
from careaccess import Action, cli
from careaccess.identity import luhn_check_digit

STOCKHOLM = dt.timezone(dt.timedelta(hours=1))


def _number(serial: int) -> str:
    nine = f"800101{serial:03d}"
    return f"1980{nine[2:6]}-{serial:03d}{luhn_check_digit(nine)}"


PEOPLE = [_number(serial) for serial in range(2, 22, 2)]


def _cli() -> tuple[careaccess.CareAccess, CliRunner, cli.Environment]:
    access = careaccess.connect("memory://", clock=lambda: dt.datetime(2025, 3, 28, 10, tzinfo=STOCKHOLM))
    environment = cli.Environment.sharing(access)
    runner = CliRunner()
    for args in (
        ["clinic", "put", "c1", "--name", "Vårdcentralen Exempel"],
        ["case-type", "put", "c1", "lab", "--name", "Provsvar", "--restricted"],
    ):
        assert runner.invoke(cli.cli, args, obj=environment).exit_code == 0
    return access, runner, environment


def _ok(runner: CliRunner, environment: cli.Environment, *args: str, input: str | None = None) -> Result:
    result = runner.invoke(cli.cli, list(args), obj=environment, input=input)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_grant_many_then_remove_grants_then_revoke_many_report_the_stale_ones(tmp_path: Path) -> None:
    access, runner, environment = _cli()
    for person in PEOPLE[:6]:
        _ok(runner, environment, "approve", "c1", person, "--name", "Anna")
    granted = _ok(runner, environment, "grant-many", "c1", "lab", *PEOPLE[:4], "--until", "2025-12-31", "--json")
    assert json.loads(granted.stdout)["changed"] == 4

    again = _ok(runner, environment, "grant-many", "c1", "lab", *PEOPLE[2:6])
    assert "(2)" in again.stdout  # two new grants
    assert "Held it already / Hade den redan" in again.stdout
    assert PEOPLE[2] not in again.stdout  # the stale ones are masked
    assert careaccess.PersonalIdentityNumber.parse(PEOPLE[2]).masked() in again.stdout

    listing = tmp_path / "selection.txt"
    listing.write_text("# marked in the list\n" + "\n".join(PEOPLE[:8]) + "\n\n", encoding="utf-8")
    removed = json.loads(
        _ok(runner, environment, "remove-grants", "c1", "lab", "--file", str(listing), "--json").stdout
    )
    assert removed["changed"] == 6
    assert len(removed["stale"]) == 2

    revoked = json.loads(
        _ok(runner, environment, "revoke-many", "c1", "--file", "-", "--json", input="\n".join(PEOPLE)).stdout
    )
    assert revoked["action"] == Action.APPROVAL_REVOKED.value
    assert revoked["changed"] == 6
    assert len(revoked["stale"]) == len(PEOPLE) - 6
    assert all("****" in item for item in revoked["stale"])
    actions = [e.action for e in access.events(limit=1000)]
    assert actions.count(Action.APPROVAL_REVOKED) == 6
    assert actions.count(Action.GRANT_REMOVED) == 6


def test_a_bulk_command_without_numbers_is_a_usage_error() -> None:
    _, runner, environment = _cli()
    result = runner.invoke(cli.cli, ["revoke-many", "c1"], obj=environment)
    assert result.exit_code == 2
    assert "--file" in result.output
