-- prom.cache — what is kept in the plugin's LMDB database:
--   q:<server>\n<expr>   the last successful instant-query answer per expression:
--                        "@<unix seconds>\n" and the server's answer as it came
--                        (no encoding on the way in; its age is read without decoding)
--   m:<server>\n<what>   completion lists (metric names, label names, values, metadata),
--                        JSON {at = unix seconds, data = …}
-- Long keys are shortened with a hash (LMDB keys are at most 511 bytes).
--
--   local cache = require("prom.cache").new(env)   -- env: {store=, json=, now=}
--   cache:put_result(url, expr, body); cache:get_result(url, expr) -> data, age_s, at
local M = {}

-- FNV-1a 32 bit, as 8 hex digits.
local function fnv(s)
  local h = 2166136261
  for i = 1, #s do
    h = bit.bxor(h, s:byte(i))
    h = bit.band(h * 16777619, 0xffffffff)  -- keeps the low 32 bits exactly enough for a key
  end
  return bit.tohex(h)
end
M.fnv = fnv

local function key(kind, url, what)
  local k = kind .. ":" .. url .. "\n" .. what
  if #k > 400 then k = kind .. ":" .. url .. "\n#" .. fnv(what) .. ":" .. #what .. ":" .. what:sub(1, 200) end
  if #k > 500 then k = kind .. ":#" .. fnv(k) end
  return k
end
M.key = key

local C = {}
C.__index = C

function M.new(env)
  return setmetatable({ env = env, mem = {} }, C)
end

function C:_raw(k)
  local st = self.env.store
  if not st then return nil end
  local ok, raw = pcall(st.get, k)
  if not ok or type(raw) ~= "string" then return nil end
  return raw
end

-- {at =, data =} from a stored value (nil when absent or damaged)
function C:_get(k)
  local raw = self:_raw(k)
  if not raw then return nil end
  local at, body = raw:match("^@([%d.]+)\n(.*)$")
  if at then
    local doc = self.env.json.decode(body)
    if type(doc) ~= "table" then return nil end
    return { at = tonumber(at), data = doc.data }
  end
  local v = self.env.json.decode(raw)
  if type(v) ~= "table" then return nil end
  return v
end

function C:_put(k, data)
  local st = self.env.store
  if not st then return false end
  local ok, res = pcall(st.put, k, self.env.json.encode({ at = self.env.now(), data = data }))
  return ok and res
end

-- The last answer to expr from url: data, age in seconds, stored-at time.
function C:get_result(url, expr)
  local v = self:_get(key("q", url, expr))
  if not v or v.data == nil then return nil end
  return v.data, math.max(0, self.env.now() - (v.at or 0)), v.at
end

-- body: the server's whole answer ({"status":"success","data":…}) as it came.
-- Every store write is a synced LMDB commit (~1 ms or more), so an answer
-- is written at most every `min_age` seconds per expression (default 5):
-- the cache then holds an answer at most that much older than the newest.
function C:put_result(url, expr, body, min_age)
  local st = self.env.store
  if not st or type(body) ~= "string" then return false end
  local k = key("q", url, expr)
  local now = self.env.now()
  min_age = min_age or 5
  if min_age > 0 then
    local raw = self:_raw(k)
    local at = raw and tonumber(raw:match("^@([%d.]+)\n") or "")
    if not at and raw then at = (self:_get(k) or {}).at end   -- written by an older version: JSON {at, data}
    if at and now - at < min_age then return true end
  end
  local ok, res = pcall(st.put, k, "@" .. now .. "\n" .. body)
  return ok and res
end

-- Completion lists: memory first, then LMDB when younger than ttl seconds;
-- otherwise fetch() (which may fail: then a stale list is better than none).
function C:list(url, what, ttl, fetch)
  local k = key("m", url, what)
  local now = self.env.now()
  local m = self.mem[k]
  if m and now - m.at < ttl then return m.data end
  local v = self:_get(k)
  if v and now - (v.at or 0) < ttl then
    self.mem[k] = { at = v.at, data = v.data }
    return v.data
  end
  local ok, data = pcall(fetch)
  if ok and data ~= nil then
    self.mem[k] = { at = now, data = data }
    self:_put(k, data)
    return data
  end
  if v then return v.data end
  if m then return m.data end
  return nil
end

return M
