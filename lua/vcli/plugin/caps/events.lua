-- caps/events.lua — events: the bus (vcli.plugin.bus). Topics are
-- dot-separated; in patterns `*` is one segment, `**` anything.
--   plugin.yaml:  - events
--   plugin side:  vcli.events.publish(topic, data), .subscribe(pattern, fn(data, topic)) -> id,
--                 .unsubscribe(id), .request(topic, data, timeout_ms) -> answer, .respond(topic, fn(data, topic))
local R = require("vcli.plugin.runtime")
local bus = require("vcli.plugin.bus")

local C = { name = "events", summary = "publish and subscribe on the event bus; requests and responders",
            grant = "- events", api = { "vcli.events.publish", "vcli.events.subscribe", "vcli.events.unsubscribe",
            "vcli.events.request", "vcli.events.respond" } }
C.options = {}
C.ops = { publish = "now", subscribe = "now", unsubscribe = "now", request = "wait", respond = "now" }
C.host = {}
local H = C.host

function H.publish(_, topic, payload) bus.publish(topic, payload) return true end
function H.subscribe(p, pattern, id)
  local sid = bus.subscribe(pattern, function(payload, topic) return R.invoke(p, "event", id, topic, payload) end, p)
  bus.subscriptions()[sid].plugin_sub = id
  p.subs = p.subs or {}
  p.subs[id] = true
end
function H.unsubscribe(p, id)
  for sid, s in pairs(bus.subscriptions()) do
    if s.owner == p and s.plugin_sub == id then bus.unsubscribe(sid) end
  end
end
function H.request(_, topic, payload, timeout_ms) return bus.request(topic, payload, timeout_ms) end
function H.respond(p, topic)
  bus.respond(topic, function(payload) return R.invoke(p, "request", topic, payload) end, p)
end

-- Subscriptions and responders go with the plugin's state (every plugin's:
-- core's stop hook calls this too, for plugins that lost the grant on reload).
function C.stopped(p) bus.remove_owner(p) end

function C.plugin(vcli, api)
  local host, await, D = api.host, api.await, api.dispatch
  local subs, responders = {}, {}
  vcli.events = {
    publish = function(topic, payload) return host("events", "publish", topic, payload) end,
    subscribe = function(pattern, fn)
      assert(type(fn) == "function", "vcli.events.subscribe: handler function expected")
      local id = api.new_id()
      subs[id] = fn
      host("events", "subscribe", pattern, id)
      return id
    end,
    unsubscribe = function(id)
      subs[id] = nil
      host("events", "unsubscribe", id)
    end,
    request = function(topic, payload, timeout_ms) return await("events", "request", topic, payload, timeout_ms) end,
    respond = function(topic, fn)
      responders[topic] = fn
      host("events", "respond", topic)
    end,
  }
  function D.event(id, topic, payload)
    local fn = subs[id]
    if fn then return fn(payload, topic) end
  end
  function D.request(topic, payload)
    local fn = responders[topic]
    if not fn then error(("plugin %s: no responder for '%s'"):format(api.name, topic), 0) end
    return fn(payload, topic)
  end
end

return C
