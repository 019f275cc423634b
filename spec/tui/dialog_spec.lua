-- vcli.tui.dialog: the modal boxes as a person sees them and answers them.
local D = require("vcli.tui.dialog")
local L = dofile("spec/support/tui_lines.lua")

local function keys(d, ...)
  for _, k in ipairs({ ... }) do d:key(k) end
  return d
end
-- the box's lines as text
local function box_text(d, w, h)
  return L.texts(d:view(w or 80, h or 24).lines)
end
local function has_line(lines, pattern)
  for _, l in ipairs(lines) do if l:find(pattern) then return l end end
  return nil
end

local function delete_form()
  return D.form({ title = "Delete", message = "Delete pods web-1, web-2?", fields = {
    { name = "propagation", label = "Propagation", kind = "choice", value = "Background",
      choices = { "Background", "Foreground", "Orphan" } },
    { name = "grace", label = "Grace period (s, -1 default)", kind = "number", value = -1, min = -1, max = 86400 },
    { name = "force", label = "Force", kind = "bool", value = false },
  }, buttons = { "Delete", "Cancel" } })
end

describe("vcli.tui.dialog", function()
  describe("confirm", function()
    it("draws a bordered box centred in the area, with the title, the message and the buttons", function()
      local d = D.confirm({ title = "Restart", message = "Rollout restart deployments web?", yes = "Restart" })
      local box = d:view(80, 24)
      assert.same({
        "┌─ Restart ────────────────────────┐",
        "│ Rollout restart deployments web? │",
        "│                                  │",
        "│     [ Restart ]  [ Cancel ]      │",
        "└──────────────────────────────────┘",
      }, L.texts(box.lines))
      assert.equal(36, box.w)
      assert.equal(5, box.h)
      assert.equal(22, box.x)
      assert.equal(9, box.y)
      for _, l in ipairs(box.lines) do assert.equal(box.w, L.width(l)) end
      assert.equal("border", L.style_at(box.lines[1], 0))
      assert.equal("title", L.style_of(box.lines[1], "Restart"))
      assert.equal("selected", L.style_of(box.lines[4], "[ Restart ]"))
      local screen = L.screen(box, 80, 24)
      assert.equal(24, #screen)
      assert.equal("", screen[9])
      assert.equal(string.rep(" ", 22) .. "┌─ Restart ────────────────────────┐", screen[10])
    end)

    it("Enter answers the focused button; Tab and Left/Right move between them", function()
      local d = D.confirm({ title = "Restart", message = "Restart?", yes = "Restart" })
      keys(d, "Enter")
      assert.same({ ok = true, button = "Restart", index = 1, values = {} }, d.result)
      d = D.confirm({ title = "Restart", message = "Restart?", yes = "Restart" })
      keys(d, "Tab")
      assert.equal("selected", L.style_of(d:view(80, 24).lines[4], "[ Cancel ]"))
      keys(d, "Enter")
      assert.same({ ok = false, button = "Cancel" }, d.result)
      d = D.confirm({ message = "Go?" })
      keys(d, "Right", "Left", "Enter")
      assert.truthy(d.result.ok)
    end)

    it("y and n answer at once, Esc says no; default = \"no\" focuses the no button", function()
      local d = keys(D.confirm({ message = "Go?" }), "y")
      assert.truthy(d.result.ok)
      d = keys(D.confirm({ message = "Go?" }), "n")
      assert.falsy(d.result.ok)
      d = keys(D.confirm({ message = "Go?" }), "Esc")
      assert.same({ ok = false }, d.result)
      d = keys(D.confirm({ message = "Go?", default = "no" }), "Enter")
      assert.falsy(d.result.ok)
      assert.truthy(d:key("x"))   -- done: every key is still the dialog's
    end)

    it("wraps a long message at 40 columns and stays inside them", function()
      local msg = "Delete deployments payments-gateway, payments-worker, ledger-api and 4 more in namespace prod?"
      local d = D.confirm({ title = "Delete", message = msg, yes = "Delete" })
      local box = d:view(40, 24)
      assert.truthy(box.w <= 40)
      assert.equal(0, box.x)
      local lines = L.texts(box.lines)
      local words = {}
      for i = 2, #lines - 3 do
        assert.truthy(L.width(box.lines[i]) <= 40)
        for w in lines[i]:gsub("^│", ""):gsub("│$", ""):gmatch("%S+") do words[#words + 1] = w end
      end
      assert.equal(msg, table.concat(words, " "))
      assert.truthy(has_line(lines, "%[ Delete %]  %[ Cancel %]"))
    end)

    it("cuts a message too long for the height with …, keeping the buttons", function()
      local msg = {}
      for i = 1, 30 do msg[i] = "line" .. i end
      local d = D.confirm({ title = "Many", message = table.concat(msg, "\n") })
      local box = d:view(80, 10)
      assert.equal(10, box.h)
      local lines = L.texts(box.lines)
      assert.truthy(has_line(lines, "…"))
      assert.truthy(has_line(lines, "%[ OK %]"))
      assert.equal(0, box.y)
    end)
  end)

  describe("number", function()
    local function scale()
      return D.number({ title = "Scale", message = "Replicas of deployments/web", value = 3, min = 0, max = 10 })
    end

    it("shows the value in a field with the range, Up/Down change it within min and max", function()
      local d = scale()
      local lines = box_text(d)
      assert.truthy(has_line(lines, "│ %[3 +%] │"), table.concat(lines, "\n"))
      assert.truthy(has_line(lines, "0–10 · ↑/↓ change"))
      keys(d, "Up", "Up")
      assert.truthy(has_line(box_text(d), "%[5 "))
      for _ = 1, 20 do d:key("Up") end
      assert.truthy(has_line(box_text(d), "%[10 "))
      for _ = 1, 20 do d:key("Down") end
      assert.truthy(has_line(box_text(d), "%[0 "))
      keys(d, "Enter")
      assert.same({ ok = true, button = "OK", index = 1, value = 0, values = { value = 0 } }, d.result)
    end)

    it("takes digits (and a leading minus), refuses letters", function()
      local d = scale()
      keys(d, "Backspace", "7", "x", "-", "Enter")
      assert.equal(7, d.result.value)
    end)

    it("says when the value is out of range, inside the box, and stays open", function()
      local d = scale()
      keys(d, "Backspace", "4", "2", "Enter")
      assert.equal(nil, d.result)
      assert.truthy(d.error:find("out of range", 1, true))
      local box = d:view(80, 24)
      local l = has_line(L.texts(box.lines), "out of range")
      assert.truthy(l)
      for _, line in ipairs(box.lines) do
        if L.text(line):find("out of range", 1, true) then assert.equal("error", L.style_of(line, "out of range")) end
      end
      keys(d, "Backspace", "Enter")
      assert.equal(4, d.result.value)
    end)

    it("puts the terminal cursor after the digits and draws its own cursor cell", function()
      local d = scale()
      local box = d:view(80, 24)
      local cx, cy = box.cursor[1], box.cursor[2]
      local row = box.lines[cy - box.y + 1]
      local screen = L.screen(box, 80, 24)
      assert.equal("[3 ", L.cols(screen[cy + 1], cx - 2, cx))
      assert.equal("selected", L.style_at(row, cx - box.x))
    end)

    it("an empty field is no number", function()
      local d = scale()
      keys(d, "Backspace", "Enter")
      assert.equal(nil, d.result)
      assert.truthy(d.error:find("a number expected", 1, true))
    end)

    it("Esc and Cancel leave without a value", function()
      local d = keys(scale(), "Esc")
      assert.same({ ok = false }, d.result)
      d = keys(scale(), "Tab", "Tab", "Enter")
      assert.same({ ok = false, button = "Cancel" }, d.result)
    end)
  end)

  describe("form", function()
    it("draws the fields beside their labels at 80 columns", function()
      local lines = box_text(delete_form(), 80, 24)
      assert.truthy(has_line(lines, "│ Propagation  +‹ Background › +│"), table.concat(lines, "\n"))
      assert.truthy(has_line(lines, "│ Grace period %(s, %-1 default%)  %[%-1 +%] │"))
      assert.truthy(has_line(lines, "│ Force  +%[ %] +│"))
      assert.truthy(has_line(lines, "%[ Delete %]  %[ Cancel %]"))
    end)

    it("puts long labels above their fields at 40 columns", function()
      local box = delete_form():view(40, 24)
      assert.truthy(box.w <= 40)
      local lines = L.texts(box.lines)
      assert.truthy(has_line(lines, "^│ Grace period %(s, %-1 default%) +│$"), table.concat(lines, "\n"))
      assert.truthy(has_line(lines, "^│   %[%-1 +%] │$"))
      assert.truthy(has_line(lines, "^│   ‹ Background › +│$"))
      for _, l in ipairs(box.lines) do assert.equal(box.w, L.width(l)) end
    end)

    it("Tab and S-Tab move between the fields and the buttons; Space and Left/Right change them", function()
      local d = delete_form()
      keys(d, "Space")                       -- propagation: Foreground
      keys(d, "Right")                       -- Orphan
      keys(d, "Right", "Left")               -- Background, Orphan
      keys(d, "Tab", "Backspace", "Backspace", "3", "0")
      keys(d, "Tab", "Space")                -- force
      keys(d, "S-Tab", "Tab", "Tab")         -- on the Delete button
      assert.equal("selected", L.style_of(d:view(80, 24).lines[#d:view(80, 24).lines - 1], "[ Delete ]"))
      keys(d, "Enter")
      assert.same({ ok = true, button = "Delete", index = 1,
                    values = { propagation = "Orphan", grace = 30, force = true } }, d.result)
    end)

    it("Down and Up move between fields too; Enter on a field is the first button", function()
      local d = delete_form()
      keys(d, "Down", "Down", "x", "Up", "Up", "F")
      keys(d, "Enter")
      assert.same({ propagation = "Foreground", grace = -1, force = true }, d.result.values)
    end)

    it("shows which field is focused", function()
      local d = delete_form()
      local box = d:view(80, 24)
      local row
      for _, l in ipairs(box.lines) do if L.text(l):find("Propagation", 1, true) then row = l end end
      assert.equal("selected", L.style_of(row, "Propagation"))
      assert.equal("selected", L.style_of(row, "Background"))
      keys(d, "Tab")
      box = d:view(80, 24)
      for _, l in ipairs(box.lines) do if L.text(l):find("Propagation", 1, true) then row = l end end
      assert.falsy(L.style_of(row, "Propagation"))
      assert.truthy(box.cursor)
    end)

    it("keeps the form open on an invalid value and focuses that field", function()
      local d = delete_form()
      keys(d, "Tab", "C-u", "-", "5", "Tab", "Tab", "Enter")
      assert.equal(nil, d.result)
      assert.truthy(d.error:find("Grace period", 1, true))
      assert.truthy(d.error:find("between -1 and 86400", 1, true))
      assert.truthy(has_line(box_text(d), "out of range"))
      keys(d, "Backspace", "Backspace", "9", "Enter")
      assert.equal(9, d.result.values.grace)
    end)

    it("text fields take a paste and may be required", function()
      local d = D.form({ title = "Port forward", fields = {
        { name = "address", label = "Address", kind = "text", value = "" , required = true },
        { name = "ports", label = "Ports", kind = "text", value = "8080:80" },
      } })
      keys(d, "Enter")
      assert.equal(nil, d.result)
      assert.truthy(d.error:find("Address: a value is required", 1, true))
      d:insert("127.0.0.1\n")
      keys(d, "Tab", "End", "Space")
      d:insert("9090:90")
      keys(d, "Enter")
      assert.same({ address = "127.0.0.1 ", ports = "8080:80 9090:90" }, d.result.values)
    end)

    it("a field's validate function may refuse a value", function()
      local d = D.form({ fields = { { name = "n", label = "Name", kind = "text", value = "Bad",
        validate = function(v) if v:find("%u") then return "lower case only" end end } } })
      keys(d, "Enter")
      assert.equal("lower case only", d.error)
      keys(d, "C-u", "o", "k", "Enter")
      assert.same({ n = "ok" }, d.result.values)
    end)

    it("a form without fields is a question with its buttons", function()
      local d = D.form({ title = "Kill", message = "Kill pods web-1?", fields = {}, buttons = { "Kill", "Cancel" } })
      local lines = box_text(d)
      assert.truthy(has_line(lines, "Kill pods web%-1%?"))
      keys(d, "Enter")
      assert.same({ ok = true, button = "Kill", index = 1, values = {} }, d.result)
    end)

    it("D.new picks the kind", function()
      assert.equal("number", D.new({ kind = "number" }).kind)
      local d, err = D.new({ kind = "nope" })
      assert.equal(nil, d)
      assert.matches("no dialog kind 'nope'", err)
    end)
  end)

  describe("any keys", function()
    it("keep every box inside the area, its lines exactly its width", function()
      local KEYS = { "a", "Space", "Backspace", "Left", "Right", "Up", "Down", "Tab", "S-Tab", "5", "-", "x", "h", "l",
                     "PageUp", "PageDown", "C-u", "Enter" }
      local seed = 11
      local function rand(n) seed = (seed * 1103515245 + 12345) % 2147483648 return seed % n + 1 end
      local makers = {
        function() return D.confirm({ title = "T", message = ("word "):rep(rand(60)) }) end,
        function() return D.number({ title = "Scale", message = "m", value = 3, min = 0, max = 100 }) end,
        delete_form,
      }
      for _ = 1, 100 do
        local d = makers[rand(#makers)]()
        local w, h = 7 + rand(90), 2 + rand(30)
        for _ = 1, 25 do
          d:key(KEYS[rand(#KEYS)])
          local box = d:view(w, h)
          assert.truthy(box.w <= w and box.h <= h and box.h == #box.lines, ("%dx%d in %dx%d"):format(box.w, box.h, w, h))
          for _, l in ipairs(box.lines) do assert.equal(box.w, L.width(l)) end
          if d.result then break end
        end
      end
    end)
  end)

  describe("helpers", function()
    it("wraps words, breaks a word longer than the width, keeps empty lines", function()
      assert.same({ "one two", "three" }, D.wrap("one two three", 8))
      assert.same({ "abcde", "fghij", "k" }, D.wrap("abcdefghijk", 5))
      assert.same({ "a", "", "b" }, D.wrap("a\n\nb", 10))
      assert.same({ "日本", "語" }, D.wrap("日本語", 5))
    end)
  end)
end)
