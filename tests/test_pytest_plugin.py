"""The pytest plugin's fixtures and options, run in throwaway projects with pytester."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]

PLUGIN = "careaccess.testing.pytest_plugin"


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # The plugin is named explicitly, so the run is the same whether or not its entry point is installed.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return pytester


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest("-p", PLUGIN, "-W", "error", "-p", "no:cacheprovider", *args)


def test_fixtures_give_a_connected_service_a_movable_clock_and_an_administered_clinic(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        """
        import datetime as dt
        import pytest
        from careaccess import Actor, CareAccess, CaseType, PermissionDenied, Reason
        from careaccess.memory import MemoryStore
        from careaccess.testing.clock import FrozenClock
        from careaccess.testing.pytest_plugin import START

        def test_everything(careaccess_url, careaccess_access, careaccess_clock, careaccess_clinic, careaccess_actor):
            assert careaccess_url == "memory://"
            assert isinstance(careaccess_access, CareAccess)
            assert isinstance(careaccess_access.store, MemoryStore)
            assert isinstance(careaccess_clock, FrozenClock)
            assert careaccess_access.now() == START
            careaccess_clock.advance(days=2)
            assert careaccess_access.now() == START + dt.timedelta(days=2)
            assert careaccess_access.clinic(careaccess_clinic.id) == careaccess_clinic
            assert careaccess_actor.clinics == frozenset({careaccess_clinic.id})
            careaccess_access.put_case_type(careaccess_actor, CaseType(careaccess_clinic.id, "t", "Fråga"))
            careaccess_access.approve_resident(careaccess_actor, careaccess_clinic.id, "121212-1212")
            assert careaccess_access.decide("121212-1212", careaccess_clinic.id, "t").reason is Reason.APPROVED
            outsider = Actor("other", frozenset({"x"}))
            with pytest.raises(PermissionDenied):
                careaccess_access.put_case_type(outsider, CaseType(careaccess_clinic.id, "u", "U"))

        SEEN = []

        @pytest.mark.parametrize("round", [1, 2])
        def test_each_test_gets_a_new_clinic_and_store(careaccess_access, careaccess_clinic, round):
            SEEN.append(careaccess_clinic.id)
            assert len(set(SEEN)) == len(SEEN)
            assert [e.clinic_id for e in careaccess_access.events()] == [careaccess_clinic.id]
        """
    )
    run(project).assert_outcomes(passed=3)


def test_the_directory_fixture_feeds_lookups(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        from careaccess import PersonalIdentityNumber, Residence, Resident

        def test_lookup(careaccess_access, careaccess_directory, careaccess_clinic, careaccess_actor):
            pnr = PersonalIdentityNumber.parse("121212-1212")
            careaccess_directory.add(Resident(pnr, "Tolvan Tolvansson", Residence("01", "0180")))
            assert careaccess_access.lookup_resident(pnr).name == "Tolvan Tolvansson"
            approval = careaccess_access.approve_resident(careaccess_actor, careaccess_clinic.id, pnr)
            assert approval.name == "Tolvan Tolvansson"
        """
    )
    run(project).assert_outcomes(passed=1)


URL_TEST = """
def test_url(careaccess_url, careaccess_access):
    assert careaccess_url == {expected!r}
    assert careaccess_access.events() == []
"""


def test_the_command_line_option_chooses_the_url(project: pytest.Pytester) -> None:
    project.makepyfile(URL_TEST.format(expected="memory://from-the-command-line"))
    run(project, "--careaccess-url=memory://from-the-command-line").assert_outcomes(passed=1)


def test_the_ini_option_chooses_the_url_and_the_command_line_wins(project: pytest.Pytester) -> None:
    project.makeini("[pytest]\ncareaccess_url = memory://from-the-ini-file\n")
    project.makepyfile(URL_TEST.format(expected="memory://from-the-ini-file"))
    run(project).assert_outcomes(passed=1)
    project.makepyfile(URL_TEST.format(expected="memory://from-the-command-line"))
    run(project, "--careaccess-url", "memory://from-the-command-line").assert_outcomes(passed=1)


def test_the_help_lists_the_option(project: pytest.Pytester) -> None:
    run(project, "--help").stdout.fnmatch_lines(["*careaccess*", "*--careaccess-url=URL*"])


def test_a_project_overrides_url_and_plugins_with_fixtures_and_the_store_is_closed(
    project: pytest.Pytester,
) -> None:
    project.makeconftest(
        """
        import pathlib
        import pytest
        from careaccess import hookimpl
        from careaccess.memory import MemoryStore

        class ClosingStore(MemoryStore):
            def close(self):
                with pathlib.Path("closed.txt").open("a") as log:
                    log.write("closed\\n")

        class Opener:
            @hookimpl
            def careaccess_open_store(self, url):
                return ClosingStore() if url == "closing://" else None

        @pytest.fixture
        def careaccess_url():
            return "closing://"

        @pytest.fixture
        def careaccess_plugins(careaccess_directory):
            return [careaccess_directory, Opener()]
        """
    )
    project.makepyfile(
        """
        def test_one(careaccess_access, careaccess_clinic):
            assert type(careaccess_access.store).__name__ == "ClosingStore"

        def test_two(careaccess_access):
            assert type(careaccess_access.store).__name__ == "ClosingStore"
        """
    )
    run(project).assert_outcomes(passed=2)
    assert (project.path / "closed.txt").read_text() == "closed\n" * 2


def test_importing_the_plugin_leaves_out_hypothesis_and_the_test_suites() -> None:
    code = (
        f"import sys, {PLUGIN}\n"
        "heavy = {'hypothesis', 'careaccess.testing.conformance', 'careaccess.testing.strategies'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout  # noqa: S603
    assert output.strip() == "[]"
