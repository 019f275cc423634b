-- spec/support/tui_lines.lua — what a person sees of a widget's lines
-- (docs/tui.md): local L = dofile("spec/support/tui_lines.lua")
--   L.text(line [, w])        the line's text segments concatenated; with w,
--                             clipped to w columns and padded to exactly w
--   L.texts(lines [, w])      every line's text, trailing blanks trimmed
--                             (a nil or false line is "")
--   L.style_at(line, col)     the style of the segment covering column col (0-based)
--   L.style_of(line, needle)  the style of the first segment containing needle
--   L.width(line)             its display width
--   L.cols(s, a, b)           the text of columns a..b (0-based, inclusive) of a string
--   L.screen(box, w, h [, under])  an overlay ({x, y, lines}, as dialogs and
--                             menus return) drawn over a w×h screen of
--                             spaces (or of the strings in under): h strings,
--                             trailing blanks trimmed
local P = require("vcli.tui.prims")

local L = {}

local function clip(s, cols)
  local chars, widths = P.split(s)
  local out, acc = {}, 0
  for i = 1, #chars do
    if acc + widths[i] > cols then break end
    out[#out + 1] = chars[i]
    acc = acc + widths[i]
  end
  return table.concat(out), acc
end

function L.text(line, w)
  local out = {}
  if type(line) == "string" then out[1] = line
  elseif type(line) == "table" then
    for i = 1, #line, 2 do if type(line[i]) == "string" then out[#out + 1] = line[i] end end
  end
  local s = table.concat(out)
  if w then
    local c, cw = clip(s, w)
    s = c .. string.rep(" ", w - cw)
  end
  return s
end

function L.width(line) return P.width(L.text(line)) end

function L.texts(lines, w)
  local out = {}
  local n = 0
  for k in pairs(lines) do if type(k) == "number" and k > n then n = k end end
  for i = 1, n do
    local l = lines[i]
    out[i] = l and (L.text(l, w):gsub("%s+$", "")) or ""
  end
  return out
end

function L.style_at(line, col)
  local acc = 0
  for i = 1, #line, 2 do
    local t = line[i]
    if type(t) == "string" then
      local tw = P.width(t)
      if col < acc + tw then return line[i + 1] end
      acc = acc + tw
    end
  end
  return nil
end

function L.style_of(line, needle)
  for i = 1, #line, 2 do
    local t = line[i]
    if type(t) == "string" and t:find(needle, 1, true) then return line[i + 1] end
  end
  return nil
end

-- the characters of s as cells (a wide character takes its cell and a "")
local function cells(s, w)
  local chars, widths = P.split(s)
  local out = {}
  for i = 1, #chars do
    out[#out + 1] = chars[i]
    for _ = 2, widths[i] do out[#out + 1] = "" end
  end
  for i = #out + 1, w do out[i] = " " end
  return out
end

function L.cols(s, a, b)
  local c = cells(s, b + 1)
  return table.concat(c, "", a + 1, b + 1)
end

function L.screen(box, w, h, under)
  local rows = {}
  for y = 1, h do rows[y] = cells(under and under[y] or "", w) end
  local lines = box.lines or box
  local bx, by = box.x or 0, box.y or 0
  for i, line in ipairs(lines) do
    local y = by + i
    if line and rows[y] then
      local c = cells(L.text(line), 0)
      for j = 1, #c do
        local x = bx + j
        if x <= w then rows[y][x] = c[j] end
      end
    end
  end
  local out = {}
  for y = 1, h do
    local r = {}
    for x = 1, w do r[x] = rows[y][x] end
    out[y] = (table.concat(r):gsub("%s+$", ""))
  end
  return out
end

return L
