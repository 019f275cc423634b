-- The virtual table (vcli.tui.table) at 50 000 pods, in process:
--   ./vcli -l bench/tui_table_bench.lua [--interp]     (or through bench/run.lua)
-- Each figure next to its target; a one-off operation is the median of a few
-- runs. Times are the process's CPU time (os.clock: a busy machine's other
-- processes do not count), the collector's work included unless said. "floor" rows are what the same machine takes for the unavoidable
-- part (one joined string per row; P.order alone), to read the rest against.
-- --interp (and a second round under bench/run.lua) runs with the JIT off,
-- as in a plugin's state, where the k8s browser's table lives.
local P = require("vcli.tui.prims")
local T = require("vcli.tui.table")

local args = { ... }
local b = _G.bench
local report = b and b.report or function(r)
  local verdict = r.ok == nil and "" or (r.ok and "meets" or "MISSES")
  io.write(("%-56s %9.4g %-3s target %-9s %s\n"):format(r.name, r.value or 0 / 0, r.unit or "",
    r.target or "-", verdict))
  io.flush()
end
local function ms_row(name, v, limit)
  local ok
  if limit then ok = v <= limit end
  report{ name = name, value = v, unit = "ms", target = limit and ("≤ " .. limit .. " ms") or "-", ok = ok }
end

local COLS = {
  { name = "NAMESPACE" }, { name = "NAME" }, { name = "READY" }, { name = "STATUS" },
  { name = "RESTARTS", align = "right", sort = "number" }, { name = "AGE", align = "right", sort = "number" },
  { name = "IP", wide = true }, { name = "NODE", wide = true },
}
local STATUS = { "Running", "Running", "Running", "Running", "Pending", "CrashLoopBackOff", "Completed" }

local seed = 42
local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648; return math.floor(seed / 65536) % n + 1 end

