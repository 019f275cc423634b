-- What each configuration key promises, seen from outside: the real vcli in
-- a made-up home, a plugin written here (knobs) for the keys that shape
-- plugins, a kubeconfig whose server does not answer for the Kubernetes
-- keys that need no cluster (spec/k8s_config_spec.lua has the others), a
-- pseudo-terminal for the shell's colours and history.
local cjson = require("cjson")
local vm = require("vcli.vm")
local config = require("vcli.config")

local KNOBS_MANIFEST = [[
name: knobs
version: 1.0.0
capabilities:
  - config
  - store: { quota: 64MiB }
limits: { memory: 256MiB, cpu_ms_per_call: 5000 }
config_schema:
  greeting: { type: string, default: hello, doc: "what knobs greet says" }
commands:
  - name: knobs
    summary: config knobs
    subcommands: [greet, boom, alloc, store, log, color]
]]

local KNOBS_INIT = [[
local function deeper(what)
  error("boom: " .. what)
end
local function mb(ctx) return tonumber(ctx.args.mb) end
vcli.command({
  name = "knobs", summary = "config knobs",
  subcommands = {
    { name = "greet", handler = function(ctx) ctx.print(vcli.config.get().greeting) end },
    { name = "boom", handler = function() deeper("knob") end },
    { name = "alloc", args = { { name = "mb" } }, handler = function(ctx)
      local t = {}
      for i = 1, mb(ctx) do t[i] = string.rep("x", 1048000) .. i end
      ctx.print("allocated " .. mb(ctx) .. " MiB")
    end },
    { name = "store", args = { { name = "mb" } }, handler = function(ctx)
      vcli.store.put("big", string.rep("x", mb(ctx) * 1048576))
      ctx.print("stored " .. mb(ctx) .. " MiB")
    end },
    { name = "log", handler = function() vcli.log("knob turned") end },
    { name = "color", handler = function(ctx) ctx.print("color=" .. tostring(ctx.color)) end },
  },
})
return {}
]]

local KUBECONFIG = [[
apiVersion: v1
kind: Config
current-context: a
clusters:
- name: c
  cluster: { server: "%s" }
users:
- name: u
  user: { token: t }
contexts:
- name: a
  context: { cluster: c, user: u, namespace: from-kubeconfig }
- name: b
  context: { cluster: c, user: u }
]]

local plugdir

-- A fresh home (every XDG directory under it); h:run(args) -> stdout, stderr, status.
local function home()
  local d = spec.tmpdir()
  os.execute(("mkdir -p %s/cfg/vcli %s/state %s/cache %s/data"):format(d, d, d, d))
  local h = { dir = d, user = d .. "/cfg/vcli/config.yaml", log = d .. "/state/vcli/vcli.log" }
  h.env = ("HOME=%s XDG_CONFIG_HOME=%s/cfg XDG_STATE_HOME=%s/state XDG_CACHE_HOME=%s/cache XDG_DATA_HOME=%s/data"
    .. " VCLI_PLUGIN_PATH=%s KUBECONFIG=%s/kubeconfig"):format(d, d, d, d, d, plugdir, d)
  function h.run(_, args, extra)
    local out, status = spec.sh(("cd %s && env -i PATH=/usr/bin:/bin %s %s %s --norc %s 2>%s/stderr"):format(
      d, h.env, extra or "", spec.vcli, args, d))
    return out, spec.read(d .. "/stderr") or "", status
  end
  return h
end

local function count(s, sub)
  local n, i = 0, 1
  while true do
    local a, b = s:find(sub, i, true)
    if not a then return n end
    n, i = n + 1, b + 1
  end
end

before_all(function()
  local d = spec.tmpdir()
  plugdir = d .. "/plugins"
  os.execute("mkdir -p " .. plugdir .. "/knobs")
  spec.write(plugdir .. "/knobs/plugin.yaml", KNOBS_MANIFEST)
  spec.write(plugdir .. "/knobs/init.lua", KNOBS_INIT)
end)

-- the port a server started in the background wrote to d/port: once it is
-- all there (the file exists before its digits are written)
local function listen_port(d, what)
  return spec.eventually(function() return (spec.read(d .. "/port") or ""):match("^%d+$") end, 10000, what)
end

