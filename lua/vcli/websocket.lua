-- vcli.websocket — a WebSocket client (RFC 6455) for code running in a task:
--   local ws, err = websocket.connect{ url = "https://host/path", protocols = { "v5.channel.k8s.io" },
--                                      headers = { "Authorization: Bearer …" }, ca_pem = … }
--   if ws and ws.status == 101 then ws:send("\0hi"); local data, kind = ws:recv() … ws:close() end
-- The byte stream is vcli.net's connect() (every TLS and proxy option of
-- net.request), the framing is vcli.wsock (C); the HTTP/1.1 Upgrade
-- handshake, ping/pong and the close handshake are here. Waiting yields the
-- task; the loop keeps turning.
local async = require("vcli.async")
local net = require("vcli.net")
local wsock = require("vcli.wsock")
local loop = require("vcli.loop")

local M = {}
local WS = {}
WS.__index = WS

local RECV_HIGH, RECV_LOW = 1024 * 1024, 256 * 1024   -- stop reading the socket past this much unread
local SEND_HIGH = 1024 * 1024                         -- send() waits while more than this is unsent
local HEADER_MAX = 64 * 1024
local OP = { text = 1, binary = 2, close = 8, ping = 9, pong = 10 }

local function wake(ws)
  local w = ws.waiters
  ws.waiters = {}
  for _, fn in ipairs(w) do fn() end
end

