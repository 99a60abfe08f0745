"""Running a row (nothing written), finding identity numbers where they can leak, and
measuring the memory a process keeps."""

from __future__ import annotations

import datetime as dt
import gc
import logging
import re
import tracemalloc
from collections.abc import Callable, Iterable
from typing import Any

from careaccess import (
    CareAccess,
    CareAccessError,
    CaseType,
    Clinic,
    PersonalIdentityNumber,
    Reason,
    Resident,
    connect,
    hookimpl,
)
from careaccess.listing import MAX_LIMIT
from careaccess.store import ResidentQuery, Store
from careaccess.testing.clock import FrozenClock
from careaccess.testing.hostile.world import (
    ADMIN,
    APPROVED,
    CLINIC,
    NOW,
    ODD_IDS,
    OPEN,
    OTHER_CLINIC,
    RESTRICTED,
    HostileCase,
    Outcome,
    _AllowAll,
    approval,
)

# -- running a row ---------------------------------------------------------------------


def snapshot(access: CareAccess) -> tuple[Any, ...]:
    """Everything listable in the hostile world: the whole event feed, and each clinic's
    record, case types and residents (through the store, so no rule hides anything)."""
    store = access.store
    feed: list[Any] = []
    after: str | None = None
    while True:
        chunk = store.read_events(after, MAX_LIMIT, None)
        feed.extend(chunk)
        if len(chunk) < MAX_LIMIT:
            break
        after = chunk[-1].id
    state: list[Any] = [tuple(feed)]
    for clinic in (CLINIC, OTHER_CLINIC, *ODD_IDS.values()):
        state.append(store.get_clinic(clinic))
        state.append(tuple(store.list_case_types(clinic)))
        state.append(tuple(store.list_residents(ResidentQuery(clinic, MAX_LIMIT))))
    return tuple(state)


def check_case(access: CareAccess, case: HostileCase) -> None:
    """Run one row on *access* (a :func:`hostile_world`): its outcome, and nothing written.

    :raises AssertionError: naming the row, what it expected and what happened.
    """
    before = snapshot(access)
    check_outcome(access, case)
    if snapshot(access) != before:
        raise AssertionError(f"{case.id}: the store changed")


def check_outcome(access: CareAccess, case: HostileCase) -> None:
    """Run one row and check its outcome only (see :func:`check_case`)."""
    expect = case.expect
    try:
        result = case.call(access)
    except CareAccessError as error:
        if type(error) is not expect.error or error.code != expect.code:
            raise AssertionError(f"{case.id}: expected {expect}, raised {error!r}") from error
    else:
        if not _as_expected(result, expect):
            raise AssertionError(f"{case.id}: expected {expect}, returned {_short(result)}")


def _as_expected(result: Any, expect: Outcome) -> bool:
    if expect.error is not None:
        return False
    if expect.reason is not None:
        decisions = result if isinstance(result, list) else [result]
        return bool(decisions) and all(not d.allowed and d.reason is expect.reason for d in decisions)
    if isinstance(expect.value, list) and expect.value and isinstance(expect.value[0], Reason):
        return isinstance(result, list) and [(d.allowed, d.reason) for d in result] == [
            (False, r) for r in expect.value
        ]
    return bool(result == expect.value)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) < 300 else text[:300] + "…"


# -- leaks -----------------------------------------------------------------------------

