-- vcli.tui.app — the full-screen interface: the alternate screen, a header,
-- breadcrumbs, the current panel, a status/flash line and the command bar,
-- with overlays (help, dialogs, pickers) on top.
--   app.run{panel = NAME, args = {...}} -> status    in a task; returns on :q / Ctrl-C
--   app.new{width, height, write = fn(s)} -> a      off-screen (specs): a:key(name), a:render(), a:text()
-- Model–update–view: panels draw on request (their view does no I/O); data
-- arriving in a plugin marks its panel dirty (vcli.tui.dirty) and the next
-- loop turn draws every dirty thing in one flush. Nothing draws from a
-- callback. Keys are handled one at a time in a task (an action may wait on
-- the network); keys typed meanwhile queue, Ctrl-C abandons the wait.
local term = require("vcli.term")
local loop = require("vcli.loop")
local async = require("vcli.async")
local vm = require("vcli.vm")
local host = require("vcli.tui.host")
local styles = require("vcli.tui.styles")
local keymap = require("vcli.tui.keymap")
local input_mod = require("vcli.tui.input")
local dialog = require("vcli.tui.dialog")
local menu = require("vcli.tui.menu")
local P = require("vcli.tui.prims")

local M = {}
local App = {}
App.__index = App

local ENTER = "\27[?1049h\27[H\27[2J"
local LEAVE = "\27[0m\27[?25h\27[?1049l"
local MIN_W, MIN_H = 40, 8

-- The interface's own actions (the panel's come after; ui.keybindings
-- rebinds either by name).
M.ACTIONS = {
  { name = "command", key = ":", help = "Command (:pods, :ns, :ctx, :q)", group = "General" },
  { name = "filter", key = "/", help = "Filter (regex, !inverse, -l label, -f fuzzy)", group = "General" },
  { name = "help", key = "?", help = "Help", group = "General" },
  { name = "back", key = "Esc", help = "Back / clear filter", group = "General" },
  { name = "crumb_back", key = "[", help = "Previous view", group = "General" },
  { name = "crumb_forward", key = "]", help = "Next view", group = "General" },
  { name = "quit", key = "C-c", help = "Quit (back to the shell)", group = "General" },
}
local HOST_ACTION = {}
for _, a in ipairs(M.ACTIONS) do HOST_ACTION[a.name] = true end

local function setting(key)
  local ok, config = pcall(require, "vcli.config")
  if ok then return config.setting(key) end
end

