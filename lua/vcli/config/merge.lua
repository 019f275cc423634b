-- vcli.config.merge — folds one layer into the configuration built so far,
-- checking every value against the schema on the way (a bad key is reported
-- with file:line and skipped; the rest of the layer still applies) and
-- recording where each value came from.
--
-- Strategies, chosen per key by the schema (`merge`), by rules users add
-- (config.add_rule) or by the layer itself (a key written `key!:`):
--   overwrite  the higher layer's value replaces the lower one
--   deep       maps merge key by key (the default for maps)
--   append     lists concatenate, lower layers' entries first
--   named      lists of maps merge entry by entry on their `name`
--   replace    (`key!:`) the value replaces whatever lower layers had, maps
--              and lists included; `key!: ~` removes it
local validate = require("vcli.config.validate")
local yaml = require("vcli.yaml")
local null, array_mt = yaml.null, yaml.array_mt

local M = {}
M.STRATEGIES = { overwrite = true, deep = true, append = true, named = true, replace = true }

-- Origins are packed into one number per value: layer index and line.
local LINE = 1048576
M.LINE = LINE

local ANY = { type = "any", merge = "deep", doc = "any value" }
M.ANY = ANY

-- Glob over dotted paths: `*` is one key, `**` any number of keys.
function M.glob_pattern(glob)
  local p = glob:gsub("[%^%$%(%)%%%.%[%]%+%-%?]", "%%%0")
  p = p:gsub("%*%*", "\1"):gsub("%*", "[^.]*"):gsub("\1", ".*")
  return "^" .. p .. "$"
end

local function child_of(node, key)
  local c = node.keys and node.keys[key]
  if c then return c, true end
  c = node.each or node.items and node.items.each
  if c then return c, true end
  if node.type == "any" or node.open then return ANY, true end
  return ANY, false
end
M.child_of = child_of

local function join(path, key)
  if path == "" then return key end
  return path .. "." .. key
end
M.join = join

local merge_into

local function report(ctx, li, line, path, msg, warning)
  local layer = ctx.layers[li]
  local where = layer.file and (line and line > 0 and (layer.file .. ":" .. line) or layer.file) or layer.name
  table.insert(warning and ctx.warnings or ctx.errors, ("%s: %s: %s"):format(where, path, msg))
end
M.report = report

local function set_origin(ctx, t, k, li, line)
  local o = ctx.origin[t]
  if not o then o = {}; ctx.origin[t] = o end
  o[k] = li * LINE + (line or 0)
end

-- A fresh copy of a list value, each element checked against items.
local function copy_list(ctx, v, lines, node, li, path, into)
  local out = into or setmetatable({}, array_mt)
  local items = node.items or ANY
  local ll = lines and lines[v]
  for i = 1, #v do
    local e = v[i]
    local line = ll and ll[i]
    local ok, msg = true, nil
    if type(e) == "string" and e:find("${", 1, true) then
      ok = true
    elseif items ~= ANY then
      ok, msg = validate.check(items, e)
    end
    if not ok then
      report(ctx, li, line, path .. "[" .. i .. "]", msg)
    else
      local n = #out + 1
      if type(e) == "table" then
        local as_list = items.type == "list" or (items.type ~= "map" and validate.is_list(e))
        local t = as_list and setmetatable({}, array_mt) or {}
        out[n] = t
        if as_list then copy_list(ctx, e, lines, items, li, path .. "[" .. i .. "]", t)
        else merge_into(ctx, t, e, lines, items, li, path .. "[" .. i .. "]") end
      else
        out[n] = e
        if type(e) == "string" and e:find("${", 1, true) then
          table.insert(ctx.pending, { out, n, items, li, line, path .. "[" .. i .. "]" })
        end
      end
      set_origin(ctx, out, n, li, line)
    end
  end
  return out
end

-- Lists of maps keyed by `name`: an entry with a known name merges into it.
local function merge_named(ctx, dst, v, lines, node, li, path)
  local items = node.items or ANY
  local index = {}
  for i = 1, #dst do
    local e = dst[i]
    if type(e) == "table" and e.name ~= nil then index[e.name] = i end
  end
  local ll = lines and lines[v]
  for i = 1, #v do
    local e = v[i]
    local line = ll and ll[i]
    if type(e) ~= "table" or not validate.is_map(e) or type(e.name) ~= "string" then
      report(ctx, li, line, path .. "[" .. i .. "]", "expected a map with a name, got " .. validate.describe(e))
    else
      local at = index[e.name]
      if not at then
        at = #dst + 1
        dst[at] = {}
        index[e.name] = at
        set_origin(ctx, dst, at, li, line)
      end
      merge_into(ctx, dst[at], e, lines, items, li, path .. "." .. e.name)
    end
  end
