-- vcli.pretty — readable rendering of Lua values for `= expr` and specs.
local M = {}

local function is_ident(k) return type(k) == "string" and k:match("^[%a_][%w_]*$") end

local function sorted_keys(t)
  local keys, n = {}, #t
  for k in pairs(t) do
    if not (type(k) == "number" and k >= 1 and k <= n and k == math.floor(k)) then table.insert(keys, k) end
  end
  table.sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "string" or type(a) == "number") then return a < b end
    return type(a) < type(b)
  end)
  return keys, n
end

local function scalar(v)
  if type(v) == "string" then return (string.format("%q", v):gsub("\\\n", "\\n")) end
  if v == nil then return "nil" end
  if type(v) == "userdata" and tostring(v) == "userdata: NULL" then return "null" end
  return tostring(v)
end

-- M.format(v, {width=80, depth=8, max_items=200}) -> string
function M.format(v, opts)
  opts = opts or {}
  local width = opts.width or 80
  local max_depth = opts.depth or 8
  local max_items = opts.max_items or 200
  local seen = {}
  local function fmt(x, indent, depth)
    if type(x) ~= "table" then return scalar(x) end
    if seen[x] then return "<cycle>" end
    if depth > max_depth then return "{…}" end
    seen[x] = true
    local keys, n = sorted_keys(x)
    local parts = {}
    local count = 0
    for i = 1, n do
      count = count + 1
      if count > max_items then table.insert(parts, "…"); break end
      table.insert(parts, fmt(x[i], indent .. "  ", depth + 1))
    end
    for _, k in ipairs(keys) do
      count = count + 1
      if count > max_items then table.insert(parts, "…"); break end
      local ks = is_ident(k) and k or ("[" .. scalar(k) .. "]")
      table.insert(parts, ks .. " = " .. fmt(x[k], indent .. "  ", depth + 1))
    end
    seen[x] = nil
    if #parts == 0 then return "{}" end
    local one = "{ " .. table.concat(parts, ", ") .. " }"
    if #one + #indent <= width and not one:find("\n") then return one end
    return "{\n" .. indent .. "  " .. table.concat(parts, ",\n" .. indent .. "  ") .. "\n" .. indent .. "}"
  end
  return fmt(v, "", 0)
end

return M
