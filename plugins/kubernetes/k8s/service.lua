-- k8s.service — the `kube` service other plugins call (plugin.yaml:
-- provides: [kube]; theirs: capabilities: [kube, events]), over the session's
-- own clients: the user's kubeconfig, credentials, identity, context and
-- namespace, read-only mode, and the offline cache `k8s get` uses.
--   vcli.kube.get{resource=, name=, namespace=, context=}         -> the object
--   vcli.kube.list{resource=, namespace=, all_namespaces=, selector=, field_selector=,
--                  limit=, continue=, context=}                   -> the List
--   vcli.kube.watch{resource=, namespace=, …, resourceVersion=}  -> {id, resourceVersion, topic, …}
--   vcli.kube.unwatch(id)                                         -> true | false
--   vcli.kube.request{method=, path=, body=, content_type=, accept=, context=} -> {status, body, object, error}
--   vcli.kube.context(), .namespace(), .readonly([context])
-- Errors raise (a service call returns one value): kubectl's words.
-- Events (docs/plugins.md, "The Kubernetes service"): kube.context.switched,
-- kube.namespace.switched, kube.<resource>.added|modified|deleted, kube.watch.stopped.
local util = require("k8s.util")
local discovery = require("k8s.discovery")
local watch_mod = require("k8s.watch")
local get = require("k8s.get")

local M = {}

local READ_METHODS = { GET = true, HEAD = true, OPTIONS = true }

local function opts_of(o, op)
  if o == nil then return {} end
  if type(o) ~= "table" then error(("kube.%s: a table of options expected"):format(op), 0) end
  return o
end

local function str(v, what, op)
  if v ~= nil and type(v) ~= "string" then error(("kube.%s: %s must be a string"):format(op, what), 0) end
  return v
end

-- the client, the resolved resource and the namespace a call is about
local function target(sess, o, op)
  local res = str(o.resource, "resource", op)
  if not res or res == "" then error(("kube.%s: resource expected (pods, deploy, deployments.apps…)"):format(op), 0) end
  local c, conn = sess:client({ context = str(o.context, "context", op), namespace = str(o.namespace, "namespace", op) })
  local r, err = sess:discovery(c):resolve(res)
  if not r then error(err, 0) end
  local ns = nil
  if r.namespaced and not o.all_namespaces then ns = conn.namespace end
  return c, conn, r, ns
end

local function res_key(r) return r.gv .. "/" .. r.name end
local function sel_key(o) return "objects|" .. (o.selector or "") .. "|" .. (o.field_selector or "") end

local function strip_managed(obj, o)
  if not o.managed_fields and type(obj) == "table" and type(obj.metadata) == "table" then obj.metadata.managedFields = nil end
  return obj
end

local function offline_mark(env, at, err) return { at = at, age_s = env.time() - at, error = err } end

