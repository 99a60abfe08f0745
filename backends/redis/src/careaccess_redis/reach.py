"""The resident's side on Redis and Redis Cluster (:class:`careaccess.reachstore.ReachStore`).

Every key of a clinic shares the clinic's hash tag, so an index *across* clinics lies in
other hash slots, and on Redis Cluster no script can write it atomically with the
clinic. The indexes are therefore kept as **supersets**, and nothing is trusted that
the clinic's own keys do not confirm:

==========================================  ======  ===============================================
key (default prefix ``careaccess:``)        type    holds
==========================================  ======  ===============================================
``careaccess:{r:<12 digits>}:clinics``      set     ids of every clinic where the resident was ever
                                                    given an approval or a grant
``careaccess:{reach}:a:<kind>[:<place>]``   set     ids of every clinic whose service area ever had
                                                    a rule under that :func:`~careaccess.reach.area_keys`
                                                    entry (``country``, ``region:01``,
                                                    ``municipality:0180``; and ``touches:01`` for
                                                    any rule naming region 01)
``careaccess:{reach}:all``                  zset    every clinic id ever written (score 0, by id)
``careaccess:{reach}:ready``                string  set once the indexes cover every stored record
==========================================  ======  ===============================================

The promise, and why it holds:

- **Entries are added before the clinic is written.** :meth:`RedisReach.prepare` runs
  before the changeset's script; if it fails, nothing is written. A crash between the
  two leaves an entry for a record that does not exist: an *extra* candidate.
- **Entries are never removed on the write path.** Removing one safely would need the
  clinic's slot and the index's slot in one step. A revoked approval, a removed grant
  or a narrowed service area leaves a stale entry: again an extra candidate.
- **Every candidate is re-read from the clinic's own keys** and judged by
  :func:`careaccess.decision.decide`; the directory re-checks each clinic with
  :func:`careaccess.reachstore.clinic_matches`. An extra candidate costs one read
  and changes no answer. On one server a single script (:data:`READ_REACH`) reads
  the resident's index entries and up to 200 candidate clinics at one instant (one
  round trip); candidates beyond 200, and every candidate on a cluster, are read by
  one :data:`READ_CLINIC` call per group of up to 200 clinics of one hash slot, all
  in one pipeline (on a cluster, after the indexes were read in one pipeline). Each
  call is atomic, so each clinic is read at one instant.

So after any crash and recovery, ``clinics_for`` never lets a resident reach a clinic
that ``decide`` denies (every answer *is* ``decide`` on the clinic's facts) and never
hides one it allows (every record that exists was indexed before it was written). What
is not promised: one snapshot across clinics; each clinic is read at one instant (on
one server, the index and up to 200 clinics at the same instant), as separate
``decide`` calls would be.
Stale entries are bounded by the history of approvals, grants and service areas;
:meth:`RedisReach.build` can be run again at any time (it only adds).

An empty store is marked ``ready`` at its first write (before anything is written). A
store written by a version without these indexes has no ``ready`` key; until
:meth:`RedisReach.build` has run (``careaccess db upgrade``), the store answers through
the core's fallback, slowly and correctly. Every writer must keep the indexes: a process
of an older version writing to the same store could leave records unindexed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Final, cast

from careaccess.identity import PersonalIdentityNumber
from careaccess.models import Approval, CaseType, Clinic, Grant
from careaccess.reach import AreaKey, ReachFacts, area_keys
from careaccess.reachstore import ClinicQuery, ReachRequest, clinic_matches
from careaccess.store import Put, Write
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster
from redis.crc import key_slot

from careaccess_redis import scripting
from careaccess_redis.connection import Client, reachable
from careaccess_redis.keys import KeySchema
from careaccess_redis.records import load_approval, load_case_type, load_clinic, load_grant
from careaccess_redis.steps import Batch, Call, Command, Steps, command, run

__all__ = ["ADD_TO_SETS", "READ_CLINIC", "READ_REACH", "RedisReach"]

#: Clinic ids read per round trip while paging the directory.
_BATCH: Final = 500
#: Residents indexed per pipeline by :meth:`RedisReach.build`.
_BUILD_BATCH: Final = 1000

#: Clinics read per script call (each call is atomic, so each clinic is read at one instant).
_CLINICS_PER_CALL: Final = 200

# Everything of some clinics a resident's decisions read, atomically (on a cluster, of
# clinics in one hash slot), as ONE string: the smallest reply to send and to parse.
# KEYS: clinic, types, resident hash, for each clinic in turn. Per clinic one chunk,
# chunks joined by RS (\30): the clinic's JSON, LF, its types hash (field, value, ...)
# joined by US (\31), LF, the resident's ``a`` and ``g:*`` fields likewise; an empty
# chunk for a clinic that does not exist. Stored JSON never holds a raw control
# character and ids are printable, so the separators cannot occur inside a part.
READ_CLINIC = scripting.Script(
    r"""
