-- The test cluster (spec/support/kube): a real kube-apiserver on loopback,
-- kube-controller-manager, the node agent (fake kubelet) and the fault proxy.
-- Needs `spec/support/kube build` (cached; ~8 min the first time), which also gives the
-- kubectl these checks use (spec/support/tools.lua).
local vm = require("vcli.vm")
local H = dofile("spec/support/k8s/helper.lua")

local KUBE = "spec/support/kube"
local env = {}          -- the cluster's env file, parsed
local start_stdout      -- what `kube start` printed on stdout

local function sh(cmd)
  local out, rc = spec.sh(cmd)
  if rc ~= 0 then error(("command failed (%d): %s\n%s"):format(rc, cmd, out), 2) end
  return out
end

local function kubectl(args)
  return spec.sh("KUBECONFIG='" .. env.KUBECONFIG .. "' " .. H.tools.kubectl_cmd() .. " " .. args)
end

local function ok_kubectl(args)
  local out, rc = kubectl(args)
  if rc ~= 0 then error(("kubectl %s failed (%d):\n%s"):format(args, rc, out), 2) end
  return out
end

local read_env = dofile("spec/support/kube_env.lua")

local function alive(pid) return (select(2, spec.sh("kill -0 " .. pid))) == 0 end

local function elapsed_ms(fn)
  local t0 = vm.now()
  local a, b = fn()
  return vm.now() - t0, a, b
end

