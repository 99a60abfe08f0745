"""The Lua scripts the store runs (called through :mod:`.scripting`).

Each script's comment gives its KEYS, ARGV and reply. The decisions' scripts, FACTS and
FACTS_MANY, are in :mod:`.lua_facts` (imported here with the others).
"""

from __future__ import annotations

from careaccess_redis.lua_facts import FACTS, FACTS_MANY
from careaccess_redis.scripting import Script

__all__ = [
    "APPLY",
    "FACTS",
    "FACTS_MANY",
    "HORIZON",
    "INDEX_NAMES",
    "PAGE",
    "RAISE",
    "REGISTER",
    "REWRITE_NAMES",
    "SCRIPTS",
]


# A page of the resident list. KEYS: residents zset, names zset, its ready marker. ARGV:
# resident key prefix, how many wanted, how many residents to examine at most when
# walking the residents (the call's budget), how many names-zset members to examine at
# most when walking the names, the digit suffix ("" for none), the folded name to find
# ("" for none, else "=" and the text), then ZRANGEBYLEX min/max pairs over identity
# numbers in ascending, disjoint order.
#
# A resident matches when its 12 digits end with the suffix and, if a name is sought,
# one of its folded names contains it. Without a name sought, or in a clinic whose
# names zset is not marked ready (written by an earlier version, not yet built), the
# residents zset is walked and the folded names read from each resident hash (fields
# "n" and "n:<case type id>"). With a name sought in a ready clinic the names zset is
# walked instead: members "<12 digits>\31<field>\31<folded name>" in identity-number
# order (a number's members are adjacent), the bounds translated ("(P": after number
# P, becomes "[P " since every member of P sorts below "P "; "[low", "(high" and "-",
# "+" hold as they are). The text is sought in the name part only (it never holds the
# control character \31, so it cannot span a separator); a call whose budget runs out
# within a number's members examines the rest of them before it stops, so a number is
# always examined whole. Each member costs about 0.3 µs of the server's time (most of
# it the ZRANGEBYLEX reply), a resident hash read and checked some microseconds.
#
# Reply: {matches, resume}: matches alternates identity numbers and their hash fields;
# resume is "" when the ranges were read to their end or the page is full, else the
# last identity number examined whole (the budget ran out): the next call starts after
# it.
PAGE = Script(
    """#!lua flags=no-writes
local want, suffix = tonumber(ARGV[2]), ARGV[5]
local needle = string.sub(ARGV[6], 2)
local seek, cut = ARGV[6] ~= "", -string.len(suffix)
local out, last = {}, ""
-- Adds a resident's number and hash fields to the reply (a hash emptied meanwhile is
-- skipped); true once the page is full.
local function take(pnr)
  local fields = redis.call("HGETALL", ARGV[1] .. pnr)
  if #fields == 0 then return false end
  out[#out + 1] = pnr
  out[#out + 1] = fields
  want = want - 1
  return want == 0
end
if seek and redis.call("EXISTS", KEYS[3]) == 1 then
  -- Most members do not hold the text anywhere past their number: one plain find from
  -- byte 16 (where the name of an "a" member starts) rules them out. A hit is checked
  -- exactly: the number not yet matched, its suffix, the text within the name part.
  local budget, closing, matched = tonumber(ARGV[4]), nil, nil
  for i = 7, #ARGV, 2 do
    local from, high = ARGV[i], ARGV[i + 1]
    if string.sub(from, 1, 1) == "(" then from = "[" .. string.sub(from, 2) .. " " end
    while true do
      local chunk = 1024
      local found = redis.call("ZRANGEBYLEX", KEYS[2], from, high, "LIMIT", 0, chunk)
      for _, member in ipairs(found) do
        if closing and string.sub(member, 1, 12) ~= closing then return {out, closing} end
        if string.find(member, needle, 16, true) then
          local pnr = string.sub(member, 1, 12)
          if pnr ~= matched and (suffix == "" or string.sub(pnr, cut) == suffix)
            and string.find(member, needle, string.find(member, "\\31", 15, true) + 1, true) then
            matched = pnr
            if take(pnr) then return {out, ""} end
          end
        end
        budget = budget - 1
        -- Out of budget: the number is finished (its members are adjacent), then the call ends.
        if budget == 0 then closing = string.sub(member, 1, 12) end
      end
      if #found < chunk then break end
      from = "(" .. found[#found]
    end
  end
  return {out, ""}
end
local budget = tonumber(ARGV[3])
for i = 7, #ARGV, 2 do
  local from = ARGV[i]
  while want > 0 and budget > 0 do
    local chunk = math.min(budget, 256)
    local found = redis.call("ZRANGEBYLEX", KEYS[1], from, ARGV[i + 1], "LIMIT", 0, chunk)
    for _, pnr in ipairs(found) do
      budget = budget - 1
      last = pnr
      if suffix == "" or string.sub(pnr, cut) == suffix then
        local hit = not seek
        if seek then
          -- A clinic without the name index: the folded names in the resident's hash.
          local fields = redis.call("HGETALL", ARGV[1] .. pnr)
          for f = 1, #fields, 2 do
            local name = fields[f]
            if (name == "n" or string.sub(name, 1, 2) == "n:") and string.find(fields[f + 1], needle, 1, true) then
              hit = true
              break
            end
          end
        end
        if hit and take(pnr) then return {out, ""} end
      end
    end
    if #found < chunk then break end
    from = "(" .. last
  end
  if budget <= 0 then return {out, last} end
end
return {out, ""}
"""
)

