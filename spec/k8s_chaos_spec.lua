-- Chaos for the network: the test cluster's fault proxy (and a second one in
-- front of the real Prometheus) goes through a random schedule of faults —
-- drop, TCP reset, stall, latency, a trickle of bytes, answers cut
-- mid-body, 500/503/429 with and without Retry-After, a server that never
-- closes, refused connections — while vcli processes list (chunked and -A),
-- watch, follow logs, exec, port-forward and query Prometheus through them.
-- Each one-shot command runs again and again; the long-running ones live
-- through it all. Checked afterwards:
--   * nothing hung: every command ended by itself (none had to be killed),
--     the long-running ones are alive and end on Ctrl-C;
--   * a command that succeeded printed the whole answer (no row lost or
--     doubled), one that failed said so in one line, and no stderr line is
--     an internal error (a Lua fault, a traceback);
--   * the watch's last event for every pod agrees with the server's final
--     state, and no event was printed twice;
--   * the long-running processes' memory stayed bounded.
-- The seed is printed; VCLI_CHAOS_SEED=N replays a schedule,
-- VCLI_CHAOS_ROUNDS=N makes it longer (default 10 faults).
local H = dofile("spec/support/k8s/helper.lua")
local async = require("vcli.async")
local vm = require("vcli.vm")

local E, KC, dir, srv, prom_proxy_pid
local long_running = {}   -- the PIDs of the watch and the port-forward, killed in after_all whatever happened
local P = "vcli-test-proxy-http"   -- the context through the proxy's HTTP port: every fault applies there
local seed = tonumber(os.getenv("VCLI_CHAOS_SEED") or "") or (os.time() % 1000000)
local ROUNDS = tonumber(os.getenv("VCLI_CHAOS_ROUNDS") or "") or 10
local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function kubectl(args) return H.kubectl(KC, args) end
local function must(out, rc, what)
  if rc ~= 0 then error(what .. " failed: " .. tostring(out), 2) end
  return out
end

-- the lines of a file (empty list when absent)
local function lines_of(path)
  local t = {}
  for l in (spec.read(path) or ""):gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

-- an error line a person can read: one line, not a Lua fault or a traceback
local function bad_line(l)
  return l:match("^%s") or l:find("traceback", 1, true) or l:match("%.lua:%d+:") or l:find("attempt to ", 1, true)
end

local function alive(pid) return (select(2, spec.sh("kill -0 " .. pid .. " 2>/dev/null"))) == 0 end

local function rss_mib(pid)
  local st = spec.read("/proc/" .. pid .. "/status") or ""
  return (tonumber(st:match("VmRSS:%s*(%d+)")) or 0) / 1024
end

