-- k8s.apply — kubectl's client-side apply: a three-way merge of what was
-- applied last (the object's kubectl.kubernetes.io/last-applied-configuration
-- annotation), what is applied now (the manifest) and what the server has.
-- Fields the last apply set and this one drops are deleted; fields someone
-- else set (kubectl scale, set image, vcli's edit) and no manifest ever named
-- stay. Built-in types get a strategic merge patch, lists merged by the merge
-- keys the server's OpenAPI names (containers by name, ports by
-- containerPort…); custom resources, which the server takes no strategic
-- patch for, a JSON merge patch (their lists replaced), as kubectl sends.
--   apply.object(sess, c, o, opts) -> "created"|"configured"|"unchanged", object
--                                    | nil, "network", err (the cluster did not answer)
--   apply.patch(original, modified, current, schema, gvk) -> patch table | nil
local M = {}

M.LAST = "kubectl.kubernetes.io/last-applied-configuration"

local function is_table(v) return type(v) == "table" end

-- ------------------------------------------------------------ the schema
-- The server's OpenAPI v2, kept as what a patch needs: per definition, its
-- fields' definitions (of the value, of a list's items), merge key and
-- strategy. Fetched once per server and session (~3 MB once).
function M.schema(sess, c)
  sess.openapi = sess.openapi or {}
  local key = c.conn.server
  local have = sess.openapi[key]
  if have ~= nil then return have or nil end
  local res = c:request{ path = "/openapi/v2", accept = "application/json", timeout_ms = 60000 }
  local doc = res and sess.env.json.decode(res.body)
  if not is_table(doc) or not is_table(doc.definitions) then
    sess.openapi[key] = false   -- no OpenAPI: lists replaced, as for custom resources
    return nil
  end
  local defs, gvk = {}, {}
  local function ref_of(s) return is_table(s) and type(s["$ref"]) == "string" and s["$ref"]:match("^#/definitions/(.+)$") or nil end
  for name, d in pairs(doc.definitions) do
    local props = {}
    for f, p in pairs(is_table(d.properties) and d.properties or {}) do
      if is_table(p) then
        local e = { ref = ref_of(p), items = ref_of(p.items), key = p["x-kubernetes-patch-merge-key"],
                    strategy = p["x-kubernetes-patch-strategy"] }
        if p.type == "array" and not e.items then e.primitive = true end
        if e.ref or e.items or e.key or e.strategy then props[f] = e end
      end
    end
    defs[name] = props
    for _, g in ipairs(is_table(d["x-kubernetes-group-version-kind"]) and d["x-kubernetes-group-version-kind"] or {}) do
      gvk[(g.group or "") .. "/" .. tostring(g.version) .. "/" .. tostring(g.kind)] = name
    end
  end
  local s = { defs = defs, gvk = gvk }
  sess.openapi[key] = s
  return s
end

