-- vcli.config — the configuration API: eight layers merged by Lua rules,
-- with the origin of every value, validation and live reload.
--
--   config.load{flags = {["ui.theme"] = "dark"}, cwd = dir, context = "prod"}
--   config.get("ui.theme") / config.get()          merged values
--   config.origin("ui.theme")  -> {layer=, file=, line=, priority=}
--   config.register_schema(owner, schema, defaults) plugins' keys
--   config.subscribe(owner, fn(old, new) -> true | false, reason)
--   config.set_context(name) · config.add_rule(glob, strategy) · config.reload()
-- See docs/config.md.
local schema = require("vcli.config.schema")
local merge = require("vcli.config.merge")
local layers_mod = require("vcli.config.layers")
local validate = require("vcli.config.validate")
-- loaded when needed: most runs have no ${…} and no workspace file
local trust = setmetatable({}, { __index = function(_, k) return require("vcli.config.trust")[k] end })
local S = require("vcli.state")("vcli.config")

local M = {}
M.schema = schema
S.plugins = S.plugins or {}       -- owner -> { node = section, defaults = table }
S.plugin_order = S.plugin_order or {}
S.subs = S.subs or {}             -- { {owner=, fn=}, ... } in subscription order
S.rules = S.rules or {}           -- { {glob=, pattern=, strategy=}, ... }
S.rc_values = S.rc_values or {}   -- { {path=, value=, file=, line=}, ... }
S.opts = S.opts or {}

local function one_line(e)
  local s = tostring(type(e) == "table" and e.msg or e)
  return (s:match("^(.-)\n") or s)
end

local function say(s)
  local ok, shell = pcall(require, "vcli.shell")
  if ok and shell.ewrite then shell.ewrite(s .. "\n") else io.stderr:write(s, "\n") end
end

-- The core schema with every registered plugin's section in place.
local function root()
  local plugins = schema.root.keys.plugins
  plugins.keys = plugins.keys or {}
  for k in pairs(plugins.keys) do if not S.plugins[k] then plugins.keys[k] = nil end end
  for owner, p in pairs(S.plugins) do plugins.keys[owner] = p.node end
  return schema.root
end
M.root = root

local function plugin_nodes()
  local out = {}
  for owner, p in pairs(S.plugins) do out[owner] = p.node end
  return out
end

local getcwd
do
  local ok, ffi = pcall(require, "ffi")
  if ok then
    pcall(ffi.cdef, "char *getcwd(char *buf, size_t size);")
    getcwd = function()
      local buf = ffi.new("char[?]", 4096)
      local p = ffi.C.getcwd(buf, 4096)
      return p ~= nil and ffi.string(p) or nil
    end
  end
end
local function cwd() return S.opts.cwd or (getcwd and getcwd()) or os.getenv("PWD") or "." end

