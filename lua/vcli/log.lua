-- vcli.log — the log file, $XDG_STATE_HOME/vcli/vcli.log: one line per
-- message at or above global.logLevel, as text or as one JSON object per
-- line (global.logFormat). Nothing is printed; the file is appended to and
-- opened only while a line is written, so several vcli processes share it.
--   log.write(level, msg[, fields])    level: debug | info | warn | error
--   log.info(msg, fields) …            fields: a flat table, e.g. {plugin = "k8s"}
--   local done = log.command(words)    global.profiling: done(status) logs the time
--   log.debugging()                    global.debug: show tracebacks with errors
local M = {}
M.LEVELS = { debug = 1, info = 2, warn = 3, error = 4 }

local function state_home()
  local v = os.getenv("XDG_STATE_HOME")
  if not v or v == "" then v = (os.getenv("HOME") or "/tmp") .. "/.local/state" end
  return v
end

function M.path() return state_home() .. "/vcli/vcli.log" end

local function setting(key) -- (vcli.config may be loading us: no require at load time)
  local ok, config = pcall(require, "vcli.config")
  if ok then return config.setting(key) end
end

-- Would a message at this level be written?
function M.enabled(level)
  return (M.LEVELS[level] or 2) >= (M.LEVELS[setting("global.logLevel")] or 2)
end

local function stamp() return os.date("!%Y-%m-%dT%H:%M:%SZ") end

local function append(line)
  local path = M.path()
  local f = io.open(path, "a")
  if not f then
    require("vcli.fs").mkdir_p(path:match("^(.*)/"))
    f = io.open(path, "a")
    if not f then return false end
  end
  f:write(line, "\n")
  f:close()
  return true
end

-- force: written whatever global.logLevel says (profiling asks for its lines).
function M.write(level, msg, fields, force)
  if not force and not M.enabled(level) then return false end
  msg = tostring(msg):gsub("\n", " ")
  local keys = {}
  for k in pairs(fields or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  local line
  if setting("global.logFormat") == "json" then
    local t = { time = stamp(), level = level, msg = msg }
    for _, k in ipairs(keys) do if t[k] == nil then t[k] = fields[k] end end
    line = require("cjson").encode(t)
  else
    local parts = { stamp(), ("%-5s"):format(level:upper()), msg }
    for _, k in ipairs(keys) do parts[#parts + 1] = ("%s=%s"):format(k, tostring(fields[k])) end
    line = table.concat(parts, " ")
  end
  return append(line)
end

for level in pairs(M.LEVELS) do
  M[level] = function(msg, fields) return M.write(level, msg, fields) end
end

-- global.debug: errors are shown with their Lua tracebacks.
function M.debugging() return setting("global.debug") == true end

local function noop() end

-- Time one command when global.profiling is on: returns done(status).
function M.command(words)
  if setting("global.profiling") ~= true then return noop end
  local vm = require("vcli.vm")
  local t0 = vm.now()
  return function(status)
    M.write("info", "command " .. table.concat(words, " "),
      { ms = math.floor((vm.now() - t0) * 10 + 0.5) / 10, status = status }, true)
  end
end

return M
