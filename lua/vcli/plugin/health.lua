-- vcli.plugin.health — what `plugin stats` and `plugin health` show: memory,
-- CPU, calls, errors, latency percentiles, the breaker; health hooks, and
-- the periodic checks the interactive shell runs.
local R = require("vcli.plugin.runtime")
local bus = require("vcli.plugin.bus")
local async = require("vcli.async")
local loop = require("vcli.loop")
local S = R.S

local M = {}

local function percentile(list, q)
  local t = {}
  for _, v in pairs(list) do table.insert(t, v) end
  if #t == 0 then return nil end
  table.sort(t)
  return t[math.max(1, math.ceil(#t * q))]
end

function M.stats(name)
  local p = S.plugins[name]
  if not p then return nil end
  local st = p.sb and not p.sb:closed() and p.sb:stats() or {}
  local timers = 0
  for _ in pairs(p.timers) do timers = timers + 1 end
  return {
    name = p.name, state = p.state, memory = st.memory or 0, peak = st.peak or 0, limit = st.limit or p.m and p.m.limits.memory,
    cpu_ms = st.cpu_ms or 0, calls = p.calls, errors = p.errors,
    p50 = percentile(p.lat, 0.5), p99 = percentile(p.lat, 0.99),
    breaker = p.breaker and p.breaker:status().state or "closed",
    subscriptions = bus.count(p), timers = timers,
  }
end

function M.check_health(name)
  local p = S.plugins[name]
  if not p or p.state ~= "running" then return nil end
  local ok, a, b = pcall(R.invoke, p, "hook", "health")
  local h
  if not ok then h = { ok = false, msg = tostring(a) }
  elseif a == nil and b == "absent" then h = { ok = true, msg = "no health hook" }
  elseif a == false or type(a) == "string" then h = { ok = false, msg = type(a) == "string" and a or tostring(b or "unhealthy") }
  else h = { ok = true, msg = "ok" } end
  h.at = os.time()
  p.health = h
  return h
end

-- Periodic checks on the loop (the interactive shell starts them). The
-- timer lives in the state table so that reloading this module (whose code
-- then runs again) stops the old chain instead of starting a second one; a
-- tick from a superseded chain sees a newer generation and ends itself.
function M.start_health_checks(interval_ms)
  interval_ms = interval_ms or 30000
  M.stop_health_checks()
  S.health_gen = (S.health_gen or 0) + 1
  local gen = S.health_gen
  local function tick()
    if S.health_gen ~= gen then return end
    S.health_timer = loop.timer(interval_ms, tick)
    async.spawn(function()
      local names = {}
      for n in pairs(S.plugins) do names[#names + 1] = n end
      table.sort(names)
      for _, n in ipairs(names) do M.check_health(n) end
    end)
  end
  S.health_timer = loop.timer(interval_ms, tick)
  S.health_interval = interval_ms
end

function M.stop_health_checks()
  S.health_gen = (S.health_gen or 0) + 1
  if S.health_timer then S.health_timer:stop() end
  S.health_timer, S.health_interval = nil, nil
end

-- Whether periodic health checks run, and how often (ms).
function M.health_checks() return S.health_interval end

return M
