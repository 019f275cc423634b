-- vcli.pattern (core/pattern.c): plugin states' string.find/match/gmatch/gsub,
-- a matcher that checks the CPU limit while it backtracks. It must answer as
-- LuaJIT's own does, so every plugin's patterns mean what they meant: random
-- patterns and subjects (the seed is printed; VCLI_PATTERN_SEED=N replays)
-- through both, results and errors compared.
local P = require("vcli.pattern")

local seed = tonumber(os.getenv("VCLI_PATTERN_SEED") or "") or (os.time() % 1000000)
local CASES = tonumber(os.getenv("VCLI_PATTERN_CASES") or "") or 20000

local ATOMS = { "a", "b", "x", ".", "%a", "%d", "%s", "%w", "%A", "%S", "%p", "%z", "%x", "%g", "%u", "%l", "%c",
  "[ab]", "[^a]", "[a-c]", "[%a_]", "[]]", "[^]]", "%%", "%(", "%.", " ", "-", "\0", "1", "ab" }
local QUANT = { "", "", "", "*", "+", "-", "?" }
local SUBJECT = { "a", "b", "x", "1", " ", "(", ")", "[", "]", "%", "-", ".", "_", "A", "\0", "\n", "ab" }

local function token()
  local r = math.random(100)
  if r <= 6 then return "(" elseif r <= 12 then return ")" elseif r <= 14 then return "()"
  elseif r <= 17 then return "%" .. math.random(0, 3)
  elseif r <= 19 then return "%b()" elseif r <= 21 then return "%f[%a]" elseif r <= 22 then return "%f[%s]"
  elseif r <= 23 then return string.char(math.random(0, 255))   -- anything, malformed patterns too
  end
  return ATOMS[math.random(#ATOMS)] .. QUANT[math.random(#QUANT)]
end

local function pattern()
  local t = {}
  if math.random(5) == 1 then t[1] = "^" end
  for _ = 1, math.random(0, 6) do t[#t + 1] = token() end
  if math.random(6) == 1 then t[#t + 1] = "$" end
  return table.concat(t)
end

local function subject()
  local t = {}
  for _ = 1, math.random(0, 24) do t[#t + 1] = SUBJECT[math.random(#SUBJECT)] end
  return table.concat(t)
end

-- one call both ways: results packed, or "error"
local function both(name, ...)
  local a = { pcall(string[name], ...) }
  local b = { pcall(P[name], ...) }
  return a, b
end

local function show(t)
  local out = {}
  for i = 1, #t do out[i] = type(t[i]) == "string" and ("%q"):format(t[i]) or tostring(t[i]) end
  return "{" .. table.concat(out, ", ") .. "}"
end

local function same(a, b)
  if a[1] ~= b[1] then return false end
  if not a[1] then return true end   -- both refused the pattern (the words may differ)
  if #a ~= #b then return false end
  for i = 2, #a do if a[i] ~= b[i] then return false end end
  return true
end

local function gmatch_all(fn, s, p)
  local out = {}
  for a, b, c in fn(s, p) do
    out[#out + 1] = tostring(a) .. "|" .. tostring(b) .. "|" .. tostring(c)
    if #out > 200 then break end
  end
  return table.concat(out, ",")
end

describe("vcli.pattern answers as LuaJIT's string functions do", function()
  it("find, match, gmatch and gsub agree on random patterns and subjects (20 000; VCLI_PATTERN_CASES)", function()
    print(("# pattern seed %d (VCLI_PATTERN_SEED=%d to replay)"):format(seed, seed))
    math.randomseed(seed)
    local tally = { matched = 0, refused = 0 }
    local repl_t = { a = "T", x = false, ["1"] = 7 }
    local function repl_f(a, b) if a == "b" then return nil end return "<" .. tostring(a) .. tostring(b) .. ">" end
    for i = 1, CASES do
      local s, p = subject(), pattern()
      local init = math.random(4) == 1 and math.random(-5, 30) or nil
      local checks = {
        { "find", s, p, init }, { "find", s, p, init, true }, { "match", s, p, init },
        { "gsub", s, p, "[%0%1]" }, { "gsub", s, p, repl_t }, { "gsub", s, p, repl_f }, { "gsub", s, p, "%%x", 2 },
      }
      for _, c in ipairs(checks) do
        local a, b = both(unpack(c, 1, 5))
        if not same(a, b) then
          error(("case %d: %s(%q, %q, %s): LuaJIT %s, vcli.pattern %s"):format(i, c[1], s, p, tostring(c[4]), show(a), show(b)), 0)
        end
        if a[1] and a[2] ~= nil then tally.matched = tally.matched + 1 elseif not a[1] then tally.refused = tally.refused + 1 end
      end
      local oka, ga = pcall(gmatch_all, string.gmatch, s, p)
      local okb, gb = pcall(gmatch_all, P.gmatch, s, p)
      if oka ~= okb or (oka and ga ~= gb) then
        error(("case %d: gmatch(%q, %q): LuaJIT %s %s, vcli.pattern %s %s"):format(i, s, p, tostring(oka), ga, tostring(okb), gb), 0)
      end
    end
    -- both kinds were exercised, not only refusals
    assert.truthy(tally.matched > CASES and tally.refused > CASES / 20, ("matched %d, refused %d"):format(tally.matched, tally.refused))
  end)

  it("says what is wrong with a malformed pattern in LuaJIT's words", function()
    local s = "a" .. ("x"):rep(40)
    for _, p in ipairs({ "%", "[a", "(()", "%b", "%f", "a.)", "%1", ("(x)"):rep(33), "x%", "[^" }) do
      local ok1, theirs = pcall(string.find, s, p)
      local ok2, mine = pcall(P.find, s, p)
      assert.falsy(ok1, p)
      assert.falsy(ok2, p)
      assert.equal(theirs, mine, p)
    end
  end)

  it("a long subject and plain finds", function()
    local big = ("ab"):rep(100000) .. "needle" .. ("ba"):rep(1000)
    assert.same({ string.find(big, "needle", 1, true) }, { P.find(big, "needle", 1, true) })
    assert.same({ string.find(big, "ne+dle") }, { P.find(big, "ne+dle") })
    assert.same({ string.gsub(big, "ab", "x") }, { P.gsub(big, "ab", "x") })
  end)
end)
