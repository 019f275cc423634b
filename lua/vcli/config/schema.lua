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
local ANY = node("any", nil, "any value", { merge = "deep" })

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
  { "kubeconfig", str("", "kubeconfig file for this cluster (empty: KUBECONFIG, then ~/.kube/config).") },
  { "namespace", str("", "default namespace (empty: the context's).") },
  { "alias", str("", "a short name to type instead of name.") },
  { "authProvider", str("", "authentication provider (empty: as the kubeconfig says).") },
  { "token", str("", "bearer token (overrides the kubeconfig's credentials).", { sensitive = true }) },
  { "tls", tls },
  { "metadata", map(STRING, "free labels (team, region, tier) used by fleet groups and filters.") },
  { "healthCheck", section("Health probing of the API server for the fleet view.", {
    { "enabled", bool(true, "probe /readyz periodically.") },
    { "interval", dur("30s", "time between probes.") },
    { "timeout", dur("5s", "a probe slower than this counts as down.") },
  }) },
  { "overrides", map(ANY, "free-form settings for commands run against this cluster across a fleet "
    .. "(per-context settings of vcli itself go in clusters/<context>.yaml).") },
  { "plugins", list(STRING, {}, "plugins to enable only for this cluster.") },
  { "readOnly", bool(false, "refuse mutating commands (delete, scale, apply, edit…) against this cluster.") },
  { "resources", section("Limits on what vcli reads from this cluster.", {
    { "pageSize", int(500, "objects per list request (chunked lists).", { min = 1, max = 10000 }) },
    { "maxObjects", int(50000, "objects kept per watched resource type.", { min = 1 }) },
    { "watch", list(STRING, {}, "resource types to keep watched in the background.", { merge = "append" }) },
  }) },
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
    { "logLevel", enum({ "debug", "info", "warn", "error" }, "info", "least severe log message written.") },
    { "logFormat", enum({ "text", "json" }, "text", "format of the log file.") },
    { "cacheDir", str("", "cache directory (empty: $XDG_CACHE_HOME/vcli).") },
    { "configDir", str("", "configuration directory (empty: $XDG_CONFIG_HOME/vcli).") },
    { "pluginDir", str("", "user plugin directory (empty: $XDG_DATA_HOME/vcli/plugins).") },
    { "pluginRegistry", str("", "plugin registry for `plugin search/install`: a directory or an http(s) URL "
      .. "of its index.json (empty: $VCLI_PLUGIN_REGISTRY).") },
    { "dataDir", str("", "state directory: history, store, logs (empty: $XDG_STATE_HOME/vcli).") },
    { "updateInterval", dur("30s", "how often background views refresh what they do not watch.") },
    { "maxConcurrency", int(8, "requests in flight at once per cluster.", { min = 1, max = 256 }) },
    { "debug", bool(false, "print Lua tracebacks with errors.") },
    { "profiling", bool(false, "record timings of commands and renders in the log.") },
  }) },
  { "clusters", list(cluster, {}, "clusters vcli knows; merged across layers by name.", { merge = "named" }) },
  { "fleet", section("The team's shared configuration (layer \"fleet\", priority 50) and fleet groups.", {
    { "source", str("", "file path or http(s) URL of the fleet configuration (empty: none).") },
    { "refreshInterval", dur("1h", "how often a URL source is fetched again (the last copy is cached).") },
    { "token", str("", "bearer token sent when fetching a URL source.", { sensitive = true }) },
    { "groups", map(list(STRING, {}, "cluster names"), "named groups of clusters for --group and the hub view.") },
  }) },
  { "plugins", map(section("A plugin's settings (its schema is registered by the plugin).", {
      { "enabled", bool(true, "load this plugin.") },
    }, { open = true }), "settings of each plugin, under its name.") },
  { "ui", section("The full-screen interface.", {
    { "theme", enum({ "auto", "dark", "light", "mono" }, "auto", "colour theme (auto: from the terminal's background).") },
    { "refreshRate", dur("2s", "how often panels without a watch are redrawn.") },
    { "keybindings", map(STRING, "TUI key -> action, e.g. \"ctrl-d\": delete.") },
    { "layouts", list(layout, {}, "panel layouts, merged by name.", { merge = "named" }) },
    { "defaultView", str("pods", "view shown when the TUI starts.") },
    { "showNamespaces", bool(true, "show the namespace column in resource lists.") },
    { "showMetrics", bool(true, "show CPU/memory columns when metrics are available.") },
    { "showLogs", bool(false, "open the log pane with the resource list.") },
    { "colorScheme", map(STRING, "colour overrides: element -> colour (#rrggbb or a name).") },
    { "fontSize", int(0, "font size hint for terminals that honour it (0: leave alone).", { min = 0, max = 72 }) },
    { "showHelp", bool(true, "show the key hint line.") },
    { "autoRefresh", bool(true, "refresh views in the background.") },
  }) },
  { "security", section("Plugin sandbox limits and safety switches.", {
    { "isolation", enum({ "none", "light", "strict" }, "strict", "plugin isolation level.") },
    { "maxMemoryMB", int(64, "memory limit of one plugin.", { min = 1, max = 65536 }) },
    { "maxCpuPercent", num(50, "CPU budget of one plugin.", { min = 1, max = 100 }) },
    { "maxFileHandles", int(64, "open files per plugin.", { min = 0 }) },
    { "diskQuotaMB", int(16, "store quota of one plugin.", { min = 0 }) },
    { "networkAccess", list(STRING, {}, "hosts every plugin may reach (host or *.domain).", { merge = "append" }) },
    { "allowedPlugins", list(STRING, {}, "plugins allowed to load (empty: all installed).", { merge = "append" }) },
    { "confirmDestructive", bool(true, "ask before delete, drain, scale to zero.") },
    { "readOnly", bool(false, "refuse every mutating command.") },
  }) },
  { "telemetry", section("What vcli reports about itself (off unless enabled).", {
    { "enabled", bool(false, "send traces and metrics.") },
    { "exporter", enum({ "none", "otlp", "stdout" }, "none", "where telemetry goes.") },
    { "endpoint", str("", "OTLP endpoint URL.") },
    { "apiKey", str("", "API key sent to the endpoint.", { sensitive = true }) },
    { "sampleRate", num(0.1, "fraction of commands traced.", { min = 0, max = 1 }) },
    { "serviceName", str("vcli", "service name in the traces.") },
  }) },
  { "migration", section("Importing other tools' configuration (kubectl, k9s).", {
    { "enabled", bool(true, "offer imports on first run.") },
    { "sourceTools", list(STRING, { "kubectl", "k9s" }, "tools to import from.") },
    { "configPaths", map(STRING, "tool -> its configuration path, when not the usual one.") },
    { "createBackups", bool(true, "back up files before changing them.") },
    { "backupDir", str("", "where backups go (empty: $XDG_STATE_HOME/vcli/backups).") },
    { "dryRun", bool(false, "show what an import would do without doing it.") },
  }) },
  { "offline", section("Working while a cluster is unreachable.", {
    { "enabled", bool(true, "serve the last known state and queue writes when offline.") },
    { "cacheSize", int(268435456, "bytes of cache (LMDB) at most.", { min = 0 }) },
    { "cacheTTL", dur("24h", "cached objects older than this are dropped.") },
    { "queueSize", int(1000, "queued writes at most.", { min = 0 }) },
    { "syncInterval", dur("30s", "how often an unreachable cluster is retried.") },
    { "conflictStrategy", enum({ "ask", "server-wins", "client-wins", "merge" }, "ask",
      "what to do when a queued write meets a changed object.") },
    { "autoSync", bool(true, "replay the queue as soon as the cluster is back.") },
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
    { "namespace", str("", "namespace (empty: the context's).") },
    { "requestTimeout", dur("30s", "timeout of one API request.") },
    { "qps", num(50, "requests per second at most.", { min = 1 }) },
    { "burst", int(100, "burst above qps.", { min = 1 }) },
  }) },
  { "history", section("The shell's command history.", {
    { "file", str("", "history file (empty: $XDG_STATE_HOME/vcli/history).") },
    { "size", int(10000, "entries kept.", { min = 0, max = 1000000 }) },
    { "dedupe", bool(true, "drop an entry equal to the previous one.") },
    { "ignoreSpace", bool(true, "do not record lines starting with a space.") },
  }) },
  { "editor", section("The shell's line editor.", {
    { "mode", enum({ "emacs", "vi" }, "emacs", "key set of the line editor.") },
    { "command", str("", "editor for `config edit` and friends (empty: $VISUAL, $EDITOR, vi).") },
    { "keys", map(STRING, "line-editor key -> action or command, e.g. \"C-t\": \"k8s get pods\".") },
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
