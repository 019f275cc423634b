-- vcli.plugin.watch — hot reload when a plugin's files change (interactive
-- shell). Changes are debounced (editors write a file in several steps) and
-- the reload runs as a task, since starting the new version may wait on the
-- host. The notice is written above the line being typed, which is redrawn.
local R = require("vcli.plugin.runtime")
local async = require("vcli.async")
local loop = require("vcli.loop")
local S = R.S

local M = {}

local function reload_changed()
  S.watch_timer = nil
  local names = S.watch_pending or {}
  S.watch_pending = {}
  async.spawn(function()
    for name in pairs(names) do
      local q = S.plugins[name]
      if q and q.state == "running" then
        local ok, err = R.reload(name)
        local msg = ok and ("plugin %s reloaded"):format(name)
          or ("plugin %s: reload failed, the previous version keeps running: %s"):format(name, err)
        S.watch_log = S.watch_log or {}
        table.insert(S.watch_log, msg)
        if #S.watch_log > 50 then table.remove(S.watch_log, 1) end
        require("vcli.reload").report(msg)
      end
    end
  end)
end

-- A changed file: which plugin's directory holds it (nil if none).
function M.file_changed(path)
  for name, p in pairs(S.plugins) do
    if path:sub(1, #p.dir + 1) == p.dir .. "/" then
      S.watch_pending = S.watch_pending or {}
      S.watch_pending[name] = true
      if not S.watch_timer then S.watch_timer = loop.timer(S.watch_debounce_ms or 50, reload_changed) end
      return name
    end
  end
end

-- What the automatic reload said, oldest first (plugin info and specs read it).
function M.watch_log() return S.watch_log or {} end

function M.watch(debounce_ms)
  S.watch_debounce_ms = debounce_ms or S.watch_debounce_ms
  local reload = require("vcli.reload")
  for _, p in pairs(S.plugins) do
    local dir = p.dir
    reload.watch_tree(dir, function(path)
      if path:sub(1, #dir + 1) == dir .. "/" then M.file_changed(path) end
      return false
    end)
  end
end

return M