describe("config validate and config set", function()
  it("validate says each problem once, in file order, and which keys are accepted but not used yet", function()
    local h = home()
    spec.write(h.user, "ui:\n  theme: neon\n  refreshRate: 3s\noffline:\n  autoSync: false\nhistory:\n  size: -1\n"
      .. "telemetry:\n  enabled: true\n")
    local out, err, status = h:run("config validate")
    assert.equal(1, status)
    local all = out .. err
    assert.equal(1, count(all, 'ui.theme: expected one of auto, dark, light, mono, got "neon"'), all)
    assert.equal(1, count(all, "history.size: expected a whole number from 0 to 1000000, got -1"), all)
    assert.equal(1, count(all, "telemetry: unknown key"), all)
    assert.truthy(out:find(":2: ui.theme", 1, true) < out:find(":7: history.size", 1, true), out)
    assert.truthy(out:find("note: ui.refreshRate is accepted but not used yet (full-screen TUI: not implemented)\n",
      1, true), out)
    -- the offline write queue reads its keys: no note
    assert.falsy(out:find("offline.autoSync", 1, true), out)
    assert.falsy(out:find("ui.showLogs", 1, true), "only keys a file sets get a note")
  end)

  it("set writes a key not used yet and says so; a key in use gets no note", function()
    local h = home()
    local out, _, status = h:run("config set ui.refreshRate 3s")
    assert.equal(0, status)
    assert.matches("ui.refreshRate = 3s %(user: .-%)\nnote: ui.refreshRate is accepted but not used yet "
      .. "%(full%-screen TUI: not implemented%)\n$", out)
    out = h:run("config set offline.queueSize 50")
    assert.falsy(out:find("note:", 1, true), out)
    out = h:run("config set offline.cacheTTL 2h")
    assert.falsy(out:find("note:", 1, true), out)
    out = h:run("config set history.size 50")
    assert.falsy(out:find("note:", 1, true), out)
  end)

  it("keys vcli no longer has are unknown (telemetry, migration, editor.mode, security.isolation)", function()
    local h = home()
    spec.write(h.user, "editor:\n  mode: vi\nsecurity:\n  isolation: strict\nmigration:\n  enabled: true\n")
    local out = h:run("config validate")
    assert.matches("warning: [^\n]*:2: editor.mode: unknown key", out)
    assert.matches("warning: [^\n]*:4: security.isolation: unknown key", out)
    assert.matches("warning: [^\n]*:5: migration: unknown key", out)
  end)
end)

describe("plugins and their configuration", function()
  it("VCLI_PLUGINS_<NAME>_<KEY> sets a key of the plugin's config_schema, before and after it starts", function()
    local h = home()
    assert.equal("hello\n", (h:run("knobs greet")))
    assert.equal("hi\n", (h:run("knobs greet", "VCLI_PLUGINS_KNOBS_GREETING=hi")))
    local out = h:run("config show --origin plugins.knobs.greeting", "VCLI_PLUGINS_KNOBS_GREETING=hi")
    assert.matches("^env%s+VCLI_PLUGINS_KNOBS_GREETING%s+plugins%.knobs%.greeting=hi\n$", out)
  end)

  it("plugins.<name>.enabled: false keeps the plugin from starting", function()
    local h = home()
    local out, err, status = h:run("--set plugins.knobs.enabled=false knobs greet")
    assert.equal(1, status)
    assert.equal("", out)
    assert.equal("vcli: plugin knobs is turned off in the configuration (plugins.knobs.enabled is false)\n", err)
  end)

  it("security.allowedPlugins: a plugin not on the list does not start", function()
    local h = home()
    local _, err, status = h:run("--set security.allowedPlugins=prometheus knobs greet")
    assert.equal(1, status)
    assert.equal("vcli: plugin knobs is not in security.allowedPlugins (prometheus)\n", err)
    assert.equal("hello\n", (h:run("--set security.allowedPlugins=prometheus,knobs knobs greet")))
  end)

  it("security.maxMemoryMB: a plugin allocating 64 MB is stopped with an error naming the limit", function()
    local h = home()
    local out, _, status = h:run("knobs alloc 64")
    assert.equal(0, status)
    assert.equal("allocated 64 MiB\n", out)
    local _, err
    out, err, status = h:run("--set security.maxMemoryMB=16 knobs alloc 64")
    assert.equal(1, status)
    assert.equal("", out)
    assert.equal("vcli: plugin knobs: memory limit 16 MiB exceeded (security.maxMemoryMB is 16)\n", err)
  end)

  it("security.diskQuotaMB: a store write past it fails", function()
    local out, _, status = home():run("knobs store 2")
    assert.equal(0, status)
    assert.equal("stored 2 MiB\n", out)
    local err
    out, err, status = home():run("--set security.diskQuotaMB=1 knobs store 2")
    assert.equal(1, status)
    assert.equal("", out)
    assert.matches("quota of 1048576 bytes exceeded\n$", err)
  end)

  it("global.debug: a plugin command's error comes with the plugin's own traceback", function()
    local h = home()
    local _, err, status = h:run("knobs boom")
    assert.equal(1, status)
    assert.equal("vcli: knobs/init.lua:2: boom: knob\n", err)
    _, err, status = h:run("--set global.debug=true knobs boom")
    assert.equal(1, status)
    assert.matches("stack traceback:\n[^\n]*\n%s*knobs/init%.lua:2: in function 'deeper'\n%s*knobs/init%.lua:9:", err)
    assert.matches("\nvcli: knobs/init%.lua:2: boom: knob\n$", err)
  end)
end)

