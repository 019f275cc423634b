-- The capability registry (vcli.plugin.caps): one file per capability, the
-- names the manifest, the prelude and the host door read; typos refused with
-- "did you mean"; an ungranted capability, an fs.read denial and a broken
-- manifest each say what to do; `plugin logs`.
local pm = require("vcli.plugin")
local caps = require("vcli.plugin.caps")
local manifest = require("vcli.plugin.manifest")
local shell = require("vcli.shell")
local async = require("vcli.async")

local dir, plugdir

local function run(line)
  local status, out, err = shell.capture(function() return shell.execute(line) end)
  return out .. err, status
end

local function parse(caps_yaml)
  return manifest.parse("name: x\nversion: 1.0.0\ncapabilities:\n" .. caps_yaml, "x.yaml")
end

-- nogrant: every API of a capability it lacks, one subcommand each
local NOGRANT_INIT = [[
local function sub(name, fn) return { name = name, summary = name, handler = fn } end
vcli.command({ name = "nogrant", summary = "uses what it was not granted", subcommands = {
  sub("exec", function() return vcli.exec({ "true" }) end),
  sub("fswrite", function() return vcli.fs.write("/tmp/x", "y") end),
  sub("fsread", function() return vcli.fs.read("/etc/hostname") end),
  sub("config", function() return vcli.config.get() end),
  sub("clipboard", function() return vcli.clipboard.copy("x") end),
  sub("terminal", function() return vcli.terminal.open({}) end),
  sub("http", function() return vcli.http.get("http://127.0.0.1/") end),
  sub("other", function() local t = {} return t.exec() end),
  sub("denied", function(ctx) ctx.print(vcli.fs.read("/etc/hostname")) end),
  { name = "log", summary = "log", args = { { name = "word" } },
    handler = function(ctx) vcli.log("line", ctx.args.word) end },
} })
return {}
]]

before_all(function()
  dir = spec.tmpdir()
  plugdir = dir .. "/plugins"
  os.execute("mkdir -p " .. plugdir .. "/nogrant " .. plugdir .. "/brk " .. dir .. "/allowed")
  spec.write(plugdir .. "/nogrant/plugin.yaml", ([[
name: nogrant
version: 1.0.0
capabilities:
  - fs.read: { paths: ["%s/allowed", "/nowhere"] }
commands:
  - name: nogrant
    summary: uses what it was not granted
]]):format(dir))
  spec.write(plugdir .. "/nogrant/init.lua", NOGRANT_INIT)
  spec.write(plugdir .. "/brk/plugin.yaml",
    "name: brk\nversion: 1.0.0\ncapabilities: [evnts]\ncommands: [{name: brk-go, summary: go}]\n")
  spec.write(plugdir .. "/brk/init.lua", "return {}\n")
  pm.discover({ { dir = plugdir, kind = "spec" } }, { cache = false })
  require("vcli.plugin.cli").define()
  -- each denial below is a fault of the plugin's; the breaker would open after five
  assert(pm.start("nogrant"))
  pm.get("nogrant").breaker = require("vcli.plugin.resilience").breaker({ name = "nogrant", threshold = 1000 })
end)

after_all(function()
  for _, n in ipairs(pm.names()) do pm.stop(n) end
  if dir then os.execute("rm -rf '" .. dir .. "'") end
end)

