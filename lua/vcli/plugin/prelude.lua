-- vcli.plugin.prelude — runs first inside every plugin's own Lua state (never
-- in the host). It builds the plugin's world from an allow-list: safe base
-- functions, a `vcli` table holding only what the manifest's capabilities
-- grant, and `require` for the plugin's own modules. Every reach outside goes
-- through prims.host, the C door that checks the capability on each call.
-- The plugin side of each granted capability comes from its file
-- (lua/vcli/plugin/caps/<name>.lua, sent by the host as prims.data.caps);
-- this file is the runtime they stand on. Returns the dispatch function the
-- host calls for init, hooks, commands, events, timers and service requests.
local prims = ...
local raw_host, out, load_text, readmod, expired = prims.host, prims.out, prims.load, prims.readmod, prims.expired
local traceback = prims.traceback
local orig = prims.originals
local NAME = prims.name
local DATA = prims.data or { caps = {}, builtin = {}, modules = {} }
local setfenv, raw_collect = orig.setfenv, orig.collectgarbage
local co_create, co_resume, co_yield, co_status, co_running =
  coroutine.create, coroutine.resume, coroutine.yield, coroutine.status, coroutine.running
local pack = function(...) return { n = select("#", ...), ... } end
local raw_pcall, raw_xpcall, unpack, error, type, pairs, tostring, select =
  pcall, xpcall, unpack, error, type, pairs, tostring, select
local WAIT = "__vcli_wait"

local granted = {}
for _, g in ipairs(prims.grants) do granted[g] = true end

local env = {}
local hooks = {}
local D = {}   -- dispatch: what the host calls (capabilities add theirs: events)
local commands, timers, services = {}, {}, {}
local next_id = 0
local function new_id() next_id = next_id + 1; return next_id end

-- `plugin test NAME` (vcli.plugin.harness) may replace an operation's host
-- side in this state: cap -> op -> fn, which then gets the operation's
-- arguments and gives its results. Empty outside a test run.
local stubs = {}
local function host(cap, op, ...)
  local s = stubs[cap]
  s = s and s[op]
  if s then return s(...) end
  return raw_host(cap, op, ...)
end

-- Waiting on the host: the host starts the operation, returns a ticket and
-- resumes this call's coroutine with (ok, values...) when the result is in.
local function raw_await(cap, op, ...)
  local ticket = raw_host(cap, op, ...)
  local res = pack(co_yield(WAIT, ticket))
  if res[1] then return unpack(res, 2, res.n) end
  error(res[2], 0)
end
local function await(cap, op, ...)
  local s = stubs[cap]
  s = s and s[op]
  if s then return s(...) end
  return raw_await(cap, op, ...)
end

-- Output is kept until the call next waits on the host, which writes it
-- out. Past 1 MiB a call hands it over at once (one long stretch of output —
-- a whole list in one request — streams out and its memory stays bounded).
local FLUSH_AT = 1048576
local function emit(s, stream)
  if out(s, stream) > FLUSH_AT and co_running() then await("core", "sleep", 0) end
end

-- A stop (time limit) cannot be swallowed by pcall, xpcall or a coroutine.
local function recheck(ok, ...)
  if not ok and expired() then error((...), 0) end
  return ok, ...
end
local function pass(co, res)
  while res[1] and res[2] == WAIT and co_status(co) == "suspended" do
    res = pack(co_resume(co, co_yield(WAIT, res[3])))
  end
  return res
end
local coroutine_ = {
  create = co_create, running = co_running, status = co_status, yield = co_yield,
  isyieldable = coroutine.isyieldable,
  resume = function(co, ...)
    local res = pass(co, pack(co_resume(co, ...)))
    return recheck(unpack(res, 1, res.n))
  end,
  wrap = function(f)
    local co = co_create(f)
    return function(...)
      local res = pass(co, pack(co_resume(co, ...)))
      if not res[1] then
        if expired() then error(res[2], 0) end
        error(res[2], 2)
      end
      return unpack(res, 2, res.n)
    end
  end,
}

local function refuse(what)
  return function() error(("plugin %s: %s is not available to plugins (see docs/plugins.md, \"The sandbox\")"):format(NAME, what), 2) end
end

