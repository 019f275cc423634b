-- vcli.testing — the one test runner: spec/runner.lua (the project's specs)
-- and `plugin test NAME` (a plugin's spec/, in the plugin's own state) both
-- stand on it, so they share one vocabulary and one report.
--   T.collector() -> env, root         describe/context/it/pending/before_all/after_all/
--                                      before_each/after_each (setup/teardown) building root
--   T.assertions([show]) -> assert     equal, same, truthy, falsy, matches, not_matches,
--                                      error (has_error), near; assert(v, msg)
--   T.skip(reason), T.skip_reason(err) spec.skip: the running test or group is skipped
--   T.eventually(fn, ms, what, clock)  poll fn until it returns a true value
--   T.runner(opts) -> run              runs collected trees: per-test timeout (opts.exec),
--                                      each result printed as it finishes, the summary
--   T.timed(fn, ms) -> ok, ... | false, "timed out after N ms"   (host only: a task)
-- Everything but T.timed is plain Lua with no upvalue outside this file: a
-- plugin state loads this same file (vcli.plugin.harness sends its text).
local T = {}

local fmt_q = string.format

-- --------------------------------------------------------------------- skip
local SKIP = "spec.skip: "
-- Skip the running test (or, from a before_all, its group) and say why: for what this
-- machine cannot do (a client too old for a comparison), never to hide a failure.
function T.skip(reason) error(SKIP .. tostring(reason), 0) end
function T.skip_reason(err)
  return type(err) == "string" and err:sub(1, #SKIP) == SKIP and (err:sub(#SKIP + 1):match("^[^\n]*")) or nil
end

-- --------------------------------------------------------------- assertions
local function fmt(v)
  if type(v) == "string" then return fmt_q("%q", v) end
  return tostring(v)
end

local function deep_equal(a, b, seen)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  seen = seen or {}
  if seen[a] == b then return true end
  seen[a] = b
  for k, v in pairs(a) do if not deep_equal(v, b[k], seen) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
T.deep_equal = deep_equal

-- show(v) renders a table for a failed assert.same (vcli.pretty.format where there is one).
function T.assertions(show)
  show = show or tostring
  local function shown(v) if type(v) ~= "table" then return fmt(v) end return show(v) end
  local A = {}
  function A.equal(expected, actual, msg)
    if expected ~= actual then
      error((msg and msg .. ": " or "") .. "expected " .. fmt(expected) .. ", got " .. fmt(actual), 2)
    end
  end
  function A.same(expected, actual, msg)
    if not deep_equal(expected, actual) then
      error((msg and msg .. ": " or "") .. "expected " .. shown(expected) .. "\n        got " .. shown(actual), 2)
    end
  end
  function A.truthy(v, msg) if not v then error(msg or ("expected a true value, got " .. fmt(v)), 2) end return v end
  function A.falsy(v, msg) if v then error(msg or ("expected a false value, got " .. fmt(v)), 2) end end
  function A.matches(pattern, s, msg)
    if type(s) ~= "string" or not s:find(pattern) then
      error((msg and msg .. ": " or "") .. "expected " .. fmt(s) .. " to match " .. fmt(pattern), 2)
    end
  end
  function A.not_matches(pattern, s, msg)
    if type(s) == "string" and s:find(pattern) then
      error((msg and msg .. ": " or "") .. "expected " .. fmt(s) .. " not to match " .. fmt(pattern), 2)
    end
  end
  -- assert.error(fn [, pattern]) -> the error fn raised (assert.has_error: the same)
  function A.has_error(fn, pattern)
    local ok, err = pcall(fn)
    if ok then error("expected an error" .. (pattern and (" matching " .. fmt(pattern)) or ""), 2) end
    if pattern and not tostring(err):find(pattern) then
      error("expected error matching " .. fmt(pattern) .. ", got " .. fmt(tostring(err)), 2)
    end
    return err
  end
  A.error = A.has_error
  function A.near(expected, actual, tol)
    if math.abs(expected - actual) > tol then
      error(fmt_q("expected %s ± %s, got %s", tostring(expected), tostring(tol), tostring(actual)), 2)
    end
  end
  return setmetatable(A, { __call = function(_, v, msg, ...)
    if not v then error(msg or "assertion failed", 2) end
    return v, msg, ...
  end })
end

-- Poll fn() until it returns a true value or timeout_ms passes; returns its value.
-- fn may return, as its second value, what it saw (a string): a timeout says the last one.
-- clock: { now = fn() -> ms, sleep = fn(ms) }.
function T.eventually(fn, timeout_ms, what, clock)
  local t0 = clock.now()
  local deadline = t0 + (timeout_ms or 5000)
  while true do
    local v, seen = fn()
    if v then return v end
    if clock.now() > deadline then
      error(fmt_q("timed out waiting for %s after %.0f s%s", what or "condition", (clock.now() - t0) / 1000,
        seen and ("; last seen: " .. tostring(seen)) or ""), 3)
    end
    clock.sleep(20)
  end
end

-- -------------------------------------------------------------------- model
-- A group: { name, children, before_all, after_all, before_each, after_each } (lists of
-- functions); a test: { test = true, name, fn } or { test = true, name, pending = why }.
local function new_group(name, parent)
  return { name = name, parent = parent, children = {}, before_all = {}, after_all = {},
           before_each = {}, after_each = {} }
end

-- The globals a spec file gets to describe itself, and the tree they build.
function T.collector()
  local root = new_group(nil, nil)
  local cur = root
  local env = {}
  env.describe = function(name, fn)
    local g = new_group(name, cur)
    table.insert(cur.children, g)
    local saved = cur
    cur = g
    fn()
    cur = saved
  end
  env.context = env.describe
  env.it = function(name, fn) table.insert(cur.children, { test = true, name = name, fn = fn, parent = cur }) end
  env.pending = function(name, why)
    table.insert(cur.children, { test = true, name = name, pending = why or "pending", parent = cur })
  end
  env.before_all = function(fn) table.insert(cur.before_all, fn) end
  env.setup = env.before_all
  env.after_all = function(fn) table.insert(cur.after_all, fn) end
  env.teardown = env.after_all
  env.before_each = function(fn) table.insert(cur.before_each, fn) end
  env.after_each = function(fn) table.insert(cur.after_each, fn) end
  return env, root
end

-- Parent links again, for a tree that crossed from another Lua state as plain
-- data (no cycles cross: `parent` is left out there).
function T.link(group, parent)
  group.parent = parent
  for _, c in ipairs(group.children) do
    if c.test then c.parent = group else T.link(c, group) end
  end
  return group
end

local function full_name(node)
  local parts = {}
  local n = node
  while n do
    if n.name then table.insert(parts, 1, n.name) end
    n = n.parent
  end
  return table.concat(parts, " ")
end
T.full_name = full_name

local function each_hooks(group, key, out)
  if group.parent then each_hooks(group.parent, key, out) end
  for _, h in ipairs(group[key]) do table.insert(out, h) end
  return out
end

local function count_tests(group)
  local n = 0
  for _, c in ipairs(group.children) do
    if c.test then n = n + 1 else n = n + count_tests(c) end
  end
  return n
end

-- ------------------------------------------------------------------- runner
-- opts:
--   exec(fn, node) -> ok, err   run one hook or test body (its own timeout); node is
--                               the test or group it belongs to
--   write(s), flush()           the report, flushed after each test (a hanging one is seen)
--   now() -> ms                 for each test's time
--   color                       ANSI colours in the report
--   filter                      a Lua pattern: only tests whose full name matches run
--   enter(node), leave(node)    around each group (its before_all … after_all) and each
--                               test (its before_each … after_each): a plugin's stubs are
--                               scoped with them
-- run:group(root) runs a tree; run:file(path, root | nil, load_err) with its header;
-- run:fail(name, err) counts a failure; run:finish() writes the failures and the one
-- summary line "N passed, N failed[, N skipped]" and returns 0 or 1.
local Run = {}
Run.__index = Run

function T.runner(opts)
  return setmetatable({ opts = opts, passed = 0, failed = 0, skipped = 0, failures = {} }, Run)
end

function Run:color(c, s) return self.opts.color and ("\27[" .. c .. "m" .. s .. "\27[0m") or s end
function Run:write(...) local w = self.opts.write for i = 1, select("#", ...) do w((select(i, ...))) end end

function Run:fail(name, err)
  self.failed = self.failed + 1
  table.insert(self.failures, { name = name, err = err })
  self:write(self:color("31", "FAIL"), "  ", name, "\n")
  self:write("      ", (tostring(err):gsub("\n", "\n      ")), "\n")
end

local function around(self, what, node)
  local f = self.opts[what]
  if f then f(node) end
end

function Run:after_all(group)
  for _, h in ipairs(group.after_all) do
    local ok, err = self.opts.exec(h, group)
    if not ok then self:fail(full_name(group) .. " (after_all)", err) end
  end
end

function Run:test(group, c)
  local name = full_name(c)
  local o = self.opts
  if c.pending then
    self.skipped = self.skipped + 1
    self:write(self:color("33", "SKIP"), "  ", name, " — ", c.pending, "\n")
    return
  end
  local t0 = o.now()
  around(self, "enter", c)
  local ok, err = true, nil
  for _, h in ipairs(each_hooks(group, "before_each", {})) do
    ok, err = o.exec(h, c)
    if not ok then break end
  end
  if ok then ok, err = o.exec(c.fn, c) end
  local afters = each_hooks(group, "after_each", {})
  for k = #afters, 1, -1 do
    local aok, aerr = o.exec(afters[k], c)
    if ok and not aok then ok, err = false, aerr end
  end
  around(self, "leave", c)
  local why = not ok and T.skip_reason(err)
  if ok then
    self.passed = self.passed + 1
    self:write(self:color("32", "ok"), "    ", name, self:color("2", fmt_q(" (%.0f ms)", o.now() - t0)), "\n")
  elseif why then
    self.skipped = self.skipped + 1
    self:write(self:color("33", "SKIP"), "  ", name, " — ", why, "\n")
  else
    self:fail(name, err)
  end
end

-- A group's after_all hooks run whatever happened before them: a failed or timed-out
-- before_all, test or hook (so a file always stops what it started).
function Run:group(group)
  local o = self.opts
  around(self, "enter", group)
  for _, h in ipairs(group.before_all) do
    local ok, err = o.exec(h, group)
    if not ok then
      local n = count_tests(group)
      local why = T.skip_reason(err)
      if why then
        self.skipped = self.skipped + n
        self:write(self:color("33", "SKIP"), "  ", full_name(group), " (", n, " tests) — ", why, "\n")
      else
        self:fail(full_name(group) .. " (before_all, " .. n .. " tests not run)", err)
        self.failed = self.failed + n - 1
      end
      self:after_all(group)
      around(self, "leave", group)
      return
    end
  end
  for _, c in ipairs(group.children) do
    if c.test then
      if not (o.filter and not full_name(c):find(o.filter)) then   -- filtered out: not counted
        self:test(group, c)
        if o.flush then o.flush() end
      end
    else
      self:group(c)
    end
  end
  self:after_all(group)
  around(self, "leave", group)
end

function Run:file(path, root, err)
  self:write(self:color("1", "# " .. path), "\n")
  if not root then self:fail(path .. " (load)", err) else self:group(root) end
  if self.opts.flush then self.opts.flush() end
end

function T.summary(passed, failed, skipped)
  return fmt_q("%d passed, %d failed", passed, failed) .. (skipped > 0 and fmt_q(", %d skipped", skipped) or "")
end

function Run:finish()
  if #self.failures > 0 then
    self:write("\nFailures:\n")
    for _, f in ipairs(self.failures) do self:write("  - ", f.name, "\n") end
  end
  self:write(T.summary(self.passed, self.failed, self.skipped), "\n")
  if self.opts.flush then self.opts.flush() end
  return self.failed == 0 and 0 or 1
end

-- ---------------------------------------------------------------- host side
-- Run fn(...) as a task on the loop, at most ms: -> true, results… | false, err, with
-- "timed out after N ms" when it had to be cancelled. From plain code it turns the loop
-- until then; inside a task (`plugin test` typed in the shell) it waits in that task.
function T.timed(fn, ms, ...)
  local async, loop = require("vcli.async"), require("vcli.loop")
  local limit = ("timed out after %d ms"):format(ms)
  local task = async.spawn(fn, ...)
  local late = false   -- cancelled at the limit: whatever it then returned, it timed out
  if not task.done and not async.current() then
    local vm = require("vcli.vm")
    local deadline = vm.now() + ms
    while not task.done do
      if vm.now() >= deadline then late = true; task:cancel(limit) break end
      loop.step(math.max(0, deadline - vm.now()))
    end
  elseif not task.done then
    local timer
    local wok, werr = pcall(async.await, function(resume)
      timer = loop.timer(ms, function() resume() end)
      task:on_done(function() resume() end)
      return function() timer:stop() end
    end)
    timer:stop()
    if not task.done then late = wok; task:cancel(wok and limit or werr) end
    if not wok then error(werr, 0) end   -- the run itself was cancelled (Ctrl-C)
  end
  if late or not task.done then return false, limit end
  if task.err ~= nil then return false, task.err end
  return true, unpack(task.results, 1, task.results.n)
end

return T
