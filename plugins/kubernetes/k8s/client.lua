-- k8s.client — talks to one API server for one kubeconfig context.
--   local c = client.new(env, conn)            -- conn from kubeconfig.resolve
--   local res, err, kind = c:request{ method=, path=, body=, accept=, content_type= }
--   local obj, err, kind = c:get_json(path)     -- decoded; API errors as kubectl words them
-- kind is "network" (unreachable: answer from cache), "http" (the server said no) or "auth".
-- env: { http, json, spawn(argv, opts) -> code, stdout, stderr; now() (ms); sleep(ms); getenv }
-- Tokens and keys never appear in errors: every message passes util.redact.
local util = require("k8s.util")

local M = {}
local Client = {}
Client.__index = Client

-- exec credentials are shared by every client of the same user (per process)
local exec_cache = {}

M.DEFAULT_TIMEOUT_MS = 30000

function M.new(env, conn, opts)
  local c = setmetatable({ env = env, conn = conn, opts = opts or {} }, Client)
  c.secrets = { conn.token, conn.key_pem, conn.basic and conn.basic[2] }
  return c
end

function Client:redact(s)
  local sec = { unpack(self.secrets) }
  local ec = self.conn.exec and exec_cache[self:exec_key()]
  if ec then sec[#sec + 1] = ec.token; sec[#sec + 1] = ec.key_pem end
  return util.redact(s, sec)
end

function Client:exec_key()
  local x = self.conn.exec
  return self.conn.user_name .. "\0" .. x.command .. "\0" .. table.concat(x.args, "\0")
end

-- Run the exec credential plugin (client.authentication.k8s.io v1/v1beta1).
function Client:exec_credential(force)
  local x = self.conn.exec
  local key = self:exec_key()
  local now = self.env.now() / 1000
  local cached = exec_cache[key]
  if cached and not force and (not cached.expires or cached.expires > now + 10) then return cached end
  local json = self.env.json
  local spec = { interactive = false }
  if x.provide_cluster_info then spec.cluster = x.cluster end
  local info = json.encode({ apiVersion = x.api_version, kind = "ExecCredential", spec = spec })
  local envs = { { "KUBERNETES_EXEC_INFO", info } }
  for _, kv in ipairs(x.env) do envs[#envs + 1] = kv end
  local argv = { x.command }
  for _, a in ipairs(x.args) do argv[#argv + 1] = a end
  local code, out, err = self.env.spawn(argv, { env = envs })
  if code == nil then
    local hint = x.install_hint and (" (" .. x.install_hint:gsub("%s+", " ") .. ")") or ""
    error(("%s.command: cannot run %s: %s%s"):format(x.where, x.command, tostring(out), hint), 0)
  end
  if code ~= 0 then
    local first = (err or ""):match("^%s*([^\n]*)") or ""
    error(self:redact(("%s: %s exited with status %d%s"):format(x.where, x.command, code,
      first ~= "" and (": " .. first) or "")), 0)
  end
  local cred, jerr = json.decode(out, x.command .. " output")
  if type(cred) ~= "table" then
    error(("%s: the plugin's output is not an ExecCredential: %s"):format(x.where, self:redact(jerr or "not an object")), 0)
  end
  if cred.kind ~= "ExecCredential" then
    error(("%s: the plugin's output has kind %s, not ExecCredential"):format(x.where, tostring(cred.kind)), 0)
  end
  if cred.apiVersion ~= x.api_version then
    error(("%s: the plugin answered %s, the kubeconfig asks for %s"):format(x.where, tostring(cred.apiVersion), x.api_version), 0)
  end
  local st = type(cred.status) == "table" and cred.status or {}
  local c = { token = type(st.token) == "string" and st.token or nil,
              cert_pem = type(st.clientCertificateData) == "string" and st.clientCertificateData or nil,
              key_pem = type(st.clientKeyData) == "string" and st.clientKeyData or nil,
              expires = util.parse_time(st.expirationTimestamp) }
  if not c.token and not c.cert_pem then
    error(("%s: the plugin returned neither status.token nor status.clientCertificateData"):format(x.where), 0)
  end
  exec_cache[key] = c
  return c
end

function M.forget_credentials() exec_cache = {} end

function Client:base_opts(opts)
  local conn = self.conn
  local o = { ca_pem = conn.ca_pem, cert_pem = conn.cert_pem, key_pem = conn.key_pem, insecure = conn.insecure or nil,
              server_name = conn.server_name, proxy = conn.proxy, compressed = not conn.disable_compression,
              timeout_ms = opts.timeout_ms, connect_timeout_ms = opts.connect_timeout_ms or self.opts.connect_timeout_ms or 5000,
              low_speed = opts.low_speed }
  local h = { "User-Agent: vcli/k8s" }
  if opts.accept then h[#h + 1] = "Accept: " .. opts.accept end
  if opts.content_type then h[#h + 1] = "Content-Type: " .. opts.content_type end
  local token = conn.token
  if conn.token_file then
    local t = self.env.read_file(conn.token_file)
    if t then token = t:match("^%s*(.-)%s*$"); self.secrets[#self.secrets + 1] = token end
  end
  if conn.exec then
    local cred = self:exec_credential(opts.refresh)
    if cred.token then token = cred.token end
    if cred.cert_pem then o.cert_pem, o.key_pem = cred.cert_pem, cred.key_pem end
  end
  if token then h[#h + 1] = "Authorization: Bearer " .. token
  elseif conn.basic then h[#h + 1] = "Authorization: Basic " .. util.base64_encode(conn.basic[1] .. ":" .. conn.basic[2]) end
  if conn.impersonate then
    h[#h + 1] = "Impersonate-User: " .. conn.impersonate.user
    for _, g in ipairs(conn.impersonate.groups) do h[#h + 1] = "Impersonate-Group: " .. g end
    if conn.impersonate.uid then h[#h + 1] = "Impersonate-Uid: " .. conn.impersonate.uid end
  end
  for _, extra in ipairs(opts.headers or {}) do h[#h + 1] = extra end
  o.headers = h
  o.url = conn.server .. opts.path
  o.method = opts.method or "GET"
  o.body = opts.body
  return o
end

local GENERIC = {
  [400] = { "BadRequest", "the server rejected our request for an unknown reason" },
  [403] = { "Forbidden", "the server does not allow access to the requested resource" },
  [404] = { "NotFound", "the server could not find the requested resource" },
  [405] = { "MethodNotAllowed", "the server does not allow this method on the requested resource" },
  [406] = { "NotAcceptable", "the server was unable to respond with a content type that the client supports" },
  [409] = { "Conflict", "the server reported a conflict" },
  [413] = { "RequestEntityTooLarge", "the server has rejected the request because the request entity is too large" },
  [415] = { "UnsupportedMediaType", "the server does not support the media type sent in the request" },
  [422] = { "Invalid", "the server rejected our request due to an error in our request" },
  [429] = { "TooManyRequests", "the server has received too many requests and has asked us to try again later" },
  [503] = { "ServiceUnavailable", "the server is currently unable to handle the request" },
  [504] = { "Timeout", "the server was unable to return a response in the time allotted, but may still be processing "
    .. "the request" },
}
-- kubectl's words for an API error: "Error from server (NotFound): pods "x" not found"
function Client:status_error(res)
  local st = self.env.json.decode(res.body or "")
  if res.status == 401 then
    -- kubectl's words ("error: You must be logged in to the server (Unauthorized)")
    local why = type(st) == "table" and type(st.message) == "string" and st.message ~= "" and st.message or "Unauthorized"
    return ("error: You must be logged in to the server (%s)"):format(why), type(st) == "table" and st or nil
  end
  if type(st) == "table" and st.kind == "Status" and st.message then
    local reason = st.reason
    if type(reason) ~= "string" or reason == "" then reason = ({ [401] = "Unauthorized", [403] = "Forbidden", [404] = "NotFound",
      [409] = "Conflict", [422] = "Invalid", [500] = "InternalError", [503] = "ServiceUnavailable",
      [429] = "TooManyRequests" })[res.status] or tostring(res.status) end
    -- an invalid object: kubectl lists the causes ("The ConfigMap "x" is invalid: field: why")
    local d = st.details
    if reason == "Invalid" and type(d) == "table" and type(d.causes) == "table" and #d.causes > 0 then
      local head = "The request is invalid"
      if (type(d.kind) == "string" and d.kind ~= "") or (type(d.name) == "string" and d.name ~= "") then
        head = ("The %s %q is invalid"):format(tostring(d.kind or ""), tostring(d.name or ""))
      end
      local msgs, seen = {}, {}
      for _, cause in ipairs(d.causes) do
        local m = ("%s: %s"):format(tostring(cause.field or ""), tostring(cause.message or ""))
        if not seen[m] then seen[m] = true; msgs[#msgs + 1] = m end
      end
      if #msgs == 1 then return self:redact(head .. ": " .. msgs[1]), st end
      return self:redact(head .. ": \n* " .. table.concat(msgs, "\n* ")), st
    end
    return self:redact(("Error from server (%s): %s"):format(reason, st.message)), st
  end
  if res.status == 401 then return "error: You must be logged in to the server (Unauthorized)" end
  -- no Status in the answer: kubectl's words for the code (apimachinery's generic response errors)
  local generic = GENERIC[res.status]
  if generic then return ("Error from server (%s): %s"):format(generic[1], generic[2]) end
  local body = (res.body or ""):gsub("%s+", " "):sub(1, 200)
  if res.status >= 500 then
    return self:redact(("Error from server (InternalError): an error on the server (%q) has prevented the request "
      .. "from succeeding"):format(body))
  end
  return self:redact(("Error from server: %d %s"):format(res.status, body))
end

local RETRY_STATUS = { [429] = true, [500] = true, [502] = true, [503] = true, [504] = true }

-- opts.qps / opts.burst: a token bucket of burst requests, refilled at qps
-- per second. Each request takes a token, waiting for it when there is none
-- (a reservation: tokens may go below zero, so requests made at once by
-- several tasks wait in turn rather than together).
function Client:throttle()
  local qps = self.opts.qps
  if not qps then return end
  local burst = self.opts.burst or 1
  local now = self.env.now()
  if not self.tokens then self.tokens, self.filled = burst, now end
  self.tokens = math.min(burst, self.tokens + (now - self.filled) * qps / 1000) - 1
  self.filled = now
  if self.tokens < 0 then self.env.sleep(-self.tokens * 1000 / qps) end
end

-- -v N (kubectl's request logging, to the command's stderr through
-- opts.on_log(level, line)): 6 each request's method, URL, status and time;
-- 8 its headers too, the credentials masked (never the token itself)
local REASON = { [200] = "OK", [201] = "Created", [202] = "Accepted", [204] = "No Content", [400] = "Bad Request",
  [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found", [405] = "Method Not Allowed", [409] = "Conflict",
  [410] = "Gone", [415] = "Unsupported Media Type", [422] = "Unprocessable Entity", [429] = "Too Many Requests",
  [500] = "Internal Server Error", [503] = "Service Unavailable", [504] = "Gateway Timeout" }
local function masked(hdr)
  local name = hdr:match("^([^:]+):")
  local lname = name and name:lower()
  if lname == "authorization" then return name .. ": " .. (hdr:match(":%s*(%S+)") or "") .. " <masked>" end
  return hdr
end
function Client:log_request(o, res, err, t0)
  local log = self.opts.on_log
  if not log then return end
  local ms = math.floor(self.env.now() - t0 + 0.5)
  local status = res and (res.status .. " " .. (REASON[res.status] or "")) or ("failed: " .. tostring(err))
  log(8, self:redact(("Request Headers:\n%s"):format(table.concat((function()
    local out = {}
    for i, h in ipairs(o.headers or {}) do out[i] = "    " .. masked(h) end
    return out
  end)(), "\n"))))
  log(6, self:redact(("%s %s %s in %d milliseconds"):format(o.method or "GET", o.url, status:gsub("%s+$", ""), ms)))
  if res and type(res.headers) == "table" then
    -- as kubectl: the names in canonical case (Content-Type), here sorted; a cookie masked
    local out = {}
    for name, v in pairs(res.headers) do
      local canon = name:gsub("(%a)([%w]*)", function(a, b) return a:upper() .. b end)
      if name == "set-cookie" then v = "<masked>" end
      out[#out + 1] = ("    %s: %s"):format(canon, v)
    end
    table.sort(out)
    log(8, self:redact("Response Headers:\n" .. table.concat(out, "\n")))
  end
end

-- request{method, path, body, accept, content_type, timeout_ms, headers}
--   -> res | nil, err, kind
-- The client's opts.timeout_ms (kubernetes.requestTimeout) wins over the request's own.
function Client:request(opts)
  local http = self.env.http
  local attempt, refreshed = 0, false
  -- kubernetes.requestTimeout (or --request-timeout), else the request's own, else 30 s:
  -- a request never waits for ever (a server that answers and never ends)
  -- (--request-timeout 0 is never: 0, which vcli.net takes as no limit)
  local tmo = self.opts.timeout_ms or opts.timeout_ms or M.DEFAULT_TIMEOUT_MS
  if tmo ~= opts.timeout_ms then opts = setmetatable({ timeout_ms = tmo }, { __index = opts }) end
  while true do
    attempt = attempt + 1
    self:throttle()
    local okb, o = pcall(self.base_opts, self, opts)
    if not okb then return nil, self:redact(o), "auth" end
    local t0 = self.env.now()
    local res, err = http.request(o)
    if self.opts.on_log then self:log_request(o, res, err, t0) end
    if not res then
      self.down_since = self.down_since or self.env.now()
      return nil, self:redact(err), "network"
    end
    self.down_since = nil
    self:warn_from(res.headers)
    if res.status == 401 and self.conn.exec and not refreshed then
      refreshed = true
      opts = setmetatable({ refresh = true }, { __index = opts })
    elseif RETRY_STATUS[res.status] and attempt < 4 and ((opts.method or "GET") == "GET" or res.status == 429) then
      local wait = tonumber(res.headers and res.headers["retry-after"] or "")
      wait = wait and math.min(wait * 1000, 10000) or math.min(2000, 100 * 2 ^ attempt) * (0.5 + math.random())
      self.env.sleep(wait)
    else
      if res.status >= 400 then
        local msg, st = self:status_error(res)
        return nil, msg, "http", res.status, st
      end
      return res
    end
  end
end

-- The server's warnings (a Warning header: 299 - "text", several joined
-- with ", "), each text once per command, to opts.on_warning as kubectl
-- prints them on stderr ("Warning: extensions/v1beta1 Ingress is deprecated…").
function M.warnings(value)
  local out, i = {}, 1
  while true do
    local s = value:find('%d%d%d%s+%S+%s+"', i)
    if not s then break end
    local j = value:find('"', s, true) + 1
    local text = {}
    while j <= #value do
      local ch = value:sub(j, j)
      if ch == "\\" then text[#text + 1] = value:sub(j + 1, j + 1); j = j + 2
      elseif ch == '"' then break
      else text[#text + 1] = ch; j = j + 1 end
    end
    out[#out + 1] = table.concat(text)
    i = j + 1
  end
  return out
end

function Client:warn_from(headers)
  local v = type(headers) == "table" and headers.warning
  if type(v) ~= "string" or not self.opts.on_warning then return end
  for _, text in ipairs(M.warnings(v)) do self.opts.on_warning(text) end
end

function Client:get_json(path, accept)
  local res, err, kind, code, st = self:request{ path = path, accept = accept or "application/json" }
  if not res then return nil, err, kind, code, st end
  local obj, jerr = self.env.json.decode(res.body, "response of " .. path:gsub("%?.*", ""))
  if obj == nil then return nil, jerr, "http" end
  return obj
end

-- A streaming response (watch, logs -f): returns the http stream or nil, err, kind.
function Client:stream(opts)
  self:throttle()
  local okb, o = pcall(self.base_opts, self, opts)
  if not okb then return nil, self:redact(o), "auth" end
  local t0 = self.env.now()
  local s, err = self.env.http.stream(o)
  -- -v 6: a watch or log stream logged as it opens, as kubectl logs it
  if self.opts.on_log then self:log_request(o, s, err, t0) end
  if not s then return nil, self:redact(err), "network" end
  self:warn_from(s.headers)
  if s.status >= 400 then
    local parts = {}
    for ch in s:chunks() do parts[#parts + 1] = ch end
    local msg, st = self:status_error({ status = s.status, body = table.concat(parts) })
    return nil, msg, "http", s.status, st
  end
  return s
end

-- A WebSocket to the API server (exec, attach, port-forward) with the
-- request's credentials, TLS and proxy. opts: path, protocols, open(o) (the
-- host's websocket function: vcli.http.websocket). -> ws (open, 101) |
-- nil, err (kubectl's words: "Error from server (NotFound): …"), kind, status
function Client:websocket(opts)
  local refreshed = false
  while true do
    local okb, o = pcall(self.base_opts, self, opts)
    if not okb then return nil, self:redact(o), "auth" end
    o.method, o.body, o.timeout_ms, o.low_speed = nil, nil, nil, nil
    o.protocols = opts.protocols
    local ws, werr = opts.open(o)
    if not ws then
      self.down_since = self.down_since or self.env.now()
      return nil, self:redact(werr), "network"
    end
    self.down_since = nil
    if ws.status == 101 then return ws end
    if ws.status == 401 and self.conn.exec and not refreshed then
      refreshed = true
      opts = setmetatable({ refresh = true }, { __index = opts })
    else
      local msg, st = self:status_error({ status = ws.status, body = ws.body })
      return nil, msg, "http", ws.status, st
    end
  end
end

return M
