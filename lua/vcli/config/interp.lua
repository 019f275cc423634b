-- vcli.config.interp — ${…} in configuration strings, resolved after the
-- layers are merged (so ${config:…} sees the final value of the other key):
--   ${env:VAR}            the environment variable; an error if unset
--   ${env:VAR:-default}   … or default when unset or empty
--   ${file:path}          the file's contents, trimmed (relative paths are
--                         relative to the file the string is written in)
--   ${config:other.key}   another key's merged value (typed when the whole
--                         string is this one reference)
--   $${                   a literal "${"
-- Errors name the file and line the string came from.
local validate = require("vcli.config.validate")

local M = {}

local function home_expand(p)
  if p:sub(1, 2) == "~/" then return (require("vcli.config.layers").getenv("HOME") or "") .. p:sub(2) end
  return p
end

local function read_file(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

-- Resolve every pending string of ctx (from merge) in place.
-- lookup(path) -> tbl, key (of the merged configuration) or nil.
function M.resolve(ctx, lookup)
  local merge = require("vcli.config.merge")
  local LINE = merge.LINE
  local by_tbl = {}
  for _, e in ipairs(ctx.pending) do
    local t, k, li, line = e[1], e[2], e[4], e[5]
    local o = ctx.origin[t]
    if o and o[k] == li * LINE + (line or 0) then
      by_tbl[t] = by_tbl[t] or {}
      by_tbl[t][k] = e
    end
  end
  local getenv = require("vcli.config.layers").getenv
  local resolve_entry

  local function fail(e, msg)
    e.failed = true
    error({ msg = msg }, 0)
  end

  local function expand(e, s, chain)
    local whole_kind, whole_arg = s:match("^%${(%a+):(.*)}$")
    if whole_kind == "config" and not whole_arg:find("}", 1, true) then
      local t, k = lookup(whole_arg)
      if not t or t[k] == nil then fail(e, ("${config:%s}: no such key"):format(whole_arg)) end
      local inner = by_tbl[t] and by_tbl[t][k]
      if inner and not inner.done then resolve_entry(inner, chain) end
      return t[k]
    end
    return (s:gsub("(%$?)%$(%b{})", function(esc, body)
      if esc == "$" then return "$" .. body end
      local kind, arg = body:match("^{(%a+):(.*)}$")
      if kind == "env" then
        local name, default = arg:match("^([%w_]+):%-(.*)$")
        name = name or arg
        local v = getenv(name)
        if (v == nil or v == "") and default then return expand(e, default, chain) end
        if v == nil then fail(e, ("${env:%s}: environment variable %s is not set (give a default: ${env:%s:-value})")
          :format(name, name, name)) end
        return v
      elseif kind == "file" then
        local p = home_expand(expand(e, arg, chain))
        local layer = ctx.layers[e[4]]
        if p:sub(1, 1) ~= "/" and layer.file and layer.file:find("/") then
          p = layer.file:match("^(.*)/[^/]*$") .. "/" .. p
        end
        local s2 = read_file(p)
        if not s2 then fail(e, ("${file:%s}: cannot read %s"):format(arg, p)) end
        return (s2:gsub("^%s+", ""):gsub("%s+$", ""))
      elseif kind == "config" then
        local t, k = lookup(arg)
        if not t or t[k] == nil then fail(e, ("${config:%s}: no such key"):format(arg)) end
        local inner = by_tbl[t] and by_tbl[t][k]
        if inner and not inner.done then resolve_entry(inner, chain) end
        local v = t[k]
        if type(v) == "table" then fail(e, ("${config:%s}: is a %s, not a value to put in a string"):format(arg,
          validate.is_list(v) and "list" or "map")) end
        return tostring(v)
      end
      fail(e, ("%s: unknown interpolation (use ${env:VAR}, ${file:path} or ${config:key})"):format("$" .. body))
    end))
  end

  function resolve_entry(e, chain)
    if e.busy then
      local names = {}
      local start = false
      for _, c in ipairs(chain) do
        if c == e then start = true end
        if start then names[#names + 1] = c[6] end
      end
      names[#names + 1] = e[6]
      -- the error belongs to the first string of the cycle
      error({ msg = "interpolation cycle: " .. table.concat(names, " -> "), entry = e }, 0)
    end
    e.busy = true
    chain[#chain + 1] = e
    local t, k, node = e[1], e[2], e[3]
    local v = expand(e, t[k], chain)
    chain[#chain] = nil
    e.busy = false
    if type(v) == "string" then v = validate.coerce(node, v) end
    local ok, msg = validate.check(node, v)
    if node.type == "any" then ok = true end
    if not ok then fail(e, msg) end
    t[k] = v
    e.done = true
  end

  for _, e in ipairs(ctx.pending) do
    local t, k = e[1], e[2]
    local live = by_tbl[t] and by_tbl[t][k] == e
    if live and not e.done and not e.failed then
      local ok, err = pcall(resolve_entry, e, {})
      if not ok then
        local bad = type(err) == "table" and err.entry or e
        local msg = type(err) == "table" and err.msg or tostring(err)
        merge.report(ctx, bad[4], bad[5], bad[6], msg)
        -- every string caught in the failure falls back to its default
        for _, x in ipairs(ctx.pending) do
          if (x.busy or x.failed or x == e or x == bad) and not x.done then
            x.busy, x.failed, x.done = false, true, true
            local d = x[3].default
            if type(d) == "table" then d = nil end
            x[1][x[2]] = d
            local o = ctx.origin[x[1]]
            if o then o[x[2]] = d ~= nil and (1 * LINE) or nil end
          end
        end
      end
    end
  end
end

return M
