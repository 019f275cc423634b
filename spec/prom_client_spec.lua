-- The Prometheus plugin's client and server choice with an injected http:
-- what goes on the wire (auth, TLS options, timeouts, the form), which
-- server is used (--url, VCLI_PROMETHEUS_URL, config), retries and errors.
require("vcli")
local loader = dofile("plugins/prometheus/host_loader.lua")
local json = require("vcli.json")

-- A fake http that records requests and answers from a script of responses.
local function fake(responses)
  local f = { calls = {} }
  f.request = function(opts)
    table.insert(f.calls, opts)
    local r = responses[math.min(#f.calls, #responses)]
    if type(r) == "function" then r = r(opts) end
    if type(r) == "string" then return nil, r end
    return r
  end
  return f
end
local OK = { status = 200, body = '{"status":"success","data":{"resultType":"scalar","result":[1,"7"]}}' }

local function P_with(http, extra)
  local opts = { store = false, http = http, sleep = function() end, getenv = function() end }
  for k, v in pairs(extra or {}) do opts[k] = v end
  return loader.load(opts)
end

describe("prom client", function()
  it("posts the query as a form with the server-side timeout", function()
    local http = fake({ OK })
    local P = P_with(http)
    local c = P.client.new(P.env, { url = "http://p:9090/", timeout_ms = 1500 })
    local data = assert(c:query('sum(rate(x{a="b c"}[5m]))', { time = 1700000000 }))
    assert.equal("7", data.result[2])
    local req = http.calls[1]
    assert.equal("POST", req.method)
    assert.equal("http://p:9090/api/v1/query", req.url)
    assert.equal("application/x-www-form-urlencoded", req.headers["Content-Type"])
    assert.equal("query=sum%28rate%28x%7Ba%3D%22b%20c%22%7D%5B5m%5D%29%29&time=1700000000", req.body)
    assert.equal(1500, req.timeout_ms)
  end)

  it("sends a bearer token, or basic auth, and the TLS options", function()
    local http = fake({ OK })
    local P = P_with(http)
    P.client.new(P.env, { url = "https://p", token = "s3cret", ca_file = "/ca.pem", server_name = "prom.internal",
      cert_file = "/c.pem", key_file = "/k.pem", insecure = true, headers = { ["X-Scope-OrgID"] = "t" } }):labels()
    local req = http.calls[1]
    assert.equal("Bearer s3cret", req.headers.Authorization)
    assert.equal("t", req.headers["X-Scope-OrgID"])
    assert.equal("/ca.pem", req.ca_file)
    assert.equal("prom.internal", req.server_name)
    assert.equal("/c.pem", req.cert_file)
    assert.equal("/k.pem", req.key_file)
    assert.equal(true, req.insecure)
    assert.equal("GET", req.method)
    P.client.new(P.env, { url = "https://p", username = "ann", password = "pw:1" }):labels()
    assert.equal("Basic " .. P.client.b64("ann:pw:1"), http.calls[2].headers.Authorization)
    assert.equal("YW5uOnB3OjE=", P.client.b64("ann:pw:1"))
  end)

  it("retries transient failures with backoff, not bad queries", function()
    local delays = {}
    local http = fake({ "POST http://p/api/v1/query: connection refused",
                        { status = 503, body = "busy" }, OK })
    local P = P_with(http, { sleep = function(ms) table.insert(delays, ms) end })
    local data = assert(P.client.new(P.env, { url = "http://p" }):query("up"))
    assert.equal("7", data.result[2])
    assert.equal(3, #http.calls)
    assert.equal(2, #delays)
    -- base 100 ms doubling, ±50 % jitter: the bands of the two waits
    assert.truthy(delays[1] >= 50 and delays[1] <= 150, "first wait " .. delays[1])
    assert.truthy(delays[2] >= 100 and delays[2] <= 300, "second wait " .. delays[2])
    local bad = fake({ { status = 400, body = json.encode({ status = "error", errorType = "bad_data",
      error = 'invalid parameter "query": 1:5: parse error: unexpected end of input' }) } })
    P = P_with(bad)
    local d, err, info = P.client.new(P.env, { url = "http://p" }):query("up +")
    assert.falsy(d)
    assert.equal("bad query: 1:5: parse error: unexpected end of input", err)
    assert.equal("bad_query", info.kind)
    assert.equal(1, #bad.calls)
  end)

  it("names what went wrong in one line", function()
    local cases = {
      { { status = 401, body = "" }, "unauthorized 401" },
      { { status = 404, body = "404 page not found" }, "not found %(404; is the URL the server's root%?%)" },
      { { status = 200, body = "<html>" }, "the answer is not JSON" },
      { { status = 422, body = '{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}' },
        "^query failed: many%-to%-many matching not allowed$" },
      { "POST http://p/api/v1/query: timed out after 300 ms",
        "^Prometheus at http://p did not answer in time %(timed out after 300 ms%)$" },
    }
    for _, c in ipairs(cases) do
      local P = P_with(fake({ c[1] }), { attempts = 1 })
      local _, err = P.client.new(P.env, { url = "http://p" }):query("up")
      assert.matches(c[2], err)
      assert.not_matches("\n", err)
    end
  end)
end)

describe("prom: which server", function()
  it("--url, then VCLI_PROMETHEUS_URL, then the config's prometheus section", function()
    local env_vars = {}
    local cfg = { url = "http://from-config:9090", bearerToken = "tok", timeout = "7s",
                  tls = { caFile = "/ca", insecureSkipVerify = true }, username = "", password = "" }
    local P = P_with(fake({ OK }), { getenv = function(k) return env_vars[k] end, config = function() return cfg end })
    local s = P.commands.server(P.env, {})
    assert.equal("http://from-config:9090", s.url)
    assert.equal("tok", s.token)
    assert.equal(7000, s.timeout_ms)
    assert.equal("/ca", s.ca_file)
    assert.equal(true, s.insecure)
    env_vars.VCLI_PROMETHEUS_URL = "http://from-env:9090"
    assert.equal("http://from-env:9090", P.commands.server(P.env, {}).url)
    local s2 = P.commands.server(P.env, { url = "http://from-flag:9090", timeout = 2 })
    assert.equal("http://from-flag:9090", s2.url)
    assert.equal(2000, s2.timeout_ms)
  end)

  it("reads prometheus.* from vcli's configuration in the host", function()
    local config = require("vcli.config")
    local ok = pcall(config.load, { flags = { ["prometheus.url"] = "http://ctx-prom:9090", ["prometheus.timeout"] = "3s" },
                                    quiet = true })
    assert.truthy(ok)
    local P = loader.load({ store = false, getenv = function() end })
    local s = P.commands.server(P.env, {})
    assert.equal("http://ctx-prom:9090", s.url)
    assert.equal(3000, s.timeout_ms)
    pcall(config.load, { quiet = true })   -- leave no flags layer behind for later specs
  end)
end)

describe("prom: through the plugin runtime", function()
  it("VCLI_PROMETHEUS_URL and prometheus.url reach the plugin in its sandbox (the real binary)", function()
    local d = spec.tmpdir()
    local function vcli(pre, args)
      return spec.sh(("cd %s && %s XDG_STATE_HOME=%s XDG_CACHE_HOME=%s HOME=%s %s %s 2>&1"):format(
        spec.root, pre, d, d, d, spec.vcli, args))
    end
    -- nothing listens on port 9: the error names the URL that was chosen
    local out = vcli("VCLI_PROMETHEUS_URL=http://127.0.0.1:9", "prom query up")
    assert.matches("127%.0%.0%.1:9", out)
    out = vcli("", "--set prometheus.url=http://127.0.0.1:7 prom query up")
    assert.matches("127%.0%.0%.1:7", out)
    out = vcli("", "help prom")
    assert.matches("query", out)
  end)
end)
