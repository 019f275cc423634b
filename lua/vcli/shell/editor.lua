-- vcli.shell.editor — the line editor: emacs keys, UTF-8 and wide
-- characters, multi-line input, history with Ctrl-R search, and a Tab
-- completion menu. Draws through the core's cell grid (inline mode), so a
-- keystroke redraws only the cells that changed.
local term = require("vcli.term")
local complete = require("vcli.shell.complete")
local words_mod = require("vcli.shell.words")

local M = {}
local E = {}
E.__index = E

local ST = {
  prompt = term.style({ fg = 4, bold = true }),
  cont = term.style({ dim = true }),
  menu = 0,
  menu_sel = term.style({ reverse = true }),
  menu_desc = term.style({ dim = true }),
  info = term.style({ dim = true }),
  search = term.style({ fg = 3 }),
}
M.styles = ST
M.MAX_MENU_ROWS = 10

-- opts: prompt (fn -> string or {{text, style}...}), history, complete (fn(line,
-- pos) -> result), incomplete (fn(line) -> bool), bindings (key -> fn(ed)), write
function M.new(opts)
  local ed = setmetatable({}, E)
  ed.opts = opts
  ed.write = opts.write or function(s) term.write(s) end
  ed.grid = term.grid(80, 1)
  ed.kill = ""
  ed:reset()
  return ed
end

function E:reset()
  self.chars, self.widths, self.pos = {}, {}, 0
  self.hist_index, self.hist_saved = nil, nil
  self.menu, self.search = nil, nil
  self.message = nil
  self.last_key = nil
end

-- ------------------------------------------------------------ buffer basics
function E:line() return table.concat(self.chars) end
function E:byte_pos()
  local n = 0
  for i = 1, self.pos do n = n + #self.chars[i] end
  return n
end

function E:set_line(s, pos)
  local chars, widths = term.split(s)
  self.chars, self.widths = chars, widths
  self.pos = pos or #chars
end

function E:insert(s)
  local chars, widths = term.split(s)
  local limit = self.opts.max_line or 65536
  local len = #self:line()
  if len + #s > limit then
    self.message = ("input too long: the limit is %d bytes"):format(limit)
    return false
  end
  for i = 1, #chars do
    table.insert(self.chars, self.pos + i, chars[i])
    table.insert(self.widths, self.pos + i, widths[i])
  end
  self.pos = self.pos + #chars
  return true
end

function E:delete_range(a, b) -- chars a..b (1-based, inclusive); returns the text
  if b < a then return "" end
  local removed = {}
  for _ = a, b do
    table.insert(removed, table.remove(self.chars, a))
    table.remove(self.widths, a)
  end
  if self.pos >= b then self.pos = self.pos - (b - a + 1)
  elseif self.pos >= a then self.pos = a - 1 end
  return table.concat(removed)
end

local function is_word_char(c)
  return c:match("^[%w_]") ~= nil or #c > 1
end

function E:word_left(pred)
  pred = pred or is_word_char
  local p = self.pos
  while p > 0 and not pred(self.chars[p]) do p = p - 1 end
  while p > 0 and pred(self.chars[p]) do p = p - 1 end
  return p
end

function E:word_right(pred)
  pred = pred or is_word_char
  local p, n = self.pos, #self.chars
  while p < n and not pred(self.chars[p + 1]) do p = p + 1 end
  while p < n and pred(self.chars[p + 1]) do p = p + 1 end
  return p
end

local function not_space(c) return not c:match("^%s") end

-- start/end (char indexes) of the current line within a multi-line buffer
function E:line_bounds()
  local s = self.pos
  while s > 0 and self.chars[s] ~= "\n" do s = s - 1 end
  local e = self.pos
  while e < #self.chars and self.chars[e + 1] ~= "\n" do e = e + 1 end
  return s, e
end

-- --------------------------------------------------------------- actions
local A = {}
M.actions = A

