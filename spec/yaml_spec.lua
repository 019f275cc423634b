-- vcli.yaml: decoding what Kubernetes users write, encoding what kubectl prints.
local yaml = require("vcli.yaml")
local vm = require("vcli.vm")
local null = yaml.null

local KUBECONFIG = [[
apiVersion: v1
kind: Config
preferences: {}
current-context: kind-dev
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
    server: https://127.0.0.1:6443
  name: kind-dev
- cluster:
    insecure-skip-tls-verify: true
    server: "https://10.0.0.1:443"
  name: lab
contexts:
- context:
    cluster: kind-dev
    namespace: default
    user: kind-dev
  name: kind-dev
users:
- name: kind-dev
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: ["eks", "get-token", "--cluster-name", dev]
      env: null
]]

local DEPLOYMENT = [[
# a realistic manifest, comments and all
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: &labels
    app.kubernetes.io/name: web
    tier: "frontend"
  annotations:
    deployment.kubernetes.io/revision: "3"
    note: 'it''s fine: really'
spec:
  replicas: 3
  revisionHistoryLimit: 0x0A
  selector:
    matchLabels: *labels
  template:
    metadata:
      labels:
        <<: *labels
        version: v2
    spec:
      containers:
      - name: web
        image: nginx:1.25
        args:
        - --port=8080
        - --verbose
        ports:
        - containerPort: 8080
          protocol: TCP
        env:
        - name: DEBUG
          value: "true"
        - name: EMPTY
          value: ""
        resources:
          limits: {cpu: 500m, memory: 128Mi}
        command: []
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
          initialDelaySeconds: 5
          periodSeconds: 2.5
      volumes:
      - name: config
        configMap:
          name: web-config
          defaultMode: 0644
      - name: script
        configMap:
          items:
          - key: run.sh
            path: run.sh
      initContainers: ~
  strategy:
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
    type: RollingUpdate
]]

-- An error is one line, "name:line:col: ...".
local function assert_error_at(name, line, col, err)
  assert.truthy(err, "expected an error")
  assert.falsy(err:find("\n"), "error spans several lines: " .. err)
  assert.matches("^" .. name:gsub("%p", "%%%0") .. ":" .. line .. ":" .. col .. ": ", err)
end

