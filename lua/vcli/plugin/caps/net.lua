-- caps/net.lua — net: HTTP requests, streamed bodies and WebSockets to the
-- hosts the manifest lists, and (with listen:) local TCP listeners.
--   plugin.yaml:  - net: { hosts: [api.example.com, "*.corp"], listen: true | [127.0.0.1, "::1"] }
--   plugin side:  vcli.http.get/post/request/stream/websocket, vcli.net.listen
local R = require("vcli.plugin.runtime")

local C = { name = "net", summary = "HTTP(S), streams and WebSockets to listed hosts; local listeners",
            grant = "- net: { hosts: [HOST, \"*.DOMAIN\"] }", api = { "vcli.http.get", "vcli.http.post",
            "vcli.http.request", "vcli.http.stream", "vcli.http.websocket", "vcli.net.listen" } }

local function is_address(v)
  return type(v) == "string" and (v == "localhost" or v:match("^[%d.]+$") ~= nil or v:match("^[%x:]+$") ~= nil)
end
C.options = {
  hosts = { list = true },
  -- listen: true (any local address) or a list of addresses ([127.0.0.1, "::1"])
  listen = { check = function(v, field, ctx)
    if type(v) == "boolean" then return nil end
    if not ctx.is_list(v) then return "must be true or a list of local addresses" end
    for i, a in ipairs(v) do
      if not is_address(a) then
        return ("'%s' is not an IP address (e.g. 127.0.0.1, ::1)"):format(tostring(a)), ("%s[%d]"):format(field, i)
      end
    end
  end },
}
C.ops = { request = "wait", stream = "wait", read = "wait", close = "now", websocket = "wait", ws_recv = "wait",
          ws_send = "wait", listen = "now", accept = "wait", sock_read = "wait", sock_write = "wait" }
C.host = {}
local H = C.host

