-- vcli.tui.prims — the few primitives the widgets stand on, the same in the
-- host and in a plugin's state (there the name loads tui/prims_plugin.lua,
-- which reads them from the plugin's vcli table). Widgets require only this,
-- vcli.text and each other, so every widget runs in both worlds unchanged.
--   P.width(s) -> display columns of s (UTF-8, wide and combining characters)
--   P.split(s) -> chars, widths (arrays: one user-perceived character each)
--   P.regex(pattern) -> re | nil, err   re:find(s) -> start, end | nil
--   P.order(keys [, desc]) -> perm      stable sort of 1..#keys by keys[i]
--                                       (numbers before strings)
local term = require("vcli.term")

local P = {}
P.width = term.width
P.split = term.split

-- Until the C regex lands: a Lua pattern (plain text when it is not one).
function P.regex(pattern)
  local ok, err = pcall(string.find, "", pattern)
  if not ok then return nil, tostring(err):gsub("^.-:%d+: ", "") end
  return { find = function(_, s) return s:find(pattern) end }
end

function P.order(keys, desc)
  local perm = {}
  for i = 1, #keys do perm[i] = i end
  table.sort(perm, function(a, b)
    local ka, kb = keys[a], keys[b]
    local ta, tb = type(ka) == "number", type(kb) == "number"
    if ta ~= tb then if desc then return tb else return ta end end
    if ka == kb then return a < b end
    if desc then return ka > kb end
    return ka < kb
  end)
  return perm
end

return P
