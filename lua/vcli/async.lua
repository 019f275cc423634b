-- vcli.async — coroutine tasks on the core loop, so code reads straight:
--   local body = http.get(url)   -- yields this task until the response is in
-- The loop keeps running (keys, timers, other tasks) while a task waits.
local loop = require("vcli.loop")
local vm = require("vcli.vm")

local M = {}
local current = nil          -- the task whose coroutine is running
local CANCEL = setmetatable({}, { __tostring = function() return "cancelled" end })

local Task = {}
Task.__index = Task

local function finish(task, ok, ...)
  task.done = true
  if ok then
    task.results = table.pack(...)
  else
    task.err = ...
  end
  for _, fn in ipairs(task.watchers) do fn(task) end
end

local function step(task, ...)
  if task.done then return end
  local prev = current
  current = task
  local armed = vm.arm_interrupt(task.interruptible or false)
  local ok, a, b = coroutine.resume(task.co, ...)
  vm.arm_interrupt(armed)
  current = prev
  if not ok then
    finish(task, false, a)
  elseif coroutine.status(task.co) == "dead" then
    if a == true then finish(task, true, unpack(b, 1, b.n)) else finish(task, false, b) end
  end
end

local function traceback(err)
  if err == CANCEL then return err end
  if type(err) ~= "string" then return err end
  return vm.traceback(err, 2)
end

-- Start fn(...) as a task; it runs at once until its first wait.
function M.spawn(fn, ...)
  local args = table.pack(...)
  local task = setmetatable({ watchers = {}, name = "task" }, Task)
  task.co = coroutine.create(function()
    local res = table.pack(xpcall(function() return fn(unpack(args, 1, args.n)) end, traceback))
    if res[1] then return true, { n = res.n - 1, unpack(res, 2, res.n) } end
    return false, res[2]
  end)
  step(task)
  return task
end

-- Suspend the running task until `resume(...)` is called (from a loop callback).
-- register(resume) starts the wait and may return a canceller function.
function M.await(register)
  local task = current
  if not task then error("async.await called outside a task", 2) end
  local registering, woken, early = true, false, nil
  local function resume(...)
    if woken then return end
    woken = true
    task.canceller = nil
    if registering then early = table.pack(...) else step(task, ...) end
  end
  task.canceller = register(resume)
  registering = false
  if early then task.canceller = nil; return unpack(early, 1, early.n) end
  local res = table.pack(coroutine.yield())
  if res[1] == CANCEL then woken = true; error(task.cancel_reason or "interrupted", 0) end
  return unpack(res, 1, res.n)
end

function M.current() return current end

-- Run fn(...) so that Ctrl-C (SIGINT) stops it even in a busy Lua loop;
-- outside a task it just calls fn.
function M.interruptible(fn, ...)
  local task = current
  if not task then return xpcall(fn, traceback, ...) end
  local prev_flag = task.interruptible
  task.interruptible = true
  local prev = vm.arm_interrupt(true)
  local res = table.pack(xpcall(fn, traceback, ...))
  vm.arm_interrupt(prev)
  task.interruptible = prev_flag
  return unpack(res, 1, res.n)
end

function M.sleep(ms)
  return M.await(function(resume)
    local t = loop.timer(ms, function() resume() end)
    return function() t:stop() end
  end)
end

-- Wake a waiting task with an error ("interrupted" unless a reason is given).
function Task:cancel(reason)
  if self.done then return end
  self.cancel_reason = reason or "interrupted"
  if self.canceller then pcall(self.canceller) ; self.canceller = nil end
  if coroutine.status(self.co) == "suspended" then step(self, CANCEL) end
end

function Task:on_done(fn)
  if self.done then fn(self) else table.insert(self.watchers, fn) end
end

-- Run the loop until the task is done (or timeout_ms passes); returns ok, results… | false, err
function Task:wait(timeout_ms)
  local deadline = timeout_ms and (vm.now() + timeout_ms)
  while not self.done do
    if deadline and vm.now() >= deadline then
      self:cancel(("timed out after %d ms"):format(timeout_ms))
      break
    end
    loop.step(deadline and math.max(0, deadline - vm.now()) or -1)
  end
  if self.err ~= nil then return false, self.err end
  return true, unpack(self.results, 1, self.results.n)
end

-- Run fn as a task from plain (non-task) code and wait for it.
function M.run(fn, timeout_ms, ...)
  if current then
    return xpcall(fn, traceback, ...)
  end
  return M.spawn(fn, ...):wait(timeout_ms)
end

M.CANCEL = CANCEL
return M
