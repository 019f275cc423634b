-- vcli.tui.host — the host side of the panels plugins offer: which plugin
-- opens which panel (the manifests' `- tui: { panels: [...] }`, before any
-- plugin runs), a proxy for each open panel (its calls into the plugin's
-- state, failures kept to be shown in the panel's own area), and the door from
-- the tui capability to the running interface (vcli.tui.app).
--   host.kinds() -> { {name, plugin}, … }      every panel a plugin declares
--   host.open(name, args) -> proxy | nil, err   starts the plugin when needed
--   proxy:call(op, ...) -> results | nil, err   never raises; proxy.error keeps the last failure
local S = require("vcli.state")("vcli.tui.host")

local M = {}
S.kinds = S.kinds or {}   -- name -> { plugin = name, title = … } once registered
S.open = S.open or {}     -- id -> proxy
S.next_id = S.next_id or 0

local function plugin() return require("vcli.plugin") end

-- Every panel a plugin's manifest declares: name -> plugin name.
function M.declared()
  local out = {}
  for _, p in ipairs(plugin().all()) do
    local t = p.m and p.m.capabilities and p.m.capabilities.tui
    for _, n in ipairs(type(t) == "table" and t.panels or {}) do
      if not out[n] then out[n] = p.name end
    end
  end
  return out
end

function M.kinds()
  local out = {}
  for n, pn in pairs(M.declared()) do out[#out + 1] = { name = n, plugin = pn } end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

function M.register(p, spec)
  S.kinds[spec.name] = { plugin = p.name, title = spec.title, summary = spec.summary }
end

local Proxy = {}
Proxy.__index = Proxy

-- One call into the panel: results, or nil and the error (kept in self.error).
function Proxy:call(op, ...)
  if self.closed then return nil, "the panel is closed" end
  local res = table.pack(pcall(plugin().call, self.plugin, "panel", op, self.id, ...))
  if not res[1] then
    self.error = require("vcli.shell").one_line(res[2])
    return nil, self.error
  end
  return unpack(res, 2, res.n)
end

function Proxy:close()
  if self.closed then return end
  local p = plugin().get(self.plugin)
  if p and p.state == "running" then pcall(plugin().call, self.plugin, "panel", "close", self.id) end
  self.closed = true
  S.open[self.id] = nil
end

-- Open panel `name` (its plugin started if it is not running).
function M.open(name, args)
  local owner = (S.kinds[name] or {}).plugin or M.declared()[name]
  if not owner then
    local names = {}
    for n in pairs(M.declared()) do names[#names + 1] = n end
    local near = require("vcli.text").nearest(name, names)
    return nil, ("no panel '%s'%s"):format(name, near and (" (did you mean " .. near .. "?)") or "")
  end
  S.next_id = S.next_id + 1
  local px = setmetatable({ id = S.next_id, name = name, plugin = owner, args = args or {} }, Proxy)
  local meta, err = px:call("open", name, args or {})
  if not meta then return nil, err end
  px.title, px.actions = meta.title or name, meta.actions or {}
  S.open[px.id] = px
  return px
end

-- ------------------------------------------------- the capability's door
local function app() return S.app end
function M.set_app(a) S.app = a end
function M.active() return S.app ~= nil end

local function own(p, id)
  local px = S.open[id]
  if px and px.plugin == p.name then return px end
end
function M.dirty(p, id)
  if id == nil then   -- every panel of the plugin
    for _, px in pairs(S.open) do if px.plugin == p.name and app() then app():dirty(px) end end
    return
  end
  local px = own(p, id)
  if px and app() then app():dirty(px) end
end
function M.notice(msg) if app() then app():flash(tostring(msg), "info") end end
function M.flash(p, msg, level) if app() then app():flash(tostring(msg), level, p.name) end end
function M.push(_, name, args)
  if not app() then return false end
  if type(name) ~= "string" then error("vcli.tui.push: a panel name expected", 0) end
  app():defer_push(name, args)
  return true
end
function M.back() if app() then app():defer(function(a) a:back() end) end end
function M.quit() if app() then app():defer(function(a) a:quit() end) end end
function M.dialog(_, spec)
  if not app() then return { ok = false, reason = "the full-screen interface is not open" } end
  return app():dialog(spec)
end

function M.plugin_stopped(p)
  for id, px in pairs(S.open) do
    if px.plugin == p.name then
      px.closed, px.error = true, ("plugin %s stopped"):format(p.name)
      S.open[id] = nil
      -- a reload (an edited file) brings the panel back with the same arguments
      if app() then app():dirty(px); app():defer(function(a) a:reopen(px) end) end
    end
  end
  for n, k in pairs(S.kinds) do if k.plugin == p.name then S.kinds[n] = nil end end
end

return M
