-- k8s plugin verbs against the test cluster: describe, logs, events, apply,
-- scale, rollout, label/annotate, cordon, delete, edit, read-only mode, and
-- the kubectl bridge / exec delegation.
-- VCLI_K8S_SPEC_REUSE=1 uses an already running cluster and leaves it running.
local H = dofile("spec/support/k8s/helper.lua")
local json = require("cjson")

local E, KC, dir
local reuse = os.getenv("VCLI_K8S_SPEC_REUSE") == "1"
local function kubectl(args) return H.kubectl(KC, args) end
local function ok_run(line)
  local out, err, st = H.run(line)
  if st ~= 0 then error(("%s failed (%s): %s"):format(line, tostring(st), err), 2) end
  return out, err
end

-- vcli's answer and kubectl's for the same arguments, until they agree (the cluster moves)
local function agrees_with_kubectl(args)
  local mine, theirs
  local ok = pcall(spec.eventually, function()
    mine, theirs = H.run("k8s " .. args), kubectl(args)
    return mine == theirs
  end, 30000, args)
  if not ok then assert.equal(theirs, mine, args) end
end

describe("k8s verbs against the test cluster", function()
  before_all(function()
    if reuse and (select(2, spec.sh(H.KUBE .. " status"))) == 0 then E = H.cluster_env()
    else
      E = H.start_cluster()
      -- describe and events read the seeded workloads (deploy/api in checkout, …)
      assert.matches("created %d+ pods", (spec.sh(H.KUBE .. " seed --pods 300")))
    end
    KC = E.KUBECONFIG
    dir = spec.tmpdir()
    H.register({ kubeconfig = KC })
    kubectl("-n team-a delete deploy vweb --ignore-not-found")
    kubectl("-n team-a delete cm vweb-config --ignore-not-found")
    kubectl("delete pod vhello --ignore-not-found")
    kubectl("run vhello --image=nginx:1.25")
    kubectl("wait --for=condition=Ready pod/vhello --timeout=60s")
  end)
  after_all(function()
    kubectl("-n team-a delete deploy vweb --ignore-not-found --wait=false")
    kubectl("delete pod vhello --ignore-not-found --wait=false")
    kubectl("uncordon vcli-node-3")
    os.execute("rm -rf '" .. dir .. "'")
    if not reuse then H.stop_cluster() end
  end)

  it("logs: --tail, --timestamps, -c, -f", function()
    assert.equal("vhello vhello line 99\nvhello vhello line 100\n", ok_run("k8s logs vhello --tail 2"))
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT[%d:.]+Z vhello vhello line 100\n$", ok_run("k8s logs vhello --tail 1 --timestamps"))
    assert.equal("vhello vhello line 100\n", ok_run("k8s logs pod/vhello -c vhello --tail 1"))
    local _, err, st = H.run("k8s logs vhello -c nope")
    assert.equal(1, st)
    assert.matches("container nope is not valid for pod vhello", err)
    -- TYPE/NAME: one of the object's pods, named on stderr as kubectl does
    local one, note = ok_run("k8s logs deploy/api -n checkout --tail 1")
    local pod = note:match("^Found %d+ pods, using pod/(%S+)\n$")
    assert.truthy(pod, note)
    assert.truthy(kubectl("get pods -n checkout -l app=api -o name"):find("pod/" .. pod .. "\n", 1, true), pod)
    assert.equal(pod .. " api line 100\n", one)
    _, err, st = H.run("k8s logs deploy/nope -n checkout")
    assert.equal(1, st)
    assert.matches('Error from server %(NotFound%): deployments%.apps "nope" not found\n$', err)
    -- -f: the next lines as the container writes them (one a second), until Ctrl-C
    local f = dir .. "/logs-f"
    local pid = H.spawn(("cd %s && exec env KUBECONFIG=%s ./vcli k8s logs vhello -f --tail 1 > %s 2>&1"):format(
      spec.root, KC, f))
    local ok = pcall(spec.eventually, function() return (spec.read(f) or ""):match("line 101\n") end, 30000,
      "the followed line 101")
    spec.sh("kill -INT " .. pid)
    spec.eventually(function() return (select(2, spec.sh("kill -0 " .. pid))) ~= 0 end, 10000, "logs -f to end on Ctrl-C")
    assert.truthy(ok, spec.read(f))
    assert.matches("^vhello vhello line 100\nvhello vhello line 101\n", spec.read(f))
  end)

  it("logs -f of a container whose line is 100 MB stops at the line limit with one line naming it", function()
    kubectl("delete pod vbigline --ignore-not-found")
    kubectl("run vbigline --image=nginx:1.25 --annotations=vcli-test/log-line-bytes=104857600 --annotations=vcli-test/log-lines=2")
    kubectl("wait --for=condition=Ready pod/vbigline --timeout=60s")
    local out, err, st = H.run("k8s logs vbigline -f")
    kubectl("delete pod vbigline --wait=false")
    assert.equal(1, st)
    assert.equal("", out)
    assert.equal("vcli: error: pod/vbigline, container vbigline: a line longer than 16 MiB (the limit)\n", err)
  end)

  it("Tab after logs/exec -c completes the containers of the pod on the line", function()
    local f = dir .. "/vtwo.yaml"
    local h = assert(io.open(f, "w"))
    h:write("apiVersion: v1\nkind: Pod\nmetadata: {name: vtwo, namespace: team-b}\nspec:\n",
      "  initContainers: [{name: setup, image: busybox:1.36}]\n",
      "  containers: [{name: app, image: nginx:1.25}, {name: sidecar, image: envoy:1.29}]\n")
    h:close()
    kubectl("apply -f " .. f)
    local complete = require("vcli.shell.complete")
    local function words(line)
      local t = {}
      for _, it in ipairs(complete.complete(line).items) do t[#t + 1] = it.word end
      table.sort(t)
      return t
    end
    assert.same({ "app", "setup", "sidecar" }, words("k8s logs vtwo -n team-b -c "))
    assert.same({ "sidecar" }, words("k8s logs -n team-b --tail 5 pod/vtwo --container si"))
    assert.same({ "vhello" }, words("k8s logs vhello -c "))
    assert.same({ "api" }, words("k8s logs deploy/api -n checkout -c "))
    assert.same({ "app", "setup", "sidecar" }, words("k8s exec -n team-b vtwo -c "))
    assert.same({}, words("k8s logs nosuchpod -c "))
    -- top (native): its kinds, then the names of the kind in the namespace on the line
    assert.same({ "node", "pod" }, words("k8s top "))
    local want = {}
    for n in kubectl("-n checkout get pods -o name"):gmatch("pod/(%S+)") do want[#want + 1] = n end
    table.sort(want)
    assert.truthy(#want > 0)
    assert.same(want, words("k8s top pod -n checkout "))
    -- a verb vcli hands to kubectl: kubectl's own completion (__complete), the session's cluster
    assert.same({ "approve", "deny" }, words("k8s certificate "))
    kubectl("delete pod vtwo -n team-b --wait=false")
  end)

  it("describe shows status, containers, conditions and events", function()
    -- kubectl describe's layout (spec/k8s_describe_spec.lua compares it line by line)
    local out = ok_run("k8s describe pod vhello")
    assert.matches("^Name:%s+vhello\nNamespace:%s+default\n", out)
    assert.matches("\nStatus:%s+Running\n", out)
    assert.matches("\n    Image:%s+nginx:1%.25\n", out)
    assert.matches("\n    Ready:%s+True\n    Restart Count:%s+0\n", out)
    assert.matches("\nConditions:\n  Type%s+Status\n", out)
    assert.matches("\n  Ready%s+True \n", out)
    assert.matches("\nEvents:\n  Type%s+Reason%s+Age%s+From%s+Message\n", out)
    assert.matches("\n  Normal%s+Started%s+%d+%a+%s+kubelet%s+Started container vhello\n", out)
    assert.matches("\nReplicas:%s+%d+ desired | %d+ updated | %d+ total | %d+ available | %d+ unavailable\n",
      ok_run("k8s describe deploy/api -n checkout"))
  end)

  it("events lists the namespace's events, oldest first", function()
    local out = ok_run("k8s events -n payments")
    assert.matches("ScalingReplicaSet", out)
  end)

  it("apply -f, rollout status, scale, rollout restart and undo", function()
    spec.write(dir .. "/web.yaml", [[
apiVersion: apps/v1
kind: Deployment
metadata: {name: vweb, namespace: team-a}
spec:
  replicas: 1
  selector: {matchLabels: {app: vweb}}
  template:
    metadata: {labels: {app: vweb}}
    spec: {containers: [{name: web, image: "nginx:1.25"}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: vweb-config, namespace: team-a}
data: {a: "1"}
]])
    assert.equal("deployment.apps/vweb created\nconfigmap/vweb-config created\n",
      ok_run("k8s apply -f " .. dir .. "/web.yaml"))
    assert.matches("successfully rolled out", ok_run("k8s rollout status deploy vweb -n team-a --timeout 60s"))
    assert.equal("deployment.apps/vweb scaled\n", ok_run("k8s scale deploy/vweb -n team-a --replicas 2"))
    spec.eventually(function() return kubectl("-n team-a get deploy vweb --no-headers"):match("vweb%s+2/2") end, 60000, "2/2")
    assert.equal("deployment.apps/vweb restarted\n", ok_run("k8s rollout restart deploy vweb -n team-a"))
    assert.matches("kubectl.kubernetes.io/restartedAt", kubectl("-n team-a get deploy vweb -o yaml"))
    ok_run("k8s rollout status deploy vweb -n team-a --timeout 60s")
    assert.equal("deployment.apps/vweb rolled back\n", ok_run("k8s rollout undo deploy vweb -n team-a"))
    spec.eventually(function() return not kubectl("-n team-a get deploy vweb -o yaml"):find("restartedAt") end, 30000, "undo")
    -- history (as kubectl prints it), pause and resume
    agrees_with_kubectl("rollout history deploy/vweb -n team-a")
    assert.equal("deployment.apps/vweb paused\n", ok_run("k8s rollout pause deploy vweb -n team-a"))
    assert.matches("^true", kubectl("-n team-a get deploy vweb -o jsonpath={.spec.paused}"))
    local _, perr = H.run("k8s rollout pause deploy vweb -n team-a")
    assert.matches('deployments%.apps "vweb" is already paused', perr)
    assert.equal("deployment.apps/vweb resumed\n", ok_run("k8s rollout resume deploy vweb -n team-a"))
    -- bad manifest: file:line:col
    spec.write(dir .. "/bad.yaml", "kind: Deployment\nmetadata: {name: [}\n")
    local _, err, st = H.run("k8s apply -f " .. dir .. "/bad.yaml")
    assert.equal(1, st)
    assert.matches("bad%.yaml:2:%d+: ", err)
  end)

  it("label and annotate (refusing to overwrite without --overwrite), then remove", function()
    assert.equal("pod/vhello labeled\n", ok_run("k8s label pod vhello tier=front"))
    local _, err, st = H.run("k8s label pod vhello tier=back")
    assert.equal(1, st)
    assert.matches("'tier' already has a value %(front%), and %-%-overwrite is false", err)
    ok_run("k8s label pod vhello tier=back --overwrite")
    assert.matches("tier=back", kubectl("get pod vhello --show-labels"))
    ok_run("k8s label pod/vhello tier-")
    assert.falsy(kubectl("get pod vhello --show-labels"):find("tier="))
    assert.equal("pod/vhello annotated\n", ok_run("k8s annotate pod vhello note=hi"))
    assert.matches("note: hi", kubectl("get pod vhello -o yaml"))
  end)

  it("label and annotate say what kubectl says: unlabeled, not found, not labeled, --list, -l, --all, --dry-run", function()
    local NS = "vlabel-" .. os.time()   -- (a reused cluster may still be removing an earlier run's)
    kubectl("create namespace " .. NS)
    kubectl("-n " .. NS .. " create configmap one --from-literal=a=1")
    kubectl("-n " .. NS .. " create configmap two --from-literal=a=1")
    -- each line on both, one after the other (the same state for each): output and status alike
    local function mine_of(args)
      local out, err, st = H.run("k8s -n " .. NS .. " " .. args)
      return out .. err:gsub("^vcli: ", ""), st
    end
    local function theirs_of(args)
      local out, rc = spec.sh(("KUBECONFIG='%s' %s -n %s %s 2>&1"):format(KC, H.tools.kubectl_cmd(), NS, args))
      return (out:gsub("[^\n]*deprecated and can be replaced[^\n]*\n", "")), rc
    end
    for _, step in ipairs({
      { "label cm one x=1", "label cm one x-" }, { "label cm one x=1", "label cm one nosuch-" },
      { "label cm one x=1", "label cm one x=1" }, { "label cm one x=1", "label cm one x=2" },
      { "label cm one x=1 y=2", "label cm one --list" }, { "label cm one x=1", "label cm --all --list" },
      { "label cm one x=1", "label cm -l x=1 z=9" }, { "label cm one x=1", "label cm -l nosuch=1 z=9" },
      { "label cm one x=1", "label cm --all w=1 --dry-run=client" }, { "label cm one x=1", "label cm --all w=1 --dry-run=server" },
      { "annotate cm one n=1", "annotate cm one n-" },
    }) do
      -- the same start for each side: labels and annotations cleared, then the set-up
      local function reset()
        kubectl("-n " .. NS .. " label cm --all x- y- z- w- --overwrite")
        kubectl("-n " .. NS .. " annotate cm --all n-")
        kubectl("-n " .. NS .. " " .. step[1] .. " --overwrite")
      end
      reset()
      local mine, mst = mine_of(step[2])
      reset()
      local theirs, trc = theirs_of(step[2])
      if step[2]:find("--list", 1, true) then
        -- kubectl lists a map in Go's random order (vcli sorts): the same lines
        local function sorted(t)
          local l = {}
          for x in t:gmatch("[^\n]+") do l[#l + 1] = x end
          table.sort(l)
          return table.concat(l, "\n")
        end
        mine, theirs = sorted(mine), sorted(theirs)
      end
      assert.equal(theirs, mine, step[2])
      assert.equal(trc, mst, step[2])
    end
    kubectl("delete namespace " .. NS .. " --wait=false")
  end)

  it("rollout of daemon sets and stateful sets as kubectl: status, history and undo by ControllerRevision; jobs refused", function()
    local NS = "vroll-" .. os.time()
    kubectl("create namespace " .. NS)
    -- two of each, alike: vcli drives the -v ones, kubectl the -k ones, and they must say the same
    local docs = {}
    for _, who in ipairs({ "v", "k" }) do
      docs[#docs + 1] = ([[
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds-%s}
spec:
  selector: {matchLabels: {app: ds-%s}}
  template:
    metadata: {labels: {app: ds-%s}}
    spec: {containers: [{name: c, image: "nginx:1.25"}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: sts-%s}
spec:
  serviceName: sts-%s
  replicas: 2
  selector: {matchLabels: {app: sts-%s}}
  template:
    metadata: {labels: {app: sts-%s}}
    spec: {containers: [{name: c, image: "nginx:1.25"}]}
]]):format(who, who, who, who, who, who, who)
    end
    spec.write(dir .. "/sets.yaml", table.concat(docs, "---\n") .. "---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: j1}\n"
      .. "spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}}\n")
    kubectl("-n " .. NS .. " apply -f " .. dir .. "/sets.yaml")
    local function vk(args)
      local mine, merr, mst = H.run(("k8s -n %s %s"):format(NS, args:gsub("@", "v")))
      local theirs, trc = spec.sh(("KUBECONFIG='%s' %s -n %s %s 2>&1"):format(KC, H.tools.kubectl_cmd(), NS, args:gsub("@", "k")))
      return (mine .. merr:gsub("^vcli: ", "")):gsub("%-v([\" ])", "-@%1"), mst, theirs:gsub("%-k([\" ])", "-@%1"), trc
    end
    local function same(args, last_line_only)
      local mine, mst, theirs, trc = vk(args)
      if last_line_only then mine, theirs = mine:match("([^\n]*\n)$"), theirs:match("([^\n]*\n)$") end
      assert.equal(theirs, mine, args)
      assert.equal(trc, mst, args)
    end
    -- status waits (the lines on the way depend on timing: the last one is compared)
    same("rollout status ds/ds-@ --timeout=90s", true)
    same("rollout status sts/sts-@ --timeout=90s", true)
    for _, who in ipairs({ "v", "k" }) do
      kubectl(("-n %s set image ds/ds-%s c=nginx:1.26"):format(NS, who))
      kubectl(("-n %s set image sts/sts-%s c=nginx:1.26"):format(NS, who))
    end
    same("rollout status ds/ds-@ --timeout=90s", true)
    same("rollout status sts/sts-@ --timeout=90s", true)
    same("rollout history ds/ds-@")
    same("rollout history sts/sts-@")
    same("rollout undo ds/ds-@")
    same("rollout undo sts/sts-@ --to-revision=9")
    same("rollout status ds/ds-@ --timeout=90s", true)
    same("rollout history ds/ds-@")
    same("rollout undo ds/ds-@ --to-revision=3")
    -- what rollout does not do for a job, in kubectl's words
    for _, a in ipairs({ "rollout status job/j1", "rollout history job/j1", "rollout undo job/j1", "rollout restart job/j1" }) do
      same(a)
    end
    kubectl("delete namespace " .. NS .. " --wait=false")
  end)

  it("api-versions, auth can-i and patch natively, saying what kubectl says", function()
    local NS = "vpatch-" .. os.time()
    kubectl("create namespace " .. NS)
    for _, who in ipairs({ "v", "k" }) do kubectl(("-n %s create configmap cm-%s --from-literal=a=1"):format(NS, who)) end
    local function same(args)
      local mine, merr, mst = H.run(("k8s -n %s %s"):format(NS, args:gsub("@", "v")))
      local theirs, trc = spec.sh(("KUBECONFIG='%s' %s -n %s %s 2>%s/kerr"):format(KC, H.tools.kubectl_cmd(), NS,
        args:gsub("@", "k"), dir))
      local terr = (spec.read(dir .. "/kerr") or ""):gsub("[^\n]*version difference[^\n]*\n", "")
      assert.equal(theirs:gsub("cm%-k", "cm-@"), (mine:gsub("cm%-v", "cm-@")), args)
      assert.equal(terr:gsub("cm%-k", "cm-@"), (merr:gsub("vcli: ", ""):gsub("cm%-v", "cm-@")), args)
      assert.equal(trc, mst, args)
    end
    for _, a in ipairs({ "api-versions", "auth can-i list pods", "auth can-i delete nodes", "auth can-i get pods/log",
                         "auth can-i create deployments.apps", "auth can-i get /healthz",
                         "auth can-i delete pods --as=system:serviceaccount:default:nobody",
                         [[patch cm cm-@ -p '{"data":{"b":"2"}}']], [[patch cm cm-@ -p '{"data":{"b":"2"}}']],
                         [[patch cm cm-@ --type=merge -p '{"data":{"c":"3"}}' -o name]],
                         [[patch cm cm-@ --type=json -p '[{"op":"remove","path":"/data/b"}]']],
                         [[patch cm cm-@ -p '{"data":{"d":"4"}}' --dry-run=server]], "patch cm nosuch -p '{}'" }) do
      same(a)
    end
    assert.matches("^Client Version: vcli [^\n]+\nServer Version: v%d", ok_run("k8s version"))
    -- cluster-info, config, wait: the same words
    kubectl("-n " .. NS .. " run w1 --image=nginx:1.25")
    for _, a in ipairs({ "cluster-info", "config current-context", "config get-contexts", "config get-contexts vcli-test",
                         "config get-contexts -o name", "config get-contexts nosuch", "config view", "config view --minify",
                         "config view -o json", "config view --minify --raw -o json",
                         "wait --for=condition=Ready pod/w1 --timeout=60s", "wait --for=condition=Ready pod/nosuch --timeout=2s",
                         "wait --for=delete pod/nosuch --timeout=2s", "wait --for=jsonpath={.status.phase}=Running pod/w1 --timeout=60s",
                         "wait --for=condition=Nope pod/w1 --timeout=1s", "wait --for=bogus pod/w1" }) do
      same(a)
    end
    kubectl("delete namespace " .. NS .. " --wait=false")
  end)

  it("config use-context sets the kubeconfig's current-context as kubectl does, the rest of the file kept", function()
    local mine, theirs = dir .. "/kc-mine", dir .. "/kc-theirs"
    local text = spec.read(KC)
    spec.write(mine, text)
    spec.write(theirs, text)
    local function vcli(file, args)
      return spec.sh(("cd %s && env KUBECONFIG=%s ./vcli --norc k8s %s 2>&1"):format(spec.root, file, args))
    end
    local function kc(file, args)
      return spec.sh(("KUBECONFIG=%s %s %s 2>&1"):format(file, H.tools.kubectl_cmd(), args))
    end
    for _, args in ipairs({ "config use-context vcli-test-limited", "config use-context nosuch", "config use-context" }) do
      local m, mrc = vcli(mine, args)
      local t, trc = kc(theirs, args)
      assert.equal(trc, mrc, args)
      -- (kubectl prints its help before "Unexpected args"; vcli the error alone)
      local line = m:gsub("^vcli: ", ""):match("^[^\n]*")
      assert.truthy(line ~= "" and t:find(line, 1, true), args .. ": " .. m .. " / " .. t)
    end
    -- both files now say the same (kubectl reformats its file; vcli changed one line)
    assert.equal((kc(theirs, "config view --raw")), (kc(mine, "config view --raw")))
    assert.equal("vcli-test-limited\n", (vcli(mine, "config current-context")))
    local changed = 0
    local a, b = {}, {}
    for l in (text .. "\n"):gmatch("(.-)\n") do a[#a + 1] = l end
    for l in (spec.read(mine) .. "\n"):gmatch("(.-)\n") do b[#b + 1] = l end
    assert.equal(#a, #b)
    for i = 1, #a do if a[i] ~= b[i] then changed = changed + 1 end end
    assert.equal(1, changed)
  end)

  it("cp copies files and directories to and from a container byte for byte, as kubectl does", function()
    local src = dir .. "/cp-src"
    os.execute(("mkdir -p '%s/deep/er'"):format(src))
    local bin = {}
    for i = 0, 255 do bin[#bin + 1] = string.char(i) end
    spec.write(src .. "/a.txt", "hello\n")
    spec.write(src .. "/deep/bin.dat", table.concat(bin):rep(300))   -- 76 800 bytes, every byte value
    spec.write(src .. "/deep/er/" .. ("long-name-"):rep(12) .. ".txt", "a name past 100 bytes with its path\n")
    -- up (a directory, into a new name), down again, and kubectl's copy of the same for comparison
    ok_run("k8s cp " .. src .. " vhello:" .. dir .. "/cp-up")
    ok_run("k8s cp vhello:" .. dir .. "/cp-up " .. dir .. "/cp-down")
    kubectl("cp vhello:" .. dir .. "/cp-up " .. dir .. "/cp-kdown")
    local function tree(d) return (spec.sh(("cd '%s' && find . -type f | sort | xargs md5sum"):format(d))) end
    assert.equal(tree(src), tree(dir .. "/cp-up"))
    assert.equal(tree(src), tree(dir .. "/cp-down"))
    assert.equal(tree(dir .. "/cp-kdown"), tree(dir .. "/cp-down"))
    -- a file into an existing directory there: under its own name
    os.execute(("mkdir -p '%s/cp-into'"):format(dir))
    ok_run("k8s cp " .. src .. "/a.txt vhello:" .. dir .. "/cp-into")
    assert.equal("hello\n", spec.read(dir .. "/cp-into/a.txt"))
    -- read-only refuses it
    local _, err, st = H.run("k8s cp " .. src .. "/a.txt vhello:" .. dir .. "/cp-ro --readonly")
    assert.equal(1, st)
    assert.matches("refused: read%-only mode", err)
    assert.falsy(spec.read(dir .. "/cp-ro"))
  end)

  it("taint adds, overwrites and removes node taints, in kubectl's words", function()
    local N = "vcli-node-3"
    local function taints() return (kubectl("get node " .. N .. " -o jsonpath='{.spec.taints}'")) end
    local function theirs(args)
      local out, rc = spec.sh(("KUBECONFIG='%s' %s %s 2>&1"):format(KC, H.tools.kubectl_cmd(), args))
      return out, rc
    end
    local function mine(args)
      local out, err, st = H.run("k8s " .. args)
      return out .. err:gsub("^vcli: ", ""), st
    end
    assert.equal("node/" .. N .. " tainted\n", (mine("taint nodes " .. N .. " vspec=a:NoSchedule")))
    assert.matches('"key":"vspec"', taints())
    assert.matches('"value":"a"', taints())
    -- the same key and effect again: refused without --overwrite, as kubectl refuses it
    for _, args in ipairs({ "taint nodes " .. N .. " vspec=b:NoSchedule", "taint nodes " .. N .. " nope:NoSchedule-",
                            "taint nodes " .. N .. " vspec=b:Sometimes" }) do
      local m, mst = mine(args)
      local t, tst = theirs(args)
      assert.equal(tst, mst, args)
      assert.equal(t:match("^[^\n]*"), m:match("^[^\n]*"), args)
    end
    assert.equal("node/" .. N .. " tainted\n", (mine("taint nodes " .. N .. " vspec=b:NoSchedule --overwrite")))
    assert.matches('"value":"b"', taints())
    assert.equal("node/" .. N .. " modified\n", (mine("taint node/" .. N .. " vspec- other=x:PreferNoSchedule")))
    assert.falsy(taints():find("vspec"))
    assert.equal("node/" .. N .. " untainted (dry run)\n", (mine("taint nodes " .. N .. " other:PreferNoSchedule- --dry-run")))
    assert.matches('"key":"other"', taints())
    assert.equal("node/" .. N .. " untainted\n", (mine("taint nodes " .. N .. " other:PreferNoSchedule-")))
    assert.falsy(taints():find("other"))
    local _, err, st = H.run("k8s taint nodes " .. N .. " ro=x:NoSchedule --readonly")
    assert.equal(1, st)
    assert.matches("refused: read%-only mode", err)
  end)

  it("set image updates the named containers as kubectl does, and says nothing when nothing changes", function()
    kubectl("-n team-a delete deploy vset --ignore-not-found")
    ok_run("k8s -n team-a create deployment vset --image=nginx:1.25")
    local function image() return (kubectl("-n team-a get deploy vset -o jsonpath='{.spec.template.spec.containers[0].image}'")) end
    local function theirs(args)
      local out, rc = spec.sh(("KUBECONFIG='%s' %s -n team-a %s 2>&1"):format(KC, H.tools.kubectl_cmd(), args))
      return out, rc
    end
    local function mine(args)
      local out, err, st = H.run("k8s -n team-a " .. args)
      return out .. err:gsub("^vcli: ", ""), st
    end
    assert.equal("deployment.apps/vset image updated\n", (mine("set image deploy/vset nginx=nginx:1.26")))
    assert.equal("nginx:1.26", image())
    -- the same image again: nothing said, nothing sent, as kubectl
    assert.same({ "", 0 }, { mine("set image deploy/vset nginx=nginx:1.26") })
    assert.same({ theirs("set image deploy/vset nginx=nginx:1.26") }, { mine("set image deploy/vset nginx=nginx:1.26") })
    -- an unknown container: kubectl's error and exit code
    local m, mst = mine("set image deploy/vset nope=x:1")
    local t, tst = theirs("set image deploy/vset nope=x:1")
    assert.equal(tst, mst)
    assert.equal(t:match("^[^\n]*"), m:match("^[^\n]*"))
    -- "*" for every container, TYPE NAME form, dry runs change nothing
    assert.equal("deployment.apps/vset image updated (dry run)\n", (mine("set image deployment vset '*=nginx:1.27' --dry-run=client")))
    assert.equal("deployment.apps/vset image updated (server dry run)\n", (mine("set image deploy/vset '*=nginx:1.27' --dry-run=server")))
    assert.equal("nginx:1.26", image())
    assert.matches("image: nginx:1.27", (mine("set image deploy/vset '*=nginx:1.27' --dry-run=client -o yaml")))
    assert.equal("deployment.apps/vset\n", (mine("set image deploy/vset '*=nginx:1.27' -o name")))
    assert.equal("nginx:1.27", image())
    -- read-only refuses it before anything is sent
    local _, err, st = H.run("k8s -n team-a set image deploy/vset nginx=nginx:1.28 --readonly")
    assert.equal(1, st)
    assert.matches("refused: read%-only mode", err)
    assert.equal("nginx:1.27", image())
    kubectl("-n team-a delete deploy vset --wait=false")
  end)

  it("drain cordons, evicts and waits as kubectl does, refuses what needs a flag in kubectl's words", function()
    local N = "vcli-node-3"
    local function mask(s) return (s:gsub("vcli%-node%-%d", "NODE"):gsub("monitoring/[%w%-]+", "monitoring/POD")) end
    -- what stops a drain: the same words and status as kubectl's (on another node; nothing is evicted)
    -- (--force: only the DaemonSet's pods stop it; with two reasons kubectl's order is its map's, random)
    local out, err, st = H.run("k8s drain " .. N .. " --force")
    local kout, krc = spec.sh(("KUBECONFIG='%s' %s drain vcli-node-2 --force 2>&1 >/dev/null"):format(KC, H.tools.kubectl_cmd()))
    kubectl("uncordon vcli-node-2")
    assert.equal(krc, st)
    assert.equal("node/" .. N .. " cordoned\n", out)
    assert.equal(mask(kout), mask(err:gsub("\nvcli: ", "\n")))
    -- a dry run says what would go and changes nothing
    kubectl("uncordon " .. N)
    out = ok_run("k8s drain " .. N .. " --ignore-daemonsets --force --dry-run")
    local NP = N:gsub("%-", "%%-")
    assert.matches("^node/" .. NP .. " cordoned %(dry run%)\n", out)
    assert.matches("\nnode/" .. NP .. " drained %(dry run%)\n$", out)
    assert.equal("", (kubectl("get node " .. N .. " -o jsonpath='{.spec.unschedulable}'")))
    -- a pod of our own on the node: evicted, waited for, the node left cordoned
    kubectl("-n team-a delete deploy vdrain --ignore-not-found")
    kubectl("-n team-a create deploy vdrain --image=nginx:1.25 --dry-run=client -o json > " .. dir .. "/vdrain.json")
    local d = json.decode(spec.read(dir .. "/vdrain.json"))
    d.spec.template.spec.nodeName = N
    spec.write(dir .. "/vdrain.json", json.encode(d))
    kubectl("apply -f " .. dir .. "/vdrain.json")
    kubectl("-n team-a rollout status deploy/vdrain --timeout=60s")
    local pod = kubectl("-n team-a get pods -l app=vdrain -o jsonpath='{.items[0].metadata.name}'")
    out = ok_run("k8s drain " .. N .. " --ignore-daemonsets --pod-selector=app=vdrain")
    assert.equal(("node/%s cordoned\nevicting pod team-a/%s\npod/%s evicted\nnode/%s drained\n"):format(N, pod, pod, N), out)
    assert.equal("true", (kubectl("get node " .. N .. " -o jsonpath='{.spec.unschedulable}'")))
    assert.falsy(kubectl("-n team-a get pods -l app=vdrain -o name"):find(pod, 1, true))
    kubectl("uncordon " .. N)
    kubectl("-n team-a delete deploy vdrain --wait=false")
    -- read-only refuses it before anything is sent
    local _
    _, err, st = H.run("k8s drain " .. N .. " --ignore-daemonsets --readonly")
    assert.equal(1, st)
    assert.matches("refused: read%-only mode", err)
  end)

  it("cordon and uncordon a node", function()
    assert.equal("node/vcli-node-3 cordoned\n", ok_run("k8s cordon vcli-node-3"))
    assert.matches("SchedulingDisabled", kubectl("get node vcli-node-3"))
    assert.equal("node/vcli-node-3 uncordoned\n", ok_run("k8s uncordon vcli-node-3"))
    assert.falsy(kubectl("get node vcli-node-3"):find("SchedulingDisabled"))
  end)

  it("edit: $EDITOR round trip; a change made meanwhile is a conflict, not overwritten", function()
    local ed = spec.root .. "/spec/support/k8s/edit-replicas.sh"
    local code = spec.sh(("cd %s && KUBECONFIG=%s EDITOR=%s VCLI_TEST_REPLICAS=3 ./vcli k8s edit deploy vweb -n team-a")
      :format(spec.root, KC, ed))
    assert.matches("deployment.apps/vweb edited", code)
    assert.matches("replicas: 3", kubectl("-n team-a get deploy vweb -o yaml"))
    local out = spec.sh(("cd %s && KUBECONFIG=%s EDITOR=%s VCLI_TEST_REPLICAS=4"
      .. " VCLI_TEST_RACE='KUBECONFIG=%s kubectl -n team-a scale deploy vweb --replicas=1' ./vcli k8s edit deploy vweb -n team-a")
      :format(spec.root, KC, ed, KC))
    assert.matches("Conflict", out)
    assert.matches("replicas: 1\n", kubectl("-n team-a get deploy vweb -o yaml"))
  end)

  it("edit as kubectl loops: a YAML error or an invalid object reopens the file with the error on top; comments alone cancel", function()
    local twice = spec.root .. "/spec/support/k8s/edit-twice.sh"
    local function edit(envs)
      local out, rc = spec.sh(("cd %s && KUBECONFIG=%s %s ./vcli k8s edit deploy vweb -n team-a 2>&1"):format(spec.root, KC, envs))
      return out, rc
    end
    os.remove(dir .. "/count")
    local out, rc = edit(("EDITOR=%s VCLI_TEST_COUNT=%s/count VCLI_TEST_SEEN=%s/seen VCLI_TEST_REPLICAS=2"):format(twice, dir, dir))
    assert.equal(0, rc, out)
    assert.equal("deployment.apps/vweb edited\n", out)
    assert.matches("replicas: 2\n", kubectl("-n team-a get deploy vweb -o yaml"))
    local seen = spec.read(dir .. "/seen")
    assert.matches("^# Please edit the object below%. Lines beginning with a '#' will be ignored,\n", seen)
    assert.matches("\n# The edited file had a syntax error: [^\n]+\n#\n", seen)
    -- saved again as it was reopened: kubectl's words, status 1, nothing sent
    os.remove(dir .. "/count")
    out, rc = edit(("EDITOR=%s VCLI_TEST_COUNT=%s/count VCLI_TEST_SEEN=%s/seen VCLI_TEST_AGAIN=same"):format(twice, dir, dir))
    assert.equal(1, rc)
    assert.equal("vcli: error: Edit cancelled, no valid changes were saved.\n", out)
    -- the server refuses the object: reopened with its words
    out, rc = edit([[EDITOR="sed -i 's/^  replicas: .*/  replicas: -1/'"]])
    assert.equal(1, rc)
    assert.matches("no valid changes were saved", out)
    -- only a comment added: nothing to send
    out, rc = edit([[EDITOR="sed -i '6i# a note'"]])
    assert.equal(0, rc)
    assert.equal("Edit cancelled, no changes made.\n", out)
    assert.matches("replicas: 2\n", kubectl("-n team-a get deploy vweb -o yaml"))
  end)

  it("delete as kubectl: waits until gone, --force, -o name, --ignore-not-found, --cascade=orphan, each error on its line", function()
    local NS = "vdel-" .. os.time()
    kubectl("create namespace " .. NS)
    kubectl("-n " .. NS .. " run p1 --image=nginx:1.25")
    kubectl("-n " .. NS .. " run p2 --image=nginx:1.25")
    kubectl("-n " .. NS .. " create configmap c1")
    kubectl("-n " .. NS .. " create deployment d1 --image=nginx:1.25")
    kubectl("-n " .. NS .. " wait --for=condition=Ready pod/p1 pod/p2 --timeout=60s")
    -- waits (kubectl's default): gone when the command returns
    assert.equal('pod "p1" deleted\n', ok_run("k8s delete pod p1 -y -n " .. NS))
    assert.matches("NotFound", select(1, spec.sh(("KUBECONFIG=%s %s -n %s get pod p1 2>&1"):format(KC, H.tools.kubectl_cmd(), NS))))
    local out, err = ok_run("k8s delete pod p2 --force -y -n " .. NS)
    assert.equal('pod "p2" force deleted\n', out)
    assert.equal("Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated."
      .. " The resource may continue to run on the cluster indefinitely.\n", err)
    assert.equal("configmap/c1\n", ok_run("k8s delete cm c1 -o name -y -n " .. NS))
    assert.equal("", ok_run("k8s delete cm nosuch --ignore-not-found -y -n " .. NS))
    local _, e2, st = H.run("k8s delete cm nosuch nosuch2 -y -n " .. NS)
    assert.equal(1, st)
    assert.equal('vcli: Error from server (NotFound): configmaps "nosuch" not found\n'
      .. 'vcli: Error from server (NotFound): configmaps "nosuch2" not found\n', e2)
    -- orphan: the deployment goes, its replica set stays
    spec.eventually(function() return kubectl("-n " .. NS .. " get rs -o name"):find("replicaset") ~= nil end, 30000, "d1's replica set")
    ok_run("k8s delete deploy d1 --cascade=orphan -y -n " .. NS)
    assert.matches("replicaset.apps/d1%-", kubectl("-n " .. NS .. " get rs -o name"))
    kubectl("delete namespace " .. NS .. " --wait=false")
  end)

  it("delete without -y asks in the interactive shell (y deletes, anything else does not)", function()
    kubectl("-n team-a delete configmap vask --ignore-not-found")
    kubectl("-n team-a create configmap vask --from-literal=a=b")
    local home = dir .. "/askhome"
    os.execute("mkdir -p " .. home)
    local steps = { { "expect", "vcli> " }, { "send", "k8s delete cm vask -n team-a\r" }, { "expect", "[y/N] " },
      { "send", "n\r" }, { "expect", "Nothing deleted." }, { "expect", "vcli> " },
      { "send", "k8s delete cm vask -n team-a\r" }, { "expect", "[y/N] " }, { "send", "y\r" },
      { "expect", 'configmap "vask" deleted' } }
    local out = spec.sh(("cd %s && HOME=%s XDG_CONFIG_HOME=%s/c XDG_DATA_HOME=%s/d XDG_STATE_HOME=%s/s XDG_CACHE_HOME=%s/k"
      .. " KUBECONFIG=%s TERM=dumb python3 spec/support/pty_drive.py '%s' ./vcli 2>&1")
      :format(spec.root, home, home, home, home, home, KC, require("cjson").encode(steps)))
    assert.matches("^OK\n", out)
    assert.matches("Delete configmap/vask in vcli%-test/team%-a%? %[y/N%] ", out)
    local _, rc = spec.sh(("KUBECONFIG=%s kubectl -n team-a get configmap vask 2>&1"):format(KC))
    assert.truthy(rc ~= 0, "the configmap is gone")
    -- outside the interactive shell (vcli -c, scripts) it does not ask, as kubectl
    kubectl("-n team-a create configmap vask --from-literal=a=b")
    assert.equal('configmap "vask" deleted\n', ok_run("k8s delete cm vask -n team-a"))
  end)

  it("delete: --dry-run changes nothing; -y deletes; read-only mode refuses", function()
    assert.equal('configmap "vweb-config" deleted (server dry run)\n', ok_run("k8s delete cm vweb-config -n team-a --dry-run=server"))
    assert.equal('configmap "vweb-config" deleted (dry run)\n', ok_run("k8s delete cm vweb-config -n team-a --dry-run"))
    assert.matches("vweb%-config", kubectl("-n team-a get cm vweb-config"))
    ok_run("k8s --readonly")
    local _, err, st = H.run("k8s delete cm vweb-config -n team-a -y")
    assert.equal(1, st)
    assert.matches("refused: read%-only mode", err)
    _, err = H.run("k8s scale deploy vweb -n team-a --replicas 0")
    assert.matches("refused: read%-only mode", err)
    assert.matches("vweb%-config", ok_run("k8s get cm -n team-a"))
    H.eval("require(\"k8s.plugin_env\").session.readonly = false")
    assert.equal('configmap "vweb-config" deleted\n', ok_run("k8s delete cm vweb-config -n team-a -y"))
  end)

  it("delete -f FILE (each object in its own namespace) and TYPE --all", function()
    spec.write(dir .. "/cms.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: vdm1, namespace: team-a}\ndata: {a: b}\n"
      .. "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: vdm2}\ndata: {a: b}\n")
    -- (apply refuses a -n that contradicts a manifest, as kubectl does: one document at a time)
    kubectl("-n team-a create configmap vdm1 --from-literal=a=b")
    kubectl("-n team-b create configmap vdm2 --from-literal=a=b")
    assert.matches("vdm2", kubectl("-n team-b get cm vdm2"))
    assert.equal('configmap "vdm1" deleted\nconfigmap "vdm2" deleted\n', ok_run("k8s delete -f " .. dir .. "/cms.yaml -n team-b -y"))
    assert.matches("NotFound", kubectl("-n team-a get cm vdm1"))
    assert.matches("NotFound", kubectl("-n team-b get cm vdm2"))
    kubectl("-n team-b create configmap vall1 --from-literal=a=b")
    kubectl("-n team-b label configmap vall1 vall=yes")
    kubectl("-n team-b create configmap vall2 --from-literal=a=b")
    kubectl("-n team-b label configmap vall2 vall=yes")
    assert.equal('configmap "vall1" deleted\nconfigmap "vall2" deleted\n', ok_run("k8s delete cm -l vall=yes -n team-b -y"))
    -- --all: every one of the type in the namespace (a namespace of the spec's own)
    kubectl("create namespace vdel-all")
    kubectl("-n vdel-all create configmap x1 --from-literal=a=b")
    kubectl("-n vdel-all create configmap x2 --from-literal=a=b")
    local out = ok_run("k8s delete cm --all -n vdel-all -y")
    assert.matches('configmap "x1" deleted\n', out)
    assert.matches('configmap "x2" deleted\n', out)
    assert.equal("", (kubectl("-n vdel-all get cm x1 x2 --ignore-not-found")))
    kubectl("delete namespace vdel-all --wait=false")
    -- a bad manifest deletes nothing
    spec.write(dir .. "/half.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: vdm3}\n---\nkind: [\n")
    local _, err, st = H.run("k8s delete -f " .. dir .. "/half.yaml -n team-b -y")
    assert.equal(1, st)
    assert.matches("half%.yaml:%d+:%d+: ", err)
  end)

  it("read-only per cluster from config (clusters[].readOnly) refuses changes on that context only", function()
    local cfg = spec.tmpdir()
    spec.sh("mkdir -p " .. cfg .. "/vcli")
    local f = assert(io.open(cfg .. "/vcli/config.yaml", "w"))
    f:write("clusters:\n  - name: prod\n    context: vcli-test\n    readOnly: true\n")
    f:close()
    kubectl("-n team-a create configmap vro --from-literal=a=b")
    local run = ("cd %s && XDG_CONFIG_HOME=%s KUBECONFIG=%s ./vcli -c "):format(spec.root, cfg, KC)
    local out, st = spec.sh(run .. "'k8s delete cm vro -n team-a -y' 2>&1")
    assert.equal(1, st)
    assert.matches("k8s delete: refused: read%-only mode %(context vcli%-test%)", out)
    assert.matches("vro", kubectl("-n team-a get cm vro"))
    -- reading still works on the read-only context; another context may change things
    assert.matches("vro", spec.sh(run .. "'k8s get cm -n team-a'"))
    out, st = spec.sh(run .. "'k8s delete cm vro -n team-a -y --context vcli-test-cert' 2>&1")
    assert.equal(0, st, out)
    assert.equal('configmap "vro" deleted\n', out)
  end)

  it("api-resources from discovery prints what kubectl prints", function()
    H.tools.need_kubectl(32, "api-resources as kubectl v1.32 lays it out (CATEGORIES in -o wide)")
    for _, args in ipairs({ "api-resources", "api-resources -o wide", "api-resources -o name",
                            "api-resources --namespaced=false --api-group=apps", "api-resources --api-group= --no-headers",
                            "api-resources --namespaced=true --verbs=list,watch --sort-by=kind" }) do
      assert.equal(spec.sh(("KUBECONFIG='%s' %s %s 2>/dev/null"):format(KC, H.tools.kubectl_cmd(), args)), (ok_run("k8s " .. args)), args)
    end
  end)

  it("unknown verbs go through kubectl with the session's context and namespace", function()
    -- create role is kubectl's generator (create configmap is vcli's own): both in the session's namespace
    for _, line in ipairs({ "k8s create role vbridge --verb=get --resource=pods --dry-run=server -o jsonpath={.metadata.namespace}",
                            "k8s create configmap vbridge --from-literal=a=b --dry-run=server -o jsonpath={.metadata.namespace}" }) do
      local out = spec.sh(("cd %s && KUBECONFIG=%s ./vcli -c 'k8s ns kube-system; %s'"):format(spec.root, KC, line))
      assert.matches("kube%-system$", out, line)
    end
    local out
    out = spec.sh(("cd %s && KUBECONFIG=%s ./vcli -c 'k8s --readonly; k8s create configmap x -n team-a'"):format(spec.root, KC))
    assert.matches("refused: read%-only mode", out)
  end)
end)
