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

local T = require("vcli.testing")
local assert_ = T.assertions(function(v)
  local ok, pretty = pcall(require, "vcli.pretty")
  if ok then return pretty.format(v, { width = 100 }) end
  return tostring(v)
end)

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
local clock = { now = vm.now, sleep = function(ms)
  if async.current() then async.sleep(ms) else require("vcli.loop").step(ms) end
end }
function spec.eventually(fn, timeout_ms, what)
  local v = T.eventually(fn, timeout_ms, what, clock)   -- (not a tail call: its error points at the caller)
  return v
end
-- Skip the running test (or, from a before_all, its group) and say why: for what this
-- machine cannot do (a client too old for a comparison), never to hide a failure.
spec.skip = T.skip
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
local function load_file(path)
  local env, root = T.collector()
  setmetatable(env, { __index = _G })
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
local run = T.runner({
  exec = function(fn) return T.timed(fn, TEST_TIMEOUT) end,
  write = io.write, flush = io.flush, now = vm.now, color = tty, filter = filter,
})

if c_tests then
  local out, rc = spec.sh(c_tests)
  io.write(out)
  local p, f = out:match("(%d+) passed, (%d+) failed")
  if not p then run:fail("C unit tests (" .. c_tests .. ")", "no summary line; exit " .. tostring(rc))
  else run.passed, run.failed = run.passed + tonumber(p), run.failed + tonumber(f) end
end

-- the run's header: which outside tools the comparisons use
local tok, tools = pcall(dofile, "spec/support/tools.lua")
if tok then io.write("# ", tools.header(), "\n") end

for _, path in ipairs(expanded) do run:file(path, load_file(path)) end
return run:finish()
