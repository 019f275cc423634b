-- vcli.config: eight layers merged by Lua rules, with origins, validation,
-- interpolation, workspace trust, `config` commands and live reload.
local config = require("vcli.config")
require("vcli")

local FIXTURES = spec.root .. "/spec/support/config"

-- A made-up home: every layer's file lives under it.
local function home()
  local d = spec.tmpdir()
  os.execute(("mkdir -p %s/cfg/vcli/clusters %s/state %s/cache %s/proj/sub"):format(d, d, d, d, d))
  return {
    dir = d,
    env = { HOME = d, XDG_CONFIG_HOME = d .. "/cfg", XDG_STATE_HOME = d .. "/state", XDG_CACHE_HOME = d .. "/cache" },
    user = d .. "/cfg/vcli/config.yaml",
    cluster = function(ctx) return d .. "/cfg/vcli/clusters/" .. ctx .. ".yaml" end,
    ws = d .. "/proj/.vcli.yaml",
    sh_env = ("HOME=%s XDG_CONFIG_HOME=%s/cfg XDG_STATE_HOME=%s/state XDG_CACHE_HOME=%s/cache"):format(d, d, d, d),
  }
end

local function load(h, opts)
  opts = opts or {}
  local env = {}
  for k, v in pairs(h.env) do env[k] = v end
  for k, v in pairs(opts.env or {}) do env[k] = v end
  return config.load({ env = env, flags = opts.flags, cwd = opts.cwd or h.dir, context = opts.context,
                       quiet = true, no_command = true })
end

local function vcli(h, args, cwd)
  return spec.sh(("cd %s && env -i PATH=/usr/bin:/bin %s %s --norc %s"):format(cwd or h.dir, h.sh_env,
    spec.vcli, args))
end

local function has(list, s)
  for _, x in ipairs(list or {}) do if x == s then return true end end
  return false, table.concat(list or {}, "\n")
end

describe("config layers", function()
  after_each(function()
    config.unregister_schema("demo")
    config.clear_rules()
  end)

  it("a key set in all eight layers takes the highest one, and the next as each layer goes", function()
    local h = home()
    config.register_schema("demo", { view = { type = "string", default = "builtin", doc = "d" } }, { view = "plugin" })
    spec.write(h.dir .. "/fleet.yaml", "plugins:\n  demo:\n    view: fleet\n")
    spec.write(h.cluster("prod"), "plugins:\n  demo:\n    view: cluster\n")
    spec.write(h.ws, "plugins:\n  demo:\n    view: workspace\n")
    spec.write(h.user, "fleet:\n  source: " .. h.dir .. "/fleet.yaml\nplugins:\n  demo:\n    view: user\n")
    local env = { VCLI_PLUGINS_DEMO_VIEW = "env" }
    local flags = { ["plugins.demo.view"] = "flags" }
    local cwd = h.dir .. "/proj/sub"
    -- trust the workspace file as `config trust` does
    load(h, { cwd = cwd })
    config.trust()
    local steps = {
      { "flags", function() end },
      { "env", function() flags = nil end },
      { "user", function() env = nil end },
      { "workspace", function() spec.write(h.user, "fleet:\n  source: " .. h.dir .. "/fleet.yaml\n") end },
      { "cluster", function() config.untrust() end },
      { "fleet", function() os.remove(h.cluster("prod")) end },
      { "plugin", function() os.remove(h.user) end },
      { "default", function() config.register_schema("demo", { view = { type = "string", default = "builtin" } }) end },
    }
    for _, s in ipairs(steps) do
      s[2]()
      assert.truthy(load(h, { cwd = cwd, env = env, flags = flags, context = "prod" }))
      local expect = s[1] == "default" and "builtin" or s[1]
      assert.equal(expect, config.get("plugins.demo.view"), "with the " .. s[1] .. " layer on top")
      assert.equal(s[1], config.origin("plugins.demo.view").layer)
    end
  end)

  it("maps VCLI_SECTION_KEY variables to schema keys, camelCase included, typed", function()
    local h = home()
    load(h, { env = { VCLI_UI_THEME = "dark", VCLI_PROMETHEUS_URL = "http://prom:9090",
                      VCLI_UI_REFRESH_RATE = "5s", VCLI_KUBERNETES_BURST = "4", VCLI_UI_SHOW_LOGS = "true",
                      VCLI_HISTORY_IGNORE_SPACE = "off" } })
    assert.equal("dark", config.get("ui.theme"))
    assert.equal("http://prom:9090", config.get("prometheus.url"))
    assert.equal("5s", config.get("ui.refreshRate"))
    assert.equal(5, config.seconds("ui.refreshRate"))
    assert.equal(4, config.get("kubernetes.burst"))
    assert.equal(true, config.get("ui.showLogs"))
    assert.equal(false, config.get("history.ignoreSpace"))
    assert.same({ layer = "env", priority = 90, file = "VCLI_UI_THEME" }, config.origin("ui.theme"))
  end)

  it("takes values set from the rc with vcli.config.set as the user layer, above config.yaml", function()
    local h = home()
    spec.write(h.user, "ui:\n  theme: light\n  defaultView: nodes\n")
    load(h)
    spec.write(h.dir .. "/rc.lua", "vcli.config.set('ui.theme', 'mono')\n")
    local chunk = loadfile(h.dir .. "/rc.lua")
    setfenv(chunk, { vcli = { config = config } })
    chunk()
    assert.equal("mono", config.get("ui.theme"))
    assert.equal("nodes", config.get("ui.defaultView"))
    assert.same({ layer = "user", priority = 80, file = h.dir .. "/rc.lua", line = 1 }, config.origin("ui.theme"))
    config.load({ env = h.env, quiet = true, no_command = true })
  end)
end)