#: Loggers put at DEBUG for the leak check: the library's, the drivers' and the root.
LEAK_LOGGERS = ("", "careaccess", "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "redis", "psycopg", "pymysql")


def number_forms(pnr: PersonalIdentityNumber) -> set[str]:
    """Every written form of *pnr* that identifies a person: 12 and 10 digits, with and
    without a separator (``-``, ``+``, space)."""
    twelve = pnr.digits
    ten = twelve[2:]
    forms = {twelve, ten}
    for separator in ("-", "+", " "):
        forms.add(f"{twelve[:8]}{separator}{twelve[8:]}")
        forms.add(f"{ten[:6]}{separator}{ten[6:]}")
    return forms


def assert_no_identity_number(texts: Iterable[str], people: Iterable[PersonalIdentityNumber]) -> None:
    """:raises AssertionError: naming the first text that holds a full number of *people*."""
    patterns = [
        (p, re.compile("|".join(re.escape(f) for f in sorted(number_forms(p), key=len, reverse=True)))) for p in people
    ]
    for text in texts:
        for person, pattern in patterns:
            found = pattern.search(text)
            if found is not None:
                shown = pattern.sub("<number>", text[max(0, found.start() - 80) : found.end() + 40])
                raise AssertionError(f"a full identity number ({person!r}) in: {shown!r}")


def rendered_records(records: Iterable[logging.LogRecord]) -> list[str]:
    """Each record as a handler would write it (message, arguments, traceback, stack)."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts: list[str] = []
    for record in records:
        texts.append(formatter.format(record))
        texts.append(repr(record.args))
        if record.exc_text:
            texts.append(record.exc_text)
    return texts


class _FailingNotify:
    """A notification hook that fails, its error naming the number (as a careless one would)."""

    @hookimpl
    def careaccess_notify(self, event: Any) -> None:
        raise RuntimeError(f"webhook refused event for {event.pnr.digits if event.pnr else '-'}")


class _FailingDirectory:
    """A directory hook that fails for one number, its error naming the number."""

    def __init__(self, failing: PersonalIdentityNumber) -> None:
        self.failing = failing
        #: The errors raised: the hook's own text, which reaches the caller unchanged.
        self.raised: list[BaseException] = []

    @hookimpl
    def careaccess_lookup_resident(self, pnr: PersonalIdentityNumber) -> Resident | None:
        if pnr == self.failing:
            error = ConnectionError(f"GET /population/{pnr.digits} ({pnr}) timed out")
            self.raised.append(error)
            raise error
        return Resident(pnr, "Namn Namnsson")


def leak_workflow(
    store: Store, clinic_id: str, people: list[PersonalIdentityNumber], failing: PersonalIdentityNumber
) -> list[object]:
    """A whole workflow on *store* with *people* (at least three): returns every object
    it got back or caught, for their ``repr`` to be checked; the caller checks the logs.

    *failing* is a number the directory fails for (it must not be among *people*).
    """
    directory = _FailingDirectory(failing)
    access = connect(store, plugins=[_AllowAll(), _FailingNotify(), directory], clock=FrozenClock(NOW))
    seen: list[object] = []
    first, second, third = people[:3]
    seen.append(access.put_clinic(ADMIN, Clinic(clinic_id, "Leak test")))
    seen.append(access.put_case_type(ADMIN, CaseType(clinic_id, OPEN, "Open")))
    seen.append(access.put_case_type(ADMIN, CaseType(clinic_id, RESTRICTED, "Restricted", restricted=True)))
    for index, person in enumerate(people):
        text = str(person) if index % 2 else person.digits
        seen.append(access.approve_resident(ADMIN, clinic_id, text, name=None if index == 0 else f"Person {index}"))
    seen.append(access.grant_case_type(ADMIN, clinic_id, first, RESTRICTED, NOW.date() + dt.timedelta(days=30)))
    seen.append(access.change_grant(ADMIN, clinic_id, first, RESTRICTED, None, 1))
    seen.append(access.grant_case_types(ADMIN, clinic_id, [second, third], RESTRICTED))
    page = access.list_residents(ADMIN, clinic_id, limit=1)
    seen.extend([page, page.next_cursor, *page.items])
    page = access.list_residents(ADMIN, clinic_id, limit=1, cursor=page.next_cursor)
    seen.extend([page, page.next_cursor])
    for search in (first.digits[:6], "-" + second.digits[-4:], "Person", first.digits):
        page = access.list_residents(ADMIN, clinic_id, limit=1, search=search)
        seen.extend([page, page.next_cursor])
    seen.append(access.resident_access(ADMIN, clinic_id, first))
    seen.append(access.decide(first, clinic_id, RESTRICTED))
    seen.append(access.decide(str(second), clinic_id, OPEN))
    seen.extend(access.decide_many([(p, clinic_id, RESTRICTED) for p in people]))
    seen.extend(access.events(clinic_id=clinic_id))
    seen.extend(access.events(limit=5))
    seen.append(access.revoke_approvals(ADMIN, clinic_id, [third]))
    seen.append(access.remove_grants(ADMIN, clinic_id, [(third, RESTRICTED)]))
    failures: list[Callable[[], object]] = [
        lambda: access.grant_case_type(ADMIN, clinic_id, first, RESTRICTED),  # grant_exists
        lambda: access.change_grant(ADMIN, clinic_id, first, RESTRICTED, None, 1),  # version_mismatch
        lambda: access.revoke_approval(ADMIN, clinic_id, third),  # approval_not_found
        lambda: access.approve_resident(ADMIN, clinic_id, failing),  # the directory fails
        lambda: access.approve_resident(ADMIN, clinic_id, first.digits[:-1] + str((int(first.digits[-1]) + 1) % 10)),
        lambda: access.approve_resident(ADMIN, clinic_id, first.digits, name="\x00"),
        lambda: access.list_residents(ADMIN, clinic_id, cursor=first.digits),
        lambda: access.list_residents(ADMIN, clinic_id, search=first.digits + "\x00"),
        lambda: access.events(after=first.digits),
        lambda: access.decide(first.digits, clinic_id + "\x00", OPEN),
        lambda: access.decide(first.digits, clinic_id, OPEN, at=dt.datetime(2026, 1, 1)),  # noqa: DTZ001
        lambda: access.import_residents(ADMIN, clinic_id, [approval(clinic_id, first)]),
        lambda: access.put_clinic(ADMIN, Clinic(first.digits + "\x00", "x")),
    ]
    for fail in failures:
        try:
            seen.append(fail())
        except Exception as error:  # every error is checked, whatever its class
            if not any(error is raised for raised in directory.raised):
                seen.extend([error, str(error)])
    return seen


# -- memory ----------------------------------------------------------------------------

#: The size of each unique id the memory check sends: far past every limit.
BIG_ID_LENGTH = 200_000


def retained_bytes(access: CareAccess, calls: int, call: Callable[[CareAccess, str], object]) -> int:
    """How many bytes more the process holds (``tracemalloc``) after *calls* calls of
    *call* with a unique :data:`BIG_ID_LENGTH`-character id each, than after a warm-up."""

    def run(start: int, count: int) -> None:
        for index in range(start, start + count):
            call(access, f"{index:010d}".ljust(BIG_ID_LENGTH, "x"))

    run(0, 50)
    gc.collect()
    tracemalloc.start()
    try:
        run(50, 50)
        gc.collect()
        baseline, _ = tracemalloc.get_traced_memory()
        run(100, calls)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return after - baseline


#: What the memory check calls with each big id (all fail closed or find nothing).
MEMORY_CALLS: dict[str, Callable[[CareAccess, str], object]] = {
    "decide-clinic": lambda s, big: s.decide(APPROVED, big, OPEN),
    "decide-case-type": lambda s, big: s.decide(APPROVED, CLINIC, big),
    "clinic": lambda s, big: s.clinic(big),
    "case_types": lambda s, big: s.case_types(big),
    "events-clinic": lambda s, big: s.events(clinic_id=big),
}
#: Retained after 10,000 calls: a wide margin over noise, far below one id kept per call
#: (10,000 x 200 kB = 2 GB; 40 ids kept would already pass this bound).
RETAINED_BOUND = 8_000_000
