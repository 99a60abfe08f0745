"""The table: every public method of :class:`~careaccess.CareAccess` with every kind of
hostile input, and the one outcome every store must give."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

from careaccess import (
    Actor,
    Approval,
    CaseType,
    Clinic,
    Conflict,
    InvalidIdentityNumber,
    InvalidRequest,
    NotFound,
    Reason,
)
from careaccess.store import MAX_BULK, MAX_IMPORT, MAX_VERSION
from careaccess.testing.hostile.world import (
    _INVALID_ID,
    _INVALID_NAME,
    ADMIN,
    APPROVED,
    BAD_EVENT_CURSORS,
    BAD_IDS,
    BAD_LIMITS,
    BAD_NAMES,
    BAD_NUMBERS,
    BAD_SEARCHES,
    BAD_VERSIONS,
    CLINIC,
    EMPTY_SEARCHES,
    FAR_FUTURE,
    FAR_PAST,
    GRANTED,
    NOW,
    ODD_IDS,
    OPEN,
    OTHER_CLINIC,
    RESTRICTED,
    STRANGER,
    HostileCase,
    Outcome,
    _foreign_cursors,
    approval,
    endless,
    foreign_cursor_labels,
    grant,
    listed,
    raises,
    refused,
    returns,
    verdict,
)
from careaccess.validation import MAX_DECIDE_MANY


def hostile_cases() -> list[HostileCase]:  # noqa: PLR0912, PLR0915 - one table, read top to bottom
    """The table: every row must give its outcome on every store, writing nothing.

    Rows needing a cursor made by the store itself build it when called.
    """
    cases: list[HostileCase] = []

    def add(method: str, label: str, call: Callable[..., object], expect: Outcome) -> None:
        cases.append(HostileCase(method, label, call, expect))

    a = ADMIN
    for label, bad in BAD_IDS.items():
        add("put_clinic", f"id-{label}", lambda s, v=bad: s.put_clinic(a, Clinic(v, "Namn")), _INVALID_ID)
        add(
            "put_case_type",
            f"clinic-{label}",
            lambda s, v=bad: s.put_case_type(a, CaseType(v, OPEN, "Namn")),
            _INVALID_ID,
        )
        add(
            "put_case_type",
            f"id-{label}",
            lambda s, v=bad: s.put_case_type(a, CaseType(CLINIC, v, "Namn")),
            _INVALID_ID,
        )
        add("remove_case_type", f"clinic-{label}", lambda s, v=bad: s.remove_case_type(a, v, OPEN), _INVALID_ID)
        add("remove_case_type", f"id-{label}", lambda s, v=bad: s.remove_case_type(a, CLINIC, v), _INVALID_ID)
        add("approve_resident", label, lambda s, v=bad: s.approve_resident(a, v, STRANGER, name="N"), _INVALID_ID)
        add("revoke_approval", label, lambda s, v=bad: s.revoke_approval(a, v, APPROVED), _INVALID_ID)
        add(
            "grant_case_type",
            f"clinic-{label}",
            lambda s, v=bad: s.grant_case_type(a, v, APPROVED, RESTRICTED),
            _INVALID_ID,
        )
        add("grant_case_type", f"id-{label}", lambda s, v=bad: s.grant_case_type(a, CLINIC, APPROVED, v), _INVALID_ID)
        add(
            "change_grant",
            f"clinic-{label}",
            lambda s, v=bad: s.change_grant(a, v, GRANTED, RESTRICTED, None),
            _INVALID_ID,
        )
        add("change_grant", f"id-{label}", lambda s, v=bad: s.change_grant(a, CLINIC, GRANTED, v, None), _INVALID_ID)
        add("remove_grant", f"clinic-{label}", lambda s, v=bad: s.remove_grant(a, v, GRANTED, RESTRICTED), _INVALID_ID)
        add("remove_grant", f"id-{label}", lambda s, v=bad: s.remove_grant(a, CLINIC, GRANTED, v), _INVALID_ID)
        add("import_residents", label, lambda s, v=bad: s.import_residents(a, v, ()), _INVALID_ID)
        add("revoke_approvals", label, lambda s, v=bad: s.revoke_approvals(a, v, [APPROVED]), _INVALID_ID)
        add(
            "remove_grants",
            f"clinic-{label}",
            lambda s, v=bad: s.remove_grants(a, v, [(GRANTED, RESTRICTED)]),
            _INVALID_ID,
        )
        add("remove_grants", f"id-{label}", lambda s, v=bad: s.remove_grants(a, CLINIC, [(GRANTED, v)]), _INVALID_ID)
        add(
            "grant_case_types",
            f"clinic-{label}",
            lambda s, v=bad: s.grant_case_types(a, v, [APPROVED], RESTRICTED),
            _INVALID_ID,
        )
        add(
            "grant_case_types",
            f"id-{label}",
            lambda s, v=bad: s.grant_case_types(a, CLINIC, [APPROVED], v),
            _INVALID_ID,
        )
        add("resident_access", label, lambda s, v=bad: s.resident_access(a, v, APPROVED), _INVALID_ID)
        add("list_residents", label, lambda s, v=bad: s.list_residents(a, v), _INVALID_ID)
        add("decide", f"clinic-{label}", lambda s, v=bad: s.decide(APPROVED, v, OPEN), refused(Reason.UNKNOWN_CLINIC))
        add("decide", f"id-{label}", lambda s, v=bad: s.decide(APPROVED, CLINIC, v), refused(Reason.UNKNOWN_CASE_TYPE))
        add(
            "decide",
            f"both-{label}",
            lambda s, v=bad: s.decide(APPROVED, v, v),
            refused(Reason.UNKNOWN_CLINIC),
        )
        add(
            "decide_many",
            f"clinic-{label}",
            lambda s, v=bad: s.decide_many([(APPROVED, v, OPEN), (GRANTED, v, RESTRICTED)]),
            refused(Reason.UNKNOWN_CLINIC),
        )
        add(
            "decide_many",
            f"id-{label}",
            lambda s, v=bad: s.decide_many([(APPROVED, CLINIC, v)]),
            refused(Reason.UNKNOWN_CASE_TYPE),
        )
        if bad is not None:  # None: every clinic's events
            add("events", f"clinic-{label}", lambda s, v=bad: s.events(clinic_id=v), returns([]))
        add("clinic", label, lambda s, v=bad: s.clinic(v), returns(None))
        add("case_types", label, lambda s, v=bad: s.case_types(v), returns([]))

    for label, odd in ODD_IDS.items():
        unknown_clinic = raises(NotFound, "unknown_clinic")
        add(
            "put_case_type",
            f"unknown-clinic-{label}",
            lambda s, v=odd: s.put_case_type(a, CaseType(v, OPEN, "N")),
            unknown_clinic,
        )
        add(
            "remove_case_type",
            f"unknown-clinic-{label}",
            lambda s, v=odd: s.remove_case_type(a, v, OPEN),
            unknown_clinic,
        )
        add(
            "remove_case_type",
            f"unknown-{label}",
            lambda s, v=odd: s.remove_case_type(a, CLINIC, v),
            raises(NotFound, "unknown_case_type"),
        )
        add(
            "approve_resident",
            f"unknown-{label}",
            lambda s, v=odd: s.approve_resident(a, v, STRANGER, name="N"),
            unknown_clinic,
        )
        add(
            "revoke_approval",
            f"unknown-{label}",
            lambda s, v=odd: s.revoke_approval(a, v, APPROVED),
            raises(NotFound, "approval_not_found"),
        )
        add(
            "grant_case_type",
            f"unknown-clinic-{label}",
            lambda s, v=odd: s.grant_case_type(a, v, APPROVED, RESTRICTED),
            unknown_clinic,
        )
        add(
            "grant_case_type",
            f"unknown-{label}",
            lambda s, v=odd: s.grant_case_type(a, CLINIC, APPROVED, v),
            raises(NotFound, "unknown_case_type"),
        )
        add(
            "change_grant",
            f"unknown-{label}",
            lambda s, v=odd: s.change_grant(a, CLINIC, GRANTED, v, None),
            raises(NotFound, "grant_not_found"),
        )
        add(
            "remove_grant",
            f"unknown-{label}",
            lambda s, v=odd: s.remove_grant(a, v, GRANTED, RESTRICTED),
            raises(NotFound, "grant_not_found"),
        )
        add(
            "import_residents",
            f"unknown-{label}",
            lambda s, v=odd: s.import_residents(a, v, [approval(v, STRANGER)]),
            unknown_clinic,
        )
        add(
            "revoke_approvals",
            f"unknown-{label}",
            lambda s, v=odd: s.revoke_approvals(a, v, [APPROVED]),
            unknown_clinic,
        )
        add(
            "remove_grants",
            f"unknown-{label}",
            lambda s, v=odd: s.remove_grants(a, v, [(GRANTED, RESTRICTED)]),
            unknown_clinic,
        )
        add(
            "grant_case_types",
            f"unknown-{label}",
            lambda s, v=odd: s.grant_case_types(a, v, [APPROVED], RESTRICTED),
            unknown_clinic,
        )
        add("resident_access", f"unknown-{label}", lambda s, v=odd: s.resident_access(a, v, APPROVED), unknown_clinic)
        add("list_residents", f"unknown-{label}", lambda s, v=odd: s.list_residents(a, v), unknown_clinic)
        add(
            "decide",
            f"unknown-clinic-{label}",
            lambda s, v=odd: s.decide(APPROVED, v, OPEN),
            refused(Reason.UNKNOWN_CLINIC),
        )
        add(
            "decide",
            f"unknown-{label}",
            lambda s, v=odd: s.decide(APPROVED, CLINIC, v),
            refused(Reason.UNKNOWN_CASE_TYPE),
        )
        add(
            "decide_many",
            f"unknown-{label}",
            lambda s, v=odd: s.decide_many([(APPROVED, v, OPEN), (APPROVED, CLINIC, v)] * 2),
            Outcome(value=[Reason.UNKNOWN_CLINIC, Reason.UNKNOWN_CASE_TYPE] * 2),
        )
        add("events", f"unknown-{label}", lambda s, v=odd: s.events(clinic_id=v), returns([]))
        add("clinic", f"unknown-{label}", lambda s, v=odd: s.clinic(v), returns(None))
        add("case_types", f"unknown-{label}", lambda s, v=odd: s.case_types(v), returns([]))

    for label, bad in BAD_NAMES.items():
        add("put_clinic", f"name-{label}", lambda s, v=bad: s.put_clinic(a, Clinic(CLINIC, v)), _INVALID_NAME)
        add(
            "put_case_type",
            f"name-{label}",
            lambda s, v=bad: s.put_case_type(a, CaseType(CLINIC, OPEN, v)),
            _INVALID_NAME,
        )
        add(
            "approve_resident",
            f"name-{label}",
            lambda s, v=bad: s.approve_resident(a, CLINIC, STRANGER, name=v),
            _INVALID_NAME,
        )
        add(
            "grant_case_type",
            f"name-{label}",
            lambda s, v=bad: s.grant_case_type(a, CLINIC, APPROVED, RESTRICTED, name=v),
            _INVALID_NAME,
        )
        import_code = "invalid_record" if not isinstance(bad, str) else "invalid_name"
        add(
            "import_residents",
            f"name-{label}",
            lambda s, v=bad: s.import_residents(a, CLINIC, [approval(CLINIC, STRANGER, name=v)]),
            raises(InvalidRequest, import_code),
        )
    for label in ("None", "empty"):
        add(
            "put_clinic",
            f"name-{label}",
            lambda s, v=None if label == "None" else "": s.put_clinic(a, Clinic(CLINIC, v)),
            _INVALID_NAME,
        )

    for label, bad in BAD_SEARCHES.items():
        add(
            "list_residents",
            f"search-{label}",
            lambda s, v=bad: s.list_residents(a, CLINIC, search=v),
            raises(InvalidRequest, "invalid_search"),
        )
    for label, text in EMPTY_SEARCHES.items():
        add(
            "list_residents",
            f"search-{label}",
            lambda s, v=text: listed(s.list_residents(a, CLINIC, search=v)),
            returns([]),
        )

    for label, (bad, code) in BAD_NUMBERS.items():
        refusal = raises(InvalidIdentityNumber, code)
        add("approve_resident", f"pnr-{label}", lambda s, v=bad: s.approve_resident(a, CLINIC, v, name="N"), refusal)
        add("revoke_approval", f"pnr-{label}", lambda s, v=bad: s.revoke_approval(a, CLINIC, v), refusal)
        add("grant_case_type", f"pnr-{label}", lambda s, v=bad: s.grant_case_type(a, CLINIC, v, RESTRICTED), refusal)
        add("change_grant", f"pnr-{label}", lambda s, v=bad: s.change_grant(a, CLINIC, v, RESTRICTED, None), refusal)
        add("remove_grant", f"pnr-{label}", lambda s, v=bad: s.remove_grant(a, CLINIC, v, RESTRICTED), refusal)
        add("revoke_approvals", f"pnr-{label}", lambda s, v=bad: s.revoke_approvals(a, CLINIC, [APPROVED, v]), refusal)
        add(
            "remove_grants",
            f"pnr-{label}",
            lambda s, v=bad: s.remove_grants(a, CLINIC, [(GRANTED, RESTRICTED), (v, RESTRICTED)]),
            refusal,
        )
        add(
            "grant_case_types",
            f"pnr-{label}",
            lambda s, v=bad: s.grant_case_types(a, CLINIC, [STRANGER, v], RESTRICTED),
            refusal,
        )
        add("resident_access", f"pnr-{label}", lambda s, v=bad: s.resident_access(a, CLINIC, v), refusal)
        add("decide", f"pnr-{label}", lambda s, v=bad: s.decide(v, CLINIC, OPEN), refusal)
        add(
            "decide_many",
            f"pnr-{label}",
            lambda s, v=bad: s.decide_many([(APPROVED, CLINIC, OPEN), (v, CLINIC, OPEN)]),
            refusal,
        )
        add("lookup_resident", f"pnr-{label}", lambda s, v=bad: s.lookup_resident(v), refusal)

    naive = dt.datetime(2026, 1, 15, 9, 30)  # noqa: DTZ001 - the point of the row
    naive_refusal = raises(InvalidRequest, "naive_datetime")
    add("decide", "at-naive", lambda s: s.decide(APPROVED, CLINIC, OPEN, at=naive), naive_refusal)
    add("decide_many", "at-naive", lambda s: s.decide_many([(APPROVED, CLINIC, OPEN)], at=naive), naive_refusal)
    add("decide", "at-date", lambda s: s.decide(APPROVED, CLINIC, OPEN, at=dt.date(2026, 1, 15)), naive_refusal)
    add("decide", "at-text", lambda s: s.decide(APPROVED, CLINIC, OPEN, at="2026-01-15T09:30Z"), naive_refusal)
    add(
        "decide",
        "text-pnr-at-year-1",
        lambda s: s.decide(str(APPROVED), CLINIC, OPEN, at=FAR_PAST),
        raises(InvalidIdentityNumber, "pnr_future_birth_date"),
    )
    for label, moment in (("year-1", FAR_PAST), ("9999-12-31T23:30Z", FAR_FUTURE)):
        approved = returns((True, Reason.APPROVED))
        add("decide", f"at-{label}", lambda s, m=moment: verdict(s.decide(APPROVED, CLINIC, OPEN, at=m)), approved)
        add(
            "decide",
            f"granted-at-{label}",
            lambda s, m=moment: verdict(s.decide(GRANTED, CLINIC, RESTRICTED, at=m)),
            returns((True, Reason.GRANTED)),
        )
        add(
            "decide",
            f"not-granted-at-{label}",
            lambda s, m=moment: verdict(s.decide(APPROVED, CLINIC, RESTRICTED, at=m)),
            returns((False, Reason.NOT_GRANTED)),
        )
        add(
            "decide_many",
            f"at-{label}",
            lambda s, m=moment: [verdict(d) for d in s.decide_many([(APPROVED, CLINIC, OPEN)], at=m)],
            returns([(True, Reason.APPROVED)]),
        )
    add(
        "decide",
        "text-pnr-at-9999-12-31T23:30Z",
        lambda s: verdict(s.decide(str(APPROVED), CLINIC, OPEN, at=FAR_FUTURE)),
        returns((True, Reason.APPROVED)),
    )
    past_date = dt.date(1, 1, 1)
    far_date = dt.date(9999, 12, 31)
    for method in ("grant_case_type", "change_grant"):
        grant_for = APPROVED if method == "grant_case_type" else GRANTED
        for label, until, code in (
            ("until-year-1", past_date, "end_date_in_past"),
            ("until-yesterday", NOW.date() - dt.timedelta(days=1), "end_date_in_past"),
            ("until-datetime", NOW, "invalid_date"),
            ("until-text", "2027-01-01", "invalid_date"),
            ("until-int", 20270101, "invalid_date"),
        ):
            verb = "grant_case_type" if method == "grant_case_type" else "change_grant"
            call = lambda s, u=until, p=grant_for, m=verb: getattr(s, m)(a, CLINIC, p, RESTRICTED, u)  # noqa: E731
            add(method, label, call, raises(InvalidRequest, code))
    add(
        "grant_case_types",
        "until-year-1",
        lambda s: s.grant_case_types(a, CLINIC, [APPROVED], RESTRICTED, past_date),
        raises(InvalidRequest, "end_date_in_past"),
    )
    add(
        "grant_case_type",
        "until-9999-12-31-exists",
        lambda s: s.grant_case_type(a, CLINIC, GRANTED, RESTRICTED, far_date),
        raises(Conflict, "grant_exists"),
    )

    invalid_limit = raises(InvalidRequest, "invalid_limit")
    for label, limit in BAD_LIMITS.items():
        add("list_residents", f"limit-{label}", lambda s, v=limit: s.list_residents(a, CLINIC, limit=v), invalid_limit)
        add("events", f"limit-{label}", lambda s, v=limit: s.events(limit=v), invalid_limit)
        add("events", f"clinic-limit-{label}", lambda s, v=limit: s.events(limit=v, clinic_id=CLINIC), invalid_limit)

    invalid_cursor = raises(InvalidRequest, "invalid_cursor")
    for label in foreign_cursor_labels():
        add(
            "list_residents",
            f"cursor-{label}",
            lambda s, k=label: s.list_residents(a, CLINIC, limit=1, cursor=_foreign_cursors(s)[k]),
            invalid_cursor,
        )
    for label, bad in BAD_EVENT_CURSORS.items():
        add("events", f"after-{label}", lambda s, v=bad: s.events(after=v), invalid_cursor)
        add("events", f"clinic-after-{label}", lambda s, v=bad: s.events(after=v, clinic_id=CLINIC), invalid_cursor)

    invalid_version = raises(InvalidRequest, "invalid_version")
    for label, version in BAD_VERSIONS.items():
        add(
            "change_grant",
            f"version-{label}",
            lambda s, v=version: s.change_grant(a, CLINIC, GRANTED, RESTRICTED, None, v),
            invalid_version,
        )
        add(
            "remove_grant",
            f"version-{label}",
            lambda s, v=version: s.remove_grant(a, CLINIC, GRANTED, RESTRICTED, v),
            invalid_version,
        )
        add(
            "import_residents",
            f"version-{label}",
            lambda s, v=version: s.import_residents(a, CLINIC, (), [grant(STRANGER, v)]),
            invalid_version,
        )
    mismatch = raises(Conflict, "version_mismatch")
    add(
        "change_grant",
        "version-at-limit",
        lambda s: s.change_grant(a, CLINIC, GRANTED, RESTRICTED, None, MAX_VERSION),
        mismatch,
    )
    add(
        "remove_grant",
        "version-at-limit",
        lambda s: s.remove_grant(a, CLINIC, GRANTED, RESTRICTED, MAX_VERSION),
        mismatch,
    )

    too_many = MAX_DECIDE_MANY + 1
    add(
        "decide_many",
        "past-limit",
        lambda s: s.decide_many([(APPROVED, CLINIC, OPEN)] * too_many),
        raises(InvalidRequest, "too_many_requests"),
    )
    add(
        "decide_many",
        "endless",
        lambda s: s.decide_many(itertools.repeat((APPROVED, CLINIC, OPEN))),
        raises(InvalidRequest, "too_many_requests"),
    )
    add("decide_many", "none", lambda s: s.decide_many([]), returns([]))
    bulk_too_large = raises(InvalidRequest, "bulk_too_large")
    many = list(itertools.islice(endless(), MAX_BULK + 1))
    add("revoke_approvals", "past-limit", lambda s: s.revoke_approvals(a, CLINIC, many), bulk_too_large)
    add("revoke_approvals", "endless", lambda s: s.revoke_approvals(a, CLINIC, endless()), bulk_too_large)
    add("grant_case_types", "past-limit", lambda s: s.grant_case_types(a, CLINIC, many, RESTRICTED), bulk_too_large)
    add(
        "remove_grants",
        "past-limit",
        lambda s: s.remove_grants(a, CLINIC, [(p, RESTRICTED) for p in many]),
        bulk_too_large,
    )
    add(
        "remove_grants",
        "endless",
        lambda s: s.remove_grants(a, CLINIC, ((p, RESTRICTED) for p in endless())),
        bulk_too_large,
    )
    add(
        "import_residents",
        "past-limit",
        lambda s: s.import_residents(a, CLINIC, [approval(CLINIC, p) for p in many[: MAX_IMPORT + 1]]),
        raises(InvalidRequest, "import_too_large"),
    )
    add(
        "import_residents",
        "other-clinic-record",
        lambda s: s.import_residents(a, CLINIC, [approval(OTHER_CLINIC, STRANGER)]),
        raises(InvalidRequest, "import_mixed_clinics"),
    )
    add(
        "import_residents",
        "record-not-a-record",
        lambda s: s.import_residents(a, CLINIC, [{"pnr": STRANGER.digits}]),
        raises(InvalidRequest, "invalid_record"),
    )
    add(
        "import_residents",
        "existing-record",
        lambda s: s.import_residents(a, CLINIC, [approval(CLINIC, STRANGER), approval(CLINIC, APPROVED)]),
        raises(Conflict, "approval_exists"),
    )
    # The acting administrator and an imported record's author follow the id rules too.
    for label, bad in BAD_IDS.items():
        add(
            "approve_resident",
            f"actor-{label}",
            lambda s, v=bad: s.approve_resident(Actor(v, frozenset({CLINIC})), CLINIC, STRANGER, name="N"),
            _INVALID_ID,
        )
        author = raises(InvalidRequest, "invalid_record")
        add(
            "import_residents",
            f"author-{label}",
            lambda s, v=bad: s.import_residents(a, CLINIC, [Approval(CLINIC, STRANGER, "N", NOW, v)]),
            author,
        )
    # Not the objects asked for: a clear InvalidRequest, never a raw Python error.
    shape = raises(InvalidRequest, "invalid_request")
    add("put_clinic", "clinic-None", lambda s: s.put_clinic(a, None), shape)
    add("put_case_type", "case-type-None", lambda s: s.put_case_type(a, None), shape)
    add("approve_resident", "actor-None", lambda s: s.approve_resident(None, CLINIC, STRANGER), shape)
    add("revoke_approvals", "actor-str", lambda s: s.revoke_approvals("hostile-admin", CLINIC, [APPROVED]), shape)
    add("decide_many", "item-None", lambda s: s.decide_many([None]), shape)
    add("decide_many", "item-pair", lambda s: s.decide_many([(APPROVED, CLINIC)]), shape)
    add("decide_many", "item-str", lambda s: s.decide_many(["abc"]), shape)
    add("remove_grants", "item-not-a-pair", lambda s: s.remove_grants(a, CLINIC, [GRANTED]), shape)
    add("remove_grants", "item-triple", lambda s: s.remove_grants(a, CLINIC, [(GRANTED, RESTRICTED, 1)]), shape)
    return cases
