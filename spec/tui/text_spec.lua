-- vcli.tui.text: the text viewer as a person sees it (the rendered screen).
require("vcli")
local W = require("vcli.tui.text")
local P = require("vcli.tui.prims")

-- a line as the screen shows it: its text segments laid left to right, clipped and
-- padded to w columns
local function row(line, w)
  local parts = {}
  for i = 1, #line, 2 do parts[#parts + 1] = line[i] end
  local s = table.concat(parts)
  local chars, widths = P.split(s)
  local out, col = {}, 0
  for i = 1, #chars do
    if col + widths[i] > w then break end
    out[#out + 1] = chars[i]
    col = col + widths[i]
  end
  return table.concat(out) .. string.rep(" ", w - col)
end
local function screen(v, w, h)
  local lines = v:view(w, h)
  assert.equal(h, #lines)
  local out = {}
  for i, l in ipairs(lines) do out[i] = row(l, w) end
  return out
end
-- the screen without trailing blanks (easier to read in a failure)
local function shown(v, w, h)
  local out = {}
  for i, s in ipairs(screen(v, w, h)) do out[i] = (s:gsub("%s+$", "")) end
  return out
end
-- the style of the segment holding text piece in the line
local function style_of(line, piece)
  for i = 1, #line, 2 do if line[i]:find(piece, 1, true) then return line[i + 1] end end
  return "(absent)"
end
-- run in a plugin's state and in the host: both must draw the same
local SANDBOX_SRC = [[
  local function text(lines)
    local out = {}
    for i, l in ipairs(lines) do
      local t = {}
      for j = 1, #l, 2 do t[#t + 1] = l[j] .. "<" .. tostring(l[j + 1]) .. ">" end
      out[i] = table.concat(t)
    end
    return table.concat(out, "|")
  end
  local TW = require("vcli.tui.text")
  local v = TW.new{ text = "kind: Pod\n\tx: 1\nkind: Job\n", syntax = "yaml" }
  v:view(20, 2)
  v:search("Job")
  local L = require("vcli.tui.logview")
  local lv = L.new{ max_bytes = 128 }
  for i = 1, 20 do lv:append(("log %02d\n"):format(i)) end
  lv:mark("10:00:00")
  lv:set_filter("^log 1")
  return table.concat({ text(v:view(20, 2)), v:status(), text(lv:view(30, 3)),
    tostring(lv.bytes <= 128), tostring(lv.dropped > 0) }, " ")
]]

local function numbered(n, fmt)
  local t = {}
  for i = 1, n do t[i] = (fmt or "line %d"):format(i) end
  return t
end

describe("vcli.tui.text", function()
  describe("drawing", function()
    it("returns h lines, clipped to the width and blank below the text", function()
      local v = W.new{ text = "hello world\nsecond\n" }
      assert.same({ "hello", "secon", "     " }, screen(v, 5, 3))
      assert.equal(2, v:line_count())
    end)

    it("expands tabs to 8 columns and drops a CR at the end of a line", function()
      local v = W.new{ lines = { "a\tb", "abcdefgh\tx", "k:\tv\r", "日\tz" } }
      assert.same({ "a       b", "abcdefgh        x", "k:      v", "日      z" }, shown(v, 30, 4))
    end)

    it("scrolls sideways with Left/Right when not wrapping, within the longest line", function()
      local v = W.new{ lines = { "0123456789abcdefghijklmnopqrstuvwxyz", "short" } }
      assert.same({ "0123456789", "short" }, shown(v, 10, 2))
      assert.truthy(v:key("Right"))
      assert.same({ "89abcdefgh", "" }, shown(v, 10, 2))
      for _ = 1, 10 do v:key("Right") end
      assert.same({ "qrstuvwxyz", "" }, shown(v, 10, 2))   -- stops where the longest line ends
      v:key("Left")
      assert.same({ "ijklmnopqr", "" }, shown(v, 10, 2))
    end)

    it("wraps long lines with w; keys then scroll by screen rows; w again unwraps", function()
      local v = W.new{ lines = { "first", "0123456789abcdefghij", "third", "fourth" } }
      assert.truthy(v:key("w"))
      assert.same({ "first", "0123456789", "abcdefghij" }, shown(v, 10, 3))
      v:key("j")
      assert.same({ "0123456789", "abcdefghij", "third" }, shown(v, 10, 3))
      v:key("j")
      assert.same({ "abcdefghij", "third", "fourth" }, shown(v, 10, 3))
      v:key("j")   -- the end: the last screen is full
      assert.same({ "abcdefghij", "third", "fourth" }, shown(v, 10, 3))
      v:key("k")
      assert.same({ "0123456789", "abcdefghij", "third" }, shown(v, 10, 3))
      assert.falsy(v:key("Right"))   -- nothing to scroll sideways when wrapping
      v:key("w")
      assert.same({ "0123456789", "third", "fourth" }, shown(v, 10, 3))
    end)

    it("wraps a wide character that does not fit to the next row", function()
      local v = W.new{ lines = { "abcd日本" }, wrap = true }
      assert.same({ "abcd日", "本" }, shown(v, 6, 2))
    end)
  end)

  describe("scrolling", function()
    it("j/k, pages, half pages, g/G, and the status says which lines are shown", function()
      local v = W.new{ lines = numbered(180) }
      local function first() return shown(v, 20, 20)[1] end
      assert.equal("line 1", first())
      assert.equal("lines 1-20/180 (11%)", v:status())
      v:key("j"); assert.equal("line 2", first())
      v:key("Down"); assert.equal("line 3", first())
      v:key("k"); v:key("Up"); v:key("Up"); assert.equal("line 1", first())   -- not above the top
      v:key("PageDown"); assert.equal("line 21", first())
      v:key("Space"); assert.equal("line 41", first())
      v:key("C-f"); assert.equal("line 61", first())
      v:key("PageUp"); assert.equal("line 41", first())
      v:key("C-b"); assert.equal("line 21", first())
      v:key("C-d"); assert.equal("line 31", first())
      v:key("C-u"); assert.equal("line 21", first())
      v:key("G"); assert.equal("line 161", first())
      assert.equal("lines 161-180/180 (100%)", v:status())
      v:key("j"); assert.equal("line 161", first())   -- not below the end
      v:key("g"); assert.equal("line 1", first())
      v:key("End"); assert.equal("line 161", first())
      v:key("Home"); assert.equal("line 1", first())
      assert.falsy(v:key("x"))
    end)

    it("a short text does not scroll", function()
      local v = W.new{ lines = numbered(3) }
      v:view(20, 10)
      v:key("G")
      assert.equal("line 1", shown(v, 20, 10)[1])
      assert.equal("lines 1-3/3 (100%)", v:status())
    end)
  end)

  describe("live refresh", function()
    it("set_text keeps the scroll position and the search when the object changes", function()
      local v = W.new{ lines = numbered(100) }
      v:view(20, 10)
      v:search("line 5.$")
      assert.equal("line 50", shown(v, 20, 10)[1])
      v:key("n")
      assert.equal("line 51", shown(v, 20, 10)[1])
      local t = numbered(100, "row %d")
      t[52] = "row 52 changed"
      v:set_text(table.concat(t, "\n") .. "\n")
      assert.equal("row 51", shown(v, 20, 10)[1])
      assert.equal("/line 5.$: no match", v:status():match("· (/.*)$"))
      v:search("changed")
      assert.equal("row 52 changed", shown(v, 20, 10)[1])
      v:set_lines(numbered(100, "row %d changed"))   -- the same match, every line matches now
      assert.equal("row 52 changed", shown(v, 20, 10)[1])
      assert.matches("/changed %[52/100%]$", v:status())
    end)

    it("clamps when the new text is shorter", function()
      local v = W.new{ lines = numbered(100) }
      v:view(20, 10)
      v:key("G")
      v:set_lines(numbered(15))
      assert.equal("line 6", shown(v, 20, 10)[1])
      v:set_text("")
      assert.same({ "", "" }, shown(v, 20, 2))
      assert.equal("lines 0/0", v:status())
    end)
  end)

  describe("YAML", function()
    local doc = table.concat({
      "apiVersion: v1",
      "kind: Pod  # a comment",
      "metadata:",
      "  name: web-1",
      "  labels:",
      "    app: web",
      "spec:",
      "  containers:",
      "  - name: nginx",
      "    args:",
      "    - --port=80",
      "    command: |",
      "      echo key: not-a-key",
      "  # indented comment",
      "---",
    }, "\n")

    it("styles keys, values, comments and list dashes", function()
      local v = W.new{ text = doc, syntax = "yaml" }
      local lines = v:view(60, 15)
      assert.equal("yaml_key", style_of(lines[1], "apiVersion"))
      assert.equal("yaml_value", style_of(lines[1], "v1"))
      assert.equal("yaml_value", style_of(lines[2], "Pod"))
      assert.equal("yaml_comment", style_of(lines[2], "# a comment"))
      assert.equal("yaml_key", style_of(lines[3], "metadata"))
      assert.equal("yaml_key", style_of(lines[4], "name"))
      assert.equal("yaml_value", style_of(lines[4], "web-1"))
      assert.equal("dim", style_of(lines[9], "-"))
      assert.equal("yaml_key", style_of(lines[9], "name"))
      assert.equal("yaml_value", style_of(lines[9], "nginx"))
      assert.equal("dim", style_of(lines[11], "-"))
      assert.equal("yaml_value", style_of(lines[11], "port=80"))
      assert.equal("yaml_value", style_of(lines[13], "echo key"))   -- inside the block scalar
      assert.equal("yaml_comment", style_of(lines[14], "# indented"))
      assert.equal("dim", style_of(lines[15], "---"))
      assert.equal("  - name: nginx", row(lines[9], 60):gsub("%s+$", ""))
    end)

    it("plain text (describe output) has no styles", function()
      local v = W.new{ text = "Name:   web-1\nStatus: Running" }
      assert.falsy(style_of(v:view(40, 2)[1], "Name"))
    end)
  end)

  describe("search", function()
    local function sample()
      local t = numbered(50)
      t[10], t[30], t[45] = "an error here", "error again: error", "last error"
      local v = W.new{ lines = t }
      v:view(30, 10)
      return v
    end

    it("/ asks the host for a line; its submit goes to the first match and highlights it", function()
      local v = sample()
      assert.truthy(v:key("/"))
      local wi = v.wants_input
      assert.equal("/", wi.prompt)
      assert.equal("", wi.text)
      v.wants_input = nil   -- the host takes it
      assert.truthy(wi.on_submit("error"))
      local lines = v:view(30, 10)
      assert.equal("an error here", row(lines[1], 30):gsub("%s+$", ""))
      assert.equal("search", style_of(lines[1], "error"))
      assert.falsy(style_of(lines[1], "an "))
      assert.equal("lines 10-19/50 (38%) · /error [1/3]", v:status())
      -- every match of a line is highlighted
      v:key("n")
      local l30 = v:view(30, 10)[1]
      local n = 0
      for i = 1, #l30, 2 do if l30[i + 1] == "search" then n = n + 1; assert.equal("error", l30[i]) end end
      assert.equal(2, n)
      v:key("/")
      assert.equal("error", v.wants_input.text)   -- the last pattern, to edit
    end)

    it("n/N go to the next/previous matching line and say when they wrap", function()
      local v = sample()
      v:search("error")
      local function first() return shown(v, 30, 10)[1] end
      assert.equal("an error here", first())
      v:key("n"); assert.equal("error again: error", first()); assert.falsy(v.message)
      v:key("n")   -- line 45: the screen cannot start below line 41
      assert.equal("line 41", first())
      assert.equal("lines 41-50/50 (100%) · /error [3/3]", v:status())
      v:key("n")
      assert.equal("an error here", first())
      assert.equal("search hit BOTTOM, continuing at TOP", v.message)
      v:key("j")
      assert.falsy(v.message)   -- a message lasts until the next key
      v:key("k")
      v:key("N")
      assert.equal("line 41", first())
      assert.equal("search hit TOP, continuing at BOTTOM", v.message)
      v:key("N"); assert.equal("error again: error", first())
      v:key("N"); assert.equal("an error here", first())
    end)

    it("starts from the top of the screen; no match and a bad pattern are said", function()
      local v = sample()
      v:key("G")
      v:search("error")
      assert.equal("line 41", shown(v, 30, 10)[1])   -- the match on line 45
      assert.equal(3, v:match_count())
      v:search("nothing-like-this")
      assert.equal("Pattern not found: nothing-like-this", v.message)
      assert.matches("/nothing%-like%-this: no match$", v:status())
      v:search("error")
      local ok, err = v:search("[")
      assert.falsy(ok)
      assert.truthy(err)
      assert.matches("/error %[", v:status())   -- the search before it stays
      assert.truthy(v:search(""))
      assert.equal("lines 41-50/50 (100%)", v:status())
      assert.falsy(v:key("n"))
    end)

    it("a ^ pattern highlights only at the start of the line", function()
      local v = W.new{ lines = { "aaa" } }
      v:search("^a")
      local l = v:view(10, 1)[1]
      assert.same({ "a", "search", "aa", false }, l)
    end)
  end)

  describe("in a plugin's sandbox", function()
    it("the text and log widgets run in a plugin's state, drawing the same lines", function()
      local pm = require("vcli.plugin")
      local dir = spec.tmpdir()
      os.execute("mkdir -p " .. dir .. "/tuiwidgets")
      spec.write(dir .. "/tuiwidgets/plugin.yaml", "name: tuiwidgets\nversion: 1.0.0\ncapabilities: []\n")
      spec.write(dir .. "/tuiwidgets/init.lua", "return {}\n")
      pm.discover({ { dir = dir, kind = "spec" } }, { cache = false })
      pm.set_store_dir(spec.tmpdir())
      assert(pm.start("tuiwidgets"))
      local p = pm.get("tuiwidgets")
      local ok, res = pcall(pm.invoke, p, "eval", SANDBOX_SRC)
      pm.stop("tuiwidgets")
      os.execute("rm -rf '" .. dir .. "'")
      assert.truthy(ok, res)
      local here = assert(loadstring(SANDBOX_SRC))()   -- the same code in the host
      assert.equal(here, res)
      assert.equal("        <false>x:<yaml_key> <false>1<yaml_value>|kind:<yaml_key> <false>Job<search>"
        .. " lines 2-3/3 (100%) · /Job [1/1]"
        .. " log 18<false>|log 19<false>|────── mark 10:00:00 ──────<dim> true true", res)
    end)
  end)
end)
