-- The Prometheus plugin's client, as users run it (the plugin in its
-- sandbox, over vcli.http) against a server that says what it was asked
-- (spec/support/prom_echo.py): what goes on the wire (the form, auth,
-- headers, TLS), which server is used (--url, VCLI_PROMETHEUS_URL, the
-- configuration), retries with backoff, and errors in one line.
local H = dofile("spec/support/prom_helper.lua")
local json = require("vcli.json")

local srv, certs

-- what the server was asked, as `prom query X` / `prom labels` print it
local function asked(out)
  local line = H.lines(out)[1]
  local ok, req = pcall(json.decode, line or "")
  assert(ok and type(req) == "table", "not a recorded request: " .. tostring(out))
  return req
end

before_all(function()
  certs = spec.tmpdir()
  srv = H.echo_start(certs)
  H.start()
end)
after_all(function()
  if srv then srv:stop() end
  H.config_reset()
  H.stop()
  if certs then spec.sh("rm -rf " .. certs) end
end)

describe("prom client: the request", function()
  it("posts the query as a form, with the server-side timeout, and waits that long", function()
    local out, err, status = H.run(("prom query 'sum(rate(x{a=\"b c\"}[5m]))' --time 1700000000 --timeout 1.5s"
      .. " --url %s/ok/"):format(srv.http))
    assert.equal(0, status, err)
    local req = asked(out)
    assert.equal("POST", req.method)
    assert.equal("/ok/api/v1/query", req.path)
    assert.equal("application/x-www-form-urlencoded", req.headers["content-type"])
    assert.equal("application/json", req.headers.accept)
    assert.equal("query=sum%28rate%28x%7Ba%3D%22b%20c%22%7D%5B5m%5D%29%29&time=1700000000&timeout=1.5s", req.body)
    -- the client gives up after the same time: one line saying so
    local t0 = require("vcli.vm").now()
    local _, herr, hstatus = H.run(("prom query up --timeout 0.3s --url %s/hang"):format(srv.http))
    local ms = require("vcli.vm").now() - t0
    assert.equal(1, hstatus)
    assert.matches("^vcli: prom: Prometheus at " .. srv.http:gsub("%p", "%%%0") .. "/hang did not answer in time %(.+%)\n$", herr)
    assert.truthy(ms >= 300 and ms < 5000, ("gave up after %d ms"):format(ms))
  end)

  it("GET lists carry their parameters in the URL", function()
    local out, err, status = H.run(("prom labels job --match 'up{job=\"x\"}' --url %s/ok"):format(srv.http))
    assert.equal(0, status, err)
    local req = asked(out)
    assert.equal("GET", req.method)
    assert.equal("/ok/api/v1/label/job/values", req.path)
    assert.same({ ["match[]"] = { 'up{job="x"}' } }, req.query)
  end)

  it("sends the bearer token, or basic auth, and the configured headers", function()
    H.config({ bearerToken = "s3cret", headers = { ["X-Scope-OrgID"] = "team-a" } })
    local out, err, status = H.run("prom labels --url " .. srv.http .. "/ok")
    assert.equal(0, status, err)
    local req = asked(out)
    assert.equal("Bearer s3cret", req.headers.authorization)
    assert.equal("team-a", req.headers["x-scope-orgid"])
    H.config_reset()
    H.config({ username = "ann", password = "pw:1" })
    out = H.run("prom labels --url " .. srv.http .. "/ok")
    assert.equal("Basic YW5uOnB3OjE=", asked(out).headers.authorization)
    H.config_reset()
  end)

  it("prometheus.*: defaultRange, step, credentials, TLS (CA, client certificate, server name), headers", function()
    -- the real binary, as a user would configure it; the files lie in HOME (the manifest's fs.read: ~)
    local set = table.concat({
      "--set prometheus.url=" .. srv.mtls .. "/cfg", "--set prometheus.username=ann", "--set prometheus.password=pw",
      "--set prometheus.timeout=4s", "--set prometheus.defaultRange=10m", "--set prometheus.step=30s",
      "--set prometheus.headers.X-Scope-OrgID=team", "--set prometheus.tls.caFile=" .. srv.ca,
      "--set prometheus.tls.certFile=" .. srv.cert, "--set prometheus.tls.keyFile=" .. srv.key,
      "--set prometheus.tls.serverName=prom.test",
    }, " ")
    local out, err, rc = H.vcli(set .. " prom range up -o json", { HOME = certs })
    assert.equal(0, rc, err)
    assert.same({ resultType = "matrix", result = {} }, json.decode(out))
    local req = srv:hits("cfg")[1]
    assert.equal("/cfg/api/v1/query_range", req.path)
    local start, finish = req.form.start[1], req.form["end"][1]
    assert.equal(600, math.floor(tonumber(finish) - tonumber(start) + 0.5))
    assert.same({ "30" }, req.form.step)
    assert.same({ "4s" }, req.form.timeout)
    assert.equal("Basic " .. require("vcli.base64").encode("ann:pw"), req.headers.authorization)
    assert.equal("team", req.headers["x-scope-orgid"])
    assert.equal("prom.test", req.sni)
    assert.equal("vcli-user", req.cn)
  end)

  it("TLS: a server the CA does not vouch for is one line; insecureSkipVerify talks to it anyway", function()
    local out, err, rc = H.vcli("prom labels --url " .. srv.https .. "/tls", { HOME = certs })
    assert.equal(1, rc)
    assert.equal("", out)
    assert.equal(1, #H.lines(err))
    assert.matches("^vcli: prom: cannot reach Prometheus at " .. srv.https:gsub("%p", "%%%0") .. "/tls: .*certificate", err)
    assert.equal(0, #srv:hits("tls"))
    out, err, rc = H.vcli("--set prometheus.tls.insecureSkipVerify=true prom labels --url " .. srv.https .. "/tls",
      { HOME = certs })
    assert.equal(0, rc, err)
    assert.equal("/tls/api/v1/labels", asked(out).path)
  end)

  it("a certificate file outside the plugin's fs.read grant is refused, naming the path", function()
    H.config({ tls = { caFile = certs .. "/ca.crt" } })
    local out, err, status = H.run("prom labels --url " .. srv.https .. "/outside")
    H.config_reset()
    assert.equal(1, status)
    assert.equal("", out)
    assert.equal(("vcli: prom: Prometheus at %s/outside: plugin prometheus: fs.read does not cover %s/ca.crt\n")
      :format(srv.https, certs), err)
    assert.equal(0, #srv:hits("outside"))
  end)
end)

describe("prom: which server", function()
  it("--url, then VCLI_PROMETHEUS_URL, then the configuration's prometheus.url", function()
    local cfg = "--set prometheus.url=" .. srv.http .. "/from-config "
    local out, err, rc = H.vcli(cfg .. "prom labels")
    assert.equal(0, rc, err)
    assert.equal("/from-config/api/v1/labels", asked(out).path)
    out, err, rc = H.vcli(cfg .. "prom labels", { VCLI_PROMETHEUS_URL = srv.http .. "/from-env" })
    assert.equal(0, rc, err)
    assert.equal("/from-env/api/v1/labels", asked(out).path)
    out, err, rc = H.vcli(cfg .. "prom labels --url " .. srv.http .. "/from-flag",
      { VCLI_PROMETHEUS_URL = srv.http .. "/from-env" })
    assert.equal(0, rc, err)
    assert.equal("/from-flag/api/v1/labels", asked(out).path)
  end)

  it("VCLI_PROMETHEUS_TOKEN, then prometheus.bearerToken; prometheus.timeout goes to the server", function()
    local out, err, rc = H.vcli("--set prometheus.bearerToken=from-config --set prometheus.timeout=7s prom query up"
      .. " --url " .. srv.http .. "/tok", { VCLI_PROMETHEUS_TOKEN = "from-env" })
    assert.equal(0, rc, err)
    local req = asked(out)
    assert.equal("Bearer from-env", req.headers.authorization)
    assert.same({ "7s" }, req.form.timeout)
  end)

  it("reads prometheus.* from vcli's configuration in this process, at each command", function()
    H.config({ url = srv.http .. "/ctx-one", timeout = "3s" })
    local out, err, status = H.run("prom query up")
    assert.equal(0, status, err)
    local req = asked(out)
    assert.equal("/ctx-one/api/v1/query", req.path)
    assert.same({ "3s" }, req.form.timeout)
    H.config({ url = srv.http .. "/ctx-two" })
    assert.equal("/ctx-two/api/v1/query", asked((H.run("prom query up"))).path)
    H.config_reset()
  end)

  it("the error names the URL that was chosen (the real binary; nothing listens on ports 7 and 9)", function()
    local _, err = H.vcli("prom query up", { VCLI_PROMETHEUS_URL = "http://127.0.0.1:9" })
    assert.matches("^vcli: prom: cannot reach Prometheus at http://127%.0%.0%.1:9: ", err)
    _, err = H.vcli("--set prometheus.url=http://127.0.0.1:7 prom query up")
    assert.matches("^vcli: prom: cannot reach Prometheus at http://127%.0%.0%.1:7: ", err)
    local out = H.vcli("help prom")
    assert.matches("query", out)
  end)
end)

describe("prom client: retries", function()
  it("retries 503 with backoff, then answers", function()
    local out, err, status = H.run("prom query 1 --url " .. srv.http .. "/flaky-1")
    assert.equal(0, status, err)
    assert.equal("/flaky-1/api/v1/query", asked(out).path)
    local hits = srv:hits("flaky-1")
    assert.equal(3, #hits)
    -- base 100 ms doubling, ±50 % jitter: the waits are at least 50 and 100 ms
    local d1, d2 = hits[2].at - hits[1].at, hits[3].at - hits[2].at
    assert.truthy(d1 >= 50 and d1 < 1000, ("first wait %d ms"):format(d1))
    assert.truthy(d2 >= 100 and d2 < 1500, ("second wait %d ms"):format(d2))
  end)

  it("retries a connection closed without an answer", function()
    local out, err, status = H.run("prom labels --url " .. srv.http .. "/reset-1")
    assert.equal(0, status, err)
    assert.equal("/reset-1/api/v1/labels", asked(out).path)
    assert.equal(3, #srv:hits("reset-1"))
  end)

  it("does not retry a bad query: one request, one line with the server's position", function()
    local out, err, status = H.run("prom query 'up +' --url " .. srv.http .. "/bad")
    assert.equal(1, status)
    assert.equal("", out)
    assert.equal("vcli: prom: bad query: 1:5: parse error: unexpected end of input\n", err)
    assert.equal(1, #srv:hits("bad"))
  end)

  it("gives up after three attempts, saying what the last one got", function()
    local _, err, status = H.run("prom labels --url " .. srv.http .. "/fivehundred")
    assert.equal(1, status)
    assert.equal(("vcli: prom: Prometheus at %s/fivehundred: server error 500: internal error\n"):format(srv.http), err)
    assert.equal(1, #srv:hits("fivehundred"))   -- a 500 is not transient
    _, err, status = H.run("prom labels --url " .. srv.http .. "/status-503")
    assert.equal(1, status)
    assert.equal(("vcli: prom: Prometheus at %s/status-503: server error 503: status 503 body\n"):format(srv.http), err)
    assert.equal(3, #srv:hits("status-503"))
  end)
end)

describe("prom client: errors", function()
  it("names what went wrong in one line", function()
    local base = srv.http:gsub("%p", "%%%0")
    local cases = {
      { "status-401", "^vcli: prom: Prometheus at " .. base .. "/status%-401: unauthorized 401 %(check prometheus%.bearerToken" },
      { "status-403", "^vcli: prom: Prometheus at " .. base .. "/status%-403: forbidden 403 " },
      { "status-404", "^vcli: prom: Prometheus at " .. base
        .. "/status%-404: /api/v1/query not found %(404; is the URL the server's root%?%)\n$" },
      { "html", "^vcli: prom: Prometheus at " .. base
        .. "/html: /api/v1/query: the answer is not JSON %(is this a Prometheus server%?%)\n$" },
      { "execution", "^vcli: prom: query failed: many%-to%-many matching not allowed\n$" },
      { "slow", "^vcli: prom: query timed out on the server %(query timed out in expression evaluation%)\n$" },
      -- the host's JSON decoder says where the answer broke off
      { "truncated", "^vcli: prom: Prometheus at " .. base .. "/truncated: /api/v1/query: the answer is not valid JSON: answer:1:%d+: " },
    }
    for _, c in ipairs(cases) do
      local out, err, status = H.run("prom query up --url " .. srv.http .. "/" .. c[1])
      assert.equal(1, status, c[1])
      assert.equal("", out, c[1])
      assert.matches(c[2], err, c[1])
      assert.equal(1, #H.lines(err), c[1] .. ": one line")
    end
  end)
end)
