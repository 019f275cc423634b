-- caps/tui.lua — tui: the full-screen interface's panels (docs/tui.md), and
-- questions on the terminal (vcli.ui.confirm: a dialog while the interface
-- is open, a line on the terminal otherwise).
--   plugin.yaml:  - tui                     (questions only)
--                 - tui: { panels: [NAME] } (the panels it offers: `vcli ui NAME`, `:NAME`)
--   plugin side:  vcli.tui.panel{name=, title=, open = fn(args) -> panel}
--                 vcli.tui.dirty(id), .flash(msg [, level]), .push(name, args), .back(),
--                 .quit(), .dialog(spec) -> result, .active() -> bool
--                 vcli.ui.confirm(question) -> true | false
--                 vcli.ui.ask(question) -> the line typed on the terminal | nil (none)
-- A panel object lives in the plugin's state; the host holds its id and calls
-- panel:view(w, h) -> lines [, meta], :key(name), :action(name), :command(words),
-- :complete(text), :filter(text), :close() through D.panel. Only plain data
-- crosses: the lines of what is visible, key and action names.
local R = require("vcli.plugin.runtime")

local C = { name = "tui", summary = "full-screen panels (vcli ui); questions on the terminal (ui.confirm)",
            grant = "- tui: { panels: [NAME] }",
            api = { "vcli.ui.confirm", "vcli.ui.ask", "vcli.tui.panel", "vcli.tui.dirty", "vcli.tui.flash", "vcli.tui.push",
                    "vcli.tui.dialog" } }
C.options = {
  panels = { list = true, check = function(v)
    for _, n in ipairs(v) do
      if type(n) ~= "string" or not n:match("^[%a][%w_-]*$") then
        return ("panel names are words (letters, digits, - and _): %s"):format(tostring(n))
      end
    end
  end },
}
C.ops = { confirm = "wait", ask = "wait", panel = "now", dirty = "now", flash = "now", push = "now", back = "now",
          quit = "now", dialog = "wait", active = "now" }
C.host = {}
local H = C.host

local function host_tui() return require("vcli.tui.host") end

-- vcli.tui.panel(spec): a kind of panel this plugin opens (its manifest names it).
function H.panel(p, spec)
  if type(spec) ~= "table" or type(spec.name) ~= "string" then error("vcli.tui.panel: a spec with a name expected", 0) end
  local declared = p.m and p.m.capabilities and p.m.capabilities.tui and p.m.capabilities.tui.panels or {}
  local ok = false
  for _, n in ipairs(declared) do if n == spec.name then ok = true end end
  if not ok then
    error(("vcli.tui.panel: panel '%s' is not in the manifest (capabilities: - tui: { panels: [%s] })")
      :format(spec.name, spec.name), 0)
  end
  host_tui().register(p, spec)
  return true
end
function H.dirty(p, id) host_tui().dirty(p, id) return true end
function H.flash(p, msg, level) host_tui().flash(p, msg, level) return true end
function H.push(p, name, args) return host_tui().push(p, name, args) end
function H.back(p) host_tui().back(p) return true end
function H.quit(p) host_tui().quit(p) return true end
function H.active() return host_tui().active() end
function H.dialog(p, spec) return host_tui().dialog(p, spec) end

-- ui.confirm(question): the interface's dialog while it is open; otherwise a
-- line on the terminal in its normal mode (the shell hands the keyboard to a
-- running command); y/yes -> true. No terminal: false at once (the caller
-- tells the user about -y).
function H.confirm(p, question)
  if host_tui().active() then
    local r = host_tui().dialog(p, { kind = "confirm", title = "Confirm", message = tostring(question) })
    return type(r) == "table" and r.ok == true
  end
  if not R.has_terminal() then return false end
  R.flush(p)
  return require("vcli.terminal").ask_yes(tostring(question))
end

-- ui.ask(question): a line typed on the terminal in its normal mode; nil
-- without a terminal, or while the interface is open
function H.ask(p, question)
  if host_tui().active() or not R.has_terminal() then return nil end
  R.flush(p) -- what the command printed so far comes before the question
  return require("vcli.terminal").ask(tostring(question))
end

-- The plugin's panels go when its state does.
function C.stopped(p) host_tui().plugin_stopped(p) end

function C.plugin(vcli, api)
  local host, await, D = api.host, api.await, api.dispatch
  local confirm = api.op("tui", "confirm")
  local ask = api.op("tui", "ask")
  vcli.ui = { confirm = function(question) return confirm(tostring(question or "")) == true end,
              ask = function(question) return ask(tostring(question or "")) end }
  local kinds, open = {}, {}
  vcli.tui = {
    panel = function(spec)
      assert(type(spec) == "table" and type(spec.name) == "string", "vcli.tui.panel: a spec with a name expected")
      assert(type(spec.open) == "function", "vcli.tui.panel: spec.open(args) -> panel expected")
      kinds[spec.name] = spec
      return host("tui", "panel", api.strip(spec))
    end,
    dirty = function(id) return host("tui", "dirty", id) end,
    flash = function(msg, level) return host("tui", "flash", tostring(msg), level) end,
    push = function(name, args) return host("tui", "push", name, args) end,
    back = function() return host("tui", "back") end,
    quit = function() return host("tui", "quit") end,
    active = function() return host("tui", "active") end,
    dialog = function(spec) return await("tui", "dialog", api.strip(spec)) end,
  }
  -- panel(op, id, ...): what the host asks of one open panel
  local OPS = { view = true, key = true, action = true, command = true, complete = true, filter = true,
                actions = true, focus = true, blur = true }
  function D.panel(op, id, ...)
    if op == "open" then
      local name, args = ...
      local k = kinds[name]
      if not k then error(("no panel '%s' in plugin %s"):format(tostring(name), api.name), 0) end
      local pnl = k.open(args or {}, id)
      if type(pnl) ~= "table" then error(("panel %s: open returned no panel"):format(name), 0) end
      pnl.id = id
      open[id] = pnl
      local acts = type(pnl.actions) == "function" and pnl:actions() or pnl.actions
      local title = type(pnl.title) == "string" and pnl.title or (type(k.title) == "string" and k.title) or name
      return { title = title, actions = type(acts) == "table" and api.strip(acts) or {} }
    end
    local pnl = open[id]
    if op == "close" then
      open[id] = nil
      if pnl and type(pnl.close) == "function" then pnl:close() end
      return true
    end
    if not pnl then error(("panel %s is closed"):format(tostring(id)), 0) end
    if not OPS[op] then error(("panel: no operation '%s'"):format(tostring(op)), 0) end
    local f = pnl[op]
    if type(f) ~= "function" then return nil end
    return f(pnl, ...)
  end
end

return C
