"""The Lua scripts the store runs, and how they are called.

Scripts run by SHA (EVALSHA). When a server has lost its script cache (restart,
``SCRIPT FLUSH``, failover) the call fails with NOSCRIPT before doing anything, so the
script is loaded on every primary and the call repeated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Protocol, cast

from redis import Redis
from redis.client import Pipeline
from redis.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.exceptions import NoScriptError

__all__ = [
    "APPLY",
    "FACTS",
    "FACTS_MANY",
    "HORIZON",
    "IMPORT",
    "PAGE",
    "RAISE",
    "REGISTER",
    "SCRIPTS",
    "Script",
    "execute",
    "needs_load",
    "node_of",
    "primaries",
]

Client = Redis | RedisCluster
AnyPipeline = Pipeline | ClusterPipeline


#: Calls of a script (each after loading it) before NOSCRIPT is given up on.
LOAD_ATTEMPTS = 5


class _Executes(Protocol):
    """What redis-py's (untyped) ``execute_command`` is: any command, any reply."""

    def execute_command(self, *args: Any, **options: Any) -> Any: ...


class _Routes(Protocol):
    """redis-py's (untyped) routing helpers of a cluster client."""

    def get_node_from_key(self, key: str) -> ClusterNode: ...

    def get_primaries(self) -> list[ClusterNode]: ...


def node_of(cluster: RedisCluster, key: str) -> ClusterNode:
    """The primary that serves *key*, from the client's slot map."""
    return cast(_Routes, cluster).get_node_from_key(key)


def primaries(cluster: RedisCluster) -> list[ClusterNode]:
    return cast(_Routes, cluster).get_primaries()


def execute(target: Client | AnyPipeline, *args: str | int) -> Any:
    """Send one command; on a pipeline, queue it."""
    return cast(_Executes, target).execute_command(*args)


class Script:
    """A Lua script called by SHA and loaded on demand."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    def __call__(self, client: Client, keys: Sequence[str], args: Sequence[str | int]) -> Any:
        for _ in range(LOAD_ATTEMPTS - 1):
            try:
                return execute(client, "EVALSHA", self.sha, len(keys), *keys, *args)
            except NoScriptError:
                self.load(client)  # the cache can be lost again between load and call: retry a few times
        return execute(client, "EVALSHA", self.sha, len(keys), *keys, *args)

    def queue(self, pipe: AnyPipeline, keys: Sequence[str], args: Sequence[str | int]) -> None:
        """Add a call to *pipe*; check its result with :func:`needs_load`."""
        if isinstance(pipe, ClusterPipeline):
            # Unrouted, a cluster pipeline asks a server (COMMAND GETKEYS) where each EVALSHA goes.
            node = node_of(pipe, keys[0])
            cast(_Executes, pipe).execute_command("EVALSHA", self.sha, len(keys), *keys, *args, target_nodes=node)
        else:
            execute(pipe, "EVALSHA", self.sha, len(keys), *keys, *args)

    def load(self, client: Client) -> None:
        """Load the script (on every primary of a cluster)."""
        client.script_load(self.source)

    def pipelined(self, client: Client, calls: Sequence[tuple[Sequence[str], Sequence[str | int]]]) -> list[Any]:
        """Make many calls in one pipeline (one round trip per server, or per cluster node).

        :returns: the replies, in the order of *calls*.
        :raises RedisError: the first error among the replies.
        """
        results: list[Any] = []
        for attempt in range(LOAD_ATTEMPTS):
            pipe = client.pipeline(transaction=False)
            for keys, args in calls:
                self.queue(pipe, keys, args)
            results = pipe.execute(raise_on_error=False) if calls else []
            if attempt == LOAD_ATTEMPTS - 1 or not needs_load(results):
                break
            self.load(client)
        for result in results:
            if isinstance(result, Exception):
                raise result
        return results


def needs_load(results: Sequence[Any]) -> bool:
    """Whether a pipeline's results (run with ``raise_on_error=False``) hit an unloaded script."""
    return any(isinstance(result, NoScriptError) for result in results)


