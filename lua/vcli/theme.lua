-- vcli.theme — the shell's colours from ui.theme and ui.colorScheme: the
-- line editor's styles (prompt, search, menu…), whether commands colour
-- their output (ctx.color), and no colour at all in the prompt with mono.
--   theme.apply([ui])     restyle vcli.shell.editor's styles in place
--   theme.colors()        false when ui.theme is mono
--   theme.plain(segs)     prompt segments without colours when mono
local term = require("vcli.term")

local M = {}

-- Palettes: element -> { fg = 16-colour index, attributes }.
local BASE = {
  prompt = { fg = 4, bold = true }, cont = { dim = true }, menu = {}, menu_sel = { reverse = true },
  menu_desc = { dim = true }, info = { dim = true }, search = { fg = 3 },
}
M.PALETTES = {
  auto = BASE,
  dark = { prompt = { fg = 12, bold = true }, search = { fg = 11 } },
  light = { prompt = { fg = 4, bold = true }, search = { fg = 5 } },
  mono = { prompt = { bold = true }, search = { bold = true } },
}

-- ui.colorScheme's element names -> the editor's style names
M.ELEMENTS = { prompt = "prompt", search = "search", menu = "menu", menuSelected = "menu_sel",
               menuDescription = "menu_desc", info = "info", continuation = "cont" }

local NAMES = { black = 0, red = 1, green = 2, yellow = 3, blue = 4, magenta = 5, cyan = 6, white = 7 }

local function setting(key) -- (vcli.config may be loading us: no require at load time)
  local ok, config = pcall(require, "vcli.config")
  if ok then return config.setting(key) end
end

-- Whether the terminal takes 24-bit colour: $COLORTERM says so (truecolor or
-- 24bit, as terminals that support it set it).
function M.truecolor()
  local ct = (os.getenv("COLORTERM") or ""):lower()
  return ct == "truecolor" or ct == "24bit"
end

-- A colour for term.style: red, bright-red, 0-255 (an index), #rrggbb (itself
-- on a truecolor terminal, else the nearest of the 256).
function M.color(s)
  if type(s) == "number" then s = tostring(s) end
  if type(s) ~= "string" then return nil end
  s = s:lower()
  if NAMES[s] then return NAMES[s] end
  local bright = s:match("^bright%-(%a+)$")
  if bright and NAMES[bright] then return NAMES[bright] + 8 end
  local n = tonumber(s:match("^%d+$") or "")
  if n and n <= 255 then return n end
  local r, g, b = s:match("^#(%x%x)(%x%x)(%x%x)$")
  if r and M.truecolor() then return s end
  if r then
    local function level(x) x = tonumber(x, 16) return x < 48 and 0 or (x < 115 and 1 or math.floor((x - 35) / 40)) end
    return 16 + 36 * level(r) + 6 * level(g) + level(b)
  end
  return nil
end

-- Which palette ui.theme means: auto reads $COLORFGBG ("fg;bg") when the terminal sets it.
function M.palette_name(theme)
  if theme ~= "auto" and M.PALETTES[theme] then return theme end
  local bg = tonumber(((os.getenv("COLORFGBG") or ""):match("(%d+)$")) or "")
  if not bg then return "auto" end
  return (bg <= 6 or bg == 8) and "dark" or "light"
end

local warned = {}
local function warn(msg)
  if warned[msg] then return end
  warned[msg] = true
  local ok, shell = pcall(require, "vcli.shell")
  local line = "vcli: config: " .. msg .. "\n"
  if ok and shell.ewrite then shell.ewrite(line) else io.stderr:write(line) end
end

-- The styles ui says (a table of the editor's style name -> term.style value).
function M.styles(ui)
  ui = type(ui) == "table" and ui or {}
  local pal = M.PALETTES[M.palette_name(ui.theme or "auto")]
  local spec = {}
  for name, base in pairs(BASE) do
    local t = {}
    for k, v in pairs(pal[name] or base) do t[k] = v end
    spec[name] = t
  end
  if ui.theme ~= "mono" and type(ui.colorScheme) == "table" then
    for el, c in pairs(ui.colorScheme) do
      local name, idx = M.ELEMENTS[el], M.color(c)
      if not name then
        local known = {}
        for k in pairs(M.ELEMENTS) do known[#known + 1] = k end
        table.sort(known)
        warn(("ui.colorScheme.%s: no such element (%s)"):format(tostring(el), table.concat(known, ", ")))
      elseif not idx then
        warn(("ui.colorScheme.%s: %q is not a colour (a name such as red or bright-blue, 0-255 or #rrggbb)")
          :format(el, tostring(c)))
      else
        spec[name].fg = idx
      end
    end
  end
  local out = {}
  for name, t in pairs(spec) do out[name] = next(t) and term.style(t) or 0 end
  return out
end

-- Restyle the line editor in place (it reads its styles when it draws).
function M.apply(ui)
  if ui == nil then ui = setting("ui") end
  local styles = require("vcli.shell.editor").styles
  for name, st in pairs(M.styles(ui)) do styles[name] = st end
  M.mono = type(ui) == "table" and ui.theme == "mono"
end

-- Follow configuration changes (the interactive shell).
function M.watch()
  local ok, config = pcall(require, "vcli.config")
  if not ok then return end
  config.subscribe("vcli.theme", function(_, new)
    M.apply(new.ui)
    return true
  end)
end

function M.colors() return setting("ui.theme") ~= "mono" end

-- Prompt segments with their colours dropped when the theme is mono
-- (bold, dim, reverse… stay); anything else is returned as it is.
function M.plain(p)
  if not M.mono or type(p) ~= "table" then return p end
  local out = {}
  for i, seg in ipairs(p) do
    if type(seg) == "table" and type(seg[2]) == "number" then
      local t = term.style_of(seg[2])
      t.fg, t.bg = nil, nil
      out[i] = { seg[1], term.style(t) }
    else
      out[i] = seg
    end
  end
  return out
end

return M
