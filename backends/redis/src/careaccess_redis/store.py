"""``RedisStore``: the careaccess Store on Redis or Redis Cluster.

The work is done in the modules beside it: :mod:`.facts` (decisions), :mod:`.feed`
(event ids and the change feed), :mod:`.plan` (changesets and list queries as script
arguments), :mod:`.lua` (the scripts), :mod:`.keys` and :mod:`.records` (storage),
:mod:`.migrate` (one-off rewrites of stored data).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from typing import Any, Final, cast

from careaccess import InvalidRequest
from careaccess.models import CaseType, Clinic, Event, ResidentAccess
from careaccess.reach import ReachFacts
from careaccess.reachstore import ClinicQuery, ReachRequest, list_clinics_fallback, load_reach_fallback
from careaccess.store import Changeset, DecisionFacts, FactsRequest, ResidentQuery
from redis import Redis
from redis.cluster import RedisCluster

from careaccess_redis import facts, feed, lua
from careaccess_redis.connection import Client, flag, reachable, retry, split_url
from careaccess_redis.feed import event_ids
from careaccess_redis.keys import ClinicKeys, KeySchema
from careaccess_redis.plan import REPLAY_SECONDS, clip, plan_changeset, prefix_ranges
from careaccess_redis.reach import RedisReach
from careaccess_redis.records import load_case_type, load_clinic, load_resident

__all__ = ["NAME_SEARCH_BUDGET", "REPLAY_SECONDS", "RedisStore", "split_url"]

#: Residents one list call examines at most on the server (``lua.PAGE``) before it
#: hands back what it found and where to go on: a search that matches few residents
#: of a large clinic holds the server for about a millisecond per call, not for the
#: whole clinic at once.
NAME_SEARCH_BUDGET: Final = 2000


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
        self._cursor_key: bytes | None = None

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
        """Every stored fact for one decision (see :func:`careaccess_redis.facts.load_facts`)."""
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

    def get_resident_access(self, clinic_id: str, digits: str) -> ResidentAccess | None:
        with reachable():
            fields = cast("dict[str, str]", self.client.hgetall(self.keys.of(clinic_id).resident(digits)))
        return load_resident(clinic_id, digits, fields)

    def list_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        """Up to ``query.limit`` listed residents matching *query*, by identity number.

        The filters are applied on the server (``lua.PAGE``), at most
        :data:`NAME_SEARCH_BUDGET` residents per call; the name against the folded
        names stored beside each approval and grant.
        """
        keys = self.keys.of(query.clinic_id)
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
            with reachable():
                flat, resume = lua.PAGE(
                    self.client,
                    (keys.residents,),
                    (keys.resident_prefix, want, NAME_SEARCH_BUDGET, suffix, needle, *bounds),
                )
            for digits, pairs in zip(flat[::2], flat[1::2], strict=True):
                access = load_resident(query.clinic_id, digits, dict(zip(pairs[::2], pairs[1::2], strict=True)))
                if access is not None:
                    page.append(access)
            if not resume or len(page) >= query.limit:
                return page
            after = resume

    def read_events(self, after: str | None, limit: int, clinic_id: str | None) -> list[Event]:
        """Up to *limit* events after the event id *after*, oldest first (see :mod:`.feed`)."""
        return feed.read_events(self.client, self.keys, after, limit, clinic_id)

    def cursor_key(self) -> bytes:
        """32 random bytes made once per store (``SET <prefix>cursor-key NX``), then read back."""
        if self._cursor_key is None:
            made = secrets.token_hex(32)
            with reachable():
                self.client.set(self.keys.cursor_key, made, nx=True)
                stored = cast("str | None", self.client.get(self.keys.cursor_key))
            if stored is None:  # deleted between the two commands: try again
                return self.cursor_key()
            self._cursor_key = bytes.fromhex(stored)
        return self._cursor_key

    # -- changes -----------------------------------------------------------------------

    def apply(self, changeset: Changeset) -> list[Event]:
        """Check the preconditions, write and append every event: one script call, all or nothing.

        The events share one microsecond stamp and follow each other in sequence, so
        every feed holds them together and in order. A call that redis-py retries after
        a dropped connection is applied once (a replay token kept :data:`REPLAY_SECONDS`).

        :raises Conflict: the first failing precondition's, nothing written.
        """
        clinic_id = changeset.clinic_id
        keys = self.keys.of(clinic_id)
        plan = plan_changeset(changeset, keys, self._floor(keys))
        plan.keys[5] = keys.replay_prefix + uuid.uuid4().hex
        self.reach.prepare(changeset.writes)  # index entries first: a crash leaves extras, never gaps
        with reachable():
            # The script asks for the feed index entry when the clinic has no stream yet
            # (its first event, or after data loss); it is added and the call repeated
            # with the index floor (see careaccess_redis.feed).
            while True:
                reply = lua.APPLY(self.client, plan.keys, plan.args)
                if reply[0] != "register":
                    break
                plan.args[0] = self._index(clinic_id)
        if reply[0] == "conflict":
            raise changeset.preconditions[int(reply[1]) - 1].conflict()
        ids = event_ids(reply[1], clinic_id, len(changeset.events))
        return [draft.with_id(made) for draft, made in zip(changeset.events, ids, strict=True)]

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
