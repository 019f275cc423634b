-- caps/service.lua — a granted name that is not a built-in capability is a
-- service: another plugin's `provides: [NAME]` and vcli.provide(NAME, {op = fn}).
--   plugin.yaml:  - kube        (the provider: provides: [kube])
--   plugin side:  vcli.kube.OP(...) -> the provider's first result (a call waits for it)
local R = require("vcli.plugin.runtime")

local M = { name = "service" }
-- Service names a manifest may grant without another plugin being known yet.
M.KNOWN = { kube = true, prom = true }
function M.is_known(name) return M.KNOWN[name] == true end

function M.provider(cap)
  for _, q in pairs(R.S.plugins) do
    if q.m then
      for _, s in ipairs(q.m.provides) do if s == cap then return q end end
    end
  end
end

-- The call (the door runs it as a task): start the provider if needed, then
-- call its function; only the first value comes back.
function M.call(_, cap, op, ...)
  local provider = M.provider(cap)
  if not provider then error(("no installed plugin provides '%s'"):format(cap), 0) end
  if provider.state ~= "running" then
    local ok, err = R.start(provider.name)
    if not ok then error(err, 0) end
  end
  return (R.invoke(provider, "service", cap, op, ...))
end

-- The plugin side of every granted service: vcli.NAME.OP(...).
function M.plugin(vcli, api, cap)
  vcli[cap] = setmetatable({}, { __index = function(_, op)
    return function(...) return api.await(cap, "call", op, ...) end
  end })
end

return M
