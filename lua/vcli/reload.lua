-- vcli.reload — hot reload: an edited Lua module of vcli or rc file takes
-- effect without a restart. A module is reloaded in place (the new fields
-- are copied into the table everyone already holds), so callers see new
-- code at once; state lives in vcli.state tables and survives. A reload
-- that fails keeps the old code running and says why.
local watch = require("vcli.watch")
local loop = require("vcli.loop")
local S = require("vcli.state")("vcli.reload")

local M = {}

-- module name for a file under <datadir>/lua, or nil
local function module_for(path, luadir)
  local rel = path:sub(#luadir + 2)
  if path:sub(1, #luadir + 1) ~= luadir .. "/" or not rel:match("%.lua$") then return nil end
  local name = rel:gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", ".")
  return name
end

-- Reload one module by name. Returns true, or false and a one-line error.
function M.module(name, path)
  local old = package.loaded[name]
  if old == nil then return true end -- not in use: the next require loads the new file
  if name == "vcli.state" or name == "vcli.main" then return true end
  local chunk, err = loadfile(path or package.searchpath and package.searchpath(name, package.path))
  if not chunk then return false, err end
  local ok, new = pcall(chunk, name)
  if not ok then return false, (tostring(new):gsub("\n.*", "")) end
  if type(old) == "table" and type(new) == "table" then
    for k in pairs(old) do if new[k] == nil then old[k] = nil end end
    for k, v in pairs(new) do old[k] = v end
    local mt = getmetatable(new)
    if mt then setmetatable(old, mt) end
  else
    package.loaded[name] = new
  end
  return true
end

-- A notice above the line being typed, which is drawn again below it.
local function report(msg)
  -- the full-screen interface is open: its status line, not over its screen
  local ok, tui = pcall(require, "vcli.tui.host")
  if ok and tui.active() then return tui.notice(msg) end
  local shell = require("vcli.shell")
  local SH = require("vcli.state")("vcli.shell")
  shell.ewrite((SH.editor and "\r\27[K" or "") .. msg .. "\n")
  if SH.editor then SH.editor.grid:invalidate(); SH.editor.grid:finish_inline(); SH.editor:render() end
end

M.report = report

-- Apply pending changes (debounced: editors write a file in several steps).
local function apply()
  S.timer = nil
  local pending = S.pending or {}
  S.pending = {}
  local rc = require("vcli.rc")
  local rc_changed = false
  for path in pairs(pending) do
    for _, p in ipairs(rc.candidate_paths()) do if p == path then rc_changed = true end end
    local name = S.luadir and module_for(path, S.luadir)
    if name then
      local ok, err = M.module(name, path)
      if ok then
        if package.loaded[name] ~= nil then report("reloaded " .. name) end
      else
        report("vcli: reload of " .. name .. " failed, old code kept: " .. tostring(err))
      end
    end
  end
  if rc_changed then
    local ok, errors = rc.reload()
    if ok then report("reloaded rc")
    else for _, e in ipairs(errors) do report("vcli: rc: " .. e) end end
  end
  for _, fn in ipairs(S.listeners or {}) do pcall(fn, pending) end
end

local function changed(path)
  S.pending = S.pending or {}
  S.pending[path] = true
  if not S.timer then S.timer = loop.timer(50, apply) end
end

-- Other parts (plugins) hear about changed files too.
function M.on_change(fn)
  S.listeners = S.listeners or {}
  table.insert(S.listeners, fn)
end

local function watch_dir(dir, filter)
  S.watched = S.watched or {}
  if S.watched[dir] then return end
  local wd = watch.add(dir, function(path, what)
    if what == "delete" then return end
    if filter and not filter(path) then return end
    changed(path)
  end)
  if wd then S.watched[dir] = wd end
end

-- root and every directory under it (hidden ones too; symlinks not followed).
function M.watch_tree(root, filter)
  local fs = require("vcli.fs")
  local function walk(dir, depth)
    watch_dir(dir, filter)
    if depth > 32 then return end
    for _, n in ipairs(fs.list(dir, true) or {}) do
      local path = dir .. "/" .. n
      local st = fs.stat(path, true)
      if st and st.type == "dir" then walk(path, depth + 1) end
    end
  end
  local st = fs.stat(root)
  if st and st.type == "dir" then walk(root, 0) end
end

-- Watch vcli's own Lua modules and the rc files.
function M.watch_all()
  local vcli = require("vcli")
  S.luadir = vcli.datadir .. "/lua"
  M.watch_tree(S.luadir, function(p) return p:match("%.lua$") end)
  local rc = require("vcli.rc")
  local rc_files = {}
  for _, p in ipairs(rc.candidate_paths()) do rc_files[p] = true end
  for p in pairs(rc_files) do
    local dir = p:match("^(.*)/[^/]*$")
    if dir then watch_dir(dir, function(path) return rc_files[path] end) end
  end
end

-- `reload`: every loaded vcli module from disk, then the rc.
function M.all()
  local errors = {}
  local vcli = require("vcli")
  local luadir = vcli.datadir .. "/lua"
  local names = {}
  for name in pairs(package.loaded) do if name:match("^vcli%.") or name == "vcli" then table.insert(names, name) end end
  table.sort(names)
  local n = 0
  for _, name in ipairs(names) do
    local rel = name:gsub("%.", "/")
    local path = luadir .. "/" .. rel .. ".lua"
    local f = io.open(path)
    if not f then path = luadir .. "/" .. rel .. "/init.lua"; f = io.open(path) end
    if f then
      f:close()
      local ok, err = M.module(name, path)
      if ok then n = n + 1 else table.insert(errors, name .. ": " .. tostring(err)) end
    end
  end
  local rc_ok, rc_err = require("vcli.rc").reload()
  if not rc_ok then for _, e in ipairs(rc_err) do table.insert(errors, "rc: " .. e) end end
  return n, errors
end

return M
