-- prom.chart — a range-query result drawn in the terminal: Unicode
-- braille (2×4 dots per cell) or half blocks (1×2), several series in
-- distinct colours, y-axis labels with units, time labels, and a legend with
-- min / max / last per series. Colours only when asked (opts.color): a chart
-- for a pipe or a file carries no escape codes.
--
--   chart.render(matrix_result, { width = 80, height = 12, color = true,
--                                 style = "braille" | "block", unit = "s", decode = json.decode }) -> text
local format = require("prom.format")

local M = {}
local floor, huge, byte_char = math.floor, math.huge, string.char
local bor = bit.bor

M.PALETTE = { "\27[32m", "\27[33m", "\27[34m", "\27[35m", "\27[36m", "\27[31m",
              "\27[92m", "\27[93m", "\27[94m", "\27[95m", "\27[96m", "\27[91m" }
M.RESET = "\27[0m"

-- braille: dot (col, row) in a cell → bit
local BRAILLE_BITS = { [0] = { [0] = 0x01, 0x08 }, { [0] = 0x02, 0x10 }, { [0] = 0x04, 0x20 }, { [0] = 0x40, 0x80 } }
local BRAILLE = {}
for b = 0, 255 do
  local cp = 0x2800 + b
  BRAILLE[b] = byte_char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
end
BRAILLE[0] = " "
local BLOCK_BITS = { [0] = { [0] = 1 }, { [0] = 2 } }
local BLOCK = { [0] = " ", "▀", "▄", "█" }

local STYLES = {
  braille = { cw = 2, ch = 4, bits = BRAILLE_BITS, glyph = BRAILLE },
  block = { cw = 1, ch = 2, bits = BLOCK_BITS, glyph = BLOCK },
}

local function dwidth(s)
  local n = 0
  for i = 1, #s do
    local b = s:byte(i)
    if b < 0x80 or b >= 0xC0 then n = n + 1 end
  end
  return n
end