function M.new(sess_of, env)
  local S = {}
  local watches, next_watch = {}, 0
  local function publish(topic, payload)
    if env.publish then env.publish(topic, payload) end
  end

  function S.context()
    return sess_of():conn({}).context
  end
  function S.namespace()
    return sess_of():conn({}).namespace
  end
  function S.readonly(context)
    local sess = sess_of()
    return sess:is_readonly(sess:conn({ context = str(context, "context", "readonly") })) == true
  end

  -- one object; from the cache (with _offline) when the server cannot be reached
  function S.get(o)
    o = opts_of(o, "get")
    local name = str(o.name, "name", "get")
    if not name or name == "" then error("kube.get: name expected", 0) end
    local sess = sess_of()
    local c, conn, r, ns = target(sess, o, "get")
    local res, err, kind = c:request{ path = discovery.path(r, ns, name), accept = "application/json", timeout_ms = 60000 }
    if res then
      local obj, jerr = env.json.decode(res.body, "response of " .. discovery.path(r, ns, name))
      if obj == nil then error(jerr, 0) end
      strip_managed(obj, o)
      if not o.managed_fields then sess.cache:put_object(conn.context, ns, res_key(r), name, env.json.encode(obj)) end
      return obj
    end
    if kind == "network" then
      local at, text = sess.cache:get_object(conn.context, ns, res_key(r), name)
      local obj = at and env.json.decode(text)
      if type(obj) == "table" then
        obj._offline = offline_mark(env, at, err)
        return obj
      end
    end
    error(err, 0)
  end

  -- the List: one page (limit = N, continue = the token of the page before:
  -- metadata.continue says whether there is more) or every item (no limit;
  -- fetched in chunks of the cluster's page size). A whole list is kept for
  -- offline answers; offline, a list (or a first page) is the whole list last
  -- kept, with _offline.
  function S.list(o)
    o = opts_of(o, "list")
    local sess = sess_of()
    local c, conn, r, ns = target(sess, o, "list")
    local path = discovery.path(r, ns)
    local q = { labelSelector = str(o.selector, "selector", "list"),
                fieldSelector = str(o.field_selector, "field_selector", "list") }
    local prepare = not o.managed_fields and get.drop_managed_fields or function(b) return b end
    local function fetch(limit, cont)
      q.limit, q.continue = limit, cont
      local res, err, kind = c:request{ path = path .. util.query(q), accept = "application/json", timeout_ms = 120000 }
      if not res then return nil, err, kind end
      local obj, jerr = env.json.decode(prepare(res.body), "response of " .. path)
      if type(obj) ~= "table" then return nil, jerr or "not a list", "http" end
      obj.items = obj.items or {}
      return obj
    end
    local function offline(err, kind)
      if kind == "network" and not o.continue and not o.managed_fields then
        local at, it = sess.cache:list_reader(conn.context, ns, res_key(r), sel_key(o), true)
        if at then
          local items = {}
          for text in it do
            for _, item in ipairs(env.json.decode(text) or {}) do items[#items + 1] = item end
          end
          return { apiVersion = r.group == "" and r.version or r.gv, kind = r.kind .. "List", metadata = {},
                   items = items, _offline = offline_mark(env, at, err) }
        end
      end
      error(err, 0)
    end
    if o.limit ~= nil then
      local limit = tonumber(o.limit)
      if not limit or limit < 1 then error("kube.list: limit must be a number ≥ 1", 0) end
      local page, err, kind = fetch(math.floor(limit), str(o.continue, "continue", "list"))
      if not page then return offline(err, kind) end
      return page
    end
    local writer = not o.managed_fields and sess.cache:list_writer(conn.context, ns, res_key(r), sel_key(o)) or nil
    local all, cont, first = nil, nil, true
    repeat
      local page, err, kind = fetch(sess:chunk_size(conn, {}), cont)
      if not page then
        if first then return offline(err, kind) end
        -- chunks of this list replaced some of the last one: keep neither
        if writer then writer:abandon() end
        error(err, 0)
      end
      if writer then writer:text(env.json.encode(page.items)) end
      if not all then all = page
      else for _, it in ipairs(page.items) do all.items[#all.items + 1] = it end end
      cont = page.metadata and page.metadata.continue
      if cont == "" then cont = nil end
      first = false
    until not cont
    if writer then writer:done() end
    if type(all.metadata) == "table" then all.metadata.continue = nil end
    return all
  end

  -- a watch running in the background (a timer's call of this plugin, not the
  -- caller's): each change is published as kube.<resource>.<added|modified|deleted>;
  -- it resumes after dropped connections; unwatch(id) or the plugin's stop ends it
  function S.watch(o)
    o = opts_of(o, "watch")
    local sess = sess_of()
    local c, conn, r, ns = target(sess, o, "watch")
    local path = discovery.path(r, ns)
    local q = { labelSelector = str(o.selector, "selector", "watch"),
                fieldSelector = str(o.field_selector, "field_selector", "watch") }
    local function current_rv()
      local lq = { limit = 1 }
      for k, v in pairs(q) do lq[k] = v end
      local list, err = c:get_json(path .. util.query(lq))
      if not list then error(err, 0) end
      return list.metadata and list.metadata.resourceVersion
    end
    local rv = str(o.resourceVersion, "resourceVersion", "watch") or current_rv()
    next_watch = next_watch + 1
    local id = next_watch
    local base = { watch = id, resource = r.name, group = r.group, version = r.version, context = conn.context }
    local w = { id = id, resource = r.name, context = conn.context, namespace = ns, base = base }
    watches[id] = w
    env.background(function()
      -- unwatch only marks the watch; a task of this same call closes its
      -- stream (a stream closed from another call would resume this call's
      -- wait while the plugin's state runs that other call)
      env.go(function()
        while not w.stop and not w.ended do env.sleep(200) end
        if w.stop and w.stream then w.stream:close() end
      end)
      local ok, err = pcall(watch_mod.run, env, c, { path = path, query = q, accept = "application/json", rv = rv,
        stop = function() return w.stop end,
        on_stream = function(s) w.stream = s end,
        on_state = function(msg) w.state = msg end,
        relist = current_rv,
        on_event = function(ty, obj)
          if type(obj) ~= "table" or obj.kind == "Status" then return end
          strip_managed(obj, o)
          local md = type(obj.metadata) == "table" and obj.metadata or {}
          local ev = { type = ty, name = md.name, namespace = md.namespace, resourceVersion = md.resourceVersion,
                       object = obj }
          for k, v in pairs(base) do ev[k] = v end
          publish("kube." .. r.name .. "." .. tostring(ty):lower(), ev)
        end })
      w.ended = true
      watches[id] = nil
      if not w.announced then
        local ev = { reason = w.stop and "unwatched" or "error", error = (not ok) and tostring(err) or nil }
        for k, v in pairs(base) do ev[k] = v end
        publish("kube.watch.stopped", ev)
      end
    end)
    return { id = id, resourceVersion = rv, resource = r.name, group = r.group, version = r.version,
             context = conn.context, namespace = ns, topic = "kube." .. r.name .. ".*" }
  end

  function S.unwatch(id)
    local w = watches[id]
    if not w then return false end
    w.stop = true
    return true
  end

  -- the plugin stops (or reloads): its watches end with it, and say so
  function S.stopped()
    for id, w in pairs(watches) do
      w.stop, w.announced = true, true
      watches[id] = nil
      local ev = { reason = "stopped" }
      for k, v in pairs(w.base) do ev[k] = v end
      publish("kube.watch.stopped", ev)
    end
  end

  -- the watches running: { {id, resource, context, namespace, state}, … }
  function S.watches()
    local out = {}
    for id, w in pairs(watches) do
      out[#out + 1] = { id = id, resource = w.resource, context = w.context, namespace = w.namespace, state = w.state }
    end
    table.sort(out, function(a, b) return a.id < b.id end)
    return out
  end

  -- any request, as the user: { status, body, object (the decoded JSON body),
  -- error (kubectl's words, status ≥ 400) }; a failed transfer raises. A write
  -- (not GET/HEAD/OPTIONS) is refused in read-only mode, as the verbs are.
  function S.request(o)
    o = opts_of(o, "request")
    local path = str(o.path, "path", "request")
    if not path or path:sub(1, 1) ~= "/" then error("kube.request: path expected (/api/v1/…)", 0) end
    local method = (str(o.method, "method", "request") or "GET"):upper()
    local sess = sess_of()
    local c, conn = sess:client({ context = str(o.context, "context", "request") })
    if not READ_METHODS[method] and sess:is_readonly(conn) then
      error(("kube request %s %s: refused: read-only mode (context %s)"):format(method, path, conn.context), 0)
    end
    local body = o.body
    if type(body) == "table" then body = env.json.encode(body) end
    if body ~= nil and type(body) ~= "string" then error("kube.request: body must be a string or a table", 0) end
    local ctype = str(o.content_type, "content_type", "request")
    if body and not ctype then ctype = method == "PATCH" and "application/merge-patch+json" or "application/json" end
    local res, err, kind, code, st = c:request{ method = method, path = path, body = body, content_type = ctype,
      accept = str(o.accept, "accept", "request") or "application/json", timeout_ms = tonumber(o.timeout_ms) or 60000 }
    if not res then
      if kind == "http" then return { status = code, error = err, object = st } end
      error(err, 0)
    end
    local obj = res.body and res.body ~= "" and env.json.decode(res.body) or nil
    return { status = res.status, body = res.body, object = type(obj) == "table" and obj or nil }
  end

  return S
end

return M