describe("yaml.decode", function()
  it("reads a kubeconfig", function()
    local c = assert(yaml.decode(KUBECONFIG, "config"))
    assert.equal("kind-dev", c["current-context"])
    assert.equal(2, #c.clusters)
    assert.equal("https://127.0.0.1:6443", c.clusters[1].cluster.server)
    assert.equal("https://10.0.0.1:443", c.clusters[2].cluster.server)
    assert.equal(true, c.clusters[2].cluster["insecure-skip-tls-verify"])
    assert.same({ "eks", "get-token", "--cluster-name", "dev" }, c.users[1].user.exec.args)
    assert.equal(null, c.users[1].user.exec.env)
    assert.same({}, c.preferences)
  end)

  it("reads a Deployment with anchors, merge keys and flow collections", function()
    local d = assert(yaml.decode(DEPLOYMENT, "web.yaml"))
    assert.equal(3, d.spec.replicas)
    assert.equal(10, d.spec.revisionHistoryLimit)
    assert.same({ ["app.kubernetes.io/name"] = "web", tier = "frontend" }, d.spec.selector.matchLabels)
    assert.same({ ["app.kubernetes.io/name"] = "web", tier = "frontend", version = "v2" },
      d.spec.template.metadata.labels)
    local c = d.spec.template.spec.containers[1]
    assert.same({ "--port=8080", "--verbose" }, c.args)
    assert.equal(8080, c.ports[1].containerPort)
    assert.equal("true", c.env[1].value)
    assert.equal("", c.env[2].value)
    assert.same({ cpu = "500m", memory = "128Mi" }, c.resources.limits)
    assert.equal(2.5, c.readinessProbe.periodSeconds)
    assert.equal(0, #c.command)
    assert.equal(yaml.array_mt, getmetatable(c.command))
    assert.equal("it's fine: really", d.metadata.annotations.note)
    assert.equal("3", d.metadata.annotations["deployment.kubernetes.io/revision"])
    -- kubectl reads a leading-zero mode as octal: 0644 is 420, not 644
    assert.equal(420, d.spec.template.spec.volumes[1].configMap.defaultMode)
    assert.equal(null, d.spec.template.spec.initContainers)
    assert.equal("25%", d.spec.strategy.rollingUpdate.maxSurge)
  end)

  it("resolves plain scalars like the YAML 1.2 core schema", function()
    local cases = {
      { "~", null }, { "null", null }, { "Null", null }, { "NULL", null }, { "", null },
      { "true", true }, { "True", true }, { "TRUE", true }, { "false", false }, { "FALSE", false },
      { "yes", "yes" }, { "no", "no" }, { "on", "on" }, { "nulls", "nulls" }, { "truex", "truex" },
      { "0", 0 }, { "42", 42 }, { "-17", -17 }, { "+5", 5 }, { "0x1F", 31 }, { "0o17", 15 },
      { "0755", 493 }, { "089", 89 }, { "1.5", 1.5 }, { "-0.25", -0.25 }, { ".5", 0.5 },
      { "1e3", 1000 }, { "6.02E+23", 6.02e23 }, { ".inf", math.huge }, { "-.Inf", -math.huge },
      { "1_000", "1_000" }, { "1.2.3", "1.2.3" }, { "0x", "0x" }, { "12abc", "12abc" },
      { "100Mi", "100Mi" }, { "500m", "500m" }, { "-x", "-x" }, { ".", "." }, { "2021-01-01", "2021-01-01" },
      { '"123"', "123" }, { "'true'", "true" }, { '""', "" }, { "'~'", "~" },
      { "!!str 123", "123" }, { "!!str true", "true" }, { "!!int 7", 7 }, { "!!float 7", 7 },
      { "!!bool false", false }, { "!!null ~", null }, { "! 12", "12" }, { "!Ref 12", 12 },
    }
    for _, case in ipairs(cases) do
      local v, err = yaml.decode("v: " .. case[1] .. "\n")
      assert.truthy(v, err)
      assert.equal(case[2], v.v, "decoding " .. case[1])
      assert.equal(type(case[2]), type(v.v), "type of " .. case[1])
    end
    local nan = yaml.decode("v: .nan").v
    assert.truthy(nan ~= nan, ".nan is NaN")
  end)

  it("refuses a tag whose value does not fit it", function()
    local v, err = yaml.decode("a: 1\nb: !!int twelve\n", "t.yaml")
    assert.equal(nil, v)
    assert_error_at("t.yaml", 2, 4, err)
    assert.matches("!!int", err)
  end)

  it("turns non-string keys into strings", function()
    local v = assert(yaml.decode("1: a\ntrue: b\n~: c\n0x10: d\n"))
    assert.same({ ["1"] = "a", ["true"] = "b", ["~"] = "c", ["0x10"] = "d" }, v)
  end)

  it("reads literal and folded blocks", function()
    local v = assert(yaml.decode("a: |\n  line 1\n    indented\n\n  end\nb: >-\n  folded\n  text\nc: |-\n  x\n"))
    assert.equal("line 1\n  indented\n\nend\n", v.a)
    assert.equal("folded text", v.b)
    assert.equal("x", v.c)
  end)

  it("names file, line and column in one-line errors", function()
    local bad = {
      -- bad indentation: a key deeper than its siblings
      { "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   labels: {}\n", 5, 10 },
      -- unclosed quote: reported where the input ends, naming the scalar's start
      { "a: 1\nb: \"unterminated\nc: 3\n", 4, 1, "quoted scalar at line 2" },
      -- tabs for indentation
      { "spec:\n\treplicas: 3\n", 2, 1, "tab" },
      -- duplicate key: reported at the second occurrence
      { "metadata:\n  name: a\n  labels: {}\n  name: b\n", 4, 3, 'duplicate key "name"' },
      { "a: [1, 2\nb: 3\n", 2, 2, "flow sequence at line 1" },
      { "a: *nowhere\n", 1, 4, "unknown alias" },
      { "- a\nb: 1\n", 2, 1 },
    }
    for _, case in ipairs(bad) do
      local v, err = yaml.decode(case[1], "deploy.yaml")
      assert.equal(nil, v, "decoding should fail: " .. case[1])
      assert_error_at("deploy.yaml", case[2], case[3], err)
      if case[4] then assert.truthy(err:find(case[4], 1, true), err) end
    end
    local _, err = yaml.decode("a: 'x\n")
    assert.matches("^<string>:2:1: ", err)
  end)

  it("says which line a duplicate key's mapping starts on", function()
    local _, err = yaml.decode("a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\n", "d.yaml")
    assert.equal('d.yaml:5:3: duplicate key "x" (in the mapping that starts at line 3)', err)
  end)

  it("points at the bad byte of input that is not UTF-8", function()
    local _, err = yaml.decode("a: ok\nb: caf\233\n", "latin1.yaml")
    assert_error_at("latin1.yaml", 2, 7, err)
    assert.matches("UTF%-8", err)
  end)

  it("records where every value came from with lines = true", function()
    local doc, lines = yaml.decode(KUBECONFIG, "c.yaml", { lines = true })
    assert.equal(5, lines[doc].clusters)
    assert.equal(4, lines[doc]["current-context"])
    assert.equal(1, lines[doc].__line)
    local first = doc.clusters[1]
    assert.equal(6, lines[doc.clusters][1])
    assert.equal(10, lines[doc.clusters][2])
    assert.equal(9, lines[first].name)
    assert.equal(8, lines[first.cluster].server)
    assert.equal(7, lines[first.cluster].__line)
    assert.equal("k", getmetatable(lines).__mode, "keys are weak")
    local _, none = yaml.decode("a: 1")
    assert.equal(nil, none)
  end)

  it("refuses a billion-laughs alias bomb quickly", function()
    local lines = { "a: &a [x, x, x, x, x, x, x, x, x, x]" }
    local prev = "a"
    for i, name in ipairs({ "b", "c", "d", "e", "f", "g", "h", "i" }) do
      lines[#lines + 1] = ("%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]"):format(
        name, name, prev, prev, prev, prev, prev, prev, prev, prev, prev, prev)
      prev = name
      assert(i)
    end
    local t0 = vm.now()
    local v, err = yaml.decode(table.concat(lines, "\n") .. "\n", "bomb.yaml")
    assert.equal(nil, v)
    assert.matches("^bomb%.yaml:%d+:%d+: aliases expand to more than", err)
    assert.truthy(vm.now() - t0 < 1000, "took too long")
    -- modest alias use is fine and shares the anchored table
    local ok = assert(yaml.decode("base: &b {a: 1}\nx: *b\ny: *b\n"))
    assert.equal(ok.x, ok.y)
  end)

  it("refuses nesting deeper than its limit", function()
    local v, err = yaml.decode(string.rep("[", 300) .. string.rep("]", 300), "deep.yaml")
    assert.equal(nil, v)
    assert.matches("^deep%.yaml:1:201: nesting deeper than 200 levels", err)
    assert.truthy(yaml.decode(string.rep("[", 150) .. string.rep("]", 150)))
  end)

  it("reads one document; a stream needs decode_all", function()
    assert.equal(null, yaml.decode(""))
    assert.equal(null, yaml.decode("# only a comment\n"))
    local v, err = yaml.decode("a: 1\n---\nb: 2\n", "two.yaml")
    assert.equal(nil, v)
    assert.matches("^two%.yaml:2:1: .*decode_all", err)
  end)

  it("decodes a 1 MB manifest list fast", function()
    local parts = { "apiVersion: v1\nkind: List\nitems:\n" }
    local item = [[
- apiVersion: v1
  kind: Pod
  metadata:
    name: pod-%d
    namespace: default
    labels: {app: web, index: "%d"}
  spec:
    containers:
    - name: c
      image: "registry.example.com/team/app:v1.2.%d"
      ports: [{containerPort: 8080}, {containerPort: 9090}]
      env:
      - {name: A, value: "x"}
]]
    local n, size = 0, 0
    while size < 1024 * 1024 do
      n = n + 1
      parts[#parts + 1] = item:format(n, n, n)
      size = size + #parts[#parts]
    end
    local text = table.concat(parts)
    local t0 = vm.now()
    local v = assert(yaml.decode(text, "big.yaml"))
    local ms = vm.now() - t0
    assert.equal(n, #v.items)
    assert.equal("pod-" .. n, v.items[n].metadata.name)
    assert.equal(tostring(n), v.items[n].metadata.labels.index)
    assert.equal(9090, v.items[n].spec.containers[1].ports[2].containerPort)
    -- well under 100 ms in an optimised build; sanitizer builds get slack
    assert.truthy(ms < 1000, ("decoding 1 MB took %.0f ms"):format(ms))
  end)
end)

describe("yaml.decode_all", function()
  it("reads every document of a --- stream, skipping empty ones", function()
    local docs = assert(yaml.decode_all("---\na: 1\n---\n# nothing here\n---\n- x\n---\nnull\n...\n"))
    assert.equal(3, #docs)
    assert.same({ a = 1 }, docs[1])
    assert.same({ "x" }, docs[2])
    assert.equal(null, docs[3])
    assert.same({}, yaml.decode_all(""))
  end)

  it("keeps anchors to their own document", function()
    local docs, err = yaml.decode_all("a: &x 1\n---\nb: *x\n", "s.yaml")
    assert.equal(nil, docs)
    assert_error_at("s.yaml", 3, 4, err)
  end)

  it("reports errors with the line in the whole stream", function()
    local _, err = yaml.decode_all("a: 1\n---\nb: 2\n---\nc: [\n", "s.yaml")
    assert_error_at("s.yaml", 6, 1, err)
  end)

  it("gives lines for every document", function()
    local docs, lines = yaml.decode_all("a: 1\n---\nb:\n  c: 2\n", "s.yaml", { lines = true })
    assert.equal(3, lines[docs[2]].b)
    assert.equal(4, lines[docs[2].b].c)
  end)
end)

describe("yaml.encode", function()
  local function roundtrip(v)
    local text = yaml.encode(v)
    local back, err = yaml.decode(text, "encoded")
    assert.truthy(back ~= nil, (err or "") .. "\n" .. text)
    assert.same(v, back, "round trip of:\n" .. text)
    return text
  end

  it("writes block style the way kubectl does", function()
    local text = yaml.encode({
      kind = "Pod", apiVersion = "v1",
      metadata = { name = "x", labels = { b = "2", a = "1" } },
      spec = { containers = { { name = "c", image = "nginx", args = { "--a", "b c" },
        ports = { { containerPort = 80 } } } }, volumes = setmetatable({}, yaml.array_mt),
        nodeSelector = {} },
    })
    assert.equal([[
apiVersion: v1
kind: Pod
metadata:
  labels:
    a: "1"
    b: "2"
  name: x
spec:
  containers:
  - args:
    - --a
    - b c
    image: nginx
    name: c
    ports:
    - containerPort: 80
  nodeSelector: {}
  volumes: []
]], text)
  end)

  it("round-trips a Deployment and a kubeconfig", function()
    roundtrip(assert(yaml.decode(DEPLOYMENT)))
    roundtrip(assert(yaml.decode(KUBECONFIG)))
  end)

  it("round-trips lists of lists, empty collections and scalars", function()
    roundtrip({ matrix = { { 1, 2 }, { 3, { 4, { a = 5 } } } }, e = {}, l = setmetatable({}, yaml.array_mt),
      n = null, t = true, f = false, pi = 3.14159, big = 2 ^ 53, small = 1e-9, neg = -42, huge = 1e300 })
    assert.equal("- - 1\n  - 2\n- {}\n", yaml.encode({ { 1, 2 }, {} }))
    assert.equal("hello\n", yaml.encode("hello"))
    assert.equal("null\n", yaml.encode(null))
    assert.equal("42\n", yaml.encode(42))
    assert.equal("1.5\n", yaml.encode(1.5))
    assert.equal(".inf\n", yaml.encode(math.huge))
  end)

  it("quotes strings that would read back as something else", function()
    local ambiguous = { "true", "False", "yes", "no", "on", "off", "y", "n", "null", "~", "", "123", "0644",
      "0x1F", "1e3", "1.5", ".inf", "-1", "1_000", "12:30", "2024-01-01", " lead", "trail ", "a: b", "a #b",
      "#comment", "- item", "-", "*star", "&amp", "!bang", "|pipe", ">gt", "'q", '"dq', "%pct", "@at",
      "`tick", "{brace", "[bracket", "key:", "---", "...", "tab\tinside", "bell\7", "nul\0byte",
      "line\226\128\168sep", "<<", "0b101", "0o17" }
    for _, s in ipairs(ambiguous) do
      local text = yaml.encode({ v = s })
      local back = assert(yaml.decode(text), text)
      assert.equal(s, back.v, "round trip of " .. ("%q"):format(s) .. " via " .. text)
      if s ~= "tab\tinside" and s ~= "<<" then
        assert.matches("^v: [\"']", text, ("%q should be quoted"):format(s))
      end
      local ktext = yaml.encode({ [s] = 1 })
      assert.equal(1, assert(yaml.decode(ktext), ktext)[s], "key " .. ("%q"):format(s))
    end
    -- ... and leaves everyday values alone
    for _, s in ipairs({ "nginx:1.25", "100Mi", "500m", "--port=8080", "https://x:6443/a?b=c#d",
      "app.kubernetes.io/name", "a b c", "-x", "v1.2", "é ü 日本", "x:y", "127.0.0.1", "10.0.0.0/8", "1.2.3",
      -- a prefix with digits of another base is no number to Go (a token that starts 0b7…)
      "0b79d5757a2938fd0f43300a9c0fc6ef", "0o19", "0xzz" }) do
      assert.equal("v: " .. s .. "\n", yaml.encode({ v = s }))
    end
  end)

  it("writes multi-line strings as literal blocks", function()
    local script = "#!/bin/sh\nset -e\n\necho \"hi\"\n"
    local text = roundtrip({ data = { ["run.sh"] = script, nofinal = "a\nb", extra = "a\n\n\n",
      lead = "\nx\n", indented = "  x\ny\n", trailing = "x  \ny\n", cr = "a\r\nb\n" } })
    assert.matches("run%.sh: |\n    #!/bin/sh\n    set %-e\n\n    echo \"hi\"\n", text)
    assert.matches("nofinal: |%-\n    a\n    b\n", text)
    assert.matches("extra: |%+\n", text)
    roundtrip({ { script, "x" } })
    roundtrip("top\nlevel\n")
  end)

  it("carries bytes that are not UTF-8 as !!binary", function()
    local bytes = "\0\1\2\255\254 binary\128"
    local text = yaml.encode({ blob = bytes })
    assert.matches("^blob: !!binary ", text)
    assert.equal(bytes, yaml.decode(text).blob)
  end)

  it("refuses cycles and values YAML cannot hold", function()
    local t = { a = {} }
    t.a.back = t
    assert.has_error(function() yaml.encode(t) end, "cycle")
    assert.has_error(function() yaml.encode({ f = print }) end, "cannot encode a function")
    assert.has_error(function() yaml.encode({ [true] = 1 }) end, "mapping key")
    -- shared (acyclic) tables are fine
    local shared = { x = 1 }
    assert.equal("a:\n  x: 1\nb:\n  x: 1\n", yaml.encode({ a = shared, b = shared }))
  end)

  it("writes a stream with encode_all", function()
    local text = yaml.encode_all({ { a = 1 }, { b = { 1, 2 } } })
    assert.equal("a: 1\n---\nb:\n- 1\n- 2\n", text)
    assert.same({ { a = 1 }, { b = { 1, 2 } } }, yaml.decode_all(text))
  end)
  it("a string ending in several line breaks comes back whole, also as a whole document (|+)", function()
    for _, str in ipairs({ "a\n\n", "a\nb\n\n\n", "qA\n\n\n\n\n\n\n" }) do
      assert.equal(str, yaml.decode(yaml.encode(str)))
      assert.equal(str, yaml.decode(yaml.encode({ k = str })).k)
      assert.equal(str, yaml.decode_all(yaml.encode_all({ str, str }))[2])
    end
  end)
end)
