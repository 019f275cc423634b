-- prom.commands — the `prom` command: one command spec for the shell, its
-- handlers and completers, over the env prom.plugin_env builds in the
-- plugin's state:
--
--   local spec = require("prom.commands").spec(env)
--   env = { http=, json=, cjson=?, yaml=, store=?, resilience=?, sleep=?, now=fn->unix s,
--           getenv=fn, config=fn->prometheus section, width=fn->cols }
local client = require("prom.client")
local format = require("prom.format")
local chart_mod   -- loaded on first use: only `prom range` draws
local function chart() chart_mod = chart_mod or require("prom.chart"); return chart_mod end
local cache_mod = require("prom.cache")
local pc = require("prom.promql_complete")

local M = {}

-- ------------------------------------------------------------------ server
local function cfg_of(env)
  local ok, c = pcall(function() return env.config and env.config() end)
  if ok and type(c) == "table" then return c end
  return {}
end

local function nonempty(s) if type(s) == "string" and s ~= "" then return s end end

-- Which server, and how: --url, then VCLI_PROMETHEUS_URL, then the config
-- (prometheus.url of the current context's layers).
function M.server(env, flags)
  flags = flags or {}
  local cfg = cfg_of(env)
  local getenv = env.getenv or function() return nil end
  local url = nonempty(flags.url) or nonempty(getenv("VCLI_PROMETHEUS_URL")) or nonempty(cfg.url)
    or "http://localhost:9090"
  local tls = type(cfg.tls) == "table" and cfg.tls or {}
  local timeout = flags.timeout or format.parse_duration(cfg.timeout) or 30
  local s = {
    url = url,
    token = nonempty(getenv("VCLI_PROMETHEUS_TOKEN")) or nonempty(cfg.bearerToken),
    username = nonempty(cfg.username), password = cfg.password,
    timeout_ms = math.floor(timeout * 1000),
    timeout = timeout,
    ca_file = nonempty(tls.caFile), cert_file = nonempty(tls.certFile), key_file = nonempty(tls.keyFile),
    server_name = nonempty(tls.serverName), insecure = tls.insecureSkipVerify == true or nil,
    headers = type(cfg.headers) == "table" and cfg.headers or nil,
    step = cfg.step, defaultRange = cfg.defaultRange,
  }
  return s
end

local function new_client(env, flags)
  local s = M.server(env, flags)
  return client.new(env, s), s
end

local function fail(msg) error("prom: " .. tostring(msg), 0) end

local function encode_json(env, v)
  return env.json.encode(v) .. "\n"
end

local function encode_yaml(env, v)
  return env.yaml.encode(v)
end

local function emit(ctx, env, out, value, table_fn)
  if out == "json" then ctx.out(encode_json(env, value))
  elseif out == "yaml" then ctx.out(encode_yaml(env, value))
  else ctx.out(table_fn()) end
end

-- a chart for a person (a terminal), data for a pipe
local function is_tty(ctx)
  return (ctx.color or ctx.terminal) and true or false
end

-- a list the handlers build: an array in -o json and -o yaml, also when empty
local function array(env)
  return setmetatable({}, env.json and env.json.array_mt or nil)
end

local function width_of(ctx, env)
  local w = ctx.width and (type(ctx.width) == "function" and ctx.width() or ctx.width)
  if not w and env.width then w = env.width() end
  if not w or w <= 0 then w = 80 end
  return w
end

-- "now", "-1h", "now-30m", unix seconds, RFC 3339 → unix seconds
function M.parse_time(s, now)
  if s == nil then return nil end
  if type(s) == "number" then return s end
  if s == "now" then return now end
  local rel = s:match("^now%-(.+)$") or s:match("^%-(.+)$")
  if rel then
    local d = format.parse_duration(rel)
    if d then return now - d end
  end
  if tonumber(s) then return tonumber(s) end
  local t = format.parse_rfc3339(s)
  if t then return t end
  fail(("'%s' is not a time: use now, -1h, now-30m, unix seconds or RFC 3339 (2024-05-01T10:00:00Z)"):format(s))
end

-- -------------------------------------------------------------- completion
-- Completion lists come from the server and are cached (memory, then LMDB).
local COMPLETE_TTL = 120

local function words_url(ctx)
  local words = ctx and ctx.words or {}
  for i, w in ipairs(words) do
    if w == "--url" then return words[i + 1] end
    local v = w:match("^%-%-url=(.+)$")
    if v then return v end
  end
end

function M.source(env, ctx)
  local c, s = new_client(env, { url = words_url(ctx) })
  local cache = cache_mod.new(env)
  local function fetch(fn)
    return function()
      local data, err = fn()
      if data == nil then error(err or "no answer", 0) end
      return data
    end
  end
  local src = {}
  function src.metric_names()
    return cache:list(s.url, "names", COMPLETE_TTL, fetch(function() return c:label_values("__name__") end)) or {}
  end
  function src.label_names(metric)
    local match = metric and metric ~= "" and { metric } or nil
    return cache:list(s.url, "labels\n" .. (metric or ""), COMPLETE_TTL,
      fetch(function() return c:labels(match) end)) or {}
  end
  function src.label_values(label, metric)
    local match = metric and metric ~= "" and { metric } or nil
    return cache:list(s.url, "values\n" .. label .. "\n" .. (metric or ""), COMPLETE_TTL,
      fetch(function() return c:label_values(label, match) end)) or {}
  end
  function src.metadata()
    local md = cache:list(s.url, "metadata", COMPLETE_TTL, fetch(function() return c:metadata() end)) or {}
    local out = {}
    for name, list in pairs(md) do
      if type(list) == "table" and type(list[1]) == "table" then out[name] = list[1] end
    end
    return out
  end
  return src
end

local function promql_completer(env)
  return function(prefix, ctx)
    return pc.complete(prefix or "", M.source(env, ctx))
  end
end

-- ------------------------------------------------------------------ output
local OUTPUT = { name = "output", short = "o", type = "enum", values = { "table", "json", "yaml", "csv" },
                 metavar = "FORMAT", help = "table (default), json, yaml or csv" }
local OUTPUT_LIST = { name = "output", short = "o", type = "enum", values = { "table", "json", "yaml" },
                      metavar = "FORMAT", help = "table (default), json or yaml" }

local function join_expr(ctx)
  local e = ctx.args.expr
  if type(e) == "table" then e = table.concat(e, " ") end
  if not e or e:match("^%s*$") then fail("an expression is needed, e.g. prom query 'up'") end
  return e
end

local function print_result(ctx, env, data, out)
  if out == "json" then ctx.out(encode_json(env, data))
  elseif out == "yaml" then ctx.out(encode_yaml(env, data))
  elseif out == "csv" then ctx.out(format.result_csv(data))
  else
    local t = format.result_table(data)
    if t == "" then ctx.err("prom: no data (the query matched no series)\n") end
    ctx.out(t)
  end
end

local function warn_warnings(ctx, c)
  local warnings = c.warnings
  if type(warnings) == "table" then
    for _, w in ipairs(warnings) do ctx.err("prom: warning from the server: " .. tostring(w) .. "\n") end
  end
end

-- failures the cache may answer for: no answer, or none usable (5xx, not JSON)
local function cacheable(kind, status)
  return kind == "network" or kind == "timeout" or kind == "protocol" or (kind == "http" and (status or 0) >= 500)
end

function M.query(env, ctx)
  local expr = join_expr(ctx)
  local c, s = new_client(env, ctx.flags)
  local now = env.now()
  local t = ctx.flags.time and M.parse_time(ctx.flags.time, now) or nil
  local data, err, kind, status = c:query(expr, { time = t, timeout = s.timeout })
  local cache = cache_mod.new(env)
  if data ~= nil then
    if not t then cache:put_result(s.url, expr, c.body) end
    warn_warnings(ctx, c)
    print_result(ctx, env, data, ctx.flags.output)
    return 0
  end
  if not t and cacheable(kind, status) then
    local cached, age, at = cache:get_result(s.url, expr)
    if cached ~= nil then
      ctx.err(("prom: %s; showing the answer cached %s ago (at %s UTC)\n"):format(err, format.age(age), format.time(at)))
      print_result(ctx, env, cached, ctx.flags.output)
      return 0
    end
    if kind == "network" then fail(err .. " (and no earlier answer to this query is cached)") end
  end
  fail(err)
end

function M.range(env, ctx)
  local expr = join_expr(ctx)
  local c, s = new_client(env, ctx.flags)
  local now = env.now()
  local f = ctx.flags
  local finish = f["end"] and M.parse_time(f["end"], now) or now
  local start
  if f.start then start = M.parse_time(f.start, now)
  else
    local since = f.since or format.parse_duration(s.defaultRange) or 3600
    start = finish - since
  end
  if start >= finish then fail("--start must be before --end") end
  local step = f.step or format.parse_duration(s.step)
  if not step or step <= 0 then step = math.max(1, math.ceil((finish - start) / 250)) end
  if (finish - start) / step > 11000 then
    fail(("%s steps of %gs is more than Prometheus allows (11000); use a larger --step"):format(
      math.floor((finish - start) / step), step))
  end
  local data, err = c:query_range(expr, { start = start, ["end"] = finish, step = step, timeout = s.timeout })
  if data == nil then fail(err) end
  warn_warnings(ctx, c)
  local out = f.output
  if not out then out = is_tty(ctx) and "chart" or "csv" end
  if out == "chart" then
    if data.resultType ~= "matrix" then fail("the result is a " .. tostring(data.resultType) .. ", not a range of series") end
    if #data.result == 0 then ctx.err("prom: no data (the query matched no series)\n"); return 0 end
    local w = f.width or width_of(ctx, env)
    ctx.out(chart().render(data.result, {
      width = w, height = f.height or 12, color = ctx.color and true or false,
      style = f.style or "braille", unit = f.unit or format.unit_of(expr),
      tmin = start, tmax = finish, step = step, decode = env.cjson and env.cjson.decode,
    }))
  else
    print_result(ctx, env, data, out)
  end
  return 0
end

-- matcher "name=value", "name!=value", "name=~re", "name!~re" (re: | alternatives, .* and . wildcards)
local function re_to_patterns(re)
  local pats = {}
  for alt in (re .. "|"):gmatch("([^|]*)|") do
    local p = alt:gsub("[%^%$%(%)%%%[%]%+%-%?]", "%%%0"):gsub("%.%*", "\1"):gsub("%.", "."):gsub("\1", ".*")
    pats[#pats + 1] = "^" .. p .. "$"
  end
  return pats
end

function M.matcher(s)
  -- the operator is the first of = != =~ !~ in the text (a two-character one wins at the same place)
  local name, op, val
  local a = s:find("[=!]")
  if a then
    local two = s:sub(a, a + 1)
    op = (two == "!=" or two == "=~" or two == "!~") and two or s:sub(a, a)
    if op == "!" then op = nil end
  end
  if op then
    name, val = s:sub(1, a - 1):match("^%s*([%w_]+)%s*$"), s:sub(a + #op):match("^%s*(.-)%s*$")
  end
  if not name then fail(("'%s' is not a matcher: use label=value, label!=value, label=~regex or label!~regex"):format(s)) end
  val = val:gsub('^"(.*)"$', "%1"):gsub("^'(.*)'$", "%1")
  local pats = op:find("~") and re_to_patterns(val) or nil
  return function(labels)
    local v = labels[name] or ""
    local hit
    if pats then
      hit = false
      for _, p in ipairs(pats) do if v:match(p) then hit = true; break end end
    else
      hit = v == val
    end
    if op:sub(1, 1) == "!" then return not hit end
    return hit
  end
end

local function since(env, rfc)
  local t = format.parse_rfc3339(rfc)
  if not t or t <= 0 then return "-" end
  return format.age(env.now() - t)
end

local function other_labels(labels, skip)
  local keys = {}
  for k in pairs(labels or {}) do if not skip[k] then keys[#keys + 1] = k end end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = k .. "=" .. tostring(labels[k]) end
  return table.concat(parts, ",")
end

function M.alerts(env, ctx)
  local c = new_client(env, ctx.flags)
  local data, err = c:alerts()
  if data == nil then fail(err) end
  local matchers = {}
  for _, m in ipairs(ctx.flags.label or {}) do matchers[#matchers + 1] = M.matcher(m) end
  local list = array(env)
  for _, a in ipairs(data.alerts or {}) do
    local ok = not ctx.flags.state or a.state == ctx.flags.state
    for _, m in ipairs(matchers) do if ok and not m(a.labels or {}) then ok = false end end
    if ok then list[#list + 1] = a end
  end
  table.sort(list, function(x, y)
    local ax, ay = (x.labels or {}).alertname or "", (y.labels or {}).alertname or ""
    if ax ~= ay then return ax < ay end
    return (x.activeAt or "") < (y.activeAt or "")
  end)
  emit(ctx, env, ctx.flags.output, list, function()
    if #list == 0 then return "" end
    local rows = {}
    for i, a in ipairs(list) do
      local l = a.labels or {}
      rows[i] = { l.alertname or "", a.state or "", l.severity or "", since(env, a.activeAt), tostring(a.value or ""),
                  other_labels(l, { alertname = true, severity = true }),
                  (a.annotations or {}).summary or (a.annotations or {}).description or "" }
    end
    return format.table({ "ALERTNAME", "STATE", "SEVERITY", "SINCE", "VALUE", "LABELS", "SUMMARY" }, rows)
  end)
  if #list == 0 and ctx.flags.output ~= "json" and ctx.flags.output ~= "yaml" then ctx.err("prom: no alerts\n") end
  return 0
end

function M.rules(env, ctx)
  local c = new_client(env, ctx.flags)
  local data, err = c:rules(ctx.flags.type)
  if data == nil then fail(err) end
  local groups = data.groups or {}
  emit(ctx, env, ctx.flags.output, groups, function()
    local rows = {}
    for _, g in ipairs(groups) do
      for _, r in ipairs(g.rules or {}) do
        rows[#rows + 1] = { g.name or "", r.name or "", r.type == "alerting" and "alert" or "record",
                            r.type == "alerting" and (r.state or "") or "-", r.health or "",
                            ((r.query or ""):gsub("%s+", " ")) }
      end
    end
    if #rows == 0 then return "" end
    return format.table({ "GROUP", "NAME", "TYPE", "STATE", "HEALTH", "EXPR" }, rows)
  end)
  return 0
end

function M.targets(env, ctx)
  local c = new_client(env, ctx.flags)
  local data, err = c:targets("active")
  if data == nil then fail(err) end
  local list = array(env)
  for _, t in ipairs(data.activeTargets or {}) do
    if not ctx.flags.state or t.health == ctx.flags.state then list[#list + 1] = t end
  end
  table.sort(list, function(a, b)
    local ja, jb = (a.labels or {}).job or a.scrapePool or "", (b.labels or {}).job or b.scrapePool or ""
    if ja ~= jb then return ja < jb end
    return ((a.labels or {}).instance or "") < ((b.labels or {}).instance or "")
  end)
  emit(ctx, env, ctx.flags.output, list, function()
    if #list == 0 then return "" end
    local rows = {}
    for i, t in ipairs(list) do
      local l = t.labels or {}
      rows[i] = { l.job or t.scrapePool or "", l.instance or "", t.health or "", since(env, t.lastScrape),
                  t.lastScrapeDuration and format.human(t.lastScrapeDuration, "s") or "", t.scrapeUrl or "",
                  t.lastError or "" }
    end
    return format.table({ "JOB", "INSTANCE", "HEALTH", "LAST SCRAPE", "DURATION", "URL", "ERROR" }, rows)
  end)
  return 0
end

function M.series(env, ctx)
  local c = new_client(env, ctx.flags)
  local match = ctx.args.match
  if type(match) == "string" then match = { match } end
  local now = env.now()
  local opts = {}
  if ctx.flags.since then opts.start, opts["end"] = now - ctx.flags.since, now end
  local data, err = c:series(match, opts)
  if data == nil then fail(err) end
  if ctx.flags.output == "csv" then
    local keys = format.label_names(data)
    local rows = {}
    for i, m in ipairs(data) do
      rows[i] = {}
      for j, k in ipairs(keys) do rows[i][j] = m[k] or "" end
    end
    ctx.out(format.csv(keys, rows))
    return 0
  end
  emit(ctx, env, ctx.flags.output, data, function()
    local lines = {}
    for i, m in ipairs(data) do lines[i] = format.series_name(m) end
    table.sort(lines)
    return #lines > 0 and (table.concat(lines, "\n") .. "\n") or ""
  end)
  return 0
end

function M.labels(env, ctx)
  local c = new_client(env, ctx.flags)
  local match = ctx.flags.match
  if match and #match == 0 then match = nil end
  local data, err
  if ctx.args.name then data, err = c:label_values(ctx.args.name, match)
  else data, err = c:labels(match) end
  if data == nil then fail(err) end
  emit(ctx, env, ctx.flags.output, data, function()
    return #data > 0 and (table.concat(data, "\n") .. "\n") or ""
  end)
  return 0
end

local function name_filter(pattern)
  if not pattern or pattern == "" then return function() return true end end
  if pattern:find("[%*%?]") then
    local p = "^" .. pattern:gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".") .. "$"
    return function(n) return n:match(p) ~= nil end
  end
  return function(n) return n:find(pattern, 1, true) ~= nil end
end

function M.metrics(env, ctx)
  local c = new_client(env, ctx.flags)
  local names, err = c:label_values("__name__")
  if names == nil then fail(err) end
  local md = c:metadata() or {}
  local keep = name_filter(ctx.args.pattern)
  local list = array(env)
  for _, n in ipairs(names) do
    if keep(n) then
      local m = type(md[n]) == "table" and md[n][1] or {}
      list[#list + 1] = { name = n, type = m.type or "", help = m.help or "", unit = m.unit or "" }
    end
  end
  emit(ctx, env, ctx.flags.output, list, function()
    if #list == 0 then return "" end
    local rows = {}
    for i, m in ipairs(list) do rows[i] = { m.name, m.type ~= "" and m.type or "-", m.help } end
    return format.table({ "NAME", "TYPE", "HELP" }, rows)
  end)
  if #list == 0 and ctx.flags.output ~= "json" and ctx.flags.output ~= "yaml" then
    ctx.err("prom: no metric names match\n")
  end
  return 0
end

-- -------------------------------------------------------------------- spec
function M.spec(env)
  local function h(fn) return function(ctx) return fn(env, ctx) end end
  local complete_expr = promql_completer(env)
  local function metric_names(prefix, ctx)
    local out = {}
    for _, n in ipairs(M.source(env, ctx).metric_names()) do
      if n:sub(1, #(prefix or "")) == (prefix or "") then out[#out + 1] = n end
    end
    return out
  end
  local function label_names(prefix, ctx)
    local out = {}
    for _, n in ipairs(M.source(env, ctx).label_names(nil)) do
      if n:sub(1, #(prefix or "")) == (prefix or "") then out[#out + 1] = n end
    end
    return out
  end
  return {
    name = "prom", aliases = { "prometheus" },
    summary = "Query Prometheus: instant and range queries (as charts), alerts, rules, targets",
    description = "The server: --url, else $VCLI_PROMETHEUS_URL, else the config's prometheus.url\n"
      .. "(per cluster context; bearer token, basic auth, TLS and timeout from the same section).\n"
      .. "See docs/prometheus.md.",
    flags = {
      { name = "url", type = "string", metavar = "URL", help = "Prometheus base URL (overrides the config)" },
      { name = "timeout", type = "duration", metavar = "DURATION", help = "request timeout (default prometheus.timeout)" },
    },
    subcommands = {
      {
        name = "query", aliases = { "q" }, summary = "Instant query: a table of series, or a scalar",
        usage = "prom query EXPR [--time T] [-o table|json|yaml|csv]",
        flags = { OUTPUT, { name = "time", type = "string", metavar = "TIME",
                            help = "evaluation time: RFC 3339, unix seconds, -5m (default now)" } },
        args = { { name = "expr", variadic = true, help = "PromQL expression (quote it)", complete = complete_expr } },
        examples = { { "prom query up", "every target's up, as a table" },
                     { "prom query 'sum by (job) (rate(http_requests_total[5m]))' -o csv" } },
        handler = h(M.query),
      },
      {
        name = "range", aliases = { "r" }, summary = "Range query drawn as a chart (or -o json|csv for scripts)",
        usage = "prom range EXPR [--since 1h | --start T --end T] [--step S] [-o chart|json|csv|table]",
        flags = {
          { name = "output", short = "o", type = "enum", metavar = "FORMAT",
            values = { "chart", "table", "json", "yaml", "csv" },
            help = "chart (default on a terminal), csv (default in a pipe), json, yaml, table" },
          { name = "since", short = "s", type = "duration", metavar = "DURATION",
            help = "how far back (default prometheus.defaultRange, 1h)" },
          { name = "start", type = "string", metavar = "TIME", help = "start: RFC 3339, unix seconds or -2h" },
          { name = "end", type = "string", metavar = "TIME", help = "end (default now)" },
          { name = "step", type = "duration", metavar = "DURATION", help = "resolution (default: range / 250)" },
          { name = "style", type = "enum", values = { "braille", "block" }, help = "chart drawing (default braille)" },
          { name = "height", type = "int", min = 3, help = "chart rows (default 12)" },
          { name = "width", type = "int", min = 30, help = "chart columns (default: the terminal's)" },
          { name = "unit", type = "string", help = "unit for the axis and legend (default: guessed from the metric name)" },
        },
        args = { { name = "expr", variadic = true, help = "PromQL expression", complete = complete_expr } },
        examples = { { "prom range 'rate(process_cpu_seconds_total[1m])' --since 30m" },
                     { "prom range up --since 2h -o csv > up.csv" } },
        handler = h(M.range),
      },
      {
        name = "alerts", summary = "Active alerts (firing and pending)",
        flags = { OUTPUT_LIST,
          { name = "state", type = "enum", values = { "firing", "pending" }, help = "only alerts in this state" },
          { name = "label", short = "l", type = "list", metavar = "MATCHER",
            help = "label matcher: severity=critical, job!=x, alertname=~A.*" } },
        examples = { { "prom alerts --state firing", "only the firing ones" },
                     { "prom alerts -l severity=critical -o json" } },
        handler = h(M.alerts),
      },
      {
        name = "rules", summary = "Recording and alerting rules",
        flags = { OUTPUT_LIST, { name = "type", type = "enum", values = { "alert", "record" }, help = "only this type" } },
        examples = { { "prom rules --type alert", "alerting rules, with their state" } },
        handler = h(M.rules),
      },
      {
        name = "targets", summary = "Scrape targets and their health",
        flags = { OUTPUT_LIST,
          { name = "state", type = "enum", values = { "up", "down", "unknown" }, help = "only targets with this health" } },
        examples = { { "prom targets --state down", "the targets that fail to scrape" } },
        handler = h(M.targets),
      },
      {
        name = "series", summary = "Series matching selectors",
        flags = { OUTPUT, { name = "since", type = "duration", metavar = "DURATION", help = "only series present in this window" } },
        args = { { name = "match", variadic = true, help = "series selector, e.g. 'up{job=\"node\"}'",
                   complete = complete_expr } },
        examples = { { "prom series 'up{job=\"node\"}'" }, { "prom series http_requests_total --since 1h" } },
        handler = h(M.series),
      },
      {
        name = "labels", summary = "Label names, or the values of one label",
        flags = { OUTPUT_LIST, { name = "match", type = "list", metavar = "SELECTOR", help = "only from series matching this" } },
        args = { { name = "name", optional = true, help = "label name", complete = label_names } },
        examples = { { "prom labels", "every label name" }, { "prom labels job", "the values of job" },
                     { "prom labels instance --match 'up{job=\"node\"}'" } },
        handler = h(M.labels),
      },
      {
        name = "metrics", summary = "Metric names with their type and help",
        flags = { OUTPUT_LIST },
        args = { { name = "pattern", optional = true, help = "substring, or a glob with * and ?", complete = metric_names } },
        examples = { { "prom metrics http", "names containing http" }, { "prom metrics 'node_*_bytes'" } },
        handler = h(M.metrics),
      },
    },
  }
end

return M
