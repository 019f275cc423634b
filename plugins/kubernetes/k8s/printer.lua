-- k8s.printer — kubectl's output formats: server-side Table columns aligned
-- like Go's tabwriter (min width 6, padding 3), and JSON indented with sorted
-- keys as kubectl's -o json prints it.
local util = require("k8s.util")

local M = {}

local function cell_text(v, null)
  if v == nil or v == null then return "<none>" end
  local t = type(v)
  if t == "number" then
    if v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then return ("%d"):format(v) end
    return tostring(v)
  elseif t == "boolean" then return tostring(v)
  elseif t == "table" then return "<table>" end
  return v
end
M.cell_text = cell_text

-- A table printer fed Table chunks; column widths come from the first chunk
-- (grown when a later row is wider), so rows print as they arrive.
local TP = {}
TP.__index = TP

-- opts: { out = fn(s), wide, no_headers, namespace = bool (NAMESPACE column), null, name_prefix,
--         keep_case (headers as given: custom-columns) }
function M.table_printer(opts)
  return setmetatable({ opts = opts, widths = nil, cols = nil, rows_printed = 0 }, TP)
end

-- Turn a Table's rows into lists of strings (the columns kubectl shows).
function TP:rows_of(tbl)
  local o = self.opts
  if not self.cols then
    local cols, headers = {}, {}
    if o.namespace then headers[#headers + 1] = "NAMESPACE" end
    for i, cd in ipairs(tbl.columnDefinitions or {}) do
      if (cd.priority or 0) == 0 or o.wide then
        cols[#cols + 1] = i
        headers[#headers + 1] = o.keep_case and cd.name or cd.name:upper()
      end
    end
    self.cols, self.headers = cols, headers
  end
  local out = {}
  for _, row in ipairs(type(tbl.rows) == "table" and tbl.rows or {}) do
    local r = {}
    if o.namespace then
      local md = type(row.object) == "table" and row.object.metadata
      r[1] = md and md.namespace or tbl.namespace or ""
    end
    local cells = row.cells
    for _, i in ipairs(self.cols) do r[#r + 1] = cell_text(cells[i], o.null) end
    if o.name_prefix then
      local k = o.namespace and 2 or 1
      r[k] = o.name_prefix .. r[k]
    end
    out[#out + 1] = r
  end
  return out
end

-- padding strings by length (the plugin state runs without the JIT: no
-- per-cell string.rep)
local PAD = setmetatable({}, { __index = function(t, n)
  local s = (" "):rep(n)
  t[n] = s
  return s
end })

-- one line per row, cells padded to widths, into buf from index k
local function fmt_rows(rows, widths, buf, k)
  local parts, pad = {}, PAD
  for _, r in ipairs(rows) do
    local n = #r
    for i = 1, n - 1 do
      local s = r[i]
      parts[2 * i - 1] = s
      parts[2 * i] = pad[widths[i] - #s]
    end
    parts[2 * n - 1] = r[n]
    k = k + 1
    buf[k] = table.concat(parts, "", 1, 2 * n - 1)
  end
  return k
end

local function fmt_line(r, widths)
  local buf = {}
  fmt_rows({ r }, widths, buf, 0)
  return buf[1]
end

-- Print rows (lists of strings); the header goes before the first batch.
-- With opts.buffer, rows wait for flush(): the widths are then those of
-- every row, exactly as kubectl (which reads the whole list first) prints.
function TP:print_rows(rows)
  local o = self.opts
  if #rows == 0 then return end
  if o.buffer then
    local p = self.pending or {}
    self.pending = p
    for _, r in ipairs(rows) do p[#p + 1] = r end
    return
  end
  if not self.widths then
    local w = {}
    local function measure(r) for i = 1, #r do local l = #r[i] + 3; if l > (w[i] or 6) then w[i] = l end end end
    if not o.no_headers then measure(self.headers) end
    for i = 1, #self.headers do w[i] = w[i] or 6 end
    for _, r in ipairs(rows) do measure(r) end
    self.widths = w
    if not o.no_headers then o.out(fmt_line(self.headers, w) .. "\n") end
  else
    local w = self.widths
    for _, r in ipairs(rows) do for i = 1, #r do local l = #r[i] + 3; if l > w[i] then w[i] = l end end end
  end
  local buf = {}
  local n = fmt_rows(rows, self.widths, buf, 0)
  -- out in pieces of 2 000 lines: a list's rows may be held whole (buffer)
  for i = 1, n, 2000 do
    o.out(table.concat(buf, "\n", i, math.min(i + 1999, n)) .. "\n")
  end
  self.rows_printed = self.rows_printed + #rows
end

-- Print what opts.buffer held back; later rows print as they come.
function TP:flush()
  local o = self.opts
  if not o.buffer then return end
  o.buffer = false
  local p = self.pending
  self.pending = nil
  if p then self:print_rows(p) end
end

function TP:feed(tbl) self:print_rows(self:rows_of(tbl)) end

-- the header alone, when no row came (a list that still shows its columns)
function TP:header()
  if self.widths or self.opts.no_headers or not self.headers then return end
  local w = {}
  for i, h in ipairs(self.headers) do w[i] = math.max(#h + 3, 6) end
  self.widths = w
  self.opts.out(fmt_line(self.headers, w) .. "\n")
end

-- ------------------------------------------------------------ -o json
-- Go's encoding/json MarshalIndent(v, "", "    ") with sorted keys, as
-- kubectl prints: vcli.jsonfmt, in C (the plugin runs without the JIT).
-- enc(v [, indent]) -> text; indent: where a nested value starts
function M.json_encoder(jsonfmt, array_mt)
  local encode = jsonfmt.encode
  return function(v, indent)
    return assert(encode(v, indent or "", array_mt))
  end
end

function M.age(ts, now)
  local t = util.parse_time(ts)
  if not t then return "<unknown>" end
  return util.human_duration(now - t)
end

return M
