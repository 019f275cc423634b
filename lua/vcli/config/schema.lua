-- vcli.config.schema — the core configuration schema: every key vcli knows,
-- with its type, default, documentation, sensitivity and merge strategy.
-- docs/config.md is the reader's view of this file; keep them in step.
--
-- A node is a table:
--   type      "string" | "bool" | "int" | "number" | "duration" | "enum" |
--             "list" | "map" | "any"
--   default   the built-in value (layer "default", priority 10)
--   doc       one sentence for `config show`, docs and completion
--   values    enum: the allowed strings
--   min, max  int/number: the allowed range
--   sensitive true: masked as **** by `config show` and `config get`
--   required  true: the merged configuration must have a value
--   merge     "overwrite" (scalars, lists) | "deep" (maps) | "append" (lists)
--             | "named" (lists of maps merged by their `name`)
--   keys      map: the known keys (name -> node); `order` keeps them in
--             the order written here
--   each      map: the node for keys not in `keys` (free-form maps)
--   items     list: the node of each element
--   pending   accepted but not used yet: what will use it, once an open issue
--             builds it (`config validate` and `config set` say so)
local M = {}

local function node(t, default, doc, o)
  o = o or {}
  o.type, o.default, o.doc = t, default, doc
  return o
end

local function str(default, doc, o) return node("string", default, doc, o) end
local function bool(default, doc, o) return node("bool", default, doc, o) end
local function int(default, doc, o) return node("int", default, doc, o) end
local function num(default, doc, o) return node("number", default, doc, o) end
local function dur(default, doc, o) return node("duration", default, doc, o) end
local function enum(values, default, doc, o)
  o = o or {}
  o.values = values
  return node("enum", default, doc, o)
end
local function list(items, default, doc, o)
  o = o or {}
  o.items = items
  o.merge = o.merge or "overwrite"
  return node("list", default, doc, o)
end
local function map(each, doc, o)
  o = o or {}
  o.each = each
  o.merge = o.merge or "deep"
  return node("map", nil, doc, o)
end

