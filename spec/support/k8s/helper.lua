-- Helpers for the k8s specs: the Kubernetes plugin through the plugin
-- runtime (its own Lua state, its manifest's grants), with a private store
-- and the test cluster's kubeconfig in its config section, and
-- `run(line)` -> stdout, stderr, status.
local H = {}
local root = os.getenv("PWD")
require("vcli")
require("vcli.shell.builtins")
local shell = require("vcli.shell")
local pm = require("vcli.plugin")
local async = require("vcli.async")

H.KUBE = "spec/support/kube"
H.store_dir = nil

-- discover plugins/ (kubernetes among them), give it a scratch store and
-- the kubeconfig, and start it
function H.register(opts)
  opts = opts or {}
  H.store_dir = H.store_dir or opts.store_dir or spec.tmpdir()
  if not pm.get("kubernetes") or pm.get("kubernetes").dir ~= root .. "/plugins/kubernetes" then
    pm.discover({ { dir = root .. "/plugins", kind = "builtin" } })
  end
  pm.set_store_dir(H.store_dir)
  -- a spec file earlier in this run may have started it against its own
  -- cluster: start afresh so this file's kubeconfig is the one read
  local running = pm.get("kubernetes")
  if running and running.state == "running" then pm.stop("kubernetes", "respec") end
  pm.set_config("kubernetes", { kubeconfig = opts.kubeconfig })
  local ok, err = pm.start("kubernetes")
  assert(ok, err)
  H.plugin = pm.get("kubernetes")
  return H.plugin
end

-- evaluate Lua source inside the plugin's state (returns its results as copies)
function H.eval(src)
  return pm.invoke(pm.get("kubernetes"), "eval", src)
end

function H.run(line)
  local status, out, err, perr = shell.capture(function() return shell.execute(line) end)
  if perr then error(perr, 2) end
  return out, err, status
end

-- the env file of the running cluster
H.cluster_env = dofile("spec/support/kube_env.lua")

H.tools = dofile("spec/support/tools.lua")

-- This runner's PID (the parent of the shell popen starts): the owner of the clusters it starts.
local function my_pid()
  spec._pid = spec._pid or spec.sh("echo $PPID"):match("%d+")
  return spec._pid
end

-- The running cluster's state dir and owner ("PID what", nil when none is recorded).
local function running_cluster()
  local out, rc = spec.sh(H.KUBE .. " status")
  if rc ~= 0 and not out:match("state dir:") then return nil end
  local owner = out:match("owner: pid (%d+)")
  local owner_alive = out:match("owner: pid %d+ %(no longer running%)") == nil
  return { dir = out:match("state dir: (%S+)"), owner = owner, owner_alive = owner and owner_alive,
           status = out, healthy = rc == 0 }
end

-- Start a fresh test cluster for this spec file. A cluster this run started (a file that
-- ended without stopping it) or one whose owner is gone is stopped first; only another live
-- run's cluster is waited for (up to 5 min), and the wait says whose it is.
function H.clear_ours()
  local cur = running_cluster()
  if cur and (cur.owner == my_pid() or not cur.owner_alive) then
    spec.sh(H.KUBE .. " stop")
    cur = running_cluster()
  end
  return cur
end

H.my_pid = my_pid

function H.start_cluster()
  local cur = H.clear_ours()
  if cur then
    local t0 = os.time()
    while cur and os.time() - t0 < 300 do
      async.sleep(2000)
      cur = running_cluster()
      if cur and not cur.owner_alive then spec.sh(H.KUBE .. " stop"); cur = running_cluster() end
    end
    if cur then
      error(("another test cluster (%s; state dir %s) has been running for 5 minutes; not stopping it"):format(
        cur.owner and ("owner pid " .. cur.owner .. ", " .. (cur.status:match("owner: pid %d+ %((.-)%)\n") or "?"))
          or "no owner recorded", cur.dir or "?"), 0)
    end
  end
  local out, rc = spec.sh(H.KUBE .. " build")
  if rc ~= 0 then error("kube build failed:\n" .. out, 0) end
  out, rc = spec.sh(H.KUBE .. " start --owner " .. my_pid() .. " 2>&1 >/dev/null")
  if rc ~= 0 then error("kube start failed:\n" .. out, 0) end
  H.started = true
  return H.cluster_env()
end

function H.stop_cluster()
  if H.started then spec.sh(H.KUBE .. " stop"); H.started = false end
end

-- Start a shell command in the background, detached, with SIGINT at its default, as a
-- command typed at a terminal has it (a shell's `&` job, and whatever a run started in the
-- background starts, inherit it ignored, so Ctrl-C could not be tried); returns its PID.
function H.spawn(cmd)
  local pid = spec.sh("python3 -c 'import signal, subprocess, sys; signal.signal(signal.SIGINT, signal.SIG_DFL);"
    .. " print(subprocess.Popen([\"/bin/sh\", \"-c\", sys.argv[1]],"
    .. " stdin=subprocess.DEVNULL, start_new_session=True).pid)' '" .. cmd:gsub("'", "'\\''") .. "'"):match("%d+")
  return assert(pid, "could not start: " .. cmd)
end

-- kubectl (the one spec/support/tools.lua found) against KUBECONFIG; output with the
-- version-skew warning lines dropped, and its exit status.
function H.kubectl(kubeconfig, args)
  local out, rc = spec.sh("KUBECONFIG='" .. kubeconfig .. "' " .. H.tools.kubectl_cmd() .. " " .. args)
  out = out:gsub("[^\n]*version difference[^\n]*\n?", ""):gsub("WARNING: version[^\n]*\n?", "")
  return out, rc
end

-- Wait until every pod (at least `min`, default 1) has been started by the node agent (it
-- has a startTime: Running, CrashLoopBackOff, ImagePullBackOff, Completed…), as the
-- controllers and the agent report them; a timeout says how far it got, or what failed.
function H.wait_pods_started(kubeconfig, min, timeout_ms)
  return spec.eventually(function()
    local out, rc = H.kubectl(kubeconfig, "get pods -A --no-headers -o custom-columns=P:.status.phase,S:.status.startTime")
    if rc ~= 0 then return false, "kubectl: " .. out:gsub("%s+$", "") end
    local total, started, running = 0, 0, 0
    for phase, start in out:gmatch("(%S+)%s+(%S+)") do
      total = total + 1
      if start ~= "<none>" then started = started + 1 end
      if phase == "Running" then running = running + 1 end
    end
    return total >= (min or 1) and started == total,
      ("%d/%d pods started by the node agent (%d Running)"):format(started, total, running)
  end, timeout_ms or 240000, "every pod started")
end

-- rows of a table output as lists of cells (whitespace split), without the AGE column
function H.cells(text, drop_last)
  local rows = {}
  for line in text:gmatch("[^\n]+") do
    local r = {}
    for w in line:gmatch("%S+") do r[#r + 1] = w end
    if drop_last then r[#r] = nil end
    rows[#rows + 1] = table.concat(r, " ")
  end
  return rows
end

return H
