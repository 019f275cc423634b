-- vcli.plugin.call — calls into a plugin's state and the one door back out.
--   invoke(p, kind, ...)   dispatch(kind, ...) in the plugin; waits on the host when
--                          the plugin does; returns its results or raises one line
--   host(name, cap, op, ...)  what sandbox.c calls after checking the grant: the
--                          capability's host side (vcli.plugin.caps), a ticket when
--                          the operation waits, or a service call
local R = require("vcli.plugin.runtime")
local caps = require("vcli.plugin.caps")
local vm = require("vcli.vm")
local S = R.S

local M = {}

local function record_latency(p, ms)
  p.lat_i = p.lat_i % 512 + 1
  p.lat[p.lat_i] = ms
end

-- One stretch of a call: fn(sb, ...) with the call marked current.
local function call_step(p, call, prev, fn, sb, ...)
  p.current_call = call
  local r = table.pack(fn(sb, ...))
  p.current_call = prev
  return r
end

function M.invoke(p, kind, ...)
  if p.state ~= "running" or not p.sb then
    error(("plugin %s is %s%s"):format(p.name, p.state, p.reason and (": " .. p.reason) or ""), 0)
  end
  -- The breaker guards calls users and other plugins make, not the
  -- manager's own introspection (eval) or lifecycle hooks.
  -- A panel's calls neither: a panel that fails shows it in its own area (vcli.tui.app)
  -- and must not shut off the plugin's commands.
  local breaker = (kind ~= "eval" and kind ~= "hook" and kind ~= "load" and kind ~= "panel" and kind ~= "test") and p.breaker or nil
  if breaker and not breaker:allow() then
    error(("plugin %s: circuit open after %d failures (plugin stats shows it)"):format(p.name, breaker.failures), 0)
  end
  local t0 = vm.now()
  local sb = p.sb
  -- The call's own resources (streams) close when it ends, however it ends.
  local call, prev = { streams = false }, p.current_call
  local function close_call()
    p.current_call, call.done = prev, true
    if call.streams then for id in pairs(call.streams) do R.close_resource(p, id) end end
  end
  local sok, res = pcall(call_step, p, call, prev, sb.call, sb, kind, ...)
  if not sok then close_call() error(res, 0) end
  while res[1] == "wait" do
    R.flush(p)
    local tref = res[2]
    if res[3] ~= "__vcli_wait" then
      sb:cancel(tref)
      res = { "error", ("plugin %s: coroutine.yield outside a coroutine"):format(p.name), "error", n = 3 }
      break
    end
    -- one ticket, or several (tasks of the call: vcli.spawn) -> which one, ok, values
    local many = type(res[4]) == "table"
    local got = table.pack(pcall(R.await_any, many and res[4] or { res[4] }))
    if sb:closed() then close_call() error(("plugin %s stopped while a call waited"):format(p.name), 0) end
    if not got[1] then close_call(); sb:cancel(tref); error(got[2], 0) end   -- cancelled (Ctrl-C)
    -- a large value (an HTTP body) is garbage on the host once copied into
    -- the plugin: collect it now, not when the host heap has doubled
    local tval = got[4]
    local big = type(tval) == "table" and type(tval.body) == "string" and #tval.body or 0
    tval = nil -- luacheck: ignore 311
    if many then
      sok, res = pcall(call_step, p, call, prev, sb.resume, sb, tref, unpack(got, 2, got.n))
    else
      sok, res = pcall(call_step, p, call, prev, sb.resume, sb, tref, unpack(got, 3, got.n))
    end
    got = nil -- luacheck: ignore 311
    if big >= 262144 then collectgarbage("step", math.floor(big / 1024)) end
    if not sok then close_call() error(res, 0) end
  end
  close_call()
  R.flush(p)
  p.calls = p.calls + 1
  record_latency(p, vm.now() - t0)
  if res[1] == "error" then
    p.errors = p.errors + 1
    local msg = res[2]
    -- The breaker counts faults (a limit hit, a Lua error at a line of the plugin), not a
    -- command's own answer (error(msg, 0): "not found", "refused: read-only"): five typos
    -- in a row must not shut the plugin off.
    if breaker then
      if res[3] ~= "error" or msg:match("^[^\n]-:%d+: ") then breaker:failure() else breaker:success() end
    end
    local tb = msg:match("\nstack traceback:.*$")
    msg = msg:match("^(.-)\nstack traceback:") or msg
    if msg == "stack overflow" or msg:match("stack overflow$") then
      msg = ("plugin %s: stack overflow (runaway recursion?)"):format(p.name)
    else
      -- an API of a capability it lacks: which manifest line grants it
      msg = caps.explain(p, msg)
      if not msg:match("^plugin ") and not (kind == "command" and res[3] == "error") then
        -- (a command's own error is its message: its chunk names the plugin)
        msg = ("plugin %s: %s"):format(p.name, msg)
      end
    end
    if res[3] == "memory" then
      if p.mem_cap then msg = ("%s (security.maxMemoryMB is %d)"):format(msg, p.mem_cap) end
      R.fail(p, msg)
    end
    -- a limit stopped it (memory, CPU): plugin info and stats say which call and why
    if res[3] == "memory" or res[3] == "time" then
      p.stops = (p.stops or 0) + 1
      p.last_stop = { msg = msg, at = os.time(), kind = kind }
    end
    -- global.debug: the plugin's own traceback goes with the message
    if tb and R.setting("global.debug") == true then msg = msg .. tb end
    error(msg, 0)
  end
  if breaker then breaker:success() end
  return unpack(res, 2, res.n)
end

function M.call(name, kind, ...)
  local p = S.plugins[name]
  if not p then error(("no plugin named '%s'"):format(name), 0) end
  if p.state ~= "running" then
    local ok, err = R.start(name)
    if not ok then error(err, 0) end
  end
  return M.invoke(p, kind, ...)
end

-- The door: sandbox.c calls this after checking the capability grant.
local H, W
function M.host(name, cap, op, ...)
  local p = R.plugin(name)
  if not p then error("unknown plugin " .. tostring(name), 0) end
  if not H then H, W = caps.host_table() end
  -- `plugin test NAME` (vcli.plugin.harness): while NAME's tests run, its state
  -- also reaches the harness's own operations (core.test_*: a shell line, the
  -- recorded bus); no other plugin does, and nothing outside a test run.
  local t = R.testing
  if t and cap == "core" and t.name == name and t.ops[op] then
    if t.wait[op] then return R.ticket(t.ops[op], p, ...) end
    return t.ops[op](p, ...)
  end
  local ops = H[cap]
  if ops then
    local h = ops[op]
    if not h then error(("%s: no operation '%s'"):format(cap, tostring(op)), 0) end
    if W[cap][op] then return R.ticket(h, p, ...) end
    return h(p, ...)
  end
  if op == "call" then return R.ticket(caps.service().call, p, cap, ...) end
  error(("%s: no operation '%s'"):format(cap, tostring(op)), 0)
end

return M
