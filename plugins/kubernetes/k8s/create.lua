-- k8s.create — kubectl create, natively: -f FILE|DIR|- (every document
-- tried, each result said) and kubectl's generators: namespace, configmap,
-- secret generic|tls|docker-registry, deployment, serviceaccount, job
-- (--image, or --from=cronjob/NAME). The objects are the ones kubectl builds
-- (its -o yaml --dry-run=client output, field for field); --dry-run=client
-- prints without asking, server asks the server to check, -o name|yaml|json.
local discovery = require("k8s.discovery")
local util = require("k8s.util")

local M = {}

local function fail(msg) error(msg, 0) end

-- kubectl's rule for a name derived from an image: its last path part,
-- without tag or digest, anything but [a-z0-9-] as "-"
local function image_name(img)
  local base = img:gsub("@.*$", ""):match("([^/]+)$") or img
  base = base:gsub(":.*$", "")
  return (base:lower():gsub("[^a-z0-9%-]", "-"))
end

-- KEY=VALUE of --from-literal
local function literal(s)
  local k, v = s:match("^([^=]+)=(.*)$")
  if not k then fail(("error: invalid literal source %s, expected key=value"):format(s)) end
  return k, v
end

local function valid_key(k)
  if not k:match("^[%w%-%._]+$") then
    fail(("error: %q is not a valid key name for a ConfigMap or Secret: a valid config key must consist of"
      .. " alphanumeric characters, '-', '_' or '.'"):format(k))
  end
  return k
end

