-- vcli.plugin — the plugin manager: discovery, lazy start, dependency order,
-- lifecycle, the host side of every capability, stats, health and reload.
-- Each plugin runs in its own Lua state (vcli.sandbox); this module is the
-- only code that talks to those states. See docs/plugins.md.
local sandbox = require("vcli.sandbox")
local manifest = require("vcli.plugin.manifest")
local semver = require("vcli.plugin.semver")
local resilience = require("vcli.plugin.resilience")
local bus = require("vcli.plugin.bus")
local commands = require("vcli.shell.commands")
local async = require("vcli.async")
local loop = require("vcli.loop")
local vm = require("vcli.vm")
local S = require("vcli.state")("vcli.plugin")

local M = {}
M.bus = bus
S.plugins = S.plugins or {}     -- name -> record
S.failed = S.failed or {}       -- manifests that could not be read: { dir=, reason= }
S.tickets = S.tickets or {}
S.next_ticket = S.next_ticket or 0
S.config = S.config or {}
S.clipboard = S.clipboard or {}

local function vcli_mod() return require("vcli") end
-- A configuration value (nil when the configuration cannot say).
local function setting(key)
  local ok, config = pcall(require, "vcli.config")
  if not ok then return nil end
  local gok, v = pcall(config.value, key)
  if gok then return v end
end
local function env(k) local v = os.getenv(k) return v ~= "" and v or nil end
local function home() return env("HOME") or "/" end
function M.data_home() return env("XDG_DATA_HOME") or (home() .. "/.local/share") end
function M.state_home() return env("XDG_STATE_HOME") or (home() .. "/.local/state") end

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end
M.read_file = read_file

local prelude_text
local function prelude()
  prelude_text = prelude_text or assert(read_file(vcli_mod().datadir .. "/lua/vcli/plugin/prelude.lua"))
  return prelude_text
end

-- ---------------------------------------------------------------- discovery
-- Where plugins are looked for, first wins.
function M.search_path()
  local dirs = {}
  local datadir = vcli_mod().datadir
  if datadir then table.insert(dirs, { dir = datadir .. "/plugins", kind = "built-in" }) end
  table.insert(dirs, { dir = M.data_home() .. "/vcli/plugins", kind = "user" })
  for d in (env("XDG_DATA_DIRS") or "/usr/local/share:/usr/share"):gmatch("[^:]+") do
    table.insert(dirs, { dir = d .. "/vcli/plugins", kind = "system" })
  end
  for d in (env("VCLI_PLUGIN_PATH") or ""):gmatch("[^:]+") do
    table.insert(dirs, { dir = d, kind = "VCLI_PLUGIN_PATH" })
  end
  return dirs
end

local function read_disabled()
  S.disabled = {}
  local text = read_file(M.state_home() .. "/vcli/plugins.disabled")
  for name in (text or ""):gmatch("[^\n]+") do S.disabled[name] = true end
end

