-- caps/store.lua — store: the plugin's own LMDB database "plugin:<name>",
-- with its quota (config security.diskQuotaMB lowers it).
--   plugin.yaml:  - store: { quota: 10MiB }
--   plugin side:  vcli.store.get/put/del(key[, value]), .keys(prefix), .usage(),
--                 .put_many({k = v|false}[, expect]) (all or nothing; expect: a
--                 compare-and-swap), .lock(name) / .unlock(name) (exclusive
--                 across processes, dropped when the holder dies)
local R = require("vcli.plugin.runtime")

local C = { name = "store", summary = "a key-value store of the plugin's own, with a quota",
            grant = "- store: { quota: 10MiB }", api = { "vcli.store.get", "vcli.store.put", "vcli.store.del",
            "vcli.store.keys", "vcli.store.usage", "vcli.store.put_many", "vcli.store.lock", "vcli.store.unlock" } }
C.options = {
  quota = { check = function(v)
    if not require("vcli.plugin.manifest").size(v) then return ("'%s' is not a size (e.g. 10MiB)"):format(tostring(v)) end
  end },
}
C.ops = { get = "now", put = "now", del = "now", keys = "now", usage = "now", put_many = "now", lock = "now",
          unlock = "now" }
C.host = {}
local H = C.host

local function store_db(p)
  if p.db then return p.db end
  local store = require("vcli.store")
  local dir = R.S.store_dir or (R.state_home() .. "/vcli/store")
  local envh, err = store.open(dir)
  local db = envh and envh:db("plugin:" .. p.name)
  if not db then
    -- a damaged data.mdb (truncated, overwritten): say which file, and how to go on
    local file = dir .. "/data.mdb"
    error(("plugin %s: store: %s; move the file aside (mv %s %s.broken) and vcli starts a new one")
      :format(p.name, err or "cannot open " .. file, file, file), 0)
  end
  p.envh = envh
  local quota = require("vcli.plugin.manifest").size(p.m.capabilities.store.quota or "10MiB")
  local cap = tonumber(R.setting("security.diskQuotaMB"))
  if cap and cap * 1048576 < quota then quota = cap * 1048576 end
  db:set_quota(quota)
  p.db = db
  return db
end
local function key(k)
  if type(k) ~= "string" or k == "" then error("store: key must be a non-empty string", 0) end
  return k
end
function H.get(p, k) return (store_db(p):get(key(k))) end
function H.put(p, k, v)
  if type(v) ~= "string" then error("store: value must be a string (encode tables with your own format)", 0) end
  local ok, err = store_db(p):put(key(k), v)
  if not ok and err then error(("plugin %s: store: %s"):format(p.name, err), 0) end
  return true
end
function H.del(p, k) store_db(p):del(key(k)) return true end
function H.keys(p, prefix) return store_db(p):keys(prefix) end
function H.usage(p) return store_db(p):usage() end
local function items(t, what)
  if type(t) ~= "table" then error("store: " .. what .. " must be a table {key = string | false}", 0) end
  for k, v in pairs(t) do
    key(k)
    if type(v) ~= "string" and v ~= false then error("store: " .. what .. " values are strings or false", 0) end
  end
  return t
end
function H.put_many(p, t, expect)
  local db = store_db(p)
  local ok, err = db:put_many(items(t, "put_many"), expect ~= nil and items(expect, "expect") or nil)
  if ok then return true end
  if err == "changed" then return false, "changed" end
  error(("plugin %s: store: %s"):format(p.name, err), 0)
end
-- locks: named per plugin, held by the plugin's process until unlock or exit
function H.lock(p, name)
  if type(name) ~= "string" or not name:match("^[%w_-]+$") or #name > 40 then
    error("store.lock: a name of letters, digits, '_' or '-'", 0)
  end
  p.locks = p.locks or {}
  if p.locks[name] then return true end
  store_db(p)
  local l, err = p.envh:lock(("plugin-%s-%s"):format(p.name:gsub("[^%w_-]", "_"), name))
  if not l then
    if err == "held" then return false, "held by another vcli process" end
    error(("plugin %s: store: %s"):format(p.name, err), 0)
  end
  p.locks[name] = l
  return true
end
function H.unlock(p, name)
  local l = p.locks and p.locks[name]
  if l then l:release(); p.locks[name] = nil end
  return true
end

-- a stopped plugin holds no lock
function C.stopped(p)
  for _, l in pairs(p.locks or {}) do l:release() end
  p.locks = nil
end

function C.plugin(vcli, api) vcli.store = api.ops("store") end

return C
