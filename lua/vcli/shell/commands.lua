-- vcli.shell.commands — command specs: the one description of a command that
-- drives parsing, completion and help. Plugins and ~/.vclirc.lua use it too.
--
--   commands.define{
--     name = "greet", summary = "Say hello", usage = "greet [--loud] NAME",
--     flags = { { name = "loud", short = "l", type = "bool", help = "shout" },
--               { name = "times", type = "int", default = 1 } },
--     args = { { name = "name", help = "who", complete = function(prefix, ctx) return {...} end } },
--     examples = { { "greet -l world", "HELLO WORLD" } },
--     handler = function(ctx) ctx.print("hello " .. ctx.args.name) end,
--   }
local S = require("vcli.state")("vcli.shell.commands")
local text = require("vcli.text")

local M = {}
S.commands = S.commands or {}   -- name -> spec (top level)
S.aliases = S.aliases or {}     -- name -> { expansion = "...", owner = ... }

local FLAG_TYPES = { bool = true, string = true, int = true, number = true, enum = true, list = true, duration = true }

local function check_spec(spec, where)
  assert(type(spec) == "table", where .. ": a command spec must be a table")
  assert(type(spec.name) == "string" and spec.name:match("^[%w][%w%-_%.:]*$"),
    where .. ": command needs a name of letters, digits, '-', '_', '.' or ':'")
  spec.flags = spec.flags or {}
  spec.args = spec.args or {}
  for _, f in ipairs(spec.flags) do
    f.type = f.type or "bool"
    assert(FLAG_TYPES[f.type], ("%s: flag --%s has unknown type '%s'"):format(spec.name, tostring(f.name), f.type))
  end
  if spec.subcommands then
    local subs = {}
    for _, sub in ipairs(spec.subcommands) do
      check_spec(sub, spec.name)
      sub.parent = spec
      subs[sub.name] = sub
      for _, a in ipairs(sub.aliases or {}) do subs[a] = sub end
    end
    spec.sub_by_name = subs
  end
  assert(spec.handler or spec.subcommands, spec.name .. ": needs a handler or subcommands")
end

-- Define (or redefine) a top-level command. owner says who defined it, so a
-- reload can remove exactly what the previous version defined.
function M.define(spec, owner)
  check_spec(spec, "command")
  spec.owner = owner or spec.owner or "core"
  S.commands[spec.name] = spec
  for _, a in ipairs(spec.aliases or {}) do S.aliases[a] = { expansion = spec.name, owner = spec.owner, implicit = true } end
  return spec
end

function M.remove(name)
  local spec = S.commands[name]
  if not spec then return end
  S.commands[name] = nil
  for a, al in pairs(S.aliases) do if al.implicit and al.expansion == name then S.aliases[a] = nil end end
end

function M.get(name) return S.commands[name] end

function M.alias(name, expansion, owner)
  assert(type(name) == "string" and name:match("^[%w][%w%-_%.:]*$"), "alias: name must be a word")
  if expansion == nil then S.aliases[name] = nil return end
  assert(type(expansion) == "string" and expansion ~= "", "alias: expansion must be a non-empty string")
  S.aliases[name] = { expansion = expansion, owner = owner or "core" }
end

function M.aliases() return S.aliases end

-- Names of visible top-level commands (and aliases), sorted.
function M.names(with_aliases)
  local out = {}
  for name, spec in pairs(S.commands) do if not spec.hidden then table.insert(out, name) end end
  if with_aliases then for a in pairs(S.aliases) do table.insert(out, a) end end
  table.sort(out)
  return out
end

-- Everything owned by owner, so it can be removed and put back (rc reload).
function M.snapshot(owner)
  local snap = { commands = {}, aliases = {} }
  for name, spec in pairs(S.commands) do if spec.owner == owner then snap.commands[name] = spec end end
  for name, al in pairs(S.aliases) do if al.owner == owner then snap.aliases[name] = al end end
  return snap
end

function M.remove_owner(owner)
  for name, spec in pairs(S.commands) do if spec.owner == owner then M.remove(name) end end
  for name, al in pairs(S.aliases) do if al.owner == owner then S.aliases[name] = nil end end
end

