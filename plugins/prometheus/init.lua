-- prometheus/init.lua — the plugin's entry in its own Lua state: builds the
-- env the prom modules take (prom/plugin_env.lua, from what the manifest
-- grants) and registers `prom` (alias `prometheus`: the same command, its
-- help says prom) with real subcommands: the host parses, helps and
-- completes each one; handlers and completers run here and may wait on the
-- network.
local plugin_env = require("prom.plugin_env")
local commands = require("prom.commands")

vcli.command(commands.spec(plugin_env.new()))

return {
  health = function() return true end,
}
