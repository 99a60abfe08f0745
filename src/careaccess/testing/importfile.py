"""Checks of ``careaccess import`` on a real store: a resumed run and ``--skip-existing``
end where one clean run ends.

Any store's test suite runs them with a factory of services on that store (each check
uses clinics of its own, so the services may share one store)::

    def test_resumed_import(open_access):
        check_resumed_import_matches_a_clean_one(open_access)

Both write a CSV file of approvals and grants through the command line into two
clinics: one clean run, and one run that a failure stops after its first batch, then
``--resume`` (or records already stored, then ``--skip-existing``). The final resident
lists must be equal (names, case types, end dates) and every record must have exactly
one event, as after the clean run.

.. versionadded:: 0.2
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from click.testing import CliRunner

from careaccess.cli import Environment, cli
from careaccess.cli import importing as import_command
from careaccess.errors import StoreUnavailable
from careaccess.identity import PersonalIdentityNumber, luhn_check_digit
from careaccess.models import Actor, CaseType, Clinic
from careaccess.service import CareAccess
from careaccess.store import Changeset

__all__ = ["check_import_skips_existing_records", "check_resumed_import_matches_a_clean_one"]

CLEAN, RESUMED, SKIPPING = "vc-import-clean", "vc-import-resumed", "vc-import-skipping"
_ADMIN = Actor("import-check", frozenset({CLEAN, RESUMED, SKIPPING}))
OpenAccess = Callable[[], CareAccess]


def _person(serial: int) -> str:
    return f"19700101-{serial:03d}{luhn_check_digit(f'700101{serial:03d}')}"


def csv_file(count: int = 12) -> str:
    """*count* residents: every one approved, every third also granted ``kbt`` (until a date or further notice)."""
    rows = ["personnummer,name,case_type,until"]
    for n in range(count):
        pnr = _person(2 + 2 * n)
        rows.append(f"{pnr},Invånare {n},,")
        if n % 3 == 0:
            rows.append(f"{pnr},Invånare {n},kbt,{'2030-06-30' if n % 2 else ''}")
    return "\n".join(rows) + "\n"


def _prepare(access: CareAccess, clinic: str) -> None:
    access.put_clinic(_ADMIN, Clinic(clinic, "Vårdcentralen Import"))
    access.put_case_type(_ADMIN, CaseType(clinic, "kbt", "KBT", restricted=True))


def _run(access: CareAccess, clinic: str, *args: str, text: str) -> Any:
    return CliRunner().invoke(
        cli,
        ["import", clinic, "-", "--format", "csv", "--actor", _ADMIN.id, *args],
        obj=Environment.sharing(access),
        input=text,
    )


def final_state(access: CareAccess, clinic: str) -> tuple[list[tuple[Any, ...]], Counter[tuple[str, str, str | None]]]:
    """The clinic's residents (without times) and how many events each record has."""
    listed = []
    cursor = None
    while True:
        page = access.list_residents(_ADMIN, clinic, 100, cursor)
        for item in page.items:
            approval = None if item.approval is None else item.approval.name
            grants = tuple((g.case_type_id, g.until, g.name) for g in item.grants)
            listed.append((item.pnr.digits, approval, grants))
        cursor = page.next_cursor
        if cursor is None:
            break
    events = Counter(
        (e.action.value, e.pnr.digits if e.pnr else "", e.case_type_id)
        for e in access.events(limit=1000, clinic_id=clinic)
        if e.pnr is not None
    )
    return listed, events


@contextmanager
def _failing_after(access: CareAccess, changesets: int) -> Iterator[None]:
    """The store refuses (as unreachable) every changeset after the first *changesets*."""
    store = access.store
    real = store.apply
    count = 0

    def apply(changeset: Changeset) -> Any:
        nonlocal count
        count += 1
        if count > changesets:
            raise StoreUnavailable("store_unavailable", "The store went away.", "Lagringen försvann.")
        return real(changeset)

    store.apply = apply  # type: ignore[method-assign]
    try:
        yield
    finally:
        store.apply = real  # type: ignore[method-assign]


def check_resumed_import_matches_a_clean_one(open_access: OpenAccess, *, batch: int = 5) -> None:
    """A run stopped after its first batch, then ``--resume``: the clean run's state and events."""
    text = csv_file()
    original = import_command.MAX_IMPORT
    import_command.MAX_IMPORT = batch
    try:
        with open_access() as clean:
            _prepare(clean, CLEAN)
            assert _run(clean, CLEAN, text=text).exit_code == 0
            expected = final_state(clean, CLEAN)
        with open_access() as interrupted:
            _prepare(interrupted, RESUMED)
            with _failing_after(interrupted, 1):
                stopped = _run(interrupted, RESUMED, text=text)
            assert stopped.exit_code == 1, stopped.output
            assert final_state(interrupted, RESUMED) != expected, "the first run should have stopped halfway"
            again = _run(interrupted, RESUMED, text=text)
            assert again.exit_code == 1, "a rerun without --resume refuses what is stored"
            resumed = _run(interrupted, RESUMED, "--resume", text=text)
            assert resumed.exit_code == 0, resumed.output
            assert final_state(interrupted, RESUMED) == expected
            finished = _run(interrupted, RESUMED, "--resume", text=text)
            assert finished.exit_code == 0, "resuming a finished import is harmless"
            assert final_state(interrupted, RESUMED) == expected
    finally:
        import_command.MAX_IMPORT = original


def check_import_skips_existing_records(open_access: OpenAccess) -> None:
    """Records stored before (other names, other end dates) are skipped with ``--skip-existing``, kept as they were."""
    text = csv_file()
    with open_access() as access:
        _prepare(access, SKIPPING)
        first, third = PersonalIdentityNumber.parse(_person(2)), PersonalIdentityNumber.parse(_person(8))
        access.approve_resident(_ADMIN, SKIPPING, first, name="Redan Godkänd")
        access.grant_case_type(_ADMIN, SKIPPING, third, "kbt", dt.date(2029, 1, 1), name="Redan Utdelad")
        refused = _run(access, SKIPPING, text=text)
        assert refused.exit_code == 1
        assert _run(access, SKIPPING, "--resume", text=text).exit_code == 1, "other content is not a resumed run's"
        done = _run(access, SKIPPING, "--skip-existing", text=text)
        assert done.exit_code == 0, done.output
        listed, events = final_state(access, SKIPPING)
        held = {digits: (name, grants) for digits, name, grants in listed}
        assert held[first.digits][0] == "Redan Godkänd"
        assert held[third.digits][1] == (("kbt", dt.date(2029, 1, 1), "Redan Utdelad"),)
        assert all(count == 1 for count in events.values()), events
        assert len(listed) == 12
