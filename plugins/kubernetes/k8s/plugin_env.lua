-- k8s.plugin_env — the env the k8s modules take, built inside the plugin's
-- own state from what plugin.yaml grants (vcli.http, vcli.store, vcli.exec,
-- vcli.fs, vcli.env, vcli.config, vcli.json, vcli.yaml). The modules never
-- touch `vcli` themselves, so they run the same under a stubbed env.
--   local env = require("k8s.plugin_env").new()
local M = {}

M.ctx = nil       -- the running command's ctx (run_tty writes through it)
M.session = nil   -- the session, once made (specs reach it with plugin eval)

local function try(fn, ...)
  local ok, a, b, c = pcall(fn, ...)
  if ok then return a, b, c end
  return nil, tostring(a)
end

local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- JSON through vcli.jsonfmt: its decoder marks arrays (Debian's lua-cjson
-- decodes [] and {} alike, so kubectl's "args": [] came out as {}), and its
-- compact encoder keeps them (request bodies, the offline cache); it writes
-- "/" as it is (apply-patch+yaml bodies must be YAML too). cjson stays for
-- what else wants it.
local function json_codec()
  local cj, fmt = vcli.json, vcli.jsonfmt
  local decode, encode = fmt.decode, fmt.encode
  return cj, {
    null = cj.null, array_mt = fmt.array_mt,
    decode = function(text, name)
      local v, err = decode(text)
      if v == nil then return nil, (name or "json") .. (err:find("^%d") and ":" or ": ") .. err end
      return v
    end,
    encode = function(v) return (assert(encode(v, "", nil, true))) end,
  }
end

function M.new()
  local cjson, json = json_codec()
  local env = {
    json = json, cjson = cjson, yaml = vcli.yaml, jsonfmt = vcli.jsonfmt,
    now = vcli.now, time = os.time,
    sleep = function(ms) return vcli.sleep(ms) end,
  }

  function env.getenv(name)
    if not vcli.env then return nil end
    local v = try(vcli.env.get, name)
    return v
  end

  -- vcli.http.request/stream: the answer, or nil, err (no answer, or a host or
  -- file the grants do not cover), as the modules take them
  if vcli.http then env.http = { request = vcli.http.request, stream = vcli.http.stream } end

  if vcli.store then
    local st = vcli.store
    env.store = { get = st.get, put = st.put, del = st.del, keys = st.keys, usage = st.usage,
                  put_many = st.put_many, lock = st.lock, unlock = st.unlock }
  end

  function env.read_file(path)
    if not (vcli.fs and vcli.fs.read) then return nil, "cannot read " .. path .. " (no fs.read grant)" end
    local text, err = try(vcli.fs.read, path)
    if text == nil then return nil, (err or "cannot read"):gsub("^fs%.read: ", "") end
    return text
  end
  -- all of vcli's standard input (-f -): a pipe, a file, or what is typed up to Ctrl-D
  function env.read_stdin()
    if not vcli.terminal then return nil, "cannot read standard input (no terminal grant)" end
    local ok, t = pcall(vcli.terminal.open, { raw = false })
    if not ok then return nil, tostring(t) end
    local parts = {}
    while true do
      local ev = t:read()
      if not ev then break end
      if ev.data then parts[#parts + 1] = ev.data end
    end
    pcall(t.close, t)
    return table.concat(parts)
  end
  function env.write_file(path, data)
    return try(vcli.fs.write, path, data)
  end
  -- what is at path ({type = file|dir|link|other, size, mode}) or nil; a directory and its parents
  function env.stat(path)
    if not (vcli.fs and vcli.fs.stat) then return nil, "no fs.read grant" end
    return try(vcli.fs.stat, path)
  end
  function env.mkdir(path)
    if not (vcli.fs and vcli.fs.mkdir) then return nil, "no fs.write grant" end
    local ok, err = try(vcli.fs.mkdir, path)
    if not ok then return nil, (err or "cannot create it"):gsub("^fs%.write: ", "") end
    return true
  end
  function env.list_dir(path)
    if not (vcli.fs and vcli.fs.list) then return nil end
    local ok, list = pcall(vcli.fs.list, path)
    if not ok or type(list) ~= "table" then return nil end
    local out = {}
    for _, e in ipairs(list) do out[#out + 1] = type(e) == "table" and (e.name or e[1]) or e end
    return out
  end

  -- Processes: variables ({ {K, V}, … } in order, or a map) are merged over
  -- the inherited environment by vcli.exec's env option.
  local function exec_opts(o)
    local vars = o and o.env
    if not vars or next(vars) == nil then return {} end
    local m = {}
    if vars[1] then
      for _, kv in ipairs(vars) do m[kv[1]] = kv[2] end
    else
      for k, v in pairs(vars) do m[k] = v end
    end
    return { env = m }
  end
  -- run a program to completion: code, stdout, stderr (exec credential plugins)
  function env.spawn(argv, o)
    if not vcli.exec then return nil, "no exec grant", "" end
    local r, err = try(vcli.exec, argv, exec_opts(o))
    if not r then return nil, err or "cannot run", "" end
    if r.code == 127 then return nil, "command not found", r.stderr end
    return r.code, r.stdout or "", r.stderr or ""
  end
  -- A program on the terminal (kubectl exec -it / port-forward, $EDITOR):
  -- with the user's terminal when the shell has one (Ctrl-C is the
  -- program's own); without one, it runs with stdin closed and its output
  -- is copied to the command's output when it ends.
  -- o.stdin: without a terminal, the program reads vcli's standard input (a pipe:
  -- `cat x.yaml | vcli k8s create -f -`) instead of none.
  function env.run_tty(argv, o)
    local ctx = M.ctx
    local opts = exec_opts(o)
    opts.tty = ctx and ctx.terminal or nil
    if o and o.stdin and not opts.tty then opts.stdin = "inherit" end
    local r, err = try(vcli.exec, argv, opts)
    if not r then error(err, 0) end
    if ctx and not opts.tty then
      if r.stdout and r.stdout ~= "" then ctx.out(r.stdout) end
      if r.stderr and r.stderr ~= "" then ctx.err(r.stderr) end
    end
    return r.code
  end
  function env.which(name)
    local code = env.spawn({ "/bin/sh", "-c", "command -v " .. shq(name) })
    return code == 0 and name or nil
  end
  local seq = 0
  function env.tmpname()
    seq = seq + 1
    local dir = env.getenv("TMPDIR")
    if not dir or dir == "" then dir = "/tmp" end
    return ("%s/vcli-k8s-%d-%d-%d"):format(dir, os.time(), math.floor(vcli.now() * 1000) % 1000000, seq)
  end
  function env.remove(path) return try(vcli.fs.remove, path) end
  -- NAME, 0600, in a new 0700 directory that goes when the command ends (whatever ends it)
  function env.private_file(name, data)
    if not (vcli.fs and vcli.fs.private) then error("k8s: no fs.write grant for a private temporary file", 0) end
    return vcli.fs.private(name, data)
  end

  -- after each list chunk: keep the heap near the live data (memory flat in the list size)
  function env.gc_step() collectgarbage("collect") end

  -- run fn once the current command has answered (a timer of the plugin's:
  -- not a task of the call, so the command does not wait for it)
  function env.background(fn) vcli.timer(0, fn) end

  -- run fn(...) alongside the rest of this call (a task of the call, cancelled
  -- with it); handle.wait() returns its results or raises its error
  function env.go(fn, ...)
    local t = vcli.spawn(fn, ...)
    return { wait = function() return t:wait() end }
  end

  -- an event on the bus (kube.context.switched, kube.pods.added…: k8s/service.lua)
  if vcli.events then
    function env.publish(topic, payload) vcli.events.publish(topic, payload) end
  end

  -- the delete confirmation: asked on the terminal; false without one
  function env.confirm(question)
    local ctx = M.ctx
    if vcli.ui and ctx and ctx.terminal then return vcli.ui.confirm(question) end
    if ctx then ctx.err(question .. "(no terminal to ask on: add -y to delete)\n") end
    return false
  end
  -- a line typed on the terminal after the question (offline sync's ask); nil without one
  function env.ask(question)
    local ctx = M.ctx
    if vcli.ui and ctx and ctx.terminal then return vcli.ui.ask(question) end
    return nil
  end
  -- a line for the user outside any command (the offline queue replayed in the background)
  function env.notify(line)
    if vcli.terminal then pcall(vcli.terminal.write, line, 2) end
  end
  env.every = function(ms, fn) return vcli.every(ms, fn) end
  return env
end

local function get(k)
  if not vcli.config then return nil end
  local ok, v = pcall(vcli.config.get, k)
  if ok then return v end
end
local function nonempty(s) if type(s) == "string" and s ~= "" then return s end end

-- What config says about one kube context, read when a command runs (so a
-- config change applies to the next command): { readonly, page_size,
-- namespace, confirm, offline }. clusters[] entries match by context (or by
-- name when context is empty); security.readOnly makes every context
-- read-only; the namespace is the entry's, else kubernetes.namespace.
function M.cluster_policy(context)
  local pol = {}
  if not vcli.config then return pol end
  if get("security.readOnly") == true then pol.readonly = true end
  pol.confirm = get("security.confirmDestructive") ~= false
  pol.offline = get("offline.enabled") ~= false
  pol.cache_ttl = M.seconds(get("offline.cacheTTL"))
  pol.cache_size = tonumber(get("offline.cacheSize"))
  pol.queue_size = tonumber(get("offline.queueSize"))
  pol.sync_interval = M.seconds(get("offline.syncInterval"))
  pol.strategy = get("offline.conflictStrategy")
  pol.auto_sync = get("offline.autoSync") ~= false
  pol.queue_noninteractive = get("offline.queueNonInteractive") == true
  pol.namespace = nonempty(get("kubernetes.namespace"))
  local clusters = get("clusters")
  for _, cl in ipairs(type(clusters) == "table" and clusters or {}) do
    local ctx = (type(cl.context) == "string" and cl.context ~= "") and cl.context or cl.name
    if ctx == context then
      if cl.readOnly == true then pol.readonly = true end
      local ps = type(cl.resources) == "table" and tonumber(cl.resources.pageSize)
      if ps and ps >= 1 then pol.page_size = math.floor(ps) end
      pol.namespace = nonempty(cl.namespace) or pol.namespace
      pol.strategy = nonempty(cl.conflictStrategy) or pol.strategy
    end
  end
  return pol
end

-- "1m30s", "500ms", "2h", "45" -> seconds (nil when it is not a duration)
function M.seconds(s)
  if type(s) ~= "string" then return nil end
  if s:match("^%d+%.?%d*$") then return tonumber(s) end
  local total, rest = 0, s
  local unit = { ms = 0.001, s = 1, m = 60, h = 3600, d = 86400 }
  while rest ~= "" do
    local n, u, tail = rest:match("^(%d+%.?%d*)(m?s?h?d?)(.*)$")
    if not n or not unit[u] then return nil end
    total, rest = total + tonumber(n) * unit[u], tail
  end
  return total
end

-- How each client talks to its API server: kubernetes.qps and burst (a
-- token bucket per context), kubernetes.requestTimeout (ms; nil: each
-- request's own), kubernetes.watchTimeout (watch_timeout_s; nil: 300).
function M.client_opts()
  -- the server's warnings on the running command's stderr, each once
  local o = { on_warning = function(text)
    local ctx = M.ctx
    if not ctx then return end
    ctx.warned = ctx.warned or {}
    if ctx.warned[text] then return end
    ctx.warned[text] = true
    ctx.err("Warning: " .. text .. "\n")
  end }
  -- -v N: the requests on the running command's stderr, klog's prefix as kubectl writes it
  o.on_log = function(level, line)
    local ctx = M.ctx
    local v = ctx and ctx.flags and tonumber(ctx.flags.v)
    if not v or v < level then return end
    ctx.err(("I%s vcli] %s\n"):format(os.date("%m%d %H:%M:%S"), line))
  end
  local qps, burst = tonumber(get("kubernetes.qps")), tonumber(get("kubernetes.burst"))
  if qps and qps > 0 then o.qps, o.burst = qps, math.max(1, math.floor(burst or 1)) end
  local t = get("kubernetes.requestTimeout")
  local secs = type(t) == "number" and t or M.seconds(nonempty(t))
  if secs and secs > 0 then o.timeout_ms = math.floor(secs * 1000) end
  t = get("kubernetes.watchTimeout")
  secs = type(t) == "number" and t or M.seconds(nonempty(t))
  if secs and secs > 0 then o.watch_timeout_s = math.max(1, math.floor(secs)) end
  return o
end

-- kubeconfig path, context and namespace from config: the plugin's own
-- section (plugins.kubernetes), then the core kubernetes section.
function M.session_opts()
  local opts = {}
  if not vcli.config then return opts end
  local own = select(2, pcall(vcli.config.get)) or {}
  local core = select(2, pcall(vcli.config.get, "kubernetes")) or {}
  if type(own) ~= "table" then own = {} end
  if type(core) ~= "table" then core = {} end
  local function pick(k)
    local v = own[k]
    if v == nil or v == "" then v = core[k] end
    if v == "" then v = nil end
    return v
  end
  opts.kubeconfig, opts.context = pick("kubeconfig"), pick("context")
  -- the cluster to start with: global.defaultCluster when nothing above names one
  opts.context = opts.context or nonempty(get("global.defaultCluster"))
  opts.policy = M.cluster_policy
  opts.client_opts = M.client_opts
  -- top without the metrics API: the Prometheus the config names (read when a command runs)
  opts.prometheus = function()
    return { url = nonempty(get("prometheus.url")), username = nonempty(get("prometheus.username")),
             password = nonempty(get("prometheus.password")), token = nonempty(get("prometheus.bearerToken")) }
  end
  opts.readonly = own.readonly == true or nil
  if type(own.readonlyContexts) == "table" then
    opts.readonly_contexts = {}
    for _, c in ipairs(own.readonlyContexts) do opts.readonly_contexts[c] = true end
  end
  return opts
end

return M
