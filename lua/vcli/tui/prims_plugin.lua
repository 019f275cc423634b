-- vcli.tui.prims inside a plugin's state: the same functions as the host's
-- lua/vcli/tui/prims.lua, from the plugin's vcli table (C, no host access).
local v = vcli -- luacheck: ignore 113 (the plugin's global)
local compile = v.regex and v.regex.compile
return {
  width = v.width, split = v.split,
  regex = function(pattern) return compile(pattern, "s") end,
  order = v.sort and v.sort.order,
}
