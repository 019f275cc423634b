-- vcli.shell.complete — Tab completion computed from the command specs:
-- command names, subcommands, flags, flag values and each argument's own
-- completer. Lua computes the candidates; the editor displays them.
local commands = require("vcli.shell.commands")
local words_mod = require("vcli.shell.words")

local M = {}

local function norm(items)
  local out = {}
  for _, it in ipairs(items or {}) do
    if type(it) == "table" then table.insert(out, { word = tostring(it.word or it[1]), desc = it.desc or it[2] })
    elseif it ~= nil then table.insert(out, { word = tostring(it) }) end
  end
  return out
end

local function call_completer(fn, partial, ctx)
  if type(fn) == "table" then return norm(fn) end
  if type(fn) ~= "function" then return {} end
  local ok, res = pcall(fn, partial, ctx)
  if not ok then return {} end
  return norm(res)
end

local function flag_candidates(spec)
  local out, help = {}, true
  for _, f in ipairs(commands.all_flags(spec)) do
    if f.name == "help" then help = false end
    table.insert(out, { word = "--" .. f.name .. (f.type ~= "bool" and "=" or ""), desc = f.help, flag = f })
  end
  if help then table.insert(out, { word = "--help", desc = "show this help" }) end
  return out
end

local function find_flag(spec, w)
  local long = w:match("^%-%-([^=]+)$")
  local short = w:match("^%-(%a)$")
  for _, f in ipairs(commands.all_flags(spec)) do
    if (long and f.name == long) or (short and f.short == short) then return f end
  end
end

-- A field of t, or of the tables its __index chain leads to.
local function field(t, k)
  local seen = {}
  while type(t) == "table" and not seen[t] do
    seen[t] = true
    local v = rawget(t, k)
    if v ~= nil then return v end
    local mt = getmetatable(t)
    t = mt and mt.__index
  end
end

-- Names and fields for `= …`, from the environment the Lua runs in (its
-- variables, `vcli`, the globals).
local function lua_candidates(src)
  local chain = src:match("([%a_][%w_%.:]*)$") or ""
  local base, sep, last = chain:match("^(.*)([%.:])([%w_]*)$")
  local tbl = require("vcli.shell").lua_env()
  if base then
    for part in base:gmatch("[^%.:]+") do
      if type(tbl) ~= "table" then return {}, "" end
      tbl = field(tbl, part)
    end
  else
    last = chain
  end
  local out, seen = {}, {}
  while type(tbl) == "table" and not seen[tbl] do
    seen[tbl] = true
    for k, v in pairs(tbl) do
      if type(k) == "string" and k:match("^[%a_][%w_]*$") and (sep ~= ":" or type(v) == "function") then
        table.insert(out, { word = k, desc = type(v) })
      end
    end
    local mt = getmetatable(tbl)
    tbl = mt and mt.__index
  end
  return out, last
end

