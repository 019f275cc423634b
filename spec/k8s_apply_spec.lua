-- k8s apply as kubectl applies, against the test cluster, side by side with
-- kubectl: client-side by default (a three-way merge with the last applied
-- configuration: created / configured / unchanged, other writers' fields
-- kept, dropped fields deleted, kubectl and vcli taking turns on the same
-- objects), every document tried, -f -, -R, a contradicting -n refused, a
-- CRD and its objects in one file, --dry-run, -o name, --server-side; and
-- create (-f, kubectl's generators) beside kubectl's.
-- VCLI_K8S_SPEC_REUSE=1 uses an already running cluster and leaves it running.
local H = dofile("spec/support/k8s/helper.lua")

local E, KC, dir
local NS = "vapply-" .. os.time()
local reuse = os.getenv("VCLI_K8S_SPEC_REUSE") == "1"
local function kubectl(args) return H.kubectl(KC, args) end
local function jsonpath(what, path)
  return (kubectl("-n " .. NS .. " get " .. what .. " -o jsonpath='" .. path .. "'"))
end
-- the vcli binary, as a user runs it from another shell (its stdin a pipe)
local function vcli(args, stdin_file)
  return spec.sh(("KUBECONFIG='%s' %s k8s %s%s 2>&1"):format(KC, spec.vcli, args,
    stdin_file and (" < '" .. stdin_file .. "'") or " </dev/null"))
end

local WEB = [[
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: NS
  labels: { app: web, tier: front }
spec:
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports: [{ containerPort: 80 }]
        env: [{ name: A, value: "1" }, { name: B, value: "2" }]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: NS }
spec:
  selector: { app: web }
  ports: [{ port: 80 }]
]]

