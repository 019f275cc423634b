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
