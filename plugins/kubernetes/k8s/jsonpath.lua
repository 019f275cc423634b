-- k8s.jsonpath — kubectl's JSONPath templates (k8s.io/client-go/util/jsonpath):
-- `-o jsonpath=TEMPLATE`, `-o custom-columns=`, `--sort-by`.
--   local tpl = jsonpath.parse("{range .items[*]}{.metadata.name}{'\n'}{end}")  -- or error
--   local text = jsonpath.execute(tpl, obj, fmt)   -- fmt(v): text of a map/list (compact JSON)
--   local values = jsonpath.eval(expr, obj)        -- the results of one expression
-- Supported: text outside {}, `$`, `@`, `.field`, `['field']`, `..field`
-- (recursive descent), `.*`/`[*]`, `[n]` (negative from the end),
-- `[start:end:step]`, unions `[a,b]`, filters `[?(@.x == 'v')]` (==, !=,
-- <, <=, >, >=; or a path alone: it exists), string literals ('…' or "…"
-- with \n, \t), `range … end`. Missing keys give nothing, as kubectl's
-- --allow-missing-template-keys (its default).
local M = {}

-- kubectl's words ("error: error parsing jsonpath {.items[, unterminated array"); i: where
local function perr(src, i, msg)
  local _ = i
  if #src > 120 then src = src:sub(1, 100) .. "…" end   -- one line a person can read
  error(("error: error parsing jsonpath %s, %s"):format(src, msg), 0)
end

