-- k8s.util — small helpers shared by the Kubernetes modules (no dependencies).
local M = {}

local base64 = require("vcli.base64")
M.base64_decode, M.base64_encode = base64.decode, base64.encode

-- RFC 3339 "2024-01-02T03:04:05Z" (or with fraction/offset) -> unix seconds
function M.parse_time(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, se, rest = s:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)(.*)$")
  if not y then return nil end
  y, mo, d, h, mi, se = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(se)
  -- days from civil (Howard Hinnant)
  local yy = mo <= 2 and y - 1 or y
  local era = math.floor(yy / 400)
  local yoe = yy - era * 400
  local mp = (mo + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  local t = days * 86400 + h * 3600 + mi * 60 + se
  local frac = rest:match("^%.(%d+)")
  if frac then rest = rest:sub(#frac + 2) end
  local sign, oh, om = rest:match("^([%+%-])(%d+):(%d+)$")
  if sign then
    local off = tonumber(oh) * 3600 + tonumber(om) * 60
    t = sign == "+" and t - off or t + off
  end
  return t
end

-- kubectl's duration.HumanDuration (k8s.io/apimachinery/pkg/util/duration)
function M.human_duration(secs)
  secs = math.floor(secs)
  if secs < -1 then return "<invalid>" end
  if secs < 0 then return "0s" end
  if secs < 60 * 2 then return secs .. "s" end
  local minutes = math.floor(secs / 60)
  if minutes < 10 then
    local s = secs % 60
    if s == 0 then return minutes .. "m" end
    return minutes .. "m" .. s .. "s"
  elseif minutes < 60 * 3 then
    return minutes .. "m"
  end
  local hours = math.floor(secs / 3600)
  if hours < 8 then
    local m = minutes % 60
    if m == 0 then return hours .. "h" end
    return hours .. "h" .. m .. "m"
  elseif hours < 48 then
    return hours .. "h"
  elseif hours < 24 * 8 then
    local h = hours % 24
    if h == 0 then return math.floor(hours / 24) .. "d" end
    return math.floor(hours / 24) .. "d" .. h .. "h"
  elseif hours < 24 * 365 * 2 then
    return math.floor(hours / 24) .. "d"
  elseif hours < 24 * 365 * 8 then
    local dy = math.floor(hours / 24) % 365
    if dy == 0 then return math.floor(hours / 24 / 365) .. "y" end
    return math.floor(hours / 24 / 365) .. "y" .. dy .. "d"
  end
  return math.floor(hours / 24 / 365) .. "y"
end

function M.urlencode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

function M.query(t)
  local keys = {}
  for k, v in pairs(t) do if v ~= nil and v ~= false and v ~= "" then keys[#keys + 1] = k end end
  if #keys == 0 then return "" end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = M.urlencode(k) .. "=" .. M.urlencode(t[k] == true and "true" or t[k]) end
  return "?" .. table.concat(parts, "&")
end

-- Remove secrets from any text before it is shown.
function M.redact(s, secrets)
  s = tostring(s)
  for _, sec in ipairs(secrets or {}) do
    if type(sec) == "string" and #sec >= 4 then
      local i = 1
      while true do
        local a, b = s:find(sec, i, true)
        if not a then break end
        s = s:sub(1, a - 1) .. "<redacted>" .. s:sub(b + 1)
        i = a + 10
      end
    end
  end
  s = s:gsub("([Bb]earer )[%w%-%._~%+/=]+", "%1<redacted>")
  return s
end

return M