describe("test cluster", function()
  local has_kubectl = H.tools.kubectl() ~= nil

  before_all(function()
    sh(KUBE .. " build")
    local other = H.clear_ours() -- a cluster an earlier file of this run left behind
    if other then error("another test cluster is running:\n" .. other.status, 0) end
    local out, rc = spec.sh(KUBE .. " start --owner " .. H.my_pid() .. " 2>/dev/null")
    start_stdout = out
    assert.equal(0, rc, "kube start failed; run it by hand to see why:\n" .. out)
    env = read_env()
  end)

  after_all(function()
    spec.sh(KUBE .. " stop") -- no-op when the last test already stopped it
  end)

  it("start prints `export KUBECONFIG=…` as its last stdout line", function()
    local last = start_stdout:match("([^\n]*)\n*$")
    assert.equal("export KUBECONFIG=" .. env.KUBECONFIG, last)
    assert.truthy(spec.read(env.KUBECONFIG), "kubeconfig exists")
    for _, k in ipairs({ "VCLI_KUBE_API_PORT", "VCLI_KUBE_PROXY_PORT", "VCLI_KUBE_PROXY_CONTROL",
                         "VCLI_KUBE_PID_APISERVER", "VCLI_KUBE_PID_AGENT", "VCLI_KUBE_DIR" }) do
      assert.truthy(env[k], k .. " in the env file")
    end
  end)

  if not has_kubectl then
    pending("kubectl works against the cluster", "no kubectl: " .. tostring(select(2, H.tools.kubectl())))
  else
    it("serves the API to the admin, client-certificate and limited users", function()
      assert.matches("default%s+Active", ok_kubectl("get namespaces"))
      assert.matches("default%s+Active", ok_kubectl("--context vcli-test-cert get namespaces"))
      -- limited: read-only in team-a, nothing elsewhere
      ok_kubectl("--context vcli-test-limited -n team-a get pods")
      local out, rc = kubectl("--context vcli-test-limited -n default get pods")
      assert.falsy(rc == 0)
      assert.matches("Forbidden", out)
      out, rc = kubectl("--context vcli-test-limited -n team-a create configmap x")
      assert.falsy(rc == 0)
      assert.matches("forbidden", out)
    end)

    it("has three Ready nodes served by the node agent", function()
      local out = ok_kubectl("get nodes --no-headers")
      local ready = 0
      for _ in out:gmatch("vcli%-node%-%d+%s+Ready") do ready = ready + 1 end
      assert.equal(3, ready)
      assert.matches("InternalIP:%s+127%.0%.0%.1", ok_kubectl("describe node vcli-node-1"))
    end)

    it("runs pods: get, describe, logs, exec", function()
      ok_kubectl("run hello --image=nginx:1.25")
      ok_kubectl("wait --for=condition=Ready pod/hello --timeout=30s")
      assert.matches("hello%s+1/1%s+Running", ok_kubectl("get pod hello --no-headers"))
      assert.matches("Started container hello", ok_kubectl("describe pod hello"))
      -- deterministic log lines: "<pod> <container> line N", 100 of them
      assert.equal("hello hello line 99\nhello hello line 100\n", ok_kubectl("logs hello --tail=2"))
      assert.matches("^%d%d%d%d%-%d%d%-%d%dT[%d:.]+Z hello hello line 100\n$", ok_kubectl("logs hello --tail=1 --timestamps"))
      -- follow appends new lines (one per second) until the client goes away
      local out = spec.sh("KUBECONFIG='" .. env.KUBECONFIG .. "' timeout 3 " .. H.tools.kubectl_cmd() .. " logs hello --tail=1 -f")
      assert.matches("hello hello line 100\nhello hello line 101\n", out)
      -- exec runs the command for real and passes the exit status through
      -- stdout only: client-go may log a harmless "Unknown stream id" line on stderr
      H.tools.need_kubectl(30, "kubectl exec over WebSocket (v1.30; the node agent speaks no SPDY)")
      assert.equal("hi\n", ok_kubectl("exec hello -- echo hi 2>/dev/null"))
      out = kubectl("exec hello -- sh -c 'echo oops >&2; exit 3'")
      assert.matches("oops", out)
      local _, rc = kubectl("exec hello -- sh -c 'exit 3'")
      assert.equal(3, rc)
      local cmd = "echo piped | KUBECONFIG='" .. env.KUBECONFIG .. "' " .. H.tools.kubectl_cmd() .. " exec -i hello -- cat"
      assert.equal("piped\n", (spec.sh(cmd)))
    end)

    it("applies, scales and deletes a deployment", function()
      local dir = spec.tmpdir()
      spec.write(dir .. "/web.yaml", [[
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team-a}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.25"}]}
]])
      assert.matches("deployment.apps/web created", ok_kubectl("apply -f " .. dir .. "/web.yaml"))
      ok_kubectl("-n team-a rollout status deploy/web --timeout=60s")
      ok_kubectl("-n team-a scale deploy/web --replicas=4")
      spec.eventually(function()
        return kubectl("-n team-a get deploy web --no-headers"):match("web%s+4/4")
      end, 60000, "4/4 replicas")
      ok_kubectl("-n team-a scale deploy/web --replicas=1")
      spec.eventually(function()
        local out = kubectl("-n team-a get pods -l app=web --no-headers")
        local n = 0
        for _ in out:gmatch("web%-[%w-]+%s+1/1%s+Running") do n = n + 1 end
        return n == 1 and not out:match("Terminating")
      end, 60000, "scale down to 1 pod")
      ok_kubectl("-n team-a delete deploy web --wait=true --timeout=60s")
      spec.eventually(function()
        return (kubectl("-n team-a get pods -l app=web --no-headers")):match("No resources found")
      end, 60000, "the deployment's pods to be garbage-collected")
      os.execute("rm -rf '" .. dir .. "'")
    end)

    it("seeds realistic workloads quickly", function()
      local ms, out = elapsed_ms(function() return sh(KUBE .. " seed --pods 300") end)
      assert.matches("created 300 pods", out)
      assert.truthy(ms < 60000, ("seeding 300 pods took %d ms"):format(ms))
      spec.eventually(function()
        local s = kubectl("get pods -A --no-headers")
        local running, crash = 0, 0
        for _ in s:gmatch("%s1/1%s+Running%s") do running = running + 1 end
        for _ in s:gmatch("CrashLoopBackOff") do crash = crash + 1 end
        return running >= 250 and crash >= 1
      end, 60000, "seeded pods Running, some in CrashLoopBackOff")
      assert.matches("ScalingReplicaSet", ok_kubectl("get events -n payments"))
    end)

    it("fault proxy: refuse makes kubectl fail quickly, pass restores", function()
      ok_kubectl("--context vcli-test-proxy get ns")
      sh(KUBE .. " proxy refuse")
      local ms, out, rc = elapsed_ms(function() return kubectl("--context vcli-test-proxy get ns --request-timeout=10s") end)
      assert.falsy(rc == 0)
      assert.matches("refused", out)
      assert.truthy(ms < 5000, ("refused request took %d ms"):format(ms))
      sh(KUBE .. " proxy pass")
      assert.matches("default%s+Active", ok_kubectl("--context vcli-test-proxy get ns"))
    end)

    it("fault proxy: stall hangs requests, latency slows them, http500/429 answer errors", function()
      sh(KUBE .. " proxy stall")
      local ms, _, rc = elapsed_ms(function() return kubectl("--context vcli-test-proxy get ns --request-timeout=2s") end)
      assert.falsy(rc == 0)
      assert.truthy(ms >= 1900, ("stalled request returned after %d ms"):format(ms))
      sh(KUBE .. " proxy pass")

      local fast = elapsed_ms(function() return ok_kubectl("--context vcli-test-proxy get ns default") end)
      sh(KUBE .. " proxy latency=400")
      local slow = elapsed_ms(function() return ok_kubectl("--context vcli-test-proxy get ns default") end)
      sh(KUBE .. " proxy pass")
      assert.truthy(slow >= fast + 400, ("latency=400: %d ms vs %d ms"):format(slow, fast))

      sh(KUBE .. " proxy http500")
      local out, rc2 = kubectl("--context vcli-test-proxy-http get ns default")
      assert.falsy(rc2 == 0)
      assert.matches("InternalError", out)
      sh(KUBE .. " proxy http429=1,count=1")
      ms = elapsed_ms(function() return ok_kubectl("--context vcli-test-proxy-http get ns default") end)
      assert.truthy(ms >= 900, "client waited for Retry-After: 1 (" .. ms .. " ms)")
      sh(KUBE .. " proxy pass")
      local injected = tonumber(sh(KUBE .. " proxy status"):match('"http_injected_total":(%d+)'))
      assert.truthy(injected and injected >= 2, "the proxy counted its injected errors")
    end)
  end

  it("refuses a second start while one is running", function()
    local out, rc = spec.sh(KUBE .. " start")
    assert.falsy(rc == 0)
    assert.matches("already running", out)
    assert.truthy(alive(env.VCLI_KUBE_PID_APISERVER), "the first cluster is untouched")
  end)

  it("stop leaves no process and no state behind", function()
    local pids = {}
    for k, v in pairs(env) do if k:match("^VCLI_KUBE_PID_") then table.insert(pids, v) end end
    assert.truthy(#pids >= 5, "recorded PIDs")
    sh(KUBE .. " stop")
    for _, pid in ipairs(pids) do assert.falsy(alive(pid), "process " .. pid .. " still alive") end
    assert.equal(1, (select(2, spec.sh("test -e '" .. env.VCLI_KUBE_DIR .. "'"))))
    local out, rc = spec.sh(KUBE .. " status")
    assert.equal(1, rc)
    assert.matches("not running", out)
  end)
end)
