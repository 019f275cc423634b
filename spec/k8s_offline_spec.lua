-- Offline writes (issue 15): changes made while the cluster is unreachable are
-- queued in the journal and replayed when it answers, with conflict detection.
-- Against the real test cluster; "unreachable" is its fault proxy refusing
-- connections (contexts vcli-test-proxy and vcli-test-proxy-http go through it,
-- vcli-test does not: kubectl changes the cluster there while vcli is offline).
local H = dofile("spec/support/k8s/helper.lua")
local tmux = dofile("spec/support/tmux.lua")

local NS = "voffline"
local E, KC, home
local P = " --context vcli-test-proxy"
local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function kubectl(args) return H.kubectl(KC, args) end
local function env_of()
  return ("env KUBECONFIG=%s HOME=%s XDG_STATE_HOME=%s/state XDG_CONFIG_HOME=%s/config XDG_DATA_HOME=%s/data "
    .. "XDG_CACHE_HOME=%s/cache TMPDIR=%s/tmp"):format(KC, home, home, home, home, home, home)
end
-- vcli -c as a script runs it (queuing allowed by config unless flags say otherwise) -> output, status
local function vcli(line, flags)
  return spec.sh(("cd %s && %s ./vcli %s -c %s 2>&1"):format(spec.root, env_of(),
    flags or "--set offline.queueNonInteractive=true", q(line)))
end
local function refuse() spec.sh(H.KUBE .. " proxy refuse") end
local function pass() spec.sh(H.KUBE .. " proxy pass") end
local function jsonpath(what, path) return (kubectl(("-n %s get %s -o jsonpath=%s"):format(NS, what, q(path)))) end
local function queue_empty()
  local out = vcli("k8s offline queue")
  return out:match("The offline queue is empty") ~= nil, out
end
local function deploy(name, replicas)
  kubectl(("-n %s create deployment %s --image=registry.local/web:1 --replicas=%d"):format(NS, name, replicas or 1))
end

