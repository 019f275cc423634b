-- Configuration keys of the Kubernetes plugin that need the test cluster:
-- offline.enabled (answers from the cache when the cluster is unreachable,
-- or not) and security.confirmDestructive (delete asks first in the shell,
-- or not). The real vcli in a made-up home against spec/support/kube.
-- VCLI_K8S_SPEC_REUSE=1 uses an already running cluster and leaves it running.
local H = dofile("spec/support/k8s/helper.lua")
local cjson = require("cjson")

local E
local reuse = os.getenv("VCLI_K8S_SPEC_REUSE") == "1"

local function home()
  local d = spec.tmpdir()
  return {
    dir = d,
    env = ("HOME=%s XDG_CONFIG_HOME=%s/cfg XDG_STATE_HOME=%s/state XDG_CACHE_HOME=%s/cache XDG_DATA_HOME=%s/data"
      .. " KUBECONFIG=%s"):format(d, d, d, d, d, E.KUBECONFIG),
    run = function(h, args)
      local out, status = spec.sh(("cd %s && env -i PATH=/usr/bin:/bin %s %s --norc %s 2>%s/stderr"):format(
        d, h.env, spec.vcli, args, d))
      return out, spec.read(d .. "/stderr") or "", status
    end,
  }
end

local function proxy(mode)
  local out, rc = spec.sh(H.KUBE .. " proxy " .. mode)
  assert(rc == 0, out)
end

-- requests the fault proxy's HTTP port has passed on (context vcli-test-proxy-http)
local function proxied()
  local out = spec.sh(H.KUBE .. " proxy status")
  return cjson.decode(out:match("{.*}")).http_requests_total
end

describe("k8s and the configuration, against the test cluster", function()
  before_all(function()
    if reuse and (select(2, spec.sh(H.KUBE .. " status"))) == 0 then E = H.cluster_env()
    else E = H.start_cluster() end
  end)
  after_all(function()
    pcall(proxy, "pass")
    H.kubectl(E.KUBECONFIG, "-n default delete configmap vcli-cfg-a vcli-cfg-b vcli-cfg-ro --ignore-not-found")
    if not reuse then H.stop_cluster() end
  end)

  it("offline.enabled: false fails where the default answers from the last known state", function()
    local h = home()
    proxy("pass")
    local live, _, status = h:run("k8s get ns --context vcli-test-proxy -o name")
    assert.equal(0, status)
    assert.matches("namespace/kube%-system\n", live)
    proxy("refuse")
    local out, err
    out, err, status = h:run("k8s get ns --context vcli-test-proxy -o name")
    assert.equal(0, status, err)
    assert.equal(live, out)
    assert.matches("^offline — as of ", err)
    out, err, status = h:run("--set offline.enabled=false k8s get ns --context vcli-test-proxy -o name")
    assert.equal(1, status)
    assert.equal("", out)
    assert.falsy(err:find("offline — as of", 1, true), err)
    assert.matches("^vcli: GET https://", err)
    proxy("pass")
  end)

  it("clusters[].resources.pageSize: a list comes in pages of that many objects", function()
    local h = home()
    local names = h:run("k8s get ns --context vcli-test-proxy-http -o name")   -- discovery cached too
    local n = select(2, names:gsub("\n", ""))
    assert.truthy(n >= 4, names)
    local before = proxied()
    assert.equal(names, (h:run("k8s get ns --context vcli-test-proxy-http -o name")))
    assert.equal(1, proxied() - before)
    os.execute("mkdir -p " .. h.dir .. "/cfg/vcli")
    spec.write(h.dir .. "/cfg/vcli/config.yaml", "clusters:\n- name: through-the-proxy\n  context: vcli-test-proxy-http\n"
      .. "  resources:\n    pageSize: 1\n")
    before = proxied()
    assert.equal(names, (h:run("k8s get ns --context vcli-test-proxy-http -o name")))
    assert.equal(n, proxied() - before)
  end)

  it("security.readOnly: every context refuses changes", function()
    local h = home()
    local out, rc = H.kubectl(E.KUBECONFIG, "-n default create configmap vcli-cfg-ro")
    assert.equal(0, rc, out)
    local _, err, status = h:run("--set security.readOnly=true k8s delete configmap vcli-cfg-ro -n default")
    assert.equal(1, status)
    assert.matches("refused: read%-only mode %(context vcli%-test%)", err)
    assert.equal(0, select(2, H.kubectl(E.KUBECONFIG, "-n default get configmap vcli-cfg-ro")))
    out, err, status = h:run("k8s delete configmap vcli-cfg-ro -n default")
    assert.equal(0, status, err)
    assert.equal('configmap "vcli-cfg-ro" deleted\n', out)
  end)

  it("security.confirmDestructive: false deletes in the shell without asking", function()
    local h = home()
    for _, name in ipairs({ "vcli-cfg-a", "vcli-cfg-b" }) do
      local out, rc = H.kubectl(E.KUBECONFIG, "-n default create configmap " .. name)
      assert.equal(0, rc, out)
    end
    local function shell(args, steps)
      return spec.sh(("cd %s && env -i PATH=/usr/bin:/bin %s TERM=dumb python3 %s/spec/support/pty_drive.py '%s' %s --norc %s")
        :format(h.dir, h.env, spec.root, cjson.encode(steps), spec.vcli, args))
    end
    -- by default it asks; "n" keeps the object
    local out = shell("", { { "expect", "vcli> " }, { "send", "k8s delete configmap vcli-cfg-a -n default\r" },
                            { "expect", "[y/N] " }, { "send", "n\r" }, { "expect", "Nothing deleted." } })
    assert.matches("^OK", out)
    assert.matches("Delete configmap/vcli%-cfg%-a in vcli%-test/default%? %[y/N%]", out)
    assert.equal(0, select(2, H.kubectl(E.KUBECONFIG, "-n default get configmap vcli-cfg-a")))
    out = shell("--set security.confirmDestructive=false",
      { { "expect", "vcli> " }, { "send", "k8s delete configmap vcli-cfg-b -n default\r" },
        { "expect", 'configmap "vcli-cfg-b" deleted' } })
    assert.matches("^OK", out)
    assert.falsy(out:find("[y/N]", 1, true), out)
    assert.matches("NotFound", (H.kubectl(E.KUBECONFIG, "-n default get configmap vcli-cfg-b")))
  end)
end)
