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

__all__ = ["APPLY", "FACTS", "PAGE", "Script", "execute", "needs_load", "node_of", "primaries"]

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


def needs_load(results: Sequence[Any]) -> bool:
    """Whether a pipeline's results (run with ``raise_on_error=False``) hit an unloaded script."""
    return any(isinstance(result, NoScriptError) for result in results)


# Facts for one decision. KEYS: clinic, types, resident hash. ARGV: case type id.
FACTS = Script(
    """#!lua flags=no-writes
local clinic = redis.call("GET", KEYS[1])
if not clinic then return {false, false, false, false} end
local held = redis.call("HMGET", KEYS[3], "a", "g:" .. ARGV[1])
return {clinic, redis.call("HGET", KEYS[2], ARGV[1]), held[1], held[2]}
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

# Apply a changeset. KEYS: clinic, types, uses, residents, events, replay token, then
# the resident hashes the ops name by index. ARGV: feed-index flag ("1": the clinic is
# in the feed index), event JSON, resident key prefix, number of preconditions, replay
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
if ARGV[1] ~= "1" and redis.call("EXISTS", KEYS[5]) == 0 then return {"register"} end

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

-- Event ids are the server's time in microseconds, never below the stream's last id,
-- so on one server the ids of all clinics' streams follow the order of commits.
local now = redis.call("TIME")
local micros = tonumber(now[1]) * 1000000 + tonumber(now[2])
local top = redis.call("XREVRANGE", KEYS[5], "+", "-", "COUNT", 1)[1]
if top then
  local last = tonumber(string.match(top[1], "^(%d+)"))
  if last > micros then micros = last end
end
-- The event goes first: if it fails, nothing else has been written.
local id = redis.call("XADD", KEYS[5], string.format("%.0f-*", micros), "e", ARGV[2])

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