# Facts for one decision. KEYS: clinic, types, resident hash. ARGV: case type id.
# Reads only the record the case type can use (a grant for a restricted type, else the
# approval) and returns one string, the texts joined by newlines (stored JSON never
# holds a raw newline): "" without the clinic, "<clinic>" without the case type, else
# "<clinic>\n<case type>\n<record or nothing>". One bulk reply is cheaper for the client
# to parse than an array.
FACTS = Script(
    """#!lua flags=no-writes
local clinic = redis.call("GET", KEYS[1])
if not clinic then return "" end
local case_type = redis.call("HGET", KEYS[2], ARGV[1])
if not case_type then return clinic end
local field = "a"
if cjson.decode(case_type).restricted == true then field = "g:" .. ARGV[1] end
return clinic .. "\\n" .. case_type .. "\\n" .. (redis.call("HGET", KEYS[3], field) or "")
"""
)

# Facts for many decisions. KEYS: one key in the slot of every clinic of the call (routes
# the call on a cluster; the script reads by the names in ARGV). ARGV: the number c of
# distinct clinics, their c key bases, the number t of distinct (clinic, case type)
# pairs, for each pair its clinic's 1-based index (one argument, comma-separated), the
# t case type ids, the identity numbers run together (12 bytes each), and for each of
# them its pair's 1-based index (one argument, comma-separated).
#
# Reply: {heads, records}. heads joins by newlines the c clinics, then the t case types
# ("" where absent); records is a JSON array with, per identity number in order, the
# record its case type can use (as FACTS) or null.
FACTS_MANY = Script(
    """#!lua flags=no-writes
local clinics = tonumber(ARGV[1])
local pairs_at = clinics + 2
local heads, found = {}, {}
for c = 1, clinics do
  found[c] = redis.call("GET", ARGV[1 + c] .. "clinic")
  heads[c] = found[c] or ""
end
local fields, residents, t = {}, {}, 0
for owner in string.gmatch(ARGV[pairs_at + 1], "%d+") do
  t = t + 1
  local c, id = tonumber(owner), ARGV[pairs_at + 1 + t]
  local case_type = found[c] and redis.call("HGET", ARGV[1 + c] .. "types", id)
  if case_type then
    heads[clinics + t] = case_type
    if cjson.decode(case_type).restricted == true then fields[t] = "g:" .. id else fields[t] = "a" end
    residents[t] = ARGV[1 + c] .. "r:"
  else
    heads[clinics + t] = ""
  end
end
local pnrs, records, from = ARGV[pairs_at + 2 + t], {}, 1
for code in string.gmatch(ARGV[pairs_at + 3 + t], "%d+") do
  local pair = tonumber(code)
  local field = fields[pair]
  local record = field and redis.call("HGET", residents[pair] .. string.sub(pnrs, from, from + 11), field)
  records[#records + 1] = record or "null"
  from = from + 12
end
return {table.concat(heads, "\\n"), "[" .. table.concat(records, ",") .. "]"}
"""
)

# A page of the resident list. KEYS: residents zset. ARGV: resident key prefix, how
# many, then ZRANGEBYLEX min/max pairs in ascending, disjoint order.
PAGE = Script(
    """#!lua flags=no-writes
local out = {}
local want = tonumber(ARGV[2])
for i = 3, #ARGV, 2 do
  if want <= 0 then break end
  local found = redis.call("ZRANGEBYLEX", KEYS[1], ARGV[i], ARGV[i + 1], "LIMIT", 0, want)
  for _, pnr in ipairs(found) do
    out[#out + 1] = pnr
    out[#out + 1] = redis.call("HGETALL", ARGV[1] .. pnr)
  end
  want = want - #found
end
return out
"""
)

