-- vcli.plugin.scaffold — `plugin new NAME`: a working plugin to start from.
local M = {}

local FILES = {
  ["plugin.yaml"] = [[
name: {name}
version: 0.1.0
description: {name} — a vcli plugin
author: you
license: MIT
vcli: ">=0.1.0"
capabilities:
  - store: { quota: 1MiB }
  - events
limits:
  memory: 16MiB
  cpu_ms_per_call: 1000
commands:
  - name: {name}
    summary: Say hello from {name}
]],
  ["init.lua"] = [[
-- {name}: one command to start from (see docs/plugins.md).
local M = {}

vcli.command({
  name = "{name}",
  summary = "Say hello from {name}",
  args = { { name = "who", optional = true, help = "who to greet" } },
  handler = function(ctx)
    ctx.print("hello from {name}, " .. (ctx.args.who or "world"))
    vcli.events.publish("{name}.greeted", { who = ctx.args.who or "world" })
  end,
})

function M.health() return true end

return M
]],
  ["spec/{name}_spec.lua"] = [[
describe("{name}", function()
  it("greets", function()
    assert.matches("hello from {name}, vcli", run("{name} vcli"))
  end)
  it("publishes {name}.greeted", function()
    run("{name}")
    assert.truthy(wait_event("{name}.greeted"))
  end)
end)
]],
  ["README.md"] = [[
# {name}

A vcli plugin. `vcli {name} [WHO]` greets. Edit `init.lua`; the running shell
reloads it. `vcli plugin test {name}` runs `spec/`.
]],
}

function M.new(name, dir)
  if not name:match("^[a-z][a-z0-9_%-]*$") then
    error(("plugin new: '%s' must be lower-case letters, digits, '-' or '_', starting with a letter"):format(name), 0)
  end
  local pm = require("vcli.plugin")
  -- its command would be refused (the name is taken): say so now, not after
  local taken = require("vcli.shell.commands").get(name)
  if taken then
    error(("plugin new: '%s' is already a command (%s's): choose another name")
      :format(name, require("vcli.plugin.discovery").owner_label(taken.owner)), 0)
  end
  dir = dir or (pm.data_home() .. "/vcli/plugins/" .. name)
  local fs = require("vcli.fs")
  if fs.stat(dir) then error(("plugin new: %s already exists"):format(dir), 0) end
  local ok, err = fs.mkdir_p(dir .. "/spec")
  if not ok then error("plugin new: " .. err, 0) end
  for rel, body in pairs(FILES) do
    local path = dir .. "/" .. rel:gsub("{name}", name)
    local f = assert(io.open(path, "w"))
    f:write((body:gsub("{name}", name)))
    f:close()
  end
  return dir
end

return M
