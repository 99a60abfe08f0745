"""``RedisStore``: the careaccess Store on Redis or Redis Cluster."""

from __future__ import annotations

import heapq
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final, cast
from urllib.parse import parse_qsl, urlencode

import attrs
from careaccess import InvalidRequest, StoreUnavailable
from careaccess.identity import PersonalIdentityNumber, redact
from careaccess.models import CaseType, Clinic, Event, Grant, ResidentAccess
from careaccess.store import (
    ApprovalKey,
    CaseTypeKey,
    CaseTypeRestricted,
    CaseTypeUnused,
    Changeset,
    ClinicKey,
    DecisionFacts,
    Delete,
    FactsRequest,
    ImportBatch,
    Key,
    MustBeAbsent,
    MustExist,
    MustHaveVersion,
    Precondition,
    Put,
    ResidentQuery,
    Write,
    key_of,
)
from redis import Redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import (
    ClusterError,
    ConnectionError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisClusterException,
    RedisError,
    ResponseError,
    TimeoutError,
    TryAgainError,
)
from redis.retry import Retry

from careaccess_redis import lua
from careaccess_redis.feed import Position, event_id, event_ids, parse_event_id
from careaccess_redis.keys import ClinicKeys, KeySchema
from careaccess_redis.records import (
    approval_from,
    dump_event,
    dump_record,
    grant_from,
    load_approval,
    load_case_type,
    load_clinic,
    load_event,
    load_grant,
    load_resident,
)

__all__ = ["RedisStore", "split_url"]

Client = Redis | RedisCluster
#: XRANGE entries as redis-py returns them with decode_responses=True.
_Entries = list[tuple[str, dict[str, str]]]

#: Errors that mean "Redis cannot serve this now", as opposed to a bug.
_DOWN: Final = (ConnectionError, TimeoutError, ClusterError, TryAgainError, ReadOnlyError, OutOfMemoryError)
#: Error replies with the same meaning that redis-py raises as a plain ResponseError.
_DOWN_REPLIES: Final = frozenset({"MISCONF", "NOREPLICAS", "LOADING", "MASTERDOWN", "BUSY", "CLUSTERDOWN"})
#: How long an applied changeset's token is kept, so a retried call returns its event.
REPLAY_SECONDS: Final = 300
#: Residents fetched per round trip while searching by name (the name test needs Python).
_NAME_SEARCH_BATCH: Final = 200
#: How often the cross-clinic feed re-reads while events newer than its horizon wait.
_HORIZON_ATTEMPTS: Final = 20
_NO_FACTS: Final = DecisionFacts(None, None, None, None)
#: Requests per FACTS_MANY call: bounds how long one call holds the server (2-6 ms measured).
_FACTS_PER_CALL: Final = 1000
#: Sent in place of an identity number that is not 12 ASCII characters (see _FactsCall.seal).
_NO_RESIDENT: Final = " " * 12
_OPTIONS: Final = ("prefix", "cluster")


def _is_down(error: BaseException) -> bool:
    if isinstance(error, _DOWN):
        return True
    if isinstance(error, ResponseError):
        return str(error).split(" ", 1)[0] in _DOWN_REPLIES
    # redis-py raises its bare cluster exception when no node can be reached at all.
    return type(error) is RedisClusterException


def _unavailable(error: BaseException) -> StoreUnavailable:
    return StoreUnavailable(
        "store_unavailable",
        f"Redis is unavailable ({type(error).__name__}: {redact(str(error))}); try again.",
        "Redis kan inte nås just nu; försök igen.",
    )


@contextmanager
def _reachable() -> Iterator[None]:
    try:
        yield
    except (RedisError, RedisClusterException) as error:
        if _is_down(error):
            raise _unavailable(error) from error
        raise


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """The URL for redis-py, and the careaccess options (``prefix``, ``cluster``) taken out of it."""
    base, _, query = url.partition("?")  # not urlsplit: it would drop the '//' of unix:///path
    kept: list[tuple[str, str]] = []
    options: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in _OPTIONS:
            options[name] = value
        else:
            kept.append((name, value))
    return (f"{base}?{urlencode(kept)}" if kept else base), options


