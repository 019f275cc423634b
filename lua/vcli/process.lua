-- vcli.process — child processes on the loop, for every part of vcli (the
-- shell's `!cmd` and `| cmd`, the plugin registry's tar, a plugin's
-- vcli.exec): spawn, capture the output, wait for the exit, kill. Waiting
-- yields the running task (vcli.async); nothing blocks the loop.
--   p = process.spawn{argv=, env=, cwd=, stdin=, stdout=, stderr=, group=}  | nil, err
--       (stdio: "inherit" (default), "null" or "pipe"; group: the child leads a process
--        group of its own, so p:kill() stops what it started too — only for a child that
--        does not use the terminal)
--   p:wait() -> code, signal       (in a task; cancelling the wait kills the child, unless
--                                  p.keep_on_cancel: a program on the terminal gets Ctrl-C itself)
--   p:kill([sig])                  SIGTERM by default; the whole group when spawned with group
--   p:close_stdin()
--   process.capture(argv, opts) -> { code =, stdout =, stderr = } | nil, err   (in a task)
--   process.run(argv, opts) -> code | nil, err        on the user's terminal (stdio inherited)
local proc = require("vcli.proc")
local loop = require("vcli.loop")
local async = require("vcli.async")

local M = {}

local Proc = {}
Proc.__index = Proc

function M.spawn(opts)
  local p = setmetatable({ group = opts.group and true or false, waiters = {} }, Proc)
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.keep_on_cancel = nil
  o.on_exit = function(code, sig)
    p.done, p.code, p.signal = true, code, sig
    local ws = p.waiters
    p.waiters = {}
    for _, w in ipairs(ws) do w(code, sig) end
    if opts.on_exit then opts.on_exit(code, sig) end
  end
  local r, err = proc.spawn(o)
  if not r then return nil, err end
  p.pid, p.stdin, p.stdout, p.stderr = r.pid, r.stdin, r.stdout, r.stderr
  p.keep_on_cancel = opts.keep_on_cancel
  return p
end

function Proc:kill(sig)
  if self.done then return false end
  return proc.kill(self.pid, sig or 15, self.group)
end

function Proc:close_stdin()
  if self.stdin then proc.close(self.stdin); self.stdin = nil end
end

-- The exit: code (128 + N for a signal), signal.
function Proc:wait()
  if self.done then return self.code, self.signal end
  return async.await(function(resume)
    table.insert(self.waiters, resume)
    return function()
      for i = #self.waiters, 1, -1 do if self.waiters[i] == resume then table.remove(self.waiters, i) end end
      if not self.keep_on_cancel then self:kill() end
    end
  end)
end

-- Read fd to its end on the loop, appending to acc; done() at the end.
local function drain(fd, acc, done)
  local h
  h = loop.fd(fd, "r", function()
    while true do
      local data, e = loop.read(fd)
      if data then acc[#acc + 1] = data
      elseif e == "again" then return
      else h:stop(); proc.close(fd); done(); return end
    end
  end)
  return h
end

-- Run argv with stdout and stderr captured (stdin: opts.stdin, "null" by
-- default). The child leads its own process group unless opts.group is
-- false, so a cancelled capture (Ctrl-C) also stops what it started.
function M.capture(argv, opts)
  opts = opts or {}
  local out, err = {}, {}
  return async.await(function(resume)
    local pending, code = 3, nil
    local function done()
      pending = pending - 1
      if pending == 0 then resume({ code = code, stdout = table.concat(out), stderr = table.concat(err) }) end
    end
    local group = opts.group ~= false
    local pr, perr = proc.spawn({ argv = argv, stdin = opts.stdin or "null", stdout = "pipe", stderr = "pipe",
      env = opts.env, cwd = opts.cwd, group = group, on_exit = function(c) code = c; done() end })
    if not pr then resume(nil, perr) return end
    local hs = { drain(pr.stdout, out, done), drain(pr.stderr, err, done) }
    return function()
      proc.kill(pr.pid, 15, group)
      for _, h in ipairs(hs) do h:stop() end
      proc.close(pr.stdout)
      proc.close(pr.stderr)
    end
  end)
end

-- Run argv on the user's terminal (as `!cmd`): what vcli wrote so far goes
-- out first; the program reads the keyboard and gets Ctrl-C itself; the
-- call waits for its exit code. opts.keep_on_cancel: a cancelled wait goes
-- on until the program exits (it got the Ctrl-C too).
function M.run(argv, opts)
  opts = opts or {}
  return require("vcli.terminal").hand_over(function()
    local p, err = M.spawn({ argv = argv, env = opts.env, cwd = opts.cwd, stdin = opts.stdin,
                             keep_on_cancel = opts.keep_on_cancel })
    if not p then return nil, err end
    return (p:wait())
  end)
end

return M
