-- vcli.tui.text — the text viewer: describe output and YAML, scrolled,
-- searched, wrapped or scrolled sideways. A widget (docs/tui.md): pure Lua on
-- vcli.tui.prims, the same in the host and in a plugin's state.
--
--   W.new{lines = {...} | text = "...", syntax = "yaml" | nil, title = "", wrap = bool} -> v
--   v:set_text(s)  v:set_lines(t)   new content (a live refresh: the object changed); the
--                                   scroll position, wrap and search stay (clamped)
--   v:view(w, h) -> exactly h lines  (remembers w, h: the keys page by the last h)
--   v:key(name) -> true | nil        j/k Up/Down, PageDown/Space/C-f, PageUp/C-b, C-d/C-u
--                                   (half a page), g/Home, G/End, Left/Right (8 columns,
--                                   when not wrapping), w (wrap), / (search), n/N
--   v:search(pattern) -> true | nil, err   P.regex; "" or nil clears the search. Goes to
--                                   the first matching line from the top of the screen on
--                                   (wrapping); the match line becomes the top line (like
--                                   less). Matches are highlighted in style "search".
--   v:next_match(dir) -> true|nil   n (dir 1) / N (dir -1): the next matching line,
--                                   wrapping with v.message = "search hit BOTTOM,
--                                   continuing at TOP" (or TOP… BOTTOM)
--   v:prompt() -> wants_input       what `/` does
--   v:status() -> "lines 1-20/180 (11%)" [.. " · /pat [3/12]" | " · /pat: no match"]
--   v:line_count() -> n   v:match_count() -> n   v:position() -> top line, first column
--   fields: v.message (the last action's note: wrapped search, no match; cleared by the
--           next key), v.wrap, v.title, v.pattern, v.wants_input
--
-- Input (the search line) belongs to the host. `/` (or v:prompt()) sets
--   v.wants_input = { prompt = "/", text = "<last pattern>", on_submit = function(text) -> true | nil, err }
-- and key returns true. The host takes it (reads it and sets v.wants_input = nil), shows
-- its input line with that prompt and initial text, and on Enter calls on_submit(text)
-- (a bad regex: nil, err for the host to show); Esc just drops it.
--
-- Lines: tabs expand to 8 columns, a trailing "\r" goes. YAML (syntax = "yaml"): keys
-- "yaml_key", values "yaml_value", comments "yaml_comment", list dashes and document
-- markers "dim"; block scalars (key: |) are values to their end.
--
-- W.lib: the line helpers vcli.tui.logview shares (expand_tabs, width, cut, wrap,
-- rows, overlay, find_all, group).
local P = require("vcli.tui.prims")

local W = {}
W.__index = W

local find, sub, byte, rep, match = string.find, string.sub, string.byte, string.rep, string.match
local concat = table.concat
local max, min, floor, ceil = math.max, math.min, math.floor, math.ceil

local TAB = 8
local HSTEP = 8
local EMPTY = {}

-- ------------------------------------------------------------------ lines
local function ascii(s) return not find(s, "[\128-\255]") end

local function width(s)
  if ascii(s) then return #s end
  return P.width(s)
end

