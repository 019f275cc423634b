-- vcli.sort (a stable order of rows by their keys) and vcli.regex (POSIX
-- extended regular expressions), the C primitives the full-screen tables
-- stand on, in the host and inside a plugin's own state.
local sort = require("vcli.sort")
local regex = require("vcli.regex")
local P = require("vcli.tui.prims")

-- The order the spec expects, in Lua: numbers before strings, then <
-- (LuaJIT compares strings bytewise), ties by index.
local function lua_order(keys, desc)
  local perm = {}
  for i = 1, #keys do perm[i] = i end
  table.sort(perm, function(a, b)
    local ka, kb = keys[a], keys[b]
    if type(ka) ~= "number" and type(ka) ~= "string" then ka = "" end
    if type(kb) ~= "number" and type(kb) ~= "string" then kb = "" end
    local na, nb = type(ka) == "number", type(kb) == "number"
    if na ~= nb then if desc then return nb end return na end
    if ka == kb then return a < b end
    if desc then return ka > kb end
    return ka < kb
  end)
  return perm
end

local function values(keys, perm)
  local out = {}
  for i, p in ipairs(perm) do out[i] = keys[p] end
  return out
end

describe("sort.order", function()
  it("gives the indices in the keys' order, equal keys in index order", function()
    assert.same({ 2, 4, 1, 3 }, sort.order({ "b", "a", "c", "a" }))
    assert.same({}, sort.order({}))
    assert.same({ 1 }, sort.order({ "x" }))
  end)

  it("desc reverses the order, equal keys still in index order", function()
    assert.same({ 3, 1, 5, 2, 4 }, sort.order({ "b", "a", "c", "a", "b" }, true))
  end)

  it("puts numbers (by value) before strings; nil and booleans count as the empty string", function()
    local keys = { "b", 10, "a", 2, false, -1.5, "", 2 }
    assert.same({ 6, 4, 8, 2, 5, 7, 3, 1 }, sort.order(keys))
    assert.same({ 1, 3, 5, 7, 2, 4, 8, 6 }, sort.order(keys, true))
  end)

  it("compares strings bytewise, a prefix first, across long shared prefixes and NUL bytes", function()
    local keys = { "ingress-nginx-controller-b", "ingress-nginx-controller-a", "ingress-nginx-controller",
                   "Zeta", "alpha", "a\0b", "a", "a\0", "é", "e", "ingress-nginx-controller-a" }
    assert.same(lua_order(keys), sort.order(keys))
    assert.same(lua_order(keys, true), sort.order(keys, true))
  end)

  it("sorts 50 000 random keys as a Lua sort does, both ways", function()
    math.randomseed(7)
    local chars = "abcdefgh-0123456789AZ"
    local prefixes = { "", "web-", "ingress-nginx-controller-", "kube-proxy-", "w" }
    local keys = {}
    for i = 1, 50000 do
      local r = math.random(20)
      if r == 1 then keys[i] = math.random(-1000, 1000) / 8
      elseif r == 2 then keys[i] = nil   -- holes: #keys still counts them (keys[50000] is set)
      else
        local t = { prefixes[math.random(#prefixes)] }
        for j = 2, math.random(1, 12) do local c = math.random(#chars) t[j] = chars:sub(c, c) end
        keys[i] = table.concat(t)
      end
    end
    keys[50000] = "last"   -- (#keys is 50000)
    local got, want = sort.order(keys), lua_order(keys)
    assert.equal(50000, #got)
    assert.same(want, got)
    assert.same(lua_order(keys, true), sort.order(keys, true))
  end)

  it("orders NaN after the other numbers and -0 as 0", function()
    local nan = 0 / 0
    local perm = sort.order({ 1, nan, -math.huge, 0, -0.0, math.huge })
    assert.same({ 3, 4, 5, 1, 6, 2 }, perm)
  end)

  it("natural compares runs of digits by value", function()
    local keys = { "pod-10", "pod-2", "pod-1", "pod-02", "pod", "pod-2a", "v1.10", "v1.9", "x" }
    assert.same({ "pod", "pod-1", "pod-02", "pod-2", "pod-2a", "pod-10", "v1.9", "v1.10", "x" },
      values(keys, sort.order(keys, false, true)))
    assert.same({ "x", "v1.10", "v1.9", "pod-10", "pod-2a", "pod-2", "pod-02", "pod-1", "pod" },
      values(keys, sort.order(keys, true, true)))
    -- many keys: each is where its number puts it
    local many = {}
    for i = 1, 3000 do many[i] = "node-" .. (3001 - i) end
    local sorted = values(many, sort.order(many, false, true))
    for i = 1, 3000 do assert.equal("node-" .. i, sorted[i]) end
  end)

  it("refuses what is not a table", function()
    assert.error(function() sort.order("abc") end, "table expected")
  end)
end)

describe("regex", function()
  it("find gives 1-based inclusive positions, like string.find; test says whether it matches", function()
    local re = assert(regex.compile("b+c"))
    assert.same({ 2, 5 }, { re:find("abbbcd") })
    assert.equal(nil, re:find("ac"))
    assert.equal(true, re:test("xbc"))
    assert.equal(false, re:test("xb"))
    assert.same({ 1, 0 }, { assert(regex.compile("x*")):find("abc") })   -- an empty match
    assert.same({ 1, 0 }, { assert(regex.compile("")):find("abc") })   -- the empty pattern
  end)

  it("find from init; ^ still anchors at the start of the string", function()
    local re = assert(regex.compile("ab"))
    assert.same({ 4, 5 }, { re:find("ab-ab", 2) })
    assert.same({ 4, 5 }, { re:find("ab-ab", -2) })
    assert.equal(nil, re:find("ab-ab", 6))
    assert.equal(nil, assert(regex.compile("^ab")):find("ab-ab", 2))
  end)

  it("extended syntax: alternation, classes, bounds, anchors", function()
    assert.same({ 5, 7 }, { assert(regex.compile("(web|api)$")):find("foo-api") })
    assert.same({ 4, 8 }, { assert(regex.compile("[0-9]{5}")):find("id-12345-x") })
    assert.equal(true, assert(regex.compile("^[[:alpha:]]+-[0-9a-f]+$")):test("web-7d9f"))
    assert.equal(false, assert(regex.compile("^ingress.*7$")):test("ingress-8"))
    assert.equal(true, assert(regex.compile("a.c")):test("aéc"))   -- . is one character (UTF-8)
  end)

  it('"i" ignores case', function()
    local re = assert(regex.compile("Web", "i"))
    assert.same({ 3, 5 }, { re:find("a-WEB-b") })
    assert.equal(true, re:test("web"))
    assert.equal(true, assert(regex.compile("é", "i")):test("CAFÉ"))
    assert.equal(false, assert(regex.compile("Web")):test("web"))
  end)

  it('"s" is smart case: ignore case unless the pattern has an upper-case letter', function()
    assert.equal(true, assert(regex.compile("web", "s")):test("WEB-1"))
    assert.equal(false, assert(regex.compile("Web", "s")):test("web-1"))
    assert.equal(true, assert(regex.compile("Web", "s")):test("Web-1"))
    -- an escaped letter is an operator, not an upper-case letter
    assert.equal(true, assert(regex.compile("x\\S", "s")):test("XY"))
    assert.equal(false, assert(regex.compile("É", "s")):test("é"))
    -- plain text, a required piece of text, and a full regex agree on the same subjects
    for _, p in ipairs({ "web", "web-", "we.", "(web)", "w?eb", "web|zzz" }) do
      local re = assert(regex.compile(p, "s"))
      assert.equal(true, re:test("a-WeB-1"), p)
      assert.equal(false, re:test("a-wxb-1"), p)
      assert.equal(true, re:test("ä-WeB-1"), p)   -- (not all ASCII: libc's own folding)
    end
  end)

  it("a bad pattern is nil and a one-line message that names it", function()
    local re, err = regex.compile("a(")
    assert.equal(nil, re)
    assert.matches('^bad regex "a%(": %S', err)
    local _, err2 = regex.compile("x[\n")
    assert.matches('^bad regex "x%[%?": ', err2)
    assert.equal(nil, err2:find("\n"))
    assert.error(function() regex.compile("a", "z") end, "unknown flag 'z'")
  end)

  it("refuses what libc would backtrack on without bound: back-references, repetition counts over 1000", function()
    local re, err = regex.compile("^((a*)(a*)(a*)(a*)\\2\\3\\4\\5|z)b")
    assert.equal(nil, re)
    assert.equal('bad regex "^((a*)(a*)(a*)(a*)\\2\\3\\4\\5|z)b": back-references (\\1-\\9) are not supported', err)
    assert.matches("repetition count over 1000", select(2, regex.compile("a{1001}")))
    assert.matches("product is over 1000", select(2, regex.compile("(a{100}){100}")))
    -- escaped digits in brackets, a literal backslash, and counts in bounds are fine
    assert.truthy(regex.compile("[\\1]x"))
    assert.truthy(regex.compile("\\\\1"))
    assert.truthy(regex.compile("(ab){2,10}[0-9]{1,3}"))
    assert.equal(true, assert(regex.compile("[\\1]x")):test("1x"))
  end)

  it("matches across embedded NUL bytes (glibc) and frees itself when collected", function()
    assert.same({ 3, 3 }, { assert(regex.compile("x")):find("a\0x") })
    for _ = 1, 2000 do regex.compile("(a|b)+c[0-9]{1,3}", "s") end
    collectgarbage()
    collectgarbage()
  end)
end)

describe("the widgets' prims", function()
  it("P.regex is smart case and P.order is sort.order", function()
    assert.equal(true, assert(P.regex("web")):test("WEB"))
    assert.equal(false, assert(P.regex("Web")):test("web"))
    local re, err = P.regex("(")
    assert.equal(nil, re)
    assert.matches('^bad regex "%(": ', err)
    assert.same({ 2, 1 }, P.order({ "b", "a" }))
    assert.same({ 1, 2 }, P.order({ "b", "a" }, true))
    assert.equal(2, P.width("日"))
  end)
end)

describe("in a plugin's state", function()
  local PLUGIN = [==[
local P = require("vcli.tui.prims")
vcli.command{
  name = "sortre", summary = "sort and regex in a plugin",
  handler = function(ctx)
    local keys = { "pod-10", "pod-2", 3, "pod-1", false }
    ctx.print(table.concat(vcli.sort.order(keys), ","), table.concat(vcli.sort.order(keys, true), ","),
      table.concat(vcli.sort.order(keys, false, true), ","))
    local re = assert(vcli.regex.compile("POD-[0-9]+", "i"))
    ctx.print(table.concat({ re:find("a pod-42 b") }, ","), tostring(re:test("nope")))
    local _, err = vcli.regex.compile("a(")
    ctx.print(err)
    ctx.print(vcli.width("日本"), #(vcli.split("añb")))
    local pre = assert(P.regex("web"))
    ctx.print(tostring(pre:test("WEB-1")), table.concat(P.order({ "b", "a", "c" }, true), ","))
    local many = {}
    for i = 1, 20000 do many[i] = ("k%05d"):format((i * 7919) % 20000) end
    local perm, ok = vcli.sort.order(many), true
    for i = 2, #perm do if many[perm[i - 1]] > many[perm[i]] then ok = false end end
    ctx.print(#perm, tostring(ok))
  end,
}
]==]
  local MANIFEST = [[
name: sortre
version: 0.1.0
description: uses vcli.sort, vcli.regex, vcli.width and vcli.split inside its own state
vcli: ">=0.1"
commands:
  - name: sortre
    summary: sort and regex in a plugin
]]

  it("has vcli.sort, vcli.regex, vcli.width, vcli.split and the tui prims on them", function()
    local home = spec.tmpdir()
    os.execute("mkdir -p " .. home .. "/plugins/sortre")
    spec.write(home .. "/plugins/sortre/plugin.yaml", MANIFEST)
    spec.write(home .. "/plugins/sortre/init.lua", PLUGIN)
    local out, code = spec.sh(("HOME=%s XDG_CACHE_HOME=%s/c XDG_STATE_HOME=%s/s VCLI_PLUGIN_PATH=%s/plugins %s sortre")
      :format(home, home, home, home, spec.vcli))
    os.execute("rm -rf " .. home)
    assert.equal(0, code, out)
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal("3,5,4,1,2\t2,1,4,5,3\t3,5,4,2,1", lines[1], out)
    assert.equal("3,8\tfalse", lines[2], out)
    assert.matches('^bad regex "a%(": ', lines[3])
    assert.equal("4\t3", lines[4], out)
    assert.equal("true\t3,1,2", lines[5], out)
    assert.equal("20000\ttrue", lines[6], out)
  end)
end)
