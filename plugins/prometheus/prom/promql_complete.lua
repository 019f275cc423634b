-- prom.promql_complete — Tab completion inside a PromQL expression.
--
-- The shell hands a completer the whole (unquoted) word typed so far, e.g.
-- `rate(http_req`, `up{jo`, `up{job="pro`, `rate(x[5`. This module finds what
-- is being typed at its end and returns whole words (the text before the
-- token + a candidate), so the shell can replace the word:
--   metric names, function names and keywords · label names after `{`, `,`
--   and in `by (…)` · label values inside `label="…` · durations after `[`.
--
--   local pc = require("prom.promql_complete")
--   pc.complete(text, source) -> { {word=, desc=}, … }
-- source: { metric_names = fn() -> {names}, label_names = fn(metric|nil) -> {names},
--           label_values = fn(label, metric|nil) -> {values}, metadata = fn() -> {name = {type=, help=}} }
local M = {}

M.FUNCTIONS = {
  "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time",
  "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "day_of_month",
  "day_of_week", "day_of_year", "days_in_month", "deg", "delta", "deriv", "exp", "floor",
  "histogram_count", "histogram_fraction", "histogram_quantile", "histogram_sum", "holt_winters", "hour",
  "idelta", "increase", "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2",
  "max_over_time", "min_over_time", "minute", "month", "pi", "predict_linear", "present_over_time",
  "quantile_over_time", "rad", "rate", "resets", "round", "scalar", "sgn", "sin", "sinh", "sort",
  "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh", "time",
  "timestamp", "vector", "year",
}
M.AGGREGATIONS = { "avg", "bottomk", "count", "count_values", "group", "max", "min", "quantile", "stddev",
                   "stdvar", "sum", "topk" }
M.KEYWORDS = { "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
               "offset", "bool" }
M.DURATIONS = { "1m", "5m", "10m", "15m", "30m", "1h", "2h", "6h", "12h", "1d", "7d", "30s", "1m:10s", "5m:1m" }

local GROUPING = { by = true, without = true, on = true, ignoring = true, group_left = true, group_right = true }

-- Scan the text; returns the state at its end.
function M.context(text)
  local i, n = 1, #text
  local quote = nil          -- open string quote inside the expression
  local brace = nil          -- position of an unclosed '{'
  local bracket = nil        -- position of an unclosed '['
  local parens = {}          -- stack of positions of unclosed '('
  local str_start = nil
  while i <= n do
    local c = text:sub(i, i)
    if quote then
      if c == "\\" then i = i + 1
      elseif c == quote then quote = nil end
    elseif c == '"' or c == "'" or c == "`" then quote = c; str_start = i
    elseif c == "{" then brace = i
    elseif c == "}" then brace = nil
    elseif c == "[" then bracket = i
    elseif c == "]" then bracket = nil
    elseif c == "(" then parens[#parens + 1] = i
    elseif c == ")" then parens[#parens] = nil
    elseif c == "#" then
      local j = text:find("\n", i, true)
      if not j then return { kind = "comment" } end
      i = j
    end
    i = i + 1
  end
  if quote then
    if brace then
      -- label="val…  : which label? which metric?
      local before = text:sub(brace + 1, str_start - 1)
      local label = before:match("([%a_][%w_]*)%s*[=!]~?%s*$")
      local metric = text:sub(1, brace - 1):match("([%a_:][%w_:]*)%s*$")
      return { kind = "label_value", label = label, metric = metric, quote = quote,
               prefix = text:sub(1, str_start), token = text:sub(str_start + 1) }
    end
    return { kind = "string" }
  end
  if bracket then
    return { kind = "duration", prefix = text:sub(1, bracket), token = text:sub(bracket + 1) }
  end
  local token = text:match("[%a_:][%w_:]*$") or ""
  local prefix = text:sub(1, #text - #token)
  if brace then
    local metric = text:sub(1, brace - 1):match("([%a_:][%w_:]*)%s*$")
    local inner = text:sub(brace + 1)
    -- label= (no quote yet): offer quoted values
    local label, op = inner:match("([%a_][%w_]*)%s*([=!]~?)%s*$")
    if label and token == "" then
      return { kind = "label_value", label = label, metric = metric, quote = '"', prefix = text, token = "",
               open = true, op = op }
    end
    return { kind = "label_name", metric = metric, prefix = prefix, token = token }
  end
  local p = parens[#parens]
  if p then
    local word = text:sub(1, p - 1):match("([%a_]+)%s*$")
    if word and GROUPING[word] then
      return { kind = "label_name", prefix = prefix, token = token, grouping = true }
    end
  end
  return { kind = "name", prefix = prefix, token = token }
end

local function starts(s, p) return s:sub(1, #p) == p end

local LIMIT = 500

function M.complete(text, source)
  local ctx = M.context(text or "")
  local out = {}
  local function add(word, desc)
    if #out < LIMIT then out[#out + 1] = { word = word, desc = desc } end
  end
  local function call(fn, ...)
    if type(fn) ~= "function" then return {} end
    local ok, res = pcall(fn, ...)
    return ok and type(res) == "table" and res or {}
  end
  if ctx.kind == "duration" then
    for _, d in ipairs(M.DURATIONS) do
      if starts(d, ctx.token) then add(ctx.prefix .. d .. "]", "range") end
    end
  elseif ctx.kind == "label_name" then
    local names = call(source and source.label_names, ctx.metric)
    for _, l in ipairs(names) do
      if l ~= "__name__" and starts(l, ctx.token) then add(ctx.prefix .. l, "label") end
    end
  elseif ctx.kind == "label_value" then
    if ctx.label then
      local vals = call(source and source.label_values, ctx.label, ctx.metric)
      for _, v in ipairs(vals) do
        local esc = tostring(v):gsub("\\", "\\\\"):gsub(ctx.quote, "\\" .. ctx.quote)
        if ctx.open then add(ctx.prefix .. ctx.quote .. esc .. ctx.quote, ctx.label)
        elseif starts(esc, ctx.token) then add(ctx.prefix .. esc .. ctx.quote, ctx.label) end
      end
    end
  elseif ctx.kind == "name" then
    local tok = ctx.token
    for _, f in ipairs(M.FUNCTIONS) do if starts(f, tok) then add(ctx.prefix .. f .. "(", "function") end end
    for _, f in ipairs(M.AGGREGATIONS) do if starts(f, tok) then add(ctx.prefix .. f .. "(", "aggregation") end end
    if ctx.prefix:match("[%w_%)%]}\"]%s+$") then
      for _, k in ipairs(M.KEYWORDS) do if starts(k, tok) then add(ctx.prefix .. k, "keyword") end end
    end
    local meta = (tok ~= "" or true) and call(source and source.metadata) or {}
    for _, m in ipairs(call(source and source.metric_names)) do
      if starts(m, tok) then
        local md = meta[m]
        add(ctx.prefix .. m, md and md.type or "metric")
      end
    end
  end
  return out
end

return M
