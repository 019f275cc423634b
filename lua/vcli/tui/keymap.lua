-- vcli.tui.keymap — keymaps are data: the actions a view offers (name, key,
-- help, group, mutates) and the user's ui.keybindings (key -> action name,
-- k9s style) make one map, from which the keys, `?` and the hint line are all
-- read, so help never disagrees with the keys. Pure Lua (vcli.text only): the
-- same in the host and in a plugin's state.
--
--   K.new(actions, overrides) -> k
--     actions = {{name = "describe", key = "d" | {"j", "Down"}, help = "Describe",
--                 group = "Resource", mutates = bool, hint = "short label"|nil}…}
--       in order; a key two actions claim goes to the first (the interface's
--       own keys come first, so a view cannot take `:` or `?`); a later
--       action of the same name replaces the earlier one
--     overrides = {[key spelling] = action name}: an action named there has
--       exactly the keys given there (its defaults go; the key is taken from
--       whichever action had it); the action name "" or "none" unbinds the key
--   k.errors      {"ui.keybindings: unknown action 'delet' (did you mean delete?)", …}
--   k.by_name     name -> {name, keys, help, group, mutates, hint}
--   k:action(key) -> name | nil          k:keys(name) -> {key…} (decoder names)
--   k:help_sections(filter_fn) -> {{title = group, items = {{key = "C-d",
--        keys = {"C-d"}, action = "delete", help = "Delete", mutates = true}…}}…}
--        (vcli.tui.menu.help's input; filter_fn(action) false hides one: read-only;
--        key: the keys joined by "/", in the decoder's names of docs/tui.md,
--        which ui.keybindings takes as they are)
--   k:hint(names [, width]) -> "<d> Describe  <l> Logs  <?> Help" (what does not
--        fit the width is left out)
--   K.normalize(spelling) -> decoder name | nil, err
--        "ctrl-d", "Ctrl-D", "C-d", "ctrl+d" -> "C-d"; "shift-n" -> "N";
--        "shift-left" -> "S-Left"; "alt-x" -> "M-x"; "space" -> "Space";
--        "esc" -> "Esc"; "enter" -> "Enter"; "f2" -> "F2"; "<ctrl-d>" too
--   K.display(name) -> a key in words, the k9s way: "C-d" -> "ctrl-d",
--        "S-Left" -> "shift-left", "M-x" -> "alt-x", "Enter" -> "enter", "d" -> "d"
--        (K.normalize(K.display(k)) == k); for a message that names a key
local text = require("vcli.text")
local P = require("vcli.tui.prims")

local K = {}
local Km = {}
Km.__index = Km

-- ------------------------------------------------------------ spellings
-- named keys: lower-case spelling (without - and _) -> decoder name
local NAMED = {
  enter = "Enter", ["return"] = "Enter", ret = "Enter", cr = "Enter",
  esc = "Esc", escape = "Esc", tab = "Tab", backspace = "Backspace", bs = "Backspace", bksp = "Backspace",
  space = "Space", spc = "Space", up = "Up", down = "Down", left = "Left", right = "Right",
  home = "Home", ["end"] = "End", pageup = "PageUp", pgup = "PageUp", pagedown = "PageDown",
  pgdn = "PageDown", pgdown = "PageDown", delete = "Delete", del = "Delete", insert = "Insert", ins = "Insert",
}
for n = 1, 12 do NAMED["f" .. n] = "F" .. n end

local MODS = { ctrl = "C", control = "C", c = "C", alt = "M", meta = "M", m = "M", opt = "M", option = "M",
               shift = "S", s = "S" }

-- the decoder's names for ctrl and a character that is no letter
local CTRL_CHAR = { ["\\"] = "C-\\", ["]"] = "C-]", ["^"] = "C-^", ["_"] = "C-_", ["@"] = "C-Space" }

-- ctrl and these letters reach a program as other keys
local SENT_AS = { h = "backspace", i = "tab", j = "enter", m = "enter" }

local function one_char(s)
  if #s == 1 then return true end
  local b = s:byte(1)
  local n = b >= 0xF0 and 4 or b >= 0xE0 and 3 or b >= 0xC0 and 2 or 1
  return #s == n and n > 1
end

