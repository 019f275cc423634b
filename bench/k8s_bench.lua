-- k8s: `get pods -A` and `-o json` against the raw HTTP floor (curl of the
-- same request with the same token) and kubectl, on the test cluster with
-- 10 000 pods; the 50 000-pod run is opt-in (VCLI_BENCH_BIG=1, ~6 min of
-- seeding). Watch throughput: 10 000 Table watch events through the code
-- path of a live `get -w`.
local b = _G.bench

local function sh(cmd) return b.sh(cmd) end
local C, why = dofile("bench/support/cluster.lua")(b)
if not C then print("  k8s bench skipped: " .. why) return end
local E, KC, TABLE = C.E, C.KC, C.TABLE

local json_rss = {} -- peak MiB of `-o json`, per run in order

local function run(n)
  local have = C.seed(n)
  C.settle()
  local env = ("env KUBECONFIG=%s HOME=/tmp/vcli-bench-home XDG_DATA_HOME=/tmp/vcli-bench-home/data "):format(KC)
  os.execute("mkdir -p /tmp/vcli-bench-home")
  local curl = ("%s -o /dev/null -H 'Accept: %s' '%s/api/v1/pods'"):format(C.curl, TABLE, E.VCLI_KUBE_API)
  local curl_json = ("%s -o /dev/null '%s/api/v1/pods'"):format(C.curl, E.VCLI_KUBE_API)
  -- the rows vcli asks for past its first chunk: each namespace's cells
  -- alone (includeObject=None), one request per namespace, one after the
  -- other on one connection
  local nsout = sh(("%s '%s/api/v1/namespaces'"):format(C.curl, E.VCLI_KUBE_API))
  local urls = {}
  for name in nsout:gmatch('"metadata":%s*{%s*"name":%s*"([^"]+)"') do
    urls[#urls + 1] = ("'%s/api/v1/namespaces/%s/pods?includeObject=None' -o /dev/null"):format(E.VCLI_KUBE_API, name)
  end
  local curl_ns = ("%s -H 'Accept: %s' %s"):format(C.curl, TABLE, table.concat(urls, " "))
  local runs = n > 20000 and 3 or 5
  local c_ms, c_mb = b.cmd(curl, runs)
  local cn_ms = b.cmd(curl_ns, runs)
  local v_ms, v_mb = b.cmd(env .. b.vcli .. " -c 'k8s get pods -A'", runs)
  local k_ms, k_mb = b.cmd(env .. "kubectl get pods -A", runs)
  local label = ("k8s get pods -A, %dk pods"):format(math.floor(have / 1000))
  local tgt_ms = n > 20000 and 3000 or c_ms * 1.3
  b.report{ name = label .. ": curl floor (kubectl's request: Table, 1 request)", value = c_ms, unit = "ms", target = "-",
    peer = "vcli", peer_value = v_ms }
  b.report{ name = label .. (": curl, vcli's rows (cells per namespace, %d requests)"):format(#urls), value = cn_ms, unit = "ms",
    target = "-", peer = "vcli", peer_value = v_ms }
  b.report{ name = label .. ": vcli wall", value = v_ms, unit = "ms",
    target = n > 20000 and "≤ 3000 ms" or ("≤ 1.3× curl"), ok = v_ms <= tgt_ms, peer = "kubectl", peer_value = k_ms }
  b.report{ name = label .. ": vcli peak RSS", value = v_mb, unit = "MiB", target = n > 20000 and "≤ 150 MiB" or "≤ 40 MiB",
    ok = v_mb <= (n > 20000 and 150 or 40), peer = "kubectl", peer_value = k_mb }
  io.write(("  ratios: vcli/curl %.2f× (vcli/curl of its own rows %.2f×), kubectl/vcli %.2f× wall (target ≥ 6×), "
    .. "kubectl/vcli %.2f× RSS; curl peak %.0f MiB\n"):format(v_ms / c_ms, v_ms / cn_ms, k_ms / v_ms, k_mb / v_mb, c_mb))
  local cj_ms = b.cmd(curl_json, runs)
  local vj_ms, vj_mb = b.cmd(env .. b.vcli .. " -c 'k8s get pods -A -o json'", runs)
  local kj_ms, kj_mb = b.cmd(env .. "kubectl get pods -A -o json", runs)
  local lj = ("k8s get pods -A -o json, %dk pods"):format(math.floor(have / 1000))
  b.report{ name = lj .. ": curl floor (JSON, 1 request)", value = cj_ms, unit = "ms", target = "-", peer = "vcli", peer_value = vj_ms }
  b.report{ name = lj .. ": vcli wall", value = vj_ms, unit = "ms", target = "-", peer = "kubectl", peer_value = kj_ms }
  -- the issue asks for memory flat in the size of the list: judged by the
  -- 50k run against the 10k one (within 25 %)
  local first = json_rss[1]
  b.report{ name = lj .. ": vcli peak RSS", value = vj_mb, unit = "MiB",
    target = first and ("flat (10k: %.0f)"):format(first) or "flat", ok = first and vj_mb <= first * 1.25 or nil,
    peer = "kubectl", peer_value = kj_mb }
  json_rss[#json_rss + 1] = vj_mb
end

run(10000)

-- watch throughput: 10 000 MODIFIED events (Table rows) decoded and printed
-- inside the plugin's own state (the runtime: JIT off, its memory limit),
-- through the printer a live `get -w` uses
do
  local pm = require("vcli.plugin")
  pm.discover({ { dir = b.root .. "/plugins", kind = "builtin" } })
  pm.set_store_dir("/tmp/vcli-bench-home/store")
  assert(pm.start("kubernetes"))
  local ok, r = require("vcli.async").run(function()
    return pm.invoke(pm.get("kubernetes"), "eval", [[
      local env = require("k8s.plugin_env").new()
      local printer = require("k8s.printer")
      local n = 10000
      local lines = {}
      local cols = '[{"name":"Name","priority":0},{"name":"Ready","priority":0},{"name":"Status","priority":0},' ..
        '{"name":"Restarts","priority":0},{"name":"Age","priority":0}]'
      for i = 1, n do
        lines[i] = ('{"type":"MODIFIED","object":{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":' ..
          '{"resourceVersion":"%d"},"columnDefinitions":%s,"rows":[{"cells":["pod-%05d","1/1","Running",%d,"5m"],' ..
          '"object":{"kind":"PartialObjectMetadata","metadata":{"name":"pod-%05d","namespace":"web","resourceVersion":"%d"}}}]}}')
          :format(i, i == 1 and cols or "[]", i % 997, i % 7, i % 997, i)
      end
      local sink = 0
      collectgarbage("collect")
      local mem0 = collectgarbage("count")
      local tp = printer.table_printer({ out = function(s) sink = sink + #s end })
      local t0 = vcli.now()
      local peak = 0
      for i = 1, n do
        local ev = env.json.decode(lines[i])
        tp:feed(ev.object)
        if i % 1000 == 0 then peak = math.max(peak, collectgarbage("count")) end
      end
      return { ms = vcli.now() - t0, growth = peak - mem0, n = n }
    ]])
  end, 60000)
  if not ok or type(r) ~= "table" then
    print("  watch bench failed: " .. tostring(r))
  else
    local rate = r.n / (r.ms / 1000)
    b.report{ name = "k8s get -w: watch events applied per second (plugin state)", value = rate, unit = "ev/s",
      target = "≥ 10000/s", ok = rate >= 10000 }
    b.report{ name = "k8s get -w: Lua heap growth over 10k events", value = r.growth / 1024, unit = "MiB",
      target = "flat (< 8 MiB)", ok = r.growth / 1024 < 8 }
  end
end

if os.getenv("VCLI_BENCH_BIG") == "1" then
  run(50000)
else
  io.write("  (50 000-pod run skipped: set VCLI_BENCH_BIG=1 to seed 50k pods (~6 min) and list them)\n")
end

C.stop()