def _flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise InvalidRequest(
        "invalid_store_url",
        f"cluster= takes true or false, not {value!r}.",
        f"cluster= tar true eller false, inte {value!r}.",
    )


def _retry() -> Retry:
    # Retries span a server restart (~2 s); replay tokens make retried changesets safe.
    return Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.5), retries=8)


class RedisStore:
    """A :class:`~careaccess.store.Store` on Redis (one server, or a Redis Cluster).

    Build it with :meth:`from_url` or from a ready client (``decode_responses=True``).
    Safe to share between threads: redis-py pools connections.
    """

    def __init__(self, client: Client, *, prefix: str = "careaccess:") -> None:
        self.client = client
        self.keys = KeySchema(prefix)
        self._cluster = isinstance(client, RedisCluster)
        self._indexed: set[str] = set()  # clinics this process has put into the feed index

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        """Open ``redis://``, ``rediss://`` or ``unix://`` URLs.

        Query options: ``prefix`` (default ``careaccess:``), ``cluster=true`` for Redis
        Cluster; every other query option is redis-py's (e.g. ``socket_timeout``).
        """
        plain, options = split_url(url)
        prefix = options.get("prefix", "careaccess:")
        settings: dict[str, Any] = {"decode_responses": True, "retry": _retry()}
        with _reachable():
            client: Client
            if _flag(options.get("cluster", "")):
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
        with _reachable():
            for script in (lua.FACTS, lua.PAGE, lua.APPLY, lua.IMPORT):
                script.load(self.client)

    # -- decisions ---------------------------------------------------------------------

    def load_facts(self, request: FactsRequest) -> DecisionFacts:
        """The clinic, the case type, and the one record that case type can use.

        A restricted case type's facts hold the grant and no approval, an open one's
        the approval and no grant: the decision reads nothing else.
        """
        clinic_id = request.clinic_id
        keys = self.keys.of(clinic_id)
        try:
            found: str = lua.FACTS(
                self.client, (keys.clinic, keys.types, keys.resident_prefix + request.pnr), (request.case_type_id,)
            )
        except (RedisError, RedisClusterException) as error:
            if _is_down(error):
                raise _unavailable(error) from error
            raise
        if not found:
            return _NO_FACTS
        texts = found.split("\n")
        clinic = load_clinic(clinic_id, texts[0])
        if len(texts) == 1:
            return DecisionFacts(clinic, None, None, None)
        case_type_id = request.case_type_id
        case_type = load_case_type(clinic_id, case_type_id, texts[1])
        record = texts[2]
        if not record:
            return DecisionFacts(clinic, case_type, None, None)
        person = request.person if request.person is not None else PersonalIdentityNumber.from_digits(request.pnr)
        if case_type.restricted:
            return DecisionFacts(clinic, case_type, None, load_grant(clinic_id, person, case_type_id, record))
        return DecisionFacts(clinic, case_type, load_approval(clinic_id, person, record), None)

    def load_facts_many(self, requests: Sequence[FactsRequest]) -> list[DecisionFacts]:
        """Facts as :meth:`load_facts` gives them, with one script call per chunk of requests.

        A call carries up to 1,000 requests (on a cluster, of clinics in one hash slot),
        each distinct clinic and case type once. Several calls go out as one pipeline:
        one round trip per server, or per cluster node.
        """
        if not requests:
            return []
        calls = self._plan_facts(requests)
        with _reachable():
            if len(calls) == 1:
                results: list[Any] = [lua.FACTS_MANY(self.client, calls[0].keys, calls[0].args)]
            else:
                results = self._pipelined_facts(calls)
                for _ in range(lua.LOAD_ATTEMPTS - 1):
                    if not lua.needs_load(results):
                        break
                    lua.FACTS_MANY.load(self.client)
                    results = self._pipelined_facts(calls)
        facts: list[DecisionFacts] = [_NO_FACTS] * len(requests)
        # One parse per resident asked about, none where the caller passed the parsed number.
        persons = {r.pnr: r.person for r in requests if r.person is not None}
        for call, result in zip(calls, results, strict=True):
            if isinstance(result, Exception):
                raise _unavailable(result) if _is_down(result) else result
            call.unpack(result, persons, facts)
        return facts

    def _plan_facts(self, requests: Sequence[FactsRequest]) -> list[_FactsCall]:
        """Split the requests into calls of at most _FACTS_PER_CALL, of one hash slot each on a cluster."""
        calls: list[_FactsCall] = []
        if not self._cluster:
            for start in range(0, len(requests), _FACTS_PER_CALL):
                call = _FactsCall(self.keys)
                call.extend(range(start, min(start + _FACTS_PER_CALL, len(requests))), requests)
                calls.append(call.seal())
            return calls
        by_slot: dict[int, list[int]] = {}
        slots: dict[str, int] = {}
        for position, request in enumerate(requests):
            slot = slots.get(request.clinic_id)
            if slot is None:
                slot = slots[request.clinic_id] = key_slot(self.keys.of(request.clinic_id).clinic.encode())
            by_slot.setdefault(slot, []).append(position)
        for positions in by_slot.values():
            for start in range(0, len(positions), _FACTS_PER_CALL):
                call = _FactsCall(self.keys)
                call.extend(positions[start : start + _FACTS_PER_CALL], requests)
                calls.append(call.seal())
        return calls

    def _pipelined_facts(self, calls: Sequence[_FactsCall]) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for call in calls:
            lua.FACTS_MANY.queue(pipe, call.keys, call.args)
        return pipe.execute(raise_on_error=False)

    # -- reads -------------------------------------------------------------------------

    def get_clinic(self, clinic_id: str) -> Clinic | None:
        with _reachable():
            text = self.client.get(self.keys.of(clinic_id).clinic)
        return None if text is None else load_clinic(clinic_id, text)

    def list_case_types(self, clinic_id: str) -> list[CaseType]:
        with _reachable():
            stored = cast("dict[str, str]", self.client.hgetall(self.keys.of(clinic_id).types))
        return [load_case_type(clinic_id, case_type_id, stored[case_type_id]) for case_type_id in sorted(stored)]

    def resident_access(self, clinic_id: str, pnr: str) -> ResidentAccess | None:
        with _reachable():
            fields = cast("dict[str, str]", self.client.hgetall(self.keys.of(clinic_id).resident(pnr)))
        return load_resident(clinic_id, pnr, fields)

    def page_residents(self, query: ResidentQuery) -> list[ResidentAccess]:
        keys = self.keys.of(query.clinic_id)
        ranges = _prefix_ranges(query.digits_prefix)
        needle = None if query.name_contains is None else query.name_contains.casefold()
        batch = query.limit if needle is None else max(query.limit, _NAME_SEARCH_BATCH)
        after = query.after
        page: list[ResidentAccess] = []
        while True:
            bounds = _clip(ranges, after)
            if not bounds:
                return page
            with _reachable():
                flat = lua.PAGE(self.client, (keys.residents,), (keys.resident_prefix, batch, *bounds))
            for pnr, pairs in zip(flat[::2], flat[1::2], strict=True):
                access = load_resident(query.clinic_id, pnr, dict(zip(pairs[::2], pairs[1::2], strict=True)))
                if access is None or (needle is not None and not _name_matches(access, needle)):
                    continue
                page.append(access)
                if len(page) >= query.limit:
                    return page
            if len(flat) < 2 * batch:
                return page
            after = flat[-2]

    # -- the change feed ---------------------------------------------------------------

    def read_events(self, after: str | None, limit: int, clinic_id: str | None) -> list[Event]:
        start = None if after is None else parse_event_id(after)
        if clinic_id is not None:
            with _reachable():
                entries = cast(
                    _Entries,
                    self.client.xrange(
                        self.keys.of(clinic_id).events, min=_start(start, clinic_id), max="+", count=limit
                    ),
                )
            return [load_event(event_id(sid, clinic_id), clinic_id, fields["e"]) for sid, fields in entries]
        with _reachable():
            return self._read_all(start, limit)

    def _read_all(self, start: Position | None, limit: int) -> list[Event]:
        """Merge every clinic's stream up to a horizon that no later commit can undercut.

        Every primary's clock is read first; an event stamped at or after the earliest
        of them may still be joined by an earlier-stamped one elsewhere, so it waits
        for a later read. Events stamped before it are all committed and visible.
        """
        merged: list[tuple[Position, str, str]] = []
        for _ in range(_HORIZON_ATTEMPTS):
            horizon = self._horizon()
            clinics = sorted(cast("set[str]", self.client.smembers(self.keys.clinics)))
            merged, waiting = self._merge(clinics, start, limit, horizon)
            if not waiting or len(merged) >= limit:
                break
            time.sleep(min((waiting - horizon + 1) / 1e6, 0.05))
        return [load_event(event_id(sid, pos.clinic_id), pos.clinic_id, text) for pos, sid, text in merged]

    def _merge(
        self, clinics: Sequence[str], start: Position | None, limit: int, horizon: int
    ) -> tuple[list[tuple[Position, str, str]], int]:
        """The first *limit* events after *start* stamped before *horizon*, in feed order.

        Reads each stream a few entries at a time (about ``limit`` over the number of
        clinics, doubling for a stream that runs dry before the others), so one call reads
        about ``limit`` entries however many clinics there are, not ``limit`` per clinic.
        An entry is handed out only while every stream not yet exhausted still has one
        waiting: whatever such a stream yields later sorts after it.

        :returns: the events, and the latest stamp at or past the horizon seen (0: none).
        """
        size = dict.fromkeys(clinics, max(2, -(-limit // max(1, len(clinics))) + 1))
        cursor = {clinic_id: _start(start, clinic_id) for clinic_id in clinics}
        held = dict.fromkeys(clinics, 0)  # entries of each clinic in the heap
        open_ = set(clinics)  # streams that may still yield entries before the horizon
        heap: list[tuple[Position, str, str]] = []
        out: list[tuple[Position, str, str]] = []
        waiting = 0
        due = list(clinics)
        while True:
            if due:
                pipe = self.client.pipeline(transaction=False)
                for clinic_id in due:
                    key = self.keys.of(clinic_id).events
                    pipe.xrange(key, min=cursor[clinic_id], max="+", count=size[clinic_id])
                streams: list[_Entries] = pipe.execute()
                for clinic_id, entries in zip(due, streams, strict=True):
                    if len(entries) < size[clinic_id]:
                        open_.discard(clinic_id)  # read to its end
                    else:
                        cursor[clinic_id] = "(" + entries[-1][0]
                        size[clinic_id] = min(limit, size[clinic_id] * 2)
                    for sid, fields in entries:
                        micros, _, seq = sid.partition("-")
                        if int(micros) >= horizon:
                            waiting = max(waiting, int(micros))
                            open_.discard(clinic_id)  # the rest lie past the horizon too
                            break
                        heapq.heappush(heap, (Position(int(micros), int(seq), clinic_id), sid, fields["e"]))
                        held[clinic_id] += 1
                due = []
            while heap and len(out) < limit:
                clinic_id = heap[0][0].clinic_id
                if held[clinic_id] == 1 and clinic_id in open_:
                    due.append(clinic_id)  # its next entries may sort before the others' heads
                    break
                out.append(heapq.heappop(heap))
                held[clinic_id] -= 1
            if not due or len(out) >= limit:
                return out, waiting

    def _horizon(self) -> int:
        """The earliest primary clock, in microseconds."""
        if isinstance(self.client, RedisCluster):
            clocks = self.client.time(target_nodes=RedisCluster.PRIMARIES)
            readings = list(clocks.values()) if isinstance(clocks, dict) else [clocks]
        else:
            readings = [self.client.time()]
        return min(seconds * 1_000_000 + micros for seconds, micros in readings)

    # -- changes -----------------------------------------------------------------------

    def apply(self, changeset: Changeset) -> Event:
        clinic_id = changeset.event.clinic_id
        keys = self.keys.of(clinic_id)
        key_names, ops, foreign = _plan(changeset, keys)
        key_names[5] = keys.replay_prefix + uuid.uuid4().hex
        checks = len(changeset.preconditions)
        event_json = dump_event(changeset.event)
        with _reachable():
            if foreign:
                verdicts = self._check_elsewhere([precondition for _, precondition in foreign])
                for (position, _), holds in zip(foreign, verdicts, strict=True):
                    ops[position] = "OK" if holds else "NO"
            if clinic_id not in self._indexed:
                self._index(clinic_id)
            while True:
                flag = "1" if clinic_id in self._indexed else "0"
                reply = lua.APPLY(
                    self.client, key_names, (flag, event_json, keys.resident_prefix, checks, REPLAY_SECONDS, *ops)
                )
                if reply[0] != "register":
                    break
                self._indexed.discard(clinic_id)  # the index lost this clinic (data loss): add it again
                self._index(clinic_id)
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
        plan = _ImportPlan(batch, keys)
        plan.key_names[5] = keys.replay_prefix + uuid.uuid4().hex
        events = "\n".join(dump_event(draft) for draft in batch.events)
        with _reachable():
            while True:
                flag = "1" if clinic_id in self._indexed else "0"
                reply = lua.IMPORT(self.client, plan.key_names, (flag, *plan.head, events))
                if reply[0] != "register":
                    break
                self._index(clinic_id)
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
            field = _field(key)
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

    def _index(self, clinic_id: str) -> None:
        self.client.sadd(self.keys.clinics, clinic_id)
        self._indexed.add(clinic_id)


class _FactsCall:
    """One FACTS_MANY call: its requests (of one hash slot on a cluster), its arguments, its reply."""

    def __init__(self, keys: KeySchema) -> None:
        self._keys = keys
        self.clinics: dict[str, int] = {}  # clinic id -> its 1-based index in the call
        self.pairs: dict[tuple[str, str], int] = {}  # (clinic id, case type id) -> its 1-based index
        self.positions: list[int] = []
        self.pnrs: list[str] = []
        self.codes: list[int] = []  # each request's pair
        self.keys: tuple[str, ...] = ()
        self.args: list[str] = []

    def extend(self, positions: Iterable[int], requests: Sequence[FactsRequest]) -> None:
        clinics, pairs = self.clinics, self.pairs
        for position in positions:
            request = requests[position]
            pnr, clinic_id, case_type_id = request.pnr, request.clinic_id, request.case_type_id
            pair = (clinic_id, case_type_id)
            code = pairs.get(pair)
            if code is None:
                clinics.setdefault(clinic_id, len(clinics) + 1)
                code = pairs[pair] = len(pairs) + 1
            self.positions.append(position)
            self.pnrs.append(pnr)
            self.codes.append(code)

    def seal(self) -> _FactsCall:
        """Build the call's keys and arguments, once every request is added."""
        of = self._keys.of
        clinics, pairs = self.clinics, self.pairs
        self.keys = (of(next(iter(clinics))).clinic,)
        # The script cuts identity numbers at every 12th byte: anything else (never a stored
        # number) is sent as 12 spaces, a resident key no record is stored under.
        pnrs = "".join(p if len(p) == 12 and p.isascii() else _NO_RESIDENT for p in self.pnrs)
        self.args = [
            str(len(clinics)),
            *(of(clinic_id).base for clinic_id in clinics),
            str(len(pairs)),
            ",".join([str(clinics[clinic_id]) for clinic_id, _ in pairs]),
            *(case_type_id for _, case_type_id in pairs),
            pnrs,
            ",".join(map(str, self.codes)),
        ]
        return self

    def unpack(
        self, reply: Sequence[str], persons: dict[str, PersonalIdentityNumber], facts: list[DecisionFacts]
    ) -> None:
        """Fill *facts* at this call's positions from its reply."""
        heads = reply[0].split("\n")
        records: list[Any] = json.loads(reply[1])
        clinics = [
            load_clinic(clinic_id, text) if text else None
            for clinic_id, text in zip(self.clinics, heads, strict=False)  # the case types follow
        ]
        # Per pair (indexed by its code; 0 unused): the facts without a record, and the case type.
        bare: list[DecisionFacts] = [_NO_FACTS]
        case_types: list[CaseType | None] = [None]
        for (clinic_id, case_type_id), text in zip(self.pairs, heads[len(clinics) :], strict=True):
            clinic = clinics[self.clinics[clinic_id] - 1]
            case_type = load_case_type(clinic_id, case_type_id, text) if text else None
            bare.append(_NO_FACTS if clinic is None else DecisionFacts(clinic, case_type, None, None))
            case_types.append(case_type)
        from_digits = PersonalIdentityNumber.from_digits
        for position, pnr, code, data in zip(self.positions, self.pnrs, self.codes, records, strict=True):
            if data is None:
                facts[position] = bare[code]
                continue
            # The script reads a record only for a case type it found, so both are known here.
            clinic, case_type = bare[code].clinic, case_types[code]
            assert clinic is not None
            assert case_type is not None
            person = persons.get(pnr)
            if person is None:
                person = persons[pnr] = from_digits(pnr)
            if case_type.restricted:
                grant = grant_from(clinic.id, person, case_type.id, data)
                facts[position] = DecisionFacts(clinic, case_type, None, grant)
            else:
                facts[position] = DecisionFacts(clinic, case_type, approval_from(clinic.id, person, data), None)


def _start(start: Position | None, clinic_id: str) -> str:
    return "-" if start is None else start.stream_start(clinic_id)


def _name_matches(access: ResidentAccess, needle: str) -> bool:
    names = [access.approval.name] if access.approval is not None else []
    names.extend(g.name for g in access.grants)
    return any(name is not None and needle in name.casefold() for name in names)


def _prefix_ranges(prefix: str | None) -> list[tuple[str, str | None]]:
    """Disjoint ascending ``[low, high)`` ranges of the numbers matching a digit prefix.

    A prefix matches the start of the 12-digit form or of the 10-digit form (digits
    from the third on), so besides ``prefix`` itself every century ``00``-``99``
    followed by the prefix is a candidate. ``high=None`` means unbounded.
    """
    if not prefix:
        return [("", None)]
    starts = {prefix}
    if len(prefix) <= 10:
        starts.update(f"{century:02d}{prefix}" for century in range(100))
    ranges: list[tuple[str, str | None]] = []
    for low in sorted(starts):
        high = low + ":"  # ':' follows '9': every digit string starting with `low` sorts below it
        last = ranges[-1] if ranges else None
        if last is not None and last[1] is not None and low <= last[1]:
            ranges[-1] = (last[0], max(last[1], high))
        else:
            ranges.append((low, high))
    return ranges


def _clip(ranges: list[tuple[str, str | None]], after: str | None) -> list[str]:
    """ZRANGEBYLEX min/max pairs for the parts of *ranges* above *after*."""
    bounds: list[str] = []
    for low, high in ranges:
        if after is not None and high is not None and high <= after:
            continue
        if after is not None and after >= low:
            bounds.append("(" + after)
        else:
            bounds.append("[" + low if low else "-")
        bounds.append("+" if high is None else "(" + high)
    return bounds


def _field(key: Key) -> str:
    """The hash field a key's record is stored under (unused for clinics)."""
    if isinstance(key, ClinicKey):
        return ""
    if isinstance(key, CaseTypeKey):
        return key.case_type_id
    if isinstance(key, ApprovalKey):
        return "a"
    return "g:" + key.case_type_id


def _plan(changeset: Changeset, keys: ClinicKeys) -> tuple[list[str], list[str], list[tuple[int, Precondition]]]:
    """The APPLY script's keys and ops for a changeset (slot 5 is left for the replay key).

    Preconditions on other clinics' keys get a placeholder op, listed with its position
    in the ops, to be replaced by ``OK`` or ``NO`` once checked.
    """
    clinic_id = changeset.event.clinic_id
    key_names = [keys.clinic, keys.types, keys.uses, keys.residents, keys.events, ""]
    positions: dict[str, str] = {}

    def resident(pnr: str) -> str:
        name = keys.resident(pnr)
        if name not in positions:
            key_names.append(name)
            positions[name] = str(len(key_names))  # Lua indexes from 1
        return positions[name]

    def same_clinic(key: Key) -> None:
        if key.clinic_id != clinic_id:
            raise InvalidRequest(
                "changeset_spans_clinics",
                "Every record a changeset writes must belong to the event's clinic.",
                "Alla nycklar i en ändring måste höra till händelsens mottagning.",
            )

    ops: list[str] = []
    foreign: list[tuple[int, Precondition]] = []
    for precondition in changeset.preconditions:
        if precondition.key.clinic_id != clinic_id:
            foreign.append((len(ops), precondition))
            ops.extend(("NO", "", "", ""))
            continue
        ops.extend(_check_op(precondition, resident))
    for write in changeset.writes:
        key = write.key if isinstance(write, Delete) else key_of(write.record)
        same_clinic(key)
        ops.extend(_write_op(write, key, resident))
    return key_names, ops, foreign


class _ImportPlan:
    """The IMPORT script's keys (slot 5 left for the replay key) and arguments but the events.

    Records are grouped by resident (one ``HSET`` each); ``order[j]`` is the batch index
    of the record at shape position ``j``.
    """

    def __init__(self, batch: ImportBatch, keys: ClinicKeys) -> None:
        clinic_id = batch.clinic_id
        if len(batch.events) != len(batch.records):
            raise ValueError("an import batch needs exactly one event per record")
        self.case_types = batch.case_type_ids()
        codes = {case_type_id: str(n) for n, case_type_id in enumerate(self.case_types, 1)}
        granted = dict.fromkeys(self.case_types, 0)
        by_resident: dict[str, list[int]] = {}
        fields: list[str] = []
        for index, record in enumerate(batch.records):
            if record.clinic_id != clinic_id:
                raise InvalidRequest(
                    "import_mixed_clinics",
                    "Every imported record must belong to the clinic imported into.",
                    "Alla importerade poster måste höra till mottagningen som importeras till.",
                )
            field = codes[record.case_type_id] if isinstance(record, Grant) else "0"
            held = by_resident.setdefault(record.pnr.digits, [])
            # A record twice would be written once but counted twice in the grant counters.
            if any(fields[other] == field for other in held):
                raise InvalidRequest(
                    "import_duplicate",
                    "The import holds the same approval or grant twice.",
                    "Importen innehåller samma godkännande eller utdelning två gånger.",
                )
            if isinstance(record, Grant):
                granted[record.case_type_id] += 1
            fields.append(field)
            held.append(index)
        records = batch.records
        self.key_names = [keys.clinic, keys.types, keys.uses, keys.residents, keys.events, ""]
        self.key_names.extend(keys.resident(pnr) for pnr in by_resident)
        self.order = [index for indices in by_resident.values() for index in indices]
        shape = " ".join(",".join(fields[index] for index in indices) for indices in by_resident.values())
        # dump_record's JSON never holds a raw newline: the script splits on it.
        texts = "\n".join(dump_record(records[index]) for index in self.order)
        self.head: list[str | int] = [REPLAY_SECONDS, keys.resident_prefix, len(self.case_types)]
        for case_type_id in self.case_types:
            self.head += (case_type_id, granted[case_type_id])
        self.head += (shape, texts)


def _check_op(precondition: Precondition, resident: Callable[[str], str]) -> tuple[str, str, str, str]:
    key = precondition.key
    if isinstance(precondition, MustExist | MustBeAbsent):
        sign = "+" if isinstance(precondition, MustExist) else "-"
        if isinstance(key, ClinicKey):
            return ("C" + sign, "", "", "")
        if isinstance(key, CaseTypeKey):
            return ("T" + sign, key.case_type_id, "", "")
        if isinstance(key, ApprovalKey):
            return ("F" + sign, resident(key.pnr), "a", "")
        return ("F" + sign, resident(key.pnr), "g:" + key.case_type_id, "")
    if isinstance(precondition, MustHaveVersion):
        return ("V", resident(precondition.key.pnr), "g:" + precondition.key.case_type_id, str(precondition.version))
    if isinstance(precondition, CaseTypeUnused):
        return ("U", precondition.key.case_type_id, "", "")
    assert isinstance(precondition, CaseTypeRestricted)
    return ("R", precondition.key.case_type_id, "", "")


def _write_op(write: Write, key: Key, resident: Callable[[str], str]) -> tuple[str, str, str, str]:
    if isinstance(write, Put):
        text = dump_record(write.record)
        if isinstance(key, ClinicKey):
            return ("PC", text, "", "")
        if isinstance(key, CaseTypeKey):
            return ("PT", key.case_type_id, text, "")
        if isinstance(key, ApprovalKey):
            return ("PA", resident(key.pnr), text, "")
        return ("PG", resident(key.pnr), key.case_type_id, text)
    if isinstance(key, ClinicKey):
        return ("DC", "", "", "")
    if isinstance(key, CaseTypeKey):
        return ("DT", key.case_type_id, "", "")
    if isinstance(key, ApprovalKey):
        return ("DA", resident(key.pnr), "", "")
    return ("DG", resident(key.pnr), key.case_type_id, "")