function A.left(ed) if ed.pos > 0 then ed.pos = ed.pos - 1 end end
function A.right(ed) if ed.pos < #ed.chars then ed.pos = ed.pos + 1 end end
function A.home(ed) ed.pos = (ed:line_bounds()) end
function A.end_(ed) local _, e = ed:line_bounds(); ed.pos = e end
function A.word_left(ed) ed.pos = ed:word_left() end
function A.word_right(ed) ed.pos = ed:word_right() end
function A.backspace(ed) if ed.pos > 0 then ed:delete_range(ed.pos, ed.pos) end end
function A.delete(ed) if ed.pos < #ed.chars then ed:delete_range(ed.pos + 1, ed.pos + 1) end end
function A.kill_word_back(ed) -- Ctrl-W: back to whitespace
  local p = ed:word_left(not_space)
  ed.kill = ed:delete_range(p + 1, ed.pos)
end
function A.kill_alnum_back(ed)
  local p = ed:word_left()
  ed.kill = ed:delete_range(p + 1, ed.pos)
end
function A.kill_word_fwd(ed)
  local p = ed:word_right()
  ed.kill = ed:delete_range(ed.pos + 1, p)
end
function A.kill_to_start(ed)
  local s = ed:line_bounds()
  ed.kill = ed:delete_range(s + 1, ed.pos)
end
function A.kill_to_end(ed)
  local _, e = ed:line_bounds()
  if e == ed.pos and e < #ed.chars then e = e + 1 end -- at end of a line: join
  ed.kill = ed:delete_range(ed.pos + 1, e)
end
function A.yank(ed) if ed.kill ~= "" then ed:insert(ed.kill) end end
function A.transpose(ed)
  local p = ed.pos
  if p == #ed.chars then p = p - 1 end
  if p < 1 then return end
  ed.chars[p], ed.chars[p + 1] = ed.chars[p + 1], ed.chars[p]
  ed.widths[p], ed.widths[p + 1] = ed.widths[p + 1], ed.widths[p]
  ed.pos = p + 1
end
function A.newline(ed) ed:insert("\n") end
function A.clear_screen(ed) ed.write("\27[H\27[2J"); ed.grid:finish_inline(); ed.grid:invalidate(); ed.fresh = true end

function A.history_prev(ed)
  local h = ed.opts.history
  if not h or h:size() == 0 then return end
  if not ed.hist_index then ed.hist_index, ed.hist_saved = h:size() + 1, ed:line() end
  if ed.hist_index <= 1 then return end
  ed.hist_index = ed.hist_index - 1
  ed:set_line(h:get(ed.hist_index))
end
function A.history_next(ed)
  local h = ed.opts.history
  if not h or not ed.hist_index then return end
  ed.hist_index = ed.hist_index + 1
  if ed.hist_index > h:size() then
    ed:set_line(ed.hist_saved or "")
    ed.hist_index, ed.hist_saved = nil, nil
  else
    ed:set_line(h:get(ed.hist_index))
  end
end
function A.up(ed)
  local s = ed:line_bounds()
  if s == 0 then return A.history_prev(ed) end
  -- move to the same column on the previous line of a multi-line input
  local col = ed.pos - s
  local ps = s - 1
  while ps > 0 and ed.chars[ps] ~= "\n" do ps = ps - 1 end
  ed.pos = math.min(ps + col, s - 1)
end
function A.down(ed)
  local _, e = ed:line_bounds()
  if e == #ed.chars then return A.history_next(ed) end
  local s = ed:line_bounds()
  local col = ed.pos - s
  local ns = e + 1
  local ne = ns
  while ne < #ed.chars and ed.chars[ne + 1] ~= "\n" do ne = ne + 1 end
  ed.pos = math.min(ns + col, ne)
end

function A.search(ed)
  if not ed.opts.history then return end
  if ed.search then
    -- Ctrl-R again: the next older match
    local i = ed.opts.history:search_back(ed.search.query, ed.search.index or (ed.opts.history:size() + 1))
    if i then ed.search.index = i else ed.search.failed = true end
  else
    ed.search = { query = "", index = nil, saved = ed:line(), saved_pos = ed.pos }
  end
  ed:search_apply()
end

