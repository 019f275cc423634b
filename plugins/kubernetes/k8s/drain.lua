-- k8s.drain — kubectl drain NODE…, natively: cordon each node, then evict its pods
-- (the Eviction API, so disruption budgets are honoured; --disable-eviction deletes
-- them) and wait until they are gone. As kubectl, a node's pods that cannot go
-- without a flag stop its drain with kubectl's words: DaemonSet-managed pods
-- (--ignore-daemonsets), pods with emptyDir data (--delete-emptydir-data), pods
-- no controller re-creates (--force); mirror pods are left alone. Failed nodes are
-- listed at the end ("There are pending nodes to be drained"), exit 1.
local discovery = require("k8s.discovery")
local util = require("k8s.util")

local M = {}

local function controller_of(pod)
  for _, o in ipairs(type(pod.metadata.ownerReferences) == "table" and pod.metadata.ownerReferences or {}) do
    if o.controller == true then return o end
  end
end

local function has_local_storage(pod)
  for _, v in ipairs(type(pod.spec.volumes) == "table" and pod.spec.volumes or {}) do
    if type(v) == "table" and v.emptyDir ~= nil then return true end
  end
  return false
end

-- the node's pods sorted into what is evicted, what is left (and why), what stops the drain
local function sort_pods(pods, f)
  local evict, warnings, errors = {}, {}, {}
  local function add(map, why, pod)
    map[why] = map[why] or {}
    table.insert(map[why], pod.metadata.namespace .. "/" .. pod.metadata.name)
  end
  for _, pod in ipairs(pods) do
    local ann = type(pod.metadata.annotations) == "table" and pod.metadata.annotations or {}
    local phase = type(pod.status) == "table" and pod.status.phase or ""
    local ctl = controller_of(pod)
    local go = true
    if ann["kubernetes.io/config.mirror"] then
      go = false   -- a mirror pod: the kubelet's, nothing to evict
    elseif ctl and ctl.kind == "DaemonSet" then
      go = false
      if f["ignore-daemonsets"] then add(warnings, "ignoring DaemonSet-managed Pods", pod)
      else add(errors, "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)", pod) end
    else
      if phase ~= "Succeeded" and phase ~= "Failed" then
        if has_local_storage(pod) then
          if f["delete-emptydir-data"] then add(warnings, "deleting Pods with local storage", pod)
          else add(errors, "cannot delete Pods with local storage (use --delete-emptydir-data to override)", pod); go = false end
        end
        if not ctl then
          if f.force then add(warnings, "deleting Pods that declare no controller", pod)
          -- (kubectl's words, "cannot delete" twice included)
          else add(errors, "cannot delete cannot delete Pods that declare no controller (use --force to override)", pod); go = false end
        end
      end
    end
    if go then evict[#evict + 1] = pod end
  end
  local function lines(map)
    local out = {}
    for why, names in pairs(map) do out[#out + 1] = why .. ": " .. table.concat(names, ", ") end
    table.sort(out)
    return out
  end
  return evict, lines(warnings), lines(errors)
end

-- the Eviction API version the server serves (policy/v1 from 1.22, else v1beta1)
local function eviction_version(sess, c)
  for _, r in ipairs(sess:discovery(c):resources() or {}) do
    if r.name == "poddisruptionbudgets" and r.gv == "policy/v1" then return "policy/v1" end
  end
  return "policy/v1beta1"
end

function M.run(sess, ctx, V)
  local env, f = sess.env, ctx.flags
  local c, conn = sess:client(f)
  local dry = V.dry_run(f)
  if not dry then V.guard(sess, conn, "drain") end
  local nodes = {}
  for _, n in ipairs(ctx.args.nodes or {}) do nodes[#nodes + 1] = n:match("^nodes?/(.+)$") or n end
  if #nodes == 0 and not f.selector then error("error: USAGE: drain NODE [flags]\nSee 'k8s drain -h' for help and examples", 0) end
  local node_r = { group = "", gv = "v1", name = "nodes", namespaced = false, kind = "Node" }
  if f.selector then
    local l, err = c:get_json("/api/v1/nodes" .. util.query({ labelSelector = f.selector }))
    if not l then error(err, 0) end
    for _, n in ipairs(l.items or {}) do nodes[#nodes + 1] = n.metadata.name end
  end
  local suffix = dry == "client" and " (dry run)" or dry == "server" and " (server dry run)" or ""
  local grace = f["grace-period"] or -1
  local timeout_ms = (f.timeout or 0) * 1000
  local pending, fatal = {}, {}
  local evict_gv
  for _, name in ipairs(nodes) do
    local node, nerr = c:get_json(discovery.path(node_r, nil, name))
    if not node then error(nerr, 0) end
    -- cordon
    if (node.spec or {}).unschedulable == true then
      ctx.out(("node/%s already cordoned%s\n"):format(name, suffix))
    else
      if dry ~= "client" then
        local _, perr = c:request{ method = "PATCH", path = discovery.path(node_r, nil, name)
            .. util.query({ dryRun = dry == "server" and "All" or nil }),
          body = '{"spec":{"unschedulable":true}}', content_type = "application/strategic-merge-patch+json",
          accept = "application/json", timeout_ms = 30000 }
        if perr then error(perr, 0) end
      end
      ctx.out(("node/%s cordoned%s\n"):format(name, suffix))
    end
    -- its pods
    local q = { fieldSelector = "spec.nodeName=" .. name, labelSelector = f["pod-selector"] }
    local list, lerr = c:get_json("/api/v1/pods" .. util.query(q))
    if not list then error(lerr, 0) end
    local evict, warnings, errors = sort_pods(list.items or {}, f)
    if #errors > 0 then
      local msg = #errors == 1 and errors[1] or ("[" .. table.concat(errors, ", ") .. "]")
      ctx.err(("error: unable to drain node %q due to error: %s, continuing command...\n"):format(name, msg))
      pending[#pending + 1] = name
      for _, e in ipairs(errors) do fatal[#fatal + 1] = e end
      goto next_node
    end
    if #warnings > 0 then ctx.err("Warning: " .. table.concat(warnings, "; ") .. "\n") end
    do
      evict_gv = evict_gv or eviction_version(sess, c)
      local gone = {}
      local failed
      for _, pod in ipairs(evict) do
        local pns, pname = pod.metadata.namespace, pod.metadata.name
        ctx.out(("evicting pod %s/%s%s\n"):format(pns, pname, suffix))
        if dry == "client" then goto next_pod end
        do
          local del = { gracePeriodSeconds = grace >= 0 and grace or nil,
                        dryRun = dry == "server" and setmetatable({ "All" }, env.json.array_mt) or nil }
          local path = ("/api/v1/namespaces/%s/pods/%s"):format(pns, pname)
          while true do
            local res, err, _, code
            if f["disable-eviction"] then
              res, err, _, code = c:request{ method = "DELETE", path = path, body = env.json.encode(del),
                content_type = "application/json", accept = "application/json", timeout_ms = 30000 }
            else
              local ev = { apiVersion = evict_gv, kind = "Eviction", metadata = { name = pname, namespace = pns },
                           deleteOptions = next(del) and del or nil }
              res, err, _, code = c:request{ method = "POST", path = path .. "/eviction", body = env.json.encode(ev),
                content_type = "application/json", accept = "application/json", timeout_ms = 30000 }
            end
            if res or code == 404 then break end
            if code == 429 then
              -- a disruption budget says not now: kubectl's words, again in 5 s
              local why = tostring(err):gsub("^Error from server %b(): ", "")
              ctx.err(("error when evicting pods/%q -n %q (will retry after 5s): %s\n"):format(pname, pns, why))
              env.sleep(5000)
            else
              failed = failed or ("error when evicting pods/%q -n %q: %s"):format(pname, pns,
                tostring(err):gsub("^Error from server %b(): ", ""))
              break
            end
          end
          if not failed then gone[#gone + 1] = { ns = pns, name = pname, uid = pod.metadata.uid, path = path } end
        end
        ::next_pod::
      end
      -- gone: each until the server no longer has it (or has another pod of the name)
      if dry ~= "server" and dry ~= "client" then
        local deadline = timeout_ms > 0 and (env.now() + timeout_ms) or nil
        for _, p in ipairs(gone) do
          while true do
            local cur, _, kind, code = c:get_json(p.path)
            if (not cur and code == 404) or (cur and cur.metadata.uid ~= p.uid) then break end
            if not cur and kind ~= "http" and kind ~= "network" then break end
            if deadline and env.now() > deadline then
              failed = failed or ("drain did not complete within %ds"):format(f.timeout)
              break
            end
            env.sleep(500)
          end
          if failed then break end
          ctx.out(("pod/%s %s\n"):format(p.name, f["disable-eviction"] and "deleted" or "evicted"))
        end
      end
      if failed then
        ctx.err(("error: unable to drain node %q due to error: %s, continuing command...\n"):format(name, failed))
        pending[#pending + 1] = name
        fatal[#fatal + 1] = failed
      else
        ctx.out(("node/%s drained%s\n"):format(name, suffix))
      end
    end
    ::next_node::
  end
  if #pending > 0 then
    ctx.err("There are pending nodes to be drained:\n")
    for _, n in ipairs(pending) do ctx.err(" " .. n .. "\n") end
    error(table.concat(fatal, "\n"), 0)
  end
  return 0
end

return M