local function write_disabled()
  local dir = M.state_home() .. "/vcli"
  os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "'")
  local names = {}
  for n in pairs(S.disabled) do table.insert(names, n) end
  table.sort(names)
  local f = assert(io.open(dir .. "/plugins.disabled", "w"))
  f:write(table.concat(names, "\n"), #names > 0 and "\n" or "")
  f:close()
end

local function new_record(dir, source, m, err)
  return { name = m and m.name, dir = dir, source = source, m = m, reason = err, shadowed = {},
           state = err and "failed" or "discovered", lat = {}, lat_i = 0, calls = 0, errors = 0,
           timers = {}, panels = {}, services = {} }
end

-- Read every manifest (not the code). Registers lazy command stubs.
-- Parsed manifests come from the manifest cache when the file is unchanged;
-- opts.cache names the cache file (false: none). Only the default search
-- path uses the default cache, so a spec's own directories leave it alone.
function M.discover(search, opts)
  read_disabled()
  local cache_path = opts and opts.cache
  if cache_path == nil and not search then cache_path = manifest.cache_path() end
  local cache = cache_path and manifest.cache(cache_path)
  S.search, S.cache_opt = search, opts
  local found, failed = {}, {}
  for _, sp in ipairs(search or M.search_path()) do
    local names = sandbox.ls(sp.dir)
    if names then
      table.sort(names)
      for _, n in ipairs(names) do
        local dir = sp.dir .. "/" .. n
        local mpath = dir .. "/plugin.yaml"
        local m, err
        if n:sub(1, 1) == "." then  -- skipped: installs in progress, editors' files
          mpath = nil
        elseif cache then
          local st = sandbox.stat(mpath)
          if st and st.type == "file" then m, err = cache:parse(mpath, st) end
        else
          local text = read_file(mpath)
          if text then m, err = manifest.parse(text, mpath) end
        end
        if m or err then
          if m and m.name ~= n then
            m, err = nil, ("%s:1: name: '%s' does not match its directory '%s'"):format(mpath, m.name, n)
          end
          local name = m and m.name or n
          if found[name] then
            table.insert(found[name].shadowed, dir)
          else
            local rec = new_record(dir, sp.kind, m, err)
            rec.name = name
            found[name] = rec
            if err then table.insert(failed, rec) end
          end
        end
      end
    end
  end
  -- Keep what is running; forget what vanished.
  for name, old in pairs(S.plugins) do
    if old.state == "running" and found[name] and found[name].dir == old.dir then
      old.shadowed = found[name].shadowed
      found[name] = old
    elseif old.state == "running" then
      M.stop(name)
    end
  end
  S.plugins = found
  S.failed = failed
  if cache then cache:save() end
  M._register_schemas()
  for name, p in pairs(S.plugins) do
    if S.disabled[name] and p.state ~= "failed" then p.state = "disabled" end
    if p.state == "discovered" then M._stubs(p) end
  end
  return S.plugins
end

-- A manifest's config_schema becomes the plugin's section plugins.<name> in
-- the configuration (checked against it; VCLI_PLUGINS_<NAME>_<KEY> names its
-- keys), its config: table the plugin defaults layer.
S.schemas = S.schemas or {}
function M._register_schemas()
  local ok, cfg = pcall(require, "vcli.config")
  if not ok then return end
  for name in pairs(S.schemas) do
    local p = S.plugins[name]
    if not (p and p.m and p.m.config_schema) then cfg.unregister_schema(name); S.schemas[name] = nil end
  end
  for name, p in pairs(S.plugins) do
    local m = p.m
    if m and m.config_schema and (S.schemas[name] ~= m.config_schema) then
      local rok, err = pcall(cfg.register_schema, name, m.config_schema, m.config)
      if rok then S.schemas[name] = m.config_schema
      else io.stderr:write(("vcli: plugin %s: config_schema: %s\n"):format(name, tostring(err))) end
    end
  end
end

-- Lazy stubs: the command exists before the plugin runs; its first use
-- starts it. Subcommands the manifest names are stubs too (completion of
-- their names works before the start; help starts the plugin, whose own
-- specs give the flags, arguments and examples: one source of truth).
local function restart_words(p, path, ctx)
  local ok, err = M.start(p.name)
  if not ok then error(err, 0) end
  local real = commands.get(path[1])
  local alias = commands.aliases()[path[1]]
  if alias and (not real or real.lazy_plugin) then real = commands.get(alias.expansion) end
  if not real or real.lazy_plugin then
    error(("plugin %s did not define its command '%s' when it started"):format(p.name, path[1]), 0)
  end
  -- the line again as typed: the stub takes every word (unknown flags too)
  -- as positional, and what follows `--` arrives as flags["--"]
  local words = {}
  for _, w in ipairs(path) do words[#words + 1] = w end
  for _, w in ipairs(ctx.positional or {}) do words[#words + 1] = w end
  local rest = ctx.flags and ctx.flags["--"]
  if rest then
    words[#words + 1] = "--"
    for _, w in ipairs(rest) do words[#words + 1] = w end
  end
  return require("vcli.shell").run_words(words)
end

-- Completion through a stub: start the plugin, then complete the same words
-- against the command it defined.
local function stub_complete(p, path)
  return function(partial, cctx)
    local ok = M.start(p.name)
    local real = ok and commands.get(path[1])
    if not real or real.lazy_plugin then return {} end
    local parts = {}
    for _, w in ipairs(cctx and cctx.words or path) do
      parts[#parts + 1] = w:find("[%s'\"\\]") and ("'" .. w:gsub("'", "'\\''") .. "'") or w
    end
    local line = table.concat(parts, " ") .. " " .. (partial or "")
    local res = require("vcli.shell.complete").complete(line, #line)
    return res and res.items or {}
  end
end

function M._stubs(p)
  for _, c in ipairs(p.m.commands) do
    local existing = commands.get(c.name)
    if not existing or existing.owner == "plugin:" .. p.name then
      local subs
      if c.subcommands then
        subs = {}
        for _, sc in ipairs(c.subcommands) do
          local path = { c.name, sc.name }
          subs[#subs + 1] = {
            name = sc.name, summary = sc.summary, lazy_plugin = p.name, extra_args = true, passthrough_unknown = true,
            passthrough = true,
            args = { { name = "args", variadic = true, optional = true, complete = stub_complete(p, path) } },
            handler = function(ctx) return restart_words(p, path, ctx) end,
          }
        end
      end
      commands.define({
        name = c.name, summary = c.summary, lazy_plugin = p.name, extra_args = true, passthrough_unknown = true,
        passthrough = true, subcommands = subs,
        -- help (and flag completion) start the plugin for its real specs
        realize = function() return M.start(p.name) end,
        args = { { name = "args", variadic = true, optional = true, complete = stub_complete(p, { c.name }) } },
        handler = function(ctx) return restart_words(p, { c.name }, ctx) end,
      }, "plugin:" .. p.name)
    end
  end
end

-- Discover again with the search path of the last discovery (after an install).
function M.rediscover() return M.discover(S.search, S.cache_opt) end

function M.get(name) return S.plugins[name] end
function M.all()
  local out = {}
  for _, p in pairs(S.plugins) do table.insert(out, p) end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end
function M.names()
  local out = {}
  for name in pairs(S.plugins) do table.insert(out, name) end
  table.sort(out)
  return out
end

-- ------------------------------------------------------------ dependencies
-- Start order for name (dependencies first) | nil, err naming the problem.
function M.order(name)
  local order, state, stack = {}, {}, {}
  local function visit(n, from, range)
    local p = S.plugins[n]
    if not p then
      return nil, from and ("plugin %s needs %s (%s), which is not installed"):format(from, n, range)
        or ("no plugin named '%s' (plugin list shows what is installed)"):format(n)
    end
    if not p.m then return nil, ("plugin %s: %s"):format(n, p.reason) end
    if from and not semver.satisfies(p.m.version, range) then
      return nil, ("plugin %s needs %s %s, but %s %s is installed (%s)"):format(from, n, range, n, p.m.version, p.dir)
    end
    if state[n] == "done" then return true end
    if state[n] == "visiting" then
      local cycle, start = {}, nil
      for i, s in ipairs(stack) do if s == n then start = i end end
      for i = start, #stack do table.insert(cycle, stack[i]) end
      table.insert(cycle, n)
      return nil, "dependency cycle: " .. table.concat(cycle, " → ")
    end
    state[n] = "visiting"
    table.insert(stack, n)
    for _, d in ipairs(p.m.dependencies) do
      local ok, err = visit(d.name, n, d.range)
      if not ok then return nil, err end
    end
    table.remove(stack)
    state[n] = "done"
    table.insert(order, n)
    return true
  end
  local ok, err = visit(name)
  if not ok then return nil, err end
  return order
end

-- ----------------------------------------------------------------- tickets
-- A capability that waits starts its work as a task and hands the plugin a
-- ticket; the plugin's call yields until the ticket is done.
local function ticket(fn, ...)
  S.next_ticket = S.next_ticket + 1
  local id = S.next_ticket
  local t = { waiters = {} }
  S.tickets[id] = t
  local args = table.pack(...)
  t.task = async.spawn(function()
    local res = table.pack(pcall(fn, unpack(args, 1, args.n)))
    t.done, t.ok, t.value = true, res[1], res[2]
    if not res[1] then t.value = require("vcli.shell").one_line(res[2]) end
    for _, w in ipairs(t.waiters) do w() end
  end)
  return id
end

-- Wait until one of ids is done -> id, ok, value. Cancelling the wait
-- (Ctrl-C) cancels the operations, except a program on the terminal
-- (exec with tty): the keyboard is its own, Ctrl-C reaches it directly, and
-- the wait goes on until it exits.
local function await_any(ids)
  local function first_done()
    for _, id in ipairs(ids) do
      local t = S.tickets[id]
      if not t then return id, false, "no such operation" end
      if t.done then S.tickets[id] = nil return id, t.ok, t.value end
    end
  end
  while true do
    local id, ok, value = first_done()
    if id then return id, ok, value end
    local mine
    local wok, err = pcall(async.await, function(resume)
      mine = resume
      for _, tid in ipairs(ids) do table.insert(S.tickets[tid].waiters, resume) end
      return function()
        for _, tid in ipairs(ids) do
          local t = S.tickets[tid]
          if t and not t.tty and t.task then t.task:cancel() end
        end
      end
    end)
    for _, tid in ipairs(ids) do
      local t = S.tickets[tid]
      for i = #(t and t.waiters or {}), 1, -1 do if t.waiters[i] == mine then table.remove(t.waiters, i) end end
    end
    if not wok then
      local tty = false
      for _, tid in ipairs(ids) do
        local t = S.tickets[tid]
        if t and t.tty and not t.done then tty = true end
      end
      if not tty then
        for _, tid in ipairs(ids) do if S.tickets[tid] and S.tickets[tid].done then S.tickets[tid] = nil end end
        error(err, 0)
      end
    end
  end
end

-- --------------------------------------------------------------- invoking
-- What the plugin printed, out to the shell; also to the reader of a pipe
-- or file now (a `get -w` or `logs -f` into grep or a file shows each event
-- as it comes, as kubectl does), since a call flushes when it waits.
local function flush(p)
  if not p.sb or p.sb:closed() then return end
  local o, e = p.sb:output()
  local shell = require("vcli.shell")
  if o ~= "" then shell.write(o); io.stdout:flush() end
  if e ~= "" then shell.ewrite(e) end
end

local function record_latency(p, ms)
  p.lat_i = p.lat_i % 512 + 1
  p.lat[p.lat_i] = ms
end

-- One stretch of a call: fn(sb, ...) with the call marked current.
local function call_step(p, call, prev, fn, sb, ...)
  p.current_call = call
  local r = table.pack(fn(sb, ...))
  p.current_call = prev
  return r
end

-- Call into a running plugin: dispatch(kind, ...) in its state; waits on
-- the host when the plugin does; returns its results or raises one line.
function M.invoke(p, kind, ...)
  if p.state ~= "running" or not p.sb then
    error(("plugin %s is %s%s"):format(p.name, p.state, p.reason and (": " .. p.reason) or ""), 0)
  end
  -- The breaker guards calls users and other plugins make, not the
  -- manager's own introspection (eval) or lifecycle hooks.
  local breaker = (kind ~= "eval" and kind ~= "hook" and kind ~= "load") and p.breaker or nil
  if breaker and not breaker:allow() then
    error(("plugin %s: circuit open after %d failures (plugin stats shows it)"):format(p.name, breaker.failures), 0)
  end
  local t0 = vm.now()
  local sb = p.sb
  -- The call's own resources (streams) close when it ends, however it ends.
  local call, prev = { streams = false }, p.current_call
  local function close_call()
    p.current_call, call.done = prev, true
    if call.streams then for id in pairs(call.streams) do M._close_stream(p, id) end end
  end
  local sok, res = pcall(call_step, p, call, prev, sb.call, sb, kind, ...)
  if not sok then close_call() error(res, 0) end
  while res[1] == "wait" do
    flush(p)
    local tref = res[2]
    if res[3] ~= "__vcli_wait" then
      sb:cancel(tref)
      res = { "error", ("plugin %s: coroutine.yield outside a coroutine"):format(p.name), "error", n = 3 }
      break
    end
    -- one ticket, or several (tasks of the call: vcli.spawn) -> which one, ok, value
    local many = type(res[4]) == "table"
    local aok, tid, tok, tval = pcall(await_any, many and res[4] or { res[4] })
    if sb:closed() then close_call() error(("plugin %s stopped while a call waited"):format(p.name), 0) end
    if not aok then close_call(); sb:cancel(tref); error(tid, 0) end   -- cancelled (Ctrl-C)
    -- a large value (an HTTP body) is garbage on the host once copied into
    -- the plugin: collect it now, not when the host heap has doubled
    local big = type(tval) == "table" and type(tval.body) == "string" and #tval.body or 0
    if many then
      sok, res = pcall(call_step, p, call, prev, sb.resume, sb, tref, tid, tok, tval)
    else
      sok, res = pcall(call_step, p, call, prev, sb.resume, sb, tref, tok, tval)
    end
    tval = nil -- luacheck: ignore 311
    if big >= 262144 then collectgarbage("step", math.floor(big / 1024)) end
    if not sok then close_call() error(res, 0) end
  end
  close_call()
  flush(p)
  p.calls = p.calls + 1
  record_latency(p, vm.now() - t0)
  if res[1] == "error" then
    p.errors = p.errors + 1
    local msg = res[2]
    -- The breaker counts faults (a limit hit, a Lua error at a line of the plugin), not a
    -- command's own answer (error(msg, 0): "not found", "refused: read-only"): five typos
    -- in a row must not shut the plugin off.
    if breaker then
      if res[3] ~= "error" or msg:match("^[^\n]-:%d+: ") then breaker:failure() else breaker:success() end
    end
    local tb = msg:match("\nstack traceback:.*$")
    msg = msg:match("^(.-)\nstack traceback:") or msg
    if msg == "stack overflow" or msg:match("stack overflow$") then
      msg = ("plugin %s: stack overflow (runaway recursion?)"):format(p.name)
    elseif not msg:match("^plugin ") and not (kind == "command" and res[3] == "error") then
      -- (a command's own error is its message: its chunk names the plugin)
      msg = ("plugin %s: %s"):format(p.name, msg)
    end
    if res[3] == "memory" then
      if p.mem_cap then msg = ("%s (security.maxMemoryMB is %d)"):format(msg, p.mem_cap) end
      M._fail(p, msg)
    end
    -- global.debug: the plugin's own traceback goes with the message
    if tb and setting("global.debug") == true then msg = msg .. tb end
    error(msg, 0)
  end
  if breaker then breaker:success() end
  return unpack(res, 2, res.n)
end


function M.call(name, kind, ...)
  local p = S.plugins[name]
  if not p then error(("no plugin named '%s'"):format(name), 0) end
  if p.state ~= "running" then
    local ok, err = M.start(name)
    if not ok then error(err, 0) end
  end
  return M.invoke(p, kind, ...)
end

-- ------------------------------------------------------------ capabilities
local H = {}
M.handlers = H

local function owner(p) return "plugin:" .. p.name end

H.core = {}
function H.core.version() return vcli_mod().version end
function H.core.log(p, msg)
  require("vcli.log").info(msg, { plugin = p.name })
  p.log = p.log or {}
  table.insert(p.log, msg)
  if #p.log > 200 then table.remove(p.log, 1) end
end
function H.core.source(_, name)
  local file = ({ ["vcli.resilience"] = "plugin/resilience", ["vcli.semver"] = "plugin/semver",
                  ["vcli.lines"] = "lines", ["vcli.base64"] = "base64", ["vcli.text"] = "text" })[name]
  if not file then return nil end
  return read_file(vcli_mod().datadir .. "/lua/vcli/" .. file .. ".lua")
end
function H.core.sleep(_, ms) return ticket(function() async.sleep(tonumber(ms) or 0) end) end
-- A task of a call that ended before it did: its pending operation goes too.
function H.core.cancel(_, id)
  local t = S.tickets[tonumber(id) or -1]
  if not t then return true end
  S.tickets[id] = nil
  if t.task and not t.done then t.task:cancel("cancelled with its call") end
  return true
end

-- Whether the shell has a terminal (exec with tty, ui.confirm).
local terminal
local function has_terminal()
  if terminal == nil then
    local term = require("vcli.term")
    terminal = term.isatty(0) and term.isatty(1)
  end
  return terminal
end
M.has_terminal = has_terminal
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
    local function go() return M.call(p.name, "complete", path, kind, item.name, partial or "", data) end
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

function H.core.command(p, spec)
  local name = spec.name
  if type(name) ~= "string" then error("command: a spec with a name expected", 0) end
  local existing = commands.get(name)
  if existing and existing.owner ~= owner(p) then
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
        return M.invoke(p, "command", path, {
          args = ctx.args, flags = ctx.flags, positional = ctx.positional, path = path,
          interactive = ctx.interactive, color = ctx.color, width = width, terminal = has_terminal(),
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
  commands.define(spec, owner(p))
  p.cmds = p.cmds or {}
  p.cmds[name] = true
end

-- vcli.prompt.set(segments): what the shell shows before its prompt; the
-- host keeps the last value and never calls the plugin to draw it.
S.prompts = S.prompts or {}
function H.core.prompt(p, segs)
  if segs == nil or segs == "" then S.prompts[p.name] = nil return true end
  if type(segs) == "string" then segs = { { segs } } end
  if type(segs) ~= "table" then error("prompt.set: a string or a list of {text, style} expected", 0) end
  local styles = require("vcli.shell.editor").styles
  local out = {}
  for i, seg in ipairs(segs) do
    if type(seg) == "string" then seg = { seg } end
    if type(seg) ~= "table" then error(("prompt.set: segment %d is not {text, style}"):format(i), 0) end
    local text, style = seg[1] or seg.text, seg[2] or seg.style
    if type(style) == "string" then style = styles[style] or 0 end
    out[#out + 1] = { tostring(text or ""):gsub("[%c]", ""), type(style) == "number" and style or 0 }
  end
  S.prompts[p.name] = { rec = p, segs = out }
  return true
end
function M.prompt_segments()
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
if not S.prompt_hooked then
  S.prompt_hooked = true
  vcli_mod().prompt_segment(function() return require("vcli.plugin").prompt_segments() end)
end

function H.core.timer(p, id, ms, rep)
  local function fire()
    p.timers[id] = nil
    if p.state ~= "running" then return end
    if rep then p.timers[id] = loop.timer(ms, fire) end
    async.spawn(function() pcall(M.invoke, p, "timer", id) end)
  end
  p.timers[id] = loop.timer(ms, fire)
end
function H.core.cancel_timer(p, id)
  if p.timers[id] then p.timers[id]:stop(); p.timers[id] = nil end
end
function H.core.provide(p, cap) p.services[cap] = true end

local function service_provider(cap)
  for _, q in pairs(S.plugins) do
    if q.m then
      for _, s in ipairs(q.m.provides) do if s == cap then return q end end
    end
  end
end

-- net: http requests to the hosts the manifest lists.
local function host_allowed(list, host)
  for _, pat in ipairs(list or {}) do
    if pat == "*" or pat == host then return true end
    local suffix = pat:match("^%*%.(.+)$")
    if suffix and host:sub(-#suffix - 1) == "." .. suffix then return true end
  end
  return false
end
H.net = {}
local NET_OPTS = { "url", "method", "headers", "body", "timeout_ms", "connect_timeout_ms", "ca_pem", "cert_pem",
                   "key_pem", "insecure", "server_name", "proxy", "low_speed", "http_version" }
local NET_FILES = { "ca_file", "cert_file", "key_file" }
local check_path   -- fs.read's check, below

-- The options a plugin may pass, checked: the URL's host against hosts:,
-- *_file paths against the plugin's fs.read grant (on their real path).
local function net_opts(p, opts)
  if type(opts) ~= "table" or type(opts.url) ~= "string" then error("http: options with a url expected", 0) end
  local host = opts.url:match("^%a[%w+.-]*://%[?([^/:%]@]+)")
  local allowed = p.m.capabilities.net.hosts
  if not host or not host_allowed(allowed, host:lower()) then
    error(("plugin %s may not reach host '%s' (capabilities: net: hosts: [%s])"):format(
      p.name, tostring(host), table.concat(allowed or {}, ", ")), 0)
  end
  local o = {}
  for _, k in ipairs(NET_OPTS) do o[k] = opts[k] end
  for _, k in ipairs(NET_FILES) do
    local path = opts[k]
    if path ~= nil then
      if type(path) ~= "string" or path == "" then error(("http: %s must be a path"):format(k), 0) end
      local ok, real = false, nil
      if p.m.capabilities["fs.read"] then ok, real = pcall(check_path, p, "fs.read", path) end
      if not ok then
        error(("plugin %s: fs.read does not cover %s"):format(p.name, path), 0)
      end
      o[k] = real
    end
  end
  return o
end

function H.net.request(p, opts)
  local o = net_opts(p, opts)
  return ticket(function()
    local r, err = require("vcli.http").request(o)
    if not r then error(err, 0) end
    return { status = r.status, headers = r.headers, body = r.body }
  end)
end

-- Resources a call opens (HTTP streams, WebSockets, listeners, accepted
-- sockets, the terminal): each gets an id, belongs to the call that opened
-- it and closes when that call returns, fails or is cancelled (Ctrl-C), or
-- when the plugin stops. Every one has a kind and a :close().
S.next_stream = S.next_stream or 0
local function adopt(p, call, obj, kind)
  S.next_stream = S.next_stream + 1
  local id = S.next_stream
  obj.kind = kind
  p.streams = p.streams or {}
  p.streams[id] = obj
  if call and not call.done and p.state == "running" then
    call.streams = call.streams or {}
    call.streams[id] = true
  else
    M._close_stream(p, id)
  end
  return id
end
local KIND_NAMES = { stream = "stream", websocket = "WebSocket", listener = "listener", socket = "connection",
                     terminal = "terminal" }
local function resource(p, id, kind)
  local r = p.streams and p.streams[id]
  if not r or r.kind ~= kind then
    error(("plugin %s: %s %s is closed"):format(p.name, KIND_NAMES[kind] or kind, tostring(id)), 0)
  end
  return r
end

-- Streams: http.stream on the host; the plugin reads chunk by chunk (a
-- ticket per read).
function H.net.stream(p, opts)
  local o = net_opts(p, opts)
  local call = p.current_call
  return ticket(function()
    local s, err = require("vcli.http").stream(o)
    if not s then error(err, 0) end
    local id = adopt(p, call, s, "stream")
    return { id = id, status = s.status, headers = s.headers }
  end)
end
function H.net.read(p, id)
  local s = resource(p, id, "stream")
  return ticket(function() return s:read() end)
end
function H.net.close(p, id) M._close_stream(p, id) return true end
function M._close_stream(p, id)
  local s = p.streams and p.streams[id]
  if s then p.streams[id] = nil; s:close() end
  if p.current_call and p.current_call.streams then p.current_call.streams[id] = nil end
end
-- Resources (streams, WebSockets, listeners, connections, the terminal) a plugin has open (specs).
function M.open_streams(name, kind)
  local p = S.plugins[name]
  local n = 0
  for _, r in pairs(p and p.streams or {}) do if not kind or r.kind == kind then n = n + 1 end end
  return n
end

-- WebSockets (vcli.websocket): the same host and option checks as
-- requests, plus the subprotocols offered. A refused handshake (not 101)
-- is an answer, not an error: status, headers and body come back.
function H.net.websocket(p, opts)
  local o = net_opts(p, opts)
  local protos = opts.protocols
  if protos ~= nil then
    if type(protos) ~= "table" then error("websocket: protocols must be a list of names", 0) end
    o.protocols = {}
    for i, v in ipairs(protos) do
      if type(v) ~= "string" then error("websocket: protocols must be a list of names", 0) end
      o.protocols[i] = v
    end
  end
  if opts.handshake_timeout_ms ~= nil and type(opts.handshake_timeout_ms) ~= "number" then
    error("websocket: handshake_timeout_ms must be a number", 0)
  end
  o.handshake_timeout_ms = opts.handshake_timeout_ms
  local call = p.current_call
  return ticket(function()
    local ws, err = require("vcli.websocket").connect(o)
    if not ws then error(err, 0) end
    if ws.status ~= 101 then return { status = ws.status, headers = ws.headers, body = ws.body } end
    local id = adopt(p, call, ws, "websocket")
    return { id = id, status = ws.status, headers = ws.headers, protocol = ws.protocol }
  end)
end
-- next message: { data =, text = bool } | nil at the end (close_code)
function H.net.ws_recv(p, id)
  local ws = resource(p, id, "websocket")
  return ticket(function()
    local data, kind = ws:recv()
    if data == nil then return { closed = true, code = ws.close_code, reason = ws.close_reason } end
    return { data = data, text = kind == "text" or nil }
  end)
end
function H.net.ws_send(p, id, data, text)
  local ws = resource(p, id, "websocket")
  if type(data) ~= "string" then error("websocket: send takes a string", 0) end
  return ticket(function() return ws:send(data, text and "text" or "binary") end)
end

-- Local TCP listeners (port-forward): only with net: listen: true (or a
-- list of the addresses allowed). Accepted connections belong to the call
-- that accepted them.
local tcp_mod
local function tcp() tcp_mod = tcp_mod or require("vcli.tcp") return tcp_mod end

-- One loop watcher per descriptor (the loop keys them by fd): a reader and
-- a writer may wait on the same socket at once.
local function fd_update(o)
  local mode = (o.rwait and "r" or "") .. (o.wwait and "w" or "")
  if mode == "" or not o.fd then
    if o.watch then o.watch:stop(); o.watch = nil end
    return
  end
  if o.watch then o.watch:set(mode) return end
  o.watch = loop.fd(o.fd, mode, function(r, w)
    local rw, ww = o.rwait, o.wwait
    if r and rw then o.rwait = nil end
    if w and ww then o.wwait = nil end
    fd_update(o)
    if r and rw then rw() end
    if w and ww then ww() end
  end)
end
local function fd_wait(o, which)
  async.await(function(resume)
    o[which] = resume
    fd_update(o)
    return function()
      if o[which] == resume then o[which] = nil; fd_update(o) end
    end
  end)
end
local function fd_close(o)
  if not o.fd then return end
  local fd = o.fd
  o.fd = nil
  local rw, ww = o.rwait, o.wwait
  o.rwait, o.wwait = nil, nil
  fd_update(o)
  tcp().close(fd)
  if rw then rw() end
  if ww then ww() end
end

local function listen_allowed(p, host)
  local grant = p.m.capabilities.net.listen
  if grant == true then return true end
  if type(grant) == "table" then
    for _, a in ipairs(grant) do if a == host then return true end end
  end
  return false, grant
end
function H.net.listen(p, opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("listen: an options table expected ({host =, port =})", 0) end
  local host, port = opts.host or "127.0.0.1", opts.port or 0
  if type(host) ~= "string" then error("listen: host must be an address", 0) end
  if type(port) ~= "number" or port ~= math.floor(port) or port < 0 or port > 65535 then
    error("listen: port must be a number from 0 to 65535", 0)
  end
  local ok, grant = listen_allowed(p, host)
  if not ok then
    if type(grant) == "table" then
      error(("plugin %s may not listen on %s (capabilities: net: listen: [%s])"):format(p.name, host, table.concat(grant, ", ")), 0)
    end
    error(("plugin %s may not listen for connections (capabilities: net: listen: true)"):format(p.name), 0)
  end
  local fd, bhost, bport = tcp().listen(host, port)
  if not fd then error(bhost, 0) end
  local l = { fd = fd, host = bhost, port = bport }
  l.close = fd_close
  local id = adopt(p, p.current_call, l, "listener")
  return { id = id, host = bhost, port = bport }
end
-- the next connection: { id, peer, port } | nil once the listener is closed
function H.net.accept(p, id)
  local l = resource(p, id, "listener")
  local call = p.current_call
  return ticket(function()
    while l.fd do
      local fd, peer, pport = tcp().accept(l.fd)
      if fd then
        local c = { fd = fd, peer = peer, port = pport }
        c.close = fd_close
        local cid = adopt(p, call, c, "socket")
        return { id = cid, peer = peer, port = pport }
      end
      if peer ~= "again" then error("accept: " .. tostring(peer), 0) end
      fd_wait(l, "rwait")
    end
    return nil
  end)
end
-- bytes as they come (up to 64 KiB) | nil at the end (or once closed)
function H.net.sock_read(p, id)
  local c = resource(p, id, "socket")
  return ticket(function()
    while c.fd do
      local parts, n = {}, 0
      while c.fd and n < 65536 do
        local data, err = loop.read(c.fd, 65536)
        if data then
          parts[#parts + 1] = data
          n = n + #data
        elseif err == "again" then
          break
        elseif err == "eof" or tostring(err):lower():find("reset") then
          if n > 0 then c.eof = true break end
          return nil
        else
          error("read: " .. tostring(err), 0)
        end
      end
      if n > 0 then return table.concat(parts) end
      if c.eof then return nil end
      fd_wait(c, "rwait")
    end
    return nil
  end)
end
-- the whole string, waiting while the socket is full
function H.net.sock_write(p, id, data)
  local c = resource(p, id, "socket")
  if type(data) ~= "string" then error("socket: write takes a string", 0) end
  return ticket(function()
    local pos = 1
    while pos <= #data do
      if not c.fd then error(("plugin %s: connection %s is closed"):format(p.name, tostring(id)), 0) end
      local n, err = tcp().write(c.fd, data, pos)
      if n then pos = pos + n
      elseif err == "again" then fd_wait(c, "wwait")
      else error("write: " .. tostring(err), 0) end
    end
    return true
  end)
end

-- terminal: the user's terminal and standard input. open{raw = true}
-- puts the terminal in raw mode (it needs one) and reports resizes;
-- open{} reads standard input as it is (a pipe, a file, the terminal in
-- its normal mode). Always restored when closed: by the plugin, with its
-- call (return, error, Ctrl-C, time limit) or when the plugin stops.
H.terminal = {}
function H.terminal.open(p, opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("terminal.open: an options table expected", 0) end
  local term = require("vcli.term")
  local raw = opts.raw == true
  if raw and not has_terminal() then
    error(("plugin %s: a raw terminal needs one, and this shell has none (stdin/stdout are not a terminal)"):format(p.name), 0)
  end
  if S.terminal_open and S.terminal_open.fd then error(("plugin %s: the terminal is already open"):format(p.name), 0) end
  io.stdout:flush()
  local t = { fd = 0, q = {}, raw = raw }
  local function push(ev)
    t.q[#t.q + 1] = ev
    local w = t.waiter
    t.waiter = nil
    if w then w() end
  end
  t.close = function(self)
    if not self.fd then return end
    self.fd = nil
    if self.watch then self.watch:stop(); self.watch = nil end
    if self.raw then loop.signal("SIGWINCH", self.prev_winch); term.raw(false) end
    io.stdout:flush()
    if S.terminal_open == self then S.terminal_open = nil end
    local w = self.waiter
    self.waiter = nil
    if w then w() end
  end
  if raw then
    if not term.raw(true, "full") then error(("plugin %s: cannot put the terminal in raw mode"):format(p.name), 0) end
    -- resizes go to the remote side while the terminal is the plugin's (the
    -- shell's own handler redraws nothing while a command runs; put back on close)
    t.prev_winch = loop.handler("SIGWINCH")
    loop.signal("SIGWINCH", function()
      if t.prev_winch then t.prev_winch() end
      local cols, rows = term.size()
      push({ resize = { cols, rows } })
    end)
  end
  if opts.input ~= false then
    t.watch = loop.fd(0, "r", function()
      local data, err = loop.read(0, 65536)
      if data then push({ data = data })
      elseif err ~= "again" then
        t.watch:stop()
        t.watch = nil
        push({ eof = true })
      end
    end)
  end
  S.terminal_open = t
  local id = adopt(p, p.current_call, t, "terminal")
  local cols, rows = term.size()
  return { id = id, raw = raw, width = cols, height = rows }
end
-- next event: { data = bytes } | { resize = {cols, rows} } | nil at the end of input (or once closed)
function H.terminal.read(p, id)
  local t = resource(p, id, "terminal")
  return ticket(function()
    while true do
      local ev = table.remove(t.q, 1)
      if ev then
        if ev.eof then return nil end
        return ev
      end
      if not t.fd then return nil end
      async.await(function(resume)
        t.waiter = resume
        return function() if t.waiter == resume then t.waiter = nil end end
      end)
    end
  end)
end
function H.terminal.close(p, id) M._close_stream(p, id) return true end
-- write to stdout (1) or stderr (2) now, after what the plugin printed before
function H.terminal.write(p, data, stream)
  if type(data) ~= "string" then error("terminal.write takes a string", 0) end
  flush(p)
  local shell = require("vcli.shell")
  if stream == 2 then shell.ewrite(data) else shell.write(data) end
  io.stdout:flush()
  return true
end
function H.terminal.size()
  local cols, rows = require("vcli.term").size()
  return { width = cols, height = rows, terminal = has_terminal() }
end

-- env: the variables the manifest names, nothing else.
H.env = {}
function H.env.get(p, name)
  if type(name) ~= "string" then error("env.get: a variable name expected", 0) end
  for _, n in ipairs(p.m.capabilities.env.names or {}) do
    if n == name then return os.getenv(name) end
  end
  error(("plugin %s may not read the environment variable %s (capabilities: env: [%s])"):format(
    p.name, name, table.concat(p.m.capabilities.env.names or {}, ", ")), 0)
end

-- store: the plugin's own LMDB database "plugin:<name>", with its quota.
local function store_db(p)
  if p.db then return p.db end
  local store = require("vcli.store")
  local dir = S.store_dir or (M.state_home() .. "/vcli/store")
  local envh = assert(store.open(dir))
  local db = assert(envh:db("plugin:" .. p.name))
  local quota = manifest.size(p.m.capabilities.store.quota or "10MiB")
  local cap = tonumber(setting("security.diskQuotaMB"))
  if cap and cap * 1048576 < quota then quota = cap * 1048576 end
  db:set_quota(quota)
  p.db = db
  return db
end
H.store = {}
local function key(k)
  if type(k) ~= "string" or k == "" then error("store: key must be a non-empty string", 0) end
  return k
end
function H.store.get(p, k) return (store_db(p):get(key(k))) end
function H.store.put(p, k, v)
  if type(v) ~= "string" then error("store: value must be a string (encode tables with your own format)", 0) end
  local ok, err = store_db(p):put(key(k), v)
  if not ok and err then error(("plugin %s: store: %s"):format(p.name, err), 0) end
  return true
end
function H.store.del(p, k) store_db(p):del(key(k)) return true end
function H.store.keys(p, prefix) return store_db(p):keys(prefix) end
function H.store.usage(p) return store_db(p):usage() end

-- exec: processes whose program the manifest allows.
H.exec = {}
function H.exec.run(p, argv, opts)
  if type(argv) ~= "table" or type(argv[1]) ~= "string" then error("exec: argv list expected", 0) end
  local prog = argv[1]
  local allowed = p.m.capabilities.exec.commands or {}
  local ok = false
  for _, c in ipairs(allowed) do if c == prog or c == "*" then ok = true end end
  if not ok then
    error(("plugin %s may not run '%s' (capabilities: exec: commands: [%s])"):format(p.name, prog, table.concat(allowed, ", ")), 0)
  end
  if opts ~= nil and type(opts) ~= "table" then error("exec: options table expected", 0) end
  opts = opts or {}
  local cwd = opts.cwd
  if cwd ~= nil and type(cwd) ~= "string" then error("exec: cwd must be a path", 0) end
  local envp
  if opts.env ~= nil then
    if type(opts.env) ~= "table" then error("exec: env must be a table of NAME = value", 0) end
    envp = sandbox.environ()
    for k, v in pairs(opts.env) do
      if type(k) ~= "string" or k == "" or k:find("[=%z]") then error(("exec: env: bad variable name %q"):format(tostring(k)), 0) end
      if v == false then envp[k] = nil
      elseif type(v) == "string" or type(v) == "number" then envp[k] = tostring(v)
      else error(("exec: env: %s: a string (or false to unset) expected"):format(k), 0) end
    end
  end
  -- stdin = "inherit": the program reads vcli's standard input (it needs the terminal
  -- capability, the plugin's grant to the user's terminal and standard input)
  local stdin = "null"
  if opts.stdin ~= nil then
    if opts.stdin ~= "inherit" and opts.stdin ~= "null" then error('exec: stdin must be "inherit" or "null"', 0) end
    if opts.stdin == "inherit" and not p.m.capabilities.terminal then
      error(("plugin %s may not give a program standard input (capabilities: terminal)"):format(p.name), 0)
    end
    stdin = opts.stdin
  end
  if opts.tty then
    if not has_terminal() then
      error(("plugin %s: exec with tty needs a terminal, and this shell has none (stdin/stdout are not a terminal)")
        :format(p.name), 0)
    end
    -- the child gets the user's terminal (as `!cmd` does) and vcli waits for its exit code
    local id = ticket(function()
      local proc = require("vcli.proc")
      io.stdout:flush()
      io.stderr:flush()
      return async.await(function(resume)
        local pr, perr = proc.spawn({ argv = argv, env = envp, cwd = cwd,
          on_exit = function(c) resume({ code = c, stdout = "", stderr = "" }) end })
        if not pr then resume(nil, perr) return end
        return function() proc.kill(pr.pid) end
      end)
    end)
    if S.tickets[id] then S.tickets[id].tty = true end
    return id
  end
  return ticket(function()
    local proc = require("vcli.proc")
    local out, err, code = {}, {}, nil
    return async.await(function(resume)
      local pending = 3
      local function done()
        pending = pending - 1
        if pending == 0 then resume({ code = code, stdout = table.concat(out), stderr = table.concat(err) }) end
      end
      local pr, perr = proc.spawn({ argv = argv, stdin = stdin, stdout = "pipe", stderr = "pipe", env = envp, group = true,
        cwd = cwd, on_exit = function(c) code = c; done() end })
      if not pr then resume(nil, perr) return end
      for fd, acc in pairs({ [pr.stdout] = out, [pr.stderr] = err }) do
        local h
        h = loop.fd(fd, "r", function()
          while true do
            local data, e = loop.read(fd)
            if data then table.insert(acc, data)
            elseif e == "again" then return
            else h:stop(); proc.close(fd); done(); return end
          end
        end)
      end
      return function() proc.kill(pr.pid, 15, true) end
    end)
  end)
end

-- fs.read / fs.write: paths under the manifest's allow-list, checked on the
-- real path so that "..", symlinks and the like cannot leave it.
local function expand(path)
  path = path:gsub("^~", home())
  path = path:gsub("%${(XDG_[%u_]+)}", function(k)
    local defaults = { XDG_DATA_HOME = home() .. "/.local/share", XDG_CONFIG_HOME = home() .. "/.config",
                       XDG_STATE_HOME = home() .. "/.local/state", XDG_CACHE_HOME = home() .. "/.cache" }
    return env(k) or defaults[k] or ""
  end)
  return path
end
function check_path(p, cap, path, for_write)
  if type(path) ~= "string" or path == "" then error(cap .. ": path expected", 0) end
  path = expand(path)
  local real = sandbox.realpath(path)
  if not real and for_write then
    local parent, base = path:match("^(.*)/([^/]+)$")
    local rp = parent and sandbox.realpath(parent ~= "" and parent or "/")
    if rp and base ~= ".." and base ~= "." then real = rp .. "/" .. base end
  end
  if not real then error(("%s: %s: no such file or directory"):format(cap, path), 0) end
  for _, root in ipairs(p.m.capabilities[cap].paths or {}) do
    local rr = sandbox.realpath(expand(root))
    if rr and (rr == "/" or real == rr or real:sub(1, #rr + 1) == rr .. "/") then return real end
  end
  error(("plugin %s may not %s '%s' (capabilities: %s: paths)"):format(p.name, for_write and "write" or "read", path, cap), 0)
end
H["fs.read"] = {
  read = function(p, path)
    local real = check_path(p, "fs.read", path)
    local s = read_file(real)
    if not s then error("fs.read: cannot read " .. path, 0) end
    return s
  end,
  list = function(p, path) return sandbox.ls(check_path(p, "fs.read", path)) end,
}
H["fs.write"] = {
  write = function(p, path, data)
    local real = check_path(p, "fs.write", path, true)
    local f, err = io.open(real, "wb")
    if not f then error("fs.write: " .. err, 0) end
    f:write(tostring(data))
    f:close()
    return true
  end,
  -- A private file for what others must never read (an edited Secret): NAME in a new
  -- 0700 directory under $TMPDIR (or /tmp), itself 0600; returns its path. The directory
  -- goes with the call that made it (return, error, Ctrl-C, time limit) or earlier by
  -- remove(path). The temporary directory must be inside the fs.write grant.
  private = function(p, name, data)
    if type(name) ~= "string" or not name:match("^[%w._-]+$") or name:match("^%.") then
      error("fs.write.private: a plain file name expected (letters, digits, . _ -)", 0)
    end
    local tmp = env("TMPDIR")
    if not tmp or tmp == "" then tmp = "/tmp" end
    local fs = require("vcli.fs")
    check_path(p, "fs.write", tmp .. "/" .. name, true)
    local dir, err = fs.mkdtemp(tmp .. "/vcli-" .. p.name .. ".")
    if not dir then error("fs.write.private: " .. err, 0) end
    local path = dir .. "/" .. name
    local ok, werr = fs.write_new(path, tostring(data or ""))
    if not ok then fs.rmtree_private(dir); error("fs.write.private: " .. werr, 0) end
    adopt(p, p.current_call, { close = function() fs.rmtree_private(dir) end }, "private file")
    return path
  end,
  -- the name itself (a symlink, not its target), inside the grant: true, or false when absent
  remove = function(p, path)
    if type(path) ~= "string" or path == "" then error("fs.write: path expected", 0) end
    local xp = expand(path)
    local parent, base = xp:match("^(.*)/([^/]+)$")
    if not parent then parent, base = ".", xp end
    if base == "." or base == ".." then error("fs.write: cannot remove " .. path, 0) end
    local rp = sandbox.realpath(parent ~= "" and parent or "/")
    if not rp then return false end
    local target = (rp == "/" and "" or rp) .. "/" .. base
    check_path(p, "fs.write", rp, true)   -- the directory it is removed from is inside the grant
    if not sandbox.stat(target) and not sandbox.realpath(target) then
      local ok = os.remove(target)   -- a dangling symlink
      return ok and true or false
    end
    local ok, err = os.remove(target)
    if not ok then error("fs.write: " .. tostring(err), 0) end
    return true
  end,
}

H.events = {}
function H.events.publish(_, topic, payload) bus.publish(topic, payload) return true end
function H.events.subscribe(p, pattern, id)
  local sid = bus.subscribe(pattern, function(payload, topic) return M.invoke(p, "event", id, topic, payload) end, p)
  bus.subscriptions()[sid].plugin_sub = id
  p.subs = p.subs or {}
  p.subs[id] = true
end
function H.events.unsubscribe(p, id)
  for sid, s in pairs(bus.subscriptions()) do
    if s.owner == p and s.plugin_sub == id then bus.unsubscribe(sid) end
  end
end
function H.events.request(_, topic, payload, timeout_ms)
  return ticket(function() return bus.request(topic, payload, timeout_ms) end)
end
function H.events.respond(p, topic)
  bus.respond(topic, function(payload) return M.invoke(p, "request", topic, payload) end, p)
end

H.clipboard = {}
function H.clipboard.copy(_, text)
  text = tostring(text)
  table.insert(S.clipboard, text)
  if require("vcli.term").isatty(1) then
    local ok, reg = pcall(require, "vcli.plugin.registry")
    if ok then io.stdout:write("\27]52;c;" .. reg.base64(text) .. "\7") end
  end
  return true
end

-- config: the plugin's own section (plugins.NAME: manifest defaults, the
-- configuration, then set_config), and the core sections its manifest
-- lists under config: read: [...].
H.config = {}
local function config_mod()
  local ok, c = pcall(require, "vcli.config")
  return ok and c or nil
end
local function config_get(path)
  local c = config_mod()
  if not c then return nil end
  local ok, v = pcall(c.get, path)
  if ok then return v end -- false included: a plugin reads `enabled: false` as false
end
local function own_config(p)
  local cfg = {}
  for k, v in pairs(p.m.config or {}) do cfg[k] = v end
  local from = config_get("plugins." .. p.name)
  if type(from) == "table" then for k, v in pairs(from) do cfg[k] = v end end
  for k, v in pairs(S.config[p.name] or {}) do cfg[k] = v end
  return cfg
end
local function readable(p)
  return (p.m.capabilities.config or {}).read or {}
end
function H.config.get(p, path)
  if path == nil or path == "" then return own_config(p) end
  if type(path) ~= "string" then error("config.get: a dotted key expected", 0) end
  local first, rest = path:match("^([^.]+)%.?(.*)$")
  if first == "plugins" then
    local who, sub = rest:match("^([^.]+)%.?(.*)$")
    if who == p.name then
      local v = own_config(p)
      for part in (sub or ""):gmatch("[^.]+") do
        if type(v) ~= "table" then return nil end
        v = v[part]
      end
      return v
    end
  else
    for _, sec in ipairs(readable(p)) do
      if sec == first then return config_get(path) end
    end
  end
  error(("plugin %s may not read config '%s' (its own section plugins.%s, and capabilities: config: read: [%s])")
    :format(p.name, path, p.name, table.concat(readable(p), ", ")), 0)
end

local function same(a, b) return require("vcli.config").same(a, b) end

-- on_config_change(value, section) for the sections a plugin reads.
local function watch_config(p)
  local c = config_mod()
  if not c or not p.m.capabilities.config then return end
  c.subscribe(owner(p), function(old, new)
    old, new = old or {}, new or {}
    local changed = {}
    local function sec(t, name) return type(t[name]) == "table" and t[name] or nil end
    local op, np = sec(old, "plugins") or {}, sec(new, "plugins") or {}
    if not same(op[p.name], np[p.name]) then changed[#changed + 1] = "plugins." .. p.name end
    for _, name in ipairs(readable(p)) do
      if not same(old[name], new[name]) then changed[#changed + 1] = name end
    end
    if #changed > 0 then
      async.spawn(function()
        for _, name in ipairs(changed) do
          if p.state ~= "running" then return end
          local value = name == "plugins." .. p.name and own_config(p) or new[name]
          pcall(M.invoke, p, "hook", "on_config_change", value, name)
        end
      end)
    end
    return true
  end)
end
M._watch_config = watch_config

H.tui = {}
function H.tui.panel(p, spec) table.insert(p.panels, spec) return #p.panels end
-- ui.confirm(question): ask on the terminal, a line in its normal mode
-- (the shell hands the keyboard to a running command); y/yes -> true.
-- No terminal: false at once (the caller tells the user about -y).
function H.tui.confirm(_, question)
  return ticket(function()
    if not has_terminal() then return false end
    io.stdout:flush()
    io.stderr:write(tostring(question))
    io.stderr:flush()
    local line = async.await(function(resume)
      local acc = {}
      local h
      h = loop.fd(0, "r", function()
        local data, e = loop.read(0)
        if data then
          acc[#acc + 1] = data
          if data:find("\n") then h:stop(); resume(table.concat(acc)) end
        elseif e ~= "again" then
          h:stop(); resume(table.concat(acc))
        end
      end)
      return function() h:stop() end
    end)
    local answer = (line or ""):match("^%s*(.-)%s*$"):lower()
    return answer == "y" or answer == "yes"
  end)
end

-- Services one plugin provides to those that declare the capability.
local function service_call(_, cap, op, ...)
  local provider = service_provider(cap)
  if not provider then error(("no installed plugin provides '%s'"):format(cap), 0) end
  local args = table.pack(...)
  return ticket(function()
    if provider.state ~= "running" then
      local ok, err = M.start(provider.name)
      if not ok then error(err, 0) end
    end
    return M.invoke(provider, "service", cap, op, unpack(args, 1, args.n))
  end)
end

-- The C side calls this after checking the capability grant.
local function host(name, cap, op, ...)
  local p = S.starting[name] or S.plugins[name]
  if not p then error("unknown plugin " .. tostring(name), 0) end
  local h = H[cap] and H[cap][op]
  if h then return h(p, ...) end
  if not manifest.BUILTIN_CAPS[cap] or cap == "kube" or cap == "prom" then
    if op == "call" then return service_call(p, cap, ...) end
  end
  error(("%s: no operation '%s'"):format(cap, tostring(op)), 0)
end
S.starting = S.starting or {}

-- ---------------------------------------------------------------- lifecycle
local function verify_files(p)
  for file, want in pairs(p.m.sha256 or {}) do
    local data = read_file(p.dir .. "/" .. file)
    if not data then return nil, ("%s: sha256 lists %s, which is missing"):format(p.dir, file) end
    local got = sandbox.sha256(data)
    if got ~= want:lower() then
      return nil, ("%s/%s: sha256 mismatch (manifest %s…, file %s…)"):format(p.dir, file, want:sub(1, 12), got:sub(1, 12))
    end
  end
  return true
end

local function cleanup(p)
  for id, t in pairs(p.timers) do t:stop(); p.timers[id] = nil end
  for id in pairs(p.streams or {}) do M._close_stream(p, id) end
  local cfg = config_mod()
  if cfg and p.m and p.m.capabilities.config then cfg.unsubscribe(owner(p)) end
  if S.prompts[p.name] and S.prompts[p.name].rec == p then S.prompts[p.name] = nil end
  bus.remove_owner(p)
  if p.sb then p.sb:close() end
  p.sb = nil
end

-- Create the state, load the entry and run init/start. p is not yet in S.plugins' running set.
local function boot(p)
  local m = p.m
  if not semver.satisfies(vcli_mod().version, m.vcli) then
    return nil, ("plugin %s needs vcli %s, this is %s"):format(p.name, m.vcli, vcli_mod().version)
  end
  local ok, err = verify_files(p)
  if not ok then return nil, err end
  -- security.maxMemoryMB lowers what a manifest asks for
  local memory, cap = m.limits.memory, tonumber(setting("security.maxMemoryMB"))
  p.mem_cap = nil
  if cap and cap * 1048576 < memory then memory, p.mem_cap = cap * 1048576, cap end
  local sb, serr = sandbox.new({ name = p.name, dir = p.dir, prelude = prelude(), memory = memory,
                                 cpu_ms = m.limits.start_ms, grants = m.grants, host = host })
  if not sb then return nil, serr end
  p.sb = sb
  p.breaker = p.breaker or resilience.breaker({ name = p.name, threshold = 5, reset_ms = 10000 })
  p.state = "running"   -- so invoke accepts the init/start calls
  S.starting[p.name] = p
  local entry = m.entry:gsub("%.lua$", ""):gsub("/", ".")
  local lok, lerr = pcall(M.invoke, p, "load", entry)
  if lok then lok, lerr = pcall(M.invoke, p, "hook", "start") end
  S.starting[p.name] = nil
  if not lok then
    p.state = "failed"
    return nil, lerr
  end
  sb:limits({ cpu_ms = m.limits.cpu_ms_per_call })
  watch_config(p)
  p.started_at = os.time()
  return true
end

local function start_one(p)
  if p.state == "running" then return true end
  if p.state == "disabled" then return nil, ("plugin %s is disabled (plugin enable %s)"):format(p.name, p.name) end
  if not p.m then return nil, ("plugin %s: %s"):format(p.name, p.reason) end
  local refused = M.refused(p.name)
  if refused then return nil, refused end
  local snap = commands.snapshot(owner(p))
  commands.remove_owner(owner(p))
  local ok, err = boot(p)
  if not ok then
    commands.remove_owner(owner(p))
    commands.restore(snap)
    cleanup(p)
    p.state, p.reason = "failed", err
    return nil, err
  end
  -- Stubs that the plugin did not redefine stay lazy stubs no more.
  for name, spec in pairs(snap.commands) do
    if spec.lazy_plugin and not (p.cmds or {})[name] then commands.remove(name) end
  end
  p.reason = nil
  return true
end

-- Why config does not let a plugin start (nil when it does):
-- plugins.<name>.enabled false, or a security.allowedPlugins without it.
function M.refused(name)
  if setting("plugins." .. name .. ".enabled") == false then
    return ("plugin %s is turned off in the configuration (plugins.%s.enabled is false)"):format(name, name)
  end
  local allowed = setting("security.allowedPlugins")
  if type(allowed) == "table" and #allowed > 0 then
    for _, a in ipairs(allowed) do if a == name then return nil end end
    return ("plugin %s is not in security.allowedPlugins (%s)"):format(name, table.concat(allowed, ", "))
  end
end

-- Start name and its dependencies in order; on failure stop what this call started.
function M.start(name)
  local order, err = M.order(name)
  if not order then
    local p = S.plugins[name]
    if p and p.state ~= "running" then p.state, p.reason = "failed", err end
    return nil, err
  end
  local started = {}
  for _, n in ipairs(order) do
    local p = S.plugins[n]
    if p.state ~= "running" then
      local ok, serr = start_one(p)
      if not ok then
        for i = #started, 1, -1 do M.stop(started[i]) end
        local msg = n == name and serr or ("plugin %s: dependency %s failed: %s"):format(name, n, serr)
        if n ~= name then S.plugins[name].state, S.plugins[name].reason = "failed", msg end
        return nil, msg
      end
      table.insert(started, n)
    end
  end
  return true
end

function M.stop(name, why)
  local p = S.plugins[name]
  if not p or p.state ~= "running" then return true end
  -- Dependents first.
  for _, q in pairs(S.plugins) do
    if q.state == "running" and q.m then
      for _, d in ipairs(q.m.dependencies) do if d.name == name then M.stop(q.name) end end
    end
  end
  if p.sb and not p.sb:closed() then
    p.sb:limits({ cpu_ms = p.m.limits.stop_ms })
    pcall(M.invoke, p, "hook", "stop")
  end
  commands.remove_owner(owner(p))
  cleanup(p)
  p.state = why and "failed" or "stopped"
  p.reason = why
  if not why and p.m and not S.disabled[name] then M._stubs(p) end
  return true
end

function M._fail(p, reason)
  if S.plugins[p.name] == p then M.stop(p.name, reason) else cleanup(p) end
  p.state, p.reason = "failed", reason
end

function M.enable(name)
  local p = S.plugins[name]
  if not p then return nil, ("no plugin named '%s'"):format(name) end
  S.disabled[name] = nil
  write_disabled()
  if p.state == "disabled" then p.state = "discovered"; M._stubs(p) end
  return true
end

function M.disable(name)
  local p = S.plugins[name]
  if not p then return nil, ("no plugin named '%s'"):format(name) end
  M.stop(name)
  commands.remove_owner(owner(p))
  S.disabled[name] = true
  write_disabled()
  if p.state ~= "failed" then p.state = "disabled" end
  return true
end

-- Reload from disk: the new version starts beside the old one; only when it
-- is up does it replace the old (whose commands, subscriptions and timers go).
-- If it fails, the old version keeps running and the error is returned.
function M.reload(name)
  local old = S.plugins[name]
  if not old then return nil, ("no plugin named '%s'"):format(name) end
  local mpath = old.dir .. "/plugin.yaml"
  local text = read_file(mpath)
  if not text then return nil, mpath .. ": cannot read" end
  local m, err = manifest.parse(text, mpath)
  if not m then
    if old.state ~= "running" then old.state, old.reason, old.m = "failed", err, nil end
    return nil, err
  end
  if old.state ~= "running" then
    local p = new_record(old.dir, old.source, m)
    p.name, p.shadowed = name, old.shadowed
    commands.remove_owner(owner(old))
    S.plugins[name] = p
    if S.disabled[name] then p.state = "disabled" return true end
    M._stubs(p)
    return true
  end
  local p = new_record(old.dir, old.source, m)
  p.name, p.shadowed, p.breaker = name, old.shadowed, old.breaker
  p.reloads = (old.reloads or 0) + 1
  local snap = commands.snapshot(owner(old))
  commands.remove_owner(owner(old))
  local ok, berr = boot(p)
  if not ok then
    commands.remove_owner(owner(p))
    commands.restore(snap)
    cleanup(p)
    watch_config(old)
    old.last_reload_error = berr
    return nil, berr
  end
  old.sb:limits({ cpu_ms = old.m.limits.stop_ms })
  pcall(M.invoke, old, "hook", "stop")
  cleanup(old)
  watch_config(p)
  old.state = "stopped"
  p.calls, p.errors, p.lat, p.lat_i = old.calls, old.errors, old.lat, old.lat_i
  S.plugins[name] = p
  return true
end

-- ------------------------------------------------------------ stats/health
local function percentile(list, q)
  local t = {}
  for _, v in pairs(list) do table.insert(t, v) end
  if #t == 0 then return nil end
  table.sort(t)
  return t[math.max(1, math.ceil(#t * q))]
end

function M.stats(name)
  local p = S.plugins[name]
  if not p then return nil end
  local st = p.sb and not p.sb:closed() and p.sb:stats() or {}
  return {
    name = p.name, state = p.state, memory = st.memory or 0, peak = st.peak or 0, limit = st.limit or p.m and p.m.limits.memory,
    cpu_ms = st.cpu_ms or 0, calls = p.calls, errors = p.errors,
    p50 = percentile(p.lat, 0.5), p99 = percentile(p.lat, 0.99),
    breaker = p.breaker and p.breaker:status().state or "closed",
    subscriptions = bus.count(p), timers = (function() local n = 0 for _ in pairs(p.timers) do n = n + 1 end return n end)(),
  }
end

function M.check_health(name)
  local p = S.plugins[name]
  if not p or p.state ~= "running" then return nil end
  local ok, a, b = pcall(M.invoke, p, "hook", "health")
  local h
  if not ok then h = { ok = false, msg = tostring(a) }
  elseif a == nil and b == "absent" then h = { ok = true, msg = "no health hook" }
  elseif a == false or type(a) == "string" then h = { ok = false, msg = type(a) == "string" and a or tostring(b or "unhealthy") }
  else h = { ok = true, msg = "ok" } end
  h.at = os.time()
  p.health = h
  return h
end

-- Periodic checks on the loop (the interactive shell starts them). The
-- timer lives in the state table so that reloading this module (whose code
-- then runs again) stops the old chain instead of starting a second one; a
-- tick from a superseded chain sees a newer generation and ends itself.
function M.start_health_checks(interval_ms)
  interval_ms = interval_ms or 30000
  M.stop_health_checks()
  S.health_gen = (S.health_gen or 0) + 1
  local gen = S.health_gen
  local function tick()
    if S.health_gen ~= gen then return end
    S.health_timer = loop.timer(interval_ms, tick)
    async.spawn(function() for _, n in ipairs(M.names()) do M.check_health(n) end end)
  end
  S.health_timer = loop.timer(interval_ms, tick)
  S.health_interval = interval_ms
end

function M.stop_health_checks()
  S.health_gen = (S.health_gen or 0) + 1
  if S.health_timer then S.health_timer:stop() end
  S.health_timer, S.health_interval = nil, nil
end

-- Whether periodic health checks run, and how often (ms).
function M.health_checks() return S.health_interval end

function M.schemas()
  local out = {}
  for name, p in pairs(S.plugins) do if p.m and p.m.config_schema then out[name] = p.m.config_schema end end
  return out
end

function M.set_config(name, cfg)
  S.config[name] = cfg
  local p = S.plugins[name]
  if p and p.state == "running" then return pcall(M.invoke, p, "hook", "on_config_change", H.config.get(p)) end
  return true
end

function M.clipboard() return S.clipboard end
-- Where plugin stores live (specs and `plugin test` use a scratch directory).
function M.set_store_dir(dir)
  S.store_dir = dir
  for _, p in pairs(S.plugins) do p.db = nil end
end

-- Lazy start on events: a published topic that a stopped plugin's manifest
-- lists starts that plugin first.
if not S.bus_hooked then
  S.bus_hooked = true
  bus.before_publish(function(topic)
    for name, p in pairs(S.plugins) do
      if p.state == "discovered" and p.m then
        for _, pat in ipairs(p.m.events) do
          if topic:find(bus.glob(pat)) then M.start(name) break end
        end
      end
    end
  end)
end

-- Hot reload when a plugin's files change (interactive shell). Changes are
-- debounced (editors write a file in several steps) and the reload runs as a
-- task, since starting the new version may wait on the host.
local function reload_changed()
  S.watch_timer = nil
  local names = S.watch_pending or {}
  S.watch_pending = {}
  async.spawn(function()
    for name in pairs(names) do
      local q = S.plugins[name]
      if q and q.state == "running" then
        local ok, err = M.reload(name)
        local msg = ok and ("plugin %s reloaded"):format(name)
          or ("plugin %s: reload failed, the previous version keeps running: %s"):format(name, err)
        S.watch_log = S.watch_log or {}
        table.insert(S.watch_log, msg)
        if #S.watch_log > 50 then table.remove(S.watch_log, 1) end
        require("vcli.shell").ewrite(msg .. "\n")
      end
    end
  end)
end

-- A changed file: which plugin's directory holds it (nil if none).
function M._file_changed(path)
  for name, p in pairs(S.plugins) do
    if path:sub(1, #p.dir + 1) == p.dir .. "/" then
      S.watch_pending = S.watch_pending or {}
      S.watch_pending[name] = true
      if not S.watch_timer then S.watch_timer = loop.timer(S.watch_debounce_ms or 50, reload_changed) end
      return name
    end
  end
end

-- What the automatic reload said, oldest first (plugin info and specs read it).
function M.watch_log() return S.watch_log or {} end

function M.watch(debounce_ms)
  S.watch_debounce_ms = debounce_ms or S.watch_debounce_ms
  local reload = require("vcli.reload")
  for _, p in pairs(S.plugins) do
    local dir = p.dir
    reload.watch_tree(dir, function(path)
      if path:sub(1, #dir + 1) == dir .. "/" then M._file_changed(path) end
      return false
    end)
  end
end

-- Start-up: discover, define the `plugin` command; an interactive shell also
-- watches plugin directories and runs health checks.
function M.init(opts, rest)
  M.discover()
  require("vcli.plugin.cli").define()
  if opts and not opts.commands and not (rest and rest[1]) then
    local term = require("vcli.term")
    if term.isatty(0) and term.isatty(1) then
      M.watch()
      M.start_health_checks()
    end
  end
end

return M
