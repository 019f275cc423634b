-- vcli.text — small string helpers shared by the shell and the plugins.
local M = {}

-- Levenshtein distance, for "did you mean" suggestions.
function M.distance(a, b)
  if a == b then return 0 end
  local la, lb = #a, #b
  if la == 0 then return lb end
  if lb == 0 then return la end
  local prev, cur = {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    cur[0] = i
    local ca = a:byte(i)
    for j = 1, lb do
      local cost = (ca == b:byte(j)) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev, cur = cur, prev
  end
  return prev[lb]
end

-- The candidate closest to word, if it is close enough to be a typo.
function M.nearest(word, candidates)
  local best, bestd = nil, math.huge
  for _, c in ipairs(candidates) do
    local d = M.distance(word, c)
    if c:sub(1, #word) == word and #word >= 2 then d = math.min(d, 1) end
    if d < bestd then best, bestd = c, d end
  end
  if best and bestd <= math.max(2, math.floor(#word / 3)) then return best end
  return nil
end

function M.trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

-- Left-align cells into columns; rows is an array of arrays of strings.
function M.columns(rows, opts)
  opts = opts or {}
  local width = require("vcli.term").width
  local w = {}
  for _, r in ipairs(rows) do
    for i, c in ipairs(r) do w[i] = math.max(w[i] or 0, width(c)) end
  end
  local out = {}
  local gap = opts.gap or "   "
  for _, r in ipairs(rows) do
    local parts = {}
    for i, c in ipairs(r) do
      if i < #r then parts[i] = c .. string.rep(" ", w[i] - width(c)) else parts[i] = c end
    end
    table.insert(out, (opts.indent or "") .. table.concat(parts, gap))
  end
  return table.concat(out, "\n")
end

return M
