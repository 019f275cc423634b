-- vcli.tui.menu: the help screen and the picker as a person sees and uses them.
local M = require("vcli.tui.menu")
local K = require("vcli.tui.keymap")
local L = dofile("spec/support/tui_lines.lua")

local function keys(m, ...)
  for _, k in ipairs({ ... }) do m:key(k) end
  return m
end
local function has_line(lines, pattern)
  for _, l in ipairs(lines) do if l:find(pattern) then return l end end
  return nil
end

local ACTIONS = {
  { name = "command", key = ":", help = "Command (:pods, :ns, :ctx, :q)", group = "General" },
  { name = "help", key = "?", help = "Help", group = "General" },
  { name = "describe", key = "d", help = "Describe", group = "Resource" },
  { name = "edit", key = "e", help = "Edit", group = "Resource", mutates = true },
  { name = "delete", key = "C-d", help = "Delete", group = "Resource", mutates = true },
  { name = "logs", key = "l", help = "Logs", group = "Pod" },
  { name = "shell", key = "s", help = "Shell", group = "Pod", mutates = true },
  { name = "sort_next", key = { "O", "S-Right" }, help = "Sort by the next column", group = "Sort" },
}

describe("vcli.tui.menu", function()
  describe("help", function()
    it("lays the sections out side by side, the keys from the keymap", function()
      local km = K.new(ACTIONS, {})
      local h = M.help({ title = "Help — pods", sections = km:help_sections() })
      local box = h:view(80, 24)
      local lines = L.texts(box.lines)
      assert.equal("┌─ Help — pods ─", lines[1]:sub(1, #"┌─ Help — pods ─"))
      assert.matches("│ General +Resource +Pod +│", lines[2])
      assert.matches("│ :  Command %(:pods, :ns, :ctx, :q%) +d +Describe +l +Logs +│", lines[3])
      assert.matches("C%-d +Delete", has_line(lines, "C%-d"))
      assert.truthy(has_line(lines, "O/S%-Right +Sort by the next column"))
      assert.truthy(box.w <= 80 and box.h <= 24)
      for _, l in ipairs(box.lines) do assert.equal(box.w, L.width(l)) end
      -- styles: section titles are headers, keys are keys
      assert.equal("header", L.style_of(box.lines[2], "General"))
      assert.equal("key", L.style_of(box.lines[3], ":"))
      local row
      for _, l in ipairs(box.lines) do if L.text(l):find("C-d", 1, true) then row = l end end
      assert.equal("key", L.style_of(row, "C-d"))
      assert.falsy(L.style_of(box.lines[3], "Describe"))
    end)

    it("shows an overridden action under its new key", function()
      local km = K.new(ACTIONS, { ["shift-d"] = "describe", ["alt-x"] = "delete" })
      local lines = L.texts(M.help({ sections = km:help_sections() }):view(80, 24).lines)
      assert.truthy(has_line(lines, "D +Describe"), table.concat(lines, "\n"))
      assert.truthy(has_line(lines, "M%-x +Delete"))
      assert.falsy(has_line(lines, "C%-d"))
    end)

    it("hides the mutating actions in read-only mode", function()
      local km = K.new(ACTIONS, {})
      local sections = km:help_sections(function(a) return not a.mutates end)
      local lines = L.texts(M.help({ sections = sections }):view(80, 24).lines)
      assert.truthy(has_line(lines, "Describe"))
      assert.truthy(has_line(lines, "Logs"))
      assert.falsy(has_line(lines, "Delete"))
      assert.falsy(has_line(lines, "Edit"))
      assert.falsy(has_line(lines, "Shell"))
    end)

    it("puts sections in bands one under another at 40 columns, every line inside", function()
      local km = K.new(ACTIONS, {})
      local box = M.help({ title = "Help", sections = km:help_sections() }):view(40, 24)
      assert.truthy(box.w <= 40)
      local lines = L.texts(box.lines)
      assert.truthy(has_line(lines, "^│ General +│$"), table.concat(lines, "\n"))
      assert.truthy(has_line(lines, "^│ Resource +Pod +│$"))
      for _, l in ipairs(box.lines) do assert.equal(box.w, L.width(l)) end
    end)

    it("scrolls when it does not fit (j/k, PageDown, G, g) and says where it is", function()
      local items = {}
      for i = 1, 40 do items[i] = { key = "k" .. i, help = "item " .. i } end
      local h = M.help({ title = "Help", sections = { { title = "Many", items = items } } })
      local box = h:view(80, 12)
      assert.equal(12, box.h)
      local lines = L.texts(box.lines)
      assert.matches("Many", lines[2])
      assert.matches("1–10 of 41", lines[12])
      keys(h, "j")
      lines = L.texts(h:view(80, 12).lines)
      assert.matches("k1 +item 1 ", lines[2])
      keys(h, "PageDown")
      lines = L.texts(h:view(80, 12).lines)
      assert.matches("k11 +item 11", lines[2])
      keys(h, "G")
      lines = L.texts(h:view(80, 12).lines)
      assert.matches("k40 +item 40", lines[11])
      assert.matches("32–41 of 41", lines[12])
      keys(h, "g", "k")
      lines = L.texts(h:view(80, 12).lines)
      assert.matches("Many", lines[2])
    end)

    it("Esc, q and ? close it", function()
      for _, k in ipairs({ "Esc", "q", "?" }) do
        local h = M.help({ sections = {} })
        assert.falsy(h.closed)
        assert.truthy(h:key(k))
        assert.truthy(h.closed)
      end
    end)
  end)

  describe("pick", function()
    local ITEMS = { "nginx", { text = "istio-proxy", desc = "sidecar" }, { text = "init-db", desc = "init" } }

    it("lists the items in a box, the cursor row selected and padded, descriptions dim", function()
      local m = M.pick({ title = "Container", items = ITEMS })
      local box = m:view(80, 24)
      local lines = L.texts(box.lines)
      assert.same({
        "┌─ Container ──────────────┐",
        "│ nginx                    │",
        "│ istio-proxy  sidecar     │",
        "│ init-db      init        │",
        "└──────────────────────────┘",
      }, lines)
      assert.equal("selected", L.style_at(box.lines[2], 20))
      assert.equal("dim", L.style_of(box.lines[3], "sidecar"))
      local s = L.screen(box, 80, 24)
      assert.equal(string.rep(" ", 26) .. "┌─ Container ──────────────┐", s[10])
    end)

    it("moves with j/k and Up/Down and picks with Enter", function()
      local m = M.pick({ title = "Container", items = ITEMS })
      keys(m, "j", "j", "j", "k")
      assert.equal("selected", L.style_of(m:view(80, 24).lines[3], "istio-proxy"))
      keys(m, "Down", "Up", "Enter")
      assert.same({ ok = true, index = 2, item = ITEMS[2], value = "istio-proxy" }, m.result)
    end)

    it("Esc cancels", function()
      local m = keys(M.pick({ items = ITEMS }), "Esc")
      assert.truthy(m.cancelled)
      assert.equal(nil, m.result)
    end)

    it("narrows the list as one types when filter = true; Esc clears the filter first", function()
      local m = M.pick({ title = "Port", items = { "8080/TCP http", "9090/TCP metrics", "53/UDP dns" }, filter = true })
      keys(m, "T", "C", "P")
      local lines = L.texts(m:view(80, 24).lines)
      assert.same({
        "┌─ Port ───────────────────┐",
        "│ / TCP                    │",
        "│ 8080/TCP http            │",
        "│ 9090/TCP metrics         │",
        "└──────────────────── 1/2 ─┘",
      }, lines)
      assert.equal("filter", L.style_of(m:view(80, 24).lines[2], "/ "))
      keys(m, "Backspace", "Backspace", "Backspace", "m", "e")
      lines = L.texts(m:view(80, 24).lines)
      assert.matches("/ me", lines[2])
      assert.matches("9090/TCP metrics", lines[3])
      assert.equal(4, #lines)
      keys(m, "Esc")
      assert.falsy(m.cancelled)
      assert.equal(6, #L.texts(m:view(80, 24).lines))
      keys(m, "Down", "j", "Enter")   -- j is typed into the filter: nothing matches "j"
      assert.equal(nil, m.result)
      keys(m, "Backspace", "Enter")   -- the cursor is back where it was
      assert.same({ ok = true, index = 3, item = "53/UDP dns", value = "53/UDP dns" }, m.result)
    end)

    it("says when nothing matches and puts the cursor in the filter", function()
      local m = M.pick({ title = "Port", items = { "a", "b" }, filter = true })
      m:insert("zz")
      local box = m:view(80, 24)
      assert.truthy(has_line(L.texts(box.lines), "no match"))
      assert.same({ box.x + 2 + 4, box.y + 1 }, box.cursor)
    end)

    it("scrolls a long list to keep the cursor in sight, at 40 columns", function()
      local items = {}
      for i = 1, 100 do items[i] = { text = ("port-forward-%03d"):format(i), desc = "localhost:" .. (8000 + i) } end
      local m = M.pick({ title = "Port forwards", items = items })
      keys(m, "G")
      local box = m:view(40, 12)
      assert.truthy(box.w <= 40 and box.h <= 12)
      local lines = L.texts(box.lines)
      assert.truthy(has_line(lines, "port%-forward%-100"))
      assert.matches("100/100", lines[#lines])
      for _, l in ipairs(box.lines) do assert.equal(box.w, L.width(l)) end
      keys(m, "g", "PageDown")
      lines = L.texts(m:view(40, 12).lines)
      assert.truthy(has_line(lines, "port%-forward%-011"))
    end)
  end)
end)
