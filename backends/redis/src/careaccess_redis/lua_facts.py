"""The decisions' Lua scripts, FACTS and FACTS_MANY (re-exported by :mod:`.lua` with the others).

Each script's comment gives its KEYS, ARGV and reply.
"""

from __future__ import annotations

from careaccess_redis.scripting import Script

__all__ = ["FACTS", "FACTS_MANY"]


# Facts for one decision. KEYS: the clinic's key (``<base>clinic``; the script derives
# the others from its base, as FACTS_MANY does). ARGV: case type id, identity number.
# Every stored fact, whatever the case type: one string, the texts joined by newlines
# (stored JSON never holds a raw newline): "" without the clinic, else
# "<clinic>\n<case type>\n<approval>\n<grant>", each "" where absent. One bulk reply is
# cheaper for the client to parse than an array, and three arguments cheaper to pack
# than four.
FACTS = Script(
    """#!lua flags=no-writes
local clinic = redis.call("GET", KEYS[1])
if not clinic then return "" end
local base = string.sub(KEYS[1], 1, -7)
local held = redis.call("HMGET", base .. "r:" .. ARGV[2], "a", "g:" .. ARGV[1])
return clinic .. "\\n" .. (redis.call("HGET", base .. "types", ARGV[1]) or "") .. "\\n" .. (held[1] or "") .. "\\n"
  .. (held[2] or "")
"""
)

# Facts for many decisions. KEYS: one key in the slot of every clinic of the call (routes
# the call on a cluster; the script reads by the names in ARGV). ARGV: the number c of
# distinct clinics, their c key bases, the number t of distinct (clinic, case type)
# pairs, for each pair its clinic's 1-based index (one argument, comma-separated), the
# t case type ids, the identity numbers run together (12 bytes each), and for each of
# them its pair's 1-based index (one argument, comma-separated).
#
# Reply: {heads, approvals, grants}. heads joins by newlines the c clinics, then the t
# case types ("" where absent); approvals and grants are JSON arrays with, per identity
# number in order, the resident's approval at the clinic and grant of the case type id
# (null where absent, and for a clinic that does not exist).
FACTS_MANY = Script(
    """#!lua flags=no-writes
local call, sub = redis.call, string.sub
local clinics = tonumber(ARGV[1])
local pairs_at = clinics + 2
local heads, found = {}, {}
for c = 1, clinics do
  found[c] = call("GET", ARGV[1 + c] .. "clinic")
  heads[c] = found[c] or ""
end
-- The case types: one HMGET per clinic found, of its pairs' ids.
local fields, residents, wanted, t = {}, {}, {}, 0
for owner in string.gmatch(ARGV[pairs_at + 1], "%d+") do
  t = t + 1
  local c = tonumber(owner)
  heads[clinics + t] = ""
  if found[c] then
    fields[t] = "g:" .. ARGV[pairs_at + 1 + t]
    residents[t] = ARGV[1 + c] .. "r:"
    local list = wanted[c]
    if not list then
      list = {}
      wanted[c] = list
    end
    list[#list + 1] = t
  end
end
for c, list in pairs(wanted) do
  local ids = {}
  for i, p in ipairs(list) do ids[i] = ARGV[pairs_at + 1 + p] end
  local texts = call("HMGET", ARGV[1 + c] .. "types", unpack(ids))
  for i, p in ipairs(list) do heads[clinics + p] = texts[i] or "" end
end
local pnrs, approvals, grants, from, n = ARGV[pairs_at + 2 + t], {}, {}, 1, 0
for code in string.gmatch(ARGV[pairs_at + 3 + t], "%d+") do
  local pair = tonumber(code)
  local field = fields[pair]
  n = n + 1
  if field then
    local held = call("HMGET", residents[pair] .. sub(pnrs, from, from + 11), "a", field)
    approvals[n] = held[1] or "null"
    grants[n] = held[2] or "null"
  else
    approvals[n] = "null"
    grants[n] = "null"
  end
  from = from + 12
end
return {table.concat(heads, "\\n"), "[" .. table.concat(approvals, ",") .. "]", "[" .. table.concat(grants, ",") .. "]"}
"""
)