-- a quoted literal at s[i] -> value, next index
local function quoted(src, s, i)
  local q = s:sub(i, i)
  local out, j = {}, i + 1
  while j <= #s do
    local ch = s:sub(j, j)
    if ch == "\\" then
      local nx = s:sub(j + 1, j + 1)
      out[#out + 1] = nx == "n" and "\n" or nx == "t" and "\t" or nx == "r" and "\r" or nx
      j = j + 2
    elseif ch == q then
      return table.concat(out), j + 1
    else
      out[#out + 1] = ch
      j = j + 1
    end
  end
  perr(src, i, "unterminated quoted string")
end

-- the index of the first ch at or after s[j] outside quotes (#s + 1 if none)
local function find_close(src, s, j, ch)
  while j <= #s and s:sub(j, j) ~= ch do
    local cc = s:sub(j, j)
    if cc == "'" or cc == '"' then j = select(2, quoted(src, s, j)) else j = j + 1 end
  end
  return j
end

-- one path expression: steps of { op = "root"|"cur"|"field"|"recurse"|"wild"|"index"|"slice"|"union"|"filter", … }
local parse_path
local MAX_NESTING = 100   -- filters within filters, ranges within ranges
local function parse_filter(src, s, i, depth)
  -- s[i] is after "[?(": until the matching ")]"
  if depth > MAX_NESTING then perr(src, i, ("filters nested deeper than %d levels"):format(MAX_NESTING)) end
  local open, j = 1, i
  while j <= #s do
    local ch = s:sub(j, j)
    if ch == "'" or ch == '"' then
      local _, nj = quoted(src, s, j)
      j = nj
    else
      if ch == "(" then open = open + 1 elseif ch == ")" then open = open - 1 end
      if open == 0 then break end
      j = j + 1
    end
  end
  if open ~= 0 or s:sub(j + 1, j + 1) ~= "]" then perr(src, i, "unterminated filter") end
  local body = s:sub(i, j - 1)
  local left, op, right = body:match("^%s*(.-)%s*([=!<>]=?)%s*(.-)%s*$")
  local f = {}
  if left and op ~= "=" and op ~= "!" and left ~= "" then
    f.left = parse_path(src, left, depth)
    f.cmp = op
    if right:match("^['\"]") then f.value = quoted(src, right, 1)
    elseif tonumber(right) then f.value = tonumber(right)
    elseif right == "true" or right == "false" then f.value = right == "true"
    else f.right = parse_path(src, right, depth) end
  else
    f.left = parse_path(src, body:match("^%s*(.-)%s*$"), depth)
  end
  return { op = "filter", f = f }, j + 2
end

function parse_path(src, s, depth)
  depth = depth or 0
  local steps, i = {}, 1
  local c = s:sub(1, 1)
  if c == "$" then steps[1] = { op = "root" }; i = 2
  elseif c == "@" then steps[1] = { op = "cur" }; i = 2 end
  while i <= #s do
    local ch = s:sub(i, i)
    if s:sub(i, i + 1) == ".." then
      local name, j = s:match("^([%w_%-/]+)()", i + 2)
      if not name then perr(src, i, "a field name expected after ..") end
      steps[#steps + 1] = { op = "recurse", name = name }
      i = j
    elseif ch == "." then
      if s:sub(i + 1, i + 1) == "*" then steps[#steps + 1] = { op = "wild" }; i = i + 2
      else
        local name, j = s:match("^([%w_%-/]+)()", i + 1)
        if name then steps[#steps + 1] = { op = "field", name = name }; i = j
        elseif i == #s or s:sub(i + 1, i + 1) == "[" then i = i + 1   -- "." alone: the current object
        else perr(src, i, "a field name expected") end
      end
    elseif ch == "[" then
      if s:sub(i, i + 2) == "[?(" then
        local st, j = parse_filter(src, s, i + 3, depth + 1)
        steps[#steps + 1] = st
        i = j
      else
        local close = find_close(src, s, i + 1, "]")
        if close > #s then perr(src, i, "unterminated array") end
        local inner = s:sub(i + 1, close - 1):match("^%s*(.-)%s*$")
        if inner == "*" then steps[#steps + 1] = { op = "wild" }
        elseif inner:find(":", 1, true) and not inner:match("^['\"]") then
          local a, b, st = inner:match("^(%-?%d*):(%-?%d*):?(%-?%d*)$")
          if not a then perr(src, i, "bad slice [" .. inner .. "]") end
          steps[#steps + 1] = { op = "slice", a = tonumber(a), b = tonumber(b), step = tonumber(st) }
        else
          local keys = {}
          local k = 1
          while k <= #inner do
            local cc = inner:sub(k, k)
            if cc == "'" or cc == '"' then
              local v, nk = quoted(src, inner, k)
              keys[#keys + 1] = v
              k = nk
            else
              local num, nk = inner:match("^%s*(%-?%d+)%s*()", k)
              if not num then perr(src, i, "bad subscript [" .. inner .. "]") end
              keys[#keys + 1] = tonumber(num)
              k = nk
            end
            k = (inner:match("^%s*,%s*()", k)) or (k <= #inner and perr(src, i, "bad subscript [" .. inner .. "]")) or k
          end
          steps[#steps + 1] = #keys == 1 and { op = "index", key = keys[1] } or { op = "union", keys = keys }
        end
        i = close + 1
      end
    elseif ch:match("%s") then i = i + 1
    else
      perr(src, i, ("unexpected %q"):format(ch))
    end
  end
  return steps
end

-- template -> nodes: { text = s } | { expr = steps } | { lit = s } | { range = steps, body = nodes }
function M.parse(src)
  local root = { body = {} }
  local stack = { root }
  local i = 1
  while i <= #src do
    local open = src:find("{", i, true)
    local cur = stack[#stack].body
    if not open then cur[#cur + 1] = { text = src:sub(i) } break end
    if open > i then cur[#cur + 1] = { text = src:sub(i, open - 1) } end
    -- the matching "}" (quotes may hold braces)
    local j = find_close(src, src, open + 1, "}")
    if j > #src then
      -- as Go's lexer meets it: an open [ before the missing } is the array left open
      local rest = src:sub(open + 1)
      perr(src, open, (rest:find("[", 1, true) and not rest:find("]", 1, true)) and "unterminated array" or "unclosed action")
    end
    local inner = src:sub(open + 1, j - 1):match("^%s*(.-)%s*$")
    if inner == "end" then
      if #stack == 1 then perr(src, open, "not in range, nothing to end") end
      table.remove(stack)
    elseif inner:match("^range%s") then
      if #stack > MAX_NESTING then perr(src, open, ("ranges nested deeper than %d levels"):format(MAX_NESTING)) end
      local node = { range = parse_path(src, inner:match("^range%s+(.*)$")), body = {} }
      cur[#cur + 1] = node
      stack[#stack + 1] = node
    elseif inner:match("^['\"]") then
      local v, nj = quoted(src, inner, 1)
      if nj <= #inner then perr(src, open, "text after a string literal") end
      cur[#cur + 1] = { lit = v }
    elseif inner == "" then
      perr(src, open, "empty action")
    else
      cur[#cur + 1] = { expr = parse_path(src, inner) }
    end
    i = j + 1
  end
  if #stack > 1 then perr(src, #src, "range without end") end
  return root.body
end

-- ------------------------------------------------------------ evaluation
local function is_list(v, null)
  if type(v) ~= "table" or v == null then return false end
  if v[1] ~= nil then return true end
  return next(v) == nil and getmetatable(v) ~= nil
end

local function children(v, null, out)
  if type(v) ~= "table" or v == null then return end
  if is_list(v, null) then
    for _, x in ipairs(v) do out[#out + 1] = x end
  else
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    for _, k in ipairs(keys) do out[#out + 1] = v[k] end
  end
end

local function recurse(v, name, null, out)
  if type(v) ~= "table" or v == null then return end
  if is_list(v, null) then
    for _, x in ipairs(v) do recurse(x, name, null, out) end
  else
    if v[name] ~= nil then out[#out + 1] = v[name] end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    for _, k in ipairs(keys) do recurse(v[k], name, null, out) end
  end
end

local eval_steps
local function compare(a, op, b)
  if type(a) ~= type(b) then return op == "!=" end
  if op == "==" then return a == b elseif op == "!=" then return a ~= b end
  if type(a) ~= "number" and type(a) ~= "string" then return false end
  if op == "<" then return a < b elseif op == "<=" then return a <= b
  elseif op == ">" then return a > b else return a >= b end
end

local function step(st, vals, root, null)
  local out = {}
  for _, v in ipairs(vals) do
    local op = st.op
    if op == "root" then out[#out + 1] = root
    elseif op == "cur" then out[#out + 1] = v
    elseif op == "field" then
      if type(v) == "table" and v ~= null and not is_list(v, null) and v[st.name] ~= nil then out[#out + 1] = v[st.name] end
    elseif op == "recurse" then recurse(v, st.name, null, out)
    elseif op == "wild" then children(v, null, out)
    elseif op == "index" or op == "union" then
      for _, k in ipairs(st.keys or { st.key }) do
        if type(k) == "number" then
          if is_list(v, null) then
            local n = #v
            local idx = k < 0 and n + k + 1 or k + 1
            if v[idx] ~= nil then out[#out + 1] = v[idx] end
          end
        elseif type(v) == "table" and v ~= null and v[k] ~= nil then
          out[#out + 1] = v[k]
        end
      end
    elseif op == "slice" then
      if is_list(v, null) then
        local n = #v
        local a, b, s = st.a or 0, st.b or n, st.step or 1
        if a < 0 then a = math.max(n + a, 0) end
        if b < 0 then b = n + b end
        if b > n then b = n end
        if s > 0 then for k = a, b - 1, s do if v[k + 1] ~= nil then out[#out + 1] = v[k + 1] end end end
      end
    elseif op == "filter" then
      local items = {}
      children(v, null, items)
      local f = st.f
      for _, it in ipairs(items) do
        local l = eval_steps(f.left, { it }, root, null)
        local keep
        if not f.cmp then keep = #l > 0 and l[1] ~= null and l[1] ~= false
        else
          local r = f.right and eval_steps(f.right, { it }, root, null)[1] or f.value
          keep = #l > 0 and compare(l[1], f.cmp, r)
        end
        if keep then out[#out + 1] = it end
      end
    end
  end
  return out
end

function eval_steps(steps, vals, root, null)
  for _, st in ipairs(steps) do
    vals = step(st, vals, root, null)
    if #vals == 0 then break end
  end
  return vals
end

-- the results of one expression (a path, without braces, or parsed steps)
function M.eval(expr, obj, null)
  local steps = type(expr) == "string" and parse_path(expr, (expr:gsub("^{", ""):gsub("}$", ""))) or expr
  return eval_steps(steps, { obj }, obj, null)
end

-- kubectl prints a result: strings as they are, numbers as Go's %v,
-- maps and lists as JSON (fmt)
function M.text(v, null, fmt)
  local t = type(v)
  if t == "string" then return v end
  if v == nil or v == null then return "" end
  if t == "number" then
    if v == math.floor(v) and v > -2 ^ 53 and v < 2 ^ 53 then return ("%d"):format(v) end
    return fmt and fmt(v) or tostring(v)
  end
  if t == "boolean" then return tostring(v) end
  return fmt and fmt(v) or "<table>"
end

function M.execute(nodes, obj, null, fmt)
  local out = {}
  local function run(list, cur)
    for _, n in ipairs(list) do
      if n.text then out[#out + 1] = n.text
      elseif n.lit then out[#out + 1] = n.lit
      elseif n.expr then
        local vals = eval_steps(n.expr, { cur }, obj, null)
        local parts = {}
        for i, v in ipairs(vals) do parts[i] = M.text(v, null, fmt) end
        out[#out + 1] = table.concat(parts, " ")
      elseif n.range then
        for _, item in ipairs(eval_steps(n.range, { cur }, obj, null)) do run(n.body, item) end
      end
    end
  end
  run(nodes, obj)
  return table.concat(out)
end

return M
