-- vcli.base64 — standard base64 (decoding also takes the URL-safe
-- alphabet and ignores whitespace). Pure Lua: the host and every plugin
-- (as a built-in module) share it.
local M = {}

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local DEC = {}
for i = 1, 64 do DEC[B64:byte(i)] = i - 1 end
DEC[("-"):byte()] = 62; DEC[("_"):byte()] = 63

-- decode(s) -> bytes | nil when s holds a character outside base64
function M.decode(s)
  s = s:gsub("%s", "")
  local out, n = {}, 0
  local acc, bits = 0, 0
  for i = 1, #s do
    local c = s:byte(i)
    if c == 61 then break end -- '='
    local v = DEC[c]
    if not v then return nil end
    acc = acc * 64 + v
    bits = bits + 6
    if bits >= 8 then
      bits = bits - 8
      local byte = math.floor(acc / 2 ^ bits) % 256
      n = n + 1
      out[n] = string.char(byte)
      acc = acc % 2 ^ bits
    end
  end
  return table.concat(out)
end

function M.encode(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(n / 262144) % 64
    local c2 = math.floor(n / 4096) % 64
    local c3 = math.floor(n / 64) % 64
    local c4 = n % 64
    out[#out + 1] = B64:sub(c1 + 1, c1 + 1) .. B64:sub(c2 + 1, c2 + 1) ..
      (b and B64:sub(c3 + 1, c3 + 1) or "=") .. (c and B64:sub(c4 + 1, c4 + 1) or "=")
  end
  return table.concat(out)
end

return M
