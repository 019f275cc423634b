-- Start-up and completion: the shell must feel instant.
local b = _G.bench

-- Start-up to a ready shell and exit, against kubectl and the LuaJIT floor.
local env = "env HOME=/tmp/vcli-bench-home XDG_CONFIG_HOME=/tmp/vcli-bench-home/.config "
os.execute("mkdir -p /tmp/vcli-bench-home")
local vcli_ms = b.hyperfine(env .. b.vcli .. " -c ''", 100)
local _, vcli_rss = b.cmd(env .. b.vcli .. " -c ''", 10)
local floor_ms = b.hyperfine("luajit -e ''", 100)
local _, floor_rss = b.cmd("luajit -e ''", 5)
local kubectl = os.execute("command -v kubectl >/dev/null") == 0
local kc_ms, kc_rss
if kubectl then
  kc_ms = b.hyperfine("kubectl version --client", 20)
  _, kc_rss = b.cmd("kubectl version --client", 5)
end
b.report{ name = "start-up: vcli -c '' (median)", value = vcli_ms, unit = "ms", target = "≤ 10 ms",
  ok = vcli_ms <= 10, peer = "kubectl version --client", peer_value = kc_ms }
b.report{ name = "start-up: floor, luajit -e ''", value = floor_ms, unit = "ms", target = "-",
  peer = "vcli", peer_value = vcli_ms }
b.report{ name = "start-up: vcli peak RSS", value = vcli_rss, unit = "MiB", target = "≤ 12 MiB",
  ok = vcli_rss <= 12, peer = "kubectl version --client", peer_value = kc_rss }
b.report{ name = "start-up: floor peak RSS, luajit -e ''", value = floor_rss, unit = "MiB", target = "-" }

-- Completion: Tab to menu drawn, with a completer of 1 000 candidates.
require("vcli")
local commands = require("vcli.shell.commands")
local editor = require("vcli.shell.editor")
local items = {}
for i = 1, 1000 do items[i] = ("candidate-%04d"):format(i) end
commands.define({ name = "benchcomplete", handler = function() end,
  args = { { name = "x", complete = function() return items end } } }, "bench")
local sink = 0
local ms = b.time(function()
  local ed = editor.new({ write = function(s) sink = sink + #s end })
  ed:handle({ text = "benchcomplete cand" })
  ed:handle({ key = "Tab" })   -- inserts the common prefix "candidate-"
  ed:handle({ key = "Tab" })   -- selects the first candidate: menu drawn below
  ed:render()
end, 50)
b.report{ name = "completion: Tab to menu drawn, 1 000 candidates", value = ms, unit = "ms",
  target = "≤ 5 ms", ok = ms <= 5 }
