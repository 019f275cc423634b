-- prometheus/init.lua — the plugin's entry in its sandbox: builds the
-- environment the modules take from what the manifest grants (vcli.http,
-- vcli.store, vcli.env, vcli.config) and registers `prom` (alias
-- `prometheus`) with real subcommands: the host parses, helps and completes
-- each one; handlers and completers run here and may wait on the network.
local json = require("json")
local commands = require("commands")

local ok_res, resilience = pcall(require, "vcli.resilience")

local function getenv(name)
  if not vcli.env then return nil end
  local ok, v = pcall(vcli.env.get, name)
  return ok and v or nil
end

local env = {
  json = json,
  resilience = ok_res and resilience or nil,
  sleep = vcli.sleep,
  now = os.time,
  getenv = getenv,
  width = function() return tonumber(getenv("COLUMNS") or "") or 80 end,
}

if vcli.http then
  env.http = {
    -- vcli.http raises on a failed transfer; the modules expect nil, err
    request = function(opts)
      local ok, res = pcall(vcli.http.request, opts)
      if ok then return res end
      return nil, tostring(res)
    end,
  }
end
if vcli.store then env.store = vcli.store end
if vcli.config then
  -- the core section prometheus (manifest: config: { read: [prometheus] })
  env.config = function()
    local ok, c = pcall(vcli.config.get, "prometheus")
    return ok and type(c) == "table" and c or {}
  end
end

local spec = commands.spec(env)
vcli.command(spec)

return {}