local function host_allowed(list, host)
  for _, pat in ipairs(list or {}) do
    if pat == "*" or pat == host then return true end
    local suffix = pat:match("^%*%.(.+)$")
    if suffix and host:sub(-#suffix - 1) == "." .. suffix then return true end
  end
  return false
end

local NET_OPTS = { "url", "method", "headers", "body", "timeout_ms", "connect_timeout_ms", "ca_pem", "cert_pem",
                   "key_pem", "insecure", "server_name", "proxy", "low_speed", "http_version", "compressed" }
local NET_FILES = { "ca_file", "cert_file", "key_file" }

-- The options a plugin may pass, checked: the URL's host against hosts:,
-- *_file paths against the plugin's fs.read grant (on their real path).
-- -> options | nil, why (a host or file the grants do not cover: the request
-- is not made, and says so as a failed one does); options that are not
-- options raise.
local function net_opts(p, opts)
  if type(opts) ~= "table" or type(opts.url) ~= "string" then error("http: options with a url expected", 0) end
  local host = opts.url:match("^%a[%w+.-]*://%[?([^/:%]@]+)")
  local allowed = p.m.capabilities.net.hosts
  if not host or not host_allowed(allowed, host:lower()) then
    return nil, ("plugin %s may not reach host '%s' (capabilities: net: hosts: [%s])"):format(
      p.name, tostring(host), table.concat(allowed or {}, ", "))
  end
  local o = {}
  for _, k in ipairs(NET_OPTS) do o[k] = opts[k] end
  for _, k in ipairs(NET_FILES) do
    local path = opts[k]
    if path ~= nil then
      if type(path) ~= "string" or path == "" then error(("http: %s must be a path"):format(k), 0) end
      local ok, real = false, nil
      if p.m.capabilities["fs.read"] then
        ok, real = pcall(require("vcli.plugin.caps.fs_read").check_path, p, "fs.read", path)
      end
      if not ok then
        return nil, ("plugin %s: fs.read does not cover %s"):format(p.name, path)
      end
      -- read here, as checked (libcurl opening the path later could be sent elsewhere by a swapped link)
      local pem, rerr = require("vcli.fs").read_exact(real)
      if not pem then return nil, ("plugin %s: %s"):format(p.name, rerr) end
      o[(k:gsub("_file$", "_pem"))] = pem
    end
  end
  return o
end

-- One convention with the host's vcli.http: a request that got no answer
-- (refused, timed out, TLS, dropped before the headers; or not made: a host
-- outside hosts:, a file outside fs.read) is nil, err; a status of 4xx/5xx
-- is an answer; options that are not options raise.
function H.request(p, opts)
  local o, why = net_opts(p, opts)
  if not o then return nil, why end
  o.max_body = p.mem_limit   -- an answer the plugin could not hold is not buffered for it
  local r, err = require("vcli.http").request(o)
  if not r then return nil, err end
  return { status = r.status, headers = r.headers, body = r.body }
end

-- Streams: http.stream on the host; the plugin reads chunk by chunk (a
-- ticket per read). A stream belongs to the call that opened it.
function H.stream(p, opts)
  local o, why = net_opts(p, opts)
  if not o then return nil, why end
  local call = p.current_call
  local s, err = require("vcli.http").stream(o)
  if not s then return nil, err end
  local id = R.adopt(p, call, s, "stream")
  return { id = id, status = s.status, headers = s.headers }
end
function H.read(p, id) return R.resource(p, id, "stream"):read() end
function H.close(p, id) R.close_resource(p, id) return true end

-- WebSockets (vcli.websocket): the same host and option checks as
-- requests, plus the subprotocols offered. A refused handshake (not 101)
-- is an answer, not an error: status, headers and body come back.
function H.websocket(p, opts)
  local o, why = net_opts(p, opts)
  if not o then return nil, why end
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
  local ws, err = require("vcli.websocket").connect(o)
  if not ws then return nil, err end
  if ws.status ~= 101 then return { status = ws.status, headers = ws.headers, body = ws.body } end
  local id = R.adopt(p, call, ws, "websocket")
  return { id = id, status = ws.status, headers = ws.headers, protocol = ws.protocol }
end
-- next message: { data =, text = bool } | { closed = true, code =, reason = } at the end
function H.ws_recv(p, id)
  local ws = R.resource(p, id, "websocket")
  local data, kind = ws:recv()
  if data == nil then return { closed = true, code = ws.close_code, reason = ws.close_reason } end
  return { data = data, text = kind == "text" or nil }
end
function H.ws_send(p, id, data, text)
  local ws = R.resource(p, id, "websocket")
  if type(data) ~= "string" then error("websocket: send takes a string", 0) end
  return ws:send(data, text and "text" or "binary")
end

-- Local TCP listeners (port-forward): only with net: listen: true (or a
-- list of the addresses allowed). Accepted connections belong to the call
-- that accepted them.
local function listen_allowed(p, host)
  local grant = p.m.capabilities.net.listen
  if grant == true then return true end
  if type(grant) == "table" then
    for _, a in ipairs(grant) do if a == host then return true end end
  end
  return false, grant
end
function H.listen(p, opts)
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
  local l, err = require("vcli.socket").listen(host, port)
  if not l then error(err, 0) end
  local id = R.adopt(p, p.current_call, l, "listener")
  return { id = id, host = l.host, port = l.port }
end
-- the next connection: { id, peer, port } | nil once the listener is closed
function H.accept(p, id)
  local l = R.resource(p, id, "listener")
  local call = p.current_call
  local c = l:accept()
  if not c then return nil end
  local cid = R.adopt(p, call, c, "socket")
  return { id = cid, peer = c.peer, port = c.port }
end
-- bytes as they come (up to 64 KiB) | nil at the end (or once closed)
function H.sock_read(p, id) return R.resource(p, id, "socket"):read() end
-- the whole string, waiting while the socket is full
function H.sock_write(p, id, data)
  local c = R.resource(p, id, "socket")
  if type(data) ~= "string" then error("socket: write takes a string", 0) end
  local ok, err = pcall(c.write, c, data)
  if not ok then
    if not c.fd then error(("plugin %s: connection %s is closed"):format(p.name, tostring(id)), 0) end
    error(err, 0)
  end
  return true
end

-- ------------------------------------------------------------ plugin side
function C.plugin(vcli, api)
  local await, host, copy = api.await, api.host, api.copy
  -- A body read from a host stream, chunk by chunk: each read waits on the
  -- host. The stream lives as long as the call that opened it.
  local Stream = {}
  Stream.__index = Stream
  function Stream:read()
    if self.closed or self.ended then return nil end
    local chunk = await("net", "read", self.id)
    if chunk == nil then self.ended = true end
    return chunk
  end
  function Stream:chunks() return function() return self:read() end end
  function Stream:lines(max) return api.require("vcli.lines")(function() return self:read() end, max) end
  function Stream:close()
    if self.closed then return end
    self.closed = true
    host("net", "close", self.id)
  end
  -- request/get/post/stream/websocket -> the answer | nil, err (a failed transfer)
  vcli.http = {
    request = function(opts) return await("net", "request", opts) end,
    get = function(url, opts)
      local o = opts and copy(opts) or {}
      o.url, o.method = url, o.method or "GET"
      return await("net", "request", o)
    end,
    post = function(url, body, opts)
      local o = opts and copy(opts) or {}
      o.url, o.method, o.body = url, o.method or "POST", body
      return await("net", "request", o)
    end,
    stream = function(opts)
      local r, err = await("net", "stream", opts)
      if not r then return nil, err end
      return setmetatable({ id = r.id, status = r.status, headers = r.headers }, Stream)
    end,
  }
  -- A WebSocket on the host: each recv/send waits on the host; it lives as
  -- long as the call that opened it. Not 101: ws.status, ws.body, closed.
  local WebSocket = {}
  WebSocket.__index = WebSocket
  function WebSocket:recv()
    if self.closed then return nil end
    local m = await("net", "ws_recv", self.id)
    if m.closed then
      self.closed, self.close_code, self.close_reason = true, m.code, m.reason
      return nil
    end
    return m.data, m.text and "text" or "binary"
  end
  function WebSocket:send(data, kind)
    if self.closed then error(("plugin %s: the WebSocket is closed"):format(api.name), 2) end
    return await("net", "ws_send", self.id, data, kind == "text")
  end
  function WebSocket:close()
    if self.closed or not self.id then self.closed = true return end
    self.closed = true
    host("net", "close", self.id)
  end
  vcli.http.websocket = function(opts)
    local r, err = await("net", "websocket", opts)
    if not r then return nil, err end
    return setmetatable({ id = r.id, status = r.status, headers = r.headers, body = r.body, protocol = r.protocol,
                          closed = r.id == nil }, WebSocket)
  end
  -- Local TCP listeners (net: listen: true) and the connections they accept.
  local Socket = {}
  Socket.__index = Socket
  function Socket:read()
    if self.closed then return nil end
    return await("net", "sock_read", self.id)
  end
  function Socket:write(data) return await("net", "sock_write", self.id, data) end
  function Socket:close()
    if self.closed then return end
    self.closed = true
    host("net", "close", self.id)
  end
  local Listener = {}
  Listener.__index = Listener
  function Listener:accept()
    if self.closed then return nil end
    local r = await("net", "accept", self.id)
    if not r then return nil end
    return setmetatable({ id = r.id, peer = r.peer, port = r.port }, Socket)
  end
  Listener.close = Socket.close
  vcli.net = {
    listen = function(opts)
      local r = host("net", "listen", opts)
      return setmetatable({ id = r.id, host = r.host, port = r.port }, Listener)
    end,
  }
end

return C
