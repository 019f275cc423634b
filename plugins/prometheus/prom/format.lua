-- prom.format — query results and API lists as tables and CSV; numbers
-- with units; times and ages. Pure functions over data.
local M = {}

-- ------------------------------------------------------------------ numbers
local SI = { { 1e18, "E" }, { 1e15, "P" }, { 1e12, "T" }, { 1e9, "G" }, { 1e6, "M" }, { 1e3, "k" },
             { 1, "" }, { 1e-3, "m" }, { 1e-6, "µ" }, { 1e-9, "n" } }
local IEC = { { 1024 ^ 6, "Ei" }, { 1024 ^ 5, "Pi" }, { 1024 ^ 4, "Ti" }, { 1024 ^ 3, "Gi" }, { 1024 ^ 2, "Mi" },
              { 1024, "Ki" }, { 1, "" } }

local function trim_num(s)
  if s:find("%.") then s = s:gsub("0+$", ""):gsub("%.$", "") end
  return s
end

-- A number as at most ~4 significant digits with an SI (or, for bytes, IEC)
-- prefix and the unit: 0.25 s → "250ms", 1536 B → "1.5KiB", 12000 → "12k".
function M.human(v, unit)
  unit = unit or ""
  if v ~= v then return "NaN" end
  if v == math.huge then return "+Inf" end
  if v == -math.huge then return "-Inf" end
  if v == 0 then return "0" .. unit end
  local a = math.abs(v)
  local table_ = (unit == "B" or unit == "B/s") and IEC or SI
  local scale, prefix = 1, ""
  for _, p in ipairs(table_) do
    if a >= p[1] * 0.9995 then scale, prefix = p[1], p[2]; break end
    scale, prefix = p[1], p[2]
  end
  -- milli/micro prefixes read well for seconds (250ms), not for counts or
  -- rates (0.017/s, not 17m/s)
  if a < 1 and unit:sub(1, 1) ~= "s" then
    return trim_num(("%.3g"):format(v)):gsub("e%-0*", "e-") .. unit
  end
  if unit == "%" and a < 1e3 then scale, prefix = 1, "" end
  local x = v / scale
  local ax = math.abs(x)
  local s
  if ax >= 100 then s = ("%.0f"):format(x)
  elseif ax >= 10 then s = trim_num(("%.1f"):format(x))
  else s = trim_num(("%.2f"):format(x)) end
  return s .. prefix .. unit
end

-- Guess a unit from the expression: metric-name suffixes and rate().
function M.unit_of(expr)
  if type(expr) ~= "string" then return "" end
  local name
  for id in expr:gmatch("[%a_:][%w_:]*") do
    if id:find("_") and not id:find(":") then name = id end
    if id:match("_seconds") or id:match("_bytes") or id:match("_ratio") or id:match("_percent") then name = id; break end
  end
  local unit = ""
  if name then
    if name:match("_seconds") then unit = "s"
    elseif name:match("_bytes") then unit = "B"
    elseif name:match("_percent") then unit = "%" end
  end
  if expr:match("^%s*i?rate%s*%(") or expr:match("[^%w_]i?rate%s*%(") then
    if name and name:match("_seconds_total") then unit = "s/s"
    elseif unit == "B" then unit = "B/s"
    elseif unit == "" then unit = "/s" end
  end
  if expr:match("histogram_quantile") and unit == "s/s" then unit = "s" end
  return unit
end

-- ------------------------------------------------------------------- times
-- Unix seconds → "2026-11-22 07:17:07" (UTC, with milliseconds when present).
-- The rows of one answer mostly share their time: the last one is kept.
local last_t, last_s
function M.time(t)
  t = tonumber(t)
  if not t then return "" end
  if t == last_t then return last_s end
  local s = os.date("!%Y-%m-%d %H:%M:%S", math.floor(t))
  local ms = math.floor((t - math.floor(t)) * 1000 + 0.5)
  if ms > 0 and ms < 1000 then s = s .. (".%03d"):format(ms) end
  last_t, last_s = t, s
  return s
end

