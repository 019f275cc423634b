-- The prom command against Debian's real Prometheus (spec/support/prom),
-- run as users run it: the plugin in its sandbox (spec/support/prom_helper.lua).
-- Every command's output is checked against what the server's HTTP API
-- returns for the same request, fetched here with vcli.http.
local H = dofile("spec/support/prom_helper.lua")
local http = require("vcli.http")
local json = require("vcli.json")
local yaml = require("vcli.yaml")

local URL
local function api(path) return H.api(URL, path) end
local q, run, lines = H.q, H.run, H.lines

local function set_of(list, key)
  local s = {}
  for _, v in ipairs(list) do s[key and key(v) or v] = true end
  return s
end

describe("prom against a real Prometheus", function()
  before_all(function()
    URL = H.prom_start()
    H.start()
    H.config({ url = URL })   -- the server from the configuration, as a user sets it
  end)
  after_all(function()
    H.config_reset()
    H.stop()
    H.prom_stop()
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

    it("every series of the server: one row each, the labels of all of them as columns", function()
      local t = os.time() - 1
      local data = api("/api/v1/query?query=" .. q('{__name__=~".+"}') .. "&time=" .. t)
      assert.truthy(#data.result > 100, #data.result .. " series")
      local out, err, status = run("prom query '{__name__=~\".+\"}' --time " .. t)
      assert.equal(0, status, err)
      local ls = lines(out)
      assert.equal(#data.result + 1, #ls)
      local keys = {}
      for _, s in ipairs(data.result) do for k in pairs(s.metric) do keys[k] = true end end
      local header = {}
      for w in ls[1]:gmatch("%S+") do header[#header + 1] = w end
      local n = 0
      for _ in pairs(keys) do n = n + 1 end
      assert.equal(n + 2, #header)   -- the label names, VALUE, TIME
      -- columns line up: every VALUE cell starts where the header's does
      local col = ls[1]:find("VALUE", 1, true)
      for i = 2, #ls do assert.matches("^ %S", ls[i]:sub(col - 1), "row " .. i) end
      -- -o csv: one row per series too
      assert.equal(#data.result + 1, #lines((run("prom query '{__name__=~\".+\"}' -o csv --time " .. t))))
    end)

    it("lines up columns by characters, not bytes, when a label is not ASCII", function()
      local expr = 'label_replace(up{job="prometheus"}, "city", "Zürich", "", "")'
      local out, err, status = run("prom query '" .. expr .. "'")
      assert.equal(0, status, err)
      local ls = lines(out)
      assert.equal(2, #ls)
      assert.matches("Zürich", ls[2])
      local width = function(s) return H.eval('return require("prom.format").width(...)', s) end
      local function col_of(line, word)
        return width(line:sub(1, line:find(word, 1, true) - 1))
      end
      assert.equal(col_of(ls[1], "INSTANCE"), col_of(ls[2], "127.0.0.1"))
      assert.equal(col_of(ls[1], "JOB"), col_of(ls[2], "prometheus"))
    end)

    it("an empty answer stays a list in -o json and -o yaml", function()
      local out = run("prom query 'up{job=\"nope\"}' -o json")
      assert.equal('{"result":[],"resultType":"vector"}\n', out)
      assert.equal("[]\n", (run("prom targets --state down -o json")))
      assert.equal("[]\n", (run("prom targets --state down -o yaml")))
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
      local fmt = H.eval('return require("prom.format").human(...)', tonumber(last), "")
      assert.matches(fmt:gsub("%.", "%%.") .. "$", ls[12])
      for i = 1, 10 do
        assert.truthy(H.eval('return require("prom.format").width(...)', ls[i]) <= 70, "line " .. i .. " fits 70 columns")
      end
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

  describe("the real binary (a scratch HOME, the server from --url)", function()
    it("vcli prom query prints the same rows", function()
      local out, err, rc = H.vcli(("prom query 'up{job=\"prometheus\"}' --url %s"):format(URL))
      assert.equal(0, rc, err)
      local data = api("/api/v1/query?query=" .. q('up{job="prometheus"}'))
      assert.matches("up%s+" .. data.result[1].metric.instance:gsub("%p", "%%%0") .. "%s+prometheus%s+1", out)
    end)

    it("bad PromQL is one line naming the position; -o json is the API's data", function()
      local out, err, rc = H.vcli(("prom query 'rate(up[1m)' --url %s"):format(URL))
      assert.equal(1, rc)
      assert.equal("", out)
      assert.equal(1, #lines(err))
      assert.matches("^vcli: prom: bad query: 1:11: parse error", err)
      local t = os.time() - 1
      out, err, rc = H.vcli(("prom query up --time %d -o json --url %s"):format(t, URL))
      assert.equal(0, rc, err)
      assert.same(api("/api/v1/query?query=up&time=" .. t), json.decode(out))
    end)

    it("prom range in a pipe is CSV; -o chart draws without escape codes", function()
      local out = H.vcli(("prom range up --since 5s --url %s"):format(URL))
      assert.matches("^__name__,instance,job,value,timestamp\n", out)
      out = H.vcli(("prom range up --since 5s -o chart --height 4 --url %s"):format(URL))
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
      -- an answer an earlier version of the plugin kept (JSON {at, data}) still answers
      H.eval([[
        local url, at = ...
        local key = require("prom.cache").key("q", url, "vector(7)")
        vcli.store.put(key, vcli.json.encode({ at = at, data = { resultType = "scalar", result = { at, "7" } } }))
      ]], URL, os.time() - 90)
      H.prom_stop()
      local old, oerr = run("prom query 'vector(7)'")
      assert.equal("7\n", old)
      assert.matches("showing the answer cached 1m3%ds ago", oerr)
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
