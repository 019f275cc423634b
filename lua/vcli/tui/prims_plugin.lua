-- vcli.tui.prims inside a plugin's state: the same functions as the host's
-- lua/vcli/tui/prims.lua, from the plugin's vcli table (C, no host access).
local v = vcli -- luacheck: ignore 113 (the plugin's global)
return { width = v.width, split = v.split, regex = v.regex, order = v.order }
