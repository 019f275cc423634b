-- bench/prom_bench.lua — the Prometheus plugin: `vcli -c 'prom query up'`
-- against promtool on the same real server (Debian's prometheus, started
-- here by spec/support/prom), and rendering a 10 series × 1000 points chart.
local loader = dofile(bench.root .. "/plugins/prometheus/host_loader.lua")
local P = loader.load({ store = false })

-- ------------------------------------------------------------------ chart
local res = {}
for s = 1, 10 do
  local vals = {}
  for i = 1, 1000 do vals[i] = { 1700000000 + i * 15, tostring(math.sin(i / 40 + s) * s * 100 + 1000) } end
  res[s] = { metric = { __name__ = "bench_metric_seconds", instance = "10.0.0." .. s, job = "bench" }, values = vals }
end
local opts = { width = 120, height = 20, color = true, unit = "s" }
local ms = bench.time(function() P.chart.render(res, opts) end, 30)
bench.report({ name = "prom chart: 10 series × 1000 points (braille, JIT)", value = ms, unit = "ms",
               target = "≤ 10 ms", ok = ms <= 10 })
-- Plugins run without the JIT (the sandbox turns it off): the same in the interpreter.
jit.off()
local ims = bench.time(function() P.chart.render(res, opts) end, 10)
jit.on()
bench.report({ name = "prom chart: 10 × 1000, no JIT (as in the sandbox)", value = ims, unit = "ms",
               target = "≤ 10 ms", ok = ims <= 10 })

-- ------------------------------------------------------------ prom query
if not io.open("/usr/bin/prometheus") then
  bench.report({ name = "prom query up (prometheus not installed)", value = 0 / 0, unit = "ms" })
  return
end
local out, rc = bench.sh(bench.root .. "/spec/support/prom start")
local url, dir = out:match("PROM_URL=(%S+)"), out:match("PROM_DIR=(%S+)")
if rc ~= 0 or not url then
  bench.report({ name = "prom query up: the server did not start", value = 0 / 0, unit = "ms" })
  io.write(out)
  return
end
local ok, err = pcall(function()
  local vcli_cmd = ("%s -c 'prom query up --url %s'"):format(bench.vcli, url)
  local check = bench.sh(vcli_cmd)
  if not check:match("VALUE") then error("vcli prom query up failed: " .. check, 0) end
  local v = bench.hyperfine(vcli_cmd, 30)
  local peer = bench.hyperfine(("promtool query instant %s up"):format(url), 30)
  bench.report({ name = "vcli -c 'prom query up' (real Prometheus)", value = v, unit = "ms",
                 target = "≤ promtool", ok = v <= peer, peer = "promtool", peer_value = peer })
end)
bench.sh(bench.root .. "/spec/support/prom stop " .. dir)
if not ok then io.write("  prom query bench failed: ", tostring(err), "\n") end
