-- Writes the seed corpora of spec/fuzz/corpus/TARGET from the repository's
-- own files and the specs' examples (run from the checkout, then commit):
--   ./vcli -l spec/fuzz/seed.lua
local function write(t, name, data)
  os.execute("mkdir -p spec/fuzz/corpus/" .. t)
  local f = assert(io.open(("spec/fuzz/corpus/%s/%s"):format(t, name), "wb"))
  f:write(data)
  f:close()
end
local function read(p) local f = io.open(p, "rb") if not f then return nil end local s = f:read("*a") f:close() return s end
local function files(glob)
  local out = {}
  local p = io.popen("ls " .. glob .. " 2>/dev/null")
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  return out
end

-- YAML: the manifests, the default rc/config files, the specs' config fixtures, and the tricky bits
local n = 0
for _, f in ipairs(files("plugins/*/plugin.yaml rc/*.yaml rc/*.yml spec/support/config/*.yaml spec/support/config/*/*.yaml")) do
  n = n + 1
  write("yaml", ("file%02d.yaml"):format(n), read(f))
  write("plugin_manifest", ("file%02d.yaml"):format(n), read(f))
end
local yamls = {
  anchors = "base: &b {a: 1, b: [1, 2]}\nother: *b\nmerged:\n  <<: *b\n  c: 3\n",
  multi = "---\na: 1\n---\n- x\n- y\n...\n",
  scalars = "i: 0x1f\nf: 1.5e3\nn: ~\nb: yes\ns: '01'\nd: 2024-01-01\nnan: .nan\ninf: -.inf\nbig: 123456789012345678901234567890\n",
  block = "lit: |\n  line 1\n   line 2\nfold: >-\n  a\n  b\nkey with spaces: \"quoted \\u00e9 \\t\"\n",
  nested = "a:\n  b:\n    c:\n      - d: [1, {e: f}]\n        g: !!str 12\n",
  manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n  replicas: 2\n"
    .. "  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1\n        ports: [{containerPort: 80}]\n",
}
for k, v in pairs(yamls) do write("yaml", k .. ".yaml", v) end

-- JSON: a Table, an object, arrays, escapes, numbers
local jsons = {
  object = '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","labels":{"app":"web"},"annotations":{}},'
    .. '"spec":{"containers":[{"name":"app","image":"web:1","args":[]}]},"status":{"phase":"Running"}}',
  table = '{"kind":"Table","apiVersion":"meta.k8s.io/v1","columnDefinitions":[{"name":"Name","type":"string","format":"name"}],'
    .. '"rows":[{"cells":["web-1",3,true,null],"object":{"metadata":{"name":"web-1"}}}]}',
  escapes = '["\\u00e9\\ud83d\\ude00", "a\\"b\\\\c\\n\\t", "\\/", ""]',
  numbers = '[0, -0, 1.5, -2.5e-3, 1e308, 12345678901234567890, 0.1, 1E+2]',
  nested = '{"a":[[[[[[{"b":[{}]}]]]]]],"c":{"d":{"e":{"f":null}}}}',
  pretty = '{\n  "items": [\n    {\n      "x": true\n    }\n  ]\n}\n',
}
for k, v in pairs(jsons) do write("jsonfmt", k .. ".json", v) end

-- WebSocket frames (the first byte picks how the rest is fed): text, binary,
-- 16-bit length, masked, fragments, ping, close
local frames = {
  text = "\1\129\5hello", binary = "\2\130\3\0\1\2", len16 = "\3\130\126\0\200" .. ("x"):rep(200),
  masked = "\1\129\133\1\2\3\4" .. (function()
    local out, m = {}, { 1, 2, 3, 4 }
    for i = 1, 5 do out[i] = string.char(bit.bxor(("hello"):byte(i), m[(i - 1) % 4 + 1])) end
    return table.concat(out)
  end)(),
  frag = "\4\1\3hel\128\2lo", ping = "\5\137\4ping\138\0", close = "\6\136\2\3\232",
  k8s = "\7\130\6\1stdout\130\2\3\0",
}
for k, v in pairs(frames) do write("wsock", k, v) end

-- keys: arrows, modifiers, function keys, paste, mouse, UTF-8, controls
local keys = {
  arrows = "\27[A\27[B\27[C\27[D", mods = "\27[1;5C\27[1;2D\27[3;3~", fkeys = "\27OP\27[15~\27[24~",
  paste = "\27[200~pasted\ntext\27[201~", mouse = "\27[<0;10;5M\27[<0;10;5m\27[<64;1;1M",
  utf8 = "héllo 世界 👍", controls = "\1\2\3\4\5\127\8\9\13", alt = "\27b\27f\27\127", lone = "\27",
}
for k, v in pairs(keys) do write("term_keys", k, v) end

