-- k8s.set — kubectl set image, natively: TYPE/NAME… (or TYPE NAME…, -l,
-- --all) CONTAINER=IMAGE… ("*" for every container), through the pod
-- template of pods, deployments, replica sets, replication controllers,
-- daemon sets, stateful sets, jobs and cron jobs; a strategic merge patch of
-- the containers (and init containers) named, "image updated" as kubectl
-- says it, nothing said when nothing changes; --dry-run, -o name|yaml|json|jsonpath=.
local discovery = require("k8s.discovery")
local util = require("k8s.util")

local M = {}

-- where the pod spec is, as a path of keys
local function pod_spec_path(kind)
  if kind == "Pod" then return { "spec" } end
  if kind == "CronJob" then return { "spec", "jobTemplate", "spec", "template", "spec" } end
  return { "spec", "template", "spec" }
end

local SETTABLE = { Pod = true, Deployment = true, ReplicaSet = true, ReplicationController = true, DaemonSet = true,
                   StatefulSet = true, Job = true, CronJob = true }

function M.image(sess, ctx, V)
  local env, f = sess.env, ctx.flags
  local words = {}
  for _, a in ipairs(ctx.args.items or {}) do words[#words + 1] = a end
  local c, conn = sess:client(f)
  local dry = V.dry_run(f)
  if not dry then V.guard(sess, conn, "set image") end
  -- the CONTAINER=IMAGE pairs are the words with "="; the others name the objects
  local sets, targets = {}, {}
  for _, w in ipairs(words) do
    local k, v = w:match("^([^=]+)=(.+)$")
    if k then sets[#sets + 1] = { name = k, image = v } else targets[#targets + 1] = w end
  end
  if #sets == 0 then error("error: at least one image update is required", 0) end
  local ts
  if f.selector or f.all then
    if #targets ~= 1 then error("error: one TYPE with -l or --all", 0) end
    local r, err = sess:discovery(c):resolve(targets[1])
    if not r then error(err, 0) end
    local ns = r.namespaced and conn.namespace or nil
    local list, lerr = c:get_json(discovery.path(r, ns) .. util.query({ labelSelector = f.selector }))
    if not list then error(lerr, 0) end
    ts = {}
    for _, it in ipairs(list.items or {}) do ts[#ts + 1] = { r = r, name = it.metadata.name } end
  else
    ts = V.targets_of(sess, ctx, targets)
  end
  local fmt = f.output
  local status = 0
  for _, t in ipairs(ts) do
    if not SETTABLE[t.r.kind] then
      error(("error: %s/%s: set image works on pods and what makes them (deployments, daemon sets…)"):format(
        discovery.kind_prefix(t.r), t.name), 0)
    end
    local ns = t.r.namespaced and conn.namespace or nil
    local path = discovery.path(t.r, ns, t.name)
    local obj, err = c:get_json(path)
    if not obj then error(err, 0) end
    local spec = obj
    for _, k in ipairs(pod_spec_path(t.r.kind)) do spec = type(spec) == "table" and spec[k] or nil end
    spec = type(spec) == "table" and spec or {}
    local patch_lists, changed = {}, false
    for _, s in ipairs(sets) do
      local found = false
      for _, field in ipairs({ "initContainers", "containers" }) do
        for _, ct in ipairs(type(spec[field]) == "table" and spec[field] or {}) do
          if s.name == "*" or ct.name == s.name then
            found = true
            if ct.image ~= s.image then
              changed = true
              ct.image = s.image
              patch_lists[field] = patch_lists[field] or setmetatable({}, env.json.array_mt)
              table.insert(patch_lists[field], { name = ct.name, image = s.image })
            end
          end
        end
      end
      if not found then error(("error: unable to find container named %q"):format(s.name), 0) end
    end
    local what = discovery.kind_prefix(t.r) .. "/" .. t.name
    if changed then
      local body = patch_lists
      local keys = pod_spec_path(t.r.kind)
      for i = #keys, 1, -1 do body = { [keys[i]] = body } end
      if dry ~= "client" then
        local res, perr = c:request{ method = "PATCH", path = path .. util.query({ dryRun = dry == "server" and "All" or nil }),
          body = env.json.encode(body), content_type = "application/strategic-merge-patch+json",
          accept = "application/json", timeout_ms = 30000 }
        if not res then error(perr, 0) end
        obj = env.json.decode(res.body)
      end
      if fmt then V.print_object(env, ctx, fmt, obj, what)
      else
        local suffix = dry == "client" and " (dry run)" or dry == "server" and " (server dry run)" or ""
        ctx.out(what .. " image updated" .. suffix .. "\n")
      end
    end
  end
  return status
end

return M
