-- vcli.jsonfmt: JSON laid out as Go's MarshalIndent(v, "", "    ") writes it
-- (kubectl -o json), in C for the plugins (they run without the JIT). The
-- expected texts are what Go's encoding/json prints for the same values.
local f = require("vcli.jsonfmt")
local cjson = require("cjson")

describe("vcli.jsonfmt", function()
  it("sorts keys bytewise, indents by four, and nests under a given indent", function()
    assert.equal('{\n    "10": true,\n    "9": false,\n    "B": [\n        1,\n        {}\n    ],\n    "a": "x"\n}',
      f.encode({ a = "x", B = { 1, {} }, ["10"] = true, ["9"] = false }))
    assert.equal('{\n      "x": null\n  }', f.encode({ x = cjson.null }, "  "))
    -- an empty table is an array when it carries the array metatable given
    local amt = {}
    assert.equal("[]", f.encode(setmetatable({}, amt), "", amt))
    assert.equal("{}", f.encode({}, "", amt))
  end)

  it("escapes as Go does: HTML-safe, U+2028/2029, control characters; '/' as it is", function()
    assert.equal([["a/b \u003cx\u003e \u0026 \u2028\u2029 \n\r\t\b\f \u0001 é \"q\" \\"]],
      f.encode("a/b <x> & \226\128\168\226\128\169 \n\r\t\b\f \1 é \"q\" \\"))
  end)

  it("writes numbers as Go: integers plain, floats in their shortest form", function()
    local got = {}
    for i, v in ipairs({ 3, -7, 0.1, 2.5, 1 / 3, 123456.789, 1e20, 1e21, 1.5e-7, 1e-6, 2 ^ 53 + 2 }) do got[i] = f.encode(v) end
    assert.same({ "3", "-7", "0.1", "2.5", "0.3333333333333333", "123456.789", "100000000000000000000", "1e+21",
      "1.5e-7", "0.000001", "9007199254740994" }, got)
  end)

  it("refuses what JSON cannot hold with an error, not a crash", function()
    local t = {}
    t.self = t
    assert.same({ nil, "nested too deeply (or a cycle)" }, { f.encode(t) })
    assert.same({ nil, "a number JSON cannot hold (NaN or infinity)" }, { f.encode({ x = 0 / 0 }) })
  end)
end)
