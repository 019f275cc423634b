-- testee: one command over its fetch module; spec/ tests both.
local fetch = require("fetch")

vcli.command({
  name = "tst",
  summary = "Fetch a URL's status (tst URL)",
  args = { { name = "url" } },
  handler = function(ctx)
    local status, body = fetch.get(ctx.args.url)
    if not status then
      ctx.err("tst: " .. tostring(body) .. "\n")
      return 1
    end
    ctx.print(status .. " " .. body)
    vcli.events.publish("tst.fetched", { url = ctx.args.url, status = status })
    return 0
  end,
})

return {}