-- ------------------------------------------------------------ the patch
local function equal(a, b)
  if a == b then return true end
  if not is_table(a) or not is_table(b) then return false end
  for k, v in pairs(a) do if not equal(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
M.equal = equal

local function is_list(v, array_mt)
  return is_table(v) and (getmetatable(v) == array_mt or v[1] ~= nil)
end

local diff_map

-- a list merged by key: the items that changed (only their changed fields
-- and the key), the ones the last apply had and this one drops as
-- {"$patch": "delete"}, and the order this one gives
local function diff_keyed(o, m, c, items, mkey, ctx)
  local function index(list)
    local idx = {}
    for _, e in ipairs(is_table(list) and list or {}) do
      if is_table(e) and e[mkey] ~= nil then idx[tostring(e[mkey])] = e end
    end
    return idx
  end
  for _, e in ipairs(m) do if not is_table(e) or e[mkey] == nil then return nil, true end end   -- not keyed: replace
  local oi, ci, mi = index(o), index(c), index(m)
  local out = setmetatable({}, ctx.array_mt)
  for _, me in ipairs(m) do
    local k = tostring(me[mkey])
    local ce = ci[k]
    if not ce then
      out[#out + 1] = me
    else
      local sub = diff_map(oi[k], me, ce, items, ctx)
      if sub then sub[mkey] = me[mkey]; out[#out + 1] = sub end
    end
  end
  for _, oe in ipairs(is_table(o) and o or {}) do
    local k = is_table(oe) and oe[mkey] ~= nil and tostring(oe[mkey])
    if k and not mi[k] and ci[k] then out[#out + 1] = { [mkey] = oe[mkey], ["$patch"] = "delete" } end
  end
  if #out == 0 then
    -- the same items: only their order may differ
    local same = true
    for i, e in ipairs(m) do
      local cur = is_table(c) and c[i]
      if not (is_table(cur) and tostring(cur[mkey]) == tostring(e[mkey])) then same = false break end
    end
    if same then return nil end
  end
  local order = setmetatable({}, ctx.array_mt)
  for i, me in ipairs(m) do order[i] = { [mkey] = me[mkey] } end
  return out, false, order
end

-- fields of m that differ from c (recursively), and null for those o had
-- and m drops; nil when nothing differs
function diff_map(o, m, c, def, ctx)
  local patch, any = {}, false
  local props = def and ctx.schema and ctx.schema.defs[def] or nil
  c = is_table(c) and c or {}
  if is_table(o) then
    for k in pairs(o) do
      if m[k] == nil and c[k] ~= nil then patch[k], any = ctx.null, true end
    end
  end
  for k, mv in pairs(m) do
    local cv, ov = c[k], is_table(o) and o[k] or nil
    local p = props and props[k]
    if is_list(mv, ctx.array_mt) or (is_table(mv) and getmetatable(mv) == ctx.array_mt) then
      local merge = ctx.smp and p and p.strategy and p.strategy:find("merge")
      if merge and p.key and is_list(cv, ctx.array_mt) then
        local items, replace, order = diff_keyed(ov, mv, cv, p.items, p.key, ctx)
        if replace then
          if not equal(mv, cv) then patch[k], any = mv, true end
        elseif items then
          patch[k], any = items, true
          patch["$setElementOrder/" .. k] = order
        end
      elseif merge and p.primitive and is_list(cv, ctx.array_mt) then
        local have, want = {}, {}
        for _, x in ipairs(cv) do have[tostring(x)] = true end
        for _, x in ipairs(mv) do want[tostring(x)] = true end
        local add, del = setmetatable({}, ctx.array_mt), setmetatable({}, ctx.array_mt)
        for _, x in ipairs(mv) do if not have[tostring(x)] then add[#add + 1] = x end end
        for _, x in ipairs(is_table(ov) and ov or {}) do
          if not want[tostring(x)] and have[tostring(x)] then del[#del + 1] = x end
        end
        if #add > 0 then patch[k], any = add, true end
        if #del > 0 then patch["$deleteFromPrimitiveList/" .. k], any = del, true end
        if #add > 0 or #del > 0 then patch["$setElementOrder/" .. k] = mv end
      elseif not equal(mv, cv) then
        patch[k], any = mv, true
      end
    elseif is_table(mv) and is_table(cv) and not is_list(cv, ctx.array_mt) then
      local sub = diff_map(ov, mv, cv, p and p.ref, ctx)
      if sub then patch[k], any = sub, true end
    elseif not equal(mv, cv) then
      patch[k], any = mv, true
    end
  end
  return any and patch or nil
end

-- the three-way patch (strategic when schema and gvk name the type), or nil
function M.patch(original, modified, current, opts)
  local ctx = { schema = opts.schema, smp = opts.smp, null = opts.null, array_mt = opts.array_mt }
  local def = opts.smp and opts.schema and opts.schema.gvk[opts.gvk] or nil
  return diff_map(original, modified, current, def, ctx)
end

-- ------------------------------------------------------------ one object
local function copy(v)
  if not is_table(v) then return v end
  local out = setmetatable({}, getmetatable(v))
  for k, x in pairs(v) do out[k] = copy(x) end
  return out
end

-- the manifest with the annotation saying what was applied (kubectl's own
-- text: compact JSON, keys sorted, "annotations":{} even when empty, a
-- newline; so that kubectl apply after vcli's, or vcli's after kubectl's,
-- finds nothing changed)
function M.modified(env, doc)
  local bare = copy(doc)
  bare.metadata = is_table(bare.metadata) and bare.metadata or {}
  local md = bare.metadata
  md.annotations = is_table(md.annotations) and md.annotations or {}
  md.annotations[M.LAST] = nil
  local text = env.jsonfmt.encode(bare, "", env.json.array_mt, true) .. "\n"
  local m = copy(doc)
  m.metadata = is_table(m.metadata) and m.metadata or {}
  m.metadata.annotations = is_table(m.metadata.annotations) and m.metadata.annotations or {}
  m.metadata.annotations[M.LAST] = text
  return m
end

-- o = { r=, ns=, name=, doc= } (k8s.verbs' manifest objects);
-- opts = { dry = nil|"client"|"server", warn = fn(line), discovery = k8s.discovery }
function M.object(sess, c, o, opts)
  local env = sess.env
  local discovery = opts.discovery
  local path = discovery.path(o.r, o.ns, o.name)
  -- the namespace it goes to is part of what was applied (kubectl's annotation names it)
  local doc = o.doc
  if o.ns and o.r.namespaced and is_table(doc.metadata) and doc.metadata.namespace == nil then
    doc = copy(doc)
    doc.metadata.namespace = o.ns
  end
  local modified = M.modified(env, doc)
  local res, err, kind, code = c:request{ path = path, accept = "application/json", timeout_ms = 30000 }
  local dryq = opts.dry == "server" and { dryRun = "All" } or {}
  if not res then
    if kind == "network" then return nil, "network", err end   -- the caller may queue it
    if code ~= 404 then error(err, 0) end
    if opts.dry == "client" then return "created", modified end
    local body = copy(modified)
    if o.ns and is_table(body.metadata) then body.metadata.namespace = o.ns end
    local cr, cerr = c:request{ method = "POST", path = discovery.path(o.r, o.ns) .. require("k8s.util").query(dryq),
      body = env.json.encode(body), content_type = "application/json", accept = "application/json", timeout_ms = 30000 }
    if not cr then error(cerr, 0) end
    return "created", env.json.decode(cr.body)
  end
  local current = env.json.decode(res.body)
  local ann = is_table(current) and is_table(current.metadata) and is_table(current.metadata.annotations)
    and current.metadata.annotations[M.LAST]
  local original
  if type(ann) == "string" then original = env.json.decode(ann) end
  if not ann and opts.warn then
    opts.warn(("Warning: resource %s/%s is missing the %s annotation which is required by kubectl apply."
      .. " kubectl apply should only be used on resources created declaratively by either kubectl create"
      .. " --save-config or kubectl apply. The missing annotation will be patched automatically.")
      :format(o.r.name, o.name, M.LAST))
  end
  local gvk = (o.r.group or "") .. "/" .. tostring(o.r.version or (o.r.gv or ""):match("([^/]+)$")) .. "/" .. o.r.kind
  local schema = M.schema(sess, c)
  local smp = schema and schema.gvk[gvk] ~= nil
  local popts = { schema = schema, smp = smp, gvk = gvk, null = env.json.null, array_mt = env.json.array_mt }
  -- (a client dry run says "configured" whether or not anything would change, as kubectl's does)
  if opts.dry == "client" then return "configured", current end
  local p = M.patch(original, modified, current, popts)
  if not p then return "unchanged", current end
  local q = require("k8s.util").query(dryq)
  local function send(ptype, body)
    return c:request{ method = "PATCH", path = path .. q, body = env.json.encode(body), content_type = ptype,
      accept = "application/json", timeout_ms = 30000 }
  end
  local pr, perr, _, pcode = send(smp and "application/strategic-merge-patch+json" or "application/merge-patch+json", p)
  if not pr and smp and pcode == 415 then   -- a type the server takes no strategic patch for
    popts.smp = false
    pr, perr = send("application/merge-patch+json", M.patch(original, modified, current, popts) or {})
  end
  if not pr then error(perr, 0) end
  return "configured", env.json.decode(pr.body)
end

return M
