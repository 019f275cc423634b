-- vcli.plugin.harness — `plugin test NAME`: runs the plugin's spec/*_spec.lua
-- inside vcli. Specs get describe/it/assert plus:
--   run(line) -> output       run a shell line (the plugin starts on first use)
--   events()                   everything published so far (recorded bus)
--   wait_event(topic [, ms])   the first recorded event on topic, waiting for it
--   plugin                     the plugin's record (state, stats via vcli.plugin)
--   stub(cap, op, fn)          replace a capability's host side (e.g. net.request)
local M = {}

function M.run(name, ctx)
  local pm = require("vcli.plugin")
  local bus = pm.bus
  local shell = require("vcli.shell")
  local async = require("vcli.async")
  local vm = require("vcli.vm")
  local p = pm.get(name)
  if not p then error(("no plugin named '%s'"):format(name), 0) end
  local fs = require("vcli.fs")
  local files = fs.list(p.dir .. "/spec") or {}
  table.sort(files)
  local passed, failed = 0, 0
  local tmp = assert(fs.mkdtemp("/tmp/vcli-plugin-test."))
  pm.set_store_dir(tmp)
  local stubs = {}
  local env = setmetatable({}, { __index = _G })
  env.plugin = p
  env.run = function(line)
    local _, out, err = shell.capture(function() return shell.execute(line) end)
    return out .. err
  end
  env.events = function() return bus.recorded() end
  env.wait_event = function(topic, ms)
    local deadline = vm.now() + (ms or 2000)
    while vm.now() < deadline do
      for _, e in ipairs(bus.recorded()) do if e.topic == topic then return e end end
      async.sleep(10)
    end
  end
  env.stub = function(cap, op, fn)
    local H = pm.handlers
    H[cap] = H[cap] or {}
    table.insert(stubs, { cap, op, H[cap][op] })
    H[cap][op] = function(_, ...) return fn(...) end
  end
  env.assert = setmetatable({
    equal = function(a, b) if a ~= b then error(("expected %s, got %s"):format(tostring(a), tostring(b)), 2) end end,
    truthy = function(v, m) if not v then error(m or "expected a true value", 2) end return v end,
    falsy = function(v, m) if v then error(m or "expected a false value", 2) end end,
    matches = function(pat, s)
      if type(s) ~= "string" or not s:find(pat) then error(("expected %q to match %q"):format(tostring(s), pat), 2) end
    end,
  }, { __call = function(_, v, m) if not v then error(m or "assertion failed", 2) end return v end })
  local tests, prefix = {}, {}
  env.describe = function(n, fn) table.insert(prefix, n); fn(); table.remove(prefix) end
  env.it = function(n, fn) table.insert(tests, { name = table.concat(prefix, " ") .. " " .. n, fn = fn }) end
  for _, f in ipairs(files) do
    if f:match("_spec%.lua$") then
      local chunk, err = loadfile(p.dir .. "/spec/" .. f)
      if not chunk then ctx.print("FAIL  " .. f .. ": " .. err); failed = failed + 1
      else setfenv(chunk, env); chunk() end
    end
  end
  for _, t in ipairs(tests) do
    bus.record(true)
    local ok, err = pcall(t.fn)
    if ok then passed = passed + 1; ctx.print("ok    " .. t.name)
    else failed = failed + 1; ctx.print("FAIL  " .. t.name .. "\n      " .. tostring(err)) end
  end
  bus.record(false)
  for i = #stubs, 1, -1 do pm.handlers[stubs[i][1]][stubs[i][2]] = stubs[i][3] end
  ctx.print(("%d passed, %d failed"):format(passed, failed))
  return failed == 0 and 0 or 1
end

return M