-- ----------------------------------------------------------------- building
-- Read every layer; returns the list lowest priority first.
local function read_layers(root_node)
  local opts = S.opts
  local flags = layers_mod.flags_layer(root_node, opts.flags)
  local env = layers_mod.env_layer(root_node, opts.env, plugin_nodes(), S.plugin_version)
  local user = layers_mod.from_file("user", layers_mod.user_file())
  local rc
  if #S.rc_values > 0 then
    rc = { name = "user", priority = 80, present = true, data = {}, lines = setmetatable({}, { __mode = "k" }),
           file = S.rc_values[1].file, rc = true }
    for _, v in ipairs(S.rc_values) do
      layers_mod.set_path(rc.data, v.path, v.value, root_node, rc.lines, v.line)
    end
  end
  local ws_path = layers_mod.find_workspace(cwd())
  local ws = { name = "workspace", priority = 70, present = false, file = ws_path }
  if ws_path then
    local text = layers_mod.read(ws_path)
    if text then
      ws.status = trust.status(ws_path, text)
      if ws.status == "trusted" then ws = layers_mod.from_file("workspace", ws_path, text); ws.status = "trusted"
      else ws.present, ws.text, ws.file = true, text, ws_path end
    end
  end
  local upper = { flags, env, rc or {}, user, ws.status == "trusted" and ws or {} }
  local context = opts.context or S.context or layers_mod.peek(upper, "kubernetes.context")
    or layers_mod.peek(upper, "global.defaultCluster")
  local cluster
  if context then
    cluster = layers_mod.from_file("cluster", layers_mod.cluster_file(context))
    cluster.context = context
  else
    cluster = { name = "cluster", priority = 60, present = false }
  end
  upper[#upper + 1] = cluster
  local fleet = layers_mod.fleet_layer(layers_mod.peek(upper, "fleet.source"), cwd())
  local builtin = {}
  for _, owner in ipairs(S.plugin_order) do
    local p = S.plugins[owner]
    if p and p.builtin then builtin[owner] = p.builtin end
  end
  local list = { layers_mod.default_layer(builtin) }
  for _, owner in ipairs(S.plugin_order) do
    local p = S.plugins[owner]
    if p and p.defaults then
      list[#list + 1] = { name = "plugin", priority = 40, present = true, label = owner,
                          data = { plugins = { [owner] = p.defaults } } }
    end
  end
  list[#list + 1] = fleet
  list[#list + 1] = cluster
  list[#list + 1] = ws
  list[#list + 1] = user
  if rc then list[#list + 1] = rc end
  list[#list + 1] = env
  list[#list + 1] = flags
  return list, context
end

-- Named lists and free maps are addressed by name: clusters.prod.namespace.
local function lookup(t, path)
  if path == nil or path == "" then return nil end
  local comps = {}
  for c in path:gmatch("[^.]+") do comps[#comps + 1] = c end
  local parent, key = nil, nil
  local i = 1
  while i <= #comps do
    if type(t) ~= "table" then return nil end
    local c = comps[i]
    local found, used = nil, 1
    if validate.is_list(t) then
      local n = tonumber(c)
      if n and t[n] ~= nil then found = n
      else for idx, e in ipairs(t) do if type(e) == "table" and e.name == c then found = idx end end end
    elseif t[c] ~= nil then
      found = c
    else
      -- keys that contain dots (app.kubernetes.io/name)
      for j = i + 1, #comps do
        local long = table.concat(comps, ".", i, j)
        if t[long] ~= nil then found, used = long, j - i + 1 break end
      end
    end
    if found == nil then return nil end
    parent, key = t, found
    t = t[found]
    i = i + used
  end
  return parent, key
end
M._lookup = lookup

-- Schema node of a dotted path (nil when unknown).
function M.node(path)
  local node = root()
  for c in (path or ""):gmatch("[^.]+") do
    if node.type == "list" then
      node = node.items or merge.ANY
    else
      local known
      node, known = merge.child_of(node, c)
      if not known then return nil end
    end
  end
  return node
end

local function check_required(ctx, node, value, path)
  if node.type == "map" and type(value) == "table" then
    if node.keys then
      for k, c in pairs(node.keys) do
        local v = value[k]
        if v == nil and c.required and node ~= schema.root then
          table.insert(ctx.errors, ("%s: required, not set"):format(merge.join(path, k)))
        elseif v ~= nil and (c.keys or c.items) then
          check_required(ctx, c, v, merge.join(path, k))
        end
      end
    end
    if node.each and (node.each.keys or node.each.items) then
      for k, v in pairs(value) do
        if not (node.keys and node.keys[k]) then check_required(ctx, node.each, v, merge.join(path, k)) end
      end
    end
  elseif node.type == "list" and type(value) == "table" and node.items and node.items.keys then
    for i, e in ipairs(value) do
      check_required(ctx, node.items, e, path .. "." .. (type(e) == "table" and e.name or i))
    end
  end
end

-- Build a candidate configuration: { layers, merged, origin, errors, warnings, context }.
local function build()
  local root_node = root()
  local list, context = read_layers(root_node)
  local ctx = merge.context(list, S.rules)
  for li, layer in ipairs(list) do
    if layer.err then table.insert(ctx.errors, layer.err) end
    layer.index = li
  end
  local merged = merge.all(ctx, root_node)
  if #ctx.pending > 0 then
    require("vcli.config.interp").resolve(ctx, function(path) return lookup(merged, path) end)
  end
  check_required(ctx, root_node, merged, "")
  return { layers = list, merged = merged, origin = ctx.origin, errors = ctx.errors, warnings = ctx.warnings,
           context = context }
end
M._build = build

local function notices(c)
  local out = {}
  for _, l in ipairs(c.layers) do
    if l.name == "workspace" and l.present and l.status ~= "trusted" then
      out[#out + 1] = ("%s is %s; run 'config trust' to use it"):format(l.file,
        l.status == "changed" and "changed since you trusted it" or "not trusted")
    end
  end
  return out
end

local function print_problems(c, suffix)
  for _, e in ipairs(c.errors) do say("vcli: config: " .. e .. (suffix or "")) end
  for _, w in ipairs(c.warnings) do say("vcli: config: warning: " .. w) end
end

-- Keys accepted before the code that uses them exists: { path, what } for
-- each such key a layer other than the defaults sets (schema `pending`).
local function pending_keys(node, path, out)
  out = out or {}
  if node.pending then out[#out + 1] = { path = path, what = node.pending } return out end
  if node.type == "map" and node.keys then
    for _, k in ipairs(node.order or {}) do pending_keys(node.keys[k], merge.join(path, k), out) end
  end
  return out
end

local function set_in(data, path)
  local t = data
  for comp in path:gmatch("[^.]+") do
    if type(t) ~= "table" then return false end
    local v = t[comp]
    if v == nil then v = t[comp .. "!"] end
    t = v
  end
  return t ~= nil
end

-- The pending key a dotted path falls under: its path and what will use it.
function M.pending(path)
  local node, sofar = root(), ""
  for comp in (path or ""):gmatch("[^.]+") do
    if node.type == "list" then node = node.items or merge.ANY else node = merge.child_of(node, comp) end
    sofar = merge.join(sofar, comp)
    if node.pending then return sofar, node.pending end
  end
end

-- "KEY is accepted but not used yet (WHAT: not implemented)" for what c's layers set.
function M.pending_notes(c)
  local out = {}
  for _, k in ipairs(pending_keys(root(), "")) do
    for _, l in ipairs(c.layers) do
      if l.data and l.name ~= "default" and l.name ~= "plugin" and set_in(l.data, k.path) then
        out[#out + 1] = ("%s is accepted but not used yet (%s: not implemented)"):format(k.path, k.what)
        break
      end
    end
  end
  return out
end

-- Problems found by config.load are said when configuration is first read,
-- so a command that reports them itself (`config validate`) says them once.
local function say_unsaid()
  local u = S.unsaid
  if not u then return end
  S.unsaid = nil
  print_problems(u)
  for _, n in ipairs(u.notices) do say("vcli: config: " .. n) end
end
function M.forget_unsaid() S.unsaid = nil end

local function ensure()
  if not S.current or S.dirty then
    S.dirty = false
    local c = build()
    local old = S.current
    S.current = c
    if old and not S.quiet then
      local seen = {}
      -- what load found and has not said yet is said once, by say_unsaid
      for _, e in ipairs(S.unsaid and S.unsaid.errors or {}) do seen[e] = true end
      for _, w in ipairs(S.unsaid and S.unsaid.warnings or {}) do seen[w] = true end
      for _, e in ipairs(old.errors) do seen[e] = true end
      for _, w in ipairs(old.warnings) do seen[w] = true end
      local fresh = { errors = {}, warnings = {}, layers = {} }
      for _, e in ipairs(c.errors) do if not seen[e] then fresh.errors[#fresh.errors + 1] = e end end
      for _, w in ipairs(c.warnings) do if not seen[w] then fresh.warnings[#fresh.warnings + 1] = w end end
      print_problems(fresh)
    end
  end
  return S.current
end
M._current = ensure

-- ---------------------------------------------------------------------- API
-- config.load{flags=, cwd=, context=, env=, quiet=} -> true | false, errors
function M.load(opts)
  opts = opts or {}
  S.opts = { flags = opts.flags, cwd = opts.cwd, context = opts.context, env = opts.env }
  local env = opts.env
  layers_mod.getenv = env and function(k) return env[k] end or os.getenv
  S.context = opts.context
  S.quiet = opts.quiet
  S.rc_values = {} -- the rc runs after load and sets them again
  S.dirty = false
  S.current = build()
  local c = S.current
  S.unsaid = nil
  if not opts.quiet then
    -- said when a value is first read, so `config trust` and `config
    -- validate` themselves are not told what they are about to say
    S.unsaid = { errors = c.errors, warnings = c.warnings, notices = notices(c) }
  end
  if not opts.no_command then
    require("vcli.config.command")
    local ok, vcli = pcall(require, "vcli")
    if ok and type(vcli) == "table" then vcli.config = M end
  end
  if opts.watch then
    local term = require("vcli.term")
    if term.isatty(0) and term.isatty(1) then M.watch() end
  end
  if #c.errors > 0 then return false, c.errors end
  return true
end

-- config.get("ui.theme") -> value; config.get() -> the merged table.
-- The tables returned are the live configuration: read them, do not change them.
function M.get(path)
  local c = ensure()
  say_unsaid()
  if path == nil or path == "" then return c.merged end
  local t, k = lookup(c.merged, path)
  if not t then return nil end
  return t[k]
end

-- config.value(path): as get, for vcli's own bookkeeping (the log level,
-- colours, plugin limits): it does not say start-up problems, so a command
-- that reports them itself is the one that does.
function M.value(path)
  local c = ensure()
  if path == nil or path == "" then return c.merged end
  local t, k = lookup(c.merged, path)
  if not t then return nil end
  return t[k]
end

-- config.setting(path): config.value for modules config itself may load (the log,
-- the theme, the plugin runtime): nil when the configuration cannot say, never an error.
function M.setting(path)
  local ok, v = pcall(M.value, path)
  if ok then return v end
end

-- A duration key in seconds (durations keep the form they were written in).
function M.seconds(path)
  local v = M.get(path)
  if type(v) == "number" then return v end
  if type(v) == "string" then return validate.parse_duration(v) end
end

-- config.origin("ui.theme") -> { layer=, priority=, file=, line=, label= } | nil
function M.origin(path)
  local c = ensure()
  local t, k = lookup(c.merged, path)
  if not t then return nil end
  local o = c.origin[t] and c.origin[t][k]
  if not o then return nil end
  local li, line = math.floor(o / merge.LINE), o % merge.LINE
  local layer = c.layers[li]
  if not layer then return nil end
  local file = layer.file
  if layer.name == "env" and layer.vars then file = layer.vars[line]; line = nil end
  if layer.name == "flags" then file = "--set"; line = nil end
  if layer.name == "plugin" then file = "plugin " .. layer.label; line = nil end
  if layer.source then file = layer.source end
  return { layer = layer.name, priority = layer.priority, file = file, line = line and line > 0 and line or nil }
end

function M.errors() local c = ensure(); return c.errors, c.warnings end
-- Why the last reload/set_context was refused (nil when it was applied).
function M.last_errors() return S.last_errors end
function M.layers() return ensure().layers end
function M.context() return ensure().context end

-- Is the value at path sensitive (masked when shown)?
function M.sensitive(path)
  local node = root()
  for c in (path or ""):gmatch("[^.]+") do
    if node.sensitive then return true end
    if node.type == "list" then
      node = node.items or merge.ANY
    else
      node = merge.child_of(node, c)
    end
  end
  return node.sensitive == true
end

-- Plugins: config.register_schema("k8s", {timeout = {type="duration", default="30s"}}, defaults)
function M.register_schema(owner, sch, defaults)
  assert(type(owner) == "string" and owner ~= "", "config.register_schema: owner name expected")
  assert(type(sch) == "table", "config.register_schema: schema table expected")
  local node = sch
  if sch.type ~= "map" then
    local entries = {}
    for k, v in pairs(sch) do entries[#entries + 1] = { k, v } end
    table.sort(entries, function(a, b) return a[1] < b[1] end)
    node = schema.section("Settings of plugin " .. owner .. ".", entries)
  end
  if node.keys and not node.keys.enabled then
    node.keys.enabled = schema.root.keys.plugins.each.keys.enabled
    table.insert(node.order, 1, "enabled")
  end
  if not S.plugins[owner] then table.insert(S.plugin_order, owner) end
  S.plugins[owner] = { node = node, defaults = defaults, builtin = schema.defaults_of(node) }
  S.plugin_version = (S.plugin_version or 0) + 1
  S.dirty = true
  return true
end

function M.unregister_schema(owner)
  S.plugins[owner] = nil
  S.plugin_version = (S.plugin_version or 0) + 1
  for i, o in ipairs(S.plugin_order) do if o == owner then table.remove(S.plugin_order, i) break end end
  S.dirty = true
end

-- Values from ~/.vclirc.lua: vcli.config.set("ui.theme", "dark") (layer user).
function M.set(path, value)
  assert(type(path) == "string" and path ~= "", "config.set: dotted key expected, e.g. \"ui.theme\"")
  local info = debug.getinfo(2, "Sl")
  local file = info and info.source and info.source:sub(1, 1) == "@" and info.source:sub(2) or "rc"
  for i = #S.rc_values, 1, -1 do if S.rc_values[i].path == path then table.remove(S.rc_values, i) end end
  table.insert(S.rc_values, { path = path, value = value, file = file, line = info and info.currentline })
  S.dirty = true
end

-- Users' merge rules: config.add_rule("ui.keybindings", "overwrite").
function M.add_rule(glob, strategy)
  assert(type(glob) == "string", "config.add_rule: a key glob expected, e.g. \"plugins.*.hosts\"")
  if not merge.STRATEGIES[strategy] then
    error(("config.add_rule: unknown strategy '%s' (overwrite, deep, append, named, replace)"):format(tostring(strategy)), 2)
  end
  for i = #S.rules, 1, -1 do if S.rules[i].glob == glob then table.remove(S.rules, i) end end
  table.insert(S.rules, { glob = glob, pattern = merge.glob_pattern(glob), strategy = strategy })
  S.dirty = true
end

function M.clear_rules() S.rules = {}; S.dirty = true end

function M.subscribe(owner, fn)
  assert(type(fn) == "function", "config.subscribe: function(old, new) expected")
  M.unsubscribe(owner)
  table.insert(S.subs, { owner = owner, fn = fn })
end

function M.unsubscribe(owner)
  for i = #S.subs, 1, -1 do if S.subs[i].owner == owner then table.remove(S.subs, i) end end
end

-- Whether two configuration values are equal, tables compared deeply (the
-- plugin manager uses it too, to tell which sections changed).
local function same(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
M.same = same

-- Make candidate c current if it is valid and every subscriber accepts it.
-- Returns true | false, errors.
local function apply(c, restore)
  S.last_errors = nil
  if #c.errors > 0 then
    S.last_errors = c.errors
    if not S.quiet then print_problems({ errors = c.errors, warnings = {}, layers = {} }, " (kept the previous configuration)") end
    if restore then restore() end
    return false, c.errors
  end
  local old = ensure()
  if same(old.merged, c.merged) then S.current = c return true end
  S.current = c
  local accepted = {}
  for _, s in ipairs(S.subs) do
    local ok, res, reason = pcall(s.fn, old.merged, c.merged)
    if not ok or res == false then
      S.current = old
      if restore then restore() end
      for i = #accepted, 1, -1 do pcall(accepted[i].fn, c.merged, old.merged) end
      local why = ok and (reason and tostring(reason) or "no reason given") or one_line(res)
      local msg = ("configuration change rolled back: %s rejected it: %s"):format(s.owner, why)
      S.last_errors = { msg }
      if not S.quiet then say("vcli: config: " .. msg) end
      return false, { msg }
    end
    accepted[#accepted + 1] = s
  end
  if not S.quiet then
    for _, w in ipairs(c.warnings) do say("vcli: config: warning: " .. w) end
  end
  return true
end

-- Re-read every layer; subscribers hear about the change (see apply).
function M.reload()
  S.dirty = false
  return apply(build())
end

-- Switching kube context re-merges with that context's cluster file.
function M.set_context(name)
  local prev = S.context
  S.context = name
  S.opts.context = name
  return apply(build(), function() S.context = prev; S.opts.context = prev end)
end

-- ------------------------------------------------------------- live reload
-- The files a change to which means a reload (present or not).
function M.watched_files()
  local c = ensure()
  local out = { layers_mod.user_file(), trust.db_path() }
  for _, l in ipairs(c.layers) do
    if l.file and l.name ~= "flags" and l.name ~= "env" then out[#out + 1] = l.file end
  end
  local here = layers_mod.find_workspace(cwd(), true)
  out[#out + 1] = here
  return out
end

local function signature()
  local parts = {}
  for _, p in ipairs(M.watched_files()) do
    parts[#parts + 1] = p .. "\0" .. (layers_mod.read(p) or "\1absent")
  end
  return table.concat(parts, "\0\0")
end

-- Poll the layer files (cheap: a few small reads) so a change is applied
-- within M.POLL_MS; inotify would need the directories the rc reload owns.
M.POLL_MS = 250
function M.watch()
  if S.timer then return end
  local loop = require("vcli.loop")
  S.signature = signature()
  S.timer = loop.timer(M.POLL_MS, function()
    local sig = signature()
    if sig ~= S.signature then
      S.signature = sig
      local ok = M.reload()
      if ok and not S.quiet then M.on_reloaded() end
      S.signature = signature()
      M.fleet_timer()
    end
  end, M.POLL_MS)
  M.refresh_fleet()
  M.fleet_timer()
end

-- A URL fleet.source is fetched again every fleet.refreshInterval.
function M.fleet_timer()
  local src, secs = M.get("fleet.source"), M.seconds("fleet.refreshInterval")
  local key = tostring(src) .. "\0" .. tostring(secs)
  if S.fleet_every and S.fleet_every.key == key then return end
  if S.fleet_every then S.fleet_every.timer:stop(); S.fleet_every = nil end
  if type(src) ~= "string" or not layers_mod.is_url(src) or not secs or secs <= 0 then return end
  local ms = math.max(1000, math.floor(secs * 1000))
  S.fleet_every = { key = key, timer = require("vcli.loop").timer(ms, function() M.refresh_fleet() end, ms) }
end

function M.unwatch()
  if S.timer then S.timer:stop(); S.timer = nil end
  if S.fleet_every then S.fleet_every.timer:stop(); S.fleet_every = nil end
end

function M.on_reloaded()
  local ok, shell = pcall(require, "vcli.shell")
  local SH = require("vcli.state")("vcli.shell")
  if ok and SH.editor then
    shell.ewrite("\r\27[Kreloaded config\n")
    SH.editor.grid:invalidate(); SH.editor.grid:finish_inline(); SH.editor:render()
  end
end

-- Fetch a URL fleet.source into its cache (in a task); reloads when it changed.
function M.refresh_fleet()
  local src = M.get("fleet.source")
  if type(src) ~= "string" or not layers_mod.is_url(src) then return false end
  local cache = layers_mod.fleet_cache(src)
  local async = require("vcli.async")
  return async.spawn(function()
    local headers = {}
    local tok = M.get("fleet.token")
    if type(tok) == "string" and tok ~= "" then headers.Authorization = "Bearer " .. tok end
    local res, err = require("vcli.http").get(src, { headers = headers })
    if not res then say("vcli: config: fleet: " .. tostring(err)) return false end
    if res.status ~= 200 then say(("vcli: config: fleet: %s: HTTP %s"):format(src, tostring(res.status))) return false end
    local data, derr = layers_mod.decode(res.body or "", src)
    if not data then say("vcli: config: fleet: " .. derr .. " (kept the cached copy)") return false end
    if layers_mod.read(cache) == res.body then return true end
    require("vcli.fs").mkdir_p(layers_mod.cache_dir())
    local out = io.open(cache, "w")
    if out then out:write(res.body); out:close() end
    return M.reload()
  end)
end

-- Workspace trust (the current directory's nearest .vcli.yaml by default).
function M.workspace_file(create) return layers_mod.find_workspace(cwd(), create) end

function M.trust(path)
  path = path or M.workspace_file()
  if not path then error("config trust: no .vcli.yaml here or in a parent directory", 0) end
  if path:sub(1, 1) ~= "/" then path = cwd() .. "/" .. path end
  local text = layers_mod.read(path)
  if not text then error("config trust: cannot read " .. path, 0) end
  trust.trust(path, text)
  S.dirty = true
  return path
end

function M.untrust(path)
  path = path or M.workspace_file()
  if not path then error("config untrust: no .vcli.yaml here or in a parent directory", 0) end
  if path:sub(1, 1) ~= "/" then path = cwd() .. "/" .. path end
  local was = trust.untrust(path)
  S.dirty = true
  return path, was
end

return M
