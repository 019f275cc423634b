-- k8s top against the test cluster: the metrics API is not served there (no kubelet, no
-- metrics server), so top says kubectl's words, or — with prometheus.url set — reads the
-- pods' usage from Debian's real Prometheus, which scrapes cAdvisor-named series for
-- pods of the cluster (spec/support/cadvisor.py, a kubelet's /metrics/cadvisor stand-in).
-- VCLI_K8S_SPEC_REUSE=1 uses an already running cluster and leaves it running.
local H = dofile("spec/support/k8s/helper.lua")
local P = dofile("spec/support/prom_helper.lua")

local reuse = os.getenv("VCLI_K8S_SPEC_REUSE") == "1"
local E, KC, dir, exporter_pid, prom_url
local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
-- vcli as a user runs it, with prometheus.url set (or not)
local function vcli(args, url)
  local set = url and (" --set prometheus.url=" .. shq(url)) or " --set prometheus.url=http://127.0.0.1:1"
  local out, rc = spec.sh(("cd %s && env KUBECONFIG=%s ./vcli --norc%s k8s %s 2>%s/err"):format(spec.root, shq(KC), set,
    args, dir))
  return out, spec.read(dir .. "/err") or "", rc
end

-- the table kubectl top prints, its CPU cells within a millicore and its CPU(%) within a point: a rate
-- is measured over two scrapes, and on a loaded machine Prometheus's reading of one comes out a
-- millicore off (1501m for 1.5 cores; 1999m of 8 cores is 24%, as kubectl truncates)
local function same_table(want, got)
  local function cells(s)
    local t = {}
    for n, unit in s:gmatch("(%d+)([m%%])%s") do t[#t + 1] = {tonumber(n), unit} end
    return t, (s:gsub("%d+([m%%])(%s)", "N%1%2"))
  end
  local wc, wshape = cells(want)
  local gc, gshape = cells(got)
  assert.equal(wshape, gshape)
  for i, c in ipairs(wc) do
    local n, unit = c[1], c[2]
    assert.truthy(unit == gc[i][2] and math.abs(n - gc[i][1]) <= 1, ("CPU %d%s, want %d%s\n%s"):format(gc[i][1], gc[i][2], n, unit, got))
  end
end

describe("k8s top", function()
  before_all(function()
    if reuse and (select(2, spec.sh(H.KUBE .. " status"))) == 0 then E = H.cluster_env() else E = H.start_cluster() end
    KC = E.KUBECONFIG
    dir = spec.tmpdir()
    spec.sh(("KUBECONFIG=%s %s create namespace vtop"):format(shq(KC), H.tools.kubectl_cmd()))
    spec.write(dir .. "/spec.json", [[
[{"namespace": "vtop", "pod": "api-0", "container": "api", "cores": 0.25, "bytes": 67108864},
 {"namespace": "vtop", "pod": "api-0", "container": "proxy", "cores": 0.05, "bytes": 16777216},
 {"namespace": "vtop", "pod": "web-0", "container": "web", "cores": 1.5, "bytes": 536870912},
 {"namespace": "other", "pod": "db-0", "container": "db", "cores": 0.002, "bytes": 1048576},
 {"node": "vcli-node-1", "cores": 2, "bytes": 8589934592},
 {"node": "vcli-node-2", "cores": 0.4, "bytes": 1073741824},
 {"node": "not-in-the-cluster", "cores": 1, "bytes": 1048576}]
]])
    local out = spec.sh(("python3 spec/support/cadvisor.py %s/spec.json > %s/port 2>&1 & echo $!"):format(dir, dir))
    exporter_pid = out:match("%d+")
    spec.eventually(function() return (spec.read(dir .. "/port") or ""):match('"port": (%d+)') end, 20000, "the exporter's port")
    local port = spec.read(dir .. "/port"):match('"port": (%d+)')
    local pout, prc = spec.sh("spec/support/prom start --job cadvisor=127.0.0.1:" .. port)
    assert(prc == 0, "spec/support/prom start: " .. pout)
    prom_url, P.prom_dir = pout:match("PROM_URL=(%S+)"), pout:match("PROM_DIR=(%S+)")
  end)
  after_all(function()
    if exporter_pid then spec.sh("kill " .. exporter_pid .. " 2>/dev/null") end
    P.prom_stop()
    if KC then spec.sh(("KUBECONFIG=%s %s delete namespace vtop --wait=false"):format(shq(KC), H.tools.kubectl_cmd())) end
    if dir then os.execute("rm -rf " .. shq(dir)) end
    if not reuse then H.stop_cluster() end
  end)

  it("without the metrics API nor a Prometheus: kubectl's words, exit 1", function()
    local _, err, rc = vcli("top pod -n vtop")
    assert.equal(1, rc)
    assert.matches("^vcli: error: Metrics API not available %(nor Prometheus: ", err)
    local kout, krc = spec.sh(("KUBECONFIG=%s %s top pod -n vtop 2>&1"):format(shq(KC), H.tools.kubectl_cmd()))
    assert.equal(krc, rc)
    assert.equal("error: Metrics API not available\n", kout)
    _, err, rc = vcli("top node")
    assert.equal(1, rc)
    assert.matches("^vcli: error: Metrics API not available %(nor Prometheus: ", err)
  end)

  it("reads the nodes' usage from Prometheus (their root cgroup), against what they can allocate", function()
    -- (vcli-node-3 has no series: not listed; a node the cluster does not have is left out)
    local out, err
    spec.eventually(function()
      out, err = vcli("top node", prom_url)
      return out:find("vcli%-node%-2") and not out:find(" 0m "), out .. err
    end, 60000, "Prometheus to have two scrapes of the exporter")
    same_table("NAME          CPU(cores)   CPU(%)   MEMORY(bytes)   MEMORY(%)   \n"
      .. "vcli-node-1   2000m        25%      8192Mi          25%         \n"
      .. "vcli-node-2   400m         5%       1024Mi          3%          \n", out)
    assert.matches("usage from Prometheus at " .. prom_url:gsub("%p", "%%%0") .. ", cAdvisor's root cgroup series", err)
    same_table("vcli-node-1   2000m   25%   8192Mi   25%   \nvcli-node-2   400m    5%    1024Mi   3%    \n",
      (vcli("top node --sort-by=cpu --no-headers", prom_url)))
    same_table("NAME          CPU(cores)   CPU(%)   MEMORY(bytes)   MEMORY(%)   \n"
      .. "vcli-node-2   400m         5%       1024Mi          3%          \n", (vcli("top node vcli-node-2", prom_url)))
    local _, nerr, rc = vcli("top node vcli-node-3", prom_url)
    assert.equal(1, rc)
    assert.matches('no container_cpu_usage_seconds_total{id="/"} series for these nodes', nerr, 1, true)
    _, nerr, rc = vcli("top node nosuch", prom_url)
    assert.equal(1, rc)
    assert.matches('nodes "nosuch" not found', nerr, 1, true)
  end)

  it("reads the pods' usage from Prometheus, says so, and prints kubectl's table", function()
    -- (a rate needs two scrapes: until Prometheus has them, the pods are not there yet)
    local out, err
    spec.eventually(function()
      out, err = vcli("top pod -n vtop", prom_url)
      return out:find("web%-0") and out:find("api%-0") and not out:find(" 0m "), out .. err
    end, 60000, "Prometheus to have two scrapes of the exporter")
    same_table("NAME    CPU(cores)   MEMORY(bytes)   \napi-0   300m         80Mi            \n"
      .. "web-0   1500m        512Mi           \n", out)
    assert.matches("usage from Prometheus at " .. prom_url:gsub("%p", "%%%0"), err)
    -- --containers, --sort-by, --sum, -A, --no-headers, one pod by name
    same_table("POD     NAME    CPU(cores)   MEMORY(bytes)   \napi-0   api     250m         64Mi            \n"
      .. "api-0   proxy   50m          16Mi            \n", (vcli("top pod api-0 -n vtop --containers", prom_url)))
    same_table("web-0   1500m   512Mi   \napi-0   300m    80Mi    \n", (vcli("top pod -n vtop --sort-by=cpu --no-headers", prom_url)))
    same_table("\n        ________     ________        \n        1800m        592Mi           \n",
      (vcli("top pod -n vtop --sum", prom_url)):match("\n        ____.*$"))
    same_table("NAMESPACE   NAME    CPU(cores)   MEMORY(bytes)   \nother       db-0    2m           1Mi             \n"
      .. "vtop        api-0   300m         80Mi            \nvtop        web-0   1500m        512Mi           \n",
      (vcli("top pod -A", prom_url)))
    local _, nerr, rc = vcli("top pod nosuch -n vtop", prom_url)
    assert.equal(1, rc)
    assert.matches('pods "nosuch" not found', nerr)
  end)
end)
