-- A plugin's modules are text; what the parser makes of them is kept in the
-- host's bytecode cache (core/host.c, keyed by exactly the text read), so a
-- plugin starts without parsing its sources again. These run vcli as a user
-- does, with a plugin of their own on VCLI_PLUGIN_PATH.
local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

describe("plugin modules through the bytecode cache", function()
  local home, pdir
  local function vcli(cmd, env)
    return spec.sh(("cd %s && env HOME=%s XDG_CACHE_HOME=%s/c XDG_STATE_HOME=%s/s VCLI_PLUGIN_PATH=%s %s %s --norc -c %s 2>&1")
      :format(shq(home), shq(home), shq(home), shq(home), shq(pdir), env or "", spec.vcli, shq(cmd)))
  end
  local function entries()
    local out = spec.sh("ls " .. shq(home .. "/c/vcli/bc") .. " 2>/dev/null | grep -c '^p.*\\.bc$'")
    return tonumber(out:match("%d+")) or 0
  end
  local function write_module(body)
    spec.write(pdir .. "/bcplug/bcplug/words.lua", body)
  end

  before_each(function()
    home = spec.tmpdir()
    pdir = home .. "/plugins"
    os.execute("mkdir -p " .. shq(pdir .. "/bcplug/bcplug"))
    spec.write(pdir .. "/bcplug/plugin.yaml", [[
name: bcplug
version: 0.1.0
description: a plugin whose module comes from the bytecode cache
vcli: ">=0.1"
commands:
  - name: bcword
    summary: says its module's word
]])
    spec.write(pdir .. "/bcplug/init.lua", [[
vcli.command{ name = "bcword", summary = "says its module's word", args = { { name = "what", optional = true } },
  handler = function(ctx)
  local words = require("bcplug.words")
  if ctx.args.what == "fail" then words.fail() end
  ctx.print(words.word)
end }
]])
    write_module('local M = { word = "first" }\n\nfunction M.fail()\n  error("broken on purpose")\nend\n\nreturn M\n')
  end)
  after_each(function() if home then os.execute("rm -rf " .. shq(home)) end end)

  it("keeps the modules' bytecode after a start, and the next start runs it", function()
    local out, rc = vcli("bcword")
    assert.equal(0, rc, out)
    assert.equal("first\n", out)
    local n = entries()
    assert.truthy(n >= 2, "the plugin's entry and module cached: " .. n)
    out, rc = vcli("bcword")
    assert.equal(0, rc, out)
    assert.equal("first\n", out)
    assert.equal(n, entries())   -- read, not made again
  end)

  it("an edited module runs its new text, not what was cached", function()
    assert.equal("first\n", (vcli("bcword")))
    write_module('return { word = "second" }\n')
    assert.equal("second\n", (vcli("bcword")))
  end)

  it("an error in a cached module still names its file and line", function()
    vcli("bcword")
    local out, rc = vcli("bcword fail", "VCLI_DEBUG=1")
    assert.equal(1, rc, out)
    assert.matches("bcplug/bcplug/words%.lua:4: broken on purpose", out)
  end)

  it("a cache directory others may write is not read from (the modules are parsed)", function()
    assert.equal("first\n", (vcli("bcword")))
    -- an entry made where it should not be: the module's, replaced by another text's bytecode
    os.execute("chmod 777 " .. shq(home .. "/c/vcli/bc"))
    local planted = string.dump(function() return { word = "planted" } end)
    for f in spec.sh("ls " .. shq(home .. "/c/vcli/bc")):gmatch("(p%x+%.bc)") do spec.write(home .. "/c/vcli/bc/" .. f, planted) end
    assert.equal("first\n", (vcli("bcword")))
    os.execute("chmod 700 " .. shq(home .. "/c/vcli/bc"))
  end)

  it("VCLI_NO_BYTECODE_CACHE=1: nothing is kept, the plugin runs", function()
    local out, rc = vcli("bcword", "VCLI_NO_BYTECODE_CACHE=1")
    assert.equal(0, rc, out)
    assert.equal("first\n", out)
    assert.equal(0, entries())
  end)
end)
