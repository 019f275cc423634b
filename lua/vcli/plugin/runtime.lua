-- vcli.plugin.runtime — what the parts of the plugin manager and the
-- capabilities (vcli.plugin.caps.*) share: the state that survives a reload,
-- settings and paths, tickets (a host operation a plugin call waits on), the
-- resources a call opens, and flushing a plugin's output.
--   R.ticket(fn, ...) -> id        run fn(...) as a task; the plugin's call waits on id
--   R.await_any(ids) -> id, ok, …  wait until one of the tickets is done
--   R.adopt(p, call, obj, kind)    obj (with :close()) belongs to that call -> id
--   R.resource(p, id, kind)        the open resource, or a "… is closed" error
-- R.invoke and R.start are set by vcli.plugin (the façade), so that a
-- capability can call into a plugin or start one without requiring it.
local async = require("vcli.async")
local S = require("vcli.state")("vcli.plugin")

local R = { S = S }
S.plugins = S.plugins or {}     -- name -> record
S.failed = S.failed or {}       -- manifests that could not be read: { dir=, reason= }
S.tickets = S.tickets or {}
S.next_ticket = S.next_ticket or 0
S.next_stream = S.next_stream or 0
S.starting = S.starting or {}   -- name -> record being booted (its host calls arrive before it runs)
S.logs = S.logs or {}           -- name -> { lines, waiters }: vcli.log lines, for `plugin logs`

function R.vcli() return require("vcli") end
-- A configuration value (nil when the configuration cannot say).
function R.setting(key)
  local ok, config = pcall(require, "vcli.config")
  if ok then return config.setting(key) end
end
function R.config_mod()
  local ok, c = pcall(require, "vcli.config")
  return ok and c or nil
end
function R.env(k) local v = os.getenv(k) return v ~= "" and v or nil end
-- (no home at all: a path no grant can reach, never "/" — "~" in an fs grant
-- must not become every path)
function R.home()
  local h = R.env("HOME")
  if not h or h == "" then return "/nonexistent/vcli-no-home" end
  return h
end
function R.data_home() return R.env("XDG_DATA_HOME") or (R.home() .. "/.local/share") end
function R.state_home() return R.env("XDG_STATE_HOME") or (R.home() .. "/.local/state") end

function R.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

function R.owner(p) return "plugin:" .. p.name end

-- The record a host call comes from (a plugin being started included).
function R.plugin(name) return S.starting[name] or S.plugins[name] end

-- Whether the shell has a terminal (exec with tty, ui.confirm, a raw terminal).
local terminal
function R.has_terminal()
  if terminal == nil then
    local term = require("vcli.term")
    terminal = term.isatty(0) and term.isatty(1)
  end
  return terminal
end

-- ----------------------------------------------------------------- tickets
-- A capability operation that waits runs as a task and hands the plugin a
-- ticket; the plugin's call yields until the ticket is done. R.current_ticket
-- is the ticket whose task is starting (until its first wait).
function R.ticket(fn, ...)
  S.next_ticket = S.next_ticket + 1
  local id = S.next_ticket
  local t = { waiters = {} }
  S.tickets[id] = t
  local args = table.pack(...)
  local prev = R.current_ticket
  R.current_ticket = t
  t.task = async.spawn(function()
    local res = table.pack(pcall(fn, unpack(args, 1, args.n)))
    t.done, t.ok, t.res = true, res[1], res
    if not res[1] then t.res = { n = 2, false, require("vcli.shell").one_line(res[2]) } end
    for _, w in ipairs(t.waiters) do w() end
  end)
  R.current_ticket = prev
  return id
end

-- The starting operation keeps running when its call is cancelled: a
-- program on the user's terminal, to which Ctrl-C goes directly (exec with
-- tty); the wait goes on until it exits. Call before the first wait.
function R.keep_on_cancel()
  if R.current_ticket then R.current_ticket.tty = true end
end

-- Wait until one of ids is done -> id, ok, values... (an operation's results, all of
-- them: vcli.http.request's nil, err; or its one-line error). Cancelling the wait
-- (Ctrl-C) cancels the operations, except those kept on cancel.
function R.await_any(ids)
  local function first_done()
    for _, id in ipairs(ids) do
      local t = S.tickets[id]
      if not t then return id, false, "no such operation" end
      if t.done then S.tickets[id] = nil return id, t.ok, unpack(t.res, 2, t.res.n) end
    end
  end
  while true do
    local done = table.pack(first_done())
    if done[1] then return unpack(done, 1, done.n) end
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

-- A ticket of a call that ended before it: its pending operation goes too.
function R.cancel_ticket(id)
  local t = S.tickets[tonumber(id) or -1]
  if not t then return true end
  S.tickets[id] = nil
  if t.task and not t.done then t.task:cancel("cancelled with its call") end
  return true
end

-- --------------------------------------------------------------- resources
-- Resources a call opens (HTTP streams, WebSockets, listeners, accepted
-- sockets, the terminal, private files): each gets an id, belongs to the
-- call that opened it and closes when that call returns, fails or is
-- cancelled (Ctrl-C), or when the plugin stops. Every one has a :close().
function R.adopt(p, call, obj, kind)
  S.next_stream = S.next_stream + 1
  local id = S.next_stream
  obj.kind = kind
  p.streams = p.streams or {}
  p.streams[id] = obj
  if call and not call.done and p.state == "running" then
    call.streams = call.streams or {}
    call.streams[id] = true
  else
    R.close_resource(p, id)
  end
  return id
end

local KIND_NAMES = { stream = "stream", websocket = "WebSocket", listener = "listener", socket = "connection",
                     terminal = "terminal" }
function R.resource(p, id, kind)
  local r = p.streams and p.streams[id]
  if not r or r.kind ~= kind then
    error(("plugin %s: %s %s is closed"):format(p.name, KIND_NAMES[kind] or kind, tostring(id)), 0)
  end
  return r
end

function R.close_resource(p, id)
  local s = p.streams and p.streams[id]
  if s then p.streams[id] = nil; s:close() end
  if p.current_call and p.current_call.streams then p.current_call.streams[id] = nil end
end

-- ------------------------------------------------------------------ output
-- What the plugin printed, out to the shell; also to the reader of a pipe
-- or file now (a `get -w` or `logs -f` into grep or a file shows each event
-- as it comes, as kubectl does), since a call flushes when it waits.
function R.flush(p)
  if not p.sb or p.sb:closed() then return end
  local o, e = p.sb:output()
  local shell = require("vcli.shell")
  if o ~= "" then shell.write(o); io.stdout:flush() end
  if e ~= "" then shell.ewrite(e) end
end

-- -------------------------------------------------------------------- logs
-- vcli.log lines of a plugin, kept per name (across reloads and restarts)
-- for `plugin logs NAME [-f]`; the log file gets them too (vcli.log).
local LOG_KEEP = 500
function R.log_line(name, msg)
  local l = S.logs[name] or { lines = {}, waiters = {} }
  S.logs[name] = l
  l.seq = (l.seq or 0) + 1
  l.lines[#l.lines + 1] = { at = os.time(), msg = msg, seq = l.seq }
  if #l.lines > LOG_KEEP then table.remove(l.lines, 1) end
  local ws = l.waiters
  l.waiters = {}
  for _, w in ipairs(ws) do w() end
end

return R