function E:search_apply()
  local s = self.search
  local h = self.opts.history
  if s.query == "" then return end
  local from = s.index and (s.index + 1) or (h:size() + 1)
  local i = h:search_back(s.query, from)
  if i then
    s.index, s.failed = i, false
    local line = h:get(i)
    local at = line:find(s.query, 1, true)
    self:set_line(line)
    -- cursor at the match
    local chars = term.split(line:sub(1, at - 1))
    self.pos = #chars
  else
    s.failed = true
  end
end

function E:search_key(ev)
  local s = self.search
  if ev.text or ev.paste then
    s.query = s.query .. (ev.text or ev.paste)
    s.index = s.index -- keep searching from the current match
    if s.index then s.index = s.index + 1 end
    s.index = nil
    self:search_apply()
    return true
  end
  local k = ev.key
  if k == "C-r" then A.search(self) return true end
  if k == "Backspace" then
    local chars = term.split(s.query)
    table.remove(chars)
    s.query = table.concat(chars)
    s.index = nil
    if s.query == "" then self:set_line(s.saved, s.saved_pos) else self:search_apply() end
    return true
  end
  if k == "C-g" or k == "Esc" or k == "C-c" then
    self:set_line(s.saved, s.saved_pos)
    self.search = nil
    return true
  end
  -- anything else: keep the match and handle the key normally
  self.search = nil
  self.hist_index = nil
  return false
end

-- Tab: complete, show a menu, or cycle it.
function A.complete(ed, backwards)
  if ed.menu and #ed.menu.items > 1 then
    local m = ed.menu
    local n = #m.items
    if backwards then m.sel = ((m.sel or 1) - 2) % n + 1 else m.sel = (m.sel or 0) % n + 1 end
    ed:menu_insert(m.items[m.sel].word, false)
    return
  end
  local line, bpos = ed:line(), ed:byte_pos()
  local res = ed.opts.complete and ed.opts.complete(line, bpos) or complete.complete(line, bpos)
  local items = res.items
  if #items == 0 then ed.message = "no completions"; ed.menu = nil return end
  ed.menu = { start = res.start, partial = res.partial, quote = res.quote, items = items,
              line = line, bpos = bpos }
  if #items == 1 then
    ed:menu_insert(items[1].word, true)
    ed.menu = nil
    return
  end
  local prefix = complete.common_prefix(items)
  if #prefix > #res.partial and prefix:sub(1, #res.partial) == res.partial then
    ed:menu_insert(prefix, false)
    ed.menu.line, ed.menu.bpos = ed:line(), ed:byte_pos()
    ed.menu.start = res.start
  end
end

-- Replace the word being completed with word (quoted when needed).
function E:menu_insert(word, final)
  local m = self.menu
  local before = m.line:sub(1, m.start)
  local after = m.line:sub(m.bpos + 1)
  local w = word
  -- Inside an open quote the word is part of an expression (PromQL, a
  -- selector): leave the quote open and add no space, the user goes on typing.
  if m.quote then w = m.quote .. word
  elseif word:find("[%s'\"\\;]") then w = words_mod.quote(word) end
  if final and not m.quote and not w:match("[=/:]$") and not after:match("^%s") then w = w .. " " end
  local new = before .. w
  self:set_line(new .. after)
  self.pos = #term.split(new)
end

function A.accept(ed)
  if ed.menu and ed.menu.sel then
    local m = ed.menu
    ed:menu_insert(m.items[m.sel].word, true)
    ed.menu = nil
    return
  end
  local line = ed:line()
  if ed.opts.incomplete and ed.opts.incomplete(line) and ed.pos == #ed.chars then
    ed:insert("\n")
    return
  end
  ed.accepted = line
end

-- F2: the full-screen interface (the `ui` command); the line typed so far waits in the history
function A.open_ui(ed)
  local line = ed:line()
  if line:match("%S") and ed.opts.history then ed.opts.history:add(line) end
  ed.accepted = "ui"
end

function A.eof_or_delete(ed)
  if #ed.chars == 0 then ed.eof = true else A.delete(ed) end
end

function A.cancel(ed)
  ed.cancelled = true
end

