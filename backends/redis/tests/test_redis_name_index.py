"""The name search's index (a clinic's names zset): in step with every write, searches
agreeing with the memory store on one server, on a cluster and on the asyncio client,
and clinics stored before it existed answering right before and after its build."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import cast

import attrs
import pytest
from careaccess import Actor, CaseType, Clinic, connect
from careaccess.errors import CareAccessError
from careaccess.memory import MemoryStore
from careaccess.models import Action, Approval, Grant, ResidentAccess
from careaccess.names import fold
from careaccess.store import Changeset, ClinicKey, Delete, EventDraft, Put, ResidentQuery, Store
from careaccess.testing.conformance import make_pnr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careaccess_redis import AsyncRedisStore, RedisStore, operations
from careaccess_redis import store as store_module
from careaccess_redis.steps import Op, _send, run
from conftest import delete_prefix, fresh_prefix

WHEN = dt.datetime(2025, 6, 1, 8, 0, tzinfo=dt.UTC)
LATER = dt.date(2025, 12, 31)
NAMES = [None, "Åsa Öberg", "ÅSA ÖBERG-Ärlig", "Per-Erik Ström", "Straße", "Zoë Ångström", "Bo", "Ss", "ab"]
PEOPLE = [make_pnr(f"{1930 + 7 * n}0{1 + n % 9}{10 + n % 18}", 100 + 37 * n) for n in range(10)]
TYPES = ["kbt", "diet"]
#: Search texts as the core hands them on (folded): one and two characters, non-ASCII, "ß" as "ss".
TEXTS = ["", "a", "å", "s", "ss", "ö", "bo", "åsa", "ström", "strasse", "per erik", "åsa öberg", "zz", "1"]


def _admin(clinic_id: str) -> Actor:
    return Actor("admin", frozenset({clinic_id}))


def _members(store: RedisStore, clinic_id: str) -> set[str]:
    keys = store.keys.of(clinic_id)
    return set(cast("list[str]", store.client.zrange(keys.names, 0, -1)))


def _implied(store: RedisStore, clinic_id: str) -> set[str]:
    """The names zset's members the clinic's resident hashes call for."""
    keys = store.keys.of(clinic_id)
    members = set()
    for pnr in cast("list[str]", store.client.zrange(keys.residents, 0, -1)):
        for field, value in cast("dict[str, str]", store.client.hgetall(keys.resident(pnr))).items():
            if field == "n":
                members.add(f"{pnr}\x1fa\x1f{value}")
            elif field.startswith("n:"):
                members.add(f"{pnr}\x1fg:{field[2:]}\x1f{value}")
    return members


def _is_ready(store: RedisStore, clinic_id: str) -> bool:
    return bool(store.client.exists(store.keys.of(clinic_id).names_ready))


def _make_clinic(store: Store, clinic_id: str) -> None:
    access = connect(store, clock=lambda: WHEN)
    access.put_clinic(_admin(clinic_id), Clinic(clinic_id, "Mottagningen"))
    for case_type in TYPES:
        access.put_case_type(_admin(clinic_id), CaseType(clinic_id, case_type, case_type.upper(), restricted=True))


def _rename(store: Store, clinic_id: str, index: int, name: str | None, case_type: str | None = None) -> None:
    """Put the resident's approval (or grant of *case_type*) again under another name, if it has one.

    The service keeps an existing approval as it is; a store must still replace a
    record put again (the store contract), name and all.
    """
    person = PEOPLE[index]
    access = store.get_resident_access(clinic_id, person.digits)
    record: Approval | Grant | None = None
    if access is not None and case_type is None:
        record = access.approval
    elif access is not None:
        record = next((g for g in access.grants if g.case_type_id == case_type), None)
    if record is None:
        return
    draft = EventDraft(WHEN, "admin", Action.RESIDENT_APPROVED, clinic_id, person)
    store.apply(Changeset(clinic_id, (), (Put(attrs.evolve(record, name=name)),), (draft,)))


def _delete_clinic(store: Store, clinic_id: str) -> None:
    draft = EventDraft(WHEN, "admin", Action.CLINIC_SAVED, clinic_id)
    store.apply(Changeset(clinic_id, (), (Delete(ClinicKey(clinic_id)),), (draft,)))


OPS_NAMES = ["approve", "rename", "rename_grant", "grant", "change", "revoke", "remove", "remove_type", "put_type"]
OPS_NAMES += ["bulk_revoke", "bulk_remove", "bulk_grant", "import", "delete_clinic"]
OPS = st.lists(
    st.tuples(
        st.sampled_from(OPS_NAMES),
        st.lists(st.integers(0, len(PEOPLE) - 1), min_size=1, max_size=4, unique=True),
        st.integers(0, len(NAMES) - 1),
        st.sampled_from(TYPES),
    ),
    max_size=18,
)


Step = tuple[str, list[int], int, str]


def _do(store: Store, clinic_id: str, step: Step) -> None:
    op, people, name, case_type = step
    access = connect(store, clock=lambda: WHEN)
    admin = _admin(clinic_id)
    pnrs = [PEOPLE[p] for p in people]
    text = NAMES[name]

    def bulk_import() -> object:
        names = [NAMES[(name + n) % len(NAMES)] for n in range(len(pnrs))]
        approvals = [Approval(clinic_id, p, n, WHEN, "import") for p, n in zip(pnrs, names, strict=True)]
        grants = [Grant(clinic_id, pnrs[0], case_type, None, 1, WHEN, "import", WHEN, text)]
        return access.import_residents(admin, clinic_id, approvals, grants)

    def remake() -> None:
        _delete_clinic(store, clinic_id)
        _make_clinic(store, clinic_id)

    actions: dict[str, Callable[[], object]] = {
        "approve": lambda: access.approve_resident(admin, clinic_id, pnrs[0], name=text),
        "rename": lambda: _rename(store, clinic_id, people[0], text),
        "rename_grant": lambda: _rename(store, clinic_id, people[0], text, case_type),
        "grant": lambda: access.grant_case_type(admin, clinic_id, pnrs[0], case_type, name=text),
        "change": lambda: access.change_grant(admin, clinic_id, pnrs[0], case_type, LATER),
        "revoke": lambda: access.revoke_approval(admin, clinic_id, pnrs[0]),
        "remove": lambda: access.remove_grant(admin, clinic_id, pnrs[0], case_type),
        "remove_type": lambda: access.remove_case_type(admin, clinic_id, case_type),
        "put_type": lambda: access.put_case_type(admin, CaseType(clinic_id, case_type, "T", restricted=True)),
        "bulk_revoke": lambda: access.revoke_approvals(admin, clinic_id, pnrs),
        "bulk_remove": lambda: access.remove_grants(admin, clinic_id, [(p, case_type) for p in pnrs]),
        "bulk_grant": lambda: access.grant_case_types(admin, clinic_id, pnrs, case_type),
        "import": bulk_import,
        "delete_clinic": remake,
    }
    with contextlib.suppress(CareAccessError):  # refused (absent, exists, in use): nothing written, on either store
        actions[op]()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_the_names_zset_is_what_the_resident_hashes_imply_after_every_write(
    single_store: RedisStore, ops: list[Step]
) -> None:
    clinic_id = "c-" + uuid.uuid4().hex[:8]
    memory = MemoryStore()
    for store in (single_store, memory):
        _make_clinic(store, clinic_id)
    assert _is_ready(single_store, clinic_id)  # a new clinic is indexed from its first write
    for step in ops:
        for store in (single_store, memory):
            _do(store, clinic_id, step)
        assert _members(single_store, clinic_id) == _implied(single_store, clinic_id), step
    for text in TEXTS:
        query = ResidentQuery(clinic_id, 20, name_contains=text)
        assert single_store.list_residents(query) == memory.list_residents(query), text
    _delete_clinic(single_store, clinic_id)
    assert not single_store.client.exists(single_store.keys.of(clinic_id).names)
    assert not _is_ready(single_store, clinic_id)


def _fill(store: Store, clinic_id: str = "c1") -> None:
    _make_clinic(store, clinic_id)
    access = connect(store, clock=lambda: WHEN)
    admin = _admin(clinic_id)
    for n, person in enumerate(PEOPLE):
        if n % 4 != 3:
            access.approve_resident(admin, clinic_id, person, name=NAMES[n % len(NAMES)])
        if n % 2:
            access.grant_case_type(admin, clinic_id, person, TYPES[n % 4 // 2], name=NAMES[(n + 3) % len(NAMES)])
        if n % 5 == 0:
            access.grant_case_type(admin, clinic_id, person, TYPES[1], name=NAMES[(n + 5) % len(NAMES)])


@pytest.fixture(scope="module")
def reference() -> MemoryStore:
    memory = MemoryStore()
    _fill(memory)
    return memory


QUERIES = st.builds(
    ResidentQuery,
    clinic_id=st.just("c1"),
    limit=st.integers(1, 12),
    after=st.none() | st.sampled_from([p.digits for p in PEOPLE]),
    digit_prefixes=st.lists(st.sampled_from(["19", "1930", "1937", "195", "196", "20", "1"]), max_size=3).map(tuple),
    digit_suffix=st.none() | st.sampled_from([p.digits[-4:] for p in PEOPLE[:4]] + ["0", "1", "99999"]),
    name_contains=st.sampled_from(TEXTS),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=QUERIES, budget=st.sampled_from([1, 2, 3, 5, 20000]))
def test_name_searches_on_the_index_match_the_reference_store_whatever_the_budget(
    any_store: RedisStore, reference: MemoryStore, monkeypatch: pytest.MonkeyPatch, query: ResidentQuery, budget: int
) -> None:
    if not any_store.client.exists(any_store.keys.of("c1").clinic):
        _fill(any_store)
    assert _is_ready(any_store, "c1")
    # A small budget makes every call stop between numbers and resume, across prefix ranges too.
    with monkeypatch.context() as patch:
        patch.setattr(store_module, "INDEXED_NAME_BUDGET", budget)
        assert any_store.list_residents(query) == reference.list_residents(query)


@pytest.mark.parametrize("text", ["a", "ss", "Å", "ß", "Straße", "åsa öberg", "zz", "19"])
def test_paging_a_name_search_with_cursors_matches_the_reference(
    single_store: RedisStore, reference: MemoryStore, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    _fill(single_store)
    monkeypatch.setattr(store_module, "INDEXED_NAME_BUDGET", 2)
    pages = []
    for store in (single_store, reference):
        access, cursor, seen = connect(store), None, []
        while True:
            page = access.list_residents(_admin("c1"), "c1", 2, cursor, text)
            seen.append([r.pnr for r in page.items])
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        pages.append(seen)
    assert pages[0] == pages[1]


def _forget_index(store: RedisStore, clinic_id: str) -> None:
    """Make the clinic as a version without the index left it: no names zset, no marker."""
    keys = store.keys.of(clinic_id)
    store.client.delete(keys.names, keys.names_ready)


def test_a_clinic_without_the_index_answers_right_before_and_after_its_build(
    any_store: RedisStore, reference: MemoryStore
) -> None:
    _fill(any_store)
    _fill(any_store, "c2")
    _forget_index(any_store, "c1")
    queries = [
        ResidentQuery("c1", limit, after, prefixes, suffix, fold(text))
        for text in ("a", "ss", "å", "Per-Erik", "STRÖM")
        for limit, after, prefixes, suffix in [
            (10, None, (), None),
            (2, PEOPLE[2].digits, ("19",), None),
            (3, None, (), "0"),
        ]
    ]
    expected = [reference.list_residents(query) for query in queries]
    assert [any_store.list_residents(query) for query in queries] == expected  # walks the residents
    # Writes to the older clinic keep its (partial) zset in step: the build completes it.
    _rename(any_store, "c1", 1, "Xyz")
    _rename(any_store, "c1", 1, "Åsa Öberg")
    assert NAMES[1] == "Åsa Öberg"
    assert _members(any_store, "c1") == {f"{PEOPLE[1].digits}\x1fa\x1fåsa öberg"}
    assert not _is_ready(any_store, "c1")
    assert any_store.build_name_index() == 1  # c2 was ready from its first write
    assert _is_ready(any_store, "c1")
    assert _members(any_store, "c1") == _implied(any_store, "c1")
    assert [any_store.list_residents(query) for query in queries] == expected  # walks the names
    assert any_store.build_name_index() == 0  # idempotent


def test_the_build_is_exact_while_the_clinic_is_written(single_store: RedisStore) -> None:
    _fill(single_store)
    _forget_index(single_store, "c1")
    access = connect(single_store, clock=lambda: WHEN)
    admin = _admin("c1")
    writes: Iterator[Callable[[], object]] = iter(
        [
            lambda: _rename(single_store, "c1", 8, "Nytt Namn"),  # ahead of the walk
            lambda: access.revoke_approval(admin, "c1", PEOPLE[1]),
            lambda: access.approve_resident(admin, "c1", PEOPLE[3], name="Sist"),
            lambda: access.grant_case_type(admin, "c1", PEOPLE[2], "kbt", name="Ny Grant"),
            lambda: _rename(single_store, "c1", 0, "Behind"),  # behind the walk
            lambda: access.remove_grant(admin, "c1", PEOPLE[5], "diet"),
            lambda: _rename(single_store, "c1", 8, None),
        ]
    )
    steps = operations.build_name_index(single_store.keys, batch=2)
    op = next(steps)
    built: int | None = None
    while built is None:
        reply = _send(single_store.client, op)
        write = next(writes, None)
        if write is not None:
            write()
        try:
            op = steps.send(reply)
        except StopIteration as stop:
            built = cast(int, stop.value)
    assert built == 1
    assert next(writes, None) is None  # every write ran between two steps of the build
    assert _is_ready(single_store, "c1")
    assert _members(single_store, "c1") == _implied(single_store, "c1")


def test_the_build_skips_a_clinic_deleted_meanwhile_and_marks_nothing(single_store: RedisStore) -> None:
    _fill(single_store)
    _forget_index(single_store, "c1")
    _delete_clinic(single_store, "c1")
    assert single_store.build_name_index() == 0
    assert not _is_ready(single_store, "c1")
    _make_clinic(single_store, "c1")  # made anew: nothing of it stored, so indexed from now on
    assert _is_ready(single_store, "c1")


def test_a_names_zset_left_by_a_deleted_clinic_goes_when_it_is_made_anew(single_store: RedisStore) -> None:
    # An older version deleted clinics without knowing the zset: what it left must not count.
    _fill(single_store)
    keys = single_store.keys.of("c1")
    single_store.client.delete(keys.clinic, keys.types, keys.uses, keys.residents)
    for person in PEOPLE:
        single_store.client.delete(keys.resident(person.digits))
    _make_clinic(single_store, "c1")
    assert _members(single_store, "c1") == set()
    assert single_store.list_residents(ResidentQuery("c1", 10, name_contains="a")) == []


@pytest.fixture(params=["single", "cluster"])
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A store URL under a fresh prefix (deleted afterwards), on the single server, then the cluster."""
    base: str = request.getfixturevalue(f"{request.param}_url")
    prefix = fresh_prefix()
    full = f"{base}?prefix={prefix}" + ("&cluster=true" if request.param == "cluster" else "")
    yield full
    store = RedisStore.from_url(full)
    try:
        delete_prefix(store.client, prefix)
    finally:
        store.close()


