-- vcli — the runtime's public table: the global `vcli` in the shell, in
-- ~/.vclirc.lua and in scripts. Everything here is also what plugins build on.
local vm = require("vcli.vm")

-- LuaJIT 2.1 without 5.2 compat lacks table.pack; the runtime uses it widely.
if not table.pack then
  table.pack = function(...) return { n = select("#", ...), ... } end -- luacheck: ignore
end

local M = { version = vm.version }
local S = require("vcli.state")("vcli.shell")

-- Who is defining things right now ("core", "rc", a plugin's name): a reload
-- removes exactly what its previous run defined.
M.owner = "core"

-- vcli.command{ name=, summary=, flags=, args=, handler= } (see docs/plugins.md)
function M.command(spec)
  return require("vcli.shell.commands").define(spec, M.owner)
end

-- vcli.alias("kgp", "k8s get pods")
function M.alias(name, expansion)
  require("vcli.shell.commands").alias(name, expansion, M.owner)
end

-- vcli.bind("C-t", function(ed) ed:insert("k8s ") end)
function M.bind(key, fn)
  assert(type(key) == "string", "vcli.bind: key name expected, e.g. \"C-t\" or \"M-x\"")
  assert(type(fn) == "function" or fn == nil, "vcli.bind: function expected")
  S.bindings = S.bindings or {}
  S.binding_owner = S.binding_owner or {}
  S.bindings[key] = fn
  S.binding_owner[key] = M.owner
end

-- vcli.prompt("λ ") or vcli.prompt(function() return {{"ctx ", 2}, {"> ", 0}} end)
function M.prompt(p)
  assert(type(p) == "string" or type(p) == "function" or type(p) == "table" or p == nil,
    "vcli.prompt: string, function or segment list expected")
  S.prompt = p
  S.prompt_owner = M.owner
end

-- A provider adds segments before the default prompt (a plugin's context);
-- providers an rc file added go when it reloads (their owner is "rc").
function M.prompt_segment(fn)
  assert(type(fn) == "function", "vcli.prompt_segment: function expected")
  S.prompt_segments = S.prompt_segments or {}
  S.prompt_segment_owner = S.prompt_segment_owner or setmetatable({}, { __mode = "k" })
  table.insert(S.prompt_segments, fn)
  S.prompt_segment_owner[fn] = M.owner
end

-- vcli.run("help exit") -> status; runs a shell line from Lua.
function M.run(line)
  return require("vcli.shell").execute(line)
end

-- vcli.capture("help") -> output, status, stderr
function M.capture(line)
  local shell = require("vcli.shell")
  local status, out, err = shell.capture(function() return shell.execute(line) end)
  return out, status, err
end

function M.print(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  require("vcli.shell").write(table.concat(parts, "\t") .. "\n")
end

M.style = function(t) return require("vcli.term").style(t) end

return M
