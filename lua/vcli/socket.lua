-- vcli.socket — local TCP listeners and the connections they accept, over
-- vcli.tcp's non-blocking descriptors; every wait is a loop event that
-- yields the running task (port-forward's listeners, a plugin's
-- vcli.net.listen). A reader and a writer may wait on one socket at once.
--   l = socket.listen(host, port) -> l | nil, err     l.host, l.port (the bound address)
--   l:accept() -> c | nil once l is closed             c.peer, c.port
--   c:read([max]) -> bytes as they come (up to max, 64 KiB) | nil at the end (or once closed)
--   c:write(data) -> true (waits while the socket is full) | raises
--   x:close()                                          wakes whoever waits on it
local loop = require("vcli.loop")
local async = require("vcli.async")

local M = {}
local tcp_mod
local function tcp() tcp_mod = tcp_mod or require("vcli.tcp") return tcp_mod end

-- One loop watcher per descriptor (the loop keys them by fd).
local function update(o)
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
    update(o)
    if r and rw then rw() end
    if w and ww then ww() end
  end)
end

-- Wait until o.fd is readable ("rwait") or writable ("wwait").
local function wait(o, which)
  async.await(function(resume)
    o[which] = resume
    update(o)
    return function()
      if o[which] == resume then o[which] = nil; update(o) end
    end
  end)
end
M.wait = wait

local Sock = {}
Sock.__index = Sock

function Sock:close()
  if not self.fd then return end
  local fd = self.fd
  self.fd = nil
  local rw, ww = self.rwait, self.wwait
  self.rwait, self.wwait = nil, nil
  update(self)
  tcp().close(fd)
  if rw then rw() end
  if ww then ww() end
end

function Sock:accept()
  while self.fd do
    local fd, peer, pport = tcp().accept(self.fd)
    if fd then return setmetatable({ fd = fd, peer = peer, port = pport }, Sock) end
    if peer ~= "again" then error("accept: " .. tostring(peer), 0) end
    wait(self, "rwait")
  end
  return nil
end

function Sock:read(max)
  max = max or 65536
  while self.fd do
    local parts, n = {}, 0
    while self.fd and n < max do
      local data, err = loop.read(self.fd, max)
      if data then
        parts[#parts + 1] = data
        n = n + #data
      elseif err == "again" then
        break
      elseif err == "eof" or tostring(err):lower():find("reset") then
        if n > 0 then self.eof = true break end
        return nil
      else
        error("read: " .. tostring(err), 0)
      end
    end
    if n > 0 then return table.concat(parts) end
    if self.eof then return nil end
    wait(self, "rwait")
  end
  return nil
end

function Sock:write(data)
  local pos = 1
  while pos <= #data do
    if not self.fd then error("the connection is closed", 0) end
    local n, err = tcp().write(self.fd, data, pos)
    if n then pos = pos + n
    elseif err == "again" then wait(self, "wwait")
    else error("write: " .. tostring(err), 0) end
  end
  return true
end

function M.listen(host, port)
  local fd, bhost, bport = tcp().listen(host, port)
  if not fd then return nil, bhost end
  return setmetatable({ fd = fd, host = bhost, port = bport }, Sock)
end

return M