# Apply a changeset. KEYS: clinic, types, uses, residents, events, replay token, the
# floor (see the stamping below), names zset, its ready marker, then the resident hashes
# the ops name by index.
# ARGV: the index floor the caller got by registering the clinic ("-": it has not;
# then a clinic without a stream asks for registration), replay seconds, resident key
# prefix, the preconditions and the writes (each a JSON array of ops, an op an array
# of an op code and its operands; one argument each, because a client packs every
# argument separately), and the events' JSON joined by newlines (JSON never holds a
# raw newline).
#
# Replies: {"ok", first stream id} (the other events follow it one sequence number at
# a time); {"conflict", n} for the first failing precondition n (nothing written);
# {"register"} when the clinic's first event needs the feed index entry first
# (nothing written).
APPLY = Script(
    """#!lua
local replayed = redis.call("GET", KEYS[6])
if replayed then return {"ok", replayed} end

-- When no resident hash of the call exists yet (an import of new residents), every
-- "F-" holds: one EXISTS per thousand keys instead of one HEXISTS per record.
-- (unpack is bounded by Lua's C stack: long key lists go in chunks.)
local none_held = true
for from = 10, #KEYS, 1000 do
  if redis.call("EXISTS", unpack(KEYS, from, math.min(from + 999, #KEYS))) > 0 then
    none_held = false
    break
  end
end
for n, check in ipairs(cjson.decode(ARGV[4])) do
  local op, a, b, c = check[1], check[2], check[3], check[4]
  local holds
  if op == "F-" then holds = none_held or redis.call("HEXISTS", KEYS[a], b) == 0
  elseif op == "F+" then holds = redis.call("HEXISTS", KEYS[a], b) == 1
  elseif op == "C+" then holds = redis.call("EXISTS", KEYS[1]) == 1
  elseif op == "C-" then holds = redis.call("EXISTS", KEYS[1]) == 0
  elseif op == "T+" then holds = redis.call("HEXISTS", KEYS[2], a) == 1
  elseif op == "T-" then holds = redis.call("HEXISTS", KEYS[2], a) == 0
  elseif op == "V" then
    -- Versions are at most 2^53 - 1: exact as Lua numbers.
    local grant = redis.call("HGET", KEYS[a], b)
    holds = grant and cjson.decode(grant).version == tonumber(c)
  elseif op == "U" then
    local uses = redis.call("HGET", KEYS[3], a)
    holds = not uses or tonumber(uses) <= 0
  elseif op == "R" then
    -- CaseTypeRestricted: the case type's stored flag, as the precondition states it.
    local case_type = redis.call("HGET", KEYS[2], a)
    holds = case_type and cjson.decode(case_type).restricted == true
  else
    return redis.error_reply("ERR unknown precondition " .. tostring(op))
  end
  if not holds then return {"conflict", n} end
end
-- Checked after the preconditions, so that a changeset that fails them indexes nothing.
if ARGV[1] == "-" and redis.call("EXISTS", KEYS[5]) == 0 then return {"register"} end

-- Event ids are the server's time in microseconds, raised to the floor (KEYS[7]: the
-- index floor on one server, the clinic's floor on a cluster; readers of the
-- cross-clinic feed raise it, each commit sets it one past its stamp), to the index
-- floor the caller got when it registered the clinic, and to the stream's last id.
-- So no event sorts before one a reader has handed out, whatever the clock does, and
-- on one server the ids of all clinics' streams follow the order of commits. The
-- changeset's events share the microsecond, in sequence.
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
-- The events go first: if one fails, nothing else has been written.
local stamp = string.format("%.0f-*", micros)
local events, from, id = ARGV[6], 1, nil
while true do
  local stop = string.find(events, "\\n", from, true)
  local made = redis.call("XADD", KEYS[5], stamp, "e", string.sub(events, from, (stop or 0) - 1))
  id = id or made
  if not stop then break end
  from = stop + 1
end
redis.call("SET", KEYS[7], string.format("%.0f", micros + 1))

-- Residents to list and grant counts are gathered and written once at the end.
local skip = string.len(ARGV[3])
local listed, order, uses = {}, {}, {}
local function list(key)
  if listed[key] == nil then order[#order + 1] = key end
  listed[key] = true
end
local function unlist_if_empty(key)
  if redis.call("EXISTS", key) == 0 then
    if listed[key] == nil then order[#order + 1] = key end
    listed[key] = false
    redis.call("ZREM", KEYS[4], string.sub(key, skip + 1))
  end
end
local function count_use(case_type, by) uses[case_type] = (uses[case_type] or 0) + by end
-- The names zset (KEYS[8]) follows the folded names as they are written: the member of
-- a record's name now stored (its "n" / "n:<id>" field, read before it changes) is
-- removed and the new one added. Kept in every clinic, ready or not, so that a build
-- of an older clinic's index (INDEX_NAMES) leaves it exact.
local function rename(key, field, name_field, folded)
  local old = redis.call("HGET", key, name_field)
  local head = string.sub(key, skip + 1) .. "\\31" .. field .. "\\31"
  if old and old ~= folded then redis.call("ZREM", KEYS[8], head .. old) end
  if folded then redis.call("ZADD", KEYS[8], 0, head .. folded) end
end

for _, write in ipairs(cjson.decode(ARGV[5])) do
  local op, a, b, c, d = write[1], write[2], write[3], write[4], write[5]
  if op == "PA" then
    -- a: the resident's key index; b: the approval; c: "" without a name, else "=" and the folded name.
    local key = KEYS[a]
    if c == "" then
      rename(key, "a", "n", nil)
      redis.call("HSET", key, "a", b)
      redis.call("HDEL", key, "n")
    else
      rename(key, "a", "n", string.sub(c, 2))
      redis.call("HSET", key, "a", b, "n", string.sub(c, 2))
    end
    list(key)
  elseif op == "PG" then
    -- b: the case type id; c: the grant; d: the folded name as for PA.
    -- "n:<id>" is only ever held beside "g:<id>": with a name, two new fields mean a new grant.
    local key = KEYS[a]
    rename(key, "g:" .. b, "n:" .. b, d ~= "" and string.sub(d, 2) or nil)
    if d == "" then
      if redis.call("HSET", key, "g:" .. b, c) == 1 then count_use(b, 1) end
      redis.call("HDEL", key, "n:" .. b)
    elseif redis.call("HSET", key, "g:" .. b, c, "n:" .. b, string.sub(d, 2)) == 2 then
      count_use(b, 1)
    end
    list(key)
  elseif op == "PC" then
    -- A new clinic (nothing of it stored) is indexed from its first record on: ready.
    -- (A names zset left by a version that deleted clinics without it goes first.)
    if #order == 0 and redis.call("EXISTS", KEYS[1], KEYS[4]) == 0 then
      redis.call("DEL", KEYS[8])
      redis.call("SET", KEYS[9], "1")
    end
    redis.call("SET", KEYS[1], a)
  elseif op == "PT" then
    redis.call("HSET", KEYS[2], a, b)
  elseif op == "DA" then
    local key = KEYS[a]
    rename(key, "a", "n", nil)
    redis.call("HDEL", key, "a", "n")
    unlist_if_empty(key)
  elseif op == "DG" then
    local key = KEYS[a]
    rename(key, "g:" .. b, "n:" .. b, nil)
    if redis.call("HDEL", key, "g:" .. b) == 1 then count_use(b, -1) end
    redis.call("HDEL", key, "n:" .. b)
    unlist_if_empty(key)
  elseif op == "DT" then
    redis.call("HDEL", KEYS[2], a)
  elseif op == "DC" then
    for _, pnr in ipairs(redis.call("ZRANGE", KEYS[4], 0, -1)) do redis.call("DEL", ARGV[3] .. pnr) end
    for _, key in ipairs(order) do redis.call("DEL", key) end
    redis.call("DEL", KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[8], KEYS[9])
    listed, order, uses = {}, {}, {}
  else
    return redis.error_reply("ERR unknown write " .. tostring(op))
  end
end

-- unpack is bounded by Lua's C stack: pass long lists in chunks.
local members = {}
for n, key in ipairs(order) do
  if listed[key] then
    members[#members + 1] = 0
    members[#members + 1] = string.sub(key, skip + 1)
  end
  if #members >= 2000 or (n == #order and #members > 0) then
    redis.call("ZADD", KEYS[4], unpack(members))
    members = {}
  end
end
for case_type, by in pairs(uses) do
  if by ~= 0 and redis.call("HINCRBY", KEYS[3], case_type, by) <= 0 then redis.call("HDEL", KEYS[3], case_type) end
end
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

# Rewrite the records of one resident hash where they are still as read (a one-off
# migration; see careaccess_redis.migrate). KEYS: the resident hash, its clinic's names
# zset. ARGV: groups of four: record field, its text as read, its new text, and the
# folded name ("" for no name, else "=" and the text) kept in "n" (for "a") or
# "n:<case type id>", its member in the names zset replaced as lua.APPLY does. Returns
# how many records it rewrote (a record changed since it was read is left alone).
REWRITE_NAMES = Script(
    """#!lua
local done = 0
for at = 1, #ARGV, 4 do
  local field, seen, text, folded = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  if redis.call("HGET", KEYS[1], field) == seen then
    local name = "n"
    if field ~= "a" then name = "n:" .. string.sub(field, 3) end
    redis.call("HSET", KEYS[1], field, text)
    local old = redis.call("HGET", KEYS[1], name)
    local head = string.sub(KEYS[1], -12) .. "\\31" .. field .. "\\31"
    if old and old ~= string.sub(folded, 2) then redis.call("ZREM", KEYS[2], head .. old) end
    if folded ~= "" then redis.call("ZADD", KEYS[2], 0, head .. string.sub(folded, 2)) end
    if folded == "" then
      redis.call("HDEL", KEYS[1], name)
    else
      redis.call("HSET", KEYS[1], name, string.sub(folded, 2))
    end
    done = done + 1
  end
end
return done
"""
)

# Build a clinic's names zset, one batch of residents a call (a one-off for a clinic
# stored by a version without it; see operations.build_name_index). KEYS: residents
# zset, names zset, clinic, the names zset's ready marker. ARGV: resident key prefix,
# the identity number the batch starts after ("" for the first), how many residents.
# Adds the member of every folded name ("n", "n:<case type id>") of each resident, and
# removes every other member of the numbers the batch covers (after ARGV[2] up to its
# last resident, or to the end for the last batch): members a writer that does not keep
# the zset left behind (a process of an earlier version, during an upgrade, after one
# of this version had written). So each batch leaves its range exact, whatever the
# zset held, and builds running at once cannot spoil each other's work. When the
# residents are read to their end it marks the names zset ready and returns "+", or
# returns "" if the clinic no longer exists; else it returns the last identity number
# read. lua.APPLY keeps the zset in step with every write meanwhile, so once marked it
# is exact.
INDEX_NAMES = Script(
    """#!lua
local from, low = "-", "-"
if ARGV[2] ~= "" then from, low = "(" .. ARGV[2], "[" .. ARGV[2] .. " " end
local count = tonumber(ARGV[3])
local found = redis.call("ZRANGEBYLEX", KEYS[1], from, "+", "LIMIT", 0, count)
-- Every member of number P sorts below "P " (\\31 < " " < the digits).
local high = "+"
if #found == count then high = "(" .. found[#found] .. " " end
local implied, members = {}, {}
for _, pnr in ipairs(found) do
  local fields = redis.call("HGETALL", ARGV[1] .. pnr)
  for f = 1, #fields, 2 do
    local name = fields[f]
    local field
    if name == "n" then field = "a"
    elseif string.sub(name, 1, 2) == "n:" then field = "g:" .. string.sub(name, 3) end
    if field then
      local member = pnr .. "\\31" .. field .. "\\31" .. fields[f + 1]
      implied[member] = true
      members[#members + 1] = 0
      members[#members + 1] = member
    end
  end
  if #members >= 2000 then
    redis.call("ZADD", KEYS[2], unpack(members))
    members = {}
  end
end
if #members > 0 then redis.call("ZADD", KEYS[2], unpack(members)) end
-- (unpack is bounded by Lua's C stack: the stale members go in chunks.)
local stale, start = {}, low
while true do
  local held = redis.call("ZRANGEBYLEX", KEYS[2], start, high, "LIMIT", 0, 1000)
  for _, member in ipairs(held) do
    if not implied[member] then stale[#stale + 1] = member end
  end
  if #stale >= 1000 then
    redis.call("ZREM", KEYS[2], unpack(stale))
    stale = {}
  end
  if #held < 1000 then break end
  start = "(" .. held[#held]
end
if #stale > 0 then redis.call("ZREM", KEYS[2], unpack(stale)) end
if #found < count then
  if redis.call("EXISTS", KEYS[3]) == 0 then return "" end
  redis.call("SET", KEYS[4], "1")
  return "+"
end
return found[#found]
"""
)

#: Every script of the store.
SCRIPTS = (FACTS, FACTS_MANY, PAGE, APPLY, HORIZON, REGISTER, RAISE, REWRITE_NAMES, INDEX_NAMES)
