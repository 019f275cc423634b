-- Drive vcli in a real terminal: tmux on a private socket, send-keys, and
-- capture-pane to read what a person would see.
local async = require("vcli.async")
local vm = require("vcli.vm")

local M = {}
M.__index = M

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

function M.available()
  return os.execute("command -v tmux >/dev/null 2>&1") == 0
end

-- M.start(cmd, {width=, height=, env={K=V}}) -> session
function M.start(cmd, opts)
  opts = opts or {}
  local self = setmetatable({}, M)
  self.socket = ("vcli-spec-%d-%d"):format(require("vcli.proc").getpid(), math.random(1e9))
  local env = {}
  for k, v in pairs(opts.env or {}) do table.insert(env, k .. "=" .. q(v)) end
  local full = ("cd %s && env %s %s; echo '[exited '$?']'; sleep 30"):format(q(opts.cwd or spec.root), table.concat(env, " "), cmd)
  local rc = os.execute(("tmux -L %s -f /dev/null new-session -d -s t -x %d -y %d %s"):format(
    self.socket, opts.width or 100, opts.height or 30, q(full)))
  assert(rc == 0, "tmux could not start")
  os.execute(("tmux -L %s set -g status off"):format(self.socket))
  return self
end

function M:send(...)
  local args = {}
  for _, k in ipairs({ ... }) do table.insert(args, q(k)) end
  os.execute(("tmux -L %s send-keys -t t %s"):format(self.socket, table.concat(args, " ")))
end

-- Type literal text (no key-name interpretation).
function M:type(text)
  os.execute(("tmux -L %s send-keys -t t -l %s"):format(self.socket, q(text)))
end

function M:screen()
  local p = io.popen(("tmux -L %s capture-pane -p -t t"):format(self.socket))
  local s = p:read("*a")
  p:close()
  return s
end

-- Wait until the screen matches pattern (a Lua pattern, or a function(screen) -> truthy);
-- returns the screen or raises with it.
function M:wait_for(pattern, timeout_ms)
  local deadline = vm.now() + (timeout_ms or 5000)
  local s
  repeat
    s = self:screen()
    if type(pattern) == "function" then
      if pattern(s) then return s end
    elseif s:find(pattern) then return s end
    async.sleep(20)
  until vm.now() > deadline
  error(("screen never showed %s; it shows:\n%s"):format(type(pattern) == "function" and "what was waited for"
    or ("%q"):format(pattern), s), 2)
end

-- What the terminal is in: "1" on the alternate screen; the shell's PID.
function M:display(fmt)
  local p = io.popen(("tmux -L %s display -p -t t %s"):format(self.socket, q(fmt)))
  local s = p:read("*a")
  p:close()
  return (s:gsub("%s+$", ""))
end

function M:resize(w, h)
  os.execute(("tmux -L %s resize-window -t t -x %d -y %d"):format(self.socket, w, h))
end

function M:stop()
  os.execute(("tmux -L %s kill-server 2>/dev/null"):format(self.socket))
end

return M
