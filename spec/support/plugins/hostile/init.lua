-- A plugin written to break out: each trap is armed by `hostile --arm NAME`
-- (kept in its store, so it holds across calls) and sprung by the host
-- calling in — a completer, the health check, an event handler, a service.
local function armed(name) return vcli.store.get("trap") == name end
local function spin() while true do end end

vcli.command({
  name = "hostile", summary = "hostile traps",
  args = { { name = "what", optional = true, complete = function()
    if armed("complete") then spin() end
    if armed("complete-error-table") then error(setmetatable({}, { __tostring = spin })) end
    return { "alpha", "beta" }
  end } },
  flags = { { name = "arm", type = "string", metavar = "TRAP", help = "arm a trap" } },
  handler = function(ctx)
    if ctx.flags.arm then vcli.store.put("trap", ctx.flags.arm); ctx.print("armed " .. ctx.flags.arm) return 0 end
    ctx.print("hostile " .. tostring(ctx.args.what))
    return 0
  end,
})

vcli.events.subscribe("hostile.loop", function() spin() end)

-- re-entrancy: a service of its own, called from inside its own call (the
-- host calls back into the plugin while the plugin waits on the host)
vcli.provide("hostile_svc", {
  ping = function(n) return "pong " .. tostring(n) end,
  spin = function() spin() end,
})

return {
  health = function()
    if armed("health") then spin() end
    return true
  end,
}
