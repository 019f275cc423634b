-- vcli.tui.input — a one-line text input: the `:` command bar, the `/`
-- filter, a dialog's fields. A widget (docs/tui.md): pure Lua on
-- vcli.tui.prims, the same in the host and in a plugin's state.
--
--   I.new{prompt = ":", text = "", history = H|nil, complete = fn|nil,
--         prompt_style = "input"} -> i
--     H: an array of previous inputs, oldest first, or an object with
--        H:entries() -> that array (read when Up starts a walk)
--     complete(text, pos) -> items [, common_prefix]: the candidates for the
--        word before the cursor (pos: the cursor's byte offset); an item is a
--        string or {word, desc} / {text = word, desc = …}; items.start (a byte
--        index) says where the replaced part begins when it is not that word
--   i:key(name) -> true | nil     i:insert(s)     i:text()     i:set_text(s)
--   i:view(w [, {cursor = style}]) -> ONE line of exactly w columns (prompt +
--        the text scrolled so the cursor shows; style "input"; cursor = a
--        style draws the cursor cell in it, for when the terminal's is not there)
--   i:cursor() -> the cursor's column in that line (of the last view's width)
--   i:menu(w) -> one line of the candidates (the chosen one "selected")
--   fields: i.submitted = text (Enter), i.cancelled = true (Esc),
--           i.candidates = items | nil (shown after a second Tab), i.selected = n | nil
--
-- Keys: printable characters (a multi-character name that is no key name is
-- pasted text), Space, Backspace/C-h, Delete/C-d, Left/Right/C-b/C-f,
-- Home/End/C-a/C-e, C-u/C-k (kill to the start/end), C-w/M-Backspace (kill a
-- word back), M-d (a word forward), M-b/M-f/C-Left/C-Right (word moves), C-y
-- (yank the last kill), Up/Down (history), Tab (complete the common prefix;
-- a second Tab shows the candidates, more Tabs cycle through them, S-Tab
-- back, Esc puts the word back), Enter, Esc.
--
-- The text is one string and a byte cursor. An edit costs a copy of the line
-- (a string), never a pass per character; a view measures only a window
-- around the cursor, so a 1 MB paste stays as quick to edit and draw as a
-- short line.
local P = require("vcli.tui.prims")

local I = {}
I.__index = I

local sub, byte, find, rep, gsub = string.sub, string.byte, string.find, string.rep, string.gsub
local max, floor = math.max, math.floor

-- the names the terminal decoder gives keys (docs/tui.md): not text
local NAMED = {
  Enter = true, Esc = true, Tab = true, Backspace = true, Up = true, Down = true, Left = true, Right = true,
  Home = true, End = true, PageUp = true, PageDown = true, Delete = true, Insert = true, Space = true,
  Mouse = true, FocusIn = true, FocusOut = true,
}
local function is_key_name(k)
  if NAMED[k] then return true end
  if find(k, "^[CMS]%-.") or find(k, "^F%d%d?$") or find(k, "^CSI%-") then return true end
  return false
end

-- text for a one-line field: tabs and line ends become spaces, other
-- control characters go
local function clean(s)
  if find(s, "%c") then
    s = gsub(s, "\r\n", " ")
    s = gsub(s, "[\t\r\n]", " ")
    s = gsub(s, "%c", "")
  end
  return s
end
I.clean = clean

local function is_cont(b) return b and b >= 0x80 and b < 0xC0 end

-- the character boundary before / after byte offset pos of s
local function prev_boundary(s, pos)
  if pos <= 0 then return 0 end
  local st = max(1, pos - 63)
  while st > 1 and is_cont(byte(s, st)) do st = st - 1 end
  local chars = P.split(sub(s, st, pos))
  local last = chars[#chars]
  if not last then return pos - 1 end
  return pos - #last
end

local function next_boundary(s, pos)
  if pos >= #s then return #s end
  local chars = P.split(sub(s, pos + 1, pos + 64))
  local first = chars[1]
  if not first or first == "" then return pos + 1 end
  return pos + #first
end

-- word characters for M-b/M-f: letters, digits, _ and anything not ASCII
local function is_word(b) return b and (b >= 0x80 or (b >= 48 and b <= 57) or (b >= 65 and b <= 90)
  or (b >= 97 and b <= 122) or b == 95) end
local function is_space(b) return b == 32 end

local function word_back(s, pos, pred)
  local p = pos
  while p > 0 and not pred(byte(s, p)) do p = p - 1 end
  while p > 0 and pred(byte(s, p)) do p = p - 1 end
  return p
end
local function word_forward(s, pos, pred)
  local n, p = #s, pos
  while p < n and not pred(byte(s, p + 1)) do p = p + 1 end
  while p < n and pred(byte(s, p + 1)) do p = p + 1 end
  return p
end
local function not_space(b) return b ~= nil and not is_space(b) end

function I.new(opts)
  opts = opts or {}
  local s = clean(tostring(opts.text or ""))
  local i = setmetatable({
    prompt = clean(tostring(opts.prompt or "")), prompt_style = opts.prompt_style or "input",
    s = s, pos = #s, off = 0, cx = nil, history = opts.history, complete = opts.complete,
    kill = "",
  }, I)
  return i
end

function I:text() return self.s end

function I:set_text(s)
  s = clean(tostring(s or ""))
  self.s, self.pos, self.off = s, #s, 0
  self.hist, self.menu_state, self.tab_pending = nil, nil, nil
  self.candidates, self.selected = nil, nil
  self.cx = nil
end

-- replace bytes (a, b] of the text with t; the cursor goes after t
function I:_replace(a, b, t)
  local s = self.s
  self.s = sub(s, 1, a) .. t .. sub(s, b + 1)
  self.pos = a + #t
  if self.off > a then self.off = a end
end

function I:insert(t)
  t = clean(tostring(t or ""))
  if t == "" then return true end
  self:_close_menu()
  self.tab_pending = nil
  self:_replace(self.pos, self.pos, t)
  return true
end

function I:_kill(a, b)
  if b > a then
    self.kill = sub(self.s, a + 1, b)
    self:_replace(a, b, "")
  end
  self.pos = a
end

-- ------------------------------------------------------------- history
function I:_entries()
  local h = self.history
  if type(h) ~= "table" then return {} end
  if type(h.entries) == "function" then
    local ok, e = pcall(h.entries, h)
    return ok and type(e) == "table" and e or {}
  end
  if type(h.entries) == "table" then return h.entries end -- a vcli.shell.history
  return h
end

function I:_history(d)
  local hs = self.hist
  if not hs then
    if d > 0 then return end
    local list = self:_entries()
    if #list == 0 then return end
    hs = { list = list, i = #list + 1, draft = self.s }
    self.hist = hs
  end
  local list, i = hs.list, hs.i
  repeat
    i = i + d
  until i < 1 or i > #list or list[i] ~= self.s
  if i < 1 then return end
  if i > #list then
    self.hist = nil
    self:set_text(hs.draft)
    return
  end
  hs.i = i
  local s = clean(tostring(list[i]))
  self.s, self.pos, self.off = s, #s, 0
end

-- ------------------------------------------------------------ completion
local function word_of(c)
  if type(c) == "table" then return tostring(c[1] or c.text or c.word or "") end
  return tostring(c)
end
I.word_of = word_of

local function common_prefix(items)
  local p = word_of(items[1])
  for k = 2, #items do
    local w = word_of(items[k])
    local n = 0
    local lim = math.min(#p, #w)
    while n < lim and byte(p, n + 1) == byte(w, n + 1) do n = n + 1 end
    p = sub(p, 1, n)
    if p == "" then break end
  end
  -- end on a character boundary
  local n = #p
  while n > 0 and is_cont(byte(p, n)) do n = n - 1 end
  if n > 0 and byte(p, n) >= 0xC0 then
    local need = byte(p, n) >= 0xF0 and 4 or byte(p, n) >= 0xE0 and 3 or 2
    if #p - n + 1 < need then p = sub(p, 1, n - 1) end
  end
  return p
end
I.common_prefix = common_prefix

function I:_word_start(items)
  local st = type(items) == "table" and tonumber(items.start)
  if st then return math.min(max(0, floor(st) - 1), self.pos) end
  local before = sub(self.s, 1, self.pos)
  local p = #before
  while p > 0 and not is_space(byte(before, p)) do p = p - 1 end
  return p
end

function I:_close_menu()
  self.menu_state, self.candidates, self.selected = nil, nil, nil
end

function I:_tab(d)
  local m = self.menu_state
  if m then   -- cycling
    local n = #m.items
    local sel = m.sel or 0
    if d > 0 then sel = sel % n + 1 else sel = sel <= 1 and n or sel - 1 end
    m.sel = sel
    self.selected = sel
    self:_replace(m.start, self.pos, clean(word_of(m.items[sel])))
    return
  end
  local tp = self.tab_pending
  if tp then   -- the second Tab: show them
    self.tab_pending = nil
    self.menu_state = { items = tp.items, start = tp.start, s = self.s, pos = self.pos }
    self.candidates, self.selected = tp.items, nil
    return
  end
  if type(self.complete) ~= "function" then return end
  local ok, items, prefix = pcall(self.complete, self.s, self.pos)
  if not ok or type(items) ~= "table" or #items == 0 then return end
  local start = self:_word_start(items)
  local word = sub(self.s, start + 1, self.pos)
  if #items == 1 then
    self:_replace(start, self.pos, clean(word_of(items[1])))
    return
  end
  local lcp = type(prefix) == "string" and prefix or common_prefix(items)
  lcp = clean(lcp)
  if #lcp >= #word and lcp ~= word and lcp:lower():sub(1, #word) == word:lower() then
    self:_replace(start, self.pos, lcp)
  end
  self.tab_pending = { items = items, start = start }
end

-- ------------------------------------------------------------------ keys
local EDIT = {}

EDIT.Backspace = function(self)
  if self.pos > 0 then self:_replace(prev_boundary(self.s, self.pos), self.pos, "") end
end
EDIT["C-h"] = EDIT.Backspace
EDIT.Delete = function(self)
  if self.pos < #self.s then
    local p = self.pos
    self:_replace(p, next_boundary(self.s, p), "")
    self.pos = p
  end
end
EDIT["C-d"] = EDIT.Delete
EDIT.Left = function(self) self.pos = prev_boundary(self.s, self.pos) end
EDIT["C-b"] = EDIT.Left
EDIT.Right = function(self) self.pos = next_boundary(self.s, self.pos) end
EDIT["C-f"] = EDIT.Right
EDIT.Home = function(self) self.pos = 0 end
EDIT["C-a"] = EDIT.Home
EDIT.End = function(self) self.pos = #self.s end
EDIT["C-e"] = EDIT.End
EDIT["C-u"] = function(self) self:_kill(0, self.pos) end
EDIT["C-k"] = function(self)
  local p = self.pos
  self:_kill(p, #self.s)
  self.pos = p
end
EDIT["C-w"] = function(self) self:_kill(word_back(self.s, self.pos, not_space), self.pos) end
EDIT["M-Backspace"] = function(self) self:_kill(word_back(self.s, self.pos, is_word), self.pos) end
EDIT["M-d"] = function(self)
  local p = self.pos
  self:_kill(p, word_forward(self.s, p, is_word))
  self.pos = p
end
EDIT["M-b"] = function(self) self.pos = word_back(self.s, self.pos, is_word) end
EDIT["C-Left"] = EDIT["M-b"]
EDIT["M-Left"] = EDIT["M-b"]
EDIT["M-f"] = function(self) self.pos = word_forward(self.s, self.pos, is_word) end
EDIT["C-Right"] = EDIT["M-f"]
EDIT["M-Right"] = EDIT["M-f"]
EDIT["C-y"] = function(self) if self.kill ~= "" then self:_replace(self.pos, self.pos, self.kill) end end
EDIT.Up = function(self) self:_history(-1) end
EDIT["C-p"] = EDIT.Up
EDIT.Down = function(self) self:_history(1) end
EDIT["C-n"] = EDIT.Down

function I:key(k)
  if type(k) ~= "string" or k == "" then return nil end
  if k == "Tab" or k == "S-Tab" then
    if k == "S-Tab" and not self.menu_state then return true end
    self:_tab(k == "Tab" and 1 or -1)
    return true
  end
  self.tab_pending = nil
  if self.menu_state then
    local m = self.menu_state
    self:_close_menu()
    if k == "Esc" then   -- the menu goes, the word comes back
      self.s, self.pos = m.s, m.pos
      if self.off > self.pos then self.off = 0 end
      return true
    end
  end
  if k == "Enter" then self.submitted = self.s return true end
  if k == "Esc" then self.cancelled = true return true end
  if k == "Space" then return self:insert(" ") end
  local f = EDIT[k]
  if f then f(self) return true end
  if is_key_name(k) then return nil end
  return self:insert(k)
end

-- ------------------------------------------------------------------ view
-- the byte offset b <= pos from which s[b+1..pos] is at most cols wide (as
-- many characters as fit), measured over a window before pos
function I:_back_start(pos, cols)
  local s = self.s
  if pos <= 0 then return 0 end
  local ws = max(1, pos - (cols * 4 + 64))
  while ws > 1 and is_cont(byte(s, ws)) do ws = ws - 1 end
  local chars, widths = P.split(sub(s, ws, pos))
  local acc, b = 0, pos
  for k = #chars, 1, -1 do
    if acc + widths[k] > cols then return b end
    acc = acc + widths[k]
    b = b - #chars[k]
  end
  return b
end

local function clip(s, cols)
  if P.width(s) <= cols then return s end
  local chars, widths = P.split(s)
  local out, acc = {}, 0
  for k = 1, #chars do
    if acc + widths[k] > cols then break end
    out[#out + 1] = chars[k]
    acc = acc + widths[k]
  end
  return table.concat(out)
end

function I:_layout(w)
  w = max(1, floor(tonumber(w) or 80))
  self.last_w = w
  local prompt = self.prompt
  local pw = P.width(prompt)
  if pw > w - 1 then prompt = clip(prompt, max(0, w - 1)); pw = P.width(prompt) end
  local avail = max(1, w - pw)
  local s, pos = self.s, self.pos
  if self.off > pos or self.off > #s then self.off = self:_back_start(pos, floor(avail / 4)) end
  local b = self:_back_start(pos, avail - 1)
  if b > self.off then self.off = b end
  -- the visible characters from off
  local off = self.off
  local chars, widths = P.split(sub(s, off + 1, off + avail * 4 + 64))
  local out, acc, bytes, cx, at = {}, 0, 0, nil, nil
  for k = 1, #chars do
    if bytes >= pos - off and not cx then cx, at = acc, k end
    if acc + widths[k] > avail then break end
    out[#out + 1] = chars[k]
    acc = acc + widths[k]
    bytes = bytes + #chars[k]
  end
  if not cx then cx = acc end
  self.cx = pw + cx
  return prompt, pw, out, acc, cx, at, w
end

function I:view(w, opts)
  local prompt, pw, out, acc, cx, at
  prompt, pw, out, acc, cx, at, w = self:_layout(w)
  local pad = rep(" ", max(0, w - pw - acc))
  local cs = opts and opts.cursor
  if not cs then
    return { prompt, self.prompt_style, table.concat(out) .. pad, "input" }
  end
  local before, cur, after
  if at and out[at] then
    before = table.concat(out, "", 1, at - 1)
    cur = out[at]
    after = table.concat(out, "", at + 1) .. pad
  else
    before = table.concat(out)
    cur, after = " ", sub(pad, 2)
    if pw + cx >= w then cur = "" end
  end
  return { prompt, self.prompt_style, before, "input", cur, cs, after, "input" }
end

function I:cursor()
  self:_layout(self.last_w or 80)
  return self.cx
end

-- the candidates on one line, the chosen one kept in sight
function I:menu(w)
  local items = self.candidates
  if not items or #items == 0 then return {} end
  w = max(1, floor(tonumber(w) or 80))
  local words, first = {}, 1
  for k = 1, #items do words[k] = clean(word_of(items[k])) end
  local sel = self.selected
  if sel then   -- start late enough that the chosen one fits (after "‹ ", before "…")
    local acc = P.width(words[sel])
    first = sel
    while first > 1 and acc + 2 + P.width(words[first - 1]) <= w - 5 do
      first = first - 1
      acc = acc + 2 + P.width(words[first])
    end
  end
  local segs = {}
  if first > 1 then segs[#segs + 1] = "‹ "; segs[#segs + 1] = "dim" end
  for k = first, #words do
    if k > first then segs[#segs + 1] = "  "; segs[#segs + 1] = false end
    segs[#segs + 1] = words[k]; segs[#segs + 1] = k == sel and "selected" or "dim"
  end
  local total = 0
  for k = 1, #segs, 2 do total = total + P.width(segs[k]) end
  if total <= w then return segs end
  -- cut to w - 1 columns and say there is more
  local line, used = {}, 0
  for k = 1, #segs, 2 do
    local t = clip(segs[k], w - 1 - used)
    if t ~= "" then line[#line + 1] = t; line[#line + 1] = segs[k + 1] end
    used = used + P.width(t)
    if used >= w - 1 or t ~= segs[k] then break end
  end
  line[#line + 1] = "…"; line[#line + 1] = "dim"
  return line
end

return I
