-- k8s.verbs — every `k8s` verb but get: ctx, ns, describe, logs, events,
-- delete, scale, rollout, label/annotate, cordon/uncordon, apply, edit,
-- exec/port-forward (native: k8s/remote.lua), and the kubectl bridge.
local util = require("k8s.util")
local discovery = require("k8s.discovery")
local printer = require("k8s.printer")
local kubeconfig = require("k8s.kubeconfig")
local offline = require("k8s.offline")

local M = {}

-- ---------------------------------------------------------------- ctx / ns
function M.ctx(sess, ctx)
  local kc = sess:kc(ctx.flags)
  local name = ctx.args.name
  if not name then
    local cur = sess.context or kc.current_context
    for _, n in ipairs(kubeconfig.context_names(kc)) do
      ctx.out((n == cur and "* " or "  ") .. n .. "\n")
    end
    return 0
  end
  if name == "-" then name = sess.prev_context or kc.current_context end
  kubeconfig.resolve(sess.env, kc, name) -- raises if unknown or broken
  local prev = sess.context or kc.current_context
  sess.prev_context = prev
  sess.context = name
  local conn = sess:conn({})
  ctx.out(("Switched to context \"%s\" (namespace %s).\n"):format(name, conn.namespace))
  if sess.env.publish then
    sess.env.publish("kube.context.switched", { context = name, previous = prev, namespace = conn.namespace })
  end
  return 0
end

