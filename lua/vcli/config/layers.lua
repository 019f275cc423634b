-- vcli.config.layers — reading each configuration layer: where its file is,
-- whether it is present (and, for a workspace file, trusted), its data and
-- the yaml line of every key. Highest priority wins:
--   flags 100 · env 90 · user 80 · workspace 70 · cluster 60 · fleet 50 ·
--   plugin defaults 40 · built-in defaults 10
local yaml = require("vcli.yaml")
local schema = require("vcli.config.schema")
local merge = require("vcli.config.merge")
local validate = require("vcli.config.validate")
local null, array_mt = yaml.null, yaml.array_mt

local M = {}

M.PRIORITY = { flags = 100, env = 90, user = 80, workspace = 70, cluster = 60, fleet = 50, plugin = 40, default = 10 }
M.ORDER = { "flags", "env", "user", "workspace", "cluster", "fleet", "plugin", "default" }

-- Every environment lookup goes through M.getenv, so config.load{env=…}
-- can run against a made-up environment (specs, benches).
M.getenv = os.getenv

local function xdg(var, fallback)
  local v = M.getenv(var)
  if not v or v == "" then v = (M.getenv("HOME") or "") .. fallback end
  return v
end
M.xdg = xdg

function M.config_dir() return xdg("XDG_CONFIG_HOME", "/.config") .. "/vcli" end
function M.cache_dir() return xdg("XDG_CACHE_HOME", "/.cache") .. "/vcli" end
function M.user_file() return M.config_dir() .. "/config.yaml" end
function M.cluster_file(context)
  return M.config_dir() .. "/clusters/" .. context:gsub("[/\\]", "_") .. ".yaml"
end

