-- bench/run.lua — `make bench`: speed and memory figures, each printed next
-- to its target and next to the peer it is compared with, measured in the
-- same run. Not tests: nothing here fails the build.
--   ./vcli -l bench/run.lua [bench/NAME_bench.lua ...]
-- Each bench file gets a global `bench` (see below) and calls bench.report.
local vm = require("vcli.vm")
require("vcli")

local bench = {}
local rows = {}
bench.root = os.getenv("PWD")
bench.vcli = bench.root .. "/vcli"

-- Median wall time in ms of fn() over n runs (after one warm-up).
function bench.time(fn, n)
  n = n or 20
  fn()
  local t = {}
  for i = 1, n do
    local t0 = vm.now()
    fn()
    t[i] = vm.now() - t0
  end
  table.sort(t)
  return t[math.floor((n + 1) / 2)]
end

-- Run a shell command; returns output, exit code.
function bench.sh(cmd)
  local p = io.popen("(" .. cmd .. ") 2>&1; echo \"__rc=$?\"")
  local out = p:read("*a")
  p:close()
  local body, rc = out:match("^(.*)__rc=(%d+)%s*$")
  return body or out, tonumber(rc)
end

-- Median wall ms and max peak RSS (MiB) of a command over n runs.
function bench.cmd(cmd, n)
  n = n or 10
  local times, rss = {}, 0
  for i = 1, n + 1 do
    local out = bench.sh("/usr/bin/time -f '__TIME %e %M' " .. cmd .. " >/dev/null 2>/tmp/vcli-bench-time; tail -1 /tmp/vcli-bench-time")
    local e, m = out:match("__TIME ([%d%.]+) (%d+)")
    if i > 1 and e then
      table.insert(times, tonumber(e) * 1000)
      rss = math.max(rss, tonumber(m) / 1024)
    end
  end
  table.sort(times)
  return times[math.floor((#times + 1) / 2)] or 0 / 0, rss
end

-- Precise median for fast commands: hyperfine when present.
function bench.hyperfine(cmd, runs)
  local json = "/tmp/vcli-bench-hf.json"
  local out = bench.sh(("hyperfine -N --warmup 5 --runs %d --export-json %s %q >/dev/null 2>&1 && cat %s")
    :format(runs or 50, json, cmd, json))
  local median = out:match('"median":%s*([%d%.e%-]+)')
  if median then return tonumber(median) * 1000 end
  return (bench.cmd(cmd, runs or 20))
end

-- bench.report{ name=, value=, unit=, target= "≤ 10 ms", ok = bool,
--               peer = "kubectl", peer_value = n } — one row of the table.
function bench.report(r)
  table.insert(rows, r)
  local ratio = ""
  if r.peer_value and r.value and r.value > 0 then
    ratio = ("%s %.4g %s (%.2f×)"):format(r.peer, r.peer_value, r.unit or "", r.peer_value / r.value)
  elseif r.peer then
    ratio = r.peer .. " n/a"
  end
  local verdict = r.ok == nil and "" or (r.ok and "meets" or "MISSES")
  io.write(("%-52s %10.4g %-4s  target %-12s %-7s %s\n"):format(r.name, r.value or 0 / 0, r.unit or "",
    r.target or "-", verdict, ratio))
  io.flush()
end

_G.bench = bench

local files = { ... }
if #files == 0 then
  local p = io.popen("ls bench/*_bench.lua 2>/dev/null")
  for f in p:lines() do table.insert(files, f) end
  p:close()
end
io.write(("%-52s %10s %-4s  %-19s %-7s %s\n"):format("benchmark", "value", "", "target", "", "peer (peer/vcli)"))
for _, f in ipairs(files) do
  io.write("# ", f, "\n")
  local chunk, err = loadfile(f)
  if not chunk then
    io.write("  cannot load: ", err, "\n")
  else
    local ok, rerr = xpcall(chunk, debug.traceback)
    if not ok then io.write("  failed: ", tostring(rerr), "\n") end
  end
end
return 0
