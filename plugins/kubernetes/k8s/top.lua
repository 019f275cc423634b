-- k8s.top — kubectl top pod|node, natively: the metrics API (metrics.k8s.io) when the
-- server serves it, as kubectl prints it; otherwise Prometheus at prometheus.url
-- (cAdvisor's container_cpu_usage_seconds_total, its latest rate, and
-- container_memory_working_set_bytes, what the metrics server reports too: the containers'
-- series for pods, the root cgroup's, id="/", for nodes), and the command says so on
-- stderr; with neither, kubectl's "Metrics API not available".
local util = require("k8s.util")

local M = {}

local function fail(msg) error(msg, 0) end

-- a Kubernetes quantity -> its value (cores, bytes)
local SUFFIX = { n = 1e-9, u = 1e-6, m = 1e-3, k = 1e3, M = 1e6, G = 1e9, T = 1e12, P = 1e15, E = 1e18,
                 Ki = 1024, Mi = 1024 ^ 2, Gi = 1024 ^ 3, Ti = 1024 ^ 4, Pi = 1024 ^ 5, Ei = 1024 ^ 6 }
function M.quantity(q)
  if type(q) == "number" then return q end
  local num, suf = tostring(q or "0"):match("^([%d.eE+-]+)(%a*)$")
  if not num then return 0 end
  return (tonumber(num) or 0) * (suf == "" and 1 or SUFFIX[suf] or 1)
end

-- kubectl's cells: CPU in millicores (rounded up, as Quantity.MilliValue), memory in Mi (rounded down)
local function cpu_cell(cores) return ("%dm"):format(math.ceil(cores * 1000 - 1e-6)) end   -- (float noise aside)
local function mem_cell(bytes) return ("%dMi"):format(math.floor(bytes / 1048576)) end

-- kubectl top's table: every cell tab-terminated, tabwriter minwidth 6, padding 3
local function table_out(ctx, rows, no_headers)
  local lines = {}
  for i, r in ipairs(rows) do
    if not (no_headers and i == 1) then lines[#lines + 1] = table.concat(r, "\t") .. "\t" end
  end
  if #lines == 0 then return end
  ctx.out(require("k8s.describe").tabformat(table.concat(lines, "\n") .. "\n", 3, 6))
end

local function sort_rows(rows, by, key)
  table.sort(rows, function(a, b)
    if by == "cpu" and a.cpu ~= b.cpu then return a.cpu > b.cpu end
    if by == "memory" and a.mem ~= b.mem then return a.mem > b.mem end
    return key(a) < key(b)
  end)
end

-- ---------------------------------------------------------------- sources
local function served(sess, c, name)
  for _, r in ipairs(sess:discovery(c):resources() or {}) do
    if r.group == "metrics.k8s.io" and r.name == name then return r end
  end
end

-- pods' usage from the metrics API -> { {ns, pod, containers = { {name, cpu, mem} }, cpu, mem} }
local function api_pods(c, r, ns, f, name)
  local base = "/apis/" .. r.gv .. (ns and ("/namespaces/" .. ns) or "") .. "/pods"
  local path = base .. (name and ("/" .. name) or util.query({ labelSelector = f.selector, fieldSelector = f["field-selector"] }))
  local doc, err = c:get_json(path)
  if not doc then fail(err) end
  local out = {}
  for _, it in ipairs(name and { doc } or (doc.items or {})) do
    local p = { ns = it.metadata.namespace, pod = it.metadata.name, containers = {}, cpu = 0, mem = 0 }
    for _, ct in ipairs(it.containers or {}) do
      local cpu, mem = M.quantity(ct.usage and ct.usage.cpu), M.quantity(ct.usage and ct.usage.memory)
      p.containers[#p.containers + 1] = { name = ct.name, cpu = cpu, mem = mem }
      p.cpu, p.mem = p.cpu + cpu, p.mem + mem
    end
    out[#out + 1] = p
  end
  return out
end

-- an instant query against prometheus.url -> fn(q) -> result | nil, err (nil, why when not configured)
local function prom(sess)
  local env = sess.env
  local base = sess.prometheus and sess.prometheus() or nil
  if not base or not base.url or base.url == "" then return nil, "no prometheus.url" end
  if not env.http then return nil, "no network grant" end
  return function(q)
    local headers = {}
    if base.token and base.token ~= "" then headers[#headers + 1] = "Authorization: Bearer " .. base.token
    elseif base.username and base.username ~= "" then
      headers[#headers + 1] = "Authorization: Basic " .. util.base64_encode(base.username .. ":" .. (base.password or ""))
    end
    local res, err = env.http.request({ url = base.url:gsub("/+$", "") .. "/api/v1/query" .. util.query({ query = q }),
      method = "GET", headers = headers, timeout_ms = 30000 })
    if not res then return nil, err end
    local doc = env.json.decode(res.body or "")
    if res.status ~= 200 or type(doc) ~= "table" or doc.status ~= "success" then
      return nil, ("HTTP %d %s"):format(res.status, type(doc) == "table" and tostring(doc.error or "") or "")
    end
    return doc.data and doc.data.result or {}
  end, base.url
end

-- cAdvisor's CPU (the latest rate: the last two samples, as the metrics server reports its latest
-- window; rate()'s extrapolation makes a young series look idle) and working set, summed by `by`
-- over the series selector sel -> cpu result, mem result | nil, err
local function usage(query, by, sel)
  local cpu, cerr = query(("sum by (%s) (irate(container_cpu_usage_seconds_total%s[5m]))"):format(by, sel))
  if not cpu then return nil, cerr end
  local mem, merr = query(("sum by (%s) (container_memory_working_set_bytes%s)"):format(by, sel))
  if not mem then return nil, merr end
  return cpu, mem
end

local function said(ctx, url, what)
  ctx.err(("(the metrics API is not served: usage from Prometheus at %s, %s)\n"):format(url, what))
end

-- the pods' usage from Prometheus: cAdvisor's container series
local function prom_pods(sess, ctx, ns, f, name)
  local query, url = prom(sess)
  if not query then return nil, url end
  local sel = { 'container!=""', 'container!="POD"' }
  if ns then sel[#sel + 1] = ('namespace="%s"'):format(ns) end
  if name then sel[#sel + 1] = ('pod="%s"'):format(name) end
  local by = f.containers and "namespace, pod, container" or "namespace, pod"
  local cpu, mem = usage(query, by, "{" .. table.concat(sel, ",") .. "}")
  if not cpu then return nil, mem end
  local pods, order = {}, {}
  local function at(m)
    local key = m.namespace .. "/" .. m.pod
    local p = pods[key]
    if not p then
      p = { ns = m.namespace, pod = m.pod, containers = {}, cpu = 0, mem = 0, byname = {} }
      pods[key] = p
      order[#order + 1] = p
    end
    local ct
    if m.container then
      ct = p.byname[m.container]
      if not ct then ct = { name = m.container, cpu = 0, mem = 0 }; p.byname[m.container] = ct; p.containers[#p.containers + 1] = ct end
    end
    return p, ct
  end
  for field, result in pairs({ cpu = cpu, mem = mem }) do
    for _, v in ipairs(result) do
      local p, ct = at(v.metric or {})
      local x = tonumber(v.value and v.value[2]) or 0
      p[field] = p[field] + x
      if ct then ct[field] = ct[field] + x end
    end
  end
  said(ctx, url, "cAdvisor's container series")
  return order
end

-- the nodes' usage from Prometheus: cAdvisor's root cgroup (id="/"), a node's whole usage, by the
-- scrape's node label (kube-prometheus relabels it so), else its instance (host[:port]) -> { {pod = node
-- name, cpu, mem} } for the names in want (a set) | nil, err
local function prom_nodes(sess, ctx, want)
  local query, url = prom(sess)
  if not query then return nil, url end
  local cpu, mem = usage(query, "node, instance", '{id="/"}')
  if not cpu then return nil, mem end
  local nodes, order = {}, {}
  for field, result in pairs({ cpu = cpu, mem = mem }) do
    for _, v in ipairs(result) do
      local m = v.metric or {}
      local n = m.node or (m.instance and (m.instance:match("^%[(.-)%]") or m.instance:match("^[^:]+")))
      if n and want[n] then
        local e = nodes[n]
        if not e then e = { pod = n, cpu = 0, mem = 0 }; nodes[n] = e; order[#order + 1] = e end
        e[field] = e[field] + (tonumber(v.value and v.value[2]) or 0)
      end
    end
  end
  said(ctx, url, "cAdvisor's root cgroup series")
  return order
end

-- ---------------------------------------------------------------- verbs
local function top_pods(sess, ctx, c, conn, name)
  local f = ctx.flags
  local ns = (not f["all-namespaces"]) and conn.namespace or nil
  local r = served(sess, c, "pods")
  local pods
  if r then pods = api_pods(c, r, ns, f, name)
  else
    local perr
    pods, perr = prom_pods(sess, ctx, ns, f, name)
    if not pods then fail(("error: Metrics API not available (nor Prometheus: %s)"):format(perr)) end
  end
  if #pods == 0 then
    if name then fail(('error: pods "%s" not found'):format(name)) end
    ctx.err(ns and ("No resources found in " .. ns .. " namespace.\n") or "No resources found\n")
    return 0
  end
  sort_rows(pods, f["sort-by"], function(p) return (p.ns or "") .. "/" .. p.pod end)
  local all = f["all-namespaces"]
  local head = {}
  if all then head[#head + 1] = "NAMESPACE" end
  if f.containers then head[#head + 1] = "POD" end
  for _, h in ipairs({ "NAME", "CPU(cores)", "MEMORY(bytes)" }) do head[#head + 1] = h end
  local rows, tcpu, tmem = { head }, 0, 0
  for _, p in ipairs(pods) do
    tcpu, tmem = tcpu + p.cpu, tmem + p.mem
    if f.containers then
      table.sort(p.containers, function(a, b) return a.name < b.name end)
      for _, ct in ipairs(p.containers) do
        local row = {}
        if all then row[#row + 1] = p.ns end
        row[#row + 1] = p.pod
        for _, v in ipairs({ ct.name, cpu_cell(ct.cpu), mem_cell(ct.mem) }) do row[#row + 1] = v end
        rows[#rows + 1] = row
      end
    else
      local row = {}
      if all then row[#row + 1] = p.ns end
      for _, v in ipairs({ p.pod, cpu_cell(p.cpu), mem_cell(p.mem) }) do row[#row + 1] = v end
      rows[#rows + 1] = row
    end
  end
  if f.sum then
    local pad = {}
    if all then pad[#pad + 1] = "" end
    if f.containers then pad[#pad + 1] = "" end
    local dash, total = { unpack(pad) }, { unpack(pad) }
    for _, v in ipairs({ "", "________", "________" }) do dash[#dash + 1] = v end
    for _, v in ipairs({ "", cpu_cell(tcpu), mem_cell(tmem) }) do total[#total + 1] = v end
    rows[#rows + 1] = dash
    rows[#rows + 1] = total
  end
  table_out(ctx, rows, f["no-headers"])
  return 0
end

local function top_nodes(sess, ctx, c, name)
  local f = ctx.flags
  local r = served(sess, c, "nodes")
  local tail = name and ("/" .. name) or util.query({ labelSelector = f.selector })
  local nodes = {}
  if r then
    local doc, err = c:get_json("/apis/" .. r.gv .. "/nodes" .. tail)
    if not doc then fail(err) end
    for _, it in ipairs(name and { doc } or (doc.items or {})) do
      local u = it.usage or {}
      nodes[#nodes + 1] = { pod = it.metadata.name, cpu = M.quantity(u.cpu), mem = M.quantity(u.memory) }
    end
  end
  local nl, nerr = c:get_json("/api/v1/nodes" .. tail)
  if not nl then fail(nerr) end
  local alloc = {}
  for _, n in ipairs(name and { nl } or nl.items or {}) do alloc[n.metadata.name] = n.status and n.status.allocatable or {} end
  if not r then
    local perr
    nodes, perr = prom_nodes(sess, ctx, alloc)
    if not nodes then fail(("error: Metrics API not available (nor Prometheus: %s)"):format(perr)) end
    if #nodes == 0 then
      fail(("error: Metrics API not available (nor node usage in Prometheus at %s: no container_cpu_usage_seconds_total"
        .. '{id="/"} series for these nodes)'):format(select(2, prom(sess))))
    end
  end
  sort_rows(nodes, f["sort-by"], function(n) return n.pod end)
  local rows = { { "NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)" } }
  for _, n in ipairs(nodes) do
    local a = alloc[n.pod] or {}
    local acpu, amem = M.quantity(a.cpu), M.quantity(a.memory)
    rows[#rows + 1] = { n.pod, cpu_cell(n.cpu), acpu > 0 and ("%d%%"):format(math.floor(n.cpu / acpu * 100)) or "<unknown>",
                        mem_cell(n.mem), amem > 0 and ("%d%%"):format(math.floor(n.mem / amem * 100)) or "<unknown>" }
  end
  table_out(ctx, rows, f["no-headers"])
  return 0
end

function M.run(sess, ctx)
  local items = ctx.args.items or {}
  local what, name = items[1], items[2]
  local c, conn = sess:client(ctx.flags)
  if what == "pod" or what == "pods" or what == "po" then return top_pods(sess, ctx, c, conn, name) end
  if what == "node" or what == "nodes" or what == "no" then return top_nodes(sess, ctx, c, name) end
  fail("error: top: which? k8s top pod [NAME] or k8s top node [NAME]")
end

return M
