-- prometheus/init.lua — the plugin's entry in its sandbox: builds the
-- environment the modules take from what the manifest grants (vcli.http,
-- vcli.store, vcli.config) and registers `prom` (alias `prometheus`).
--
-- The runtime hands a plugin command its words unparsed when the command is
-- flat, so `prom` is registered as one command whose words argparse.lua
-- parses against the same spec the host loader registers with subcommands.
local json = require("json")
local commands = require("commands")
local argparse = require("argparse")
local promql_complete = require("promql_complete")

local ok_res, resilience = pcall(require, "vcli.resilience")

local env = {
  json = json,
  resilience = ok_res and resilience or nil,
  sleep = vcli.sleep,
  now = os.time,
  getenv = os.getenv,
  -- the sandbox has no os.getenv: these stay nil there, and the modules cope
  width = function() return os.getenv and tonumber(os.getenv("COLUMNS") or "") or 80 end,
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
  env.config = function()
    local c = vcli.config.get() or {}
    if type(c.prometheus) == "table" then return c.prometheus end
    return c
  end
end

local spec = commands.spec(env)

-- Completion inside the sandbox cannot wait for the network: it answers
-- from the lists cached by earlier commands (LMDB), refreshed after each one.
local function offline_env()
  local e = {}
  for k, v in pairs(env) do e[k] = v end
  e.http = { request = function() return nil, "GET offline: completion answers from the cache" end }
  e.attempts = 1
  return e
end

local function complete(prefix, data)
  local out = {}
  local words = data and data.words or {}
  if #words <= 1 then
    for _, s in ipairs(spec.subcommands) do
      if s.name:sub(1, #prefix) == prefix then out[#out + 1] = { word = s.name, desc = s.summary } end
    end
  end
  for _, c in ipairs(promql_complete.complete(prefix, commands.source(offline_env(), data))) do out[#out + 1] = c end
  return out
end

local function refresh_lists(flags)
  local src = commands.source(env, { words = flags and flags.url and { "--url", flags.url } or {} })
  pcall(src.metric_names)
  pcall(src.label_names, nil)
  pcall(src.metadata)
end

local function define(name)
vcli.command({
  name = name,
  summary = spec.summary, description = spec.description,
  usage = "prom query|range|alerts|rules|targets|series|labels|metrics [FLAGS] [ARGS]",
  extra_args = true, passthrough_unknown = true,
  args = { { name = "words", variadic = true, optional = true, help = "subcommand, flags and arguments",
             complete = complete } },
  handler = function(ctx)
    local words = ctx.positional or {}
    local sub, flags, args = argparse.parse(spec, words)
    if not sub then ctx.out(argparse.help(spec)); return 0 end
    local c = { flags = flags, args = args, color = ctx.color, tty = ctx.color, interactive = ctx.interactive,
                out = ctx.out, print = ctx.print, err = ctx.err, warn = ctx.warn }
    local status = sub.handler(c)
    if ctx.interactive and (sub.name == "query" or sub.name == "range") then refresh_lists(flags) end
    return status
  end,
})
end
define("prom")
define("prometheus")   -- the alias, as a command of its own so its lazy stub starts the plugin too

return {}
