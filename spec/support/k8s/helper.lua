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

-- Start the test cluster unless one runs; waits (up to 5 min) when another user's is running.
function H.start_cluster()
  local _, rc = spec.sh(H.KUBE .. " status")
  if rc == 0 then
    -- someone else's (or a leftover of ours): wait for it to go away
    local t0 = os.time()
    while rc == 0 and os.time() - t0 < 300 do
      os.execute("sleep 5")
      _, rc = spec.sh(H.KUBE .. " status")
    end
    if rc == 0 then error("another test cluster has been running for 5 minutes; not stopping it", 0) end
  end
  spec.sh(H.KUBE .. " build")
  local out
  out, rc = spec.sh(H.KUBE .. " start 2>/dev/null")
  if rc ~= 0 then error("kube start failed:\n" .. out, 0) end
  H.started = true
  return H.cluster_env()
end

function H.stop_cluster()
  if H.started then spec.sh(H.KUBE .. " stop"); H.started = false end
end

function H.kubectl(kubeconfig, args)
  return spec.sh("KUBECONFIG='" .. kubeconfig .. "' kubectl " .. args .. " 2>&1 | grep -v 'version difference\\|WARNING: version'")
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
