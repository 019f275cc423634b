-- prometheus/client.lua — the Prometheus HTTP API (v1) over an injected http.
--
--   local client = require("client")
--   local c = client.new(env, server)       -- env: {http=, json=, resilience=, sleep=}
--   local data, err = c:query("up")          -- data = {resultType=, result=}
--   local data, err = c:get("/api/v1/labels")
--
-- server = { url=, token=, username=, password=, timeout_ms=, ca_file=, cert_file=, key_file=,
--            server_name=, insecure=, headers={} }
-- Errors come back as one line (err) plus a table (e2 = {kind=, status=, transient=}):
--   kind = "bad_query" (PromQL error, with the server's position text), "timeout",
--          "server" (5xx), "client" (other 4xx), "unreachable" (no answer), "protocol".
local M = {}

local function urlencode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end
M.urlencode = urlencode

-- params: {{"name", "value"}, ...} (repeats allowed, order kept) or {name = value}
local function form(params)
  local parts = {}
  if params then
    if params[1] then
      for _, p in ipairs(params) do
        if p[2] ~= nil then parts[#parts + 1] = urlencode(p[1]) .. "=" .. urlencode(p[2]) end
      end
    else
      local keys = {}
      for k in pairs(params) do keys[#keys + 1] = k end
      table.sort(keys)
      for _, k in ipairs(keys) do parts[#parts + 1] = urlencode(k) .. "=" .. urlencode(params[k]) end
    end
  end
  return table.concat(parts, "&")
end
M.form = form

local b64 = require("vcli.base64").encode
M.b64 = b64

local C = {}
C.__index = C

function M.new(env, server)
  assert(env and env.http and env.json, "client.new: env with http and json expected")
  assert(server and type(server.url) == "string" and server.url ~= "", "client.new: server.url expected")
  local c = setmetatable({ env = env, server = server }, C)
  c.base = server.url:gsub("/+$", "")
  return c
end

-- One-line reason for a transport error, without the method and URL prefix.
local function reason(err)
  local r = tostring(err):match("^%u+ %S+: (.*)$") or tostring(err)
  return r
end

-- Classify an HTTP response. Returns data | nil, msg, info
local function check(self, res, what)
  local json = self.env.json
  local body = res.body or ""
  local doc = nil
  if body:sub(1, 1) == "{" then doc = json.decode(body) end
  if res.status >= 200 and res.status < 300 then
    if type(doc) ~= "table" then
      return nil, ("Prometheus at %s: %s: the answer is not JSON (is this a Prometheus server?)"):format(self.base, what),
        { kind = "protocol", status = res.status }
    end
    if doc.status == "error" then
      return nil, ("Prometheus: %s"):format(tostring(doc.error)), { kind = "client", status = res.status }
    end
    return doc.data, doc.warnings
  end
  local etype = type(doc) == "table" and doc.errorType or nil
  local emsg = type(doc) == "table" and doc.error or nil
  if etype == "bad_data" and emsg then
    -- "invalid parameter \"query\": 1:11: parse error: …" → "1:11: parse error: …"
    local m = tostring(emsg):gsub('^invalid parameter "[^"]*": ', "")
    return nil, "bad query: " .. m, { kind = "bad_query", status = res.status }
  end
  if etype == "timeout" or etype == "canceled" then
    return nil, ("query timed out on the server (%s)"):format(tostring(emsg or etype)),
      { kind = "timeout", status = res.status }
  end
  if etype == "execution" or res.status == 422 then
    return nil, "query failed: " .. tostring(emsg or ("HTTP " .. res.status)), { kind = "client", status = res.status }
  end
  local first = emsg or (body:match("^%s*([^\r\n]*)") or "")
  if #first > 200 then first = first:sub(1, 200) .. "…" end
  if res.status >= 500 then
    return nil, ("Prometheus at %s: server error %d%s"):format(self.base, res.status,
      first ~= "" and (": " .. first) or ""),
      { kind = "server", status = res.status, transient = res.status == 502 or res.status == 503 or res.status == 504 }
  end
  if res.status == 401 or res.status == 403 then
    return nil, ("Prometheus at %s: %s %d (check prometheus.bearerToken / username / password)%s"):format(self.base,
      res.status == 401 and "unauthorized" or "forbidden", res.status, first ~= "" and (": " .. first) or ""),
      { kind = "client", status = res.status }
  end
  if res.status == 404 then
    return nil, ("Prometheus at %s: %s not found (404; is the URL the server's root?)"):format(self.base, what),
      { kind = "client", status = 404 }
  end
  return nil, ("Prometheus at %s: HTTP %d%s"):format(self.base, res.status, first ~= "" and (": " .. first) or ""),
    { kind = "client", status = res.status, transient = res.status == 429 }
end

-- One request, no retry. method "GET" (params in the URL) or "POST" (a form).
function C:request_once(method, path, params)
  local s, env = self.server, self.env
  local headers = {}
  for k, v in pairs(s.headers or {}) do headers[k] = v end
  headers.Accept = "application/json"
  if s.token and s.token ~= "" then headers.Authorization = "Bearer " .. s.token
  elseif s.username and s.username ~= "" then
    headers.Authorization = "Basic " .. b64(s.username .. ":" .. (s.password or ""))
  end
  local q = form(params)
  local url = self.base .. path
  local body
  if method == "POST" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    body = q
  elseif q ~= "" then
    url = url .. "?" .. q
  end
  local res, err = env.http.request({
    url = url, method = method, headers = headers, body = body,
    timeout_ms = s.timeout_ms or 30000, connect_timeout_ms = s.connect_timeout_ms,
    ca_file = s.ca_file, ca_pem = s.ca_pem, cert_file = s.cert_file, key_file = s.key_file,
    server_name = s.server_name, insecure = s.insecure or nil,
  })
  if not res then
    local r = reason(err)
    local kind = r:find("timed out") and "timeout" or "unreachable"
    local msg
    if kind == "timeout" then msg = ("Prometheus at %s did not answer in time (%s)"):format(self.base, r)
    else msg = ("cannot reach Prometheus at %s: %s"):format(self.base, r) end
    return nil, msg, { kind = kind, transient = not r:find("TLS") and not r:find("cancelled") }
  end
  return check(self, res, path)
end

-- A request with retry and backoff on transient failures (connection
-- refused/reset, 502/503/504, 429), via vcli.resilience when it is there.
function C:request(method, path, params)
  local env = self.env
  local attempts = self.server.attempts or env.attempts or 3
  local res = env.resilience
  if not res or attempts <= 1 then return self:request_once(method, path, params) end
  local last_msg, last_info
  local ok, data, warnings = pcall(res.retry, function()
    local d, msg, info = self:request_once(method, path, params)
    if d == nil and msg then
      last_msg, last_info = msg, info
      error(info or {}, 0)
    end
    return d, msg
  end, {
    attempts = attempts, base_ms = self.server.retry_base_ms or env.retry_base_ms or 100, max_ms = 2000,
    retry_if = function(e) return type(e) == "table" and e.transient end,
    sleep = env.sleep,
  })
  if ok then return data, warnings end
  if last_msg then return nil, last_msg, last_info end
  return nil, tostring(data), { kind = "protocol" }
end

function C:get(path, params) return self:request("GET", path, params) end

-- Instant query: data = {resultType, result}
function C:query(expr, opts)
  opts = opts or {}
  return self:request("POST", "/api/v1/query", {
    { "query", expr }, { "time", opts.time }, { "timeout", opts.timeout },
  })
end

-- Range query: opts.start, opts["end"], opts.step (numbers or strings Prometheus takes)
function C:query_range(expr, opts)
  return self:request("POST", "/api/v1/query_range", {
    { "query", expr }, { "start", opts.start }, { "end", opts["end"] }, { "step", opts.step },
    { "timeout", opts.timeout },
  })
end

function C:alerts() return self:get("/api/v1/alerts") end
function C:rules(typ) return self:get("/api/v1/rules", typ and { { "type", typ } } or nil) end
function C:targets(state) return self:get("/api/v1/targets", state and { { "state", state } } or nil) end
function C:labels(match)
  local p = {}
  for _, m in ipairs(match or {}) do p[#p + 1] = { "match[]", m } end
  return self:get("/api/v1/labels", p)
end
function C:label_values(name, match)
  local p = {}
  for _, m in ipairs(match or {}) do p[#p + 1] = { "match[]", m } end
  return self:get("/api/v1/label/" .. urlencode(name) .. "/values", p)
end
function C:series(match, opts)
  opts = opts or {}
  local p = {}
  for _, m in ipairs(match) do p[#p + 1] = { "match[]", m } end
  if opts.start then p[#p + 1] = { "start", opts.start } end
  if opts["end"] then p[#p + 1] = { "end", opts["end"] } end
  return self:get("/api/v1/series", p)
end
function C:metadata(metric)
  return self:get("/api/v1/metadata", metric and { { "metric", metric } } or nil)
end

return M
