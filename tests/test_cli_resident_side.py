"""careaccess clinics-for and careaccess clinics: the resident's side on the command line."""

from __future__ import annotations

import json

from click.testing import CliRunner

import careaccess
from careaccess import Actor, AreaRule, CaseType, Clinic, ServiceArea, cli

ADMIN = Actor("cli", frozenset({"vc-ost", "vc-vast", "vc-norr"}))


def _environment() -> cli.Environment:
    access = careaccess.connect("memory://")
    access.put_clinic(ADMIN, Clinic("vc-ost", "Vårdcentralen Öst", ServiceArea((AreaRule(region="01"),))))
    access.put_clinic(ADMIN, Clinic("vc-vast", "Vårdcentralen Väst"))
    access.put_clinic(ADMIN, Clinic("vc-norr", "Hälsocentralen Norr", ServiceArea((AreaRule(region="25"),))))
    access.put_case_type(ADMIN, CaseType("vc-ost", "fraga", "Fråga om vård"))
    access.put_case_type(ADMIN, CaseType("vc-norr", "fraga", "Fråga om vård"))
    access.put_case_type(ADMIN, CaseType("vc-vast", "kbt", "KBT", restricted=True))
    access.put_case_type(ADMIN, CaseType("vc-vast", "fraga", "Fråga om vård"))
    access.grant_case_type(ADMIN, "vc-vast", "19121212-1212", "kbt")
    return cli.Environment.sharing(access)


def test_clinics_for_lists_what_decide_allows_with_reasons() -> None:
    environment = _environment()
    result = CliRunner().invoke(cli.cli, ["clinics-for", "19121212-1212", "--region", "01", "--json"], obj=environment)
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert [item["clinic"]["id"] for item in found] == ["vc-ost", "vc-vast"]
    assert [(d["case_type_id"], d["reason"]) for d in found[1]["decisions"]] == [("kbt", "granted")]
    text = CliRunner().invoke(cli.cli, ["clinics-for", "19121212-1212", "--region", "25"], obj=environment).output
    assert "vc-norr" in text
    assert "vc-ost" not in text
    denied = CliRunner().invoke(
        cli.cli, ["clinics-for", "19121212-1212", "--region", "25", "--include-denied", "--json"], obj=environment
    )
    reasons = {
        (item["clinic"]["id"], d["case_type_id"]): d["reason"]
        for item in json.loads(denied.stdout)
        for d in item["decisions"]
    }
    assert reasons[("vc-vast", "fraga")] == "not_approved"


def test_clinics_searches_the_directory_and_pages() -> None:
    environment = _environment()
    found = CliRunner().invoke(cli.cli, ["clinics", "--search", "VARDCENTRALEN", "--json"], obj=environment)
    assert found.exit_code == 0, found.output
    first = CliRunner().invoke(cli.cli, ["clinics", "--limit", "2"], obj=environment).output
    assert first.splitlines()[:2] == ["vc-norr  Hälsocentralen Norr", "vc-ost  Vårdcentralen Öst"]
    cursor = first.splitlines()[-1].removeprefix("More: --cursor ")
    rest = CliRunner().invoke(cli.cli, ["clinics", "--limit", "2", "--cursor", cursor], obj=environment).output
    assert rest.splitlines() == ["vc-vast  Vårdcentralen Väst"]
    in_region = CliRunner().invoke(cli.cli, ["clinics", "--region", "25"], obj=environment).output
    assert in_region.splitlines() == ["vc-norr  Hälsocentralen Norr"]
