-- The fuzz targets (spec/fuzz/targets.lua) over their seeds and over every
-- input that ever crashed one of them (spec/fuzz/regress/TARGET/), in the
-- normal build: each input is refused with a message or accepted, never a
-- bug (a Lua fault, a round trip that changed the value, a crash). `make
-- fuzz` is the long run under libFuzzer with ASan + UBSan.
local T = dofile("spec/fuzz/targets.lua")

local function inputs(dir)
  local out = {}
  local p = io.popen("ls " .. dir .. " 2>/dev/null")
  for name in p:lines() do out[#out + 1] = name end
  p:close()
  return out
end

local TARGETS = { "yaml", "jsonfmt", "wsock", "term_keys", "shell_words", "kubeconfig", "jsonpath", "custom_columns",
                  "plugin_manifest", "promql", "watch_lines", "pattern" }

describe("fuzz targets: seeds and every input that ever crashed", function()
  for _, t in ipairs(TARGETS) do
    it(t .. " takes each of its seeds and regression inputs without a bug", function()
      assert.truthy(type(T[t]) == "function", "a target named " .. t)
      local n = 0
      for _, kind in ipairs({ "corpus", "regress" }) do
        local dir = ("spec/fuzz/%s/%s"):format(kind, t)
        for _, name in ipairs(inputs(dir)) do
          local data = spec.read(dir .. "/" .. name)
          local ok, err = pcall(T[t], data)
          if not ok then
            error(("%s/%s: %s"):format(dir, name, type(err) == "table" and tostring(err.bug) or tostring(err)), 0)
          end
          n = n + 1
        end
      end
      assert.truthy(n > 0, "no seeds for " .. t)
    end)
  end
  it("a bug is told from a refusal: a Lua fault inside a parser is one", function()
    local ok, err = pcall(T.clean, "x", function() local t = nil; return t.x end)
    assert.falsy(ok)
    assert.truthy(type(err) == "table" and err.bug:find("attempt to index"), tostring(err))
    assert.equal(nil, T.clean("x", function() error("bad input at 3", 0) end))
  end)
end)
