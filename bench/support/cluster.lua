-- bench/support/cluster.lua — the test cluster for the benches that need one
-- (k8s_bench, tui_bench): started if it is not running (and stopped again by
-- C.stop), seeded, settled, and curl with the admin token for the floor.
--   local C = dofile("bench/support/cluster.lua")(bench)  -> C, or nil, why
--   C.E (spec/support/kube_env.lua's), C.KC (kubeconfig), C.curl (a command
--   prefix: curl -s, the CA, the token, a User-Agent), C.TABLE (kubectl's
--   Accept), C.count_pods(), C.seed(n) -> pods there, C.settle(), C.stop()
local KUBE = "spec/support/kube"

return function(b)
  local C = { KUBE = KUBE }
  local started = false
  local _, rc = b.sh(KUBE .. " status")
  if rc ~= 0 then
    local out, rc2 = b.sh(KUBE .. " build >/dev/null && " .. KUBE .. " start 2>/dev/null")
    if rc2 ~= 0 then return nil, "cannot start the test cluster:\n" .. out end
    started = true
  end
  local E = dofile("spec/support/kube_env.lua")()
  C.E, C.KC = E, E.KUBECONFIG
  C.TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
  -- curl's User-Agent would make the API server pretty-print (a bigger body than vcli gets)
  C.curl = ("curl -s -H 'User-Agent: vcli-bench-curl' --cacert %s -H 'Authorization: Bearer %s'")
    :format(E.VCLI_KUBE_CA, E.VCLI_KUBE_ADMIN_TOKEN)

  function C.count_pods()
    local out = b.sh(("%s '%s/api/v1/pods?limit=1'"):format(C.curl, E.VCLI_KUBE_API))
    return (tonumber(out:match('"remainingItemCount":%s*(%d+)')) or 0) + 1
  end

  -- After seeding, the controller-manager reconciles for a while (minutes at
  -- 50 000 pods) and the API server collects garbage: figures taken then are
  -- noise. Wait (at most 3 min) until the cluster's processes use under a
  -- fifth of a core for 3 s running, and say how long that took.
  function C.settle()
    local pids = {}
    local f = io.open(E.VCLI_KUBE_DIR .. "/pids")
    for line in (f and f:read("*a") or ""):gmatch("[^\n]+") do
      local name, pid = line:match("^(%S+) (%d+)$")
      if name == "etcd" or name == "apiserver" or name == "controller-manager" then pids[#pids + 1] = pid end
    end
    if f then f:close() end
    local function ticks()
      local t = 0
      for _, pid in ipairs(pids) do
        local st = io.open("/proc/" .. pid .. "/stat")
        local s = st and st:read("*a") or ""
        if st then st:close() end
        local fields = {}
        for w in (s:match("%) (.*)$") or ""):gmatch("%S+") do fields[#fields + 1] = w end
        t = t + (tonumber(fields[12]) or 0) + (tonumber(fields[13]) or 0) -- utime, stime (fields 14, 15)
      end
      return t
    end
    local quiet, waited, last = 0, 0, ticks()
    while quiet < 3 and waited < 180 do
      os.execute("sleep 1")
      waited = waited + 1
      local now = ticks()
      if now - last < 20 then quiet = quiet + 1 else quiet = 0 end -- < 0.2 s of CPU in 1 s (100 ticks/s)
      last = now
    end
    io.write(quiet >= 3 and ("  (cluster settled after %d s)\n"):format(waited)
      or "  (cluster still busy after 180 s: the figures below are noisier)\n")
    io.flush()
  end

  function C.seed(n)
    io.write(("  (seeding to %d pods…)\n"):format(n)); io.flush()
    b.sh(KUBE .. " seed --pods " .. n .. " >/dev/null 2>&1")
    local have = C.count_pods()
    io.write(("  cluster has %d pods\n"):format(have)); io.flush()
    return have
  end

  function C.stop()
    if started then b.sh(KUBE .. " stop") end
    started = false
  end
  return C
end