def test_the_async_client_searches_and_builds_the_index(url: str, reference: MemoryStore) -> None:
    blocking = RedisStore.from_url(url)
    try:
        _fill(blocking)
        _forget_index(blocking, "c1")
    finally:
        blocking.close()
    queries = [
        ResidentQuery("c1", limit, None, prefixes, None, text)
        for text in ("a", "ss", "å", "åsa öberg")
        for limit, prefixes in [(10, ()), (1, ("19",))]
    ]

    async def run() -> tuple[list[list[ResidentAccess]], int, list[list[ResidentAccess]], int]:
        store = AsyncRedisStore.from_url(url)
        try:
            before = [await store.list_residents(query) for query in queries]
            built = await store.build_name_index()
            after = [await store.list_residents(query) for query in queries]
            return before, built, after, await store.build_name_index()
        finally:
            await store.aclose()

    before, built, after, again = asyncio.run(run())
    expected = [reference.list_residents(query) for query in queries]
    assert (before, built, after, again) == (expected, 1, expected, 0)
    blocking = RedisStore.from_url(url)
    try:
        assert _is_ready(blocking, "c1")
        assert _members(blocking, "c1") == _implied(blocking, "c1")
    finally:
        blocking.close()


def test_the_build_drops_members_an_older_writer_left_behind(single_store: RedisStore, reference: MemoryStore) -> None:
    # During an upgrade, this version renames a resident of an older clinic (its member
    # added), then a process of the older version, which knows no names zset, puts the
    # record back as it was, and revokes another resident whose name this version wrote.
    _fill(single_store)
    _forget_index(single_store, "c1")
    keys = single_store.keys.of("c1")
    before = cast("dict[str, str]", single_store.client.hgetall(keys.resident(PEOPLE[1].digits)))
    _rename(single_store, "c1", 1, "Xyz Qvist")
    for field, value in before.items():
        single_store.client.hset(keys.resident(PEOPLE[1].digits), field, value)
    _rename(single_store, "c1", 4, "Ytterst Ensam")
    single_store.client.delete(keys.resident(PEOPLE[4].digits))
    single_store.client.zrem(keys.residents, PEOPLE[4].digits)
    reference_now = MemoryStore()
    _fill(reference_now)
    connect(reference_now, clock=lambda: WHEN).revoke_approval(_admin("c1"), "c1", PEOPLE[4])
    assert single_store.build_name_index() == 1
    assert _members(single_store, "c1") == _implied(single_store, "c1")
    for text in ("xyz", "qvist", "ensam", "a", "åsa"):
        query = ResidentQuery("c1", 10, name_contains=text)
        assert single_store.list_residents(query) == reference_now.list_residents(query), text


