-- Three panels, written as any plugin author would (docs/tui.md).
local T = require("vcli.tui.table")

vcli.tui.panel({
  name = "fruit", title = "Fruit",
  open = function(args)
    local t = T.new({ columns = { { name = "NAME" }, { name = "COLOUR" }, { name = "COUNT", align = "right", sort = "number" } } })
    local rows = {}
    local data = { { "apple", "red", 3 }, { "banana", "yellow", 12 }, { "cherry", "red", 40 }, { "kiwi", "green", 7 } }
    for i = 1, (args.extra or 0) do data[#data + 1] = { ("fruit-%05d"):format(i), "grey", i } end
    for _, d in ipairs(data) do
      rows[#rows + 1] = { id = d[1], cells = { d[1], d[2], tostring(d[3]) }, keys = { [3] = d[3] }, name = d[1] }
    end
    t:set_rows(rows)
    t:sort(1, false)
    local p = { t = t, picked = nil }
    function p.view(self, w, h)
      return self.t:view(w, h), { title = "fruit" .. self.t:title_count(),
        status = self.picked and ("picked " .. self.picked) or "Enter picks one", hint = { "pick", "count" },
        nav = { { key = "Space", help = "Mark a fruit" } } }
    end
    function p.key(self, k)
      if type(k) == "table" and k.submit then self.picked = "a note: " .. k.submit return true end
      return self.t:key(k) or false
    end
    function p.filter(self, text) return self.t:set_filter(T.parse_filter(text or "")) end
    p.actions = {
      { name = "pick", key = "Enter", help = "Pick this fruit", group = "Fruit" },
      { name = "count", key = "n", help = "Ask for a number", group = "Fruit" },
      { name = "eat", key = "C-d", help = "Eat it (a change)", group = "Fruit", mutates = true },
      { name = "note", key = "N", help = "Write a note (a line of its own)", group = "Fruit" },
      { name = "again", key = "a", help = "Open the fruit again (a drill-down)", group = "Fruit" },
    }
    function p.action(self, name)
      local row = self.t:selected()
      if name == "pick" then self.picked = row and row.name return "picked " .. tostring(self.picked) end
      if name == "count" then
        local r = vcli.tui.dialog({ kind = "number", title = "How many?", message = "How many " .. row.name .. "?",
                                    value = 1, min = 0, max = 99 })
        self.picked = (r and r.ok) and (tostring(r.value or (r.values and r.values.value)) .. " " .. row.name) or "none"
        return self.picked
      end
      if name == "eat" then self.t:remove(row.id) return "ate " .. row.name end
      if name == "note" then return { input = { prompt = "note: ", text = "" } } end
      if name == "again" then vcli.tui.push("fruit", {}) return true end
    end
    function p.command(self, words)
      if words[1] == "colour" then
        self.t:set_filter(T.parse_filter(words[2] or ""))
        return true
      end
      if words[1] == "basket" then vcli.tui.push("fruit", {}) return true end
      return nil
    end
    return p
  end,
})

vcli.tui.panel({
  name = "boom", title = "Boom",
  open = function()
    return { view = function() error("the boom panel cannot draw") end }
  end,
})

vcli.tui.panel({
  name = "spin", title = "Spin",
  open = function()
    return { view = function() local n = 0 while true do n = n + 1 end end }
  end,
})

-- churn: a panel that holds N small tables and replaces some of them on
-- every frame, asking for the next frame at once (a list under a watch)
vcli.tui.panel({
  name = "churn", title = "Churn",
  open = function(args, id)
    local n = tonumber(args and args[1]) or 200000
    local live = {}
    for i = 1, n do live[i] = { i, "row " .. i } end
    local k, closed = 0, false
    local function poke()
      if closed then return end
      pcall(vcli.tui.dirty, id)
      vcli.timer(2, poke)
    end
    vcli.timer(0, poke)
    return {
      view = function(_, _, h)
        for _ = 1, 1000 do
          k = k % n + 1
          live[k] = { k, "row " .. k .. " again" }
        end
        local lines = {}
        for i = 1, h do lines[i] = { live[(k + i) % n + 1][2], false } end
        return lines
      end,
      close = function() closed = true end,
    }
  end,
})
