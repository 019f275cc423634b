-- kubernetes/init.lua — the plugin's entry in its own Lua state: builds the
-- env the k8s modules take (k8s/env.lua, from what the manifest grants) and
-- registers `k8s` (and `kubernetes`, the same command) with its subcommands,
-- and provides the `kube` service (k8s/service.lua).
-- The session (kubeconfig, contexts, clients, cache) is made on first use.
local plugin_env = require("k8s.plugin_env")
local cmds = require("k8s.commands")

local env = plugin_env.new()

local real
local function session()
  if not real then
    real = require("k8s.session").new(env, plugin_env.session_opts(env))
    plugin_env.session = real
  end
  return real
end
local sess = setmetatable({}, {
  __index = function(_, k) return session()[k] end,
  __newindex = function(_, k, v) session()[k] = v end,
})

local function show_prompt()
  local ok, segs = pcall(cmds.prompt, sess)
  if ok and segs then pcall(vcli.prompt.set, segs) end
end

-- Every handler: ctx.spec (some verbs name themselves in messages), the
-- kubectl bridge's terminal, and the prompt after ctx/ns switches.
local function wrap(spec)
  local h = spec.handler
  if h then
    local name = spec.name
    spec.handler = function(ctx)
      ctx.spec = ctx.spec or { name = name }
      plugin_env.ctx = ctx
      local ok, status = pcall(h, ctx)
      plugin_env.ctx = nil
      if name == "ctx" or name == "ns" or name == "k8s" or (real and real.queued_changed) then
        if real then real.queued_changed = nil end
        show_prompt()
      end
      if not ok then error(status, 0) end
      return status
    end
  end
  for _, sub in ipairs(spec.subcommands or {}) do wrap(sub) end
  return spec
end

local top = wrap(cmds.specs(sess)[1])
top.aliases = nil
vcli.command(top)
local alias = {}
for k, v in pairs(top) do alias[k] = v end
alias.name, alias.summary = "kubernetes", "Same as k8s"
vcli.command(alias)

-- the kube service other plugins call (vcli.kube.get/list/watch/request…,
-- k8s/service.lua), over this same session
local service = require("k8s.service").new(session, env)
vcli.provide("kube", service)

-- the browser of the full-screen interface (vcli ui): the panel `k8s`
if vcli.tui and vcli.tui.panel then
  require("k8s.ui_panel").register(session, env)
  require("k8s.ui.actions").on_switch = show_prompt
end

-- the prompt shows context/namespace once the kubeconfig reads cleanly
vcli.timer(0, show_prompt)

-- writes queued while a cluster was unreachable: in the interactive shell,
-- every offline.syncInterval, replayed once their cluster answers again
-- (offline.autoSync), one line per operation
if vcli.terminal and vcli.terminal.size and (vcli.terminal.size() or {}).terminal then
  local pol = plugin_env.cluster_policy(nil)
  local every = math.max(1, pol.sync_interval or 30) * 1000
  local busy = false
  vcli.every(every, function()
    if busy then return end
    busy = true
    pcall(function()
      if require("k8s.offline").background(session()) then show_prompt() end
    end)
    busy = false
  end)
end

return {
  on_config_change = function()
    if real then real:reload() end
    show_prompt()
  end,
  health = function() return true end,
  -- the service's watches end with the plugin (kube.watch.stopped, reason "stopped")
  stop = function() service.stopped() end,
}
