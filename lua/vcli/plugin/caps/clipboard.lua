-- caps/clipboard.lua — clipboard: copy text to the user's clipboard (OSC 52,
-- when stdout is a terminal; kept for vcli.plugin.clipboard() either way).
--   plugin.yaml:  - clipboard
--   plugin side:  vcli.clipboard.copy(text)
local R = require("vcli.plugin.runtime")

local C = { name = "clipboard", summary = "copy text to the terminal's clipboard (OSC 52)",
            grant = "- clipboard", api = { "vcli.clipboard.copy" } }
C.options = {}
C.ops = { copy = "now" }
C.host = {}
R.S.clipboard = R.S.clipboard or {}

function C.host.copy(_, text)
  text = tostring(text)
  table.insert(R.S.clipboard, text)
  if require("vcli.term").isatty(1) then
    io.stdout:write("\27]52;c;" .. require("vcli.codec").base64_encode(text) .. "\7")
  end
  return true
end

function C.plugin(vcli, api) vcli.clipboard = api.ops("clipboard") end

return C