# Apply a changeset. KEYS: clinic, types, uses, residents, events, replay token, the
# floor (see the stamping below), then the resident hashes the ops name by index. ARGV: the index floor
# the caller got by registering the clinic ("-": it has not; then a clinic without a
# stream asks for registration), event JSON, resident key prefix, number of preconditions, replay
# seconds, then ops of four fields each: preconditions first, then writes. "OK" and
# "NO" stand for preconditions on other clinics, checked before the call.
#
# Replies: {"ok", stream id}; {"conflict", n} for the first failing precondition n
# (nothing written); {"register"} when the clinic's first event needs the feed index
# entry first (nothing written).
APPLY = Script(
    """#!lua
local replayed = redis.call("GET", KEYS[6])
if replayed then return {"ok", replayed} end
if ARGV[1] == "-" and redis.call("EXISTS", KEYS[5]) == 0 then return {"register"} end

local checks = tonumber(ARGV[4])
for n = 1, checks do
  local at = 2 + 4 * n
  local op, a, b, c = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  local holds
  if op == "OK" then holds = true
  elseif op == "NO" then holds = false
  elseif op == "C+" then holds = redis.call("EXISTS", KEYS[1]) == 1
  elseif op == "C-" then holds = redis.call("EXISTS", KEYS[1]) == 0
  elseif op == "T+" then holds = redis.call("HEXISTS", KEYS[2], a) == 1
  elseif op == "T-" then holds = redis.call("HEXISTS", KEYS[2], a) == 0
  elseif op == "F+" then holds = redis.call("HEXISTS", KEYS[tonumber(a)], b) == 1
  elseif op == "F-" then holds = redis.call("HEXISTS", KEYS[tonumber(a)], b) == 0
  elseif op == "V" then
    local grant = redis.call("HGET", KEYS[tonumber(a)], b)
    holds = grant and cjson.decode(grant).version == tonumber(c)
  elseif op == "U" then
    local uses = redis.call("HGET", KEYS[3], a)
    holds = not uses or tonumber(uses) <= 0
  elseif op == "R" then
    local case_type = redis.call("HGET", KEYS[2], a)
    holds = case_type and cjson.decode(case_type).restricted == true
  else
    return redis.error_reply("ERR unknown precondition " .. tostring(op))
  end
  if not holds then return {"conflict", n} end
end

-- Event ids are the server's time in microseconds, raised to the floor (KEYS[7]: the
-- index floor on one server, the clinic's floor on a cluster; readers of the
-- cross-clinic feed raise it, each commit sets it one past its stamp), to the index
-- floor the caller got when it registered the clinic, and to the stream's last id.
-- So no event sorts before one a reader has handed out, whatever the clock does, and
-- on one server the ids of all clinics' streams follow the order of commits.
local now = redis.call("TIME")
local micros = tonumber(now[1]) * 1000000 + tonumber(now[2])
local floor = tonumber(redis.call("GET", KEYS[7]) or "0")
if floor > micros then micros = floor end
if ARGV[1] ~= "-" and tonumber(ARGV[1]) > micros then micros = tonumber(ARGV[1]) end
local top = redis.call("XREVRANGE", KEYS[5], "+", "-", "COUNT", 1)[1]
if top then
  local last = tonumber(string.match(top[1], "^(%d+)"))
  if last > micros then micros = last end
end
-- The event goes first: if it fails, nothing else has been written.
local id = redis.call("XADD", KEYS[5], string.format("%.0f-*", micros), "e", ARGV[2])
redis.call("SET", KEYS[7], string.format("%.0f", micros + 1))

local prefix_length = string.len(ARGV[3])
local function unlist_if_empty(key)
  if redis.call("EXISTS", key) == 0 then
    redis.call("ZREM", KEYS[4], string.sub(key, prefix_length + 1))
  end
end
for at = 6 + 4 * checks, #ARGV, 4 do
  local op, a, b, c = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  if op == "PC" then
    redis.call("SET", KEYS[1], a)
  elseif op == "PT" then
    redis.call("HSET", KEYS[2], a, b)
  elseif op == "PA" then
    local key = KEYS[tonumber(a)]
    redis.call("HSET", key, "a", b)
    redis.call("ZADD", KEYS[4], 0, string.sub(key, prefix_length + 1))
  elseif op == "PG" then
    local key = KEYS[tonumber(a)]
    if redis.call("HSET", key, "g:" .. b, c) == 1 then redis.call("HINCRBY", KEYS[3], b, 1) end
    redis.call("ZADD", KEYS[4], 0, string.sub(key, prefix_length + 1))
  elseif op == "DC" then
    for _, pnr in ipairs(redis.call("ZRANGE", KEYS[4], 0, -1)) do redis.call("DEL", ARGV[3] .. pnr) end
    redis.call("DEL", KEYS[1], KEYS[2], KEYS[3], KEYS[4])
  elseif op == "DT" then
    redis.call("HDEL", KEYS[2], a)
  elseif op == "DA" then
    local key = KEYS[tonumber(a)]
    redis.call("HDEL", key, "a")
    unlist_if_empty(key)
  elseif op == "DG" then
    local key = KEYS[tonumber(a)]
    if redis.call("HDEL", key, "g:" .. b) == 1 and redis.call("HINCRBY", KEYS[3], b, -1) <= 0 then
      redis.call("HDEL", KEYS[3], b)
    end
    unlist_if_empty(key)
  end
end
redis.call("SET", KEYS[6], id, "EX", ARGV[5])
return {"ok", id}
"""
)