local function pod(i, tag, st)
  st = st or STATUS[i % #STATUS + 1]
  local age = (i * 37) % 864000
  local restarts = st == "CrashLoopBackOff" and (i % 40) or 0
  return { id = "ns-" .. (i % 20) .. "/" .. (tag or "web") .. "-" .. i,
           cells = { "ns-" .. (i % 20), (tag or "web") .. "-deployment-7d9f8c6b5-" .. i, "1/1", st,
                     tostring(restarts), math.floor(age / 3600) .. "h", "10.0." .. (i % 256) .. "." .. (i % 200),
                     "node-" .. (i % 60) },
           keys = { [5] = restarts, [6] = age }, fault = st ~= "Running" and st ~= "Completed",
           style = st == "CrashLoopBackOff" and "error" or nil }
end

local function rows_of(n, sorted_by_name)
  local rows = {}
  for i = 1, n do rows[i] = pod(i) end
  if sorted_by_name then table.sort(rows, function(x, y) return x.cells[2] < y.cells[2] end) end
  return rows
end

local clock = os.clock
local function ms(fn)
  local t0 = clock()
  fn()
  return (clock() - t0) * 1000
end

local function pct(t, p)
  table.sort(t)
  return t[math.max(1, math.ceil(#t * p))]
end

-- median of n runs of fn (before() untimed, before each)
local function median(n, fn, before)
  local t = {}
  for i = 1, n do
    if before then before() end
    t[i] = ms(fn)
  end
  return pct(t, 0.5)
end

-- p99 and p50 of view(w, h) over frames that each move the cursor (j, a
-- page now and then); cold: every visible row laid out again in each frame
-- (as after a resize), not the rows kept from the frame before
local function view_pcts(t, w, h, frames, cold)
  t:key("g")
  t:view(w, h)
  local times = {}
  for f = 1, frames do
    if f % 50 == 0 then t:key("PageDown") else t:key("j") end
    if cold then t.wver = t.wver + 1 end
    local t0 = clock()
    t:view(w, h)
    times[f] = (clock() - t0) * 1000
  end
  return pct(times, 0.99), pct(times, 0.5)
end

local function round(label)
  local N = 50000
  local sfx = label ~= "" and (" " .. label) or ""
  collectgarbage()
  local big = rows_of(N, false)
  local server = rows_of(N, true)

  do   -- floors: one joined string per row, P.order over 50k keys
    local sink = {}
    ms_row("floor: table.concat of each row's cells (50k)" .. sfx, median(3, function()
      for i = 1, N do sink[i] = table.concat(big[i].cells, " ") end
    end))
    assert(#sink == N)
    local keys = {}
    for i = 1, N do keys[i] = big[i].keys[6] end
    ms_row("floor: P.order over 50k number keys" .. sfx, median(3, function() P.order(keys) end))
    for i = 1, N do keys[i] = big[i].cells[4] end
    ms_row("floor: P.order over 50k string keys (STATUS)" .. sfx, median(3, function() P.order(keys) end))
  end
  collectgarbage()
  local mem0 = collectgarbage("count")

  local t = T.new{ columns = COLS }
  ms_row("table: set_rows 50k (no sort)" .. sfx, median(3, function() t:set_rows(big) end), 100)
  ms_row("table: set_rows 50k (no sort), the collector paused" .. sfx, median(3,
    function() collectgarbage("stop"); t:set_rows(big); collectgarbage("restart") end,
    function() collectgarbage() end), 100)
  t:sort("NAME")
  ms_row("table: set_rows 50k by NAME, the server's order" .. sfx, median(3, function() t:set_rows(server) end), 100)
  ms_row("table: set_rows 50k by NAME, shuffled (P.order)" .. sfx, median(3, function() t:set_rows(big) end), 100)
  t:set_rows(server)
  collectgarbage()
  report{ name = "table: Lua memory of the table beyond its 2×50k rows" .. sfx,
          value = (collectgarbage("count") - mem0) / 1024, unit = "MiB", target = "-" }

  local p99, p50 = view_pcts(t, 200, 50, 1000)
  local c99, c50 = view_pcts(t, 200, 50, 1000, true)
  local small = T.new{ columns = COLS, rows = rows_of(100, false) }
  small:sort("NAME")
  local s99 = view_pcts(small, 200, 50, 1000, true)
  ms_row("table: view(200, 50) p99 at 50k, scrolling" .. sfx, p99, 1)
  ms_row("table: view(200, 50) p50 at 50k, scrolling" .. sfx, p50)
  ms_row("table: view(200, 50) p99 at 50k, cold frames" .. sfx, c99, 1)
  ms_row("table: view(200, 50) p50 at 50k, cold frames" .. sfx, c50)
  ms_row("table: view(200, 50) p99 at 100 rows, cold frames" .. sfx, s99)
  report{ name = "table: view p99 cold, 50k / 100 rows" .. sfx, value = c99 / s99, unit = "×", target = "≤ 1.5×",
          ok = c99 / s99 <= 1.5 }

  ms_row("table: sort toggle NAME ↑↓ (50k)" .. sfx, median(5, function() t:toggle_sort("NAME") end), 16)
  ms_row("table: sort by AGE, number keys (50k)" .. sfx,
    median(3, function() t:sort("AGE") end, function() t:sort("NAME") end), 16)
  ms_row("table: sort by STATUS, string keys (50k)" .. sfx,
    median(3, function() t:sort("STATUS") end, function() t:sort("NAME") end), 16)
  -- after a watch removed a pod, the last rec fills its hole: the recs are out of the given order
  do
    local k = 0
    ms_row("table: sort by AGE after a removal (recs out of order, 50k)" .. sfx,
      median(3, function() t:sort("AGE") end, function()
        t:sort("NAME")
        k = k + 1
        t:upsert(t:remove(server[k * 17].id))
      end), 16)
  end
  t:sort("NAME")

  -- filter keystrokes: the first a full pass, the next ones narrow it
  local seq = { "w", "we", "web", "web-", "web-deployment-7d9f8c6b5-1" }
  local per = {}
  for k = 1, #seq do per[k] = {} end
  for r = 1, 5 do
    t:set_filter(nil)
    for k, p in ipairs(seq) do
      per[k][r] = ms(function() assert(t:set_filter({ pattern = p })) end)
      t:view(200, 50)
    end
  end
  for k, p in ipairs(seq) do ms_row(("table: filter keystroke %q (50k)"):format(p) .. sfx, pct(per[k], 0.5), 16) end
  local worst = 0
  for k = 1, #seq do for r = 1, 5 do worst = math.max(worst, per[k][r]) end end
  ms_row("table: filter keystroke, the worst of 25" .. sfx, worst, 16)
  ms_row("table: filter Backspace \"web-\" → \"web\" (full pass)" .. sfx, median(5,
    function() t:set_filter({ pattern = "web" }) end, function() t:set_filter({ pattern = "web-" }) end), 16)
  ms_row("table: filter \"!web\" (inverse, full pass)" .. sfx, median(3,
    function() t:set_filter({ pattern = "web", inverse = true }) end, function() t:set_filter(nil) end), 16)
  for _, p in ipairs({ "^ns.1 .*crash", "^ns.1 .*Crash" }) do
    ms_row(("table: filter regex %q (full pass, P.regex)"):format(p) .. sfx, median(3,
      function() assert(t:set_filter({ pattern = p })) end, function() t:set_filter(nil) end), 16)
  end
  for _, p in ipairs({ "w", "wb", "wb7" }) do
    ms_row(("table: fuzzy keystroke %q (50k)"):format(p) .. sfx, median(3,
      function() assert(t:set_filter({ fuzzy = p })) end,
      function() t:set_filter(#p > 1 and { fuzzy = p:sub(1, -2) } or nil) end), 16)
  end
  ms_row("table: faulty-only predicate on (50k)" .. sfx, median(3,
    function() t:set_predicate(function(r) return r.fault end) end,
    function() t:set_filter(nil); t:set_predicate(nil) end), 16)
  t:set_predicate(nil)
  ms_row("table: filter cleared (50k)" .. sfx, median(5,
    function() t:set_filter(nil) end, function() t:set_filter({ pattern = "w" }) end), 16)

  -- watch events: new pods, status changes (they move under a STATUS sort), deletions
  t:key("G"); t:key("PageUp")
  local times, M = {}, 2000
  for k = 1, M do
    local row = pod(N + rnd(N), "api")
    local t0 = clock()
    t:upsert(row)
    times[k] = (clock() - t0) * 1e6
  end
  report{ name = "table: upsert, a new pod at 50k (median)" .. sfx, value = pct(times, 0.5), unit = "µs",
          target = "≤ 50 µs", ok = pct(times, 0.5) <= 50 }
  report{ name = "table: upsert, a new pod at 50k (p99)" .. sfx, value = pct(times, 0.99), unit = "µs", target = "-" }
  t:sort("STATUS")
  times = {}
  for k = 1, M do
    local row = pod(rnd(N), nil, STATUS[rnd(#STATUS)])
    local t0 = clock()
    t:upsert(row)
    times[k] = (clock() - t0) * 1e6
  end
  report{ name = "table: upsert, a status change (moves) (median)" .. sfx, value = pct(times, 0.5), unit = "µs",
          target = "≤ 50 µs", ok = pct(times, 0.5) <= 50 }
  t:set_filter({ pattern = "web" })
  times = {}
  for k = 1, M do
    local row = pod(rnd(N), nil, STATUS[rnd(#STATUS)])
    local t0 = clock()
    t:upsert(row)
    times[k] = (clock() - t0) * 1e6
  end
  report{ name = "table: upsert under a filter (median)" .. sfx, value = pct(times, 0.5), unit = "µs",
          target = "≤ 50 µs", ok = pct(times, 0.5) <= 50 }
  t:set_filter(nil)
  times = {}
  for k = 1, M do
    local id = pod(rnd(N)).id
    local t0 = clock()
    t:remove(id)
    times[k] = (clock() - t0) * 1e6
  end
  report{ name = "table: remove at 50k (median)" .. sfx, value = pct(times, 0.5), unit = "µs", target = "≤ 50 µs",
          ok = pct(times, 0.5) <= 50 }
  ms_row("table: view(200, 50) p99 after the events" .. sfx, (view_pcts(t, 200, 50, 500)), 1)
end

local interp_only = args[1] == "--interp"
if not interp_only then round("") end
if interp_only or b then
  jit.off()
  jit.flush()
  round("[JIT off]")
  jit.on()
end
