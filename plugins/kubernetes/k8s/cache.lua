-- k8s.cache — every list and get result, kept in the store (LMDB) per
-- context, namespace and resource, so `get` can answer when the cluster is
-- unreachable ("offline — as of 3m ago").
--   local cache = require("k8s.cache").new(env[, opts])   -- env.store: get/put/del
-- opts.offline(context) false: lists and objects are still kept, but not
-- read back for an offline answer (config offline.enabled: false).
-- A list is written chunk by chunk as it arrives (key …#0001, …#0002) and a
-- head key records how many chunks and when.
local M = {}
local C = {}
C.__index = C

-- Secrets never rest on disk: what is kept of a Secret is its metadata, its
-- type and the names of its keys; the values (data, stringData, and the
-- last-applied-configuration annotation, which repeats them) are dropped,
-- and an annotation says so to whoever reads the offline answer.
M.NOT_KEPT = "vcli.dev/values-not-kept"
local LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

local function is_secrets(res) return type(res) == "string" and (res == "v1/secrets" or res:match(":v1/secrets$") ~= nil) end
M.is_secrets = is_secrets

function M.scrub_secret(obj)
  if type(obj) ~= "table" then return obj end
  local keys, seen = {}, {}
  for _, field in ipairs({ "data", "stringData" }) do
    if type(obj[field]) == "table" then
      for k in pairs(obj[field]) do
        if not seen[k] then seen[k] = true; keys[#keys + 1] = tostring(k) end
      end
    end
    obj[field] = nil
  end
  table.sort(keys)
  local md = type(obj.metadata) == "table" and obj.metadata or {}
  obj.metadata = md
  if type(md.annotations) ~= "table" then md.annotations = {} end
  md.annotations[LAST_APPLIED] = nil
  md.annotations[M.NOT_KEPT] = "the values of this Secret are not kept on disk; keys: "
    .. (#keys > 0 and table.concat(keys, ", ") or "(none)")
  return obj
end

-- text as it goes to disk: a Secret's JSON (an object, a List, or an array
-- of items) scrubbed; anything else as it is. Text that is not JSON is not
-- kept at all for secrets (nil).
function C:on_disk(res, text)
  if not is_secrets(res) then return text end
  local json = self.env.json
  local v = json.decode(text)
  if type(v) ~= "table" then return nil end
  if v.kind == "Secret" or v.data or v.stringData then M.scrub_secret(v)
  else
    for _, o in ipairs(v.items or v) do M.scrub_secret(o) end
  end
  return json.encode(v)
end

function M.new(env, opts)
  return setmetatable({ env = env, store = env.store, offline_ok = opts and opts.offline,
                        limits = opts and opts.limits, writes = 0 }, C)
end

-- offline.cacheTTL (seconds) and offline.cacheSize (bytes), nil when not set
function C:ttl_size()
  if not self.limits then return nil, nil end
  return self.limits()
end
function C:expired(at)
  local ttl = self:ttl_size()
  return ttl ~= nil and ttl > 0 and tonumber(at) ~= nil and self.env.time() - tonumber(at) > ttl
end
function C:answers(ctx) return not self.offline_ok or self.offline_ok(ctx) end

-- (a store that cannot be opened, a damaged file, leaves the cache empty: reads go to the server)
function C:get_raw(k)
  if not self.store then return nil end
  local ok, v = pcall(self.store.get, k)
  return ok and v or nil
end
function C:put_raw(k, v) if not self.store then return end pcall(self.store.put, k, v) end

local function key(kind, ctx, ns, res, extra)
  local k = table.concat({ kind, ctx, ns or "*", res, extra or "" }, "|")
  if #k > 400 then k = k:sub(1, 400) end
  return k
end
M.key = key

-- A list being written: w = cache:list_writer(ctx, ns, res, selector);
-- w:chunk(cols, rows) (Table rows) or w:text(s) (a chunk kept as it is); w:done()
function C:list_writer(ctx, ns, res, sel)
  local json = self.env.json
  local base = key("list", ctx, ns, res, sel)
  local w = { n = 0 }
  function w.chunk(_, cols, rows)
    w.n = w.n + 1
    self:put_raw(("%s#%04d"):format(base, w.n), json.encode({ cols = cols, rows = rows }))
  end
  function w.text(_, s)
    s = self:on_disk(res, s)
    if not s then return w.abandon() end
    w.n = w.n + 1
    self:put_raw(("%s#%04d"):format(base, w.n), s)
  end
  -- stop keeping this list: its head goes, so no offline answer mixes the
  -- chunks written now with older ones
  function w.abandon(_)
    w.text, w.chunk, w.done = function() end, function() end, function() end
    if self.store then pcall(self.store.del, base) end
  end
  function w.done(_)
    self:put_raw(base, json.encode({ at = self.env.time(), chunks = w.n }))
    self:wrote()
  end
  return w
end

-- list_reader(ctx, ns, res, sel[, raw]) -> at, iterator of {cols, rows}
-- (raw: the texts w:text kept) | nil
function C:list_reader(ctx, ns, res, sel, raw)
  if not self:answers(ctx) then return nil end
  return self:read_list(ctx, ns, res, sel, raw)
end

function C:read_list(ctx, ns, res, sel, raw)
  local json = self.env.json
  local base = key("list", ctx, ns, res, sel)
  local head = self:get_raw(base)
  if not head then return nil end
  local h = json.decode(head)
  if not h then return nil end
  if self:expired(h.at) then self:drop_list(base) return nil end
  local i = 0
  return h.at, function()
    i = i + 1
    if i > h.chunks then return nil end
    local v = self:get_raw(("%s#%04d"):format(base, i))
    if raw then return v end
    return v and json.decode(v)
  end
end

function C:put_object(ctx, ns, res, name, text)
  text = self:on_disk(res, text)
  if not text then return end
  self:put_raw(key("obj", ctx, ns, res, name), tostring(self.env.time()) .. "\n" .. text)
  self:wrote()
end

function C:get_object(ctx, ns, res, name)
  if not self:answers(ctx) then return nil end
  local k = key("obj", ctx, ns, res, name)
  local v = self:get_raw(k)
  if not v then return nil end
  local at, text = v:match("^(%d+)\n(.*)$")
  if self:expired(at) then pcall(self.store.del, k) return nil end
  return tonumber(at), text
end

-- a list's head and its chunks
function C:drop_list(base)
  if not self.store then return end
  pcall(self.store.del, base)
  local ok, ks = pcall(self.store.keys, base .. "#")
  for _, k in ipairs(ok and ks or {}) do pcall(self.store.del, k) end
end

-- after a write: one that takes the cache past offline.cacheSize sweeps it;
-- otherwise the first of the process and every 64th do when the last sweep
-- is an hour old
function C:wrote()
  self.writes = self.writes + 1
  local _, size = self:ttl_size()
  local over = false
  if size and size > 0 and self.store and self.store.usage then
    local ok, used = pcall(self.store.usage)
    over = ok and tonumber(used) ~= nil and tonumber(used) > size
  end
  if over then return self:sweep() end
  -- the TTL: once an hour (the last sweep's time is kept with the cache)
  if self.writes == 1 or self.writes % 64 == 0 then
    local last = tonumber(self:get_raw("sweep|at") or "") or 0
    if self.env.time() - last >= 3600 then self:sweep() end
  end
end

-- Drop what is older than offline.cacheTTL, then, while the cache is over
-- offline.cacheSize, the oldest entries first (down to 90% of it, so that a
-- full cache is not swept at every write). -> entries dropped
function C:sweep()
  local st = self.store
  if not st or not st.keys then return 0 end
  local ttl, size = self:ttl_size()
  local now = self.env.time()
  local entries = {}
  local function keys(prefix)
    local ok, ks = pcall(st.keys, prefix)
    return ok and ks or {}
  end
  for _, k in ipairs(keys("list|")) do
    if not k:find("#", 1, true) then
      local h = self.env.json.decode(st.get(k) or "") or {}
      entries[#entries + 1] = { at = tonumber(h.at) or 0, list = k }
    end
  end
  for _, k in ipairs(keys("obj|")) do
    entries[#entries + 1] = { at = tonumber((st.get(k) or ""):match("^(%d+)\n")) or 0, obj = k }
  end
  local dropped = 0
  local function drop(e)
    if e.list then self:drop_list(e.list) else pcall(st.del, e.obj) end
    dropped = dropped + 1
  end
  local kept = {}
  for _, e in ipairs(entries) do
    if ttl and ttl > 0 and now - e.at > ttl then drop(e) else kept[#kept + 1] = e end
  end
  if size and size > 0 and st.usage then
    table.sort(kept, function(a, b) return a.at < b.at end)
    local i = 1
    while i <= #kept do
      local ok, used = pcall(st.usage)
      if not ok or (tonumber(used) or 0) <= size * 0.9 then break end
      drop(kept[i])
      i = i + 1
    end
  end
  self:put_raw("sweep|at", tostring(now))
  return dropped
end

-- names of a resource seen in the cache (completion)
function C:names(ctx, ns, res)
  local out = {}
  local at, it = self:read_list(ctx, ns, res, "")
  if not at then return out end
  for ch in it do
    for _, r in ipairs(type(ch.rows) == "table" and ch.rows or {}) do out[#out + 1] = r.name end
  end
  return out
end

return M