# Import a batch of new approvals and grants. KEYS: clinic, types, uses, residents,
# events, replay token, the floor (as for APPLY), then the resident hashes. ARGV: the index
# floor as for APPLY, replay seconds,
# resident key prefix, number of case types n, n pairs (case type id, grants of it),
# the shape, the record JSONs and the event JSONs. The shape lists each resident hash's
# fields, residents separated by spaces, fields by commas: 0 is the approval, i a grant
# of the i-th case type. Records follow the shape's order, events the batch's; JSON
# never holds a raw newline, so each list is one argument joined by newlines.
#
# Replies: {"ok", first stream id} (the other events' ids follow it one sequence number
# at a time; "" for an empty batch); {"clinic"}, {"type", i} or {"record", {j, ...}}
# (the i-th case type fails; the records at shape positions j are stored) with nothing
# written; {"register"} as for APPLY.
IMPORT = Script(
    """#!lua
local replayed = redis.call("GET", KEYS[6])
if replayed then return {"ok", replayed} end
if redis.call("EXISTS", KEYS[1]) == 0 then return {"clinic"} end
local types = tonumber(ARGV[4])
local fields = {[0] = "a"}
for i = 1, types do
  local id = ARGV[3 + 2 * i]
  local case_type = redis.call("HGET", KEYS[2], id)
  if not (case_type and cjson.decode(case_type).restricted == true) then return {"type", i} end
  fields[i] = "g:" .. id
end
local shape = ARGV[5 + 2 * types]
if shape == "" then return {"ok", ""} end

-- A resident's hash fields, from its part of the shape.
local function names(resident)
  local out = {}
  for code in string.gmatch(resident, "%d+") do out[#out + 1] = fields[tonumber(code)] end
  return out
end
-- unpack is bounded by Lua's C stack: pass long key lists in chunks.
local stored = 0
for from = 8, #KEYS, 1000 do
  stored = stored + redis.call("EXISTS", unpack(KEYS, from, math.min(from + 999, #KEYS)))
end
if stored > 0 then
  local clashes, seen, j = {}, 0, 7
  for resident in string.gmatch(shape, "%S+") do
    j = j + 1
    local held = names(resident)
    if redis.call("EXISTS", KEYS[j]) == 1 then
      for i, name in ipairs(held) do
        if redis.call("HEXISTS", KEYS[j], name) == 1 then clashes[#clashes + 1] = seen + i end
      end
    end
    seen = seen + #held
  end
  if #clashes > 0 then return {"record", clashes} end
end
-- Checked after the preconditions, so that a batch that fails them indexes nothing.
if ARGV[1] == "-" and redis.call("EXISTS", KEYS[5]) == 0 then return {"register"} end

local function lines(text)
  local out, from = {}, 1
  while true do
    local stop = string.find(text, "\\n", from, true)
    if not stop then
      out[#out + 1] = string.sub(text, from)
      return out
    end
    out[#out + 1] = string.sub(text, from, stop - 1)
    from = stop + 1
  end
end

-- Stamped as APPLY stamps its event; the batch's events share the microsecond, in sequence.
local now = redis.call("TIME")
local micros = tonumber(now[1]) * 1000000 + tonumber(now[2])
local floor = tonumber(redis.call("GET", KEYS[7]) or "0")
if floor > micros then micros = floor end
if ARGV[1] ~= "-" and tonumber(ARGV[1]) > micros then micros = tonumber(ARGV[1]) end
local top = redis.call("XREVRANGE", KEYS[5], "+", "-", "COUNT", 1)[1]
if top then
  local latest = tonumber(string.match(top[1], "^(%d+)"))
  if latest > micros then micros = latest end
end
local stamp = string.format("%.0f-*", micros)
-- The events go first, as in APPLY.
local events = lines(ARGV[7 + 2 * types])
local id = redis.call("XADD", KEYS[5], stamp, "e", events[1])
for n = 2, #events do redis.call("XADD", KEYS[5], stamp, "e", events[n]) end
redis.call("SET", KEYS[7], string.format("%.0f", micros + 1))

local records, done, j = lines(ARGV[6 + 2 * types]), 0, 7
local skip = string.len(ARGV[3])
local members = {}
for resident in string.gmatch(shape, "%S+") do
  j = j + 1
  local row = {}
  for i, name in ipairs(names(resident)) do
    row[2 * i - 1] = name
    row[2 * i] = records[done + i]
  end
  done = done + #row / 2
  redis.call("HSET", KEYS[j], unpack(row))
  members[#members + 1] = 0
  members[#members + 1] = string.sub(KEYS[j], skip + 1)
  if #members >= 2000 or j == #KEYS then
    redis.call("ZADD", KEYS[4], unpack(members))
    members = {}
  end
end
for i = 1, types do redis.call("HINCRBY", KEYS[3], ARGV[3 + 2 * i], ARGV[4 + 2 * i]) end
redis.call("SET", KEYS[6], id, "EX", ARGV[2])
return {"ok", id}
"""
)

