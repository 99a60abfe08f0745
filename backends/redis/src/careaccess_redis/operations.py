"""The store's lookups, resident list, cursor key and changes as steps (see :mod:`.steps`).

Shared by :class:`~careaccess_redis.RedisStore` and
:class:`~careaccess_redis.aio.AsyncRedisStore`: each function returns a step generator
that a driver runs on a blocking or an asyncio client.
"""

from __future__ import annotations

import secrets
import uuid
from typing import cast

from careaccess.models import CaseType, Clinic, Event, ResidentAccess
from careaccess.store import Changeset, ResidentQuery

from careaccess_redis import lua
from careaccess_redis.feed import event_ids
from careaccess_redis.keys import KeySchema
from careaccess_redis.plan import clip, plan_changeset, prefix_ranges
from careaccess_redis.records import load_case_type, load_clinic, load_resident
from careaccess_redis.steps import Batch, Call, Steps, command

__all__ = [
    "apply",
    "build_name_index",
    "cursor_key",
    "get_clinic",
    "get_resident_access",
    "list_case_types",
    "list_residents",
    "name_index_pending",
]


def get_clinic(schema: KeySchema, clinic_id: str) -> Steps[Clinic | None]:
    text = cast("str | None", (yield command("GET", schema.of(clinic_id).clinic)))
    return None if text is None else load_clinic(clinic_id, text)


def list_case_types(schema: KeySchema, clinic_id: str) -> Steps[list[CaseType]]:
    stored = cast("dict[str, str]", (yield command("HGETALL", schema.of(clinic_id).types)))
    return [load_case_type(clinic_id, case_type_id, stored[case_type_id]) for case_type_id in sorted(stored)]


def get_resident_access(schema: KeySchema, clinic_id: str, digits: str) -> Steps[ResidentAccess | None]:
    fields = cast("dict[str, str]", (yield command("HGETALL", schema.of(clinic_id).resident(digits))))
    return load_resident(clinic_id, digits, fields)


def list_residents(
    schema: KeySchema, query: ResidentQuery, budget: int, names_budget: int
) -> Steps[list[ResidentAccess]]:
    """Up to ``query.limit`` listed residents matching *query*, by identity number.

    The filters are applied on the server (``lua.PAGE``), in calls that each examine at
    most *budget* residents or, for a name search in a clinic whose names zset is ready,
    at most about *names_budget* of its members (a number's members are examined
    together); the name against the folded names stored beside each approval and grant.
    """
    keys = schema.of(query.clinic_id)
    ranges = prefix_ranges(query.digit_prefixes)
    suffix = query.digit_suffix or ""
    needle = "" if query.name_contains is None else "=" + query.name_contains
    after = query.after
    page: list[ResidentAccess] = []
    while True:
        bounds = clip(ranges, after)
        if not bounds:
            return page
        want = query.limit - len(page)
        flat, resume = yield Call(
            lua.PAGE,
            (keys.residents, keys.names, keys.names_ready),
            (keys.resident_prefix, want, budget, names_budget, suffix, needle, *bounds),
        )
        for digits, pairs in zip(flat[::2], flat[1::2], strict=True):
            access = load_resident(query.clinic_id, digits, dict(zip(pairs[::2], pairs[1::2], strict=True)))
            if access is not None:
                page.append(access)
        if not resume or len(page) >= query.limit:
            return page
        if after is not None and resume <= after:
            # Each call examines at least one resident past *after*: never loop in place.
            raise RuntimeError("the resident list script did not advance past its resume point")
        after = resume


#: Residents a call of ``lua.INDEX_NAMES`` indexes (a few milliseconds of the server's time).
INDEX_BATCH = 500


def build_name_index(schema: KeySchema, batch: int = INDEX_BATCH) -> Steps[int]:
    """Build the names zset of every clinic that lacks its ready marker, and mark it.

    For clinics stored by a version without the index (see ``lua.INDEX_NAMES``): the
    clinics of the feed index, each walked in batches of *batch* residents, one
    atomic script call per batch that also removes the members of its range of numbers
    no record implies (left by a writer of an earlier version). Safe while the store is
    in use (every write keeps the zset in step, ready or not), beside another build, and
    idempotent (a ready clinic is skipped).

    :returns: how many clinics were indexed and marked now.
    """
    clinic_ids = sorted(cast("set[str]", (yield command("SMEMBERS", schema.clinics))))
    built = 0
    for clinic_id in clinic_ids:
        keys = schema.of(clinic_id)
        if (yield command("EXISTS", keys.names_ready)):
            continue
        after = ""
        while True:
            after = cast(
                str,
                (
                    yield Call(
                        lua.INDEX_NAMES,
                        (keys.residents, keys.names, keys.clinic, keys.names_ready),
                        (keys.resident_prefix, after, batch),
                    )
                ),
            )
            if after in ("", "+"):
                break
        built += after == "+"
    return built


def name_index_pending(schema: KeySchema) -> Steps[bool]:
    """Whether a clinic of the feed index lacks the name index's ready marker (one pipeline)."""
    clinic_ids = sorted(cast("set[str]", (yield command("SMEMBERS", schema.clinics))))
    if not clinic_ids:
        return False
    marked = yield Batch(tuple(command("EXISTS", schema.of(clinic_id).names_ready) for clinic_id in clinic_ids))
    return not all(marked)


def cursor_key(schema: KeySchema) -> Steps[bytes]:
    """32 random bytes made once per store (``SET <prefix>cursor-key NX``), then read back."""
    while True:
        yield command("SET", schema.cursor_key, secrets.token_hex(32), "NX")
        stored = cast("str | None", (yield command("GET", schema.cursor_key)))
        if stored is not None:  # else deleted between the two commands: try again
            return bytes.fromhex(stored)


def apply(schema: KeySchema, cluster: bool, changeset: Changeset) -> Steps[list[Event]]:
    """The APPLY call of *changeset*: the preconditions checked and every write and event applied, or nothing.

    One script call does it all (atomic on the server); a call that the client repeats
    after a dropped connection is applied once (its replay token). The clinic's first
    event registers it in the feed index first (``lua.REGISTER``), then calls again.

    :raises Conflict: the first failing precondition's, nothing written.
    """
    clinic_id = changeset.clinic_id
    keys = schema.of(clinic_id)
    # The floor the script stamps events by: the index floor on one server, the clinic's on a cluster.
    plan = plan_changeset(changeset, keys, keys.floor if cluster else schema.floor)
    plan.keys[5] = keys.replay_prefix + uuid.uuid4().hex
    while True:
        reply = yield Call(lua.APPLY, plan.keys, plan.args)
        if reply[0] != "register":
            break
        floor = yield Call(lua.REGISTER, (schema.clinics, schema.floor), (clinic_id,))
        plan.args[0] = cast(str, floor)
    if reply[0] == "conflict":
        raise changeset.preconditions[int(reply[1]) - 1].conflict()
    ids = event_ids(reply[1], clinic_id, len(changeset.events))
    return [draft.with_id(made) for draft, made in zip(changeset.events, ids, strict=True)]
