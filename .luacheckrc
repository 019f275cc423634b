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
