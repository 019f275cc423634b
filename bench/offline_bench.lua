-- offline write queue: what queuing a write costs (its LMDB commit, fsync
-- included), and the replay of 1 000 queued writes against the same 1 000
-- writes sent directly by vcli online, in one run on the test cluster (the
-- fault proxy refusing makes the cluster unreachable).
local b = _G.bench
local vm = require("vcli.vm")

local C, why = dofile("bench/support/cluster.lua")(b)
if not C then print("  offline bench skipped: " .. why) return end
local KC = C.KC
local N, NS = 1000, "vbench-offline"
local home = "/tmp/vcli-bench-offline"
os.execute("rm -rf " .. home .. " && mkdir -p " .. home)
local env = ("env KUBECONFIG=%s HOME=%s XDG_STATE_HOME=%s/state XDG_CONFIG_HOME=%s/config"):format(KC, home, home, home)
-- kubernetes.qps/burst (50/100 by default) would make every phase the rate
-- limiter's: lifted, so what is measured is vcli and the server
local VCLI = b.vcli .. " --set kubernetes.qps=5000 --set kubernetes.burst=5000"
local kubectl = ("env KUBECONFIG=%s %s"):format(KC, "kubectl")
b.sh(kubectl .. " create namespace " .. NS)
-- the writes spread over 50 configmaps (20 each), so no object grows past what a real one holds
local OBJS = 50
for i = 1, OBJS do
  for _, tag in ipairs({ "d", "q" }) do b.sh(("%s -n %s create configmap %s%d --from-literal=a=1"):format(kubectl, NS, tag, i)) end
end

-- a script of N annotate lines (the shell reads them from stdin, one process)
local function script(tag, ctx)
  local path = ("%s/%s.vcli"):format(home, tag)
  local f = assert(io.open(path, "w"))
  for i = 1, N do
    f:write(("k8s annotate cm %s%d -n %s k%d=v%d --context %s\n"):format(tag, i % OBJS + 1, NS, i, i, ctx))
  end
  f:close()
  return path
end
local function timed(cmd)
  local t0 = vm.now()
  local out, rc = b.sh(cmd)
  return vm.now() - t0, out, rc
end

-- direct: N writes online, one vcli process (each: read the object, patch it)
b.sh(env .. " " .. VCLI .. " -c 'k8s get cm -n " .. NS .. " --context vcli-test-proxy'")
local direct_ms = timed(("%s %s < %s"):format(env, VCLI, script("d", "vcli-test-proxy")))
-- the cost of starting the process and reading the script, to take away from both
local empty = home .. "/empty.vcli"
io.open(empty, "w"):close()
local start_ms = timed(("%s %s < %s"):format(env, VCLI, empty))

-- queued: the same N writes against the refused proxy
b.sh(C.KUBE .. " proxy refuse")
local q_ms, q_out = timed(("%s %s --set offline.queueNonInteractive=true < %s"):format(env, VCLI, script("q", "vcli-test-proxy")))
local queued = select(2, q_out:gsub("queued #", ""))
b.sh(C.KUBE .. " proxy pass")
local r_ms, r_out = timed(("%s %s -c 'k8s offline sync'"):format(env, VCLI))
local replayed = tonumber(r_out:match("(%d+) applied")) or 0

local per_cmd = (q_ms - start_ms) / N
-- the journal's own part: what J:add does, one put_many with its
-- compare-and-swap on the sequence (an LMDB commit, fdatasync), on the same
-- file system, with a record of the size the queue wrote
local store = require("vcli.store")
local sdir = home .. "/store-only"
local se = assert(store.open(sdir))
local sdb = se:db("plugin:bench")
local rec = string.rep("x", 2048)
local t0 = vm.now()
for i = 1, N do
  assert(sdb:put_many({ seq = tostring(i), [("op|%08d"):format(i)] = rec }, { seq = i > 1 and tostring(i - 1) or false }))
end
local per_enqueue = (vm.now() - t0) / N
se:close()
b.report{ name = ("queue a write offline: whole command (%d, one shell)"):format(queued), value = per_cmd, unit = "ms",
  target = "≤ 2 ms", ok = per_cmd <= 2 }
b.report{ name = "queue a write offline: the journal's commit (fsync)", value = per_enqueue, unit = "ms",
  target = "≤ 2 ms", ok = per_enqueue <= 2 }
local direct = direct_ms - start_ms
b.report{ name = ("replay %d queued writes (k8s offline sync)"):format(replayed), value = r_ms - start_ms, unit = "ms",
  target = "≤ 1.5× direct", ok = replayed == N and (r_ms - start_ms) <= 1.5 * direct,
  peer = "vcli online, same writes", peer_value = direct }
io.write(("  ratio replay/direct %.2f× (target ≤ 1.5×); %d of %d queued, %d replayed\n")
  :format((r_ms - start_ms) / direct, queued, N, replayed))
b.sh(kubectl .. " delete namespace " .. NS .. " --wait=false")
os.execute("rm -rf " .. home)
C.stop()
