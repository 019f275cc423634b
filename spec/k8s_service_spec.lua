-- The kubernetes plugin's `kube` service and its events, as a third party's
-- plugin uses them (spec/support/plugins/kube_pods: capabilities kube and
-- events, no kubeconfig, no net grant), against the test cluster: list (whole
-- and page by page), get, the namespace and context switch events, a watch's
-- added/deleted events, and request (a write refused under `k8s --readonly`).
local H = dofile("spec/support/k8s/helper.lua")
local pm = require("vcli.plugin")
local cjson = require("cjson")

local root = os.getenv("PWD")
local KC
local NS = "svc-a"
local function kubectl(args) return H.kubectl(KC, args) end
local function ok_run(line)
  local out, err, st = H.run(line)
  if st ~= 0 then error(("%s failed (%s): %s%s"):format(line, tostring(st), err, out), 2) end
  return out, err
end
local function lines_of(text)
  local t = {}
  for l in text:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end
local function sorted(t) table.sort(t) return t end
-- the events kube_pods has seen: { {topic, data (the payload without object), object = "Kind/name"}, … }
local function seen()
  local out = {}
  for _, l in ipairs(lines_of(ok_run("kpods seen"))) do
    local topic, json, obj = l:match("^(%S+) (.+) (%S+)$")
    out[#out + 1] = { topic = topic, data = cjson.decode(json), object = obj }
  end
  return out
end
local function wait_event(pred, what)
  return spec.eventually(function()
    local all = seen()
    for _, e in ipairs(all) do if pred(e) then return e end end
    local topics = {}
    for _, e in ipairs(all) do topics[#topics + 1] = e.topic end
    return false, table.concat(topics, ", ")
  end, 60000, what)
end
local function kubectl_pods(ns)
  local names = {}
  for n in kubectl("get pods -n " .. ns .. " -o name"):gmatch("pod/(%S+)") do names[#names + 1] = n end
  return sorted(names)
end

describe("the kube service and its events, through a third party's plugin", function()
  before_all(function()
    local E = H.start_cluster()
    KC = E.KUBECONFIG
    -- the built-in plugins and the spec's own, as a user's VCLI_PLUGIN_PATH would add them
    pm.discover({ { dir = root .. "/plugins", kind = "built-in" },
                  { dir = root .. "/spec/support/plugins", kind = "VCLI_PLUGIN_PATH" } })
    H.register({ kubeconfig = KC })
    kubectl("create namespace " .. NS)
    for _, p in ipairs({ "p1", "p2", "p3" }) do kubectl("-n " .. NS .. " run " .. p .. " --image=nginx:1.25") end
  end)
  after_all(function()
    pcall(pm.stop, "kube_pods", "spec")
    H.stop_cluster()
  end)

  it("the third party's plugin needs no grant but kube and events", function()
    local p = assert(pm.get("kube_pods"))
    assert.same({ "events", "kube" }, sorted(p.m.grants))
    assert.same({ "kube" }, pm.get("kubernetes").m.provides)
    assert.equal("vcli-test default false\n", ok_run("kpods where"))
  end)

  it("lists pods: every item, or page by page with continue, as kubectl lists them", function()
    local want = kubectl_pods(NS)
    assert.equal(3, #want)
    assert.same(want, sorted(lines_of(ok_run("kpods list -n " .. NS))))
    local out, err = ok_run("kpods list -n " .. NS .. " --limit 2")
    assert.same(want, sorted(lines_of(out)))
    assert.equal("pages: 2\n", err)
    assert.same({ "p2" }, lines_of(ok_run("kpods list -n " .. NS .. " -l run=p2")))
  end)

  it("gets one pod (managedFields dropped); a missing one is kubectl's NotFound", function()
    assert.matches("^Pod svc%-a/p1 %a+ %- live\n$", ok_run("kpods get p1 -n " .. NS))
    local _, err, st = H.run("kpods get nope -n " .. NS)
    assert.equal(1, st)
    assert.matches('Error from server %(NotFound%): pods "nope" not found', err)
  end)

  it("reads answer from the offline cache k8s get keeps, and k8s get answers from what they kept", function()
    local proxied = " -n " .. NS .. " --context vcli-test-proxy"
    local want = kubectl_pods(NS)
    local ok, err = pcall(function()
      assert.same(want, sorted(lines_of(ok_run("kpods list" .. proxied))))
      assert.matches("^Pod svc%-a/p1 %a+ %- live\n$", ok_run("kpods get p1" .. proxied))
      ok_run("k8s get pod p2 -o json" .. proxied)
      spec.sh(H.KUBE .. " proxy refuse")
      local out, note = ok_run("kpods list" .. proxied)
      assert.same(want, sorted(lines_of(out)))
      assert.matches("^offline: ", note)
      assert.matches("^Pod svc%-a/p1 %a+ %- offline\n$", ok_run("kpods get p1" .. proxied))
      assert.matches("^Pod svc%-a/p2 %a+ %- offline\n$", ok_run("kpods get p2" .. proxied))
      local _, gerr, st = H.run("kpods get p3" .. proxied)
      assert.equal(1, st)
      assert.truthy(gerr ~= "", "an uncached object offline is the transfer's error")
      local json, jnote = ok_run("k8s get pods -o json" .. proxied)
      assert.matches("^offline — as of", jnote)
      local names = {}
      for _, item in ipairs(cjson.decode(json).items) do names[#names + 1] = item.metadata.name end
      assert.same(want, sorted(names))
    end)
    spec.sh(H.KUBE .. " proxy pass")
    assert(ok, err)
  end)

  it("k8s ns and k8s ctx publish their switch; the service follows them", function()
    ok_run("kpods where") -- kube_pods is running and subscribed
    ok_run("k8s ns " .. NS)
    local e = wait_event(function(ev) return ev.topic == "kube.namespace.switched" end, "kube.namespace.switched")
    assert.same({ context = "vcli-test", namespace = NS, previous = "default" }, e.data)
    assert.equal("vcli-test svc-a false\n", ok_run("kpods where"))
    assert.same(kubectl_pods(NS), sorted(lines_of(ok_run("kpods list"))))
    ok_run("k8s ctx vcli-test-limited")
    e = wait_event(function(ev) return ev.topic == "kube.context.switched" end, "kube.context.switched")
    assert.same({ context = "vcli-test-limited", previous = "vcli-test", namespace = "team-a" }, e.data)
    assert.equal("vcli-test-limited team-a false\n", ok_run("kpods where"))
    -- the limited user's identity: it may not list pods in svc-a
    local _, err, st = H.run("kpods list -n " .. NS)
    assert.equal(1, st)
    assert.matches("Forbidden", err)
    ok_run("k8s ctx vcli-test")
    wait_event(function(ev) return ev.topic == "kube.context.switched" and ev.data.context == "vcli-test" end,
      "the switch back")
    assert.equal("vcli-test svc-a false\n", ok_run("kpods where"))
  end)

  it("watch: a pod created is published as kube.pods.added, its deletion as kube.pods.deleted", function()
    local id, topic, ctx, ns, has_rv = ok_run("kpods watch"):match("^(%d+) (%S+) (%S+) (%S+) (%S+)\n$")
    assert.equal("kube.pods.*", topic)
    assert.equal("vcli-test", ctx)
    assert.equal(NS, ns)
    assert.equal("true", has_rv)
    kubectl("-n " .. NS .. " run p4 --image=nginx:1.25")
    local e = wait_event(function(ev) return ev.topic == "kube.pods.added" and ev.data.name == "p4" end, "kube.pods.added p4")
    assert.equal("Pod/p4", e.object)
    assert.equal(tonumber(id), e.data.watch)
    assert.equal("ADDED", e.data.type)
    assert.equal(NS, e.data.namespace)
    assert.equal("pods", e.data.resource)
    assert.equal("", e.data.group)
    assert.equal("v1", e.data.version)
    assert.equal("vcli-test", e.data.context)
    assert.truthy(e.data.resourceVersion)
    kubectl("-n " .. NS .. " delete pod p4 --wait=false")
    e = wait_event(function(ev) return ev.topic == "kube.pods.deleted" and ev.data.name == "p4" end, "kube.pods.deleted p4")
    assert.equal("DELETED", e.data.type)
    assert.equal("true\n", ok_run("kpods unwatch " .. id))
    e = wait_event(function(ev) return ev.topic == "kube.watch.stopped" end, "kube.watch.stopped")
    assert.equal(tonumber(id), e.data.watch)
    assert.equal("unwatched", e.data.reason)
    assert.equal("false\n", ok_run("kpods unwatch " .. id))
  end)

  it("request: as the user; a write is refused under k8s --readonly, reads still go", function()
    assert.matches("^201 ConfigMap \n$", ok_run("kpods configmap cm1"))
    assert.matches("^configmap/cm1\n", kubectl("-n " .. NS .. " get configmap cm1 -o name"))
    assert.matches("^409 Status Error from server %(AlreadyExists%)", ok_run("kpods configmap cm1"))
    ok_run("k8s --readonly")
    assert.equal("vcli-test svc-a true\n", ok_run("kpods where"))
    local _, err, st = H.run("kpods configmap cm2")
    assert.equal(1, st)
    assert.matches("kube request POST /api/v1/namespaces/svc%-a/configmaps: refused: read%-only mode %(context vcli%-test%)", err)
    local _, rc = kubectl("-n " .. NS .. " get configmap cm2")
    assert.truthy(rc ~= 0, "cm2 was not created")
    assert.equal("200 ConfigMap \n", ok_run("kpods raw /api/v1/namespaces/" .. NS .. "/configmaps/cm1"))
    assert.matches("^Pod svc%-a/p1 ", ok_run("kpods get p1"))
    H.eval("require('k8s.plugin_env').session.readonly = false")
  end)

  it("a watch ends with the kubernetes plugin, and says so; the next call starts the plugin again", function()
    local id = tonumber(ok_run("kpods watch"):match("^(%d+) "))
    assert.truthy(pm.stop("kubernetes"))
    assert.equal("stopped", pm.get("kubernetes").state)
    local e = wait_event(function(ev) return ev.topic == "kube.watch.stopped" and ev.data.watch == id end,
      "kube.watch.stopped after the plugin stopped")
    assert.equal("stopped", e.data.reason)
    assert.equal("pods", e.data.resource)
    -- a fresh session: the kubeconfig's context and namespace
    assert.equal("vcli-test default false\n", ok_run("kpods where"))
    assert.equal("running", pm.get("kubernetes").state)
  end)
end)