@pytest.mark.parametrize("text", ["kbt", "diet", "ie", "g:"])
def test_a_text_found_only_in_a_grants_case_type_id_matches_nothing(
    single_store: RedisStore, reference: MemoryStore, text: str
) -> None:
    _fill(single_store)
    assert _is_ready(single_store, "c1")
    query = ResidentQuery("c1", 10, name_contains=text)
    assert single_store.list_residents(query) == reference.list_residents(query) == []


def test_each_batch_of_the_build_drops_the_members_no_hash_implies_in_its_range(single_store: RedisStore) -> None:
    # Members of numbers below, between and above the listed residents, more than one
    # script call removes at once, and a stale name of a listed resident.
    _fill(single_store)
    _forget_index(single_store, "c1")
    keys = single_store.keys.of("c1")
    digits = sorted(p.digits for p in PEOPLE)
    junk = [f"{n:012d}\x1fa\x1fgone" for n in range(1200)]
    junk += [f"{d[:-1]}{'5' if d[-1] != '5' else '6'}\x1fg:kbt\x1fgone {n}" for n, d in enumerate(digits)]
    junk += [f"{digits[3]}\x1fa\x1fold name", f"{digits[3]}\x1fg:none\x1fx"]
    junk += [f"9{n:011d}\x1fa\x1fgone" for n in range(1500)]
    single_store.client.zadd(keys.names, dict.fromkeys(junk, 0))
    assert run(single_store.client, operations.build_name_index(single_store.keys, batch=3)) == 1
    assert _members(single_store, "c1") == _implied(single_store, "c1")
    assert _members(single_store, "c1")


def test_two_builds_at_once_leave_the_index_exact(single_store: RedisStore) -> None:
    # The second build starts when the first has walked eight residents, and ends after it.
    _fill(single_store)
    _forget_index(single_store, "c1")
    builds = [operations.build_name_index(single_store.keys, batch=2) for _ in range(2)]
    ops: list[Op | None] = [next(build) for build in builds]
    done: list[int] = []
    renames = iter([(8, "Nytt"), (0, "Först"), (5, None), (2, "Mitt")])
    rounds = 0
    while len(done) < len(builds):
        rounds += 1
        for n, build in enumerate(builds):
            op = ops[n]
            if op is None or (n == 1 and rounds <= 4):
                continue
            reply = _send(single_store.client, op)
            step = next(renames, None)
            if step is not None:
                _rename(single_store, "c1", *step)
            try:
                ops[n] = build.send(reply)
            except StopIteration as stop:
                done.append(cast(int, stop.value))
                ops[n] = None
                # Marked ready: exact from now on, whatever the other build still does.
                assert _members(single_store, "c1") == _implied(single_store, "c1")
    assert done == [1, 1]
    assert _is_ready(single_store, "c1")
    assert _members(single_store, "c1") == _implied(single_store, "c1")