describe("k8s offline: writes queued while the cluster is unreachable", function()
  before_all(function()
    E = H.start_cluster()
    KC = E.KUBECONFIG
    home = spec.tmpdir()
    os.execute("mkdir -p " .. q(home .. "/tmp"))
    kubectl("create namespace " .. NS)
  end)
  after_all(function()
    pass()
    if KC then kubectl("delete namespace " .. NS .. " --wait=false") end
    H.stop_cluster()
    if home then os.execute("rm -rf " .. q(home)) end
  end)
  after_each(function()
    pass()
    vcli("k8s offline drop --all")
  end)

  it("queues each write with one line and exit 75, and replays every one once, in order, per context", function()
    deploy("web")
    kubectl(("-n %s create configmap gone --from-literal=a=1"):format(NS))
    vcli("k8s get deploy,cm -n " .. NS .. P)
    vcli("k8s get cm -n " .. NS .. " --context vcli-test-proxy-http")
    spec.write(home .. "/cm.yaml", ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: train, namespace: %s}\n"
      .. "data: {from: train}\n"):format(NS))
    refuse()
    local out, rc = vcli("k8s scale deploy web -n " .. NS .. " --replicas 3" .. P)
    assert.equal(75, rc, out)
    assert.matches("^cluster vcli%-test%-proxy unreachable — queued #%d+: scale deployment.apps/web %-n " .. NS
      .. " %-%-replicas 3 %(vcli offline queue%)\n$", out)
    -- order within a context: the later value wins; another context keeps its own order
    assert.equal(75, select(2, vcli("k8s label deploy web -n " .. NS .. " step=1" .. P)))
    assert.equal(75, select(2, vcli("k8s label deploy web -n " .. NS .. " step=2 --overwrite" .. P)))
    assert.equal(75, select(2, vcli("k8s apply -f " .. q(home .. "/cm.yaml") .. " --context vcli-test-proxy-http")))
    assert.equal(75, select(2, vcli("k8s annotate cm train -n " .. NS .. " by=http --context vcli-test-proxy-http")))
    assert.equal(75, select(2, vcli("k8s delete cm gone -n " .. NS .. " -y" .. P)))
    assert.equal(75, select(2, vcli("k8s rollout restart deploy/web -n " .. NS .. P)))
    -- nothing reached the server meanwhile
    assert.equal("1", jsonpath("deploy web", "{.spec.replicas}"))
    assert.equal("a", (kubectl("-n " .. NS .. " get cm gone -o name")):match("configmap/gone") and "a" or "")
    local queue = vcli("k8s offline queue")
    local n = 0
    for _ in queue:gmatch("\n#%d+ ") do n = n + 1 end
    assert.equal(7, n, queue)
    assert.matches("vcli%-test%-proxy%-http", queue)
    pass()
    out, rc = vcli("k8s offline sync")
    assert.equal(0, rc, out)
    assert.matches("7 applied, 0 left in the queue", out)
    -- applied in queue order: the scale before the labels, step=2 after step=1
    local a1, a2 = out:find("scale deployment", 1, true), out:find("step=2", 1, true)
    assert.truthy(a1 and a2 and a1 < a2, out)
    assert.equal("3", jsonpath("deploy web", "{.spec.replicas}"))
    assert.equal("2", jsonpath("deploy web", "{.metadata.labels.step}"))
    assert.truthy(#jsonpath("deploy web", "{.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}") > 0)
    assert.equal("train http", jsonpath("cm train", "{.data.from} {.metadata.annotations.by}"))
    assert.matches("NotFound", (kubectl("-n " .. NS .. " get cm gone")))
    assert.truthy(queue_empty())
    -- the history says each once
    local hist = vcli("k8s offline queue --all")
    local done = 0
    for _ in hist:gmatch(" done ") do done = done + 1 end
    assert.equal(7, done, hist)
  end)

  it("refuses to queue without a terminal unless configured, with --no-queue, when full, and in read-only mode", function()
    deploy("rules")
    vcli("k8s get deploy -n " .. NS .. P)
    refuse()
    local out, rc = vcli("k8s scale deploy rules -n " .. NS .. " --replicas 2" .. P, "")
    assert.equal(1, rc)
    assert.matches("connection refused %(not queued: not an interactive shell, and offline.queueNonInteractive is off%)", out)
    out, rc = vcli("k8s scale deploy rules -n " .. NS .. " --replicas 2 --no-queue" .. P)
    assert.equal(1, rc)
    assert.matches("not queued: %-%-no%-queue", out)
    out, rc = vcli("k8s scale deploy rules -n " .. NS .. " --replicas 2" .. P,
      "--set offline.queueNonInteractive=true --set offline.enabled=false")
    assert.equal(1, rc)
    assert.matches("not queued: offline.enabled is false", out)
    out, rc = vcli("k8s --readonly scale deploy rules -n " .. NS .. " --replicas 2" .. P)
    assert.equal(1, rc)
    assert.matches("refused: read%-only mode", out)
    local full = "--set offline.queueNonInteractive=true --set offline.queueSize=1"
    assert.equal(75, select(2, vcli("k8s scale deploy rules -n " .. NS .. " --replicas 2" .. P, full)))
    out, rc = vcli("k8s scale deploy rules -n " .. NS .. " --replicas 4" .. P, full)
    assert.equal(1, rc)
    assert.matches("not queued: the queue is full: 1 of offline.queueSize 1", out)
    -- a Secret is never queued (its values would rest on disk)
    out, rc = vcli("k8s label secret x -n " .. NS .. " a=b" .. P)
    assert.equal(1, rc)
    assert.matches("not queued: a Secret's values are never kept on disk", out)
    -- applied directly: 0; the queue replays to a read-only context not at all
    pass()
    out = vcli("k8s offline sync", "--set offline.queueNonInteractive=true --set security.readOnly=true")
    assert.matches("read%-only mode", out)
    assert.equal("1", jsonpath("deploy rules", "{.spec.replicas}"))
    out, rc = vcli("k8s offline sync")
    assert.equal(0, rc, out)
    assert.equal("2", jsonpath("deploy rules", "{.spec.replicas}"))
    assert.equal(0, select(2, vcli("k8s scale deploy rules -n " .. NS .. " --replicas 1" .. P)))
  end)

  -- a conflict made with kubectl (through vcli-test, past the proxy) while vcli is offline
  local function conflicted(name, queued, theirs)
    deploy(name, 2)
    vcli(("k8s get deploy %s -n %s -o yaml%s"):format(name, NS, P))   -- the object as the user saw it
    refuse()
    for _, line in ipairs(type(queued) == "table" and queued or { queued }) do
      local out, rc = vcli(line .. P)
      assert.equal(75, rc, out)
    end
    kubectl(theirs)
    pass()
  end

  it("server-wins keeps the server's change and records the write as dropped", function()
    conflicted("sw", "k8s scale deploy sw -n " .. NS .. " --replicas 5", "-n " .. NS .. " scale deploy sw --replicas=3")
    local out = vcli("k8s offline sync --strategy server-wins")
    assert.matches("dropped  #%d+ scale deployment.apps/sw .-: it was changed meanwhile %(server%-wins%)", out)
    assert.equal("3", jsonpath("deploy sw", "{.spec.replicas}"))
    assert.matches("dropped: it was changed meanwhile", vcli("k8s offline queue --all"))
  end)

  it("client-wins sends the write anyway", function()
    conflicted("cw", "k8s scale deploy cw -n " .. NS .. " --replicas 5", "-n " .. NS .. " scale deploy cw --replicas=3")
    local out = vcli("k8s offline sync --strategy client-wins")
    assert.matches("applied  #%d+ scale deployment.apps/cw", out)
    assert.equal("5", jsonpath("deploy cw", "{.spec.replicas}"))
  end)

  it("merge sends the fields the server did not change and keeps theirs where both did", function()
    -- two writes to the object: the first one landing does not hide their change from the second
    conflicted("mg", { "k8s scale deploy mg -n " .. NS .. " --replicas 3", "k8s label deploy mg -n " .. NS .. " tier=mine mine=1" },
      "-n " .. NS .. " label deploy mg tier=theirs theirs=1")
    local out = vcli("k8s offline sync --strategy merge")
    assert.matches("applied  #%d+ scale deployment.apps/mg", out)
    assert.equal("3", jsonpath("deploy mg", "{.spec.replicas}"))
    assert.matches("applied  #%d+ label deployment.apps/mg.-merged; kept theirs for metadata.labels.tier %(live theirs, yours mine%)", out)
    assert.equal("theirs 1 1", jsonpath("deploy mg", "{.metadata.labels.tier} {.metadata.labels.mine} {.metadata.labels.theirs}"))
  end)

  it("ask, without a terminal, stops at the conflict and says how to go on; a deleted object is a conflict", function()
    conflicted("ak", "k8s scale deploy ak -n " .. NS .. " --replicas 5", "-n " .. NS .. " delete deploy ak")
    local out, rc = vcli("k8s offline sync")
    assert.equal(1, rc)
    assert.matches("conflict #(%d+) scale deployment.apps/ak .-: it was deleted meanwhile — left queued %(k8s offline sync "
      .. "%-%-strategy client%-wins|server%-wins|merge %d+, or k8s offline drop %d+%)", out)
    assert.matches("conflict: it was deleted meanwhile", vcli("k8s offline queue"))
    out = vcli("k8s offline sync --strategy server-wins")
    assert.matches("0 left in the queue", out)
  end)

  it("an object created meanwhile is a conflict for a queued create", function()
    vcli("k8s get cm -n " .. NS .. P)   -- the namespace's configmaps as the user saw them: no 'made'
    spec.write(home .. "/made.yaml", ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: made, namespace: %s}\n"
      .. "data: {by: vcli}\n"):format(NS))
    refuse()
    assert.equal(75, select(2, vcli("k8s apply -f " .. q(home .. "/made.yaml") .. P)))
    assert.matches("absent", vcli("k8s offline queue"))
    kubectl(("-n %s create configmap made --from-literal=by=kubectl"):format(NS))
    pass()
    local out = vcli("k8s offline sync")
    assert.matches("it was created meanwhile", out)
    out = vcli("k8s offline sync --strategy client-wins")
    assert.matches("applied", out)
    assert.equal("vcli", jsonpath("cm made", "{.data.by}"))
  end)

  it("a write the server refuses stops its context's replay there; drop moves on", function()
    deploy("bad")
    vcli("k8s get deploy -n " .. NS .. P)
    refuse()
    assert.equal(75, select(2, vcli("k8s label deploy bad -n " .. NS .. " 'bad=not a label value'" .. P)))
    assert.equal(75, select(2, vcli("k8s label deploy bad -n " .. NS .. " good=1" .. P)))
    pass()
    local out, rc = vcli("k8s offline sync")
    assert.equal(1, rc)
    local id = out:match("failed   #(%d+) label deployment.apps/bad .-: The Deployment \"bad\" is invalid: metadata%.labels")
    assert.truthy(id, out)
    assert.matches("0 applied, 2 left in the queue", out)
    assert.equal("", jsonpath("deploy bad", "{.metadata.labels.good}"))
    assert.matches("1 dropped", vcli("k8s offline drop " .. id))
    assert.matches("1 applied, 0 left", vcli("k8s offline sync"))
    assert.equal("1", jsonpath("deploy bad", "{.metadata.labels.good}"))
  end)

  it("two vcli never replay at once: the second says another is replaying", function()
    deploy("lk")
    vcli("k8s get deploy -n " .. NS .. P)
    refuse()
    assert.equal(75, select(2, vcli("k8s scale deploy lk -n " .. NS .. " --replicas 2" .. P)))
    pass()
    -- the replay lock held by another process (flock(1) on the same file), until told to let go
    local lock = home .. "/state/vcli/store/plugin-kubernetes-offline-replay.lock"
    local pid = H.spawn(("exec flock -n %s -c 'touch %s/held; while [ ! -e %s/release ]; do sleep 0.05; done' >/dev/null 2>&1")
      :format(q(lock), q(home), q(home)))
    spec.eventually(function() return spec.read(home .. "/held") ~= nil end, 20000, "the other process to hold the lock")
    local out, rc = vcli("k8s offline sync")
    spec.write(home .. "/release", "")
    spec.eventually(function() return os.execute("kill -0 " .. pid .. " 2>/dev/null") ~= 0 end, 20000, "it to let go")
    os.remove(home .. "/held"); os.remove(home .. "/release")
    assert.equal(1, rc)
    assert.matches("another vcli is replaying the queue now", out)
    assert.equal("1", jsonpath("deploy lk", "{.spec.replicas}"))
    assert.matches("1 applied", vcli("k8s offline sync"))
    assert.equal("2", jsonpath("deploy lk", "{.spec.replicas}"))
  end)

  it("edit, offline, edits the cached copy and queues what changed", function()
    deploy("ed", 2)
    vcli(("k8s get deploy ed -n %s -o yaml%s"):format(NS, P))
    refuse()
    local ed = spec.root .. "/spec/support/k8s/edit-replicas.sh"
    local out, rc = spec.sh(("cd %s && %s KUBE_EDITOR=%s VCLI_TEST_REPLICAS=4 ./vcli --set offline.queueNonInteractive=true -c %s 2>&1")
      :format(spec.root, env_of(), q(ed), q("k8s edit deploy ed -n " .. NS .. P)))
    assert.equal(75, rc, out)
    assert.matches("editing the copy cached", out)
    assert.matches("queued #(%d+): edit deployment.apps/ed", out)
    local id = out:match("queued #(%d+)")
    assert.matches("spec.replicas: 2 → 4", vcli("k8s offline show " .. id))
    -- not in the cache: nothing to edit, said so
    out, rc = spec.sh(("cd %s && %s KUBE_EDITOR=true ./vcli --set offline.queueNonInteractive=true -c %s 2>&1")
      :format(spec.root, env_of(), q("k8s edit deploy never-seen -n " .. NS .. P)))
    assert.equal(1, rc)
    assert.matches("not queued: deployment.apps/never%-seen is not in the offline cache to edit", out)
    pass()
    assert.matches("1 applied", vcli("k8s offline sync"))
    assert.equal("4", jsonpath("deploy ed", "{.spec.replicas}"))
  end)

  it("loses and doubles nothing when vcli is killed (SIGKILL) while queuing and while replaying 100 writes", function()
    local before = 0
    for id in vcli("k8s offline queue --all"):gmatch("\n#(%d+) ") do before = math.max(before, tonumber(id)) end
    kubectl(("-n %s create configmap seq --from-literal=a=1"):format(NS))
    for i = 10, 100, 10 do kubectl(("-n %s create configmap tmp%d --from-literal=a=1"):format(NS, i)) end
    vcli("k8s get cm -n " .. NS .. P)
    refuse()
    local seed = os.time()
    math.randomseed(seed)
    print(("# kill -9 seed %d"):format(seed))
    local function line_of(i)
      if i % 10 == 0 then return ("k8s delete cm tmp%d -n %s -y%s"):format(i, NS, P) end
      return ("k8s annotate cm seq -n %s o%d=v%d last=%d --overwrite%s"):format(NS, i, i, i, P)
    end
    local function queued_lines()
      local out = spec.sh(("cd %s && %s ./vcli -c 'k8s offline queue' 2>&1"):format(spec.root, env_of()))
      return out
    end
    -- enqueue: every command, some killed at a random moment; one that was
    -- killed is typed again only when the queue does not hold it (what a user checks)
    local kills, i = 0, 1
    local deadline = os.time() + 240
    while i <= 100 and os.time() < deadline do
      local cmd = ("cd %s && exec %s ./vcli --set offline.queueNonInteractive=true -c %s > %s/enq.out 2>&1")
        :format(spec.root, env_of(), q(line_of(i)), home)
      if math.random() < 0.25 then
        local pid = H.spawn(cmd)
        require("vcli.async").sleep(math.random(0, 60))
        os.execute("kill -9 " .. pid .. " 2>/dev/null")
        spec.eventually(function() return os.execute("kill -0 " .. pid .. " 2>/dev/null") ~= 0 end, 10000, "the killed vcli to go")
        kills = kills + 1
        local target = i % 10 == 0 and ("cm tmp%d "):format(i) or nil
        local held = queued_lines()
        local there = target and held:find("configmap/tmp" .. i .. " ", 1, true)
        if not target then
          -- annotate lines differ only in their numbers: shown all at once to find it
          local ids = {}
          for id in held:gmatch("\n#(%d+) ") do ids[#ids + 1] = id end
          there = #ids > 0 and vcli("k8s offline show " .. table.concat(ids, " ")):find((" o%d=v%d "):format(i, i), 1, true)
        end
        if there then i = i + 1 end
      else
        spec.sh(cmd)
        i = i + 1
      end
    end
    assert.equal(101, i, "every write queued in time")
    pass()
    -- replay, killed at random moments, until the queue is empty
    local rounds = 0
    while not queue_empty() and rounds < 40 and os.time() < deadline + 240 do
      rounds = rounds + 1
      local pid = H.spawn(("cd %s && exec %s ./vcli -c 'k8s offline sync' > %s/sync.out 2>&1"):format(spec.root, env_of(), home))
      require("vcli.async").sleep(math.random(20, 300))
      os.execute("kill -9 " .. pid .. " 2>/dev/null")
      spec.eventually(function() return os.execute("kill -0 " .. pid .. " 2>/dev/null") ~= 0 end, 10000, "the killed sync to go")
    end
    local out = vcli("k8s offline sync")
    assert.matches("0 left in the queue", out)
    print(("# %d killed while queuing, %d replays killed"):format(kills, rounds))
    -- every write landed: each annotation, the last one last, each delete
    local ann = kubectl("-n " .. NS .. " get cm seq -o json")
    for k = 1, 100 do
      if k % 10 ~= 0 then assert.truthy(ann:find(('"o%d": "v%d"'):format(k, k), 1, true), "o" .. k) end
    end
    assert.equal("99", jsonpath("cm seq", "{.metadata.annotations.last}"))
    for k = 10, 100, 10 do assert.matches("NotFound", (kubectl(("-n %s get cm tmp%d"):format(NS, k)))) end
    -- and the history holds each write once (a write typed again after a kill
    -- was typed only when the queue did not have it), every one done
    local hist = vcli("k8s offline queue --all")
    local n, done = 0, 0
    for id, row in hist:gmatch("\n#(%d+)( [^\n]*)") do
      if tonumber(id) > before then
        n = n + 1
        if row:find(" done ", 1, true) then done = done + 1 end
      end
    end
    assert.equal(100, n, hist)
    assert.equal(100, done, hist)
  end)

  it("a damaged journal file gives one clear error naming it, and reads still work", function()
    local file = home .. "/state/vcli/store/data.mdb"
    vcli("k8s get ns " .. NS .. P)
    assert.truthy(spec.read(file), "the store exists")
    os.execute(("cp %s %s.good && head -c 8192 /dev/urandom > %s"):format(q(file), q(file), q(file)))
    local out, rc = vcli("k8s offline queue")
    local ns_out, ns_rc = vcli("k8s get ns " .. NS .. " --context vcli-test")
    os.execute(("mv %s.good %s"):format(q(file), q(file)))
    assert.equal(0, ns_rc, ns_out)
    assert.matches(NS .. " +Active", ns_out)
    assert.equal(1, rc)
    assert.matches("store: cannot open .-; move the file aside %(mv .-data.mdb .-data.mdb.broken%)", out)
    local n = 0
    for _ in out:gmatch("[^\n]+") do n = n + 1 end
    assert.equal(1, n, out)
  end)

  if not tmux.available() then
    pending("the shell replays the queue by itself", "tmux is not installed (make deps installs it)")
    return
  end
  -- the interactive shell in tmux, with a config directory of its own holding config
  local function shell(dir, config)
    os.execute("mkdir -p " .. q(home .. "/" .. dir .. "/vcli"))
    spec.write(home .. "/" .. dir .. "/vcli/config.yaml", config)
    return tmux.start(spec.vcli, { width = 160, env = { KUBECONFIG = KC, HOME = home, XDG_STATE_HOME = home .. "/state",
      XDG_CONFIG_HOME = home .. "/" .. dir, TMPDIR = home .. "/tmp" } })
  end
  it("in the shell: the prompt counts what is queued, and the queue replays by itself when the cluster is back", function()
    deploy("bg")
    vcli("k8s get deploy -n " .. NS .. P)
    refuse()
    local t = shell("config", "offline:\n  syncInterval: 1s\n")
    local ok, err = pcall(function()
      t:wait_for("vcli>", 20000)
      t:type("k8s scale deploy bg -n " .. NS .. " --replicas 2" .. P)
      t:send("Enter")
      t:wait_for("queued #%d+: scale deployment.apps/bg", 20000)
      t:wait_for("⟳ 1 queued", 20000)
      assert.equal("1", jsonpath("deploy bg", "{.spec.replicas}"))
      -- a line half typed when the notice comes: the notice goes above it, the line stays
      t:type("k8s get po")
      pass()
      local screen = t:wait_for("\n⟳ applied  #%d+ scale deployment.apps/bg[^\n]*\n⎈ [^\n]*vcli> k8s get po", 30000)
      assert.equal("2", jsonpath("deploy bg", "{.spec.replicas}"))
      -- and the prompt's count went with it
      t:wait_for("\n⎈ vcli%-test/default vcli> k8s get po", 20000)
      assert.falsy(screen:find("vcli> k8s get po⟳", 1, true), screen)
    end)
    t:stop()
    if not ok then error(err, 0) end
  end)

  it("in the shell, ask shows cached · live · yours and keeps mine on m", function()
    deploy("ask", 2)
    local t = shell("config2", "offline:\n  autoSync: false\n")
    local ok, err = pcall(function()
      t:wait_for("vcli>", 20000)
      t:type(("k8s get deploy ask -n %s -o yaml%s | head -1"):format(NS, P))
      t:send("Enter")
      t:wait_for("apiVersion: apps/v1", 20000)
      refuse()
      t:type("k8s scale deploy ask -n " .. NS .. " --replicas 6" .. P)
      t:send("Enter")
      t:wait_for("queued #%d+: scale deployment.apps/ask", 20000)
      kubectl("-n " .. NS .. " scale deploy ask --replicas=3")
      pass()
      t:type("k8s offline sync")
      t:send("Enter")
      local screen = t:wait_for("keep %[m%]ine, keep %[t%]heirs, %[s%]kip, %[e%]dit%?", 20000)
      -- the conflict and the three values come before the question
      assert.matches("conflict #%d+ scale deployment.apps/ask.-: it was changed meanwhile\n  spec.replicas: cached 2 · live 3 · yours 6\n"
        .. "keep %[m%]ine", screen)
      t:type("m")
      t:send("Enter")
      t:wait_for("applied  #%d+ scale deployment.apps/ask", 20000)
      assert.equal("6", jsonpath("deploy ask", "{.spec.replicas}"))
    end)
    t:stop()
    if not ok then error(err, 0) end
  end)
end)
