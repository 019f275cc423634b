-- hello — the sample plugin: one command, its own store, one event.
local M = {}

vcli.command({
  name = "hello",
  summary = "Greet someone and count the greetings",
  flags = { { name = "loud", short = "l", type = "bool", help = "shout" } },
  args = { { name = "name", optional = true, help = "who to greet (default: world)" } },
  handler = function(ctx)
    local who = ctx.args.name or "world"
    local n = tonumber(vcli.store.get("count") or "0") + 1
    vcli.store.put("count", tostring(n))
    local msg = ("hello, %s (%d)"):format(who, n)
    if ctx.flags.loud then msg = msg:upper() end
    ctx.print(msg)
    vcli.events.publish("hello.greeted", { who = who, count = n })
  end,
})

function M.health()
  return true
end

return M
