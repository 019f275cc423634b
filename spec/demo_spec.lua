-- The demo `make run` starts when there is no kubeconfig (spec/support/demo):
-- the test cluster and Debian's Prometheus scraping itself and the cluster's
-- API server, vcli pointed at both; leaving vcli stops everything it started.
-- Runs the script as the Makefile does, with commands on vcli's stdin.
describe("make run's demo", function()
  local rt, home, out, rc
  local api, url, prom_pid
  local kube_pids = {}
  local function alive(pid) return (select(2, spec.sh("kill -0 " .. pid .. " 2>/dev/null"))) == 0 end
  local function env() -- a private runtime dir: never another cluster of this user's
    return ("XDG_RUNTIME_DIR=%s XDG_STATE_HOME=%s/state XDG_CONFIG_HOME=%s/config DEMO_PODS=30 KUBECONFIG= "):format(rt, home, home)
  end

  before_all(function()
    rt, home = spec.tmpdir(), spec.tmpdir()
    spec.write(home .. "/commands", table.concat({
      "prom query up",
      "prom alerts",
      "= os.getenv('VCLI_PROMETHEUS_URL')",
      "!spec/support/kube status",
      "!tok=$(spec/support/kube env | sed -n 's/^VCLI_KUBE_ADMIN_TOKEN=//p'); echo \"token length: ${#tok}\";"
        .. " echo \"processes seen: $(ps -eo args | wc -l)\";"
        .. " echo \"token on command lines: $(ps -eo args | TOK=$tok awk 'index($0, ENVIRON[\"TOK\"]) { n++ } END { print n + 0 }')\"",
      "exit 3",
    }, "\n") .. "\n")
    out, rc = spec.sh(env() .. "spec/support/demo " .. spec.vcli .. " < " .. home .. "/commands")
    api = out:match("vcli demo: Kubernetes%s+https://(127%.0%.0%.1:%d+)")
    url = out:match("vcli demo: Prometheus%s+(http://127%.0%.0%.1:%d+)")
    prom_pid = out:match("vcli demo: Prometheus%s+%S+%s+%(pid (%d+);")
    for name, pid in out:gmatch("\n([%w-]+) (%d+) running") do kube_pids[name] = pid end
  end)
  after_all(function()
    -- whatever a failed run left: the cluster (by its recorded PIDs), Prometheus (by its PID)
    if rt then spec.sh("XDG_RUNTIME_DIR=" .. rt .. " spec/support/kube stop") end
    if prom_pid and alive(prom_pid) then spec.sh("kill " .. prom_pid) end
    spec.sh("rm -rf " .. (rt or "/nonexistent") .. " " .. (home or "/nonexistent"))
  end)

  it("starts both and says where they are", function()
    assert.truthy(api, "no Kubernetes line in the banner:\n" .. out)
    assert.truthy(url, "no Prometheus line in the banner:\n" .. out)
    assert.truthy(kube_pids.apiserver and kube_pids.etcd, "kube status inside the demo:\n" .. out)
    -- vcli's exit status is the demo's
    assert.equal(3, rc, out)
  end)

  it("answers prom query up with the server itself and the API server, both up", function()
    local jobs = {}
    for inst, job in out:gmatch("\nup%s+(%S+)%s+(%S+)%s+1%s") do jobs[job] = inst end
    assert.equal(url:match("//(.*)"), jobs.prometheus, out)
    assert.equal(api, jobs.apiserver, out)
    assert.truthy(out:find('\n"' .. url .. '"\n', 1, true), "VCLI_PROMETHEUS_URL in vcli:\n" .. out)
  end)

  it("evaluates the specs' rules: prom alerts shows the firing and the pending alert", function()
    assert.matches("\nVcliAlwaysFiring%s+firing%s+warning", out)
    assert.matches("\nVcliPending%s+pending%s+info", out)
  end)

  it("keeps the admin token off every command line", function()
    local len = tonumber(out:match("token length: (%d+)"))
    assert.truthy(len and len >= 16, out)
    -- (ps saw the processes: the demo's servers among them, so a zero below means something)
    assert.truthy((tonumber(out:match("processes seen: (%d+)")) or 0) > 5, out)
    assert.equal("0", out:match("token on command lines: (%d+)"), out)
  end)

  it("leaves nothing running once vcli exits", function()
    assert.truthy(prom_pid, out)
    assert.falsy(alive(prom_pid), "prometheus " .. prom_pid .. " still runs")
    for name, pid in pairs(kube_pids) do assert.falsy(alive(pid), name .. " " .. pid .. " still runs") end
    local status = spec.sh("XDG_RUNTIME_DIR=" .. rt .. " spec/support/kube status")
    assert.matches("not running", status)
    local _, curl_rc = spec.sh("curl -s --max-time 2 " .. url .. "/-/ready")
    assert.truthy(curl_rc ~= 0, "Prometheus still answers at " .. url)
  end)
end)