-- M.complete(line, pos) -> { items = {{word=, desc=}...}, start = byte offset
-- (0-based) where the replaced word begins, partial = the word typed so far }
function M.complete(line, pos)
  pos = pos or #line
  local head = line:sub(1, pos)
  local cmds = words_mod.split(head, true)
  local last_cmd = cmds[#cmds]
  if last_cmd and last_cmd.lua and last_cmd.stop > #head then
    local items, last = lua_candidates(head)
    return M.filter(items, last, pos - #last)
  end
  local before, partial, offset, quote, piped = words_mod.before_cursor(line, pos)
  local start = offset - 1
  -- after "|" the words are /bin/sh's: nothing of vcli's to offer
  if piped then return { items = {}, start = start, partial = partial } end
  local items
  if #before == 0 then
    items = {}
    for _, name in ipairs(commands.names(true)) do
      local spec = commands.get(name)
      local al = commands.aliases()[name]
      table.insert(items, { word = name, desc = spec and spec.summary or (al and ("alias for " .. al.expansion)) })
    end
    return M.filter(items, partial, start, quote)
  end
  before = commands and require("vcli.shell").expand_alias(before) or before
  local spec, i, moved = commands.resolve(before)
  if not spec then return { items = {}, start = start, partial = partial } end
  before = moved or before -- flags before a subcommand: as if after it
  local ctx = { words = before, spec = spec, flags = {} }
  -- a flag waiting for its value?
  local last = before[#before]
  if #before >= i and last and last:sub(1, 1) == "-" then
    local f = find_flag(spec, last)
    if f and f.type ~= "bool" then
      local vals = f.complete or f.values
      if type(vals) == "function" and not f.complete then vals = vals() end
      return M.filter(call_completer(vals, partial, ctx), partial, start, quote)
    end
  end
  -- --flag=value
  local fname, fval = partial:match("^%-%-([^=]+)=(.*)$")
  if fname then
    local f = find_flag(spec, "--" .. fname)
    if not f then return { items = {}, start = start, partial = partial } end
    local vals = f.complete or f.values
    if type(vals) == "function" and not f.complete then vals = vals() end
    local res = M.filter(call_completer(vals, fval, ctx), fval, start + #fname + 3, quote)
    return res
  end
  if partial:sub(1, 1) == "-" then
    -- a plugin's stub has no flags yet: its plugin starts for its real spec
    if commands.realize(spec) then
      spec = commands.resolve(require("vcli.shell").expand_alias(before))
      if not spec then return { items = {}, start = start, partial = partial } end
    end
    return M.filter(flag_candidates(spec), partial, start, quote)
  end
  items = {}
  if spec.subcommands and i > #before then
    for _, sub in ipairs(spec.subcommands) do
      if not sub.hidden then table.insert(items, { word = sub.name, desc = sub.summary }) end
    end
  end
  if spec.handler and #spec.args > 0 then
    -- which positional argument is being typed?
    local npos, k = 0, i
    while k <= #before do
      local w = before[k]
      if w:sub(1, 1) == "-" and #w > 1 then
        local f = find_flag(spec, w)
        if f and f.type ~= "bool" and not w:find("=") then k = k + 1 end
      else
        npos = npos + 1
      end
      k = k + 1
    end
    local arg = spec.args[npos + 1]
    if not arg and spec.args[#spec.args] and spec.args[#spec.args].variadic then arg = spec.args[#spec.args] end
    if arg then
      for _, it in ipairs(call_completer(arg.complete, partial, ctx)) do table.insert(items, it) end
    end
  end
  return M.filter(items, partial, start, quote)
end

-- Keep candidates starting with partial (case-insensitively when nothing
-- matches exactly, then by substring), sorted and without duplicates.
function M.filter(items, partial, start, quote)
  local function pick(pred)
    local out, seen = {}, {}
    for _, it in ipairs(items) do
      if pred(it.word) and not seen[it.word] then seen[it.word] = true; table.insert(out, it) end
    end
    return out
  end
  local out = pick(function(w) return w:sub(1, #partial) == partial end)
  if #out == 0 and partial ~= "" then
    local lp = partial:lower()
    out = pick(function(w) return w:lower():sub(1, #lp) == lp end)
    if #out == 0 then out = pick(function(w) return w:lower():find(lp, 1, true) ~= nil end) end
  end
  table.sort(out, function(a, b) return a.word < b.word end)
  return { items = out, start = start, partial = partial, quote = quote }
end

-- Longest common prefix of the candidates' words.
function M.common_prefix(items)
  if #items == 0 then return "" end
  local p = items[1].word
  for i = 2, #items do
    local w = items[i].word
    local j = 0
    while j < #p and j < #w and p:byte(j + 1) == w:byte(j + 1) do j = j + 1 end
    p = p:sub(1, j)
  end
  -- never end inside a UTF-8 sequence
  while #p > 0 and p:byte(#p) >= 0x80 and p:byte(#p) < 0xC0 do p = p:sub(1, -2) end
  if #p > 0 and p:byte(#p) >= 0xC0 then p = p:sub(1, -2) end
  return p
end

return M
