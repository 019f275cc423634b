-- luacheck config: `make lint` (part of `make check`).
std = "luajit"
max_line_length = 140
codes = true
read_globals = { table = { fields = { "pack" } } }
ignore = {
  "212/_.*",   -- unused arguments named _x
  "213/_.*",   -- unused loop variables named _x
  "211/_.*",
}
files["spec/**/*.lua"] = {
  globals = { "describe", "context", "it", "pending", "before_all", "after_all", "before_each", "after_each",
              "setup", "teardown", "assert", "spec" },
}
files["spec/runner.lua"] = { globals = { "spec" } }
files["bench/**/*.lua"] = { globals = { "bench" } }
files["rc/**/*.lua"] = { read_globals = { "vcli" } }
-- Plugins run in their own state, where the prelude provides `vcli`.
files["plugins/**/*.lua"] = { read_globals = { "vcli" } }
files["lua/vcli/plugin/prelude.lua"] = { globals = { "string" } }
files["lua/vcli/plugin/resilience.lua"] = { read_globals = { "vcli" } }
-- A plugin's own specs run under `plugin test` (vcli.plugin.harness), in the plugin's state.
local plugin_spec = {
  read_globals = { "vcli", "describe", "context", "it", "pending", "before_all", "after_all", "before_each",
                   "after_each", "setup", "teardown", "assert", "spec", "run", "wait_event", "events", "stub", "plugin" },
}
files["plugins/*/spec/**/*.lua"] = plugin_spec
-- Fixture plugins of the specs run in plugin states too.
files["spec/support/plugins/**/*.lua"] = { read_globals = { "vcli" } }
files["spec/support/plugins/*/spec/**/*.lua"] = plugin_spec