M.keymap = {
  F2 = A.open_ui,
  ["C-a"] = A.home, Home = A.home, ["C-e"] = A.end_, End = A.end_,
  ["C-b"] = A.left, Left = A.left, ["C-f"] = A.right, Right = A.right,
  ["M-b"] = A.word_left, ["C-Left"] = A.word_left, ["M-Left"] = A.word_left,
  ["M-f"] = A.word_right, ["C-Right"] = A.word_right, ["M-Right"] = A.word_right,
  Backspace = A.backspace, ["C-h"] = A.backspace, Delete = A.delete,
  ["C-d"] = A.eof_or_delete, ["C-w"] = A.kill_word_back, ["M-Backspace"] = A.kill_alnum_back,
  ["C-Backspace"] = A.kill_alnum_back,
  ["M-d"] = A.kill_word_fwd, ["C-u"] = A.kill_to_start, ["C-k"] = A.kill_to_end,
  ["C-y"] = A.yank, ["C-t"] = A.transpose, ["C-l"] = A.clear_screen,
  Up = A.up, ["C-p"] = A.history_prev, Down = A.down, ["C-n"] = A.history_next,
  ["C-r"] = A.search, Tab = A.complete, ["S-Tab"] = function(ed) A.complete(ed, true) end,
  Enter = A.accept, ["M-Enter"] = A.newline, ["C-j"] = A.accept,
  ["C-c"] = A.cancel,
}

-- Handle one decoded key event. Returns nothing; sets ed.accepted / ed.eof /
-- ed.cancelled for the caller.
function E:handle(ev)
  self.message = nil
  if self.search and self:search_key(ev) then return end
  local k = ev.key
  local menu_keys = { Tab = true, ["S-Tab"] = true, Enter = true }
  if self.menu and not (k and menu_keys[k]) then
    if k == "Esc" or k == "C-g" then self.menu = nil return end
    self.menu = nil
  end
  if ev.text then
    self.hist_index = nil
    self:insert(ev.text)
    return
  end
  if ev.paste then
    self:insert((ev.paste:gsub("\r\n?", "\n")))
    return
  end
  if not k then return end
  local user = self.opts.bindings and self.opts.bindings[k]
  if user then
    local ok, err = pcall(user, self)
    if not ok then self.message = "binding " .. k .. ": " .. tostring(err):gsub("\n.*", "") end
    return
  end
  local act = M.keymap[k]
  if act then
    if act ~= A.up and act ~= A.down and act ~= A.history_prev and act ~= A.history_next then self.hist_index = nil end
    act(self)
  end
end

-- --------------------------------------------------------------- rendering
local function prompt_segments(p)
  if type(p) == "string" then return { { p, ST.prompt } } end
  if type(p) == "table" then
    local out = {}
    for _, seg in ipairs(p) do
      if type(seg) == "string" then table.insert(out, { seg, 0 }) else table.insert(out, { tostring(seg[1]), seg[2] or 0 }) end
    end
    return out
  end
  return { { "vcli> ", ST.prompt } }
end

function E:prompt()
  local p = self.opts.prompt
  if type(p) == "function" then
    local ok, res = pcall(p)
    if ok then p = res else p = "vcli> " end
  end
  return prompt_segments(p)
end