function M.restore(snap)
  for name, spec in pairs(snap.commands) do S.commands[name] = spec end
  for name, al in pairs(snap.aliases) do S.aliases[name] = al end
end

-- ------------------------------------------------------------------ parsing
local function find_flag(spec, name, short)
  local s = spec
  while s do
    for _, f in ipairs(s.flags) do
      if (name and (f.name == name or (f.aliases and f.aliases[name]))) or (short and f.short == short) then return f end
    end
    s = s.parent
  end
  for _, f in ipairs(M.global_flags) do
    if (name and f.name == name) or (short and f.short == short) then return f end
  end
end

local function all_flags(spec)
  local out, seen = {}, {}
  local s = spec
  while s do
    for _, f in ipairs(s.flags) do if not seen[f.name] then seen[f.name] = true; table.insert(out, f) end end
    s = s.parent
  end
  for _, f in ipairs(M.global_flags) do if not seen[f.name] then seen[f.name] = true; table.insert(out, f) end end
  return out
end
M.all_flags = all_flags

-- Flags every command accepts (plugins add theirs: -n, --context, …).
M.global_flags = S.global_flags or {}
S.global_flags = M.global_flags

local function path_of(spec)
  local parts = {}
  local s = spec
  while s do table.insert(parts, 1, s.name); s = s.parent end
  return table.concat(parts, " ")
end
M.path_of = path_of

local function flag_names(spec)
  local out = {}
  for _, f in ipairs(all_flags(spec)) do table.insert(out, "--" .. f.name) end
  return out
end

local function convert(spec, f, v)
  local t = f.type
  if t == "int" then
    local n = tonumber(v)
    if not n or n ~= math.floor(n) then
      error(("%s: --%s expects a whole number, got '%s'"):format(path_of(spec), f.name, v), 0)
    end
    if f.min and n < f.min then error(("%s: --%s must be at least %d"):format(path_of(spec), f.name, f.min), 0) end
    return n
  elseif t == "number" then
    local n = tonumber(v)
    if not n then error(("%s: --%s expects a number, got '%s'"):format(path_of(spec), f.name, v), 0) end
    return n
  elseif t == "duration" then
    local secs = M.parse_duration(v)
    if not secs then
      error(("%s: --%s expects a duration like 30s, 5m or 1h, got '%s'"):format(path_of(spec), f.name, v), 0)
    end
    return secs
  elseif t == "enum" then
    local values = type(f.values) == "function" and f.values() or f.values or {}
    for _, ok in ipairs(values) do if ok == v then return v end end
    error(("%s: --%s must be one of %s, got '%s'"):format(path_of(spec), f.name, table.concat(values, ", "), v), 0)
  end
  return v
end

-- "90s", "5m", "1h30m", "2d", "250ms" -> seconds
function M.parse_duration(s)
  if type(s) ~= "string" or s == "" then return nil end
  if tonumber(s) then return tonumber(s) end
  local total, rest = 0, s
  local units = { ms = 0.001, s = 1, m = 60, h = 3600, d = 86400, w = 604800 }
  while rest ~= "" do
    local num, unit, tail = rest:match("^(%d+%.?%d*)(%a+)(.*)$")
    if not num or not units[unit] then return nil end
    total = total + tonumber(num) * units[unit]
    rest = tail
  end
  return total
end

-- How many words a flag of spec takes at words[i] (1 or 2), or nil when it is none of its.
local function flag_width(spec, w, nextw)
  if w == "-" or w == "--" or w:sub(1, 1) ~= "-" then return nil end
  local long, value = w:match("^%-%-([^=]+)=(.*)$")
  long = long or w:match("^%-%-(.+)$")
  if long then
    local f = find_flag(spec, long)
    if not f and long:sub(1, 3) == "no-" then
      f = find_flag(spec, long:sub(4))
      return f and f.type == "bool" and 1 or nil
    end
    if not f then return nil end
    return (f.type == "bool" or f.bare ~= nil or value) and 1 or (nextw and 2 or nil)
  end
  local shorts = w:sub(2)
  for k = 1, #shorts do
    local f = find_flag(spec, nil, shorts:sub(k, k))
    if not f then return nil end
    if f.type ~= "bool" then return k < #shorts and 1 or (nextw and 2 or nil) end
  end
  return 1