describe("the log file", function()
  it("global.logLevel: a plugin's vcli.log line is written at info, not at warn", function()
    local h = home()
    h:run("knobs log")
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ INFO  knob turned plugin=knobs\n$", spec.read(h.log))
    h:run("--set global.logLevel=warn knobs log")
    assert.equal(1, count(spec.read(h.log), "knob turned"))
  end)

  it("global.logFormat: json writes one object per line", function()
    local h = home()
    h:run("--set global.logFormat=json knobs log")
    local line = cjson.decode(spec.read(h.log))
    assert.equal("knob turned", line.msg)
    assert.equal("info", line.level)
    assert.equal("knobs", line.plugin)
    assert.matches("^%d%d%d%d%-", line.time)
  end)

  it("global.profiling: each command's time is logged, whatever the level", function()
    local h = home()
    h:run("-c 'echo one; echo two'")
    assert.falsy(spec.read(h.log))
    h:run("--set global.profiling=true --set global.logLevel=error -c 'echo one; sleep 0.2'")
    local log = spec.read(h.log)
    assert.matches("INFO  command echo one ms=[%d.]+ status=0\n", log)
    local ms = tonumber(log:match("command sleep 0%.2 ms=([%d.]+)"))
    assert.truthy(ms and ms >= 190, log)
  end)
end)

describe("the Kubernetes keys that need no cluster", function()
  local function kube_home(server)
    local h = home()
    spec.write(h.dir .. "/kubeconfig", KUBECONFIG:format(server or "http://127.0.0.1:1"))
    return h
  end

  it("global.defaultCluster is the context to start with; kubernetes.context wins over it", function()
    local h = kube_home()
    assert.equal("* a\n  b\n", (h:run("k8s ctx")))
    assert.equal("  a\n* b\n", (h:run("--set global.defaultCluster=b k8s ctx")))
    assert.equal("* a\n  b\n", (h:run("--set global.defaultCluster=b --set kubernetes.context=a k8s ctx")))
  end)

  it("kubernetes.kubeconfig names the kubeconfig when KUBECONFIG does not", function()
    local h = kube_home()
    spec.write(h.dir .. "/other.yaml", (KUBECONFIG:format("http://127.0.0.1:1"):gsub("name: b\n", "name: elsewhere\n")))
    assert.equal("* a\n  elsewhere\n", (h:run("--set kubernetes.kubeconfig=" .. h.dir .. "/other.yaml k8s ctx", "KUBECONFIG=")))
  end)

  it("namespace: -n, then the cluster's entry, then kubernetes.namespace, then the kubeconfig's", function()
    local h = kube_home()
    assert.equal("from-kubeconfig\n", (h:run("k8s ns")))
    assert.equal("shop\n", (h:run("--set kubernetes.namespace=shop k8s ns")))
    spec.write(h.user, "clusters:\n- name: a\n  namespace: web\n- name: other\n  context: b\n  namespace: db\n")
    assert.equal("web\n", (h:run("--set kubernetes.namespace=shop k8s ns")))
    assert.equal("db\n", (h:run("k8s ns --context b")))
  end)

  it("kubernetes.qps and burst space the requests out", function()
    local h = kube_home()
    local cmds = "-c 'k8s get pods; k8s get pods; k8s get pods; k8s get pods'"
    local t0 = vm.now()
    h:run(cmds)
    local free = vm.now() - t0
    t0 = vm.now()
    h:run("--set kubernetes.qps=2 --set kubernetes.burst=1 " .. cmds)
    local limited = vm.now() - t0
    -- every `get` asks at least once: 4+ requests at 2 a second after a burst of 1
    assert.truthy(limited - free >= 1400, ("%d ms limited, %d ms free"):format(limited, free))
    -- a burst as large as what is asked sends it all at once
    t0 = vm.now()
    h:run("--set kubernetes.qps=2 --set kubernetes.burst=50 " .. cmds)
    local burst = vm.now() - t0
    assert.truthy(burst - free < 700, ("%d ms with a burst of 50, %d ms free"):format(burst, free))
  end)

  it("kubernetes.requestTimeout ends a request the server does not answer", function()
    local d = spec.tmpdir()
    -- a listener that never accepts: the connection is made, no answer comes
    local pid = spec.sh(("python3 -c \"import socket,time,sys\ns=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(64)\n"
      .. "open('%s/port','w').write(str(s.getsockname()[1])); time.sleep(120)\" >/dev/null 2>&1 & echo $!"):format(d))
      :match("%d+")
    local ok, err, status, took = pcall(function()
      local port = listen_port(d, "the listener")
      local h = kube_home("http://127.0.0.1:" .. port)
      local t0 = vm.now()
      local _, e, st = h:run("--set kubernetes.requestTimeout=1s k8s get pods", "timeout 25")
      return e, st, vm.now() - t0
    end)
    os.execute("kill " .. pid)
    assert(ok, err)
    assert.equal(1, status, err)
    assert.truthy(took < 8000, ("took %d ms: %s"):format(took, err))
    assert.matches("/api: timed out after 1000 ms\n$", err)
  end)
end)

