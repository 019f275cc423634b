-- vcli.resilience — retries with exponential backoff and jitter, a circuit
-- breaker and a token-bucket rate limiter. Used by the plugin manager (one
-- breaker per plugin), by the network layer and, as require("vcli.resilience"),
-- inside plugins. Clocks are injectable so specs need not wait.
local M = {}

local function default_now()
  local ok, vm = pcall(require, "vcli.vm")
  if ok and vm.now then return vm.now() end
  return (vcli and vcli.now) and vcli.now() or os.clock() * 1000
end
local function default_sleep(ms)
  if vcli and vcli.sleep then return vcli.sleep(ms) end
  return require("vcli.async").sleep(ms)
end

-- M.retry(fn, {attempts=5, base_ms=100, max_ms=10000, factor=2, jitter=0.5,
--              retry_if=function(err) end, on_retry=, sleep=, random=})
--   -> fn(attempt)'s results | the last attempt's error
function M.retry(fn, opts)
  opts = opts or {}
  local attempts = opts.attempts or 5
  local base, max, factor = opts.base_ms or 100, opts.max_ms or 10000, opts.factor or 2
  local jitter = opts.jitter or 0.5
  local sleep, random = opts.sleep or default_sleep, opts.random or math.random
  local last
  for i = 1, attempts do
    local res = { pcall(fn, i) }
    if res[1] then return unpack(res, 2, table.maxn(res)) end
    last = res[2]
    if opts.retry_if and not opts.retry_if(last) then break end
    if i < attempts then
      local delay = math.min(max, base * factor ^ (i - 1))
      delay = delay * (1 - jitter + 2 * jitter * random())
      if opts.on_retry then opts.on_retry(i, delay, last) end
      sleep(delay)
    end
  end
  error(last, 0)
end

-- Circuit breaker: closed → (failures ≥ threshold) → open → (after reset_ms)
-- half-open → (success_threshold successes) closed | (a failure) open.
local Breaker = {}
Breaker.__index = Breaker

function M.breaker(opts)
  opts = opts or {}
  return setmetatable({
    name = opts.name or "breaker",
    threshold = opts.threshold or 5,
    reset_ms = opts.reset_ms or 30000,
    success_threshold = opts.success_threshold or 1,
    now = opts.now or default_now,
    on_change = opts.on_change,
    state = "closed", failures = 0, successes = 0, opened_at = 0, trips = 0,
  }, Breaker)
end

function Breaker:_set(state)
  if self.state == state then return end
  local prev = self.state
  self.state = state
  if state == "open" then self.opened_at = self.now(); self.trips = self.trips + 1 end
  if state ~= "half-open" then self.successes = 0 end
  if state == "closed" then self.failures = 0 end
  if self.on_change then self.on_change(state, prev) end
end

-- Whether a call may go through now (moves open → half-open when due).
function Breaker:allow()
  if self.state == "open" and self.now() - self.opened_at >= self.reset_ms then self:_set("half-open") end
  return self.state ~= "open"
end

function Breaker:success()
  if self.state == "half-open" then
    self.successes = self.successes + 1
    if self.successes >= self.success_threshold then self:_set("closed") end
  else
    self.failures = 0
  end
end

function Breaker:failure()
  if self.state == "half-open" then self:_set("open") return end
  self.failures = self.failures + 1
  if self.state == "closed" and self.failures >= self.threshold then self:_set("open") end
end

-- breaker:call(fn, ...) -> fn's results | error "circuit NAME is open"
function Breaker:call(fn, ...)
  if not self:allow() then
    error(("circuit %s is open (retry in %d ms)"):format(self.name,
      math.max(0, self.reset_ms - (self.now() - self.opened_at))), 0)
  end
  local res = { n = select("#", ...), pcall(fn, ...) }
  if res[1] then self:success() return unpack(res, 2, table.maxn(res)) end
  self:failure()
  error(res[2], 0)
end

function Breaker:status()
  self:allow()
  return { state = self.state, failures = self.failures, trips = self.trips }
end

-- Token bucket: rate tokens per second, up to burst.
local Limiter = {}
Limiter.__index = Limiter

function M.limiter(opts)
  opts = opts or {}
  local l = setmetatable({ rate = opts.rate or 10, burst = opts.burst or opts.rate or 10,
                           now = opts.now or default_now, sleep = opts.sleep or default_sleep }, Limiter)
  l.tokens, l.at = l.burst, l.now()
  return l
end

function Limiter:_refill()
  local t = self.now()
  self.tokens = math.min(self.burst, self.tokens + (t - self.at) * self.rate / 1000)
  self.at = t
end

-- take(n) -> true | false, ms until n tokens are there
function Limiter:take(n)
  n = n or 1
  self:_refill()
  if self.tokens >= n then self.tokens = self.tokens - n return true end
  return false, (n - self.tokens) * 1000 / self.rate
end

-- wait(n): sleeps until the tokens are there, then takes them.
function Limiter:wait(n)
  while true do
    local ok, ms = self:take(n)
    if ok then return true end
    self.sleep(ms)
  end
end

return M
