-- Loading and merging all eight configuration layers with realistic files:
-- a fleet file of 50 clusters, a user file with 30 plugin sections, a
-- cluster file, a trusted workspace file, environment and --set values,
-- 30 registered plugin schemas with defaults. Target: ≤ 2 ms.
local config = require("vcli.config")

local function tmpdir()
  local p = io.popen("mktemp -d /tmp/vcli-bench.XXXXXX")
  local d = p:read("*l")
  p:close()
  return d
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local d = tmpdir()
os.execute(("mkdir -p %s/cfg/vcli/clusters %s/state %s/proj"):format(d, d, d))
local env = { HOME = d, XDG_CONFIG_HOME = d .. "/cfg", XDG_STATE_HOME = d .. "/state",
              VCLI_UI_THEME = "dark", VCLI_PROMETHEUS_URL = "http://prom:9090", VCLI_KUBERNETES_BURST = "16" }

local fleet = { "# shared by the platform team", "ui:", "  refreshRate: 5s", "  keybindings:",
                "    ctrl-d: delete", "    ctrl-y: yaml", "security:", "  allowedPlugins: [kubernetes, prometheus]",
                "clusters:" }
for i = 1, 50 do
  local n = ("cluster-%02d"):format(i)
  for _, l in ipairs({
    "- name: " .. n, "  context: arn:aws:eks:eu-west-1:123456789012:cluster/" .. n,
    "  namespace: team-" .. (i % 7), "  readOnly: " .. (i % 2 == 0 and "true" or "false"),
    "  resources:", "    pageSize: " .. (i % 3 + 1) * 250,
  }) do fleet[#fleet + 1] = l end
end
write(d .. "/fleet.yaml", table.concat(fleet, "\n") .. "\n")

local user = { "# my settings", "fleet:", "  source: " .. d .. "/fleet.yaml", "ui:", "  theme: light  # daytime",
               "  defaultView: nodes", "prometheus:", "  password: ${env:HOME}", "clusters:",
               "- name: cluster-01", "  namespace: shop", "- name: lab", "  context: kind-lab", "plugins:" }
for i = 1, 30 do
  local n = ("plugin%02d"):format(i)
  for _, l in ipairs({ "  " .. n .. ":", "    enabled: true", "    endpoint: https://" .. n .. ".example.com",
                       "    timeout: 10s", "    retries: 3", "    labels:", "      owner: me", "      tier: gold" }) do
    user[#user + 1] = l
  end
end
write(d .. "/cfg/vcli/config.yaml", table.concat(user, "\n") .. "\n")
write(d .. "/cfg/vcli/clusters/cluster-01.yaml", "ui:\n  theme: mono\nkubernetes:\n  namespace: shop\n")
write(d .. "/proj/.vcli.yaml", "prometheus:\n  url: http://team-prom:9090\nui:\n  defaultView: pods\n")

for i = 1, 30 do
  config.register_schema(("plugin%02d"):format(i), {
    endpoint = { type = "string", default = "" },
    timeout = { type = "duration", default = "30s" },
    retries = { type = "int", default = 1, min = 0 },
    labels = { type = "map", merge = "deep", each = { type = "string" } },
    token = { type = "string", default = "", sensitive = true },
  }, { retries = 2 })
end

local opts = { env = env, cwd = d .. "/proj", context = "cluster-01", flags = { ["history.size"] = "500" },
               quiet = true, no_command = true }
config.load(opts)
config.trust(d .. "/proj/.vcli.yaml")
local ok, errs = config.load(opts)
assert(ok, errs and errs[1])
assert(config.get("ui.theme") == "dark" and #config.get("clusters") == 51 and config.get("plugins.plugin07.retries") == 3)
assert(config.origin("ui.defaultView").layer == "user")

local ms = bench.time(function() config.load(opts) end, 200)
bench.report({ name = "config: load+merge 8 layers, 50 clusters, 30 plugins", value = ms, unit = "ms",
               target = "≤ 2 ms", ok = ms <= 2 })
os.execute("rm -rf '" .. d .. "'")