local function words_of(s)
  local out = {}
  for w in s:gmatch("%S+") do out[#out + 1] = w end
  return out
end

function M.new(opts)
  opts = opts or {}
  local a = setmetatable({}, App)
  a.w, a.h = opts.width or 80, opts.height or 24
  a.write = opts.write or function() end
  a.grid = term.grid(a.w, a.h)
  a.st = styles.new({ color = opts.color })
  a.stack, a.forward = {}, {}
  a.queue = {}
  a.frames = { n = 0, i = 0, ms = {}, cpu = {} }
  a.history = opts.history or {}
  a.bindings = opts.bindings or setting("ui.keybindings") or {}
  a.readonly = opts.readonly == true
  a.started = vm.now()
  return a
end

-- ------------------------------------------------------------- the stack
function App:current() return self.stack[#self.stack] end

function App:keymap_of(px)
  if px and px.keymap then return px.keymap end
  local acts = {}
  for _, x in ipairs(M.ACTIONS) do acts[#acts + 1] = x end
  for _, x in ipairs(px and px.actions or {}) do acts[#acts + 1] = x end
  local km = keymap.new(acts, self.bindings)
  if px then px.keymap = km end
  if km.errors and #km.errors > 0 and not self.keymap_warned then
    self.keymap_warned = true
    self:flash(km.errors[1], "error")
  end
  return km
end

local function close_all(list)
  for i = #list, 1, -1 do list[i]:close(); list[i] = nil end
end

function App:push(px)
  close_all(self.forward)
  local cur = self:current()
  if cur then cur:call("blur") end
  self.stack[#self.stack + 1] = px
  px.dirty = true
  self:schedule()
end

-- Open a panel by name and push it (a task: opening may start its plugin).
function App:open(name, args)
  local px, err = host.open(name, args)
  if not px then self:flash(err, "error") return nil, err end
  self:push(px)
  return px
end

function App:defer(fn)
  loop.timer(0, function() async.spawn(fn, self) end)
end
-- A view a `:` command opened starts a new trail, as k9s's `:` does: the
-- views before it close (their watches with them: a trail of `:pods -A`,
-- `:dp`, `:pods -A` at 50 000 pods would hold two big lists). A view a key
-- opened (a drill-down) is pushed on the trail.
function App:defer_push(name, args)
  local root = self.in_command
  self:defer(function(a)
    local px = a:open(name, args)
    if px and root then a:make_root(px) end
  end)
end
function App:make_root(px)
  close_all(self.forward)
  for i = #self.stack, 1, -1 do
    local x = self.stack[i]
    if x ~= px then table.remove(self.stack, i); x:close() end
  end
  px.dirty = true
  self:schedule()
end

-- A panel whose plugin stopped (a reload): opened again in its place, once.
function App:reopen(px)
  if self.done or px.reopened then return end
  px.reopened = true
  loop.timer(100, function()
    async.spawn(function()
      local np = host.open(px.name, px.args)
      if not np then return end
      for _, list in ipairs({ self.stack, self.forward }) do
        for i, x in ipairs(list) do if x == px then list[i] = np end end
      end
      np.dirty = true
      self:schedule()
    end)
  end)
end

function App:back()
  if #self.stack <= 1 then self:flash("this is the first view (:q quits)", "info") return end
  local px = table.remove(self.stack)
  px:call("blur")
  table.insert(self.forward, px)
  local cur = self:current()
  cur.dirty = true
  cur:call("focus")
  self:schedule()
end

function App:forward_()
  local px = table.remove(self.forward)
  if not px then self:flash("no next view", "info") return end
  self:current():call("blur")
  self.stack[#self.stack + 1] = px
  px.dirty = true
  px:call("focus")
  self:schedule()
end

function App:quit()
  self.done = true
  if self.gc_timer then self.gc_timer:stop(); self.gc_timer = nil end
  close_all(self.forward)
  close_all(self.stack)
  if self.on_quit then self.on_quit() end
end

-- ------------------------------------------------------------- messages
function App:flash(msg, level)
  msg = tostring(msg):gsub("[\r\n]+", " ")
  self.flash_msg = { text = msg, level = level or "info", at = vm.now() }
  if self.flash_timer then self.flash_timer:stop() end
  self.flash_timer = loop.timer(5000, function()
    self.flash_timer = nil
    self.flash_msg = nil
    self:schedule()
  end)
  self:schedule()
end

function App:dirty(px)
  px.dirty, px.broken = true, nil
  if px == self:current() then self:schedule_soon() end
end

-- ------------------------------------------------------------- overlays
-- Show an overlay widget until it is done; returns its result.
function App:overlay_wait(w)
  return async.await(function(resume)
    self.overlay = w
    w.on_done = function(res) resume(res) end
    self:schedule()
    return function() if self.overlay == w then self.overlay = nil end end
  end)
end

function App:dialog(spec)
  spec = spec or {}
  local w
  local kind = spec.kind or "confirm"
  if kind == "confirm" then w = dialog.confirm(spec)
  elseif kind == "number" then w = dialog.number(spec)
  elseif kind == "form" then w = dialog.form(spec)
  elseif kind == "pick" then w = menu.pick(spec)
  else error(("vcli.tui.dialog: no dialog kind '%s' (confirm, number, form, pick)"):format(tostring(kind)), 0) end
  return self:overlay_wait(w)
end

function App:show_help()
  local px = self:current()
  local km = self:keymap_of(px)
  local ro = self:is_readonly()
  local sections = km:help_sections(function(a) return not (ro and a.mutates) end)
  -- moving is the same everywhere; the rest of a panel's plain keys (marks in
  -- a table, n/N in a text) come from its view: meta.nav = {{key, help}, …}
  local nav = { title = "Navigation", items = {
    { key = "j/k ↑/↓", help = "Down / up" }, { key = "g/G", help = "Top / bottom" },
    { key = "PgUp/PgDn", help = "Page up / down" } } }
  for _, it in ipairs(type(px and px.meta and px.meta.nav) == "table" and px.meta.nav or {}) do
    if type(it) == "table" and it.key and it.help then nav.items[#nav.items + 1] = { key = tostring(it.key), help = tostring(it.help) } end
  end
  table.insert(sections, nav)
  local h = menu.help({ title = "Help — " .. (px and (px.title or px.name) or "vcli"), sections = sections })
  self.overlay = h
  h.on_done = function() end
  self:schedule()
end

-- ------------------------------------------------------------- input line
function App:open_input(kind, prompt, text)
  local px = self:current()
  self.flash_msg = nil
  local inp = input_mod.new({
    prompt = prompt, text = text or "",
    history = kind == "command" and self.history or nil,
    complete = kind == "command" and function(t) return self:complete(t) end or nil,
  })
  self.input = { kind = kind, w = inp, px = px }
  self:schedule()
end

function App:complete(text)
  local out = {}
  local first = text:match("^%S*$")
  if first then
    for _, n in ipairs({ "q", "quit", "help", "suspend", "stats" }) do
      if n:sub(1, #text) == text then out[#out + 1] = n end
    end
    for _, k in ipairs(host.kinds()) do if k.name:sub(1, #text) == text then out[#out + 1] = k.name end end
  end
  local px = self:current()
  if px then
    local more = px:call("complete", text)
    for _, c in ipairs(type(more) == "table" and more or {}) do out[#out + 1] = c end
  end
  local seen, uniq = {}, {}
  for _, c in ipairs(out) do
    local word = type(c) == "table" and c[1] or c
    if not seen[word] then seen[word] = true; uniq[#uniq + 1] = c end
  end
  return uniq
end

function App:run_command(text)
  local ws = words_of(text)
  if #ws == 0 then return end
  if type(self.history.add) == "function" then self.history:add(text) else table.insert(self.history, text) end
  local c = ws[1]
  if c == "q" or c == "q!" or c == "quit" or c == "exit" then return self:quit() end
  if c == "help" or c == "?" then return self:show_help() end
  if c == "suspend" then return self:suspend() end
  if c == "stats" then return self:flash(self:stats_line(), "info") end
  -- a panel a plugin declares, by its exact name, before the current panel's
  -- own commands (the browser would take `:boom` for a resource type)
  for _, k in ipairs(host.kinds()) do
    if k.name == c then
      self:open(c, { words = { unpack(ws, 2) } })
      return
    end
  end
  -- the current view's commands, else those of the views under it (`:pods`
  -- typed in a describe view is the browser's list's command, as in k9s)
  for i = #self.stack, 1, -1 do
    local px = self.stack[i]
    if not px.closed then
      self.in_command = true
      local ok, err = px:call("command", ws)
      self.in_command = nil
      if ok then return end
      if err then return self:flash(err, "error") end
    end
  end
  self:flash(("unknown command '%s' (? shows the keys, :help the commands)"):format(c), "error")
end

function App:input_key(k, ev)
  local inp = self.input
  local w = inp.w
  if ev and ev.text then w:insert(ev.text) else w:key(k) end
  if inp.kind == "filter" and not w.cancelled then
    local text = w.submitted or w:text()
    local ok, err = inp.px:call("filter", text)
    if ok == nil and err then self.input.error = err else self.input.error = nil end
    inp.px.dirty = true
  end
  if w.submitted then
    local text = w.submitted
    self.input = nil
    if inp.kind == "filter" then inp.px.filter_text = text end
    if inp.kind == "command" then self:run_command(text)
    elseif inp.kind == "panel" and inp.on_submit then inp.on_submit(text) end
  elseif w.cancelled then
    self.input = nil
    if inp.kind == "filter" then inp.px:call("filter", "") inp.px.dirty = true end
  end
  self:schedule()
end

-- ------------------------------------------------------------- keys
function App:is_readonly()
  local px = self:current()
  return self.readonly or (px and px.meta and px.meta.readonly) or false
end

function App:host_action(name)
  if name == "command" then return self:open_input("command", ":")
  elseif name == "filter" then
    local px = self:current()
    return self:open_input("filter", "/", px and (px.filter_text or (px.meta and px.meta.filter)) or "")
  elseif name == "help" then return self:show_help()
  elseif name == "back" then
    local px = self:current()
    if px and px.filter_text and px.filter_text ~= "" then   -- Esc clears a filter first (k9s)
      px.filter_text = nil
      px:call("filter", "")
      px.dirty = true
      return
    end
    if px then
      local handled = px:call("key", "Esc")
      if handled then px.dirty = true return end
    end
    return self:back()
  elseif name == "crumb_back" then return self:back()
  elseif name == "crumb_forward" then return self:forward_()
  elseif name == "quit" then return self:quit()
  end
end

function App:handle_key(k, ev)
  if self.overlay then
    local ov = self.overlay
    if ev and ev.text and ov.insert then ov:insert(ev.text) else ov:key(k) end
    local res = ov.result
    if ov.closed or ov.cancelled or res then
      self.overlay = nil
      if ov.on_done then ov.on_done(res or { ok = false }) end
    end
    self:schedule()
    return
  end
  if self.input then
    -- Ctrl-C quits from the command or filter line too (its keymap binding, default C-c)
    -- (a control key only: a letter bound to quit is typed into the line)
    if k and k:match("^C%-") and self:keymap_of(self:current()):action(k) == "quit" then return self:quit() end
    return self:input_key(k, ev)
  end
  local px = self:current()
  local km = self:keymap_of(px)
  local act = km:action(k)
  if act and HOST_ACTION[act] then
    self:host_action(act)
    return self:schedule()
  end
  if not px then return end
  if act then
    local a = km.by_name and km.by_name[act]
    if a and a.mutates and self:is_readonly() then
      return self:flash(("%s: refused: read-only mode"):format(act), "error")
    end
    local r, err = px:call("action", act)
    if r == nil and err then self:flash(err, "error")
    elseif type(r) == "string" then self:flash(r, "info")
    else self:panel_input(px, r) end
    px.dirty = true
    self:schedule()
    return
  end
  local r, err = px:call("key", k)
  if r == nil and err then self:flash(err, "error") end
  self:panel_input(px, r)
  px.dirty = true
  self:schedule()
end

-- a key's or an action's answer {input = {prompt, text}}: the panel asks for a
-- line (a search); the line goes back to it as the key {submit = text}
function App:panel_input(px, r)
  if type(r) ~= "table" or type(r.input) ~= "table" then return end
  self:open_input("panel", r.input.prompt or "/", r.input.text)
  self.input.on_submit = function(text) px:call("key", { submit = text }) px.dirty = true self:schedule() end
end

-- A decoded terminal event -> key names; text arrives as one event per
-- character (space is "Space") unless an input line takes it whole.
function App:event(ev)
  if ev.key then return self:enqueue(ev.key) end
  local text = ev.text or ev.paste
  if not text or text == "" then return end
  if (self.input or (self.overlay and self.overlay.insert)) and (ev.paste or #text > 1) then
    return self:enqueue(nil, { text = text })
  end
  for _, ch in ipairs((P.split(text))) do self:enqueue(ch == " " and "Space" or ch) end
end

function App:enqueue(k, ev)
  self.key_at = vm.now()
  if k == "C-c" and self.pending then
    self.pending:cancel("interrupted")
    self:flash("cancelled", "info")
    return
  end
  -- a dialog an action waits on takes the keys while the action is pending
  if self.overlay and self.pending then
    local t = async.spawn(function() self:handle_key(k, ev) end)
    if t.err then self:flash(require("vcli.shell").one_line(t.err), "error") end
    return
  end
  self.queue[#self.queue + 1] = { k, ev }
  self:drain()
end

function App:drain()
  while #self.queue > 0 and not self.pending and not self.done do
    local item = table.remove(self.queue, 1)
    local t = async.spawn(function() self:handle_key(item[1], item[2]) end)
    if not t.done then
      self.pending = t
      t:on_done(function(task)
        self.pending = nil
        if task.err then self:flash(require("vcli.shell").one_line(task.err), "error") end
        self:drain()
      end)
      return
    end
    if t.err then self:flash(require("vcli.shell").one_line(t.err), "error") end
  end
end

-- ------------------------------------------------------------- drawing
-- Data arriving (a watch event) draws at most one frame's time after the
-- last frame, with whatever else arrives meanwhile: 1 000 events a second
-- are ~60 frames, not 1 000; data after a quiet spell (the first rows of a
-- list, a lone event) draws at once. A key draws at once (schedule).
App.COALESCE_MS = 16
function App:schedule_soon()
  if self.frame_due or self.frame_soon or not self.live or self.away then return end
  local wait = App.COALESCE_MS - (vm.now() - (self.frame_at or -math.huge))
  if wait <= 0 then return self:schedule() end
  self.frame_soon = loop.timer(math.ceil(wait), function()
    self.frame_soon = nil
    self:schedule()
  end)
end

function App:schedule()
  if self.frame_due or not self.live or self.away then return end
  if self.frame_soon then self.frame_soon:stop(); self.frame_soon = nil end
  self.frame_due = true
  loop.timer(0, function()
    self.frame_due = false
    if self.done or self.away then return end
    async.spawn(function() self:render() self:flush() end)
  end)
end

local function put_line(self, x, y, line, maxw)
  local g, st = self.grid, self.st
  if type(line) == "string" then return g:put(x, y, line, 0, maxw) end
  local limit = x + maxw
  for i = 1, #line, 2 do
    local text = line[i]
    if type(text) == "string" and x < limit then
      x = g:put(x, y, (text:gsub("\t", "    ")), st:get(line[i + 1]), limit - x)
    end
  end
  return x
end
M.put_line = put_line

local function age_text(s)
  if s < 60 then return ("%ds"):format(s) end
  if s < 3600 then return ("%dm"):format(math.floor(s / 60)) end
  return ("%dh%dm"):format(math.floor(s / 3600), math.floor((s % 3600) / 60))
end

function App:draw_header(y, rows, meta)
  local g, st = self.grid, self.st
  local hd = meta and meta.header or {}
  local fields = {}
  local function add(k, v) if v and v ~= "" then fields[#fields + 1] = { k, tostring(v) } end end
  add("Context", hd.context); add("Cluster", hd.cluster); add("User", hd.user)
  add("Namespace", hd.namespace); add("K8s", hd.server)
  add("vcli", require("vcli").version)
  if hd.queued and hd.queued > 0 then add("Queued", hd.queued .. " writes") end
  g:fill(0, y, self.w, rows, " ", 0)
  local x, row = 0, y
  for _, f in ipairs(fields) do
    local need = P.width(f[1]) + P.width(f[2]) + 4
    if x > 0 and x + need > self.w then
      if row + 1 >= y + rows then break end
      row, x = row + 1, 0
    end
    x = g:put(x, row, f[1] .. ": ", st:get("hkey"))
    x = g:put(x, row, f[2], st:get("hval"))
    x = g:put(x, row, "   ", 0)
  end
  if hd.offline then
    local since = hd.offline_since and age_text(math.max(0, os.time() - hd.offline_since)) or "?"
    local text = (" offline — as of %s ago "):format(since)
    g:put(math.max(0, self.w - P.width(text)), y, text, st:get("offline"))
  elseif hd.readonly or self.readonly then
    g:put(math.max(0, self.w - 11), y, " read-only ", st:get("warn"))
  end
end

-- The trail of views; the current one is always shown whole (as far as the
-- width allows): older crumbs give way from the left, to "…".
function App:draw_crumbs(y)
  local g, st = self.grid, self.st
  g:fill(0, y, self.w, 1, " ", 0)
  local n, items, need = #self.stack, {}, 0
  for i, px in ipairs(self.stack) do
    items[i] = " " .. tostring(px.meta and px.meta.title or px.title or px.name) .. " "
    need = need + P.width(items[i]) + 1
  end
  local first, ell = 1, "… "
  if need > self.w then
    need = need + P.width(ell)
    while first < n and need > self.w do
      need = need - P.width(items[first]) - 1
      first = first + 1
    end
  end
  local x = 0
  if first > 1 then x = g:put(x, y, ell, st:get("crumb")) end
  for i = first, n do
    x = g:put(x, y, items[i], st:get(i == n and "crumb_active" or "crumb"))
    x = g:put(x, y, " ", 0)
    if x >= self.w then break end
  end
end

function App:draw_panel(px, x, y, w, h)
  local g, st = self.grid, self.st
  -- a view that failed is not asked again until its plugin says it has news
  -- (vcli.tui.dirty): a runaway view would cost its CPU limit on every key
  if not px.broken and (px.dirty or px.view_w ~= w or px.view_h ~= h or not px.lines) then
    px.dirty = false
    px.view_w, px.view_h = w, h
    local lines, meta = px:call("view", w, h)
    if type(lines) == "table" then
      px.lines, px.view_error = lines, nil
      if type(meta) == "table" then px.meta = meta end
    else
      px.view_error = meta or px.error or "the panel drew nothing"
      px.broken = true
    end
  end
  g:fill(x, y, w, h, " ", 0)
  if px.closed or px.view_error then
    local msg = ("panel %s: %s"):format(px.name, px.view_error or px.error or "closed")
    local row = y + 1
    for _, l in ipairs(require("vcli.tui.dialog").wrap(msg, math.max(10, w - 2))) do
      if row >= y + h - 2 then break end
      g:put(x + 1, row, l, st:get("error"), w - 2)
      row = row + 1
    end
    g:put(x + 1, row + 1, "The rest of vcli goes on: Esc goes back, :q quits.", st:get("dim"), w - 2)
    return
  end
  for i = 1, math.min(h, #px.lines) do
    local line = px.lines[i]
    if line then put_line(self, x, y + i - 1, line, w) end
  end
end

function App:draw_overlay(ov)
  local box = ov:view(self.w, self.h - 1)
  if type(box) ~= "table" then return end
  local lines = box.lines or box
  local bx, by = box.x or 0, box.y or 0
  for i, line in ipairs(lines) do
    if line then put_line(self, bx, by + i - 1, line, self.w - bx) end
  end
end

function App:status_text(px)
  if self.input and self.input.error then return self.input.error, "error" end
  local f = self.flash_msg
  if f then return f.text, f.level end
  if self.w < MIN_W or self.h < MIN_H then
    local msg = ("terminal too small: %d×%d (vcli ui needs %d×%d)"):format(self.w, self.h, MIN_W, MIN_H)
    if P.width(msg) > self.w then msg = ("too small: %d×%d, needs %d×%d"):format(self.w, self.h, MIN_W, MIN_H) end
    return msg, "warn"
  end
  local meta = px and px.meta
  return meta and meta.status or "", "status"
end

function App:render()
  local t0 = vm.now()
  local c0 = os.clock()
  local g = self.grid
  local w, h = self.w, self.h
  local header_rows = h >= 20 and 2 or (h >= 12 and 1 or 0)
  local px = self:current()
  local main_y = header_rows + 1
  local main_h = math.max(1, h - header_rows - 3)
  if px then self:draw_panel(px, 0, main_y, w, main_h) else g:fill(0, main_y, w, main_h, " ", 0) end
  if header_rows > 0 then self:draw_header(0, header_rows, px and px.meta) end
  self:draw_crumbs(header_rows)
  local sy = h - 2
  g:fill(0, sy, w, 2, " ", 0)
  local text, level = self:status_text(px)
  g:put(0, sy, text, self.st:get(level == "status" and "status" or level))
  self.cursor = nil
  if self.input then
    local iw = self.input.w
    put_line(self, 0, h - 1, iw:view(w), w)
    self.cursor = { iw:cursor(), h - 1 }
    if iw.candidates and #iw.candidates > 0 then
      local parts = {}
      for _, c in ipairs(iw.candidates) do parts[#parts + 1] = type(c) == "table" and c[1] or c end
      g:fill(0, sy, w, 1, " ", 0)
      g:put(0, sy, table.concat(parts, "  "), self.st:get("dim"))
    end
  else
    local km = self:keymap_of(px)
    local hint = km:hint({ "command", "filter", "help" })
    local panel_hint = px and px.meta and px.meta.hint
    if panel_hint then
      local ks = {}
      for _, name in ipairs(panel_hint) do
        local a = km.by_name and km.by_name[name]
        if a and not (a.mutates and self:is_readonly()) then ks[#ks + 1] = name end
      end
      hint = km:hint(ks) .. "  " .. hint
    end
    g:put(0, h - 1, hint, self.st:get("dim"))
  end
  if self.overlay then self:draw_overlay(self.overlay) end
  self.frame_at = vm.now()
  self.frame_ms = self.frame_at - t0
  -- the CPU the frame took (os.clock: this process's): on a busy machine the
  -- wall time above also holds whatever ran while vcli waited for a core
  self.frame_cpu = (os.clock() - c0) * 1000
end

function App:flush()
  local c = self.cursor
  local out = self.grid:flush("screen", c and c[1] or 0, c and c[2] or 0, 0)
  if not c then out = out .. "\27[?25l" end
  -- a frame that changed no cell and left the cursor where it was writes nothing
  local ckey = c and (c[1] .. "," .. c[2]) or "hidden"
  local bare = out:gsub("\27%[%?25[lh]", ""):gsub("\27%[%d+;%d+H", "")
  if bare ~= "" or ckey ~= self.last_cursor then self.write(out) end
  self.last_cursor = ckey
  local f = self.frames
  f.n = f.n + 1
  f.i = f.i % 1000 + 1
  f.ms[f.i], f.cpu[f.i] = self.frame_ms, self.frame_cpu
  self:idle_gc_arm()
  self:busy_gc()
end

-- The collectors of the plugins whose panels are open, stepped while the
-- interface is idle: IDLE_GC_MS after the last frame, a cycle is ended in
-- slices (a timer turn each, so a key that comes meanwhile is read between
-- them), at most once per busy spell, and only when the plugin's heap grew
-- since the last one ended. Then the next keystroke's garbage falls into the
-- collector's pause, not into the end of a cycle over a 100 MiB heap (what a
-- 50 000-pod list is): at 50 000 pods that end is tens of ms of a keystroke.
App.IDLE_GC_MS = 150
App.IDLE_GC_KB = 1024
function App:idle_gc_arm()
  if self.gc_timer then self.gc_timer:stop() end
  self.gc_timer = loop.timer(App.IDLE_GC_MS, function()
    self.gc_timer = nil
    self:idle_gc()
  end)
end

function App:idle_gc()
  if self.done or self.away then return end
  local plugin = require("vcli.plugin")
  self.gc_mark = self.gc_mark or {}
  local names, seen = {}, {}
  for _, px in ipairs(self.stack) do
    local n = px.plugin
    if n and not seen[n] then
      seen[n] = true
      local st = plugin.stats(n)
      local mark = self.gc_mark[n]
      if st and (not mark or st.memory > mark * 1.02 + 1048576) then names[#names + 1] = n end
    end
  end
  local i, gen = 1, (self.gc_gen or 0) + 1
  self.gc_gen = gen
  local function slice()
    if self.done or self.away or self.gc_gen ~= gen then return end
    local n = names[i]
    if not n then return end
    local done = plugin.gc_step(n, App.IDLE_GC_KB)
    if done ~= false then
      local st = plugin.stats(n)
      self.gc_mark[n] = st and st.memory or nil
      if self.gc_busy then self.gc_busy[n] = nil end
      i = i + 1
    end
    loop.timer(0, slice)
  end
  slice()
end

-- Busy, the frames never leave IDLE_GC_MS free: a watch on a 50 000-pod
-- list changes rows hundreds of times a second. LuaJIT's own pace (the
-- plugin's pause 120%, step multiplier 200) then let an 85 MiB heap reach
-- 120 before each cycle ended: RSS +35% in a minute of 250 changes/s. So a
-- plugin whose heap grew beyond its mark (the end of its last cycle) has its
-- collector driven, BUSY_GC_MS at a time, at most every BUSY_GC_EVERY_MS of
-- frames, until that cycle ends; after the frame, never inside one.
App.BUSY_GC_EVERY_MS = 16
App.BUSY_GC_MS = 2
App.BUSY_GC_KB = 64
App.BUSY_GC_AFTER_KEY_MS = 500
function App:busy_gc()
  if self.done or self.away then return end
  local now = vm.now()
  -- frames a person's keys make are not this: a step that ends a cycle over a
  -- big heap is not cut short, and must not sit between two keys (the idle
  -- collection after the keys does it)
  if now - (self.key_at or -math.huge) < App.BUSY_GC_AFTER_KEY_MS then return end
  if now - (self.busy_gc_at or 0) < App.BUSY_GC_EVERY_MS then return end
  self.busy_gc_at = now
  local plugin = require("vcli.plugin")
  self.gc_mark, self.gc_busy = self.gc_mark or {}, self.gc_busy or {}
  local seen = {}
  for _, px in ipairs(self.stack) do
    local n = px.plugin
    if n and not seen[n] then
      seen[n] = true
      local st, mark = plugin.stats(n), self.gc_mark[n]
      if st and not mark then self.gc_mark[n] = st.memory
      elseif st and (self.gc_busy[n] or st.memory > mark * 1.02 + 1048576) then
        self.gc_busy[n] = true
        repeat
          if plugin.gc_step(n, App.BUSY_GC_KB) ~= false then
            self.gc_busy[n] = nil
            st = plugin.stats(n)
            self.gc_mark[n] = st and st.memory or nil
            break
          end
        until vm.now() - now >= App.BUSY_GC_MS
      end
    end
  end
end

function App:stats_line()
  local function sorted(list)
    local out = {}
    for _, v in ipairs(list) do out[#out + 1] = v end
    table.sort(out)
    return out
  end
  local ms, cpu = sorted(self.frames.ms), sorted(self.frames.cpu)
  local function pct(l, p) return l[math.max(1, math.ceil(#l * p))] or 0 end
  -- the heaps of the plugins whose panels are open (where their rows live)
  local seen, heaps = {}, {}
  for _, px in ipairs(self.stack) do
    if px.plugin and not seen[px.plugin] then
      seen[px.plugin] = true
      local st = require("vcli.plugin").stats(px.plugin)
      if st then heaps[#heaps + 1] = (", %s %.1f"):format(px.plugin, st.memory / 1048576) end
    end
  end
  -- (p50/p99 are of view+draw, their wall time, then the CPU p99; heaps are Lua's)
  return ("frames %d · p50 %.2f ms, p99 %.2f ms, CPU p99 %.2f · heap MiB host %.1f%s"):format(
    self.frames.n, pct(ms, 0.5), pct(ms, 0.99), pct(cpu, 0.99), collectgarbage("count") / 1024, table.concat(heaps))
end

-- The screen as text (specs, and screen dumps).
function App:text()
  local out = {}
  for y = 0, self.h - 1 do out[#out + 1] = (self.grid:text(y):gsub("%s+$", "")) end
  return table.concat(out, "\n")
end

function App:resize(w, h)
  if w == self.w and h == self.h then return end
  self.w, self.h = w, h
  self.grid:resize(w, h)
  self.grid:invalidate()
  for _, px in ipairs(self.stack) do px.dirty = true end
  self:schedule()
end

-- ------------------------------------------------------------- the terminal
function App:enter_screen()
  local t, err = require("vcli.terminal").own({
    raw = true,
    input = function(data) self:input_bytes(data) end,
    on_eof = function() self:quit() end,
    on_resize = function(cols, rows) self:resize(cols, rows) end,
    on_suspend = function() self:leave_screen(true) end,
    on_resume = function() self:reenter() end,
  })
  if not t then return nil, err end
  self.term = t
  self.write(ENTER)
  term.on_exit(LEAVE) -- a crash of the process still gives the terminal back
  self.grid:invalidate()
  return true
end

function App:leave_screen(keep_owner)
  -- away: the terminal is another's (a shell in a pod, $EDITOR, the shell
  -- after :suspend); nothing is drawn until reenter
  self.away = true
  if self.frame_soon then self.frame_soon:stop(); self.frame_soon = nil end
  self.write(LEAVE)
  term.on_exit(nil)
  if not keep_owner and self.term then self.term:release(); self.term = nil end
end

function App:reenter()
  self.away = nil
  self.last_cursor = nil
  self.write(ENTER)
  term.on_exit(LEAVE)
  self.grid:invalidate()
  for _, px in ipairs(self.stack) do px.dirty = true end
  self:resize(term.size())
  self:schedule()
end

-- :suspend (and SIGTSTP): the shell's prompt comes back; `fg` redraws.
function App:suspend()
  self.away = true
  self.write(LEAVE)
  term.on_exit(nil)
  term.raw(false)
  local proc = require("vcli.proc")
  proc.kill(proc.getpid(), 19)   -- SIGSTOP (Linux): stopped as Ctrl-Z stops a program; fg sends SIGCONT
  -- here again after SIGCONT
  term.raw(true, "full")
  self:reenter()
end

-- How long a lone ESC waits for the rest of a sequence before it is the Esc
-- key: ui.escapeDelay (tmux's escape-time, vim's ttimeoutlen), 10 ms unless set.
function M.escape_delay()
  local ms = tonumber(setting("ui.escapeDelay"))
  return ms and ms >= 0 and ms or 10
end

function App:input_bytes(data)
  if self.esc_timer then self.esc_timer:stop(); self.esc_timer = nil end
  for _, ev in ipairs(self.dec:feed(data)) do self:event(ev) end
  if self.dec:pending() then
    self.esc_timer = loop.timer(M.escape_delay(), function()
      self.esc_timer = nil
      for _, ev in ipairs(self.dec:flush()) do self:event(ev) end
    end)
  end
end

-- Run the interface on the terminal until :q. opts: panel, args, readonly.
function M.run(opts)
  local terminal = require("vcli.terminal")
  if not terminal.is_tty() then return nil, "vcli ui needs a terminal (stdin and stdout)" end
  if host.active() then return nil, "vcli ui is already open" end
  local cols, rows = term.size()
  local a = M.new({ width = cols, height = rows, readonly = opts.readonly, history = opts.history,
                    write = function(s) term.write(s) end,
                    color = styles.color_wanted() })
  a.dec = term.decoder()
  local ok, err = a:enter_screen()
  if not ok then return nil, err end
  a.live = true
  host.set_app(a)
  local prev_tstp = loop.handler("SIGTSTP")
  loop.signal("SIGTSTP", function() a:defer(function() a:suspend() end) end)
  local prev_term = loop.handler("SIGTERM")
  loop.signal("SIGTERM", function() a:quit() end)
  local res = table.pack(pcall(function()
    async.await(function(resume)
      a.on_quit = function() resume() end
      a:defer(function()
        local px, e = a:open(opts.panel or "k8s", opts.args or {})
        if not px then a.open_error = e; a:quit() end
      end)
      a:schedule()
      return function() a:quit() end
    end)
  end))
  a.live = false
  if not a.done then pcall(a.quit, a) end
  host.set_app(nil)
  loop.signal("SIGTSTP", prev_tstp)
  loop.signal("SIGTERM", prev_term)
  a:leave_screen()
  if not res[1] then return nil, res[2] end
  if a.open_error then return nil, a.open_error end
  return true
end

return M
