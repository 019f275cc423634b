-- vcli.state — tables that survive a hot reload of the module that owns them.
-- A module keeps its registries in `local S = require("vcli.state")("name")`
-- instead of a fresh local table, so reloading its code keeps its data.
local tables = {}
return function(name)
  local t = tables[name]
  if not t then
    t = {}
    tables[name] = t
  end
  return t
end
