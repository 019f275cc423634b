-- spec/support/tools.lua — the outside programs the specs compare with, found once per run.
--
-- kubectl: `spec/support/kube kubectl` picks it (VCLI_TEST_KUBECTL, else the newest of the one
-- on PATH, the reference v1.32 that `kube build` fetches, and the kube build's own v1.20.2).
-- vcli's output follows kubectl v1.32 (README, "Which kubectl"); a comparison that needs a
-- newer client than the one found is skipped with that reason (T.need_kubectl), never failed.
local T = {}
local state = spec._tools or {}
spec._tools = state -- one answer per run, whichever spec file asks first

-- { path=, version="v1.32.3", major=1, minor=32, source="PATH"|"reference"|"kube-build"|… } or nil, why
function T.kubectl()
  if state.kubectl == nil then
    local out, rc = spec.sh("spec/support/kube kubectl")
    local path, version, major, minor, source = out:match("^(%S+) (v(%d+)%.(%d+)%S*) (%S+)")
    if rc == 0 and path then
      state.kubectl = { path = path, version = version, major = tonumber(major), minor = tonumber(minor),
                        source = source }
    else
      state.kubectl = false
      state.kubectl_why = (out:gsub("^%[kube%] error: ", ""):gsub("%s+$", ""))
    end
  end
  return state.kubectl or nil, state.kubectl_why
end

-- The header line of a run: which kubectl the comparisons use.
function T.header()
  local k, why = T.kubectl()
  if not k then return "kubectl for comparisons: none (" .. why .. ")" end
  return ("kubectl for comparisons: %s %s (%s)%s"):format(k.path, k.version, k.source,
    k.minor < 32 and "; comparisons that follow kubectl v1.32 are skipped" or "")
end

-- Skip the calling test (or before_all's group) unless the kubectl is at least v1.MINOR.
function T.need_kubectl(minor, what)
  local k, why = T.kubectl()
  if not k then spec.skip("no kubectl to compare with: " .. why) end
  if k.major == 1 and k.minor < minor then
    spec.skip(("%s: needs kubectl v1.%d or newer; the kubectl here is %s (%s)"):format(what or "this comparison",
      minor, k.version, k.path))
  end
  return k
end

-- A shell command prefix that runs that kubectl as `kubectl`.
function T.kubectl_cmd()
  local k, why = T.kubectl()
  if not k then error("no kubectl to compare with: " .. why, 2) end
  return "'" .. k.path .. "'"
end

return T