function K.normalize(spelling)
  if type(spelling) ~= "string" then return nil, "a key is a string" end
  local s = spelling
  if #s > 2 and s:sub(1, 1) == "<" and s:sub(-1) == ">" then s = s:sub(2, -2) end
  if s == " " then return "Space" end
  s = s:gsub("^%s+", ""):gsub("%s+$", "")
  if s == "" then return nil, "an empty key" end
  if one_char(s) then return s end
  -- modifiers: ctrl-, alt-, shift- (or +), each once, in any order
  local mods = {}
  while true do
    local word, rest = s:match("^(%a+)[-+](.+)$")
    local m = word and MODS[word:lower()]
    if not m then break end
    if mods[m] then return nil, ("%s: %s twice"):format(spelling, word) end
    mods[m] = true
    s = rest
  end
  local base
  if one_char(s) then
    base = s
  else
    base = NAMED[s:lower():gsub("[-_]", "")]
    if not base then return nil, ("%s: no key named '%s'"):format(spelling, s) end
  end
  local C, Mo, S = mods.C, mods.M, mods.S
  if base == "Space" and not (C or Mo or S) then return "Space" end
  if one_char(base) then
    -- a character: shift makes a letter a capital, ctrl goes by the letter
    local is_letter = base:match("^%a$") ~= nil
    if S then
      if not is_letter then
        return nil, ("%s: shift with '%s' (write the character it types)"):format(spelling, base)
      end
      base = base:upper()
    end
    local name = base
    if C then
      local lo = base:lower()
      if SENT_AS[lo] and is_letter then
        return nil, ("%s: terminals send it as %s"):format(spelling, SENT_AS[lo])
      end
      if is_letter then name = "C-" .. lo
      elseif CTRL_CHAR[base] then name = CTRL_CHAR[base]
      else return nil, ("%s: no terminal sends ctrl with '%s'"):format(spelling, base) end
    end
    if Mo then name = "M-" .. name end
    return name
  end
  -- a named key: the decoder's modifier order
  if base == "Space" then
    if C and not Mo and not S then return "C-Space" end
    if Mo and not C and not S then return "M- " end
  end
  if base == "Tab" and S and not C and not Mo then return "S-Tab" end
  if (base == "Enter" or base == "Backspace" or base == "Tab" or base == "Esc") and Mo and not C and not S then
    return "M-" .. base
  end
  return (C and "C-" or "") .. (Mo and "M-" or "") .. (S and "S-" or "") .. base
end

local DISPLAY = { Enter = "enter", Esc = "esc", Tab = "tab", Backspace = "backspace", Space = "space",
  Up = "up", Down = "down", Left = "left", Right = "right", Home = "home", End = "end", PageUp = "pgup",
  PageDown = "pgdn", Delete = "delete", Insert = "insert" }
for n = 1, 12 do DISPLAY["F" .. n] = "f" .. n end
local MOD_WORD = { C = "ctrl", M = "alt", S = "shift" }