end

-- Resolve words to the deepest (sub)command; returns spec, the index of the first word
-- after the command path, and — when flags of a command came before its subcommand
-- (`k8s -n prod get pods`, as kubectl takes them) — the words with those flags moved
-- after the subcommand, to which that index refers.
function M.resolve(words)
  local spec = S.commands[words[1]]
  if not spec then return nil, 1 end
  local i = 2
  local moved
  while spec.subcommands do
    local j = i
    while words[j] do
      local n = flag_width(spec, words[j], words[j + 1])
      if not n then break end
      j = j + n
    end
    local sub = words[j] and spec.sub_by_name[words[j]]
    if not sub then break end
    if j > i then
      moved = {}
      for k = 1, i - 1 do moved[#moved + 1] = words[k] end
      moved[#moved + 1] = words[j]
      for k = i, j - 1 do moved[#moved + 1] = words[k] end
      for k = j + 1, #words do moved[#moved + 1] = words[k] end
      words = moved
    end
    spec, i = sub, i + 1
  end
  return spec, i, moved
end

-- What parse returns in place of the flags when the words ask for help:
-- -h or --help (unless the command has a flag of that name), or a command
-- with subcommands given nothing at all (as `kubectl` alone).
M.HELP = S.HELP or setmetatable({}, { __tostring = function() return "help" end })
S.HELP = M.HELP

-- Is w a request for help here? A command's own -h/--help flag wins; a
-- command that hands unknown words to its handler (a kubectl bridge, alias,
-- a plugin's stub) passes --help on once it has been given an argument.
local function asks_help(spec, w, positional)
  if w ~= "--help" and w ~= "-h" then return false end
  if find_flag(spec, w == "--help" and "help" or nil, w == "-h" and "h" or nil) then return false end
  return not (spec.passthrough_unknown and #positional > 0)
end

-- M.parse(words) -> spec, flags, args, rest | spec, M.HELP | raises a one-line error
function M.parse(words)
  local spec, i, moved = M.resolve(words)
  words = moved or words
  if not spec then
    local msg = ("unknown command '%s'"):format(words[1])
    local near = text.nearest(words[1], M.names(true))
    if near then msg = msg .. (" (did you mean '%s'?)"):format(near) end
    error(msg .. "; 'help' lists the commands", 0)
  end
  if spec.subcommands and i > #words and not spec.default_subcommand then return spec, M.HELP end
  local flags, positional = {}, {}
  for _, f in ipairs(all_flags(spec)) do
    if f.default ~= nil then flags[f.name] = f.default
    elseif f.type == "list" then flags[f.name] = {} end
  end
  local only_args = false
  while i <= #words do
    local w = words[i]
    if only_args or w == "-" or w:sub(1, 1) ~= "-" or tonumber(w) then
      table.insert(positional, w)
    elseif asks_help(spec, w, positional) then
      return spec, M.HELP
    elseif w == "--" then
      only_args = true
      if spec.passthrough then
        flags["--"] = { unpack(words, i + 1) }
        break
      end
    else
      local long, value = w:match("^%-%-([^=]+)=(.*)$")
      long = long or w:match("^%-%-(.+)$")
      local fl_list
      if long then
        local f = find_flag(spec, long)
        if not f and long:sub(1, 3) == "no-" then
          local nf = find_flag(spec, long:sub(4))
          if nf and nf.type == "bool" then flags[nf.name] = false; i = i + 1; goto continue end
        end
        if not f then
          if spec.passthrough_unknown then table.insert(positional, w); i = i + 1; goto continue end
          local msg = ("%s: unknown flag '--%s'"):format(path_of(spec), long)
          local near = text.nearest("--" .. long, flag_names(spec))
          if near then msg = msg .. (" (did you mean '%s'?)"):format(near) end
          error(msg, 0)
        end
        fl_list = { { f = f, value = value } }
      else
        fl_list = {}
        local shorts = w:sub(2)
        local k = 1
        while k <= #shorts do
          local ch = shorts:sub(k, k)
          local f = find_flag(spec, nil, ch)
          if not f then
            if spec.passthrough_unknown then fl_list = nil; break end
            error(("%s: unknown flag '-%s'"):format(path_of(spec), ch), 0)
          end
          if f.type ~= "bool" and k < #shorts then
            local rest = shorts:sub(k + 1)
            table.insert(fl_list, { f = f, value = rest:sub(1, 1) == "=" and rest:sub(2) or rest })
            break
          end
          table.insert(fl_list, { f = f })
          k = k + 1
        end
        if not fl_list then table.insert(positional, w); i = i + 1; goto continue end
      end
      for _, item in ipairs(fl_list) do
        local f, v = item.f, item.value
        if f.type == "bool" then
          if v ~= nil then
            if v == "true" or v == "1" then flags[f.name] = true
            elseif v == "false" or v == "0" then flags[f.name] = false
            else error(("%s: --%s is a switch; use --%s or --%s=false"):format(path_of(spec), f.name, f.name, f.name), 0) end
          else
            flags[f.name] = true
          end
        else
          -- a flag with a bare value (kubectl's --dry-run: client) takes one only after "="
          if v == nil and f.bare ~= nil then v = f.bare end
          if v == nil then
            i = i + 1
            v = words[i]
            if v == nil then
              error(("%s: flag --%s needs a value%s"):format(path_of(spec), f.name,
                f.metavar and (" (" .. f.metavar .. ")") or ""), 0)
            end
          end
          if f.type == "list" then
            flags[f.name] = flags[f.name] or {}
            for part in v:gmatch("[^,]+") do table.insert(flags[f.name], part) end
          else
            flags[f.name] = convert(spec, f, v)
          end
        end
      end
    end
    i = i + 1
    ::continue::
  end
  -- positional args
  if not spec.handler then
    local names = {}
    for _, sub in ipairs(spec.subcommands) do if not sub.hidden then table.insert(names, sub.name) end end
    if positional[1] then
      local msg = ("%s: unknown subcommand '%s'"):format(path_of(spec), positional[1])
      local near = text.nearest(positional[1], names)
      if near then msg = msg .. (" (did you mean '%s'?)"):format(near) end
      error(msg, 0)
    end
    if spec.default_subcommand then
      return M.parse({ spec.name, spec.default_subcommand, unpack(words, 2) })
    end
    error(("%s: which one? %s"):format(path_of(spec), table.concat(names, ", ")), 0)
  end
  local args = {}
  local k = 1
  for ai, a in ipairs(spec.args) do
    if a.variadic then
      local rest = {}
      for j = k, #positional do table.insert(rest, positional[j]) end
      if #rest == 0 and not a.optional then
        error(("%s: missing %s (usage: %s)"):format(path_of(spec), a.name:upper(), M.usage(spec)), 0)
      end
      args[a.name] = rest
      k = #positional + 1
    else
      local v = positional[k]
      if v == nil and not a.optional then
        error(("%s: missing %s (usage: %s)"):format(path_of(spec), a.name:upper(), M.usage(spec)), 0)
      end
      args[a.name] = v
      args[ai] = v
      k = k + 1
    end
  end
  if k <= #positional and not spec.extra_args then
    error(("%s: unexpected argument '%s' (usage: %s)"):format(path_of(spec), positional[k], M.usage(spec)), 0)
  end
  return spec, flags, args, positional
end

-- --------------------------------------------------------------------- help
function M.usage(spec)
  if spec.usage then return spec.usage end
  local parts = { path_of(spec) }
  if spec.subcommands and not spec.handler then table.insert(parts, "SUBCOMMAND") end
  if #spec.flags > 0 then table.insert(parts, "[FLAGS]") end
  for _, a in ipairs(spec.args) do
    local n = a.name:upper() .. (a.variadic and "..." or "")
    table.insert(parts, a.optional and ("[" .. n .. "]") or n)
  end
  return table.concat(parts, " ")
end

local function flag_label(f)
  local s = (f.short and ("-" .. f.short .. ", ") or "    ") .. "--" .. f.name
  if f.type ~= "bool" then
    s = s .. " " .. (f.metavar or (f.type == "enum" and f.values and type(f.values) == "table"
      and table.concat(f.values, "|")) or f.type:upper())
  end
  return s
end

local function flag_rows(flags)
  local rows = {}
  for _, f in ipairs(flags) do
    if not f.hidden then
      local h = f.help or ""
      if f.default ~= nil and f.type ~= "bool" then h = h .. (" (default %s)"):format(tostring(f.default)) end
      table.insert(rows, { flag_label(f), h })
    end
  end
  return rows
end

-- The help flag's row, unless the command has its own -h or --help.
local function help_row(spec)
  if find_flag(spec, "help") then return nil end
  return { find_flag(spec, nil, "h") and "    --help" or "-h, --help", "show this help" }
end

-- Flags a subcommand inherits from the commands above it (and the shell's).
local function inherited_flags(spec)
  local out, seen = {}, {}
  for _, f in ipairs(spec.flags) do seen[f.name] = true end
  for _, f in ipairs(all_flags(spec)) do
    if not seen[f.name] then seen[f.name] = true; table.insert(out, f) end
  end
  return out
end

-- spec -> the text `help CMD` and `CMD --help` print: title, usage,
-- description, subcommands, arguments, flags, inherited flags, examples.
function M.help(spec)
  local out = {}
  local function add(s) table.insert(out, s) end
  local function section(title, rows)
    if #rows == 0 then return end
    add("")
    add(title)
    add(text.columns(rows, { indent = "  " }))
  end
  add(("%s — %s"):format(path_of(spec), spec.summary or ""))
  add("")
  add("Usage: " .. M.usage(spec))
  if spec.description then add(""); add(spec.description) end
  if spec.subcommands then
    local rows = {}
    for _, sub in ipairs(spec.subcommands) do
      if not sub.hidden then table.insert(rows, { sub.name, sub.summary or "" }) end
    end
    section("Subcommands:", rows)
  end
  local rows = {}
  for _, a in ipairs(spec.args) do
    table.insert(rows, { a.name:upper() .. (a.variadic and "..." or ""), (a.help or "") .. (a.optional and " (optional)" or "") })
  end
  section("Arguments:", rows)
  rows = flag_rows(spec.flags)
  table.insert(rows, help_row(spec))
  section("Flags:", rows)
  local top = spec.parent and path_of(spec):match("^(%S+)")
  section(top and ("Flags of every %s command:"):format(top) or "Flags of every command:", flag_rows(inherited_flags(spec)))
  if spec.examples and #spec.examples > 0 then
    add("")
    add("Examples:")
    for _, ex in ipairs(spec.examples) do
      if type(ex) == "table" then
        add("  " .. ex[1])
        if ex[2] then add("      " .. ex[2]) end
      else
        add("  " .. ex)
      end
    end
  end
  if spec.subcommands then
    add("")
    add(("'help %s SUBCOMMAND' or '%s SUBCOMMAND --help' shows a subcommand's flags, arguments and examples.")
      :format(path_of(spec), path_of(spec)))
  end
  return table.concat(out, "\n")
end

-- The command a help request is about, once it is real: a plugin's lazy
-- stub starts its plugin (spec.realize) so that its help shows the flags,
-- arguments and examples the plugin defines. Returns true when the command
-- was a stub and is now real (resolve the words again), or false and the
-- reason it could not be made real.
function M.realize(spec)
  local root = spec
  while root.parent do root = root.parent end
  if not root.realize then return false end
  local ok, err = root.realize()
  if not ok then return false, err end
  return S.commands[root.name] ~= root
end

function M.overview()
  local rows = {}
  for _, name in ipairs(M.names()) do
    table.insert(rows, { name, S.commands[name].summary or "" })
  end
  local al = {}
  for a, v in pairs(S.aliases) do
    if not v.implicit then table.insert(al, { a, "alias for '" .. v.expansion .. "'" }) end
  end
  table.sort(al, function(x, y) return x[1] < y[1] end)
  local s = "Commands:\n" .. text.columns(rows, { indent = "  " })
  if #al > 0 then s = s .. "\n\nAliases:\n" .. text.columns(al, { indent = "  " }) end
  return s .. "\n\nSpecial input:\n" .. text.columns({
    { "= EXPR", "evaluate a Lua expression and print the result" },
    { "!CMD", "run CMD in /bin/sh" },
  }, { indent = "  " }) .. "\n\n'help COMMAND' or 'COMMAND --help' shows a command's flags, arguments and examples."
end

return M
