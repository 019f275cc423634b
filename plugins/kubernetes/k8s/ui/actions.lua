-- k8s.ui.actions — what the browser's keys do to the selection (or to every
-- marked row), with k9s's keys: the actions are data (name, key, help,
-- mutates), so the host builds the keymap, `?` and read-only hiding from
-- them. Verbs run through the same code as the shell's `k8s` verbs (read-only,
-- impersonation and conflicts included), their output captured for the
-- status line.
local util = require("k8s.util")
local discovery = require("k8s.discovery")
local verbs = require("k8s.verbs")
local plugin_env = require("k8s.plugin_env")

local M = {}

-- the canonical resource of a type word, before discovery answers
local CANON = {
  po = "pods", pod = "pods", pods = "pods",
  deploy = "deployments", deployment = "deployments", deployments = "deployments",
  sts = "statefulsets", statefulset = "statefulsets", statefulsets = "statefulsets",
  ds = "daemonsets", daemonset = "daemonsets", daemonsets = "daemonsets",
  rs = "replicasets", replicaset = "replicasets", replicasets = "replicasets",
  job = "jobs", jobs = "jobs", cj = "cronjobs", cronjob = "cronjobs", cronjobs = "cronjobs",
  svc = "services", service = "services", services = "services",
  no = "nodes", node = "nodes", nodes = "nodes", ns = "namespaces", namespace = "namespaces",
  namespaces = "namespaces", crd = "customresourcedefinitions", crds = "customresourcedefinitions",
  customresourcedefinitions = "customresourcedefinitions", ctx = "contexts", contexts = "contexts",
  context = "contexts",
}
M.CANON = CANON
local function kind_of(v)
  if v.r then return v.r.name end
  local w = tostring(v.type or ""):lower()
  return CANON[w] or CANON[w:match("^([^.]+)") or ""] or w
end
M.kind_of = kind_of

-- The header every view of the browser shows (a list, describe/YAML, logs,
-- containers): the connection's context, cluster, user (or whom it acts as),
-- namespace, the server's version once a list asked for it, read-only, and
-- the writes waiting in the offline queue (counted at most once a second).
-- o: namespace (what the view shows), offline, offline_since, readonly
function M.header(sess, env, conn, o)
  conn = conn or {}
  o = o or {}
  local user = conn.impersonate and (conn.impersonate.user .. " (as)") or conn.user_name
  local now = env.now()
  if not sess.queued_at or now - sess.queued_at > 1000 then
    sess.queued_at = now
    local ok, n = pcall(function() return require("k8s.offline").journal(env):count() end)
    sess.queued = ok and n or nil
  end
  local readonly = o.readonly
  if readonly == nil then readonly = conn.context ~= nil and sess:is_readonly(conn) or false end
  return { context = conn.context, cluster = conn.cluster_name, user = user,
           namespace = o.namespace or conn.namespace,
           server = sess.server_versions and conn.context and sess.server_versions[conn.context] or nil,
           offline = o.offline, offline_since = o.offline_since, readonly = readonly, queued = sess.queued }
end

