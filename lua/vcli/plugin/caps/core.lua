-- caps/core.lua — what every plugin has without a grant: its commands and
-- their completers, vcli.log, timers, sleep, the prompt segment, services it
-- provides, the built-in modules it may require. The plugin side is the
-- prelude itself (vcli.command, vcli.log, vcli.timer, vcli.prompt.set…).
local R = require("vcli.plugin.runtime")
local commands = require("vcli.shell.commands")
local async = require("vcli.async")
local loop = require("vcli.loop")
local S = R.S

local C = { name = "core", summary = "commands, log, timers, sleep, prompt, provided services (always granted)" }
C.ops = { version = "now", log = "now", source = "now", sleep = "wait", cancel = "now", command = "now",
          prompt = "now", timer = "now", cancel_timer = "now", provide = "now" }
C.host = {}
local H = C.host

function H.version() return R.vcli().version end

-- A line at level info in the log file, kept for `plugin logs NAME`.
function H.log(p, msg)
  require("vcli.log").info(msg, { plugin = p.name })
  R.log_line(p.name, tostring(msg))
end

-- The text of a built-in module (caps.MODULES) for require().
function H.source(_, name)
  local file = require("vcli.plugin.caps").MODULES[name]
  if not file then return nil end
  return R.read_file(R.vcli().datadir .. "/lua/vcli/" .. file .. ".lua")
end

function H.sleep(_, ms) async.sleep(tonumber(ms) or 0) end
-- A task of a call that ended before it did: its pending operation goes too.
function H.cancel(_, id) return R.cancel_ticket(id) end

-- ---------------------------------------------------------------- commands
-- Flags already typed before the cursor (for completers): --name=value,
-- --name value, -x value, switches as true.
local function typed_flags(spec, words)
  local flags = {}
  local all = commands.all_flags and commands.all_flags(spec) or spec.flags or {}
  local function find(long, short)
    for _, f in ipairs(all) do
      if (long and f.name == long) or (short and f.short == short) then return f end
    end
  end
  local i = 2
  while i <= #words do
    local w = words[i]
    if w == "--" then break end
    local long, value = w:match("^%-%-([^=]+)=(.*)$")
    long = long or w:match("^%-%-(.+)$")
    local short = not long and w:match("^%-(%a)$")
    local f = (long or short) and find(long, short)
    if f then
      if (f.type or "bool") == "bool" then flags[f.name] = true
      else
        if value == nil then i = i + 1; value = words[i] end
        if f.type == "list" then
          flags[f.name] = flags[f.name] or {}
          table.insert(flags[f.name], value)
        else
          flags[f.name] = value
        end
      end
    end
    i = i + 1
  end
  return flags
end

-- A plugin command's completer, run in the plugin state; it may wait on the
-- host (http, store), so it runs in the caller's task, or in one of its own.
local COMPLETE_TIMEOUT_MS = 5000
local function completer(p, spec, path, kind, item)
  return function(partial, cctx)
    cctx = cctx or {}
    local words = {}
    for i, w in ipairs(cctx.words or {}) do words[i] = w end
    local data = { words = words, partial = partial or "", flags = typed_flags(cctx.spec or spec, words) }
    local function go() return R.call(p.name, "complete", path, kind, item.name, partial or "", data) end
    local res
    if async.current() then
      res = go()
    else
      local ok, r = async.run(go, COMPLETE_TIMEOUT_MS)
      if not ok then error(r, 0) end
      res = r
    end
    return type(res) == "table" and res or {}
  end
end