describe("keys read by the host", function()
  it("global.defaultCluster picks the cluster layer's file", function()
    local h = home()
    os.execute("mkdir -p " .. h.dir .. "/cfg/vcli/clusters")
    spec.write(h.dir .. "/cfg/vcli/clusters/prod.yaml", "history:\n  size: 77\n")
    assert.equal("10000\n", (h:run("config get history.size")))
    assert.equal("77\n", (h:run("--set global.defaultCluster=prod config get history.size")))
  end)

  it("global.pluginRegistry is where plugin search looks", function()
    local h = home()
    local reg = h.dir .. "/registry"
    os.execute("mkdir -p " .. reg)
    assert(require("vcli.plugin.registry").publish(plugdir .. "/knobs", reg))
    local _, err, status = h:run("plugin search", "VCLI_PLUGIN_REGISTRY=")
    assert.equal(1, status)
    assert.matches("no registry configured", err)
    local out
    out, err, status = h:run("--set global.pluginRegistry=" .. reg .. " plugin search", "VCLI_PLUGIN_REGISTRY=")
    assert.equal(0, status, err)
    assert.matches("\nknobs%s+1%.0%.0", out)
  end)

  it("editor.command is the editor config edit runs", function()
    local h = home()
    spec.write(h.dir .. "/new.yaml", "ui:\n  theme: light\n")
    local out, err, status = h:run("--set 'editor.command=cp " .. h.dir .. "/new.yaml' config edit", "EDITOR=false VISUAL=false")
    assert.equal(0, status, out .. err)
    assert.equal("ui:\n  theme: light\n", spec.read(h.user))
    assert.equal("light\n", (h:run("config get ui.theme")))
  end)
end)

describe("fleet.refreshInterval", function()
  it("the interactive shell fetches a URL source again, with fleet.token as a bearer token", function()
    local d = spec.tmpdir()
    os.execute("mkdir -p " .. d .. "/www")
    spec.write(d .. "/www/fleet.yaml", "prometheus:\n  url: http://one:9090\n")
    local pid = spec.sh(("cd %s/www && python3 -c \"import http.server,socketserver\n"
      .. "class H(http.server.SimpleHTTPRequestHandler):\n"
      .. "  def do_GET(self):\n"
      .. "    open('%s/auth','a').write(str(self.headers.get('Authorization'))+'\\n'); super().do_GET()\n"
      .. "  def log_message(self, *a): pass\n"
      .. "s=socketserver.TCPServer(('127.0.0.1',0),H); open('%s/port','w').write(str(s.server_address[1])); "
      .. "s.serve_forever()\" >/dev/null 2>&1 & echo $!"):format(d, d, d)):match("%d+")
    local env = { HOME = d, XDG_CONFIG_HOME = d .. "/cfg", XDG_CACHE_HOME = d .. "/cache", XDG_STATE_HOME = d .. "/state" }
    local ok, err = pcall(function()
      local url = "http://127.0.0.1:" .. listen_port(d, "the fleet server") .. "/fleet.yaml"
      config.load({ env = env, quiet = true, no_command = true,
                    flags = { ["fleet.source"] = url, ["fleet.refreshInterval"] = "1s", ["fleet.token"] = "fl33t" } })
      config.watch()
      spec.eventually(function() return config.get("prometheus.url") == "http://one:9090" end, 5000, "the first fetch")
      spec.write(d .. "/www/fleet.yaml", "prometheus:\n  url: http://two:9090\n")
      spec.eventually(function() return config.get("prometheus.url") == "http://two:9090" end, 5000,
        "the fetch a second later")
    end)
    config.unwatch()
    os.execute("kill " .. pid)
    config.load({ quiet = true, no_command = true, env = { HOME = d } })
    assert(ok, err)
    assert.matches("^Bearer fl33t\n", spec.read(d .. "/auth"))
  end)
end)

