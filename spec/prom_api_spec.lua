-- The prom command against Debian's real Prometheus (spec/support/prom):
-- every command's output is checked against what the server's HTTP API
-- returns for the same request, fetched here with vcli.http.
require("vcli")
local http = require("vcli.http")
local json = require("vcli.json")
local yaml = require("vcli.yaml")
local shell = require("vcli.shell")
local words = require("vcli.shell.words")

local URL, DIR, P, store_dir

local function api(path)
  local res = assert(http.get(URL .. path))
  assert.equal(200, res.status, path)
  local doc = assert(json.decode(res.body))
  assert.equal("success", doc.status)
  return doc.data
end

local function q(s) return (s:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end)) end

-- Run a prom command line in this process: out, err, status
local function run(line)
  local w = assert(words.words(line))
  local status, out, err = shell.capture(function() return shell.run_words(w) end)
  return out, err, status
end

local function lines(s)
  local out = {}
  for l in s:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

local function set_of(list, key)
  local s = {}
  for _, v in ipairs(list) do s[key and key(v) or v] = true end
  return s
end

describe("prom against a real Prometheus", function()
  before_all(function()
    local out, rc = spec.sh("spec/support/prom start")
    assert(rc == 0, "spec/support/prom start failed: " .. out)
    URL = out:match("PROM_URL=(%S+)")
    DIR = out:match("PROM_DIR=(%S+)")
    store_dir = spec.tmpdir()
    -- the shipped path: the plugin in its sandbox, the server from the config
    local pm = require("vcli.plugin")
    pm.discover({ { dir = spec.root .. "/plugins", kind = "built-in" } }, { cache = false })
    pm.set_store_dir(store_dir)
    local config = require("vcli.config")
    config.set("prometheus.url", URL)
    config.reload()
    P = dofile("plugins/prometheus/host_loader.lua").load({ store = false })   -- format helpers only
  end)
  after_all(function()
    require("vcli.plugin").stop("prometheus")
    if DIR then spec.sh("spec/support/prom stop " .. DIR) end
    if store_dir then spec.sh("rm -rf " .. store_dir) end
  end)

  describe("query", function()
    it("prints a table with one row per series of the API's answer", function()
      local data = api("/api/v1/query?query=up")
      local out, err, status = run("prom query up")
      assert.equal(0, status, err)
      local ls = lines(out)
      assert.matches("^NAME%s+INSTANCE%s+JOB%s+VALUE%s+TIME$", ls[1])
      assert.equal(#data.result + 1, #ls)
      for _, s in ipairs(data.result) do
        local found = false
        for i = 2, #ls do
          if ls[i]:find(s.metric.instance, 1, true) and ls[i]:find(s.metric.job, 1, true)
            and ls[i]:match("%s" .. s.value[2] .. "%s") then found = true end
        end
        assert.truthy(found, "row for " .. s.metric.instance)
      end
    end)

    it("-o json is the API's data for the same time", function()
      local t = os.time() - 1
      local data = api("/api/v1/query?query=up&time=" .. t)
      local out, err, status = run("prom query up --time " .. t .. " -o json")
      assert.equal(0, status, err)
      assert.same(data, json.decode(out))
    end)

    it("-o yaml decodes to the API's data", function()
      local t = os.time() - 1
      local data = api("/api/v1/query?query=" .. q("sum by (job) (up)") .. "&time=" .. t)
      local out, _, status = run("prom query 'sum by (job) (up)' --time " .. t .. " -o yaml")
      assert.equal(0, status)
      assert.same(data, yaml.decode(out))
    end)

    it("-o csv has a header of labels, value, timestamp and the API's samples", function()
      local t = os.time() - 1
      local data = api("/api/v1/query?query=" .. q('up{job="prometheus"}') .. "&time=" .. t)
      local out = run("prom query 'up{job=\"prometheus\"}' --time " .. t .. " -o csv")
      local ls = lines(out)
      assert.equal("__name__,instance,job,value,timestamp", ls[1])
      local s = data.result[1]
      assert.equal(("up,%s,prometheus,%s,%s"):format(s.metric.instance, s.value[2], tostring(s.value[1])), ls[2])
      assert.equal(2, #ls)
    end)

    it("prints a scalar plainly", function()
      local out = run("prom query '6 * 7'")
      assert.equal("42\n", out)
    end)

    it("takes the expression unquoted over several words", function()
      local out, err, status = run("prom query sum by (job) (up)")
      assert.equal(0, status, err)
      assert.matches("JOB%s+VALUE", out)
    end)

    it("shows bad PromQL as one line with the server's position", function()
      local res = assert(http.get(URL .. "/api/v1/query?query=" .. q("rate(up[1m)")))
      local api_err = json.decode(res.body).error
      local pos = api_err:match("(%d+:%d+): parse error")
      assert.truthy(pos, api_err)
      local out, err, status = run("prom query 'rate(up[1m)'")
      assert.equal(1, status)
      assert.equal("", out)
      assert.equal(1, #lines(err))
      assert.matches("^vcli: prom: bad query: " .. pos .. ": parse error: ", err)
      assert.truthy(err:find(api_err:match("parse error: (.*)$"), 1, true), err)
    end)

    it("says so when nothing matches", function()
      local out, err, status = run("prom query 'up{job=\"nope\"}'")
      assert.equal(0, status)
      assert.equal("", out)
      assert.matches("no data", err)
    end)

    it("--url names the server; the alias prometheus works", function()
      local out, err, status = run("prometheus query vcli:up:sum --url " .. URL)
      assert.equal(0, status, err)
      local data = api("/api/v1/query?query=vcli:up:sum")
      assert.matches("vcli:up:sum%s+" .. data.result[1].value[2], out)
    end)

    it("a bad time is one clear line", function()
      local _, err, status = run("prom query up --time yesterday")
      assert.equal(1, status)
      assert.matches("'yesterday' is not a time", err)
    end)
  end)

  describe("range", function()
    local t1, t0
    before_all(function() t1 = os.time() - 1; t0 = t1 - 6 end)

    it("-o json is the API's query_range data", function()
      local data = api(("/api/v1/query_range?query=up&start=%d&end=%d&step=2"):format(t0, t1))
      local out, err, status = run(("prom range up --start %d --end %d --step 2s -o json"):format(t0, t1))
      assert.equal(0, status, err)
      assert.same(data, json.decode(out))
    end)

    it("-o csv has one row per sample", function()
      local data = api(("/api/v1/query_range?query=up&start=%d&end=%d&step=1"):format(t0, t1))
      local n = 0
      for _, s in ipairs(data.result) do n = n + #s.values end
      local out = run(("prom range up --start %d --end %d --step 1s -o csv"):format(t0, t1))
      local ls = lines(out)
      assert.equal("__name__,instance,job,value,timestamp", ls[1])
      assert.equal(n + 1, #ls)
    end)

    it("defaults to data (csv) when stdout is not a terminal", function()
      local out = run("prom range up --since 10s")
      assert.matches("^__name__,instance,job,value,timestamp\n", out)
    end)

    it("draws a chart: rows, axis, time labels, a legend with min/max/last, no escape codes", function()
      local data = api(("/api/v1/query_range?query=%s&start=%d&end=%d&step=1"):format(
        q("prometheus_tsdb_head_series"), t0, t1))
      local out, err, status = run(("prom range prometheus_tsdb_head_series --start %d --end %d --step 1s"
        .. " -o chart --width 70 --height 8"):format(t0, t1))
      assert.equal(0, status, err)
      assert.not_matches("\27", out)
      local ls = lines(out)
      -- 8 plot rows, the axis, the time labels, the legend header, one line per series
      assert.equal(8 + 2 + 1 + #data.result, #ls)
      assert.matches("└─", ls[9])
      assert.matches("%d%d:%d%d:%d%d", ls[10])
      assert.matches("min%s+max%s+last$", ls[11])
      local last = data.result[1].values[#data.result[1].values][2]
      assert.matches("● prometheus_tsdb_head_series", ls[12])
      local fmt = P.format.human(tonumber(last), "")
      assert.matches(fmt:gsub("%.", "%%.") .. "$", ls[12])
      for i = 1, 10 do assert.truthy(P.format.width(ls[i]) <= 70, "line " .. i .. " fits 70 columns") end
    end)
  end)

  describe("alerts, rules, targets", function()
    it("alerts: the API's alerts with their states", function()
      local data = api("/api/v1/alerts")
      local out, err, status = run("prom alerts")
      assert.equal(0, status, err)
      local ls = lines(out)
      assert.equal(#data.alerts + 1, #ls)
      assert.matches("VcliAlwaysFiring%s+firing%s+warning", out)
      assert.matches("VcliPending%s+pending%s+info", out)
    end)

    it("alerts --state and -l filter", function()
      local out = run("prom alerts --state pending")
      assert.matches("VcliPending", out)
      assert.not_matches("VcliAlwaysFiring", out)
      out = run("prom alerts -l severity=warning -o json")
      local list = json.decode(out)
      assert.equal(1, #list)
      assert.equal("VcliAlwaysFiring", list[1].labels.alertname)
      out = run("prom alerts -l 'alertname=~Vcli.*' -l severity!=warning -o json")
      list = json.decode(out)
      assert.equal(1, #list)
      assert.equal("VcliPending", list[1].labels.alertname)
    end)

    it("rules: every rule of the API's groups; --type record", function()
      local data = api("/api/v1/rules")
      local n = 0
      for _, g in ipairs(data.groups) do n = n + #g.rules end
      local out = run("prom rules")
      assert.equal(n + 1, #lines(out))
      assert.matches("vcli:up:sum%s+record%s+%-%s+ok%s+sum%(up%)", out)
      assert.matches("VcliAlwaysFiring%s+alert%s+firing", out)
      out = run("prom rules --type record -o json")
      local groups = json.decode(out)
      assert.equal(1, #groups[1].rules)
      assert.equal("vcli:up:sum", groups[1].rules[1].name)
    end)

    it("targets: the API's active targets; --state down is empty", function()
      local data = api("/api/v1/targets?state=active")
      local out = run("prom targets")
      assert.equal(#data.activeTargets + 1, #lines(out))
      for _, t in ipairs(data.activeTargets) do
        assert.truthy(out:find(t.labels.instance, 1, true))
      end
      local list = json.decode((run("prom targets --state down -o json")))
      assert.equal(0, #list)
    end)
  end)

  describe("series, labels, metrics", function()
    it("series: the API's label sets", function()
      local data = api("/api/v1/series?match[]=up")
      local out = run("prom series up -o json")
      local got = json.decode(out)
      local key = function(m) return m.instance .. "/" .. m.job end
      assert.same(set_of(data, key), set_of(got, key))
      assert.equal(#data, #lines((run("prom series up"))))
    end)

    it("labels: names, and one label's values", function()
      assert.same(api("/api/v1/labels"), lines((run("prom labels"))))
      assert.same(api("/api/v1/label/job/values"), lines((run("prom labels job"))))
    end)

    it("metrics: names matching the pattern with type and help from the metadata API", function()
      local names = api("/api/v1/label/__name__/values")
      local want = {}
      for _, n in ipairs(names) do if n:find("prometheus_http_", 1, true) then want[#want + 1] = n end end
      local out = run("prom metrics prometheus_http_ -o json")
      local got = json.decode(out)
      assert.equal(#want, #got)
      local md = api("/api/v1/metadata?metric=prometheus_http_requests_total")
      local tbl = run("prom metrics prometheus_http_requests_total")
      assert.matches("prometheus_http_requests_total%s+" .. md.prometheus_http_requests_total[1].type
        .. "%s+" .. md.prometheus_http_requests_total[1].help:gsub("%p", "%%%0"), tbl)
      local globbed = json.decode((run("prom metrics 'prometheus_*_total' -o json")))
      for _, m in ipairs(globbed) do assert.matches("^prometheus_.*_total$", m.name) end
    end)
  end)

  describe("through the plugin runtime (the real binary)", function()
    it("vcli prom query up --url prints the same rows", function()
      local out, rc = spec.sh(("%s prom query 'up{job=\"prometheus\"}' --url %s"):format(spec.vcli, URL))
      assert.equal(0, rc, out)
      local data = api("/api/v1/query?query=" .. q('up{job="prometheus"}'))
      assert.matches("up%s+" .. data.result[1].metric.instance:gsub("%p", "%%%0") .. "%s+prometheus%s+1", out)
    end)
  end)

  describe("through the plugin runtime, more", function()
    it("bad PromQL is one line naming the position; -o json is the API's data", function()
      local out, rc = spec.sh(("%s prom query 'rate(up[1m)' --url %s"):format(spec.vcli, URL))
      assert.equal(1, rc)
      assert.equal(1, #lines(out))
      assert.matches("prom: bad query: 1:11: parse error", out)
      local t = os.time() - 1
      out, rc = spec.sh(("%s prom query up --time %d -o json --url %s 2>/dev/null"):format(spec.vcli, t, URL))
      assert.equal(0, rc)
      assert.same(api("/api/v1/query?query=up&time=" .. t), json.decode(out))
    end)

    it("prom range in a pipe is CSV; -o chart draws without escape codes", function()
      local out = spec.sh(("%s prom range up --since 5s --url %s"):format(spec.vcli, URL))
      assert.matches("^__name__,instance,job,value,timestamp\n", out)
      out = spec.sh(("%s prom range up --since 5s -o chart --height 4 --url %s"):format(spec.vcli, URL))
      assert.not_matches("\27", out)
      assert.matches("min%s+max%s+last", out)
    end)
  end)

  -- Last: it stops the server.
  describe("when the server is down", function()
    it("answers from the cache with the age; a clear error without a cache", function()
      local expr = "count(up)"
      local first = run("prom query '" .. expr .. "'")
      assert.matches("VALUE", first)
      spec.sh("spec/support/prom stop " .. DIR)
      DIR = nil
      local out, err, status = run("prom query '" .. expr .. "'")
      assert.equal(0, status, err)
      assert.equal(first, out)
      assert.matches("^prom: cannot reach Prometheus at " .. URL:gsub("%p", "%%%0")
        .. ": connection refused; showing the answer cached %d+s ago %(at .* UTC%)\n$", err)
      out, err, status = run("prom query 'count(up) + 1'")
      assert.equal(1, status)
      assert.equal("", out)
      assert.equal(1, #lines(err))
      assert.matches("cannot reach Prometheus at .*connection refused %(and no earlier answer to this query is cached%)", err)
    end)
  end)
end)

describe("prom against a failing server", function()
  local dir, pid, port
  before_all(function()
    dir = spec.tmpdir()
    spec.write(dir .. "/fake.py", [[
import http.server, json, sys
hits = {"n": 0}
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self): self.do_GET()
    def do_GET(self):
        hits["n"] += 1
        if "flaky" in self.path or hits["n"] % 3 != 0 and "query" in self.path and "slow" not in self.path:
            if hits["n"] % 3 != 0:
                self.send_response(503); self.end_headers(); self.wfile.write(b"overloaded, try later\n"); return
        if "slow" in self.path:
            body = json.dumps({"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"})
            self.send_response(503); self.send_header("Content-Type", "application/json"); self.end_headers()
            self.wfile.write(body.encode()); return
        if "fivehundred" in self.path:
            self.send_response(500); self.end_headers(); self.wfile.write(b"internal error\n"); return
        body = json.dumps({"status": "success", "data": {"resultType": "scalar", "result": [1, str(hits["n"])]}})
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.end_headers()
        self.wfile.write(body.encode())
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
]])
    local out = spec.sh("cd " .. dir .. " && (python3 fake.py > port 2>log & echo $! > pid) && sleep 0.5 && cat port pid")
    port, pid = out:match("(%d+)%s+(%d+)")
    assert(port, out)
  end)
  after_all(function()
    if pid then spec.sh("kill " .. pid) end
    spec.sh("rm -rf " .. dir)
  end)

  it("retries 503 with backoff and then answers", function()
    local out, err, status = run(("prom query 1 --url http://127.0.0.1:%s"):format(port))
    assert.equal(0, status, err)
    assert.equal("3\n", out)   -- two 503s, then the third attempt
  end)

  it("a server-side timeout is one line", function()
    local _, err, status = run(("prom query 1 --url http://127.0.0.1:%s/slow"):format(port))
    assert.equal(1, status)
    assert.equal("vcli: prom: query timed out on the server (query timed out in expression evaluation)\n", err)
  end)

  it("a 5xx is one line with the status and the body's first line", function()
    local _, err, status = run(("prom labels --url http://127.0.0.1:%s/fivehundred"):format(port))
    assert.equal(1, status)
    assert.equal(("vcli: prom: Prometheus at http://127.0.0.1:%s/fivehundred: server error 500: internal error\n"):format(port), err)
  end)
end)
