-- bench/prom_bench.lua — the Prometheus plugin as users run it: in its own
-- Lua state (the sandbox, no JIT), and `vcli -c 'prom query …'` against
-- promtool on the same real server (Debian's prometheus, started here by
-- spec/support/prom) for a small answer (up), every series of the server
-- (~400, ~60 KB of JSON) and 10 000 series (~1.6 MB) that a tiny exporter
-- (bench/prom_exporter.py) serves to that server.
local pm = require("vcli.plugin")
local async = require("vcli.async")

-- ------------------------------------------------------------------ chart
-- rendering a 10 series × 1000 points chart, timed inside the plugin's state
local tmp = bench.sh("mktemp -d /tmp/vcli-bench-prom.XXXXXX"):match("%S+")
pm.discover({ { dir = bench.root .. "/plugins", kind = "builtin" } })
pm.set_store_dir(tmp .. "/store")
local CHART = [[
  local chart = require("prom.chart")
  local res = {}
  for s = 1, 10 do
    local vals = {}
    for i = 1, 1000 do vals[i] = { 1700000000 + i * 15, tostring(math.sin(i / 40 + s) * s * 100 + 1000) } end
    res[s] = { metric = { __name__ = "bench_metric_seconds", instance = "10.0.0." .. s, job = "bench" }, values = vals }
  end
  -- as `prom range` draws it (commands.lua): the values read by the C JSON decoder
  local opts = { width = 120, height = 20, color = true, unit = "s", decode = vcli.json.decode }
  chart.render(res, opts)
  local t = {}
  for i = 1, 15 do
    local t0 = vcli.now()
    chart.render(res, opts)
    t[i] = vcli.now() - t0
  end
  table.sort(t)
  return t[8]
]]
local cok, ims = async.run(function()
  assert(pm.start("prometheus"))
  return pm.invoke(pm.get("prometheus"), "eval", CHART)
end, 60000)
pm.stop("prometheus", "bench done")
if cok then
  bench.report({ name = "prom chart: 10 × 1000 points, in the sandbox (no JIT)", value = ims, unit = "ms",
                 target = "≤ 10 ms", ok = ims <= 10 })
else
  io.write("  prom chart bench failed: ", tostring(ims), "\n")
end

-- ------------------------------------------------------------ prom query
if not io.open("/usr/bin/prometheus") then
  bench.report({ name = "prom query up (prometheus not installed)", value = 0 / 0, unit = "ms" })
  bench.sh("rm -rf " .. tmp)
  return
end
local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local BIG = 10000
local eout = bench.sh(("python3 %s/bench/prom_exporter.py %d > %s/exporter.port 2>&1 & echo $! > %s/exporter.pid;"
  .. " for i in $(seq 50); do [ -s %s/exporter.port ] && break; sleep 0.1; done; cat %s/exporter.port %s/exporter.pid")
  :format(bench.root, BIG, tmp, tmp, tmp, tmp, tmp))
local eport, epid = eout:match("^(%d+)%s+(%d+)")
local out, rc = bench.sh(bench.root .. "/spec/support/prom start" .. (eport and (" --job bench=127.0.0.1:" .. eport) or ""))
local url, dir = out:match("PROM_URL=(%S+)"), out:match("PROM_DIR=(%S+)")
if rc ~= 0 or not url then
  bench.report({ name = "prom query up: the server did not start", value = 0 / 0, unit = "ms" })
  io.write(out)
  if epid then bench.sh("kill " .. epid) end
  bench.sh("rm -rf " .. tmp)
  return
end

-- the answer to expr as Prometheus sends it: its size in bytes and the number of series
local function answer(expr)
  local body = bench.sh(("curl -s --max-time 10 %s/api/v1/query --data-urlencode %s"):format(url, shq("query=" .. expr)))
  local n = 0
  for _ in body:gmatch('"metric":') do n = n + 1 end
  return #body, n
end

-- vcli as a user runs it (the plugin in its sandbox, a store of its own) and promtool: a row
local venv = ("env HOME=%s XDG_STATE_HOME=%s/state XDG_CACHE_HOME=%s/cache XDG_CONFIG_HOME=%s/config "):format(
  tmp, tmp, tmp, tmp)
local function row(name, expr, runs, want)
  local vcli_cmd = ("%s%s -c %s"):format(venv, bench.vcli, shq(("prom query %s --url %s"):format(shq(expr), url)))
  local check, crc = bench.sh(("%s > %s/out 2>&1; rc=$?; tail -1 %s/out; exit $rc"):format(vcli_cmd, tmp, tmp))
  if crc ~= 0 or not check:match(want) then error(("%s failed (%s): %s"):format(vcli_cmd, tostring(crc), check), 0) end
  local v = bench.hyperfine(vcli_cmd, runs)
  local peer = bench.hyperfine(("promtool query instant %s %s"):format(url, shq(expr)), runs)
  bench.report({ name = name, value = v, unit = "ms", target = "≤ promtool", ok = v <= peer,
                 peer = "promtool", peer_value = peer })
end

local ok, err = pcall(function()
  if not eport then error("the exporter did not start: " .. eout, 0) end
  -- the exporter's series are in once a scrape of it has been stored (scrapes every 5 s; 30 s at most)
  local want = ('count({__name__=~"vcli_bench_.+"})')
  local seen, t0 = "", os.time()
  while os.time() - t0 < 30 do
    seen = bench.sh(("curl -s --max-time 5 %s/api/v1/query --data-urlencode %s"):format(url, shq("query=" .. want)))
    if seen:find('"' .. BIG .. '"', 1, true) then break end
    os.execute("sleep 0.2")
  end
  if not seen:find('"' .. BIG .. '"', 1, true) then error("the exporter's series did not arrive: " .. seen, 0) end

  row("vcli -c 'prom query up' (real Prometheus)", "up", 30, "%d")
  local all = '{__name__=~".+",job!="bench"}'
  local bytes, n = answer(all)
  row(("prom query '{__name__=~\".+\"}' (%d series, %d KB)"):format(n, math.floor(bytes / 1000 + 0.5)), all, 20, "%d")
  local big = '{__name__=~"vcli_bench_.+"}'
  bytes, n = answer(big)
  row(("prom query: %d series (%.1f MB of JSON)"):format(n, bytes / 1e6), big, 10, "%d")
end)
bench.sh(bench.root .. "/spec/support/prom stop " .. dir)
if epid then bench.sh("kill " .. epid) end
bench.sh("rm -rf " .. tmp)
if not ok then io.write("  prom query bench failed: ", tostring(err), "\n") end
