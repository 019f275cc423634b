-- The terminal chart and the number/unit formatting of the Prometheus plugin
-- (plugins/prometheus/prom/chart.lua, format.lua), run where users run them:
-- in the plugin's own Lua state (the sandbox, without the JIT).
local H = dofile("spec/support/prom_helper.lua")

before_all(function() H.start() end)
after_all(function() H.stop() end)

-- the series the charts draw, made inside the plugin state:
-- series(n, points, fn(s, i) -> value [, t0]) -> a matrix result
local SERIES = [[
local function series(n, points, fn, t0)
  local res = {}
  t0 = t0 or 1700000000
  for s = 1, n do
    local vals = {}
    for i = 1, points do vals[i] = { t0 + (i - 1) * 15, tostring(fn(s, i)) } end
    res[s] = { metric = { __name__ = "m", job = "j", instance = "i" .. s }, values = vals }
  end
  return res
end
local chart, format = require("prom.chart"), require("prom.format")
]]
local function render(src, ...) return H.eval(SERIES .. src, ...) end
local function width(s) return H.eval('return require("prom.format").width(...)', s) end

local function lines(s)
  local out = {}
  for l in (s .. ""):gmatch("([^\n]*)\n") do out[#out + 1] = l end
  return out
end

local function braille_dots(s)
  local n = 0
  for cp in s:gmatch("\226[\160-\163][\128-\191]") do
    local b1, b2 = cp:byte(2), cp:byte(3)
    local bits = (b1 - 0xA0) * 64 + (b2 - 0x80)
    while bits > 0 do n = n + bits % 2; bits = math.floor(bits / 2) end
  end
  return n
end

describe("prom chart", function()
  it("has the asked height and width, an axis, time labels and a legend", function()
    local out = render([[return chart.render(series(3, 100, function(s, i) return s * 10 + math.sin(i / 10) end),
      { width = 72, height = 10 })]])
    local ls = lines(out)
    assert.equal(10 + 2 + 1 + 3, #ls)
    for i = 1, 10 do
      assert.truthy(width(ls[i]) <= 72, "row " .. i .. " is at most 72 columns")
      assert.matches("[┤│]", ls[i])
    end
    assert.truthy(ls[11]:find("└", 1, true) and ls[11]:sub(-3) == "─", ls[11])
    assert.equal(72, width(ls[11]))
    assert.matches("%d%d:%d%d", ls[12])
    assert.matches("^%s+series%s+min%s+max%s+last$", ls[13])
    -- common labels (job) are left out of the legend, the varying one stays
    assert.matches('● {instance="i1"}', ls[14])
    assert.not_matches("job", ls[14])
  end)

  it("never repeats a time label: seconds appear when labels are under a minute apart", function()
    -- 3.5 minutes at 15 s steps
    local ls = lines(render([[return chart.render(series(1, 15, function(_, i) return i end), { width = 100, height = 6 })]]))
    local label_line
    for k, l in ipairs(ls) do if l:find("└") then label_line = ls[k + 1] end end
    local seen = {}
    for label in label_line:gmatch("%S+") do
      assert.falsy(seen[label], "label " .. label .. " repeats in: " .. label_line)
      seen[label] = true
    end
    assert.matches("%d%d:%d%d:%d%d", label_line)
  end)
  it("shows min, max and last per series with the unit", function()
    local ls = lines(render([[return chart.render(series(2, 50, function(s, i) return s == 1 and i * 0.001 or 5 end),
      { width = 80, height = 6, unit = "s" })]]))
    assert.matches("1ms%s+50ms%s+50ms$", ls[#ls - 1])
    assert.matches("5s%s+5s%s+5s$", ls[#ls])
    -- y labels carry the unit: top is the maximum, bottom the minimum
    assert.matches("^%s*5s ┤", ls[1])
    assert.matches("^%s*1ms ┤", ls[6])
  end)

  it("writes no escape codes without colour, one colour per series with it", function()
    local plain, colored, palette, reset = render([[
      local res = series(3, 60, function(s, i) return s + i % 7 end)
      return chart.render(res, { width = 60, height = 8, color = false }),
        chart.render(res, { width = 60, height = 8, color = true }), chart.PALETTE, chart.RESET]])
    assert.not_matches("\27", plain)
    for i = 1, 3 do assert.truthy(colored:find(palette[i], 1, true), "colour " .. i) end
    assert.truthy(colored:find(reset, 1, true))
    -- the same picture once the escapes are removed
    assert.equal(plain, (colored:gsub("\27%[[%d;]*m", "")))
  end)

  it("draws a flat line as one row of braille dots across the width", function()
    local ls = lines(render([[return chart.render(series(1, 200, function() return 1 end), { width = 50, height = 5 })]]))
    local rows_with_dots = 0
    for i = 1, 5 do if braille_dots(ls[i]) > 0 then rows_with_dots = rows_with_dots + 1 end end
    assert.equal(1, rows_with_dots)
  end)

  it("block style uses half blocks", function()
    local out = render([[return chart.render(series(1, 40, function(_, i) return i end),
      { width = 40, height = 5, style = "block" })]])
    assert.matches("[▀▄█]", out)
    assert.equal(0, braille_dots(out))
  end)

  it("leaves gaps where samples are missing and skips NaN", function()
    local vals = {}
    for i = 1, 100 do
      if i < 40 or i > 60 then vals[#vals + 1] = { 1700000000 + i * 10, tostring(i) } end
    end
    vals[#vals + 1] = { 1700000000 + 1010, "NaN" }
    local out = render([[return chart.render({ { metric = { __name__ = "x" }, values = ... } }, { width = 60, height = 6 })]],
      vals)
    local ls = lines(out)
    -- some column in the middle of the plot has no dots in any row
    local label_w = #ls[1]:match("^(.-) ┤")
    local empty_col = false
    for c = 20, 30 do
      local any = false
      for r = 1, 6 do
        local row = ls[r]
        local cells = {}
        for ch in row:gmatch("[%z\1-\127\194-\244][\128-\191]*") do cells[#cells + 1] = ch end
        local cell = cells[label_w + 2 + c]
        if cell and cell ~= " " then any = true end
      end
      if not any then empty_col = true end
    end
    assert.truthy(empty_col, "a gap in the middle")
    assert.matches("max%s+last", out)
  end)

  -- (how fast: bench/prom_bench.lua; a spec asserts no wall-clock time)
  it("renders 10 series × 1000 points in the sandbox, every series in the legend", function()
    local out = render([[
      local res = series(10, 1000, function(s, i) return math.sin(i / 50 + s) * s end)
      return chart.render(res, { width = 120, height = 20, color = false })]])
    local ls = lines(out)
    assert.truthy(#ls >= 20, "the chart's rows")
    assert.truthy(braille_dots(out) > 1000, "points drawn")
  end)
end)

-- format.NAME(...) called in the plugin's state
local format = setmetatable({}, { __index = function(_, name)
  return function(...) return H.eval(("return require('prom.format').%s(...)"):format(name), ...) end
end })

describe("prom number and time formatting", function()
  it("uses SI prefixes, IEC for bytes, and units", function()
    assert.equal("250ms", format.human(0.25, "s"))
    assert.equal("1.5KiB", format.human(1536, "B"))
    assert.equal("12k", format.human(12000, ""))
    assert.equal("0.5", format.human(0.5, ""))
    assert.equal("0", format.human(0, ""))
    assert.equal("NaN", format.human(0 / 0))
    assert.equal("+Inf", format.human(math.huge))
  end)

  it("guesses units from the expression", function()
    assert.equal("s", format.unit_of("process_cpu_seconds"))
    assert.equal("s/s", format.unit_of("rate(process_cpu_seconds_total[1m])"))
    assert.equal("B", format.unit_of("go_memstats_alloc_bytes"))
    assert.equal("B/s", format.unit_of("rate(node_network_receive_bytes_total[5m])"))
    assert.equal("/s", format.unit_of("sum(rate(prometheus_http_requests_total[1m]))"))
    assert.equal("", format.unit_of("up"))
  end)

  it("parses RFC 3339 and formats times and ages", function()
    assert.equal(1700000000, format.parse_rfc3339("2023-11-14T22:13:20Z"))
    assert.equal(1700000000.5, format.parse_rfc3339("2023-11-14T23:13:20.5+01:00"))
    assert.equal("2023-11-14 22:13:20", format.time(1700000000))
    assert.equal("2023-11-14 22:13:20.250", format.time(1700000000.25))
    assert.equal("45s", format.age(45))
    assert.equal("2h5m", format.age(7500))
  end)

  it("writes CSV as RFC 4180", function()
    assert.equal('a,b\n"x,y","say ""hi"""\n', format.csv({ "a", "b" }, { { "x,y", 'say "hi"' } }))
  end)
end)

describe("prom JSON: the host's codec in C (vcli.jsonfmt), as the kubernetes plugin has it", function()
  it("decodes what the API sends and encodes it back, empty lists as lists", function()
    local text = '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up",'
      .. '"x":"\\u00e9\\n"},"value":[1.5,"1"]}]},"w":[true,false,null,-1.5e3],"e":[],"o":{}}'
    local r = H.eval([[
      local json = require("prom.plugin_env").json_codec()
      local v = assert(json.decode(...))
      return { type = v.data.resultType, x = v.data.result[1].metric.x, t = v.data.result[1].value[1],
               n = v.w[4], null = v.w[3] == vcli.json.null, again = json.encode({ e = v.e, o = v.o, w = v.w }) }
    ]], text)
    assert.same({ type = "vector", x = "é\n", t = 1.5, n = -1500, null = true,
                  again = '{"e":[],"o":{},"w":[true,false,null,-1500]}' }, r)
  end)

  it("says where a broken answer breaks off", function()
    local v, err = H.eval([[return require("prom.plugin_env").json_codec().decode('{"a":}', "answer")]])
    assert.equal(nil, v)
    assert.matches("^answer:1:6: ", err)
  end)
end)
