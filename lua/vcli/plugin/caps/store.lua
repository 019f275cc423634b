-- caps/store.lua — store: the plugin's own LMDB database "plugin:<name>",
-- with its quota (config security.diskQuotaMB lowers it).
--   plugin.yaml:  - store: { quota: 10MiB }
--   plugin side:  vcli.store.get/put/del(key[, value]), .keys(prefix), .usage()
local R = require("vcli.plugin.runtime")

local C = { name = "store", summary = "a key-value store of the plugin's own, with a quota",
            grant = "- store: { quota: 10MiB }", api = { "vcli.store.get", "vcli.store.put", "vcli.store.del",
            "vcli.store.keys", "vcli.store.usage" } }
C.options = {
  quota = { check = function(v)
    if not require("vcli.plugin.manifest").size(v) then return ("'%s' is not a size (e.g. 10MiB)"):format(tostring(v)) end
  end },
}
C.ops = { get = "now", put = "now", del = "now", keys = "now", usage = "now" }
C.host = {}
local H = C.host

local function store_db(p)
  if p.db then return p.db end
  local store = require("vcli.store")
  local dir = R.S.store_dir or (R.state_home() .. "/vcli/store")
  local envh = assert(store.open(dir))
  local db = assert(envh:db("plugin:" .. p.name))
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

function C.plugin(vcli, api) vcli.store = api.ops("store") end

return C