-- The shell on a pseudo-terminal: what it drew, escapes included.
local function on_pty(h, args, steps, extra_env)
  local out = spec.sh(("cd %s && env -i PATH=/usr/bin:/bin %s %s TERM=xterm python3 %s/spec/support/pty_drive.py '%s' %s --norc %s")
    :format(h.dir, h.env, extra_env or "", spec.root, cjson.encode(steps), spec.vcli, args))
  assert.matches("^OK", out)
  return out
end

describe("the shell's colours and history", function()
  local steps = { { "expect", "vcli> " }, { "send", "knobs color\r" }, { "expect", "color=" }, { "expect", "vcli> " },
                  { "send", "exit\r" } }

  it("ui.theme: mono has no colour, even in commands' ctx.color; dark and light have their own prompt colour", function()
    local h = home()
    local auto = on_pty(h, "", steps)
    assert.truthy(auto:find("\27[0;1;34mvcli> ", 1, true), auto)
    assert.truthy(auto:find("color=true", 1, true), auto)
    local mono = on_pty(h, "--set ui.theme=mono", steps)
    assert.truthy(mono:find("\27[0;1mvcli> ", 1, true), mono)
    assert.truthy(mono:find("color=false", 1, true), mono)
    assert.truthy(on_pty(h, "--set ui.theme=dark", steps):find("\27[0;1;94mvcli> ", 1, true))
    assert.truthy(on_pty(h, "--set ui.theme=light", steps):find("\27[0;1;34mvcli> ", 1, true))
    -- auto: the palette of the background $COLORFGBG names (0: dark)
    assert.truthy(on_pty(h, "", steps, "COLORFGBG='15;0'"):find("\27[0;1;94mvcli> ", 1, true))
  end)

  it("ui.colorScheme sets an element's colour: a name, an index or #rrggbb", function()
    local h = home()
    spec.write(h.user, "ui:\n  colorScheme:\n    prompt: \"#ff0000\"\n")
    assert.truthy(on_pty(h, "", steps):find("\27[0;1;38;5;196mvcli> ", 1, true))
    -- a terminal that says it takes 24-bit colour gets the colour itself
    assert.truthy(on_pty(h, "", steps, "COLORTERM=truecolor"):find("\27[0;1;38;2;255;0;0mvcli> ", 1, true))
    spec.write(h.user, "ui:\n  colorScheme:\n    prompt: bright-green\n")
    assert.truthy(on_pty(h, "", steps):find("\27[0;1;92mvcli> ", 1, true))
    spec.write(h.user, "ui:\n  colorScheme:\n    prompt: mauve\n")
    assert.truthy(on_pty(h, "", steps):find(
      'vcli: config: ui.colorScheme.prompt: "mauve" is not a colour (a name such as red or bright-blue, 0-255 or #rrggbb)',
      1, true))
  end)

  it("history.file, history.ignoreSpace: where lines go, and whether space-led ones do", function()
    local h = home()
    local file = h.dir .. "/my-history"
    local typed = { { "expect", "vcli> " }, { "send", "echo one\r" }, { "expect", "one\r\n" }, { "expect", "vcli> " },
                    { "send", " echo two\r" }, { "expect", "two\r\n" }, { "expect", "vcli> " } }
    on_pty(h, "--set history.file=" .. file, typed)
    assert.equal("echo one\n", spec.read(file))
    assert.falsy(spec.read(h.dir .. "/state/vcli/history"))
    on_pty(h, "--set history.file=" .. file .. " --set history.ignoreSpace=false", typed)
    assert.equal("echo one\necho one\n echo two\n", spec.read(file))
  end)

  it("history.size and history.dedupe: what the history keeps", function()
    local h = home()
    local file = h.dir .. "/hist"
    spec.write(file, "echo a\necho b\necho a\necho c\n")
    local set = "--set history.file=" .. file
    assert.matches("^%s*1%s+echo b\n%s*2%s+echo a\n%s*3%s+echo c\n$", (h:run(set .. " history")))
    assert.matches("^%s*1%s+echo a\n%s*2%s+echo b\n%s*3%s+echo a\n%s*4%s+echo c\n$",
      (h:run(set .. " --set history.dedupe=false history")))
    assert.matches("^%s*1%s+echo a\n%s*2%s+echo c\n$", (h:run(set .. " --set history.size=2 history")))
  end)
end)
