-- vcli.plugin.caps — the one registry of what a plugin may be granted. Each
-- capability is one file beside this one (caps/<name>.lua, "fs.read" in
-- fs_read.lua) holding all of it:
--   name, summary            the manifest name and one line about it
--   grant                    the manifest line that grants it ("- exec: { commands: [PROGRAM] }")
--   api                      what plugin code touches ("vcli.exec"), for the sentence an
--                            ungranted use gets
--   options                  its manifest options: { key = { list = true, check = fn(v, field) -> msg[, field] } }
--   shorthand                the option a bare list stands for (env: [A, B] is names: [A, B])
--   ops                      its operations: op = "wait" (the plugin's call waits on the host:
--                            the host side runs as a task) or "now"
--   host                     op = function(p, ...) — the host side
--   plugin(vcli, api)        the plugin side: runs in the plugin's own state (its source is sent
--                            there; no upvalues), fills in vcli.<name>
--   started(p), stopped(p)   optional lifecycle hooks
-- The manifest parser (vcli.plugin.manifest), the prelude (through the data
-- the host sends with each new state) and the host door (vcli.plugin.call)
-- read only this. Adding a capability is adding one file, its name below and
-- a spec. A name that is not here is a service another plugin provides
-- (caps/service.lua).
local text = require("vcli.text")

local M = {}

-- The capabilities, by manifest name.
M.NAMES = { "clipboard", "config", "env", "events", "exec", "fs.read", "fs.write", "net", "store", "terminal", "tui" }
-- Always there, never in a manifest: the runtime's own operations (commands, log, timers…).
M.CORE = "core"
-- The modules plugins may require besides their own: file under lua/vcli/.
M.MODULES = { ["vcli.resilience"] = "plugin/resilience", ["vcli.semver"] = "plugin/semver",
              ["vcli.lines"] = "lines", ["vcli.base64"] = "base64", ["vcli.text"] = "text",
              -- the widgets panels compose (docs/tui.md): the same files the host uses
              ["vcli.tui.prims"] = "tui/prims_plugin", ["vcli.tui.table"] = "tui/table",
              ["vcli.tui.text"] = "tui/text", ["vcli.tui.logview"] = "tui/logview",
              ["vcli.tui.input"] = "tui/input", ["vcli.tui.keymap"] = "tui/keymap",
              ["vcli.tui.dialog"] = "tui/dialog", ["vcli.tui.menu"] = "tui/menu" }

local by_name = {}
for _, n in ipairs(M.NAMES) do by_name[n] = true end

local function module_name(name) return "vcli.plugin.caps." .. name:gsub("%.", "_") end

-- The capability's module (nil for a name that is not one).
function M.get(name)
  if name ~= M.CORE and not by_name[name] then return nil end
  return require(module_name(name))
end

function M.is_builtin(name) return by_name[name] == true end
function M.service() return require("vcli.plugin.caps.service") end