local function expand_tabs(s)
  if not find(s, "\t", 1, true) then return s end
  local out, col, pos = {}, 0, 1
  while true do
    local t = find(s, "\t", pos, true)
    local piece = sub(s, pos, t and t - 1 or -1)
    out[#out + 1] = piece
    if not t then break end
    col = col + width(piece)
    local pad = TAB - col % TAB
    out[#out + 1] = rep(" ", pad)
    col = col + pad
    pos = t + 1
  end
  return concat(out)
end

-- One segment's text cut to columns [c0, c1) given that it starts at column col.
-- Returns the piece (or nil) and the column after the segment.
local function cut_one(t, col, c0, c1)
  if ascii(t) then
    local n = #t
    local a, b = max(col, c0), min(col + n, c1)
    if b > a then return sub(t, a - col + 1, b - col), col + n end
    return nil, col + n
  end
  local tw = P.width(t)
  local after = col + tw
  if after <= c0 or col >= c1 then return nil, after end
  local chars, widths = P.split(t)
  local buf = {}
  for j = 1, #chars do
    if col >= c1 then break end
    local cw = widths[j]
    if col >= c0 then
      if col + cw <= c1 then buf[#buf + 1] = chars[j] else buf[#buf + 1] = rep(" ", c1 - col) end
    elseif col + cw > c0 then
      buf[#buf + 1] = rep(" ", min(col + cw, c1) - c0)   -- a wide character across the left edge
    end
    col = col + cw
  end
  return concat(buf), after
end

-- The columns [c0, c0 + w) of a line of segments: a new flat line.
local function cut(segs, c0, w)
  local out, col, c1 = {}, 0, c0 + w
  for i = 1, #segs, 2 do
    if col >= c1 then break end
    local piece
    piece, col = cut_one(segs[i], col, c0, c1)
    if piece and piece ~= "" then out[#out + 1] = piece; out[#out + 1] = segs[i + 1] end
  end
  return out
end

-- A line of segments folded into rows of w columns (a wide character that does not fit
-- goes to the next row). Always at least one row.
local function wrap(segs, w)
  w = max(1, w)
  local rows, cur, col = {}, {}, 0
  for i = 1, #segs, 2 do
    local t, st = segs[i], segs[i + 1]
    if ascii(t) then
      local pos, n = 1, #t
      while pos <= n do
        if col >= w then rows[#rows + 1] = cur; cur = {}; col = 0 end
        local take = min(w - col, n - pos + 1)
        cur[#cur + 1] = sub(t, pos, pos + take - 1); cur[#cur + 1] = st
        col, pos = col + take, pos + take
      end
    else
      local chars, widths = P.split(t)
      local buf = {}
      for j = 1, #chars do
        local cw = widths[j]
        if col + cw > w and col > 0 then
          if #buf > 0 then cur[#cur + 1] = concat(buf); cur[#cur + 1] = st; buf = {} end
          rows[#rows + 1] = cur; cur = {}; col = 0
        end
        buf[#buf + 1] = chars[j]
        col = col + cw
      end
      if #buf > 0 then cur[#cur + 1] = concat(buf); cur[#cur + 1] = st end
    end
  end
  rows[#rows + 1] = cur
  return rows
end

-- How many rows a line of segments takes when wrapped at w.
local function rows(segs, w)
  w = max(1, w)
  local total = 0
  for i = 1, #segs, 2 do
    local t = segs[i]
    if not ascii(t) then return #wrap(segs, w) end
    total = total + #t
  end
  return max(1, ceil(total / w))
end

-- Byte ranges {a, b} of the (non-empty) matches of re in s, at most limit of them.
-- After a match the search goes on in the rest of the line; a pattern anchored with
-- ^ matches once.
local function find_all(re, s, anchored, limit)
  local out, pos, n, tries = {}, 1, #s, 0
  limit = limit or 256
  while pos <= n do
    tries = tries + 1
    if tries > 4 * limit then break end
    local a, b
    if pos == 1 then a, b = re:find(s)
    else
      local x, y = re:find(sub(s, pos))
      if x then a, b = x + pos - 1, y + pos - 1 end
    end
    if not a then break end
    if b >= a then out[#out + 1] = { a, b }; pos = b + 1 else pos = a + 1 end
    if anchored or #out >= limit then break end
  end
  return out
end

-- Segments with the byte ranges ms (sorted, not overlapping) in style "search".
local function overlay(segs, ms)
  if not ms or #ms == 0 then return segs end
  local out, base, mi = {}, 0, 1   -- base: the line's bytes before this segment
  for i = 1, #segs, 2 do
    local t, st = segs[i], segs[i + 1]
    local n, a = #t, 1
    while a <= n do
      local m = ms[mi]
      while m and m[2] < base + a do mi = mi + 1; m = ms[mi] end
      if not m or m[1] > base + n then
        out[#out + 1] = sub(t, a); out[#out + 1] = st
        break
      end
      if m[1] > base + a then
        out[#out + 1] = sub(t, a, m[1] - base - 1); out[#out + 1] = st
        a = m[1] - base
      else
        local e = min(m[2], base + n) - base
        out[#out + 1] = sub(t, a, e); out[#out + 1] = "search"
        a = e + 1
      end
    end
    base = base + n
  end
  return out
end

-- 12345 -> "12,345"
local function group(n)
  local s = tostring(floor(n))
  local neg, digits = match(s, "^(%-?)(%d+)$")
  if not digits then return s end
  local out = digits:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  if byte(out) == 44 then out = sub(out, 2) end
  return neg .. out
end

W.lib = { expand_tabs = expand_tabs, width = width, cut = cut, wrap = wrap, rows = rows,
          find_all = find_all, overlay = overlay, group = group, ascii = ascii }

-- ------------------------------------------------------------------ YAML
local function key_end(rest)
  local c = byte(rest)
  if c == 34 or c == 39 then   -- a quoted key
    local e = find(rest, c == 34 and '"' or "'", 2, true)
    if e and byte(rest, e + 1) == 58 and (e + 1 == #rest or find(rest, "^%s", e + 2)) then return e + 1 end
    return nil
  end
  if c == 123 or c == 91 then return nil end   -- flow { [
  local p = find(rest, ":%s")
  if not p and byte(rest, -1) == 58 then p = #rest end
  if not p then return nil end
  local hash = find(rest, " #", 1, true)
  if hash and hash < p then return nil end
  return p
end

-- One line's segments; the second value: the line opens a block scalar (the column its
-- content must be deeper than).
local function yaml_line(s)
  local ind, rest = match(s, "^( *)(.*)$")
  if rest == "" then return { s, false } end
  local segs = {}
  local function add(t, st) if t ~= "" then segs[#segs + 1] = t; segs[#segs + 1] = st end end
  add(ind, false)
  local col = #ind
  if byte(rest) == 35 then add(rest, "yaml_comment") return segs end
  if rest == "---" or rest == "..." or find(rest, "^%-%-%-%s") then add(rest, "dim") return segs end
  while true do
    local d = match(rest, "^%-( +)")
    if not d and rest == "-" then d = "" end
    if not d then break end
    add("-" .. d, "dim")
    col = col + 1 + #d
    rest = sub(rest, 2 + #d)
    if rest == "" then return segs end
  end
  if byte(rest) == 35 then add(rest, "yaml_comment") return segs end
  local kend = key_end(rest)
  local value = rest
  if kend then
    add(sub(rest, 1, kend), "yaml_key")
    value = sub(rest, kend + 1)
  end
  local sp, v = match(value, "^(%s*)(.*)$")
  add(sp, false)
  if v == "" then return segs end
  local body, comment = v, nil
  if byte(v) == 35 and (sp ~= "" or not kend) then body, comment = "", v
  else
    local c = find(v, "%s#")
    if c then body, comment = sub(v, 1, c - 1), sub(v, c) end
  end
  add(body, "yaml_value")
  if comment then add(comment, "yaml_comment") end
  if find(body, "^[|>][%-+%d]*%s*$") then return segs, col end
  return segs
end

local function yaml_spans(lines)
  local out, block = {}, nil
  for i = 1, #lines do
    local s = lines[i]
    local ind = #match(s, "^ *")
    if block and (ind > block or not find(s, "%S")) then
      out[i] = { s, "yaml_value" }
    else
      local segs, opens = yaml_line(s)
      out[i], block = segs, opens
    end
  end
  return out
end

-- ------------------------------------------------------------------ widget
local function split_text(s)
  local out, pos = {}, 1
  s = tostring(s or "")
  while true do
    local nl = find(s, "\n", pos, true)
    if not nl then
      if pos <= #s then out[#out + 1] = sub(s, pos) end
      break
    end
    out[#out + 1] = sub(s, pos, nl - 1)
    pos = nl + 1
  end
  return out
end

function W.new(opts)
  opts = opts or {}
  local v = setmetatable({ lines = {}, syntax = opts.syntax, title = opts.title or "", wrap = opts.wrap and true or false,
                           top = 1, sub = 0, left = 0, w = 80, h = 24, hits = {}, cur = nil, message = nil,
                           maxw = 0, rowc = {}, roww = nil }, W)
  if opts.lines then v:set_lines(opts.lines) else v:set_text(opts.text or "") end
  return v
end

function W:set_lines(t)
  local lines, maxw = {}, 0
  for i = 1, #t do
    local s = tostring(t[i])
    if byte(s, -1) == 13 then s = sub(s, 1, -2) end
    s = expand_tabs(s)
    lines[i] = s
    local lw = width(s)
    if lw > maxw then maxw = lw end
  end
  self.lines, self.maxw = lines, maxw
  self.spans = self.syntax == "yaml" and yaml_spans(lines) or nil
  self.rowc, self.roww = {}, nil
  if self.re then self:rehit() end
  self:clamp()
end

function W:set_text(s) self:set_lines(split_text(s)) end

function W:line_count() return #self.lines end
function W:match_count() return #self.hits end
function W:position() return self.top, self.left end

function W:segs(i)
  local sp = self.spans
  if sp then return sp[i] or EMPTY end
  return { self.lines[i] or "", false }
end

-- rows of line i at the width of the last view (1 when not wrapping)
function W:nrows(i)
  if not self.wrap then return 1 end
  local w = self.w
  if self.roww ~= w then self.rowc, self.roww = {}, w end
  local r = self.rowc[i]
  if not r then
    local s = self.lines[i] or ""
    if ascii(s) then r = max(1, ceil(#s / max(1, w))) else r = rows(self:segs(i), w) end
    self.rowc[i] = r
  end
  return r
end

-- the last position (line, row in it) that still fills the screen
function W:max_pos()
  local n, h = #self.lines, max(1, self.h)
  if not self.wrap then return max(1, n - h + 1), 0 end
  local left = h
  for i = n, 1, -1 do
    local r = self:nrows(i)
    if r >= left then return i, r - left end
    left = left - r
  end
  return 1, 0
end

function W:clamp()
  local n = #self.lines
  if self.top < 1 or n == 0 then self.top, self.sub = 1, 0 end
  if self.top > n and n > 0 then self.top, self.sub = n, 0 end
  if not self.wrap then self.sub = 0
  elseif self.sub >= self:nrows(self.top) then self.sub = self:nrows(self.top) - 1 end
  local mt, ms = self:max_pos()
  if self.top > mt or (self.top == mt and self.sub > ms) then self.top, self.sub = mt, ms end
  if self.wrap then self.left = 0
  else self.left = max(0, min(self.left, self.maxw - self.w)) end
end

-- move by d screen rows (lines when not wrapping)
function W:scroll(d)
  if not self.wrap then
    self.top = self.top + d
  elseif d > 0 then
    local n = #self.lines
    while d > 0 and self.top <= n do
      local r = self:nrows(self.top)
      if self.sub + d < r then self.sub = self.sub + d; d = 0
      else d = d - (r - self.sub); self.top, self.sub = self.top + 1, 0 end
    end
  else
    d = -d
    while d > 0 do
      if self.sub >= d then self.sub = self.sub - d; d = 0
      elseif self.top <= 1 then self.sub = 0; d = 0
      else d = d - self.sub - 1; self.top = self.top - 1; self.sub = self:nrows(self.top) - 1 end
    end
  end
  self:clamp()
end

-- the last line (partly) on screen
function W:bottom_line()
  local n = #self.lines
  if n == 0 then return 0 end
  if not self.wrap then return min(n, self.top + self.h - 1) end
  local left, i = self.h - (self:nrows(self.top) - self.sub), self.top
  while left > 0 and i < n do i = i + 1; left = left - self:nrows(i) end
  return i
end

function W:matches_in(i)
  local re = self.re
  if not re then return nil end
  return find_all(re, self.lines[i] or "", self.anchored)
end

function W:view(w, h)
  w, h = max(1, floor(w or 80)), max(0, floor(h or 24))
  if w ~= self.w or h ~= self.h then self.w, self.h = w, h; self:clamp() end
  local out, n = {}, #self.lines
  local i, skip = self.top, self.sub
  while #out < h and i <= n do
    local segs = self:segs(i)
    if self.re then segs = overlay(segs, self:matches_in(i)) end
    if self.wrap then
      local rs = wrap(segs, w)
      for r = skip + 1, #rs do
        if #out >= h then break end
        out[#out + 1] = rs[r]
      end
    else
      out[#out + 1] = cut(segs, self.left, w)
    end
    skip = 0
    i = i + 1
  end
  while #out < h do out[#out + 1] = {} end
  return out
end

-- ------------------------------------------------------------------ search
function W:rehit()
  local hits, re, lines = {}, self.re, self.lines
  for i = 1, #lines do
    if re:find(lines[i]) then hits[#hits + 1] = i end
  end
  local old = self.cur and self.hits[self.cur]   -- the current match's line
  self.hits, self.cur = hits, nil
  if old then
    for k = 1, #hits do if hits[k] >= old then self.cur = k break end end
  end
end

-- index in hits of the first hit with line >= i (#hits + 1 if none)
local function lower_bound(hits, i)
  local lo, hi = 1, #hits + 1
  while lo < hi do
    local mid = floor((lo + hi) / 2)
    if hits[mid] < i then lo = mid + 1 else hi = mid end
  end
  return lo
end

function W:go_hit(k)
  self.cur = k
  self.top, self.sub = self.hits[k], 0
  self:clamp()
end

function W:search(pattern)
  self.message = nil
  if pattern == nil or pattern == "" then
    self.re, self.pattern, self.hits, self.cur = nil, nil, {}, nil
    return true
  end
  local re, err = P.regex(pattern)
  if not re then
    self.message = "bad pattern: " .. tostring(err)
    return nil, err
  end
  self.re, self.pattern, self.anchored, self.cur = re, pattern, byte(pattern) == 94, nil
  self:rehit()
  local hits = self.hits
  if #hits == 0 then self.message = "Pattern not found: " .. pattern return true end
  local k = lower_bound(hits, self.top)
  if k > #hits then k = 1; self.message = "search hit BOTTOM, continuing at TOP" end
  self:go_hit(k)
  return true
end

function W:next_match(dir)
  self.message = nil
  local hits = self.hits
  if not self.re then return nil end
  if #hits == 0 then self.message = "Pattern not found: " .. self.pattern return true end
  local cur = self.cur and hits[self.cur]
  local from = (cur and cur >= self.top and cur <= self:bottom_line()) and cur or nil
  local k
  if dir >= 0 then
    k = from and lower_bound(hits, from + 1) or lower_bound(hits, self.top)
    if k > #hits then k = 1; self.message = "search hit BOTTOM, continuing at TOP" end
  else
    k = lower_bound(hits, from or self.top) - 1
    if k < 1 then k = #hits; self.message = "search hit TOP, continuing at BOTTOM" end
  end
  self:go_hit(k)
  return true
end

function W:prompt()
  self.wants_input = { prompt = "/", text = self.pattern or "",
                       on_submit = function(text) return self:search(text) end }
  return self.wants_input
end

function W:status()
  local n = #self.lines
  local s
  if n == 0 then s = "lines 0/0"
  else
    local b = self:bottom_line()
    s = ("lines %d-%d/%d (%d%%)"):format(self.top, b, n, floor(b * 100 / n))
  end
  if self.re then
    if #self.hits == 0 then s = s .. " · /" .. self.pattern .. ": no match"
    else s = ("%s · /%s [%s/%d]"):format(s, self.pattern, self.cur and tostring(self.cur) or "-", #self.hits) end
  end
  return s
end

-- ------------------------------------------------------------------ keys
function W:key(k)
  self.message = nil
  local h = max(1, self.h)
  if k == "j" or k == "Down" then self:scroll(1)
  elseif k == "k" or k == "Up" then self:scroll(-1)
  elseif k == "PageDown" or k == "C-f" or k == "Space" then self:scroll(h)
  elseif k == "PageUp" or k == "C-b" then self:scroll(-h)
  elseif k == "C-d" then self:scroll(max(1, floor(h / 2)))
  elseif k == "C-u" then self:scroll(-max(1, floor(h / 2)))
  elseif k == "g" or k == "Home" then self.top, self.sub = 1, 0; self:clamp()
  elseif k == "G" or k == "End" then self.top, self.sub = self:max_pos(); self:clamp()
  elseif k == "Left" then
    if self.wrap then return nil end
    self.left = self.left - HSTEP; self:clamp()
  elseif k == "Right" then
    if self.wrap then return nil end
    self.left = self.left + HSTEP; self:clamp()
  elseif k == "w" then
    self.wrap = not self.wrap
    self.sub, self.left = 0, 0
    self:clamp()
  elseif k == "/" then self:prompt()
  elseif k == "n" then if not self.re then return nil end self:next_match(1)
  elseif k == "N" then if not self.re then return nil end self:next_match(-1)
  else return nil end
  return true
end

return W
