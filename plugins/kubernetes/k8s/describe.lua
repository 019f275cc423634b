-- k8s.describe — `k8s describe` laid out as kubectl describe (k8s.io/kubectl
-- pkg/describe/describe.go, kubectl v1.32) prints it: the same sections, field
-- names, order, value formatting and Go tabwriter alignment (minwidth 0,
-- padding 2, flushed before the events table as kubectl does).
--   local text = require("k8s.describe").describe{ env=, c=, obj=, events=true|false }
-- c is the plugin's client (nil or events=false offline: no events, no
-- derived lines). Derived lines (a deployment's replica sets, a service's
-- endpoints, a node's pods, …) cost a handful of requests per object.
-- Secret values are never shown: every key is a byte count.
local util = require("k8s.util")

local M = {}

local function is_tbl(v) return type(v) == "table" end
local function list(v) return is_tbl(v) and v or {} end
local function str(v)
  if v == nil then return "" end
  if type(v) == "number" then
    if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return ("%d"):format(v) end
    return (("%.17g"):format(v):gsub("e%+?(%-?)0*(%d)", "e+%1%2"))
  end
  if is_tbl(v) then
    local parts = {}
    for _, x in ipairs(v) do parts[#parts + 1] = str(x) end
    return "[" .. table.concat(parts, " ") .. "]"
  end
  return tostring(v)
end
local function nonempty(t) return is_tbl(t) and next(t) ~= nil end
local function sorted_keys(t)
  local keys = {}
  for k in pairs(list(t)) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end
-- stable sort (Go's sort.Slice on these short lists keeps ties in order)
local function stable_sort(t, less)
  local idx = {}
  for i, v in ipairs(t) do idx[i] = { v, i } end
  table.sort(idx, function(a, b)
    if less(a[1], b[1]) then return true end
    if less(b[1], a[1]) then return false end
    return a[2] < b[2]
  end)
  for i, p in ipairs(idx) do t[i] = p[1] end
  return t
end
local function split(s, sep)
  local out, i = {}, 1
  while true do
    local a, b = s:find(sep, i, true)
    if not a then out[#out + 1] = s:sub(i); return out end
    out[#out + 1] = s:sub(i, a - 1)
    i = b + 1
  end
end
local function trim(s) return (tostring(s or ""):gsub("^%s+", ""):gsub("%s+$", "")) end
local function bool_title(b) return b and "True" or "False" end

-- ------------------------------------------------------------ tabwriter
-- Go's text/tabwriter (minwidth 0, tabwidth 8, padding 2, padchar ' ', flags 0; padding and
-- minwidth may be given: kubectl top's are 3 and 6)
local function rune_len(s) local _, n = s:gsub("[^\128-\191]", "") return n end

local function tabformat(text, padding, minwidth)
  padding, minwidth = padding or 2, minwidth or 0
  local lines = {}
  for _, l in ipairs(split(text, "\n")) do
    local cells = split(l, "\t")
    local w = {}
    for i, c in ipairs(cells) do w[i] = rune_len(c) end
    lines[#lines + 1] = { cells = cells, w = w }
  end
  local out, widths = {}, {}
  local function write_lines(l0, l1)
    for i = l0, l1 - 1 do
      local line = lines[i]
      for j, c in ipairs(line.cells) do
        out[#out + 1] = c
        if j <= #widths then out[#out + 1] = (" "):rep(widths[j] - line.w[j]) end
      end
      if i < #lines then out[#out + 1] = "\n" end
    end
  end
  local function format(line0, line1)
    local column = #widths -- 0-based index of the column being sized
    local this = line0
    while this < line1 do
      if column < #lines[this].cells - 1 then
        write_lines(line0, this)
        line0 = this
        local width = minwidth
        while this < line1 and column < #lines[this].cells - 1 do
          local w = lines[this].w[column + 1] + padding
          if w > width then width = w end
          this = this + 1
        end
        widths[#widths + 1] = width
        format(line0, this)
        widths[#widths] = nil
        line0 = this
      else
        this = this + 1
      end
    end
    write_lines(line0, line1)
  end
  format(1, #lines + 1)
  return table.concat(out)
end
M.tabformat = tabformat

-- kubectl's PrefixWriter over a tabwriter: w:p(level, …) writes "  "×level
-- and the concatenated parts (escaped as printers.WriteEscaped does)
local Writer = {}
Writer.__index = Writer
local function new_writer() return setmetatable({ buf = {}, done = {} }, Writer) end
function Writer:p(level, ...)
  local s = ("  "):rep(level) .. table.concat({ ... })
  self.buf[#self.buf + 1] = (s:gsub("\27", "^["):gsub("\r", "\\r"))
end
function Writer:flush()
  self.done[#self.done + 1] = tabformat(table.concat(self.buf))
  self.buf = {}
end
function Writer:text()
  self:flush()
  return table.concat(self.done)
end

-- ------------------------------------------------------------ times
local DAYS = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" }
local MONTHS = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" }

-- a time in the local zone: its fields (os.date's "*t") and the zone's offset as Go's -0700
local function local_time(t)
  local off = os.time(os.date("*t", t)) - os.time(os.date("!*t", t))
  local a = math.abs(off)
  return os.date("!*t", t + off), ("%s%02d%02d"):format(off < 0 and "-" or "+", math.floor(a / 3600), math.floor(a % 3600 / 60))
end

-- Go's time.RFC1123Z in local time; a missing time is Go's zero time
local function rfc1123z(ts)
  local t = util.parse_time(ts)
  if not t then return "Mon, 01 Jan 0001 00:00:00 +0000" end
  local d, zone = local_time(t)
  return ("%s, %02d %s %04d %02d:%02d:%02d %s"):format(DAYS[d.wday], d.day, MONTHS[d.month], d.year,
    d.hour, d.min, d.sec, zone)
end
M.rfc1123z = rfc1123z

-- Go's time.Time.String() in local time ("2006-01-02 15:04:05 -0700 MST"), as %s prints a metav1.Time
local function go_time(ts)
  local t = util.parse_time(ts)
  if not t then return "0001-01-01 00:00:00 +0000 UTC" end
  local d, zone = local_time(t)
  return ("%04d-%02d-%02d %02d:%02d:%02d %s %s"):format(d.year, d.month, d.day, d.hour, d.min, d.sec, zone,
    os.date("%Z", t))
end

local function since(D, ts)
  local t = util.parse_time(ts)
  if not t then return "<unknown>" end
  return util.human_duration(D.now - t)
end

-- ------------------------------------------------------------ quantities
local BIN = { Ki = 2 ^ 10, Mi = 2 ^ 20, Gi = 2 ^ 30, Ti = 2 ^ 40, Pi = 2 ^ 50, Ei = 2 ^ 60 }
local DEC = { n = 1e-9, u = 1e-6, m = 1e-3, [""] = 1, k = 1e3, M = 1e6, G = 1e9, T = 1e12, P = 1e15, E = 1e18 }

-- "250m" -> 0.25, "DecimalSI"; "1Gi" -> 1073741824, "BinarySI"
local function qparse(s)
  s = tostring(s or "")
  local num, suf = s:match("^([%+%-]?[%d%.]+)(.*)$")
  if not num then return 0, "DecimalSI" end
  local n = tonumber(num) or 0
  if BIN[suf] then return n * BIN[suf], "BinarySI" end
  if DEC[suf] then return n * DEC[suf], "DecimalSI" end
  local e = suf:match("^[eE]([%+%-]?%d+)$")
  if e then return n * 10 ^ tonumber(e), "DecimalExponent" end
  return n, "DecimalSI"
end

local DEC_SUFFIX = { [-9] = "n", [-6] = "u", [-3] = "m", [0] = "", [3] = "k", [6] = "M", [9] = "G", [12] = "T",
  [15] = "P", [18] = "E" }
local BIN_SUFFIX = { [0] = "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" }

-- resource.Quantity.String() of a value in base units
local function qstring(v, fmt)
  if v == 0 then return "0" end
  local neg = v < 0 and "-" or ""
  v = math.abs(v)
  if fmt == "BinarySI" and v >= 1024 and v == math.floor(v) then
    local k = 0
    while k < 6 and v % 1024 == 0 do v = v / 1024; k = k + 1 end
    return neg .. ("%d"):format(v) .. BIN_SUFFIX[k]
  end
  local m, e
  if v == math.floor(v) then m, e = v, 0
  else
    e = -3
    m = v * 1000
    while e > -9 and math.abs(m - math.floor(m + 0.5)) > 1e-6 do m = m * 1000; e = e - 3 end
    m = math.ceil(m - 1e-6)
  end
  while m ~= 0 and m % 1000 == 0 and e < 18 do m = m / 1000; e = e + 3 end
  if fmt == "DecimalExponent" then return neg .. ("%d"):format(m) .. (e ~= 0 and ("e" .. e) or "") end
  return neg .. ("%d"):format(m) .. DEC_SUFFIX[e]
end

-- ------------------------------------------------------------ selectors
local function format_labels(m)
  local keys = sorted_keys(m)
  if #keys == 0 then return "<none>" end
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. str(m[k]) end
  return table.concat(parts, ",")
end

-- metav1.LabelSelectorAsSelector(sel).String()
local function selector_string(sel)
  if not is_tbl(sel) then return "" end
  local reqs = {}
  for k, v in pairs(list(sel.matchLabels)) do reqs[#reqs + 1] = { key = k, text = k .. "=" .. str(v) } end
  for _, e in ipairs(list(sel.matchExpressions)) do
    local vals = {}
    for _, v in ipairs(list(e.values)) do vals[#vals + 1] = str(v) end
    table.sort(vals)
    local op = tostring(e.operator)
    local text
    if op == "In" then text = e.key .. " in (" .. table.concat(vals, ",") .. ")"
    elseif op == "NotIn" then text = e.key .. " notin (" .. table.concat(vals, ",") .. ")"
    elseif op == "Exists" then text = e.key
    elseif op == "DoesNotExist" then text = "!" .. e.key
    else text = e.key .. " " .. op end
    reqs[#reqs + 1] = { key = e.key, text = text }
  end
  stable_sort(reqs, function(a, b) return a.key < b.key end)
  local parts = {}
  for _, r in ipairs(reqs) do parts[#parts + 1] = r.text end
  return table.concat(parts, ",")
end

-- metav1.FormatLabelSelector
local function format_selector(sel)
  if not is_tbl(sel) then return "<none>" end
  local s = selector_string(sel)
  if s == "" then return "<none>" end
  return s
end

-- a selector as an API query (labelSelector=…)
local function selector_query(sel) return selector_string(sel) end

-- ------------------------------------------------------------ common printers
local function print_labels(w, title, labels, initial, inner)
  initial, inner = initial or "", inner or "\t"
  w:p(0, initial, title, ":", inner)
  local keys = sorted_keys(labels)
  if #keys == 0 then w:p(0, "<none>\n"); return end
  for i, k in ipairs(keys) do
    if i > 1 then w:p(0, initial); w:p(0, inner) end
    w:p(0, k, "=", str(labels[k]), "\n")
  end
end

local MAX_ANN = 140
local function print_annotations(w, title, ann)
  w:p(0, title, ":\t")
  local keys = {}
  for k in pairs(list(ann)) do
    if k ~= "kubectl.kubernetes.io/last-applied-configuration" then keys[#keys + 1] = k end
  end
  if #keys == 0 then w:p(0, "<none>\n"); return end
  table.sort(keys)
  for i, k in ipairs(keys) do
    if i > 1 then w:p(0, "\t") end
    local v = str(ann[k]):gsub("\n$", "")
    if #v + #k + 2 > MAX_ANN or v:find("\n", 1, true) then
      w:p(0, k, ":\n")
      for _, s in ipairs(split(v, "\n")) do
        if #s > MAX_ANN - 2 then s = s:sub(1, MAX_ANN - 2) .. "..." end
        w:p(0, "\t  ", s, "\n")
      end
    else
      w:p(0, k, ": ", v, "\n")
    end
  end
end

-- Name, (Namespace,) Labels, Annotations: how most describers begin
local function print_head(w, md, namespaced)
  w:p(0, "Name:\t", str(md.name), "\n")
  if namespaced then w:p(0, "Namespace:\t", str(md.namespace), "\n") end
  print_labels(w, "Labels", md.labels)
  print_annotations(w, "Annotations", md.annotations)
end

local function print_tolerations(w, title, tols)
  w:p(0, title, ":\t")
  tols = { unpack(list(tols)) }
  if #tols == 0 then w:p(0, "<none>\n"); return end
  stable_sort(tols, function(a, b) return tostring(a.key or "") < tostring(b.key or "") end)
  for i, t in ipairs(tols) do
    if i > 1 then w:p(0, "\t") end
    local key, value, effect = str(t.key), str(t.value), str(t.effect)
    local s = key
    if value ~= "" then s = s .. "=" .. value end
    if effect ~= "" then s = s .. ":" .. effect end
    if t.operator == "Exists" and value == "" then
      s = s .. ((key ~= "" or effect ~= "") and " op=Exists" or "op=Exists")
    end
    if t.tolerationSeconds ~= nil then s = s .. " for " .. str(t.tolerationSeconds) .. "s" end
    w:p(0, s, "\n")
  end
end

local function print_taints(w, title, taints)
  w:p(0, title, ":\t")
  taints = { unpack(list(taints)) }
  if #taints == 0 then w:p(0, "<none>\n"); return end
  stable_sort(taints, function(a, b) return str(a.effect) .. "," .. str(a.key) < str(b.effect) .. "," .. str(b.key) end)
  for i, t in ipairs(taints) do
    if i > 1 then w:p(0, "\t") end
    local s = str(t.key)
    if str(t.value) ~= "" then s = s .. "=" .. str(t.value) end
    w:p(0, s, ":", str(t.effect), "\n")
  end
end

local function controller_of(md)
  for _, o in ipairs(list(md.ownerReferences)) do
    if o.controller == true then return o end
  end
end
local function print_controller(w, md)
  local o = controller_of(md)
  if o then w:p(0, "Controlled By:\t", str(o.kind), "/", str(o.name), "\n") end
end

-- ------------------------------------------------------------ events
local function describe_events(D, w, events)
  if not events then return end
  if #events == 0 then w:p(0, "Events:\t<none>\n"); return end
  w:flush()
  stable_sort(events, function(a, b)
    return (util.parse_time(a.lastTimestamp) or -1e18) < (util.parse_time(b.lastTimestamp) or -1e18)
  end)
  w:p(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
  w:p(1, "----\t------\t----\t----\t-------\n")
  for _, e in ipairs(events) do
    local first
    if util.parse_time(e.eventTime) then first = since(D, e.eventTime) else first = since(D, e.firstTimestamp) end
    local interval
    if is_tbl(e.series) then
      interval = ("%s (x%s over %s)"):format(since(D, e.series.lastObservedTime), str(e.series.count or 0), first)
    elseif (tonumber(e.count) or 0) > 1 then
      interval = ("%s (x%s over %s)"):format(since(D, e.lastTimestamp), str(e.count), first)
    else
      interval = first
    end
    local source = is_tbl(e.source) and str(e.source.component) or ""
    if source == "" then source = str(e.reportingComponent) end
    w:p(1, str(e.type), "\t", str(e.reason), "\t", interval, "\t", source, "\t", trim(e.message), "\n")
  end
end

-- ------------------------------------------------------------ fetching
local function get(D, path)
  if not D.c then return nil, "offline" end
  local obj, err, _, _, st = D.c:get_json(path)
  if not obj then return nil, (is_tbl(st) and st.message) or err, st end
  return obj
end
local function items(D, path)
  local l, err, st = get(D, path)
  if not l then return nil, err, st end
  return list(l.items)
end
local function nspath(ns) return (ns and ns ~= "") and ("/api/v1/namespaces/" .. ns) or "/api/v1" end

-- events about obj (kubectl's searchEvents: name, namespace, kind, uid)
local function search_events(D, obj, opts)
  if not D.events then return nil end
  opts = opts or {}
  local md = obj.metadata or {}
  local ns = md.namespace or ""
  local fs = { "involvedObject.name=" .. str(md.name), "involvedObject.namespace=" .. ns }
  if not opts.no_kind then fs[#fs + 1] = "involvedObject.kind=" .. str(obj.kind) end
  local uid = opts.uid or md.uid
  if uid and uid ~= "" then fs[#fs + 1] = "involvedObject.uid=" .. uid end
  local evs = items(D, nspath(ns) .. "/events" .. util.query({ fieldSelector = table.concat(fs, ",") }))
  return evs or {}
end

-- ------------------------------------------------------------ containers
local function describe_resources(w, res, level)
  if not is_tbl(res) then return end
  if nonempty(res.limits) then w:p(level, "Limits:\n") end
  for _, k in ipairs(sorted_keys(res.limits)) do w:p(level + 1, k, ":\t", str(res.limits[k]), "\n") end
  if nonempty(res.requests) then w:p(level, "Requests:\n") end
  for _, k in ipairs(sorted_keys(res.requests)) do w:p(level + 1, k, ":\t", str(res.requests[k]), "\n") end
end

local function describe_probe(p)
  local attrs = ("delay=%ss timeout=%ss period=%ss #success=%s #failure=%s"):format(str(p.initialDelaySeconds or 0),
    str(p.timeoutSeconds or 0), str(p.periodSeconds or 0), str(p.successThreshold or 0), str(p.failureThreshold or 0))
  if is_tbl(p.exec) then return "exec " .. str(list(p.exec.command)) .. " " .. attrs end
  if is_tbl(p.httpGet) then
    local h = p.httpGet
    local port = str(h.port)
    local host = str(h.host)
    if port ~= "" then host = (host:find(":", 1, true) and ("[" .. host .. "]") or host) .. ":" .. port end
    local scheme = str(h.scheme):lower()
    local url = (scheme ~= "" and (scheme .. ":") or "") .. ((host ~= "" or scheme ~= "") and ("//" .. host) or "") .. str(h.path)
    return "http-get " .. url .. " " .. attrs
  end
  if is_tbl(p.tcpSocket) then return ("tcp-socket %s:%s %s"):format(str(p.tcpSocket.host), str(p.tcpSocket.port), attrs) end
  if is_tbl(p.grpc) then return ("grpc <pod>:%s %s %s"):format(str(p.grpc.port), str(p.grpc.service), attrs) end
  return "unknown " .. attrs
end

-- fieldRef values of a pod (EnvValueRetriever)
local function field_value(pod, path)
  local md, spec, st = pod.metadata or {}, pod.spec or {}, pod.status or {}
  local key = path:match("^metadata%.labels%['(.*)'%]$")
  if key then return str(list(md.labels)[key]) end
  key = path:match("^metadata%.annotations%['(.*)'%]$")
  if key then return str(list(md.annotations)[key]) end
  local simple = { ["metadata.name"] = md.name, ["metadata.namespace"] = md.namespace, ["metadata.uid"] = md.uid,
    ["spec.nodeName"] = spec.nodeName, ["spec.serviceAccountName"] = spec.serviceAccountName,
    ["status.hostIP"] = st.hostIP, ["status.podIP"] = st.podIP }
  if simple[path] ~= nil then return str(simple[path]) end
  if path == "status.podIPs" or path == "status.hostIPs" then
    local ips = {}
    for _, ip in ipairs(list(path == "status.podIPs" and st.podIPs or st.hostIPs)) do ips[#ips + 1] = str(ip.ip) end
    return table.concat(ips, ",")
  end
  return ""
end

local function resource_value(ct, ref)
  local res = ref.resource or ""
  local kind, name = res:match("^(%a+)%.(.+)$")
  local r = is_tbl(ct.resources) and ct.resources or {}
  local q = list(kind == "limits" and r.limits or r.requests)[name]
  local v = qparse(q or "0")
  local div = qparse(ref.divisor or "1")
  if div == 0 then div = 1 end
  return ("%d"):format(math.ceil(v / div - 1e-9))
end

local function describe_container_status(w, label, state)
  if is_tbl(state.running) then
    w:p(2, label, ":\tRunning\n")
    w:p(3, "Started:\t", rfc1123z(state.running.startedAt), "\n")
  elseif is_tbl(state.waiting) then
    w:p(2, label, ":\tWaiting\n")
    if str(state.waiting.reason) ~= "" then w:p(3, "Reason:\t", str(state.waiting.reason), "\n") end
  elseif is_tbl(state.terminated) then
    local t = state.terminated
    w:p(2, label, ":\tTerminated\n")
    if str(t.reason) ~= "" then w:p(3, "Reason:\t", str(t.reason), "\n") end
    if str(t.message) ~= "" then w:p(3, "Message:\t", str(t.message), "\n") end
    w:p(3, "Exit Code:\t", str(t.exitCode or 0), "\n")
    if (tonumber(t.signal) or 0) > 0 then w:p(3, "Signal:\t", str(t.signal), "\n") end
    w:p(3, "Started:\t", rfc1123z(t.startedAt), "\n")
    w:p(3, "Finished:\t", rfc1123z(t.finishedAt), "\n")
  else
    w:p(2, label, ":\tWaiting\n")
  end
end

local function describe_containers(w, label, containers, statuses, pod, space)
  local st = {}
  for _, s in ipairs(list(statuses)) do st[s.name] = s end
  w:p(0, space, label, ":", #list(containers) == 0 and " <none>" or "", "\n")
  for _, ct in ipairs(list(containers)) do
    local s = st[ct.name]
    w:p(1, space ~= "" and " " or "", str(ct.name), ":\n")
    if s then w:p(2, "Container ID:\t", str(s.containerID), "\n") end
    w:p(2, "Image:\t", str(ct.image), "\n")
    if s then w:p(2, "Image ID:\t", str(s.imageID), "\n") end
    local ports, hports = {}, {}
    for _, p in ipairs(list(ct.ports)) do
      ports[#ports + 1] = str(p.containerPort or 0) .. "/" .. str(p.protocol)
      hports[#hports + 1] = str(p.hostPort or 0) .. "/" .. str(p.protocol)
    end
    local ps, hs = table.concat(ports, ", "), table.concat(hports, ", ")
    if ps:find(",", 1, true) then w:p(2, "Ports:\t", ps, "\n") else w:p(2, "Port:\t", ps ~= "" and ps or "<none>", "\n") end
    if hs:find(",", 1, true) then w:p(2, "Host Ports:\t", hs, "\n") else w:p(2, "Host Port:\t", hs ~= "" and hs or "<none>", "\n") end
    local sc = is_tbl(ct.securityContext) and ct.securityContext.seccompProfile
    if is_tbl(sc) then
      w:p(2, "SeccompProfile:\t", str(sc.type), "\n")
      if sc.type == "Localhost" then w:p(3, "LocalhostProfile:\t", str(sc.localhostProfile), "\n") end
    end
    if #list(ct.command) > 0 then
      w:p(2, "Command:\n")
      for _, c in ipairs(ct.command) do for _, l in ipairs(split(str(c), "\n")) do w:p(3, l, "\n") end end
    end
    if #list(ct.args) > 0 then
      w:p(2, "Args:\n")
      for _, c in ipairs(ct.args) do for _, l in ipairs(split(str(c), "\n")) do w:p(3, l, "\n") end end
    end
    if s then
      describe_container_status(w, "State", is_tbl(s.state) and s.state or {})
      if is_tbl(s.lastState) and is_tbl(s.lastState.terminated) then describe_container_status(w, "Last State", s.lastState) end
      w:p(2, "Ready:\t", bool_title(s.ready == true), "\n")
      w:p(2, "Restart Count:\t", str(s.restartCount or 0), "\n")
    end
    describe_resources(w, ct.resources or {}, 2)
    if is_tbl(ct.livenessProbe) then w:p(2, "Liveness:\t", describe_probe(ct.livenessProbe), "\n") end
    if is_tbl(ct.readinessProbe) then w:p(2, "Readiness:\t", describe_probe(ct.readinessProbe), "\n") end
    if is_tbl(ct.startupProbe) then w:p(2, "Startup:\t", describe_probe(ct.startupProbe), "\n") end
    if #list(ct.envFrom) > 0 then
      w:p(2, "Environment Variables from:\n")
      for _, e in ipairs(ct.envFrom) do
        local from, name, opt = "", "", false
        if is_tbl(e.configMapRef) then from, name, opt = "ConfigMap", str(e.configMapRef.name), e.configMapRef.optional == true
        elseif is_tbl(e.secretRef) then from, name, opt = "Secret", str(e.secretRef.name), e.secretRef.optional == true end
        if str(e.prefix) == "" then w:p(3, name, "\t", from, "\tOptional: ", tostring(opt), "\n")
        else w:p(3, name, "\t", from, " with prefix '", str(e.prefix), "'\tOptional: ", tostring(opt), "\n") end
      end
    end
    w:p(2, "Environment:", #list(ct.env) == 0 and "\t<none>" or "", "\n")
    for _, e in ipairs(list(ct.env)) do
      local vf = e.valueFrom
      if not is_tbl(vf) then
        for i, l in ipairs(split(str(e.value), "\n")) do
          if i == 1 then w:p(3, str(e.name), ":\t", l, "\n") else w:p(3, "\t", l, "\n") end
        end
      elseif is_tbl(vf.fieldRef) then
        local v = pod and field_value(pod, str(vf.fieldRef.fieldPath)) or ""
        w:p(3, str(e.name), ":\t", v, " (", str(vf.fieldRef.apiVersion), ":", str(vf.fieldRef.fieldPath), ")\n")
      elseif is_tbl(vf.resourceFieldRef) then
        local res = str(vf.resourceFieldRef.resource)
        local v = resource_value(ct, vf.resourceFieldRef)
        if v == "0" and (res == "limits.cpu" or res == "limits.memory") then v = "node allocatable" end
        w:p(3, str(e.name), ":\t", v, " (", res, ")\n")
      elseif is_tbl(vf.secretKeyRef) then
        w:p(3, str(e.name), ":\t<set to the key '", str(vf.secretKeyRef.key), "' in secret '", str(vf.secretKeyRef.name),
          "'>\tOptional: ", tostring(vf.secretKeyRef.optional == true), "\n")
      elseif is_tbl(vf.configMapKeyRef) then
        w:p(3, str(e.name), ":\t<set to the key '", str(vf.configMapKeyRef.key), "' of config map '",
          str(vf.configMapKeyRef.name), "'>\tOptional: ", tostring(vf.configMapKeyRef.optional == true), "\n")
      end
    end
    local mounts = { unpack(list(ct.volumeMounts)) }
    w:p(2, "Mounts:", #mounts == 0 and "\t<none>" or "", "\n")
    stable_sort(mounts, function(a, b) return str(a.mountPath) < str(b.mountPath) end)
    for _, m in ipairs(mounts) do
      local flags = { m.readOnly and "ro" or "rw" }
      if str(m.subPath) ~= "" then flags[#flags + 1] = ("path=%q"):format(str(m.subPath)) end
      w:p(3, str(m.mountPath), " from ", str(m.name), " (", table.concat(flags, ","), ")\n")
    end
    local devs = { unpack(list(ct.volumeDevices)) }
    if #devs > 0 then
      w:p(2, "Devices:\n")
      stable_sort(devs, function(a, b) return str(a.devicePath) < str(b.devicePath) end)
      for _, d in ipairs(devs) do w:p(3, str(d.devicePath), " from ", str(d.name), "\n") end
    end
  end
end

-- ------------------------------------------------------------ volumes
local function fields(w, head, rows)
  local parts = { "Type:\t" .. head .. "\n" }
  for _, r in ipairs(rows) do parts[#parts + 1] = "    " .. r[1] .. ":\t" .. str(r[2]) .. "\n" end
  w:p(2, table.concat(parts))
end

local function ptr_bool(v) if v == nil then return "<nil>" end return tostring(v == true) end

-- printCSIPersistentVolumeAttributesMultiline
local function print_volume_attributes(w, attrs)
  w:p(2, "VolumeAttributes:\t")
  local keys = sorted_keys(attrs)
  if #keys == 0 then w:p(0, "<none>\n") end
  for i, k in ipairs(keys) do
    if i > 1 then w:p(2, ""); w:p(2, "\t") end
    local line = k .. "=" .. str(attrs[k])
    if #line > MAX_ANN then line = line:sub(1, MAX_ANN) .. "..." end
    w:p(2, line, "\n")
  end
end

local function describe_volume_source(w, v)
  if is_tbl(v.hostPath) then
    fields(w, "HostPath (bare host directory volume)",
      { { "Path", v.hostPath.path }, { "HostPathType", v.hostPath.type == nil and "<none>" or v.hostPath.type } })
  elseif is_tbl(v.emptyDir) then
    local sl = v.emptyDir.sizeLimit
    fields(w, "EmptyDir (a temporary directory that shares a pod's lifetime)",
      { { "Medium", v.emptyDir.medium }, { "SizeLimit", (sl and qparse(sl) > 0) and sl or "<unset>" } })
  elseif is_tbl(v.secret) then
    fields(w, "Secret (a volume populated by a Secret)",
      { { "SecretName", v.secret.secretName }, { "Optional", tostring(v.secret.optional == true) } })
  elseif is_tbl(v.configMap) then
    fields(w, "ConfigMap (a volume populated by a ConfigMap)",
      { { "Name", v.configMap.name }, { "Optional", tostring(v.configMap.optional == true) } })
  elseif is_tbl(v.nfs) then
    fields(w, "NFS (an NFS mount that lasts the lifetime of a pod)",
      { { "Server", v.nfs.server }, { "Path", v.nfs.path }, { "ReadOnly", tostring(v.nfs.readOnly == true) } })
  elseif is_tbl(v.persistentVolumeClaim) then
    fields(w, "PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)",
      { { "ClaimName", v.persistentVolumeClaim.claimName }, { "ReadOnly", tostring(v.persistentVolumeClaim.readOnly == true) } })
  elseif is_tbl(v.ephemeral) then
    w:p(2, "Type:\tEphemeralVolume (an inline specification for a volume that gets created and deleted with the pod)\n")
  elseif is_tbl(v.downwardAPI) then
    w:p(2, "Type:\tDownwardAPI (a volume populated by information about the pod)\n    Items:\n")
    for _, m in ipairs(list(v.downwardAPI.items)) do
      if is_tbl(m.fieldRef) then w:p(3, str(m.fieldRef.fieldPath), " -> ", str(m.path), "\n") end
      if is_tbl(m.resourceFieldRef) then w:p(3, str(m.resourceFieldRef.resource), " -> ", str(m.path), "\n") end
    end
  elseif is_tbl(v.projected) then
    w:p(2, "Type:\tProjected (a volume that contains injected data from multiple sources)\n")
    for _, s in ipairs(list(v.projected.sources)) do
      if is_tbl(s.secret) then
        -- kubectl v1.32 prints the *bool pointer here: <nil> when unset (an address when set)
        w:p(2, "SecretName:\t", str(s.secret.name), "\n    SecretOptionalName:\t", ptr_bool(s.secret.optional), "\n")
      elseif is_tbl(s.downwardAPI) then w:p(2, "DownwardAPI:\ttrue\n")
      elseif is_tbl(s.configMap) then
        w:p(2, "ConfigMapName:\t", str(s.configMap.name), "\n    ConfigMapOptional:\t", ptr_bool(s.configMap.optional), "\n")
      elseif is_tbl(s.serviceAccountToken) then
        w:p(2, "TokenExpirationSeconds:\t", str(s.serviceAccountToken.expirationSeconds), "\n")
      end
    end
  elseif is_tbl(v.csi) then
    fields(w, "CSI (a Container Storage Interface (CSI) volume source)",
      { { "Driver", v.csi.driver }, { "FSType", v.csi.fsType }, { "ReadOnly", tostring(v.csi.readOnly == true) } })
    print_volume_attributes(w, v.csi.volumeAttributes)
  elseif is_tbl(v.image) then
    fields(w, "Image (a container image or OCI artifact)", { { "Reference", v.image.reference }, { "PullPolicy", v.image.pullPolicy } })
  else
    w:p(1, "<unknown>\n")
  end
end

local function describe_volumes(w, vols, space)
  vols = list(vols)
  if #vols == 0 then w:p(0, space, "Volumes:\t<none>\n"); return end
  w:p(0, space, "Volumes:\n")
  for _, v in ipairs(vols) do
    w:p(1, space ~= "" and " " or "", str(v.name), ":\n")
    describe_volume_source(w, v)
  end
end

local function describe_topology(w, tscs, space)
  tscs = { unpack(list(tscs)) }
  if #tscs == 0 then return end
  stable_sort(tscs, function(a, b) return str(a.topologyKey) < str(b.topologyKey) end)
  w:p(0, space, "Topology Spread Constraints:\t")
  for i, t in ipairs(tscs) do
    if i > 1 then w:p(0, space); w:p(0, "\t") end
    w:p(0, str(t.topologyKey), ":", str(t.whenUnsatisfiable), " when max skew ", str(t.maxSkew), " is exceeded")
    if is_tbl(t.labelSelector) then w:p(0, " for selector ", format_selector(t.labelSelector)) end
    w:p(0, "\n")
  end
end

local function describe_pod_template(w, tpl)
  w:p(0, "Pod Template:\n")
  if not is_tbl(tpl) then w:p(1, "<unset>"); return end
  local md, spec = tpl.metadata or {}, tpl.spec or {}
  print_labels(w, "  Labels", md.labels)
  if nonempty(md.annotations) then print_annotations(w, "  Annotations", md.annotations) end
  if str(spec.serviceAccountName) ~= "" then w:p(1, "Service Account:\t", str(spec.serviceAccountName), "\n") end
  if #list(spec.initContainers) > 0 then describe_containers(w, "Init Containers", spec.initContainers, nil, nil, "  ") end
  describe_containers(w, "Containers", spec.containers, nil, nil, "  ")
  describe_volumes(w, spec.volumes, "  ")
  describe_topology(w, spec.topologySpreadConstraints, "  ")
  if str(spec.priorityClassName) ~= "" then w:p(1, "Priority Class Name:\t", str(spec.priorityClassName), "\n") end
  print_labels(w, "  Node-Selectors", spec.nodeSelector)
  print_tolerations(w, "  Tolerations", spec.tolerations)
end

-- a pod template as rollout history --revision and rollout undo --dry-run print it (kubectl's
-- describer without its tabwriter: the tabs as they are)
function M.pod_template_raw(tpl)
  local w = new_writer()
  describe_pod_template(w, tpl)
  return table.concat(w.buf)
end

-- pods matched by a selector and controlled by uid, counted by phase
local function pod_status_counts(D, ns, sel, uid)
  local pods, err = items(D, nspath(ns) .. "/pods" .. util.query({ labelSelector = selector_query(sel) }))
  if not pods then return nil, err end
  local n = { Running = 0, Pending = 0, Succeeded = 0, Failed = 0 }
  for _, p in ipairs(pods) do
    local o = controller_of(p.metadata or {})
    if o and o.uid == uid then
      local ph = p.status and p.status.phase
      if n[ph] then n[ph] = n[ph] + 1 end
    end
  end
  return ("%d Running / %d Waiting / %d Succeeded / %d Failed"):format(n.Running, n.Pending, n.Succeeded, n.Failed)
end

local function pods_status_line(w, label, counts, err)
  if counts then w:p(0, label, ":\t", counts, "\n")
  else w:p(0, label, ":\terror in fetching pods: ", str(err), "\n") end
end

-- ------------------------------------------------------------ QoS
local function pod_qos(pod)
  local st = pod.status or {}
  if str(st.qosClass) ~= "" then return st.qosClass end
  local spec = pod.spec or {}
  local any, guaranteed = false, true
  local cts = {}
  for _, c in ipairs(list(spec.containers)) do cts[#cts + 1] = c end
  for _, c in ipairs(list(spec.initContainers)) do cts[#cts + 1] = c end
  for _, c in ipairs(cts) do
    local r = is_tbl(c.resources) and c.resources or {}
    local req, lim = list(r.requests), list(r.limits)
    for _, name in ipairs({ "cpu", "memory" }) do
      if req[name] and qparse(req[name]) ~= 0 then any = true end
      if lim[name] and qparse(lim[name]) ~= 0 then any = true end
      if not lim[name] then guaranteed = false
      elseif req[name] and qparse(req[name]) ~= qparse(lim[name]) then guaranteed = false end
    end
  end
  if not any then return "BestEffort" end
  return guaranteed and "Guaranteed" or "Burstable"
end

-- ------------------------------------------------------------ kinds
local K = {}

K["/Pod"] = function(D, w, pod)
  local md, spec, st = pod.metadata or {}, pod.spec or {}, pod.status or {}
  local events
  if D.events then
    local uid = md.uid
    if is_tbl(md.annotations) and md.annotations["kubernetes.io/config.mirror"] then uid = md.annotations["kubernetes.io/config.mirror"] end
    events = search_events(D, pod, { no_kind = true, uid = uid })
  end
  w:p(0, "Name:\t", str(md.name), "\n")
  w:p(0, "Namespace:\t", str(md.namespace), "\n")
  if spec.priority ~= nil then w:p(0, "Priority:\t", str(spec.priority), "\n") end
  if str(spec.priorityClassName) ~= "" then w:p(0, "Priority Class Name:\t", str(spec.priorityClassName), "\n") end
  if str(spec.runtimeClassName) ~= "" then w:p(0, "Runtime Class Name:\t", str(spec.runtimeClassName), "\n") end
  if str(spec.serviceAccountName) ~= "" then w:p(0, "Service Account:\t", str(spec.serviceAccountName), "\n") end
  if str(spec.nodeName) == "" then w:p(0, "Node:\t<none>\n")
  else w:p(0, "Node:\t", str(spec.nodeName), "/", str(st.hostIP), "\n") end
  if st.startTime then w:p(0, "Start Time:\t", rfc1123z(st.startTime), "\n") end
  print_labels(w, "Labels", md.labels)
  print_annotations(w, "Annotations", md.annotations)
  if md.deletionTimestamp and st.phase ~= "Failed" and st.phase ~= "Succeeded" then
    w:p(0, "Status:\tTerminating (lasts ", since(D, md.deletionTimestamp), ")\n")
    w:p(0, "Termination Grace Period:\t", str(md.deletionGracePeriodSeconds or 0), "s\n")
  else
    w:p(0, "Status:\t", str(st.phase), "\n")
  end
  if str(st.reason) ~= "" then w:p(0, "Reason:\t", str(st.reason), "\n") end
  if str(st.message) ~= "" then w:p(0, "Message:\t", str(st.message), "\n") end
  local sp = is_tbl(spec.securityContext) and spec.securityContext.seccompProfile
  if is_tbl(sp) then
    w:p(0, "SeccompProfile:\t", str(sp.type), "\n")
    if sp.type == "Localhost" then w:p(0, "LocalhostProfile:\t", str(sp.localhostProfile), "\n") end
  end
  w:p(0, "IP:\t", str(st.podIP), "\n")
  if #list(st.podIPs) == 0 then w:p(0, "IPs:\t<none>\n")
  else
    w:p(0, "IPs:\n")
    for _, ip in ipairs(st.podIPs) do w:p(1, "IP:\t", str(ip.ip), "\n") end
  end
  print_controller(w, md)
  if str(st.nominatedNodeName) ~= "" then w:p(0, "NominatedNodeName:\t", str(st.nominatedNodeName), "\n") end
  if #list(spec.initContainers) > 0 then
    describe_containers(w, "Init Containers", spec.initContainers, st.initContainerStatuses, pod, "")
  end
  describe_containers(w, "Containers", spec.containers, st.containerStatuses, pod, "")
  if #list(spec.ephemeralContainers) > 0 then
    describe_containers(w, "Ephemeral Containers", spec.ephemeralContainers, st.ephemeralContainerStatuses, pod, "")
  end
  if #list(spec.readinessGates) > 0 then
    w:p(0, "Readiness Gates:\n  Type\tStatus\n")
    for _, g in ipairs(spec.readinessGates) do
      local status = "<none>"
      for _, c in ipairs(list(st.conditions)) do if c.type == g.conditionType then status = str(c.status); break end end
      w:p(1, str(g.conditionType), " \t", status, " \n")
    end
  end
  if #list(st.conditions) > 0 then
    w:p(0, "Conditions:\n  Type\tStatus\n")
    for _, c in ipairs(st.conditions) do w:p(1, str(c.type), " \t", str(c.status), " \n") end
  end
  describe_volumes(w, spec.volumes, "")
  w:p(0, "QoS Class:\t", pod_qos(pod), "\n")
  print_labels(w, "Node-Selectors", spec.nodeSelector)
  print_tolerations(w, "Tolerations", spec.tolerations)
  describe_topology(w, spec.topologySpreadConstraints, "")
  describe_events(D, w, events)
end

-- EqualIgnoreHash: two pod templates equal but for the pod-template-hash label
local function deep_equal(a, b)
  local ta, tb = type(a), type(b)
  if ta == "table" and next(a) == nil then a, ta = nil, "nil" end
  if tb == "table" and next(b) == nil then b, tb = nil, "nil" end
  if ta ~= tb then return false end
  if ta ~= "table" then return a == b end
  for k, v in pairs(a) do if not deep_equal(v, b[k]) then return false end end
  for k, v in pairs(b) do if a[k] == nil and not deep_equal(v, nil) then return false end end
  return true
end
local function template_without_hash(t)
  local c = {}
  for k, v in pairs(list(t)) do c[k] = v end
  local md = {}
  for k, v in pairs(list(c.metadata)) do md[k] = v end
  local labels = {}
  for k, v in pairs(list(md.labels)) do if k ~= "pod-template-hash" then labels[k] = v end end
  md.labels = labels
  c.metadata = md
  return c
end

local function rs_list_text(rss)
  local parts = {}
  for _, rs in ipairs(rss) do
    parts[#parts + 1] = ("%s (%s/%s replicas created)"):format(str(rs.metadata.name), str(rs.status and rs.status.replicas or 0),
      str(rs.spec and rs.spec.replicas or 0))
  end
  if #parts == 0 then return "<none>" end
  return table.concat(parts, ", ")
end

K["apps/Deployment"] = function(D, w, d)
  local md, spec, st = d.metadata or {}, d.spec or {}, d.status or {}
  local events = search_events(D, d)
  local old, new
  local rss = items(D, "/apis/apps/v1/namespaces/" .. str(md.namespace) .. "/replicasets"
    .. util.query({ labelSelector = selector_query(spec.selector) }))
  if rss then
    local owned = {}
    for _, rs in ipairs(rss) do
      local o = controller_of(rs.metadata or {})
      if o and o.uid == md.uid then owned[#owned + 1] = rs end
    end
    stable_sort(owned, function(a, b)
      local ta, tb = util.parse_time(a.metadata.creationTimestamp) or 0, util.parse_time(b.metadata.creationTimestamp) or 0
      if ta ~= tb then return ta < tb end
      return str(a.metadata.name) < str(b.metadata.name)
    end)
    local want = template_without_hash(spec.template)
    old = {}
    for _, rs in ipairs(owned) do
      if not new and deep_equal(template_without_hash(rs.spec and rs.spec.template), want) then new = rs
      else old[#old + 1] = rs end
    end
  end
  w:p(0, "Name:\t", str(md.name), "\n")
  w:p(0, "Namespace:\t", str(md.namespace), "\n")
  w:p(0, "CreationTimestamp:\t", rfc1123z(md.creationTimestamp), "\n")
  print_labels(w, "Labels", md.labels)
  print_annotations(w, "Annotations", md.annotations)
  w:p(0, "Selector:\t", selector_string(spec.selector), "\n")
  w:p(0, ("Replicas:\t%s desired | %s updated | %s total | %s available | %s unavailable\n"):format(str(spec.replicas or 0),
    str(st.updatedReplicas or 0), str(st.replicas or 0), str(st.availableReplicas or 0), str(st.unavailableReplicas or 0)))
  local strat = spec.strategy or {}
  w:p(0, "StrategyType:\t", str(strat.type), "\n")
  w:p(0, "MinReadySeconds:\t", str(spec.minReadySeconds or 0), "\n")
  if is_tbl(strat.rollingUpdate) then
    local ru = strat.rollingUpdate
    local function is(v) return v == nil and "<nil>" or str(v) end
    w:p(0, "RollingUpdateStrategy:\t", is(ru.maxUnavailable), " max unavailable, ", is(ru.maxSurge), " max surge\n")
  end
  describe_pod_template(w, spec.template)
  if #list(st.conditions) > 0 then
    w:p(0, "Conditions:\n  Type\tStatus\tReason\n")
    w:p(1, "----\t------\t------\n")
    for _, c in ipairs(st.conditions) do w:p(1, str(c.type), " \t", str(c.status), "\t", str(c.reason), "\n") end
  end
  if old and (#old > 0 or new) then
    w:p(0, "OldReplicaSets:\t", rs_list_text(old), "\n")
    w:p(0, "NewReplicaSet:\t", rs_list_text({ new }), "\n")
  end
  describe_events(D, w, events)
end

local function conditions_type_status_reason(w, conds)
  if #list(conds) == 0 then return end
  w:p(0, "Conditions:\n  Type\tStatus\tReason\n")
  w:p(1, "----\t------\t------\n")
  for _, c in ipairs(conds) do w:p(1, str(c.type), " \t", str(c.status), "\t", str(c.reason), "\n") end
end

-- ReplicaSets and ReplicationControllers print alike (sel: the selector as
-- a LabelSelector, sel_text: as printed; controller: print "Controlled By")
local function describe_replicas(D, w, obj, sel, sel_text, controller)
  local md, spec, st = obj.metadata or {}, obj.spec or {}, obj.status or {}
  local counts, perr = pod_status_counts(D, md.namespace, sel, md.uid)
  local events = search_events(D, obj)
  w:p(0, "Name:\t", str(md.name), "\n")
  w:p(0, "Namespace:\t", str(md.namespace), "\n")
  w:p(0, "Selector:\t", sel_text, "\n")
  print_labels(w, "Labels", md.labels)
  print_annotations(w, "Annotations", md.annotations)
  if controller then print_controller(w, md) end
  w:p(0, "Replicas:\t", str(st.replicas or 0), " current / ", str(spec.replicas or 0), " desired\n")
  pods_status_line(w, "Pods Status", counts, perr)
  describe_pod_template(w, spec.template)
  conditions_type_status_reason(w, st.conditions)
  describe_events(D, w, events)
end

K["apps/ReplicaSet"] = function(D, w, rs)
  local sel = (rs.spec or {}).selector
  describe_replicas(D, w, rs, sel, format_selector(sel), true)
end

K["/ReplicationController"] = function(D, w, rc)
  local sel = (rc.spec or {}).selector
  describe_replicas(D, w, rc, { matchLabels = sel }, format_labels(sel), false)
end

K["apps/StatefulSet"] = function(D, w, ps)
  local md, spec, st = ps.metadata or {}, ps.spec or {}, ps.status or {}
  local counts, perr = pod_status_counts(D, md.namespace, spec.selector, md.uid)
  local events = search_events(D, ps)
  w:p(0, "Name:\t", str(md.name), "\n")
  w:p(0, "Namespace:\t", str(md.namespace), "\n")
  w:p(0, "CreationTimestamp:\t", rfc1123z(md.creationTimestamp), "\n")
  w:p(0, "Selector:\t", selector_string(spec.selector), "\n")
  print_labels(w, "Labels", md.labels)
  print_annotations(w, "Annotations", md.annotations)
  w:p(0, "Replicas:\t", str(spec.replicas or 0), " desired | ", str(st.replicas or 0), " total\n")
  local us = spec.updateStrategy or {}
  w:p(0, "Update Strategy:\t", str(us.type), "\n")
  if is_tbl(us.rollingUpdate) and us.rollingUpdate.partition ~= nil then
    w:p(1, "Partition:\t", str(us.rollingUpdate.partition), "\n")
    if us.rollingUpdate.maxUnavailable ~= nil then w:p(1, "MaxUnavailable:\t", str(us.rollingUpdate.maxUnavailable), "\n") end
  end
  pods_status_line(w, "Pods Status", counts, perr)
  describe_pod_template(w, spec.template)
  local tpls = list(spec.volumeClaimTemplates)
  if #tpls == 0 then w:p(0, "Volume Claims:\t<none>\n")
  else
    w:p(0, "Volume Claims:\n")
    for _, pvc in ipairs(tpls) do
      local pmd, pspec = pvc.metadata or {}, pvc.spec or {}
      w:p(1, "Name:\t", str(pmd.name), "\n")
      local class = list(pmd.annotations)["volume.beta.kubernetes.io/storage-class"] or pspec.storageClassName
      w:p(1, "StorageClass:\t", str(class), "\n")
      print_labels(w, "Labels", pmd.labels, "  ")
      print_labels(w, "Annotations", pmd.annotations, "  ")
      local cap = is_tbl(pspec.resources) and list(pspec.resources.requests).storage
      w:p(1, "Capacity:\t", cap and str(cap) or "<default>", "\n")
      w:p(1, "Access Modes:\t", str(list(pspec.accessModes)), "\n")
    end
  end
  describe_events(D, w, events)
end

K["apps/DaemonSet"] = function(D, w, ds)
  local md, spec, st = ds.metadata or {}, ds.spec or {}, ds.status or {}
  local counts, perr = pod_status_counts(D, md.namespace, spec.selector, md.uid)
  local events = search_events(D, ds)
  w:p(0, "Name:\t", str(md.name), "\n")
  w:p(0, "Selector:\t", selector_string(spec.selector), "\n")
  w:p(0, "Node-Selector:\t", format_labels(spec.template and spec.template.spec and spec.template.spec.nodeSelector), "\n")
  print_labels(w, "Labels", md.labels)
  print_annotations(w, "Annotations", md.annotations)
  w:p(0, "Desired Number of Nodes Scheduled: ", str(st.desiredNumberScheduled or 0), "\n")
  w:p(0, "Current Number of Nodes Scheduled: ", str(st.currentNumberScheduled or 0), "\n")
  w:p(0, "Number of Nodes Scheduled with Up-to-date Pods: ", str(st.updatedNumberScheduled or 0), "\n")
  w:p(0, "Number of Nodes Scheduled with Available Pods: ", str(st.numberAvailable or 0), "\n")
  w:p(0, "Number of Nodes Misscheduled: ", str(st.numberMisscheduled or 0), "\n")
  pods_status_line(w, "Pods Status", counts, perr)
  describe_pod_template(w, spec.template)
  describe_events(D, w, events)
end

K["batch/Job"] = function(D, w, job)
  local md, spec, st = job.metadata or {}, job.spec or {}, job.status or {}
  local events = search_events(D, job)
  w:p(0, "Name:\t", str(md.name), "\n")
  w:p(0, "Namespace:\t", str(md.namespace), "\n")
  w:p(0, "Selector:\t", selector_string(spec.selector), "\n")
  print_labels(w, "Labels", md.labels)
  print_annotations(w, "Annotations", md.annotations)
  print_controller(w, md)
  if spec.parallelism ~= nil then w:p(0, "Parallelism:\t", str(spec.parallelism), "\n") end
  w:p(0, "Completions:\t", spec.completions ~= nil and str(spec.completions) or "<unset>", "\n")
  if spec.completionMode ~= nil then w:p(0, "Completion Mode:\t", str(spec.completionMode), "\n") end
  if spec.suspend ~= nil then w:p(0, "Suspend:\t", str(spec.suspend), "\n") end
  if spec.backoffLimit ~= nil then w:p(0, "Backoff Limit:\t", str(spec.backoffLimit), "\n") end
  if spec.ttlSecondsAfterFinished ~= nil then w:p(0, "TTL Seconds After Finished:\t", str(spec.ttlSecondsAfterFinished), "\n") end
  if st.startTime then w:p(0, "Start Time:\t", rfc1123z(st.startTime), "\n") end
  if st.completionTime then w:p(0, "Completed At:\t", rfc1123z(st.completionTime), "\n") end
  if st.startTime and st.completionTime then
    w:p(0, "Duration:\t", util.human_duration((util.parse_time(st.completionTime) or 0) - (util.parse_time(st.startTime) or 0)), "\n")
  end
  if spec.activeDeadlineSeconds ~= nil then w:p(0, "Active Deadline Seconds:\t", str(spec.activeDeadlineSeconds), "s\n") end
  if st.ready == nil then
    w:p(0, ("Pods Statuses:\t%s Active / %s Succeeded / %s Failed\n"):format(str(st.active or 0), str(st.succeeded or 0),
      str(st.failed or 0)))
  else
    w:p(0, ("Pods Statuses:\t%s Active (%s Ready) / %s Succeeded / %s Failed\n"):format(str(st.active or 0), str(st.ready),
      str(st.succeeded or 0), str(st.failed or 0)))
  end
  if spec.completionMode == "Indexed" then
    local ix = str(st.completedIndexes)
    if ix == "" then ix = "<none>"
    elseif #ix > 50 then
      local cut = ix:find(",", 51, true)
      if cut then ix = ix:sub(1, cut) .. "..." end
    end
    w:p(0, "Completed Indexes:\t", ix, "\n")
  end
  describe_pod_template(w, spec.template)
  describe_events(D, w, events)
end

local function bool_ptr(v) if v == nil then return "<unset>" end return bool_title(v == true) end

K["batch/CronJob"] = function(D, w, cj)
  local md, spec, st = cj.metadata or {}, cj.spec or {}, cj.status or {}
  local events = search_events(D, cj)
  print_head(w, md, true)
  w:p(0, "Schedule:\t", str(spec.schedule), "\n")
  w:p(0, "Concurrency Policy:\t", str(spec.concurrencyPolicy), "\n")
  w:p(0, "Suspend:\t", bool_ptr(spec.suspend), "\n")
  local function opt(label, v, unit)
    w:p(0, label, ":\t", v ~= nil and (str(v) .. (unit or "")) or "<unset>", "\n")
  end
  opt("Successful Job History Limit", spec.successfulJobsHistoryLimit)
  opt("Failed Job History Limit", spec.failedJobsHistoryLimit)
  opt("Starting Deadline Seconds", spec.startingDeadlineSeconds, "s")
  local jt = is_tbl(spec.jobTemplate) and spec.jobTemplate.spec or {}
  if is_tbl(jt.selector) then w:p(0, "Selector:\t", selector_string(jt.selector), "\n") else w:p(0, "Selector:\t<unset>\n") end
  opt("Parallelism", jt.parallelism)
  opt("Completions", jt.completions)
  if jt.activeDeadlineSeconds ~= nil then w:p(0, "Active Deadline Seconds:\t", str(jt.activeDeadlineSeconds), "s\n") end
  describe_pod_template(w, jt.template)
  if st.lastScheduleTime then w:p(0, "Last Schedule Time:\t", rfc1123z(st.lastScheduleTime), "\n")
  else w:p(0, "Last Schedule Time:\t<unset>\n") end
  w:p(0, "Active Jobs:\t")
  local active = list(st.active)
  if #active == 0 then w:p(0, "<none>\n")
  else
    for i, j in ipairs(active) do
      if i > 1 then w:p(0, ", ") end
      w:p(0, str(j.name))
    end
    w:p(0, "\n")
  end
  describe_events(D, w, events)
end

-- formatEndpointSlices: up to 3 ready addresses (host:port) of the named port
local function format_endpoint_slices(slices, port_name)
  if not slices or #slices == 0 then return "<none>" end
  local out, more, count = {}, false, 0
  local function ready(ep) return not is_tbl(ep.conditions) or ep.conditions.ready == nil or ep.conditions.ready == true end
  for _, s in ipairs(slices) do
    if #list(s.ports) == 0 then
      for _, ep in ipairs(list(s.endpoints)) do
        if #out == 3 then more = true end
        if ready(ep) then
          if not more then out[#out + 1] = str(list(ep.addresses)[1]) end
          count = count + 1
        end
      end
    else
      for _, p in ipairs(s.ports) do
        if port_name == nil or str(p.name) == port_name then
          for _, ep in ipairs(list(s.endpoints)) do
            if #out == 3 then more = true end
            if ready(ep) then
              if not more then
                local a = str(list(ep.addresses)[1])
                if a:find(":", 1, true) then a = "[" .. a .. "]" end
                out[#out + 1] = a .. ":" .. str(p.port)
              end
              count = count + 1
            end
          end
        end
      end
    end
  end
  local ret = table.concat(out, ",")
  if more then return ("%s + %d more..."):format(ret, count - 3) end
  return ret
end

local function endpoint_slices(D, ns, svc)
  local l, err = items(D, "/apis/discovery.k8s.io/v1/namespaces/" .. str(ns) .. "/endpointslices"
    .. util.query({ labelSelector = "kubernetes.io/service-name=" .. svc }))
  return l, err
end

K["/Service"] = function(D, w, svc)
  local md, spec, st = svc.metadata or {}, svc.spec or {}, svc.status or {}
  local slices = endpoint_slices(D, md.namespace, md.name) or {}
  local events = search_events(D, svc)
  print_head(w, md, true)
  w:p(0, "Selector:\t", format_labels(spec.selector), "\n")
  w:p(0, "Type:\t", str(spec.type), "\n")
  if spec.ipFamilyPolicy ~= nil then w:p(0, "IP Family Policy:\t", str(spec.ipFamilyPolicy), "\n") end
  if #list(spec.ipFamilies) > 0 then w:p(0, "IP Families:\t", table.concat(spec.ipFamilies, ","), "\n")
  else w:p(0, "IP Families:\t<none>\n") end
  w:p(0, "IP:\t", str(spec.clusterIP), "\n")
  if #list(spec.clusterIPs) > 0 then w:p(0, "IPs:\t", table.concat(spec.clusterIPs, ","), "\n") else w:p(0, "IPs:\t<none>\n") end
  if #list(spec.externalIPs) > 0 then w:p(0, "External IPs:\t", table.concat(spec.externalIPs, ","), "\n") end
  if str(spec.loadBalancerIP) ~= "" then w:p(0, "Desired LoadBalancer IP:\t", str(spec.loadBalancerIP), "\n") end
  if str(spec.externalName) ~= "" then w:p(0, "External Name:\t", str(spec.externalName), "\n") end
  local lbi = is_tbl(st.loadBalancer) and list(st.loadBalancer.ingress) or {}
  if #lbi > 0 then
    local parts = {}
    for _, i in ipairs(lbi) do
      if str(i.ip) ~= "" then parts[#parts + 1] = str(i.ip) .. (i.ipMode and (" (" .. str(i.ipMode) .. ")") or "")
      else parts[#parts + 1] = str(i.hostname) end
    end
    w:p(0, "LoadBalancer Ingress:\t", table.concat(parts, ", "), "\n")
  end
  for _, sp in ipairs(list(spec.ports)) do
    local name = str(sp.name)
    if name == "" then name = "<unset>" end
    w:p(0, "Port:\t", name, "\t", str(sp.port), "/", str(sp.protocol), "\n")
    w:p(0, "TargetPort:\t", str(sp.targetPort or 0), "/", str(sp.protocol), "\n")
    if (tonumber(sp.nodePort) or 0) ~= 0 then w:p(0, "NodePort:\t", name, "\t", str(sp.nodePort), "/", str(sp.protocol), "\n") end
    w:p(0, "Endpoints:\t", format_endpoint_slices(slices, str(sp.name)), "\n")
  end
  w:p(0, "Session Affinity:\t", str(spec.sessionAffinity), "\n")
  if str(spec.externalTrafficPolicy) ~= "" then w:p(0, "External Traffic Policy:\t", str(spec.externalTrafficPolicy), "\n") end
  if spec.internalTrafficPolicy ~= nil then w:p(0, "Internal Traffic Policy:\t", str(spec.internalTrafficPolicy), "\n") end
  if (tonumber(spec.healthCheckNodePort) or 0) ~= 0 then w:p(0, "HealthCheck NodePort:\t", str(spec.healthCheckNodePort), "\n") end
  if #list(spec.loadBalancerSourceRanges) > 0 then
    w:p(0, "LoadBalancer Source Ranges:\t", table.concat(spec.loadBalancerSourceRanges, ","), "\n")
  end
  if str(spec.trafficDistribution) ~= "" then w:p(0, "Traffic Distribution:\t", str(spec.trafficDistribution), "\n") end
  describe_events(D, w, events)
end

K["/Endpoints"] = function(D, w, ep)
  local md = ep.metadata or {}
  local events = search_events(D, ep)
  print_head(w, md, true)
  w:p(0, "Subsets:\n")
  for _, s in ipairs(list(ep.subsets)) do
    local function ips(l)
      local t = {}
      for _, a in ipairs(list(l)) do t[#t + 1] = str(a.ip) end
      local r = table.concat(t, ",")
      return r == "" and "<none>" or r
    end
    w:p(1, "Addresses:\t", ips(s.addresses), "\n")
    w:p(1, "NotReadyAddresses:\t", ips(s.notReadyAddresses), "\n")
    if #list(s.ports) > 0 then
      w:p(1, "Ports:\n")
      w:p(2, "Name\tPort\tProtocol\n")
      w:p(2, "----\t----\t--------\n")
      for _, p in ipairs(s.ports) do
        w:p(2, str(p.name) ~= "" and str(p.name) or "<unset>", "\t", str(p.port), "\t", str(p.protocol), "\n")
      end
    end
    w:p(0, "\n")
  end
  describe_events(D, w, events)
end

local function node_roles(node)
  local set, roles = {}, {}
  for k, v in pairs(list(node.metadata and node.metadata.labels)) do
    local role = k:match("^node%-role%.kubernetes%.io/(.+)$")
    if role then set[role] = true elseif k == "kubernetes.io/role" and str(v) ~= "" then set[str(v)] = true end
  end
  for r in pairs(set) do roles[#roles + 1] = r end
  table.sort(roles)
  return roles
end

-- resourcehelper.PodRequestsAndLimits: containers summed, init containers as a floor, plus overhead
local function pod_requests_limits(pod)
  local spec = pod.spec or {}
  local function add(acc, res)
    for k, v in pairs(list(res)) do
      local n, f = qparse(v)
      local cur = acc[k]
      if cur then cur.v = cur.v + n else acc[k] = { v = n, f = f } end
    end
  end
  local function floor_to(acc, res)
    for k, v in pairs(list(res)) do
      local n, f = qparse(v)
      if not acc[k] or acc[k].v < n then acc[k] = { v = n, f = f } end
    end
  end
  local req, lim = {}, {}
  for _, c in ipairs(list(spec.containers)) do
    local r = is_tbl(c.resources) and c.resources or {}
    add(req, r.requests); add(lim, r.limits)
  end
  for _, c in ipairs(list(spec.initContainers)) do
    local r = is_tbl(c.resources) and c.resources or {}
    floor_to(req, r.requests); floor_to(lim, r.limits)
  end
  if nonempty(spec.overhead) then add(req, spec.overhead); add(lim, spec.overhead) end
  return req, lim
end

local STANDARD = { cpu = true, memory = true, ["ephemeral-storage"] = true, storage = true }

K["/Node"] = function(D, w, node)
  local md, spec, st = node.metadata or {}, node.spec or {}, node.status or {}
  local pods, perr, pst = items(D, "/api/v1/pods" .. util.query({
    fieldSelector = "spec.nodeName=" .. str(md.name) .. ",status.phase!=Succeeded,status.phase!=Failed" }))
  local can_view = pods ~= nil
  if not pods and D.c and not (is_tbl(pst) and pst.reason == "Forbidden") then error(perr, 0) end
  local lease, lerr
  if D.c then lease, lerr = get(D, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/" .. str(md.name)) end
  local events
  if D.events then
    events = search_events(D, node) or {}
    local by_name = search_events(D, node, { uid = md.name }) or {}
    for _, e in ipairs(by_name) do events[#events + 1] = e end
  end
  w:p(0, "Name:\t", str(md.name), "\n")
  local roles = node_roles(node)
  w:p(0, "Roles:\t", #roles > 0 and table.concat(roles, ",") or "<none>", "\n")
  print_labels(w, "Labels", md.labels)
  print_annotations(w, "Annotations", md.annotations)
  w:p(0, "CreationTimestamp:\t", rfc1123z(md.creationTimestamp), "\n")
  print_taints(w, "Taints", spec.taints)
  w:p(0, "Unschedulable:\t", tostring(spec.unschedulable == true), "\n")
  if D.c then
    if lease then
      local ls = lease.spec or {}
      w:p(0, "Lease:\n")
      w:p(1, "HolderIdentity:\t", ls.holderIdentity and str(ls.holderIdentity) or "<unset>", "\n")
      w:p(1, "AcquireTime:\t", ls.acquireTime and rfc1123z(ls.acquireTime) or "<unset>", "\n")
      w:p(1, "RenewTime:\t", ls.renewTime and rfc1123z(ls.renewTime) or "<unset>", "\n")
    else
      w:p(0, "Lease:\tFailed to get lease: ", str(lerr), "\n")
    end
  end
  if #list(st.conditions) > 0 then
    w:p(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n")
    w:p(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
    for _, c in ipairs(st.conditions) do
      w:p(1, str(c.type), " \t", str(c.status), " \t", rfc1123z(c.lastHeartbeatTime), " \t", rfc1123z(c.lastTransitionTime),
        " \t", str(c.reason), " \t", str(c.message), "\n")
    end
  end
  w:p(0, "Addresses:\n")
  for _, a in ipairs(list(st.addresses)) do w:p(1, str(a.type), ":\t", str(a.address), "\n") end
  local function resource_list(title, rl)
    if not nonempty(rl) then return end
    w:p(0, title, ":\n")
    for _, k in ipairs(sorted_keys(rl)) do w:p(0, "  ", k, ":\t", str(rl[k]), "\n") end
  end
  resource_list("Capacity", st.capacity)
  resource_list("Allocatable", st.allocatable)
  local ni = st.nodeInfo or {}
  w:p(0, "System Info:\n")
  for _, f in ipairs({ { "Machine ID", "machineID" }, { "System UUID", "systemUUID" }, { "Boot ID", "bootID" },
    { "Kernel Version", "kernelVersion" }, { "OS Image", "osImage" }, { "Operating System", "operatingSystem" },
    { "Architecture", "architecture" }, { "Container Runtime Version", "containerRuntimeVersion" },
    { "Kubelet Version", "kubeletVersion" }, { "Kube-Proxy Version", "kubeProxyVersion" } }) do
    w:p(0, "  ", f[1], ":\t", str(ni[f[2]]), "\n")
  end
  if str(spec.podCIDR) ~= "" then w:p(0, "PodCIDR:\t", str(spec.podCIDR), "\n") end
  if #list(spec.podCIDRs) > 0 then w:p(0, "PodCIDRs:\t", table.concat(spec.podCIDRs, ","), "\n") end
  if str(spec.providerID) ~= "" then w:p(0, "ProviderID:\t", str(spec.providerID), "\n") end
  if can_view then
    local alloc = nonempty(st.allocatable) and st.allocatable or list(st.capacity)
    local function amount(rl, k) return rl[k] and rl[k].v or 0 end
    local function pct(a, b)
      if b == 0 then return "0" end
      local f = a / b * 100
      return ("%d"):format(f < 0 and math.ceil(f) or math.floor(f))
    end
    local acpu, amem = qparse(alloc.cpu or "0"), qparse(alloc.memory or "0")
    local function milli(v) return math.max(0, math.ceil(v * 1000 - 1e-9)) end
    local function value(v) return math.max(0, math.ceil(v - 1e-9)) end
    local function qs(rl, k) return rl[k] and qstring(rl[k].v, rl[k].f) or "0" end
    w:p(0, "Non-terminated Pods:\t(", #pods, " in total)\n")
    w:p(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n")
    w:p(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n")
    local treq, tlim = {}, {}
    for _, p in ipairs(pods) do
      local req, lim = pod_requests_limits(p)
      for k, q in pairs(req) do if treq[k] then treq[k].v = treq[k].v + q.v else treq[k] = { v = q.v, f = q.f } end end
      for k, q in pairs(lim) do if tlim[k] then tlim[k].v = tlim[k].v + q.v else tlim[k] = { v = q.v, f = q.f } end end
      w:p(1, str(p.metadata.namespace), "\t", str(p.metadata.name), "\t\t",
        qs(req, "cpu"), " (", pct(milli(amount(req, "cpu")), milli(acpu)), "%)\t",
        qs(lim, "cpu"), " (", pct(milli(amount(lim, "cpu")), milli(acpu)), "%)\t",
        qs(req, "memory"), " (", pct(value(amount(req, "memory")), value(amem)), "%)\t",
        qs(lim, "memory"), " (", pct(value(amount(lim, "memory")), value(amem)), "%)\t",
        since(D, p.metadata.creationTimestamp), "\n")
    end
    w:p(0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n")
    w:p(1, "Resource\tRequests\tLimits\n")
    w:p(1, "--------\t--------\t------\n")
    local aeph = qparse(alloc["ephemeral-storage"] or "0")
    w:p(1, "cpu\t", qs(treq, "cpu"), " (", pct(milli(amount(treq, "cpu")), milli(acpu)), "%)\t",
      qs(tlim, "cpu"), " (", pct(milli(amount(tlim, "cpu")), milli(acpu)), "%)\n")
    w:p(1, "memory\t", qs(treq, "memory"), " (", pct(value(amount(treq, "memory")), value(amem)), "%)\t",
      qs(tlim, "memory"), " (", pct(value(amount(tlim, "memory")), value(amem)), "%)\n")
    w:p(1, "ephemeral-storage\t", qs(treq, "ephemeral-storage"), " (",
      pct(value(amount(treq, "ephemeral-storage")), value(aeph)), "%)\t", qs(tlim, "ephemeral-storage"), " (",
      pct(value(amount(tlim, "ephemeral-storage")), value(aeph)), "%)\n")
    local ext, huge = {}, {}
    for k in pairs(alloc) do
      if k:match("^hugepages%-") then huge[#huge + 1] = k
      elseif not STANDARD[k] and k ~= "pods" and not k:match("^requests%.") and not k:match("^limits%.") and k:find("/", 1, true) then
        ext[#ext + 1] = k
      end
    end
    table.sort(ext); table.sort(huge)
    for _, k in ipairs(huge) do
      local a = value(qparse(alloc[k]))
      w:p(1, k, "\t", qs(treq, k), " (", pct(value(amount(treq, k)), a), "%)\t", qs(tlim, k), " (", pct(value(amount(tlim, k)), a), "%)\n")
    end
    for _, k in ipairs(ext) do w:p(1, k, "\t", qs(treq, k), "\t", qs(tlim, k), "\n") end
  elseif D.c then
    w:p(0, "Pods:\tnot authorized\n")
  end
  describe_events(D, w, events)
end

local SCOPE_HELP = {
  Terminating = "Matches all pods that have an active deadline. These pods have a limited lifespan on a node before being "
    .. "actively terminated by the system.",
  NotTerminating = "Matches all pods that do not have an active deadline. These pods usually include long running pods whose "
    .. "container command is not expected to terminate.",
  BestEffort = "Matches all pods that do not have resource requirements set. These pods have a best effort quality of service.",
  NotBestEffort = "Matches all pods that have at least one resource requirement set. These pods have a burstable or "
    .. "guaranteed quality of service.",
}

local function limit_rows(w, lr, prefix)
  for _, item in ipairs(list(lr.spec and lr.spec.limits)) do
    local set = {}
    for _, f in ipairs({ "max", "min", "default", "defaultRequest", "maxLimitRequestRatio" }) do
      for k in pairs(list(item[f])) do set[k] = true end
    end
    for _, k in ipairs(sorted_keys(set)) do
      local function v(f) return list(item[f])[k] and str(item[f][k]) or "-" end
      w:p(0, prefix, str(item.type), "\t", k, "\t", v("min"), "\t", v("max"), "\t", v("defaultRequest"), "\t", v("default"), "\t",
        v("maxLimitRequestRatio"), "\n")
    end
  end
end

K["/Namespace"] = function(D, w, ns)
  local md, st = ns.metadata or {}, ns.status or {}
  local quotas, lranges
  if D.c then
    local err, s
    quotas, err, s = items(D, "/api/v1/namespaces/" .. str(md.name) .. "/resourcequotas")
    if not quotas and not (is_tbl(s) and s.reason == "NotFound") then error(err, 0) end
    lranges, err, s = items(D, "/api/v1/namespaces/" .. str(md.name) .. "/limitranges")
    if not lranges and not (is_tbl(s) and s.reason == "NotFound") then error(err, 0) end
  end
  print_head(w, md)
  w:p(0, "Status:\t", str(st.phase), "\n")
  if #list(st.conditions) > 0 then
    w:p(0, "Conditions:\n")
    w:p(1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n")
    w:p(1, "----\t------\t------------------\t------\t-------\n")
    for _, c in ipairs(st.conditions) do
      w:p(1, str(c.type), "\t", str(c.status), "\t", rfc1123z(c.lastTransitionTime), "\t", str(c.reason), "\t", str(c.message), "\n")
    end
  end
  if quotas then
    w:p(0, "\n")
    if #quotas == 0 then w:p(0, "No resource quota.\n")
    else
      stable_sort(quotas, function(a, b) return str(a.metadata.name) < str(b.metadata.name) end)
      w:p(0, "Resource Quotas\n")
      for _, q in ipairs(quotas) do
        w:p(1, "Name:\t", str(q.metadata.name), "\n")
        local scopes = { unpack(list(q.spec and q.spec.scopes)) }
        if #scopes > 0 then
          table.sort(scopes)
          w:p(1, "Scopes:\t", table.concat(scopes, ", "), "\n")
          for _, sc in ipairs(scopes) do
            if SCOPE_HELP[sc] then w:p(1, "* ", SCOPE_HELP[sc], "\n") end
          end
        end
        w:p(1, "Resource\tUsed\tHard\n")
        w:p(1, "--------\t---\t---\n")
        local hard, used = list(q.status and q.status.hard), list(q.status and q.status.used)
        for _, k in ipairs(sorted_keys(hard)) do w:p(1, k, "\t", str(used[k] or "0"), "\t", str(hard[k]), "\n") end
      end
    end
  end
  if lranges then
    w:p(0, "\n")
    if #lranges == 0 then w:p(0, "No LimitRange resource.\n")
    else
      w:p(0, "Resource Limits\n Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio\n")
      w:p(0, " ----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n")
      for _, lr in ipairs(lranges) do limit_rows(w, lr, " ") end
    end
  end
end

K["/LimitRange"] = function(_, w, lr)
  w:p(0, "Name:\t", str(lr.metadata.name), "\n")
  w:p(0, "Namespace:\t", str(lr.metadata.namespace), "\n")
  w:p(0, "Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio\n")
  w:p(0, "----\t--------\t---\t---\t---------------\t-------------\t-----------------------\n")
  limit_rows(w, lr, "")
end

K["/ResourceQuota"] = function(_, w, q)
  w:p(0, "Name:\t", str(q.metadata.name), "\n")
  w:p(0, "Namespace:\t", str(q.metadata.namespace), "\n")
  local scopes = { unpack(list(q.spec and q.spec.scopes)) }
  if #scopes > 0 then
    table.sort(scopes)
    w:p(0, "Scopes:\t", table.concat(scopes, ", "), "\n")
    for _, sc in ipairs(scopes) do if SCOPE_HELP[sc] then w:p(0, " * ", SCOPE_HELP[sc], "\n") end end
  end
  w:p(0, "Resource\tUsed\tHard\n")
  w:p(0, "--------\t----\t----\n")
  local hard, used = list(q.status and q.status.hard), list(q.status and q.status.used)
  for _, k in ipairs(sorted_keys(hard)) do w:p(0, k, "\t", str(used[k] or "0"), "\t", str(hard[k]), "\n") end
end

K["/ConfigMap"] = function(D, w, cm)
  local md = cm.metadata or {}
  local events = search_events(D, cm)
  print_head(w, md, true)
  -- kubectl walks a Go map here (random order); vcli sorts the keys
  w:p(0, "\nData\n====\n")
  for _, k in ipairs(sorted_keys(cm.data)) do
    w:p(0, k, ":\n----\n")
    w:p(0, str(cm.data[k]), "\n")
    w:p(0, "\n")
  end
  w:p(0, "\nBinaryData\n====\n")
  for _, k in ipairs(sorted_keys(cm.binaryData)) do
    w:p(0, k, ": ", #util.base64_decode(str(cm.binaryData[k])), " bytes\n")
  end
  w:p(0, "\n")
  describe_events(D, w, events)
end

-- never the values: every key is a byte count (kubectl prints a service
-- account token in full; vcli does not)
K["/Secret"] = function(_, w, s)
  local md = s.metadata or {}
  print_head(w, md, true)
  w:p(0, "\nType:\t", str(s.type), "\n")
  w:p(0, "\nData\n====\n")
  for _, k in ipairs(sorted_keys(s.data)) do
    w:p(0, k, ":\t", #util.base64_decode(str(s.data[k])), " bytes\n")
  end
end

K["/ServiceAccount"] = function(D, w, sa)
  local md = sa.metadata or {}
  local tokens, missing = {}, {}
  local secrets = items(D, "/api/v1/namespaces/" .. str(md.namespace) .. "/secrets")
  if secrets then
    local existing = {}
    for _, s in ipairs(secrets) do
      if s.type == "kubernetes.io/service-account-token" then
        local ann = list(s.metadata.annotations)
        if ann["kubernetes.io/service-account.name"] == md.name and ann["kubernetes.io/service-account.uid"] == md.uid then
          tokens[#tokens + 1] = str(s.metadata.name)
        end
      end
      existing[str(s.metadata.name)] = true
    end
    for _, s in ipairs(list(sa.secrets)) do if not existing[str(s.name)] then missing[str(s.name)] = true end end
    for _, s in ipairs(list(sa.imagePullSecrets)) do if not existing[str(s.name)] then missing[str(s.name)] = true end end
  end
  local events = search_events(D, sa)
  print_head(w, md, true)
  local function names(l) local t = {} for _, s in ipairs(list(l)) do t[#t + 1] = str(s.name) end return t end
  local groups = { { "Image pull secrets:", names(sa.imagePullSecrets) }, { "Mountable secrets: ", names(sa.secrets) },
    { "Tokens:            ", tokens } }
  for _, g in ipairs(groups) do
    if #g[2] == 0 then w:p(0, g[1], "\t<none>\n")
    else
      local prefix = g[1]
      for _, n in ipairs(g[2]) do
        w:p(0, prefix, "\t", n, missing[n] and " (not found)" or "", "\n")
        prefix = "                   "
      end
    end
  end
  describe_events(D, w, events)
end

-- storageutil.GetPersistentVolume(Claim)Class: the beta annotation first
local function storage_class_of(md, spec)
  return str(list(md.annotations)["volume.beta.kubernetes.io/storage-class"] or spec.storageClassName)
end

local function access_modes(modes)
  local has = {}
  for _, m in ipairs(list(modes)) do has[m] = true end
  local out = {}
  for _, p in ipairs({ { "ReadWriteOnce", "RWO" }, { "ReadOnlyMany", "ROX" }, { "ReadWriteMany", "RWX" },
    { "ReadWriteOncePod", "RWOP" } }) do
    if has[p[1]] then out[#out + 1] = p[2] end
  end
  return table.concat(out, ",")
end

K["/PersistentVolumeClaim"] = function(D, w, pvc)
  local md, spec, st = pvc.metadata or {}, pvc.spec or {}, pvc.status or {}
  local used = {}
  local pods = items(D, "/api/v1/namespaces/" .. str(md.namespace) .. "/pods")
  if pods then
    local seen = {}
    for _, p in ipairs(pods) do
      for _, v in ipairs(list(p.spec and p.spec.volumes)) do
        if is_tbl(v.persistentVolumeClaim) and v.persistentVolumeClaim.claimName == md.name then
          used[#used + 1] = str(p.metadata.name); seen[p.metadata.uid] = true
        end
      end
    end
    for _, o in ipairs(list(md.ownerReferences)) do
      if o.kind == "Pod" and not seen[o.uid] then
        for _, p in ipairs(pods) do
          if p.metadata.uid == o.uid then used[#used + 1] = str(p.metadata.name); seen[o.uid] = true; break end
        end
      end
    end
  end
  local events = search_events(D, pvc)
  w:p(0, "Name:\t", str(md.name), "\n")
  w:p(0, "Namespace:\t", str(md.namespace), "\n")
  w:p(0, "StorageClass:\t", storage_class_of(md, spec), "\n")
  if md.deletionTimestamp then w:p(0, "Status:\tTerminating (lasts ", since(D, md.deletionTimestamp), ")\n")
  else w:p(0, "Status:\t", str(st.phase), "\n") end
  w:p(0, "Volume:\t", str(spec.volumeName), "\n")
  print_labels(w, "Labels", md.labels)
  print_annotations(w, "Annotations", md.annotations)
  w:p(0, "Finalizers:\t", str(list(md.finalizers)), "\n")
  local capacity, modes = "", ""
  if str(spec.volumeName) ~= "" then
    modes = access_modes(st.accessModes)
    capacity = str(list(st.capacity).storage or "0")
  end
  w:p(0, "Capacity:\t", capacity, "\n")
  w:p(0, "Access Modes:\t", modes, "\n")
  if spec.volumeMode ~= nil then w:p(0, "VolumeMode:\t", str(spec.volumeMode), "\n") end
  if is_tbl(spec.dataSource) then
    w:p(0, "DataSource:\n")
    if spec.dataSource.apiGroup ~= nil then w:p(1, "APIGroup:\t", str(spec.dataSource.apiGroup), "\n") end
    w:p(1, "Kind:\t", str(spec.dataSource.kind), "\n")
    w:p(1, "Name:\t", str(spec.dataSource.name), "\n")
  end
  w:p(0, "Used By:\t")
  table.sort(used)
  if #used == 0 then w:p(0, "<none>\n") end
  for i, n in ipairs(used) do
    if i > 1 then w:p(0, "\t") end
    w:p(0, n, "\n")
  end
  if #list(st.conditions) > 0 then
    w:p(0, "Conditions:\n")
    w:p(1, "Type\tStatus\tLastProbeTime\tLastTransitionTime\tReason\tMessage\n")
    w:p(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
    for _, c in ipairs(st.conditions) do
      w:p(1, str(c.type), " \t", str(c.status), " \t", rfc1123z(c.lastProbeTime), " \t", rfc1123z(c.lastTransitionTime), " \t",
        str(c.reason), " \t", str(c.message), "\n")
    end
  end
  describe_events(D, w, events)
end

-- an ingress backend with its endpoints (describeBackendV1)
local function ingress_backend(D, ns, b)
  if is_tbl(b.service) then
    local port = b.service.port or {}
    local sb = str(b.service.name) .. ":" .. ((tonumber(port.number) or 0) ~= 0 and str(port.number) or str(port.name))
    local slices, err = endpoint_slices(D, ns, str(b.service.name))
    if not slices then return ("%s (<error: %s>)"):format(sb, str(err)) end
    local svc, serr = get(D, "/api/v1/namespaces/" .. ns .. "/services/" .. str(b.service.name))
    if not svc then return ("%s (<error: %s>)"):format(sb, str(serr)) end
    local sp_name = ""
    for _, sp in ipairs(list(svc.spec and svc.spec.ports)) do
      if (tonumber(port.number) or 0) ~= 0 and port.number == sp.port then sp_name = str(sp.name)
      elseif str(port.name) ~= "" and port.name == sp.name then sp_name = str(sp.name) end
    end
    return ("%s (%s)"):format(sb, format_endpoint_slices(slices, sp_name))
  end
  if is_tbl(b.resource) then
    return ("APIGroup: %s, Kind: %s, Name: %s"):format(b.resource.apiGroup ~= nil and str(b.resource.apiGroup) or "<none>",
      str(b.resource.kind), str(b.resource.name))
  end
  return ""
end

-- v1beta1 (extensions / networking.k8s.io v1beta1): serviceName/servicePort
local function ingress_backend_beta(D, ns, b)
  local slices, err = endpoint_slices(D, ns, str(b.serviceName))
  if not slices then return ("<error: %s>"):format(str(err)) end
  local svc, serr = get(D, "/api/v1/namespaces/" .. ns .. "/services/" .. str(b.serviceName))
  if not svc then return ("<error: %s>"):format(str(serr)) end
  local sp_name = ""
  for _, sp in ipairs(list(svc.spec and svc.spec.ports)) do
    if type(b.servicePort) == "string" and b.servicePort == sp.name then sp_name = str(sp.name)
    elseif type(b.servicePort) == "number" and b.servicePort == sp.port then sp_name = str(sp.name) end
  end
  return format_endpoint_slices(slices, sp_name)
end

local function describe_ingress(D, w, ing)
  local md, spec, st = ing.metadata or {}, ing.spec or {}, ing.status or {}
  local ns = str(md.namespace)
  local beta = str(ing.apiVersion) ~= "networking.k8s.io/v1"
  local events = search_events(D, ing)
  w:p(0, "Name:\t", str(md.name), "\n")
  print_labels(w, "Labels", md.labels)
  w:p(0, "Namespace:\t", ns, "\n")
  local addrs, seen = {}, {}
  for _, i in ipairs(list(is_tbl(st.loadBalancer) and st.loadBalancer.ingress)) do
    local a = str(i.ip) ~= "" and str(i.ip) or str(i.hostname)
    if a ~= "" and not seen[a] then seen[a] = true; addrs[#addrs + 1] = a end
  end
  table.sort(addrs)
  w:p(0, "Address:\t", table.concat(addrs, ","), "\n")
  w:p(0, "Ingress Class:\t", spec.ingressClassName ~= nil and str(spec.ingressClassName) or "<none>", "\n")
  local def = beta and spec.backend or spec.defaultBackend
  local def_text = "<default>"
  if is_tbl(def) then def_text = beta and ingress_backend_beta(D, ns, def) or ingress_backend(D, ns, def) end
  w:p(0, "Default backend:\t", def_text, "\n")
  if #list(spec.tls) > 0 then
    w:p(0, "TLS:\n")
    for _, t in ipairs(spec.tls) do
      local hosts = table.concat(list(t.hosts), ",")
      if str(t.secretName) == "" then w:p(1, "SNI routes ", hosts, "\n")
      else w:p(1, str(t.secretName), " terminates ", hosts, "\n") end
    end
  end
  w:p(0, "Rules:\n  Host\tPath\tBackends\n")
  w:p(1, "----\t----\t--------\n")
  local count = 0
  for _, rule in ipairs(list(spec.rules)) do
    if is_tbl(rule.http) then
      count = count + 1
      local host = str(rule.host)
      if host == "" then host = "*" end
      w:p(1, host, "\t\n")
      for _, p in ipairs(list(rule.http.paths)) do
        local b = p.backend or {}
        if beta then
          w:p(2, "\t", str(p.path), " \t", str(b.serviceName), ":", str(b.servicePort), " (", ingress_backend_beta(D, ns, b), ")\n")
        else
          w:p(2, "\t", str(p.path), " \t", ingress_backend(D, ns, b), "\n")
        end
      end
    end
  end
  if count == 0 then
    if beta then w:p(1, "*\t* \t<default>\n") else w:p(1, "*\t*\t", def_text, "\n") end
  end
  print_annotations(w, "Annotations", md.annotations)
  describe_events(D, w, events)
end
K["networking.k8s.io/Ingress"] = describe_ingress
K["extensions/Ingress"] = describe_ingress

local function describe_binding(_, w, b)
  local md = b.metadata or {}
  print_head(w, md)
  w:p(0, "Role:\n")
  w:p(1, "Kind:\t", str(b.roleRef and b.roleRef.kind), "\n")
  w:p(1, "Name:\t", str(b.roleRef and b.roleRef.name), "\n")
  w:p(0, "Subjects:\n")
  w:p(1, "Kind\tName\tNamespace\n")
  w:p(1, "----\t----\t---------\n")
  for _, s in ipairs(list(b.subjects)) do w:p(1, str(s.kind), "\t", str(s.name), "\t", str(s.namespace), "\n") end
end
K["rbac.authorization.k8s.io/RoleBinding"] = describe_binding
K["rbac.authorization.k8s.io/ClusterRoleBinding"] = describe_binding

K["scheduling.k8s.io/PriorityClass"] = function(D, w, pc)
  local events = search_events(D, pc)
  w:p(0, "Name:\t", str(pc.metadata.name), "\n")
  w:p(0, "Value:\t", str(pc.value or 0), "\n")
  w:p(0, "GlobalDefault:\t", tostring(pc.globalDefault == true), "\n")
  w:p(0, "PreemptionPolicy:\t", str(pc.preemptionPolicy), "\n")
  w:p(0, "Description:\t", str(pc.description), "\n")
  w:p(0, "Annotations:\t", format_labels(pc.metadata.annotations), "\n")
  describe_events(D, w, events)
end

-- ------------------------------------------------------------ rbac roles
-- k8s.io/kubectl/pkg/util/rbac: every rule broken down to one group,
-- resource, verb (and resource name), the simple ones merged again by
-- resource (their verbs in order of appearance), all sorted stably by
-- PolicyRule.String()
local function compact_rules(rules)
  local out, merged, simple = {}, {}, {}
  for _, rule in ipairs(list(rules)) do
    local names = list(rule.resourceNames)
    for _, g in ipairs(list(rule.apiGroups)) do
      for _, r in ipairs(list(rule.resources)) do
        for _, v in ipairs(list(rule.verbs)) do
          for _, n in ipairs(#names > 0 and names or { false }) do
            local key = table.concat({ str(g), str(r), n and ("=" .. str(n)) or "" }, "\0")
            local s = simple[key]
            if not s then
              s = { apiGroups = { g }, resources = { r }, resourceNames = { n or nil }, verbs = {}, seen = {} }
              simple[key] = s
              merged[#merged + 1] = s
            end
            if not s.seen[v] then s.seen[v] = true; s.verbs[#s.verbs + 1] = v end
          end
        end
      end
    end
    for _, u in ipairs(list(rule.nonResourceURLs)) do
      for _, v in ipairs(list(rule.verbs)) do out[#out + 1] = { nonResourceURLs = { u }, verbs = { v } } end
    end
  end
  for _, s in ipairs(merged) do out[#out + 1] = s end
  local function key(r)
    return ("&PolicyRule{Verbs:%s,APIGroups:%s,Resources:%s,ResourceNames:%s,NonResourceURLs:%s,}"):format(str(list(r.verbs)),
      str(list(r.apiGroups)), str(list(r.resources)), str(list(r.resourceNames)), str(list(r.nonResourceURLs)))
  end
  for _, r in ipairs(out) do r.key = key(r) end
  return stable_sort(out, function(a, b) return a.key < b.key end)
end

-- CombineResourceGroup: "resource.group/subresource"
local function resource_group(resources, groups)
  if #resources == 0 then return "" end
  local res, sub = str(resources[1]):match("^([^/]*)(/?.*)$")
  if groups[1] ~= nil and str(groups[1]) ~= "" then res = res .. "." .. str(groups[1]) end
  return res .. sub
end

local function describe_role(_, w, role)
  print_head(w, role.metadata or {})
  w:p(0, "PolicyRule:\n")
  w:p(1, "Resources\tNon-Resource URLs\tResource Names\tVerbs\n")
  w:p(1, "---------\t-----------------\t--------------\t-----\n")
  for _, r in ipairs(compact_rules(role.rules)) do
    w:p(1, resource_group(list(r.resources), list(r.apiGroups)), "\t", str(list(r.nonResourceURLs)), "\t",
      str(list(r.resourceNames)), "\t", str(r.verbs), "\n")
  end
end
K["rbac.authorization.k8s.io/Role"] = describe_role
K["rbac.authorization.k8s.io/ClusterRole"] = describe_role

-- ------------------------------------------------------------ storage
-- a node or topology selector term: "Term N:" and its requirements, one a line
local function print_term(w, level, title, reqs)
  w:p(level, title, ":\t")
  if #reqs == 0 then w:p(0, "<none>\n"); return end
  for i, r in ipairs(reqs) do
    if i > 1 then w:p(level, "\t") end
    local values = list(r.values)
    w:p(0, str(r.key), " ", r.operator and str(r.operator):lower() or "in",
      #values > 0 and (" [" .. table.concat(values, ", ") .. "]") or "", "\n")
  end
end

K["/PersistentVolume"] = function(D, w, pv)
  local md, spec, st = pv.metadata or {}, pv.spec or {}, pv.status or {}
  local events = search_events(D, pv)
  print_head(w, md)
  w:p(0, "Finalizers:\t", str(list(md.finalizers)), "\n")
  w:p(0, "StorageClass:\t", storage_class_of(md, spec), "\n")
  if md.deletionTimestamp then w:p(0, "Status:\tTerminating (lasts ", since(D, md.deletionTimestamp), ")\n")
  else w:p(0, "Status:\t", str(st.phase), "\n") end
  local claim = is_tbl(spec.claimRef) and (str(spec.claimRef.namespace) .. "/" .. str(spec.claimRef.name)) or ""
  w:p(0, "Claim:\t", claim, "\n")
  w:p(0, "Reclaim Policy:\t", str(spec.persistentVolumeReclaimPolicy), "\n")
  w:p(0, "Access Modes:\t", access_modes(spec.accessModes), "\n")
  if spec.volumeMode ~= nil then w:p(0, "VolumeMode:\t", str(spec.volumeMode), "\n") end
  w:p(0, "Capacity:\t", str(list(spec.capacity).storage or "0"), "\n")
  w:p(0, "Node Affinity:\t")
  local req = is_tbl(spec.nodeAffinity) and spec.nodeAffinity.required
  if not is_tbl(req) then w:p(0, "<none>\n")
  else
    w:p(0, "\n")
    w:p(1, "Required Terms:\t")
    local terms = list(req.nodeSelectorTerms)
    w:p(0, #terms == 0 and "<none>\n" or "\n")
    for i, term in ipairs(terms) do print_term(w, 2, "Term " .. (i - 1), list(term.matchExpressions)) end
  end
  w:p(0, "Message:\t", str(st.message), "\n")
  w:p(0, "Source:\n")
  local src = spec["local"]
  if is_tbl(src) then
    w:p(2, "Type:\tLocalVolume (a persistent volume backed by local storage on a node)\n    Path:\t", str(src.path), "\n")
  elseif is_tbl(spec.csi) then
    fields(w, "CSI (a Container Storage Interface (CSI) volume source)", { { "Driver", spec.csi.driver },
      { "FSType", spec.csi.fsType }, { "VolumeHandle", spec.csi.volumeHandle }, { "ReadOnly", tostring(spec.csi.readOnly == true) } })
    print_volume_attributes(w, spec.csi.volumeAttributes)
  else
    describe_volume_source(w, spec)
  end
  describe_events(D, w, events)
end

K["storage.k8s.io/StorageClass"] = function(D, w, sc)
  local md = sc.metadata or {}
  local events = search_events(D, sc)
  local ann = list(md.annotations)
  w:p(0, "Name:\t", str(md.name), "\n")
  local default = ann["storageclass.kubernetes.io/is-default-class"] == "true"
    or ann["storageclass.beta.kubernetes.io/is-default-class"] == "true"
  w:p(0, "IsDefaultClass:\t", default and "Yes" or "No", "\n")
  w:p(0, "Annotations:\t", format_labels(md.annotations), "\n")
  w:p(0, "Provisioner:\t", str(sc.provisioner), "\n")
  w:p(0, "Parameters:\t", format_labels(sc.parameters), "\n")
  w:p(0, "AllowVolumeExpansion:\t", bool_ptr(sc.allowVolumeExpansion), "\n")
  if #list(sc.mountOptions) == 0 then w:p(0, "MountOptions:\t<none>\n")
  else
    w:p(0, "MountOptions:\n")
    for _, o in ipairs(sc.mountOptions) do w:p(1, str(o), "\n") end
  end
  if sc.reclaimPolicy ~= nil then w:p(0, "ReclaimPolicy:\t", str(sc.reclaimPolicy), "\n") end
  if sc.volumeBindingMode ~= nil then w:p(0, "VolumeBindingMode:\t", str(sc.volumeBindingMode), "\n") end
  if sc.allowedTopologies ~= nil then
    local terms = list(sc.allowedTopologies)
    w:p(0, "AllowedTopologies:\t", #terms == 0 and "<none>" or "", "\n")
    for i, term in ipairs(terms) do print_term(w, 1, "Term " .. (i - 1), list(term.matchLabelExpressions)) end
  end
  describe_events(D, w, events)
end

-- ------------------------------------------------------------ autoscaling
-- a *resource.Quantity as %s prints it
local function qty(v) if v == nil then return "<nil>" end return str(v) end
local function go_quote(s) return '"' .. str(s):gsub('[\\"]', "\\%0"):gsub("\n", "\\n"):gsub("\t", "\\t") .. '"' end

local function hpa_head(w, hpa)
  local md, ref = hpa.metadata or {}, (hpa.spec or {}).scaleTargetRef or {}
  w:p(0, "Name:\t", str(md.name), "\n")
  w:p(0, "Namespace:\t", str(md.namespace), "\n")
  print_labels(w, "Labels", md.labels)
  print_annotations(w, "Annotations", md.annotations)
  w:p(0, "CreationTimestamp:\t", rfc1123z(md.creationTimestamp), "\n")
  w:p(0, "Reference:\t", str(ref.kind), "/", str(ref.name), "\n")
end

local function hpa_replicas(w, hpa)
  local spec = hpa.spec or {}
  w:p(0, "Min replicas:\t", spec.minReplicas ~= nil and str(spec.minReplicas) or "<unset>", "\n")
  w:p(0, "Max replicas:\t", str(spec.maxReplicas or 0), "\n")
end

local function hpa_pods(w, hpa)
  local spec, st = hpa.spec or {}, hpa.status or {}
  w:p(0, str((spec.scaleTargetRef or {}).kind), " pods:\t")
  w:p(0, str(st.currentReplicas or 0), " current / ", str(st.desiredReplicas or 0), " desired\n")
end

-- describeHorizontalPodAutoscalerV1
local function describe_hpa_v1(w, hpa)
  local spec, st = hpa.spec or {}, hpa.status or {}
  hpa_head(w, hpa)
  if spec.targetCPUUtilizationPercentage ~= nil then
    w:p(0, "Target CPU utilization:\t", str(spec.targetCPUUtilizationPercentage), "%\n")
    local cur = st.currentCPUUtilizationPercentage
    w:p(0, "Current CPU utilization:\t", cur ~= nil and str(cur) or "<unknown>", "%\n")
  end
  hpa_replicas(w, hpa)
  hpa_pods(w, hpa)
end

local function hpa_behavior(w, direction, rules)
  if not is_tbl(rules) then return end
  w:p(1, direction, ":\n")
  if rules.stabilizationWindowSeconds ~= nil then
    w:p(2, "Stabilization Window: ", str(rules.stabilizationWindowSeconds), " seconds\n")
  end
  if #list(rules.policies) > 0 then
    w:p(2, "Select Policy: ", rules.selectPolicy ~= nil and str(rules.selectPolicy) or "Max", "\n")
    w:p(2, "Policies:\n")
    for _, p in ipairs(rules.policies) do
      w:p(3, "- Type: ", str(p.type), "\tValue: ", str(p.value or 0), "\tPeriod: ", str(p.periodSeconds or 0), " seconds\n")
    end
  end
end

-- describeHorizontalPodAutoscalerV2 (autoscaling/v2 and v2beta2 have the same fields)
local function describe_hpa_v2(w, hpa)
  local spec, st = hpa.spec or {}, hpa.status or {}
  hpa_head(w, hpa)
  w:p(0, "Metrics:\t( current / target )\n")
  local currents = list(st.currentMetrics)
  for i, m in ipairs(list(spec.metrics)) do
    local t = str(m.type)
    local cur = currents[i] or {}
    local function current(src, field)
      local c = is_tbl(cur[src]) and cur[src].current
      return is_tbl(c) and qty(c[field]) or "<unknown>"
    end
    if t == "External" then
      local ext = m.external or {}
      local target = ext.target or {}
      if target.averageValue ~= nil then
        w:p(1, go_quote((ext.metric or {}).name), " (target average value):\t", current("external", "averageValue"), " / ",
          qty(target.averageValue), "\n")
      else
        w:p(1, go_quote((ext.metric or {}).name), " (target value):\t", current("external", "value"), " / ", qty(target.value), "\n")
      end
    elseif t == "Pods" then
      local pods = m.pods or {}
      w:p(1, go_quote((pods.metric or {}).name), " on pods:\t", current("pods", "averageValue"), " / ",
        qty((pods.target or {}).averageValue), "\n")
    elseif t == "Object" then
      local obj = m.object or {}
      local target, desc = obj.target or {}, obj.describedObject or {}
      w:p(1, go_quote((obj.metric or {}).name), " on ", str(desc.kind), "/", str(desc.name), " ")
      if target.type == "AverageValue" then
        w:p(0, "(target average value):\t", current("object", "averageValue"), " / ", qty(target.averageValue), "\n")
      else
        w:p(0, "(target value):\t", current("object", "value"), " / ", qty(target.value), "\n")
      end
    elseif t == "Resource" or t == "ContainerResource" then
      local src = t == "Resource" and "resource" or "containerResource"
      local res = m[src] or {}
      local target = res.target or {}
      if t == "Resource" then w:p(1, "resource ", str(res.name), " on pods")
      else w:p(1, "resource ", str(res.name), " of container \"", str(res.container), "\" on pods") end
      if target.averageValue ~= nil then
        w:p(0, ":\t", current(src, "averageValue"), " / ", qty(target.averageValue), "\n")
      else
        local c = is_tbl(cur[src]) and cur[src].current
        local cur_text = "<unknown>"
        if is_tbl(c) and c.averageUtilization ~= nil then
          cur_text = ("%s%% (%s)"):format(str(c.averageUtilization), qty(c.averageValue))
        end
        local target_text = target.averageUtilization ~= nil and (str(target.averageUtilization) .. "%") or "<auto>"
        w:p(1, "(as a percentage of request):\t", cur_text, " / ", target_text, "\n")
      end
    else
      w:p(1, "<unknown metric type ", go_quote(t), ">\n")
    end
  end
  hpa_replicas(w, hpa)
  if is_tbl(spec.behavior) then
    w:p(0, "Behavior:\n")
    hpa_behavior(w, "Scale Up", spec.behavior.scaleUp)
    hpa_behavior(w, "Scale Down", spec.behavior.scaleDown)
  end
  hpa_pods(w, hpa)
  if #list(st.conditions) > 0 then
    w:p(0, "Conditions:\n")
    w:p(1, "Type\tStatus\tReason\tMessage\n")
    w:p(1, "----\t------\t------\t-------\n")
    for _, c in ipairs(st.conditions) do
      w:p(1, str(c.type), "\t", str(c.status), "\t", str(c.reason), "\t", str(c.message), "\n")
    end
  end
end

-- as kubectl: the autoscaling/v2 object when the server has it, else the
-- autoscaling/v1 one (whatever version was asked for); offline, the
-- object's own version decides
K["autoscaling/HorizontalPodAutoscaler"] = function(D, w, hpa)
  local md = hpa.metadata or {}
  local version = str(hpa.apiVersion):match("/(.*)$") or ""
  local v2 = version == "v2" or version == "v2beta2"
  if D.c and version ~= "v2" then
    local path = "/namespaces/" .. str(md.namespace) .. "/horizontalpodautoscalers/" .. str(md.name)
    local obj = get(D, "/apis/autoscaling/v2" .. path)
    if obj then hpa, v2 = obj, true
    else
      v2 = false
      if version ~= "v1" then hpa = get(D, "/apis/autoscaling/v1" .. path) or hpa end
    end
  end
  local events = search_events(D, hpa)
  if v2 then describe_hpa_v2(w, hpa) else describe_hpa_v1(w, hpa) end
  describe_events(D, w, events)
end

-- ------------------------------------------------------------ policy
-- policy/v1 and v1beta1 print alike
K["policy/PodDisruptionBudget"] = function(D, w, pdb)
  local md, spec, st = pdb.metadata or {}, pdb.spec or {}, pdb.status or {}
  local events = search_events(D, pdb)
  w:p(0, "Name:\t", str(md.name), "\n")
  w:p(0, "Namespace:\t", str(md.namespace), "\n")
  if spec.minAvailable ~= nil then w:p(0, "Min available:\t", str(spec.minAvailable), "\n")
  elseif spec.maxUnavailable ~= nil then w:p(0, "Max unavailable:\t", str(spec.maxUnavailable), "\n") end
  w:p(0, "Selector:\t", is_tbl(spec.selector) and format_selector(spec.selector) or "<unset>", "\n")
  w:p(0, "Status:\n")
  w:p(2, "Allowed disruptions:\t", str(st.disruptionsAllowed or 0), "\n")
  w:p(2, "Current:\t", str(st.currentHealthy or 0), "\n")
  w:p(2, "Desired:\t", str(st.desiredHealthy or 0), "\n")
  w:p(2, "Total:\t", str(st.expectedPods or 0), "\n")
  describe_events(D, w, events)
end

-- ------------------------------------------------------------ networking
-- printNetworkPolicySpecIngressFrom / EgressTo (peers: "from"/"to")
local function network_policy_rules(w, rules, dir, peers, word, unrestricted)
  local ind = "    "
  rules = list(rules)
  if #rules == 0 then w:p(0, ind, "<none> (Selected pods are isolated for ", dir, " connectivity)\n"); return end
  for i, r in ipairs(rules) do
    if #list(r.ports) == 0 then w:p(0, ind, "To Port: <any> (traffic allowed to all ports)\n") end
    for _, p in ipairs(list(r.ports)) do
      local port, proto = p.port == nil and "<nil>" or str(p.port), p.protocol ~= nil and str(p.protocol) or "TCP"
      if p.endPort == nil then w:p(0, ind, "To Port: ", port, "/", proto, "\n")
      else w:p(0, ind, "To Port Range: ", port, "-", str(p.endPort), "/", proto, "\n") end
    end
    if #list(r[peers]) == 0 then w:p(0, ind, word, ": <any> (traffic not restricted by ", unrestricted, ")\n") end
    for _, peer in ipairs(list(r[peers])) do
      w:p(0, ind, word, ":\n")
      if is_tbl(peer.namespaceSelector) then
        w:p(1, ind, "NamespaceSelector: ", format_selector(peer.namespaceSelector), "\n")
      end
      if is_tbl(peer.podSelector) then w:p(1, ind, "PodSelector: ", format_selector(peer.podSelector), "\n") end
      if not is_tbl(peer.namespaceSelector) and not is_tbl(peer.podSelector) and is_tbl(peer.ipBlock) then
        w:p(1, ind, "IPBlock:\n")
        w:p(2, ind, "CIDR: ", str(peer.ipBlock.cidr), "\n")
        w:p(2, ind, "Except: ", table.concat(list(peer.ipBlock.except), ", "), "\n")
      end
    end
    if i ~= #rules then w:p(0, ind, "----------\n") end
  end
end

K["networking.k8s.io/NetworkPolicy"] = function(_, w, np)
  local md, spec = np.metadata or {}, np.spec or {}
  w:p(0, "Name:\t", str(md.name), "\n")
  w:p(0, "Namespace:\t", str(md.namespace), "\n")
  w:p(0, "Created on:\t", go_time(md.creationTimestamp), "\n")
  print_labels(w, "Labels", md.labels)
  print_annotations(w, "Annotations", md.annotations)
  w:p(0, "Spec:\n")
  w:p(1, "PodSelector: ")
  local ps = spec.podSelector or {}
  if not nonempty(ps.matchLabels) and #list(ps.matchExpressions) == 0 then
    w:p(2, "<none> (Allowing the specific traffic to all pods in this namespace)\n")
  else
    w:p(2, format_selector(ps), "\n")
  end
  local types = {}
  for _, t in ipairs(list(spec.policyTypes)) do types[t] = true end
  if types.Ingress then
    w:p(1, "Allowing ingress traffic:\n")
    network_policy_rules(w, spec.ingress, "ingress", "from", "From", "source")
  else
    w:p(1, "Not affecting ingress traffic\n")
  end
  if types.Egress then
    w:p(1, "Allowing egress traffic:\n")
    network_policy_rules(w, spec.egress, "egress", "to", "To", "destination")
  else
    w:p(1, "Not affecting egress traffic\n")
  end
  local pts = list(spec.policyTypes)
  w:p(1, "Policy Types: ", #pts > 0 and table.concat(pts, ", ") or "<none>", "\n")
end

-- ------------------------------------------------------------ generic
-- fatih/camelcase.Split
local function camel_split(s)
  local runs, last = {}, nil
  for ch in s:gmatch("[%z\1-\127\194-\244][\128-\191]*") do
    local class = ch:match("^%l$") and 1 or ch:match("^%u$") and 2 or ch:match("^%d$") and 3 or 4
    if class == last then runs[#runs] = runs[#runs] .. ch else runs[#runs + 1] = ch end
    last = class
  end
  for i = 1, #runs - 1 do
    if runs[i]:match("^%u+$") and runs[i + 1]:match("^%l+$") then
      runs[i + 1] = runs[i]:sub(-1) .. runs[i + 1]
      runs[i] = runs[i]:sub(1, -2)
    end
  end
  local out = {}
  for _, r in ipairs(runs) do if r ~= "" then out[#out + 1] = r end end
  return out
end
local ACRONYMS = { API = true, URL = true, UID = true, OSB = true, GUID = true }
local function smart_label(field)
  if field:find("[^%a%-]") then return field end
  local parts = {}
  for _, p in ipairs(camel_split(field)) do
    if p ~= "_" then
      if ACRONYMS[p:upper()] then p = p:upper()
      else p = p:gsub("(%w)(%w*)", function(a, b) return a:upper() .. b end) end
      parts[#parts + 1] = p
    end
  end
  return table.concat(parts, " ")
end
M.smart_label = smart_label

local function is_array(v) return is_tbl(v) and (getmetatable(v) ~= nil or (#v > 0 and v[1] ~= nil)) end

local function generic_value(v, json_null)
  if v == json_null or v == nil then return "<nil>" end
  if type(v) == "number" then return str(v) end
  if type(v) == "boolean" then return tostring(v) end
  if is_tbl(v) then
    if is_array(v) then
      local parts = {}
      for _, x in ipairs(v) do parts[#parts + 1] = generic_value(x, json_null) end
      return "[" .. table.concat(parts, " ") .. "]"
    end
    local keys, parts = sorted_keys(v), {}
    for _, k in ipairs(keys) do parts[#parts + 1] = k .. ":" .. generic_value(v[k], json_null) end
    return "map[" .. table.concat(parts, " ") .. "]"
  end
  return tostring(v)
end

local function print_unstructured(w, level, content, prefix, skip, json_null)
  local keys = sorted_keys(content)
  for _, field in ipairs(keys) do
    local v = content[field]
    local expr = prefix .. "." .. field
    if not skip[expr] then
      if is_tbl(v) and not is_array(v) then
        w:p(level, smart_label(field), ":\n")
        print_unstructured(w, level + 1, v, expr, skip, json_null)
      elseif is_array(v) then
        w:p(level, smart_label(field), ":\n")
        for _, child in ipairs(v) do
          if is_tbl(child) and not is_array(child) then print_unstructured(w, level + 1, child, expr, skip, json_null)
          else w:p(level + 1, generic_value(child, json_null), "\n") end
        end
      else
        w:p(level, smart_label(field), ":\t", generic_value(v, json_null), "\n")
      end
    end
  end
end

local GENERIC_SKIP = { [".metadata.managedFields"] = true, [".metadata.name"] = true, [".metadata.namespace"] = true,
  [".metadata.labels"] = true, [".metadata.annotations"] = true }

local function generic(D, w, obj)
  local md = obj.metadata or {}
  local events = search_events(D, obj)
  print_head(w, md, true)
  print_unstructured(w, 0, obj, "", GENERIC_SKIP, D.env and D.env.json and D.env.json.null)
  describe_events(D, w, events)
end

-- ------------------------------------------------------------ entry
-- opts: env, c (client; nil offline), obj, events (fetch and show events)
function M.describe(opts)
  local obj = opts.obj
  local group = str(obj.apiVersion):match("^(.*)/[^/]*$") or ""
  local fn = K[group .. "/" .. str(obj.kind)] or generic
  local D = { env = opts.env, c = opts.c, events = opts.events and opts.c ~= nil, now = opts.env.time() }
  local w = new_writer()
  fn(D, w, obj)
  return w:text()
end

M.has_describer = function(group, kind) return K[(group or "") .. "/" .. kind] ~= nil end

return M
