-- Completion inside PromQL (plugins/prometheus/prom/promql_complete.lua):
-- the context at the cursor, worked out in the plugin's state, and the lists
-- against Debian's real Prometheus through the shell's completion, as a
-- user's Tab gets them (the completers run in the plugin, in its sandbox).
local H = dofile("spec/support/prom_helper.lua")
local complete = require("vcli.shell.complete")

local function has(items, word)
  for _, it in ipairs(items) do if (it.word or it) == word then return it end end
  return nil
end

-- pc.NAME(...) in the plugin's state
local pc = setmetatable({}, { __index = function(_, name)
  return function(...) return H.eval(("return require('prom.promql_complete').%s(...)"):format(name), ...) end
end })

-- what Tab offers at the end of line
local function tab(line) return complete.complete(line, #line) end

before_all(function() H.start() end)
after_all(function()
  H.config_reset()
  H.stop()
end)

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
  local URL
  local function api(path) return H.api(URL, path) end
  local function words_of(items)
    local out = {}
    for _, it in ipairs(items) do out[#out + 1] = it.word end
    return out
  end

  before_all(function()
    URL = H.prom_start()
    H.config({ url = URL })
  end)
  after_all(function() H.prom_stop() end)

  it("metric names are the server's, with their type from the metadata", function()
    local names = api("/api/v1/label/__name__/values")
    local want = {}
    for _, n in ipairs(names) do if n:sub(1, 16) == "prometheus_tsdb_" then want[#want + 1] = n end end
    local got = {}
    for _, w in ipairs(words_of(tab("prom query prometheus_tsdb_").items)) do
      if w:sub(1, 16) == "prometheus_tsdb_" then got[#got + 1] = w end
    end
    table.sort(got)
    assert.same(want, got)
    local it_ = has(tab("prom query prometheus_http_req").items, "prometheus_http_requests_total")
    assert.truthy(it_)
    assert.equal("counter", it_.desc)
  end)

  it("completes inside a function call", function()
    assert.truthy(has(tab("prom query 'rate(prometheus_http_req").items, "rate(prometheus_http_requests_total"))
  end)

  it("label names after { for that metric, and in by (…)", function()
    local labels = api("/api/v1/labels?match[]=up")
    local items = tab("prom query 'up{").items
    for _, l in ipairs(labels) do
      if l ~= "__name__" then assert.truthy(has(items, "up{" .. l), "up{" .. l) end
    end
    assert.truthy(has(tab("prom query 'up{job=\"node\",ins").items, 'up{job="node",instance'))
    assert.truthy(has(tab("prom query 'sum by (jo").items, "sum by (job"))
  end)

  it("label values inside quotes, and quoted after label=", function()
    local vals = api("/api/v1/label/job/values")
    local items = tab("prom query 'up{job=\"").items
    for _, v in ipairs(vals) do assert.truthy(has(items, 'up{job="' .. v .. '"'), v) end
    assert.same({ 'up{job="prometheus"' }, words_of(tab("prom query 'up{job=\"prom").items))
    assert.truthy(has(tab("prom query 'up{job=").items, 'up{job="prometheus"'))
  end)

  it("works inside a quoted expression, and for labels and metrics", function()
    local line = "prom query 'rate(prometheus_http_req"
    local res = complete.complete(line, #line)
    assert.equal("'", res.quote)
    assert.equal("rate(prometheus_http_req", res.partial)
    assert.truthy(has(res.items, "rate(prometheus_http_requests_total"))
    assert.truthy(has(tab("prom range 'sum by (job) (up{job=\"prom").items, 'sum by (job) (up{job="prometheus"'))
    assert.truthy(has(tab("prom labels jo").items, "job"))
    assert.truthy(has(tab("prom metrics prometheus_http_req").items, "prometheus_http_requests_total"))
  end)

  it("keeps the lists in LMDB: they still answer when the server is gone", function()
    tab("prom query 'up{")
    tab("prom query 'up{job=\"")
    tab("prom query prometheus_http_req")
    H.prom_stop()
    -- a new plugin state, as a new vcli process has: its memory is empty, the store is not
    H.start()
    assert.truthy(has(tab("prom query prometheus_http_req").items, "prometheus_http_requests_total"))
    assert.truthy(has(tab("prom query 'up{job=\"").items, 'up{job="prometheus"'))
    -- an unknown server and no cache: no candidates, no error
    local res = tab("prom query --url http://127.0.0.1:1 prometheus_http_req")
    assert.equal(0, #res.items)
    assert.truthy(has(tab("prom query --url http://127.0.0.1:1 rat").items, "rate("))
  end)
end)