-- A section: ordered { {"key", node}, ... } -> map node with `keys` and `order`.
local function section(doc, entries, o)
  o = o or {}
  local keys, order = {}, {}
  for _, e in ipairs(entries) do
    keys[e[1]] = e[2]
    order[#order + 1] = e[1]
  end
  o.type, o.doc, o.keys, o.order = "map", doc, keys, order
  o.merge = o.merge or "deep"
  return o
end
M.section = section
M.node = node

local STRING = str(nil, "a string")

-- Keys vcli accepts before the code that reads them exists (each an open issue).
local TUI = "full-screen TUI"
local function later(what, n) n.pending = what return n end

local tls = section("TLS settings for the connection.", {
  { "caFile", str("", "PEM file of the certificate authority to trust (empty: the system's).") },
  { "certFile", str("", "client certificate (PEM).") },
  { "keyFile", str("", "client key (PEM).", { sensitive = true }) },
  { "serverName", str("", "name to check the server's certificate against (empty: the URL's host).") },
  { "insecureSkipVerify", bool(false, "do not check the server's certificate (never in production).") },
})

local cluster = section("One cluster vcli knows, merged across layers by its name.", {
  { "name", str(nil, "the cluster's name in vcli (unique; entries with the same name merge).", { required = true }) },
  { "context", str("", "kubeconfig context to use (empty: the same as name).") },
  { "namespace", str("", "namespace of this cluster's commands when -n and `k8s ns` do not say "
    .. "(empty: kubernetes.namespace, then the context's).") },
  { "readOnly", bool(false, "refuse mutating commands (delete, scale, apply, edit…) against this cluster.") },
  { "resources", section("Limits on what vcli reads from this cluster.", {
    { "pageSize", int(500, "objects per list request (chunked lists).", { min = 1, max = 10000 }) },
  }) },
  { "conflictStrategy", enum({ "", "ask", "server-wins", "client-wins", "merge" }, "",
    "this cluster's offline.conflictStrategy (empty: the global one).") },
})

local layout = section("A TUI layout: named set of panels.", {
  { "name", str(nil, "the layout's name.", { required = true }) },
  { "panels", list(STRING, {}, "panel names, top to bottom.") },
  { "split", enum({ "horizontal", "vertical" }, "horizontal", "how the panels share the screen.") },
})

M.root = section("The vcli configuration.", {
  { "global", section("Process-wide settings.", {
    { "defaultCluster", str("", "cluster (kube context) to start with (empty: the kubeconfig's current-context); "
      .. "also picks the cluster layer.") },
    { "logLevel", enum({ "debug", "info", "warn", "error" }, "info",
      "least severe message written to the log file ($XDG_STATE_HOME/vcli/vcli.log).") },
    { "logFormat", enum({ "text", "json" }, "text", "format of the log file: one line per message, "
      .. "or one JSON object per line.") },
    { "pluginRegistry", str("", "plugin registry for `plugin search/install`: a directory or an http(s) URL "
      .. "of its index.json (empty: $VCLI_PLUGIN_REGISTRY).") },
    { "updateInterval", later(TUI, dur("30s", "how often background views refresh what they do not watch.")) },
    { "debug", bool(false, "print Lua tracebacks with errors (a plugin's too).") },
    { "profiling", bool(false, "log how long each command took (level info, whatever global.logLevel says).") },
  }) },
  { "clusters", list(cluster, {}, "clusters vcli knows; merged across layers by name.", { merge = "named" }) },
  { "fleet", section("The team's shared configuration (layer \"fleet\", priority 50) and fleet groups.", {
    { "source", str("", "file path or http(s) URL of the fleet configuration (empty: none).") },
    { "refreshInterval", dur("1h", "how often the interactive shell fetches a URL source again "
      .. "(every run reads the cached copy).") },
    { "token", str("", "bearer token sent when fetching a URL source.", { sensitive = true }) },
  }) },
  { "plugins", map(section("A plugin's settings (its schema is registered by the plugin).", {
      { "enabled", bool(true, "false: the plugin is not started (its commands say so).") },
    }, { open = true }), "settings of each plugin, under its name.") },
  { "ui", section("Colours of the shell, and the full-screen interface.", {
    { "theme", enum({ "auto", "dark", "light", "mono" }, "auto", "colours of the shell's prompt, search and menu, "
      .. "and whether commands colour their output: mono none; dark and light a palette for that background; "
      .. "auto the palette $COLORFGBG names, else the terminal's own colours.") },
    { "colorScheme", map(STRING, "colour overrides of the shell's elements (prompt, search, menu, "
      .. "menuSelected, menuDescription, info, continuation): a colour name (red, bright-blue…), "
      .. "a 256-colour index or #rrggbb.") },
    { "refreshRate", later(TUI, dur("2s", "how often panels without a watch are redrawn.")) },
    { "keybindings", map(STRING, "vcli ui: key -> action, k9s's spelling, e.g. \"ctrl-d\": delete, \"x\": none "
      .. "(docs/tui.md; ? shows the result).") },
    { "escapeDelay", int(10, "vcli ui: milliseconds a lone ESC byte waits for the rest of a key's sequence before "
      .. "it is the Esc key (tmux's escape-time; raise it over a slow link).", { min = 0, max = 2000 }) },
    { "logBufferMB", int(4, "vcli ui: MiB of log lines a log view keeps (a ring: the oldest go).", { min = 1, max = 1024 }) },
    { "logTail", int(200, "vcli ui: lines a log view starts with (its key 0; 1-5 pick a time instead).", { min = 0 }) },
    { "layouts", later(TUI, list(layout, {}, "panel layouts, merged by name.", { merge = "named" })) },
    { "defaultView", str("pods", "vcli ui: the resource type it opens with when none is given.") },
    { "showNamespaces", later(TUI, bool(true, "show the namespace column in resource lists.")) },
    { "showMetrics", later(TUI, bool(true, "show CPU/memory columns when metrics are available.")) },
    { "showLogs", later(TUI, bool(false, "open the log pane with the resource list.")) },
    { "showHelp", later(TUI, bool(true, "show the key hint line.")) },
    { "autoRefresh", later(TUI, bool(true, "refresh views in the background.")) },
  }) },
  { "security", section("Plugin sandbox limits and safety switches.", {
    { "maxMemoryMB", int(1024, "most memory one plugin may use, in MiB: a manifest's limits.memory above it "
      .. "is lowered to it (applies when the plugin starts).", { min = 1, max = 65536 }) },
    { "diskQuotaMB", int(1024, "most store space one plugin may use, in MiB: a manifest's store quota above it "
      .. "is lowered to it (applies when the plugin starts).", { min = 1 }) },
    { "allowedPlugins", list(STRING, {}, "plugins allowed to start (empty: every installed one).", { merge = "append" }) },
    { "confirmDestructive", bool(true, "k8s delete asks first in the shell (false: as if -y were given).") },
    { "readOnly", bool(false, "refuse every mutating command (every k8s context is read-only).") },
  }) },
  { "offline", section("Working while a cluster is unreachable.", {
    { "enabled", bool(true, "answer k8s reads from the last known state when the cluster is unreachable "
      .. "(false: fail instead).") },
    { "cacheSize", int(268435456,
      "bytes of the Kubernetes offline cache at most; past it the oldest answers go first (0: no bound).", { min = 0 }) },
    { "cacheTTL", dur("24h", "cached answers older than this are neither given nor kept (0: no limit).") },
    { "queueSize", int(1000, "writes queued at most while a cluster is unreachable (past it a write is refused).",
      { min = 0 }) },
    { "syncInterval", dur("30s", "how often the shell retries a cluster with queued writes.") },
    { "conflictStrategy", enum({ "ask", "server-wins", "client-wins", "merge" }, "ask",
      "what to do when a queued write meets an object changed meanwhile (docs/offline.md).") },
    { "autoSync", bool(true, "replay the queue as soon as the cluster answers again (false: k8s offline sync).") },
    { "queueNonInteractive", bool(false, "queue writes of vcli -c and pipes too (off: they fail as kubectl's do).") },
  }) },
  { "prometheus", section("The Prometheus server.", {
    { "url", str("http://localhost:9090", "base URL of the Prometheus HTTP API.") },
    { "username", str("", "basic-auth user.") },
    { "password", str("", "basic-auth password.", { sensitive = true }) },
    { "bearerToken", str("", "bearer token.", { sensitive = true }) },
    { "timeout", dur("30s", "query timeout.") },
    { "defaultRange", dur("1h", "range of charts and range queries.") },
    { "step", dur("", "resolution of range queries (empty: range / 250).") },
    { "tls", tls },
    { "headers", map(STRING, "extra HTTP headers.", { sensitive = true }) },
  }) },
  { "kubernetes", section("Talking to the Kubernetes API.", {
    { "kubeconfig", str("", "kubeconfig path (empty: KUBECONFIG, then ~/.kube/config).") },
    { "context", str("", "kube context (empty: current-context).") },
    { "namespace", str("", "namespace of commands when -n, `k8s ns` and the cluster's entry do not say "
      .. "(empty: the context's).") },
    { "requestTimeout", dur("", "timeout of one API request, watches and streams aside "
      .. "(empty: 30 s, 60–120 s for lists).") },
    { "watchTimeout", dur("", "a watch stream is renewed after this long (the server's timeoutSeconds); one that "
      .. "has not ended 10 s later (a server that never closes) is given up and resumed (empty: 5 min).") },
    { "qps", num(50, "API requests per second per context, at most (after a burst).", { min = 0.1 }) },
    { "burst", int(100, "requests sent at once before qps applies.", { min = 1 }) },
  }) },
  { "history", section("The shell's command history.", {
    { "file", str("", "history file (empty: $XDG_STATE_HOME/vcli/history).") },
    { "size", int(10000, "entries kept.", { min = 0, max = 1000000 }) },
    { "dedupe", bool(true, "keep only the latest of equal entries.") },
    { "ignoreSpace", bool(true, "do not record lines starting with a space.") },
  }) },
  { "editor", section("Editing files from the shell.", {
    { "command", str("", "editor for `config edit` (empty: $VISUAL, $EDITOR, vi).") },
  }) },
})

-- The built-in defaults as one configuration table (fresh each call).
local function defaults_of(n)
  if n.type == "map" then
    if not n.keys then return nil end
    local t = {}
    for k, c in pairs(n.keys) do
      local v = defaults_of(c)
      if v ~= nil then t[k] = v end
    end
    return t
  elseif type(n.default) == "table" then
    local t = {}
    for i, v in ipairs(n.default) do t[i] = v end
    return t
  end
  return n.default
end
M.defaults_of = defaults_of

return M
