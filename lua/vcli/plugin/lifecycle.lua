-- vcli.plugin.lifecycle — a plugin's life: dependency order, creating its
-- state (sandbox.new with the prelude and its capabilities' plugin sides),
-- start, stop, reload beside the running version, enable and disable.
local R = require("vcli.plugin.runtime")
local caps = require("vcli.plugin.caps")
local discovery = require("vcli.plugin.discovery")
local manifest = require("vcli.plugin.manifest")
local semver = require("vcli.plugin.semver")
local resilience = require("vcli.plugin.resilience")
local commands = require("vcli.shell.commands")
local S = R.S

local M = {}

local prelude_text
local function prelude()
  prelude_text = prelude_text or assert(R.read_file(R.vcli().datadir .. "/lua/vcli/plugin/prelude.lua"))
  return prelude_text
end

-- Start order for name (dependencies first) | nil, err naming the problem.
function M.order(name)
  local order, state, stack = {}, {}, {}
  local function visit(n, from, range)
    local p = S.plugins[n]
    if not p then
      return nil, from and ("plugin %s needs %s (%s), which is not installed"):format(from, n, range)
        or ("no plugin named '%s' (plugin list shows what is installed)"):format(n)
    end
    if not p.m then return nil, ("plugin %s: %s"):format(n, p.reason) end
    if from and not semver.satisfies(p.m.version, range) then
      return nil, ("plugin %s needs %s %s, but %s %s is installed (%s)"):format(from, n, range, n, p.m.version, p.dir)
    end
    if state[n] == "done" then return true end
    if state[n] == "visiting" then
      local cycle, start = {}, nil
      for i, s in ipairs(stack) do if s == n then start = i end end
      for i = start, #stack do table.insert(cycle, stack[i]) end
      table.insert(cycle, n)
      return nil, "dependency cycle: " .. table.concat(cycle, " → ")
    end
    state[n] = "visiting"
    table.insert(stack, n)
    for _, d in ipairs(p.m.dependencies) do
      local ok, err = visit(d.name, n, d.range)
      if not ok then return nil, err end
    end
    table.remove(stack)
    state[n] = "done"
    table.insert(order, n)
    return true
  end
  local ok, err = visit(name)
  if not ok then return nil, err end
  return order
end

local function verify_files(p)
  local codec = require("vcli.codec")
  -- a map covers the whole plugin: a file added after it was written is not trusted either
  if p.m.sha256 and next(p.m.sha256) then
    for _, file in ipairs(manifest.covered_files(p.dir)) do
      if not p.m.sha256[file] then
        return nil, ("%s/%s: not in the manifest's sha256 map (changed after `plugin publish`?)"):format(p.dir, file)
      end
    end
  end
  for file, want in pairs(p.m.sha256 or {}) do
    local data = R.read_file(p.dir .. "/" .. file)
    if not data then return nil, ("%s: sha256 lists %s, which is missing"):format(p.dir, file) end
    local got = codec.sha256(data)
    if got ~= want:lower() then
      return nil, ("%s/%s: sha256 mismatch (manifest %s…, file %s…)"):format(p.dir, file, want:sub(1, 12), got:sub(1, 12))
    end
  end
  return true
end

local function cleanup(p)
  if p.m then caps.each(p, "stopped") end
  if p.sb then p.sb:close() end
  p.sb = nil
end
M.cleanup = cleanup

-- Create the state, load the entry and run init/start. p is not yet in S.plugins' running set.
local function boot(p)
  local m = p.m
  if not semver.satisfies(R.vcli().version, m.vcli) then
    return nil, ("plugin %s needs vcli %s, this is %s"):format(p.name, m.vcli, R.vcli().version)
  end
  local ok, err = verify_files(p)
  if not ok then return nil, err end
  -- security.maxMemoryMB lowers what a manifest asks for
  local memory, cap = m.limits.memory, tonumber(R.setting("security.maxMemoryMB"))
  p.mem_cap = nil
  if cap and cap * 1048576 < memory then memory, p.mem_cap = cap * 1048576, cap end
  p.mem_limit = memory
  local dok, data = pcall(caps.plugin_data, m.grants)
  if not dok then return nil, ("plugin %s: %s"):format(p.name, data) end
  local sb, serr = require("vcli.sandbox").new({ name = p.name, dir = p.dir, prelude = prelude(), memory = memory,
    cpu_ms = m.limits.start_ms, grants = m.grants, host = require("vcli.plugin.call").host, data = data,
    -- a plugin's heap stays near what it holds: a watched 10 000-row list is
    -- 50 MiB, and Lua's default pause (200%) let it reach 100 under churn
    gc_pause = 120 })
  if not sb then return nil, serr end
  p.sb = sb
  p.breaker = p.breaker or resilience.breaker({ name = p.name, threshold = 5, reset_ms = 10000 })
  p.state = "running"   -- so invoke accepts the init/start calls
  S.starting[p.name] = p
  local entry = m.entry:gsub("%.lua$", ""):gsub("/", ".")
  local lok, lerr = pcall(R.invoke, p, "load", entry)
  if lok then lok, lerr = pcall(R.invoke, p, "hook", "start") end
  S.starting[p.name] = nil
  if not lok then
    p.state = "failed"
    return nil, lerr
  end
  sb:limits({ cpu_ms = m.limits.cpu_ms_per_call })
  caps.each(p, "started")
  p.started_at = os.time()
  return true
end

-- Why config does not let a plugin start (nil when it does):
-- plugins.<name>.enabled false, or a security.allowedPlugins without it.
function M.refused(name)
  if R.setting("plugins." .. name .. ".enabled") == false then
    return ("plugin %s is turned off in the configuration (plugins.%s.enabled is false)"):format(name, name)
  end
  local allowed = R.setting("security.allowedPlugins")
  if type(allowed) == "table" and #allowed > 0 then
    for _, a in ipairs(allowed) do if a == name then return nil end end
    return ("plugin %s is not in security.allowedPlugins (%s)"):format(name, table.concat(allowed, ", "))
  end
end

local function start_one(p)
  if p.state == "running" then return true end
  if p.state == "disabled" then return nil, ("plugin %s is disabled (plugin enable %s)"):format(p.name, p.name) end
  if not p.m then return nil, ("plugin %s: %s"):format(p.name, p.reason) end
  local refused = M.refused(p.name)
  if refused then return nil, refused end
  local snap = commands.snapshot(R.owner(p))
  commands.remove_owner(R.owner(p))
  local ok, err = boot(p)
  if not ok then
    commands.remove_owner(R.owner(p))
    commands.restore(snap)
    cleanup(p)
    p.state, p.reason = "failed", err
    return nil, err
  end
  -- Stubs that the plugin did not redefine stay lazy stubs no more.
  for name, spec in pairs(snap.commands) do
    if spec.lazy_plugin and not (p.cmds or {})[name] then commands.remove(name) end
  end
  p.reason = nil
  return true
end

-- Start name and its dependencies in order; on failure stop what this call started.
function M.start(name)
  local order, err = M.order(name)
  if not order then
    local p = S.plugins[name]
    if p and p.state ~= "running" then p.state, p.reason = "failed", err end
    return nil, err
  end
  local started = {}
  for _, n in ipairs(order) do
    local p = S.plugins[n]
    if p.state ~= "running" then
      local ok, serr = start_one(p)
      if not ok then
        for i = #started, 1, -1 do M.stop(started[i]) end
        local msg = n == name and serr or ("plugin %s: dependency %s failed: %s"):format(name, n, serr)
        if n ~= name then S.plugins[name].state, S.plugins[name].reason = "failed", msg end
        return nil, msg
      end
      table.insert(started, n)
    end
  end
  return true
end

function M.stop(name, why)
  local p = S.plugins[name]
  if not p or p.state ~= "running" then return true end
  -- Dependents first.
  for _, q in pairs(S.plugins) do
    if q.state == "running" and q.m then
      for _, d in ipairs(q.m.dependencies) do if d.name == name then M.stop(q.name) end end
    end
  end
  if p.sb and not p.sb:closed() then
    p.sb:limits({ cpu_ms = p.m.limits.stop_ms })
    pcall(R.invoke, p, "hook", "stop")
  end
  commands.remove_owner(R.owner(p))
  cleanup(p)
  p.state = why and "failed" or "stopped"
  p.reason = why
  if not why and p.m and not S.disabled[name] then discovery.stubs(p) end
  return true
end

function M.fail(p, reason)
  if S.plugins[p.name] == p then M.stop(p.name, reason) else cleanup(p) end
  p.state, p.reason = "failed", reason
end

function M.enable(name)
  local p = S.plugins[name]
  if not p then return nil, ("no plugin named '%s'"):format(name) end
  S.disabled[name] = nil
  discovery.write_disabled()
  if p.state == "disabled" then p.state = "discovered"; discovery.stubs(p) end
  return true
end

function M.disable(name)
  local p = S.plugins[name]
  if not p then return nil, ("no plugin named '%s'"):format(name) end
  M.stop(name)
  commands.remove_owner(R.owner(p))
  S.disabled[name] = true
  discovery.write_disabled()
  if p.state ~= "failed" then p.state = "disabled" end
  return true
end

-- Reload from disk: the new version starts beside the old one; only when it
-- is up does it replace the old (whose commands, subscriptions and timers go).
-- If it fails, the old version keeps running and the error is returned.
function M.reload(name)
  local old = S.plugins[name]
  if not old then return nil, ("no plugin named '%s'"):format(name) end
  local mpath = old.dir .. "/plugin.yaml"
  local text = R.read_file(mpath)
  if not text then return nil, mpath .. ": cannot read" end
  local m, err = manifest.parse(text, mpath)
  if not m then
    if old.state ~= "running" then
      old.state, old.reason, old.m = "failed", err, nil
      commands.remove_owner(R.owner(old))
      discovery.broken_stubs(old)
    end
    return nil, err
  end
  if old.state ~= "running" then
    local p = discovery.new_record(old.dir, old.source, m)
    p.name, p.shadowed = name, old.shadowed
    commands.remove_owner(R.owner(old))
    S.plugins[name] = p
    if S.disabled[name] then p.state = "disabled" return true end
    discovery.stubs(p)
    return true
  end
  local p = discovery.new_record(old.dir, old.source, m)
  p.name, p.shadowed, p.breaker = name, old.shadowed, old.breaker
  p.reloads = (old.reloads or 0) + 1
  local snap = commands.snapshot(R.owner(old))
  commands.remove_owner(R.owner(old))
  local ok, berr = boot(p)
  if not ok then
    commands.remove_owner(R.owner(p))
    commands.restore(snap)
    cleanup(p)
    -- the old version's subscriptions to the configuration again
    -- (the new one's went with its cleanup: they share an owner)
    if old.m.capabilities.config then caps.get("config").started(old) end
    old.last_reload_error = berr
    return nil, berr
  end
  old.sb:limits({ cpu_ms = old.m.limits.stop_ms })
  pcall(R.invoke, old, "hook", "stop")
  cleanup(old)
  if p.m.capabilities.config then caps.get("config").started(p) end
  old.state = "stopped"
  p.calls, p.errors, p.lat, p.lat_i = old.calls, old.errors, old.lat, old.lat_i
  S.plugins[name] = p
  return true
end

return M
