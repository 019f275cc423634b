-- vcli.plugin.harness — `plugin test NAME`: the plugin's spec/*_spec.lua on
-- the project's one runner (vcli.testing, as spec/runner.lua), inside the
-- plugin's own state: a fresh start with a scratch store, the spec files
-- loaded there (vcli/plugin/harness_side.lua) next to the plugin's code and
-- grants, then each test run from here as one call with a timeout, its
-- result printed as it finishes, and the summary line. Specs get describe/
-- it/pending/before_all/after_all/before_each/after_each, assert (equal, same,
-- truthy, falsy, matches, not_matches, error, near), spec.skip, spec.eventually,
-- plugin {name, version, dir} and:
--   run(line) -> output, status   a shell line (the plugin's commands run in its state)
--   events()                      everything published since the test began
--   wait_event(topic [, ms])      the first event published on topic, waiting for it
--   stub(cap, op, fn)             replace an operation's host side until the end of the
--                                 test (or of the group, from before_all)
local R = require("vcli.plugin.runtime")
local caps = require("vcli.plugin.caps")
local T = require("vcli.testing")

local M = {}
M.DEFAULT_TIMEOUT_MS = 5000

-- Operations of the core a stub may not replace: the runtime's own plumbing.
local INTERNAL = { version = true, source = true, cancel = true }

-- What a stub may replace for plugin p (all capabilities without p): cap -> op -> "wait"|"now".
function M.targets(p)
  local out = {}
  local function add(name)
    local C = caps.get(name)
    out[name] = {}
    for op, how in pairs(C.ops) do if not (name == caps.CORE and INTERNAL[op]) then out[name][op] = how end end
  end
  add(caps.CORE)
  for _, n in ipairs(caps.NAMES) do
    if not p or (p.m and p.m.capabilities[n]) then add(n) end
  end
  return out
end

local function services_of(p)
  local out = {}
  for _, g in ipairs(p.m.grants) do if not caps.get(g) then out[#out + 1] = g end end
  return out
end

local function grant_lines()
  local out = {}
  for _, n in ipairs(caps.NAMES) do out[n] = caps.get(n).grant end
  return out
end

-- `plugin test --stubs [NAME]`: the stub targets, one capability a line.
function M.stub_lines(p)
  local t = M.targets(p)
  local names = {}
  for cap in pairs(t) do names[#names + 1] = cap end
  table.sort(names)
  local rows = {}
  for _, cap in ipairs(names) do
    local ops = {}
    for op in pairs(t[cap]) do ops[#ops + 1] = op end
    table.sort(ops)
    rows[#rows + 1] = { cap, table.concat(ops, ", ") }
  end
  for _, s in ipairs(p and services_of(p) or {}) do rows[#rows + 1] = { s, "any operation of the service (vcli." .. s .. ".OP)" } end
  return rows
end

local function source(mod)
  local path = R.vcli().datadir .. "/lua/" .. mod:gsub("%.", "/") .. ".lua"
  local text = R.read_file(path)
  if not text then error("plugin test: cannot read " .. path, 0) end
  return text
end

local function first_line(err)
  local s = tostring(err)
  return s:match("^(.-)\nstack traceback:") or s
end

-- The harness's operations, reached from the plugin under test only (vcli.plugin.call).
local OPS, WAIT = {}, { test_run = true, test_wait_event = true }
function OPS.test_run(_, line)
  local async, shell = require("vcli.async"), require("vcli.shell")
  async.sleep(0)   -- after the test's call has yielded: the line may call into the same state
  local status, out, err, perr = shell.capture(function() return shell.execute(line) end)
  if perr then error(perr, 0) end
  return out .. err, status
end
function OPS.test_events() return require("vcli.plugin.bus").recorded() end
function OPS.test_wait_event(_, topic, ms)
  local bus, async, vm = require("vcli.plugin.bus"), require("vcli.async"), require("vcli.vm")
  local deadline = vm.now() + (tonumber(ms) or 2000)
  while true do
    for _, e in ipairs(bus.recorded()) do if e.topic == topic then return e end end
    if vm.now() >= deadline then return nil end
    async.sleep(10)
  end
end

local function spec_files(p)
  local fs = require("vcli.fs")
  local files = {}
  for _, f in ipairs(fs.list(p.dir .. "/spec") or {}) do
    local name = type(f) == "table" and (f.name or f[1]) or f
    if type(name) == "string" and name:match("_spec%.lua$") then files[#files + 1] = name end
  end
  table.sort(files)
  return files
end

-- opts: timeout_ms, filter (a Lua pattern on the full test name)
function M.run(name, ctx, opts)
  opts = opts or {}
  local pm = require("vcli.plugin")
  local bus = pm.bus
  local vm = require("vcli.vm")
  local fs = require("vcli.fs")
  local p = pm.get(name)
  if not p then error(("no plugin named '%s' (plugin list shows what is installed)"):format(name), 0) end
  if not p.m then error(("plugin %s cannot run: %s"):format(name, tostring(p.reason)), 0) end
  local timeout = opts.timeout_ms or M.DEFAULT_TIMEOUT_MS
  local files = spec_files(p)
  local function out(s) ctx.out(s) end
  local function flush() io.stdout:flush() end
  if #files == 0 then
    ctx.err(("plugin %s has no spec/*_spec.lua in %s\n"):format(name, p.dir))
  end

  local run = T.runner({ write = out, flush = flush, now = vm.now, color = ctx.color, filter = opts.filter })
  local function call(...)
    local res = table.pack(T.timed(function(...) return pm.invoke(pm.get(name), "test", ...) end, timeout, ...))
    if not res[1] then return false, first_line(res[2]) end
    return unpack(res, 2, res.n)
  end
  run.opts.exec = function(id) return call("call", id) end
  run.opts.enter = function(node)
    if node.test then bus.record(true) end
    call("enter")
  end
  run.opts.leave = function() call("leave") end

  local function body()
    local ok, err = pm.start(name)
    if ok then
      local data = { name = name, dir = p.dir, version = p.m.version, targets = M.targets(p), services = services_of(p),
                     grants = grant_lines(),
                     sources = { ["vcli.testing"] = source("vcli.testing"), ["vcli.pretty"] = source("vcli.pretty") } }
      ok, err = call("load", source("vcli.plugin.harness_side"), "@vcli/plugin/harness_side.lua", data)
    end
    if not ok then return run:fail(("plugin %s (start)"):format(name), err) end
    for _, f in ipairs(files) do
      local rel = "spec/" .. f
      local text = R.read_file(p.dir .. "/" .. rel)
      local res, ferr = call("file", text or "", "@" .. name .. "/" .. rel)
      if type(res) ~= "table" then res = { err = ferr } end
      run:file(name .. "/" .. rel, res.root and T.link(res.root), res.err)
    end
  end

  -- a fresh state with an empty scratch store; afterwards the plugin is stopped
  -- (its next use starts it as users have it) and the store is theirs again
  local saved_store = R.S.store_dir
  local tmp = assert(fs.mkdtemp("/tmp/vcli-plugin-test."))
  if p.state == "running" then pm.stop(name) end
  pm.set_store_dir(tmp)
  R.testing = { name = name, ops = OPS, wait = WAIT }
  local ok, err = pcall(body)
  R.testing = nil
  bus.record(false)
  local q = pm.get(name)
  if q and q.state == "running" then pm.stop(name) end
  pm.set_store_dir(saved_store)
  fs.remove(tmp, true)
  if not ok then error(err, 0) end   -- Ctrl-C
  return run:finish()
end

return M
