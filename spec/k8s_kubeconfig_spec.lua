-- k8s plugin: kubeconfig reading exactly as kubectl does it, and the small
-- formatting helpers. No cluster needed. Everything runs inside the
-- Kubernetes plugin's own Lua state (the plugin runtime, its grants): the
-- host side here only passes arguments in and copies results out.
local H = dofile("spec/support/k8s/helper.lua")

-- a Lua literal for plain data (the arguments of an in-plugin call)
local function lit(v)
  local t = type(v)
  if t == "string" then return ("%q"):format(v) end
  if t ~= "table" then return tostring(v) end
  local parts = {}
  for k, x in pairs(v) do parts[#parts + 1] = "[" .. lit(k) .. "]=" .. lit(x) end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- call(code, ...): code is a function body run in the plugin with `...` the
-- arguments; an error there is raised here with the same message
local function call(code, ...)
  local args = { n = select("#", ...), ... }
  local a = {}
  for i = 1, args.n do a[i] = lit(args[i]) end
  local res = { H.eval(("local S = __k8s_spec\nreturn pcall(function(...) %s end%s)"):format(code,
    args.n > 0 and (", " .. table.concat(a, ",")) or "")) }
  if not res[1] then error(res[2], 0) end
  return unpack(res, 2, table.maxn(res))
end

local function env_with(vars) return { vars = vars } end

-- the modules, as host-side proxies of the plugin's own
local kubeconfig = {
  load = function(env, opts)
    return call([[local vars, opts = ...
      local kc = S.kubeconfig.load(S.env(vars), opts)
      S.n = S.n + 1; S.kcs[S.n] = kc
      local names = {}
      for k in pairs(kc.contexts or {}) do names[k] = true end
      return { id = S.n, current_context = kc.current_context, contexts = names }]], env.vars, opts or {})
  end,
  resolve = function(env, kc, name)
    return call([[local vars, id, name = ...
      return S.plain(S.kubeconfig.resolve(S.env(vars), S.kcs[id], name ~= false and name or nil))]], env.vars, kc.id, name or false)
  end,
}
local function util_call(fn, ...) return call("return S.util." .. fn .. "(...)", ...) end
local util = setmetatable({}, { __index = function(_, fn) return function(...) return util_call(fn, ...) end end })

local CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

local dir

describe("k8s kubeconfig", function()
  before_all(function()
    H.register({})
    H.eval([[
      __k8s_spec = { kcs = {}, n = 0, kubeconfig = require("k8s.kubeconfig"), util = require("k8s.util"),
                     printer = require("k8s.printer"), client = require("k8s.client") }
      local S = __k8s_spec
      function S.env(vars)
        local e = require("k8s.plugin_env").new()
        e.getenv = function(k) return vars[k] end
        return e
      end
      function S.plain(v, d)
        d = d or 0
        if type(v) ~= "table" then
          if type(v) == "function" or type(v) == "userdata" then return nil end
          return v
        end
        if d > 8 then return nil end
        local t = {}
        for k, x in pairs(v) do t[k] = S.plain(x, d + 1) end
        return t
      end
    ]])
    dir = spec.tmpdir()
    os.execute("mkdir -p " .. dir .. "/a/certs " .. dir .. "/b")
    spec.write(dir .. "/a/certs/ca.crt", CA)
    spec.write(dir .. "/a/certs/u.crt", "CERT")
    spec.write(dir .. "/a/certs/u.key", "KEY")
    spec.write(dir .. "/a/tok", "  s3cr3t-token-from-file\n")
    spec.write(dir .. "/a/config", [[
apiVersion: v1
kind: Config
current-context: one
clusters:
- name: c1
  cluster:
    server: https://one.example:6443/
    certificate-authority: certs/ca.crt
    tls-server-name: kube.internal
    proxy-url: http://proxy:3128
users:
- name: u1
  user:
    client-certificate: certs/u.crt
    client-key: certs/u.key
- name: tf
  user:
    tokenFile: tok
- name: broken
  user:
    client-certificate: /x/y.crt
    client-key: /x/y.key
contexts:
- name: one
  context: {cluster: c1, user: u1, namespace: ns1}
- name: tf
  context: {cluster: c1, user: tf}
- name: broken
  context: {cluster: c1, user: broken}
- name: nocluster
  context: {cluster: nope, user: u1}
]])
    spec.write(dir .. "/b/config", [[
apiVersion: v1
current-context: two
clusters:
- name: c1
  cluster: {server: "https://should-not-win:1"}
- name: c2
  cluster:
    server: https://two.example
    certificate-authority-data: ]] .. util.base64_encode(CA) .. [[

    insecure-skip-tls-verify: false
users:
- name: u2
  user:
    token: abc.def.ghi
    as: jane
    as-groups: [devs, ops]
- name: ex
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./plugin.sh
      args: [--flag]
      env: [{name: A, value: b}]
      provideClusterInfo: true
contexts:
- name: two
  context: {cluster: c2, user: u2}
- name: one
  context: {cluster: c2, user: u2}
- name: ex
  context: {cluster: c2, user: ex}
]])
  end)
  after_all(function() os.execute("rm -rf '" .. dir .. "'") end)

  it("merges KUBECONFIG files: first file naming an entry wins, first current-context wins", function()
    local env = env_with({ KUBECONFIG = dir .. "/a/config:" .. dir .. "/b/config", HOME = "/nonexistent" })
    local kc = kubeconfig.load(env)
    assert.equal("one", kc.current_context)
    local conn = kubeconfig.resolve(env, kc, nil)
    assert.equal("https://one.example:6443", conn.server, "c1 from the first file, trailing slash dropped")
    assert.equal("ns1", conn.namespace)
    assert.equal(CA, conn.ca_pem, "relative CA path resolved against its own file")
    assert.equal("CERT", conn.cert_pem)
    assert.equal("KEY", conn.key_pem)
    assert.equal("kube.internal", conn.server_name)
    assert.equal("http://proxy:3128", conn.proxy)
    -- a context named in both files: the first file's
    assert.equal("c1", conn.cluster_name)
    local two = kubeconfig.resolve(env, kc, "two")
    assert.equal("https://two.example", two.server)
    assert.equal(CA, two.ca_pem, "certificate-authority-data decoded")
    assert.equal("abc.def.ghi", two.token)
    assert.equal("default", two.namespace)
    assert.same({ user = "jane", groups = { "devs", "ops" } }, two.impersonate)
  end)

  it("--kubeconfig reads that file only", function()
    local env = env_with({ KUBECONFIG = dir .. "/a/config", HOME = "/nonexistent" })
    local kc = kubeconfig.load(env, { kubeconfig = dir .. "/b/config" })
    assert.equal("two", kc.current_context)
    assert.equal(nil, kc.contexts.tf)
  end)

  it("reads tokenFile and exec settings (relative command resolved, env and args kept)", function()
    local env = env_with({ KUBECONFIG = dir .. "/a/config:" .. dir .. "/b/config" })
    local kc = kubeconfig.load(env)
    assert.equal("s3cr3t-token-from-file", kubeconfig.resolve(env, kc, "tf").token)
    local ex = kubeconfig.resolve(env, kc, "ex").exec
    assert.equal(dir .. "/b/./plugin.sh", ex.command)
    assert.same({ "--flag" }, ex.args)
    assert.same({ { "A", "b" } }, ex.env)
    assert.truthy(ex.provide_cluster_info)
    assert.equal("https://two.example", ex.cluster.server)
  end)

  it("names file, line and field for a missing certificate file", function()
    local env = env_with({ KUBECONFIG = dir .. "/a/config" })
    local kc = kubeconfig.load(env)
    local ok, err = pcall(kubeconfig.resolve, env, kc, "broken")
    assert.falsy(ok)
    assert.equal(dir .. "/a/config:21: users[2].user.client-certificate: no such file /x/y.crt", err)
  end)

  it("names the file for an unknown context, cluster or a malformed file", function()
    local env = env_with({ KUBECONFIG = dir .. "/a/config" })
    local kc = kubeconfig.load(env)
    local ok, err = pcall(kubeconfig.resolve, env, kc, "nope")
    assert.falsy(ok)
    assert.matches("context \"nope\" does not exist %(contexts: broken, nocluster, one, tf%)", err)
    ok, err = pcall(kubeconfig.resolve, env, kc, "nocluster")
    assert.falsy(ok)
    assert.matches("/a/config:%d+: contexts%[3%]%.context%.cluster: cluster \"nope\" does not exist", err)
    spec.write(dir .. "/bad", "clusters:\n- name: x\n  cluster: {server: [}\n")
    ok, err = pcall(kubeconfig.load, env_with({ KUBECONFIG = dir .. "/bad" }))
    assert.falsy(ok)
    assert.matches("^" .. dir:gsub("%p", "%%%0") .. "/bad:3:%d+: ", err)
    spec.write(dir .. "/bad2", "users:\n- name: u\n  user:\n    exec: {command: x, apiVersion: client.authentication.k8s.io/v1alpha1}\n")
    local e2 = env_with({ KUBECONFIG = dir .. "/bad2" })
    spec.write(dir .. "/bad2", "current-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\nclusters:\n"
      .. "- name: k\n  cluster: {server: https://x}\nusers:\n- name: u\n  user:\n"
      .. "    exec: {command: x, apiVersion: client.authentication.k8s.io/v1alpha1}\n")
    ok, err = pcall(kubeconfig.resolve, e2, kubeconfig.load(e2), nil)
    assert.falsy(ok)
    assert.matches("bad2:11: users%[0%]%.user%.exec%.apiVersion: \"client.authentication.k8s.io/v1alpha1\" is not supported", err)
  end)

  it("says which file is missing when --kubeconfig names none", function()
    local env = env_with({})
    local ok, err = pcall(kubeconfig.load, env, { kubeconfig = dir .. "/none" })
    assert.falsy(ok)
    assert.matches("/none: cannot read the kubeconfig", err)
  end)

  it("never shows a token in an error", function()
    local env = env_with({ KUBECONFIG = dir .. "/b/config" })
    local kc = kubeconfig.load(env)
    local msg = call([[local vars, id = ...
      local e = S.env(vars)
      local c = S.client.new(e, S.kubeconfig.resolve(e, S.kcs[id], "two"))
      return c:redact("failed with Authorization: Bearer abc.def.ghi and abc.def.ghi")]], env.vars, kc.id)
    assert.falsy(msg:find("abc.def.ghi", 1, true), msg)
  end)
end)

describe("k8s formatting", function()
  it("formats ages like kubectl's HumanDuration", function()
    local cases = { { 5, "5s" }, { 119, "119s" }, { 120, "2m" }, { 150, "2m30s" }, { 600, "10m" }, { 3 * 3600 + 12 * 60, "3h12m" },
                    { 8 * 3600 + 60, "8h" }, { 50 * 3600, "2d2h" }, { 30 * 86400, "30d" }, { 3 * 365 * 86400, "3y" } }
    for _, c in ipairs(cases) do assert.equal(c[2], util.human_duration(c[1]), tostring(c[1])) end
  end)

  it("parses RFC 3339 times", function()
    assert.equal(0, util.parse_time("1970-01-01T00:00:00Z"))
    assert.equal(1700000000, util.parse_time("2023-11-14T22:13:20Z"))
    assert.equal(1700000000, util.parse_time("2023-11-15T00:13:20+02:00"))
  end)

  it("round-trips base64", function()
    for _, s in ipairs({ "", "a", "ab", "abc", "abcd", "\0\255binary" }) do
      assert.equal(s, util.base64_decode(util.base64_encode(s)))
    end
  end)

  it("aligns columns like kubectl's tabwriter", function()
    local out = call([[local out = {}
      local tp = S.printer.table_printer({ out = function(s) out[#out + 1] = s end })
      tp:feed({ columnDefinitions = { { name = "Name", priority = 0 }, { name = "Status", priority = 0 }, { name = "IP", priority = 1 },
        { name = "Age", priority = 0 } }, rows = { { cells = { "default", "Active", "1.2.3.4", "5m" } } } })
      return table.concat(out)]])
    assert.equal("NAME      STATUS   AGE\ndefault   Active   5m\n", out)
  end)

  it("prints JSON as kubectl does (4 spaces, sorted keys, HTML-safe escapes)", function()
    local text = call([[local e = S.env({})
      local enc = S.printer.json_encoder(e.jsonfmt, e.json.array_mt)
      return enc({ b = {}, a = { 1, "x/<y>" } })]])
    assert.equal('{\n    "a": [\n        1,\n        "x/\\u003cy\\u003e"\n    ],\n    "b": {}\n}', text)
  end)

  it("reads aggregated discovery (apidiscovery v2): preferred versions first, other versions' extra resources", function()
    -- the shape /apis answers Kubernetes 1.26+ clients that ask for it (k8s.io/api/apidiscovery/v2)
    local doc = [=[{"kind":"APIGroupDiscoveryList","apiVersion":"apidiscovery.k8s.io/v2","metadata":{},"items":[
      {"metadata":{"name":"apps"},"versions":[{"version":"v1","freshness":"Current","resources":[
        {"resource":"deployments","responseKind":{"group":"apps","version":"v1","kind":"Deployment"},
         "scope":"Namespaced","singularResource":"deployment","verbs":["get","list"],"shortNames":["deploy"],"categories":["all"]}]}]},
      {"metadata":{"name":"batch"},"versions":[
        {"version":"v1","resources":[{"resource":"jobs","responseKind":{"kind":"Job"},"scope":"Namespaced","singularResource":"job"}]},
        {"version":"v1beta1","resources":[
          {"resource":"jobs","responseKind":{"kind":"Job"},"scope":"Namespaced","singularResource":"job"},
          {"resource":"cronjobs","responseKind":{"kind":"CronJob"},"scope":"Namespaced","singularResource":"cronjob",
           "shortNames":["cj"]}]}]},
      {"metadata":{"name":"storage.k8s.io"},"versions":[{"version":"v1","resources":[
        {"resource":"storageclasses","responseKind":{"kind":"StorageClass"},"scope":"Cluster","shortNames":["sc"]}]}]}]}]=]
    local ok, text, plain = call([[local d = require("k8s.discovery")
      local out = {}
      local ok = d.from_aggregated(S.env({}).json.decode(...), out)
      local t = {}
      for _, r in ipairs(out) do
        t[#t + 1] = table.concat({ r.gv, r.name, r.kind, tostring(r.namespaced), table.concat(r.shortNames, "+") }, " ")
      end
      return ok, table.concat(t, "\n"), d.from_aggregated({ kind = "APIGroupList", groups = {} }, out)]], doc)
    assert.equal(table.concat({ "apps/v1 deployments Deployment true deploy", "batch/v1 jobs Job true ",
      "batch/v1beta1 cronjobs CronJob true cj", "storage.k8s.io/v1 storageclasses StorageClass false sc" }, "\n"), text)
    assert.equal(true, ok)
    assert.equal(false, plain, "a plain APIGroupList is not taken for aggregated discovery")
  end)

  it("config view prints the kubeconfig as kubectl does: key data and tokens redacted unless --raw, exec's defaults", function()
    local kdir = spec.tmpdir()
    spec.write(kdir .. "/kc", [[
apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster: { server: "https://1.2.3.4:6443", certificate-authority-data: QUJD, insecure-skip-tls-verify: false }
users:
- name: u1
  user: { client-certificate-data: QUJD, client-key-data: QUJD, token: s3cr3t }
- name: u2
  user: { username: bob, password: hunter2, exec: { apiVersion: client.authentication.k8s.io/v1beta1, command: aws,
          args: [eks, get-token] } }
contexts:
- name: one
  context: { cluster: c1, user: u1, namespace: ns1 }
- name: two
  context: { cluster: c1, user: u2 }
current-context: one
]])
    for _, args in ipairs({ "config view", "config view -o json", "config view --context two --minify",
                            "config view --raw", "config view --minify -o json" }) do
      local mine = spec.sh(("KUBECONFIG='%s/kc' %s k8s %s 2>&1"):format(kdir, spec.vcli, args))
      local theirs = spec.sh(("KUBECONFIG='%s/kc' %s %s 2>&1"):format(kdir, H.tools.kubectl_cmd(), args))
      assert.equal(theirs, mine, args)
      if not args:find("raw") then
        assert.falsy(mine:find("s3cr3t") or mine:find("hunter2") or mine:find("QUJD"), args)
      end
    end
    os.execute("rm -rf '" .. kdir .. "'")
  end)
end)
