-- vcli.tui.keymap: keymaps as data, the user's ui.keybindings on top.
local K = require("vcli.tui.keymap")
local M = require("vcli.tui.menu")
local L = dofile("spec/support/tui_lines.lua")

local ACTIONS = {
  { name = "command", key = ":", help = "Command (:pods, :ns, :ctx, :q)", group = "General" },
  { name = "help", key = "?", help = "Help", group = "General" },
  { name = "back", key = "Esc", help = "Back / clear filter", group = "General" },
  { name = "describe", key = "d", help = "Describe", group = "Resource" },
  { name = "delete", key = "C-d", help = "Delete", group = "Resource", mutates = true },
  { name = "logs", key = "l", help = "Logs", group = "Pod" },
  { name = "shell", key = "s", help = "Shell", group = "Pod", mutates = true },
  { name = "sort_name", key = "N", help = "Sort by name", group = "Sort" },
  { name = "sort_next", key = { "O", "S-Right" }, help = "Sort by the next column", group = "Sort" },
}

describe("vcli.tui.keymap", function()
  describe("key spellings", function()
    local cases = {
      { "ctrl-d", "C-d" }, { "Ctrl-D", "C-d" }, { "C-d", "C-d" }, { "control+d", "C-d" }, { "<ctrl-d>", "C-d" },
      { "shift-n", "N" }, { "Shift-N", "N" }, { "S-n", "N" }, { "N", "N" }, { "n", "n" },
      { "shift-left", "S-Left" }, { "S-Left", "S-Left" }, { "shift-tab", "S-Tab" },
      { "alt-x", "M-x" }, { "Alt-X", "M-X" }, { "meta-x", "M-x" }, { "M-x", "M-x" }, { "alt-shift-x", "M-X" },
      { "ctrl-alt-a", "M-C-a" }, { "alt-enter", "M-Enter" }, { "alt-backspace", "M-Backspace" },
      { "ctrl-left", "C-Left" }, { "ctrl-shift-right", "C-S-Right" }, { "ctrl-alt-up", "C-M-Up" },
      { "space", "Space" }, { "Space", "Space" }, { " ", "Space" }, { "ctrl-space", "C-Space" },
      { "esc", "Esc" }, { "Escape", "Esc" }, { "enter", "Enter" }, { "return", "Enter" },
      { "tab", "Tab" }, { "backspace", "Backspace" }, { "f2", "F2" }, { "F12", "F12" },
      { "pgup", "PageUp" }, { "page-down", "PageDown" }, { "PageUp", "PageUp" }, { "del", "Delete" },
      { "home", "Home" }, { "end", "End" }, { "up", "Up" },
      { "?", "?" }, { "/", "/" }, { "-", "-" }, { "+", "+" }, { "é", "é" }, { "ctrl-\\", "C-\\" },
    }
    for _, c in ipairs(cases) do
      it(("reads %q as %s"):format(c[1], c[2]), function()
        assert.equal(c[2], (K.normalize(c[1])))
      end)
    end

    it("says what is wrong with a key no terminal sends", function()
      local bad = { "ctrl-", "hyper-x", "shift-1", "ctrl-1", "ctrl-shift-", "ctrl-ctrl-d", "f13", "", "ctrl-h", "ctrl-i" }
      for _, b in ipairs(bad) do
        local k, err = K.normalize(b)
        assert.equal(nil, k, b)
        assert.truthy(type(err) == "string" and err ~= "", b)
      end
      assert.matches("terminals send it as backspace", select(2, K.normalize("ctrl-h")))
    end)

    it("spells keys for help the way ui.keybindings is written, and back", function()
      assert.equal("ctrl-d", K.display("C-d"))
      assert.equal("shift-left", K.display("S-Left"))
      assert.equal("alt-x", K.display("M-x"))
      assert.equal("ctrl-alt-a", K.display("M-C-a"))
      assert.equal("enter", K.display("Enter"))
      assert.equal("space", K.display("Space"))
      assert.equal("pgdn", K.display("PageDown"))
      assert.equal("f2", K.display("F2"))
      assert.equal("N", K.display("N"))
      for _, k in ipairs({ "C-d", "S-Left", "M-x", "M-X", "M-C-a", "C-M-Up", "C-S-Right", "Enter", "Esc", "Space",
                           "C-Space", "S-Tab", "PageUp", "PageDown", "F2", "N", "?", "C-\\", "M-Enter", "Delete" }) do
        assert.equal(k, (K.normalize(K.display(k))), k)
      end
    end)
  end)

  describe("the map", function()
    it("maps each action's keys (a key may be a list) and lists them back", function()
      local km = K.new(ACTIONS, {})
      assert.same({}, km.errors)
      assert.equal("describe", km:action("d"))
      assert.equal("delete", km:action("C-d"))
      assert.equal("sort_next", km:action("O"))
      assert.equal("sort_next", km:action("S-Right"))
      assert.equal(nil, km:action("x"))
      assert.same({ "O", "S-Right" }, km:keys("sort_next"))
      assert.same({}, km:keys("nope"))
      assert.equal(true, km.by_name.delete.mutates)
      assert.equal(false, km.by_name.describe.mutates)
    end)

    it("gives a key two actions claim to the first; the second loses it (help does not show it)", function()
      local km = K.new({ { name = "back", key = "Esc", help = "Back" }, { name = "close", key = { "Esc", "q" } } }, {})
      assert.equal("back", km:action("Esc"))
      assert.same({ "q" }, km:keys("close"))
    end)

    it("takes ui.keybindings: key -> action, in any spelling, replacing the action's own keys", function()
      local km = K.new(ACTIONS, { ["ctrl-x"] = "delete", ["shift-s"] = "sort_name", ["Alt-N"] = "sort_name" })
      assert.same({}, km.errors)
      assert.equal("delete", km:action("C-x"))
      assert.equal(nil, km:action("C-d"))
      assert.same({ "C-x" }, km:keys("delete"))
      assert.same({ "M-N", "S" }, km:keys("sort_name"))
      assert.equal(nil, km:action("N"))
    end)

    it("a user's key takes it from the action that had it", function()
      local km = K.new(ACTIONS, { d = "delete" })
      assert.equal("delete", km:action("d"))
      assert.same({}, km:keys("describe"))
      local help = km:help_sections()
      for _, s in ipairs(help) do
        for _, it in ipairs(s.items) do assert.falsy(it.action == "describe") end
      end
    end)

    it("\"none\" unbinds a key", function()
      local km = K.new(ACTIONS, { s = "none" })
      assert.equal(nil, km:action("s"))
      assert.same({}, km:keys("shell"))
      assert.same({}, km.errors)
    end)

    it("reports unknown actions (with a suggestion) and bad keys", function()
      local km = K.new(ACTIONS, { ["ctrl-d"] = "delet", x = "frobnicate", ["hyper-q"] = "quit", y = "describe" })
      assert.same({
        "ui.keybindings: unknown action 'delet' (did you mean delete?)",
        "ui.keybindings: hyper-q: no key named 'hyper-q'",
        "ui.keybindings: unknown action 'frobnicate'",
      }, km.errors)
      assert.equal("delete", km:action("C-d"))   -- the default stays
      assert.equal("describe", km:action("y"))
    end)

    it("reports one key bound twice through two spellings", function()
      local km = K.new(ACTIONS, { ["ctrl-x"] = "delete", ["C-x"] = "describe" })
      assert.equal(1, #km.errors)
      assert.matches("ctrl%-x is bound twice", km.errors[1])
      local act = km:action("C-x")
      assert.truthy(act == "delete" or act == "describe")
      assert.same({ "C-x" }, km:keys(act))
    end)
  end)

  describe("help and hints", function()
    it("builds the help sections by group, in the order of the actions", function()
      local km = K.new(ACTIONS, {})
      local s = km:help_sections()
      local titles = {}
      for i, x in ipairs(s) do titles[i] = x.title end
      assert.same({ "General", "Resource", "Pod", "Sort" }, titles)
      assert.same({ key = "C-d", keys = { "C-d" }, action = "delete", help = "Delete", mutates = true }, s[2].items[2])
      assert.equal("O/S-Right", s[4].items[2].key)
    end)

    it("hides what the filter refuses (read-only: the mutating actions)", function()
      local km = K.new(ACTIONS, {})
      local s = km:help_sections(function(a) return not a.mutates end)
      local names = {}
      for _, sec in ipairs(s) do for _, it in ipairs(sec.items) do names[#names + 1] = it.action end end
      assert.same({ "command", "help", "back", "describe", "logs", "sort_name", "sort_next" }, names)
    end)

    it("shows an override under its key in the help screen", function()
      local km = K.new(ACTIONS, { ["ctrl-l"] = "logs" })
      local box = M.help({ title = "Help", sections = km:help_sections() }):view(80, 24)
      local found
      for _, l in ipairs(L.texts(box.lines)) do if l:find("C%-l +Logs") then found = true end end
      assert.truthy(found)
    end)

    it("makes a one-line hint with the first key of each action and its short help", function()
      local km = K.new(ACTIONS, { ["ctrl-l"] = "logs" })
      assert.equal("<d> Describe  <C-l> Logs  <?> Help", km:hint({ "describe", "logs", "help" }))
      assert.equal("<:> Command  <C-d> Delete", km:hint({ "command", "nope", "delete" }))
      assert.equal("<d> Describe", km:hint({ "describe", "logs", "help" }, 20))
      local short = K.new({ { name = "x", key = "x", help = "Long help text", hint = "X" } }, {})
      assert.equal("<x> X", short:hint({ "x" }))
    end)

    it("a later action of the same name replaces the earlier", function()
      local km = K.new({ { name = "logs", key = "l", help = "Logs" },
                         { name = "logs", key = { "Enter", "l" }, help = "Logs of the container" } }, {})
      assert.same({ "Enter", "l" }, km:keys("logs"))
      assert.equal(1, #km:help_sections()[1].items)
    end)
  end)
end)
