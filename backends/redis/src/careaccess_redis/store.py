"""``RedisStore``: the careaccess Store on Redis or Redis Cluster.

The work is done in the modules beside it: :mod:`.facts` (decisions), :mod:`.feed`
(event ids and the change feed), :mod:`.plan` (changesets and list queries as script
arguments), :mod:`.lua` (the scripts), :mod:`.keys` and :mod:`.records` (storage).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any, cast

import attrs
from careaccess import InvalidRequest
from careaccess.models import CaseType, Clinic, Event, ResidentAccess
from careaccess.reach import ReachFacts
from careaccess.reachstore import ClinicQuery, ReachRequest, list_clinics_fallback, load_reach_fallback
from careaccess.store import (
    CaseTypeKey,
    CaseTypeRestricted,
    CaseTypeUnused,
    Changeset,
    ClinicKey,
    DecisionFacts,
    FactsRequest,
    ImportBatch,
    MustBeAbsent,
    MustExist,
    MustHaveVersion,
    Precondition,
    ResidentQuery,
    key_of,
)
from redis import Redis
from redis.cluster import RedisCluster

from careaccess_redis import facts, feed, lua
from careaccess_redis.connection import Client, flag, reachable, retry, split_url
from careaccess_redis.feed import event_id, event_ids
from careaccess_redis.keys import ClinicKeys, KeySchema
from careaccess_redis.plan import (
    REPLAY_SECONDS,
    ImportPlan,
    clip,
    field_of,
    name_matches,
    plan_changeset,
    prefix_ranges,
)
from careaccess_redis.reach import RedisReach
from careaccess_redis.records import dump_event, load_case_type, load_clinic, load_resident

__all__ = ["REPLAY_SECONDS", "RedisStore", "split_url"]

#: Residents fetched per round trip while searching by name (the name test needs Python).
_NAME_SEARCH_BATCH = 200


class RedisStore:
    """A :class:`~careaccess.store.Store` on Redis (one server, or a Redis Cluster).

    Build it with :meth:`from_url` or from a ready client (``decode_responses=True``).
    Safe to share between threads: redis-py pools connections.
    """

    def __init__(self, client: Client, *, prefix: str = "careaccess:") -> None:
        self.client = client
        self.keys = KeySchema(prefix)
        self._cluster = isinstance(client, RedisCluster)
        self.reach = RedisReach(client, self.keys)

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        """Open ``redis://``, ``rediss://`` or ``unix://`` URLs.

        Query options: ``prefix`` (default ``careaccess:``), ``cluster=true`` for Redis
        Cluster; every other query option is redis-py's (e.g. ``socket_timeout``).
        """
        plain, options = split_url(url)
        prefix = options.get("prefix", "careaccess:")
        settings: dict[str, Any] = {"decode_responses": True, "retry": retry()}
        with reachable():
            client: Client
            if flag(options.get("cluster", "")):
                client = RedisCluster.from_url(plain, **settings)
            else:
                client = Redis.from_url(plain, **settings)
        try:
            return cls(client, prefix=prefix)
        except ValueError as error:
            client.close()
            raise InvalidRequest("invalid_store_url", str(error), "Ogiltigt prefix i lagringsadressen.") from error

    def close(self) -> None:
        self.client.close()

    def load_scripts(self) -> None:
        """Load the Lua scripts now (they are also loaded on first use)."""
        with reachable():
            for script in lua.SCRIPTS:
                script.load(self.client)

    # -- decisions ---------------------------------------------------------------------

    def load_facts(self, request: FactsRequest) -> DecisionFacts:
        """The clinic, the case type, and the one record that case type can use (one script call)."""
        return facts.load_facts(self.client, self.keys, request)

    def load_facts_many(self, requests: Sequence[FactsRequest]) -> list[DecisionFacts]:
        """Facts as :meth:`load_facts` gives them, with one script call per chunk of requests.

        A call carries up to 1,000 requests (on a cluster, of clinics in one hash slot),
        each distinct clinic and case type once. Several calls go out as one pipeline:
        one round trip per server, or per cluster node.
        """
        return facts.load_facts_many(self.client, self.keys, requests)

    def get_clinic(self, clinic_id: str) -> Clinic | None:
        with reachable():
            text = cast("str | None", self.client.get(self.keys.of(clinic_id).clinic))
        return None if text is None else load_clinic(clinic_id, text)

    def list_case_types(self, clinic_id: str) -> list[CaseType]:
        with reachable():
            stored = cast("dict[str, str]", self.client.hgetall(self.keys.of(clinic_id).types))
        return [load_case_type(clinic_id, case_type_id, stored[case_type_id]) for case_type_id in sorted(stored)]

    def resident_access(self, clinic_id: str, pnr: str) -> ResidentAccess | None:
        with reachable():
            fields = cast("dict[str, str]", self.client.hgetall(self.keys.of(clinic_id).resident(pnr)))
        return load_resident(clinic_id, pnr, fields)

    def page_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        keys = self.keys.of(query.clinic_id)
        ranges = prefix_ranges(query.digits_prefix)
        needle = None if query.name_contains is None else query.name_contains.casefold()
        batch = query.limit if needle is None else max(query.limit, _NAME_SEARCH_BATCH)
        after = query.after
        page: list[ResidentAccess] = []
        while True:
            bounds = clip(ranges, after)
            if not bounds:
                return page
            with reachable():
                flat = lua.PAGE(self.client, (keys.residents,), (keys.resident_prefix, batch, *bounds))
            for pnr, pairs in zip(flat[::2], flat[1::2], strict=True):
                access = load_resident(query.clinic_id, pnr, dict(zip(pairs[::2], pairs[1::2], strict=True)))
                if access is None or (needle is not None and not name_matches(access, needle)):
                    continue
                page.append(access)
                if len(page) >= query.limit:
                    return page
            if len(flat) < 2 * batch:
                return page
            after = flat[-2]

    # -- the change feed ---------------------------------------------------------------

    def read_events(self, after: str | None, limit: int, clinic_id: str | None) -> list[Event]:
        """Up to *limit* events after the event id *after*, oldest first (see :mod:`.feed`)."""
        return feed.read_events(self.client, self.keys, after, limit, clinic_id)

    def apply(self, changeset: Changeset) -> Event:
        clinic_id = changeset.event.clinic_id
        keys = self.keys.of(clinic_id)
        key_names, ops, foreign = plan_changeset(changeset, keys, self._floor(keys))
        key_names[5] = keys.replay_prefix + uuid.uuid4().hex
        checks = len(changeset.preconditions)
        event_json = dump_event(changeset.event)
        self.reach.prepare(changeset.writes)  # index entries first: a crash leaves extras, never gaps
        with reachable():
            if foreign:
                verdicts = self._check_elsewhere([precondition for _, precondition in foreign])
                for (position, _), holds in zip(foreign, verdicts, strict=True):
                    ops[position] = "OK" if holds else "NO"
            # The script asks for the feed index entry when the clinic has no stream yet
            # (its first event, or after data loss); it is added and the call repeated
            # with the index floor (see careaccess_redis.feed).
            floor = "-"
            while True:
                reply = lua.APPLY(
                    self.client, key_names, (floor, event_json, keys.resident_prefix, checks, REPLAY_SECONDS, *ops)
                )
                if reply[0] != "register":
                    break
                floor = self._index(clinic_id)
        if reply[0] == "conflict":
            raise changeset.preconditions[int(reply[1]) - 1].conflict()
        return changeset.event.with_id(event_id(reply[1], clinic_id))

    def import_batch(self, batch: ImportBatch) -> list[Event]:
        """Write a whole batch with one script call, all or nothing (see :class:`ImportBatch`).

        The events share one microsecond and follow each other in sequence, so the
        feed holds them together and in order. A call that redis-py retries after a
        dropped connection is applied once, as for :meth:`apply`.
        """
        clinic_id = batch.clinic_id
        keys = self.keys.of(clinic_id)
        plan = ImportPlan(batch, keys, self._floor(keys))
        plan.key_names[5] = keys.replay_prefix + uuid.uuid4().hex
        events = "\n".join(dump_event(draft) for draft in batch.events)
        with reachable():
            floor = "-"  # as in apply
            while True:
                reply = lua.IMPORT(self.client, plan.key_names, (floor, *plan.head, events))
                if reply[0] != "register":
                    break
                floor = self._index(clinic_id)
        outcome = reply[0]
        if outcome == "clinic":
            raise MustExist(ClinicKey(clinic_id)).conflict()
        if outcome == "type":
            raise CaseTypeRestricted(CaseTypeKey(clinic_id, plan.case_types[int(reply[1]) - 1])).conflict()
        if outcome == "record":
            first = min(plan.order[int(position) - 1] for position in reply[1])
            raise batch.conflict_for(key_of(batch.records[first]))
        if not batch.events:
            return []
        ids = event_ids(reply[1], clinic_id, len(batch.events))
        # The clinic's stream holds them: return them as the feed will, even from a draft naming another clinic.
        drafts = [d if d.clinic_id == clinic_id else attrs.evolve(d, clinic_id=clinic_id) for d in batch.events]
        return [draft.with_id(made) for draft, made in zip(drafts, ids, strict=True)]

    def _check_elsewhere(self, preconditions: Sequence[Precondition]) -> list[bool]:
        """Check preconditions on other clinics' keys, just before the script runs.

        Their keys hash to other slots, so on a cluster no script can read them; the
        service never builds such changesets, and for them this is not atomic.
        """
        pipe = self.client.pipeline(transaction=False)
        for precondition in preconditions:
            key = precondition.key
            keys = self.keys.of(key.clinic_id)
            field = field_of(key)
            if isinstance(key, ClinicKey):
                pipe.exists(keys.clinic)
            elif isinstance(precondition, CaseTypeUnused):
                pipe.hget(keys.uses, field)
            elif isinstance(key, CaseTypeKey):
                pipe.hget(keys.types, field)
            else:
                pipe.hget(keys.resident(key.pnr), field)
        verdicts: list[bool] = []
        for precondition, found in zip(preconditions, pipe.execute(), strict=True):
            present = bool(found)
            if isinstance(precondition, MustExist):
                verdicts.append(present)
            elif isinstance(precondition, MustBeAbsent):
                verdicts.append(not present)
            elif isinstance(precondition, MustHaveVersion):
                verdicts.append(present and json.loads(found)["version"] == precondition.version)
            elif isinstance(precondition, CaseTypeUnused):
                verdicts.append(not present or int(found) <= 0)
            else:
                verdicts.append(present and json.loads(found)["restricted"] is True)
        return verdicts

    def _floor(self, keys: ClinicKeys) -> str:
        """The floor key the scripts stamp events by: the index floor on one server, the clinic's on a cluster."""
        return keys.floor if self._cluster else self.keys.floor

    def _index(self, clinic_id: str) -> str:
        """Put the clinic into the feed index; the least stamp its first event may take."""
        return cast(str, lua.REGISTER(self.client, (self.keys.clinics, self.keys.floor), (clinic_id,)))

    # -- the resident's side (ReachStore, see careaccess_redis.reach) --------------------

    def list_clinics(self, query: ClinicQuery) -> list[Clinic]:
        """One page of the clinic directory: indexed candidates, each re-checked on its clinic's record."""
        if self.reach.is_ready():
            return self.reach.list_clinics(query)
        return list_clinics_fallback(self, query)

    def load_reach(self, request: ReachRequest) -> ReachFacts:
        """The resident's candidate clinics (a superset) with each clinic's facts, read atomically per clinic."""
        if self.reach.is_ready():
            return self.reach.load_reach(request)
        return load_reach_fallback(self, request)

    def build_reach_index(self) -> int:
        """Index a store written before the resident's-side indexes existed; returns the clinics indexed."""
        return self.reach.build()
