-- vcli.plugin.cli — the `plugin` command: list, info, enable, disable,
-- reload, logs, health, stats, new, test, search, install, uninstall, update, publish.
local commands = require("vcli.shell.commands")
local text = require("vcli.text")

local M = {}

local function pm() return require("vcli.plugin") end
local function names(prefix)
  local out = {}
  for _, n in ipairs(pm().names()) do if n:sub(1, #prefix) == prefix then table.insert(out, n) end end
  return out
end
local NAME = { { name = "name", help = "plugin name", complete = names } }

local function mib(n) return n and ("%.1f MiB"):format(n / 1048576) or "-" end
local function ms(n) return n and ("%.3f ms"):format(n) or "-" end

local function status_of(p)
  local s = p.state
  if p.health and not p.health.ok then s = s .. " (unhealthy)" end
  if p.conflicts then s = s .. " (command taken)" end
  return s
end

local function list(ctx)
  local rows = { { "NAME", "VERSION", "STATE", "SOURCE", "DESCRIPTION" } }
  for _, p in ipairs(pm().all()) do
    table.insert(rows, { p.name, p.m and p.m.version or "-", status_of(p), p.source,
      p.m and p.m.description or ("failed: " .. tostring(p.reason)) })
  end
  ctx.print(text.columns(rows))
  return 0
end

local function info(ctx)
  local p = pm().get(ctx.args.name)
  if not p then error(("no plugin named '%s'"):format(ctx.args.name), 0) end
  local m = p.m or {}
  local lines = {
    ("%s %s — %s"):format(p.name, m.version or "?", m.description or ""),
    "state:        " .. p.state .. (p.reason and (": " .. p.reason) or ""),
    "directory:    " .. p.dir .. " (" .. p.source .. ")",
  }
  for _, d in ipairs(p.shadowed) do table.insert(lines, "shadows:      " .. d .. " (not used: the first found wins)") end
  for _, c in ipairs(p.conflicts or {}) do table.insert(lines, "conflict:     " .. c) end
  if p.m then
    if m.author then table.insert(lines, "author:       " .. m.author) end
    if m.license then table.insert(lines, "license:      " .. m.license) end
    table.insert(lines, "vcli:         " .. m.vcli)
    local deps = {}
    for _, d in ipairs(m.dependencies) do table.insert(deps, d.name .. " " .. d.range) end
    table.insert(lines, "dependencies: " .. (#deps > 0 and table.concat(deps, ", ") or "none"))
    table.insert(lines, "capabilities: " .. (#m.grants > 0 and table.concat(m.grants, ", ") or "none"))
    table.insert(lines, ("limits:       memory %s, %d ms per call"):format(mib(m.limits.memory), m.limits.cpu_ms_per_call))
    local cmds = {}
    for _, c in ipairs(m.commands) do table.insert(cmds, c.name) end
    table.insert(lines, "commands:     " .. (#cmds > 0 and table.concat(cmds, ", ") or "none"))
  end
  if p.last_reload_error then table.insert(lines, "last reload:  failed: " .. p.last_reload_error) end
  if p.last_stop then
    local ago = os.time() - p.last_stop.at
    table.insert(lines, ("last stop:    %s (a %s call, %s ago; %d stop%s so far)"):format(p.last_stop.msg, p.last_stop.kind,
      ago < 60 and (ago .. "s") or ago < 3600 and (math.floor(ago / 60) .. "m") or (math.floor(ago / 3600) .. "h"),
      p.stops, p.stops == 1 and "" or "s"))
  end
  ctx.print(table.concat(lines, "\n"))
  return 0
end

local function simple(fn, done)
  return function(ctx)
    local ok, err = fn(ctx.args.name)
    if not ok then error(err, 0) end
    ctx.print(done:format(ctx.args.name))
    return 0
  end
end

local function health(ctx)
  local rows = { { "NAME", "STATE", "HEALTH" } }
  local bad = 0
  for _, p in ipairs(pm().all()) do
    local h = p.state == "running" and pm().check_health(p.name) or nil
    if h and not h.ok then bad = bad + 1 end
    table.insert(rows, { p.name, p.state, h and ((h.ok and "healthy" or "unhealthy") .. ": " .. h.msg)
      or (p.state == "failed" and tostring(p.reason) or "-") })
  end
  ctx.print(text.columns(rows))
  return bad > 0 and 1 or 0
end

local function stats(ctx)
  local rows = { { "NAME", "STATE", "MEMORY", "PEAK", "LIMIT", "CPU", "CALLS", "ERRORS", "P50", "P99", "BREAKER" } }
  for _, p in ipairs(pm().all()) do
    local s = pm().stats(p.name)
    table.insert(rows, { s.name, s.state, mib(s.memory), mib(s.peak), mib(s.limit), ms(s.cpu_ms), tostring(s.calls),
      tostring(s.errors), ms(s.p50), ms(s.p99), s.breaker })
  end
  ctx.print(text.columns(rows))
  return 0
end

-- plugin logs NAME [-f]: the lines the plugin gave vcli.log (the last 500,
-- kept across its reloads and restarts); -f waits for more until Ctrl-C.
local function logs(ctx)
  local name = ctx.args.name
  if not pm().get(name) then error(("no plugin named '%s' (plugin list shows what is installed)"):format(name), 0) end
  local seen = 0
  local function show()
    for _, l in ipairs(pm().logs(name)) do
      if l.seq > seen then
        ctx.print(os.date("!%Y-%m-%dT%H:%M:%SZ", l.at) .. " " .. l.msg)
        seen = l.seq
      end
    end
  end
  show()
  if not ctx.flags.follow then
    if seen == 0 then
      ctx.err(("plugin %s has logged nothing since vcli started (vcli.log(...) in the plugin writes here)\n"):format(name))
    end
    return 0
  end
  while true do
    io.stdout:flush()
    if not pcall(pm().wait_log, name, seen) then return 130 end   -- Ctrl-C
    show()
  end
end

-- plugin test NAME [--timeout MS] [-f PATTERN]; plugin test --stubs [NAME]
local function test(ctx)
  local harness = require("vcli.plugin.harness")
  local name = ctx.args.name
  local p = name and pm().get(name)
  if name and not p then error(("no plugin named '%s' (plugin list shows what is installed)"):format(name), 0) end
  if ctx.flags.stubs then
    if p and not p.m then error(("plugin %s cannot run: %s"):format(name, tostring(p.reason)), 0) end
    local rows = { { "CAPABILITY", p and ("OPERATIONS (plugin " .. name .. ")") or "OPERATIONS" } }
    for _, r in ipairs(harness.stub_lines(p)) do rows[#rows + 1] = r end
    ctx.print(text.columns(rows))
    return 0
  end
  if not name then error("plugin test: which plugin? (plugin test NAME; plugin test --stubs lists the stub targets)", 0) end
  local limit = ctx.flags.timeout
  if limit ~= nil and limit <= 0 then error("plugin test: --timeout takes milliseconds above 0", 0) end
  return harness.run(name, ctx, { timeout_ms = limit, filter = ctx.flags.filter })
end

local function registry()
  local ok, r = pcall(require, "vcli.plugin.registry")
  if not ok then error("plugin: the registry (search/install/uninstall/update/publish) failed to load: " .. tostring(r), 0) end
  return r
end
local YES_FLAG = { name = "yes", short = "y", type = "bool",
                   help = "grant the capabilities the plugins ask for (shown) without asking" }
local REG_FLAG = { name = "registry", type = "string", metavar = "DIR|URL",
                   help = "registry (default: config global.pluginRegistry, then $VCLI_PLUGIN_REGISTRY)" }

function M.define()
  commands.define({
    name = "plugin", summary = "Manage plugins: list, info, enable, disable, reload, health, stats, new, test, install…",
    default_subcommand = "list",
    subcommands = {
      { name = "list", summary = "Installed plugins and their state", handler = list },
      { name = "info", summary = "A plugin's manifest, state and where it comes from", args = NAME, handler = info },
      { name = "enable", summary = "Enable a plugin (remembered)", args = NAME,
        handler = simple(function(n) return pm().enable(n) end, "plugin %s enabled") },
      { name = "disable", summary = "Stop and disable a plugin (remembered)", args = NAME,
        handler = simple(function(n) return pm().disable(n) end, "plugin %s disabled") },
      { name = "reload", summary = "Reload a plugin from disk (the old version stays if the new one fails)", args = NAME,
        handler = simple(function(n) return pm().reload(n) end, "plugin %s reloaded") },
      { name = "start", summary = "Start a plugin now (normally it starts on first use)", args = NAME,
        handler = simple(function(n) return pm().start(n) end, "plugin %s running") },
      { name = "stop", summary = "Stop a running plugin", args = NAME,
        handler = simple(function(n) return pm().stop(n) end, "plugin %s stopped") },
      { name = "logs", summary = "What a plugin wrote with vcli.log (-f: follow)", args = NAME,
        flags = { { name = "follow", short = "f", type = "bool", help = "wait for more lines (Ctrl-C ends)" } },
        handler = logs },
      { name = "health", summary = "Run every running plugin's health check", handler = health },
      { name = "stats", summary = "Memory, CPU time, calls, errors, latency and circuit state per plugin", handler = stats },
      { name = "new", summary = "Scaffold a plugin into $XDG_DATA_HOME/vcli/plugins/NAME",
        args = { { name = "name", help = "new plugin name" } },
        flags = { { name = "dir", type = "string", help = "create it in DIR instead" } },
        handler = function(ctx)
          local dir = require("vcli.plugin.scaffold").new(ctx.args.name, ctx.flags.dir)
          ctx.print(("created plugin %s in %s\ntry: vcli plugin test %s; vcli %s"):format(ctx.args.name, dir, ctx.args.name, ctx.args.name))
          return 0
        end },
      { name = "test", summary = "Run a plugin's spec/*_spec.lua in its own state (each test with a time limit)",
        args = { { name = "name", help = "plugin name", complete = names, optional = true } },
        flags = { { name = "timeout", type = "int", metavar = "MS",
                    help = "time limit of each test and hook in ms (default 5000)" },
                  { name = "filter", short = "f", type = "string", metavar = "PATTERN",
                    help = "only the tests whose full name matches the Lua pattern" },
                  { name = "stubs", type = "bool", help = "list what stub(cap, op, fn) may replace (for NAME: what it is granted)" } },
        handler = test },
      { name = "search", summary = "Search the registry", args = { { name = "query", optional = true } }, flags = { REG_FLAG },
        handler = function(ctx) return registry().search_cmd(ctx) end },
      { name = "install", summary = "Install a plugin (and its dependencies) from the registry", args = NAME,
        flags = { REG_FLAG, YES_FLAG },
        handler = function(ctx) return registry().install_cmd(ctx) end },
      { name = "uninstall", summary = "Remove a user-installed plugin", args = NAME,
        handler = function(ctx) return registry().uninstall_cmd(ctx) end },
      { name = "update", summary = "Update installed plugins from the registry",
        args = { { name = "name", optional = true, complete = names } }, flags = { REG_FLAG, YES_FLAG },
        handler = function(ctx) return registry().update_cmd(ctx) end },
      { name = "publish", summary = "Package a plugin directory into a registry directory", args = { { name = "dir" } },
        flags = { { name = "to", type = "string", metavar = "REGISTRY_DIR", help = "the registry directory to add it to" } },
        handler = function(ctx) return registry().publish_cmd(ctx) end },
    },
  }, "core")
end

return M
