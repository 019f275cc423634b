-- caps/env.lua — env: the environment variables the manifest names, nothing else.
--   plugin.yaml:  - env: [VCLI_PROMETHEUS_URL, KUBECONFIG, HOME]
--   plugin side:  vcli.env.get(name) -> value | nil when unset
local C = { name = "env", summary = "read the environment variables the manifest lists",
            grant = "- env: [NAME, ...]", api = { "vcli.env.get" } }
C.shorthand = "names"
C.options = {
  names = { list = true, check = function(v)
    for i, n in ipairs(v) do
      if type(n) ~= "string" or not n:match("^[%a_][%w_]*$") then
        return ("'%s' is not an environment variable name"):format(tostring(n)), ("capabilities.env[%d]"):format(i)
      end
    end
  end },
}
C.ops = { get = "now" }
C.host = {}

function C.host.get(p, name)
  if type(name) ~= "string" then error("env.get: a variable name expected", 0) end
  for _, n in ipairs(p.m.capabilities.env.names or {}) do
    if n == name then return os.getenv(name) end
  end
  error(("plugin %s may not read the environment variable %s (capabilities: env: [%s])"):format(
    p.name, name, table.concat(p.m.capabilities.env.names or {}, ", ")), 0)
end

function C.plugin(vcli, api) vcli.env = api.ops("env") end

return C
