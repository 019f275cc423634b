-- prometheus/host_loader.lua — the Prometheus plugin's modules run in the
-- host Lua state, with the real core modules injected. The specs and the
-- bench use it; it can also register `prom` host-side:
--
--   local loader = dofile(datadir .. "/plugins/prometheus/host_loader.lua")
--   local P = loader.load()             -- { client=, chart=, format=, commands=, env= … }
--   loader.register()                   -- defines the `prom` command (alias `prometheus`)
--
-- Modules are loaded with a private `require` (their short names — "client",
-- "format" — never touch package.loaded), exactly as the sandbox loads them.
local M = {}

local function here()
  local src = debug.getinfo(1, "S").source
  local dir = src:match("^@(.*)/[^/]*$")
  return dir or "plugins/prometheus"
end
M.dir = here()

-- Fresh module table for the plugin's own modules.
function M.modules(dir)
  dir = dir or M.dir
  local loaded = {}
  local env
  local function req(name)
    if loaded[name] ~= nil then return loaded[name] end
    local path = dir .. "/" .. name:gsub("%.", "/") .. ".lua"
    local f = io.open(path)
    if not f then
      if name == "vcli.resilience" then return require("vcli.plugin.resilience") end
      return require(name)
    end
    f:close()
    local chunk = assert(loadfile(path))
    setfenv(chunk, env)
    local m = chunk(name)
    if m == nil then m = true end
    loaded[name] = m
    return m
  end
  env = setmetatable({ require = req }, { __index = _G })
  return req, loaded
end

-- The environment the modules take, from the host's core modules.
function M.env(opts)
  opts = opts or {}
  local async = require("vcli.async")
  local term = require("vcli.term")
  local e = {
    http = require("vcli.http"),
    json = require("vcli.json"),
    yaml = require("vcli.yaml"),
    resilience = require("vcli.plugin.resilience"),
    sleep = function(ms) async.sleep(ms) end,
    now = os.time,
    getenv = os.getenv,
    isatty = function() return term.isatty(1) end,
    width = function() return (term.size()) end,
    run_sync = function(fn)
      if async.current() then return fn() end
      local res = { async.run(fn, opts.complete_timeout_ms or 3000) }
      if not res[1] then return nil, tostring(res[2]) end
      return unpack(res, 2, table.maxn(res))
    end,
    config = function()
      local ok, config = pcall(require, "vcli.config")
      if not ok then return {} end
      local ok2, v = pcall(config.get, "prometheus")
      return ok2 and type(v) == "table" and v or {}
    end,
  }
  -- the store: the plugin's own LMDB database, as the plugin runtime names it
  local st = opts.store
  if st == nil then
    local ok, store = pcall(require, "vcli.store")
    if ok then
      local base = opts.store_dir or os.getenv("VCLI_STORE_DIR")
        or ((os.getenv("XDG_STATE_HOME") or ((os.getenv("HOME") or "/tmp") .. "/.local/state")) .. "/vcli/store")
      local envh = store.open(base)
      local db = envh and envh:db("plugin:prometheus")
      if db then
        st = { get = function(k) return db:get(k) end, put = function(k, v) return db:put(k, v) end,
               del = function(k) return db:del(k) end, keys = function(p) return db:keys(p) end }
      end
    end
  end
  e.store = st or nil
  for k, v in pairs(opts) do if k ~= "store_dir" and k ~= "store" then e[k] = v end end
  return e
end

function M.load(opts)
  local req = M.modules(opts and opts.dir)
  local env = M.env(opts)
  return {
    env = env, require = req,
    client = req("client"), chart = req("chart"), format = req("format"), cache = req("cache"),
    promql_complete = req("promql_complete"), commands = req("commands"),
  }
end

-- Define `prom` in the host's command table (owner "plugin:prometheus").
function M.register(opts)
  local P = M.load(opts)
  local spec = P.commands.spec(P.env)
  require("vcli.shell.commands").define(spec, "plugin:prometheus")
  return spec, P
end

return M