-- -------------------------------------------------------------- manifests
-- Check and normalise one manifest entry `name: opts`. ctx: { fail = fn(line, field, msg),
-- line = the entry's line, line_of = fn(tbl, key) -> line | nil, is_list = fn(t) }.
function M.check(name, opts, ctx)
  local C = M.get(name)
  if not C then
    local near = not M.service().is_known(name) and text.nearest(name, M.NAMES)
    if near then
      ctx.fail(ctx.line, "capabilities", ("unknown capability '%s' (did you mean %s?)"):format(name, near))
    end
    return opts   -- a service (provides: [NAME] in another plugin)
  end
  if C.shorthand and type(opts) == "table" and ctx.is_list(opts) and next(opts) then
    opts = { [C.shorthand] = opts }
  end
  if type(opts) ~= "table" then
    ctx.fail(ctx.line, "capabilities." .. name, "options must be a mapping (e.g. hosts: [...])")
  end
  local known = {}
  for k in pairs(C.options or {}) do known[#known + 1] = k end
  table.sort(known)
  local function line(k) return ctx.line_of(opts, k) or ctx.line end
  for k, v in pairs(opts) do
    local o = C.options and C.options[k]
    local field = ("capabilities.%s.%s"):format(name, tostring(k))
    if not o then
      local msg
      if #known == 0 then
        msg = ("unknown option: %s takes none (capabilities: %s)"):format(name, C.grant)
      else
        local near = type(k) == "string" and text.nearest(k, known)
        msg = ("unknown option%s (%s takes %s)"):format(near and (" (did you mean %s?)"):format(near) or "", name,
          table.concat(known, ", "))
      end
      ctx.fail(line(k), field, msg)
    end
    if o.list and not ctx.is_list(v) then ctx.fail(line(k), field, "must be a list") end
    if o.check then
      local msg, f = o.check(v, field, ctx)
      if msg then ctx.fail(line(k), f or field, msg) end
    end
  end
  return opts
end

-- -------------------------------------------------------------- host side
-- cap -> op -> function(p, ...): the host table (the door looks ops up here
-- on each call, so `plugin test`'s stubs replace entries in place).
-- W: cap -> op -> true for the operations that wait (the door runs them as
-- a task and hands the plugin a ticket).
local H, W = {}, {}
M.handlers = H
function M.host_table()
  if not H[M.CORE] then
    for _, n in ipairs(M.NAMES) do H[n] = M.get(n).host end
    H[M.CORE] = M.get(M.CORE).host
    for n in pairs(H) do
      W[n] = {}
      for op, how in pairs(M.get(n).ops) do W[n][op] = how == "wait" or nil end
    end
  end
  return H, W
end

-- Lifecycle hooks of the capabilities a plugin has (core's always).
function M.each(p, hook, ...)
  local core = M.get(M.CORE)
  if core[hook] then core[hook](p, ...) end
  for _, n in ipairs(M.NAMES) do
    if p.m.capabilities[n] then
      local C = M.get(n)
      if C[hook] then C[hook](p, ...) end
    end
  end
end

-- ------------------------------------------------------------ plugin side
-- The source of a capability's plugin side, as a chunk that returns the
-- function: its own lines of its file, at their line numbers (errors point
-- into caps/<name>.lua). Cached per function (a reloaded module has new ones).
local sources = setmetatable({}, { __mode = "k" })
local function plugin_source(C)
  local f = C.plugin
  if not f then return nil end
  local src = sources[f]
  if src then return src end
  if debug.getupvalue(f, 1) ~= nil then
    error(("capability %s: its plugin side uses upvalues (%s); it runs in the plugin's own state"):format(
      C.name, (debug.getupvalue(f, 1))), 0)
  end
  local info = debug.getinfo(f, "S")
  local path = info.source:match("^@(.*)$")
  local fh = path and io.open(path, "rb")
  if not fh then error(("capability %s: cannot read its source %s"):format(C.name, tostring(path)), 0) end
  local lines, i = {}, 0
  for l in fh:lines() do
    i = i + 1
    if i >= info.linedefined then lines[#lines + 1] = l end
    if i >= info.lastlinedefined then break end
  end
  fh:close()
  local head, n = lines[1]:gsub("^(%s*)function%s+[%w_.:]+%s*%(", "%1return function(", 1)
  if n == 0 then error(("capability %s: its plugin side must be written `function C.plugin(vcli, api)`"):format(C.name), 0) end
  lines[1] = head
  src = { src = string.rep("\n", info.linedefined - 1) .. table.concat(lines, "\n"),
          chunk = "@vcli/" .. (path:match("(plugin/caps/[^/]+)$") or C.name) }
  sources[f] = src
  return src
end

-- What a new plugin state gets from the host (sandbox.new{data = …}): the
-- plugin sides and operations of the capabilities it is granted, the names
-- that are capabilities (any other granted name is a service), the modules
-- it may require.
function M.plugin_data(grants)
  local core = M.get(M.CORE)
  local caps = { { name = M.CORE, ops = core.ops } }
  local service
  for _, g in ipairs(grants) do
    local C = M.get(g)
    if C then
      local s = plugin_source(C)
      caps[#caps + 1] = { name = g, ops = C.ops, src = s and s.src, chunk = s and s.chunk }
    elseif not service then
      service = plugin_source(M.service())
    end
  end
  local modules = {}
  for k in pairs(M.MODULES) do modules[#modules + 1] = k end
  return { caps = caps, builtin = M.NAMES, modules = modules, service = service }
end

-- ------------------------------------------------------------- denials
-- A plugin's error for a capability it was not granted reads as Lua's own
-- ("attempt to call field 'exec' (a nil value)"): when the failing line of
-- the plugin's file uses the API of a capability it lacks, say which
-- manifest line grants it. Anything else comes back unchanged.
local function line_of_file(p, chunk, n)
  local rel = chunk:match("^[^/]+/(.+)$")
  if not rel or rel:find("%.%.") then return nil end
  local f = io.open(p.dir .. "/" .. rel, "rb")
  if not f then return nil end
  local i = 0
  for l in f:lines() do
    i = i + 1
    if i == n then f:close() return l end
  end
  f:close()
end

local function word_find(s, seg)
  local pat = "%f[%w_]" .. seg:gsub("%.", "%%.") .. "%f[^%w_]"
  return s:find(pat) ~= nil
end

function M.explain(p, msg)
  if type(msg) ~= "string" then return msg end
  local where, chunk, n, what, field = msg:match("^(([^:\n]+):(%d+)): attempt to (%a+) field '([%w_]+)' %(a nil value%)")
  if not where or (what ~= "call" and what ~= "index") or not p.m then return msg end
  local src = line_of_file(p, chunk, tonumber(n))
  if not src then return msg end
  local best, best_score
  for _, name in ipairs(M.NAMES) do
    if not p.m.capabilities[name] then
      for _, path in ipairs(M.get(name).api or {}) do
        local parts = {}
        for part in path:gmatch("[^.]+") do parts[#parts + 1] = part end
        for i = 2, #parts do
          if parts[i] == field and (what == "call") == (i == #parts)
             and word_find(src, parts[i - 1] .. "." .. parts[i]) then
            -- vcli.fs.write(…) without fs.read or fs.write: the one named after it
            local score = (i < #parts and word_find(src, parts[i] .. "." .. parts[i + 1])) and 2 or 1
            if not best or score > best_score then
              best, best_score = { name = name, used = table.concat(parts, ".", 1, i) }, score
            end
          end
        end
      end
    end
  end
  if best then
    return ("%s: %s needs the %s capability, which plugin %s is not granted: add it to capabilities: in %s/plugin.yaml (%s)")
      :format(where, best.used, best.name, p.name, p.dir, M.get(best.name).grant)
  end
  return msg
end

return M
