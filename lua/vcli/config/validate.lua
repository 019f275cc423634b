-- vcli.config.validate — checking one value against its schema node, and
-- turning the strings of the environment and of --set into typed values.
-- Messages read "KEY: expected WHAT, got WHAT"; the caller adds file:line.
local text = require("vcli.text")
local null = require("vcli.yaml").null

local M = {}

local function parse_duration(s)
  return require("vcli.shell.commands").parse_duration(s)
end
M.parse_duration = parse_duration

-- How a value looks in a message: strings quoted, tables by kind.
function M.describe(v)
  local t = type(v)
  if t == "string" then return ("%q"):format(v) end
  if t == "table" then
    if v[1] ~= nil or getmetatable(v) == require("vcli.yaml").array_mt then return "a list" end
    return next(v) == nil and "an empty map" or "a map"
  end
  if v == null then return "null" end
  return tostring(v)
end

local function is_list(v)
  if type(v) ~= "table" then return false end
  if getmetatable(v) == require("vcli.yaml").array_mt then return true end
  if v[1] == nil then return false end
  for k in pairs(v) do if type(k) ~= "number" then return false end end
  return true
end
M.is_list = is_list

local function is_map(v)
  return type(v) == "table" and (getmetatable(v) ~= require("vcli.yaml").array_mt) and (v[1] == nil)
end
M.is_map = is_map

local EXPECT = {
  string = "a string", bool = "true or false", int = "a whole number", number = "a number",
  duration = "a duration like 30s, 5m or 1h", list = "a list", map = "a map",
}

-- M.check(node, v) -> true | false, "expected …, got …"
function M.check(node, v)
  local t = node.type
  local ok
  if t == "any" then return true
  elseif t == "string" then ok = type(v) == "string"
  elseif t == "bool" then ok = type(v) == "boolean"
  elseif t == "int" then ok = type(v) == "number" and v == math.floor(v)
  elseif t == "number" then ok = type(v) == "number"
  elseif t == "duration" then
    ok = (type(v) == "number" and v >= 0) or (type(v) == "string" and (v == "" or parse_duration(v) ~= nil))
  elseif t == "enum" then
    for _, a in ipairs(node.values) do if a == v then return true end end
    return false, ("expected one of %s, got %s"):format(table.concat(node.values, ", "), M.describe(v))
  elseif t == "list" then ok = is_list(v) or (type(v) == "table" and next(v) == nil)
  elseif t == "map" then ok = is_map(v)
  end
  if not ok then return false, ("expected %s, got %s"):format(EXPECT[t] or t, M.describe(v)) end
  if (t == "int" or t == "number") and ((node.min and v < node.min) or (node.max and v > node.max)) then
    if node.min and node.max then
      return false, ("expected %s from %s to %s, got %s"):format(EXPECT[t], node.min, node.max, M.describe(v))
    elseif node.min then
      return false, ("expected %s of at least %s, got %s"):format(EXPECT[t], node.min, M.describe(v))
    end
    return false, ("expected %s of at most %s, got %s"):format(EXPECT[t], node.max, M.describe(v))
  end
  return true
end

-- A string from the environment or --set, as the node's type.
function M.coerce(node, s)
  if type(s) ~= "string" or not node then return s end
  local t = node.type
  if t == "bool" then
    local l = s:lower()
    if l == "true" or l == "1" or l == "yes" or l == "on" then return true end
    if l == "false" or l == "0" or l == "no" or l == "off" then return false end
  elseif t == "int" or t == "number" then
    return tonumber(s) or s
  elseif t == "list" then
    if s:match("^%[") then
      local v = require("vcli.yaml").decode(s)
      if type(v) == "table" then return v end
    end
    local out = setmetatable({}, require("vcli.yaml").array_mt)
    for part in s:gmatch("[^,]+") do out[#out + 1] = M.coerce(node.items, text.trim(part)) end
    return out
  elseif t == "map" or t == "any" then
    local ok, v = pcall(require("vcli.yaml").decode, s)
    if ok and v ~= nil and v ~= null then return v end
  elseif t == "string" or t == "enum" or t == "duration" then
    return s
  end
  return s
end

-- The known key nearest to `key` among node's keys, for "did you mean".
function M.nearest(node, key)
  if not node.order then return nil end
  return text.nearest(key, node.order)
end

return M