describe("the capability registry", function()
  it("every capability is one file: name, grant, api, options, operations and their host side agree", function()
    local H = caps.host_table()
    for _, name in ipairs(caps.NAMES) do
      local C = caps.get(name)
      assert.equal(name, C.name)
      assert.matches("^%- " .. name:gsub("%p", "%%%0"), C.grant)
      assert.truthy(type(C.api) == "table" and #C.api > 0, name .. ": api")
      assert.truthy(type(C.options) == "table", name .. ": options")
      for op, how in pairs(C.ops) do
        assert.truthy(how == "wait" or how == "now", name .. "." .. op .. ": wait or now")
        assert.equal("function", type(H[name][op]), name .. "." .. op .. " has a host side")
      end
      for op in pairs(H[name]) do assert.truthy(C.ops[op], name .. "." .. op .. " is a declared operation") end
    end
    -- the plugin side of every capability loads in a plugin state
    local data = caps.plugin_data(caps.NAMES)
    assert.equal(#caps.NAMES + 1, #data.caps)
    for _, c in ipairs(data.caps) do
      if c.src then assert.truthy(loadstring(c.src, c.chunk), c.name .. "'s plugin side compiles") end
    end
  end)

  it("a plugin state is given the registry's capabilities and modules, nothing listed twice", function()
    local data = caps.plugin_data({ "store", "kube" })
    local names = {}
    for _, c in ipairs(data.caps) do names[#names + 1] = c.name end
    assert.same({ "core", "store" }, names)
    assert.truthy(data.service, "a granted service gets the service proxy")
    assert.same(caps.NAMES, data.builtin)
  end)

  it("the sandbox's one deny-list is what plugins are refused, by name", function()
    local denied = require("vcli.sandbox").DENIED
    assert.truthy(#denied >= 10)
    for _, k in ipairs(denied) do
      local ok, err = pcall(pm.invoke, (function() assert(pm.start("nogrant")) return pm.get("nogrant") end)(),
        "eval", "return " .. k)
      assert.falsy(ok, k)
      assert.matches("'" .. k .. "' is not available to plugins", tostring(err))
    end
  end)
end)

describe("manifest typos", function()
  it("an unknown capability close to a real one is refused with did you mean", function()
    local m, err = parse("  - evnts\n")
    assert.falsy(m)
    assert.equal("x.yaml:4: capabilities: unknown capability 'evnts' (did you mean events?)", err)
    assert.falsy((parse("  - fs.raed: { paths: [/] }\n")))
  end)
  it("an unknown option is refused at its line, with did you mean and the options there are", function()
    local m, err = parse("  - net:\n      hosts: [a]\n      hsts: [b]\n")
    assert.falsy(m)
    assert.equal("x.yaml:6: capabilities.net.hsts: unknown option (did you mean hosts?) (net takes hosts, listen)", err)
    local _, err2 = parse("  - events: { verbose: true }\n")
    assert.matches("capabilities%.events%.verbose: unknown option: events takes none %(capabilities: %- events%)", err2)
  end)
  it("service names are still granted (kube, prom, and another plugin's provides)", function()
    local m = assert(parse("  - kube\n  - greeter\n"))
    assert.same({ "greeter", "kube" }, m.grants)
  end)
  it("options keep their checks (from the capability's own file)", function()
    local _, err = parse("  - store: { quota: lots }\n")
    assert.matches("x%.yaml:4: capabilities%.store%.quota: 'lots' is not a size", err)
    local _, err2 = parse("  - exec: { commands: kubectl }\n")
    assert.matches("capabilities%.exec%.commands: must be a list", err2)
  end)
end)

describe("denials say what to do", function()
  local function grant_sentence(sub, used, cap, line)
    local out, status = run("nogrant " .. sub)
    assert.equal(1, status, out)
    assert.matches(("nogrant/init.lua:%%d+: %s needs the %s capability, which plugin nogrant is not granted: "
      .. "add it to capabilities: in .-/nogrant/plugin.yaml %%(%s%%)"):format(used:gsub("%.", "%%."),
      cap:gsub("%.", "%%."), line:gsub("%p", "%%%0")), out)
  end
  it("an ungranted capability names the manifest line that grants it", function()
    grant_sentence("exec", "vcli.exec", "exec", "- exec: { commands: [PROGRAM] }")
    grant_sentence("fswrite", "vcli.fs.write", "fs.write", "- fs.write: { paths: [DIR] }")
    grant_sentence("config", "vcli.config", "config", "- config: { read: [SECTION] }")
    grant_sentence("clipboard", "vcli.clipboard", "clipboard", "- clipboard")
    grant_sentence("terminal", "vcli.terminal", "terminal", "- terminal")
    grant_sentence("http", "vcli.http", "net", '- net: { hosts: [HOST, "*.DOMAIN"] }')
  end)
  it("a nil field that is no capability's API keeps Lua's own message", function()
    local out = run("nogrant other")
    assert.matches("attempt to call field 'exec' %(a nil value%)", out)
    assert.falsy(out:find("capability", 1, true))
  end)
  it("an fs.read denial lists the granted paths", function()
    local out = run("nogrant denied")
    assert.matches(("plugin nogrant may not read '/etc/hostname' %%(capabilities: fs.read: paths: %%[%s/allowed, /nowhere%%]%%)")
      :format(dir:gsub("%p", "%%%0")), out)
  end)
  it("a broken manifest says why where its command is used", function()
    local out, status = run("brk-go now")
    assert.equal(1, status)
    assert.matches("'brk%-go' is plugin brk's command, and the plugin cannot run: .-brk/plugin%.yaml:3: capabilities: "
      .. "unknown capability 'evnts' %(did you mean events%?%)", out)
    assert.falsy(run("help"):find("brk-go", 1, true), "the stub is not listed")
  end)
end)

describe("plugin logs", function()
  it("shows what the plugin gave vcli.log, and -f follows until Ctrl-C", function()
    assert.equal(0, select(2, run("nogrant log one")))
    local out = run("plugin logs nogrant")
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ line one\n$", out)
    local got = {}
    local ctx = { args = { name = "nogrant" }, flags = { follow = true }, print = function(s) got[#got + 1] = s end,
                  err = function() end }
    local handler = require("vcli.shell.commands").get("plugin").sub_by_name.logs.handler
    local task = async.spawn(function() return handler(ctx) end)
    assert.equal(1, #got)
    run("nogrant log two")
    spec.eventually(function() return #got == 2 end, 2000, "the followed line")
    assert.matches("line two$", got[2])
    task:cancel("interrupted")
    assert.truthy(task.done)
    assert.equal(130, task.results[1])
  end)
  it("says so when a plugin has logged nothing, and refuses an unknown name", function()
    local out, status = run("plugin logs brk")
    assert.equal(0, status)
    assert.matches("plugin brk has logged nothing", out)
    local out2, status2 = run("plugin logs nosuch")
    assert.equal(1, status2)
    assert.matches("no plugin named 'nosuch'", out2)
  end)
end)

describe("plugin test stubs", function()
  it("a stub of an operation that waits may return its answer directly", function()
    local H = pm.handlers
    local old = H.core.sleep
    H.core.sleep = function() return "stubbed" end
    local ok, v = pcall(pm.invoke, pm.get("nogrant"), "eval", "return vcli.sleep(10)")
    H.core.sleep = old
    assert.truthy(ok, v)
    assert.equal("stubbed", v)
  end)
end)