-- data of --from-literal, --from-file ([KEY=]PATH; a directory: its files),
-- --from-env-file; raw values (the caller encodes)
local function sources(env, f)
  local data, order = {}, {}
  local function put(k, v)
    valid_key(k)
    if data[k] ~= nil then fail(("error: cannot add key %s, another key by that name already exists in Data for ConfigMap"):format(k)) end
    data[k] = v
    order[#order + 1] = k
  end
  local env_files = f["from-env-file"] or {}
  if #env_files > 0 and (#(f["from-file"] or {}) > 0 or #(f["from-literal"] or {}) > 0) then
    fail("error: from-env-file cannot be combined with from-file or from-literal")
  end
  for _, s in ipairs(f["from-literal"] or {}) do put(literal(s)) end
  for _, s in ipairs(f["from-file"] or {}) do
    local k, p = s:match("^([^=]+)=(.+)$")
    p = p or s
    local list = env.list_dir and env.list_dir(p)
    if list and not k then
      table.sort(list)
      for _, name in ipairs(list) do
        local text = env.read_file(p:gsub("/$", "") .. "/" .. name)
        if text then put(name, text) end
      end
    else
      local text, err = env.read_file(p)
      if not text then fail(("error: error reading %s: %s"):format(p, err or "no such file or directory")) end
      put(k or p:match("([^/]+)$"), text)
    end
  end
  for _, p in ipairs(env_files) do
    local text, err = env.read_file(p)
    if not text then fail(("error: error reading %s: %s"):format(p, err or "no such file or directory")) end
    local n = 0
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
      n = n + 1
      line = line:gsub("\r$", ""):gsub("^%s+", "")
      if line ~= "" and not line:find("^#") then
        local k, v = line:match("^([^=]+)=(.*)$")
        if not k then
          k = line
          v = env.getenv(k) or ""
        end
        if not k:match("^[%a_][%w_]*$") and not k:match("^[%w%-%._]+$") then
          fail(("error: %s:%d: %q is not a valid key name"):format(p, n, k))
        end
        put(k, v)
      end
    end
  end
  return data, order
end

local function meta(name, ns)
  return { creationTimestamp = "__NULL__", name = name, namespace = ns }
end

-- the generators: kind, group/version and the object of `create KIND NAME …`
local GEN = {}

GEN.namespace = function(_, name)
  return { apiVersion = "v1", kind = "Namespace", metadata = meta(name), spec = {}, status = {} }, false
end
GEN.ns = GEN.namespace

GEN.serviceaccount = function(_, name, _, ns)
  return { apiVersion = "v1", kind = "ServiceAccount", metadata = meta(name, ns) }, true
end
GEN.sa = GEN.serviceaccount

GEN.configmap = function(env, name, f, ns)
  local data = sources(env, f)
  local obj = { apiVersion = "v1", kind = "ConfigMap", metadata = meta(name, ns) }
  for k, v in pairs(data) do
    -- bytes that are not UTF-8 go to binaryData, base64, as kubectl puts them
    if require("vcli.text").valid_utf8 and not require("vcli.text").valid_utf8(v) then
      obj.binaryData = obj.binaryData or {}
      obj.binaryData[k] = util.base64_encode(v)
    else
      obj.data = obj.data or {}
      obj.data[k] = v
    end
  end
  return obj, true
end
GEN.cm = GEN.configmap

local function secret(name, ns, ty)
  return { apiVersion = "v1", kind = "Secret", metadata = meta(name, ns), type = ty }
end

GEN["secret generic"] = function(env, name, f, ns)
  local data = sources(env, f)
  local obj = secret(name, ns, f.type)
  for k, v in pairs(data) do obj.data = obj.data or {}; obj.data[k] = util.base64_encode(v) end
  return obj, true
end

GEN["secret tls"] = function(env, name, f, ns)
  if not f.cert or not f.key then fail("error: required flag(s) \"cert\", \"key\" not set") end
  local crt, e1 = env.read_file(f.cert)
  if not crt then fail(("error: open %s: %s"):format(f.cert, e1 or "no such file or directory")) end
  local key, e2 = env.read_file(f.key)
  if not key then fail(("error: open %s: %s"):format(f.key, e2 or "no such file or directory")) end
  if not crt:find("%-%-%-%-%-BEGIN") or not key:find("%-%-%-%-%-BEGIN") then
    fail("error: failed to load key pair tls: failed to find any PEM data in certificate input")
  end
  local obj = secret(name, ns, "kubernetes.io/tls")
  obj.data = { ["tls.crt"] = util.base64_encode(crt), ["tls.key"] = util.base64_encode(key) }
  return obj, true
end

GEN["secret docker-registry"] = function(env, name, f, ns)
  local server = f["docker-server"] or "https://index.docker.io/v1/"
  if not f["docker-username"] or not f["docker-password"] then
    fail('error: required flag(s) "docker-password", "docker-username" not set')
  end
  -- kubectl's field order: username, password, email (when given), auth
  local function q(v) return env.json.encode(v) end
  local cfg = ('{"auths":{%s:{"username":%s,"password":%s,%s"auth":%s}}}'):format(q(server), q(f["docker-username"]),
    q(f["docker-password"]), f["docker-email"] and ('"email":' .. q(f["docker-email"]) .. ",") or "",
    q(util.base64_encode(f["docker-username"] .. ":" .. f["docker-password"])))
  local obj = secret(name, ns, "kubernetes.io/dockerconfigjson")
  obj.data = { [".dockerconfigjson"] = util.base64_encode(cfg) }
  return obj, true
end

GEN.deployment = function(env, name, f, ns)
  local images = f.image or {}
  if #images == 0 then fail('error: required flag(s) "image" not set') end
  local containers = setmetatable({}, env.json.array_mt)
  for i, img in ipairs(images) do
    containers[i] = { name = image_name(img), image = img, resources = {} }
  end
  if f.port and #images == 1 then
    containers[1].ports = setmetatable({ { containerPort = f.port } }, env.json.array_mt)
  end
  if f._cmd and #f._cmd > 0 then
    if #images > 1 then fail("error: cannot specify multiple --image options and command") end
    containers[1].command = setmetatable(f._cmd, env.json.array_mt)
  end
  local labels = { app = name }
  return { apiVersion = "apps/v1", kind = "Deployment",
           metadata = { creationTimestamp = "__NULL__", labels = labels, name = name, namespace = ns },
           spec = { replicas = f.replicas or 1, selector = { matchLabels = { app = name } }, strategy = {},
                    template = { metadata = { creationTimestamp = "__NULL__", labels = { app = name } },
                                 spec = { containers = containers } } },
           status = {} }, true
end
GEN.deploy = GEN.deployment

GEN.job = function(env, name, f, ns, sess, c)
  if f.from then
    local kind, src = f.from:match("^([^/]+)/(.+)$")
    if not kind or not (kind == "cronjob" or kind == "cronjobs" or kind == "cj" or kind:match("^cronjob%.")) then
      fail(("error: from must be an existing cronjob: cronjob/NAME, not %s"):format(f.from))
    end
    local r = sess:discovery(c):resolve("cronjobs")
    if not r then fail("error: the server doesn't serve cronjobs") end
    -- (ns is what the printed object names: -n only; the CronJob is in the session's namespace)
    local res, err = c:request{ path = discovery.path(r, ns or c.conn.namespace, src), accept = "application/json",
      timeout_ms = 30000 }
    if not res then fail(err) end
    local cj = env.json.decode(res.body)
    local tpl = cj.spec and cj.spec.jobTemplate or {}
    local ann = {}
    for k, v in pairs(tpl.metadata and tpl.metadata.annotations or {}) do ann[k] = v end
    ann["cronjob.kubernetes.io/instantiate"] = "manual"
    local md = { creationTimestamp = "__NULL__", name = name, namespace = ns, annotations = ann,
                 labels = tpl.metadata and tpl.metadata.labels or nil,
                 ownerReferences = setmetatable({ { apiVersion = cj.apiVersion, kind = "CronJob", name = src,
                   uid = cj.metadata.uid, controller = true } }, env.json.array_mt) }
    return { apiVersion = "batch/v1", kind = "Job", metadata = md, spec = tpl.spec or {}, status = {} }, true
  end
  local img = f.image and f.image[1]
  if not img then fail("error: either --image or --from must be specified") end
  local ct = { name = name, image = img, resources = {} }
  if f._cmd and #f._cmd > 0 then ct.command = setmetatable(f._cmd, env.json.array_mt) end
  return { apiVersion = "batch/v1", kind = "Job", metadata = meta(name, ns),
           spec = { template = { metadata = { creationTimestamp = "__NULL__" },
                                 spec = { containers = setmetatable({ ct }, env.json.array_mt), restartPolicy = "Never" } } },
           status = {} }, true
end

M.GENERATORS = { "namespace", "configmap", "secret generic", "secret tls", "secret docker-registry",
                 "deployment", "serviceaccount", "job" }

-- "__NULL__" -> the codecs' null (a creationTimestamp: null as kubectl prints it)
local function nulls(env, v)
  if type(v) ~= "table" then return v == "__NULL__" and env.json.null or v end
  for k, x in pairs(v) do v[k] = nulls(env, x) end
  return v
end

function M.print_object(env, ctx, fmt, obj, what)
  -- as kubectl: managedFields only when asked for
  if type(obj) == "table" and type(obj.metadata) == "table" and not ctx.flags["show-managed-fields"] then
    obj.metadata.managedFields = nil
  end
  if fmt == "name" then ctx.out(what .. "\n")
  elseif fmt == "json" then ctx.out(env.jsonfmt.encode(obj, "", env.json.array_mt) .. "\n")
  elseif fmt == "yaml" then ctx.out(env.yaml.encode(obj))
  else   -- jsonpath=TEMPLATE, as get prints it
    local jp = require("k8s.jsonpath")
    local tpl = jp.parse((fmt:match("^jsonpath=(.*)$")))
    ctx.out(jp.execute(tpl, obj, env.json.null, function(v) return (env.jsonfmt.encode(v, "", env.json.array_mt, true)) end))
  end
end

-- What every writing verb starts with: its client, the dry run, the read-only guard (a dry
-- run changes nothing, so it passes), -o checked before anything is sent
-- -> c, conn, dry, fmt, suffix
local function begin(sess, ctx, V, verb)
  local f = ctx.flags
  local c, conn = sess:client(f)
  local dry = V.dry_run(f)
  if not dry then V.guard(sess, conn, verb) end
  local fmt = f.output
  if fmt and fmt ~= "name" and fmt ~= "yaml" and fmt ~= "json" and not fmt:match("^jsonpath=.") then
    fail(('error: unable to match a printer suitable for the output format "%s", allowed formats are:'
      .. ' json,jsonpath,name,yaml'):format(fmt))
  end
  if fmt and fmt:match("^jsonpath=") then require("k8s.jsonpath").parse(fmt:match("^jsonpath=(.*)$")) end   -- errors first
  return c, conn, dry, fmt, dry == "client" and " (dry run)" or dry == "server" and " (server dry run)" or ""
end

-- the objects a verb's words name (TYPE NAME…, TYPE/NAME…), kubectl's words when there are none
local function named_objects(sess, ctx, V)
  local words = {}
  for _, w in ipairs(ctx.args.items or {}) do words[#words + 1] = w end
  if #words == 0 then
    fail("error: You must provide one or more resources by argument or filename.\nExample resource specifications include:"
      .. "\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'")
  end
  return V.targets_of(sess, ctx, words)
end

-- POST to a type's collection as kubectl does (its field manager; the server's dry run) -> the object made
local function poster(env, c, dry, manager)
  local q = util.query({ dryRun = dry == "server" and "All" or nil, fieldManager = manager })
  return function(r, ns, obj)
    local res, err = c:request{ method = "POST", path = discovery.path(r, ns) .. q, body = env.json.encode(obj),
      content_type = "application/json", accept = "application/json", timeout_ms = 30000 }
    if not res then fail(err) end
    return env.json.decode(res.body)
  end
end

-- Every object of -f (files, directories, -, URLs), each tried: action(o, "kind/name")
-- prints its result; a failure goes to stderr in kubectl's words ("error when
-- creating "f.yaml": …") and the others go on. -> exit status (1 when any failed)
function M.each_object(sess, ctx, V, c, conn, verb, gerund, action)
  local f = ctx.flags
  local objs = V.manifest_objects(sess, c, conn, f.filename, verb,
    { each = true, recursive = f.recursive, namespace_flag = f.namespace })
  local failed = 0
  for _, o in ipairs(objs) do
    local ok, err = true, o.err
    if not err then ok, err = pcall(action, o, discovery.kind_prefix(o.r) .. "/" .. o.name) end
    if not ok or o.err then
      failed = failed + 1
      local msg = tostring(err)
      if not o.err then
        msg = msg:gsub("^(Error from server %b()): ", ("%%1: error when %s %q: "):format(gerund, o.file))
      end
      ctx.err(msg .. "\n")
    end
  end
  return failed > 0 and 1 or 0
end

-- kubectl replace -f, natively: each object PUT in place (at the live object's
-- resourceVersion when the file has none, as kubectl does), "replaced"; --force
-- deletes it first and creates it anew.
function M.replace(sess, ctx, V)
  local env, f = sess.env, ctx.flags
  local c, conn, dry, fmt, suffix = begin(sess, ctx, V, "replace")
  if not (f.filename and #f.filename > 0) then fail("error: must specify one of -f and -k") end
  local words = ctx.args.items or {}
  if #words > 0 then fail("error: Unexpected args: [" .. table.concat(words, " ") .. "]") end
  local q = util.query({ dryRun = dry == "server" and "All" or nil, fieldManager = "kubectl-replace" })
  local function call(method, path, obj)
    local res, err = c:request{ method = method, path = path, body = obj and env.json.encode(obj) or nil,
      content_type = obj and "application/json" or nil, accept = "application/json", timeout_ms = 30000 }
    if not res then fail(err) end
    return res.body ~= "" and env.json.decode(res.body) or nil
  end
  return M.each_object(sess, ctx, V, c, conn, "replace", "replacing", function(o, what)
    local obj = o.doc
    if type(obj.metadata) ~= "table" then obj.metadata = {} end
    if o.ns then obj.metadata.namespace = o.ns end
    local path = discovery.path(o.r, o.ns, o.name)
    if f.force then
      if dry ~= "client" then
        local _, err, _, code = c:request{ method = "DELETE", path = path .. util.query({ dryRun = dry == "server" and "All" or nil }),
          accept = "application/json", timeout_ms = 30000 }
        if err and code ~= 404 then fail(err) end
        if not err then
          ctx.out(("%s %q deleted\n"):format(discovery.kind_prefix(o.r), o.name))
          -- gone before it comes back (finalizers, graceful deletion)
          if dry ~= "server" then
            local deadline = env.now() + (tonumber(f.timeout) or 60) * 1000
            while c:get_json(path) do
              if env.now() > deadline then fail("error: timed out waiting for " .. what .. " to be deleted") end
              env.sleep(200)
            end
          end
        end
      end
      obj.metadata.resourceVersion = nil
      if dry ~= "client" then
        obj = call("POST", discovery.path(o.r, o.ns) .. q, obj)
      end
    else
      if dry ~= "client" then
        if not obj.metadata.resourceVersion then
          local live, err = c:get_json(path)
          if not live then fail(err) end
          obj.metadata.resourceVersion = live.metadata.resourceVersion
        end
        obj = call("PUT", path .. q, obj)
      end
    end
    if fmt then M.print_object(env, ctx, fmt, obj, what) else ctx.out(what .. " replaced" .. suffix .. "\n") end
  end)
end

-- M.run(sess, ctx, verbs): verbs is k8s.verbs (its guard, manifests, dry-run)
function M.run(sess, ctx, V)
  local env, f = sess.env, ctx.flags
  local c, conn, dry, fmt, suffix = begin(sess, ctx, V, "create")
  local words = {}
  for _, a in ipairs(ctx.args.items or {}) do words[#words + 1] = a end
  local post = poster(env, c, dry, "kubectl-create")
  if f.filename and #f.filename > 0 then
    if #words > 0 then fail("error: Unexpected args: [" .. table.concat(words, " ") .. "]") end
    return M.each_object(sess, ctx, V, c, conn, "create", "creating", function(o, what)
      local obj = o.doc
      if o.ns and type(obj.metadata) == "table" then obj.metadata.namespace = o.ns end
      if dry ~= "client" then obj = post(o.r, o.ns, obj) end
      if fmt then M.print_object(env, ctx, fmt, obj, what) else ctx.out(what .. " created" .. suffix .. "\n") end
    end)
  end
  local kind = words[1]
  if not kind then
    fail("error: must specify one of -f and -k, or a generator: " .. table.concat(M.GENERATORS, ", "))
  end
  local key, name = kind, words[2]
  if kind == "secret" then
    if not words[2] then fail("error: secret needs a type: generic, tls or docker-registry") end
    key, name = "secret " .. words[2], words[3]
  end
  local gen = GEN[key]
  if not gen then return nil end   -- not one of ours: the caller bridges it
  if not name then fail("error: exactly one NAME is required, got 0") end
  local extra = words[(kind == "secret" and 4 or 3)]
  if extra then
    if extra:sub(1, 1) == "-" then fail(("error: unknown flag: %s"):format(extra:match("^[^=]+"))) end
    fail(("error: exactly one NAME is required, got %d"):format(#words - (kind == "secret" and 2 or 1)))
  end
  if f["--"] then f._cmd = {} for i, w in ipairs(f["--"]) do f._cmd[i] = w end end
  -- kubectl prints the namespace only when it was asked for (-n) in a dry run's output
  local obj, namespaced = gen(env, name, f, f.namespace, sess, c)
  return M.send(sess, ctx, c, conn, dry, obj, namespaced, name, post)
end

-- a built object sent (or, dry run, only printed) as create and run do
function M.send(sess, ctx, c, conn, dry, obj, namespaced, name, post, word)
  local env, f = sess.env, ctx.flags
  local fmt = f.output
  local suffix = dry == "client" and " (dry run)" or dry == "server" and " (server dry run)" or ""
  obj = nulls(env, obj)
  local ns = namespaced and (f.namespace or conn.namespace) or nil
  local r
  for _, cand in ipairs(sess:discovery(c):resources() or {}) do
    if cand.kind == obj.kind and cand.gv == obj.apiVersion and not cand.name:find("/") then r = cand break end
  end
  if not r then fail(("error: the server doesn't serve %s %s"):format(obj.apiVersion, obj.kind)) end
  local what = discovery.kind_prefix(r) .. "/" .. name
  if dry ~= "client" then
    if namespaced then obj.metadata.namespace = ns end
    local ok, res = pcall(post, r, ns, obj)
    if not ok then   -- kubectl's words: error: failed to create configmap: configmaps "x" already exists
      if word or (ctx.spec and ctx.spec.name == "run") then fail(tostring(res)) end
      fail(("error: failed to create %s: %s"):format(obj.kind:lower(), (tostring(res):gsub("^Error from server %b(): ", ""))))
    end
    obj = res
  end
  if fmt then M.print_object(env, ctx, fmt, obj, what) else ctx.out(what .. " " .. (word or "created") .. suffix .. "\n") end
  return 0
end

-- kubectl expose TYPE NAME | TYPE/NAME, natively: a Service selecting what the object
-- selects (a deployment's, replica set's or replication controller's selector, a
-- service's, a pod's labels), on --port (else the object's own ports, "port-N" when
-- several), --target-port (else the port), the object's labels unless --labels.
local EXPOSABLE = { Deployment = true, ReplicaSet = true, ReplicationController = true, Service = true, Pod = true }
function M.expose(sess, ctx, V)
  local env, f = sess.env, ctx.flags
  local c, conn, dry = begin(sess, ctx, V, "expose")
  local ts = named_objects(sess, ctx, V)
  if #ts ~= 1 then fail("error: expose one object: TYPE NAME or TYPE/NAME") end
  local t = ts[1]
  local ns = t.r.namespaced and conn.namespace or nil
  local obj, err = c:get_json(discovery.path(t.r, ns, t.name))
  if not obj then fail(err) end
  if not EXPOSABLE[obj.kind] then
    fail(("error: cannot expose a %s%s"):format(obj.kind, (t.r.group or "") ~= "" and ("." .. t.r.group) or ""))
  end
  local spec = type(obj.spec) == "table" and obj.spec or {}
  -- what it selects
  local selector
  if f.selector then
    selector = {}
    for item in f.selector:gmatch("[^,]+") do
      local k, v = item:match("^([^=]+)=(.*)$")
      if not k then fail(("error: invalid selector: %s"):format(f.selector)) end
      selector[k] = v
    end
  elseif obj.kind == "Pod" then selector = obj.metadata.labels
  elseif obj.kind == "Service" or obj.kind == "ReplicationController" then selector = spec.selector
  else
    local sel = type(spec.selector) == "table" and spec.selector or {}
    if type(sel.matchExpressions) == "table" and #sel.matchExpressions > 0 then
      fail("error: couldn't convert expressions - \"" .. tostring(sel.matchExpressions[1].key) .. "\" to map-based selector format")
    end
    selector = sel.matchLabels
  end
  if type(selector) ~= "table" or next(selector) == nil then
    fail(("error: couldn't retrieve selectors via --selector flag or introspection: the %s has no selector"):format(obj.kind:lower()))
  end
  -- its ports: --port, else the object's own
  local ports = {}
  if f.port then
    ports[1] = { port = tonumber(f.port) }
    if not ports[1].port then fail(("error: invalid port: %s"):format(f.port)) end
  else
    local containers = {}
    if obj.kind == "Pod" then containers = spec.containers or {}
    elseif obj.kind ~= "Service" then
      local tpl = type(spec.template) == "table" and spec.template.spec or {}
      containers = type(tpl) == "table" and tpl.containers or {}
    end
    if obj.kind == "Service" then
      for _, sp in ipairs(type(spec.ports) == "table" and spec.ports or {}) do
        ports[#ports + 1] = { port = sp.port, protocol = sp.protocol }
      end
    else
      for _, ct in ipairs(containers) do
        for _, cp in ipairs(type(ct.ports) == "table" and ct.ports or {}) do
          ports[#ports + 1] = { port = cp.containerPort, protocol = cp.protocol }
        end
      end
    end
    if #ports == 0 then fail("error: couldn't find port via --port flag or introspection") end
  end
  local sports = setmetatable({}, env.json.array_mt)
  for i, p in ipairs(ports) do
    local sp = { port = p.port, protocol = f.protocol or p.protocol or "TCP" }
    if #ports > 1 then sp.name = ("port-%d"):format(i) end
    if f["target-port"] then sp.targetPort = tonumber(f["target-port"]) or f["target-port"]
    else sp.targetPort = p.port end
    sports[i] = sp
  end
  local labels = obj.metadata.labels
  if f.labels then
    labels = {}
    for item in f.labels:gmatch("[^,]+") do
      local k, v = item:match("^([^=]+)=(.*)$")
      if not k then fail(("error: invalid label spec: %s"):format(item)) end
      labels[k] = v
    end
  end
  local name = f.name or t.name
  local svc = { apiVersion = "v1", kind = "Service",
    metadata = { creationTimestamp = "__NULL__", labels = labels, name = name, namespace = f.namespace },
    spec = { ports = sports, selector = selector, type = f.type, clusterIP = f["cluster-ip"],
             sessionAffinity = f["session-affinity"],
             externalIPs = f["external-ip"] and setmetatable({ f["external-ip"] }, env.json.array_mt) or nil },
    status = { loadBalancer = {} } }
  return M.send(sess, ctx, c, conn, dry, svc, true, name, poster(env, c, dry, "kubectl-expose"), "exposed")
end

-- kubectl autoscale TYPE NAME --max=N [--min=N] [--cpu-percent=N], natively: an
-- autoscaling/v1 HorizontalPodAutoscaler of the object ("autoscaled").
local SCALABLE = { Deployment = true, ReplicaSet = true, ReplicationController = true, StatefulSet = true }
function M.autoscale(sess, ctx, V)
  local env, f = sess.env, ctx.flags
  if not f.max then fail('error: required flag(s) "max" not set') end
  local c, conn, dry = begin(sess, ctx, V, "autoscale")
  local min = f.min or -1
  if f.max < 1 then fail(("error: --max=MAXPODS is required and must be at least 1, max: %d"):format(f.max)) end
  if min > f.max then
    fail(("error: --max=MAXPODS must be larger or equal to --min=MINPODS, max: %d, min: %d"):format(f.max, min))
  end
  local ts = named_objects(sess, ctx, V)
  local status = 0
  for _, t in ipairs(ts) do
    local ns = t.r.namespaced and conn.namespace or nil
    local obj, err = c:get_json(discovery.path(t.r, ns, t.name))
    if not obj then fail(err) end
    if not SCALABLE[obj.kind] then
      fail(("error: cannot autoscale a %s: could not find scale subresource for %s/%s, Resource=%s in discovery information")
        :format(obj.kind, t.r.group or "", tostring(t.r.version or (t.r.gv or ""):match("([^/]+)$")), t.r.name))
    end
    local name = f.name or t.name
    local spec = { maxReplicas = f.max, scaleTargetRef = { apiVersion = obj.apiVersion, kind = obj.kind, name = t.name } }
    if min > 0 then spec.minReplicas = min end
    if f["cpu-percent"] and f["cpu-percent"] >= 0 then spec.targetCPUUtilizationPercentage = f["cpu-percent"] end
    local hpa = { apiVersion = "autoscaling/v1", kind = "HorizontalPodAutoscaler",
      metadata = { creationTimestamp = "__NULL__", name = name, namespace = f.namespace },
      spec = spec, status = { currentReplicas = 0, desiredReplicas = 0 } }
    status = M.send(sess, ctx, c, conn, dry, hpa, true, name, poster(env, c, dry, "kubectl-autoscale"), "autoscaled") or status
  end
  return status
end

-- kubectl run NAME --image=IMG, natively: the Pod kubectl builds (labels run=NAME or
-- --labels, --env, --port, --restart, --image-pull-policy, --annotations, -- ARGS or
-- --command -- CMD…). Attaching (-i, -t, --attach, --rm) is kubectl's (the caller
-- hands it over).
function M.run_pod(sess, ctx, V)
  local env, f = sess.env, ctx.flags
  local c, conn, dry = begin(sess, ctx, V, "run")
  local words = ctx.args.items or {}
  local name = words[1]
  if not f.image then fail('error: required flag(s) "image" not set') end
  if not name then fail("error: NAME is required for run") end
  if words[2] then fail(("error: unexpected args: [%s]"):format(table.concat(words, " ", 2))) end
  local restart = f.restart or "Always"
  if restart ~= "Always" and restart ~= "OnFailure" and restart ~= "Never" then
    fail(("error: invalid restart policy: %s\nSee 'k8s run -h' for help and examples"):format(restart))
  end
  local ct = { name = name, image = f.image, resources = {} }
  local rest = f["--"] or {}
  if #rest > 0 then
    local list = setmetatable({}, env.json.array_mt)
    for i, w in ipairs(rest) do list[i] = w end
    if f.command then ct.command = list else ct.args = list end
  elseif f.command then fail("error: --command requires a command after --") end
  if f.env and #f.env > 0 then
    ct.env = setmetatable({}, env.json.array_mt)
    for _, kv in ipairs(f.env) do
      local k, v = kv:match("^([^=]+)=(.*)$")
      if not k then fail(("error: invalid env: %s"):format(kv)) end
      ct.env[#ct.env + 1] = { name = k, value = v }
    end
  end
  if f.port then ct.ports = setmetatable({ { containerPort = f.port } }, env.json.array_mt) end
  if f["image-pull-policy"] then ct.imagePullPolicy = f["image-pull-policy"] end
  local function pairs_of(spec, what)
    local m = {}
    for item in tostring(spec):gmatch("[^,]+") do
      local k, v = item:match("^([^=]+)=(.*)$")
      if not k then fail(("error: invalid %s: %s"):format(what, item)) end
      m[k] = v
    end
    return m
  end
  local labels = f.labels and pairs_of(f.labels, "label spec") or { run = name }
  local ann
  for _, a in ipairs(f.annotations or {}) do ann = ann or {}; for k, v in pairs(pairs_of(a, "annotation")) do ann[k] = v end end
  local obj = { apiVersion = "v1", kind = "Pod",
    metadata = { creationTimestamp = "__NULL__", labels = labels, annotations = ann, name = name, namespace = f.namespace },
    spec = { containers = setmetatable({ ct }, env.json.array_mt), dnsPolicy = "ClusterFirst", restartPolicy = restart },
    status = {} }
  return M.send(sess, ctx, c, conn, dry, obj, true, name, poster(env, c, dry, "kubectl-run"))
end

return M
