"""``RedisStore``: the careaccess Store on Redis or Redis Cluster.

The work is done in the modules beside it: :mod:`.facts` (decisions), :mod:`.feed`
(event ids and the change feed), :mod:`.plan` (changesets and list queries as script
arguments), :mod:`.lua` (the scripts), :mod:`.keys` and :mod:`.records` (storage),
:mod:`.migrate` (one-off rewrites of stored data).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from careaccess import InvalidRequest
from careaccess.models import CaseType, Clinic, Event, ResidentAccess
from careaccess.reach import ReachFacts
from careaccess.reachstore import ClinicQuery, ReachRequest, list_clinics_fallback, load_reach_fallback
from careaccess.store import Changeset, DecisionFacts, FactsRequest, ResidentQuery
from redis import Redis
from redis.cluster import RedisCluster

from careaccess_redis import facts, feed, lua, operations
from careaccess_redis.connection import Client, flag, reachable, retry, split_url
from careaccess_redis.keys import KeySchema
from careaccess_redis.plan import REPLAY_SECONDS
from careaccess_redis.reach import RedisReach
from careaccess_redis.steps import run

__all__ = ["INDEXED_NAME_BUDGET", "NAME_SEARCH_BUDGET", "REPLAY_SECONDS", "RedisStore", "split_url"]

#: Residents one list call examines at most on the server (``lua.PAGE``) before it
#: hands back what it found and where to go on: a search that matches few residents
#: of a large clinic holds the server for about a millisecond per call, not for the
#: whole clinic at once.
NAME_SEARCH_BUDGET: Final = 2000

#: Members of a clinic's names zset one name search call examines at most (a number's
#: members together) when the zset is ready: each is one plain string search in a short
#: string, about 0.3 µs of the server's time, far cheaper than reading a resident hash;
#: a call holds the server for 3 to 4 ms (measured at 100,000 residents).
INDEXED_NAME_BUDGET: Final = 10000


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
        return run(self.client, operations.get_clinic(self.keys, clinic_id))

    def list_case_types(self, clinic_id: str) -> list[CaseType]:
        return run(self.client, operations.list_case_types(self.keys, clinic_id))

    def get_resident_access(self, clinic_id: str, digits: str) -> ResidentAccess | None:
        return run(self.client, operations.get_resident_access(self.keys, clinic_id, digits))

    def list_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        """Up to ``query.limit`` listed residents matching *query*, by identity number.

        The filters are applied on the server (``lua.PAGE``), at most
        :data:`NAME_SEARCH_BUDGET` residents per call; the name against the folded
        names stored beside each approval and grant. A name search in a clinic whose
        names zset is ready walks that zset instead, at most about
        :data:`INDEXED_NAME_BUDGET` members per call.
        """
        return run(self.client, operations.list_residents(self.keys, query, NAME_SEARCH_BUDGET, INDEXED_NAME_BUDGET))

    def read_events(self, after: str | None, limit: int, clinic_id: str | None) -> list[Event]:
        """Up to *limit* events after the event id *after*, oldest first (see :mod:`.feed`)."""
        return feed.read_events(self.client, self.keys, after, limit, clinic_id)

    def cursor_key(self) -> bytes:
        """32 random bytes made once per store (``SET <prefix>cursor-key NX``), then read back."""
        if self._cursor_key is None:
            self._cursor_key = run(self.client, operations.cursor_key(self.keys))
        return self._cursor_key

    # -- changes -----------------------------------------------------------------------

    def apply(self, changeset: Changeset) -> list[Event]:
        """Check the preconditions, write and append every event: one script call, all or nothing.

        The events share one microsecond stamp and follow each other in sequence, so
        every feed holds them together and in order. A call that redis-py retries after
        a dropped connection is applied once (a replay token kept :data:`REPLAY_SECONDS`).

        :raises Conflict: the first failing precondition's, nothing written.
        """
        self.reach.prepare(changeset.writes)  # index entries first: a crash leaves extras, never gaps
        return run(self.client, operations.apply(self.keys, self._cluster, changeset))

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

    def build_name_index(self) -> int:
        """Build the name search's index of every clinic stored before it existed, and mark each ready.

        Until then a name search in such a clinic walks its residents (slowly, and with
        the same results). Idempotent and safe while the store is in use
        (see :func:`careaccess_redis.operations.build_name_index`).

        :returns: how many clinics were indexed now (0 when all were ready).
        :raises StoreUnavailable: when Redis cannot be reached.
        """
        return run(self.client, operations.build_name_index(self.keys))

    def name_index_pending(self) -> bool:
        """Whether some clinic still lacks its name index (stored by a version without it).

        :raises StoreUnavailable: when Redis cannot be reached.
        """
        return run(self.client, operations.name_index_pending(self.keys))

    def build_reach_index(self) -> int:
        """Index a store written before the resident's-side indexes existed; returns the clinics indexed."""
        return self.reach.build()
