-- Secrets never rest on disk (issue 16, first section): the k8s commands a user
-- runs over Secrets and service accounts, each in its own vcli process with a
-- home of its own, then every file vcli wrote there (state, cache, data,
-- config, temporary files) is searched for the secret values and tokens, raw
-- and in base64. Offline, a Secret answers with its metadata and says its
-- values are not kept. Against the real test cluster and its fault proxy.
local H = dofile("spec/support/k8s/helper.lua")

local NS = "vsecret"
local E, KC, home
local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function kubectl(args) return H.kubectl(KC, args) end
local function b64(s) return (spec.sh("printf %s " .. q(s) .. " | base64 -w0")) end
-- vcli as a user runs it: everything it writes lands under home
local function vcli(line, flags)
  return spec.sh(("cd %s && env KUBECONFIG=%s HOME=%s XDG_STATE_HOME=%s/state XDG_DATA_HOME=%s/data "
    .. "XDG_CACHE_HOME=%s/cache XDG_CONFIG_HOME=%s/config TMPDIR=%s/tmp ./vcli %s -c %s 2>&1")
    :format(spec.root, KC, home, home, home, home, home, home, flags or "", q(line)))
end
-- the files under home holding any of the needles -> "file: needle" lines
local function hits(needles)
  local out = {}
  for _, n in ipairs(needles) do
    local files = spec.sh(("grep -rlaF -e %s %s 2>/dev/null"):format(q(n), q(home)))
    for f in files:gmatch("[^\n]+") do out[#out + 1] = f .. ": " .. n:sub(1, 12) .. "…" end
  end
  return out
end

describe("k8s: what rests on disk", function()
  local password, literal, token
  before_all(function()
    E = H.start_cluster()
    KC = E.KUBECONFIG
    home = spec.tmpdir()
    os.execute("mkdir -p " .. q(home .. "/tmp"))
    password = "pw-" .. tostring(math.random(1e9)) .. "-hunter2"
    literal = "lit-" .. tostring(math.random(1e9)) .. "-s3cret"
    kubectl("create namespace " .. NS)
    kubectl(("-n %s create secret generic db --from-literal=password=%s"):format(NS, password))
    -- applied by kubectl: its last-applied-configuration annotation repeats the value
    spec.write(home .. "/applied.yaml", ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: applied\n  namespace: %s\n"
      .. "stringData:\n  key: %s\n"):format(NS, literal))
    kubectl("apply -f " .. q(home .. "/applied.yaml"))
    os.remove(home .. "/applied.yaml")
    -- the namespace's service-account token, once the controller made it
    spec.eventually(function()
      local out = kubectl("-n " .. NS .. " get secrets -o jsonpath={.items[*].metadata.name}")
      return out:match("default%-token%-%w+")
    end, 60000, "the default service account's token secret")
    local name = kubectl("-n " .. NS .. " get secrets -o jsonpath={.items[*].metadata.name}"):match("default%-token%-%w+")
    token = spec.sh(("%s | base64 -d"):format(("env KUBECONFIG=%s kubectl -n %s get secret %s -o jsonpath={.data.token}")
      :format(KC, NS, name)))
    assert.truthy(#token > 100, "a service account token")
  end)
  after_all(function()
    spec.sh(H.KUBE .. " proxy pass")
    if KC then kubectl("delete namespace " .. NS .. " --wait=false") end
    H.stop_cluster()
    if home then os.execute("rm -rf " .. q(home)) end
  end)

  it("keeps no Secret value, token or kubeconfig credential in any file it writes", function()
    local lines = {
      "k8s get secret db -n " .. NS .. " -o yaml", "k8s get secrets -n " .. NS .. " -o json",
      "k8s get secret applied -n " .. NS .. " -o json", "k8s describe secret db -n " .. NS,
      "k8s get secrets -A", "k8s get sa default -n " .. NS .. " -o yaml", "k8s get secrets -n " .. NS,
      "k8s get secret -n " .. NS .. " -o jsonpath={.items[*].data.token}",
    }
    local seen = ""
    for _, ctx in ipairs({ "vcli-test", "vcli-test-proxy" }) do
      for _, l in ipairs(lines) do seen = seen .. vcli(l .. " --context " .. ctx) end
    end
    -- the commands did show the values (to the terminal, as kubectl does)
    assert.truthy(seen:find(b64(password), 1, true), seen:sub(1, 2000))
    assert.truthy(seen:find(b64(literal), 1, true))
    local kc = spec.read(KC)
    local needles = { password, b64(password), literal, b64(literal), token, b64(token), E.VCLI_KUBE_ADMIN_TOKEN }
    local key = kc:match("client%-key%-data: (%S+)")
    if key then needles[#needles + 1] = key end
    assert.same({}, hits(needles))
    -- and the cache was written (the search looked where the answers are kept)
    assert.truthy(#spec.sh("find " .. q(home) .. " -name data.mdb") > 0, "the offline cache exists")
  end)

  it("offline, a Secret answers with its metadata and says its values are not kept", function()
    vcli("k8s get secret db -n " .. NS .. " -o yaml --context vcli-test-proxy")
    spec.sh(H.KUBE .. " proxy refuse")
    local out = vcli("k8s get secret db -n " .. NS .. " -o yaml --context vcli-test-proxy")
    spec.sh(H.KUBE .. " proxy pass")
    assert.matches("offline", out)
    assert.matches("name: db\n", out)
    assert.matches("vcli.dev/values%-not%-kept: .-keys: password", out)
    assert.falsy(out:find(b64(password), 1, true), out)
    assert.not_matches("\ndata:", out)
  end)

  it("gives and keeps no answer older than offline.cacheTTL", function()
    kubectl("-n " .. NS .. " create configmap ttl --from-literal=a=1")
    local ttl = "--set offline.cacheTTL=2s"
    assert.matches("ttl", vcli("k8s get cm ttl -n " .. NS .. " -o yaml --context vcli-test-proxy", ttl))
    local t0 = os.time()
    spec.sh(H.KUBE .. " proxy refuse")
    -- within the TTL the cached answer is given
    local out = vcli("k8s get cm ttl -n " .. NS .. " -o yaml --context vcli-test-proxy", ttl)
    if os.time() - t0 < 2 then assert.matches("offline — as of", out) end
    -- the TTL is time itself: past it, no answer from the cache
    spec.eventually(function() return os.time() - t0 > 3 end, 10000, "3 s to pass")
    out = vcli("k8s get cm ttl -n " .. NS .. " -o yaml --context vcli-test-proxy", ttl)
    spec.sh(H.KUBE .. " proxy pass")
    assert.not_matches("offline — as of", out)
    assert.not_matches("name: ttl", out)
    assert.matches("connect", out)
  end)

  it("keeps the cache under offline.cacheSize, the oldest answers going first", function()
    local big = string.rep("x", 60000)
    for i = 1, 6 do
      spec.write(home .. "/v.txt", big)
      kubectl(("-n %s create configmap big%d --from-file=v=%s"):format(NS, i, q(home .. "/v.txt")))
    end
    local size = "--set offline.cacheSize=250000"
    for i = 1, 6 do
      assert.matches("big" .. i, vcli(("k8s get cm big%d -n %s -o json --context vcli-test-proxy"):format(i, NS), size))
    end
    spec.sh(H.KUBE .. " proxy refuse")
    local first = vcli("k8s get cm big1 -n " .. NS .. " -o json --context vcli-test-proxy", size)
    local last = vcli("k8s get cm big6 -n " .. NS .. " -o json --context vcli-test-proxy", size)
    spec.sh(H.KUBE .. " proxy pass")
    assert.not_matches("offline — as of", first)
    assert.matches("offline — as of", last)
    assert.matches('"name": "big6"', last)
  end)
end)