local function load_(chunk, name, mode, fenv)
  if type(chunk) == "function" then
    local parts = {}
    while true do
      local piece = chunk()
      if piece == nil or piece == "" then break end
      parts[#parts + 1] = piece
    end
    chunk = table.concat(parts)
  end
  if type(chunk) ~= "string" then return nil, "load: text expected" end
  if mode ~= nil and mode ~= "t" then return nil, "load: only text chunks (mode \"t\") are allowed in plugins" end
  local fn, err = load_text(chunk, name or "=(load)")
  if not fn then return nil, err end
  setfenv(fn, fenv or env)
  return fn
end

-- ------------------------------------------------------------------ modules
local loaded = {}
local builtin = {}   -- the modules every plugin may require (vcli.plugin.caps.MODULES)
for _, m in ipairs(DATA.modules) do builtin[m] = true end
local function require_(name)
  if type(name) ~= "string" then error("require: module name expected", 2) end
  local m = loaded[name]
  if m ~= nil then return m end
  local fn, err
  if builtin[name] then
    local src = raw_host("core", "source", name)
    fn, err = load_text(src, "=" .. name)
  else
    fn, err = readmod(name)
  end
  if not fn then error(err, 2) end
  setfenv(fn, env)
  m = fn(name)
  if m == nil then m = true end
  loaded[name] = m
  return m
end

-- ------------------------------------------------------------------ globals
local safe = {
  "assert", "error", "ipairs", "next", "pairs", "rawequal", "rawget", "rawset", "select",
  "tonumber", "tostring", "type", "unpack", "setmetatable", "getmetatable", "_VERSION",
}
for _, k in ipairs(safe) do env[k] = _G[k] end
local function copy(t) local c = {} for k, v in pairs(t) do c[k] = v end return c end
env.string = copy(string)
env.table = copy(table)
env.math = copy(math)
env.bit = copy(bit)
env.os = copy(os)
env.coroutine = coroutine_
env.pcall = function(f, ...) return recheck(raw_pcall(f, ...)) end
env.xpcall = function(f, h, ...) return recheck(raw_xpcall(f, h, ...)) end
env.load = function(chunk, name, mode, fenv) return load_(chunk, name, mode, fenv) end
env.loadstring = function(s, name) return load_(s, name) end
env.require = require_
env.collectgarbage = function(opt, arg)
  opt = opt or "collect"
  if opt == "count" or opt == "step" or opt == "collect" then return raw_collect(opt, arg) end
  error(("plugin %s: collectgarbage(\"%s\") is not allowed (only \"count\", \"step\" and \"collect\")"):format(NAME, tostring(opt)), 2)
end
env.print = function(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  emit(table.concat(parts, "\t") .. "\n")
end
env.string.dump = refuse("string.dump")
env._G = env
-- The string metatable's __index is this state's own string table: keep it
-- free of dump too, so ("").dump is refused the same way.
string.dump = env.string.dump
-- the one deny-list is sandbox.c's (prims.denied)
local forbidden = {}
for _, k in ipairs(prims.denied) do env[k] = nil; forbidden[k] = true end
setmetatable(env, { __index = function(_, k)
  if forbidden[k] then
    error(("plugin %s: '%s' is not available to plugins (see docs/plugins.md, \"The sandbox\")"):format(NAME, k), 2)
  end
end })

-- --------------------------------------------------------------------- vcli
local vcli = { name = NAME, version = host("core", "version") }
env.vcli = vcli

-- A command spec crosses as data: handlers and completers stay here, and
-- the host learns only that they exist (has_handler, has_complete) and
-- refers to them by the command's path ({"prom", "query"}).
local function plain(v, depth)
  if type(v) ~= "table" then
    if type(v) == "function" then return nil end
    return v
  end
  if depth > 16 then return nil end
  local t = {}
  for k, x in pairs(v) do
    if type(x) ~= "function" then t[k] = plain(x, depth + 1) end
  end
  return t
end
local function strip_item(item)
  if type(item) ~= "table" then return plain(item, 0) end
  local c = {}
  for k, v in pairs(item) do
    if type(v) == "function" then c["has_" .. k] = true else c[k] = plain(v, 0) end
  end
  return c
end
local function strip(spec, depth)
  depth = depth or 0
  if depth > 8 then error("vcli.command: subcommands nested deeper than 8 levels", 0) end
  local s = {}
  for k, v in pairs(spec) do
    if type(v) == "function" then
      s["has_" .. k] = true
    elseif (k == "flags" or k == "args") and type(v) == "table" then
      local t = {}
      for i, item in ipairs(v) do t[i] = strip_item(item) end
      s[k] = t
    elseif k == "subcommands" and type(v) == "table" then
      local t = {}
      for i, sub in ipairs(v) do
        if type(sub) ~= "table" or type(sub.name) ~= "string" then
          error(("vcli.command: %s: subcommands[%d] needs a name"):format(tostring(spec.name), i), 0)
        end
        t[i] = strip(sub, depth + 1)
      end
      s[k] = t
    else
      s[k] = plain(v, 0)
    end
  end
  return s
end

local function check_handlers(spec, where)
  if type(spec.handler) ~= "function" and type(spec.subcommands) ~= "table" then
    error(("vcli.command: %s needs a handler function or subcommands"):format(where), 0)
  end
  for _, sub in ipairs(spec.subcommands or {}) do check_handlers(sub, where .. " " .. tostring(sub.name)) end
end

function vcli.command(spec)
  assert(type(spec) == "table" and type(spec.name) == "string", "vcli.command: spec with a name expected")
  check_handlers(spec, spec.name)
  commands[spec.name] = spec
  host("core", "command", strip(spec))
  return spec
end

-- The (sub)command spec at path ({"prom", "query"}, or a top-level name).
local function spec_at(path)
  if type(path) ~= "table" then path = { path } end
  local spec = commands[path[1]]
  for i = 2, #path do
    local found
    for _, sub in ipairs(spec and spec.subcommands or {}) do
      if sub.name == path[i] then found = sub break end
    end
    spec = found
  end
  return spec, table.concat(path, " ")
end

function vcli.log(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  host("core", "log", table.concat(parts, " "))
end

function vcli.sleep(ms) return await("core", "sleep", ms) end
function vcli.now() return prims.now() end

-- JSON (lua-cjson, errors returned as nil, message) and YAML (vcli.yaml:
-- decode/decode_all/encode with file:line:col errors), in C, for every plugin.
vcli.json = prims.json
vcli.yaml = prims.yaml
vcli.jsonfmt = prims.jsonfmt -- encode(v [, indent, array_mt]): Go's MarshalIndent layout (kubectl -o json)
-- the widgets' primitives (vcli.tui.prims): row order, POSIX regex, display width
vcli.sort, vcli.regex, vcli.width, vcli.split = prims.sort, prims.regex, prims.width, prims.split

-- vcli.timer(ms, fn [, repeat]) -> id; vcli.cancel_timer(id)
function vcli.timer(ms, fn, rep)
  assert(type(fn) == "function", "vcli.timer: function expected")
  local id = new_id()
  timers[id] = fn
  host("core", "timer", id, ms, rep and true or false)
  return id
end
function vcli.every(ms, fn) return vcli.timer(ms, fn, true) end
function vcli.cancel_timer(id)
  timers[id] = nil
  host("core", "cancel_timer", id)
end

-- A service this plugin provides to others that declare the capability.
function vcli.provide(cap, impl)
  assert(type(cap) == "string" and type(impl) == "table", "vcli.provide: name and table of functions expected")
  services[cap] = impl
  host("core", "provide", cap)
end

-- What the shell shows before its prompt: the host keeps the last value.
vcli.prompt = { set = function(segments) host("core", "prompt", segments) end }

-- ------------------------------------------------------------ capabilities
-- What a capability's plugin side gets besides the vcli table.
local api = { name = NAME, host = host, await = await, require = function(m) return require_(m) end,
              strip = strip, copy = copy, new_id = new_id, dispatch = D }
local ops_of = {}
-- A function for one operation: waits on the host ("wait") or not.
function api.op(cap, op)
  if ops_of[cap][op] == "wait" then return function(...) return await(cap, op, ...) end end
  return function(...) return host(cap, op, ...) end
end
-- A table of every operation of cap.
function api.ops(cap)
  local t = {}
  for op in pairs(ops_of[cap]) do t[op] = api.op(cap, op) end
  return t
end
local function plugin_side(c, ...)
  local chunk, err = load_text(c.src, c.chunk)
  if not chunk then error(err, 0) end
  chunk()(vcli, api, ...)
end
for _, c in ipairs(DATA.caps) do
  ops_of[c.name] = c.ops
  if c.src and granted[c.name] then plugin_side(c) end
end
local is_builtin = {}
for _, n in ipairs(DATA.builtin) do is_builtin[n] = true end
for _, cap in ipairs(prims.grants) do
  if not is_builtin[cap] and DATA.service then plugin_side(DATA.service, cap) end
end

-- ----------------------------------------------------------------- dispatch
local function ctx_out(s) emit(tostring(s)) end
local function ctx_err(s) emit(tostring(s), 2) end
local function ctx_warn(s) emit("warning: " .. tostring(s) .. "\n", 2) end
local function ctx_of(data)
  data.out, data.print, data.err, data.warn = ctx_out, env.print, ctx_err, ctx_warn
  return data
end

function D.load(entry)
  local fn, err = readmod(entry)
  if not fn then error(err, 0) end
  setfenv(fn, env)
  local m = fn()
  if type(m) == "table" then hooks = m end
  loaded[entry] = m or true
  if hooks.init then hooks.init() end
  return true
end
function D.hook(name, ...)
  local f = hooks[name]
  if type(f) ~= "function" then return nil, "absent" end
  return f(...)
end
function D.command(path, data)
  local spec, where = spec_at(path)
  if not spec or type(spec.handler) ~= "function" then error(("plugin %s: no command '%s'"):format(NAME, where), 0) end
  local status = spec.handler(ctx_of(data))
  if type(status) ~= "number" then status = status == false and 1 or 0 end
  return status
end
-- D.complete(path, "arg"|"flag", name, partial, ctx) -> list of words or {word, desc}
function D.complete(path, kind, name, partial, data)
  local spec = spec_at(path)
  if kind ~= "arg" and kind ~= "flag" then   -- the old form: (name, argname, prefix, data)
    kind, name, partial, data = nil, kind, name, partial
  end
  data = data or {}
  data.partial = data.partial or partial
  for _, a in ipairs(kind ~= "flag" and spec and spec.args or {}) do
    if a.name == name and type(a.complete) == "function" then return a.complete(partial, data) end
  end
  for _, f in ipairs(kind ~= "arg" and spec and spec.flags or {}) do
    if f.name == name and type(f.complete) == "function" then return f.complete(partial, data) end
  end
  return {}
end
function D.timer(id)
  local fn = timers[id]
  if fn then return fn() end
end
function D.service(cap, op, ...)
  local impl = services[cap]
  local fn = impl and impl[op]
  if type(fn) ~= "function" then error(("plugin %s: service '%s' has no operation '%s'"):format(NAME, cap, tostring(op)), 0) end
  return fn(...)
end
function D.eval(src)
  local fn, err = load_(src, "=eval")
  if not fn then error(err, 0) end
  return fn()
end
-- `plugin test NAME`: the harness's side (vcli/plugin/harness_side.lua, its text
-- sent by the host) runs in this state with the door and the stubs above;
-- D.test("load", src, chunk, data) once, then D.test(op, ...) calls it.
local tester
local door = { raw_host = raw_host, raw_await = raw_await, env = env, load = load_ }
function door.stub(cap, op, fn)
  stubs[cap] = stubs[cap] or {}
  local prev = stubs[cap][op]
  stubs[cap][op] = fn
  return prev
end
function D.test(op, ...)
  if op == "load" then
    local src, chunk, data = ...
    local fn, err = load_text(src, chunk)
    if not fn then error(err, 0) end
    setfenv(fn, env)
    tester = fn(api, door, data)
    return true
  end
  local f = tester and tester[op]
  if type(f) ~= "function" then error(("plugin %s: no test operation '%s'"):format(NAME, tostring(op)), 0) end
  return f(...)
end

-- ------------------------------------------------------- tasks in a call
-- Every call runs its work in a coroutine driven from here, so that
-- vcli.spawn can run more of them in the same call: each waits on the host
-- on its own (a ticket), the call yields to the host for all the tickets at
-- once and resumes whichever task's ticket is done. Tasks not finished when
-- the call's own function returns are cancelled with the call (their host
-- operations too).
local current_call
local Task = {}
Task.__index = Task

local function new_task(call, fn, args)
  local t = setmetatable({ co = co_create(fn), call = call, waiters = {} }, Task)
  call.tasks[t] = true   -- unfinished tasks only: a finished one's results go with its handle
  call.ready[#call.ready + 1] = { t, args }
  return t
end

local function finish(t, res)
  t.finished, t.ok = true, res[1]
  t.res = res
  t.call.tasks[t] = nil
  for _, w in ipairs(t.waiters) do
    t.call.ready[#t.call.ready + 1] = { w, res }
  end
  t.waiters = {}
end

local function step(call, t, args)
  local res = pack(co_resume(t.co, unpack(args, 1, args.n)))
  if not res[1] then
    if expired() then error(res[2], 0) end      -- the CPU limit stops the whole call
    -- where it failed: shown by the host with global.debug, never seen by plugin code
    if type(res[2]) == "string" and traceback then
      local ok, tb = raw_pcall(traceback, t.co, "")
      t.tb = ok and tb or nil
    end
    finish(t, { false, res[2], n = 2 })
  elseif co_status(t.co) == "dead" then
    res[1] = true
    finish(t, res)
  elseif res[2] == WAIT and type(res[3]) == "table" and res[3].join then
    local other = res[3].join
    if other.finished then
      call.ready[#call.ready + 1] = { t, other.res }
    else
      other.waiters[#other.waiters + 1] = t
    end
  elseif res[2] == WAIT then
    call.waiting[res[3]] = t
  else
    finish(t, { false, ("plugin %s: coroutine.yield outside a coroutine"):format(NAME), n = 2 })
  end
end

local function run_call(f, ...)
  local call = { tasks = {}, ready = {}, waiting = {} }
  local main = new_task(call, f, pack(...))
  local outer = current_call
  while true do
    current_call = call
    while call.ready[1] do
      local item = table.remove(call.ready, 1)
      step(call, item[1], item[2])
    end
    if main.finished then break end
    local tickets = {}
    for tk in pairs(call.waiting) do tickets[#tickets + 1] = tk end
    if #tickets == 0 then
      current_call = outer
      error(("plugin %s: the call waits on tasks that wait on each other"):format(NAME), 0)
    end
    current_call = outer
    local tk, res
    if #tickets == 1 then
      tk, res = tickets[1], pack(co_yield(WAIT, tickets[1]))
    else
      local r = pack(co_yield(WAIT, tickets))
      tk, res = r[1], pack(unpack(r, 2, r.n))
    end
    local t = call.waiting[tk]
    call.waiting[tk] = nil
    if t then call.ready[#call.ready + 1] = { t, res } end
  end
  current_call = outer
  for tk in pairs(call.waiting) do raw_host("core", "cancel", tk) end
  for t in pairs(call.tasks) do t.cancelled = true end
  if main.ok then return unpack(main.res, 2, main.res.n) end
  error(type(main.res[2]) == "string" and main.tb and (main.res[2] .. main.tb) or main.res[2], 0)
end

-- vcli.spawn(fn, ...) -> task: run fn(...) alongside the rest of this call;
-- task:wait() -> its results (raises its error); task:done() -> boolean.
function vcli.spawn(fn, ...)
  assert(type(fn) == "function", "vcli.spawn: function expected")
  local call = current_call
  if not call then error("vcli.spawn: only inside a call (a command, hook, timer, event…)", 2) end
  return new_task(call, fn, pack(...))
end
function Task:done() return self.finished == true end
function Task:wait()
  if self.cancelled then error(("plugin %s: the task was cancelled with its call"):format(NAME), 2) end
  local res = self.finished and self.res or pack(co_yield(WAIT, { join = self }))
  if res[1] then return unpack(res, 2, res.n) end
  error(res[2], 0)
end
-- vcli.parallel{fn1, fn2, …} -> { {results of fn1}, {results of fn2}, … } (raises the first error)
function vcli.parallel(fns)
  local ts = {}
  for i, fn in ipairs(fns) do ts[i] = vcli.spawn(fn) end
  local results = {}
  for i, t in ipairs(ts) do results[i] = pack(t:wait()) end
  return results
end

return function(kind, ...)
  local f = D[kind]
  if not f then error("unknown dispatch " .. tostring(kind), 0) end
  return run_call(f, ...)
end