# The cross-clinic feed's horizon. KEYS: the feed index, the index floor (one slot).
# ARGV: the least horizon wanted (µs), and "1" to start from the server's clock + 1 µs.
# Raises the index floor to the horizon, so that a clinic registered from now on stamps
# its first event at or after it, and returns {horizon, clinic ids}.
HORIZON = Script(
    """#!lua
local horizon = tonumber(ARGV[1])
if ARGV[2] == "1" then
  local now = redis.call("TIME")
  local micros = tonumber(now[1]) * 1000000 + tonumber(now[2]) + 1
  if micros > horizon then horizon = micros end
end
local floor = tonumber(redis.call("GET", KEYS[2]) or "0")
if floor > horizon then horizon = floor end
if horizon > floor then redis.call("SET", KEYS[2], string.format("%.0f", horizon)) end
return {string.format("%.0f", horizon), redis.call("SMEMBERS", KEYS[1])}
"""
)

# Register a clinic in the feed index. KEYS: the feed index, the index floor. ARGV: the
# clinic id. Returns the index floor ("0" if none), for the clinic's first event.
REGISTER = Script(
    """#!lua
redis.call("SADD", KEYS[1], ARGV[1])
return redis.call("GET", KEYS[2]) or "0"
"""
)

# Raise a clinic's floor. KEYS: the clinic's floor, its events. ARGV: the floor (µs).
# From then on no event of the clinic is stamped below it. Returns the stamp of the
# stream's last event, "" if none.
RAISE = Script(
    """#!lua
local floor = tonumber(redis.call("GET", KEYS[1]) or "0")
if tonumber(ARGV[1]) > floor then redis.call("SET", KEYS[1], ARGV[1]) end
local top = redis.call("XREVRANGE", KEYS[2], "+", "-", "COUNT", 1)[1]
if top then return string.match(top[1], "^(%d+)") end
return ""
"""
)

#: Every script of the store.
SCRIPTS = (FACTS, FACTS_MANY, PAGE, APPLY, IMPORT, HORIZON, REGISTER, RAISE)
