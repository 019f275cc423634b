-- caps/config.lua — config: the plugin's own section plugins.NAME (manifest
-- defaults under the configuration, then set_config), and the core sections
-- its manifest lists; on_config_change(value, section) when one changes.
--   plugin.yaml:  - config: { read: [prometheus, kubernetes] }    (or config: [prometheus])
--   plugin side:  vcli.config.get() -> its own section; vcli.config.get("prometheus.url")
local R = require("vcli.plugin.runtime")
local async = require("vcli.async")

local C = { name = "config", summary = "the plugin's own configuration section and the core sections it lists",
            grant = "- config: { read: [SECTION] }", api = { "vcli.config.get" } }
C.shorthand = "read"
C.options = {
  read = { list = true, check = function(v)
    for i, s in ipairs(v) do
      if type(s) ~= "string" or not s:match("^[%a_][%w_%-]*$") or s == "plugins" then
        return ("'%s' is not a core config section (e.g. prometheus, kubernetes; a plugin reads its own plugins.NAME)")
          :format(tostring(s)), ("capabilities.config.read[%d]"):format(i)
      end
    end
  end },
}
C.ops = { get = "now" }
C.host = {}
R.S.config = R.S.config or {}

local function config_get(path)
  local c = R.config_mod()
  if not c then return nil end
  local ok, v = pcall(c.get, path)
  if ok then return v end -- false included: a plugin reads `enabled: false` as false
end
function C.own(p)
  local cfg = {}
  for k, v in pairs(p.m.config or {}) do cfg[k] = v end
  local from = config_get("plugins." .. p.name)
  if type(from) == "table" then for k, v in pairs(from) do cfg[k] = v end end
  for k, v in pairs(R.S.config[p.name] or {}) do cfg[k] = v end
  return cfg
end
local function readable(p) return (p.m.capabilities.config or {}).read or {} end

function C.host.get(p, path)
  if path == nil or path == "" then return C.own(p) end
  if type(path) ~= "string" then error("config.get: a dotted key expected", 0) end
  local first, rest = path:match("^([^.]+)%.?(.*)$")
  if first == "plugins" then
    local who, sub = rest:match("^([^.]+)%.?(.*)$")
    if who == p.name then
      local v = C.own(p)
      for part in (sub or ""):gmatch("[^.]+") do
        if type(v) ~= "table" then return nil end
        v = v[part]
      end
      return v
    end
  else
    for _, sec in ipairs(readable(p)) do
      if sec == first then return config_get(path) end
    end
  end
  error(("plugin %s may not read config '%s' (its own section plugins.%s, and capabilities: config: read: [%s])")
    :format(p.name, path, p.name, table.concat(readable(p), ", ")), 0)
end

-- on_config_change(value, section) for the sections a plugin reads.
function C.started(p)
  local c = R.config_mod()
  if not c then return end
  local function same(a, b) return c.same(a, b) end
  c.subscribe(R.owner(p), function(old, new)
    old, new = old or {}, new or {}
    local changed = {}
    local function sec(t, name) return type(t[name]) == "table" and t[name] or nil end
    local op, np = sec(old, "plugins") or {}, sec(new, "plugins") or {}
    if not same(op[p.name], np[p.name]) then changed[#changed + 1] = "plugins." .. p.name end
    for _, name in ipairs(readable(p)) do
      if not same(old[name], new[name]) then changed[#changed + 1] = name end
    end
    if #changed > 0 then
      async.spawn(function()
        for _, name in ipairs(changed) do
          if p.state ~= "running" then return end
          local value = name == "plugins." .. p.name and C.own(p) or new[name]
          pcall(R.invoke, p, "hook", "on_config_change", value, name)
        end
      end)
    end
    return true
  end)
end

function C.stopped(p)
  local c = R.config_mod()
  if c then c.unsubscribe(R.owner(p)) end
end

function C.plugin(vcli, api) vcli.config = api.ops("config") end

return C
