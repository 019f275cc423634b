-- vcli/plugin/harness_side.lua — the plugin side of `plugin test NAME`. Never
-- required by the host: vcli.plugin.harness sends its text into the plugin's
-- own state (the prelude's D.test), with that of the runner it shares with
-- spec/runner.lua (vcli.testing), so the plugin's specs run where its code
-- runs, against its own modules and grants. It collects each spec file into a
-- tree the host runs test by test (each test is one call, so the host's
-- per-test timeout can end it), and keeps the stubs, scoped to a test or a
-- group.
--   ...: api (the prelude's: host, await, require), door (stub, raw_host,
--        raw_await, load, env: the plugin's globals), data (from the host:
--        name, dir, version, sources, targets, services, grants)
local api, door, data = ...

local function module(name)
  local fn, err = door.load(data.sources[name], "@vcli/" .. name:gsub("^vcli%.", ""):gsub("%.", "/") .. ".lua")
  if not fn then error(err, 0) end
  return fn()
end
local T = module("vcli.testing")
local pretty = module("vcli.pretty")
local text = api.require("vcli.text")

local NAME = data.name

-- ------------------------------------------------------------------- stubs
-- What crosses to the host is a copy of plain data: a stub gets and gives the
-- same (a function or a cycle is refused as the crossing would refuse it).
local function copy(v, depth, path)
  if type(v) == "function" then
    error("functions cannot cross between a plugin and the host (pass data; register handlers by name)", 0)
  end
  if type(v) ~= "table" then return v end
  if depth >= 32 then error("a table nested deeper than 32 levels cannot be copied", 0) end
  path = path or {}
  for i = 1, depth do if path[i] == v then error("a table that contains itself (a cycle) cannot be copied", 0) end end
  path[depth + 1] = v
  local c = {}
  for k, x in pairs(v) do c[copy(k, depth + 1, path)] = copy(x, depth + 1, path) end
  path[depth + 1] = nil
  return c
end
local function copy_all(...)
  local n = select("#", ...)
  local t = { ... }
  for i = 1, n do t[i] = copy(t[i], 0) end
  return unpack(t, 1, n)
end

-- Every name a stub may replace, for "did you mean" and `plugin test --stubs`.
local function target_names()
  local out = {}
  for cap, ops in pairs(data.targets) do
    for op in pairs(ops) do out[#out + 1] = cap .. "." .. op end
  end
  for _, s in ipairs(data.services) do out[#out + 1] = s .. ".OP" end
  table.sort(out)
  return out
end

local function is_service(cap)
  for _, s in ipairs(data.services) do if s == cap then return true end end
  return false
end

local function check_target(cap, op)
  if type(cap) ~= "string" or type(op) ~= "string" then
    error("stub(cap, op, fn): the capability and operation are names (stub(\"net\", \"request\", fn))", 3)
  end
  if is_service(cap) then return "service" end
  local ops = data.targets[cap]
  if ops and ops[op] then return "op" end
  local all = target_names()
  local valid = "; stub targets of plugin " .. NAME .. ": " .. table.concat(all, ", ")
  if not ops then
    local grant = data.grants[cap]
    if grant then
      error(("stub: plugin %s is not granted %s, so nothing it runs reaches %s.%s (capabilities: %s)%s"):format(
        NAME, cap, cap, op, grant, valid), 3)
    end
    local near = text.nearest(cap .. "." .. op, all)
    error(("stub: no capability '%s'%s%s"):format(cap, near and (" (did you mean %s?)"):format(near) or "", valid), 3)
  end
  local names = {}
  for o in pairs(ops) do names[#names + 1] = o end
  table.sort(names)
  local near = text.nearest(op, names)
  error(("stub: %s has no operation '%s'%s; %s's: %s"):format(cap, op,
    near and (" (did you mean %s?)"):format(near) or "", cap, table.concat(names, ", ")), 3)
end

-- scopes: one per group and per test being run, each a list of what to put back.
local scopes = {}
local services = {}   -- service -> op -> fn (vcli.kube.OP reaches the door as kube.call(OP, …))

local function restore(scope)
  for i = #scope, 1, -1 do
    local r = scope[i]
    if r.service then services[r.cap][r.op] = r.prev else door.stub(r.cap, r.op, r.prev) end
  end
end

local function stub(cap, op, fn)
  local kind = check_target(cap, op)
  if type(fn) ~= "function" then error("stub(cap, op, fn): fn must be a function", 2) end
  local scope = scopes[#scopes]
  if not scope then error("stub: call it inside it, before_each or before_all (it is put back after them)", 2) end
  if kind == "service" then
    if not services[cap] then
      services[cap] = {}
      local calls = services[cap]
      -- stays for the whole run: an operation without a stub goes on to the provider
      door.stub(cap, "call", function(o, ...)
        local f = calls[o]
        if f then return (copy(f(copy_all(...)), 0)) end   -- a service call gives its first value
        return door.raw_await(cap, "call", o, ...)
      end)
    end
    scope[#scope + 1] = { service = true, cap = cap, op = op, prev = services[cap][op] }
    services[cap][op] = fn
    return
  end
  local prev = door.stub(cap, op, function(...) return copy_all(fn(copy_all(...))) end)
  scope[#scope + 1] = { cap = cap, op = op, prev = prev }
end

-- ------------------------------------------------------------- test globals
local assert_ = T.assertions(function(v) return pretty.format(v, { width = 100 }) end)
local vcli = door.env.vcli
local clock = { now = vcli.now, sleep = function(ms) door.raw_await("core", "sleep", ms) end }   -- (not stubbed)
local spec = {
  skip = T.skip,
  eventually = function(fn, ms, what)
    local v = T.eventually(fn, ms, what, clock)   -- (not a tail call: its error points at the caller)
    return v
  end,
}
local plugin = { name = NAME, version = data.version, dir = data.dir }

local function globals()
  local env, root = T.collector()
  env.assert, env.spec, env.plugin, env.stub = assert_, spec, plugin, stub
  -- run(line) -> what it printed (stdout, then stderr), its status: a shell line, as typed
  env.run = function(line)
    if type(line) ~= "string" then error("run(line): a command line expected", 2) end
    return door.raw_await("core", "test_run", line)
  end
  env.events = function() return door.raw_host("core", "test_events") end
  env.wait_event = function(topic, ms) return door.raw_await("core", "test_wait_event", topic, ms) end
  return setmetatable(env, { __index = door.env }), root
end

-- ---------------------------------------------------------------- the host's
local fns = {}
local function id_of(f)
  fns[#fns + 1] = f
  return #fns
end
local function ids(list)
  local out = {}
  for i, f in ipairs(list) do out[i] = id_of(f) end
  return out
end
-- the tree as plain data, functions by id (parents are linked again on the host)
local function mirror(g)
  local m = { name = g.name ~= nil and tostring(g.name) or nil, children = {}, before_all = ids(g.before_all),
              after_all = ids(g.after_all), before_each = ids(g.before_each), after_each = ids(g.after_each) }
  for i, c in ipairs(g.children) do
    if c.test then
      m.children[i] = { test = true, name = tostring(c.name), pending = c.pending and tostring(c.pending),
                        fn = type(c.fn) == "function" and id_of(c.fn) or nil }
    else
      m.children[i] = mirror(c)
    end
  end
  return m
end

local function message(err)
  if type(err) == "string" then return err end
  return tostring(err)
end

local M = {}
-- file(text, chunkname) -> { root = tree } | { err = message }
function M.file(src, chunk)
  local env, root = globals()
  local fn, err = door.load(src, chunk, "t", env)
  if not fn then return { err = err } end
  local ok, lerr = pcall(fn)
  if not ok then return { err = message(lerr) } end
  return { root = mirror(root) }
end
-- call(id) -> true | false, message (a test's failure, or spec.skip's)
function M.call(id)
  local f = fns[id]
  if type(f) ~= "function" then return false, ("it/hook %s: no function"):format(tostring(id)) end
  local ok, err = pcall(f)
  if ok then return true end
  return false, message(err)
end
function M.enter() scopes[#scopes + 1] = {} return true end
function M.leave()
  local scope = table.remove(scopes)
  if scope then restore(scope) end
  return true
end
function M.targets() return target_names() end

return M