-- Yield until something happens on ws (data, drain, close, timeout).
local function wait(ws)
  async.await(function(resume)
    ws.waiters[#ws.waiters + 1] = resume
    return function()
      for i = #ws.waiters, 1, -1 do if ws.waiters[i] == resume then table.remove(ws.waiters, i) end end
    end
  end)
end

local function fail(ws, err)
  if ws.state == "closed" then return end
  ws.state, ws.err = "closed", ws.err or err
  if ws.conn then ws.conn:close() end
  wake(ws)
end

local function send_frame(ws, op, payload)
  local _, err = ws.conn:send(wsock.frame(op, payload or ""))
  if err then fail(ws, ws.where .. ": " .. err) end
end

-- Frames after the handshake: data messages queue up for recv(); pings are
-- answered; a close is answered and ends the stream.
local function on_frames(ws, bytes)
  local msgs, err = ws.dec:feed(bytes)
  if not msgs then
    pcall(send_frame, ws, OP.close, "\3\234" .. "protocol error")   -- 1002
    return fail(ws, ws.where .. ": WebSocket protocol error: " .. err)
  end
  for _, m in ipairs(msgs) do
    local op, data = m[1], m[2]
    if op == OP.binary or op == OP.text then
      ws.q[#ws.q + 1] = { data, op == OP.text and "text" or "binary" }
      ws.queued = ws.queued + #data
    elseif op == OP.ping then
      if ws.state == "open" then send_frame(ws, OP.pong, data) end
    elseif op == OP.close then
      if #data >= 2 then
        ws.close_code = data:byte(1) * 256 + data:byte(2)
        ws.close_reason = data:sub(3)
      end
      if ws.state == "open" then
        ws.state = "closing"
        send_frame(ws, OP.close, data:sub(1, 2))
      end
      ws.state = "closed"
      ws.conn:close()
      break
    end
  end
  if ws.queued > RECV_HIGH and not ws.paused and ws.state == "open" then
    ws.paused = true
    ws.conn:pause()
  end
  wake(ws)
end

local function header_end(buf) return buf:find("\r\n\r\n", 1, true) end

local function parse_head(text)
  local status_line, rest = text:match("^([^\r\n]*)\r\n(.*)$")
  local code = status_line and tonumber(status_line:match("^HTTP/%d%.%d (%d%d%d)"))
  if not code then return nil end
  local headers = {}
  for line in (rest or ""):gmatch("([^\r\n]+)") do
    local k, v = line:match("^([^:]+):%s*(.-)%s*$")
    if k then
      k = k:lower()
      headers[k] = headers[k] and (headers[k] .. ", " .. v) or v
    end
  end
  return code, headers
end

-- The body of a refused handshake (Content-Length, chunked, or up to EOF).
local function body_complete(ws)
  local h, b = ws.headers, ws.buf
  local len = tonumber(h["content-length"] or "")
  if len then return #b >= len and b:sub(1, len) or nil end
  if (h["transfer-encoding"] or ""):lower():find("chunked") then
    local out, pos = {}, 1
    while true do
      local size_hex, after = b:match("^(%x+)[^\r\n]*\r\n()", pos)
      if not size_hex then return nil end
      local n = tonumber(size_hex, 16)
      if n == 0 then return table.concat(out) end
      if #b < after + n + 1 then return nil end
      out[#out + 1] = b:sub(after, after + n - 1)
      pos = after + n + 2
    end
  end
  return nil   -- until the server closes
end

local function header_list(opts)
  local list = {}
  local h = opts.headers or {}
  for k, v in pairs(h) do
    local line = type(k) == "number" and v or (tostring(k) .. ": " .. tostring(v))
    if type(line) ~= "string" or not line:find(":") then error("websocket: headers must be \"Name: value\" strings", 3) end
    if line:find("[\r\n]") then error("websocket: a header contains a line break", 3) end
    list[#list + 1] = line
  end
  return list
end

-- websocket.connect(opts) -> ws | nil, err
-- opts: url (http, https, ws or wss), protocols (offered, in order of
-- preference), headers, connect_timeout_ms, handshake_timeout_ms (30 s),
-- and net.connect's TLS and proxy options (ca_pem, cert_pem, key_pem,
-- ca_file, cert_file, key_file, insecure, server_name, proxy).
-- A server that answers 101 gives an open ws (ws.status == 101,
-- ws.protocol: the chosen subprotocol); any other answer is returned as
-- ws.status, ws.headers, ws.body with the connection closed (not an error,
-- as a 404 is not an error of http.request). err is for failed connections
-- and broken handshakes: one line, "GET URL: reason", no header values.
function M.connect(opts)
  if not async.current() then error("websocket.connect must run inside a task; use async.run", 2) end
  if type(opts) ~= "table" or type(opts.url) ~= "string" then error("websocket.connect: options with a url expected", 2) end
  local url = opts.url:gsub("^ws://", "http://"):gsub("^wss://", "https://")
  local scheme, authority, path = url:match("^(https?)://([^/?#]+)([^#]*)")
  if not scheme then error("websocket.connect: url must be http(s):// or ws(s)://", 2) end
  authority = authority:gsub("^.*@", "")
  if path == "" or path:sub(1, 1) == "?" then path = "/" .. path end
  local where = "GET " .. scheme .. "://" .. authority .. path:gsub("%?.*$", "")
  local key = wsock.new_key()
  local lines = { "GET " .. path .. " HTTP/1.1", "Host: " .. authority, "Upgrade: websocket", "Connection: Upgrade",
                  "Sec-WebSocket-Key: " .. key, "Sec-WebSocket-Version: 13" }
  local offered = {}
  for _, p in ipairs(opts.protocols or {}) do
    if type(p) ~= "string" or not p:match("^[%w!#$%%&'*+%-.^_`|~]+$") then error("websocket.connect: bad protocol name", 2) end
    offered[p] = true
  end
  if opts.protocols and #opts.protocols > 0 then lines[#lines + 1] = "Sec-WebSocket-Protocol: " .. table.concat(opts.protocols, ", ") end
  local has_ua = false
  for _, l in ipairs(header_list(opts)) do
    if l:lower():match("^user%-agent:") then has_ua = true end
    lines[#lines + 1] = l
  end
  if not has_ua then lines[#lines + 1] = "User-Agent: vcli" end
  local request = table.concat(lines, "\r\n") .. "\r\n\r\n"

  local ws = setmetatable({ state = "connecting", buf = "", q = {}, qh = 1, queued = 0, waiters = {}, where = where,
                            dec = wsock.decoder() }, WS)
  local conn, cerr = net.connect({
    url = url, method = "GET", connect_timeout_ms = opts.connect_timeout_ms or 10000,
    ca_pem = opts.ca_pem, cert_pem = opts.cert_pem, key_pem = opts.key_pem, ca_file = opts.ca_file,
    cert_file = opts.cert_file, key_file = opts.key_file, insecure = opts.insecure, server_name = opts.server_name,
    proxy = opts.proxy,
    on_open = function(err)
      if err then fail(ws, err) return end
      ws.state = "handshake"
      local _, serr = ws.conn:send(request)
      if serr then fail(ws, where .. ": " .. serr) end
      wake(ws)
    end,
    on_data = function(chunk)
      if ws.state == "open" or ws.state == "closing" then return on_frames(ws, chunk) end
      ws.buf = ws.buf .. chunk
      if ws.state == "handshake" and #ws.buf > HEADER_MAX and not header_end(ws.buf) then
        fail(ws, where .. ": the answer's headers exceed " .. HEADER_MAX .. " bytes")
      end
      wake(ws)
    end,
    on_close = function(err)
      if ws.state == "closed" then return end
      if ws.state == "refused" then ws.eof = true; wake(ws) return end
      if err then return fail(ws, err) end
      if ws.state == "open" and not ws.close_code then
        return fail(ws, where .. ": the connection closed without a WebSocket close")
      end
      if ws.state ~= "open" and ws.state ~= "closing" then
        return fail(ws, where .. ": the server closed the connection during the WebSocket handshake")
      end
      ws.state = "closed"
      wake(ws)
    end,
    on_drain = function() wake(ws) end,
  })
  if not conn then return nil, cerr end
  ws.conn = conn

  -- the handshake, within handshake_timeout_ms
  local timed_out = false
  local limit = opts.handshake_timeout_ms or 30000
  local timer = loop.timer(limit, function()
    timed_out = true
    fail(ws, ("%s: no answer to the WebSocket handshake within %d ms"):format(where, limit))
  end)
  local ok, werr = pcall(function()
    while ws.state == "connecting" or (ws.state == "handshake" and not header_end(ws.buf)) do wait(ws) end
  end)
  if not ok then timer:stop(); conn:close(); ws.state = "closed"; error(werr, 0) end
  if ws.state == "closed" then timer:stop(); return nil, ws.err end
  local e = header_end(ws.buf)
  local status, headers = parse_head(ws.buf:sub(1, e + 1))
  if not status then
    timer:stop()
    conn:close()
    return nil, where .. ": the server did not answer with HTTP"
  end
  ws.status, ws.headers = status, headers
  ws.buf = ws.buf:sub(e + 4)
  if status ~= 101 then
    ws.state = "refused"
    ok, werr = pcall(function()
      while not body_complete(ws) and not ws.eof and ws.state == "refused" do wait(ws) end
    end)
    timer:stop()
    conn:close()
    if not ok then error(werr, 0) end
    ws.body = body_complete(ws) or ws.buf
    ws.buf, ws.state = "", "closed"
    return ws
  end
  timer:stop()
  if timed_out then return nil, ws.err end
  local problem
  if (headers.upgrade or ""):lower() ~= "websocket" then problem = "the answer lacks Upgrade: websocket"
  elseif not (headers.connection or ""):lower():find("upgrade", 1, true) then problem = "the answer lacks Connection: Upgrade"
  elseif headers["sec-websocket-accept"] ~= wsock.accept_key(key) then problem = "Sec-WebSocket-Accept does not match the key sent"
  elseif headers["sec-websocket-extensions"] then problem = "the server chose an extension that was not offered"
  elseif headers["sec-websocket-protocol"] and not offered[headers["sec-websocket-protocol"]] then
    problem = ("the server chose the subprotocol %q, which was not offered"):format(headers["sec-websocket-protocol"])
  end
  if problem then
    conn:close()
    return nil, where .. ": " .. problem
  end
  ws.protocol = headers["sec-websocket-protocol"]
  ws.state = "open"
  local rest = ws.buf
  ws.buf = nil
  if #rest > 0 then on_frames(ws, rest) end
  return ws
end

-- ws:recv() -> data, "binary"|"text" | nil at the end (ws.close_code,
-- ws.close_reason). A broken connection or protocol error is raised (after
-- the messages that did arrive), and kept in ws.err.
function WS:recv()
  while self.qh > #self.q do
    if self.state == "closed" or self.state == "refused" then
      if self.err then error(self.err, 0) end
      return nil
    end
    wait(self)
  end
  local m = self.q[self.qh]
  self.q[self.qh] = nil
  self.qh = self.qh + 1
  if self.qh > #self.q then self.q, self.qh = {}, 1 end
  self.queued = self.queued - #m[1]
  if self.paused and self.queued < RECV_LOW and self.state == "open" then
    self.paused = false
    self.conn:resume()
  end
  return m[1], m[2]
end

-- ws:send(data [, "text"]) — one message; waits (yields) while more than
-- 1 MiB is still unsent. Raises when the connection is closed or broken.
function WS:send(data, kind)
  if self.state ~= "open" then error(self.err or (self.where .. ": the WebSocket is closed"), 0) end
  send_frame(self, kind == "text" and OP.text or OP.binary, data)
  while self.state == "open" and self.conn:buffered() > SEND_HIGH do wait(self) end
  if self.state == "closed" and self.err then error(self.err, 0) end
  return true
end

function WS:ping(data)
  if self.state == "open" then send_frame(self, OP.ping, data or "") end
end

-- ws:close([code [, reason]]) — sends a close frame (1000 by default) and
-- closes the connection; messages not read are dropped. Safe to call twice.
function WS:close(code, reason)
  if self.state == "open" then
    code = code or 1000
    pcall(send_frame, self, OP.close, string.char(math.floor(code / 256) % 256, code % 256) .. (reason or ""):sub(1, 120))
  end
  if self.state ~= "closed" then
    self.state = "closed"
    if self.conn then self.conn:close() end
  end
  self.q, self.qh, self.queued = {}, 1, 0
  wake(self)
end

function WS:closed() return self.state == "closed" end

return M
