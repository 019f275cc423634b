-- k8s plugin against the real test cluster (spec/support/kube): auth modes,
-- get compared with /usr/bin/kubectl, offline answers, watch resume.
-- VCLI_K8S_SPEC_REUSE=1 uses an already running cluster and leaves it running.
local H = dofile("spec/support/k8s/helper.lua")
local async = require("vcli.async")

local E, KC
local reuse = os.getenv("VCLI_K8S_SPEC_REUSE") == "1"

local function kubectl(args) return H.kubectl(KC, args) end
local function ok_run(line)
  local out, err, st = H.run(line)
  if st ~= 0 then error(("%s failed (%s): %s"):format(line, tostring(st), err), 2) end
  return out, err
end
local function no_secret(s)
  assert.falsy(s:find(E.VCLI_KUBE_ADMIN_TOKEN, 1, true), "admin token leaked: " .. s)
  assert.falsy(s:find(E.VCLI_KUBE_LIMITED_TOKEN, 1, true), "limited token leaked")
end

describe("k8s against the test cluster", function()
  before_all(function()
    if reuse and (select(2, spec.sh(H.KUBE .. " status"))) == 0 then E = H.cluster_env()
    else E = H.start_cluster() end
    KC = E.KUBECONFIG
    local out = spec.sh(H.KUBE .. " seed --pods 300")
    assert.matches("created %d+ pods", out)
    H.register({ kubeconfig = KC })
    H.wait_pods_started(KC, 300)
  end)
  after_all(function()
    spec.sh(H.KUBE .. " proxy pass")
    if not reuse then H.stop_cluster() end
  end)

  -- The cluster keeps moving (pods start, deployments scale up), so vcli's
  -- answer is compared with kubectl's until they agree, within a deadline;
  -- on timeout the last pair is shown.
  local function agrees(get_mine, get_theirs, what)
    local mine, theirs
    local ok = pcall(spec.eventually, function()
      mine, theirs = get_mine(), get_theirs()
      return (pcall(assert.same, theirs, mine))
    end, 30000, what)
    if not ok then assert.same(theirs, mine, what) end
  end

  it("get pods -A prints kubectl's columns and rows", function()
    local mine, theirs
    -- restart counts of crashlooping pods move, and controllers still adjust
    -- pods after seeding: compare the namespace/name columns until they agree
    local function key(text) local t = {} for i, r in ipairs(H.cells(text, true)) do t[i] = r:match("^(%S+ %S+)") end return t end
    agrees(function() mine = ok_run("k8s get pods -A") return key(mine) end,
           function() theirs = kubectl("get pods -A") return key(theirs) end, "get pods -A")
    assert.matches("^NAMESPACE%s+NAME%s+READY%s+STATUS%s+RESTARTS%s+AGE\n", mine)
    assert.truthy(#H.cells(mine, true) > 300, "rows: " .. #H.cells(mine, true))
    -- the header and the column widths: exactly kubectl's, also when the list spans
    -- several 500-row chunks (out of a terminal, vcli aligns over the whole list)
    assert.equal(theirs:match("^[^\n]*"), mine:match("^[^\n]*"))
    local function widths(text)
      local t = {}
      for line in text:gmatch("[^\n]+") do t[#t + 1] = line:match("^(%S+%s+%S+%s+)") end
      return t
    end
    assert.same(widths(theirs), widths(mine))
  end)

  it("get -A in chunks that end inside a namespace prints the rows of one whole list", function()
    -- past the first chunk vcli lists namespace by namespace (cells only);
    -- small chunks make every namespace boundary fall inside a chunk
    local function key(text) local t = {} for i, r in ipairs(H.cells(text, true)) do t[i] = r:match("^(%S+ %S+)") end return t end
    for _, args in ipairs({ "get pods -A --chunk-size 7", "get deploy -A --chunk-size 5 -o wide" }) do
      local mine
      agrees(function() mine = ok_run("k8s " .. args) return key(mine) end,
             function() return key(kubectl(args)) end, args)
      assert.truthy(#H.cells(mine, true) > 20, args)
    end
    -- one request for the whole list (kubectl's --chunk-size 0) gives the same rows
    agrees(function() return key(ok_run("k8s get pods -A --chunk-size 0")) end,
           function() return key(kubectl("get pods -A")) end, "--chunk-size 0")
  end)

  it("get with -n, short names, NAME, TYPE/NAME, -l, --field-selector, -o wide|name", function()
    for _, args in ipairs({ "get po -n team-a", "get deploy -n web -o wide", "get svc,deploy -n web", "get deployments.apps -A -o name",
                            "get pods -A -l app=api", "get nodes", "get ns default", "get deploy/api -n checkout",
                            "get pods -n team-a --field-selector=status.phase=Running -o name",
                            -- cronjobs: served by batch/v1beta1 only, next to batch/v1 (the preferred version) on this server
                            "get cronjobs -A", "get cj -n data-pipeline -o name",
                            -- a category: its resources' tables, blank lines only between those with rows
                            "get all -n web", "get all -n data-pipeline", "get svc,deploy -n checkout -o name",
                            -- label columns come last (ages are compared too: the spec retries until they agree)
                            "get deploy -A -L app,app.kubernetes.io/part-of,nope", "get deploy -n web --show-labels",
                            "get pods -n team-a -L app -o wide",
                            -- fully qualified: RESOURCE.VERSION.GROUP, the core group's empty name, another version
                            "get deployments.v1.apps -n web", "get pods.v1. -n team-a -o name",
                            "get hpa.v2beta2.autoscaling -A -o name", "get cronjobs.v1beta1.batch -A -o name" }) do
      local drop_age = not args:find("-o name") and not args:find("-L") and not args:find("--show-labels")
      agrees(function() return H.cells(ok_run("k8s " .. args), drop_age) end,
             function() return H.cells(kubectl(args), drop_age) end, args)
    end
  end)

  it("the server's warnings go to stderr as kubectl prints them, each once", function()
    local out, err, st = H.run("k8s get ingresses.v1beta1.extensions -A")
    assert.equal(0, st)
    assert.equal("", out)
    local theirs = spec.sh(("KUBECONFIG='%s' %s get ingresses.v1beta1.extensions -A 2>&1 >/dev/null"):format(KC, H.tools.kubectl_cmd()))
    local warning = theirs:match("(Warning: [^\n]*\n)")
    assert.truthy(warning, theirs)
    assert.equal(warning .. "No resources found\n", err)
    -- several in one header, commas and escaped quotes inside them
    assert.same({ 'a, "b"', "c" }, H.eval([[return require("k8s.client").warnings('299 - "a, \\"b\\"", 299 - "c"')]]))
  end)

  it("-o json is kubectl's, byte for byte; -o yaml has the same fields", function()
    H.tools.need_kubectl(21, "-o json as kubectl prints it since v1.21 (managedFields hidden)")
    local mine = ok_run("k8s get deploy -n payments -o json")
    assert.equal(kubectl("get deploy -n payments -o json"), mine)
    local one = ok_run("k8s get deploy api -n checkout -o json")
    assert.equal(kubectl("get deploy api -n checkout -o json"), one)
    local y = ok_run("k8s get deploy -n payments -o yaml")
    assert.matches("^apiVersion: v1\nitems:\n%- apiVersion: apps/v1\n  kind: Deployment\n", y)
    assert.matches("\nkind: List\nmetadata:\n  resourceVersion: \"\"\n$", y)
    -- a whole list in one request (megabytes of output in one stretch of the plugin) comes out whole
    agrees(function() return (ok_run("k8s get pods -A -o json --chunk-size 0")) end,
           function() return kubectl("get pods -A -o json") end, "get pods -A -o json --chunk-size 0")
  end)

  -- Debian's lua-cjson decodes [] and {} alike. Built-in kinds drop empty
  -- lists (omitempty; protobuf storage reads [] back as null), so the place
  -- kubectl prints [] is an object kept as it was given: a custom resource.
  it("-o json|yaml print empty arrays [] and empty objects {} as kubectl does, live and from the cache", function()
    H.tools.need_kubectl(21, "-o json as kubectl prints it since v1.21 (managedFields hidden)")
    local dir = spec.tmpdir()
    local f = assert(io.open(dir .. "/shapes.yaml", "w"))
    f:write([[
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: shapes.spec.vcli.dev}
spec:
  group: spec.vcli.dev
  scope: Namespaced
  names: {plural: shapes, singular: shape, kind: Shape}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
]])
    f:close()
    f = assert(io.open(dir .. "/empty.yaml", "w"))
    f:write([==[
apiVersion: spec.vcli.dev/v1
kind: Shape
metadata: {name: empty, namespace: default}
spec:
  args: []
  data: {}
  nested: [[], {}, [[]], {a: []}, {b: {}}]
  count: 3
]==])
    f:close()
    local out, rc = kubectl("apply -f " .. dir .. "/shapes.yaml")
    assert.equal(0, rc, out)
    out, rc = kubectl("wait --for condition=established --timeout=60s crd/shapes.spec.vcli.dev")
    assert.equal(0, rc, out)
    spec.eventually(function() return (select(2, kubectl("apply -f " .. dir .. "/empty.yaml"))) == 0 end, 30000, "shape created")
    local ok, err = pcall(function()
      local theirs = kubectl("get shape empty -n default -o json")
      assert.matches('\n        "args": %[%],\n        "count": 3,\n        "data": {},\n', theirs)
      assert.equal(theirs, (ok_run("k8s get shape empty -n default -o json")))
      assert.equal(kubectl("get shapes -n default -o json"), (ok_run("k8s get shapes -n default -o json")))
      local theirs_yaml = kubectl("get shape empty -n default -o yaml")
      assert.matches("\n  args: %[%]\n  count: 3\n  data: {}\n", theirs_yaml)
      assert.equal(theirs_yaml, (ok_run("k8s get shape empty -n default -o yaml")))
      assert.equal(kubectl("get shapes -n default -o jsonpath={.items[0].spec.nested}"),
        (ok_run("k8s get shapes -n default -o jsonpath={.items[0].spec.nested}")))
      -- read back from the offline cache: the same text
      local live = ok_run("k8s get shapes -n default --context vcli-test-proxy -o json")
      local live_one = ok_run("k8s get shape empty -n default --context vcli-test-proxy -o json")
      assert.equal(theirs, live_one)
      spec.sh(H.KUBE .. " proxy refuse")
      local cached, note = ok_run("k8s get shapes -n default --context vcli-test-proxy -o json")
      assert.matches("^offline — as of", note)
      assert.equal(live, cached)
      local cached_one, note1 = ok_run("k8s get shape empty -n default --context vcli-test-proxy -o json")
      assert.matches("^offline — as of", note1)
      assert.equal(live_one, cached_one)
    end)
    spec.sh(H.KUBE .. " proxy pass")
    kubectl("delete crd shapes.spec.vcli.dev --wait=false")
    os.execute("rm -rf " .. dir)
    assert(ok, err)
  end)

  it("-o jsonpath=… and -o custom-columns=… print what kubectl prints", function()
    H.tools.need_kubectl(21, "-o json as kubectl prints it since v1.21 (managedFields hidden)")
    for _, args in ipairs({
      "get ns -o jsonpath={.items[*].metadata.name}",
      [[get pods -n web -o jsonpath={range .items[*]}{.metadata.name}{"\t"}{.spec.containers[0].image}{"\n"}{end}]],
      [[get ns -o jsonpath={range .items[?(@.status.phase=="Active")]}{.metadata.name}{","}{end}]],
      "get ns -o jsonpath={.items[0].metadata.name} {.items[-1:].metadata.name} {.nope} {.items[*].spec}",
      [[get nodes -o jsonpath={.items[*].status.addresses[?(@.type=="InternalIP")].address}]],
      "get deploy api -n checkout -o jsonpath={.spec.template.spec.containers[0].resources}{.metadata.labels}",
      "get deploy api web -n checkout -o jsonpath={.items[*].metadata.name}",
      "get ns -o custom-columns=name:.metadata.name,Phase:{.status.phase},X:.spec.finalizers[*],NONE:.nope",
      "get pods -A -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,IMAGES:.spec.containers[*].image",
      "get svc -A --no-headers -o custom-columns=NAME:.metadata.name,PORTS:.spec.ports[*].port",
      "get ns --sort-by=.metadata.name -o json",
      -- several types or names: one List of them all (a YAML stream of two would lose the first in yq)
      "get deploy,svc -n checkout -o yaml",
      "get deploy,svc -n checkout -o json",
      "get deploy/api svc/api -n checkout -o yaml",
      "get deploy,svc -n checkout -o jsonpath={.items[*].kind}",
      "get deploy,svc -n checkout -o custom-columns=KIND:.kind,NAME:.metadata.name",
    }) do
      -- one word for the shell, one argument for kubectl
      local verb, rest = args:match("^(.-) %-o (.*)$")
      local o = rest:match("^(%S+=.*)$") and rest or nil
      local pre = o and verb or args
      local mine_line = o and ("k8s %s -o '%s'"):format(pre, o:gsub("'", "'\\''")) or ("k8s " .. args)
      local theirs_args = o and ("%s -o '%s'"):format(pre, o:gsub("'", "'\\''")) or args
      -- (kubectl itself, not through H.kubectl's filter, which would end the text with a newline)
      agrees(function() return (H.run(mine_line)) end,
             function() return (spec.sh(("KUBECONFIG='%s' %s %s 2>/dev/null"):format(KC, H.tools.kubectl_cmd(), theirs_args))) end, args)
    end
    -- found ones printed, then what was not found (kubectl goes on past it), status 1
    for _, args in ipairs({ "get deploy api nosuch -n checkout -o yaml", "get deploy/api svc/nosuch -n checkout -o json" }) do
      local out, err, st = H.run("k8s " .. args)
      local theirs, trc = spec.sh(("KUBECONFIG='%s' %s %s 2>/dev/null"):format(KC, H.tools.kubectl_cmd(), args))
      assert.equal(theirs, out, args)
      assert.equal(1, st)
      assert.equal(1, trc)
      assert.matches('^vcli: Error from server %(NotFound%): %S+ "nosuch" not found\n$', err)
    end
    -- --show-kind, --ignore-not-found (nothing said, status 0), --raw: as kubectl prints them
    for _, fargs in ipairs({ "get deploy -n checkout --show-kind", "get ns nosuch default --ignore-not-found",
                             "get ns nosuch --ignore-not-found -o yaml", "get --raw /version",
                             "get --raw /api/v1/namespaces/default" }) do
      agrees(function() return (H.run("k8s " .. fargs)) end,
             function() return (spec.sh(("KUBECONFIG='%s' %s %s 2>/dev/null"):format(KC, H.tools.kubectl_cmd(), fargs))) end, fargs)
      assert.equal(0, select(3, H.run("k8s " .. fargs)), fargs)
    end
    -- the same in a table: the rows found, then one error line per name not found
    local targs = "get ns default nosuch kube-system nope"
    agrees(function() return (H.run("k8s " .. targs)) end,
           function() return (spec.sh(("KUBECONFIG='%s' %s %s 2>/dev/null"):format(KC, H.tools.kubectl_cmd(), targs))) end, targs)
    local _, terr, tst = H.run("k8s " .. targs)
    assert.equal(1, tst)
    assert.equal('vcli: Error from server (NotFound): namespaces "nosuch" not found\n'
      .. 'vcli: Error from server (NotFound): namespaces "nope" not found\n', terr)
    -- bad templates and formats: one line naming what is wrong
    local _, err, st = H.run("k8s get ns -o 'jsonpath={.items['")
    assert.equal(1, st)
    assert.matches("^vcli: error: error parsing jsonpath {%.items%[, unterminated array\n$", err)
    _, err, st = H.run("k8s get ns -o foo")
    assert.equal(1, st)
    assert.matches('unable to match a printer suitable for the output format "foo"', err)
    -- into a shell pipe: laid out as for a pipe (kubectl's widths); a reader leaving early is no error
    agrees(function()
      return spec.sh(("cd %s && KUBECONFIG=%s ./vcli -c 'k8s get pods -A | head -2; k8s get pods -A | wc -l'")
        :format(spec.root, KC))
    end, function()
      local all = kubectl("get pods -A")
      return all:match("^[^\n]*\n[^\n]*\n") .. ("%d\n"):format(select(2, all:gsub("\n", "")))
    end, "k8s get pods -A | head -2; … | wc -l")
    -- kubectl's own formats go through the bridge
    local out = spec.sh(("cd %s && KUBECONFIG=%s ./vcli k8s get ns default -o 'go-template={{.metadata.name}}'")
      :format(spec.root, KC))
    assert.equal("default", out)
  end)

  it("-v 6 logs each request on stderr, -v 8 its headers too, the token masked and never printed", function()
    local out, err, st = H.run("k8s get ns default -v 6")
    assert.equal(0, st, err)
    assert.matches("^NAME%s+STATUS%s+AGE\ndefault%s+Active", out)
    assert.matches("vcli%] GET https://127%.0%.0%.1:%d+/api/v1/namespaces/default%?includeObject=None 200 OK in %d+ milliseconds\n", err)
    assert.falsy(err:find("Authorization"), "headers only from -v 8")
    local _, err8 = H.run("k8s -v 8 get ns nosuch")
    assert.matches("Authorization: Bearer <masked>\n", err8)
    assert.matches("GET [^\n]+/namespaces/nosuch[^\n]* 404 Not Found in %d+ milliseconds\n", err8)
    local kc = assert(io.open(KC)):read("*a")
    for tok in kc:gmatch("token:%s*(%S+)") do assert.falsy(err8:find(tok, 1, true), "a token in the log") end
    local _, quiet = H.run("k8s get ns default")
    assert.equal("", quiet)
  end)

  it("asks for compression unless --disable-compression or the cluster's disable-compression says not to", function()
    -- the OpenAPI document is MiBs: the server compresses it when asked (-v 8 shows its headers)
    local function encoding(kubeconfig, flags)
      local src = ("cd %s && KUBECONFIG=%s ./vcli --norc k8s get --raw /openapi/v2 -v 8 %s 2>&1 >/dev/null")
        :format(spec.root, kubeconfig, flags)
      local log = spec.sh(src)
      assert.matches("Response Headers:\n", log)
      return log:match("\n    Content%-Encoding: (%S+)") or "none"
    end
    assert.equal("gzip", encoding(KC, ""))
    assert.equal("none", encoding(KC, "--disable-compression"))
    local plain = spec.tmpdir() .. "/kubeconfig"
    local kc = assert(io.open(KC)):read("*a")
    spec.write(plain, (kc:gsub("certificate%-authority: ", "disable-compression: true, certificate-authority: ")))
    assert.equal("none", encoding(plain, ""))
    -- kubectl's own view of it
    local view = spec.sh(("KUBECONFIG=%s %s/vcli --norc k8s config view --minify"):format(plain, spec.root))
    assert.matches("disable%-compression: true", view)
  end)

  it("--sort-by orders rows by a JSONPath", function()
    local mine = ok_run("k8s get pods -n team-a --sort-by=.metadata.name --no-headers")
    local names = {}
    for n in mine:gmatch("(%S+)[^\n]*\n") do names[#names + 1] = n end
    local sorted = { unpack(names) }
    table.sort(sorted)
    assert.same(sorted, names)
    assert.truthy(#names > 10)
  end)

  it("says 'No resources found' on stderr like kubectl", function()
    -- several types, none with objects: once
    local out0, err0 = ok_run("k8s get deploy,svc -n kube-public")
    assert.equal("", out0)
    assert.equal("No resources found in kube-public namespace.\n", err0)
    local out, err = ok_run("k8s get pods -n kube-public")
    assert.equal("", out)
    assert.equal("No resources found in kube-public namespace.\n", err)
  end)

  it("client certificate context works; the limited user gets the server's forbidden message", function()
    assert.matches("default%s+Active", ok_run("k8s get ns --context vcli-test-cert"))
    ok_run("k8s get pods --context vcli-test-limited")
    local out, err, st = H.run("k8s get pods -n default --context vcli-test-limited")
    assert.equal(1, st)
    assert.equal("", out)
    assert.equal('vcli: Error from server (Forbidden): pods is forbidden: User "vcli-limited" cannot list resource "pods"'
      .. ' in API group "" in the namespace "default"\n', err)
    no_secret(err)
  end)

  it("exec credential plugin: runs once, cached until it expires; a failing one names file and field", function()
    local dir = spec.tmpdir()
    local count = dir .. "/count"
    local cfg = dir .. "/config"
    spec.write(cfg, ([[
apiVersion: v1
kind: Config
current-context: ex
clusters:
- name: c
  cluster: {server: '%s', certificate-authority: '%s'}
users:
- name: ex
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: %s/spec/support/k8s/exec-credential.sh
      env: [{name: VCLI_TEST_TOKEN, value: '%s'}, {name: VCLI_TEST_EXEC_COUNT, value: '%s'}]
- name: bad
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: %s/spec/support/k8s/exec-credential.sh
      args: [fail]
contexts:
- name: ex
  context: {cluster: c, user: ex}
- name: bad
  context: {cluster: c, user: bad}
]]):format(E.VCLI_KUBE_API, E.VCLI_KUBE_CA, spec.root, E.VCLI_KUBE_ADMIN_TOKEN, count, spec.root))
    local out = ok_run("k8s get ns default --kubeconfig " .. cfg)
    assert.matches("default%s+Active", out)
    ok_run("k8s get ns kube-system --kubeconfig " .. cfg)
    assert.equal("run\n", spec.read(count), "the credential was cached")
    local o2, err, st = H.run("k8s get ns --kubeconfig " .. cfg .. " --context bad")
    assert.equal(1, st)
    assert.equal("", o2)
    assert.matches("config:16: users%[1%]%.user%.exec: .*exec%-credential%.sh exited with status 3: error: login expired", err)
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("ctx and ns switch the session's context and namespace", function()
    assert.matches("%* vcli%-test\n", ok_run("k8s ctx"))
    ok_run("k8s ctx vcli-test-limited")
    -- the limited user may not list namespaces: just the current one
    assert.equal("team-a\n", ok_run("k8s ns"))
    ok_run("k8s ctx vcli-test")
    ok_run("k8s ns payments")
    -- as kubens: the list with the current one starred, "-" for the previous one, unknown ones refused
    local list = ok_run("k8s ns")
    assert.matches("\n%* payments\n", list)
    assert.matches("\n  team%-a\n", list)
    ok_run("k8s ns web")
    ok_run("k8s ns -")
    assert.matches("\n%* payments\n", ok_run("k8s ns"))
    local _, nerr, nst = H.run("k8s ns nosuch")
    assert.equal(1, nst)
    assert.matches('namespace "nosuch" not found in context vcli%-test', nerr)
    assert.matches("\n%* payments\n", ok_run("k8s ns"))
    agrees(function() return H.cells(ok_run("k8s get deploy --no-headers"), true) end,
           function() return H.cells(kubectl("get deploy -n payments --no-headers"), true) end, "deploy in payments")
    ok_run("k8s ns default")
    local _, err, st = H.run("k8s ctx nope")
    assert.equal(1, st)
    assert.matches("context \"nope\" does not exist", err)
  end)

  it("completes resource types, short names and names", function()
    local complete = require("vcli.shell.complete")
    local function words(line)
      local t = {}
      for _, it in ipairs(complete.complete(line).items) do t[it.word] = true end
      return t
    end
    local w = words("k8s get po")
    assert.truthy(w.pods and w.po and w.podtemplates, "types")
    assert.truthy(words("k8s get dep").deployments)
    assert.truthy(words("k8s get al").all, "categories")
    ok_run("k8s get deploy -n checkout")
    assert.truthy(words("k8s get deploy -n checkout ap").api, "names from the cache")
    assert.truthy(words("k8s ctx vcli-test-l")["vcli-test-limited"])
    assert.truthy(words("k8s get pods -n team-")["team-a"], "namespaces")
    -- TYPE/NAME: the type's names after the slash, for get and for the verbs that take items
    assert.truthy(words("k8s get -n checkout deploy/ap")["deploy/api"], "get TYPE/<Tab>")
    assert.truthy(words("k8s describe -n checkout deploy/ap")["deploy/api"], "describe TYPE/<Tab>")
    assert.truthy(words("k8s -n checkout rollout restart deployment/ap")["deployment/api"], "rollout TYPE/<Tab>")
  end)

  it("a discovery cache past its TTL answers at once and is refreshed after the command", function()
    ok_run("k8s get ns default")
    -- make the session's discovery stale and without cronjobs, as if cached before they existed
    H.eval([[local s = require("k8s.plugin_env").session
      local d = s:discovery((s:client({})))
      local keep = {}
      for _, r in ipairs(d.list) do if r.name ~= "cronjobs" then keep[#keep + 1] = r end end
      d.list, d.stale = keep, true]])
    local function has_cj()
      return H.eval([[local s = require("k8s.plugin_env").session
        local d = s:discovery((s:client({})))
        for _, r in ipairs(d.list) do if r.name == "cronjobs" then return not d.stale end end
        return false]])
    end
    assert.falsy(has_cj())
    ok_run("k8s get ns default")
    spec.eventually(has_cj, 10000, "discovery refreshed in the background")
  end)

  it("answers from the cache while the cluster is unreachable, and comes back", function()
    local live = ok_run("k8s get pods -n team-b --context vcli-test-proxy")
    -- the last fetch is what the cache keeps (the deployments' status may move between two fetches)
    local live_yaml = ok_run("k8s get deploy -n web --context vcli-test-proxy -o yaml")
    spec.sh(H.KUBE .. " proxy refuse")
    local out, err, st = H.run("k8s get pods -n team-b --context vcli-test-proxy")
    assert.equal(0, st)
    assert.matches("^offline — as of %d+s ago %(GET https://127%.0%.0%.1:%d+/api/v1/namespaces/team%-b/pods: connection refused%)\n$", err)
    assert.same(H.cells(live, true), H.cells(out, true))
    -- whole lists as -o yaml|json: the items as they were, each format from the one cache
    local oy, ey = ok_run("k8s get deploy -n web --context vcli-test-proxy -o yaml")
    assert.matches("^offline — as of %d+s ago", ey)
    assert.equal(live_yaml, oy)
    local oj = ok_run("k8s get deploy -n web --context vcli-test-proxy -o json")
    assert.same(require("vcli.yaml").decode(oy), require("cjson").decode(oj), "the same items as JSON")
    -- what was never fetched is an error, not an empty answer
    local _, e2, st2 = H.run("k8s get pods -n web --context vcli-test-proxy")
    assert.equal(1, st2)
    assert.matches("connection refused", e2)
    spec.sh(H.KUBE .. " proxy pass")
    local again, err3 = ok_run("k8s get pods -n team-b --context vcli-test-proxy")
    assert.equal("", err3)
    -- live again: the same pods (their restart counts may have moved meanwhile)
    local function names(text) local t = {} for _, r in ipairs(H.cells(text, true)) do t[#t + 1] = r:match("^%S+") end return t end
    assert.same(names(live), names(again))
  end)

  it("Ctrl-C ends a get -w in the shell quietly, and the shell goes on", function()
    local T = dofile("spec/support/tmux.lua")
    if not T.available() then error("tmux is needed for this spec (make deps installs it)", 0) end
    local s = T.start("./vcli", { width = 120, height = 30, env = { KUBECONFIG = KC } })
    local ok, screen = pcall(function()
      s:wait_for("vcli>", 10000)
      s:type("k8s get pods -n web -w")
      s:send("Enter")
      s:wait_for("\nNAME%s+READY", 15000)
      s:send("C-c")
      s:wait_for("vcli: interrupted\n[^\n]*vcli>", 10000)
      s:type("echo after")
      s:send("Enter")
      return s:wait_for("\nafter\n", 5000)
    end)
    s:stop()
    assert.truthy(ok, screen)
    assert.falsy(screen:find("watch dropped", 1, true), "no resume message for a Ctrl-C")
  end)

  it("get -w with -o jsonpath|yaml prints each object as it changes", function()
    kubectl("-n team-b delete pod wj --ignore-not-found")
    kubectl("-n team-b run wj --image=nginx:1.25 --labels=vcli-wj=yes")
    local dir = spec.tmpdir()
    local function watch_to(file, o)
      -- the command in a script of its own: no quoting through two shells
      spec.write(file .. ".sh", ("cd %s && exec env KUBECONFIG=%s ./vcli k8s get pods -n team-b -l vcli-wj=yes -w "
        .. "--watch-timeout 20s -o %s > %s 2>&1\n"):format(spec.root, KC, o, file))
      spec.sh("sh " .. file .. ".sh &")
    end
    watch_to(dir .. "/jp", [['jsonpath={.metadata.name} {.metadata.labels.step}{"\n"}']])
    watch_to(dir .. "/yaml", "yaml")
    -- the list's object first, then each change, one object at a time
    spec.eventually(function() return (spec.read(dir .. "/jp") or ""):match("^wj \n") end, 15000, "the listed pod")
    spec.eventually(function() return (spec.read(dir .. "/yaml") or ""):match("name: wj\n") end, 15000, "the listed pod as YAML")
    kubectl("-n team-b label pod wj step=two")
    spec.eventually(function() return (spec.read(dir .. "/jp") or ""):match("\nwj two\n") end, 15000, "the change")
    spec.eventually(function() return (spec.read(dir .. "/yaml") or ""):match("\n%-%-%-\n.*step: two\n") end, 15000,
      "the change as a second YAML document")
    kubectl("-n team-b delete pod wj --wait=false")
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("get --watch-only prints the changes and not the list before them", function()
    kubectl("-n team-b delete pod wo --ignore-not-found")
    kubectl("-n team-b run wo --image=nginx:1.25 --labels=vcli-wo=yes")
    local dir = spec.tmpdir()
    spec.write(dir .. "/w.sh", ("cd %s && exec env KUBECONFIG=%s ./vcli k8s get pods -n team-b -l vcli-wo=yes --watch-only "
      .. "--watch-timeout 20s -v 6 -o %s > %s/out 2>%s/err\n"):format(spec.root, KC,
      [['jsonpath={.metadata.name} {.metadata.labels.step}{"\n"}']], dir, dir))
    spec.sh("sh " .. dir .. "/w.sh &")
    -- the watch request is made (-v 6 logs it): only then the change
    spec.eventually(function() return (spec.read(dir .. "/err") or ""):find("watch=", 1, true) end, 15000, "the watch request")
    kubectl("-n team-b label pod wo step=two")
    spec.eventually(function() return (spec.read(dir .. "/out") or ""):find("wo two\n", 1, true) end, 15000, "the change")
    assert.equal("wo two\n", spec.read(dir .. "/out"))
    kubectl("-n team-b delete pod wo --wait=false")
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("get -w prints changes live and resumes after the proxy drops the stream, without duplicates", function()
    kubectl("-n team-b delete pod w1 w2 --ignore-not-found")
    local shell = require("vcli.shell")
    local task = async.spawn(function()
      return shell.capture(function()
        return shell.execute("k8s get pods -n team-b --context vcli-test-proxy -w --watch-timeout 12s -l vcli-watch=yes")
      end)
    end)
    -- the watch is open (its stream, a state of the plugin) before anything changes
    local pm = require("vcli.plugin")
    spec.eventually(function() return pm.open_streams("kubernetes", "stream") > 0 end, 30000, "the watch stream")
    kubectl("-n team-b run w1 --image=nginx:1.25 --labels=vcli-watch=yes")
    spec.sh(H.KUBE .. " proxy drop")
    -- dropped: the watch comes back through the proxy (a new stream) and goes on
    kubectl("-n team-b run w2 --image=nginx:1.25 --labels=vcli-watch=yes")
    local ok, status, o, e = task:wait(20000)
    local out = o or ""
    assert.truthy(ok, tostring(status))
    assert.matches("w1%s", out)
    assert.matches("w2%s", out)
    assert.matches("resuming from resourceVersion", e or "")
    -- resumed from the resourceVersion, not re-listed (which would print every row again)
    assert.falsy((e or ""):find("re%-listing"), e)
    local w1_added = select(2, out:gsub("\nw1%s+0/1%s+Pending", ""))
    assert.truthy(w1_added <= 2, "w1 replayed: " .. out)
    kubectl("-n team-b delete pod w1 w2 --ignore-not-found --wait=false")
  end)
end)