describe("config merge strategies", function()
  local h
  before_each(function()
    h = home()
    spec.write(h.dir .. "/fleet.yaml", spec.read(FIXTURES .. "/fleet.yaml"))
  end)
  after_each(function() config.clear_rules() end)

  local function user(text)
    spec.write(h.user, "fleet:\n  source: " .. h.dir .. "/fleet.yaml\n" .. text)
    assert.truthy(load(h))
  end

  it("overwrite: a scalar from a higher layer replaces the lower one", function()
    user("ui:\n  theme: light\n")
    assert.equal("light", config.get("ui.theme"))
    assert.equal("fleet", config.origin("ui.refreshRate").layer)
  end)

  it("deep: maps merge key by key", function()
    user("ui:\n  keybindings:\n    ctrl-l: logs\n    ctrl-d: delete-now\n")
    assert.same({ ["ctrl-d"] = "delete-now", ["ctrl-l"] = "logs", ["ctrl-y"] = "yaml" }, config.get("ui.keybindings"))
  end)

  it("append: lists concatenate, lower layers first", function()
    user("security:\n  allowedPlugins: [mine]\n")
    assert.same({ "kubernetes", "prometheus", "mine" }, config.get("security.allowedPlugins"))
    assert.equal("user", config.origin("security.allowedPlugins.3").layer)
    assert.equal("fleet", config.origin("security.allowedPlugins.1").layer)
  end)

  it("named: lists of entries merge by name, new names are added", function()
    user("clusters:\n- name: prod\n  namespace: shop\n- name: lab\n  context: kind-lab\n")
    local cl = config.get("clusters")
    assert.equal(3, #cl)
    assert.same({ "prod", "stage", "lab" }, { cl[1].name, cl[2].name, cl[3].name })
    assert.equal("shop", config.get("clusters.prod.namespace"))
    assert.equal(true, config.get("clusters.prod.readOnly"))
    assert.equal(100, config.get("clusters.prod.resources.pageSize"))
    assert.equal("user", config.origin("clusters.prod.namespace").layer)
    assert.equal("fleet", config.origin("clusters.prod.readOnly").layer)
  end)

  it("override: a key written key!: replaces instead of merging", function()
    user("ui:\n  keybindings!:\n    ctrl-q: quit\nclusters!:\n- name: only\n")
    assert.same({ ["ctrl-q"] = "quit" }, config.get("ui.keybindings"))
    assert.equal(1, #config.get("clusters"))
    assert.equal("only", config.get("clusters.1.name"))
  end)

  it("rules users add change a key's strategy", function()
    config.add_rule("security.allowedPlugins", "overwrite")
    config.add_rule("ui.*", "replace")
    user("security:\n  allowedPlugins: [mine]\nui:\n  keybindings:\n    ctrl-q: quit\n")
    assert.same({ "mine" }, config.get("security.allowedPlugins"))
    assert.same({ ["ctrl-q"] = "quit" }, config.get("ui.keybindings"))
    assert.has_error(function() config.add_rule("x", "sideways") end, "unknown strategy 'sideways'")
  end)
end)

describe("config interpolation", function()
  it("resolves ${env:}, defaults, ${file:} (trimmed, relative to the file) and ${config:}", function()
    local h = home()
    spec.write(h.dir .. "/cfg/vcli/secret.txt", "  s3cret\n\n")
    spec.write(h.user, table.concat({
      "prometheus:",
      "  url: https://${env:PROM_HOST}:9090",
      "  password: ${file:secret.txt}",
      "  username: ${env:PROM_USER:-admin}",
      "kubernetes:",
      "  namespace: ${config:ui.defaultView}-ns",
      "  burst: ${config:history.size}",
      "ui:",
      "  defaultView: nodes",
      "  colorScheme:",
      "    literal: $${env:HOME}",
    }, "\n") .. "\n")
    assert.truthy(load(h, { env = { PROM_HOST = "prom.internal" } }))
    assert.equal("https://prom.internal:9090", config.get("prometheus.url"))
    assert.equal("s3cret", config.get("prometheus.password"))
    assert.equal("admin", config.get("prometheus.username"))
    assert.equal("nodes-ns", config.get("kubernetes.namespace"))
    assert.equal(10000, config.get("kubernetes.burst"))
    assert.equal("${env:HOME}", config.get("ui.colorScheme.literal"))
  end)

  it("reports a missing variable and a cycle with file:line, and keeps the rest", function()
    local h = home()
    spec.write(h.user, "ui:\n  defaultView: ${env:NOPE}\n  theme: dark\nhistory:\n  file: ${config:editor.command}\n"
      .. "editor:\n  command: ${config:history.file}\n")
    local ok, errors = load(h)
    assert.falsy(ok)
    assert.truthy(has(errors, h.user .. ":2: ui.defaultView: ${env:NOPE}: environment variable NOPE is not set"
      .. " (give a default: ${env:NOPE:-value})"))
    local cyc
    for _, e in ipairs(errors) do if e:find("interpolation cycle") then cyc = e end end
    assert.matches("^" .. h.user:gsub("%p", "%%%0") .. ":%d: [%w.]+: interpolation cycle: ", cyc)
    assert.truthy(cyc:find("history.file -> editor.command -> history.file", 1, true)
      or cyc:find("editor.command -> history.file -> editor.command", 1, true), cyc)
    assert.equal("dark", config.get("ui.theme"))
    assert.equal("pods", config.get("ui.defaultView"))
  end)
end)

describe("config validation", function()
  it("reports file:line: key: expected …, got …, skips the bad keys and loads the rest", function()
    local h = home()
    spec.write(h.user, spec.read(FIXTURES .. "/invalid.yaml"))
    local ok, errors = load(h)
    assert.falsy(ok)
    local f = h.user
    assert.same({
      f .. ":12: clusters[1]: expected a map with a name, got \"prod\"",
      f .. ":14: kubernetes.qps: expected a number of at least 0.1, got 0",
      f .. ":3: ui.theme: expected one of auto, dark, light, mono, got \"neon\"",
      f .. ":4: ui.refreshRate: expected a duration like 30s, 5m or 1h, got \"soon\"",
      f .. ":8: global.logFormat: expected one of text, json, got \"xml\"",
      f .. ":9: global.debug: expected true or false, got \"yes\"",
    }, (function() table.sort(errors); return errors end)())
    local _, warnings = config.errors()
    assert.truthy(has(warnings, f .. ":5: ui.showMetric: unknown key (did you mean ui.showMetrics?)"))
    assert.truthy(has(warnings, f .. ":15: promethues: unknown key (did you mean prometheus?)"))
    assert.equal("auto", config.get("ui.theme"))
    assert.equal("vertical-ish", config.get("ui.defaultView"))
    assert.equal("error", config.get("global.logLevel"))
  end)

  it("reports a file that does not parse as one line and loads the other layers", function()
    local h = home()
    spec.write(h.user, "ui:\n  theme: [dark\n")
    local ok, errors = load(h, { env = { VCLI_UI_THEME = "light" } })
    assert.falsy(ok)
    assert.matches("^" .. h.user:gsub("%p", "%%%0") .. ":%d+:%d+: ", errors[1])
    assert.equal("light", config.get("ui.theme"))
  end)

  it("validates a plugin's section against its registered schema, required keys included", function()
    local h = home()
    spec.write(h.user, "plugins:\n  demo:\n    port: high\n  other:\n    anything: 1\n")
    load(h)
    config.register_schema("demo", { port = { type = "int", default = 80 }, url = { type = "string", required = true } })
    local errors = config.errors()
    assert.truthy(has(errors, h.user .. ":3: plugins.demo.port: expected a whole number, got \"high\""))
    assert.truthy(has(errors, "plugins.demo.url: required, not set"))
    assert.equal(80, config.get("plugins.demo.port"))
    assert.equal(1, config.get("plugins.other.anything"))
    config.unregister_schema("demo")
  end)
end)

describe("config command", function()
  it("config show --origin names the layer and file:line of every value", function()
    local h = home()
    spec.write(h.user, "# mine\nui:\n  theme: dark\nprometheus:\n  password: hunter2\n")
    local out, code = vcli(h, "--set global.logLevel=debug config show --origin", nil)
    assert.equal(0, code, out)
    local function row(key)
      for line in out:gmatch("[^\n]+") do if line:find(" " .. key .. "=", 1, true) then return line end end
    end
    assert.matches("^user%s+" .. h.user:gsub("%p", "%%%0") .. ":3%s+ui%.theme=dark$", row("ui.theme"))
    assert.matches("^flags%s+%-%-set%s+global%.logLevel=debug$", row("global.logLevel"))
    assert.matches("^default%s+%-%s+ui%.refreshRate=2s$", row("ui.refreshRate"))
    assert.matches("prometheus%.password=%*%*%*%*$", row("prometheus.password"))
    out = spec.sh(("cd %s && env -i PATH=/usr/bin:/bin %s VCLI_PROMETHEUS_URL=http://p:1 %s --norc config show --origin prometheus.url")
      :format(h.dir, h.sh_env, spec.vcli))
    assert.matches("^env%s+VCLI_PROMETHEUS_URL%s+prometheus%.url=http://p:1\n$", out)
  end)

  it("masks sensitive keys in show and get, and get --reveal shows them", function()
    local h = home()
    spec.write(h.user, "prometheus:\n  password: hunter2\n  username: me\nfleet:\n  token: t0k\n")
    local out = vcli(h, "config show prometheus")
    assert.matches("password: '?%*%*%*%*'?\n", out)
    assert.matches("username: me\n", out)
    assert.falsy(out:find("hunter2"))
    out = vcli(h, "config show -o json")
    assert.falsy(out:find("hunter2") or out:find("t0k"), out)
    assert.equal("****\n", (vcli(h, "config get fleet.token")))
    assert.equal("hunter2\n", (vcli(h, "config get --reveal prometheus.password")))
    assert.equal("me\n", (vcli(h, "config get prometheus.username")))
    -- clusters[].token is no key of vcli's (a file written for an older one): masked all the same
    spec.write(h.user, "clusters:\n- name: prod\n  token: abc\n")
    assert.falsy(vcli(h, "config show clusters"):find("abc"))
    assert.falsy(vcli(h, "config show -o json"):find("abc"))
    assert.matches("\n%*%*%*%*\n$", (vcli(h, "config get clusters.prod.token")))
  end)

  it("config get suggests the nearest key for a typo", function()
    local h = home()
    local out, code = vcli(h, "config get ui.thme")
    assert.equal(1, code)
    assert.equal("vcli: config: no key 'ui.thme' (did you mean ui.theme?)\n", out)
  end)

  it("config set edits the line in place, keeps comments and order, and inserts new keys under their section", function()
    local h = home()
    spec.write(h.user, spec.read(FIXTURES .. "/commented.yaml"))
    local out, code = vcli(h, "config set ui.theme light")
    assert.equal(0, code, out)
    out, code = vcli(h, "config set ui.refreshRate 10s")
    assert.equal(0, code, out)
    out, code = vcli(h, "config set history.size 500")
    assert.equal(0, code, out)
    out, code = vcli(h, "config set security.allowedPlugins kubernetes,prometheus")
    assert.equal(0, code, out)
    assert.equal(spec.read(FIXTURES .. "/commented.expected.yaml"), spec.read(h.user))
    out, code = vcli(h, "config set ui.theme neon")
    assert.equal(1, code)
    assert.equal("vcli: config set: ui.theme: expected one of auto, dark, light, mono, got \"neon\"\n", out)
    assert.equal("light\n", (vcli(h, "config get ui.theme")))
  end)

  it("config layers lists every layer with its priority, file and status", function()
    local h = home()
    spec.write(h.user, "ui:\n  theme: dark\n")
    spec.write(h.ws, "ui:\n  theme: light\n")
    local out = vcli(h, "config layers", h.dir .. "/proj")
    local order = {}
    for prio, name in out:gmatch("\n(%d+)%s+(%a+)") do order[#order + 1] = prio .. " " .. name end
    assert.same({ "100 flags", "90 env", "80 user", "70 workspace", "60 cluster", "50 fleet", "40 plugin", "10 default" }, order)
    assert.matches("80%s+user%s+" .. h.user:gsub("%p", "%%%0") .. "%s+present", out)
    assert.matches("70%s+workspace%s+" .. h.ws:gsub("%p", "%%%0") .. "%s+present, not trusted %(ignored%)", out)
  end)
end)

describe("workspace trust", function()
  it("ignores .vcli.yaml until trusted, and again after it changes", function()
    local h = home()
    spec.write(h.ws, "ui:\n  theme: light\n")
    local sub = h.dir .. "/proj/sub"
    local out = vcli(h, "config get ui.theme", sub)
    assert.equal("vcli: config: " .. h.ws .. " is not trusted; run 'config trust' to use it\nauto\n", out)
    out = vcli(h, "config trust", sub)
    assert.equal("trusted " .. h.ws .. "\n", out)
    assert.equal("light\n", (vcli(h, "config get ui.theme", sub)))
    spec.write(h.ws, "ui:\n  theme: mono\n")
    out = vcli(h, "config get ui.theme", sub)
    assert.equal("vcli: config: " .. h.ws .. " is changed since you trusted it; run 'config trust' to use it\nauto\n", out)
    vcli(h, "config trust", sub)
    assert.equal("mono\n", (vcli(h, "config get ui.theme", sub)))
    local db = spec.read(h.dir .. "/state/vcli/trust")
    assert.matches("^%x+ " .. h.ws:gsub("%p", "%%%0") .. "\n$", db)
    assert.equal(64, #db:match("^%x+"))
    vcli(h, "config untrust", sub)
    assert.equal("auto\n", (vcli(h, "config get ui.theme 2>/dev/null", sub)))
  end)

  it("keeps a trusted workspace trusted when vcli itself writes it (config set)", function()
    local h = home()
    spec.write(h.ws, "ui:\n  theme: light\n")
    local dir = h.dir .. "/proj"
    vcli(h, "config trust", dir)
    local out, code = vcli(h, "config set --layer workspace ui.defaultView nodes", dir)
    assert.equal(0, code, out)
    assert.equal("nodes\n", (vcli(h, "config get ui.defaultView", dir)))
  end)
end)

describe("config live reload", function()
  local h
  before_each(function()
    h = home()
    spec.write(h.user, "ui:\n  theme: dark\n")
    load(h)
  end)
  after_each(function()
    config.unwatch()
    config.unsubscribe("a")
    config.unsubscribe("b")
  end)

  it("applies a valid change within a second and tells subscribers old and new", function()
    local seen = {}
    config.subscribe("a", function(old, new)
      seen[#seen + 1] = old.ui.theme .. "->" .. new.ui.theme
      return true
    end)
    config.watch()
    spec.write(h.user, "ui:\n  theme: light\n")
    spec.eventually(function() return config.get("ui.theme") == "light" end, 1000, "the new theme")
    assert.same({ "dark->light" }, seen)
  end)

  it("keeps the old configuration when the new one is invalid", function()
    local called = false
    config.subscribe("a", function() called = true return true end)
    config.watch()
    spec.write(h.user, "ui:\n  theme: neon\n")
    spec.eventually(function() return config.last_errors() end, 1000, "the reload to be refused")
    assert.same({ h.user .. ":2: ui.theme: expected one of auto, dark, light, mono, got \"neon\"" }, config.last_errors())
    assert.equal("dark", config.get("ui.theme"))
    assert.falsy(called)
  end)

  it("rolls the whole change back when a subscriber rejects it, and says who and why", function()
    local a = {}
    config.subscribe("a", function(old, new) a[#a + 1] = old.ui.theme .. "->" .. new.ui.theme return true end)
    config.subscribe("b", function(_, new)
      if new.ui.theme == "mono" then return false, "mono is unreadable" end
      return true
    end)
    spec.write(h.user, "ui:\n  theme: mono\n  defaultView: nodes\n")
    local ok, errors = config.reload()
    assert.falsy(ok)
    assert.same({ "configuration change rolled back: b rejected it: mono is unreadable" }, errors)
    assert.equal("dark", config.get("ui.theme"))
    assert.equal("pods", config.get("ui.defaultView"))
    assert.same({ "dark->mono", "mono->dark" }, a)
  end)

  it("switching kube context re-merges that context's cluster file", function()
    spec.write(h.cluster("prod"), "ui:\n  defaultView: nodes\n")
    assert.equal("pods", config.get("ui.defaultView"))
    assert.truthy(config.set_context("prod"))
    assert.equal("nodes", config.get("ui.defaultView"))
    assert.same({ layer = "cluster", priority = 60, file = h.cluster("prod"), line = 2 }, config.origin("ui.defaultView"))
    config.set_context(nil)
  end)
end)
