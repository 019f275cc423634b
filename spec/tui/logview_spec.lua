-- vcli.tui.logview: the log viewer as a person sees it (the rendered screen).
require("vcli")
local L = require("vcli.tui.logview")
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
-- the screen, without trailing blanks (easier to read in a failure)
local function shown(v, w, h)
  local lines = v:view(w, h)
  assert.equal(h, #lines)
  local out = {}
  for i, l in ipairs(lines) do out[i] = (row(l, w):gsub("%s+$", "")) end
  return out
end
local function style_of(line, piece)
  for i = 1, #line, 2 do if line[i]:find(piece, 1, true) then return line[i + 1] end end
  return "(absent)"
end
local function numbered(v, from, to, fmt)
  local t = {}
  for i = from, to do t[#t + 1] = (fmt or "line %d"):format(i) end
  v:append(table.concat(t, "\n") .. "\n")
end

describe("vcli.tui.logview", function()
  describe("ingest", function()
    it("joins a line split across chunks and shows it only once its newline comes", function()
      local v = L.new{}
      v:append("hel")
      assert.same({ "", "" }, shown(v, 20, 2))
      v:append("lo\nwor")
      assert.same({ "hello", "" }, shown(v, 20, 2))
      v:append("l")
      v:append("d\nlast")
      assert.same({ "hello", "world" }, shown(v, 20, 2))
      assert.equal(2, (v:count()))
      v:flush()   -- the stream ended: the partial line is a line
      assert.same({ "world", "last" }, shown(v, 20, 2))
    end)

    it("keeps a partial line per source: interleaved streams do not mix", function()
      local v = L.new{}
      v:append("web-1 be", "web-1/nginx")
      v:append("web-2 whole\nweb-2 ha", "web-2/nginx")
      v:append("gins\n", "web-1/nginx")
      v:append("lf\n", "web-2/nginx")
      assert.same({ "web-2/nginx web-2 whole", "web-1/nginx web-1 begins", "web-2/nginx web-2 half" },
        shown(v, 40, 3))
      assert.equal("info", style_of(v:view(40, 1)[1], "web-2/nginx"))
      assert.truthy(v:key("P"))   -- the prefix off
      assert.same({ "web-2 whole", "web-1 begins", "web-2 half" }, shown(v, 40, 3))
    end)

    it("expands tabs, drops the CR of CRLF lines", function()
      local v = L.new{}
      v:append("a\tb\r\nlevel=info\tmsg=x\r\n")
      assert.same({ "a       b", "level=info      msg=x" }, shown(v, 40, 2))
    end)

    it("splits the RFC3339 time off the front: hidden, t shows it, saved with the line", function()
      local v = L.new{}
      v:append("2024-05-01T10:00:00.123456789Z started\n2024-05-01T10:00:01Z ready\nno time here\n")
      assert.same({ "started", "ready", "no time here" }, shown(v, 40, 3))
      assert.equal("2024-05-01T10:00:01Z", v:line(2).ts)
      assert.equal("ready", v:line(2).text)
      assert.truthy(v:key("t"))
      local lines = v:view(50, 3)
      assert.equal("2024-05-01T10:00:00.123456789Z started", row(lines[1], 50):gsub("%s+$", ""))
      assert.equal("dim", style_of(lines[1], "2024-05-01"))
      assert.equal("no time here", row(lines[3], 50):gsub("%s+$", ""))
      assert.equal("2024-05-01T10:00:00.123456789Z started\n2024-05-01T10:00:01Z ready\nno time here\n",
        v:lines_for_save())
      local raw = L.new{ timestamps = false }
      raw:append("2024-05-01T10:00:01Z ready\n")
      assert.same({ "2024-05-01T10:00:01Z ready" }, shown(raw, 40, 1))
    end)

    it("stays within max_bytes after 20 MB, counting what it dropped and keeping the newest", function()
      local max = 1024 * 1024
      local v = L.new{ max_bytes = max }
      local block = {}
      for i = 1, 1000 do block[i] = ("%s %s"):format(i, ("x"):rep(90)) end
      local text = table.concat(block, "\n") .. "\n"   -- ~95 KB
      local total, seq = 0, 0
      while total < 20 * 1024 * 1024 do
        -- in 64 KiB chunks that end mid-line; the last lines say where we are
        local s = text .. ("tail %d\n"):format(seq)
        for i = 1, #s, 65536 do v:append(s:sub(i, i + 65535)) end
        total, seq = total + #s, seq + 1
      end
      assert.truthy(v.bytes <= max, v.bytes)
      assert.truthy(v.bytes > max - 200)
      assert.truthy(v.dropped > 0)
      local kept = v:count()
      assert.equal(seq * 1001, kept + v.dropped)
      assert.equal(v.bytes, #v:lines_for_save())
      assert.same({ "999 " .. ("x"):rep(90), "1000 " .. ("x"):rep(90), "tail " .. (seq - 1) }, shown(v, 100, 3))
      assert.matches("^following · [%d,]+ lines · [%d.]+ [KM]iB/1 MiB · [%d,]+ dropped$", v:status())
    end)

    it("keeps a line longer than the buffer can hold as pieces, never dropping everything", function()
      local v = L.new{ max_bytes = 400 }
      v:append(("y"):rep(250) .. "\n")
      assert.truthy(v.bytes <= 400)
      assert.truthy(v:count() >= 2)
      assert.equal(("y"):rep(20), shown(v, 20, 1)[1])
      v:append("other's half", "b")
      v:append(("z"):rep(1000))   -- no newline ever: the partial line is bounded too
      assert.truthy(v:count() > 0)
      assert.equal(("z"):rep(20), shown(v, 20, 1)[1])
      v:append(" line\n", "b")   -- the other source's partial line was not cut by it
      assert.equal("b other's half line", shown(v, 30, 1)[1])
    end)
  end)

  describe("follow", function()
    it("sticks to the bottom; scrolling up stops it; G and f start it again", function()
      local v = L.new{}
      numbered(v, 1, 100)
      local function first() return shown(v, 30, 10)[1] end
      assert.equal("line 91", first())
      assert.matches("^following · 100 lines", v:status())
      numbered(v, 101, 105)
      assert.equal("line 96", first())
      v:key("k")
      assert.equal("line 95", first())
      assert.falsy(v.following)
      assert.matches("^paused", v:status())
      numbered(v, 106, 120)
      assert.equal("line 95", first())   -- the same text on screen while lines arrive
      v:key("G")
      assert.truthy(v.following)
      assert.equal("line 111", first())
      v:key("f")
      assert.falsy(v.following)
      numbered(v, 121, 125)
      assert.equal("line 111", first())
      v:key("f")
      assert.equal("line 116", first())
      v:key("g")
      assert.equal("line 1", first())
      assert.falsy(v.following)
      v:key("PageDown")
      assert.equal("line 11", first())
      v:key("End")
      assert.truthy(v.following)
      v:key("Up")
      v:key("j")   -- down to the end again: follow stays off
      assert.equal("line 116", first())
      assert.falsy(v.following)
    end)

    it("keeps the screen on its text while the oldest lines are dropped under it", function()
      local v = L.new{ max_bytes = 100 * 9 }   -- "line NNN\n": 9 bytes
      numbered(v, 100, 199)
      v:view(20, 5)
      v:key("g")
      v:key("j")
      v:key("j")
      assert.equal("line 102", shown(v, 20, 5)[1])
      numbered(v, 200, 201)
      assert.equal("line 102", shown(v, 20, 5)[1])
      numbered(v, 202, 210)   -- line 102 is gone: the screen starts at the oldest kept
      assert.equal("line 111", shown(v, 20, 5)[1])
    end)
  end)

  describe("view", function()
    it("wraps with w, and the bottom stays full when following", function()
      local v = L.new{}
      v:append("short\n" .. ("0123456789"):rep(3) .. "\nend\n")
      assert.same({ "short", "0123456789", "end" }, shown(v, 10, 3))
      assert.truthy(v:key("w"))
      assert.same({ "0123456789", "0123456789", "0123456789", "end" }, shown(v, 10, 4))
      v:key("k")
      assert.same({ "short", "0123456789", "0123456789", "0123456789" }, shown(v, 10, 4))
      assert.falsy(v:key("Right"))
    end)

    it("scrolls sideways with Left/Right up to the widest line on screen", function()
      local v = L.new{}
      v:append("0123456789abcdefghij\nshort\n")
      assert.same({ "01234567", "short" }, shown(v, 8, 2))
      v:key("Right")
      assert.same({ "89abcdef", "" }, shown(v, 8, 2))
      v:key("Right")
      v:key("Right")
      assert.same({ "cdefghij", "" }, shown(v, 8, 2))
      v:key("Left")
      assert.same({ "456789ab", "t" }, shown(v, 8, 2))
    end)

    it("a mark is a dim line with the time, kept and saved like the others", function()
      local v = L.new{}
      numbered(v, 1, 2)
      v:mark("14:03:22")
      numbered(v, 3, 3)
      local lines = v:view(40, 4)
      assert.equal("────── mark 14:03:22 ──────", row(lines[3], 40):gsub("%s+$", ""))
      assert.same({ "────── mark 14:03:22 ──────", "dim" }, lines[3])
      assert.equal("line 1\nline 2\n────── mark 14:03:22 ──────\nline 3\n", v:lines_for_save())
      v:key("m")   -- the time from os.date
      assert.matches("^────── mark %d%d:%d%d:%d%d ──────$", v:line(5).text)
    end)

    it("status: follow, lines, bytes, filter, search", function()
      local v = L.new{ max_bytes = 4 * 1024 * 1024 }
      numbered(v, 1, 12345, "%d " .. ("e"):rep(260))
      assert.equal("following · 12,345 lines · 3.1 MiB/4 MiB", v:status())
      v:set_filter("^1")
      assert.equal("following · 12,345 lines · 3.1 MiB/4 MiB · filter: ^1 (3,457)", v:status())
      v:set_filter("^1", true)
      v:search("77")
      assert.equal("paused · 12,345 lines · 3.1 MiB/4 MiB · filter: !^1 (8,888) · /77", v:status())
      local small = L.new{ max_bytes = 1000 }
      small:append("x\n")
      assert.equal("following · 1 line · 2 B/1000 B", small:status())
    end)
  end)

  describe("filter", function()
    it("applies to everything kept, not only the screen; inverse shows the others", function()
      local v = L.new{}
      numbered(v, 1, 1000)
      v:set_filter("7$")
      assert.same({ "line 7", "line 17", "line 27" }, { v:view(20, 100)[1][1], v:view(20, 100)[2][1], v:view(20, 100)[3][1] })
      assert.equal(100, select(2, v:count()))
      assert.same({ "line 977", "line 987", "line 997" }, shown(v, 20, 3))   -- following: the newest
      numbered(v, 1001, 1020)   -- lines arriving are filtered as they come
      assert.same({ "line 997", "line 1007", "line 1017" }, shown(v, 20, 3))
      v:set_filter("7$", true)
      assert.equal(1020 - 102, select(2, v:count()))
      assert.same({ "line 1018", "line 1019", "line 1020" }, shown(v, 20, 3))
      v:set_filter(nil)
      assert.equal(1020, select(2, v:count()))
    end)

    it("keeps its index as old lines go, and marks pass it", function()
      local v = L.new{ max_bytes = 50 * 10 }   -- "line NNNN\n": 10 bytes
      numbered(v, 1000, 1049)
      v:set_filter("5$")
      assert.equal(5, select(2, v:count()))
      v:mark("t")
      numbered(v, 1050, 1099)
      local kept, shown_n = v:count()
      local expect = 0
      for k = 1, kept do
        local l = v:line(k)
        if l.mark or l.text:find("5$") then expect = expect + 1 end
      end
      assert.equal(expect, shown_n)
      assert.equal("line 1095", shown(v, 20, 1)[1])
      v:set_filter("x-none")
      assert.same({ "" }, shown(v, 20, 1))
    end)

    it("a bad pattern is an error and leaves the filter as it was", function()
      local v = L.new{}
      numbered(v, 1, 30)
      assert.truthy(v:set_filter("^line 2"))
      local ok, err = v:set_filter("[")
      assert.falsy(ok)
      assert.truthy(err)
      assert.equal("^line 2", (v:filter()))
      assert.equal(11, select(2, v:count()))
    end)

    it("keeps the screen on the line it showed when the filter changes", function()
      local v = L.new{}
      numbered(v, 1, 100)
      v:view(20, 5)
      v:key("g")
      for _ = 1, 40 do v:key("j") end
      assert.equal("line 41", shown(v, 20, 5)[1])
      v:set_filter("5$")
      assert.equal("line 45", shown(v, 20, 5)[1])
      v:set_filter(nil)
      assert.equal("line 45", shown(v, 20, 5)[1])
    end)
  end)

  describe("search", function()
    local function sample()
      local v = L.new{}
      numbered(v, 1, 200)
      v:append("boom one\n")
      numbered(v, 201, 300)
      v:append("boom two\n")
      numbered(v, 301, 310)
      v:view(30, 5)
      return v
    end

    it("following, / goes to the newest match; n/N wrap and say so", function()
      local v = sample()
      assert.truthy(v:key("/"))
      local wi = v.wants_input
      v.wants_input = nil
      assert.equal("/", wi.prompt)
      assert.truthy(wi.on_submit("boom"))
      assert.falsy(v.following)
      local lines = v:view(30, 5)
      assert.equal("boom two", row(lines[1], 30):gsub("%s+$", ""))
      assert.equal("search", style_of(lines[1], "boom"))
      assert.falsy(style_of(lines[1], " two"))
      v:key("n")
      assert.equal("boom one", shown(v, 30, 5)[1])
      assert.equal("search hit BOTTOM, continuing at TOP", v.message)
      v:key("n")
      assert.equal("boom two", shown(v, 30, 5)[1])
      assert.falsy(v.message)
      v:key("N")
      assert.equal("boom one", shown(v, 30, 5)[1])
      v:key("N")
      assert.equal("boom two", shown(v, 30, 5)[1])
      assert.equal("search hit TOP, continuing at BOTTOM", v.message)
      assert.matches("· /boom$", v:status())
    end)

    it("not following, searches from the top of the screen; within the filter; errors said", function()
      local v = sample()
      v:key("g")
      v:search("boom")
      assert.equal("boom one", shown(v, 30, 5)[1])
      v:set_filter("two")
      v:key("n")
      assert.equal("boom two", shown(v, 30, 5)[1])
      v:set_filter(nil)
      v:search("no-such-text")
      assert.equal("Pattern not found: no-such-text", v.message)
      local ok, err = v:search("[")
      assert.falsy(ok)
      assert.truthy(err)
      assert.truthy(v:search(""))
      assert.falsy(v:key("n"))
    end)
  end)
end)
