-- k8s.commands — the `k8s` command (alias `kubernetes`): specs for the
-- shell (flags, args, completion) and their handlers over a session.
local get = require("k8s.get")
local verbs = require("k8s.verbs")
local kubeconfig = require("k8s.kubeconfig")

local M = {}


-- the flags every k8s subcommand takes (kubectl's globals)
local function global_flags(sess)
  return {
    { name = "namespace", short = "n", type = "string", metavar = "NS", help = "namespace (default: the context's)",
      complete = function() return M.namespaces(sess) end },
    { name = "context", type = "string", metavar = "NAME", help = "kubeconfig context for this command",
      complete = function() return M.contexts(sess) end },
    { name = "all-namespaces", short = "A", type = "bool", help = "across all namespaces" },
    { name = "kubeconfig", type = "string", metavar = "FILE", help = "read only this kubeconfig file" },
    { name = "readonly", type = "bool", help = "refuse changes for this session (k8s --readonly)" },
    { name = "as", type = "string", metavar = "USER", help = "impersonate USER" },
    { name = "as-group", type = "list", metavar = "GROUP", help = "impersonate GROUP (repeatable; needs --as)" },
    { name = "as-uid", type = "string", metavar = "UID", help = "impersonate this UID (needs --as)" },
    { name = "no-queue", type = "bool", help = "fail when the cluster is unreachable instead of queuing the change" },
    { name = "v", short = "v", type = "int", min = 0, metavar = "N",
      help = "log the requests on stderr: 6 method, URL, status and time; 8 headers too (credentials masked)" },
    { name = "request-timeout", type = "duration", metavar = "DURATION",
      help = "give up on a single server request after this long (1s, 2m; 0: never); watches and streams aside" },
    { name = "server", short = "s", type = "string", metavar = "URL", help = "the API server's address, over the kubeconfig's" },
    { name = "token", type = "string", metavar = "TOKEN", help = "a bearer token, over the kubeconfig's (kept out of history)" },
    { name = "user", type = "string", metavar = "NAME", help = "the kubeconfig user to use instead of the context's" },
    { name = "cluster", type = "string", metavar = "NAME", help = "the kubeconfig cluster to use instead of the context's" },
    { name = "insecure-skip-tls-verify", type = "bool", help = "do not check the server's certificate (insecure)" },
    { name = "certificate-authority", type = "string", metavar = "FILE", help = "the CA file to check the server with" },
    { name = "tls-server-name", type = "string", metavar = "NAME", help = "the server name to check its certificate for" },
    { name = "disable-compression", type = "bool",
      help = "do not ask the server to compress its answers (as the kubeconfig cluster's disable-compression)" },
  }
end

function M.contexts(sess)
  local ok, kc = pcall(sess.kc, sess, {})
  if not ok then return {} end
  return kubeconfig.context_names(kc)
end

function M.namespaces(sess)
  local ok, c = pcall(sess.client, sess, {})
  if not ok then return {} end
  local names = sess.cache:names(c.conn.context, nil, "v1/namespaces")
  if #names == 0 then
    local list = c:get_json("/api/v1/namespaces")
    for _, it in ipairs(list and list.items or {}) do names[#names + 1] = it.metadata.name end
  end
  table.sort(names)
  return names
end

-- words typed so far -> type word, namespace flag
local function typed(ctx)
  local words = ctx and ctx.words or {}
  local ns, ty, i = nil, nil, 3
  while i <= #words do
    local w = words[i]
    if w == "-n" or w == "--namespace" then ns = words[i + 1]; i = i + 1
    elseif w:match("^%-%-namespace=") then ns = w:match("=(.*)")
    elseif w:sub(1, 1) ~= "-" and not ty then ty = w end
    i = i + 1
  end
  return ty, ns
end

-- a word TYPE/NAME…: the names of TYPE after its "/" (get deploy/<Tab>)
function M.complete_types(sess, prefix, ctx)
  if prefix and prefix:find("/", 1, true) then return M.complete_names(sess, prefix, ctx) end
  local ok, c = pcall(sess.client, sess, {})
  if not ok then return {} end
  return sess:discovery(c):type_names()
end

function M.complete_names(sess, prefix, ctx)
  local ty, ns = typed(ctx)
  prefix = prefix or ""
  local slash_ty, rest = prefix:match("^([^/]+)/(.*)$")
  if slash_ty then
    local out = {}
    for _, n in ipairs(M.complete_names(sess, rest, { words = { "k8s", "get", slash_ty, "-n", ns } })) do
      out[#out + 1] = slash_ty .. "/" .. n
    end
    return out
  end
  if not ty or ty:find("/", 1, true) then return {} end
  local ok, c = pcall(sess.client, sess, {})
  if not ok then return {} end
  local r = sess:discovery(c):resolve(ty)
  if not r then return {} end
  ns = r.namespaced and (ns or c.conn.namespace) or nil
  local names = sess.cache:names(c.conn.context, ns, r.gv .. "/" .. r.name)
  if #names == 0 then
    local d = require("k8s.discovery")
    local list = c:get_json(d.path(r, ns) .. "?limit=500",
      "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json")
    for _, it in ipairs(list and list.items or {}) do names[#names + 1] = it.metadata.name end
  end
  local out = {}
  for _, n in ipairs(names) do if n:sub(1, #prefix) == prefix then out[#out + 1] = n end end
  return out
end

-- the containers of the pod named on the line (logs/exec -c): the first
-- word after the verb that is not a flag or a flag's value; POD, pod/POD,
-- or TYPE/NAME (the pod of its selector logs/exec would use)
local VALUE_FLAGS = { ["-n"] = true, ["--namespace"] = true, ["-c"] = true, ["--container"] = true, ["--context"] = true,
  ["--tail"] = true, ["--since"] = true, ["--since-time"] = true, ["-l"] = true, ["--selector"] = true,
  ["--kubeconfig"] = true, ["--as"] = true, ["--as-group"] = true, ["--as-uid"] = true, ["--request-timeout"] = true }
function M.complete_containers(sess, prefix, ctx)
  local words = ctx and ctx.words or {}
  local pod, ns
  local i = 3
  while i <= #words do
    local w = words[i]
    if w == "--" then break end
    if VALUE_FLAGS[w] then
      if w == "-n" or w == "--namespace" then ns = words[i + 1] end
      i = i + 1
    elseif w:match("^%-%-namespace=") then ns = w:match("=(.*)")
    elseif w:sub(1, 1) ~= "-" and not pod then pod = w end
    i = i + 1
  end
  if not pod then return {} end
  local ok, c = pcall(sess.client, sess, {})
  if not ok then return {} end
  ns = ns or c.conn.namespace
  -- POD, pod/NAME, or deploy/NAME, svc/NAME…: the pod logs/exec would pick
  local rok, obj = pcall(require("k8s.remote").resolve, sess, c, ns, pod)
  if not rok then obj = nil end
  local out = {}
  local spec = type(obj) == "table" and obj.spec or {}
  for _, group in ipairs({ { spec.containers, "container" }, { spec.initContainers, "init container" },
                           { spec.ephemeralContainers, "ephemeral container" } }) do
    for _, ct in ipairs(type(group[1]) == "table" and group[1] or {}) do
      if type(ct.name) == "string" and ct.name:sub(1, #prefix) == prefix then
        out[#out + 1] = { word = ct.name, desc = group[2] .. (ct.image and (" · " .. tostring(ct.image)) or "") }
      end
    end
  end
  return out
end

-- The words of a verb vcli hands to kubectl, completed by kubectl itself
-- (`kubectl __complete WORDS… PREFIX`, cobra's completion protocol: a word
-- and its description per line, then ":DIRECTIVE"), with the session's
-- kubeconfig, context and identity; nothing when kubectl is not installed.
function M.complete_bridged(sess, prefix, cctx)
  local words = cctx and cctx.words or {}
  local args = { "__complete" }
  for i = 2, #words do
    local w = words[i]
    if w ~= "--readonly" and w ~= "--no-queue" then args[#args + 1] = w end
  end
  if #args < 2 then return {} end
  local env = sess.env
  if not env.which or not env.which("kubectl") then return {} end
  local ok, argv, vars = pcall(require("k8s.verbs").kubectl_argv, sess, {}, args)
  if not ok then return {} end
  argv[#argv + 1] = prefix or ""
  local code, out = env.spawn(argv, { env = vars })
  if code ~= 0 or type(out) ~= "string" then return {} end
  local items = {}
  for line in out:gmatch("[^\n]+") do
    if line:sub(1, 1) == ":" then break end
    local word, desc = line:match("^([^\t]*)\t?(.*)$")
    if word and word ~= "" then items[#items + 1] = { word = word, desc = desc ~= "" and desc or nil } end
  end
  return items
end

function M.prompt(sess)
  local ok, conn = pcall(sess.conn, sess, {})
  if not ok then return nil end
  local segs = { { ("⎈ %s/%s "):format(conn.context, conn.namespace), 6 } }
  local q = require("k8s.offline").prompt_segment(sess)
  if q then segs[#segs + 1] = q end
  return segs
end

function M.specs(sess)
  local gflags = global_flags(sess)
  local type_arg = { name = "type", help = "resource type: pods, po, deploy, svc, deployments.apps…",
                     complete = function(p, cctx) return M.complete_types(sess, p, cctx) end }
  local names_arg = { name = "names", variadic = true, optional = true, help = "names",
                      complete = function(p, ctx) return M.complete_names(sess, p, ctx) end }
  local name_arg = { name = "name", help = "name", complete = function(p, ctx) return M.complete_names(sess, p, ctx) end }
  local subs = {
    {
      name = "get", summary = "List or show resources (kubectl's columns)",
      usage = "k8s get TYPE[,TYPE…] [NAME…] [-o wide|json|yaml|name] [-l SEL] [--field-selector SEL] [-A] [--sort-by PATH] [-w]",
      flags = get.FLAGS,
      args = { { name = "type", optional = true, help = type_arg.help, complete = type_arg.complete }, names_arg },
      handler = function(ctx) return get.run(sess, ctx) end,
      examples = {
        { "k8s get pods", "the pods of the current namespace" },
        { "k8s get pods -A -o wide", "every namespace's pods, with node and IP" },
        { "k8s get deploy,svc -l app=web", "several types, by label" },
        { "k8s get pod web-7d4b9-x2x5q -o yaml", "one object as YAML" },
        { "k8s get pods -o jsonpath='{.items[*].metadata.name}'", "kubectl's jsonpath templates" },
        { "k8s get pods -w", "then each change as it happens" },
        { "k8s get all -n web", "the common types of a namespace" },
      },
    },
    {
      name = "ctx", summary = "Show or switch the kubeconfig context for this session",
      args = { { name = "name", optional = true, help = "a context of the kubeconfig; '-' the previous one",
                 complete = function() return M.contexts(sess) end } },
      handler = function(ctx) return verbs.ctx(sess, ctx) end,
      examples = { { "k8s ctx", "the contexts, the current one starred" }, { "k8s ctx prod", "switch (this session only)" } },
    },
    {
      name = "ns", summary = "Show or switch the namespace for this session",
      args = { { name = "name", optional = true, help = "a namespace; '-' the previous one",
                 complete = function() return M.namespaces(sess) end } },
      handler = function(ctx) return verbs.ns(sess, ctx) end,
      examples = { { "k8s ns", "the namespaces, the current one starred" }, { "k8s ns web", "switch (this session only)" },
                   { "k8s ns -", "back to the previous one" } },
    },
  }
  subs[#subs + 1] = require("k8s.offline").spec(sess)
  local containers = function(p, cctx) return M.complete_containers(sess, p, cctx) end
  for _, s in ipairs(verbs.specs(sess, { type_arg = type_arg, names_arg = names_arg, name_arg = name_arg,
                                         containers = containers })) do
    subs[#subs + 1] = s
  end
  return {
    {
      name = "k8s", aliases = { "kubernetes" }, summary = "Kubernetes: get, describe, logs, apply… (kubectl-compatible)",
      usage = "k8s VERB [ARGS] [-n NS] [--context CTX] [-A]",
      description = "Reads kubeconfig as kubectl does. Verbs vcli does not know are passed to kubectl"
        .. " (with the same context and namespace).",
      flags = gflags, subcommands = subs, extra_args = true, passthrough_unknown = true,
      usage_status = 1, -- a usage error exits 1, as kubectl's do
      args = { { name = "verb", optional = true, help = "one of the subcommands, or any other kubectl verb" },
               { name = "rest", variadic = true, optional = true, help = "the verb's arguments and flags",
                 complete = function(p, cctx) return M.complete_bridged(sess, p, cctx) end } },
      handler = function(ctx) return verbs.bridge(sess, ctx) end,
      examples = { { "k8s get pods -A", "every namespace's pods" }, { "k8s ctx vcli-test", "switch the context" },
                   { "k8s ns team-a", "switch the namespace" }, { "k8s logs web-1 -f", "follow a pod's logs" },
                   { "k8s top pods", "a verb vcli does not know: kubectl runs it" } },
    },
  }
end

return M