-- the plain keys of a list (the table widget's), for `?`
M.TABLE_NAV = { { key = "Space", help = "Mark" }, { key = "C-Space", help = "Mark a range" },
                { key = "Enter", help = "Open (drill down)" } }

local SCALABLE = { deployments = true, statefulsets = true, replicasets = true }
local RESTARTABLE = { deployments = true, statefulsets = true, daemonsets = true }
local WITH_PODS = { deployments = true, statefulsets = true, daemonsets = true, replicasets = true, jobs = true,
                    services = true }

function M.list(v)
  local k = kind_of(v)
  local a = {
    { name = "open", key = "Enter", help = "Open (pods, containers, logs…)", group = "Resource" },
    { name = "describe", key = "d", help = "Describe", group = "Resource" },
    { name = "yaml", key = "y", help = "YAML", group = "Resource" },
    { name = "edit", key = "e", help = "Edit", group = "Resource", mutates = true },
    { name = "delete", key = "C-d", help = "Delete", group = "Resource", mutates = true },
    { name = "owner", key = "J", help = "Jump to the owner", group = "Resource" },
    { name = "sort_name", key = "N", help = "Sort by name", group = "Sort" },
    { name = "sort_age", key = "A", help = "Sort by age", group = "Sort" },
    { name = "sort_status", key = "S", help = "Sort by status", group = "Sort" },
    { name = "sort_next", key = { "O", "S-Right" }, help = "Sort by the next column", group = "Sort" },
    { name = "sort_prev", key = "S-Left", help = "Sort by the previous column", group = "Sort" },
    { name = "wide", key = "C-w", help = "Wide columns", group = "View" },
    { name = "faults", key = "C-z", help = "Only faulty rows", group = "View" },
    { name = "save", key = "C-s", help = "Save the table as CSV", group = "View" },
    { name = "reload", key = "C-r", help = "Reload", group = "View" },
  }
  if k ~= "nodes" then a[#a + 1] = { name = "copy", key = "c", help = "Copy the name", group = "Resource" } end
  if k == "pods" then
    a[#a + 1] = { name = "logs", key = "l", help = "Logs", group = "Pod" }
    a[#a + 1] = { name = "logs_previous", key = "p", help = "Logs of the previous container", group = "Pod" }
    a[#a + 1] = { name = "shell", key = "s", help = "Shell", group = "Pod", mutates = true }
    a[#a + 1] = { name = "kill", key = "C-k", help = "Kill (delete now)", group = "Pod", mutates = true }
    a[#a + 1] = { name = "port_forward", key = "F", help = "Port-forward (:pf lists them)", group = "Pod" }
  end
  if SCALABLE[k] then a[#a + 1] = { name = "scale", key = "s", help = "Scale", group = "Workload", mutates = true } end
  if RESTARTABLE[k] then
    a[#a + 1] = { name = "restart", key = "r", help = "Rollout restart", group = "Workload", mutates = true }
  end
  if WITH_PODS[k] and k ~= "services" then a[#a + 1] = { name = "logs", key = "l", help = "Logs of every pod", group = "Workload" } end
  if k == "nodes" then
    a[#a + 1] = { name = "cordon", key = "c", help = "Cordon", group = "Node", mutates = true }
    a[#a + 1] = { name = "uncordon", key = "u", help = "Uncordon", group = "Node", mutates = true }
  end
  return a
end

function M.hint(v)
  local k = kind_of(v)
  local h = { "describe", "yaml" }
  if k == "pods" then h[#h + 1] = "logs"; h[#h + 1] = "shell"
  elseif SCALABLE[k] then h[#h + 1] = "scale"; h[#h + 1] = "restart" end
  h[#h + 1] = "delete"
  return h
end

-- ------------------------------------------------------------ running verbs
-- A verb of the shell's with a captured output: out, err text (raises its error).
local function run_verb(v, fn, items, flags, opts)
  opts = opts or {}
  local out, err = {}, {}
  local f = v:flags()
  if v.all then f.namespace = nil end
  for k, x in pairs(flags or {}) do f[k] = x end
  local ctx = {
    args = { items = items, name = items and items[1], pod = items and items[1], nodes = items, action = opts.action },
    flags = f, spec = { name = opts.verb or "ui" }, positional = items,
    interactive = false, terminal = opts.terminal or false,
    -- a person at the screen: a write the cluster cannot take now is queued (k8s.offline)
    queue_interactive = true,
    out = function(s) out[#out + 1] = tostring(s) end,
    print = function(...) out[#out + 1] = table.concat({ ... }, "\t") .. "\n" end,
    err = function(s) err[#err + 1] = tostring(s) end,
    warn = function(s) err[#err + 1] = "warning: " .. tostring(s) .. "\n" end,
  }
  local prev = plugin_env.ctx
  plugin_env.ctx = ctx
  local ok, e = pcall(fn, v.sess, ctx)
  plugin_env.ctx = prev
  if not ok then error(e, 0) end
  return table.concat(out), table.concat(err)
end
M.run_verb = run_verb

local function last_line(s)
  local l
  for line in tostring(s or ""):gmatch("[^\n]+") do l = line end
  return l
end

local function qualified_type(v)
  local r = v.r
  if not r then return v.type end
  return r.group ~= "" and (r.name .. "." .. r.group) or r.name
end

-- the rows an action is for: the marked ones, else the selected one
local function targets(v)
  local rows = v.t:marked()
  if #rows == 0 then return nil, "nothing selected" end
  return rows
end

-- the rows' names grouped by namespace: { {ns, {names}}, … }
local function by_ns(rows)
  local groups, order = {}, {}
  for _, r in ipairs(rows) do
    local ns = r.namespace or ""
    if not groups[ns] then groups[ns] = {}; order[#order + 1] = ns end
    table.insert(groups[ns], r.name)
  end
  local out = {}
  for _, ns in ipairs(order) do out[#out + 1] = { ns ~= "" and ns or nil, groups[ns] } end
  return out
end

local function each_ns(v, rows, fn)
  local outs = {}
  for _, g in ipairs(by_ns(rows)) do
    local items = { qualified_type(v) }
    for _, n in ipairs(g[2]) do items[#items + 1] = n end
    outs[#outs + 1] = fn(items, g[1] and { namespace = g[1] } or {})
  end
  return table.concat(outs)
end

local function push(args)
  vcli.tui.push("k8s", args)
  return true
end

local function base_args(v, extra)
  local a = { context = v.context, namespace = v.ns, readonly = v.readonly_flag or nil }
  for k, x in pairs(extra or {}) do a[k] = x end
  return a
end

-- a label selector of an object's spec.selector (matchLabels and matchExpressions)
local function selector_of(obj)
  local sel = obj.spec and obj.spec.selector
  if type(sel) ~= "table" then return nil end
  local parts = {}
  local ml = sel.matchLabels
  if type(ml) ~= "table" and not sel.matchExpressions then ml = sel end   -- a Service's plain map
  local keys = {}
  for k in pairs(type(ml) == "table" and ml or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(ml[k]) end
  for _, e in ipairs(type(sel.matchExpressions) == "table" and sel.matchExpressions or {}) do
    local op = tostring(e.operator)
    if op == "In" then parts[#parts + 1] = ("%s in (%s)"):format(e.key, table.concat(e.values or {}, ","))
    elseif op == "NotIn" then parts[#parts + 1] = ("%s notin (%s)"):format(e.key, table.concat(e.values or {}, ","))
    elseif op == "Exists" then parts[#parts + 1] = e.key
    elseif op == "DoesNotExist" then parts[#parts + 1] = "!" .. e.key end
  end
  if #parts == 0 then return nil end
  return table.concat(parts, ",")
end
M.selector_of = selector_of

local function object_of(v, row)
  local c = v.c or select(1, v.sess:client(v:flags()))
  local ns = v.r.namespaced and (row.namespace or v.view_ns) or nil
  local obj, err = c:get_json(discovery.path(v.r, ns, row.name))
  if not obj then error(err, 0) end
  return obj, c, ns
end

local OPEN = {}
function OPEN.namespaces(v, row)
  local ctx = { args = { name = row.name }, flags = { context = v.context }, spec = { name = "ns" },
                out = function() end, err = function() end }
  verbs.ns(v.sess, ctx)
  if M.on_switch then M.on_switch() end
  return push(base_args(v, { type = "pods", namespace = row.name }))
end
function OPEN.nodes(v, row)
  return push(base_args(v, { type = "pods", all = true, namespace = false, field_selector = "spec.nodeName=" .. row.name,
                             label = "node " .. row.name }))
end
function OPEN.cronjobs(v, row)
  return push(base_args(v, { type = "jobs", namespace = row.namespace, owner_uid = row.uid, label = "of " .. row.name }))
end
function OPEN.customresourcedefinitions(v, row)
  return push(base_args(v, { type = row.name, all = true }))
end
function OPEN.pods(v, row)
  return push(base_args(v, { view = "containers", namespace = row.namespace, name = row.name }))
end
function OPEN.contexts(v, row)
  local ctx = { args = { name = row.name }, flags = {}, spec = { name = "ctx" }, out = function() end, err = function() end }
  verbs.ctx(v.sess, ctx)
  if M.on_switch then M.on_switch() end
  return push({ type = "pods" })
end

local A = {}
function A.open(v)
  local row = v.t:selected()
  if not row then return nil end
  local k = kind_of(v)
  if OPEN[k] then return OPEN[k](v, row) end
  if WITH_PODS[k] then
    local obj = object_of(v, row)
    local sel = selector_of(obj)
    if not sel then return ("%s %s has no selector"):format(k, row.name) end
    if k == "jobs" then sel = "job-name=" .. row.name end
    return push(base_args(v, { type = "pods", namespace = row.namespace, all = false, selector = sel,
                               label = "of " .. row.name }))
  end
  return A.describe(v)
end

local function text_view(v, mode)
  local row = v.t:selected()
  if not row then return nil end
  return push(base_args(v, { view = "text", mode = mode, rtype = qualified_type(v), name = row.name,
                             namespace = row.namespace }))
end
function A.describe(v) return text_view(v, "describe") end
function A.yaml(v) return text_view(v, "yaml") end

function A.owner(v)
  local row = v.t:selected()
  if not row then return nil end
  local o = type(row.owners) == "table" and row.owners[1]
  if not o then return ("%s has no owner"):format(row.name) end
  local group = tostring(o.apiVersion or ""):match("^(.-)/") or ""
  local ty = (o.kind or ""):lower() .. "s" .. (group ~= "" and ("." .. group) or "")
  return push(base_args(v, { type = ty, namespace = row.namespace, select = (row.namespace or "") .. "/" .. o.name }))
end

local function sort_col(v, name)
  for i, c in ipairs(v.cols or {}) do if c.name == name then return i end end
end
function A.sort_name(v) local i = sort_col(v, "NAME") if i then v.t:toggle_sort(i) end return true end
function A.sort_age(v) local i = sort_col(v, "AGE") if i then v.t:toggle_sort(i) end return true end
function A.sort_status(v) local i = sort_col(v, "STATUS") if i then v.t:toggle_sort(i) end return true end
local function sort_step(v, d)
  local name, desc = v.t:sort_state()
  local cur = name and sort_col(v, name) or 1
  local n = #(v.cols or {})
  if n == 0 then return true end
  local nxt = (cur - 1 + d) % n + 1
  v.t:sort(nxt, desc or false)
  return true
end
function A.sort_next(v) return sort_step(v, 1) end
function A.sort_prev(v) return sort_step(v, -1) end
function A.wide(v) v.t.wide = not v.t.wide return v.t.wide and "wide columns" or "normal columns" end
function A.faults(v)
  v.faults = not v.faults
  v.t:set_predicate(v.faults and function(r) return r.fault or r.restarting end or nil)
  return v.faults and "faults only" or "every row"
end
function A.reload(v) v:start() return "reloading" end
function A.copy(v)
  local rows = targets(v)
  if not rows then return nil end
  local names = {}
  for _, r in ipairs(rows) do names[#names + 1] = r.name end
  if not vcli.clipboard then return "no clipboard capability" end
  vcli.clipboard.copy(table.concat(names, "\n"))
  return ("copied %d name%s"):format(#names, #names == 1 and "" or "s")
end
function A.save(v)
  local dir = (v.env.getenv("TMPDIR") or "/tmp")
  local path = ("%s/vcli-%s-%s.csv"):format(dir, kind_of(v), os.date("%Y%m%d-%H%M%S"))
  if not (vcli.fs and vcli.fs.write) then return "no fs.write grant" end
  local ok, err = pcall(vcli.fs.write, path, v.t:csv())
  if not ok then error(err, 0) end
  return "saved " .. path
end

local function confirm_names(rows)
  local names = {}
  for i, r in ipairs(rows) do
    if i > 5 then names[#names + 1] = ("… %d more"):format(#rows - 5) break end
    names[#names + 1] = r.name
  end
  return table.concat(names, ", ")
end

function A.delete(v, force)
  local rows, err = targets(v)
  if not rows then return err end
  local r = vcli.tui.dialog({ kind = "form", title = force and "Kill" or "Delete",
    message = ("%s %s %s?"):format(force and "Kill" or "Delete", kind_of(v), confirm_names(rows)),
    fields = force and {} or {
      { name = "propagation", label = "Propagation", kind = "choice", value = "Background",
        choices = { "Background", "Foreground", "Orphan" } },
      { name = "grace", label = "Grace period (s, -1 default)", kind = "number", value = -1, min = -1, max = 86400 },
      { name = "force", label = "Force", kind = "bool", value = false },
    }, buttons = { force and "Kill" or "Delete", "Cancel" } })
  if type(r) ~= "table" or not r.ok then return "nothing deleted" end
  local vals = r.values or {}
  local c = v.c or select(1, v.sess:client(v:flags()))
  local conn = v.conn
  if v.sess:is_readonly(conn) then error(("delete: refused: read-only mode (context %s)"):format(conn.context), 0) end
  local grace = force and 0 or tonumber(vals.grace)
  if vals.force then grace = 0 end
  local n = 0
  for _, row in ipairs(rows) do
    local body = { kind = "DeleteOptions", apiVersion = "v1", propagationPolicy = (not force) and vals.propagation or nil }
    if grace and grace >= 0 then body.gracePeriodSeconds = grace end
    local ns = v.r.namespaced and (row.namespace or v.view_ns) or nil
    local res, derr = c:request({ method = "DELETE", path = discovery.path(v.r, ns, row.name),
      body = v.env.json.encode(body), content_type = "application/json", accept = "application/json", timeout_ms = 30000 })
    if not res then error(derr, 0) end
    n = n + 1
  end
  v.t:clear_marks()
  -- as kubectl says it: pod "web-1" deleted; for several, deleted 3 pods
  if n == 1 then
    return ('%s "%s" %s'):format(v.r.singular or kind_of(v), rows[1].name, force and "killed" or "deleted")
  end
  return ("%s %d %s"):format(force and "killed" or "deleted", n, kind_of(v))
end
function A.kill(v) return A.delete(v, true) end

function A.scale(v)
  local row = v.t:selected()
  if not row then return nil end
  local obj = object_of(v, row)
  local cur = obj.spec and obj.spec.replicas or 0
  local r = vcli.tui.dialog({ kind = "number", title = "Scale", message = ("Replicas of %s/%s"):format(kind_of(v), row.name),
                              value = cur, min = 0, max = 10000 })
  if type(r) ~= "table" or not r.ok then return "not scaled" end
  local n = tonumber(r.value or (r.values and r.values.value))
  if not n then return "not scaled" end
  local out = run_verb(v, verbs.scale, { qualified_type(v), row.name }, { replicas = n, namespace = row.namespace },
                       { verb = "scale" })
  return last_line(out) or "scaled"
end

function A.restart(v)
  local rows, err = targets(v)
  if not rows then return err end
  local r = vcli.tui.dialog({ kind = "confirm", title = "Restart", message = ("Rollout restart %s %s?"):format(kind_of(v),
                              confirm_names(rows)), yes = "Restart", no = "Cancel" })
  if type(r) ~= "table" or not r.ok then return "not restarted" end
  local out = each_ns(v, rows, function(items, f)
    return run_verb(v, verbs.rollout, items, f, { verb = "rollout", action = "restart" })
  end)
  v.t:clear_marks()
  return last_line(out)
end

local function node_verb(fn, verb)
  return function(v)
    local rows, err = targets(v)
    if not rows then return err end
    local names = {}
    for _, r in ipairs(rows) do names[#names + 1] = r.name end
    local out = run_verb(v, fn, names, {}, { verb = verb })
    v.t:clear_marks()
    return last_line(out)
  end
end
A.cordon = node_verb(verbs.cordon, "cordon")
A.uncordon = node_verb(verbs.uncordon, "uncordon")

function A.edit(v)
  local row = v.t:selected()
  if not row then return nil end
  local out, err = run_verb(v, verbs.edit, { qualified_type(v), row.name }, { namespace = row.namespace },
                            { verb = "edit", terminal = true })
  return last_line(out) or last_line(err) or "edited"
end

local function logs(v, previous)
  local row = v.t:selected()
  if not row then return nil end
  local k = kind_of(v)
  if k == "pods" then
    return push(base_args(v, { view = "logs", namespace = row.namespace, pods = { row.name }, previous = previous,
                               title = row.name }))
  end
  local obj = object_of(v, row)
  local sel = k == "jobs" and ("job-name=" .. row.name) or selector_of(obj)
  if not sel then return ("%s has no selector"):format(row.name) end
  return push(base_args(v, { view = "logs", namespace = row.namespace, selector = sel, title = row.name }))
end
function A.logs(v) return logs(v, false) end
function A.logs_previous(v) return logs(v, true) end

function A.shell(v)
  local row = v.t:selected()
  if not row then return nil end
  local _, err = run_verb(v, require("k8s.remote").exec, { row.name },
    { namespace = row.namespace, stdin = true, tty = true,
      ["--"] = { "sh", "-c", "clear; (bash || ash || sh)" } }, { verb = "exec", terminal = true })
  return last_line(err) or ("left the shell of " .. row.name)
end

-- ------------------------------------------------------------ port-forwards
-- Running forwards, for :pf: { {id, pod, namespace, context, local_port, remote_port, state, log}, … }
M.forwards = M.forwards or {}
local next_pf = 0

local function container_port(pod)
  for _, ct in ipairs(pod.spec and pod.spec.containers or {}) do
    for _, p in ipairs(ct.ports or {}) do if p.containerPort then return p.containerPort end end
  end
end

function A.port_forward(v)
  local row = v.t:selected()
  if not row then return nil end
  local pod = object_of(v, row)
  local rport = container_port(pod) or 80
  local r = vcli.tui.dialog({ kind = "form", title = "Port-forward", message = ("pod/%s"):format(row.name),
    fields = { { name = "remote", label = "Pod port", kind = "number", value = rport, min = 1, max = 65535 },
               { name = "local", label = "Local port (0: any free one)", kind = "number", value = rport, min = 0,
                 max = 65535 } },
    buttons = { "Forward", "Cancel" } })
  if type(r) ~= "table" or not r.ok then return "no forward" end
  local vals = r.values or {}
  next_pf = next_pf + 1
  local pf = { id = next_pf, pod = row.name, namespace = row.namespace or v.view_ns, context = v.conn and v.conn.context,
               remote_port = tonumber(vals.remote) or rport, local_port = tonumber(vals["local"]) or 0,
               state = "starting", log = {} }
  M.forwards[#M.forwards + 1] = pf
  local flags = v:flags()
  flags.namespace = pf.namespace
  vcli.timer(0, function()
    local ctx = { args = { target = "pod/" .. pf.pod, ports = { ("%d:%d"):format(pf.local_port, pf.remote_port) } },
      flags = flags, spec = { name = "port-forward" }, capture = true, stop = function() return pf.stopped end,
      out = function(s)
        local lp = tostring(s):match("Forwarding from [^:]+:(%d+)")
        if lp then pf.local_port, pf.state = tonumber(lp), "forwarding" end
        pf.log[#pf.log + 1] = s
        if #pf.log > 50 then table.remove(pf.log, 1) end
      end,
      err = function(s) pf.log[#pf.log + 1] = s; pf.last_error = tostring(s):gsub("\n$", "") end }
    local ok, err = pcall(require("k8s.remote").port_forward, v.sess, ctx)
    pf.state = pf.stopped and "stopped" or (ok and "ended" or ("failed: " .. tostring(err)))
    if not ok then pcall(vcli.tui.flash, "port-forward " .. pf.pod .. ": " .. tostring(err), "error") end
  end)
  return ("forwarding pod/%s port %d (:pf lists the forwards)"):format(row.name, pf.remote_port)
end

function M.run(v, name)
  local f = A[name]
  if not f then return nil, ("no action '%s' here"):format(tostring(name)) end
  if not v.r and name ~= "reload" then return nil, "still loading" end
  return f(v)
end

-- ------------------------------------------------------------ : commands
-- k9s's aliases the server's short names do not cover
M.ALIASES = { dp = "deployments", sec = "secrets", jo = "jobs", crds = "customresourcedefinitions",
              rb = "rolebindings", crb = "clusterrolebindings", ro = "roles", cr = "clusterroles",
              np = "networkpolicies", pdb = "poddisruptionbudgets", ep = "endpoints", ev = "events" }

-- :TYPE [NS | -A | all] [SELECTOR] [@CONTEXT]; :ns [NAME]; :ctx [NAME]
function M.command(v, words)
  local ty = M.ALIASES[words[1]] or words[1]
  local a = base_args(v, {})
  a.type = ty
  for i = 2, #words do
    local w = words[i]
    if w:sub(1, 1) == "@" then a.context = w:sub(2)
    elseif w == "-A" or w == "all" then a.all = true; a.namespace = nil
    elseif w:find("[=!]") then a.selector = w
    else a.namespace = w end
  end
  if ty == "pf" or ty == "port-forwards" or ty == "portforwards" then return push(base_args(v, { view = "forwards" })) end
  if ty == "ctx" or ty == "context" or ty == "contexts" then
    if words[2] then
      local ctx = { args = { name = words[2] }, flags = {}, spec = { name = "ctx" }, out = function() end, err = function() end }
      verbs.ctx(v.sess, ctx)
      if M.on_switch then M.on_switch() end
      return push({ type = "pods" })
    end
    return push({ view = "list", type = "contexts" })
  end
  -- a type the server serves (an alias, a CRD's plural, group-qualified)
  local c = v.c or select(1, v.sess:client(v:flags()))
  local r, err = v.sess:discovery(c):resolve(ty)
  if not r then return nil, err end
  return push(a)
end

function M.complete(v, text)
  local word = text:match("^(%S*)$")
  if not word then return {} end
  local c = v.c
  if not c then return {} end
  local ok, names = pcall(function() return v.sess:discovery(c):type_names() end)
  local out = {}
  for _, n in ipairs(ok and names or {}) do if n:sub(1, #word) == word then out[#out + 1] = n end end
  for _, n in ipairs({ "ctx", "ns", "pf" }) do if n:sub(1, #word) == word then out[#out + 1] = n end end
  for n in pairs(M.ALIASES) do if n:sub(1, #word) == word then out[#out + 1] = n end end
  return out
end

M.util = util
return M
