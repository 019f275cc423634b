-- kubectl parity: every case of spec/support/k8s/parity_cases.lua run through the reference
-- kubectl and through the vcli binary (`vcli k8s …`, as a user's alias `k=vcli k8s` runs it)
-- against the test cluster, stdout, stderr and exit code compared after masking what moves
-- (ages, timestamps, uids, resource versions, generated names). Every native case runs a
-- second time with kubectl absent from PATH: vcli must not need it.
-- VCLI_K8S_SPEC_REUSE=1 uses an already running cluster and leaves it running.
local H = dofile("spec/support/k8s/helper.lua")
local json = require("cjson")
local cases = dofile("spec/support/k8s/parity_cases.lua")

local reuse = os.getenv("VCLI_K8S_SPEC_REUSE") == "1"
local E, KC, home, nokube_path, kube_path
local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function kubectl(args) return H.kubectl(KC, args) end

-- one side of a case: "k" kubectl, "v" vcli, "w" vcli without kubectl on PATH
local function run_side(side, args, input, dir, envs)
  local cmd
  envs = envs and (envs .. " ") or ""
  if side == "k" then
    -- (the HOME vcli's side has too: one discovery cache for every kubectl of the suite, so a
    -- bridged case and its kubectl run see the same one)
    cmd = ("%sHOME=%s KUBECONFIG=%s %s %s"):format(envs, shq(home), shq(KC), H.tools.kubectl_cmd(), args)
  else
    cmd = ("env %sHOME=%s XDG_CONFIG_HOME=%s/config XDG_STATE_HOME=%s/state XDG_CACHE_HOME=%s/cache KUBECONFIG=%s PATH=%s %s --norc k8s %s")
      :format(envs, shq(home), shq(home), shq(home), shq(home), shq(KC), shq(side == "v" and kube_path or nokube_path),
              shq(spec.vcli), args)
  end
  local inf = dir .. "/stdin"
  spec.write(inf, input or "")
  local out, rc = spec.sh(("cd %s && %s <%s 2>%s/stderr"):format(shq(dir), cmd, shq(inf), shq(dir)))
  local err = spec.read(dir .. "/stderr") or ""
  return out, err, rc
end

-- what moves between two runs, made the same; name: the side's object name
local function mask(s, name)
  s = s:gsub(name, "NAME")
  -- (generated names: a pod's NAME-hash-xxxxx, a replica set's NAME-hash, a job pod's NAME-xxxxx)
  s = s:gsub("NAME%-[%w]+%-[%w]+", "NAME-GEN"):gsub("NAME%-%w%w%w%w%w%w%w%w+%f[^%w]", "NAME-GEN")
    :gsub("NAME%-[%w][%w][%w][%w][%w]%f[^%w]", "NAME-GEN")
  s = s:gsub("pod%-template%-hash([=:]%s*\"?)%w+", "pod-template-hash%1HASH")
  -- klog's prefix (E1204 21:16:43.700219  27908 memcache.go:265]): the time and PID of that run
  s = s:gsub("%f[%w]([EIW])%d%d%d%d %d%d:%d%d:%d%d%.%d+%s+%d+ ", "%1MMDD TIME PID ")
  s = s:gsub("%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[%.%d]*Z", "TIME")
  s = s:gsub("%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d [%+%-]%d%d%d%d %u+", "TIME")
  s = s:gsub("(uid\"?:%s*\"?)[%x%-]+", "%1UID")
  s = s:gsub("(resourceVersion\"?:%s*\")%d+", "%1RV")
  s = s:gsub("/tmp/vcli%-spec%.%w+", "/TMP")
  s = s:gsub("%f[%w]%d+[smhd]%d*[smh]?%f[^%w]", "AGE"):gsub("<invalid>", "AGE")
  -- columns: widths follow the masked cells, so runs of spaces between cells count as one
  s = s:gsub("(%S)  +", "%1  ")
  return s
end

local function subst(s, name, dir) return (s:gsub("{n}", name):gsub("{dir}", dir)) end

local function strip_prefix(err) return (err:gsub("^vcli: ", ""):gsub("\nvcli: ", "\n")) end

-- kubectl's words made comparable with vcli's where only the packaging differs: a missing
-- required flag is reported through klog (E1204 19:14:59.95 PID run.go:72] "command failed"
-- err="…"), which is kubectl's "error: …" with a timestamp; "See 'kubectl run -h'" names
-- the program, which for vcli is k8s (so does Use "kubectl api-resources")
local function kubectl_words(err)
  -- (and a race in kubectl's WebSocket client, seen under load: a frame of a stream it has
  -- closed already is logged, "websocket.go:296] Unknown stream id 1, discarding message")
  err = err:gsub("E%d+ [%d:%.]+%s+%d+ websocket%.go:%d+%] Unknown stream id %d+, discarding message\n", "")
  err = err:gsub('E%d+ [%d:%.]+%s+%d+ [%w_]+%.go:%d+%] "command failed" err="(.-)"\n', function(m)
    return "error: " .. m:gsub('\\"', '"') .. "\n"
  end)
  return (err:gsub("See 'kubectl ", "See 'k8s "):gsub('Use "kubectl ', 'Use "k8s '))
end

local function prepare(case, name, dir)
  for f, text in pairs(case.files or {}) do
    local path = dir .. "/" .. subst(f, name, dir)
    spec.sh("mkdir -p " .. shq(path:match("^(.*)/")))
    spec.write(path, subst(text, name, dir))
  end
  local setup = case.setup
  if type(setup) == "string" then setup = { setup } end
  for _, s in ipairs(setup or {}) do
    local out, rc = spec.sh(("cd %s && KUBECONFIG=%s %s %s"):format(shq(dir), shq(KC), H.tools.kubectl_cmd(), subst(s, name, dir)))
    if rc ~= 0 then error("setup failed: kubectl " .. subst(s, name, dir) .. ": " .. out, 0) end
  end
end

local function outcome(side, case, i)
  local name = "p" .. i .. side
  local dir = spec.tmpdir()
  local wdir = dir .. "/dir"
  spec.sh("mkdir -p " .. shq(wdir))
  prepare(case, name, wdir)
  local out, err, rc = run_side(side, subst(case[1], name, wdir), case.input and subst(case.input, name, wdir), dir,
    case.env and subst(case.env, name, wdir))
  spec.sh("rm -rf " .. shq(dir))
  err = side == "k" and kubectl_words(err) or strip_prefix(err)
  return { out = mask(out, name), err = mask(err, name), rc = rc }
end

local function deep_equal(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do if not deep_equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

local writes = {}   -- what a case creates, to delete afterwards
local function mutating(case) return case.setup or case.files or case.input or case[1]:find("{n}", 1, true) end

describe("kubectl parity", function()
  before_all(function()
    H.tools.need_kubectl(20, "the parity suite")   -- (cases that follow 1.32 say so: `minor`)
    if reuse and (select(2, spec.sh(H.KUBE .. " status"))) == 0 then E = H.cluster_env()
    else E = H.start_cluster() end
    home = spec.tmpdir()
    -- a kubeconfig of the suite's own, its context's namespace the suite's fixtures
    local kc = home .. "/kubeconfig"
    assert(os.execute(("cp %s %s"):format(shq(E.KUBECONFIG), shq(kc))) == 0)
    KC = kc
    kube_path = spec.sh("spec/support/kube kubectl --dir"):gsub("%s+$", "") .. ":" .. os.getenv("PATH")
    -- PATH without any kubectl: a dir of links to what the shell needs
    local bin = home .. "/bin"
    spec.sh("mkdir -p " .. shq(bin))
    for _, tool in ipairs({ "sh", "env", "diff", "cat", "ls", "rm", "mkdir", "mktemp", "bash", "sed" }) do
      spec.sh(("p=$(command -v %s) && ln -sf \"$p\" %s/%s"):format(tool, shq(bin), tool))
    end
    nokube_path = bin
    kubectl("config set-context --current --namespace=vparity")
    kubectl("delete namespace vparity --ignore-not-found --wait=true --timeout=120s")
    kubectl("create namespace vparity")
    spec.eventually(function() return (select(2, spec.sh(("KUBECONFIG=%s %s get sa default -n vparity"):format(shq(KC),
      H.tools.kubectl_cmd())))) == 0 end, 60000, "the default service account of vparity")
    local fixtures = home .. "/fixtures.yaml"
    spec.write(fixtures, [[
apiVersion: v1
kind: Pod
metadata: { name: pweb-0, labels: { app: pweb, tier: web } }
spec: { containers: [ { name: web, image: "nginx:1.25" } ] }
---
apiVersion: v1
kind: Pod
metadata: { name: pweb-1, labels: { app: pweb, tier: web } }
spec: { containers: [ { name: web, image: "nginx:1.25" } ] }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: pweb, labels: { app: pweb } }
spec:
  replicas: 1
  selector: { matchLabels: { app: pweb, tier: deploy } }
  template:
    metadata: { labels: { app: pweb, tier: deploy } }
    spec: { containers: [ { name: web, image: "nginx:1.25" } ] }
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: psts }
spec:
  replicas: 1
  serviceName: psvc
  selector: { matchLabels: { app: psts } }
  template:
    metadata: { labels: { app: psts } }
    spec: { containers: [ { name: db, image: "postgres:16" } ] }
---
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: pds }
spec:
  selector: { matchLabels: { app: pds } }
  template:
    metadata: { labels: { app: pds } }
    spec: { containers: [ { name: agent, image: "busybox:1.36" } ] }
---
apiVersion: batch/v1
kind: Job
metadata: { name: pjob }
spec:
  template:
    spec: { restartPolicy: Never, containers: [ { name: job, image: "busybox:1.36" } ] }
---
apiVersion: batch/v1beta1
kind: CronJob
metadata: { name: pcron }
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec: { restartPolicy: Never, containers: [ { name: job, image: "busybox:1.36" } ] }
---
apiVersion: v1
kind: Service
metadata: { name: psvc }
spec: { selector: { app: pweb }, ports: [ { port: 80, targetPort: 8080, name: http } ] }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: pcm, labels: { app: pcm } }
data: { a: "1", b: "two" }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: pcm2 }
data: { c: "3" }
---
apiVersion: v1
kind: Secret
metadata: { name: psecret }
type: Opaque
stringData: { password: "s3cret" }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: bot }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: bot-cm }
rules: [ { apiGroups: [""], resources: [configmaps], verbs: [get, list] } ]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: bot-cm }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: bot-cm }
subjects: [ { kind: ServiceAccount, name: bot, namespace: vparity } ]
]])
    kubectl("apply -f " .. shq(fixtures))
    kubectl("wait --for=condition=Ready pod/pweb-0 pod/pweb-1 --timeout=120s")
    kubectl("rollout status deploy/pweb --timeout=120s")
    kubectl("rollout status sts/psts --timeout=120s")
    kubectl("rollout status ds/pds --timeout=120s")
  end)
  after_all(function()
    if KC then
      spec.sh(("KUBECONFIG=%s %s delete namespace vparity --wait=false"):format(shq(KC), H.tools.kubectl_cmd()))
      for name in pairs(writes) do
        spec.sh(("KUBECONFIG=%s %s delete namespace %s --ignore-not-found --wait=false"):format(shq(KC), H.tools.kubectl_cmd(), name))
      end
    end
    if home then os.execute("rm -rf " .. shq(home)) end
    if not reuse then H.stop_cluster() end
  end)

  -- a text's lines in sorted order (case.unordered: kubectl prints them in a Go map's order)
  local function sorted_lines(text)
    local t = {}
    for l in text:gmatch("[^\n]*\n?") do if l ~= "" then t[#t + 1] = l end end
    table.sort(t)
    return table.concat(t)
  end

  for i, case in ipairs(cases) do
    local reason = case.differs or case.better
    local title = ("#%d k8s %s%s"):format(i, case[1], reason and (" (differs on purpose: " .. reason .. ")") or "")
    it(title, function()
      if case.minor then H.tools.need_kubectl(case.minor, "case #" .. i) end
      local sides = case.bridged and { "v" } or { "v", "w" }
      local function compare()
        local k = outcome("k", case, i)
        if mutating(case) then writes["p" .. i .. "k"] = true end
        for _, side in ipairs(sides) do
          local v = outcome(side, case, i)
          if mutating(case) then writes["p" .. i .. side] = true end
          local what = side == "w" and " (no kubectl on PATH)" or ""
          if case.better then
            if v.rc ~= 0 or k.rc == 0 then
              return false, ("exit %s, kubectl %s%s: vcli should answer where kubectl fails\nvcli stderr:\n%s")
                :format(tostring(v.rc), tostring(k.rc), what, v.err)
            end
          elseif v.rc ~= k.rc then return false, ("exit %s, kubectl %s%s\nvcli stdout:\n%s\nvcli stderr:\n%s\nkubectl stderr:\n%s")
            :format(tostring(v.rc), tostring(k.rc), what, v.out, v.err, k.err) end
          if case.better then   -- luacheck: ignore 542
            -- (what vcli prints is its own: kubectl has nothing to compare with)
          elseif case.json then
            local a, b = json.decode(k.out), json.decode(v.out)
            if a == nil or b == nil or not deep_equal(a, b) then
              return false, ("stdout as JSON%s\n--- kubectl\n%s\n--- vcli\n%s"):format(what, k.out, v.out)
            end
            if v.err ~= k.err then return false, ("stderr%s\n--- kubectl\n%s\n--- vcli\n%s"):format(what, k.err, v.err) end
          elseif not case.differs then
            if v.out ~= k.out then return false, ("stdout%s\n--- kubectl\n%s\n--- vcli\n%s"):format(what, k.out, v.out) end
            if not case.stdout and v.err ~= k.err and not (case.unordered and sorted_lines(v.err) == sorted_lines(k.err)) then
              return false, ("stderr%s\n--- kubectl\n%s\n--- vcli\n%s"):format(what, k.err, v.err)
            end
          end
        end
        return true
      end
      -- reads may see the cluster move between the two runs: a few tries; writes run once
      local ok, why = compare()
      if not ok and not mutating(case) then
        for _ = 1, 2 do
          ok, why = compare()
          if ok then break end
        end
      end
      if not ok then error(why, 0) end
    end)
  end
end)