function K.display(name)
  if type(name) ~= "string" then return tostring(name) end
  if one_char(name) then return name end
  if name == "M- " then return "alt-space" end
  local mods, rest = {}, name
  while true do
    local m, r = rest:match("^([CMS])%-(.+)$")
    if not m then break end
    mods[m] = true
    rest = r
  end
  local base = one_char(rest) and rest or DISPLAY[rest] or rest:lower()
  local out = {}
  for _, m in ipairs({ "C", "M", "S" }) do if mods[m] then out[#out + 1] = MOD_WORD[m] end end
  out[#out + 1] = base
  return table.concat(out, "-")
end

-- ------------------------------------------------------------- the map
local function key_list(k)
  if k == nil then return {} end
  if type(k) == "table" then return k end
  return { k }
end

function K.new(actions, overrides)
  local k = setmetatable({ list = {}, by_name = {}, by_key = {}, errors = {} }, Km)
  for _, a in ipairs(actions or {}) do
    if type(a) == "table" and type(a.name) == "string" then
      local e = { name = a.name, help = a.help, group = a.group, mutates = a.mutates and true or false,
                  hint = a.hint, defaults = {}, keys = {} }
      for _, key in ipairs(key_list(a.key or a.keys)) do
        local n = K.normalize(key)
        if n then e.defaults[#e.defaults + 1] = n
        else k.errors[#k.errors + 1] = ("keymap: action '%s': bad key '%s'"):format(a.name, tostring(key)) end
      end
      local old = k.by_name[a.name]
      if old then
        for i, x in ipairs(k.list) do if x == old then k.list[i] = e end end
      else
        k.list[#k.list + 1] = e
      end
      k.by_name[a.name] = e
    end
  end
  -- the user's keys: key -> action (validated), in a stable order
  local bound, freed = {}, {}
  local names = {}
  for _, e in ipairs(k.list) do names[#names + 1] = e.name end
  local okeys = {}
  if type(overrides) == "table" then
    for key in pairs(overrides) do okeys[#okeys + 1] = key end
    table.sort(okeys, function(a, b) return tostring(a) < tostring(b) end)
  end
  local user = {}   -- action -> its keys from ui.keybindings
  for _, spelling in ipairs(okeys) do
    local name = overrides[spelling]
    local key, err = K.normalize(tostring(spelling))
    if not key then
      k.errors[#k.errors + 1] = ("ui.keybindings: %s"):format(err)
    elseif type(name) ~= "string" then
      k.errors[#k.errors + 1] = ("ui.keybindings: %s: an action name expected"):format(tostring(spelling))
    elseif (name == "" or name == "none") and not k.by_name[name] then
      freed[key] = true
    elseif not k.by_name[name] then
      local near = text.nearest(name, names)
      k.errors[#k.errors + 1] = ("ui.keybindings: unknown action '%s'%s"):format(name,
        near and (" (did you mean %s?)"):format(near) or "")
    else
      local prev = bound[key]
      if prev and prev ~= name then
        k.errors[#k.errors + 1] = ("ui.keybindings: %s is bound twice (to %s and %s; %s wins)"):format(
          K.display(key), prev, name, name)
        for i, x in ipairs(user[prev]) do if x == key then table.remove(user[prev], i) break end end
      end
      if prev ~= name then
        bound[key] = name
        user[name] = user[name] or {}
        table.insert(user[name], key)
      end
    end
  end
  -- the map: the user's keys first, then each action's defaults (unless the
  -- user named the action, or took or freed the key), the first claim winning
  for key, name in pairs(bound) do k.by_key[key] = name end
  for _, e in ipairs(k.list) do
    if user[e.name] then
      e.keys = user[e.name]
    else
      for _, key in ipairs(e.defaults) do
        if not k.by_key[key] and not freed[key] then
          k.by_key[key] = e.name
          e.keys[#e.keys + 1] = key
        end
      end
    end
  end
  return k
end

function Km:action(key) return self.by_key[key] end

function Km:keys(name)
  local e = self.by_name[name]
  if not e then return {} end
  local out = {}
  for i, key in ipairs(e.keys) do out[i] = key end
  return out
end

local function key_text(e) return table.concat(e.keys, "/") end

function Km:help_sections(filter_fn)
  local sections, by_group = {}, {}
  for _, e in ipairs(self.list) do
    if #e.keys > 0 and (not filter_fn or filter_fn(e)) then
      local g = e.group or "General"
      local s = by_group[g]
      if not s then
        s = { title = g, items = {} }
        by_group[g] = s
        sections[#sections + 1] = s
      end
      s.items[#s.items + 1] = { key = key_text(e), keys = self:keys(e.name), action = e.name,
                                help = e.help or e.name, mutates = e.mutates }
    end
  end
  return sections
end

-- the short label of an action: its hint, or its help without a trailing (…)
local function short(e)
  if e.hint then return e.hint end
  local h = tostring(e.help or e.name)
  local s = h:gsub("%s*%b()%s*$", "")
  if s == "" then s = h end
  return s
end

function Km:hint(names, width)
  local parts, used = {}, 0
  for _, name in ipairs(names or {}) do
    local e = self.by_name[name]
    if e and e.keys[1] then
      local p = ("<%s> %s"):format(e.keys[1], short(e))
      local add = (#parts > 0 and 2 or 0) + P.width(p)
      if width and used + add > width then break end
      parts[#parts + 1] = p
      used = used + add
    end
  end
  return table.concat(parts, "  ")
end

return K