-- shell lines
local lines = {
  "k8s get pods -A -o wide | grep web", "echo 'a b' \"c $HOME\" ; k8s ns web", "=1 + 2", "!ls -l /tmp",
  "k8s logs deploy/api -f --tail 20 -c app", "prom query 'rate(http_requests_total[5m])' --range 1h",
  "k8s get pods -o jsonpath='{.items[*].metadata.name}'", "alias k=\"k8s\" \\\n  && k get ns", "plugin install ./x --yes",
  "config set offline.queueSize 50",
}
for i, v in ipairs(lines) do write("shell_words", ("line%02d"):format(i), v) end

-- kubeconfigs (made-up credentials)
local kc = [[
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev
  cluster: {server: 'https://127.0.0.1:6443', certificate-authority-data: 'Zm9vYmFy', tls-server-name: api}
- name: proxied
  cluster: {server: 'https://10.0.0.1', insecure-skip-tls-verify: true, proxy-url: 'http://proxy:3128'}
users:
- name: admin
  user: {token: not-a-real-token}
- name: cert
  user: {client-certificate-data: 'Zm9v', client-key-data: 'YmFy'}
- name: exec
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1, command: cred-helper, args: [get], env: [{name: A, value: b}],
           interactiveMode: Never, provideClusterInfo: true}
- name: basic
  user: {username: u, password: p}
contexts:
- name: dev
  context: {cluster: dev, user: admin, namespace: web}
- name: other
  context: {cluster: proxied, user: exec}
- name: as
  context: {cluster: dev, user: cert, as: someone}
]]
write("kubeconfig", "full.yaml", kc)
write("kubeconfig", "empty.yaml", "apiVersion: v1\nkind: Config\n")

-- JSONPath and custom columns
local jp = { "{.items[*].metadata.name}", "{range .items[*]}{.metadata.name}{\"\\t\"}{.status.phase}{\"\\n\"}{end}",
  "{.items[?(@.status.phase==\"Running\")].metadata.name}", "{..name}", "{.items[0:2].spec.containers[*].image}",
  "{.items[-1].metadata.labels.app}", "{.items[*]['metadata.name']}", "text {.kind} more", "{$.items[*].spec.replicas}" }
for i, v in ipairs(jp) do write("jsonpath", ("t%02d"):format(i), v) end
local cc = { "NAME:.metadata.name,IMAGE:.spec.containers[0].image", "NS:{.metadata.namespace},PHASE:.status.phase",
  "READY:.status.conditions[?(@.type==\"Ready\")].status" }
for i, v in ipairs(cc) do write("custom_columns", ("c%02d"):format(i), v) end

-- PromQL
local pq = { 'rate(http_requests_total{job="api"}[5m])', "sum by (job) (up)",
  "histogram_quantile(0.9, sum(rate(x_bucket[5m])) by (le))", 'up{instance=~"node.*"} offset 5m', "avg_over_time(up[1h:5m])",
  'count(up == 1) / count(up)', 'label_replace(up, "x", "$1", "instance", "(.*):.*")', "up{job=", "sum(rate(" }
for i, v in ipairs(pq) do write("promql", ("q%02d"):format(i), v) end

-- watch event lines (first byte: the chunk size)
local ev = '{"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"a","resourceVersion":"10"}}}\n'
  .. '{"type":"MODIFIED","object":{"kind":"Pod","metadata":{"name":"a","resourceVersion":"11"}}}\n'
  .. '{"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"12"}}}\n'
  .. '{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}}\n'
write("watch_lines", "events", "\5" .. ev)
write("watch_lines", "partial", "\1" .. ev:sub(1, 50))
-- Lua patterns as the plugins write them (SUBJECT \255 PATTERN)
local pat = { { "kube-system/coredns-7f9c", "^([^/]+)/(.+)$" }, { "  key = value  ", "^%s*(%S+)%s*=%s*(.-)%s*$" },
  { "f(a(b)c)d", "%b()" }, { "THE (quick) fox", "%f[%a]%a+" }, { "abcabc", "(a)(b)c%1" }, { "a.b-c", "[%.%-]" },
  { "x=1, y=2", "(%w+)=(%w+)" }, { "hello world", "()o()" }, { "[x]", "[]]" }, { "\0a\0", "%z" } }
for i, v in ipairs(pat) do write("pattern", ("p%02d"):format(i), v[1] .. "\255" .. v[2]) end
print("seeds written under spec/fuzz/corpus/")