-- A worker: `cmd` (a shell command; $n is the run's number) again and again
-- until the stop file appears, each run's status and output kept as
-- NAME.N.out / NAME.N.err with a line "N STATUS" in NAME.runs. A run still
-- going after `bound` seconds is killed (status 137): a hang.
local function worker(name, cmd, bound)
  local script = ("exec > /dev/null 2>&1; n=0; while [ ! -e %s/stop ]; do n=$((n+1));"
    .. " timeout -s KILL %d sh -c %s > %s/%s.$n.out 2> %s/%s.$n.err;"
    .. " echo \"$n $?\" >> %s/%s.runs; done"):format(dir, bound, q(cmd), dir, name, dir, name, dir, name)
  local pid = H.spawn("export n; " .. script)
  long_running[#long_running + 1] = pid
  return { name = name, pid = pid }
end

-- the runs of a worker: { {n=, status=, out=, err=}, … }
local function runs_of(name)
  local out = {}
  for _, l in ipairs(lines_of(dir .. "/" .. name .. ".runs")) do
    local n, st = l:match("^(%d+) (%d+)$")
    if n then
      out[#out + 1] = { n = tonumber(n), status = tonumber(st), out = spec.read(("%s/%s.%s.out"):format(dir, name, n)) or "",
        err = spec.read(("%s/%s.%s.err"):format(dir, name, n)) or "" }
    end
  end
  return out
end

-- every run ended by itself; a failure is one line; a success is `good(run)`
local function check_runs(name, good, report)
  local runs = runs_of(name)
  local ok_runs, failed = 0, 0
  for _, r in ipairs(runs) do
    local where = ("%s run %d (seed %d)"):format(name, r.n, seed)
    assert.truthy(r.status ~= 137, where .. " hung and was killed; it printed: " .. r.out:sub(1, 300) .. r.err:sub(1, 300))
    local errs = {}
    for l in r.err:gmatch("[^\n]+") do errs[#errs + 1] = l end
    for _, l in ipairs(errs) do assert.falsy(bad_line(l), where .. ": an internal error: " .. l) end
    if r.status == 0 or r.status == 124 then
      assert.truthy(#errs <= 1, where .. ": more than one line on stderr: " .. r.err)
      local fine, why = good(r)
      assert.truthy(fine, where .. ": succeeded with the wrong answer: " .. tostring(why))
      ok_runs = ok_runs + 1
    else
      assert.equal(1, #errs, where .. " failed (status " .. r.status .. ") without saying so in one line: " .. r.err)
      failed = failed + 1
    end
  end
  report[#report + 1] = ("%s %d runs: %d whole answers, %d one-line errors"):format(name, #runs, ok_runs, failed)
  return runs
end

describe("chaos: vcli through random network faults", function()
  local prom_proxy, prom_control, prom_dir, prom_target

  before_all(function()
    E = H.start_cluster()
    KC = E.KUBECONFIG
    dir = spec.tmpdir()
    srv = dofile("spec/support/httpd.lua").start(dir)
    must(kubectl("create namespace chaos"))
    must(kubectl("create namespace chaos-list"))
    must(kubectl("-n chaos-list create deployment lst --image=nginx:1.25 --replicas=40"))
    must(kubectl("-n chaos run vchaos --image=nginx:1.25"))
    assert.matches("created %d+ pods", (spec.sh(H.KUBE .. " seed --pods 200")))
    H.wait_pods_started(KC, 241)
    -- vcli's home: watch streams renewed every 8 s, so a server that never closes is left within 18
    os.execute("mkdir -p " .. q(dir .. "/config/vcli") .. " " .. q(dir .. "/state"))
    spec.write(dir .. "/config/vcli/config.yaml", "kubernetes:\n  watchTimeout: 8s\n")
    -- Prometheus behind a second fault proxy (TCP: plain HTTP)
    local out, rc = spec.sh("spec/support/prom start")
    assert(rc == 0, "spec/support/prom start failed: " .. out)
    prom_dir = out:match("PROM_DIR=(%S+)")
    prom_target = out:match("PROM_URL=http://([^/%s]+)")
    local pport, cport = spec.sh("spec/support/freeport"):match("%d+"), spec.sh("spec/support/freeport"):match("%d+")
    prom_proxy, prom_control = "http://127.0.0.1:" .. pport, "http://127.0.0.1:" .. cport
    prom_proxy_pid = H.spawn(("exec %s/vcli-kube-tools proxy --upstream %s --listen 127.0.0.1:%s --control 127.0.0.1:%s"
      .. " > %s/prom-proxy.log 2>&1")
      :format(E.VCLI_KUBE_BIN, prom_target, pport, cport, dir))
    spec.eventually(function() return (select(2, spec.sh("curl -sf " .. prom_control .. "/status"))) == 0 end, 20000,
      "the Prometheus fault proxy")
  end)

  after_all(function()
    if dir then spec.write(dir .. "/stop", "") end
    for _, pid in ipairs(long_running) do spec.sh("kill -KILL " .. pid .. " 2>/dev/null") end
    spec.sh(H.KUBE .. " proxy pass")
    if prom_proxy_pid then spec.sh("kill " .. prom_proxy_pid) end
    if prom_dir then spec.sh("spec/support/prom stop " .. prom_dir) end
    if srv then srv:stop() end
    H.stop_cluster()
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)

  it("lists, watches, logs -f, exec, port-forward and Prometheus queries hold through a random fault schedule", function()
    print(("# chaos seed %d, %d rounds (VCLI_CHAOS_SEED=%d to replay)"):format(seed, ROUNDS, seed))
    math.randomseed(seed)
    local vars = ("HOME=%s XDG_CONFIG_HOME=%s/config XDG_STATE_HOME=%s/state KUBECONFIG=%s"):format(q(dir), q(dir), q(dir), q(KC))
    local env = ("cd %s && %s exec %s"):format(q(spec.root), vars, q(spec.vcli))
    local list_names = must(kubectl("get pods -n chaos-list -o name"))
    local all_rows = {}
    for ns, name in must(kubectl("get pods -A --no-headers")):gmatch("(%S+)%s+(%S+)[^\n]*") do
      if ns ~= "chaos" then all_rows[#all_rows + 1] = ns .. "/" .. name end
    end
    table.sort(all_rows)
    local hello_port = srv.base:match(":(%d+)$")
    local pf_port = spec.sh("spec/support/freeport"):match("%d+")

    -- the long-running ones
    local W = "jsonpath={.type} {.object.metadata.name} {.object.metadata.resourceVersion}{\"\\n\"}"
    local watch_pid = H.spawn(("%s k8s --context %s get pods -n chaos -w --output-watch-events -o %s > %s/watch.out 2> %s/watch.err")
      :format(env, P, q(W), dir, dir))
    local pf_pid = H.spawn(("%s k8s --context %s port-forward -n chaos pod/vchaos %s:%s > %s/pf.out 2> %s/pf.err")
      :format(env, P, pf_port, hello_port, dir, dir))
    long_running[1], long_running[2] = watch_pid, pf_pid
    spec.eventually(function() return (spec.read(dir .. "/pf.out") or ""):find("Forwarding from", 1, true) end, 30000,
      "port-forward listening")
    spec.eventually(function() return #lines_of(dir .. "/watch.out") > 0 end, 30000, "the watch's first rows")
    local rss0 = { watch = rss_mib(watch_pid), pf = rss_mib(pf_pid) }

    -- the one-shot ones, again and again
    local workers = {
      worker("list", ("%s k8s --context %s --request-timeout 4s get pods -n chaos-list --chunk-size 7 -o name"):format(env, P), 120),
      worker("listall", ("%s k8s --context %s --request-timeout 4s get pods -A --no-headers"):format(env, P), 120),
      worker("exec", ("%s k8s --context %s exec -n chaos vchaos -- echo chaos-$n"):format(env, P), 120),
      -- Ctrl-C after 6 s (status 124), as a person stops it
      worker("logs", ("cd %s && exec timeout -s INT 6 env %s %s k8s --context %s logs -f -n chaos vchaos --tail 1"):format(
        q(spec.root), vars, q(spec.vcli), P), 60),
      worker("pfcurl", ("curl -sS --max-time 10 http://127.0.0.1:%s/hello"):format(pf_port), 30),
      worker("prom", ("%s prom query 'up{job=\"prometheus\"}' --url %s"):format(env, prom_proxy), 120),
    }

    -- the schedule: a fault for 1–3 s, then 0.5–1.5 s of calm; pods change all along (directly, not through the proxy)
    local kube_faults = { "drop", "reset", "stall", "latency=%d", "trickle=%d", "truncate=%d", "http500=%d", "http503=%d",
      "http503=%d,retry=1", "http429=1,count=%d", "hang", "refuse" }
    local prom_faults = { "drop", "reset", "stall", "latency=%d", "trickle=%d", "truncate=%d", "refuse" }
    local function pick(list)
      local f = list[math.random(#list)]
      local n = f:find("latency") and math.random(50, 400) or f:find("trickle") and (math.random(2) == 1 and 10 or math.random(100, 2000))
        or f:find("truncate") and math.random(300, 60000) or math.random(1, 4)
      return (f:gsub("%%d", tostring(n)))
    end
    local pods, made = {}, 0
    local function mutate()
      local r = math.random(3)
      if r == 1 or #pods == 0 then
        made = made + 1
        local name = "c" .. made
        kubectl("-n chaos run " .. name .. " --image=nginx:1.25")
        pods[#pods + 1] = name
      elseif r == 2 then
        local i = math.random(#pods)
        kubectl("-n chaos delete pod " .. pods[i] .. " --wait=false")
        table.remove(pods, i)
      else
        kubectl("-n chaos label pod " .. pods[math.random(#pods)] .. " --overwrite round=" .. math.random(1000))
      end
    end
    -- the whole schedule drawn first, so the seed replays it whatever the timing
    -- (the pod changes draw from the generator after it, as many as the time allows)
    local plan, schedule = {}, {}
    for round = 1, ROUNDS do
      local kf, pf = pick(kube_faults), pick(prom_faults)
      local hold, calm = math.random(1000, 3000), math.random(500, 1500)
      plan[round] = { kf, pf, hold, calm }
      schedule[#schedule + 1] = ("%d: kube %s, prom %s for %d ms"):format(round, kf, pf, hold)
    end
    print("# schedule: " .. table.concat(schedule, "; "))
    for round = 1, ROUNDS do
      local kf, pf, hold, calm = unpack(plan[round])
      must(spec.sh(H.KUBE .. " proxy " .. q(kf)))
      must(spec.sh(("curl -sS -f -X POST --data-binary %s %s/mode"):format(q(pf), prom_control)))
      local t_end = vm.now() + hold
      while vm.now() < t_end do mutate(); async.sleep(200) end
      must(spec.sh(H.KUBE .. " proxy pass"))
      must(spec.sh(("curl -sS -f -X POST --data-binary pass %s/mode"):format(prom_control)))
      async.sleep(calm)
    end
    spec.write(dir .. "/stop", "")
    -- every worker finishes its current run (each is bounded by its kill timer)
    for _, w in ipairs(workers) do
      spec.eventually(function() return not alive(w.pid) end, 150000, w.name .. " to finish its last run")
    end

    local report = {}
    check_runs("list", function(r) return r.out == list_names, r.out:sub(1, 200) end, report)
    check_runs("listall", function(r)
      local got = {}
      for ns, name in r.out:gmatch("(%S+)%s+(%S+)[^\n]*") do if ns ~= "chaos" then got[#got + 1] = ns .. "/" .. name end end
      table.sort(got)
      return table.concat(got, "\n") == table.concat(all_rows, "\n"), ("%d rows, %d expected"):format(#got, #all_rows)
    end, report)
    check_runs("exec", function(r) return r.out == ("chaos-%d\n"):format(r.n), r.out end, report)
    check_runs("logs", function(r)
      local prev
      for l in r.out:gmatch("[^\n]+") do
        local n = tonumber(l:match("^vchaos vchaos line (%d+)$"))
        if not n then return false, "not a log line: " .. l end
        if prev and n ~= prev + 1 then return false, ("line %d after %d"):format(n, prev) end
        prev = n
      end
      return true
    end, report)
    check_runs("pfcurl", function(r) return r.out == "hello\n", r.out end, report)
    check_runs("prom", function(r) return r.out:find("prometheus", 1, true) ~= nil, r.out end, report)

    -- the port-forward lives and forwards again
    assert.truthy(alive(pf_pid), "port-forward exited: " .. (spec.read(dir .. "/pf.err") or ""))
    spec.eventually(function()
      return (spec.sh(("curl -sS --max-time 5 http://127.0.0.1:%s/hello"):format(pf_port))) == "hello\n"
    end, 30000, "port-forward to answer after the faults")

    -- the watch lives, and its last word on every pod is the server's
    assert.truthy(alive(watch_pid), "the watch exited: " .. (spec.read(dir .. "/watch.err") or ""))
    local final, why
    local converged = pcall(spec.eventually, function()
      final = {}
      local RVS = "jsonpath={range .items[*]}{.metadata.name} {.metadata.resourceVersion}{\"\\n\"}{end}"
      for name, rv in must(kubectl("get pods -n chaos -o " .. q(RVS)))
          :gmatch("(%S+) (%S+)") do
        final[name] = rv
      end
      local last = {}
      for _, l in ipairs(lines_of(dir .. "/watch.out")) do
        local t, name, rv = l:match("^(%u+) (%S+) (%S+)$")
        if t then last[name] = { t = t, rv = rv } end
      end
      for name, rv in pairs(final) do
        if not last[name] or last[name].t == "DELETED" or last[name].rv ~= rv then
          why = ("pod %s: server at %s, the watch last said %s"):format(name, rv,
            last[name] and (last[name].t .. " " .. last[name].rv) or "nothing")
          return false
        end
      end
      for name, e in pairs(last) do
        if not final[name] and e.t ~= "DELETED" then
          why = ("pod %s is gone, the watch last said %s %s"):format(name, e.t, e.rv)
          return false
        end
      end
      return true
    end, 60000, "the watch to agree with the server")
    assert.truthy(converged, ("seed %d: %s"):format(seed, tostring(why)))
    local seen, doubles = {}, {}
    for _, l in ipairs(lines_of(dir .. "/watch.out")) do
      if seen[l] then doubles[#doubles + 1] = l end
      seen[l] = true
    end
    local relisted = (spec.read(dir .. "/watch.err") or ""):find("re-listing", 1, true)
    if not relisted then assert.equal("", table.concat(doubles, "\n"), "events printed twice (seed " .. seed .. ")") end
    for _, l in ipairs(lines_of(dir .. "/watch.err")) do assert.falsy(bad_line(l), "watch: an internal error: " .. l) end
    for _, l in ipairs(lines_of(dir .. "/pf.err")) do assert.falsy(bad_line(l), "port-forward: an internal error: " .. l) end

    -- memory: what the long-running ones hold after it all
    local rss1 = { watch = rss_mib(watch_pid), pf = rss_mib(pf_pid) }
    report[#report + 1] = ("watch %d events, %d drops resumed; RSS watch %.0f → %.0f MiB, port-forward %.0f → %.0f MiB"):format(
      #lines_of(dir .. "/watch.out"), select(2, (spec.read(dir .. "/watch.err") or ""):gsub("watch dropped", "")),
      rss0.watch, rss1.watch, rss0.pf, rss1.pf)
    -- (under AddressSanitizer, make check, up to 256 MiB of freed memory is kept in its quarantine)
    local bound = 150 + (os.getenv("ASAN_OPTIONS") and 256 or 0)
    assert.truthy(rss1.watch < bound and rss1.pf < bound, report[#report] .. (" (bound %d MiB)"):format(bound))
    -- and Ctrl-C ends them
    spec.sh("kill -INT " .. watch_pid .. " " .. pf_pid)
    spec.eventually(function() return not alive(watch_pid) and not alive(pf_pid) end, 10000, "Ctrl-C to end watch and port-forward")
    for _, l in ipairs(report) do print("# " .. l) end
  end)
end)