-- RFC 3339 → unix seconds (UTC).
function M.parse_rfc3339(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, frac, tz = s:match("^(%d+)-(%d+)-(%d+)[T ](%d+):(%d+):(%d+)(%.?%d*)(.*)$")
  if not y then return nil end
  -- days from civil (Howard Hinnant's algorithm): no os.time timezone games
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (mo + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  local t = days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec) + (tonumber("0" .. frac) or 0)
  local sign, oh, om = tz:match("^([+-])(%d+):(%d+)$")
  if sign then
    local off = tonumber(oh) * 3600 + tonumber(om) * 60
    t = sign == "+" and t - off or t + off
  end
  return t
end

-- seconds → "5s", "3m", "2h5m", "4d"
function M.age(secs)
  secs = math.max(0, math.floor(secs + 0.5))
  if secs < 60 then return secs .. "s" end
  if secs < 3600 then return math.floor(secs / 60) .. "m" .. (secs % 60 > 0 and secs < 600 and (secs % 60 .. "s") or "") end
  if secs < 86400 then
    local m = math.floor(secs % 3600 / 60)
    return math.floor(secs / 3600) .. "h" .. (m > 0 and (m .. "m") or "")
  end
  return math.floor(secs / 86400) .. "d" .. (secs % 86400 >= 3600 and (math.floor(secs % 86400 / 3600) .. "h") or "")
end

-- "30s", "5m", "1h30m", "2d", "1w", "250ms" → seconds (PromQL durations)
function M.parse_duration(s)
  if type(s) == "number" then return s end
  if type(s) ~= "string" or s == "" then return nil end
  if tonumber(s) then return tonumber(s) end
  local units = { ms = 0.001, s = 1, m = 60, h = 3600, d = 86400, w = 604800, y = 31536000 }
  local total, rest = 0, s
  while rest ~= "" do
    local num, unit, tail = rest:match("^(%d+%.?%d*)(%a+)(.*)$")
    if not num or not units[unit] then return nil end
    total = total + tonumber(num) * units[unit]
    rest = tail
  end
  return total
end

-- --------------------------------------------------------------- labels
function M.series_name(metric, skip)
  local name = (skip and skip.__name__) and "" or (metric.__name__ or "")
  local keys = {}
  for k in pairs(metric) do if k ~= "__name__" and not (skip and skip[k]) then keys[#keys + 1] = k end end
  table.sort(keys)
  if #keys == 0 then return name ~= "" and name or "{}" end
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = ('%s="%s"'):format(k, tostring(metric[k]):gsub('[\\"]', "\\%0"):gsub("\n", "\\n")) end
  return name .. "{" .. table.concat(parts, ", ") .. "}"
end

-- Label names over a list of metrics (sorted, __name__ first when present).
function M.label_names(metrics)
  local seen, keys, has_name = {}, {}, false
  for _, m in ipairs(metrics) do
    for k in pairs(m) do
      if k == "__name__" then has_name = true
      elseif not seen[k] then seen[k] = true; keys[#keys + 1] = k end
    end
  end
  table.sort(keys)
  if has_name then table.insert(keys, 1, "__name__") end
  return keys
end

-- ---------------------------------------------------------------- tables
-- Plugins run without the JIT: the loops below are what a 10 000-row answer
-- costs, so they lean on string functions written in C.
local find, gsub, rep, concat = string.find, string.gsub, string.rep, table.concat

-- display width: one column per UTF-8 lead byte
local function width(s)
  if not find(s, "[\128-\255]") then return #s end
  local _, n = gsub(s, "[^\128-\191]", "")
  return n
end
M.width = width

local pads = {}
local function pad(n)
  local p = pads[n]
  if not p then p = rep(" ", n); pads[n] = p end
  return p
end

-- Whether s has bytes that are not a column each (UTF-8 continuation
-- bytes): 64 plain searches, each a memchr in C, are ~10× faster on a large
-- text than one search for the class [\128-\191] in the interpreter.
local CONT = {}
for b = 0x80, 0xBF do CONT[#CONT + 1] = string.char(b) end
local function multibyte(s)
  if #s < 256 then return find(s, "[\128-\191]") ~= nil end
  for i = 1, #CONT do if find(s, CONT[i], 1, true) then return true end end
  return false
end
M.multibyte = multibyte

local sformat, byte, unpack_ = string.format, string.byte, unpack
local function trim(l)
  local b = byte(l, -1)
  if b == 32 or (b and b >= 9 and b <= 13) then l = gsub(l, "%s+$", "") end
  return l
end

-- rows: list of lists of strings; header: list. Columns separated by 3 spaces
-- (kubectl style); the last column is not padded, no line ends in spaces.
function M.table(header, rows)
  local ncol, nrow = #header, #rows
  local w = {}
  for i = 1, ncol do w[i] = #header[i] end
  for r = 1, nrow do
    local row = rows[r]
    for i = 1, ncol do
      local c = row[i]
      if c == nil then c = ""; row[i] = c elseif type(c) ~= "string" then c = tostring(c); row[i] = c end
      local n = #c
      if n > w[i] then w[i] = n end
    end
  end
  local out = {}
  local narrow = true
  for i = 1, ncol - 1 do if w[i] > 99 then narrow = false end end
  if narrow then
    -- one byte a column (ASCII, the common case): string.format pads the
    -- cells (its widths stop at 99); the result is checked afterwards
    local f = {}
    for i = 1, ncol - 1 do f[i] = "%-" .. w[i] .. "s   " end
    f[ncol] = "%s"
    local fmt = concat(f)
    out[1] = trim(sformat(fmt, unpack_(header, 1, ncol)))
    for r = 1, nrow do out[r + 1] = trim(sformat(fmt, unpack_(rows[r], 1, ncol))) end
    out[nrow + 2] = ""
    local text = concat(out, "\n")
    if not multibyte(text) then return text end
  end
  -- display widths: a UTF-8 character is one column
  for i = 1, ncol do w[i] = 0 end
  for r = 0, nrow do
    local row = r == 0 and header or rows[r]
    for i = 1, ncol do
      local n = width(row[i])
      if n > w[i] then w[i] = n end
    end
  end
  local parts = {}
  for r = 0, nrow do
    local row = r == 0 and header or rows[r]
    for i = 1, ncol - 1 do
      local c = row[i]
      parts[2 * i - 1] = c
      parts[2 * i] = pad(w[i] - width(c) + 3)
    end
    parts[2 * ncol - 1] = row[ncol]
    out[r + 1] = trim(concat(parts, "", 1, 2 * ncol - 1))
  end
  out[nrow + 2] = ""
  return concat(out, "\n")
end

-- RFC 4180 CSV.
local function csv_cell(v)
  v = v == nil and "" or tostring(v)
  if v:find('[,"\r\n]') then return '"' .. v:gsub('"', '""') .. '"' end
  return v
end
function M.csv(header, rows)
  local out = {}
  local function line(r)
    local parts = {}
    for i = 1, #header do parts[i] = csv_cell(r[i]) end
    out[#out + 1] = table.concat(parts, ",")
  end
  line(header)
  for _, r in ipairs(rows) do line(r) end
  return table.concat(out, "\n") .. "\n"
end

-- ------------------------------------------------------------ query results
local function header_of(keys)
  local h = {}
  for i, k in ipairs(keys) do h[i] = k == "__name__" and "NAME" or k:upper() end
  return h
end

-- Rows for a vector or matrix (one row per sample).
-- raw=true keeps unix timestamps (CSV), otherwise formatted times.
function M.result_rows(data, raw)
  local t = data.resultType
  local res = data.result
  if t == "scalar" or t == "string" then
    return { "value", "timestamp" }, { { tostring(res[2]), raw and tostring(res[1]) or M.time(res[1]) } }, {}
  end
  local metrics = {}
  for i = 1, #res do metrics[i] = res[i].metric or {} end
  local keys = M.label_names(metrics)
  local nk = #keys
  local rows, n = {}, 0
  local time = M.time
  local function add(m, v)
    local r = {}
    for i = 1, nk do r[i] = m[keys[i]] or "" end
    r[nk + 1] = tostring(v[2])
    r[nk + 2] = raw and tostring(v[1]) or time(v[1])
    n = n + 1
    rows[n] = r
  end
  for j = 1, #res do
    local s = res[j]
    local m = metrics[j]
    if s.value then add(m, s.value) end
    local vs = s.values
    if vs then for i = 1, #vs do add(m, vs[i]) end end
    if s.histogram then add(m, { s.histogram[1], "histogram" }) end
  end
  local header = {}
  for i, k in ipairs(keys) do header[i] = k end
  header[#keys + 1] = "value"
  header[#keys + 2] = "timestamp"
  return header, rows, keys
end

-- The instant-query result for a person: a table; scalars and strings plainly.
function M.result_table(data)
  local t = data.resultType
  if t == "scalar" or t == "string" then return tostring(data.result[2]) .. "\n" end
  if #data.result == 0 then return "" end
  local _, rows, keys = M.result_rows(data, false)
  local header = header_of(keys)
  header[#header + 1] = "VALUE"
  header[#header + 1] = "TIME"
  return M.table(header, rows)
end

function M.result_csv(data)
  local header, rows = M.result_rows(data, true)
  return M.csv(header, rows)
end

return M