end

-- Fold src (with its yaml lines table) into dst under schema node, as layer li.
function merge_into(ctx, dst, src, lines, node, li, path)
  local sl = lines and lines[src]
  local rules = ctx.rules
  local origin = ctx.origin[dst]
  if not origin then origin = {}; ctx.origin[dst] = origin end
  local base = li * LINE
  local keys, each = node.keys, node.each
  local open = node.type == "any" or node.open
  local check = validate.check
  for k, v in pairs(src) do
    local key, override
    if type(k) ~= "string" then
      key, override = tostring(k), false
    elseif k:byte(-1) == 33 then -- "key!": replace
      key, override = k:sub(1, -2), true
    else
      key, override = k, false
    end
    local line = sl and sl[k]
    local child = keys and keys[key] or each
    local known = true
    if not child then child, known = ANY, open end
    local p = (not known or rules) and join(path, key)
    if not known then
      local near = validate.nearest(node, key)
      report(ctx, li, line, p, "unknown key" .. (near and (" (did you mean " .. join(path, near) .. "?)") or ""), true)
    end
    local tv, ct = type(v), child.type
    if v == null then
      if override then dst[key] = nil; origin[key] = base + (line or 0) end
    elseif tv ~= "table" then
      -- scalars: the common case, checked without a call when the type fits
      local interp = tv == "string" and v:find("${", 1, true)
      local ok, msg = true, nil
      if not interp and not ((ct == "string" and tv == "string") or (ct == "bool" and tv == "boolean") or ct == "any") then
        ok, msg = check(child, v)
      end
      if not ok then
        report(ctx, li, line, p or join(path, key), msg)
      else
        dst[key] = v
        origin[key] = base + (line or 0)
        if interp then ctx.pending[#ctx.pending + 1] = { dst, key, child, li, line, p or join(path, key) } end
      end
    else
      local ok, msg = true, nil
      if child ~= ANY then ok, msg = check(child, v) end
      if not ok then
        report(ctx, li, line, p or join(path, key), msg)
      else
        local strategy = override and "replace" or nil
        if not strategy and rules then
          for r = #rules, 1, -1 do
            if p:find(rules[r].pattern) then strategy = rules[r].strategy; break end
          end
        end
        strategy = strategy or child.merge or "overwrite"
        local cur = dst[key]
        p = p or join(path, key)
        if ct == "list" or (ct ~= "map" and validate.is_list(v)) then
          if strategy == "named" then
            if type(cur) ~= "table" then cur = setmetatable({}, array_mt); dst[key] = cur end
            merge_named(ctx, cur, v, lines, child, li, p)
          elseif strategy == "append" and type(cur) == "table" then
            copy_list(ctx, v, lines, child, li, p, cur)
          else
            dst[key] = copy_list(ctx, v, lines, child, li, p)
          end
        elseif strategy == "deep" and type(cur) == "table" and validate.is_map(cur) then
          merge_into(ctx, cur, v, lines, child, li, p)
        else
          local t = {}
          dst[key] = t
          merge_into(ctx, t, v, lines, child, li, p)
        end
        origin[key] = base + (line or 0)
      end
    end
  end
end
M.merge_into = merge_into

-- While the core was young, spec runs saw keys come out of these walks as
-- unrelated objects with the JIT on (not reproduced since the core's stack
-- fixes in loop.c/proc.c/vm.c; 17 runs clean). They stay interpreted until
-- that is understood: it costs well under a millisecond (bench/config_bench.lua).
if jit then
  jit.off(merge_into)
  jit.off(copy_list)
  jit.off(merge_named)
end

-- A new merge context over layers (lowest priority first).
function M.context(layers, rules)
  return { layers = layers, origin = {}, errors = {}, warnings = {},
           pending = {}, rules = rules and #rules > 0 and rules or nil }
end

-- Merge every layer; returns the merged table (ctx gets origins, errors).
function M.all(ctx, root)
  local merged = {}
  for li, layer in ipairs(ctx.layers) do
    if layer.data and layer.active ~= false then
      merge_into(ctx, merged, layer.data, layer.lines, root, li, "")
    end
  end
  return merged
end

return M
