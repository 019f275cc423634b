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
    -- an empty table is an array when it carries the array metatable given, or jsonfmt's own
    local amt = {}
    assert.equal("[]", f.encode(setmetatable({}, amt), "", amt))
    assert.equal("{}", f.encode({}, "", amt))
    assert.equal("[]", f.encode(setmetatable({}, f.array_mt)))
  end)

  -- Debian's lua-cjson decodes [] and {} alike (an empty table); kubectl
  -- prints "args": [] and "data": {} as they came
  it("decodes so that empty arrays encode as [] again and empty objects as {}", function()
    local text = '{"kind":"Pod","metadata":{"finalizers":[],"labels":{}},"spec":{"containers":[{"args":[],'
      .. '"env":[{"name":"A","value":""}],"resources":{}}],"volumes":[[],{},[[]]]},"status":{}}'
    local v = assert(f.decode(text))
    assert.equal(f.array_mt, getmetatable(v.metadata.finalizers))
    assert.equal(nil, getmetatable(v.metadata.labels))
    assert.equal(table.concat({ "{",
      '    "kind": "Pod",',
      '    "metadata": {', '        "finalizers": [],', '        "labels": {}', "    },",
      '    "spec": {',
      '        "containers": [', "            {", '                "args": [],',
      '                "env": [', "                    {", '                        "name": "A",',
      '                        "value": ""', "                    }", "                ],",
      '                "resources": {}', "            }", "        ],",
      '        "volumes": [', "            [],", "            {},", "            [", "                []", "            ]", "        ]",
      "    },",
      '    "status": {}',
      "}" }, "\n"), f.encode(v))
    -- compact (request bodies, the offline cache) keeps them too, and reads back the same
    local compact = f.encode(v, "", nil, true)
    assert.equal('{"kind":"Pod","metadata":{"finalizers":[],"labels":{}},"spec":{"containers":[{"args":[],'
      .. '"env":[{"name":"A","value":""}],"resources":{}}],"volumes":[[],{},[[]]]},"status":{}}', compact)
    assert.equal(compact, f.encode(f.decode(compact), "", nil, true))
    -- an array emptied after decoding is still an array
    local l = f.decode('{"items":[1,2]}')
    l.items[2], l.items[1] = nil, nil
    assert.equal('{"items":[]}', f.encode(l, "", nil, true))
  end)

  it("shares its array marker with vcli.yaml: -o yaml of an empty list is [] too", function()
    local yaml = require("vcli.yaml")
    assert.equal(yaml.array_mt, f.array_mt)
    assert.equal("data: {}\nitems: []\n", yaml.encode(f.decode('{"items":[],"data":{}}')))
    assert.equal('{"items":[],"x":{}}', f.encode(yaml.decode("items: []\nx: {}\n"), "", nil, true))
  end)

  it("decodes strings, numbers and literals as Go does", function()
    local v = assert(f.decode(' {"s":"a\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u2028\\ud83d\\ude00 \\ud800","i":-42,"big":12345678901234,'
      .. '"f":-1.25e-3,"t":true,"n":null,"e":"","u":"\226\130\172"} '))
    assert.equal('a"\\/\b\f\n\r\té\226\128\168\240\159\152\128 \239\191\189', v.s) -- a lone surrogate is U+FFFD
    assert.same({ -42, 12345678901234, -1.25e-3, true, "", "\226\130\172" }, { v.i, v.big, v.f, v.t, v.e, v.u })
    assert.equal(cjson.null, v.n)
    assert.same({ 1, 2.5, false }, f.decode("[1, 2.5, false]"))
    assert.equal("x", f.decode('"x"'))
    assert.equal(cjson.null, f.decode("null"))
  end)

  it("says where a text is not JSON, as line:column: problem", function()
    for text, want in pairs({
      ["{\"a\": [1, 2\n  3]}"] = "2:3: expected ',' or ']'",
      ['{"a" 1}'] = "1:6: expected ':' after an object's key",
      ['{"a":1,}'] = "1:8: expected a string (an object's key)",
      ["[1,]"] = "1:4: unexpected character",
      ["01"] = "1:1: bad number",
      ['"abc'] = "1:5: unterminated string",
      ['"a\\x"'] = "1:4: bad escape in a string",
      ["[1] x"] = "1:5: text after the value",
      [""] = "1:1: unexpected end of the text",
      ["nul"] = "1:1: unexpected character",
    }) do
      assert.same({ nil, want }, { f.decode(text) }, text)
    end
    assert.same({ nil, "expected a string to decode" }, { f.decode(nil) })
    assert.same({ nil, "1:501: nested deeper than 500 levels" }, { f.decode(string.rep("[", 501) .. string.rep("]", 501)) })
    assert.equal(500, #f.encode(f.decode(string.rep("[", 250) .. string.rep("]", 250)), "", nil, true))
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
    assert.same({ nil, "nested deeper than 500 levels (or a cycle)" }, { f.encode(t) })
    assert.same({ nil, "a number JSON cannot hold (NaN or infinity)" }, { f.encode({ x = 0 / 0 }) })
  end)
end)