-- Lay out prompt + buffer into rows of cells; returns rows (each a list of
-- {text, style}), cursor row/col.
function E:layout(width)
  local rows = { {} }
  local x = 0
  local crow, ccol = 0, 0
  local function put(s, w, style)
    if x + w > width then
      table.insert(rows, {})
      x = 0
    end
    table.insert(rows[#rows], { s, style, x })
    x = x + w
  end
  local segs
  if self.search then
    segs = { { ("(reverse-i-search%s)'"):format(self.search.failed and " failed" or ""), ST.search },
             { self.search.query, 0 }, { "': ", ST.search } }
  else
    segs = self:prompt()
  end
  for _, seg in ipairs(segs) do
    local chars, widths = term.split(seg[1])
    for i = 1, #chars do put(chars[i], widths[i], seg[2]) end
  end
  local n = #self.chars
  for i = 0, n do
    if i == self.pos then
      if x >= width then table.insert(rows, {}); x = 0 end
      crow, ccol = #rows - 1, x
    end
    if i == n then break end
    local c = self.chars[i + 1]
    if c == "\n" then
      table.insert(rows, {})
      x = 0
      put("… ", 2, ST.cont)
    elseif c == "\t" then
      put(" ", 1, 0)
    else
      put(c, self.widths[i + 1], 0)
    end
  end
  return rows, crow, ccol
end

function E:menu_rows(width)
  local m = self.menu
  if not m or #m.items < 2 then return {} end
  local items = m.items
  local out = {}
  local has_desc = false
  for _, it in ipairs(items) do if it.desc and it.desc ~= "" then has_desc = true break end end
  local maxw = 0
  for _, it in ipairs(items) do maxw = math.max(maxw, term.width(it.word)) end
  if has_desc and #items <= M.MAX_MENU_ROWS then
    for i, it in ipairs(items) do
      local st = (m.sel == i) and ST.menu_sel or ST.menu
      local row = { { it.word, st, 0 } }
      if it.desc and maxw + 4 < width then
        table.insert(row, { "  " .. it.desc, ST.menu_desc, maxw + 2 })
      end
      table.insert(out, row)
    end
    return out
  end
  local colw = math.min(maxw + 2, width)
  local ncols = math.max(1, math.floor(width / colw))
  local nrows = math.ceil(#items / ncols)
  local first = 0
  local shown = math.min(nrows, M.MAX_MENU_ROWS)
  if m.sel then
    local r = (m.sel - 1) % nrows
    if r >= shown then first = r - shown + 1 end
  end
  for r = first, first + shown - 1 do
    local row = {}
    for c = 0, ncols - 1 do
      local idx = c * nrows + r + 1
      local it = items[idx]
      if it then table.insert(row, { it.word, (m.sel == idx) and ST.menu_sel or ST.menu, c * colw }) end
    end
    table.insert(out, row)
  end
  if nrows > shown then
    table.insert(out, { { ("… %d candidates; Tab cycles"):format(#items), ST.info, 0 } })
  end
  return out
end

-- Draw the current state; only changed cells are written.
function E:render()
  local width, height = term.size()
  local rows, crow, ccol = self:layout(width)
  local extra = self:menu_rows(width)
  if self.message then table.insert(extra, { { self.message, ST.info, 0 } }) end
  -- at most a screenful: a window around the cursor
  local maxrows = math.max(1, height - 1 - #extra)
  local first = 0
  if #rows > maxrows then
    first = math.max(0, math.min(crow - math.floor(maxrows / 2), #rows - maxrows))
  end
  local nshow = math.min(#rows, maxrows)
  local total = nshow + math.min(#extra, math.max(0, height - 1 - nshow))
  local g = self.grid
  g:resize(width, total)
  g:clear()
  for r = 0, nshow - 1 do
    for _, cell in ipairs(rows[first + r + 1]) do g:put(cell[3], r, cell[1], cell[2]) end
  end
  for r = 1, total - nshow do
    for _, cell in ipairs(extra[r]) do g:put(cell[3], nshow + r - 1, cell[1], cell[2], width - cell[3]) end
  end
  self.write(g:flush("inline", ccol, crow - first))
  self.cursor_row = crow - first
end

-- Text from elsewhere (a plugin's background notice) above the line being
-- edited: the input is erased, the text written, the input drawn again below.
function E:print_above(text)
  local up = self.cursor_row or 0
  self.grid:finish_inline() -- forget what was drawn (its cursor motion is not written)
  self.write("\r" .. (up > 0 and ("\27[" .. up .. "A") or "") .. "\27[J" .. text:gsub("\r?\n", "\r\n"))
  self:render()
end

-- Leave the input on screen and move below it (after Enter or Ctrl-C).
function E:finish(suffix)
  self.menu, self.message = nil, nil
  self:render()
  self.write((suffix or "") .. self.grid:finish_inline())
end

function E:resized()
  self.grid:invalidate()
end

return M
