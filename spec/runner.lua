-- spec/runner.lua — runs the specs inside the real vcli binary:
--   ./vcli -l spec/runner.lua [--c-tests BIN] [-f PATTERN] [spec files or dirs…]
-- Each spec file gets busted-like globals (describe/it/pending/before_all/
-- after_all/before_each/after_each/assert) plus `spec` helpers. Every `it`
-- runs as an async task on the core loop, so specs may wait on the network.
-- Ends with one line: "N passed, N failed[, N skipped]".
local async = require("vcli.async")
local vm = require("vcli.vm")

local args = { ... }
local files, c_tests, filter = {}, nil, nil
local i = 1
while i <= #args do
  local a = args[i]
  if a == "--c-tests" then c_tests = args[i + 1]; i = i + 1
  elseif a == "-f" then filter = args[i + 1]; i = i + 1
  else table.insert(files, a) end
  i = i + 1
end

local function ls_specs(dir)
  local out = {}
  local p = io.popen("find '" .. dir .. "' -name '*_spec.lua' -not -path '*/support/*' | sort")
  for line in p:lines() do table.insert(out, line) end
  p:close()
  return out
end

if #files == 0 then files = ls_specs("spec") end
local expanded = {}
for _, f in ipairs(files) do
  if f:match("%.lua$") then table.insert(expanded, f)
  else for _, g in ipairs(ls_specs(f)) do table.insert(expanded, g) end end
end

local tty = os.getenv("CI") == nil and io.stdout.seek and os.execute("test -t 1") == 0
local function color(c, s) return tty and ("\27[" .. c .. "m" .. s .. "\27[0m") or s end
local passed, failed, skipped = 0, 0, 0
local failures = {}

-- ---------------------------------------------------------------- assertions
local function fmt(v)
  if type(v) == "string" then return string.format("%q", v) end
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

local function show(v)
  if type(v) ~= "table" then return fmt(v) end
  local ok, pretty = pcall(require, "vcli.pretty")
  if ok then return pretty.format(v, { width = 100 }) end
  return tostring(v)
end

local assert_ = {}
function assert_.equal(expected, actual, msg)
  if expected ~= actual then
    error((msg and msg .. ": " or "") .. "expected " .. fmt(expected) .. ", got " .. fmt(actual), 2)
  end
end
function assert_.same(expected, actual, msg)
  if not deep_equal(expected, actual) then
    error((msg and msg .. ": " or "") .. "expected " .. show(expected) .. "\n        got " .. show(actual), 2)
  end
end
function assert_.truthy(v, msg) if not v then error(msg or ("expected a true value, got " .. fmt(v)), 2) end return v end
function assert_.falsy(v, msg) if v then error(msg or ("expected a false value, got " .. fmt(v)), 2) end end
function assert_.matches(pattern, s, msg)
  if type(s) ~= "string" or not s:find(pattern) then
    error((msg and msg .. ": " or "") .. "expected " .. fmt(s) .. " to match " .. fmt(pattern), 2)
  end
end
function assert_.not_matches(pattern, s, msg)
  if type(s) == "string" and s:find(pattern) then
    error((msg and msg .. ": " or "") .. "expected " .. fmt(s) .. " not to match " .. fmt(pattern), 2)
  end
end
function assert_.has_error(fn, pattern)
  local ok, err = pcall(fn)
  if ok then error("expected an error" .. (pattern and (" matching " .. fmt(pattern)) or ""), 2) end
  if pattern and not tostring(err):find(pattern) then
    error("expected error matching " .. fmt(pattern) .. ", got " .. fmt(tostring(err)), 2)
  end
  return err
end
function assert_.near(expected, actual, tol)
  if math.abs(expected - actual) > tol then
    error(("expected %s ± %s, got %s"):format(expected, tol, actual), 2)
  end
end
setmetatable(assert_, { __call = function(_, v, msg, ...) if not v then error(msg or "assertion failed", 2) end return v, msg, ... end })

-- ------------------------------------------------------------------- helpers
local spec = {}
_G.spec = spec -- support modules (spec/support) use it too
-- Run cmd through /bin/sh; returns combined stdout+stderr and the exit code.
function spec.sh(cmd)
  local p = io.popen("(" .. cmd .. ") 2>&1; echo \"__rc=$?\"")
  local out = p:read("*a")
  p:close()
  local body, rc = out:match("^(.*)__rc=(%d+)%s*$")
  return body or out, tonumber(rc)
end
spec.root = os.getenv("PWD")
spec.vcli = spec.root .. "/" .. (os.getenv("VCLI_BIN") or "vcli")
-- Poll fn() until it returns a true value or timeout_ms passes; returns its value.
-- fn may return, as its second value, what it saw (a string): a timeout says the last one.
function spec.eventually(fn, timeout_ms, what)
  local t0 = vm.now()
  local deadline = t0 + (timeout_ms or 5000)
  while true do
    local v, seen = fn()
    if v then return v end
    if vm.now() > deadline then
      error(("timed out waiting for %s after %.0f s%s"):format(what or "condition", (vm.now() - t0) / 1000,
        seen and ("; last seen: " .. tostring(seen)) or ""), 2)
    end
    if async.current() then async.sleep(20) else require("vcli.loop").step(20) end
  end
