-- vcli.tui.styles — the style names panels and widgets use (docs/tui.md)
-- as the grid's style numbers: a palette of the 256 colours, overridden by
-- ui.colorScheme (element names as here: selected = "#005f87"…; 24-bit on a
-- truecolor terminal, see vcli.theme.color), and only
-- attributes (bold, reverse, underline) when colour is off: NO_COLOR set,
-- ui.theme mono, or TERM=dumb.
--   styles.new{color = bool} -> st;  st:get(name) -> style number (0 for an unknown name)
local term = require("vcli.term")

local M = {}

-- name -> { fg, bg, attributes } (16-colour indexes: 8-15 are the bright ones)
M.PALETTE = {
  title = { fg = 14, bold = true }, header = { fg = 15, bold = true }, selected = { fg = 0, bg = 6 },
  marked = { fg = 11, bold = true }, dim = { fg = 8 }, error = { fg = 9 }, warn = { fg = 11 },
  ok = { fg = 10 }, info = { fg = 12 }, key = { fg = 13, bold = true }, filter = { fg = 11 },
  search = { fg = 0, bg = 3 }, border = { fg = 6 }, input = {}, yaml_key = { fg = 12 },
  yaml_value = {}, yaml_comment = { fg = 8 }, crumb = { fg = 0, bg = 4 },
  crumb_active = { fg = 0, bg = 3, bold = true }, status = {}, hkey = { fg = 3 },
  hval = { fg = 15, bold = true }, offline = { fg = 15, bg = 1, bold = true },
}
-- without colour: what still tells the states apart
M.MONO = {
  title = { bold = true }, header = { bold = true }, selected = { reverse = true }, marked = { bold = true,
  underline = true }, error = { bold = true }, warn = { bold = true }, key = { bold = true },
  search = { reverse = true }, crumb = {}, crumb_active = { reverse = true }, hval = { bold = true },
  offline = { reverse = true, bold = true }, yaml_key = { bold = true },
}

function M.color_wanted()
  local nc = os.getenv("NO_COLOR")
  if nc and nc ~= "" then return false end
  if os.getenv("TERM") == "dumb" then return false end
  local ok, config = pcall(require, "vcli.config")
  if ok and config.setting("ui.theme") == "mono" then return false end
  return true
end

local St = {}
St.__index = St

function M.new(opts)
  opts = opts or {}
  local color = opts.color
  if color == nil then color = M.color_wanted() end
  local s = setmetatable({ map = {}, color = color }, St)
  local overrides = {}
  if color then
    local ok, config = pcall(require, "vcli.config")
    local cs = ok and config.setting("ui.colorScheme") or nil
    if type(cs) == "table" then overrides = cs end
  end
  local theme = require("vcli.theme")
  for name, def in pairs(M.PALETTE) do
    local d = color and def or (M.MONO[name] or {})
    local t = {}
    for k, v in pairs(d) do t[k] = v end
    local o = overrides[name]
    if o then t.fg = theme.color(o) or t.fg end
    s.map[name] = term.style(t)
  end
  return s
end

function St:get(name)
  if not name then return 0 end
  return self.map[name] or 0
end

return M
