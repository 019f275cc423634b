-- vcli.plugin.bus — the event bus between plugins and the shell.
--   bus.subscribe("kube.pod.*", fn, owner) -> id     ("*" one segment, "**" any)
--   bus.publish(topic, payload)                       async: delivered from the loop
--   bus.respond(topic, fn, owner); bus.request(topic, payload, timeout_ms) -> result
-- Payloads are copied (plain data only), so no subscriber shares a table
-- with the publisher. A handler that errors is counted and the others still
-- get the event.
local loop = require("vcli.loop")
local async = require("vcli.async")
local copy = require("vcli.sandbox").copy
local S = require("vcli.state")("vcli.plugin.bus")

local M = {}
S.subs = S.subs or {}           -- id -> { pattern=, match=, fn=, owner=, errors= }
S.responders = S.responders or {} -- topic -> { fn=, owner= }
S.next_id = S.next_id or 0
S.stats = S.stats or { published = 0, delivered = 0, errors = 0 }
S.errors_by_owner = S.errors_by_owner or {}

function M.glob(pattern)
  local p = pattern:gsub("[%^%$%(%)%%%.%[%]%+%-%?]", "%%%0")
  p = p:gsub("%*%*", "\1"):gsub("%*", "[^.]*"):gsub("\1", ".*")
  return "^" .. p .. "$"
end

function M.subscribe(pattern, fn, owner)
  assert(type(pattern) == "string" and pattern ~= "", "bus.subscribe: topic pattern expected")
  S.next_id = S.next_id + 1
  S.subs[S.next_id] = { pattern = pattern, match = M.glob(pattern), fn = fn, owner = owner or "core", errors = 0, delivered = 0 }
  return S.next_id
end

function M.unsubscribe(id) S.subs[id] = nil end

function M.remove_owner(owner)
  for id, s in pairs(S.subs) do if s.owner == owner then S.subs[id] = nil end end
  for t, r in pairs(S.responders) do if r.owner == owner then S.responders[t] = nil end end
end

function M.count(owner)
  local n = 0
  for _, s in pairs(S.subs) do if not owner or s.owner == owner then n = n + 1 end end
  return n
end

local function deliver(topic, payload)
  for _, s in pairs(S.subs) do
    if topic:find(s.match) then
      -- Each handler runs as its own task: one that waits or fails holds up no other.
      async.spawn(function()
        local ok, err = pcall(s.fn, copy(payload), topic)
        if ok then
          s.delivered = s.delivered + 1
          S.stats.delivered = S.stats.delivered + 1
        else
          s.errors = s.errors + 1
          S.stats.errors = S.stats.errors + 1
          S.errors_by_owner[s.owner] = (S.errors_by_owner[s.owner] or 0) + 1
          s.last_error = tostring(err)
        end
      end)
    end
  end
end

-- Listeners that want to know a topic is about to be published (lazy start).
S.before = S.before or {}
function M.before_publish(fn) table.insert(S.before, fn) end

function M.publish(topic, payload)
  assert(type(topic) == "string" and topic ~= "", "bus.publish: topic expected")
  payload = copy(payload)
  S.stats.published = S.stats.published + 1
  if S.recording then table.insert(S.recorded, { topic = topic, payload = copy(payload) }) end
  loop.timer(0, function()
    async.spawn(function()
      for _, fn in ipairs(S.before) do pcall(fn, topic) end
      deliver(topic, payload)
    end)
  end)
end

function M.respond(topic, fn, owner)
  S.responders[topic] = { fn = fn, owner = owner or "core" }
end

function M.request(topic, payload, timeout_ms)
  timeout_ms = timeout_ms or 5000
  for _, fn in ipairs(S.before) do pcall(fn, topic) end
  local r = S.responders[topic]
  if not r then error(("bus: no responder for '%s'"):format(topic), 0) end
  payload = copy(payload)
  local ok, v = async.await(function(resume)
    local done = false
    local t = loop.timer(timeout_ms, function()
      if done then return end
      done = true
      resume(false, ("bus: request '%s' timed out after %d ms"):format(topic, timeout_ms))
    end)
    async.spawn(function()
      local rok, rv = pcall(r.fn, payload, topic)
      if done then return end
      done = true
      t:stop()
      resume(rok, rv)
    end)
    return function() done = true; t:stop() end
  end)
  if not ok then error(v, 0) end
  return v
end

function M.stats() return S.stats, S.errors_by_owner end
function M.subscriptions() return S.subs end

-- Test harness: record what is published.
function M.record(on)
  S.recording = on and true or nil
  S.recorded = {}
  return S.recorded
end
function M.recorded() return S.recorded or {} end

return M
