-- vcli.plugin.discovery — finding plugins: the search path, reading every
-- manifest (through the manifest cache), the disabled list, each plugin's
-- config_schema registered with the configuration, and the lazy command
-- stubs that start a plugin on first use. A plugin whose manifest is broken
-- keeps stubs for the commands it names (or its directory's name), so
-- using one says why instead of "unknown command".
local R = require("vcli.plugin.runtime")
local manifest = require("vcli.plugin.manifest")
local commands = require("vcli.shell.commands")
local fs = require("vcli.fs")
local S = R.S

local M = {}

-- Where plugins are looked for, first wins.
function M.search_path()
  local dirs = {}
  local datadir = R.vcli().datadir
  if datadir then table.insert(dirs, { dir = datadir .. "/plugins", kind = "built-in" }) end
  table.insert(dirs, { dir = R.data_home() .. "/vcli/plugins", kind = "user" })
  for d in (R.env("XDG_DATA_DIRS") or "/usr/local/share:/usr/share"):gmatch("[^:]+") do
    table.insert(dirs, { dir = d .. "/vcli/plugins", kind = "system" })
  end
  for d in (R.env("VCLI_PLUGIN_PATH") or ""):gmatch("[^:]+") do
    table.insert(dirs, { dir = d, kind = "VCLI_PLUGIN_PATH" })
  end
  return dirs
end

function M.read_disabled()
  S.disabled = {}
  local text = R.read_file(R.state_home() .. "/vcli/plugins.disabled")
  for name in (text or ""):gmatch("[^\n]+") do S.disabled[name] = true end
end

function M.write_disabled()
  local dir = R.state_home() .. "/vcli"
  assert(fs.mkdir_p(dir))
  local names = {}
  for n in pairs(S.disabled) do table.insert(names, n) end
  table.sort(names)
  local f = assert(io.open(dir .. "/plugins.disabled", "w"))
  f:write(table.concat(names, "\n"), #names > 0 and "\n" or "")
  f:close()
end

function M.new_record(dir, source, m, err)
  return { name = m and m.name, dir = dir, source = source, m = m, reason = err, shadowed = {},
           state = err and "failed" or "discovered", lat = {}, lat_i = 0, calls = 0, errors = 0,
           timers = {}, panels = {}, services = {} }
end

-- Read every manifest (not the code). Registers lazy command stubs.
-- Parsed manifests come from the manifest cache when the file is unchanged;
-- opts.cache names the cache file (false: none). Only the default search
-- path uses the default cache, so a spec's own directories leave it alone.
function M.discover(search, opts)
  M.read_disabled()
  local cache_path = opts and opts.cache
  if cache_path == nil and not search then cache_path = manifest.cache_path() end
  local cache = cache_path and manifest.cache(cache_path)
  S.search, S.cache_opt = search, opts
  local found, failed = {}, {}
  for _, sp in ipairs(search or M.search_path()) do
    local names = fs.list(sp.dir)
    if names then
      table.sort(names)
      for _, n in ipairs(names) do
        local dir = sp.dir .. "/" .. n
        local mpath = dir .. "/plugin.yaml"
        local m, err
        if n:sub(1, 1) == "." then  -- skipped: installs in progress, editors' files
          mpath = nil
        elseif cache then
          local st = fs.stat(mpath)
          if st and st.type == "file" then m, err = cache:parse(mpath, st) end
        else
          local text = R.read_file(mpath)
          if text then m, err = manifest.parse(text, mpath) end
        end
        if m or err then
          if m and m.name ~= n then
            m, err = nil, ("%s:1: name: '%s' does not match its directory '%s'"):format(mpath, m.name, n)
          end
          local name = m and m.name or n
          if found[name] then
            table.insert(found[name].shadowed, dir)
          else
            local rec = M.new_record(dir, sp.kind, m, err)
            rec.name = name
            found[name] = rec
            if err then table.insert(failed, rec) end
          end
        end
      end
    end
  end
  -- Keep what is running; forget what vanished.
  for name, old in pairs(S.plugins) do
    if old.state == "running" and found[name] and found[name].dir == old.dir then
      old.shadowed = found[name].shadowed
      found[name] = old
    elseif old.state == "running" then
      R.stop(name)
    end
  end
  for _, old in pairs(S.plugins) do
    if old.state == "failed" and not old.m then commands.remove_owner(R.owner(old)) end
  end
  S.plugins = found
  S.failed = failed
  if cache then cache:save() end
  M.register_schemas()
  -- stubs in a fixed order: the built-in plugins first, then by name, so a
  -- command two plugins name is always the built-in one's (and the other is
  -- told so in `plugin list`), never whichever the hash table gave first
  local order = {}
  for _, p in pairs(S.plugins) do order[#order + 1] = p end
  table.sort(order, function(a, b)
    local ba, bb = a.source == "built-in", b.source == "built-in"
    if ba ~= bb then return ba end
    return a.name < b.name
  end)
  for _, p in ipairs(order) do
    if S.disabled[p.name] and p.state ~= "failed" then p.state = "disabled" end
    if p.state == "discovered" then M.stubs(p)
    elseif p.state == "failed" and not p.m then M.broken_stubs(p) end
  end
  return S.plugins
end

-- Discover again with the search path of the last discovery (after an install).
function M.rediscover() return M.discover(S.search, S.cache_opt) end

-- A manifest's config_schema becomes the plugin's section plugins.<name> in
-- the configuration (checked against it; VCLI_PLUGINS_<NAME>_<KEY> names its
-- keys), its config: table the plugin defaults layer.
S.schemas = S.schemas or {}
function M.register_schemas()
  local ok, cfg = pcall(require, "vcli.config")
  if not ok then return end
  for name in pairs(S.schemas) do
    local p = S.plugins[name]
    if not (p and p.m and p.m.config_schema) then cfg.unregister_schema(name); S.schemas[name] = nil end
  end
  for name, p in pairs(S.plugins) do
    local m = p.m
    if m and m.config_schema and (S.schemas[name] ~= m.config_schema) then
      local rok, err = pcall(cfg.register_schema, name, m.config_schema, m.config)
      if rok then S.schemas[name] = m.config_schema
      else io.stderr:write(("vcli: plugin %s: config_schema: %s\n"):format(name, tostring(err))) end
    end
  end
end

-- Lazy stubs: the command exists before the plugin runs; its first use
-- starts it. Subcommands the manifest names are stubs too (completion of
-- their names works before the start; help starts the plugin, whose own
-- specs give the flags, arguments and examples: one source of truth).
local function restart_words(p, path, ctx)
  local ok, err = R.start(p.name)
  if not ok then error(err, 0) end
  local real = commands.get(path[1])
  local alias = commands.aliases()[path[1]]
  if alias and (not real or real.lazy_plugin) then real = commands.get(alias.expansion) end
  if not real or real.lazy_plugin then
    error(("plugin %s did not define its command '%s' when it started"):format(p.name, path[1]), 0)
  end
  -- the line again as typed: the stub takes every word (unknown flags too)
  -- as positional, and what follows `--` arrives as flags["--"]
  local words = {}
  for _, w in ipairs(path) do words[#words + 1] = w end
  for _, w in ipairs(ctx.positional or {}) do words[#words + 1] = w end
  local rest = ctx.flags and ctx.flags["--"]
  if rest then
    words[#words + 1] = "--"
    for _, w in ipairs(rest) do words[#words + 1] = w end
  end
  return require("vcli.shell").run_words(words)
end

-- Completion through a stub: start the plugin, then complete the same words
-- against the command it defined.
local function stub_complete(p, path)
  return function(partial, cctx)
    local ok = R.start(p.name)
    local real = ok and commands.get(path[1])
    if not real or real.lazy_plugin then return {} end
    local parts = {}
    for _, w in ipairs(cctx and cctx.words or path) do
      parts[#parts + 1] = w:find("[%s'\"\\]") and ("'" .. w:gsub("'", "'\\''") .. "'") or w
    end
    local line = table.concat(parts, " ") .. " " .. (partial or "")
    local res = require("vcli.shell.complete").complete(line, #line)
    return res and res.items or {}
  end
end

-- A command's owner as a person reads it: "core", "the kubernetes plugin".
function M.owner_label(owner)
  return (tostring(owner):gsub("^plugin:(.*)$", "the %1 plugin"))
end

function M.stubs(p)
  p.conflicts = nil
  for _, c in ipairs(p.m.commands) do
    local existing = commands.get(c.name)
    if existing and existing.owner ~= R.owner(p) then
      p.conflicts = p.conflicts or {}
      p.conflicts[#p.conflicts + 1] = ("command '%s' is %s's: not registered"):format(c.name, M.owner_label(existing.owner))
    end
    if not existing or existing.owner == R.owner(p) then
      local subs
      if c.subcommands then
        subs = {}
        for _, sc in ipairs(c.subcommands) do
          local path = { c.name, sc.name }
          subs[#subs + 1] = {
            name = sc.name, summary = sc.summary, lazy_plugin = p.name, extra_args = true, passthrough_unknown = true,
            passthrough = true,
            args = { { name = "args", variadic = true, optional = true, complete = stub_complete(p, path) } },
            handler = function(ctx) return restart_words(p, path, ctx) end,
          }
        end
      end
      commands.define({
        name = c.name, summary = c.summary, lazy_plugin = p.name, extra_args = true, passthrough_unknown = true,
        passthrough = true, subcommands = subs,
        -- help (and flag completion) start the plugin for its real specs
        realize = function() return R.start(p.name) end,
        args = { { name = "args", variadic = true, optional = true, complete = stub_complete(p, { c.name }) } },
        handler = function(ctx) return restart_words(p, { c.name }, ctx) end,
      }, R.owner(p))
    end
  end
end

-- The command names a broken manifest still tells (its commands: list when
-- the YAML reads; else the plugin's directory name).
local function named_commands(p)
  local names = {}
  local text = R.read_file(p.dir .. "/plugin.yaml")
  local ok, doc = pcall(require("vcli.yaml").decode, text or "", "plugin.yaml")
  if ok and type(doc) == "table" and type(doc.commands) == "table" then
    for _, c in ipairs(doc.commands) do
      local n = type(c) == "table" and c.name or c
      if type(n) == "string" and n:match("^[%w][%w%-_%.:]*$") then names[#names + 1] = n end
    end
  end
  if #names == 0 then names[1] = p.name end
  return names
end

-- Stubs of a plugin whose manifest failed: hidden (not listed or completed),
-- and using one says why the plugin cannot run.
function M.broken_stubs(p)
  for _, name in ipairs(named_commands(p)) do
    if not commands.get(name) then
      commands.define({
        name = name, summary = "plugin " .. p.name .. " (its manifest is broken)", hidden = true,
        extra_args = true, passthrough_unknown = true, passthrough = true, broken_plugin = p.name,
        args = { { name = "args", variadic = true, optional = true } },
        handler = function()
          error(("'%s' is plugin %s's command, and the plugin cannot run: %s"):format(name, p.name, tostring(p.reason)), 0)
        end,
      }, R.owner(p))
    end
  end
end

return M