local out = {}
for i = 1, #KEYS, 3 do
  local clinic = redis.call('GET', KEYS[i])
  if clinic then
    local fields = redis.call('HGETALL', KEYS[i + 2])
    local kept = {}
    for j = 1, #fields, 2 do
      local name = fields[j]
      if name == 'a' or string.sub(name, 1, 2) == 'g:' then
        kept[#kept + 1] = name
        kept[#kept + 1] = fields[j + 1]
      end
    end
    out[#out + 1] = clinic .. '\n' .. table.concat(redis.call('HGETALL', KEYS[i + 1]), '\31')
      .. '\n' .. table.concat(kept, '\31')
  else
    out[#out + 1] = ''
  end
end
return table.concat(out, '\30')
"""
)


# One server only (see load_reach_steps): a resident's candidates from the indexes and,
# for up to ARGV[3] of them, everything READ_CLINIC returns, at one instant.
# KEYS: the resident's clinic set, then the area sets. ARGV: key prefix, 12 digits, limit.
# The clinics' own keys are named here as KeySchema does (prefix, hash tag with %, { and }
# escaped as in keys.hash_tag): they cannot be known before the sets are read, which is
# why a cluster takes the two-step path. Returns the ids beyond the limit (joined by
# US), GS, then a chunk per existing clinic read: its id, LF, READ_CLINIC's chunk;
# chunks joined by RS.
READ_REACH = scripting.Script(
    r"""
local seen, ids = {}, {}
for k = 1, #KEYS do
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[k])) do
    if not seen[id] then
      seen[id] = true
      ids[#ids + 1] = id
    end
  end
end
table.sort(ids)
local limit = tonumber(ARGV[3])
local out, rest = {}, {}
for n, id in ipairs(ids) do
  if n > limit then
    rest[#rest + 1] = id
  else
    local tag = '%'
    if id ~= '' then
      tag = (string.gsub((string.gsub((string.gsub(id, '%%', '%%25')), '{', '%%7B')), '}', '%%7D'))
    end
    local base = ARGV[1] .. '{' .. tag .. '}:'
    local clinic = redis.call('GET', base .. 'clinic')
    if clinic then
      local fields = redis.call('HGETALL', base .. 'r:' .. ARGV[2])
      local kept = {}
      for j = 1, #fields, 2 do
        local name = fields[j]
        if name == 'a' or string.sub(name, 1, 2) == 'g:' then
          kept[#kept + 1] = name
          kept[#kept + 1] = fields[j + 1]
        end
      end
      out[#out + 1] = id .. '\n' .. clinic .. '\n' .. table.concat(redis.call('HGETALL', base .. 'types'), '\31')
        .. '\n' .. table.concat(kept, '\31')
    end
  end
end
return table.concat(rest, '\31') .. '\29' .. table.concat(out, '\30')
"""
)


# Adds one member to each of many sets: the resident-side entries of a write, in one call
# on one server instead of a command each (a bulk import adds about a thousand). KEYS: the
# sets. ARGV: the member of each, in order. Reply: how many sets were given.
ADD_TO_SETS = scripting.Script(
    r"""
for i, key in ipairs(KEYS) do
  redis.call('SADD', key, ARGV[i])
end
return #KEYS
"""
)


def _place_keys(clinic: Clinic) -> list[AreaKey]:
    keys = list(area_keys(clinic.service_area.rules))
    keys += [("touches", region) for region in sorted({r.region for r in clinic.service_area.rules if r.region})]
    return keys


class RedisReach:
    """The resident's-side indexes of one store (see the module's promise)."""

    def __init__(self, client: Client, schema: KeySchema) -> None:
        self.client = client
        self.schema = schema
        base = f"{schema.prefix}{{reach}}:"
        self.all = base + "all"
        self.ready = base + "ready"
        self._area = base + "a:"
        self._ready = False  # once seen ready, always ready (the key is never removed)

    def resident(self, digits: str) -> str:
        """The key of a resident's clinic set (its own hash slot)."""
        return f"{self.schema.prefix}{{r:{digits}}}:clinics"

    def area(self, key: AreaKey) -> str:
        return self._area + ":".join(key)

    # -- writes ------------------------------------------------------------------------

    def prepare(self, writes: Sequence[Write]) -> None:
        """Add the index entries of every record *writes* put; call before writing them.

        :raises StoreUnavailable: nothing was written to the clinic.
        """
        run(self.client, self.prepare_steps(writes))

    def prepare_steps(self, writes: Sequence[Write]) -> Steps[None]:
        """The steps of :meth:`prepare` (see :mod:`careaccess_redis.steps`)."""
        yield from self.is_ready_steps()  # the first write to an empty store marks the indexes ready before writing
        commands: dict[tuple[str, ...], None] = {}  # in order, each once
        residents: dict[tuple[str, str], None] = {}  # (a resident's set, the clinic id)
        for write in writes:
            if not isinstance(write, Put):
                continue
            record = write.record
            if isinstance(record, Clinic):
                commands["ZADD", self.all, "0", record.id] = None
                commands.update((("SADD", self.area(key), record.id), None) for key in _place_keys(record))
            elif isinstance(record, Approval | Grant):
                residents[self.resident(record.pnr.digits), record.clinic_id] = None
        ops: list[Command | Call] = [Command(c) for c in commands]
        if residents and isinstance(self.client, (RedisCluster, AsyncRedisCluster)):
            # Each resident's set has a hash slot of its own: a command each, routed by the pipeline.
            ops.extend(Command(("SADD", key, clinic_id)) for key, clinic_id in residents)
        elif residents:
            # One server: the residents' entries (a bulk import brings about a thousand) in one call.
            ops.append(Call(ADD_TO_SETS, [key for key, _ in residents], [clinic_id for _, clinic_id in residents]))
        if ops:
            yield Batch(tuple(ops))

    def _send(self, commands: Iterable[tuple[str, ...]]) -> None:
        pipe = self.client.pipeline(transaction=False)
        queued = 0
        for args in commands:
            scripting.execute(pipe, *args)
            queued += 1
        if queued:
            with reachable():
                pipe.execute()

    def build(self) -> int:
        """Index every stored clinic and listed resident, then mark the indexes ready.

        Safe while the store is in use: writers add their entries before writing, so a
        record written during the build is indexed by its writer.

        :returns: how many clinics were indexed.
        """
        with reachable():
            clinic_ids = sorted(cast("set[str]", self.client.smembers(self.schema.clinics)))
        for clinic_id in clinic_ids:
            keys = self.schema.of(clinic_id)
            with reachable():
                text = cast("str | None", self.client.get(keys.clinic))
            if text is None:
                continue
            clinic = load_clinic(clinic_id, text)
            self._send(
                [("ZADD", self.all, "0", clinic_id), *(("SADD", self.area(k), clinic_id) for k in _place_keys(clinic))]
            )
            start = 0
            while True:
                with reachable():
                    members = cast("list[str]", self.client.zrange(keys.residents, start, start + _BUILD_BATCH - 1))
                self._send(("SADD", self.resident(digits), clinic_id) for digits in members)
                if len(members) < _BUILD_BATCH:
                    break
                start += _BUILD_BATCH
        with reachable():
            self.client.set(self.ready, "1")
        self._ready = True
        return len(clinic_ids)

    def is_ready(self) -> bool:
        """Whether the indexes cover the store; an empty store is marked ready at once."""
        return self._ready or run(self.client, self.is_ready_steps())

    def is_ready_steps(self) -> Steps[bool]:
        """The steps of :meth:`is_ready`."""
        if self._ready:
            return True
        if not (yield command("EXISTS", self.ready)):
            if (yield command("EXISTS", self.schema.clinics)):
                return False
            # Nothing stored yet: every record from now on is indexed by its writer.
            yield command("SET", self.ready, "1", "NX")
        self._ready = True
        return True

    # -- reads -------------------------------------------------------------------------

    def load_reach(self, request: ReachRequest) -> ReachFacts:
        """The candidates and their clinics' keys: one script on one server, two pipelines on a cluster."""
        return run(self.client, self.load_reach_steps(request))

    def load_reach_steps(self, request: ReachRequest) -> Steps[ReachFacts]:
        """The steps of :meth:`load_reach`.

        On one server a single script (:data:`READ_REACH`) reads the indexes and up to
        ``_CLINICS_PER_CALL`` candidate clinics at one instant: one round trip. On a
        cluster, where the indexes and the clinics lie in other slots, the indexes are
        read first (one pipeline) and the clinics then by one :data:`READ_CLINIC` call
        per slot and group (one pipeline, which redis-py sends per node).
        """
        facts = _Collected(request.digits)
        if isinstance(self.client, (RedisCluster, AsyncRedisCluster)):
            listed, placed = yield Batch(
                (
                    command("SMEMBERS", self.resident(request.digits)),
                    command("SUNION", *(self.area(key) for key in request.area)),
                )
            )
            rest: list[str] = sorted(set(listed) | set(placed))
        else:
            keys = (self.resident(request.digits), *(self.area(key) for key in request.area))
            blob = yield Call(READ_REACH, keys, (self.schema.prefix, request.digits, _CLINICS_PER_CALL))
            head, _, body = cast("str", blob).partition("\x1d")
            for entry in body.split("\x1e") if body else ():
                clinic_id, _, chunk = entry.partition("\n")
                facts.add(clinic_id, chunk)
            rest = head.split("\x1f") if head else []
        if rest:
            groups = self._groups(rest)
            calls = tuple(
                Call(
                    READ_CLINIC,
                    tuple(
                        key
                        for keys in (self.schema.of(c) for c in group)
                        for key in (keys.clinic, keys.types, keys.resident(request.digits))
                    ),
                )
                for group in groups
            )
            blobs = yield Batch(calls)
            for group, blob in zip(groups, blobs, strict=True):
                for clinic_id, chunk in zip(group, blob.split("\x1e"), strict=True):
                    facts.add(clinic_id, chunk)
        return facts.done()

    def _groups(self, clinic_ids: Sequence[str]) -> list[list[str]]:
        """The clinics in calls of at most ``_CLINICS_PER_CALL``, of one hash slot each on a cluster."""
        if isinstance(self.client, (RedisCluster, AsyncRedisCluster)):
            by_slot: dict[int, list[str]] = {}
            for clinic_id in clinic_ids:
                by_slot.setdefault(key_slot(self.schema.of(clinic_id).clinic.encode()), []).append(clinic_id)
            parts = list(by_slot.values())
        else:
            parts = [list(clinic_ids)]
        return [part[i : i + _CLINICS_PER_CALL] for part in parts for i in range(0, len(part), _CLINICS_PER_CALL)]

    def list_clinics(self, query: ClinicQuery) -> list[Clinic]:
        """Ids from the ``all`` index (or the query's own), narrowed by the place sets, each re-checked."""
        return run(self.client, self.list_clinics_steps(query))

    def list_clinics_steps(self, query: ClinicQuery) -> Steps[list[Clinic]]:
        """The steps of :meth:`list_clinics`."""
        allowed = yield from self._places(query)
        page: list[Clinic] = []
        after = query.after
        fixed = None if query.clinic_ids is None else sorted(query.clinic_ids)
        while len(page) < query.limit:
            if fixed is not None:
                ids = [i for i in fixed if after is None or i > after][:_BATCH]
            else:
                low = "-" if after is None else "(" + after
                ids = cast("list[str]", (yield command("ZRANGEBYLEX", self.all, low, "+", "LIMIT", 0, _BATCH)))
            if not ids:
                break
            wanted = [i for i in ids if allowed is None or i in allowed]
            for clinic in (yield from self._clinics(wanted)):
                if clinic_matches(clinic, query):
                    page.append(clinic)
                    if len(page) >= query.limit:
                        break
            if len(ids) < _BATCH:
                break
            after = ids[-1]
        return page

    def _places(self, query: ClinicQuery) -> Steps[set[str] | None]:
        sets: list[str] = []
        if query.region is not None:
            sets.append(self.area(("touches", query.region)))
        if query.municipality is not None:
            sets.append(self.area(("municipality", query.municipality)))
            sets.append(self.area(("region", query.municipality[:2])))
        if not sets:
            return None
        return set(cast("set[str]", (yield command("SUNION", *sets))))

    def _clinics(self, clinic_ids: Sequence[str]) -> Steps[list[Clinic]]:
        if not clinic_ids:
            return []
        texts = yield Batch(tuple(command("GET", self.schema.of(clinic_id).clinic) for clinic_id in clinic_ids))
        return [load_clinic(i, text) for i, text in zip(clinic_ids, texts, strict=True) if text]


class _Collected:
    """A resident's facts, gathered from the scripts' chunks."""

    def __init__(self, digits: str) -> None:
        self.person = PersonalIdentityNumber.from_digits(digits)
        self.clinics: list[Clinic] = []
        self.case_types: list[CaseType] = []
        self.approvals: list[Approval] = []
        self.grants: list[Grant] = []

    def add(self, clinic_id: str, chunk: str) -> None:
        """One clinic's chunk (see :data:`READ_CLINIC`); an empty one for a clinic that does not exist."""
        if not chunk:
            return  # an entry written before a change that failed, or of a removed clinic
        text, types, fields = chunk.split("\n")
        clinic, kinds = _clinic_entry(clinic_id, text, types)
        self.clinics.append(clinic)
        self.case_types += kinds
        if fields:
            items = fields.split("\x1f")
            for name, body in zip(items[::2], items[1::2], strict=True):
                if name == "a":
                    self.approvals.append(load_approval(clinic_id, self.person, body))
                else:  # "g:<case type id>"
                    self.grants.append(load_grant(clinic_id, self.person, name[2:], body))

    def done(self) -> ReachFacts:
        return ReachFacts(self.clinics, self.case_types, self.approvals, self.grants)


#: Entries longer than this (ids and texts together) are structured on every read, not cached.
_CACHED_CHARS: Final = 8192


def _clinic_entry(clinic_id: str, text: str, types: str) -> tuple[Clinic, tuple[CaseType, ...]]:
    """A clinic and its case types (by id) from their stored texts.

    *types* is the types hash's fields and values, joined by US.
    """
    if len(clinic_id) + len(text) + len(types) <= _CACHED_CHARS:
        return _cached_entry(clinic_id, text, types)
    return _structure_entry(clinic_id, text, types)


def _structure_entry(clinic_id: str, text: str, types: str) -> tuple[Clinic, tuple[CaseType, ...]]:
    items = types.split("\x1f") if types else []
    pairs = sorted(zip(items[::2], items[1::2], strict=True))
    return load_clinic(clinic_id, text), tuple(load_case_type(clinic_id, type_id, body) for type_id, body in pairs)


# Clinics and case types change rarely: each distinct stored text is structured once (the
# text is the key, so a changed clinic is never served stale).
_cached_entry = functools.lru_cache(maxsize=2048)(_structure_entry)
