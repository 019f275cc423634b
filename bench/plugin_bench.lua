-- Plugins: command round trip, start, hot reload, start-up with 50 plugins.
local pm = require("vcli.plugin")
local shell = require("vcli.shell")
local async = require("vcli.async")

local tmp = io.popen("mktemp -d /tmp/vcli-bench-plugins.XXXXXX"):read("*l")
os.execute("mkdir -p " .. tmp .. "/many " .. tmp .. "/one/bp")
local function write(path, s) local f = assert(io.open(path, "w")) f:write(s) f:close() end
write(tmp .. "/one/bp/plugin.yaml", "name: bp\nversion: 1.0.0\ncommands: [{name: bp-echo, summary: echo}]\n")
write(tmp .. "/one/bp/init.lua",
  "vcli.command({name='bp-echo', args={{name='x', optional=true}}, handler=function(c) c.out(c.args.x or '') end})\nreturn {}\n")
for i = 1, 50 do
  local d = ("%s/many/p%02d"):format(tmp, i)
  os.execute("mkdir -p " .. d)
  write(d .. "/plugin.yaml", ("name: p%02d\nversion: 1.0.0\ndescription: bench plugin\ncapabilities: [events]\n"
    .. "commands: [{name: p%02d-cmd, summary: a command}]\n"):format(i, i))
  write(d .. "/init.lua", "return {}\n")
end
-- Installed plugins are not seconds old; the manifest cache leaves out
-- files younger than 2 s (see vcli.plugin.manifest).
os.execute("touch -d '-1 minute' " .. tmp .. "/many/*/plugin.yaml")

async.run(function()
  pm.discover({ { dir = tmp .. "/one", kind = "bench" } })
  assert(pm.start("bp"))
  local spec = require("vcli.shell.commands").get("bp-echo")
  local ctx = { args = { x = "y" }, flags = {}, positional = { "y" } }
  local N = 20000
  local function per_call()
    local t0 = require("vcli.vm").now()
    shell.capture(function() for _ = 1, N do spec.handler(ctx) end end)
    return (require("vcli.vm").now() - t0) / N * 1000
  end
  per_call()
  local t = {}
  for i = 1, 5 do t[i] = per_call() end
  table.sort(t)
  bench.report({ name = "plugin command round trip (handler → plugin state → output)", value = t[3], unit = "µs",
                 target = "≤ 5 µs", ok = t[3] <= 5 })
  local line = bench.time(function() shell.capture(function() shell.execute("bp-echo y") end) end, 2000) * 1000
  bench.report({ name = "plugin command from a shell line (parse + call)", value = line, unit = "µs" })
  local start = bench.time(function() pm.stop("bp"); assert(pm.start("bp")) end, 200)
  bench.report({ name = "plugin start (state + load + init)", value = start, unit = "ms", target = "≤ 2 ms", ok = start <= 2 })
  local rl = bench.time(function() assert(pm.reload("bp")) end, 200)
  bench.report({ name = "plugin hot reload", value = rl, unit = "ms", target = "≤ 20 ms", ok = rl <= 20 })
end, 60000)

local env0 = ("env HOME=%s XDG_DATA_HOME=%s/none XDG_DATA_DIRS=%s/none "):format(tmp, tmp, tmp)
local none = bench.hyperfine(env0 .. bench.vcli .. " --norc -c ''", 100)
local many = bench.hyperfine(env0 .. "VCLI_PLUGIN_PATH=" .. tmp .. "/many " .. bench.vcli .. " --norc -c ''", 100)
bench.report({ name = "start-up, no plugins", value = none, unit = "ms" })
bench.report({ name = "start-up with 50 plugins (lazy, manifest cache) minus none", value = many - none, unit = "ms",
               target = "≤ 2 ms", ok = many - none <= 2 })
os.execute("rm -rf " .. tmp)