local function truncate(s, w)
  if dwidth(s) <= w then return s end
  local out, n = {}, 0
  for ch in s:gmatch("[%z\1-\127\194-\244][\128-\191]*") do
    if n >= w - 1 then break end
    out[#out + 1] = ch
    n = n + 1
  end
  return table.concat(out) .. "…"
end

-- Legend names: metric{labels}, without the labels every series shares.
function M.names(result)
  local n = #result
  local common = {}
  if n > 1 then
    for k, v in pairs(result[1].metric or {}) do common[k] = v end
    for i = 2, n do
      local m = result[i].metric or {}
      for k, v in pairs(common) do if m[k] ~= v then common[k] = nil end end
    end
    for i = 1, n do
      for k in pairs(result[i].metric or {}) do if common[k] == nil then common[k] = false end end
    end
  end
  local skip = {}
  for k, v in pairs(common) do if v then skip[k] = true end end
  -- keep the metric name when it is all that would be left
  if skip.__name__ then
    local varying = false
    for _, v in pairs(common) do if v == false then varying = true end end
    if not varying then skip.__name__ = nil end
  end
  local names = {}
  for i, s in ipairs(result) do names[i] = format.series_name(s.metric or {}, skip) end
  return names
end

-- Labels name distinct times: seconds appear when labels are less than a
-- minute apart, dates when the span crosses days.
local function time_fmt(span, interval)
  if span < 180 or interval < 60 then return "!%H:%M:%S" end
  if span < 2 * 86400 then return "!%H:%M" end
  return "!%m-%d %H:%M"
end

-- The values of a series as numbers, all at once: Prometheus sends them as
-- strings, and tonumber on a long decimal ("0.06666666666666667") costs
-- ~1 µs in the interpreter, where the C JSON decoder reads the same list in a
-- fraction of that. NaN and ±Inf are not JSON: a series with them (or
-- anything else that is not a number) is read value by value (nil here).
local concat, sfind = table.concat, string.find
local function numbers(vals, decode)
  local strs = {}
  for j = 1, #vals do strs[j] = vals[j][2] end
  local ok, text = pcall(concat, strs, ",")   -- fails on anything but strings and numbers
  if not ok or sfind(text, "N", 1, true) or sfind(text, "I", 1, true) then return nil end
  text = "[" .. text .. "]"
  local nums
  ok, nums = pcall(decode, text)
  if ok and type(nums) == "table" and #nums == #vals then return nums end
  return nil
end

-- result: a matrix result ({{metric=, values={{t, "v"}, …}}, …}).
-- opts.decode: a JSON decoder (text -> value), for reading the values
function M.render(result, opts)
  opts = opts or {}
  local st = STYLES[opts.style or "braille"] or STYLES.braille
  local cw, ch, BITS, GLYPH = st.cw, st.ch, st.bits, st.glyph
  local total_w = math.max(opts.width or 80, 30)
  local H = math.max(opts.height or 12, 3)
  local unit = opts.unit or ""
  local color = opts.color
  local pal = opts.palette or M.PALETTE

  -- pass 1: numbers, ranges, per-series stats
  local tmin, tmax, vmin, vmax = huge, -huge, huge, -huge
  local series = {}
  local mindt = huge
  for i, s in ipairs(result) do
    local vals = s.values or {}
    local ts, vs = {}, {}
    local smin, smax, last = huge, -huge, nil
    local n = 0
    local prev_t
    local nums = opts.decode and numbers(vals, opts.decode)
    for j = 1, #vals do
      local p = vals[j]
      local t, v = tonumber(p[1]), nums and nums[j] or tonumber(p[2])
      if t and v then
        n = n + 1
        ts[n], vs[n] = t, v
        if t < tmin then tmin = t end
        if t > tmax then tmax = t end
        if v == v and v > -huge and v < huge then
          if v < smin then smin = v end
          if v > smax then smax = v end
        end
        last = v
        if prev_t and t - prev_t > 0 and t - prev_t < mindt then mindt = t - prev_t end
        prev_t = t
      end
    end
    if smin < vmin then vmin = smin end
    if smax > vmax then vmax = smax end
    series[i] = { ts = ts, vs = vs, n = n, min = smin, max = smax, last = last }
  end
  if opts.tmin then tmin = opts.tmin end
  if opts.tmax then tmax = opts.tmax end
  if vmin == huge then vmin, vmax = 0, 1 end
  if vmin == vmax then
    local d = math.abs(vmin) * 0.1
    if d == 0 then d = 1 end
    vmin, vmax = vmin - d, vmax + d
  end
  if tmin == huge then tmin, tmax = 0, 1 end
  if tmax == tmin then tmax = tmin + 1 end
  local gap = mindt < huge and mindt * 1.5 or huge
  if opts.step then gap = opts.step * 1.5 end

  -- y labels
  local labels = {}
  local label_w = 1
  local DH = H * ch
  for r = 0, H - 1 do
    if r % 4 == 0 or r == H - 1 then
      local y = r == H - 1 and DH - 1 or r * ch
      local v = vmin + (DH - 1 - y) / (DH - 1) * (vmax - vmin)
      local l = format.human(v, unit)
      labels[r] = l
      if dwidth(l) > label_w then label_w = dwidth(l) end
    end
  end
  local W = total_w - label_w - 2
  if W < 10 then W = 10 end
  local DW = W * cw

  -- pass 2: plot
  local bits, owner = {}, {}
  for c = 1, W * H do bits[c] = 0 end
  local tscale = (DW - 1) / (tmax - tmin)
  local vscale = (DH - 1) / (vmax - vmin)
  -- the dots of column x from y1 to y2 (either order), for series si
  local function vline(x, y1, y2, si)
    if x < 0 or x >= DW then return end
    if y1 > y2 then y1, y2 = y2, y1 end
    if y1 < 0 then y1 = 0 end
    if y2 > DH - 1 then y2 = DH - 1 end
    local col, bx = floor(x / cw) + 1, x % cw
    for y = y1, y2 do
      local cell = floor(y / ch) * W + col
      bits[cell] = bor(bits[cell], BITS[y % ch][bx])
      owner[cell] = si
    end
  end
  -- Points that fall in the same dot column are joined by vertical lines,
  -- which together cover that column from its lowest to its highest point:
  -- one line per column (gx: the column, [gmin, gmax] its extent so far),
  -- drawn when the series moves on (a thousand points over a hundred columns).
  for si, s in ipairs(series) do
    local ts, vs = s.ts, s.vs
    local px, py, pt        -- the previous point drawn (nil after a gap)
    local gx, gmin, gmax
    for j = 1, s.n do
      local v = vs[j]
      if v == v and v > -huge and v < huge then
        local t = ts[j]
        local x = floor((t - tmin) * tscale + 0.5)
        local y = DH - 1 - floor((v - vmin) * vscale + 0.5)
        if px and t - pt <= gap then
          if x == px then
            if y < gmin then gmin = y end
            if y > gmax then gmax = y end
          else
            vline(gx, gmin, gmax, si)
            local dx = x - px
            local prev_y = py
            for xi = px + 1, x do
              local yi = floor(py + (y - py) * (xi - px) / dx + 0.5)
              -- join the previous column's height to this one's
              local mid = floor((prev_y + yi) / 2)
              vline(xi - 1, prev_y, mid, si)
              if xi < x then vline(xi, mid, yi, si) else gx, gmin, gmax = x, math.min(mid, yi), math.max(mid, yi) end
              prev_y = yi
            end
          end
        else
          if gx then vline(gx, gmin, gmax, si) end
          gx, gmin, gmax = x, y, y
        end
        px, py, pt = x, y, t
      else
        px = nil
      end
    end
    if gx then vline(gx, gmin, gmax, si) end
  end

  -- compose
  local out = {}
  local pad = (" "):rep(label_w)
  for r = 0, H - 1 do
    local l = labels[r]
    local parts = { l and ((" "):rep(label_w - dwidth(l)) .. l .. " ┤") or (pad .. " │") }
    local cur = nil
    local base = r * W
    local lastc = W
    while lastc > 0 and bits[base + lastc] == 0 do lastc = lastc - 1 end
    for c = 1, lastc do
      local b = bits[base + c]
      if color then
        local o = b ~= 0 and owner[base + c] or nil
        if o ~= cur and b ~= 0 then
          parts[#parts + 1] = pal[(o - 1) % #pal + 1]
          cur = o
        end
      end
      parts[#parts + 1] = GLYPH[b]
    end
    if color and cur then parts[#parts + 1] = M.RESET end
    out[#out + 1] = (table.concat(parts):gsub(" +$", ""))
  end
  out[#out + 1] = pad .. " └" .. ("─"):rep(W)
  -- time labels: one every ~16 columns, not overlapping
  local every = 16
  local fmt = time_fmt(tmax - tmin, (tmax - tmin) * every / W)
  local lw = #os.date(fmt, floor(tmin))
  every = math.max(lw + 4, every)
  local line = {}
  local pos = 0 -- columns used in line (after the axis prefix)
  local c = 0
  while c + lw <= W do
    local t = tmin + (c * cw) / tscale
    local s = os.date(fmt, floor(t + 0.5))
    if c >= pos then
      line[#line + 1] = (" "):rep(c - pos) .. s
      pos = c + #s
    end
    c = c + every
  end
  out[#out + 1] = pad .. "  " .. table.concat(line)

  -- legend
  if opts.legend ~= false and #series > 0 then
    local names = opts.names or M.names(result)
    local rows = {}
    local nw = 0
    local function h(v) return v and v > -huge and v < huge and format.human(v, unit) or (v and format.human(v) or "-") end
    local w2, w3, w4 = 3, 3, 4
    for i, s in ipairs(series) do
      rows[i] = { names[i] or ("series " .. i), h(s.min < huge and s.min or nil), h(s.max > -huge and s.max or nil), h(s.last) }
      local r = rows[i]
      w2, w3, w4 = math.max(w2, dwidth(r[2])), math.max(w3, dwidth(r[3])), math.max(w4, dwidth(r[4]))
    end
    local maxname = math.max(12, total_w - 13 - w2 - w3 - w4)
    for _, r in ipairs(rows) do
      r[1] = truncate(r[1], maxname)
      if dwidth(r[1]) > nw then nw = dwidth(r[1]) end
    end
    local function rpad(s, w) return (" "):rep(w - dwidth(s)) .. s end
    local function lpad(s, w) return s .. (" "):rep(w - dwidth(s)) end
    out[#out + 1] = ("    %s   %s   %s   %s"):format(lpad("series", math.max(nw, 6)), rpad("min", w2), rpad("max", w3),
      rpad("last", w4))
    for i, r in ipairs(rows) do
      local mark = color and (pal[(i - 1) % #pal + 1] .. "●" .. M.RESET) or "●"
      out[#out + 1] = ("  %s %s   %s   %s   %s"):format(mark, lpad(r[1], math.max(nw, 6)), rpad(r[2], w2),
        rpad(r[3], w3), rpad(r[4], w4))
    end
  end
  return table.concat(out, "\n") .. "\n"
end

return M