end
-- Skip the running test (or, from a before_all, its group) and say why: for what this
-- machine cannot do (a client too old for a comparison), never to hide a failure.
local SKIP = "spec.skip: "
function spec.skip(reason) error(SKIP .. reason, 0) end
local function skip_reason(err)
  return type(err) == "string" and err:sub(1, #SKIP) == SKIP and (err:sub(#SKIP + 1):match("^[^\n]*")) or nil
end
function spec.tmpdir()
  local p = io.popen("mktemp -d /tmp/vcli-spec.XXXXXX")
  local d = p:read("*l")
  p:close()
  return d
end
function spec.write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end
function spec.read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- --------------------------------------------------------------------- model
local function new_group(name, parent)
  return { name = name, parent = parent, children = {}, before_all = {}, after_all = {},
           before_each = {}, after_each = {} }
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

local function load_file(path)
  local root = new_group(nil, nil)
  local cur = root
  local env = setmetatable({}, { __index = _G })
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
  env.assert = assert_
  env.spec = spec
  local chunk, err = loadfile(path)
  if not chunk then return nil, err end
  setfenv(chunk, env)
  local ok, lerr = xpcall(chunk, debug.traceback)
  if not ok then return nil, lerr end
  return root
end

local TEST_TIMEOUT = tonumber(os.getenv("VCLI_SPEC_TIMEOUT") or "") or 300000

local function run_in_task(fn)
  return async.run(fn, TEST_TIMEOUT)
end

local function record_fail(name, err)
  failed = failed + 1
  table.insert(failures, { name = name, err = err })
  io.write(color("31", "FAIL"), "  ", name, "\n")
  io.write("      ", (tostring(err):gsub("\n", "\n      ")), "\n")
end

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

local function run_after_all(group)
  for _, h in ipairs(group.after_all) do
    local ok, err = run_in_task(h)
    if not ok then record_fail(full_name(group) .. " (after_all)", err) end
  end
end

-- A group's after_all hooks run whatever happened before them: a failed or timed-out
-- before_all, test or hook (so a file always stops what it started).
local function run_group(group)
  for _, h in ipairs(group.before_all) do
    local ok, err = run_in_task(h)
    if not ok then
      local n = count_tests(group)
      local why = skip_reason(err)
      if why then
        skipped = skipped + n
        io.write(color("33", "SKIP"), "  ", full_name(group), " (", n, " tests) — ", why, "\n")
      else
        record_fail(full_name(group) .. " (before_all, " .. n .. " tests not run)", err)
        failed = failed + n - 1
      end
      run_after_all(group)
      return
    end
  end
  for _, c in ipairs(group.children) do
    if c.test then
      local name = full_name(c)
      if filter and not name:find(filter) then
        goto next_child -- filtered out with -f: not counted
      end
      if c.pending then
        skipped = skipped + 1
        io.write(color("33", "SKIP"), "  ", name, " — ", c.pending, "\n")
      else
        local t0 = vm.now()
        local ok, err = true, nil
        for _, h in ipairs(each_hooks(group, "before_each", {})) do
          ok, err = run_in_task(h)
          if not ok then break end
        end
        if ok then ok, err = run_in_task(c.fn) end
        local afters = each_hooks(group, "after_each", {})
        for k = #afters, 1, -1 do
          local aok, aerr = run_in_task(afters[k])
          if ok and not aok then ok, err = false, aerr end
        end
        local why = not ok and skip_reason(err)
        if ok then
          passed = passed + 1
          io.write(color("32", "ok"), "    ", name, color("2", (" (%.0f ms)"):format(vm.now() - t0)), "\n")
        elseif why then
          skipped = skipped + 1
          io.write(color("33", "SKIP"), "  ", name, " — ", why, "\n")
        else
          record_fail(name, err)
        end
      end
      io.flush()
    else
      run_group(c)
    end
    ::next_child::
  end
  run_after_all(group)
end

if c_tests then
  local out, rc = spec.sh(c_tests)
  io.write(out)
  local p, f = out:match("(%d+) passed, (%d+) failed")
  if not p then record_fail("C unit tests (" .. c_tests .. ")", "no summary line; exit " .. tostring(rc))
  else passed, failed = passed + tonumber(p), failed + tonumber(f) end
end

-- the run's header: which outside tools the comparisons use
local tok, tools = pcall(dofile, "spec/support/tools.lua")
if tok then io.write("# ", tools.header(), "\n") end

for _, path in ipairs(expanded) do
  io.write(color("1", "# " .. path), "\n")
  local root, err = load_file(path)
  if not root then record_fail(path .. " (load)", err) else run_group(root) end
end

if #failures > 0 then
  io.write("\nFailures:\n")
  for _, f in ipairs(failures) do io.write("  - ", f.name, "\n") end
end
io.write(("%d passed, %d failed"):format(passed, failed), skipped > 0 and (", %d skipped"):format(skipped) or "", "\n")
io.flush()
return failed == 0 and 0 or 1