-- vcli.command(spec): a real nested spec in the shell; handlers and
-- completers stay in the plugin and are called by their path.
function H.command(p, spec)
  local name = spec.name
  if type(name) ~= "string" then error("command: a spec with a name expected", 0) end
  local existing = commands.get(name)
  if existing and existing.owner ~= R.owner(p) then
    error(("command '%s' already belongs to %s"):format(name, existing.owner), 0)
  end
  local function wire(node, path)
    for _, a in ipairs(node.args or {}) do
      if a.has_complete then a.complete = completer(p, node, path, "arg", a) end
      a.has_complete = nil
    end
    for _, f in ipairs(node.flags or {}) do
      if f.has_complete then f.complete = completer(p, node, path, "flag", f) end
      f.has_complete = nil
    end
    if node.has_handler then
      node.handler = function(ctx)
        local width = ctx.width
        if type(width) == "function" then width = width() end
        return R.invoke(p, "command", path, {
          args = ctx.args, flags = ctx.flags, positional = ctx.positional, path = path,
          interactive = ctx.interactive, color = ctx.color, width = width, terminal = R.has_terminal(),
        })
      end
    end
    node.has_handler = nil
    for _, sub in ipairs(node.subcommands or {}) do
      local sp = {}
      for i, w in ipairs(path) do sp[i] = w end
      sp[#sp + 1] = sub.name
      wire(sub, sp)
    end
  end
  wire(spec, { name })
  spec.plugin = p.name
  commands.define(spec, R.owner(p))
  p.cmds = p.cmds or {}
  p.cmds[name] = true
end

-- ------------------------------------------------------------------ prompt
-- vcli.prompt.set(segments): what the shell shows before its prompt; the
-- host keeps the last value and never calls the plugin to draw it.
S.prompts = S.prompts or {}
function H.prompt(p, segs)
  if segs == nil or segs == "" then S.prompts[p.name] = nil return true end
  if type(segs) == "string" then segs = { { segs } } end
  if type(segs) ~= "table" then error("prompt.set: a string or a list of {text, style} expected", 0) end
  local styles = require("vcli.shell.editor").styles
  local out = {}
  -- a prompt is a line: at most 16 segments of 200 bytes each are kept
  for i, seg in ipairs(segs) do
    if i > 16 then break end
    if type(seg) == "string" then seg = { seg } end
    if type(seg) ~= "table" then error(("prompt.set: segment %d is not {text, style}"):format(i), 0) end
    local text, style = seg[1] or seg.text, seg[2] or seg.style
    if type(style) == "string" then style = styles[style] or 0 end
    out[#out + 1] = { (tostring(text or ""):gsub("[%c]", ""):sub(1, 200)), type(style) == "number" and style or 0 }
  end
  local old = S.prompts[p.name]
  S.prompts[p.name] = { rec = p, segs = out }
  -- a change while the prompt is on screen (set from a timer) is drawn now
  local same = old and #old.segs == #out
  for i = 1, same and #out or 0 do
    if old.segs[i][1] ~= out[i][1] or old.segs[i][2] ~= out[i][2] then same = false end
  end
  if not same then require("vcli.shell.repl").redraw() end
  return true
end

-- Every running plugin's segments, by plugin name (vcli.prompt_segment's source).
function C.prompt_segments()
  local names, segs = {}, {}
  for n in pairs(S.prompts) do names[#names + 1] = n end
  table.sort(names)
  for _, n in ipairs(names) do
    local q = S.plugins[n]
    if q and q == S.prompts[n].rec and q.state == "running" then
      for _, seg in ipairs(S.prompts[n].segs) do segs[#segs + 1] = seg end
    end
  end
  return #segs > 0 and segs or nil
end

-- ------------------------------------------------------------------ timers
function H.timer(p, id, ms, rep)
  local function fire()
    p.timers[id] = nil
    if p.state ~= "running" then return end
    if rep then p.timers[id] = loop.timer(ms, fire) end
    async.spawn(function() pcall(R.invoke, p, "timer", id) end)
  end
  p.timers[id] = loop.timer(ms, fire)
end
function H.cancel_timer(p, id)
  if p.timers[id] then p.timers[id]:stop(); p.timers[id] = nil end
end

function H.provide(p, cap) p.services[cap] = true end

-- What goes with the plugin's state: timers, open resources, its prompt.
function C.stopped(p)
  for id, t in pairs(p.timers) do t:stop(); p.timers[id] = nil end
  for id in pairs(p.streams or {}) do R.close_resource(p, id) end
  if S.prompts[p.name] and S.prompts[p.name].rec == p then S.prompts[p.name] = nil end
  require("vcli.plugin.bus").remove_owner(p)
end

return C
