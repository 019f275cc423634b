-- vcli.plugin — the plugin manager's façade: what the rest of vcli calls.
-- Each plugin runs in its own Lua state (vcli.sandbox); the parts:
--   discovery.lua   search path, manifests (manifest.lua, its cache), lazy command stubs
--   lifecycle.lua   dependency order, start, stop, reload, enable/disable
--   call.lua        calls into a plugin (invoke) and the one door back out (host)
--   caps/           one file per capability: manifest options, operations, host
--                   and plugin side (caps/init.lua: the registry of their names)
--   prelude.lua     the runtime inside each plugin state
--   runtime.lua     what the parts share: state, tickets, a call's resources
--   health.lua      stats and health checks;  watch.lua: hot reload of edited plugins
--   bus.lua, resilience.lua, semver.lua, cli.lua (`plugin …`), harness.lua
--   (`plugin test`), registry.lua (search/install/publish), scaffold.lua (`plugin new`)
-- See docs/plugins.md.
local R = require("vcli.plugin.runtime")
local discovery = require("vcli.plugin.discovery")
local lifecycle = require("vcli.plugin.lifecycle")
local bus = require("vcli.plugin.bus")
local S = R.S

local M = {}
M.bus = bus

local call_mod = require("vcli.plugin.call")
local function call() return call_mod end
local function health() return require("vcli.plugin.health") end
local function watch() return require("vcli.plugin.watch") end

-- The parts call back through the runtime (no require cycles).
function R.invoke(p, kind, ...) return call().invoke(p, kind, ...) end
function R.call(name, kind, ...) return call().call(name, kind, ...) end
function R.start(name) return lifecycle.start(name) end
function R.stop(name, why) return lifecycle.stop(name, why) end
function R.reload(name) return lifecycle.reload(name) end
function R.fail(p, why) return lifecycle.fail(p, why) end

-- ---------------------------------------------------------------- discovery
M.data_home, M.state_home, M.read_file, M.has_terminal = R.data_home, R.state_home, R.read_file, R.has_terminal
M.search_path = discovery.search_path
M.discover = discovery.discover
M.rediscover = discovery.rediscover
M._stubs = discovery.stubs
M._register_schemas = discovery.register_schemas

function M.get(name) return S.plugins[name] end
function M.all()
  local out = {}
  for _, p in pairs(S.plugins) do table.insert(out, p) end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end
function M.names()
  local out = {}
  for name in pairs(S.plugins) do table.insert(out, name) end
  table.sort(out)
  return out
end
function M.schemas()
  local out = {}
  for name, p in pairs(S.plugins) do if p.m and p.m.config_schema then out[name] = p.m.config_schema end end
  return out
end

-- ---------------------------------------------------------------- lifecycle
M.order, M.refused = lifecycle.order, lifecycle.refused
M.start, M.stop, M.reload = lifecycle.start, lifecycle.stop, lifecycle.reload
M.enable, M.disable, M._fail = lifecycle.enable, lifecycle.disable, lifecycle.fail

-- -------------------------------------------------------------------- calls
function M.invoke(p, kind, ...) return call().invoke(p, kind, ...) end
function M.call(name, kind, ...) return call().call(name, kind, ...) end
M._close_stream = R.close_resource

-- Resources (streams, WebSockets, listeners, connections, the terminal) a plugin has open (specs).
function M.open_streams(name, kind)
  local p = S.plugins[name]
  local n = 0
  for _, r in pairs(p and p.streams or {}) do if not kind or r.kind == kind then n = n + 1 end end
  return n
end

-- The plugin's own section changed from outside (plugin test, specs).
function M.set_config(name, cfg)
  S.config = S.config or {}
  S.config[name] = cfg
  local p = S.plugins[name]
  if p and p.state == "running" then
    return pcall(M.invoke, p, "hook", "on_config_change", require("vcli.plugin.caps.config").own(p))
  end
  return true
end

function M.clipboard()
  S.clipboard = S.clipboard or {}
  return S.clipboard
end
-- Where plugin stores live (specs and `plugin test` use a scratch directory).
function M.set_store_dir(dir)
  S.store_dir = dir
  for _, p in pairs(S.plugins) do p.db = nil end
end

-- A plugin's vcli.log lines, oldest first: { {at = time, msg = text}, … }.
function M.logs(name)
  local l = S.logs[name]
  return l and l.lines or {}
end
-- Wait (in a task) until plugin name logs another line; the lines so far count.
function M.wait_log(name, seen)
  local l = S.logs[name] or { lines = {}, waiters = {} }
  S.logs[name] = l
  if (l.seq or 0) > seen then return l.seq end
  require("vcli.async").await(function(resume)
    table.insert(l.waiters, resume)
    return function()
      for i = #l.waiters, 1, -1 do if l.waiters[i] == resume then table.remove(l.waiters, i) end end
    end
  end)
  return l.seq
end
function M.log_seq(name) return S.logs[name] and S.logs[name].seq or 0 end

-- ---------------------------------------------------------- stats / health
function M.stats(name) return health().stats(name) end
-- one step of a running plugin's collector (sb:gc(kb)) -> true when a cycle ended, nil when not running
function M.gc_step(name, kb)
  local p = S.plugins[name]
  if not (p and p.sb and p.state == "running") then return nil end
  return p.sb:gc(kb)
end
function M.check_health(name) return health().check_health(name) end
function M.start_health_checks(ms) return health().start_health_checks(ms) end
function M.stop_health_checks() return health().stop_health_checks() end
function M.health_checks() return S.health_interval end

-- ------------------------------------------------------------------- watch
function M.watch(debounce_ms) return watch().watch(debounce_ms) end
function M._file_changed(path) return watch().file_changed(path) end
function M.watch_log() return S.watch_log or {} end

-- ------------------------------------------------------------------ prompt
-- What the prompt shows of the running plugins (vcli.prompt_segment).
function M.prompt_segments() return require("vcli.plugin.caps.core").prompt_segments() end
if not S.prompt_hooked then
  S.prompt_hooked = true
  local v = R.vcli()
  local prev = v.owner
  v.owner = "plugin"   -- the manager's, whoever loads it first (an rc reload keeps it)
  v.prompt_segment(function() return require("vcli.plugin").prompt_segments() end)
  v.owner = prev
end

-- Lazy start on events: a published topic that a stopped plugin's manifest
-- lists starts that plugin first.
if not S.bus_hooked then
  S.bus_hooked = true
  bus.before_publish(function(topic)
    for name, p in pairs(S.plugins) do
      if p.state == "discovered" and p.m then
        for _, pat in ipairs(p.m.events) do
          if topic:find(bus.glob(pat)) then M.start(name) break end
        end
      end
    end
  end)
end

-- M.handlers: cap -> op -> host function (`plugin test`'s stubs replace entries).
setmetatable(M, { __index = function(_, k)
  if k == "handlers" then return (require("vcli.plugin.caps").host_table()) end
end })

-- Start-up: discover, define the `plugin` command; an interactive shell also
-- watches plugin directories and runs health checks.
function M.init(opts, rest)
  M.discover()
  require("vcli.plugin.cli").define()
  if opts and not opts.commands and not (rest and rest[1]) then
    if R.has_terminal() then
      M.watch()
      M.start_health_checks()
    end
  end
end

return M
