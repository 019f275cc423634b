-- vcli.plugin.semver — versions (MAJOR.MINOR.PATCH[-pre]) and ranges as npm
-- and Cargo write them: "1.2.3", "^1.2", "~1.2.3", ">=1.0 <2.0", "1.x", "*",
-- alternatives joined by "||". Also loadable inside plugins as vcli.semver.
local M = {}

function M.parse(s)
  if type(s) ~= "string" then return nil end
  local a, b, c, pre = s:match("^v?(%d+)%.(%d+)%.(%d+)%-?([%w%.%-]*)$")
  if not a then return nil end
  return { tonumber(a), tonumber(b), tonumber(c), pre = pre ~= "" and pre or nil }
end

function M.compare(x, y)
  if type(x) == "string" then x = assert(M.parse(x), "bad version " .. x) end
  if type(y) == "string" then y = assert(M.parse(y), "bad version " .. y) end
  for i = 1, 3 do
    if x[i] ~= y[i] then return x[i] < y[i] and -1 or 1 end
  end
  if x.pre == y.pre then return 0 end
  if not x.pre then return 1 end
  if not y.pre then return -1 end
  return x.pre < y.pre and -1 or 1
end

-- A partial version "1", "1.2", "1.x" -> parts (nil for wildcards), count
local function partial(s)
  local parts = {}
  for p in (s .. "."):gmatch("([^.]*)%.") do
    if p == "x" or p == "X" or p == "*" then break end
    local n = tonumber(p)
    if not n then
      local n3, pre = p:match("^(%d+)%-(.+)$")
      if not n3 then return nil end
      table.insert(parts, tonumber(n3))
      parts.pre = pre
      break
    end
    table.insert(parts, n)
  end
  return parts
end

local function comparator(tok)
  local op, ver = tok:match("^([<>=~^]*)(.*)$")
  if ver == "" or ver == "*" or ver == "x" then return function() return true end end
  local p = partial(ver:gsub("^v", ""))
  if not p or #p == 0 then return nil end
  local lo = { p[1], p[2] or 0, p[3] or 0, pre = p.pre }
  local function cmp(v) return M.compare(v, lo) end
  if op == "" or op == "=" then
    if #p == 3 then return function(v) return cmp(v) == 0 end end
    local hi = #p == 1 and { p[1] + 1, 0, 0 } or { p[1], p[2] + 1, 0 }
    return function(v) return cmp(v) >= 0 and M.compare(v, hi) < 0 end
  elseif op == ">=" then return function(v) return cmp(v) >= 0 end
  elseif op == ">" then return function(v) return cmp(v) > 0 end
  elseif op == "<=" then return function(v) return cmp(v) <= 0 end
  elseif op == "<" then return function(v) return cmp(v) < 0 end
  elseif op == "~" then
    local hi = #p == 1 and { p[1] + 1, 0, 0 } or { p[1], p[2] + 1, 0 }
    return function(v) return cmp(v) >= 0 and M.compare(v, hi) < 0 end
  elseif op == "^" then
    local hi
    if p[1] > 0 or #p == 1 then hi = { p[1] + 1, 0, 0 }
    elseif (p[2] or 0) > 0 or #p == 2 then hi = { 0, p[2] + 1, 0 }
    else hi = { 0, 0, p[3] + 1 } end
    return function(v) return cmp(v) >= 0 and M.compare(v, hi) < 0 end
  end
  return nil
end

-- M.range(s) -> predicate(version) | nil, err
function M.range(s)
  if s == nil then return function() return true end end
  if type(s) ~= "string" then return nil, "a version range must be a string like \"^1.2\"" end
  local alts = {}
  for alt in (s .. "||"):gmatch("(.-)||") do
    local preds = {}
    for tok in alt:gmatch("%S+") do
      local pred = comparator(tok)
      if not pred then return nil, ("'%s' is not a version range (try \"^1.2\", \">=1.0 <2.0\" or \"*\")"):format(s) end
      table.insert(preds, pred)
    end
    table.insert(alts, preds)
  end
  return function(v)
    if type(v) == "string" then v = M.parse(v) end
    if not v then return false end
    for _, preds in ipairs(alts) do
      local ok = true
      for _, p in ipairs(preds) do if not p(v) then ok = false break end end
      if ok then return true end
    end
    return false
  end
end

function M.satisfies(version, range)
  local pred, err = M.range(range)
  if not pred then return nil, err end
  return pred(version)
end

return M
