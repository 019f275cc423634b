-- prom.client — the Prometheus HTTP API (v1) over an injected http.
--
--   local client = require("prom.client")
--   local c = client.new(env, server)        -- env: {http=, json=, resilience=, sleep=}
--   local data, err, kind, status = c:query("up")   -- data = {resultType=, result=}
--   local data, err, kind, status = c:get("/api/v1/labels")
--   c.warnings, c.body                        -- of the last answer: the server's warnings, its text
--
-- server = { url=, token=, username=, password=, timeout_ms=, ca_file=, cert_file=, key_file=,
--            server_name=, insecure=, headers={} }
-- A failure is nil, one line naming what and where, and its kind (as the
-- kubernetes plugin's client: nil, err, kind[, status]):
--   "bad_query" (a PromQL error, with the server's line:column), "timeout",
--   "network" (no answer: refused, reset, TLS), "auth" (401, 403), "denied" (the
--   plugin's grants do not allow it: a certificate file outside fs.read),
--   "http" (any other status the server said no with), "protocol" (not Prometheus's JSON).
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

-- One-line reason for a transport error: its first line, without the
-- method and URL prefix.
local function reason(err)
  local r = tostring(err):match("^[^\r\n]*")
  return r:match("^%u+ %S+: (.*)$") or r
end

-- Classify an HTTP response: data | nil, msg, kind, status, transient
local function check(self, res, what)
  local json = self.env.json
  local body = res.body or ""
  local doc, jerr = nil, nil
  if body:find("^%s*{") then doc, jerr = json.decode(body, "answer") end
  if res.status >= 200 and res.status < 300 then
    if type(doc) ~= "table" then
      if jerr then
        return nil, ("Prometheus at %s: %s: the answer is not valid JSON: %s"):format(self.base, what, jerr),
          "protocol", res.status
      end
      return nil, ("Prometheus at %s: %s: the answer is not JSON (is this a Prometheus server?)"):format(self.base, what),
        "protocol", res.status
    end
    if doc.status == "error" then
      return nil, ("Prometheus at %s: %s"):format(self.base, tostring(doc.error)), "http", res.status
    end
    self.body, self.warnings = body, type(doc.warnings) == "table" and doc.warnings or nil
    return doc.data
  end
  local etype = type(doc) == "table" and doc.errorType or nil
  local emsg = type(doc) == "table" and doc.error or nil
  if etype == "bad_data" and emsg then
    -- "invalid parameter \"query\": 1:11: parse error: …" → "1:11: parse error: …"
    local m = tostring(emsg):gsub('^invalid parameter "[^"]*": ', "")
    return nil, "bad query: " .. m, "bad_query", res.status
  end
  if etype == "timeout" or etype == "canceled" then
    return nil, ("query timed out on the server (%s)"):format(tostring(emsg or etype)), "timeout", res.status
  end
  if etype == "execution" or res.status == 422 then
    return nil, "query failed: " .. tostring(emsg or ("HTTP " .. res.status)), "http", res.status
  end
  local first = emsg or (body:match("^%s*([^\r\n]*)") or "")
  if #first > 200 then first = first:sub(1, 200) .. "…" end
  local tail = first ~= "" and (": " .. first) or ""
  if res.status >= 500 then
    return nil, ("Prometheus at %s: server error %d%s"):format(self.base, res.status, tail), "http", res.status,
      res.status == 502 or res.status == 503 or res.status == 504
  end
  if res.status == 401 or res.status == 403 then
    return nil, ("Prometheus at %s: %s %d (check prometheus.bearerToken / username / password)%s"):format(self.base,
      res.status == 401 and "unauthorized" or "forbidden", res.status, tail), "auth", res.status
  end
  if res.status == 404 then
    return nil, ("Prometheus at %s: %s not found (404; is the URL the server's root?)"):format(self.base, what),
      "http", 404
  end
  return nil, ("Prometheus at %s: HTTP %d%s"):format(self.base, res.status, tail), "http", res.status,
    res.status == 429
end

-- One request, no retry: data | nil, msg, kind, status, transient.
-- method "GET" (params in the URL) or "POST" (a form).
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
  self.body, self.warnings = nil, nil
  local res, err = env.http.request({
    url = url, method = method, headers = headers, body = body,
    timeout_ms = s.timeout_ms or 30000, connect_timeout_ms = s.connect_timeout_ms,
    ca_file = s.ca_file, ca_pem = s.ca_pem, cert_file = s.cert_file, key_file = s.key_file,
    server_name = s.server_name, insecure = s.insecure or nil,
  })
  if not res then
    local r = reason(err)
    if r:find("^plugin %S+: ") then   -- the sandbox said no (a certificate file outside fs.read)
      return nil, ("Prometheus at %s: %s"):format(self.base, r), "denied"
    end
    if r:find("timed out") then
      return nil, ("Prometheus at %s did not answer in time (%s)"):format(self.base, r), "timeout", nil, true
    end
    return nil, ("cannot reach Prometheus at %s: %s"):format(self.base, r), "network", nil,
      not r:find("TLS") and not r:find("certificate") and not r:find("cancelled")
  end
  return check(self, res, path)
end

-- A request with retry and backoff on transient failures (connection
-- refused/reset, 502/503/504 and 429 without an error of Prometheus's),
-- via vcli.resilience when it is there: data | nil, msg, kind, status.
function C:request(method, path, params)
  local env = self.env
  local attempts = self.server.attempts or env.attempts or 3
  local res = env.resilience
  if not res or attempts <= 1 then
    local d, msg, kind, status = self:request_once(method, path, params)
    return d, msg, kind, status
  end
  local last
  local ok, data = pcall(res.retry, function()
    local d, msg, kind, status, transient = self:request_once(method, path, params)
    if d == nil and msg then
      last = { msg, kind, status }
      error({ transient = transient }, 0)
    end
    return d
  end, {
    attempts = attempts, base_ms = self.server.retry_base_ms or env.retry_base_ms or 100, max_ms = 2000,
    retry_if = function(e) return type(e) == "table" and e.transient end,
    sleep = env.sleep,
  })
  if ok then return data end
  if last then return nil, last[1], last[2], last[3] end
  return nil, ("Prometheus at %s: %s: %s"):format(self.base, path, tostring(data)), "protocol"
end

function C:get(path, params) return self:request("GET", path, params) end

-- Instant query: data = {resultType, result}
-- opts.timeout: the server's own limit for the evaluation (seconds)
local function secs(t) return t and (("%gs"):format(t)) or nil end
function C:query(expr, opts)
  opts = opts or {}
  return self:request("POST", "/api/v1/query", {
    { "query", expr }, { "time", opts.time }, { "timeout", secs(opts.timeout) },
  })
end

-- Range query: opts.start, opts["end"], opts.step (numbers or strings Prometheus takes)
function C:query_range(expr, opts)
  return self:request("POST", "/api/v1/query_range", {
    { "query", expr }, { "start", opts.start }, { "end", opts["end"] }, { "step", opts.step },
    { "timeout", secs(opts.timeout) },
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
