-- vcli.rc — the user's rc files: $XDG_CONFIG_HOME/vcli/rc.lua, then
-- ~/.vclirc.lua. They run with the `vcli` API under a time limit; an error
-- names file:line and the shell still starts. Reloading an rc removes what
-- its previous run defined first, and puts it back if the new one fails.
local vm = require("vcli.vm")
local commands = require("vcli.shell.commands")
local S = require("vcli.state")("vcli.rc")
local SH = require("vcli.state")("vcli.shell")

local M = {}
M.TIME_LIMIT_MS = 2000

function M.paths(explicit)
  if explicit then return { explicit } end
  local home = os.getenv("HOME") or ""
  local xdg = os.getenv("XDG_CONFIG_HOME")
  if not xdg or xdg == "" then xdg = home .. "/.config" end
  return { xdg .. "/vcli/rc.lua", home .. "/.vclirc.lua" }
end

local function exists(p)
  local f = io.open(p)
  if f then f:close() return true end
  return false
end

local function snapshot()
  local b, bo = {}, {}
  for k, v in pairs(SH.bindings or {}) do b[k] = v end
  for k, v in pairs(SH.binding_owner or {}) do bo[k] = v end
  local segs = {}
  for i, fn in ipairs(SH.prompt_segments or {}) do segs[i] = fn end
  return { cmds = commands.snapshot("rc"), bindings = b, binding_owner = bo,
           prompt = SH.prompt, prompt_owner = SH.prompt_owner, prompt_segments = segs }
end

local function remove_rc_things()
  commands.remove_owner("rc")
  for k, owner in pairs(SH.binding_owner or {}) do
    if owner == "rc" then SH.bindings[k] = nil; SH.binding_owner[k] = nil end
  end
  if SH.prompt_owner == "rc" then SH.prompt, SH.prompt_owner = nil, nil end
  local owners = SH.prompt_segment_owner or {}
  for i = #(SH.prompt_segments or {}), 1, -1 do
    if owners[SH.prompt_segments[i]] == "rc" then table.remove(SH.prompt_segments, i) end
  end
end

local function restore(snap)
  remove_rc_things()
  commands.restore(snap.cmds)
  SH.bindings, SH.binding_owner = snap.bindings, snap.binding_owner
  SH.prompt, SH.prompt_owner = snap.prompt, snap.prompt_owner
  SH.prompt_segments = snap.prompt_segments
end

-- Run one rc file; returns true or false, one-line error.
local function run_file(path)
  local vcli = require("vcli")
  local chunk, err = loadfile(path)
  if not chunk then return false, err end
  local env = require("vcli.guard").install(setmetatable({ vcli = vcli }, { __index = _G }))
  setfenv(chunk, env)
  local prev = vcli.owner
  vcli.owner = "rc"
  local ok, rerr = vm.run_limited(M.TIME_LIMIT_MS, chunk)
  vcli.owner = prev
  if not ok then
    local msg = tostring(rerr)
    local first = msg:match("^(.-)\n") or msg
    -- a time-limit stop carries no position: take it from the traceback
    if not first:find(path, 1, true) then
      local where = msg:match("\n%s*(" .. path:gsub("%p", "%%%0") .. ":%d+):")
      if where then first = where .. ": " .. first end
    end
    return false, first
  end
  return true
end

-- Load (or reload) the rc files. Returns true, or false and the errors.
function M.load(explicit)
  local paths = {}
  for _, p in ipairs(M.paths(explicit)) do if exists(p) or explicit then table.insert(paths, p) end end
  S.paths = paths
  S.explicit = explicit
  local snap = snapshot()
  remove_rc_things()
  local errors = {}
  for _, p in ipairs(paths) do
    local ok, err = run_file(p)
    if not ok then table.insert(errors, err) end
  end
  if #errors > 0 then
    if S.loaded_once then restore(snap) end
    if S.loaded_once then
      for k, e in ipairs(errors) do errors[k] = e .. " (kept the previous rc)" end
    end
    S.loaded_once = true
    return false, errors
  end
  S.loaded_once = true
  return true
end

function M.reload() return M.load(S.explicit) end
function M.current_paths() return S.paths or M.paths(S.explicit) end
-- Every file that would be loaded if it existed (a new rc file counts too).
function M.candidate_paths() return M.paths(S.explicit) end

return M
