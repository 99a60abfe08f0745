"""A random local-administrator workload on shared residents, and the checks run after it.

Run as a script by the multi-process test: ``python sql_workload.py URL SEED OPERATIONS``
prints a JSON object counting, per action, the changes that succeeded.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from collections import Counter
from typing import Any

import careaccess
from careaccess import Action, Actor, CareAccess, CaseType, Clinic, Conflict, NotFound, StoreUnavailable
from careaccess.serialization import converter
from careaccess.testing.conformance import make_pnr

CLINIC = "vc-race"
CASE_TYPES = ("restr-a", "restr-b")
ADMIN = Actor("racer", frozenset({CLINIC}))
RESIDENTS = tuple(make_pnr(f"19{60 + i:02d}0303", 300 + i) for i in range(6))


def set_up(access: CareAccess) -> None:
    """The clinic and its restricted case types."""
    access.put_clinic(ADMIN, Clinic(CLINIC, "Vårdcentralen Kapplöpning"))
    for case_type in CASE_TYPES:
        access.put_case_type(ADMIN, CaseType(CLINIC, case_type, case_type, restricted=True))


def one_change(access: CareAccess, rng: random.Random) -> Action:
    """Make one random change on a shared resident; returns its action, or raises."""
    person = rng.choice(RESIDENTS)
    case_type = rng.choice(CASE_TYPES)
    until = None if rng.random() < 0.3 else access.today() + dt.timedelta(days=rng.randrange(1, 400))
    choice = rng.randrange(5)
    if choice == 0:
        access.approve_resident(ADMIN, CLINIC, person, name=f"Invånare {person.birth_date.year}")
        return Action.RESIDENT_APPROVED  # or it already was: approving is idempotent
    if choice == 1:
        access.revoke_approval(ADMIN, CLINIC, person)
        return Action.APPROVAL_REVOKED
    if choice == 2:
        access.grant_case_type(ADMIN, CLINIC, person, case_type, until)
        return Action.CASE_TYPE_GRANTED
    current = next(
        (g for g in access.resident_access(ADMIN, CLINIC, person).grants if g.case_type_id == case_type), None
    )
    version = None if current is None else current.version
    if choice == 3:
        access.change_grant(ADMIN, CLINIC, person, case_type, until, expected_version=version)
        return Action.GRANT_CHANGED
    access.remove_grant(ADMIN, CLINIC, person, case_type, expected_version=version)
    return Action.GRANT_REMOVED


def run(url: str, seed: int, operations: int) -> dict[str, int]:
    """Apply *operations* random changes; count outcomes by action (and refusals by kind)."""
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    with careaccess.connect(url) as access:
        for _ in range(operations):
            try:
                counts[one_change(access, rng).value] += 1
            except (Conflict, NotFound):
                counts["refused"] += 1
            except StoreUnavailable:
                counts["unavailable"] += 1
    return dict(counts)


def _record(data: Any) -> Any:
    return None if data is None else dict(data)


def replay(events: list[careaccess.Event]) -> tuple[dict[tuple[str, str], Any], dict[tuple[str, str, str], Any]]:
    """The approvals and grants the feed implies, checking each event against the state before it.

    What the changesets guarantee is checked: an approval or grant is created only where
    none is, revoked only where one is, and a grant changed or removed only from its
    current version. (``before`` is the record the service read, which can be an earlier
    record under the same key and version after a revoke-and-approve or remove-and-grant
    by someone else in between, so it is not compared in full.)
    """
    approvals: dict[tuple[str, str], Any] = {}
    grants: dict[tuple[str, str, str], Any] = {}
    for event in events:
        if event.pnr is None:
            continue
        if event.action in (Action.RESIDENT_APPROVED, Action.APPROVAL_REVOKED):
            key = (event.clinic_id, event.pnr.digits)
            current = approvals.get(key)
            assert (current is None) == (event.action is Action.RESIDENT_APPROVED), f"event {event.id} out of order"
            approvals[key] = _record(event.after)
            continue
        assert event.case_type_id is not None
        grant_key = (event.clinic_id, event.pnr.digits, event.case_type_id)
        held = grants.get(grant_key)
        if event.action is Action.CASE_TYPE_GRANTED:
            assert held is None, f"event {event.id} grants a held case type"
            assert event.after is not None
            assert event.after["version"] == 1
        else:
            assert held is not None, f"event {event.id} changes a missing grant"
            assert event.before is not None
            assert event.before["version"] == held["version"], f"event {event.id} lost an update"
            if event.after is not None:
                assert event.after["version"] == held["version"] + 1
        grants[grant_key] = _record(event.after)
    return (
        {k: v for k, v in approvals.items() if v is not None},
        {k: v for k, v in grants.items() if v is not None},
    )


def stored(access: CareAccess) -> tuple[dict[tuple[str, str], Any], dict[tuple[str, str, str], Any]]:
    """The approvals and grants in the store, shaped like :func:`replay`'s."""
    approvals: dict[tuple[str, str], Any] = {}
    grants: dict[tuple[str, str, str], Any] = {}
    for listed in access.store.list_residents(careaccess.store.ResidentQuery(CLINIC, 1000)):
        if listed.approval is not None:
            data = converter.unstructure(listed.approval)
            data.pop("pnr")
            approvals[(CLINIC, listed.pnr.digits)] = data
        for grant in listed.grants:
            data = converter.unstructure(grant)
            data.pop("pnr")
            grants[(CLINIC, listed.pnr.digits, grant.case_type_id)] = data
    return approvals, grants


def check_feed_matches_state(access: CareAccess) -> list[careaccess.Event]:
    """Every event follows the one before it, ids run 1, 2, 3, ... and the feed implies the stored state."""
    events: list[careaccess.Event] = []
    after: str | None = None
    while batch := access.events(after=after, limit=1000):
        events.extend(batch)
        after = batch[-1].id
    assert [e.id for e in events] == [f"{n:016d}" for n in range(1, len(events) + 1)]
    assert replay(events) == stored(access)
    return events


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
