-- caps/tui.lua — tui: ask the user on the terminal (vcli.ui.confirm), and
-- the full-screen panels to come (vcli.tui.panel: reserved, recorded).
--   plugin.yaml:  - tui
--   plugin side:  vcli.ui.confirm(question) -> true | false, vcli.tui.panel(spec)
local R = require("vcli.plugin.runtime")

local C = { name = "tui", summary = "questions on the terminal (ui.confirm); panels (reserved)",
            grant = "- tui", api = { "vcli.ui.confirm", "vcli.tui.panel" } }
C.options = {}
C.ops = { confirm = "wait", panel = "now" }
C.host = {}

function C.host.panel(p, spec) table.insert(p.panels, spec) return #p.panels end

-- ui.confirm(question): ask on the terminal, a line in its normal mode
-- (the shell hands the keyboard to a running command); y/yes -> true.
-- No terminal: false at once (the caller tells the user about -y).
function C.host.confirm(_, question)
  if not R.has_terminal() then return false end
  io.stdout:flush()
  io.stderr:write(tostring(question))
  io.stderr:flush()
  local line = require("vcli.terminal").read_line()
  local answer = (line or ""):match("^%s*(.-)%s*$"):lower()
  return answer == "y" or answer == "yes"
end

function C.plugin(vcli, api)
  local confirm = api.op("tui", "confirm")
  vcli.ui = { confirm = function(question) return confirm(tostring(question or "")) == true end }
  vcli.tui = { panel = function(spec) return api.host("tui", "panel", api.strip(spec)) end }
end

return C
