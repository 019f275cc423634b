-- vcli.tui.menu — overlays that list things: the help screen (`?`) and a
-- picker (a container, a port, a port-forward). A widget (docs/tui.md): pure
-- Lua on vcli.tui.prims, vcli.tui.input and vcli.tui.dialog's box helpers,
-- the same in the host and in a plugin's state.
--
--   M.help{title, sections = {{title = "Resource", items = {{key = "d",
--          action = "describe", help = "Describe"}…}}…}} -> m
--       the sections side by side in columns (k9s's `?`), in bands one under
--       the other when they do not fit the width; j/k/Up/Down scroll a line,
--       PageDown/PageUp/Space/C-f/C-b a page, g/G the ends; Esc, q or ? close
--       (m.closed = true). The key text is the item's own: build the sections
--       from the keymap (vcli.tui.keymap's k:help_sections) and help shows
--       the keys that work.
--   M.pick{title, items = {"a", {text = "b", desc = "…"}…}, filter = bool,
--          message = text|nil, selected = n|nil} -> m
--       Up/Down (C-p/C-n; and j/k, g/G without a filter), PageUp/PageDown;
--       with filter = true what is typed narrows the list (case-insensitive
--       unless it has capitals; text and desc); Enter -> m.result =
--       {ok = true, index = n (in items), item = items[n], value = its text};
--       Esc clears a filter, then m.cancelled = true.
--   m:key(name) -> true    m:insert(text) (a paste into the filter)
--   m:view(w, h) -> {x, y, w, h, lines, cursor = {x, y}|nil}   as vcli.tui.dialog's
local P = require("vcli.tui.prims")
local I = require("vcli.tui.input")
local D = require("vcli.tui.dialog")

local M = {}

local rep, find, lower = string.rep, string.find, string.lower
local max, min, floor = math.max, math.min, math.floor
local clean, ellipsize = D.clean, D.ellipsize

local GAP = 4

-- ------------------------------------------------------------------ help
local Help = {}
Help.__index = Help

function M.help(spec)
  spec = spec or {}
  local h = setmetatable({ title = clean(spec.title or "Help"), sections = {}, top = 1, vh = 10 }, Help)
  for _, s in ipairs(spec.sections or {}) do
    local sec = { title = clean(s.title or ""), items = {} }
    for _, it in ipairs(s.items or {}) do
      local key = it.key
      if type(key) == "table" then key = table.concat(key, "/") end
      sec.items[#sec.items + 1] = { key = clean(key or ""), help = clean(it.help or it.action or "") }
    end
    if #sec.items > 0 then h.sections[#h.sections + 1] = sec end
  end
  return h
end

-- the content lines at inner width iw: bands of sections side by side
function Help:_content(iw)
  local blocks = {}
  for k, s in ipairs(self.sections) do
    local kw, hw = 0, 0
    for _, it in ipairs(s.items) do kw = max(kw, P.width(it.key)); hw = max(hw, P.width(it.help)) end
    kw = min(kw, max(1, floor(iw / 2)))
    local sw = min(iw, max(P.width(s.title), kw + 2 + hw))
    blocks[k] = { s = s, kw = kw, w = sw }
  end
  local bands, band, used = {}, nil, 0
  for _, b in ipairs(blocks) do
    if band and used + GAP + b.w <= iw then
      band[#band + 1] = b
      used = used + GAP + b.w
    else
      band = { b }
      bands[#bands + 1] = band
      used = b.w
    end
  end
  local lines, width = {}, 0
  for bi, bd in ipairs(bands) do
    if bi > 1 then lines[#lines + 1] = {} end
    local bh, bwid = 0, 0
    for j, b in ipairs(bd) do bh = max(bh, #b.s.items + 1); bwid = bwid + b.w + (j > 1 and GAP or 0) end
    width = max(width, bwid)
    for r = 1, bh do
      local segs = {}
      for j, b in ipairs(bd) do
        local cell_w = 0
        if r == 1 then
          local t, tw = ellipsize(b.s.title, b.w)
          segs[#segs + 1] = t; segs[#segs + 1] = "header"
          cell_w = tw
        else
          local it = b.s.items[r - 1]
          if it then
            local kt, kw = ellipsize(it.key, b.kw)
            local ht, hw = ellipsize(it.help, max(0, b.w - b.kw - 2))
            segs[#segs + 1] = kt; segs[#segs + 1] = "key"
            segs[#segs + 1] = rep(" ", b.kw - kw + 2) .. ht; segs[#segs + 1] = false
            cell_w = b.kw + 2 + hw
          end
        end
        if j < #bd then segs[#segs + 1] = rep(" ", b.w - cell_w + GAP); segs[#segs + 1] = false end
      end
      lines[#lines + 1] = segs
    end
  end
  return lines, width
end

function Help:key(k)
  if k == "Esc" or k == "q" or k == "?" or k == "C-c" then self.closed = true return true end
  local vh = self.vh
  if k == "j" or k == "Down" then self.top = self.top + 1
  elseif k == "k" or k == "Up" then self.top = self.top - 1
  elseif k == "PageDown" or k == "Space" or k == "C-f" then self.top = self.top + vh
  elseif k == "PageUp" or k == "C-b" then self.top = self.top - vh
  elseif k == "g" or k == "Home" then self.top = 1
  elseif k == "G" or k == "End" then self.top = math.huge
  end
  return true
end

function Help:view(w, h)
  w = max(8, floor(tonumber(w) or 80))
  h = max(3, floor(tonumber(h) or 24))
  local lines, width = self:_content(max(1, w - 4))
  local vh = max(1, min(#lines, h - 2))
  self.vh = vh
  local n = #lines
  self.top = max(1, min(self.top, n - vh + 1))
  local rows = {}
  for r = self.top, min(n, self.top + vh - 1) do rows[#rows + 1] = lines[r] end
  if #rows == 0 then rows[1] = { "no keys", "dim" } end
  local footer
  if n > vh then
    footer = ("%d–%d of %d · j/k scroll · Esc closes"):format(self.top, self.top + vh - 1, n)
    if P.width(footer) + 2 > w - 4 then footer = ("%d–%d/%d"):format(self.top, self.top + vh - 1, n) end
  else
    footer = "Esc closes"
  end
  local iw = max(1, min(w - 4, max(width, P.width(self.title) + 2, P.width(footer) + 2, 24)))
  local box = D.frame(self.title, rows, iw, footer)
  local x, y = D.place(w, h, iw + 4, #box)
  return { x = x, y = y, w = iw + 4, h = #box, lines = box }
end

-- ------------------------------------------------------------------ pick
local Pick = {}
Pick.__index = Pick

function M.pick(spec)
  spec = spec or {}
  local m = setmetatable({ title = clean(spec.title or ""), message = spec.message, items = {}, shown = {},
                           cur = 1, top = 1, vh = 10, filtering = spec.filter == true }, Pick)
  for k, it in ipairs(spec.items or {}) do
    local text, desc
    if type(it) == "table" then
      text, desc = it.text or it[1] or it.name, it.desc or it[2]
    else
      text = it
    end
    text, desc = clean(text), desc and clean(desc) or nil
    m.items[k] = { text = text, desc = desc, ltext = lower(text .. " " .. (desc or "")),
                   full = text .. " " .. (desc or ""), orig = it, index = k }
  end
  if m.filtering then m.input = I.new({ prompt = "/ ", prompt_style = "filter" }) end
  m:_refilter()
  local sel = tonumber(spec.selected)
  if sel then
    for j, e in ipairs(m.shown) do if e.index == sel then m.cur = j end end
  end
  return m
end

function Pick:_refilter()
  local prev = self.shown[self.cur] or self.last_sel   -- kept while nothing matches
  self.last_sel = prev
  local pat = self.input and self.input:text() or ""
  local shown = {}
  if pat == "" then
    for k, e in ipairs(self.items) do shown[k] = e end
  else
    local ci = not find(pat, "%u")
    local lp = ci and lower(pat) or pat
    for _, e in ipairs(self.items) do
      if find(ci and e.ltext or e.full, lp, 1, true) then shown[#shown + 1] = e end
    end
  end
  self.shown = shown
  self.cur = 1
  if prev then for j, e in ipairs(shown) do if e == prev then self.cur = j end end end
end

function Pick:_move(d)
  local n = #self.shown
  if n == 0 then return end
  self.cur = max(1, min(n, self.cur + d))
end

function Pick:key(k)
  if self.result or self.cancelled then return true end
  if type(k) ~= "string" then return nil end
  if k == "Esc" or k == "C-c" then
    if k == "Esc" and self.input and self.input:text() ~= "" then
      self.input:set_text("")
      self:_refilter()
      return true
    end
    self.cancelled = true
    return true
  end
  if k == "Enter" then
    local e = self.shown[self.cur]
    if e then self.result = { ok = true, index = e.index, item = e.orig, value = e.text } end
    return true
  end
  local vh = self.vh
  if k == "Down" or k == "C-n" or k == "Tab" then self:_move(1) return true end
  if k == "Up" or k == "C-p" or k == "S-Tab" then self:_move(-1) return true end
  if k == "PageDown" or k == "C-f" then self:_move(vh) return true end
  if k == "PageUp" or k == "C-b" then self:_move(-vh) return true end
  if not self.input then
    if k == "j" then self:_move(1)
    elseif k == "k" then self:_move(-1)
    elseif k == "g" or k == "Home" then self.cur = 1
    elseif k == "G" or k == "End" then self.cur = max(1, #self.shown)
    elseif k == "Space" then self:_move(vh)
    end
    return true
  end
  local before = self.input:text()
  self.input:key(k)
  if self.input:text() ~= before then self:_refilter() end
  return true
end

function Pick:insert(text)
  if not self.input then return true end
  self.input:insert(text)
  self:_refilter()
  return true
end

function Pick:view(w, h)
  w = max(8, floor(tonumber(w) or 80))
  h = max(3, floor(tonumber(h) or 24))
  local tw, dw = 0, 0
  for _, e in ipairs(self.items) do
    tw = max(tw, P.width(e.text))
    if e.desc then dw = max(dw, P.width(e.desc)) end
  end
  local nat = max(tw + (dw > 0 and dw + 2 or 0), P.width(self.title) + 2, 24)
  if self.message then
    for para in (tostring(self.message) .. "\n"):gmatch("([^\n]*)\n") do nat = max(nat, P.width(clean(para))) end
  end
  local iw = max(1, min(nat, 70, w - 4))
  local rows, cur_row = {}, nil
  if self.message and self.message ~= "" then
    for _, l in ipairs(D.wrap(self.message, iw)) do rows[#rows + 1] = { l, false } end
  end
  if self.input then
    rows[#rows + 1] = self.input:view(iw)
    cur_row = #rows
  end
  local fixed = #rows
  local n = #self.shown
  local vh = max(1, min(max(n, 1), h - 2 - fixed))
  self.vh = vh
  local cur = self.cur
  if cur < self.top then self.top = cur end
  if cur > self.top + vh - 1 then self.top = cur - vh + 1 end
  self.top = max(1, min(self.top, n - vh + 1))
  local tcol = min(tw, dw > 0 and max(floor(iw / 2), iw - dw - 2) or iw)
  if n == 0 then
    rows[#rows + 1] = { #self.items == 0 and "nothing to pick" or "no match", "dim" }
  end
  for j = self.top, min(n, self.top + vh - 1) do
    local e = self.shown[j]
    local sel = j == cur
    local t, twid = ellipsize(e.text, tcol)
    local segs = { t, sel and "selected" or false }
    if e.desc and iw - tcol - 2 > 0 then
      local d, dwid = ellipsize(e.desc, iw - tcol - 2)
      segs[#segs + 1] = rep(" ", tcol - twid + 2); segs[#segs + 1] = sel and "selected" or false
      segs[#segs + 1] = d; segs[#segs + 1] = sel and "selected" or "dim"
      twid = tcol + 2 + dwid
    end
    if sel and twid < iw then segs[#segs + 1] = rep(" ", iw - twid); segs[#segs + 1] = "selected" end
    rows[#rows + 1] = segs
  end
  while #rows > h - 2 and #rows > 1 do table.remove(rows, 1); if cur_row then cur_row = cur_row - 1 end end
  if cur_row and cur_row < 1 then cur_row = nil end
  local footer
  if n > vh or (self.input and self.input:text() ~= "") then footer = ("%d/%d"):format(n == 0 and 0 or cur, n) end
  local box = D.frame(self.title, rows, iw, footer)
  local x, y = D.place(w, h, iw + 4, #box)
  local out = { x = x, y = y, w = iw + 4, h = #box, lines = box }
  if cur_row then out.cursor = { x + 2 + self.input:cursor(), y + cur_row } end
  return out
end

function Pick:selected()
  local e = self.shown[self.cur]
  return e and e.index, e and e.orig
end

return M
