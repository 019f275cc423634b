-- prometheus/argparse.lua — parse `prom SUB [FLAGS] ARGS…` against the
-- command spec from commands.lua, for when the host hands the plugin its
-- words unparsed (the sandboxed runtime registers one flat command). The
-- rules follow vcli.shell.commands: --flag VALUE, --flag=VALUE, -o VALUE,
-- -oVALUE, --no-SWITCH, `--` ends the flags; errors are one line.
local format = require("format")

local M = {}

local function find_flag(spec, parent, name, short)
  for _, s in ipairs({ spec, parent }) do
    for _, f in ipairs(s and s.flags or {}) do
      if (name and f.name == name) or (short and f.short == short) then return f end
    end
  end
end

local function convert(path, f, v)
  local t = f.type or "bool"
  if t == "int" then
    local n = tonumber(v)
    if not n or n ~= math.floor(n) then error(("%s: --%s expects a whole number, got '%s'"):format(path, f.name, v), 0) end
    if f.min and n < f.min then error(("%s: --%s must be at least %d"):format(path, f.name, f.min), 0) end
    return n
  elseif t == "number" then
    local n = tonumber(v)
    if not n then error(("%s: --%s expects a number, got '%s'"):format(path, f.name, v), 0) end
    return n
  elseif t == "duration" then
    local s = format.parse_duration(v)
    if not s then error(("%s: --%s expects a duration like 30s, 5m or 1h, got '%s'"):format(path, f.name, v), 0) end
    return s
  elseif t == "enum" then
    for _, ok in ipairs(f.values or {}) do if ok == v then return v end end
    error(("%s: --%s must be one of %s, got '%s'"):format(path, f.name, table.concat(f.values or {}, ", "), v), 0)
  end
  return v
end

-- M.parse(root_spec, words) -> sub_spec, flags, args | raises one line
function M.parse(root, words)
  local name = words[1]
  if not name or name == "help" or name == "--help" or name == "-h" then return nil end
  local sub
  for _, s in ipairs(root.subcommands) do
    if s.name == name then sub = s end
    for _, a in ipairs(s.aliases or {}) do if a == name then sub = s end end
  end
  if not sub then
    local names = {}
    for _, s in ipairs(root.subcommands) do names[#names + 1] = s.name end
    error(("prom: unknown subcommand '%s' (one of %s)"):format(name, table.concat(names, ", ")), 0)
  end
  local path = "prom " .. sub.name
  local flags, positional = {}, {}
  for _, s in ipairs({ root, sub }) do
    for _, f in ipairs(s.flags or {}) do
      if f.default ~= nil then flags[f.name] = f.default elseif f.type == "list" then flags[f.name] = {} end
    end
  end
  local i, only_args = 2, false
  while i <= #words do
    local w = words[i]
    if only_args or w == "-" or w:sub(1, 1) ~= "-" or tonumber(w) then
      positional[#positional + 1] = w
    elseif w == "--" then
      only_args = true
    else
      local long, value = w:match("^%-%-([^=]+)=(.*)$")
      long = long or w:match("^%-%-(.+)$")
      local f, v
      if long then
        f = find_flag(sub, root, long)
        if not f and long:sub(1, 3) == "no-" then
          local nf = find_flag(sub, root, long:sub(4))
          if nf and (nf.type or "bool") == "bool" then flags[nf.name] = false; goto next end
        end
        if not f then error(("%s: unknown flag '--%s'"):format(path, long), 0) end
        v = value
      else
        f = find_flag(sub, root, nil, w:sub(2, 2))
        if not f then error(("%s: unknown flag '-%s'"):format(path, w:sub(2, 2)), 0) end
        if #w > 2 then v = w:sub(3):gsub("^=", "") end
      end
      if (f.type or "bool") == "bool" then
        flags[f.name] = v == nil or v == "true" or v == "1"
      else
        if v == nil then
          i = i + 1
          v = words[i]
          if v == nil then error(("%s: flag --%s needs a value"):format(path, f.name), 0) end
        end
        if f.type == "list" then
          for part in v:gmatch("[^,]+") do table.insert(flags[f.name], part) end
        else
          flags[f.name] = convert(path, f, v)
        end
      end
    end
    ::next::
    i = i + 1
  end
  local args, k = {}, 1
  for _, a in ipairs(sub.args or {}) do
    if a.variadic then
      local rest = {}
      for j = k, #positional do rest[#rest + 1] = positional[j] end
      if #rest == 0 and not a.optional then error(("%s: missing %s (usage: %s)"):format(path, a.name:upper(), sub.usage or path), 0) end
      args[a.name] = rest
      k = #positional + 1
    else
      local v = positional[k]
      if v == nil and not a.optional then error(("%s: missing %s (usage: %s)"):format(path, a.name:upper(), sub.usage or path), 0) end
      args[a.name] = v
      k = k + 1
    end
  end
  if k <= #positional then error(("%s: unexpected argument '%s'"):format(path, positional[k]), 0) end
  return sub, flags, args
end

-- A short help text from the spec (for `prom` and `prom help`).
function M.help(root)
  local out = { "prom — " .. (root.summary or ""), "", "Usage: prom SUBCOMMAND [FLAGS] [ARGS]", "", "Subcommands:" }
  local w = 0
  for _, s in ipairs(root.subcommands) do w = math.max(w, #s.name) end
  for _, s in ipairs(root.subcommands) do
    out[#out + 1] = "  " .. s.name .. (" "):rep(w - #s.name + 3) .. (s.usage or s.summary or "")
  end
  out[#out + 1] = ""
  out[#out + 1] = "Flags for every subcommand: --url URL, --timeout DURATION. " .. (root.description or "")
  return table.concat(out, "\n") .. "\n"
end

return M
