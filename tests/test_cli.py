"""The ``careaccess`` command: the demo's script, and every admin command run on an
in-memory store injected through :class:`careaccess.cli.Environment`."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result

import careaccess
from careaccess import Gender, cli
from careaccess.identity import luhn_check_digit
from careaccess.models import AreaRule, Decision, Grant, Reason, Residence, Resident

STOCKHOLM = ZoneInfo("Europe/Stockholm")
TOLVAN = "19121212-1212"


def make_pnr(birth: str, serial: str) -> str:
    return f"{birth}-{serial}{luhn_check_digit(birth[2:] + serial)}"


GRETA = make_pnr("19850615", "238")  # female, lives in the service area
NILS = make_pnr("19700101", "239")  # male, unknown to the directory


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2025, 3, 28, 10, 0, tzinfo=STOCKHOLM)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def access(clock: Clock) -> Iterator[careaccess.CareAccess]:
    directory = careaccess.StaticDirectory(
        [
            Resident(careaccess.PersonalIdentityNumber.parse(TOLVAN), "Tolvan Tolvansson", Residence("12", "1280")),
            Resident(careaccess.PersonalIdentityNumber.parse(GRETA), "Greta Exempelsson", Residence("01", "0180")),
        ]
    )
    with careaccess.connect("memory://", plugins=[directory], clock=clock) as opened:
        yield opened


Run = Callable[..., Result]


@pytest.fixture
def run(access: careaccess.CareAccess) -> Run:
    """Invoke the CLI on the shared in-memory store; asserts the exit code."""
    runner = CliRunner()
    environment = cli.Environment.sharing(access)

    def invoke(*args: str, code: int = 0, env: dict[str, str] | None = None, input: str | None = None) -> Result:
        result = runner.invoke(cli.cli, list(args), obj=environment, env=env, input=input)
        assert result.exit_code == code, (result.output, result.exception)
        return result

    return invoke


@pytest.fixture
def clinic(run: Run) -> str:
    run("clinic", "put", "c1", "--name", "Vårdcentralen Exempel", "--region", "01", "--municipality", "0180")
    run("case-type", "put", "c1", "open", "--name", "Rådgivning")
    run("case-type", "put", "c1", "lab", "--name", "Provsvar", "--restricted")
    return "c1"


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def assert_in_order(text: str, needles: Sequence[str]) -> None:
    position = 0
    for needle in needles:
        found = text.find(needle, position)
        assert found >= 0, f"{needle!r} missing after position {position}"
        position = found + len(needle)


# -- the demo --------------------------------------------------------------------------


def test_demo_walks_the_manual_in_order() -> None:
    result = CliRunner().invoke(cli.cli, ["demo"])
    assert result.exit_code == 0, result.output
    assert_in_order(
        result.stdout,
        [
            "Mottagningen har sparats.",
            "Ärendetypen har sparats.",
            "Namn och personnummer på invånaren visas",
            "Name / Namn: Tolvan Tolvansson",
            "Personnummer: 19121212-1212",
            "reason: not_approved",
            "Invånaren är godkänd för kommunikation.",
            "reason: approved",
            "reason: service_area",
            "reason: not_granted",
            "Ärendetypen har delats ut.",
            "reason: granted",
            "at 2025-03-30 23:59:59+02:00",
            "reason: grant_expired",
            "at 2025-03-31 00:00:00+02:00",
            "En bekräftelse visas om att den utdelade ärendetypen har ändrats",
            "Den utdelade ärendetypen har ändrats.",
            "tills vidare",
            "reason: granted",
            "Ärendetypen är borttagen.",
            "reason: not_granted",
            "Godkännandet för kommunikation har tagits bort.",
            "reason: not_approved",
            "reason: unknown_case_type",
            "reason: unknown_clinic",
            "Inga invånare är godkända",
            "clinic_saved",
            "resident_approved",
            "case_type_granted",
            "grant_changed",
            "grant_removed",
            "approval_revoked",
            "case_type_removed",
        ],
    )
    for reason in Reason:
        assert f"reason: {reason.value}" in result.stdout


def test_demo_output_is_the_same_on_every_run() -> None:
    first = CliRunner().invoke(cli.cli, ["demo"])
    second = CliRunner().invoke(cli.cli, ["demo", "--store", "memory://"])
    assert first.exit_code == second.exit_code == 0
    assert first.stdout == second.stdout


def test_demo_masks_identity_numbers_in_the_event_log_and_logs_none(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        result = CliRunner().invoke(cli.cli, ["demo"])
    log_part = result.stdout.split("The event log", 1)[1]
    assert "resident=19121212-****" in log_part
    assert "1212-1212" not in log_part
    assert all("1212-1212" not in record.getMessage() for record in caplog.records)


def test_demo_on_an_unknown_store_fails_cleanly() -> None:
    result = CliRunner().invoke(cli.cli, ["demo", "--store", "nosuch://x"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error [unknown_store_scheme]: ")


# -- clinics and case types ------------------------------------------------------------


def test_clinic_put_saves_the_service_area(run: Run, access: careaccess.CareAccess) -> None:
    result = run(
        "clinic",
        "put",
        "c1",
        "--name",
        "VC",
        "--region",
        "01",
        "--municipality",
        "0180",
        "--rule",
        "gender=female,min-age=18,max-age=64",
        "--rule",
        "municipality=0380",
    )
    assert "Mottagningen har sparats." in result.stdout
    saved = access.clinic("c1")
    assert saved is not None
    assert saved.service_area.rules == (
        AreaRule("01", "0180"),
        AreaRule(gender=Gender.FEMALE, min_age=18, max_age=64),
        AreaRule("03", "0380"),  # the municipality implies its county
    )
    assert access.events()[-1].actor_id == cli.DEFAULT_ACTOR


def test_clinic_put_replaces_the_whole_service_area(run: Run, access: careaccess.CareAccess) -> None:
    run("clinic", "put", "c1", "--name", "VC", "--rule", "all")
    run("clinic", "put", "c1", "--name", "VC2")
    saved = access.clinic("c1")
    assert saved is not None
    assert saved.name == "VC2"
    assert saved.service_area.rules == ()


def test_clinic_show(run: Run, clinic: str, access: careaccess.CareAccess) -> None:
    text = run("clinic", "show", clinic).stdout
    assert "Vårdcentralen Exempel (c1)" in text
    assert "region 01 (Stockholms län), municipality 0180 (Stockholm)" in text
    assert "lab: Provsvar (restricted / begränsat urval)" in text
    data = as_json(run("clinic", "show", clinic, "--json"))
    assert careaccess.converter.structure(data["clinic"], careaccess.Clinic) == access.clinic(clinic)
    assert [c["id"] for c in data["case_types"]] == ["lab", "open"]


def test_clinic_show_unknown(run: Run) -> None:
    result = run("clinic", "show", "nope", code=1)
    assert result.stderr.startswith("error [unknown_clinic]: There is no such clinic. / Mottagningen finns inte.")


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("all", AreaRule()),
        ("region=01", AreaRule("01")),
        ("region=01,municipality=0180", AreaRule("01", "0180")),
        ("municipality=0180", AreaRule("01", "0180")),
        ("gender=male,age=18-64", AreaRule(gender=Gender.MALE, min_age=18, max_age=64)),
        ("Gender=Kvinna, min_age=65", AreaRule(gender=Gender.FEMALE, min_age=65)),
        ("max-age=17", AreaRule(max_age=17)),
    ],
)
def test_parse_rule(text: str, rule: AreaRule) -> None:
    assert cli.parse_rule(text) == rule


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("region", "invalid_rule"),
        ("colour=blue", "invalid_rule"),
        ("region=01,region=03", "invalid_rule"),
        ("gender=other", "invalid_rule"),
        ("age=18-64,min-age=20", "invalid_rule"),
        ("min-age=x", "invalid_rule"),
        ("region=99", "unknown_region"),
        ("region=03,municipality=0180", "municipality_outside_region"),
        ("min-age=70,max-age=20", "invalid_age"),
    ],
)
def test_parse_rule_rejects(text: str, code: str) -> None:
    with pytest.raises(careaccess.InvalidRequest) as raised:
        cli.parse_rule(text)
    assert raised.value.code == code


def test_a_bad_rule_is_a_usage_error(run: Run, access: careaccess.CareAccess) -> None:
    result = run("clinic", "put", "c1", "--name", "VC", "--rule", "colour=blue", code=2)
    assert "Unknown key 'colour'" in result.stderr
    assert access.clinic("c1") is None


def test_case_type_put_list_remove(run: Run, clinic: str, access: careaccess.CareAccess) -> None:
    result = run("case-type", "put", clinic, "extra", "--name", "Extra", "--restricted")
    assert "Ärendetypen har sparats." in result.stdout
    assert [c.id for c in access.case_types(clinic)] == ["extra", "lab", "open"]
    listed = as_json(run("case-type", "list", clinic, "--json"))
    assert [(c["id"], c["restricted"]) for c in listed] == [("extra", True), ("lab", True), ("open", False)]
    assert "extra: Extra (restricted / begränsat urval)" in run("case-type", "list", clinic).stdout
    removed = run("case-type", "remove", clinic, "extra")
    assert "Ärendetypen har tagits bort från mottagningen." in removed.stdout
    assert [c.id for c in access.case_types(clinic)] == ["lab", "open"]


def test_case_type_remove_refused_while_granted(run: Run, clinic: str) -> None:
    run("grant", clinic, TOLVAN, "lab")
    result = run("case-type", "remove", clinic, "lab", "--json", code=1)
    assert as_json(result)["error"]["code"] == "case_type_in_use"


def test_case_type_list_of_unknown_clinic(run: Run) -> None:
    assert "unknown_clinic" in run("case-type", "list", "nope", code=1).stderr


# -- residents -------------------------------------------------------------------------


def test_lookup_shows_name_and_full_identity_number(run: Run) -> None:
    text = run("lookup", "191212121212").stdout
    assert "Name / Namn: Tolvan Tolvansson" in text
    assert "Identity number / Personnummer: 19121212-1212" in text
    assert "municipality 1280 (Malmö)" in text
    data = as_json(run("lookup", TOLVAN, "--json"))
    assert data == {
        "pnr": "191212121212",
        "name": "Tolvan Tolvansson",
        "residence": {"region": "12", "municipality": "1280"},
    }


def test_lookup_unknown_resident(run: Run) -> None:
    result = run("lookup", NILS, code=1)
    assert result.stderr.startswith("error [resident_not_found]: ")


def test_an_invalid_identity_number_is_an_error_that_does_not_repeat_it(run: Run) -> None:
    result = run("lookup", "19121212-1213", code=1)
    assert result.stderr.startswith("error [pnr_checksum]: ")
    assert "1213" not in result.stderr


def test_approve_and_revoke(run: Run, clinic: str, access: careaccess.CareAccess) -> None:
    result = run("approve", clinic, TOLVAN, "--actor", "anna")
    assert result.stdout.splitlines() == [
        "The resident is approved for communication. / Invånaren är godkänd för kommunikation.",
        "Name / Namn: Tolvan Tolvansson",
        "Identity number / Personnummer: 19121212-1212",
    ]
    assert access.decide(TOLVAN, clinic, "open").reason is Reason.APPROVED
    assert access.events()[-1].actor_id == "anna"

    revoked = run("revoke", clinic, TOLVAN, "--json", env={"CAREACCESS_ACTOR": "bertil"})
    assert as_json(revoked) == {"removed": "approval_revoked", "clinic_id": clinic, "pnr": "191212121212"}
    assert access.decide(TOLVAN, clinic, "open").reason is Reason.NOT_APPROVED
    assert access.events()[-1].actor_id == "bertil"


def test_revoke_confirmation(run: Run, clinic: str) -> None:
    run("approve", clinic, TOLVAN)
    assert run("revoke", clinic, TOLVAN).stdout == (
        "The approval for communication has been removed. / Godkännandet för kommunikation har tagits bort.\n"
    )


def test_approve_json_and_given_name(run: Run, clinic: str) -> None:
    data = as_json(run("approve", clinic, NILS, "--name", "Nils Nilsson", "--json"))
    assert careaccess.converter.structure(data, careaccess.Approval).name == "Nils Nilsson"
    assert data["pnr"] == NILS.replace("-", "")
    assert data["approved_by"] == cli.DEFAULT_ACTOR


def test_revoke_without_approval_fails_in_both_languages(run: Run, clinic: str) -> None:
    text = run("revoke", clinic, TOLVAN, code=1).stderr
    assert text == (
        "error [approval_not_found]: The resident is not approved for communication with the clinic. / "
        "Invånaren är inte godkänd för kommunikation med mottagningen.\n"
    )
    error = as_json(run("revoke", clinic, TOLVAN, "--json", code=1))["error"]
    assert error == {
        "code": "approval_not_found",
        "message_en": "The resident is not approved for communication with the clinic.",
        "message_sv": "Invånaren är inte godkänd för kommunikation med mottagningen.",
    }


def test_grant_until_a_date(run: Run, clinic: str, access: careaccess.CareAccess) -> None:
    result = run("grant", clinic, TOLVAN, "lab", "--until", "2025-04-30")
    assert result.stdout.splitlines() == [
        "The case type has been granted. / Ärendetypen har delats ut.",
        "lab: through 2025-04-30 / till och med 2025-04-30, version 1",
    ]
    last = dt.datetime(2025, 4, 30, 23, 59, 59, tzinfo=STOCKHOLM)
    assert access.decide(TOLVAN, clinic, "lab", at=last).reason is Reason.GRANTED
    assert access.decide(TOLVAN, clinic, "lab", at=last + dt.timedelta(seconds=1)).reason is Reason.GRANT_EXPIRED


def test_grant_json_round_trips(run: Run, clinic: str) -> None:
    grant = careaccess.converter.structure(as_json(run("grant", clinic, GRETA, "lab", "--json")), Grant)
    assert grant.until is None
    assert grant.version == 1
    assert grant.name == "Greta Exempelsson"


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (["open"], 1, "case_type_not_restricted"),
        (["nope"], 1, "unknown_case_type"),
        (["lab", "--until", "2025-03-27"], 1, "end_date_in_past"),
        (["lab", "--until", "30/4"], 2, "is not a date"),
    ],
)
def test_grant_errors(run: Run, clinic: str, args: list[str], code: int, error: str) -> None:
    assert error in run("grant", clinic, TOLVAN, *args, code=code).stderr


def test_grant_twice_conflicts(run: Run, clinic: str) -> None:
    run("grant", clinic, TOLVAN, "lab")
    assert run("grant", clinic, TOLVAN, "lab", code=1).stderr.startswith("error [grant_exists]: ")


def test_change_grant(run: Run, clinic: str, access: careaccess.CareAccess) -> None:
    run("grant", clinic, TOLVAN, "lab", "--until", "2025-04-30")
    result = run("change-grant", clinic, TOLVAN, "lab", "--until-further-notice", "--expected-version", "1")
    assert result.stdout.splitlines() == [
        "The granted case type has been changed. / Den utdelade ärendetypen har ändrats.",
        "lab: until further notice / tills vidare, version 2",
    ]
    changed = as_json(run("change-grant", clinic, TOLVAN, "lab", "--until", "2025-05-31", "--json"))
    assert (changed["until"], changed["version"]) == ("2025-05-31", 3)
    stale = run("change-grant", clinic, TOLVAN, "lab", "--until", "2025-06-30", "--expected-version", "2", code=1)
    assert stale.stderr.startswith("error [version_mismatch]: ")
    assert access.decide(TOLVAN, clinic, "lab").grant is not None


@pytest.mark.parametrize("until", [[], ["--until", "2025-05-01", "--until-further-notice"]])
def test_change_grant_needs_exactly_one_end(run: Run, clinic: str, until: list[str]) -> None:
    run("grant", clinic, TOLVAN, "lab")
    result = run("change-grant", clinic, TOLVAN, "lab", *until, code=2)
    assert "exactly one of --until DATE and --until-further-notice" in result.stderr


def test_remove_grant(run: Run, clinic: str, access: careaccess.CareAccess) -> None:
    run("grant", clinic, TOLVAN, "lab")
    assert run("remove-grant", clinic, TOLVAN, "lab", "--expected-version", "2", code=1).stderr.startswith(
        "error [version_mismatch]"
    )
    result = run("remove-grant", clinic, TOLVAN, "lab")
    assert result.stdout == "The granted case type has been removed. / Ärendetypen är borttagen.\n"
    assert access.decide(TOLVAN, clinic, "lab").reason is Reason.NOT_GRANTED
    assert run("remove-grant", clinic, TOLVAN, "lab", code=1).stderr.startswith("error [grant_not_found]")


def test_show(run: Run, clinic: str, clock: Clock) -> None:
    run("approve", clinic, TOLVAN)
    run("grant", clinic, TOLVAN, "lab", "--until", "2025-03-29")
    clock.now += dt.timedelta(days=2)
    text = run("show", clinic, TOLVAN).stdout
    assert "Name / Namn: Tolvan Tolvansson" in text
    assert "Identity number / Personnummer: 19121212-1212" in text
    assert "Godkänd för kommunikation: 2025-03-28 10:00:00+01:00 CET by cli" in text
    assert "lab: through 2025-03-29 / till och med 2025-03-29, version 1 [expired / har gått ut]" in text
    data = as_json(run("show", clinic, TOLVAN, "--json"))
    assert (data["name"], data["approval"]["approved_by"], len(data["grants"])) == ("Tolvan Tolvansson", "cli", 1)


def test_show_resident_without_access(run: Run, clinic: str) -> None:
    text = run("show", clinic, GRETA).stdout
    assert "Godkänd för kommunikation: no / nej" in text
    assert "Granted case types: none / inga" in text


def test_list_pages_and_searches(run: Run, clinic: str) -> None:
    assert "Inga invånare är godkända" in run("list", clinic).stdout
    run("approve", clinic, TOLVAN)
    run("grant", clinic, GRETA, "lab")
    run("approve", clinic, NILS, "--name", "Nils Nilsson")
    first = as_json(run("list", clinic, "--limit", "2", "--json"))
    assert [item["pnr"] for item in first["items"]] == ["191212121212", NILS.replace("-", "")]
    cursor = first["next_cursor"]
    assert isinstance(cursor, str)
    text = run("list", clinic, "--limit", "2").stdout
    assert text.splitlines()[-1] == f"More: --cursor {cursor}"
    assert "19121212-1212  Tolvan Tolvansson  approved / godkänd" in text
    second = as_json(run("list", clinic, "--limit", "2", "--cursor", cursor, "--json"))
    assert [item["name"] for item in second["items"]] == ["Greta Exempelsson"]
    assert second["next_cursor"] is None
    found = run("list", clinic, "--search", "greta").stdout
    assert found.splitlines() == [f"{GRETA}  Greta Exempelsson  lab: until further notice / tills vidare, version 1"]
    assert run("list", clinic, "--cursor", "garbage", code=1).stderr.startswith("error [invalid_cursor]")
    assert "--limit" in run("list", clinic, "--limit", "0", code=2).stderr


# -- decisions, the event log and the schema -------------------------------------------


def test_decide_prints_the_reason_in_both_languages(run: Run, clinic: str) -> None:
    result = run("decide", TOLVAN, clinic, "open")  # a denial is an answer, not an error
    lines = result.stdout.splitlines()
    assert lines[0] == "DENIED / NEKAT  reason: not_approved"
    assert "Invånaren är varken godkänd för kommunikation eller folkbokförd i betjäningsområdet." in lines[1]
    granted = run("decide", GRETA, clinic, "open").stdout
    assert granted.startswith("ALLOWED / TILLÅTET  reason: service_area\n")
    assert "service-area rule: region 01 (Stockholms län), municipality 0180 (Stockholm)" in granted


def test_decide_with_residence_and_moment(run: Run, clinic: str) -> None:
    data = as_json(run("decide", NILS, clinic, "open", "--municipality", "0180", "--json"))
    decision = careaccess.converter.structure(data, Decision)
    assert decision.reason is Reason.SERVICE_AREA
    outside = as_json(run("decide", GRETA, clinic, "open", "--region", "03", "--json"))
    assert outside["reason"] == "not_approved"  # the given residence wins over the directory's
    run("grant", clinic, TOLVAN, "lab", "--until", "2025-03-30")
    at_last = run("decide", TOLVAN, clinic, "lab", "--at", "2025-03-30T23:59:59+02:00").stdout
    assert "reason: granted" in at_last
    assert "at 2025-03-30 23:59:59+02:00 CEST" in at_last
    after = as_json(run("decide", TOLVAN, clinic, "lab", "--at", "2025-03-30T22:00:00Z", "--json"))
    assert (after["allowed"], after["reason"]) == (False, "grant_expired")


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (["--at", "2025-03-30T12:00:00"], 1, "naive_datetime"),
        (["--at", "tomorrow"], 2, "is not an ISO 8601 date"),
        (["--municipality", "9999"], 2, "unknown municipality code"),
        (["--region", "01", "--municipality", "0380"], 1, "municipality_outside_region"),
    ],
)
def test_decide_errors(run: Run, clinic: str, args: list[str], code: int, error: str) -> None:
    assert error in run("decide", TOLVAN, clinic, "open", *args, code=code).stderr


def test_decide_on_unknown_facts_fails_closed(run: Run) -> None:
    assert run("decide", TOLVAN, "nope", "open").stdout.startswith("DENIED / NEKAT  reason: unknown_clinic")


def test_events(run: Run, clinic: str) -> None:
    run("approve", clinic, TOLVAN)
    run("clinic", "put", "c2", "--name", "Other")
    text = run("events").stdout.splitlines()
    assert [line.split("  ")[3] for line in text] == [
        "clinic_saved",
        "case_type_saved",
        "case_type_saved",
        "resident_approved",
        "clinic_saved",
    ]
    assert text[3].endswith("resident=19121212-****")
    assert "1212-1212" not in "\n".join(text)
    data = as_json(run("events", "--json"))
    assert data[3]["pnr"] == "19121212-****"  # the same masking as the text listing
    assert "1212-1212" not in json.dumps(data)
    full = run("events", "--full-numbers").stdout.splitlines()
    assert full[3].endswith("resident=19121212-1212")
    assert as_json(run("events", "--json", "--full-numbers"))[3]["pnr"] == "191212121212"
    after = as_json(run("events", "--after", data[1]["id"], "--limit", "2", "--json"))
    assert [e["id"] for e in after] == [data[2]["id"], data[3]["id"]]
    only_c2 = as_json(run("events", "--clinic", "c2", "--json"))
    assert [e["clinic_id"] for e in only_c2] == ["c2"]
    assert run("events", "--clinic", "nope").stdout == "No events / Inga händelser\n"


def test_db_upgrade(run: Run) -> None:
    assert run("db", "upgrade", "--store", "memory://").stdout == "memory stores have no schema\n"
    data = as_json(run("db", "upgrade", "--store", "memory://", "--json"))
    assert data == {"url": "memory://", "description": "memory stores have no schema"}
    result = run("db", "upgrade", "--store", "nosuch://x", code=1)
    assert result.stderr.startswith("error [unknown_store_scheme]: No installed plugin upgrades 'nosuch' stores")


def test_db_upgrade_without_injection_uses_the_installed_plugins() -> None:
    result = CliRunner().invoke(cli.cli, ["db", "upgrade"], env={"CAREACCESS_STORE": "memory://"})
    assert (result.exit_code, result.stdout) == (0, "memory stores have no schema\n")


# -- choosing the store ----------------------------------------------------------------


def test_the_store_url_comes_from_option_then_environment_then_default(access: careaccess.CareAccess) -> None:
    opened: list[str] = []

    def open_access(url: str) -> AbstractContextManager[careaccess.CareAccess]:
        opened.append(url)
        return nullcontext(access)

    environment = cli.Environment(open_access=open_access)
    runner = CliRunner()
    runner.invoke(cli.cli, ["events", "--store", "memory://a"], obj=environment, env={"CAREACCESS_STORE": "x://"})
    runner.invoke(cli.cli, ["events"], obj=environment, env={"CAREACCESS_STORE": "memory://b"})
    runner.invoke(cli.cli, ["events"], obj=environment, env={"CAREACCESS_STORE": None})
    assert opened == ["memory://a", "memory://b", cli.DEFAULT_STORE]


def test_without_injection_each_command_opens_its_own_store() -> None:
    runner = CliRunner()
    saved = runner.invoke(cli.cli, ["clinic", "put", "c1", "--name", "VC", "--store", "memory://"])
    assert saved.exit_code == 0
    shown = runner.invoke(cli.cli, ["clinic", "show", "c1", "--store", "memory://"])
    assert shown.exit_code == 1  # memory:// lives only as long as one command
    assert "unknown_clinic" in shown.stderr


def test_the_default_store_needs_the_sql_backend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CAREACCESS_DISABLE_PLUGINS", "*")  # as if careaccess-sql were not installed
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli.cli, ["clinic", "put", "c1", "--name", "VC"], env={"CAREACCESS_STORE": None})
    assert not Path("careaccess.db").exists()
    assert result.exit_code == 1
    assert result.stderr.startswith("error [unknown_store_scheme]: ")
    # The hint is a command that works in a careaccess checkout.
    assert "run: python3 -m pip install ./backends/sql" in result.stderr
    upgrade = runner.invoke(cli.cli, ["db", "upgrade", "--store", "redis://localhost/0"])
    assert "python3 -m pip install ./backends/redis" in upgrade.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["list", "c1"],
        ["show", "c1", TOLVAN],
        ["clinic", "show", "c1"],
        ["case-type", "list", "c1"],
        ["decide", TOLVAN, "c1", "t1"],
        ["events"],
    ],
)
def test_read_only_commands_create_no_store(args: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli.cli, args, env={"CAREACCESS_STORE": None})
    assert not Path("careaccess.db").exists()
    as_data = runner.invoke(cli.cli, [*args, "--json"], env={"CAREACCESS_STORE": "sqlite:///data/ca.db"})
    assert list(tmp_path.iterdir()) == []
    assert result.exit_code == 1
    assert result.stderr.startswith("error [store_not_found]: There is no store at sqlite:///careaccess.db; ")
    assert "careaccess db upgrade --store sqlite:///careaccess.db" in result.stderr
    assert as_json(as_data)["error"]["code"] == "store_not_found"


def test_main_is_the_console_entry_point(access: careaccess.CareAccess, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["events", "--json"], obj=cli.Environment.sharing(access))
    assert exited.value.code == 0
    assert json.loads(capsys.readouterr().out) == []
    with pytest.raises(SystemExit) as failed:
        cli.main(["clinic", "show", "nope"], obj=cli.Environment.sharing(access))
    assert failed.value.code == 1
    with pytest.raises(SystemExit) as usage:
        cli.main(["grant"])
    assert usage.value.code == 2


def test_admin_commands_persist_in_a_sqlite_store(tmp_path: Path) -> None:
    pytest.importorskip("careaccess_sql")  # the default store's backend, when installed
    runner = CliRunner()
    env = {"CAREACCESS_STORE": f"sqlite:///{tmp_path}/careaccess.db", "CAREACCESS_ACTOR": "anna"}

    def invoke(*args: str) -> Result:
        result = runner.invoke(cli.cli, list(args), env=env)
        assert result.exit_code == 0, (result.output, result.exception)
        return result

    assert invoke("db", "upgrade").stdout.strip()  # the backend's own description
    invoke("clinic", "put", "c1", "--name", "VC")
    invoke("case-type", "put", "c1", "lab", "--name", "Provsvar", "--restricted")
    invoke("grant", "c1", TOLVAN, "lab", "--until", "2999-12-31")
    decision = as_json(invoke("decide", TOLVAN, "c1", "lab", "--json"))
    assert (decision["allowed"], decision["reason"]) == (True, "granted")
    assert [e["actor_id"] for e in as_json(invoke("events", "--json"))] == ["anna"] * 3


# -- import ----------------------------------------------------------------------------


def _lines(*records: object) -> str:
    return "".join(json.dumps(careaccess.converter.unstructure(r)) + "\n" for r in records)


def _records(clinic: str, count: int) -> tuple[list[careaccess.Approval], list[Grant]]:
    when = dt.datetime(2024, 1, 2, 9, 0, tzinfo=STOCKHOLM)
    people = [careaccess.PersonalIdentityNumber.parse(make_pnr(f"1960010{day}", "123")) for day in range(1, count + 1)]
    approvals = [careaccess.Approval(clinic, p, f"Person {i}", when, "old") for i, p in enumerate(people)]
    grants = [Grant(clinic, p, "lab", dt.date(2030, 1, 1), 2, when, "old", when, None) for p in people]
    return approvals, grants


def test_import_reads_what_json_output_prints(run: Run, clinic: str, access: careaccess.CareAccess) -> None:
    approvals, grants = _records(clinic, 3)
    text = _lines(*approvals, *grants).replace(f'"clinic_id": "{clinic}", ', "", 1)  # clinic_id may be left out
    result = run("import", clinic, "-", "--json", input=text + "\n")
    assert as_json(result) == {"clinic_id": clinic, "imported": 6, "skipped": 0}
    for approval, grant in zip(approvals, grants, strict=True):
        assert access.resident_access(_admin_of(clinic), clinic, approval.pnr) == (
            careaccess.ResidentAccess(approval.pnr, approval.name, approval, (grant,))
        )
    assert [e.actor_id for e in access.events()[-6:]] == [cli.DEFAULT_ACTOR] * 6
    assert run("import", clinic, "-", input="").stdout == "0 records imported. / 0 poster har importerats.\n"


def _admin_of(clinic: str) -> careaccess.Actor:
    return careaccess.Actor("test", frozenset({clinic}))


def test_import_names_records_already_stored_and_writes_nothing(
    run: Run, clinic: str, access: careaccess.CareAccess
) -> None:
    approvals, grants = _records(clinic, 5)
    access.approve_resident(_admin_of(clinic), clinic, approvals[3].pnr)
    access.grant_case_type(_admin_of(clinic), clinic, grants[1].pnr, "lab")
    before = access.events(limit=1000)
    error = as_json(run("import", clinic, "-", "--json", input=_lines(*approvals, *grants), code=1))["error"]
    assert error["code"] == "invalid_import_file"
    assert "Line 4 (19600104-****), personnummer: The approval already exists." in error["message_en"]
    assert "Line 7 (19600102-****), case_type: The granted case type already exists." in error["message_en"]
    assert "Rad 4 (19600104-****), personnummer: Godkännandet finns redan." in error["message_sv"]
    assert access.events(limit=1000) == before


def test_import_stops_at_the_first_failing_batch(
    run: Run, clinic: str, access: careaccess.CareAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli.importing, "MAX_IMPORT", 2)
    approvals, _ = _records(clinic, 5)
    checked = cli.importing.check_against_clinic

    def check_then_race(*args: Any, **kwargs: Any) -> Any:
        found = checked(*args, **kwargs)
        # Another administrator approves a resident of the file after the check.
        access.approve_resident(_admin_of(clinic), clinic, approvals[3].pnr)
        return found

    monkeypatch.setattr(cli.importing, "check_against_clinic", check_then_race)
    before = len(access.events(limit=1000))
    result = run("import", clinic, "-", input=_lines(*approvals), code=1)
    assert result.stdout == ""
    assert result.stderr.startswith(
        "2 records were imported before this batch. / 2 poster importerades före den här omgången.\n"
    )
    assert "error [approval_exists]" in result.stderr
    assert len(access.events(limit=1000)) == before + 3  # the concurrent approval and the first batch only
    listed = {r.pnr for r in access.list_residents(_admin_of(clinic), clinic).items}
    assert listed == {approvals[0].pnr, approvals[1].pnr, approvals[3].pnr}


def test_import_refuses_a_bad_line_without_echoing_it(
    run: Run, clinic: str, access: careaccess.CareAccess, monkeypatch: pytest.MonkeyPatch
) -> None:
    approvals, _ = _records(clinic, 2)
    before = access.events(limit=1000)
    broken = _lines(approvals[0]) + '{"pnr": "196001021239", "name": 5}\n'
    error = as_json(run("import", clinic, "-", "--json", input=broken, code=1))["error"]
    assert error["code"] == "invalid_import_file"
    assert "Line 2 (19600102-****), pnr: " in error["message_en"]
    assert "Rad 2 (19600102-****), pnr: " in error["message_sv"]
    assert "1239" not in json.dumps(error)
    assert access.events(limit=1000) == before  # the bad line is found before anything is written
    # ... even when it comes after a whole batch's worth of good lines.
    monkeypatch.setattr(cli.importing, "MAX_IMPORT", 1)
    late = _lines(*approvals) + '{"pnr": "1"}\n'
    late_error = as_json(run("import", clinic, "-", "--json", input=late, code=1))["error"]
    assert (late_error["code"], late_error["message_en"].count("Line ")) == ("invalid_import_file", 1)
    assert "Line 3 (****), pnr: " in late_error["message_en"]
    assert access.events(limit=1000) == before
    shape = as_json(run("import", clinic, "-", "--json", input="[1]\n", code=1))["error"]
    assert "Line 1: A line must be one JSON object." in shape["message_en"]
