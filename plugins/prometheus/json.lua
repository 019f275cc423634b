-- prometheus/json.lua — a small JSON decoder/encoder in plain Lua, used when
-- the host offers none (inside the plugin sandbox, which has no cjson).
-- In the host state the real vcli.json is injected instead.
local M = {}
M.null = setmetatable({}, { __tostring = function() return "null" end })

local byte, sub, find, char, concat = string.byte, string.sub, string.find, string.char, table.concat
local tonumber, error = tonumber, error

local escapes = { [34] = '"', [92] = "\\", [47] = "/", [98] = "\b", [102] = "\f", [110] = "\n", [114] = "\r", [116] = "\t" }

local function utf8(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
    0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
end

local decode_value

local function skip(s, i)
  local _, e = find(s, "^[ \t\r\n]*", i)
  return e + 1
end

local function decode_string(s, i)
  -- s[i] == '"'
  local j = i + 1
  local parts, n = {}, 0
  while true do
    local a, b = find(s, '["\\]', j)
    if not a then error({ pos = i, msg = "unterminated string" }) end
    if a > j then n = n + 1; parts[n] = sub(s, j, a - 1) end
    if byte(s, a) == 34 then return concat(parts), b + 1 end
    local c = byte(s, a + 1)
    if c == 117 then
      local cp = tonumber(sub(s, a + 2, a + 5), 16)
      if not cp then error({ pos = a, msg = "bad \\u escape" }) end
      j = a + 6
      if cp >= 0xD800 and cp < 0xDC00 and sub(s, j, j + 1) == "\\u" then
        local lo = tonumber(sub(s, j + 2, j + 5), 16)
        if lo and lo >= 0xDC00 and lo < 0xE000 then
          cp = 0x10000 + (cp - 0xD800) * 1024 + (lo - 0xDC00)
          j = j + 6
        end
      end
      n = n + 1; parts[n] = utf8(cp)
    else
      local e = escapes[c]
      if not e then error({ pos = a, msg = "bad escape" }) end
      n = n + 1; parts[n] = e
      j = a + 2
    end
  end
end

function decode_value(s, i)
  i = skip(s, i)
  local c = byte(s, i)
  if c == 123 then -- {
    local obj = {}
    i = skip(s, i + 1)
    if byte(s, i) == 125 then return obj, i + 1 end
    while true do
      if byte(s, i) ~= 34 then error({ pos = i, msg = "expected a string key" }) end
      local k
      k, i = decode_string(s, i)
      i = skip(s, i)
      if byte(s, i) ~= 58 then error({ pos = i, msg = "expected ':'" }) end
      local v
      v, i = decode_value(s, i + 1)
      obj[k] = v
      i = skip(s, i)
      c = byte(s, i)
      if c == 125 then return obj, i + 1 end
      if c ~= 44 then error({ pos = i, msg = "expected ',' or '}'" }) end
      i = skip(s, i + 1)
    end
  elseif c == 91 then -- [
    local arr, n = {}, 0
    i = skip(s, i + 1)
    if byte(s, i) == 93 then return arr, i + 1 end
    while true do
      local v
      v, i = decode_value(s, i)
      n = n + 1
      arr[n] = v
      i = skip(s, i)
      c = byte(s, i)
      if c == 93 then return arr, i + 1 end
      if c ~= 44 then error({ pos = i, msg = "expected ',' or ']'" }) end
      i = i + 1
    end
  elseif c == 34 then
    return decode_string(s, i)
  elseif c == 116 and sub(s, i, i + 3) == "true" then return true, i + 4
  elseif c == 102 and sub(s, i, i + 4) == "false" then return false, i + 5
  elseif c == 110 and sub(s, i, i + 3) == "null" then return M.null, i + 4
  else
    local a, b = find(s, "^-?%d+%.?%d*[eE]?[-+]?%d*", i)
    if not a then error({ pos = i, msg = "unexpected character" }) end
    return tonumber(sub(s, a, b)), b + 1
  end
end

-- M.decode(text [, name]) -> value | nil, "name:col: problem"
function M.decode(text, name)
  if type(text) ~= "string" then return nil, (name or "<json>") .. ": expected a string" end
  local ok, v, i = pcall(decode_value, text, 1)
  if not ok then
    if type(v) == "table" then return nil, ("%s:%d: %s"):format(name or "<json>", v.pos or 0, v.msg) end
    return nil, tostring(v)
  end
  i = skip(text, i)
  if i <= #text then return nil, ("%s:%d: unexpected text after the value"):format(name or "<json>", i) end
  return v
end

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local b = byte(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\"
    elseif c == "\n" then return "\\n" elseif c == "\t" then return "\\t" elseif c == "\r" then return "\\r" end
    return ("\\u%04x"):format(b)
  end) .. '"'
end

local function encode(v, out)
  local t = type(v)
  if v == nil or v == M.null then out[#out + 1] = "null"
  elseif t == "boolean" then out[#out + 1] = tostring(v)
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then out[#out + 1] = "null"
    elseif v == math.floor(v) and math.abs(v) < 1e15 then out[#out + 1] = ("%d"):format(v)
    else out[#out + 1] = ("%.17g"):format(v) end
  elseif t == "string" then out[#out + 1] = encode_string(v)
  elseif t == "table" then
    local n = #v
    if n > 0 or (next(v) == nil and getmetatable(v) == M.array_mt) then
      out[#out + 1] = "["
      for i = 1, n do
        if i > 1 then out[#out + 1] = "," end
        encode(v[i], out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = encode_string(k)
        out[#out + 1] = ":"
        local val = v[k]
        if val == nil then val = v[tonumber(k)] end
        encode(val, out)
      end
      out[#out + 1] = "}"
    end
  else
    error("json: cannot encode a " .. t, 0)
  end
end
M.array_mt = {}

function M.encode(v)
  local out = {}
  encode(v, out)
  return concat(out)
end

return M
