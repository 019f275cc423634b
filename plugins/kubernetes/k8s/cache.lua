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
  return setmetatable({ env = env, store = env.store, offline_ok = opts and opts.offline }, C)
end
function C:answers(ctx) return not self.offline_ok or self.offline_ok(ctx) end

function C:get_raw(k) if not self.store then return nil end return self.store.get(k) end
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
end

function C:get_object(ctx, ns, res, name)
  if not self:answers(ctx) then return nil end
  local v = self:get_raw(key("obj", ctx, ns, res, name))
  if not v then return nil end
  local at, text = v:match("^(%d+)\n(.*)$")
  return tonumber(at), text
end

-- names of a resource seen in the cache (completion)
function C:names(ctx, ns, res)
  local out = {}
  local at, it = self:read_list(ctx, ns, res, "")
  if not at then return out end
  for ch in it do
    for _, r in ipairs(ch.rows or {}) do out[#out + 1] = r.name end
  end
  return out
end

return M
