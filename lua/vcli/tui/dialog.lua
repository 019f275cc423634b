-- vcli.tui.dialog — modal dialogs in a centred box with a border: a
-- question, a number (scale), a form (delete's options). A widget
-- (docs/tui.md): pure Lua on vcli.tui.prims, vcli.tui.input, the same in the
-- host and in a plugin's state.
--
--   D.confirm{title, message, yes = "OK", no = "Cancel", default = "yes"|"no"} -> d
--       y / n answer at once; Left/Right/Tab move between the buttons
--   D.number{title, message, value, min, max, label = ""} -> d
--       digits (and a leading -), Up/Down ±1, PageUp/PageDown ±10 (within min..max)
--   D.form{title, message, fields = {field…}, buttons = {"OK", "Cancel"}} -> d
--       field = {name, label, kind = "text"|"number"|"choice"|"bool", value,
--                choices = {…} (choice), min, max, integer = true (number),
--                required = bool (text), validate = fn(value) -> err|nil}
--       Tab/S-Tab (and Down/Up) move between the fields and the buttons;
--       Space toggles a bool / cycles a choice, Left/Right cycle a choice (a
--       letter picks the next choice starting with it); Enter on a field is
--       the first button.
--   D.new(spec) -> d       spec.kind = "confirm"|"number"|"form"
--   d:key(name) -> true    d:insert(text) (a paste into the focused field)
--   d.result, once done:
--       {ok = true, button = label, index = n, values = {name = value…}}
--         (number: also .value); values are strings, numbers, booleans
--       {ok = false [, button = label]}   Esc, or the last of two or more buttons
--   d.error: what is wrong with the values (shown in the box; the dialog stays)
--   d:view(w, h) -> {x = col, y = row, w = box width, h = box height,
--                    lines = {…} (the box's own lines, each exactly its width),
--                    cursor = {x, y} | nil (where the terminal cursor goes)}
--       the box centred in a w×h area, x and y from 0; what is outside the
--       box is the host's (it draws the lines over what is there). It fits
--       80×24 and degrades to 40 columns (the message wraps, long labels go
--       above their field, a long message is cut with "…").
--
-- Helpers the other overlays use: D.wrap(text, width) -> lines,
-- D.clip(s, cols) -> s, width, D.ellipsize(s, cols) -> s, width,
-- D.frame(title, rows, iw, footer) -> lines (rows: segment lists at most iw
-- wide, padded here), D.place(w, h, bw, bh) -> x, y.
local P = require("vcli.tui.prims")
local I = require("vcli.tui.input")

local D = {}
local Dlg = {}
Dlg.__index = Dlg

local find, gsub, rep, sub = string.find, string.gsub, string.rep, string.sub
local max, min, floor = math.max, math.min, math.floor
local concat = table.concat

-- ----------------------------------------------------------------- text
local function clean(s)
  s = tostring(s == nil and "" or s)
  if find(s, "%c") then s = gsub(gsub(s, "\t", "    "), "%c", " ") end
  return s
end
D.clean = clean

function D.clip(s, cols)
  cols = max(0, cols)
  local w = P.width(s)
  if w <= cols then return s, w end
  local chars, widths = P.split(s)
  local out, acc = {}, 0
  for k = 1, #chars do
    if acc + widths[k] > cols then break end
    out[#out + 1] = chars[k]
    acc = acc + widths[k]
  end
  return concat(out), acc
end

function D.ellipsize(s, cols)
  local w = P.width(s)
  if w <= cols then return s, w end
  if cols <= 0 then return "", 0 end
  local c, cw = D.clip(s, cols - 1)
  return c .. "…", cw + 1
end

-- the lines of text wrapped at width columns (words kept whole when they fit)
function D.wrap(text, width)
  width = max(1, width)
  local out = {}
  local paras = {}
  for para in (tostring(text or "") .. "\n"):gmatch("([^\n]*)\n") do paras[#paras + 1] = clean(para) end
  if #paras > 1 and paras[#paras] == "" and find(tostring(text or ""), "\n$") then paras[#paras] = nil end
  for _, para in ipairs(paras) do
    local line, lw = nil, 0
    for word in para:gmatch("%S+") do
      local ww = P.width(word)
      if line and lw + 1 + ww <= width then
        line, lw = line .. " " .. word, lw + 1 + ww
      else
        if line then out[#out + 1] = line end
        while ww > width do
          local head, hw = D.clip(word, width)
          if hw == 0 then break end
          out[#out + 1] = head
          word = sub(word, #head + 1)
          ww = P.width(word)
        end
        line, lw = word, ww
      end
    end
    out[#out + 1] = line or ""
  end
  return out
end

-- segments fitted to exactly iw columns: texts clipped, then padded
local function fit(segs, iw)
  local out, used = {}, 0
  for k = 1, #segs, 2 do
    local t, st = segs[k], segs[k + 1]
    if type(t) == "string" and t ~= "" and used < iw then
      local c, cw = D.clip(t, iw - used)
      out[#out + 1] = c
      out[#out + 1] = st or false
      used = used + cw
    end
  end
  if used < iw then out[#out + 1] = rep(" ", iw - used); out[#out + 1] = false end
  return out
end
D.fit = fit

function D.frame(title, rows, iw, footer)
  local bw = iw + 4
  local lines = {}
  title = clean(title or "")
  if title ~= "" then
    local t, tw = D.ellipsize(title, max(0, bw - 6))
    lines[1] = { "┌─ ", "border", t, "title", " " .. rep("─", max(0, bw - 5 - tw)) .. "┐", "border" }
  else
    lines[1] = { "┌" .. rep("─", max(0, bw - 2)) .. "┐", "border" }
  end
  for k = 1, #rows do
    local l = { "│ ", "border" }
    local f = fit(rows[k], iw)
    for j = 1, #f do l[#l + 1] = f[j] end
    l[#l + 1] = " │"; l[#l + 1] = "border"
    lines[#lines + 1] = l
  end
  footer = footer and clean(footer) or ""
  local fw = P.width(footer)
  if footer ~= "" and fw <= bw - 6 then
    lines[#lines + 1] = { "└" .. rep("─", bw - 5 - fw) .. " ", "border", footer, "dim", " ─┘", "border" }
  else
    lines[#lines + 1] = { "└" .. rep("─", max(0, bw - 2)) .. "┘", "border" }
  end
  return lines
end

function D.place(w, h, bw, bh)
  return max(0, floor((w - bw) / 2)), max(0, floor((h - bh) / 2))
end

-- ---------------------------------------------------------------- fields
local KINDS = { text = true, number = true, choice = true, bool = true }

local function num_text(v)
  if v == nil or v == "" then return "" end
  local n = tonumber(v)
  if n and n == floor(n) and math.abs(n) < 2 ^ 53 then return ("%d"):format(n) end
  return tostring(v)
end

local function new_field(spec, k)
  local f = {
    name = spec.name or spec[1] or ("field" .. k), label = clean(spec.label or spec.name or ""),
    kind = KINDS[spec.kind] and spec.kind or "text", min = tonumber(spec.min), max = tonumber(spec.max),
    integer = spec.integer ~= false, required = spec.required, validate = spec.validate,
  }
  if f.kind == "choice" then
    f.choices = {}
    for j, c in ipairs(spec.choices or {}) do f.choices[j] = clean(c) end
    if #f.choices == 0 then f.choices[1] = clean(spec.value or "") end
    f.idx = 1
    for j, c in ipairs(f.choices) do if c == clean(spec.value) then f.idx = j end end
  elseif f.kind == "bool" then
    f.on = spec.value == true or spec.value == "true"
  elseif f.kind == "number" then
    f.input = I.new({ text = num_text(spec.value) })
  else
    f.input = I.new({ text = spec.value == nil and "" or tostring(spec.value) })
  end
  return f
end

local function range_text(f)
  if f.min and f.max then return ("%s–%s"):format(num_text(f.min), num_text(f.max)) end
  if f.min then return ("at least %s"):format(num_text(f.min)) end
  if f.max then return ("at most %s"):format(num_text(f.max)) end
  return nil
end

-- a field's value, or nil and what is wrong
local function field_value(f)
  if f.kind == "bool" then return f.on end
  if f.kind == "choice" then return f.choices[f.idx] end
  local text = f.input:text()
  local what = f.label ~= "" and f.label or f.name
  if f.kind == "number" then
    local n = tonumber((text:gsub("^%s+", ""):gsub("%s+$", "")))
    if not n or n ~= n then return nil, ("%s: a number expected"):format(what) end
    if f.integer and n ~= floor(n) then return nil, ("%s: a whole number expected"):format(what) end
    if (f.min and n < f.min) or (f.max and n > f.max) then
      local r = range_text(f)
      if f.min and f.max then r = "between " .. num_text(f.min) .. " and " .. num_text(f.max) end
      return nil, ("%s: %s is out of range (%s)"):format(what, num_text(n), r)
    end
    return n
  end
  if f.required and text:match("^%s*$") then return nil, ("%s: a value is required"):format(what) end
  return text
end

-- ---------------------------------------------------------------- dialogs
local function new_dialog(kind, spec, fields, buttons)
  local d = setmetatable({
    kind = kind, title = clean(spec.title or ""), message = spec.message and tostring(spec.message) or nil,
    fields = {}, buttons = {}, items = {}, focus = 1, arrows = kind == "number" and "value" or "focus",
  }, Dlg)
  for k, fs in ipairs(fields) do d.fields[k] = new_field(fs, k) end
  for k, b in ipairs(buttons) do d.buttons[k] = clean(b) end
  if #d.buttons == 0 then d.buttons[1] = "OK" end
  for _, f in ipairs(d.fields) do d.items[#d.items + 1] = { field = f } end
  for k = 1, #d.buttons do d.items[#d.items + 1] = { button = k } end
  d.first_button = #d.fields + 1
  return d
end

function D.confirm(spec)
  spec = spec or {}
  local d = new_dialog("confirm", spec, {}, { spec.yes or "OK", spec.no or "Cancel" })
  if spec.default == "no" then d.focus = d.first_button + 1 end
  return d
end

function D.number(spec)
  spec = spec or {}
  local d = new_dialog("number", spec, { { name = "value", label = spec.label or "", kind = "number",
    value = spec.value == nil and (spec.min or 0) or spec.value, min = spec.min, max = spec.max,
    integer = spec.integer } }, spec.buttons or { "OK", "Cancel" })
  return d
end

function D.form(spec)
  spec = spec or {}
  return new_dialog("form", spec, spec.fields or {}, spec.buttons or { "OK", "Cancel" })
end

function D.new(spec)
  spec = spec or {}
  local kind = spec.kind or "confirm"
  if kind == "confirm" then return D.confirm(spec) end
  if kind == "number" then return D.number(spec) end
  if kind == "form" then return D.form(spec) end
  return nil, ("vcli.tui.dialog: no dialog kind '%s' (confirm, number, form)"):format(tostring(kind))
end

function Dlg:_move(d)
  local n = #self.items
  self.focus = (self.focus - 1 + d) % n + 1
end

function Dlg:values()
  local vals = {}
  for k, f in ipairs(self.fields) do
    local v, err = field_value(f)
    if v == nil then return nil, err, k end
    vals[f.name] = v
    if f.validate then
      local ok, verr = pcall(f.validate, v)
      if not ok then return nil, tostring(verr), k end
      if verr then return nil, tostring(verr), k end
    end
  end
  return vals
end

function Dlg:_activate(k)
  local label = self.buttons[k]
  if #self.buttons >= 2 and k == #self.buttons then
    self.result = { ok = false, button = label }
    return
  end
  local vals, err, fk = self:values()
  if not vals then
    self.error = err
    self.focus = fk
    return
  end
  self.error = nil
  self.result = { ok = true, button = label, index = k, values = vals }
  if self.kind == "number" then self.result.value = vals.value end
end

local function step_number(f, d)
  local n = tonumber(f.input:text()) or f.min or 0
  n = n + d
  if f.min and n < f.min then n = f.min end
  if f.max and n > f.max then n = f.max end
  f.input:set_text(num_text(n))
end

-- a key into a number field: editing keys, digits, a leading minus
local NUM_EDIT = { Backspace = true, Delete = true, Left = true, Right = true, Home = true, End = true,
  ["C-a"] = true, ["C-e"] = true, ["C-u"] = true, ["C-k"] = true, ["C-w"] = true, ["C-h"] = true,
  ["C-d"] = true, ["C-b"] = true, ["C-f"] = true }

function Dlg._field_key(_self, f, k)
  local kind = f.kind
  if kind == "choice" then
    local n = #f.choices
    if k == "Space" or k == "Right" or k == "l" then f.idx = f.idx % n + 1 return true end
    if k == "Left" or k == "h" then f.idx = f.idx <= 1 and n or f.idx - 1 return true end
    if #k == 1 then   -- the next choice starting with that letter
      for j = 1, n do
        local c = f.choices[(f.idx - 1 + j) % n + 1]
        if c:sub(1, 1):lower() == k:lower() then f.idx = (f.idx - 1 + j) % n + 1 return true end
      end
    end
    return true
  elseif kind == "bool" then
    if k == "Space" or k == "Left" or k == "Right" or k == "x" then f.on = not f.on
    elseif k == "y" then f.on = true
    elseif k == "n" then f.on = false end
    return true
  elseif kind == "number" then
    if k == "Up" or k == "+" then step_number(f, 1) return true end
    if k == "Down" then step_number(f, -1) return true end
    if k == "PageUp" then step_number(f, 10) return true end
    if k == "PageDown" then step_number(f, -10) return true end
    if NUM_EDIT[k] then f.input:key(k) return true end
    if k:match("^%d$") or (k == "." and not f.integer) then f.input:key(k) return true end
    if k == "-" then
      if f.input.pos == 0 and not f.input:text():find("-", 1, true) then f.input:key(k) end
      return true
    end
    return true
  end
  if k == "Up" or k == "Down" then return true end
  f.input:key(k)
  return true
end

function Dlg:key(k)
  if self.result then return true end
  if type(k) ~= "string" then return nil end
  if k == "Esc" or k == "C-c" then self.result = { ok = false } return true end
  if k == "Tab" then self:_move(1) return true end
  if k == "S-Tab" then self:_move(-1) return true end
  if self.kind == "confirm" then
    if k == "y" or k == "Y" then self:_activate(1) return true end
    if k == "n" or k == "N" then self:_activate(#self.buttons) return true end
  end
  local it = self.items[self.focus]
  if it.field then
    local f = it.field
    if k == "Enter" then self:_activate(1) return true end
    if self.arrows == "focus" and (k == "Down" or k == "Up") then self:_move(k == "Down" and 1 or -1) return true end
    self.error = nil
    return self:_field_key(f, k)
  end
  if k == "Enter" or k == "Space" then self:_activate(it.button) return true end
  if k == "Left" or k == "h" or k == "Up" or k == "k" then self:_move(-1) return true end
  if k == "Right" or k == "l" or k == "Down" or k == "j" then self:_move(1) return true end
  return true
end

function Dlg:insert(text)
  if self.result then return true end
  local it = self.items[self.focus]
  local f = it and it.field
  if not f or not f.input then return true end
  text = clean(text)
  if f.kind == "number" then text = text:gsub("[^%d%-%.]", "") end
  f.input:insert(text)
  self.error = nil
  return true
end

-- ------------------------------------------------------------------ view
-- the fewest columns the values need beside their labels
function Dlg:_min_value()
  local need = 12
  for _, f in ipairs(self.fields) do
    if f.kind == "choice" then
      local cw = 0
      for _, c in ipairs(f.choices) do cw = max(cw, P.width(c)) end
      need = max(need, min(cw + 4, 20))
    end
  end
  return need
end

function Dlg:_natural()
  local nat = P.width(self.title) + 2
  for para in ((self.message or "") .. "\n"):gmatch("([^\n]*)\n") do nat = max(nat, P.width(clean(para))) end
  local lw = 0
  for _, f in ipairs(self.fields) do lw = max(lw, P.width(f.label)) end
  for _, f in ipairs(self.fields) do
    local vw
    if f.kind == "choice" then
      vw = 0
      for _, c in ipairs(f.choices) do vw = max(vw, P.width(c)) end
      vw = vw + 4
    elseif f.kind == "bool" then vw = 3
    else vw = max(18, P.width(f.input:text()) + 3) end
    nat = max(nat, (lw > 0 and lw + 2 or 0) + vw)
  end
  local bw = 0
  for k, b in ipairs(self.buttons) do bw = bw + P.width(b) + 4 + (k > 1 and 2 or 0) end
  nat = max(nat, bw)
  if self.kind == "number" then nat = max(nat, 30) end
  return nat, lw
end

function Dlg:view(w, h)
  w = max(8, floor(tonumber(w) or 80))
  h = max(3, floor(tonumber(h) or 24))
  local nat, lw = self:_natural()
  local iw = max(min(24, w - 4), min(nat, 64, w - 4))
  iw = max(1, iw)
  -- labels beside their fields, or above them (values indented) when the
  -- longest does not fit beside the narrowest a value may be
  local stacked = lw > 0 and lw + 2 + self:_min_value() > iw
  local rows = {}   -- {segs, kind}
  local function add(segs, kind) rows[#rows + 1] = { segs, kind } end
  if self.message and self.message ~= "" then
    for _, l in ipairs(D.wrap(self.message, iw)) do add({ l, false }, "msg") end
  end
  local cur_row, cur_col
  local focus_item = self.items[self.focus]
  if #self.fields > 0 then
    if #rows > 0 then add({}, "blank") end
    for _, f in ipairs(self.fields) do
      local focused = focus_item.field == f
      local label = f.label
      local prefix = {}
      local vw = iw
      if lw > 0 then
        if stacked then
          add({ (D.ellipsize(label, iw)), focused and "selected" or false }, "label")
          prefix = { "  ", false }
          vw = iw - 2
        else
          local l, lwid = D.ellipsize(label, lw)
          prefix = { l, focused and "selected" or false, rep(" ", lw - lwid + 2), false }
          vw = iw - lw - 2
        end
      end
      local val
      if f.kind == "choice" then
        local c = D.ellipsize(f.choices[f.idx] or "", max(1, vw - 4))
        val = { "‹ ", "dim", c, focused and "selected" or false, " ›", "dim" }
      elseif f.kind == "bool" then
        val = { f.on and "[x]" or "[ ]", focused and "selected" or false }
      else
        local fw = max(1, vw - 2)
        local line = f.input:view(fw, focused and { cursor = "selected" } or nil)
        val = { "[", "dim" }
        for j = 1, #line do val[#val + 1] = line[j] end
        val[#val + 1] = "]"; val[#val + 1] = "dim"
        if focused then
          cur_row = #rows + 1
          cur_col = (lw == 0 and 0 or stacked and 2 or lw + 2) + 1 + f.input:cursor()
        end
      end
      local segs = {}
      for j = 1, #prefix do segs[#segs + 1] = prefix[j] end
      for j = 1, #val do segs[#segs + 1] = val[j] end
      add(segs, "field")
    end
    if self.kind == "number" then
      local r = range_text(self.fields[1])
      add({ (r and (r .. " · ") or "") .. "↑/↓ change", "dim" }, "hint")
    elseif self.kind == "form" then
      -- the keys of the fields it has (a form is not a k9s habit: say them)
      local has = {}
      for _, f in ipairs(self.fields) do has[f.kind] = true end
      local keys = { "Tab next" }
      if has.choice then keys[#keys + 1] = "←/→ choose" end
      if has.bool then keys[#keys + 1] = "Space on/off" end
      if has.number then keys[#keys + 1] = "↑/↓ change" end
      keys[#keys + 1] = "Enter OK"
      keys[#keys + 1] = "Esc cancel"
      for _, l in ipairs(D.wrap(table.concat(keys, " · "), iw)) do add({ l, "dim" }, "hint") end
    end
  end
  if self.error then
    add({}, "blank")
    for _, l in ipairs(D.wrap(self.error, iw)) do add({ l, "error" }, "error") end
  else
    add({}, "blank")
  end
  -- the buttons, centred
  local bsegs, bwid = {}, 0
  for k, b in ipairs(self.buttons) do
    if k > 1 then bsegs[#bsegs + 1] = "  "; bsegs[#bsegs + 1] = false; bwid = bwid + 2 end
    local focused = focus_item.button == k
    local t = "[ " .. b .. " ]"
    bsegs[#bsegs + 1] = t; bsegs[#bsegs + 1] = focused and "selected" or false
    bwid = bwid + P.width(t)
  end
  if bwid < iw then table.insert(bsegs, 1, false); table.insert(bsegs, 1, rep(" ", floor((iw - bwid) / 2))) end
  add(bsegs, "buttons")
  -- fit the height: blank rows go first, then the message's tail
  local maxr = h - 2
  local k = 1
  while #rows > maxr and k <= #rows do
    if rows[k][2] == "blank" then
      table.remove(rows, k)
      if cur_row and cur_row > k then cur_row = cur_row - 1 end
    else k = k + 1 end
  end
  local nmsg = 0
  for _, r in ipairs(rows) do if r[2] == "msg" then nmsg = nmsg + 1 end end
  if #rows > maxr and nmsg > 0 then
    local cut = min(nmsg - 1, #rows - maxr)
    for _ = 1, cut do table.remove(rows, nmsg); nmsg = nmsg - 1 end
    if cur_row then cur_row = cur_row - cut end
    if cut > 0 then rows[nmsg][1] = { (D.ellipsize(rows[nmsg][1][1] .. " …", iw)), false } end
  end
  while #rows > maxr and #rows > 1 do
    table.remove(rows, #rows - 1)
    if cur_row and cur_row >= #rows then cur_row = nil end
  end
  local segs = {}
  for j, r in ipairs(rows) do segs[j] = r[1] end
  local lines = D.frame(self.title, segs, iw)
  local bw, bh = iw + 4, #lines
  local x, y = D.place(w, h, bw, bh)
  local box = { x = x, y = y, w = bw, h = bh, lines = lines }
  if cur_row and cur_col then box.cursor = { x + 2 + cur_col, y + cur_row } end
  return box
end

return D