function M.read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- The nearest .vcli.yaml from dir upwards (the file need not exist when
-- `create` is set: then it is dir's).
function M.find_workspace(dir, create)
  local d = dir
  while d and d ~= "" do
    local p = (d == "/" and "" or d) .. "/.vcli.yaml"
    local f = io.open(p)
    if f then f:close() return p end
    if d == "/" then break end
    d = d:match("^(.*)/[^/]*$")
    if d == "" then d = "/" end
  end
  if create then return (dir == "/" and "" or dir) .. "/.vcli.yaml" end
  return nil
end

-- Decode a layer file: data, lines | nil, "file:line:col: problem".
function M.decode(text, name)
  local data, lines = yaml.decode(text, name, { lines = true })
  if data == nil then return nil, lines end
  if data == null then return {}, nil end
  if type(data) ~= "table" or getmetatable(data) == array_mt then
    return nil, name .. ":1: expected a map of settings (section: keys) at the top, got " .. validate.describe(data)
  end
  return data, lines
end

-- A layer read from a file: { name, priority, file, present, data, lines, err }
function M.from_file(name, path, text)
  local layer = { name = name, priority = M.PRIORITY[name], file = path }
  text = text or M.read(path)
  if not text then layer.present = false return layer end
  layer.present, layer.text = true, text
  local data, lines = M.decode(text, path)
  if not data then layer.err = lines return layer end
  layer.data, layer.lines = data, lines
  return layer
end

-- Put value at a dotted path of data (building maps, and named-list
-- entries for components below a named list). lines gets `line` for it.
function M.set_path(data, path, value, root, lines, line)
  local node, t = root, data
  local comps = {}
  for c in path:gmatch("[^.]+") do comps[#comps + 1] = c end
  local i = 1
  while i < #comps do
    local c = comps[i]
    local child = merge.child_of(node, c)
    if child.type == "list" and child.merge == "named" and i + 1 < #comps then
      local list = t[c]
      if type(list) ~= "table" then list = setmetatable({}, array_mt); t[c] = list end
      local name = comps[i + 1]
      local entry
      for _, e in ipairs(list) do if e.name == name then entry = e end end
      if not entry then entry = { name = name }; list[#list + 1] = entry end
      t, node, i = entry, child.items, i + 2
    else
      if type(t[c]) ~= "table" then t[c] = {} end
      t, node, i = t[c], child, i + 1
    end
  end
  local key = comps[#comps]
  local child = merge.child_of(node, key)
  t[key] = validate.coerce(child, value)
  if lines then
    lines[t] = lines[t] or {}
    lines[t][key] = line or 0
  end
end

-- VCLI_SECTION_KEY -> dotted key, resolved against the schema: both
-- VCLI_UI_REFRESH_RATE and VCLI_UI_REFRESHRATE name ui.refreshRate.
local function env_names(root, plugin_nodes)
  local map = {}
  local function walk(node, path)
    if node.type == "map" and node.keys and not node.each then
      for k, c in pairs(node.keys) do walk(c, path == "" and k or (path .. "." .. k)) end
      return
    end
    if node.type == "list" and node.merge == "named" then return end
    local snake = path:gsub("(%l)(%u)", "%1_%2"):gsub("[.%-]", "_"):upper()
    local flat = path:gsub("[.%-]", "_"):upper()
    map["VCLI_" .. snake] = path
    map["VCLI_" .. flat] = path
  end
  walk(root, "")
  for name, node in pairs(plugin_nodes or {}) do walk(node, "plugins." .. name) end
  return map
end
M.env_names = env_names

local function environ()
  local f = io.open("/proc/self/environ")
  if not f then return {} end
  local s = f:read("*a")
  f:close()
  local out = {}
  for k, v in s:gmatch("(VCLI_[%w_]+)=([^%z]*)") do out[k] = v end
  return out
end

-- The name map is cached until the set of plugin schemas changes.
local names_cache, names_key = nil, nil
function M.env_layer(root, env, plugin_nodes, version)
  local layer = { name = "env", priority = 90, present = false, data = {}, lines = setmetatable({}, { __mode = "k" }) }
  env = env or environ()
  if not names_cache or names_key ~= version then
    names_cache, names_key = env_names(root, plugin_nodes), version
  end
  local names = names_cache
  local vars = {}
  for k in pairs(env) do
    if names[k] then vars[#vars + 1] = k end
  end
  table.sort(vars)
  for n, k in ipairs(vars) do
    layer.present = true
    M.set_path(layer.data, names[k], env[k], root, layer.lines, n)
  end
  layer.vars = vars
  layer.file = nil
  return layer
end

function M.flags_layer(root, flags)
  local layer = { name = "flags", priority = 100, present = false, data = {}, lines = setmetatable({}, { __mode = "k" }) }
  local keys = {}
  for k in pairs(flags or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    layer.present = true
    M.set_path(layer.data, k, flags[k], root, layer.lines, 0)
  end
  return layer
end

-- The first non-empty value of a dotted key among decoded layers.
function M.peek(layers, path)
  for _, l in ipairs(layers) do
    local t = l.data
    for c in path:gmatch("[^.]+") do
      if type(t) ~= "table" then t = nil break end
      t = t[c] or t[c .. "!"]
    end
    if type(t) == "string" and t ~= "" and not t:find("${", 1, true) then return t end
  end
end

function M.is_url(s) return s:match("^https?://") ~= nil end

function M.fleet_cache(url)
  return M.cache_dir() .. "/fleet-" .. require("vcli.config.trust").sha256(url):sub(1, 16) .. ".yaml"
end

-- The fleet layer from fleet.source: a file, or the cached copy of a URL.
function M.fleet_layer(source, cwd)
  if not source then return { name = "fleet", priority = 50, present = false } end
  if M.is_url(source) then
    local layer = M.from_file("fleet", M.fleet_cache(source))
    layer.source = source
    return layer
  end
  local p = source
  if p:sub(1, 2) == "~/" then p = (M.getenv("HOME") or "") .. p:sub(2) end
  if p:sub(1, 1) ~= "/" and cwd then p = cwd .. "/" .. p end
  return M.from_file("fleet", p)
end

-- Built-in defaults: the core schema's, and each registered plugin schema's
-- (plugins.<name>.<key>). A plugin's own defaults table is layer "plugin".
local DEFAULTS
function M.default_layer(plugin_defaults)
  DEFAULTS = DEFAULTS or schema.defaults_of(schema.root)
  local data = DEFAULTS
  if plugin_defaults and next(plugin_defaults) then
    data = {}
    for k, v in pairs(DEFAULTS) do data[k] = v end
    data.plugins = plugin_defaults
  end
  return { name = "default", priority = 10, present = true, data = data }
end

return M
