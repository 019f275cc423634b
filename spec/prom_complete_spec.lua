-- Completion inside PromQL (plugins/prometheus/promql_complete.lua): the
-- context at the cursor, and the lists against Debian's real Prometheus.
require("vcli")
local http = require("vcli.http")
local json = require("vcli.json")
local complete = require("vcli.shell.complete")

local loader = dofile("plugins/prometheus/host_loader.lua")
local pc = loader.load({ store = false }).promql_complete

local function words_of(items)
  local out = {}
  for _, it in ipairs(items) do out[#out + 1] = it.word end
  return out
end

local function has(items, word)
  for _, it in ipairs(items) do if (it.word or it) == word then return it end end
  return nil
end

describe("promql completion: the context at the cursor", function()
  it("tells names, label names, label values and durations apart", function()
    assert.same({ kind = "name", prefix = "rate(", token = "http_req" }, pc.context("rate(http_req"))
    local c = pc.context('up{jo')
    assert.equal("label_name", c.kind); assert.equal("up", c.metric); assert.equal("jo", c.token)
    c = pc.context('up{job="pro')
    assert.equal("label_value", c.kind); assert.equal("job", c.label); assert.equal("pro", c.token)
    assert.equal('up{job="', c.prefix)
    c = pc.context('rate(up{job=~"a|b", instance!="x"}[5')
    assert.equal("duration", c.kind); assert.equal("5", c.token)
    c = pc.context("sum by (jo")
    assert.equal("label_name", c.kind); assert.truthy(c.grouping)
    c = pc.context("sum(rate(x[5m])) by (")
    assert.equal("label_name", c.kind)
  end)

  it("offers functions, aggregations and keywords without a server", function()
    local items = pc.complete("rat", {})
    assert.truthy(has(items, "rate("))
    assert.equal("function", has(items, "rate(").desc)
    assert.truthy(has(pc.complete("su", {}), "sum("))
    assert.truthy(has(pc.complete("sum(x) ", {}), "sum(x) by"))
    assert.truthy(has(pc.complete("rate(x[", {}), "rate(x[5m]"))
    assert.truthy(has(pc.complete("rate(x[1", {}), "rate(x[1h]"))
    assert.falsy(has(pc.complete("rate(x[1", {}), "rate(x[5m]"))
  end)
end)

describe("promql completion against a real Prometheus", function()
  local URL, DIR, store_dir, env, source, commands
  local function api(path)
    local res = assert(http.get(URL .. path))
    return assert(json.decode(res.body)).data
  end

  before_all(function()
    local out, rc = spec.sh("spec/support/prom start")
    assert(rc == 0, out)
    URL = out:match("PROM_URL=(%S+)")
    DIR = out:match("PROM_DIR=(%S+)")
    store_dir = spec.tmpdir()
    local P = loader.load({ store_dir = store_dir, getenv = function(k)
      if k == "VCLI_PROMETHEUS_URL" then return URL end
      return os.getenv(k)
    end })
    env, commands = P.env, P.commands
    source = commands.source(env, { words = {} })
    loader.register({ store_dir = store_dir, getenv = env.getenv })
  end)
  after_all(function()
    if DIR then spec.sh("spec/support/prom stop " .. DIR) end
    spec.sh("rm -rf " .. store_dir)
  end)

  it("metric names are the server's, with their type from the metadata", function()
    local names = api("/api/v1/label/__name__/values")
    local want = {}
    for _, n in ipairs(names) do if n:sub(1, 16) == "prometheus_tsdb_" then want[#want + 1] = n end end
    local items = pc.complete("prometheus_tsdb_", source)
    local got = {}
    for _, w in ipairs(words_of(items)) do if w:sub(1, 16) == "prometheus_tsdb_" then got[#got + 1] = w end end
    table.sort(got)
    assert.same(want, got)
    local it_ = has(pc.complete("prometheus_http_req", source), "prometheus_http_requests_total")
    assert.truthy(it_)
    assert.equal("counter", it_.desc)
  end)

  it("completes inside a function call", function()
    assert.truthy(has(pc.complete("rate(prometheus_http_req", source), "rate(prometheus_http_requests_total"))
  end)

  it("label names after { for that metric, and in by (…)", function()
    local labels = api("/api/v1/labels?match[]=up")
    local items = pc.complete("up{", source)
    for _, l in ipairs(labels) do
      if l ~= "__name__" then assert.truthy(has(items, "up{" .. l), "up{" .. l) end
    end
    assert.truthy(has(pc.complete('up{job="node",ins', source), 'up{job="node",instance'))
    assert.truthy(has(pc.complete("sum by (jo", source), "sum by (job"))
  end)

  it("label values inside quotes, and quoted after label=", function()
    local vals = api("/api/v1/label/job/values")
    local items = pc.complete('up{job="', source)
    for _, v in ipairs(vals) do assert.truthy(has(items, 'up{job="' .. v .. '"'), v) end
    assert.same({ 'up{job="prometheus"' }, words_of(pc.complete('up{job="prom', source)))
    assert.truthy(has(pc.complete("up{job=", source), 'up{job="prometheus"'))
  end)

  it("works through the shell's completion, inside a quoted expression", function()
    local line = "prom query 'rate(prometheus_http_req"
    local res = complete.complete(line, #line)
    assert.equal("'", res.quote)
    assert.equal("rate(prometheus_http_req", res.partial)
    assert.truthy(has(res.items, "rate(prometheus_http_requests_total"))
    line = "prom range 'sum by (job) (up{job=\"prom"
    res = complete.complete(line, #line)
    assert.truthy(has(res.items, 'sum by (job) (up{job="prometheus"'))
    line = "prom labels jo"
    assert.truthy(has(complete.complete(line, #line).items, "job"))
    line = "prom metrics prometheus_http_req"
    assert.truthy(has(complete.complete(line, #line).items, "prometheus_http_requests_total"))
  end)

  it("keeps the lists in LMDB: they still answer when the server is gone", function()
    pc.complete("up{", source)
    pc.complete('up{job="', source)
    spec.sh("spec/support/prom stop " .. DIR)
    DIR = nil
    -- a new source, as a new vcli process would make: memory is empty
    local P2 = loader.load({ store_dir = store_dir, getenv = env.getenv, attempts = 1 })
    local src2 = P2.commands.source(P2.env, { words = {} })
    assert.truthy(has(pc.complete("prometheus_http_req", src2), "prometheus_http_requests_total"))
    assert.truthy(has(pc.complete('up{job="', src2), 'up{job="prometheus"'))
    -- an unknown server and no cache: no candidates, no error
    local P3 = loader.load({ store_dir = store_dir, attempts = 1,
      getenv = function(k) if k == "VCLI_PROMETHEUS_URL" then return "http://127.0.0.1:1" end end })
    local items = pc.complete("prometheus_http_req", P3.commands.source(P3.env, { words = {} }))
    assert.equal(0, #items)
    assert.truthy(has(pc.complete("rat", P3.commands.source(P3.env, { words = {} })), "rate("))
  end)
end)