describe("k8s apply", function()
  before_all(function()
    if reuse and (select(2, spec.sh(H.KUBE .. " status"))) == 0 then E = H.cluster_env()
    else E = H.start_cluster() end
    KC = E.KUBECONFIG
    dir = spec.tmpdir()
    H.register({ kubeconfig = KC })
    kubectl("create namespace " .. NS)
  end)
  after_all(function()
    kubectl("delete namespace " .. NS .. " --wait=false")
    kubectl("delete crd gadgets.example.com --ignore-not-found --wait=false")
    os.execute("rm -rf '" .. dir .. "'")
    if not reuse then H.stop_cluster() end
  end)

  it("is a three-way merge: others' changes stay, dropped fields go, and kubectl agrees nothing is left", function()
    local f = dir .. "/web.yaml"
    spec.write(f, (WEB:gsub("NS", NS)))
    local out, _, st = H.run("k8s apply -f " .. f)
    assert.equal(0, st)
    assert.equal("deployment.apps/web created\nservice/web created\n", out)
    -- a Service without protocol: (server-side apply on this server could not take it)
    assert.equal("deployment.apps/web unchanged\nservice/web unchanged\n", (H.run("k8s apply -f " .. f)))
    -- other writers: kubectl scale, set image, label
    kubectl("-n " .. NS .. " scale deploy web --replicas=3")
    kubectl("-n " .. NS .. " set image deploy/web web=nginx:1.26")
    kubectl("-n " .. NS .. " label deploy web extra=yes")
    assert.equal("deployment.apps/web configured\nservice/web unchanged\n", (H.run("k8s apply -f " .. f)))
    assert.equal("3", jsonpath("deploy web", "{.spec.replicas}"))          -- the manifest never named it
    assert.equal("nginx:1.25", jsonpath("deploy web", "{.spec.template.spec.containers[0].image}"))   -- it did
    assert.equal("yes", jsonpath("deploy web", "{.metadata.labels.extra}"))
    -- fields this apply drops and the last one set are deleted, by merge key (env B)
    spec.write(f, (WEB:gsub("NS", NS):gsub(", tier: front", ""):gsub(', { name: B, value: "2" }', "")))
    assert.equal("deployment.apps/web configured\nservice/web unchanged\n", (H.run("k8s apply -f " .. f)))
    assert.equal('{"app":"web","extra":"yes"}', jsonpath("deploy web", "{.metadata.labels}"))
    assert.equal('[{"name":"A","value":"1"}]', jsonpath("deploy web", "{.spec.template.spec.containers[0].env}"))
    -- kubectl reads vcli's annotation as its own, and vcli kubectl's
    local k = kubectl("apply -f " .. f)
    assert.equal("deployment.apps/web unchanged\nservice/web unchanged\n", k)
    kubectl("-n " .. NS .. " label deploy web tier=back")   -- no manifest names it now: it stays
    assert.equal("deployment.apps/web unchanged\nservice/web unchanged\n", (H.run("k8s apply -f " .. f)))
    assert.equal("back", jsonpath("deploy web", "{.metadata.labels.tier}"))
  end)

  it("diff shows what apply would change as diff -u does, exit 1 then; 0 when nothing; a Secret's values masked", function()
    local f = dir .. "/d.yaml"
    local doc = ([[
apiVersion: v1
kind: ConfigMap
metadata: { name: dcm, namespace: NS }
data: { a: "1" }
---
apiVersion: v1
kind: Secret
metadata: { name: dsec, namespace: NS }
stringData: { password: hunter2 }
]]):gsub("NS", NS)
    spec.write(f, doc)
    local out, err, st = H.run("k8s diff -f " .. f)
    assert.equal(1, st, err)
    assert.matches("diff %-u %-N LIVE/v1%.ConfigMap%." .. NS:gsub("%-", "%%-") .. "%.dcm MERGED/", out)
    assert.matches("\n%+  a: \"1\"\n", out)
    assert.falsy(out:find("hunter2", 1, true) or out:find("aHVudGVyMg", 1, true), "a secret value shown")
    assert.matches("password: '?%*%*%*'?", out)
    assert.equal("", jsonpath("cm", "{.items[*].metadata.name}"):match("dcm") or "", "diff changed something")
    H.run("k8s apply -f " .. f)
    out, err, st = H.run("k8s diff -f " .. f)
    assert.equal(0, st, out .. err)
    assert.equal("", out)
    spec.write(f, (doc:gsub('a: "1"', 'a: "2"'):gsub("hunter2", "hunter3")))
    out, err, st = H.run("k8s diff -f " .. f)
    assert.equal(1, st, err)
    assert.matches('\n%-  a: "1"\n%+  a: "2"\n', out)
    assert.matches("%*%*%* %(before%)", out)
    assert.matches("%*%*%* %(after%)", out)
    assert.falsy(out:find("hunter", 1, true))
  end)

  it("tries every document, says each result, and exits 1 when one failed", function()
    local f = dir .. "/multi.yaml"
    spec.write(f, ([[
apiVersion: v1
kind: ConfigMap
metadata: { name: one, namespace: NS }
data: { a: "1" }
---
apiVersion: v1
kind: Bogus
metadata: { name: two }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: three, namespace: NS }
data: { a: [1, 2] }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: four, namespace: NS }
data: { a: "4" }
]]):gsub("NS", NS))
    local out, err, st = H.run("k8s apply -f " .. f)
    assert.equal(1, st)
    assert.equal("configmap/one created\nconfigmap/four created\n", out)
    assert.matches('resource mapping not found for name: "[^"]*" namespace: "[^"]*" from "[^"]*multi%.yaml": no matches for'
      .. ' kind "Bogus" in version "v1"\nensure CRDs are installed first', err)
    assert.matches('error when applying configmap/three from "[^"]*multi%.yaml": Error from server %(BadRequest%)', err)
    assert.equal("4", jsonpath("cm four", "{.data.a}"))
  end)

  it("-f - reads standard input; -R walks directories; -o name; --dry-run changes nothing", function()
    local f = dir .. "/cm.yaml"
    spec.write(f, ("apiVersion: v1\nkind: ConfigMap\nmetadata: { name: piped, namespace: %s }\ndata: { a: \"1\" }\n"):format(NS))
    local out, rc = vcli("apply -f - --dry-run=server", f)
    assert.equal(0, rc, out)
    assert.equal("configmap/piped created (server dry run)\n", out)
    assert.equal("", jsonpath("cm", "{.items[*].metadata.name}"):match("piped") or "")
    out, rc = vcli("apply -f - --dry-run", f)
    assert.equal(0, rc, out)
    assert.equal("configmap/piped created (dry run)\n", out)
    out, rc = vcli("apply -f - -o name", f)
    assert.equal(0, rc, out)
    assert.equal("configmap/piped\n", out)
    assert.equal("1", jsonpath("cm piped", "{.data.a}"))
    -- a directory and its subdirectories
    os.execute(("mkdir -p '%s/tree/sub' && cp '%s' '%s/tree/sub/x.yaml'"):format(dir, f, dir))
    spec.write(dir .. "/tree/top.yaml", ("apiVersion: v1\nkind: ConfigMap\nmetadata: { name: top, namespace: %s }\n"):format(NS))
    assert.equal("configmap/top created\n", (H.run("k8s apply -f " .. dir .. "/tree")))
    -- (kubectl's walk: a directory's entries in lexical order, "sub" before "top.yaml")
    assert.equal("configmap/piped unchanged\nconfigmap/top unchanged\n", (H.run("k8s apply -R -f " .. dir .. "/tree")))
  end)

  it("-f URL fetches the manifest over HTTP, as kubectl does", function()
    local www = dir .. "/www"
    os.execute("mkdir -p '" .. www .. "'")
    spec.write(www .. "/remote.yaml", ("apiVersion: v1\nkind: ConfigMap\nmetadata: { name: remote, namespace: %s }\n"):format(NS))
    local port = spec.sh("spec/support/freeport"):match("%d+")
    -- a real HTTP server (Python's), stopped by its PID whatever happens
    local pid = spec.sh(("python3 -m http.server --bind 127.0.0.1 %s --directory '%s' >/dev/null 2>&1 & echo $!")
      :format(port, www)):match("%d+")
    local ok, err = pcall(function()
      local base = "http://127.0.0.1:" .. port
      spec.eventually(function() return select(2, spec.sh("curl -sf " .. base .. "/remote.yaml >/dev/null")) == 0 end,
        20000, "the HTTP server to answer")
      assert.equal("configmap/remote created\n", (H.run("k8s apply -f " .. base .. "/remote.yaml")))
      assert.equal("", jsonpath("cm remote", "{.data}"))
      local _, ferr, st = H.run("k8s apply -f " .. base .. "/nope.yaml")
      assert.equal(1, st)
      assert.matches("nope%.yaml: the server answered 404", ferr)
    end)
    os.execute("kill " .. pid .. " 2>/dev/null")
    if not ok then error(err, 0) end
  end)

  it("refuses a -n that contradicts the manifest's namespace, as kubectl does", function()
    local f = dir .. "/ns.yaml"
    spec.write(f, ("apiVersion: v1\nkind: ConfigMap\nmetadata: { name: nsd, namespace: %s }\n"):format(NS))
    local _, err, st = H.run("k8s apply -f " .. f .. " -n default")
    assert.equal(1, st)
    assert.equal(('error: the namespace from the provided object "%s" does not match the namespace "default".'
      .. " You must pass '--namespace=%s' to perform this operation.\n"):format(NS, NS), (err:gsub("^vcli: ", "")))
    assert.equal("", (kubectl("-n default get cm nsd -o name --ignore-not-found")))
  end)

  it("applies a CRD and its objects from one file; custom objects by JSON merge patch", function()
    local f = dir .. "/crd.yaml"
    local text = ([[
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: gadgets.example.com }
spec:
  group: example.com
  scope: Namespaced
  names: { plural: gadgets, singular: gadget, kind: Gadget }
  versions:
  - name: v1
    served: true
    storage: true
    schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
---
apiVersion: example.com/v1
kind: Gadget
metadata: { name: g1, namespace: NS }
spec: { size: 3, tags: [a, b] }
]]):gsub("NS", NS)
    spec.write(f, text)
    local out, err, st = H.run("k8s apply -f " .. f)
    assert.equal(0, st, err)
    assert.equal("customresourcedefinition.apiextensions.k8s.io/gadgets.example.com created\n"
      .. "gadget.example.com/g1 created\n", out)
    spec.write(f, (text:gsub("size: 3, tags: %[a, b%]", "size: 4, tags: [c]")))
    assert.equal("customresourcedefinition.apiextensions.k8s.io/gadgets.example.com unchanged\n"
      .. "gadget.example.com/g1 configured\n", (H.run("k8s apply -f " .. f)))
    assert.equal('{"size":4,"tags":["c"]}', jsonpath("gadget g1", "{.spec}"))
  end)

  it("create builds kubectl's objects field for field, creates them, and hands kubectl the generators it keeps", function()
    spec.write(dir .. "/f.txt", "hi\n")
    spec.write(dir .. "/e.env", "K=V\n# a comment\nX=1\n")
    local function both(args)
      local mine, mrc = spec.sh(("KUBECONFIG='%s' %s k8s -n %s %s 2>&1 </dev/null"):format(KC, spec.vcli, NS, args))
      local theirs, trc = spec.sh(("KUBECONFIG='%s' %s -n %s %s 2>&1"):format(KC, H.tools.kubectl_cmd(), NS, args))
      return mine:gsub("^vcli: ", ""), mrc, theirs, trc
    end
    for _, args in ipairs({
      "create cm c1 --from-literal=a=1 --from-file=" .. dir .. "/f.txt",
      "create cm c2 --from-env-file=" .. dir .. "/e.env",
      "create secret generic s1 --from-literal=p=q --type=example.com/x",
      "create secret docker-registry r1 --docker-username=u --docker-password=p --docker-email=a@b",
      "create deployment d1 --image=nginx:1.25 --replicas=2 --port=80",
      "create deployment d2 --image=nginx:1.25 --image=registry.example.com/team/side-car:2",
      "create ns n1", "create sa sa1", "create job j1 --image=busybox -- echo hi",
      -- generators vcli leaves to kubectl: the dry run and the output still reach it
      "create role r1 --verb=get --resource=pods", "create cronjob cj1 --image=busybox --schedule='*/5 * * * *' -- date",
    }) do
      -- (the flags before any "--": what follows it is the container's command)
      local head, cmd = args:match("^(.-)( %-%- .*)$")
      local mine, mrc, theirs, trc = both((head or args) .. " --dry-run=client -o yaml" .. (cmd or ""))
      assert.equal(theirs, mine, args)
      assert.equal(trc, mrc, args)
    end
    assert.equal("", (kubectl("-n " .. NS .. " get role r1 --ignore-not-found -o name")), "a dry run created it")
    -- for real: kubectl's lines, and its words when it exists already
    local mine, mrc, theirs, trc
    mine, mrc = both("create cm made --from-literal=a=1")
    assert.equal("configmap/made created\n", mine)
    assert.equal(0, mrc)
    assert.equal("1", jsonpath("cm made", "{.data.a}"))
    mine, mrc, theirs, trc = both("create cm made --from-literal=a=1")
    assert.equal(theirs, mine)
    assert.equal(1, mrc)
    assert.equal(trc, mrc)
    mine = both("create deployment made --image=nginx:1.25 -o name")
    assert.equal("deployment.apps/made\n", mine)
    local _, rerr, rst = H.run("k8s -n " .. NS .. " create cm nope --from-literal=a=1 --readonly")
    assert.equal(1, rst)
    assert.matches("refused: read%-only mode", rerr)
    _, rerr, rst = H.run("k8s -n " .. NS .. " --readonly create role nope --verb=get --resource=pods")
    assert.equal(1, rst)
    assert.matches("refused: read%-only mode", rerr)
    assert.equal("", (kubectl("-n " .. NS .. " get cm nope --ignore-not-found -o name")))
  end)

  it("--server-side applies as the server merges; --force-conflicts without it is refused", function()
    local f = dir .. "/ss.yaml"
    spec.write(f, ("apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ss, namespace: %s }\ndata: { a: \"1\" }\n"):format(NS))
    assert.equal("configmap/ss serverside-applied\n", (H.run("k8s apply --server-side -f " .. f)))
    assert.matches("vcli", jsonpath("cm ss", "{.metadata.managedFields[*].manager}"))
    local _, err, st = H.run("k8s apply --force-conflicts -f " .. f)
    assert.equal(1, st)
    assert.matches("%-%-force%-conflicts only works with %-%-server%-side", err)
    local _, rerr, rst = H.run("k8s apply -f " .. f .. " --readonly")
    assert.equal(1, rst)
    assert.matches("refused: read%-only mode", rerr)
  end)
end)