-- the namespaces the server lists (live), or nil when it will not say (RBAC, offline)
local function live_namespaces(sess, flags)
  local ok, c = pcall(sess.client, sess, flags)
  if not ok then return nil end
  local list = c:get_json("/api/v1/namespaces")
  if not list then return nil end
  local names = {}
  for _, it in ipairs(list.items or {}) do names[#names + 1] = it.metadata.name end
  table.sort(names)
  return names
end

-- as kubens: no name lists the namespaces with the current one starred (just
-- the current one when they cannot be listed); "-" is the previous one; a
-- namespace the server does not have is refused when it can tell
function M.ns(sess, ctx)
  local flags = { context = ctx.flags.context }
  local conn = sess:conn(flags)
  local name = ctx.args.name
  if not name then
    local names = live_namespaces(sess, flags)
    if not names then ctx.out(conn.namespace .. "\n") return 0 end
    for _, n in ipairs(names) do ctx.out((n == conn.namespace and "* " or "  ") .. n .. "\n") end
    return 0
  end
  sess.prev_namespaces = sess.prev_namespaces or {}
  if name == "-" then
    name = sess.prev_namespaces[conn.context]
    if not name then error("k8s ns -: no previous namespace for context " .. conn.context, 0) end
  end
  local names = live_namespaces(sess, flags)
  if names then
    local found = false
    for _, n in ipairs(names) do if n == name then found = true end end
    if not found then error(('k8s ns: namespace "%s" not found in context %s'):format(name, conn.context), 0) end
  end
  sess.prev_namespaces[conn.context] = conn.namespace
  sess.namespaces[conn.context] = name
  ctx.out(("Namespace for context \"%s\" is now \"%s\".\n"):format(conn.context, name))
  if sess.env.publish then
    sess.env.publish("kube.namespace.switched", { context = conn.context, namespace = name, previous = conn.namespace })
  end
  return 0
end

-- ---------------------------------------------------------------- kubectl
-- kubectl as this session would speak: the same kubeconfig files, context and identity;
-- -n only when the command line says so. A namespace switched with `k8s ns` is the
-- context's default (as kubens leaves it), not a forced --namespace that would contradict
-- a manifest's own: it goes in a one-context kubeconfig read before the others (the first
-- file to set a context wins, kubectl's merge rule), a private file removed with the call.
-- Returns argv and the environment ({ {K, V} }).
local kustomized   -- -k DIR's output by "kustomize:DIR" (M.with_kustomize)

local function kubectl_argv(sess, flags, args)
  local conn = sess:conn(flags)
  local kc = sess:kc(flags)
  local argv, vars = { "kubectl" }, {}
  local files = table.concat(kc.files or {}, ":")
  local switched = not flags.namespace and sess.namespaces[conn.context]
  if switched then
    local overlay = sess.env.private_file("kubeconfig-namespace.yaml", sess.env.json.encode({
      apiVersion = "v1", kind = "Config",
      contexts = { { name = conn.context, context = { cluster = conn.cluster_name, user = conn.user_name,
                                                      namespace = switched } } } }))
    files = overlay .. (files ~= "" and (":" .. files) or "")
  end
  if files ~= "" then vars[#vars + 1] = { "KUBECONFIG", files } end
  -- the verb first: kubectl takes no flags before a plugin's name (kubectl-VERB), and
  -- its own verbs take them anywhere
  argv[#argv + 1] = args[1]
  argv[#argv + 1] = "--context=" .. conn.context
  if flags["all-namespaces"] then argv[#argv + 1] = "--all-namespaces"
  elseif flags.namespace then argv[#argv + 1] = "--namespace=" .. flags.namespace end
  local im = flags.as and conn.impersonate
  if im then
    argv[#argv + 1] = "--as=" .. im.user
    for _, g in ipairs(im.groups or {}) do argv[#argv + 1] = "--as-group=" .. g end
    if im.uid then argv[#argv + 1] = "--as-uid=" .. im.uid end
  end
  -- the endpoint and credential flags of this command line: kubectl gets them as they were given
  for _, k in ipairs({ "cluster", "user", "server", "token", "certificate-authority", "tls-server-name" }) do
    if flags[k] then argv[#argv + 1] = ("--%s=%s"):format(k, flags[k]) end
  end
  if flags["insecure-skip-tls-verify"] then argv[#argv + 1] = "--insecure-skip-tls-verify" end
  if flags["disable-compression"] then argv[#argv + 1] = "--disable-compression" end
  if flags["request-timeout"] then argv[#argv + 1] = ("--request-timeout=%gs"):format(flags["request-timeout"]) end
  if flags.v then argv[#argv + 1] = "-v=" .. tostring(flags.v) end
  for i = 2, #args do argv[#argv + 1] = args[i] end
  return argv, vars
end
M.kubectl_argv = kubectl_argv

-- bare: kubectl with the words alone (its help needs no kubeconfig)
local function delegate(sess, ctx, args, what, bare)
  local env = sess.env
  if not env.which or not env.which("kubectl") then
    error(("k8s %s needs kubectl on PATH (vcli delegates %s to it); install kubectl"):format(what, what), 0)
  end
  if bare then return env.run_tty({ "kubectl", unpack(args) }, { stdin = true }) or 1 end
  local argv, vars = kubectl_argv(sess, ctx.flags, args)
  return env.run_tty(argv, { env = vars, stdin = true }) or 1
end
M.delegate = delegate

-- -h or --help among a verb's words (before --)
local function asks_help(words)
  for _, w in ipairs(words) do
    if w == "--" then return false end
    if w == "--help" or w == "-h" then return true end
  end
  return false
end

-- What kubectl may do in read-only mode: verbs that only read (an unknown verb, a plugin's,
-- is refused: read-only is never dropped because vcli cannot tell). As k9s: no exec, attach,
-- cp or debug either (they change what runs in a container).
local READ_ONLY_VERBS = { get = true, describe = true, logs = true, explain = true, ["api-resources"] = true,
  ["api-versions"] = true, ["cluster-info"] = true, version = true, top = true, diff = true, events = true,
  wait = true, kustomize = true, completion = true, options = true, help = true, ["port-forward"] = true,
  proxy = true }
local READ_ONLY_SUB = { auth = { ["can-i"] = true, whoami = true },
  config = { view = true, ["get-contexts"] = true, ["current-context"] = true, ["get-clusters"] = true,
             ["use-context"] = true, use = true,   -- (the kubeconfig's default, not the cluster)
             ["get-users"] = true },
  rollout = { status = true, history = true }, plugin = { list = true } }
local function bridged_read_only(words)
  local verb = words[1]
  if READ_ONLY_VERBS[verb] then return true end
  local subs = READ_ONLY_SUB[verb]
  if not subs then return false end
  for i = 2, #words do
    if words[i]:sub(1, 1) ~= "-" then return subs[words[i]] == true end
  end
  return false
end
M.bridged_read_only = bridged_read_only

-- kubectl's own verbs (v1.32): anything else is a typo, unless a kubectl plugin
-- (kubectl-VERB on PATH) has that name
local KUBECTL_VERBS = {}
for v in ([[create expose run set explain get edit delete rollout scale autoscale certificate cluster-info top
  cordon uncordon drain taint describe logs attach exec port-forward proxy cp auth debug events diff apply patch
  replace wait kustomize label annotate completion alpha api-resources api-versions config plugin version options
  help]]):gmatch("%S+") do KUBECTL_VERBS[v] = true end

-- "k8s gte": kubectl's answer (its 'Did you mean this?'), on one line, from vcli's verbs and kubectl's
local function unknown_verb(sess, ctx, verb)
  if KUBECTL_VERBS[verb] or (sess.env.which and sess.env.which("kubectl-" .. verb)) then return end
  local names = {}
  for v in pairs(KUBECTL_VERBS) do names[#names + 1] = v end
  for _, s in ipairs(ctx.spec.subcommands or {}) do names[#names + 1] = s.name end
  table.sort(names)
  local text, near, seen = require("vcli.text"), {}, {}
  for _, n in ipairs(names) do
    if not seen[n] and (text.distance(verb, n) <= 2 or (#verb >= 2 and n:sub(1, #verb) == verb)) then
      near[#near + 1] = n
      seen[n] = true
    end
  end
  error(('k8s: unknown command "%s"%s'):format(verb,
    #near > 0 and (" (did you mean " .. table.concat(near, ", ") .. "?)") or "; 'k8s' lists the verbs"), 0)
end

function M.bridge(sess, ctx)
  local verb = ctx.args.verb
  if not verb then
    if ctx.flags.readonly then
      sess.readonly = true
      ctx.out("read-only mode: changes are refused for this session\n")
      return 0
    end
    ctx.out(ctx.shell and require("vcli.shell.commands").help(ctx.spec) .. "\n" or "k8s VERB …\n")
    return 0
  end
  local rest = { verb }
  for _, a in ipairs(ctx.args.rest or {}) do rest[#rest + 1] = a end
  unknown_verb(sess, ctx, verb)
  -- `k8s top --help`: kubectl's help for the verb, with or without a kubeconfig
  if asks_help(rest) then return delegate(sess, ctx, rest, verb, true) end
  local conn = sess:conn(ctx.flags)
  -- --readonly among the verb's own words (kubectl would reject it as an unknown flag)
  for i = #rest, 2, -1 do
    if rest[i] == "--readonly" or rest[i] == "--readonly=true" then
      conn.readonly_flag = true
      table.remove(rest, i)
    end
  end
  if sess:is_readonly(conn) and not bridged_read_only(rest) then
    error(("k8s %s: refused: read-only mode (context %s)"):format(verb, conn.context), 0)
  end
  return delegate(sess, ctx, rest, verb)
end

-- ---------------------------------------------------------------- helpers
local function json_of(sess, body) return sess.env.json.decode(body) end

local function guard(sess, conn, verb)
  if sess:is_readonly(conn) then
    error(("k8s %s: refused: read-only mode (context %s)"):format(verb, conn.context), 0)
  end
end

-- "TYPE NAME…" or "TYPE/NAME…" -> { {r, name}, … }, client, conn
local function targets(sess, ctx, words)
  local c, conn = sess:client(ctx.flags)
  local d = sess:discovery(c)
  local out = {}
  if not words[1] then error("k8s " .. ctx.spec.name .. ": which resource? (TYPE NAME or TYPE/NAME)", 0) end
  if words[1]:find("/") then
    for _, w in ipairs(words) do
      local t, n = w:match("^([^/]+)/(.+)$")
      if not t then error("k8s " .. ctx.spec.name .. ": mix of TYPE/NAME and plain words: " .. w, 0) end
      local r, err = d:resolve(t)
      if not r then error(err, 0) end
      out[#out + 1] = { r = r, name = n }
    end
  else
    -- TYPE[,TYPE…] NAME…: each name of each type, as kubectl takes them
    for tword in words[1]:gmatch("[^,]+") do
      local r, err = d:resolve(tword)
      if not r then error(err, 0) end
      for i = 2, #words do out[#out + 1] = { r = r, name = words[i] } end
      out.r = out.r or r
    end
  end
  return out, c, conn
end

local function ns_of(r, conn) return r.namespaced and conn.namespace or nil end
local function qualified(t) return discovery.kind_prefix(t.r) .. "/" .. t.name end
local function words_of(ctx)
  local w = {}
  for _, a in ipairs(ctx.args.items or {}) do w[#w + 1] = a end
  return w
end

-- the object now, or, when the cluster does not answer, as the cache last saw
-- it (the base a queued write records) -> obj | nil, err, kind
local function current(sess, c, conn, r, ns, name)
  local obj, err, kind = c:get_json(discovery.path(r, ns, name))
  if obj or kind ~= "network" then return obj, err, kind end
  local b = offline.base(sess, conn, r, ns, name)
  if b.obj then return b.obj, err, "cached" end
  return nil, err, kind
end

-- the command's exit status: 0, or offline.EXIT_QUEUED when something was queued
local function status_of(state) return state.queued and offline.EXIT_QUEUED or 0 end

local function patch(c, r, ns, name, body, ptype, sub, q)
  local p = discovery.path(r, ns, name) .. (sub and ("/" .. sub) or "") .. util.query(q or {})
  local res, err = c:request{ method = "PATCH", path = p, body = body,
    content_type = ptype or "application/merge-patch+json", accept = "application/json", timeout_ms = 30000 }
  if not res then error(err, 0) end
  return res
end

-- ---------------------------------------------------------------- describe
-- kubectl describe's layout: k8s/describe.lua. Offline, the object comes from
-- the cache (without events or the lines derived from other objects). As
-- kubectl: `describe TYPE NAME` with no such object describes the objects
-- whose names start with NAME; the objects found are shown, then the errors.
function M.describe(sess, ctx)
  local words = words_of(ctx)
  if words[1] and words[1]:find(",", 1, true) and not words[1]:find("/", 1, true) then
    error("error: you may only specify a single resource type", 0)
  end
  local ts, c, conn = targets(sess, ctx, words)
  local env = sess.env
  local describe = require("k8s.describe")
  local shown, errs = 0, {}
  local function show(t, obj, from_cache, prefixed)
    obj.apiVersion = obj.apiVersion or t.r.gv
    obj.kind = obj.kind or t.r.kind
    local text = describe.describe{ env = env, c = not from_cache and c or nil, obj = obj, events = not from_cache }
    -- kubectl: "\n\n" between objects; after each object matched by prefix, "\n"
    if shown > 0 and not prefixed then ctx.out("\n\n") end
    ctx.out(prefixed and (text .. "\n") or text)
    shown = shown + 1
  end
  if #ts == 0 and ts.r then
    -- TYPE alone (or with -l): every object of the type, as kubectl
    local ns = (not ctx.flags["all-namespaces"]) and ns_of(ts.r, conn) or nil
    local l, lerr = c:get_json(discovery.path(ts.r, ns) .. util.query({ labelSelector = ctx.flags.selector }))
    if not l then error(lerr, 0) end
    if #(l.items or {}) == 0 then
      ctx.err(ns and ("No resources found in " .. ns .. " namespace.\n") or "No resources found\n")
      return 0
    end
    for _, o in ipairs(l.items) do show({ r = ts.r }, o) end
    return 0
  end
  for _, t in ipairs(ts) do
    local ns = ns_of(t.r, conn)
    local key = t.r.gv .. "/" .. t.r.name
    local res, err, kind, code = c:request{ path = discovery.path(t.r, ns, t.name), accept = "application/json",
      timeout_ms = 30000 }
    if res then
      sess.cache:put_object(conn.context, ns, "describe:" .. key, t.name, res.body)
      show(t, json_of(sess, res.body))
    elseif kind == "network" then
      local at, text = sess.cache:get_object(conn.context, ns, "describe:" .. key, t.name)
      if not at then error(err, 0) end
      ctx.err(require("k8s.get").offline_note(env, at, err))
      show(t, json_of(sess, text), true)
    elseif code == 404 and #ts == 1 and not words[1]:find("/") then
      local l = c:get_json(discovery.path(t.r, ns))
      local n = 0
      for _, o in ipairs(l and l.items or {}) do
        if tostring(o.metadata.name):sub(1, #t.name) == t.name then show(t, o, false, true); n = n + 1 end
      end
      if n == 0 then errs[#errs + 1] = err end
    else
      errs[#errs + 1] = err
    end
  end
  if #errs > 0 then error(table.concat(errs, "\n"), 0) end
  return 0
end

-- ---------------------------------------------------------------- logs
function M.logs(sess, ctx)
  local f = ctx.flags
  local c, conn = sess:client(f)
  local ns = conn.namespace
  local pods = {}
  local target = ctx.args.pod
  if f.selector then
    local list, err = c:get_json("/api/v1/namespaces/" .. ns .. "/pods" .. util.query({ labelSelector = f.selector }))
    if not list then error(err, 0) end
    for _, p in ipairs(list.items or {}) do pods[#pods + 1] = p end
    if #pods == 0 then ctx.err("No resources found in " .. ns .. " namespace.\n"); return 0 end
  else
    if not target then error("k8s logs: which pod? (k8s logs POD, TYPE/NAME or -l SELECTOR)", 0) end
    -- POD, pod/NAME, or deploy/NAME, svc/NAME…: one pod of the object's selector, as kubectl
    local ok, pod, _, n = pcall(require("k8s.remote").resolve, sess, c, ns, target)
    if not ok then
      -- kubectl logs' words for a missing pod
      local missing = tostring(pod):match('^Error from server %(NotFound%): pods "(.-)" not found$')
      if missing then error(('error: error from server (NotFound): pods "%s" not found in namespace "%s"'):format(missing, ns), 0) end
      error(pod, 0)
    end
    if n and n > 1 then ctx.err(("Found %d pods, using pod/%s\n"):format(n, pod.metadata.name)) end
    pods[1] = pod
  end
  local function one(pod, prefix)
    local containers = {}
    for _, ct in ipairs(pod.spec.containers or {}) do containers[#containers + 1] = ct.name end
    local cname = f.container
    if cname then
      local ok = false
      for _, n in ipairs(containers) do if n == cname then ok = true end end
      if not ok then
        error(("error: container %s is not valid for pod %s"):format(cname, pod.metadata.name), 0)
      end
    elseif f["all-containers"] then cname = nil
    else
      cname = pod.metadata.annotations and pod.metadata.annotations["kubectl.kubernetes.io/default-container"] or containers[1]
      if #containers > 1 and not (pod.metadata.annotations or {})["kubectl.kubernetes.io/default-container"] then
        ctx.err(("Defaulted container \"%s\" out of: %s\n"):format(cname, table.concat(containers, ", ")))
      end
    end
    local list = cname and { cname } or containers
    for _, cn in ipairs(list) do
      local q = { container = cn, follow = f.follow and "true" or nil, tailLines = f.tail and f.tail >= 0 and tostring(f.tail) or nil,
        previous = f.previous and "true" or nil, timestamps = f.timestamps and "true" or nil,
        sinceSeconds = f.since and tostring(math.floor(f.since)) or nil, sinceTime = f["since-time"] }
      local path = "/api/v1/namespaces/" .. ns .. "/pods/" .. pod.metadata.name .. "/log" .. util.query(q)
      local pfx = (prefix or f.prefix) and ("[pod/" .. pod.metadata.name .. "/" .. cn .. "] ") or ""
      if f.follow then
        local s, err = c:stream{ path = path, accept = "*/*" }
        if not s then error(err, 0) end
        local ok, e = pcall(function() for line in s:lines() do ctx.out(pfx .. line .. "\n") end end)
        if not ok then
          s:close()
          if tostring(e) == "interrupted" then error(e, 0) end
          error(("error: pod/%s, container %s: %s"):format(pod.metadata.name, cn, tostring(e)), 0)
        end
      else
        local res, err = c:request{ path = path, accept = "*/*", timeout_ms = 60000 }
        if not res then error(err, 0) end
        if pfx == "" then ctx.out(res.body)
        else for line in res.body:gmatch("[^\n]*\n?") do if line ~= "" then ctx.out(pfx .. line:gsub("\n$", "") .. "\n") end end end
      end
    end
  end
  if #pods == 1 then one(pods[1]) return 0 end
  if f.follow then
    local hs = {}
    for _, p in ipairs(pods) do hs[#hs + 1] = sess.env.go(one, p, true) end
    for _, h in ipairs(hs) do h.wait() end
  else
    for _, p in ipairs(pods) do one(p, f.prefix) end
  end
  return 0
end

-- ---------------------------------------------------------------- events
function M.events(sess, ctx)
  local get = require("k8s.get")
  ctx.args = { type = "events", names = ctx.args.names }
  ctx.flags["sort-by"] = ctx.flags["sort-by"] or ".lastTimestamp"
  return get.run(sess, ctx)
end

-- TYPE with -l SELECTOR or --all: every (matching) object of the type, in
-- the namespace or (-A) in all of them, each target with its namespace
-- -> targets, client, conn | nil when the words are no such request
local function selected(sess, ctx, words)
  local f = ctx.flags
  if not ((f.selector or f.all) and words[1] and not words[1]:find("/") and not words[2]) then return nil end
  -- TYPE[,TYPE…]: each type's matching objects, in the order given
  local out, c, conn = {}, nil, nil
  for tword in words[1]:gmatch("[^,]+") do
    local ts
    ts, c, conn = targets(sess, ctx, { tword })
    local r = ts.r
    out.r = out.r or r
    local all_ns = f["all-namespaces"] and r.namespaced
    local list, err = c:get_json(discovery.path(r, (not all_ns) and ns_of(r, conn) or nil) .. util.query({ labelSelector = f.selector }))
    if not list then error(err, 0) end
    for _, it in ipairs(list.items or {}) do
      out[#out + 1] = { r = r, name = it.metadata.name, ns = all_ns and it.metadata.namespace or nil }
    end
  end
  return out, c, conn
end

-- kubectl's --dry-run: none (false), client (bare) or server
local function dry_run(f)
  local v = f["dry-run"]
  if v == nil or v == false or v == "none" or v == "false" then return nil end
  if v == true or v == "client" or v == "true" then return "client" end
  if v == "server" then return "server" end
  error(('error: Invalid dry-run value (%s). Must be "none", "server", or "client".'):format(tostring(v)), 0)
end

-- ---------------------------------------------------------------- delete
function M.delete(sess, ctx)
  M.with_kustomize(sess, ctx)
  local f = ctx.flags
  local words = words_of(ctx)
  local ts, c, conn
  if f.filename and #f.filename > 0 then
    -- the objects the manifests name (each in its own namespace)
    c, conn = sess:client(f)
    ts = M.manifest_objects(sess, c, conn, f.filename, "delete")
  elseif (f.selector or f.all) and words[1] and not words[1]:find("/") and not words[2] then
    -- -l SELECTOR or --all: every (matching) object of the type (-A: in every namespace)
    ts, c, conn = selected(sess, ctx, words)
    if #ts == 0 then ctx.out("No resources found\n"); return 0 end
  else
    ts, c, conn = targets(sess, ctx, words)
  end
  if #ts == 0 then error("k8s delete: which names? (TYPE NAME…, TYPE --all, -l SELECTOR or -f FILE)", 0) end
  local dry = dry_run(f)
  if not dry then guard(sess, conn, "delete") end
  if ctx.interactive and not f.yes and not dry and sess:asks_first(conn) then
    local names = {}
    for _, t in ipairs(ts) do names[#names + 1] = qualified(t) end
    local question = ("Delete %s in %s/%s? [y/N] "):format(table.concat(names, " "), conn.context, conn.namespace)
    local answer = sess.env.confirm and sess.env.confirm(question)
    if not answer then ctx.err("Nothing deleted.\n"); return 1 end
  end
  -- kubectl's --force (grace 0, a warning), --now (grace 1), --cascade, --wait, -o name
  local grace = f["grace-period"]
  if f.now then grace = 1 end
  if f.force and (grace == nil or grace < 0) then grace = 0 end
  if f.force and grace == 0 then
    ctx.err("Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated."
      .. " The resource may continue to run on the cluster indefinitely.\n")
  end
  local cascade = f.cascade
  local policy = ({ background = "Background", ["true"] = "Background", foreground = "Foreground", orphan = "Orphan",
                    ["false"] = "Orphan" })[cascade or "background"]
  if not policy then
    error(('error: invalid cascade value (%s). Must be "background", "foreground", or "orphan".'):format(tostring(cascade)), 0)
  end
  local state, gone, errs = {}, {}, {}
  for _, t in ipairs(ts) do
    local q = { dryRun = dry == "server" and "All" or nil, gracePeriodSeconds = grace and tostring(grace) or nil,
                propagationPolicy = cascade and policy or nil }
    local ns = t.ns or ns_of(t.r, conn)
    local path = discovery.path(t.r, ns, t.name) .. util.query(q)
    local ok, why = pcall(function()
      if dry == "client" then
        -- as kubectl: no request; the object must exist (it was listed or is named)
        local _, err, kind = c:get_json(discovery.path(t.r, ns, t.name))
        if err and kind == "http" then error(err, 0) end
      elseif dry then
        local res, err = c:request{ method = "DELETE", path = path, accept = "application/json", timeout_ms = 30000 }
        if not res then error(err, 0) end
      else
        local target = offline.target(t.r, ns, t.name)
        local op = { kind = "delete", target = target, send = { method = "DELETE", path = path },
          line = ("delete %s%s"):format(qualified(t), target.ns and (" -n " .. target.ns) or "") }
        local res = offline.try(sess, ctx, c, conn, op, state)
        if not res then return "queued" end
        -- the object's UID: one made again under the name (a controller's) is not the one waited for
        local body = sess.env.json.decode(res.body or "")
        local uid = type(body) == "table" and ((type(body.metadata) == "table" and body.metadata.uid)
          or (type(body.details) == "table" and body.details.uid)) or nil
        gone[#gone + 1] = { t = t, ns = ns, uid = uid }
      end
    end)
    if not ok then
      local msg = tostring(why)
      if msg == "interrupted" then error(msg, 0) end
      -- --ignore-not-found: a missing one is no error; otherwise it is said after the others, as kubectl goes on
      if not (f["ignore-not-found"] and msg:find("(NotFound)", 1, true)) then errs[#errs + 1] = msg end
    elseif why ~= "queued" then
      if f.output == "name" then ctx.out(qualified(t) .. "\n")
      else
        ctx.out(('%s "%s" %s%s\n'):format(discovery.kind_prefix(t.r), t.name, (f.force and grace == 0) and "force deleted" or "deleted",
          dry == "server" and " (server dry run)" or dry == "client" and " (dry run)" or ""))
      end
    end
  end
  -- --wait (kubectl's default): until each one is gone (its finalizers and grace period done)
  if f.wait ~= false and not state.queued then
    local deadline = f.timeout and f.timeout > 0 and (sess.env.now() + f.timeout * 1000) or nil
    for _, g in ipairs(gone) do
      local wait_ms = 100
      while true do
        local obj, err, kind = c:get_json(discovery.path(g.t.r, g.ns, g.t.name))
        if not obj and kind == "http" and err:find("(NotFound)", 1, true) then break end
        if obj and g.uid and type(obj.metadata) == "table" and obj.metadata.uid ~= g.uid then break end
        if not obj and kind ~= "http" then break end   -- unreachable: nothing more to learn here
        if deadline and sess.env.now() >= deadline then
          errs[#errs + 1] = ("error: timed out waiting for the condition on %s"):format(qualified(g.t))
          break
        end
        sess.env.sleep(wait_ms)
        wait_ms = math.min(wait_ms * 2, 1000)
      end
    end
  end
  if #errs > 0 then error(table.concat(errs, "\n"), 0) end
  return status_of(state)
end

-- ---------------------------------------------------------------- scale
function M.scale(sess, ctx)
  local ts, c, conn = targets(sess, ctx, words_of(ctx))
  guard(sess, conn, "scale")
  local n = ctx.flags.replicas
  if not n then error('error: required flag(s) "replicas" not set', 0) end
  local state = {}
  for _, t in ipairs(ts) do
    local ns = ns_of(t.r, conn)
    -- as kubectl: the object first (a missing one in its words), --current-replicas checked against it
    local cur, err, kind = c:get_json(discovery.path(t.r, ns, t.name))
    if not cur and kind ~= "network" then
      error((tostring(err):gsub("^Error from server %(NotFound%): ", "error: no objects passed to scale ")), 0)
    end
    local want = ctx.flags["current-replicas"]
    if want and cur then
      local have = type(cur.spec) == "table" and cur.spec.replicas or nil
      if have ~= want then error(("error: Expected replicas to be %d, was %s"):format(want, tostring(have or 0)), 0) end
    end
    local op = offline.patch_op(sess, t.r, ns, t.name, { spec = { replicas = n } },
      ("scale %s%s --replicas %d"):format(qualified(t), ns and (" -n " .. ns) or "", n), { sub = "scale" })
    if offline.try(sess, ctx, c, conn, op, state) then ctx.out(qualified(t) .. " scaled\n") end
  end
  return status_of(state)
end

-- ---------------------------------------------------------------- rollout
local function rfc3339(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", t) end

-- a deployment's revisions: its replica sets by revision, newest first
local function revisions(c, ns, d)
  if not d then return {} end
  local rsl = c:get_json("/apis/apps/v1/namespaces/" .. ns .. "/replicasets")
  local revs = {}
  for _, rs in ipairs(rsl and rsl.items or {}) do
    for _, o in ipairs(rs.metadata.ownerReferences or {}) do
      if o.uid == d.metadata.uid then
        local rev = tonumber((rs.metadata.annotations or {})["deployment.kubernetes.io/revision"] or "")
        if rev then revs[#revs + 1] = { rev = rev, rs = rs } end
      end
    end
  end
  table.sort(revs, function(a, b) return a.rev > b.rev end)
  return revs
end

M.revisions = revisions

-- a daemon set's or stateful set's revisions: its ControllerRevisions, newest first
-- ({ rev, rs = the ControllerRevision (metadata, data: the template as a patch) })
local function controller_revisions(c, ns, d)
  local l = c:get_json("/apis/apps/v1/namespaces/" .. ns .. "/controllerrevisions")
  local revs = {}
  for _, cr in ipairs(l and l.items or {}) do
    for _, o in ipairs(cr.metadata.ownerReferences or {}) do
      if o.uid == d.metadata.uid and tonumber(cr.revision) then revs[#revs + 1] = { rev = tonumber(cr.revision), rs = cr } end
    end
  end
  table.sort(revs, function(a, b) return a.rev > b.rev end)
  return revs
end

-- the revision undo goes back to: --to-revision N, else the one before the newest
local function pick_revision(revs, want)
  for i, rv in ipairs(revs) do
    if (want and rv.rev == want) or (not want and i == 2) then return rv end
  end
end
M.pick_revision = pick_revision

-- the kinds kubectl's rollout knows (its "Kind.group" in the words it refuses others with)
local ROLLOUT_KINDS = { deployments = true, daemonsets = true, statefulsets = true }
local function kind_group(r) return r.kind .. (r.group ~= "" and ("." .. r.group) or "") end

-- the status line of a daemon set or stateful set, as kubectl's status viewers say it
-- -> message, done | nil, error
local function set_status(r, o)
  local sp, st, md = o.spec or {}, o.status or {}, o.metadata or {}
  local strategy = type(sp.updateStrategy) == "table" and sp.updateStrategy or {}
  if strategy.type ~= nil and strategy.type ~= "RollingUpdate" then
    return nil, "error: rollout status is only available for RollingUpdate strategy type"
  end
  if r.name == "daemonsets" then
    if (md.generation or 0) > (st.observedGeneration or 0) then return "Waiting for daemon set spec update to be observed..." end
    local want = st.desiredNumberScheduled or 0
    if (st.updatedNumberScheduled or 0) < want then
      return ("Waiting for daemon set %q rollout to finish: %d out of %d new pods have been updated..."):format(
        md.name, st.updatedNumberScheduled or 0, want)
    end
    if (st.numberAvailable or 0) < want then
      return ("Waiting for daemon set %q rollout to finish: %d of %d updated pods are available..."):format(
        md.name, st.numberAvailable or 0, want)
    end
    return ("daemon set %q successfully rolled out"):format(md.name), true
  end
  if (st.observedGeneration or 0) == 0 or (md.generation or 0) > (st.observedGeneration or 0) then
    return "Waiting for statefulset spec update to be observed..."
  end
  if sp.replicas and (st.readyReplicas or 0) < sp.replicas then
    return ("Waiting for %d pods to be ready..."):format(sp.replicas - (st.readyReplicas or 0))
  end
  local ru = strategy.rollingUpdate
  if strategy.type == "RollingUpdate" and type(ru) == "table" then
    if sp.replicas and ru.partition and (st.updatedReplicas or 0) < sp.replicas - ru.partition then
      return ("Waiting for partitioned roll out to finish: %d out of %d new pods have been updated..."):format(
        st.updatedReplicas or 0, sp.replicas - ru.partition)
    end
    return ("partitioned roll out complete: %d new pods have been updated..."):format(st.updatedReplicas or 0), true
  end
  if st.updateRevision ~= st.currentRevision then
    return ("waiting for statefulset rolling update to complete %d pods at revision %s..."):format(
      st.updatedReplicas or 0, tostring(st.updateRevision))
  end
  return ("statefulset rolling update complete %d pods at revision %s..."):format(st.currentReplicas or 0,
    tostring(st.currentRevision)), true
end

-- a revision's pod template: a deployment's replica set's, or what a ControllerRevision holds
local function revision_template(pick)
  if pick.rs.kind ~= "ControllerRevision" and pick.rs.spec then return pick.rs.spec.template end
  local data = pick.rs.data
  local tpl = type(data) == "table" and type(data.spec) == "table" and data.spec.template or nil
  if type(tpl) == "table" then tpl["$patch"] = nil end
  return tpl
end

function M.rollout(sess, ctx)
  local action = ctx.args.action

  local ts, c, conn = targets(sess, ctx, ctx.args.items or {})
  local env = sess.env
  local state = {}
  local function nsf(ns) return ns and (" -n " .. ns) or "" end
  for _, t in ipairs(ts) do
    local ns = ns_of(t.r, conn)
    if action == "restart" then
      if not ROLLOUT_KINDS[t.r.name] then
        error(('error: %s "%s" restarting is not supported'):format(t.r.name .. (t.r.group ~= "" and ("." .. t.r.group) or ""),
          t.name), 0)
      end
      guard(sess, conn, "rollout restart")
      -- the time the user asked: a second send of the same patch restarts nothing more
      local op = offline.patch_op(sess, t.r, ns, t.name, { spec = { template = { metadata = { annotations = {
        ["kubectl.kubernetes.io/restartedAt"] = rfc3339(env.time()) } } } } },
        ("rollout restart %s%s"):format(qualified(t), nsf(ns)))
      if offline.try(sess, ctx, c, conn, op, state) then ctx.out(qualified(t) .. " restarted\n") end
    elseif action == "status" and t.r.name ~= "deployments" then
      if not ROLLOUT_KINDS[t.r.name] then error("error: no status viewer has been implemented for " .. kind_group(t.r), 0) end
      local deadline = env.now() + (ctx.flags.timeout or 600) * 1000
      local last
      while true do
        local o, err = c:get_json(discovery.path(t.r, ns, t.name))
        if not o then error(err, 0) end
        local msg, done = set_status(t.r, o)
        if not msg then error(done, 0) end
        if msg ~= last then ctx.out(msg .. "\n"); last = msg end
        if done then break end
        if env.now() > deadline then error("error: timed out waiting for the condition", 0) end
        env.sleep(500)
      end
    elseif action == "status" then
      local deadline = env.now() + (ctx.flags.timeout or 600) * 1000
      local last
      while true do
        local d, err = c:get_json(discovery.path(t.r, ns, t.name))
        if not d then error(err, 0) end
        local sp, st = d.spec or {}, d.status or {}
        local want = sp.replicas or 1
        local msg
        if (st.observedGeneration or 0) < (d.metadata.generation or 0) then
          msg = ("Waiting for deployment spec update to be observed...")
        elseif (st.updatedReplicas or 0) < want then
          msg = ("Waiting for deployment %q rollout to finish: %d out of %d new replicas have been updated...")
            :format(t.name, st.updatedReplicas or 0, want)
        elseif (st.replicas or 0) > (st.updatedReplicas or 0) then
          msg = ("Waiting for deployment %q rollout to finish: %d old replicas are pending termination...")
            :format(t.name, (st.replicas or 0) - (st.updatedReplicas or 0))
        elseif (st.availableReplicas or 0) < (st.updatedReplicas or 0) then
          msg = ("Waiting for deployment %q rollout to finish: %d of %d updated replicas are available...")
            :format(t.name, st.availableReplicas or 0, st.updatedReplicas or 0)
        else
          ctx.out(("deployment %q successfully rolled out\n"):format(t.name))
          break
        end
        if msg ~= last then ctx.out(msg .. "\n"); last = msg end
        if env.now() > deadline then error("error: timed out waiting for the condition", 0) end
        env.sleep(500)
      end
    elseif action == "undo" and t.r.name ~= "deployments" then
      if not ROLLOUT_KINDS[t.r.name] then error(("error: no rollbacker has been implemented for %q"):format(kind_group(t.r)), 0) end
      guard(sess, conn, "rollout undo")
      local o, err = c:get_json(discovery.path(t.r, ns, t.name))
      if not o then error(err, 0) end
      local revs = controller_revisions(c, ns, o)
      local want = ctx.flags["to-revision"]
      local pick = pick_revision(revs, want)
      if not pick then
        error(want and ("error: unable to find specified revision %d in history"):format(want)
          or "error: no last revision to roll back to", 0)
      end
      -- the revision's data is the template as a strategic merge patch; already the current one: skipped
      local data = pick.rs.data
      local cur_tpl = env.jsonfmt.encode((o.spec or {}).template or {}, "", env.json.array_mt, true)
      local rev_tpl = type(data) == "table" and type(data.spec) == "table" and data.spec.template
      if rev_tpl and env.jsonfmt.encode(rev_tpl, "", env.json.array_mt, true) == cur_tpl or pick.rev == (revs[1] and revs[1].rev) then
        ctx.out(("%s skipped rollback (current template already matches revision %d)\n"):format(qualified(t), pick.rev))
      else
        patch(c, t.r, ns, t.name, env.json.encode(data), "application/strategic-merge-patch+json")
        ctx.out(qualified(t) .. " rolled back\n")
      end
    elseif action == "undo" then
      guard(sess, conn, "rollout undo")
      local d, err, kind = c:get_json(discovery.path(t.r, ns, t.name))
      if not d and kind == "network" then
        -- queued: the revision it goes back to is chosen when it is replayed
        local want = ctx.flags["to-revision"]
        local op = { kind = "undo", target = offline.target(t.r, ns, t.name), to_revision = want,
          send = { method = "PATCH", path = discovery.path(t.r, ns, t.name) .. util.query({ fieldManager = offline.MANAGER }),
                   content_type = "application/json-patch+json" },
          line = ("rollout undo %s%s%s"):format(qualified(t), nsf(ns), want and (" --to-revision " .. want) or "") }
        state.err = state.err or err
        state.queued = true
        offline.try(sess, ctx, c, conn, op, state)
        goto continue
      end
      if not d then error(err, 0) end
      local revs = revisions(c, ns, d)
      local want = ctx.flags["to-revision"]
      local pick = pick_revision(revs, want)
      if not pick then
        if want then error(("error: unable to find specified revision %d in history"):format(want), 0) end
        error(("error: no rollout history found for deployment %q"):format(t.name), 0)
      end
      local dry = dry_run(ctx.flags)
      if dry == "client" then
        ctx.out(("%s %s (dry run)\n"):format(qualified(t), require("k8s.describe").pod_template_raw(pick.rs.spec.template)))
        goto continue
      end
      local tmpl = pick.rs.spec.template
      if tmpl.metadata and tmpl.metadata.labels then tmpl.metadata.labels["pod-template-hash"] = nil end
      -- already the current template: kubectl skips it, and says so
      if env.jsonfmt.encode(tmpl, "", env.json.array_mt, true)
          == env.jsonfmt.encode(((d.spec or {}).template) or {}, "", env.json.array_mt, true) then
        ctx.out(("%s skipped rollback (current template already matches revision %d)\n"):format(qualified(t), pick.rev))
        goto continue
      end
      local body = env.json.encode({ { op = "replace", path = "/spec/template", value = tmpl } })
      patch(c, t.r, ns, t.name, body, "application/json-patch+json", nil, { dryRun = dry == "server" and "All" or nil })
      ctx.out(qualified(t) .. " rolled back" .. (dry == "server" and " (server dry run)" or "") .. "\n")
      ::continue::
    elseif action == "history" then
      if not ROLLOUT_KINDS[t.r.name] then error(("error: no history viewer has been implemented for %q"):format(kind_group(t.r)), 0) end
      local d, err = c:get_json(discovery.path(t.r, ns, t.name))
      if not d then error(err, 0) end
      local revs = t.r.name == "deployments" and revisions(c, ns, d) or controller_revisions(c, ns, d)
      if ctx.flags.revision then
        -- one revision's pod template, in kubectl's layout
        local pick
        for _, r in ipairs(revs) do if r.rev == ctx.flags.revision then pick = r end end
        if not pick then error(("error: unable to find the specified revision"), 0) end
        ctx.out(("%s with revision #%d\n%s\n"):format(qualified(t), pick.rev,
          require("k8s.describe").pod_template_raw(revision_template(pick))))
        goto continue_history
      end
      -- kubectl's: "KIND/NAME ", then REVISION and CHANGE-CAUSE (oldest first), a blank line
      local rows = { { "REVISION", "CHANGE-CAUSE" } }
      for i = #revs, 1, -1 do
        local cause = (revs[i].rs.metadata.annotations or {})["kubernetes.io/change-cause"]
        rows[#rows + 1] = { tostring(revs[i].rev), cause and cause ~= "" and cause or "<none>" }
      end
      local w1 = 0
      for _, r in ipairs(rows) do if #r[1] > w1 then w1 = #r[1] end end
      local out = { qualified(t) .. " " }
      for _, r in ipairs(rows) do out[#out + 1] = r[1] .. (" "):rep(w1 + 2 - #r[1]) .. r[2] end
      ctx.out(table.concat(out, "\n") .. "\n\n")
      ::continue_history::
    elseif action == "pause" or action == "resume" then
      guard(sess, conn, "rollout " .. action)
      local d, err, kind = current(sess, c, conn, t.r, ns, t.name)
      if not d and kind == "network" then state.err, state.queued = err, true end
      if not d and kind ~= "network" then error(err, 0) end
      local paused = d and (d.spec or {}).paused == true
      if d and paused == (action == "pause") then
        error(('error: %s "%s" is %s'):format(t.r.name .. (t.r.group ~= "" and ("." .. t.r.group) or ""), t.name,
          paused and "already paused" or "not paused"), 0)
      end
      if kind == "cached" then state.err, state.queued = err, true end
      local op = offline.patch_op(sess, t.r, ns, t.name, { spec = { paused = action == "pause" } },
        ("rollout %s %s%s"):format(action, qualified(t), nsf(ns)))
      if offline.try(sess, ctx, c, conn, op, state) then
        ctx.out(qualified(t) .. (action == "pause" and " paused\n" or " resumed\n"))
      end
    else
      error("k8s rollout: restart, status, undo, history, pause or resume", 0)
    end
  end
  return status_of(state)
end

-- ---------------------------------------------------------------- label / annotate
-- label and annotate: KEY=VALUE sets, KEY- removes; --overwrite, -l, --all
-- (-A), --list, --dry-run[=client|server], --resource-version, as kubectl
local function meta_patch(field, past)
  local unpast = field == "labels" and "unlabeled" or past
  return function(sess, ctx)
    local f = ctx.flags
    local words = words_of(ctx)
    local res_words, changes = {}, {}
    for _, w in ipairs(words) do
      if w:find("=") or (w:match("%-$") and #res_words >= 1) then changes[#changes + 1] = w else res_words[#res_words + 1] = w end
    end
    if #changes == 0 and not f.list then error("k8s " .. ctx.spec.name .. ": what to set? KEY=VALUE or KEY-", 0) end
    local ts, c, conn = selected(sess, ctx, res_words)
    if not ts then ts, c, conn = targets(sess, ctx, res_words) end
    if #ts == 0 then
      if not f.selector and not f.all then error("k8s " .. ctx.spec.name .. ": which names? (TYPE NAME…, TYPE/NAME, -l or --all)", 0) end
      return 0
    end
    local dry = dry_run(f)
    if not f.list and not dry then guard(sess, conn, ctx.spec.name) end
    local state = {}
    -- the object's map once the changes are made (kubectl's --list with changes shows it, sends nothing)
    local function changed_map(cur)
      local m = {}
      for k, v in pairs(type(cur.metadata[field]) == "table" and cur.metadata[field] or {}) do m[k] = v end
      for _, ch in ipairs(changes) do
        local k, v = ch:match("^([^=]+)=(.*)$")
        if k then m[k] = v else m[ch:sub(1, -2)] = nil end
      end
      return m
    end
    for _, t in ipairs(ts) do
      local ns = t.ns or ns_of(t.r, conn)
      local cur, err, kind = current(sess, c, conn, t.r, ns, t.name)
      if not cur and kind ~= "network" then error(err, 0) end
      if f.list then
        if not cur then error(err, 0) end
        local m = changed_map(cur)
        local keys = {}
        for k in pairs(m) do keys[#keys + 1] = k end
        table.sort(keys)
        local indent = ""
        if #ts > 1 then
          indent = " "
          ctx.out(("Listing %s for %s.%s/%s:\n"):format(field, t.r.kind, t.r.group, t.name))
        end
        for _, k in ipairs(keys) do ctx.out(("%s%s=%s\n"):format(indent, k, tostring(m[k]))) end
        goto next
      end
      do
        -- unreachable: checked against the cached copy, or (none kept) when it is replayed
        if kind == "network" or kind == "cached" then state.err, state.queued = err, true end
        local existing = cur and type(cur.metadata[field]) == "table" and cur.metadata[field] or {}
        local set, removed_missing = {}, {}
        local before, after = 0, 0
        for _ in pairs(existing) do before = before + 1 end
        local result = {}
        for k, v in pairs(existing) do result[k] = v end
        for _, ch in ipairs(changes) do
          local k, v = ch:match("^([^=]+)=(.*)$")
          if k then
            if existing[k] ~= nil and existing[k] ~= v and not f.overwrite then
              if field == "annotations" then
                error(("error: --overwrite is false but found the following declared annotation(s): '%s' already has a"
                  .. " value (%s)"):format(k, existing[k]), 0)
              end
              error(("error: '%s' already has a value (%s), and --overwrite is false"):format(k, existing[k]), 0)
            end
            set[k], result[k] = v, v
          else
            k = ch:sub(1, -2)
            if cur and existing[k] == nil then removed_missing[#removed_missing + 1] = k end
            set[k], result[k] = sess.env.json.null, nil
          end
        end
        for _ in pairs(result) do after = after + 1 end
        -- (no map at all yet: kubectl's object gains an empty one, which it counts as a change)
        local changed = not cur or type(cur.metadata[field]) ~= "table"
        for k, v in pairs(result) do if existing[k] ~= v then changed = true end end
        for k in pairs(existing) do if result[k] == nil then changed = true end end
        if field == "labels" then
          for _, k in ipairs(removed_missing) do ctx.out(('label "%s" not found.\n'):format(k)) end
        end
        local word = not changed and ("not " .. past) or (not f.overwrite and after < before) and unpast or past
        local suffix = dry == "client" and " (dry run)" or dry == "server" and " (server dry run)" or ""
        local body = { metadata = { [field] = set, resourceVersion = f["resource-version"] } }
        if f.output then
          -- -o: the object as it is (or would be) after the change, as kubectl prints it
          local obj = cur
          if not obj then error(err, 0) end
          if changed and dry ~= "client" then
            local res = patch(c, t.r, ns, t.name, sess.env.json.encode(body), nil, nil, { dryRun = dry == "server" and "All" or nil })
            obj = sess.env.json.decode(res.body)
          elseif changed then
            obj.metadata[field] = changed_map(obj)
          end
          M.print_object(sess.env, ctx, f.output, obj, qualified(t))
          goto next
        end
        if not changed or dry == "client" then
          ctx.out(qualified(t) .. " " .. word .. suffix .. "\n")
          goto next
        end
        if dry == "server" then
          patch(c, t.r, ns, t.name, sess.env.json.encode(body), nil, nil, { dryRun = "All" })
          ctx.out(qualified(t) .. " " .. word .. suffix .. "\n")
          goto next
        end
        local op = offline.patch_op(sess, t.r, ns, t.name, body,
          ("%s %s%s %s"):format(ctx.spec.name, qualified(t), ns and (" -n " .. ns) or "", table.concat(changes, " ")))
        if offline.try(sess, ctx, c, conn, op, state) then ctx.out(qualified(t) .. " " .. word .. "\n") end
      end
      ::next::
    end
    return status_of(state)
  end
end
-- the flags label and annotate take (kubectl's)
local function meta_flags(field)
  return { { name = "overwrite", type = "bool", help = "replace existing values" },
           { name = "selector", short = "l", type = "string", metavar = "SELECTOR", help = "every object of the type matching it" },
           { name = "all", type = "bool", help = "every object of the type in the namespace (with -A: in every namespace)" },
           { name = "list", type = "bool", help = "show the " .. field .. " instead of changing them" },
           { name = "dry-run", type = "enum", values = { "none", "client", "server" }, bare = "client", metavar = "MODE",
             help = "client: say what would change; server: ask the server; nothing is changed" },
           { name = "resource-version", type = "string", metavar = "RV",
             help = "change it only if it is still at this resourceVersion (else a conflict)" },
           { name = "output", short = "o", type = "string", metavar = "FORMAT", help = "name, yaml, json or jsonpath=…" } }
end
M.label = meta_patch("labels", "labeled")
M.annotate = meta_patch("annotations", "annotated")

-- ---------------------------------------------------------------- api-resources
-- kubectl api-resources from the session's discovery: groups in order of
-- name (the core group first), resources by name within each; -o wide|name,
-- --namespaced, --api-group, --verbs, --sort-by name|kind, --no-headers.
-- ---------------------------------------------------------------- version, api-versions, auth can-i, patch
-- kubectl's words, natively (no kubectl needed)
function M.version(sess, ctx)
  local c = sess:client(ctx.flags)
  local v, err = c:get_json("/version")
  local client = "Client Version: vcli " .. tostring(sess.env.vcli_version or (vcli and vcli.version) or "?")
  if ctx.flags.client then ctx.out(client .. "\n") return 0 end
  if not v then ctx.out(client .. "\n"); error(err, 0) end
  if ctx.flags.output == "json" or ctx.flags.output == "yaml" then
    local doc = { clientVersion = { gitVersion = "vcli" }, serverVersion = v }
    local text = ctx.flags.output == "json" and (sess.env.jsonfmt.encode(doc, "  ", sess.env.json.array_mt) .. "\n")
    ctx.out(text or sess.env.yaml.encode(doc))
    return 0
  end
  ctx.out(client .. "\nServer Version: " .. tostring(v.gitVersion) .. "\n")
  return 0
end

function M.api_versions(sess, ctx)
  local c = sess:client(ctx.flags)
  local out = {}
  local core, err = c:get_json("/api")
  if not core then error(err, 0) end
  for _, v in ipairs(core.versions or {}) do out[#out + 1] = v end
  local apis, err2 = c:get_json("/apis")
  if not apis then error(err2, 0) end
  for _, g in ipairs(apis.groups or {}) do
    for _, v in ipairs(g.versions or {}) do out[#out + 1] = v.groupVersion end
  end
  table.sort(out)
  ctx.out(table.concat(out, "\n") .. "\n")
  return 0
end

local CAN_I_VERBS = { get = true, list = true, watch = true, create = true, update = true, patch = true, delete = true,
  deletecollection = true, use = true, bind = true, impersonate = true, ["*"] = true, approve = true, sign = true,
  escalate = true, attest = true }
-- auth can-i VERB TYPE[/NAME] [NAME]: a SelfSubjectAccessReview as the session's identity;
-- "yes" (0) or "no" (1), as kubectl
function M.auth(sess, ctx)
  local f = ctx.flags
  local words = words_of(ctx)
  local sub = table.remove(words, 1)
  local c, conn = sess:client(f)
  if sub == "whoami" then
    local res, err = c:request{ method = "POST", path = "/apis/authentication.k8s.io/v1/selfsubjectreviews",
      body = '{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}', content_type = "application/json",
      accept = "application/json", timeout_ms = 30000 }
    if not res then
      if err:find("(NotFound)", 1, true) then
        error("error: the server doesn't have a resource type \"selfsubjectreviews\"", 0)
      end
      error(err, 0)
    end
    local doc = sess.env.json.decode(res.body) or {}
    local ui = type(doc.status) == "table" and doc.status.userInfo or {}
    local rows = { { "ATTRIBUTE", "VALUE" }, { "Username", tostring(ui.username) } }
    if type(ui.groups) == "table" and #ui.groups > 0 then rows[#rows + 1] = { "Groups", "[" .. table.concat(ui.groups, " ") .. "]" } end
    for _, r in ipairs(rows) do ctx.out(("%-12s%s\n"):format(r[1], r[2])) end
    return 0
  end
  if sub ~= "can-i" then error("k8s auth: can-i or whoami", 0) end
  local verb, what, name = words[1], words[2], words[3]
  if not verb or not what then error("error: you must specify two arguments: verb resource or verb resource/resourceName.", 0) end
  local attrs = { verb = verb }
  if what:sub(1, 1) == "/" then
    attrs = nil
  else
    -- kubectl's known verbs; "*" and users/groups are types without discovery
    if not CAN_I_VERBS[verb] then ctx.err(("Warning: verb '%s' is not a known verb\n\n"):format(verb)) end
    local t, n = what:match("^([^/]+)/(.+)$")
    if t then what, name = t, n end
    local r, rerr
    if what ~= "*" then r, rerr = sess:discovery(c):resolve(what) end
    if not r then
      if what ~= "*" and what ~= "users" and what ~= "groups" then
        ctx.err(("Warning: the server doesn't have a resource type '%s'\n\n"):format(what))
      end
      attrs.resource, attrs.group = what, ""
    else
      attrs.resource, attrs.group = r.name, r.group
      if not r.namespaced and not f["all-namespaces"] then
        ctx.err(("Warning: resource '%s' is not namespace scoped\n\n"):format(r.name))
      elseif not f["all-namespaces"] then
        attrs.namespace = conn.namespace
      end
      local _ = rerr
    end
    attrs.name = name
    if attrs.resource and attrs.resource:find("/") then attrs.resource, attrs.subresource = attrs.resource:match("^([^/]+)/(.+)$") end
  end
  local spec_ = attrs and { resourceAttributes = attrs } or { nonResourceAttributes = { verb = verb, path = what } }
  local body = sess.env.json.encode({ apiVersion = "authorization.k8s.io/v1", kind = "SelfSubjectAccessReview", spec = spec_ })
  local res, err = c:request{ method = "POST", path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body = body,
    content_type = "application/json", accept = "application/json", timeout_ms = 30000 }
  if not res then error(err, 0) end
  local doc = sess.env.json.decode(res.body) or {}
  local allowed = type(doc.status) == "table" and doc.status.allowed == true
  if f.quiet then return allowed and 0 or 1 end
  ctx.out(allowed and "yes\n" or "no\n")
  return allowed and 0 or 1
end

-- patch TYPE NAME -p PATCH [--type strategic|merge|json]: "patched", or
-- "patched (no change)" when the object did not move, as kubectl
local PATCH_TYPES = { strategic = "application/strategic-merge-patch+json", merge = "application/merge-patch+json",
                      json = "application/json-patch+json" }
function M.patch(sess, ctx)
  local f = ctx.flags
  local ts, c, conn = targets(sess, ctx, words_of(ctx))
  if not f.patch then error("error: must specify -p to patch", 0) end
  local ptype = PATCH_TYPES[f.type or "strategic"]
  if not ptype then error(('error: --type must be one of [json merge strategic], not "%s"'):format(tostring(f.type)), 0) end
  local dry = dry_run(f)
  if not dry then guard(sess, conn, "patch") end
  -- the patch is JSON or YAML, as kubectl takes it
  local doc = sess.env.json.decode(f.patch)
  if doc == nil then
    local y, yerr = sess.env.yaml.decode(f.patch, "the patch")
    if y == nil then error("error: unable to parse \"" .. f.patch .. "\": " .. tostring(yerr), 0) end
    doc = y
  end
  local body = sess.env.json.encode(doc)
  for _, t in ipairs(ts) do
    local ns = ns_of(t.r, conn)
    local before = c:get_json(discovery.path(t.r, ns, t.name))
    local res
    if dry == "client" then
      if not before then error(("Error from server (NotFound): %s %q not found"):format(discovery.kind_prefix(t.r), t.name), 0) end
      res = { body = sess.env.json.encode(before) }
    else
      res = patch(c, t.r, ns, t.name, body, ptype, nil, { dryRun = dry == "server" and "All" or nil, fieldManager = "kubectl-patch" })
    end
    local after = sess.env.json.decode(res.body or "")
    local moved = not before or not after or (before.metadata or {}).resourceVersion ~= (after.metadata or {}).resourceVersion
    if f.output == "name" then ctx.out(qualified(t) .. "\n")
    else
      -- (kubectl's patch says no "(dry run)")
      ctx.out(("%s %s\n"):format(qualified(t), (moved or dry) and "patched" or "patched (no change)"))
    end
  end
  return 0
end

-- config current-context | get-contexts [NAME] (-o name, --no-headers), from the session's kubeconfig
-- kubectl config view: the merged kubeconfig (the first file to name an
-- entry wins, as kubectl merges), secrets shown as kubectl shows them
-- (REDACTED, DATA+OMITTED) unless --raw; --minify: only the current context's
-- cluster and user; -o yaml (default) or json (kubectl's field order)
local REDACT = { token = "REDACTED", password = "REDACTED", ["client-key-data"] = "DATA+OMITTED",
                 ["client-certificate-data"] = "DATA+OMITTED", ["certificate-authority-data"] = "DATA+OMITTED" }
local ORDER = {
  config = { "kind", "apiVersion", "preferences", "clusters", "users", "contexts", "current-context", "extensions" },
  cluster = { "server", "tls-server-name", "insecure-skip-tls-verify", "certificate-authority",
              "certificate-authority-data", "proxy-url", "disable-compression", "extensions" },
  user = { "client-certificate", "client-certificate-data", "client-key", "client-key-data", "token", "tokenFile",
           "as", "as-uid", "as-groups", "as-user-extra", "username", "password", "auth-provider", "exec", "extensions" },
  context = { "cluster", "user", "namespace", "extensions" },
  exec = { "command", "args", "env", "apiVersion", "installHint", "provideClusterInfo", "interactiveMode" },
  named = { "name", "cluster", "user", "context" },
}
function M.config_view(sess, ctx, kc, cur_ctx)
  local env, f = sess.env, ctx.flags
  local out_fmt = f.output or "yaml"
  local jp_src = out_fmt:match("^jsonpath=(.+)$")
  if out_fmt ~= "yaml" and out_fmt ~= "json" and not jp_src then
    error(('error: unable to match a printer suitable for the output format "%s", allowed formats are: json,jsonpath,yaml')
      :format(out_fmt), 0)
  end
  local jp = jp_src and require("k8s.jsonpath")
  local tpl = jp and jp.parse(jp_src)
  local arr = env.json.array_mt
  local function copy(v)
    if type(v) ~= "table" then return v end
    local o = setmetatable({}, getmetatable(v))
    for k, x in pairs(v) do o[k] = copy(x) end
    return o
  end
  local function entries(key, inner, only)
    local list = setmetatable({}, arr)
    local names = {}
    for n in pairs(kc[key]) do if not only or only[n] then names[#names + 1] = n end end
    table.sort(names)
    for _, n in ipairs(names) do
      local data = copy(kc[key][n].data)
      if not f.raw then for k, v in pairs(REDACT) do if data[k] ~= nil then data[k] = v end end end
      -- what kubectl's Go structs make of it: false left out, exec's defaults filled in
      for _, k in ipairs({ "insecure-skip-tls-verify", "disable-compression" }) do
        if data[k] == false then data[k] = nil end
      end
      local ex = inner == "user" and type(data.exec) == "table" and data.exec
      if ex then
        if ex.env == nil then ex.env = env.json.null end
        if ex.provideClusterInfo == nil then ex.provideClusterInfo = false end
        if ex.interactiveMode == nil and tostring(ex.apiVersion):match("v1beta1$") then ex.interactiveMode = "IfAvailable" end
      end
      list[#list + 1] = { name = n, [inner] = data, __inner = inner }
    end
    return list
  end
  local only_ctx, only_cl, only_us
  if f.minify then
    if not cur_ctx or not kc.contexts[cur_ctx] then error("error: current-context must exist in order to minify", 0) end
    local d = kc.contexts[cur_ctx].data or {}
    only_ctx, only_cl, only_us = { [cur_ctx] = true }, { [tostring(d.cluster)] = true }, { [tostring(d.user)] = true }
  end
  local doc = { kind = "Config", apiVersion = "v1", preferences = {},
                clusters = entries("clusters", "cluster", only_cl), users = entries("users", "user", only_us),
                contexts = entries("contexts", "context", only_ctx), ["current-context"] = cur_ctx or "" }
  if out_fmt == "yaml" or tpl then
    local function strip(v)
      if type(v) ~= "table" then return v end
      v.__inner = nil
      for _, x in pairs(v) do strip(x) end
      return v
    end
    if tpl then
      ctx.out(jp.execute(tpl, strip(doc), env.json.null, function(v) return (env.jsonfmt.encode(v, "", arr, true)) end))
      return 0
    end
    ctx.out(env.yaml.encode(strip(doc)))
    return 0
  end
  -- JSON in kubectl's order (Go's struct fields), four spaces as kubectl indents
  local function enc(v, kind, ind)
    if type(v) ~= "table" then return env.jsonfmt.encode(v, ind, arr) end
    local pad = ind .. "    "
    if getmetatable(v) == arr or v[1] ~= nil then
      if #v == 0 then return "[]" end
      local parts = {}
      for i, x in ipairs(v) do parts[i] = pad .. enc(x, kind == "list" and "named" or nil, pad) end
      return "[\n" .. table.concat(parts, ",\n") .. "\n" .. ind .. "]"
    end
    local keys, seen = {}, { __inner = true }
    for _, k in ipairs(ORDER[kind] or {}) do if v[k] ~= nil then keys[#keys + 1] = k; seen[k] = true end end
    local rest = {}
    for k in pairs(v) do if not seen[k] then rest[#rest + 1] = k end end
    table.sort(rest)
    for _, k in ipairs(rest) do keys[#keys + 1] = k end
    if #keys == 0 then return "{}" end
    local parts = {}
    for i, k in ipairs(keys) do
      local child
      if kind == "config" and (k == "clusters" or k == "users" or k == "contexts") then child = "list"
      elseif kind == "named" and k == v.__inner then child = k
      elseif kind == "user" and k == "exec" then child = "exec" end
      parts[i] = pad .. env.jsonfmt.encode(k, "", arr) .. ": " .. enc(v[k], child, pad)
    end
    return "{\n" .. table.concat(parts, ",\n") .. "\n" .. ind .. "}"
  end
  ctx.out(enc(doc, "config", "") .. "\n")
  return 0
end

-- config use-context NAME: the kubeconfig's current-context line set (the file kubectl would
-- write: --kubeconfig, else KUBECONFIG's one file or first existing one, else ~/.kube/config),
-- the rest of the file as it was; the session follows it
function M.use_context(sess, ctx, kc, name, extra)
  local env = sess.env
  if not name or extra then
    error(("error: Unexpected args: [%s]"):format(table.concat({ name, extra }, " ")), 0)
  end
  if not kc.contexts[name] then error(('error: no context exists with the name: "%s"'):format(name), 0) end
  local files = kc.files or {}
  local file = files[1]
  if #files > 1 then
    for _, fpath in ipairs(files) do
      if env.read_file(fpath) then file = fpath break end
      file = fpath   -- none exists: the last one, as kubectl
    end
  end
  if not file then error("error: no kubeconfig file to write", 0) end
  local text = env.read_file(file) or ""
  local new, n = text:gsub("\ncurrent%-context:[^\n]*", "\ncurrent-context: " .. name, 1)
  if n == 0 then new, n = text:gsub("^current%-context:[^\n]*", "current-context: " .. name, 1) end
  if n == 0 then new = text .. (text == "" or text:sub(-1) == "\n" and "" or "\n") .. "current-context: " .. name .. "\n" end
  local ok, werr = env.write_file(file, new)
  if not ok and werr then
    error(("error: cannot write %s: %s (the kubernetes plugin writes kubeconfig files under ~/.kube and /tmp)")
      :format(file, tostring(werr)), 0)
  end
  sess.context = nil
  sess:reload()
  ctx.out(('Switched to context "%s".\n'):format(name))
  return 0
end

function M.config(sess, ctx)
  local f = ctx.flags
  local words = words_of(ctx)
  local sub = words[1]
  local kc = sess:kc(f)
  -- the session's context: k8s ctx switched it, --context names it, else the file's current-context
  local cur_ctx = f.context or sess.context or kc.current_context
  if sub == "current-context" then
    if not cur_ctx then error("error: current-context is not set", 0) end
    ctx.out(cur_ctx .. "\n")
    return 0
  end
  if sub == "view" then return M.config_view(sess, ctx, kc, cur_ctx) end
  if sub == "use-context" or sub == "use" then return M.use_context(sess, ctx, kc, words[2], words[3]) end
  if sub ~= "get-contexts" then
    error("k8s config: view, current-context, get-contexts or use-context (others through kubectl: k8s config "
      .. tostring(sub) .. " …)", 0)
  end
  if f.output and f.output ~= "name" then error("error: output must be one of '' or 'name'", 0) end
  local names = {}
  if words[2] then
    for i = 2, #words do
      if not kc.contexts[words[i]] then
        if not f["no-headers"] and f.output ~= "name" then ctx.out("CURRENT   NAME   CLUSTER   AUTHINFO   NAMESPACE\n") end
        error(("error: context %s not found"):format(words[i]), 0)
      end
      names[#names + 1] = words[i]
    end
  else
    names = require("k8s.kubeconfig").context_names(kc)
  end
  if f.output == "name" then
    for _, n in ipairs(names) do ctx.out(n .. "\n") end
    return 0
  end
  local rows = f["no-headers"] and {} or { { "CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE" } }
  for _, n in ipairs(names) do
    local d = kc.contexts[n].data or {}
    rows[#rows + 1] = { n == cur_ctx and "*" or "", n, tostring(d.cluster or ""), tostring(d.user or ""), tostring(d.namespace or "") }
  end
  -- kubectl's tabwriter: columns 3 apart, no padding after the last
  local w = {}
  for _, r in ipairs(rows) do for i, cell in ipairs(r) do if #cell > (w[i] or 0) then w[i] = #cell end end end
  for _, r in ipairs(rows) do
    local line = {}
    for i, cell in ipairs(r) do line[i] = i < #r and (cell .. (" "):rep(w[i] - #cell + 3)) or cell end
    ctx.out((table.concat(line):gsub("%s+$", "")) .. "\n")
  end
  return 0
end

-- cluster-info: the control plane's address and the cluster services (kubernetes.io/cluster-service)
function M.cluster_info(sess, ctx)
  local c, conn = sess:client(ctx.flags)
  if (ctx.args.items or {})[1] == "dump" then
    return delegate(sess, ctx, { "cluster-info", "dump" }, "cluster-info dump")
  end
  local ok, err = c:get_json("/version")
  if not ok then error(err, 0) end
  ctx.out(("Kubernetes control plane is running at %s\n"):format(conn.server))
  local l = c:get_json("/api/v1/namespaces/kube-system/services" .. util.query({ labelSelector = "kubernetes.io/cluster-service=true" }))
  for _, svc in ipairs(l and l.items or {}) do
    local name = svc.metadata.name
    local port = ((svc.spec or {}).ports or {})[1]
    local link = port and (port.name and port.name ~= "" and port.name or tostring(port.port)) or nil
    local title = (svc.metadata.labels or {})["kubernetes.io/name"] or name
    ctx.out(("%s is running at %s/api/v1/namespaces/kube-system/services/%s%s/proxy\n"):format(title, conn.server,
      (port and port.name == "https") and "https:" or "", name .. (link and (":" .. link) or "")))
  end
  ctx.out("\nTo further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.\n")
  return 0
end

-- wait --for=condition=C[=V] | delete | jsonpath={…}=V  TYPE/NAME… | TYPE -l SEL | TYPE --all
function M.wait(sess, ctx)
  local f = ctx.flags
  local env = sess.env
  local words = words_of(ctx)
  local want = f["for"]
  if not want then error("error: --for must be specified", 0) end
  local ts, c, conn = selected(sess, ctx, words)
  if not ts then ts, c, conn = targets(sess, ctx, words) end
  if #ts == 0 then error("error: no matching resources found", 0) end
  local cond, cval = want:match("^condition=([^=]+)=?(.*)$")
  local jp_expr, jp_val = want:match("^jsonpath=(.-)=([^=]*)$")
  if not jp_expr then jp_expr = want:match("^jsonpath=(.+)$") end
  if not cond and want ~= "delete" and not jp_expr then
    error(('error: unrecognized condition: "%s"'):format(want), 0)
  end
  if cval == "" then cval = "true" end
  local jsonpath = require("k8s.jsonpath")
  local jp = jp_expr and (jp_expr:gsub("^'(.*)'$", "%1"))
  if jp then jsonpath.eval(jp, {}, env.json.null) end   -- a bad expression: said before waiting
  local deadline = env.now() + (f.timeout or 30) * 1000
  local errs = {}
  for _, t in ipairs(ts) do
    local ns = t.ns or ns_of(t.r, conn)
    local path = discovery.path(t.r, ns, t.name)
    local met, first = false, true
    while true do
      local obj, err, kind = c:get_json(path)
      if want == "delete" then
        if not obj and kind == "http" and err:find("(NotFound)", 1, true) then
          if first then break end   -- already gone: nothing to say, as kubectl
          met = true
        end
      elseif not obj then
        if kind == "http" then errs[#errs + 1] = err break end
      elseif cond then
        for _, cd in ipairs(type(obj.status) == "table" and type(obj.status.conditions) == "table" and obj.status.conditions or {}) do
          if tostring(cd.type):lower() == cond:lower() and tostring(cd.status):lower() == cval:lower() then met = true end
        end
      else
        local vals = jsonpath.eval(jp, obj, env.json.null)
        if jp_val then
          for _, v in ipairs(vals) do if jsonpath.text(v, env.json.null) == jp_val then met = true end end
        else
          met = #vals > 0
        end
      end
      if met then
        ctx.out(("%s %s\n"):format(qualified(t), want == "delete" and "deleted" or "condition met"))
        break
      end
      if env.now() >= deadline then
        errs[#errs + 1] = ("timed out waiting for the condition on %s/%s"):format(t.r.name, t.name)
        break
      end
      first = false
      env.sleep(500)
    end
  end
  -- (one is kubectl's "error: …"; several, a line each without it)
  if #errs == 1 and errs[1]:match("^timed out") then errs[1] = "error: " .. errs[1] end
  if #errs > 0 then error(table.concat(errs, "\n"), 0) end
  return 0
end

function M.api_resources(sess, ctx)
  local f = ctx.flags
  local c = sess:client(f)
  local list, err = sess:discovery(c):resources()
  if not list then error(err, 0) end
  local want_verbs = {}
  for v in (f.verbs or ""):gmatch("[^,%s]+") do want_verbs[#want_verbs + 1] = v end
  local rows, at = {}, {}
  for i, r in ipairs(list) do
    at[r] = i
    local keep = (f["api-group"] == nil or r.group == f["api-group"])
      and (f.namespaced == nil or r.namespaced == f.namespaced)
    if keep then
      local has = {}
      for _, v in ipairs(r.verbs or {}) do has[v] = true end
      for _, v in ipairs(want_verbs) do if not has[v] then keep = false end end
    end
    if keep then rows[#rows + 1] = r end
  end
  local by = f["sort-by"]
  if by and by ~= "name" and by ~= "kind" then
    error(('error: --sort-by accepts only name or kind, got "%s"'):format(by), 0)
  end
  -- (--sort-by keeps the server's order between equal keys, as kubectl's stable sort)
  table.sort(rows, function(a, b)
    if by == "kind" then
      if a.kind ~= b.kind then return a.kind < b.kind end
      return at[a] < at[b]
    elseif by == "name" then
      if a.name ~= b.name then return a.name < b.name end
      return at[a] < at[b]
    end
    if a.group ~= b.group then return a.group < b.group end
    return a.name < b.name
  end)
  if f.output == "name" then
    local out = {}
    for i, r in ipairs(rows) do out[i] = r.name .. (r.group ~= "" and ("." .. r.group) or "") end
    if #out > 0 then ctx.out(table.concat(out, "\n") .. "\n") end
    return 0
  end
  local wide = f.output == "wide"
  local heads = { "NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND" }
  if wide then heads[6], heads[7] = "VERBS", "CATEGORIES" end
  local defs = {}
  for i, h in ipairs(heads) do defs[i] = { name = h, priority = 0 } end
  local trows = {}
  for i, r in ipairs(rows) do
    local cells = { r.name, table.concat(r.shortNames or {}, ","), r.gv, tostring(r.namespaced), r.kind }
    if wide then cells[6], cells[7] = table.concat(r.verbs or {}, ","), table.concat(r.categories or {}, ",") end
    trows[i] = { cells = cells }
  end
  local tp = printer.table_printer({ out = ctx.out, keep_case = true, no_headers = f["no-headers"] })
  tp:feed({ columnDefinitions = defs, rows = trows })
  if #trows == 0 and not f["no-headers"] then tp:header() end
  return 0
end

-- ---------------------------------------------------------------- cordon
local function cordon(flag, past)
  return function(sess, ctx)
    local c, conn = sess:client(ctx.flags)
    local verb = flag and "cordon" or "uncordon"
    guard(sess, conn, verb)
    local state = {}
    local r = { group = "", gv = "v1", name = "nodes", namespaced = false, kind = "Node" }
    for _, n in ipairs(ctx.args.nodes) do
      n = n:match("^nodes?/(.+)$") or n
      local node, err, kind = current(sess, c, conn, r, nil, n)
      if not node and kind ~= "network" then error(err, 0) end
      if kind == "network" or kind == "cached" then state.err, state.queued = err, true end
      if node and ((node.spec or {}).unschedulable == true) == flag then
        ctx.out("node/" .. n .. " already " .. past .. "\n")
      else
        local op = offline.patch_op(sess, r, nil, n, { spec = { unschedulable = flag or sess.env.json.null } },
          verb .. " node/" .. n)
        if offline.try(sess, ctx, c, conn, op, state) then ctx.out("node/" .. n .. " " .. past .. "\n") end
      end
    end
    return status_of(state)
  end
end
M.cordon = cordon(true, "cordoned")
M.uncordon = cordon(false, "uncordoned")

-- ---------------------------------------------------------------- taint
-- kubectl taint nodes NAME|-l SEL|--all KEY[=VALUE]:EFFECT… KEY[:EFFECT]-…
local EFFECTS = { NoSchedule = true, PreferNoSchedule = true, NoExecute = true }
local function parse_taints(words)
  local add, del = {}, {}
  for _, w in ipairs(words) do
    if w:sub(-1) == "-" then
      local key, eff = w:sub(1, -2):match("^([^:=]+):?(.*)$")
      if not key then error(("error: invalid taint spec: %s"):format(w), 0) end
      if eff ~= "" and not EFFECTS[eff] then
        error(("error: invalid taint effect: %s, unsupported taint effect"):format(eff), 0)
      end
      del[#del + 1] = { key = key, effect = eff ~= "" and eff or nil, spec = w:sub(1, -2) }
    else
      local kv, eff = w:match("^(.+):([^:]+)$")
      if not kv then error(("error: invalid taint spec: %s, unknown taint effect"):format(w), 0) end
      if not EFFECTS[eff] then error(("error: invalid taint effect: %s, unsupported taint effect"):format(eff), 0) end
      local key, value = kv:match("^([^=]+)=(.*)$")
      add[#add + 1] = { key = key or kv, value = value ~= "" and value or nil, effect = eff }
    end
  end
  return add, del
end

function M.taint(sess, ctx)
  local f = ctx.flags
  local words = words_of(ctx)
  local c, conn = sess:client(f)
  local dry = dry_run(f)
  if not dry then guard(sess, conn, "taint") end
  local ty = table.remove(words, 1)
  if not ty or not (ty == "node" or ty == "nodes" or ty == "no" or ty:match("^nodes?/")) then
    error("error: only nodes can be tainted: taint nodes NAME KEY[=VALUE]:EFFECT", 0)
  end
  local r = { group = "", gv = "v1", name = "nodes", namespaced = false, kind = "Node" }
  local names = {}
  if ty:match("^nodes?/") then names[1] = ty:match("/(.+)$")
  elseif not f.all and not f.selector then names[1] = table.remove(words, 1) end
  if #words == 0 then error("error: at least one taint update is required", 0) end
  local add, del = parse_taints(words)
  if f.all or f.selector then
    local list, err = c:get_json("/api/v1/nodes" .. util.query({ labelSelector = f.selector }))
    if not list then error(err, 0) end
    for _, it in ipairs(list.items or {}) do names[#names + 1] = it.metadata.name end
  end
  if #names == 0 or not names[1] then error("error: a node name, -l SELECTOR or --all is required", 0) end
  local arr = sess.env.json.array_mt
  local state, status = {}, 0
  for _, n in ipairs(names) do
    local node, err = current(sess, c, conn, r, nil, n)
    if not node then error(err, 0) end
    local taints = setmetatable({}, arr)
    for _, t in ipairs((node.spec or {}).taints or {}) do taints[#taints + 1] = t end
    local changed_add, changed_del = false, false
    for _, d in ipairs(del) do
      local kept, found = setmetatable({}, arr), false
      for _, t in ipairs(taints) do
        if t.key == d.key and (not d.effect or t.effect == d.effect) then found = true else kept[#kept + 1] = t end
      end
      if not found then error(('error: taint %q not found'):format(d.spec), 0) end
      taints, changed_del = kept, true
    end
    for _, a in ipairs(add) do
      local at
      for i, t in ipairs(taints) do if t.key == a.key and t.effect == a.effect then at = i end end
      if at and not f.overwrite then
        error(("error: node %s already has %s taint(s) with same effect(s) and --overwrite is false"):format(n, a.key), 0)
      end
      local t = { key = a.key, value = a.value, effect = a.effect }
      if at then taints[at] = t else taints[#taints + 1] = t end
      changed_add = true
    end
    local word = (changed_add and changed_del) and "modified" or changed_add and "tainted" or "untainted"
    local suffix = dry == "client" and " (dry run)" or dry == "server" and " (server dry run)" or ""
    if dry == "client" then
      ctx.out(("node/%s %s%s\n"):format(n, word, suffix))
    else
      local body = { spec = { taints = #taints > 0 and taints or sess.env.json.null } }
      if dry == "server" then
        local res, perr = c:request{ method = "PATCH", path = discovery.path(r, nil, n) .. util.query({ dryRun = "All" }),
          body = sess.env.json.encode(body), content_type = "application/merge-patch+json", accept = "application/json",
          timeout_ms = 30000 }
        if not res then error(perr, 0) end
        ctx.out(("node/%s %s%s\n"):format(n, word, suffix))
      else
        local op = offline.patch_op(sess, r, nil, n, body, "taint node/" .. n)
        if offline.try(sess, ctx, c, conn, op, state) then ctx.out(("node/%s %s\n"):format(n, word)) end
      end
    end
  end
  if state.queued then return status_of(state) end
  return status
end

-- -k DIR: what kubectl kustomize (or kustomize build) makes of DIR, in -f's place (its
-- warnings on stderr as kubectl prints them); manifest_objects reads it from kustomized
function M.with_kustomize(sess, ctx)
  local f, env = ctx.flags, sess.env
  if not f.kustomize then return end
  if f.filename and #f.filename > 0 then error("error: only one of -f or -k can be specified", 0) end
  local dir = f.kustomize
  local argv = env.which("kubectl") and { "kubectl", "kustomize", dir }
    or env.which("kustomize") and { "kustomize", "build", dir } or nil
  if not argv then
    error(("error: -k %s needs kubectl (kubectl kustomize) or kustomize on PATH; neither is installed"):format(dir), 0)
  end
  local code, kout, kerr = env.spawn(argv)
  kerr = kerr or ""
  if code ~= 0 then
    -- kubectl reports it through klog ("command failed" err="…"): kubectl's own words are the err
    local msg = kerr:match('"command failed" err="(.-)"\n?$')
    msg = msg and ("error: " .. msg:gsub('\\"', '"')) or (kerr ~= "" and kerr or kout or ""):gsub("%s+$", "")
    error((msg:gsub("^Error: ", "error: ")), 0)
  end
  if kerr ~= "" then ctx.err(kerr) end
  f.filename = { "kustomize:" .. dir }
  kustomized["kustomize:" .. dir] = kout
end

-- ---------------------------------------------------------------- apply (server-side)
kustomized = {}
-- the manifest files of -f PATH: a file, "-" (standard input), every
-- .yaml/.yml/.json of a directory (-R: of its subdirectories too)
local function manifest_files(env, path, recursive)
  if path:match("%.ya?ml$") or path:match("%.json$") or path == "-" or path:match("^https?://")
    or path:match("^kustomize:") then return { path } end
  local list = env.list_dir and env.list_dir(path)
  if not list then return { path } end
  local out = {}
  table.sort(list)
  for _, f in ipairs(list) do
    local full = path:gsub("/$", "") .. "/" .. f
    if f:match("%.ya?ml$") or f:match("%.json$") then out[#out + 1] = full
    elseif recursive and not f:find("^%.") then
      local sub = env.list_dir(full)
      if sub then for _, x in ipairs(manifest_files(env, full, true)) do if x ~= full then out[#out + 1] = x end end end
    end
  end
  return out
end

-- The objects of manifest files/dirs (-f, repeatable): { r=, name=, ns=, doc=,
-- file=, index= } each. A YAML error is file:line:col; a document without
-- apiVersion/kind/name, of a kind the server lacks (discovery asked again
-- once: a CRD applied a moment ago), or in another namespace than -n says, is
-- named by file and number. opts.each: such a document is an entry { err= }
-- in its place and the others go on (apply); otherwise the first one raises,
-- before anything is used.
local function manifest_objects(sess, c, conn, files, verb, opts)
  opts = opts or {}
  local env = sess.env
  local d = sess:discovery(c)
  if #files == 0 then error(("k8s %s: -f FILE|DIR is required"):format(verb), 0) end
  local out = {}
  local function bad(msg, file, i)
    if not opts.each then error(msg, 0) end
    out[#out + 1] = { err = msg, file = file, index = i }
  end
  local refreshed = false
  local function find(kind, group)
    for pass = 1, 2 do
      local served, derr = d:resources(pass == 2)
      if not served then return nil, derr end
      for _, cand in ipairs(served) do
        if cand.kind == kind and cand.group == group and not cand.name:find("/") then return cand end
      end
      if refreshed then return nil end
      refreshed = true
    end
  end
  local stdin_text
  for _, fpath in ipairs(files) do
    for _, file in ipairs(manifest_files(env, fpath, opts.recursive)) do
      local text, rerr
      if file == "-" then
        if not stdin_text then stdin_text, rerr = env.read_stdin() end
        text = stdin_text
      elseif file:match("^kustomize:") then   -- -k DIR: built by with_kustomize (kept for this read only)
        text = kustomized[file]
        kustomized[file] = nil
      elseif file:match("^https?://") then   -- -f URL, as kubectl fetches it
        local res, herr
        if env.http then res, herr = env.http.request({ url = file, method = "GET", timeout_ms = 30000 }) end
        if not res then rerr = herr or "cannot fetch it"
        elseif res.status ~= 200 then rerr = ("the server answered %d"):format(res.status)
        else text = res.body end
      else
        text, rerr = env.read_file(file)
        -- as kubectl: a path that is not there stops everything, before anything is sent
        if not text and tostring(rerr):find("no such file or directory", 1, true) then
          error(("error: the path %q does not exist"):format(file), 0)
        end
      end
      local name_of = file == "-" and "STDIN" or file:gsub("^kustomize:", "")
      local docs, yerr
      if text then docs, yerr = env.yaml.decode_all(text, name_of) end
      if not text then bad(("k8s %s: %s: %s"):format(verb, name_of, rerr or "cannot read"), name_of)
      elseif not docs then bad(yerr, name_of)
      else
        local items = {}
        for i, doc in ipairs(docs) do
          -- a List (kubectl get -o yaml's output) holds its objects in items
          if type(doc) == "table" and type(doc.kind) == "string" and doc.kind:match("List$") and type(doc.items) == "table" then
            for _, it in ipairs(doc.items) do items[#items + 1] = { doc = it, i = i } end
          else
            items[#items + 1] = { doc = doc, i = i }
          end
        end
        for _, item in ipairs(items) do
          local doc, i = item.doc, item.i
          if type(doc) == "table" then
            local kind, av = doc.kind, doc.apiVersion
            local name = type(doc.metadata) == "table" and doc.metadata.name
            if type(kind) ~= "string" or type(av) ~= "string" then
              bad(("%s: document %d: apiVersion and kind are required"):format(name_of, i), name_of, i)
            else
              local group = av:find("/") and av:match("^(.*)/") or ""
              local r, derr = find(kind, group)
              local dns = type(doc.metadata) == "table" and doc.metadata.namespace or nil
              local flag_ns = opts.namespace_flag
              if derr then
                bad(("%s: document %d: cannot tell which types the server serves: %s"):format(name_of, i, derr), name_of, i)
              elseif not r then
                bad(('error: resource mapping not found for name: %q namespace: %q from %q: no matches for kind %q in'
                  .. ' version %q\nensure CRDs are installed first'):format(tostring(name or ""), tostring(dns or ""),
                  name_of, kind, av), name_of, i)
                -- (apply asks again once an earlier document is applied: a CRD in the same file)
                if opts.each then out[#out].retry = { kind = kind, group = group, doc = doc, name = name, dns = dns } end
              elseif not name then
                bad(("%s: document %d: metadata.name is required"):format(name_of, i), name_of, i)
              elseif r.namespaced and flag_ns and dns and dns ~= flag_ns then
                bad(("error: the namespace from the provided object %q does not match the namespace %q."
                  .. " You must pass '--namespace=%s' to perform this operation."):format(dns, flag_ns, dns), name_of, i)
              else
                out[#out + 1] = { r = r, name = name, doc = doc, file = name_of, index = i,
                                  ns = r.namespaced and (dns or conn.namespace) or nil }
              end
            end
          end
        end
      end
    end
  end
  return out
end

M.manifest_objects = manifest_objects

-- kubectl's apply: client-side (a three-way merge against the last applied
-- configuration, k8s/apply.lua) unless --server-side; every document is
-- tried and each one's result said; 1 when any failed
-- apply --prune: the objects of the prunable types (kubectl's default list, or
-- --prune-allowlist GROUP/VERSION/KIND…) that match -l (or --all), were applied
-- once (they carry the last-applied annotation) and are not in these manifests,
-- deleted: in the namespaces the manifests went to, cluster-wide for the others
local PRUNE_DEFAULT = { "/v1/ConfigMap", "/v1/Endpoints", "/v1/Namespace", "/v1/PersistentVolumeClaim",
  "/v1/PersistentVolume", "/v1/Pod", "/v1/ReplicationController", "/v1/Secret", "/v1/Service", "batch/v1/Job",
  "batch/v1/CronJob", "networking.k8s.io/v1/Ingress", "apps/v1/DaemonSet", "apps/v1/Deployment", "apps/v1/ReplicaSet",
  "apps/v1/StatefulSet" }
-- the types --prune looks at, checked before anything is applied
function M.prune_types(f)
  local list = (f["prune-allowlist"] and #f["prune-allowlist"] > 0) and f["prune-allowlist"] or PRUNE_DEFAULT
  for _, gvk in ipairs(list) do
    if not gvk:match("^(.-)/([^/]+)/([^/]+)$") then
      error(("error: invalid GroupVersionKind format: %s, please follow <group/version/kind>"):format(gvk), 0)
    end
  end
  return list
end
function M.prune(sess, ctx, c, objs, applied, dry, suffix, out_fmt)
  local f = ctx.flags
  local served = sess:discovery(c):resources() or {}
  local namespaces, nsl = {}, {}
  for _, o in ipairs(objs) do
    if o.r and o.r.namespaced and o.ns and not namespaces[o.ns] then namespaces[o.ns] = true; nsl[#nsl + 1] = o.ns end
  end
  for _, gvk in ipairs(M.prune_types(f)) do
    local group, version, kind = gvk:match("^(.-)/([^/]+)/([^/]+)$")
    local r
    for _, cand in ipairs(served) do
      if cand.kind == kind and cand.group == group and cand.version == version and not cand.name:find("/") then r = cand end
    end
    -- (a type this server does not serve at that version: nothing of it to prune)
    if r then
      for _, ns in ipairs(r.namespaced and nsl or { false }) do
        local path = discovery.path(r, ns or nil) .. util.query({ labelSelector = f.selector })
        local l, err = c:get_json(path)
        if not l then error(err, 0) end
        for _, it in ipairs(l.items or {}) do
          local md = it.metadata or {}
          local ann = type(md.annotations) == "table" and md.annotations or {}
          local key = r.name .. "|" .. tostring(ns or nil) .. "|" .. tostring(md.name)
          if ann["kubectl.kubernetes.io/last-applied-configuration"] and not applied[md.uid] and not applied[key] then
            if dry ~= "client" then
              local _, derr, _, code = c:request{ method = "DELETE",
                path = discovery.path(r, ns or nil, md.name) .. util.query({ dryRun = dry == "server" and "All" or nil }),
                accept = "application/json", timeout_ms = 30000 }
              if derr and code ~= 404 then error(derr, 0) end
            end
            local what = discovery.kind_prefix(r) .. "/" .. md.name
            if out_fmt == "name" then ctx.out(what .. "\n") else ctx.out(what .. " pruned" .. suffix .. "\n") end
          end
        end
      end
    end
  end
end

function M.apply(sess, ctx)
  M.with_kustomize(sess, ctx)
  local env = sess.env
  local f = ctx.flags
  local c, conn = sess:client(f)
  local dry = dry_run(f)
  if not dry then guard(sess, conn, "apply") end
  local server_side = f["server-side"] == true
  if f["force-conflicts"] and not server_side then
    error("error: --force-conflicts only works with --server-side", 0)
  end
  local out_fmt = f.output
  if out_fmt and out_fmt ~= "name" and out_fmt ~= "yaml" and out_fmt ~= "json" then
    error(('error: unable to match a printer suitable for the output format "%s", allowed formats are: json,name,yaml')
      :format(out_fmt), 0)
  end
  if f.prune and not f.selector and not f.all then
    error("error: all resources selected for prune without explicitly passing --all. To prune all resources, pass the"
      .. " --all flag. If you did not mean to prune all resources, specify a label selector", 0)
  end
  if f.prune then M.prune_types(f) end
  local objs = manifest_objects(sess, c, conn, f.filename or {}, "apply",
    { each = true, recursive = f.recursive, namespace_flag = f.namespace })
  if #objs == 0 then error("error: no objects passed to apply", 0) end
  local applied = {}   -- what this apply touched (--prune keeps it): by uid and by type/namespace/name
  local crds = {}      -- "group/Kind" of the CRDs it applied (their objects may follow in the same files)
  local state, failed, printed = {}, 0, {}
  local suffix = dry == "client" and " (dry run)" or dry == "server" and " (server dry run)" or ""
  local A = require("k8s.apply")
  local applied_any = false
  for i, o in ipairs(objs) do
    local rt = o.retry
    if rt and applied_any and rt.name then   -- its type may be served now (a CRD applied above)
      -- (a CRD of this apply: discovery serves its type once the server has established it,
      -- which a loaded server takes a while to do; asked again until then, 20 s at most)
      local deadline = crds[rt.group .. "/" .. rt.kind] and not dry and (env.now() + 20000) or 0
      repeat
        local served = sess:discovery(c):resources(true) or {}
        for _, cand in ipairs(served) do
          if cand.kind == rt.kind and cand.group == rt.group and not cand.name:find("/") then
            o = { r = cand, name = rt.name, doc = rt.doc, file = o.file, index = o.index, was_retried = true,
                  ns = cand.namespaced and (rt.dns or conn.namespace) or nil }
            objs[i] = o
            break
          end
        end
        if o.was_retried or env.now() > deadline then break end
        env.sleep(250)
      until false
    end
    local ok, err = true, o.err
    if not err then
      ok, err = pcall(function()
        local what = discovery.kind_prefix(o.r) .. "/" .. o.name
        local verb, obj, nerr
        if not server_side then
          local aopts = { dry = dry, discovery = discovery, warn = function(line) ctx.err(line .. "\n") end }
          local okk, v1, v2, v3 = pcall(A.object, sess, c, o, aopts)
          -- a type whose CRD was applied just above: served once the CRD is
          -- established (the server answers its path with a bare 404 until then)
          local deadline = env.now() + 10000
          while not okk and o.was_retried and tostring(v1):find("page not found") and env.now() < deadline do
            env.sleep(100)
            okk, v1, v2, v3 = pcall(A.object, sess, c, o, aopts)
          end
          if not okk then error(v1, 0) end
          verb, obj, nerr = v1, v2, v3
          if not verb and dry then error(nerr, 0) end
        end
        if server_side or not verb then
          -- (unreachable cluster: the change is queued, and replayed as a server-side apply)
          local q = { fieldManager = f["field-manager"] or offline.MANAGER, force = f["force-conflicts"] and "true" or nil,
                      dryRun = dry == "server" and "All" or nil }
          local send = { method = "PATCH", path = discovery.path(o.r, o.ns, o.name) .. util.query(q),
            body = env.json.encode(o.doc), content_type = "application/apply-patch+yaml" }
          if dry == "client" then
            verb, obj = "serverside-applied", o.doc
          elseif dry then
            local res, rerr = c:request{ method = send.method, path = send.path, body = send.body,
              content_type = send.content_type, accept = "application/json", timeout_ms = 30000 }
            if not res then error(rerr, 0) end
            verb, obj = "serverside-applied", env.json.decode(res.body)
          else
            local op = { kind = "apply", target = offline.target(o.r, o.ns, o.name), doc = o.doc,
              force = f["force-conflicts"] and true or nil, send = send,
              line = ("apply %s%s"):format(what, o.ns and (" -n " .. o.ns) or "") }
            local res = offline.try(sess, ctx, c, conn, op, state)
            if not res then return end   -- queued: offline says so
            verb, obj = "serverside-applied", env.json.decode(res.body or "")
          end
        end
        applied_any = true
        local dsp = type(o.doc.spec) == "table" and o.doc.spec or {}
        if o.r.kind == "CustomResourceDefinition" and type(dsp.names) == "table" then
          crds[tostring(dsp.group) .. "/" .. tostring(dsp.names.kind)] = true
        end
        applied[o.r.name .. "|" .. tostring(o.ns) .. "|" .. o.name] = true
        if type(obj) == "table" and type(obj.metadata) == "table" and obj.metadata.uid then applied[obj.metadata.uid] = true end
        if out_fmt == "name" then ctx.out(what .. "\n")
        elseif out_fmt then printed[#printed + 1] = obj
        else ctx.out(("%s %s%s\n"):format(what, verb, suffix)) end
      end)
    end
    if not ok or (err and o.err) then
      failed = failed + 1
      local msg = tostring(err)
      if not o.err and o.file then
        msg = ("error when applying %s/%s from %q: %s"):format(discovery.kind_prefix(o.r), o.name, o.file, msg)
      end
      ctx.err(msg .. "\n")
    end
  end
  if f.prune then M.prune(sess, ctx, c, objs, applied, dry, suffix, out_fmt) end
  if out_fmt == "yaml" or out_fmt == "json" then
    local doc = #printed == 1 and printed[1]
      or { apiVersion = "v1", kind = "List", items = setmetatable(printed, env.json.array_mt), metadata = { resourceVersion = "" } }
    if out_fmt == "json" then ctx.out(env.jsonfmt.encode(doc, "", env.json.array_mt) .. "\n")
    else ctx.out(env.yaml.encode(doc)) end
  end
  if failed > 0 then return 1 end
  return status_of(state)
end

-- ---------------------------------------------------------------- diff
-- kubectl diff: each manifest's object as the server would make it (the
-- apply sent with dryRun=All: client-side, or --server-side) against the live
-- one, as `diff -u -N` shows them (kubectl runs that program too; KUBECTL_EXTERNAL_DIFF
-- names another); managedFields left out, a Secret's values masked. Exit 0:
-- no differences, 1: some, >1: an error.
function M.diff(sess, ctx)
  M.with_kustomize(sess, ctx)
  local env, f = sess.env, ctx.flags
  local c, conn = sess:client(f)
  local A = require("k8s.apply")
  local objs = manifest_objects(sess, c, conn, f.filename or {}, "diff",
    { recursive = f.recursive, namespace_flag = f.namespace })
  local prog = env.getenv("KUBECTL_EXTERNAL_DIFF")
  local argv0 = {}
  if prog and prog ~= "" then for w in prog:gmatch("%S+") do argv0[#argv0 + 1] = w end else argv0 = { "diff", "-u", "-N" } end
  local function clean(o)
    if type(o) ~= "table" then return nil end
    if type(o.metadata) == "table" then o.metadata.managedFields = nil end
    return o
  end
  -- a Secret's values never shown: *** (kubectl's marks when one changes)
  local function mask(live, merged)
    local any = live or merged
    if not any or any.kind ~= "Secret" then return end
    local ld = live and type(live.data) == "table" and live.data or nil
    local md = merged and type(merged.data) == "table" and merged.data or nil
    local keys = {}
    for k in pairs(ld or {}) do keys[k] = true end
    for k in pairs(md or {}) do keys[k] = true end
    for k in pairs(keys) do
      local lv, mv = ld and ld[k], md and md[k]
      if lv ~= nil and mv ~= nil and lv ~= mv then ld[k], md[k] = "*** (before)", "*** (after)"
      else
        if lv ~= nil then ld[k] = "***" end
        if mv ~= nil then md[k] = "***" end
      end
    end
    -- the last applied configuration repeats the values (client-side apply keeps it)
    local function ann(o) return o and type(o.metadata) == "table" and type(o.metadata.annotations) == "table"
      and o.metadata.annotations or nil end
    local la, ma = ann(live), ann(merged)
    local lv, mv = la and la[A.LAST], ma and ma[A.LAST]
    if lv ~= nil and mv ~= nil and lv ~= mv then la[A.LAST], ma[A.LAST] = "*** (before)", "*** (after)"
    else
      if lv ~= nil then la[A.LAST] = "***" end
      if mv ~= nil then ma[A.LAST] = "***" end
    end
  end
  local status = 0
  for _, o in ipairs(objs) do
    local path = discovery.path(o.r, o.ns, o.name)
    local res, err, _, code = c:request{ path = path, accept = "application/json", timeout_ms = 30000 }
    if not res and code ~= 404 then error(err, 0) end
    local live = res and clean(env.json.decode(res.body)) or nil
    local merged
    if f["server-side"] then
      local q = util.query({ fieldManager = f["field-manager"] or offline.MANAGER, dryRun = "All",
                             force = f["force-conflicts"] and "true" or nil })
      local pr, perr = c:request{ method = "PATCH", path = path .. q, body = env.json.encode(o.doc),
        content_type = "application/apply-patch+yaml", accept = "application/json", timeout_ms = 30000 }
      if not pr then error(perr, 0) end
      merged = env.json.decode(pr.body)
    else
      local verb, obj, nerr = A.object(sess, c, o, { dry = "server", discovery = discovery })
      if not verb then error(nerr, 0) end
      merged = obj
    end
    merged = clean(merged)
    mask(live, merged)
    local base = ("%s.%s.%s.%s"):format(o.r.group ~= "" and o.r.group or "", o.r.version or (o.r.gv or ""):match("([^/]+)$") or "",
      o.r.kind, (o.ns and (o.ns .. ".") or "") .. o.name):gsub("^%.", "")
    local lf = env.private_file("LIVE-" .. base, live and env.yaml.encode(live) or "")
    local mf = env.private_file("MERGED-" .. base, merged and env.yaml.encode(merged) or "")
    local argv = {}
    for i, w in ipairs(argv0) do argv[i] = w end
    if not prog or prog == "" then
      argv[#argv + 1] = "--label"; argv[#argv + 1] = "LIVE/" .. base
      argv[#argv + 1] = "--label"; argv[#argv + 1] = "MERGED/" .. base
    end
    argv[#argv + 1] = lf
    argv[#argv + 1] = mf
    local rc, out, derr = env.spawn(argv)
    env.remove(lf); env.remove(mf)
    if rc == nil then error(("k8s diff: cannot run %s: %s"):format(argv0[1], tostring(out)), 0) end
    if rc > 1 then error(("k8s diff: %s failed: %s"):format(argv0[1], derr or ""), 0) end
    if rc == 1 then
      status = 1
      ctx.out(("diff -u -N LIVE/%s MERGED/%s\n"):format(base, base) .. out)
    end
  end
  return status
end

-- the flags most writing verbs share: -o and --dry-run (help: what the dry run does there)
local OUTPUT_FLAG = { name = "output", short = "o", type = "string", metavar = "FORMAT", help = "name, yaml, json or jsonpath=…" }
local function dry_run_flag(help)
  return { name = "dry-run", type = "enum", values = { "none", "client", "server" }, bare = "client", metavar = "MODE", help = help }
end

-- The words kubectl is handed for a verb vcli parsed but leaves to it: the positional
-- ones (unknown flags among them), the verb's own flags as given, then -- and its words.
local function rebuilt(rest, ctx, flag_list)
  for _, w in ipairs(ctx.positional or ctx.args.items or {}) do rest[#rest + 1] = w end
  for _, fl in ipairs(flag_list) do
    local v = ctx.flags[fl.name]
    if type(v) == "table" then for _, x in ipairs(v) do rest[#rest + 1] = ("--%s=%s"):format(fl.name, tostring(x)) end
    elseif v == true then rest[#rest + 1] = "--" .. fl.name
    elseif v ~= nil and v ~= false then rest[#rest + 1] = ("--%s=%s"):format(fl.name, tostring(v)) end
  end
  if ctx.flags["--"] then
    rest[#rest + 1] = "--"
    for _, w in ipairs(ctx.flags["--"]) do rest[#rest + 1] = w end
  end
  return rest
end

-- ---------------------------------------------------------------- expose
local EXPOSE_FLAGS = {
  { name = "port", type = "string", metavar = "PORT", help = "the service's port (else the object's own ports)" },
  { name = "target-port", type = "string", metavar = "PORT|NAME", help = "the pods' port (else the same as --port)" },
  { name = "name", type = "string", metavar = "NAME", help = "the service's name (else the object's)" },
  { name = "type", type = "string", metavar = "TYPE", help = "ClusterIP, NodePort, LoadBalancer or ExternalName" },
  { name = "protocol", type = "string", metavar = "PROTO", help = "TCP (default), UDP or SCTP" },
  { name = "selector", type = "string", metavar = "K=V,…", help = "the pods it selects (else the object's selector)" },
  { name = "labels", short = "l", type = "string", metavar = "K=V,…", help = "the service's labels (else the object's)" },
  { name = "cluster-ip", type = "string", metavar = "IP", help = "its cluster IP (None: headless)" },
  { name = "external-ip", type = "string", metavar = "IP", help = "an external IP it also answers on" },
  { name = "session-affinity", type = "string", metavar = "None|ClientIP", help = "session affinity" },
  dry_run_flag("client: print the service; server: ask the server; nothing is created"),
  OUTPUT_FLAG,
}
function M.expose(sess, ctx) return require("k8s.create").expose(sess, ctx, M) end

-- ---------------------------------------------------------------- drain
local DRAIN_FLAGS = {
  { name = "ignore-daemonsets", type = "bool", help = "leave DaemonSet-managed pods (else they stop the drain)" },
  { name = "delete-emptydir-data", type = "bool", help = "evict pods with emptyDir data too (it is lost)" },
  { name = "force", type = "bool", help = "evict pods no controller re-creates too" },
  { name = "disable-eviction", type = "bool", help = "delete the pods instead of evicting them (no disruption budgets)" },
  { name = "grace-period", type = "int", metavar = "SECS", help = "each pod's grace period (else its own)" },
  { name = "timeout", type = "int", min = 0, metavar = "SECS", help = "how long to wait for the pods to go (0: as long as it takes)" },
  { name = "pod-selector", type = "string", metavar = "SELECTOR", help = "only the pods matching it" },
  { name = "selector", short = "l", type = "string", metavar = "SELECTOR", help = "the nodes matching it" },
  dry_run_flag("client: say what would be evicted; server: ask the server; nothing is changed"),
}
function M.drain(sess, ctx) return require("k8s.drain").run(sess, ctx, M) end

-- ---------------------------------------------------------------- autoscale
local AUTOSCALE_FLAGS = {
  { name = "max", type = "int", metavar = "N", help = "the most replicas (required)" },
  { name = "min", type = "int", metavar = "N", help = "the fewest replicas (the server's default: 1)" },
  { name = "cpu-percent", type = "int", metavar = "PCT", help = "the CPU use to aim at (the server's default policy otherwise)" },
  { name = "name", type = "string", metavar = "NAME", help = "the autoscaler's name (else the object's)" },
  dry_run_flag("client: print it; server: ask the server; nothing is created"),
  OUTPUT_FLAG,
}
function M.autoscale(sess, ctx) return require("k8s.create").autoscale(sess, ctx, M) end

-- ---------------------------------------------------------------- run
-- run NAME --image=IMG natively (k8s/create.lua); attached (-i, -t, --attach, --rm) through kubectl
local RUN_FLAGS = {
  { name = "image", type = "string", metavar = "IMAGE", help = "the container's image (required)" },
  { name = "env", type = "list", metavar = "KEY=VALUE", help = "an environment variable (repeatable)" },
  { name = "port", type = "int", min = 1, metavar = "PORT", help = "the port the container exposes" },
  { name = "labels", short = "l", type = "string", metavar = "K=V,…", help = "the pod's labels (run=NAME otherwise)" },
  { name = "annotations", type = "list", metavar = "K=V", help = "an annotation (repeatable)" },
  { name = "restart", type = "string", metavar = "POLICY", help = "Always (default), OnFailure or Never" },
  { name = "image-pull-policy", type = "string", metavar = "POLICY", help = "Always, IfNotPresent or Never" },
  { name = "command", type = "bool", help = "the words after -- are the command, not its arguments" },
  dry_run_flag("client: print the pod; server: ask the server; nothing is created"),
  OUTPUT_FLAG,
  { name = "stdin", short = "i", type = "bool", help = "attach standard input (through kubectl)" },
  { name = "tty", short = "t", type = "bool", help = "a terminal (through kubectl)" },
  { name = "attach", type = "bool", help = "wait for the pod and attach (through kubectl)" },
  { name = "rm", type = "bool", help = "delete the pod when the attached session ends (through kubectl)" },
}
function M.run_pod(sess, ctx)
  local f = ctx.flags
  -- a flag vcli does not know (--overrides, --expose, --privileged…) is kubectl's too
  local unknown = false
  for _, w in ipairs(ctx.args.items or {}) do if w:sub(1, 1) == "-" and w ~= "-" then unknown = true end end
  if not (f.stdin or f.tty or f.attach or f.rm or unknown) then
    return require("k8s.create").run_pod(sess, ctx, M)
  end
  guard(sess, sess:conn(f), "run")
  return delegate(sess, ctx, rebuilt({ "run" }, ctx, RUN_FLAGS), "run (attached)")
end

-- ---------------------------------------------------------------- set
-- set image natively (k8s/set.lua); set env|resources|selector|serviceaccount|subject through kubectl
local SET_FLAGS = {
  { name = "selector", short = "l", type = "string", metavar = "SELECTOR", help = "every object of the type matching it" },
  { name = "all", type = "bool", help = "every object of the type in the namespace" },
  dry_run_flag("client: say what would change; server: ask the server; nothing is changed"),
  OUTPUT_FLAG,
  { name = "containers", short = "c", type = "string", metavar = "NAME", help = "env, resources: the containers (a glob; all)" },
  { name = "env", short = "e", type = "list", metavar = "KEY=VALUE", help = "env: a variable to set (repeatable)" },
  { name = "list", type = "bool", help = "env: print the variables instead of changing them" },
  { name = "from", type = "string", metavar = "configmap/NAME|secret/NAME", help = "env: every key of it, as references" },
  { name = "prefix", type = "string", metavar = "PREFIX", help = "env --from: before each variable's name" },
  { name = "keys", type = "string", metavar = "K1,K2", help = "env --from: only these keys" },
  { name = "overwrite", type = "bool", help = "env: --overwrite=false refuses to change a variable that has a value" },
  { name = "limits", type = "string", metavar = "cpu=…,memory=…", help = "resources: the limits" },
  { name = "requests", type = "string", metavar = "cpu=…,memory=…", help = "resources: the requests" },
}
local SET_NATIVE = { image = "image", env = "env", resources = "resources" }
function M.set(sess, ctx)
  local items = ctx.args.items or {}
  if SET_NATIVE[items[1]] then
    local sub = setmetatable({ args = { items = { unpack(items, 2) } } }, { __index = ctx })
    return require("k8s.set")[SET_NATIVE[items[1]]](sess, sub, M)
  end
  guard(sess, sess:conn(ctx.flags), "set")
  return delegate(sess, ctx, rebuilt({ "set" }, ctx, SET_FLAGS), "set " .. tostring(items[1]))
end
M.targets_of = function(sess, ctx, words) return (targets(sess, ctx, words)) end
M.print_object = function(...) return require("k8s.create").print_object(...) end

-- ---------------------------------------------------------------- create
M.guard, M.dry_run = guard, dry_run
-- (one list: create's spec and the words handed to kubectl for the generators it keeps)
local CREATE_FLAGS = { { name = "filename", short = "f", type = "list", metavar = "FILE", help = "file, directory or - (repeatable)" },
  { name = "kustomize", short = "k", type = "string", metavar = "DIR", help = "the objects kubectl kustomize DIR makes" },
  { name = "recursive", short = "R", type = "bool", help = "the directories of -f DIR too" },
  dry_run_flag("client: print what would be created; server: ask the server; nothing is created"),
  { name = "output", short = "o", type = "string", metavar = "FORMAT", help = "name, yaml or json" },
  { name = "from-literal", type = "list", metavar = "KEY=VALUE", help = "configmap/secret: a key and its value" },
  { name = "from-file", type = "list", metavar = "[KEY=]PATH", help = "configmap/secret: a file (a directory: each file)" },
  { name = "from-env-file", type = "list", metavar = "PATH", help = "configmap/secret: KEY=VALUE lines" },
  { name = "type", type = "string", metavar = "TYPE", help = "secret generic: its type" },
  { name = "cert", type = "string", metavar = "PATH", help = "secret tls: the PEM certificate" },
  { name = "key", type = "string", metavar = "PATH", help = "secret tls: the PEM key" },
  { name = "docker-server", type = "string", metavar = "URL", help = "secret docker-registry: the registry" },
  { name = "docker-username", type = "string", metavar = "USER", help = "secret docker-registry" },
  { name = "docker-password", type = "string", metavar = "PASSWORD", help = "secret docker-registry" },
  { name = "docker-email", type = "string", metavar = "EMAIL", help = "secret docker-registry" },
  { name = "image", type = "list", metavar = "IMAGE", help = "deployment/job: the image (deployment: repeatable)" },
  { name = "replicas", short = "r", type = "int", min = 0, metavar = "N", help = "deployment: replicas (1)" },
  { name = "port", type = "int", min = 1, metavar = "PORT", help = "deployment: the container's port" },
  { name = "from", type = "string", metavar = "cronjob/NAME", help = "job: from a CronJob's template" } }

local REPLACE_FLAGS = { CREATE_FLAGS[1], CREATE_FLAGS[2], CREATE_FLAGS[3], CREATE_FLAGS[4],
  { name = "output", short = "o", type = "string", metavar = "FORMAT", help = "name, yaml or json" },
  { name = "force", type = "bool", help = "delete each object and create it anew" },
  { name = "timeout", type = "int", min = 0, metavar = "SECS", help = "--force: how long to wait for the deletion (60)" } }
function M.replace(sess, ctx)
  M.with_kustomize(sess, ctx)
  return require("k8s.create").replace(sess, ctx, M)
end

function M.create(sess, ctx)
  M.with_kustomize(sess, ctx)
  local st = require("k8s.create").run(sess, ctx, M)
  if st ~= nil then return st end
  -- a generator vcli does not build (role, service, ingress, cronjob…): kubectl's, same identity
  local conn = sess:conn(ctx.flags)
  guard(sess, conn, "create")
  return delegate(sess, ctx, rebuilt({ "create" }, ctx, CREATE_FLAGS), "create " .. tostring((ctx.args.items or {})[1]))
end

-- ---------------------------------------------------------------- edit
-- kubectl's words at the top of the file being edited
local EDIT_HEADER = "# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
  .. "# and an empty file will abort the edit. If an error occurs while saving this file will be\n"
  .. "# reopened with the relevant failures.\n#\n"

function M.edit(sess, ctx)
  local env = sess.env
  local ts, c, conn = targets(sess, ctx, words_of(ctx))
  guard(sess, conn, "edit")
  local state = {}
  for _, t in ipairs(ts) do
    local ns = ns_of(t.r, conn)
    local path = discovery.path(t.r, ns, t.name)
    local obj, err, kind = current(sess, c, conn, t.r, ns, t.name)
    if not obj and kind == "network" then
      error(("%s (not queued: %s is not in the offline cache to edit; k8s get it while the cluster answers)")
        :format(err, qualified(t)), 0)
    end
    if not obj then error(err, 0) end
    local cached = kind == "cached"
    if cached then
      local ok, why = offline.may_queue(sess, ctx, conn)
      if not ok then error(("%s (not queued: %s)"):format(err, why), 0) end
      ctx.err(("cluster %s unreachable: editing the copy cached %s ago\n"):format(conn.context,
        require("k8s.printer").age(os.date("!%Y-%m-%dT%H:%M:%SZ", offline.base(sess, conn, t.r, ns, t.name).at or env.time()),
          env.time())))
    end
    if obj.metadata then obj.metadata.managedFields = nil end
    local original = env.yaml.encode(obj)
    local canon = env.jsonfmt.encode(obj, "", env.json.array_mt, true)
    -- kubectl's loop: a file that does not parse, or that the server refuses as
    -- invalid, is opened again with the error as comments at the top; the same
    -- file saved again unchanged ends it
    local content, failure, last_failed = original, nil, nil
    local newobj
    while true do
      local head = EDIT_HEADER
      if failure then head = head .. "# " .. failure:gsub("\n", "\n# ") .. "\n#\n" end
      -- 0600 in a 0700 directory, removed however this ends (editor crash, Ctrl-C, error)
      local tmp = env.private_file(("%s-%s.yaml"):format(t.r.name, t.name):gsub("[^%w._-]", "_"), head .. content)
      local editor = env.getenv("KUBE_EDITOR") or env.getenv("EDITOR") or "vi"
      local ok, code = pcall(env.run_tty, { "/bin/sh", "-c", editor .. ' "$1"', "sh", tmp })
      local edited = env.read_file(tmp) or ""
      env.remove(tmp)
      if not ok then error(code, 0) end
      if code ~= 0 then error(("k8s edit: the editor exited with status %s; nothing changed"):format(tostring(code)), 0) end
      -- the comment lines at the top (ours, and the errors) are not the object's
      local body = edited:gsub("^[ \t]*#[^\n]*\n", ""):gsub("^\n*", "")
      while body:match("^[ \t]*#") do body = body:gsub("^[^\n]*\n?", "", 1) end
      if body:match("^%s*$") then ctx.err("Edit cancelled, no changes made.\n"); return 0 end
      if last_failed and body == last_failed then error("error: Edit cancelled, no valid changes were saved.", 0) end
      local yerr
      newobj, yerr = env.yaml.decode(body, "the edited file")
      if newobj == nil then
        failure, content, last_failed = "The edited file had a syntax error: " .. tostring(yerr), body, body
        goto again
      end
      -- the same object (only comments or layout changed): nothing to send
      if type(newobj) == "table" and env.jsonfmt.encode(newobj, "", env.json.array_mt, true) == canon then
        ctx.err("Edit cancelled, no changes made.\n")
        return 0
      end
      if cached then break end
      do
        -- resourceVersion stays the one read: a change made meanwhile is a 409 Conflict, not overwritten
        local res, perr, pkind, pcode = c:request{ method = "PUT", path = path, body = env.json.encode(newobj),
          content_type = "application/json", accept = "application/json", timeout_ms = 30000 }
        if res then ctx.out(qualified(t) .. " edited\n") goto continue end
        if pkind == "http" and (pcode == 422 or pcode == 400) then
          failure, content, last_failed = perr:gsub("^Error from server %(%w+%): ", ""), body, body
          goto again
        end
        error(perr, 0)
      end
      ::again::
    end
    if cached then
      -- queued as a merge patch of what changed against the cached copy
      local patch_body = offline.merge_patch(env, obj, newobj)
      local op = offline.patch_op(sess, t.r, ns, t.name, patch_body,
        ("edit %s%s"):format(qualified(t), ns and (" -n " .. ns) or ""))
      state.err, state.queued = err, true
      offline.try(sess, ctx, c, conn, op, state)
    end
    ::continue::
  end
  return status_of(state)
end

-- ---------------------------------------------------------------- exec / port-forward
-- native, over the API server's WebSocket protocols: k8s/remote.lua
function M.exec(sess, ctx) return require("k8s.remote").exec(sess, ctx) end
function M.explain(sess, ctx) return require("k8s.explain").run(sess, ctx) end
function M.cp(sess, ctx) return require("k8s.cp").run(sess, ctx) end
function M.top(sess, ctx) return require("k8s.top").run(sess, ctx) end
function M.attach(sess, ctx) return require("k8s.remote").exec(sess, ctx, "attach") end
function M.port_forward(sess, ctx) return require("k8s.remote").port_forward(sess, ctx) end

function M.specs(sess, a)
  local items = { name = "items", variadic = true, help = "TYPE NAME… or TYPE/NAME…",
                  complete = function(p, cctx) return a.names_arg.complete(p, cctx) end }
  local optional_items = {} -- delete: -f FILE or TYPE --all name no items
  for k2, v in pairs(items) do optional_items[k2] = v end
  optional_items.optional = true
  local function run(fn) return function(ctx) return fn(sess, ctx) end end
  local pod_arg = { name = "pod", optional = true, help = "POD, pod/NAME, or TYPE/NAME (a pod of a deploy, svc…)" }
  pod_arg.complete = function(p, cctx)
    local w = { unpack(cctx and cctx.words or {}) }
    table.insert(w, 3, "pods")
    return a.names_arg.complete(p, { words = w })
  end
  local yes = { name = "yes", short = "y", type = "bool", help = "do not ask for confirmation" }
  return {
    { name = "describe", summary = "Show a resource in detail, with its recent events", args = { items }, handler = run(M.describe),
      flags = { { name = "selector", short = "l", type = "string", metavar = "SELECTOR",
                  help = "every object matching a label selector" } },
      examples = { { "k8s describe pod web-7d4b9-x2x5q", "one pod, with its events" },
                   { "k8s describe deploy/api -n web", "TYPE/NAME, in another namespace" },
                   { "k8s describe nodes", "every object of a type" },
                   { "k8s describe pods -l app=web", "those matching a label selector" } } },
    { name = "logs", summary = "Print a pod's logs (-f to follow)", args = { pod_arg }, handler = run(M.logs),
      examples = { { "k8s logs web-7d4b9-x2x5q", "the pod's (first or default) container" },
                   { "k8s logs deploy/api -f --tail 20", "a pod of the deployment: the last 20 lines, then follow" },
                   { "k8s logs -l app=web --prefix", "every matching pod, lines prefixed with pod and container" },
                   { "k8s logs web-7d4b9-x2x5q -c sidecar -p", "the previous run of one container" } },
      flags = { { name = "follow", short = "f", type = "bool", help = "keep printing new lines" },
                { name = "tail", type = "int", metavar = "N", help = "last N lines" },
                { name = "container", short = "c", type = "string", metavar = "NAME", help = "this container (default: the first)",
                  complete = a.containers },
                { name = "previous", short = "p", type = "bool", help = "the previous container's logs" },
                { name = "since", type = "duration", help = "only newer than (5s, 2m, 3h)" },
                { name = "since-time", type = "string", metavar = "TIME", help = "only after this RFC 3339 time" },
                { name = "timestamps", type = "bool", help = "prefix each line with its time" },
                { name = "selector", short = "l", type = "string", metavar = "SELECTOR", help = "every pod matching a label selector" },
                { name = "prefix", type = "bool", help = "prefix lines with pod and container" },
                { name = "all-containers", type = "bool", help = "every container of the pod" } } },
    { name = "events", summary = "List events, oldest first",
      args = { { name = "names", variadic = true, optional = true, help = "events by name" } },
      flags = { { name = "output", short = "o", type = "enum", values = { "wide", "json", "yaml", "name" } },
                { name = "selector", short = "l", type = "string", metavar = "SELECTOR", help = "label selector" },
                { name = "field-selector", type = "string", metavar = "SELECTOR", help = "field selector (involvedObject.name=web-1)" },
                { name = "watch", short = "w", type = "bool", help = "keep printing new events" },
                { name = "watch-timeout", type = "duration", help = "stop watching after this long" },
                { name = "no-headers", type = "bool", help = "no header line" },
                { name = "sort-by", type = "string", metavar = "JSONPATH", help = "sort rows (default .lastTimestamp)" } },
      examples = { { "k8s events -A", "every namespace's events" },
                   { "k8s events --field-selector type=Warning -w", "warnings, as they come" } },
      handler = run(M.events) },
    { name = "delete", summary = "Delete resources (asks first in the shell; --dry-run)", handler = run(M.delete),
      args = { optional_items },
      flags = { yes, { name = "dry-run", type = "enum", values = { "none", "client", "server" }, bare = "client", metavar = "MODE",
                       help = "client: say what would go; server: ask the server; nothing is deleted" },
                { name = "selector", short = "l", type = "string", metavar = "SELECTOR", help = "every object of the type matching it" },
                { name = "grace-period", type = "int", metavar = "SECONDS", help = "seconds a pod has to stop (0: at once)" },
                { name = "now", type = "bool", help = "a grace period of 1 s" },
                { name = "force", type = "bool", help = "remove at once, without waiting for the kubelet (grace period 0)" },
                { name = "cascade", type = "enum", values = { "background", "foreground", "orphan" }, bare = "background",
                  metavar = "MODE", help = "what becomes of dependents: background (default), foreground, orphan" },
                { name = "wait", type = "bool", help = "wait until it is gone (default; --wait=false returns at once)" },
                { name = "timeout", type = "duration", help = "how long --wait waits (0: until it is gone)" },
                { name = "ignore-not-found", type = "bool", help = "a missing object is no error" },
                { name = "output", short = "o", type = "enum", values = { "name" }, help = "name: TYPE/NAME lines" },
                { name = "all", type = "bool", help = "every object of the type in the namespace" },
                { name = "kustomize", short = "k", type = "string", metavar = "DIR", help = "the objects kubectl kustomize DIR makes" },
                { name = "filename", short = "f", type = "list", metavar = "FILE",
                  help = "the objects a manifest file or directory names" } },
      examples = { { "k8s delete pod web-7d4b9-x2x5q", "asks first in the shell (-y does not)" },
                   { "k8s delete deploy/api svc/api -y", "several, as TYPE/NAME" },
                   { "k8s delete pods -l app=web --dry-run=server", "what would go, changing nothing" },
                   { "k8s delete -f app.yaml", "what a manifest names" } } },
    { name = "scale", summary = "Set the replica count", args = { items }, handler = run(M.scale),
      flags = { { name = "replicas", type = "int", min = 0, metavar = "N", help = "new replica count" },
                { name = "current-replicas", type = "int", min = 0, metavar = "N",
                  help = "only if it has this many now (a precondition, as kubectl's)" } },
      examples = { { "k8s scale deploy/api --replicas 3" }, { "k8s scale statefulset db --replicas 0" } } },
    { name = "rollout", summary = "rollout restart|status|undo|history|pause|resume TYPE NAME", handler = run(M.rollout),
      args = { { name = "action", help = "restart, status, undo, history, pause or resume",
                 complete = function() return { "restart", "status", "undo", "history", "pause", "resume" } end },
               { name = "items", variadic = true, help = items.help, complete = items.complete } },
      flags = { { name = "to-revision", type = "int", metavar = "N", help = "undo: go back to this revision (default: the previous)" },
                { name = "timeout", type = "duration", help = "status: give up after this long" },
                { name = "revision", type = "int", metavar = "N", help = "history: one revision's pod template" },
                { name = "dry-run", type = "enum", values = { "none", "client", "server" }, bare = "client", metavar = "MODE",
                  help = "undo: client prints the template it would go back to; server asks the server" } },
      examples = { { "k8s rollout restart deploy/api", "new pods, one batch at a time" },
                   { "k8s rollout status deploy/api --timeout 2m", "wait until the rollout is done" },
                   { "k8s rollout undo deploy/api --to-revision 3" }, { "k8s rollout history deploy/api" } } },
    { name = "label", summary = "Set or remove labels: KEY=VALUE, KEY-", args = { items }, handler = run(M.label),
      flags = meta_flags("labels"),
      examples = { { "k8s label pod web-1 tier=front", "add a label" }, { "k8s label deploy/api tier-", "remove one" },
                   { "k8s label pods -l app=web tier=front --overwrite", "every pod matching a selector" },
                   { "k8s label deploy/api --list", "its labels" } } },
    { name = "annotate", summary = "Set or remove annotations: KEY=VALUE, KEY-", args = { items }, handler = run(M.annotate),
      flags = meta_flags("annotations"),
      examples = { { "k8s annotate deploy/api owner=team-a --overwrite" }, { "k8s annotate pods --all note=x --dry-run" } } },
    { name = "drain", summary = "Cordon nodes and evict their pods (--ignore-daemonsets, --delete-emptydir-data, --force)",
      handler = run(M.drain), flags = DRAIN_FLAGS,
      args = { { name = "nodes", variadic = true, optional = true, help = "node names",
                 complete = function(p, cctx)
                   return a.names_arg.complete(p, { words = { "k8s", "get", "nodes", unpack(cctx and cctx.words or {}, 3) } })
                 end } },
      examples = { { "k8s drain node-1 --ignore-daemonsets", "cordoned, each pod evicted, then drained" },
                   { "k8s drain node-1 --ignore-daemonsets --dry-run", "what would be evicted" } } },
    { name = "cordon", summary = "Mark nodes unschedulable", args = { { name = "nodes", variadic = true, help = "node names" } },
      handler = run(M.cordon), examples = { { "k8s cordon node-1", "no new pods are scheduled there" } } },
    { name = "api-resources", summary = "The resource types the server serves (from discovery)", handler = run(M.api_resources),
      flags = { { name = "output", short = "o", type = "enum", values = { "wide", "name" } },
                { name = "namespaced", type = "bool", help = "only namespaced (true) or cluster-wide (false) ones" },
                { name = "api-group", type = "string", metavar = "GROUP", help = "only this group (\"\" for the core group)" },
                { name = "verbs", type = "string", metavar = "VERBS", help = "only those supporting all these verbs (list,get)" },
                { name = "sort-by", type = "string", metavar = "name|kind", help = "sort rows by name or kind" },
                { name = "no-headers", type = "bool", help = "no header line" } },
      examples = { { "k8s api-resources --namespaced=false", "the cluster-wide types" },
                   { "k8s api-resources --api-group apps -o wide" } } },
    { name = "version", summary = "The server's version (and vcli's)", handler = run(M.version),
      flags = { { name = "client", type = "bool", help = "only vcli's" },
                { name = "output", short = "o", type = "enum", values = { "json", "yaml" } } },
      examples = { { "k8s version", "vcli's and the server's" }, { "k8s version -o json", "the server's whole answer" } } },
    { name = "api-versions", summary = "The API versions the server serves, group/version", handler = run(M.api_versions),
      examples = { { "k8s api-versions | grep apps", "is apps/v1 served?" } } },
    { name = "auth", summary = "Ask the server what you may do: auth can-i VERB TYPE [NAME], auth whoami", handler = run(M.auth),
      args = { { name = "items", variadic = true, help = "can-i VERB TYPE[/NAME] [NAME] | whoami" } },
      flags = { { name = "quiet", short = "q", type = "bool", help = "no output: the exit status says it (0 yes, 1 no)" } },
      examples = { { "k8s auth can-i delete pods", "yes or no (exit status 0 or 1)" },
                   { "k8s auth can-i list secrets --as system:serviceaccount:web:bot -n web", "as someone else" } } },
    { name = "patch", summary = "Change fields of a resource: -p PATCH (strategic, merge or json)", args = { items },
      handler = run(M.patch),
      flags = { { name = "patch", short = "p", type = "string", metavar = "PATCH", help = "the patch, JSON or YAML" },
                { name = "type", type = "enum", values = { "strategic", "merge", "json" }, help = "the patch's kind (default strategic)" },
                { name = "dry-run", type = "enum", values = { "none", "client", "server" }, bare = "client", metavar = "MODE",
                  help = "client or server: nothing is changed" },
                { name = "output", short = "o", type = "enum", values = { "name" }, help = "name: TYPE/NAME" } },
      examples = { { [[k8s patch deploy api -p '{"spec":{"replicas":3}}']] },
                   { [[k8s patch cm conf --type json -p '[{"op":"remove","path":"/data/old"}]']] } } },
    { name = "config", summary = "The kubeconfig: config view | current-context | get-contexts [NAME] | use-context NAME",
      handler = run(M.config),
      args = { { name = "items", variadic = true, help = "view | current-context | get-contexts [NAME…]",
                 complete = function(_, cctx)
                   local w = cctx and cctx.words or {}
                   if w[#w - 1] == "use-context" or w[#w - 1] == "get-contexts" then
                     return require("k8s.kubeconfig").context_names(sess:kc({}))
                   end
                   return { "view", "current-context", "get-contexts", "use-context" }
                 end } },
      flags = { { name = "output", short = "o", type = "string", metavar = "FORMAT",
                  help = "get-contexts: name; view: yaml (default), json or jsonpath=TEMPLATE" },
                { name = "no-headers", type = "bool", help = "no header line" },
                { name = "minify", type = "bool", help = "view: only the current context, its cluster and user" },
                { name = "raw", type = "bool", help = "view: tokens, passwords and key data as they are (not REDACTED)" } },
      examples = { { "k8s config get-contexts", "the contexts, * the session's" }, { "k8s config current-context" },
                   { "k8s config view --minify", "the current context's part of the kubeconfig, secrets redacted" } } },
    { name = "cluster-info", summary = "Where the control plane and the cluster services run", handler = run(M.cluster_info),
      args = { { name = "items", variadic = true, optional = true, help = "dump (through kubectl)" } },
      examples = { { "k8s cluster-info", "the API server's address and the cluster's services" } } },
    { name = "wait", summary = "Wait for a condition: --for=condition=Ready|delete|jsonpath={…}=VALUE", args = { optional_items },
      handler = run(M.wait),
      flags = { { name = "for", type = "string", metavar = "CONDITION", help = "condition=NAME[=VALUE], delete, jsonpath={EXPR}=VALUE" },
                { name = "timeout", type = "duration", help = "how long to wait (default 30s)" },
                { name = "selector", short = "l", type = "string", metavar = "SELECTOR", help = "every object of the type matching it" },
                { name = "all", type = "bool", help = "every object of the type in the namespace" } },
      examples = { { "k8s wait --for=condition=Ready pod/web-1 --timeout 60s" }, { "k8s wait --for=delete pod -l app=web" },
                   { "k8s wait --for=jsonpath='{.status.phase}'=Running pod/web-1" } } },
    { name = "autoscale", summary = "Autoscale a deployment, replica set or stateful set: autoscale TYPE NAME --max=N [--min=N]",
      handler = run(M.autoscale), flags = AUTOSCALE_FLAGS,
      args = { { name = "items", variadic = true, optional = true, help = "TYPE NAME or TYPE/NAME",
                 complete = a.names_arg.complete } },
      examples = { { "k8s autoscale deploy web --min=2 --max=10 --cpu-percent=80",
                     "horizontalpodautoscaler.autoscaling/web autoscaled" } } },
    { name = "expose", summary = "Expose a deployment, replica set, pod or service as a new Service: expose TYPE NAME --port=…",
      handler = run(M.expose), flags = EXPOSE_FLAGS,
      args = { { name = "items", variadic = true, optional = true, help = "TYPE NAME or TYPE/NAME", complete = a.names_arg.complete } },
      examples = { { "k8s expose deploy web --port=80 --target-port=8080", "service/web exposed" },
                   { "k8s expose pod web-0 --port=443 --name=web-tls" } } },
    { name = "run", summary = "Run a pod: run NAME --image=IMAGE [-- ARGS…] (attached, -it/--rm, through kubectl)",
      handler = run(M.run_pod), passthrough = true, passthrough_unknown = true, flags = RUN_FLAGS,
      args = { { name = "items", variadic = true, optional = true, help = "NAME" } },
      examples = { { "k8s run web --image=nginx:1.25 --port=80", "pod/web created" },
                   { "k8s run once --image=busybox:1.36 --restart=Never -- echo hi" },
                   { "k8s run shell --image=busybox:1.36 -it --rm -- sh", "through kubectl: attached" } } },
    { name = "set", summary = "set image|env|resources TYPE/NAME … (natively); set selector|serviceaccount|subject through kubectl",
      handler = run(M.set), passthrough_unknown = true, flags = SET_FLAGS,
      args = { { name = "items", variadic = true, help = "image TYPE/NAME… CONTAINER=IMAGE…",
                 complete = function(p, cctx)
                   local w = cctx and cctx.words or {}
                   if #w <= 3 then return { "image", "env", "resources", "selector", "serviceaccount", "subject" } end
                   return a.names_arg.complete(p, cctx)
                 end } },
      examples = { { "k8s set image deploy/web web=nginx:1.26", "deployment.apps/web image updated" },
                   { "k8s set image deploy/web '*=nginx:1.26'", "every container" } } },
    { name = "taint", summary = "Add or remove node taints: taint nodes NAME KEY[=VALUE]:EFFECT, KEY[:EFFECT]-",
      handler = run(M.taint),
      args = { { name = "items", variadic = true, help = "nodes NAME (or -l SEL, --all) and the taints",
                 complete = function(p, cctx)
                   local w = cctx and cctx.words or {}
                   if #w <= 3 then return { "nodes" } end   -- k8s taint <Tab>
                   return a.names_arg.complete(p, cctx)
                 end } },
      flags = { { name = "overwrite", type = "bool", help = "replace a taint of the same key and effect" },
                { name = "selector", short = "l", type = "string", metavar = "SELECTOR", help = "every node matching it" },
                { name = "all", type = "bool", help = "every node" },
                { name = "dry-run", type = "enum", values = { "none", "client", "server" }, bare = "client", metavar = "MODE",
                  help = "client: say what would change; server: ask the server; nothing is changed" } },
      examples = { { "k8s taint nodes node-1 dedicated=db:NoSchedule" }, { "k8s taint nodes node-1 dedicated:NoSchedule-", "remove it" },
                   { "k8s taint nodes -l pool=gpu gpu=true:NoExecute --overwrite" } } },
    { name = "diff", summary = "What apply -f would change: the live objects against the server's dry run, as diff -u",
      handler = run(M.diff),
      flags = { { name = "kustomize", short = "k", type = "string", metavar = "DIR", help = "the objects kubectl kustomize DIR makes" },
                { name = "filename", short = "f", type = "list", metavar = "FILE", help = "file, directory, - or URL (repeatable)" },
                { name = "recursive", short = "R", type = "bool", help = "the directories of -f DIR too" },
                { name = "server-side", type = "bool", help = "as apply --server-side would change them" },
                { name = "field-manager", type = "string", metavar = "NAME", help = "with --server-side" },
                { name = "force-conflicts", type = "bool", help = "with --server-side" } },
      examples = { { "k8s diff -f app.yaml", "exit 0: nothing would change, 1: the differences shown" } } },
    { name = "uncordon", summary = "Mark nodes schedulable", args = { { name = "nodes", variadic = true, help = "node names" } },
      handler = run(M.uncordon), examples = { { "k8s uncordon node-1" } } },
    { name = "apply", summary = "Apply manifests as kubectl does: -f FILE|DIR|- (client-side; --server-side)", handler = run(M.apply),
      flags = { { name = "filename", short = "f", type = "list", metavar = "FILE",
                  help = "file, directory or - for standard input (repeatable)" },
                { name = "kustomize", short = "k", type = "string", metavar = "DIR", help = "the objects kubectl kustomize DIR makes" },
                { name = "recursive", short = "R", type = "bool", help = "the directories of -f DIR too" },
                { name = "dry-run", type = "enum", values = { "none", "client", "server" }, bare = "client", metavar = "MODE",
                  help = "client: say what would change; server: ask the server; nothing is changed" },
                { name = "output", short = "o", type = "string", metavar = "FORMAT", help = "name, yaml or json: the applied objects" },
                { name = "server-side", type = "bool", help = "server-side apply (the server merges and tracks field owners)" },
                { name = "field-manager", type = "string", metavar = "NAME",
                  help = "with --server-side: the manager named as the fields' owner" },
                { name = "force-conflicts", type = "bool", help = "with --server-side: take over fields another manager owns" },
                { name = "prune", type = "bool", help = "delete what matches -l (or --all), was applied before and is not here" },
                { name = "selector", short = "l", type = "string", metavar = "SELECTOR", help = "with --prune: what may go" },
                { name = "all", type = "bool", help = "with --prune: every object of the prunable types may go" },
                { name = "prune-allowlist", type = "list", metavar = "GROUP/VERSION/KIND",
                  help = "with --prune: these types instead of kubectl's default list (repeatable; core: /v1/ConfigMap)" } },
      examples = { { "k8s apply -f app.yaml", "created, configured or unchanged, each object" },
                   { "k8s apply -f manifests/ --prune -l app=web", "and what was applied with app=web before but is gone" },
                   { "cat app.yaml | vcli k8s apply -f -", "from standard input" },
                   { "k8s apply -f manifests/ -R --dry-run=server", "every .yaml/.json below a directory, checked by the server" },
                   { "k8s apply -f app.yaml --server-side", "the server merges; conflicts with other managers are errors" } } },
    { name = "replace", summary = "Replace objects with -f FILE|DIR|-|URL (as kubectl replace; --force deletes and re-creates)",
      handler = run(M.replace), flags = REPLACE_FLAGS,
      args = { { name = "items", variadic = true, optional = true, help = "(none: the objects come from -f)" } },
      examples = { { "k8s replace -f web.yaml", "deployment.apps/web replaced" }, { "k8s replace --force -f job.yaml" } } },
    { name = "create", summary = "Create from -f FILE|DIR|-, or namespace|configmap|secret|deployment|serviceaccount|job NAME",
      -- (flags of generators vcli leaves to kubectl, create role --verb…, pass as words)
      handler = run(M.create), passthrough = true, passthrough_unknown = true,
      args = { { name = "items", variadic = true, optional = true, help = "GENERATOR NAME (secret: generic|tls|docker-registry NAME)",
                 complete = function(_, cctx)
                   local w = cctx and cctx.words or {}
                   if w[#w - 1] == "secret" then return { "generic", "tls", "docker-registry" } end
                   return { "namespace", "configmap", "secret", "deployment", "serviceaccount", "job" }
                 end } },
      flags = CREATE_FLAGS,
      examples = { { "k8s create namespace web" }, { "k8s create configmap app --from-literal=mode=prod --from-file=app.conf" },
                   { "k8s create secret generic db --from-literal=password=…" },
                   { "k8s create deployment web --image=nginx:1.25 --replicas=2 --port=80" },
                   { "k8s create job once --from=cronjob/nightly" }, { "k8s create -f app.yaml", "every document, each result" } } },
    { name = "edit", summary = "Edit a resource in $EDITOR (conflicts detected)", args = { items }, handler = run(M.edit),
      examples = { { "k8s edit deploy/api", "in $KUBE_EDITOR or $EDITOR (default vi); what you save is sent back" } } },
    { name = "exec", summary = "Run a command in a pod (-it: an interactive shell)", passthrough = true, handler = run(M.exec),
      args = { pod_arg, { name = "command", variadic = true, optional = true, help = "command (after --)" } },
      flags = { { name = "container", short = "c", type = "string", help = "container (default: the first)",
                  complete = a.containers },
                { name = "stdin", short = "i", type = "bool", help = "pass stdin to the command" },
                { name = "tty", short = "t", type = "bool", help = "with -i: a terminal (raw keys, resize)" } },
      examples = { { "k8s exec web-7d4b9-x2x5q -- uname -a", "the command's output and exit status" },
                   { "k8s exec -it deploy/api -- sh", "an interactive shell in a pod of the deployment" },
                   { "k8s exec web-7d4b9-x2x5q -c sidecar -- env" } } },
    { name = "explain", summary = "The schema of a type or field, from the server's OpenAPI: explain TYPE[.FIELD…]",
      handler = run(M.explain),
      args = { { name = "items", variadic = true, optional = true, help = "TYPE or TYPE.FIELD.FIELD…",
                 complete = function() return sess:discovery((sess:client({}))):type_names() end } },
      flags = { { name = "recursive", type = "bool", help = "every field below, as a tree" },
                { name = "api-version", type = "string", metavar = "GROUP/VERSION", help = "that version of the type" } },
      examples = { { "k8s explain deploy.spec.replicas" }, { "k8s explain pod.spec.containers --recursive" } } },
    { name = "top", summary = "CPU and memory of pods or nodes: top pod|node [NAME] (the metrics API, else Prometheus)",
      handler = run(M.top),
      args = { { name = "items", variadic = true, optional = true, help = "pod|node [NAME]",
                 complete = function(p, cctx)
                   local w = cctx and cctx.words or {}
                   if #w <= 3 then return { "pod", "node" } end
                   return a.names_arg.complete(p, cctx)
                 end } },
      flags = { { name = "containers", type = "bool", help = "pod: each container" },
                { name = "sum", type = "bool", help = "pod: a total line" },
                { name = "sort-by", type = "enum", values = { "cpu", "memory" }, metavar = "cpu|memory", help = "highest first" },
                { name = "no-headers", type = "bool", help = "no header line" },
                { name = "selector", short = "l", type = "string", metavar = "SELECTOR", help = "only those matching it" },
                { name = "field-selector", type = "string", metavar = "SELECTOR", help = "pod: only those matching it" } },
      examples = { { "k8s top pod -A --sort-by=cpu", "the busiest pods first" }, { "k8s top node" },
                   { "k8s top pod web-0 --containers" } } },
    { name = "cp", summary = "Copy files and directories to and from containers: cp SRC POD:DEST, cp POD:SRC DEST",
      handler = run(M.cp),
      args = { { name = "items", variadic = true, help = "SRC DEST ([NAMESPACE/]POD:PATH on one side)", complete = pod_arg.complete } },
      flags = { { name = "container", short = "c", type = "string", help = "container (default: the first)", complete = a.containers },
                { name = "no-preserve", type = "bool", help = "upload: not the files' owner and permissions" },
                { name = "retries", type = "int", min = 0, metavar = "N", help = "(kubectl's; a copy here is one stream)" } },
      examples = { { "k8s cp ./app.conf web-7d4b9-x2x5q:/etc/app/", "into the directory there" },
                   { "k8s cp web-7d4b9-x2x5q:/var/log/app ./logs", "a directory, here" },
                   { "k8s cp team-a/web-0:/tmp/dump.sql dump.sql -c db" } } },
    { name = "attach", summary = "Attach to a running container's main process (-it: its terminal)", handler = run(M.attach),
      args = { pod_arg },
      flags = { { name = "container", short = "c", type = "string", help = "container (default: the first)",
                  complete = a.containers },
                { name = "stdin", short = "i", type = "bool", help = "pass stdin to the process" },
                { name = "tty", short = "t", type = "bool", help = "with -i: a terminal (raw keys, resize)" },
                { name = "quiet", short = "q", type = "bool", help = "no \"If you don't see a command prompt\" line" } },
      examples = { { "k8s attach web-7d4b9-x2x5q", "its output as it comes" },
                   { "k8s attach -it shell", "the terminal of a pod started with -it" } } },
    { name = "port-forward", summary = "Forward local ports to a pod (POD, svc/NAME, deploy/NAME…)", handler = run(M.port_forward),
      args = { { name = "target", help = "POD, pod/NAME, svc/NAME, deploy/NAME…", complete = pod_arg.complete },
               { name = "ports", variadic = true, help = "[LOCAL:]REMOTE…" } },
      flags = { { name = "address", type = "string", metavar = "ADDRESSES",
                  help = "local addresses to listen on, comma-separated (127.0.0.1)" } },
      examples = { { "k8s port-forward svc/api 8080:80", "localhost:8080 to the service's port 80" },
                   { "k8s port-forward web-7d4b9-x2x5q 9090", "the same port on both sides" } } },
  }
end

return M
