-- k8s.offline — writes made while a cluster is unreachable: a durable journal
-- in the plugin's store (LMDB), replayed in order per context when the
-- cluster answers again, with conflict detection (docs/offline.md).
--
--   offline.try(sess, ctx, c, conn, op, state) -> res | nil (queued)
--     the verbs' one way to write: sends op, and when the cluster is
--     unreachable (no answer at all: refused, timeout, DNS, TLS) queues it
--     instead, once the rules allow it (offline.enabled, --no-queue,
--     offline.queueNonInteractive, offline.queueSize).
--   offline.sync(sess, opts) -> replays what is queued
--
-- An operation (op) is plain data:
--   { id, ctx, as = {user, groups, uid} | nil, line = "scale deployment/api -n web --replicas 5",
--     kind = "patch" | "delete" | "apply" | "undo",
--     target = { group, gv, name (resource), kind, namespaced, ns, obj (name) },
--     send = { method, path, body, content_type },  -- what goes to the server
--     want = merge-patch form of what the object should hold afterwards (patch, undo) ,
--     doc = the manifest (apply),
--     base = { rv, gen, obj, absent, unknown, at } -- what the user saw (the cache)
--     state = queued | sending | conflict | failed | done | dropped, note, created, sent_at, done_at }
-- Journal keys: "oq|seq" (the last id), "oq|op|%08d" (pending), "oq|done|%08d" (history).
local util = require("k8s.util")
local discovery = require("k8s.discovery")

local M = {}

M.EXIT_QUEUED = 75          -- sysexits' EX_TEMPFAIL: not done yet, will be tried again
M.MANAGER = "vcli"          -- field manager of every write the queue sends (as vcli's apply)
local SEQ, PEND, DONE = "oq|seq", "oq|op|", "oq|done|"
local HISTORY = 500         -- finished operations kept for `offline queue --all`
local LOCK = "offline-replay"

local function okey(prefix, id) return ("%s%08d"):format(prefix, id) end

-- ------------------------------------------------------------------ journal
local Journal = {}
Journal.__index = Journal

function M.journal(env)
  if not (env.store and env.store.put_many) then error("k8s offline: no store to keep the queue in", 0) end
  return setmetatable({ env = env, st = env.store }, Journal)
end

function Journal:decode(k, text)
  local op = self.env.json.decode(text or "")
  if type(op) ~= "table" or not tonumber(op.id) then
    error(("k8s offline: the queue's record %s is damaged (not an operation); drop it with "
      .. "k8s offline drop %s"):format(k, k:match("(%d+)$") and tostring(tonumber(k:match("(%d+)$"))) or k), 0)
  end
  return op
end

-- one LMDB transaction, committed (fsync) before this returns -> id
function Journal:add(op)
  local json = self.env.json
  for _ = 1, 100 do
    local cur = self.st.get(SEQ)
    local id = (tonumber(cur) or 0) + 1
    op.id, op.state, op.created = id, "queued", op.created or self.env.time()
    local ok = self.st.put_many({ [SEQ] = tostring(id), [okey(PEND, id)] = json.encode(op) }, { [SEQ] = cur or false })
    if ok then return id end
  end
  error("k8s offline: could not add to the queue (another vcli kept writing it)", 0)
end

function Journal:pending_ids()
  local ids = {}
  for _, k in ipairs(self.st.keys(PEND) or {}) do ids[#ids + 1] = tonumber(k:sub(#PEND + 1)) end
  table.sort(ids)
  return ids
end
function Journal:count() return #(self.st.keys(PEND) or {}) end

-- pending operations in order (all contexts, or one)
function Journal:pending(ctx)
  local out = {}
  for _, id in ipairs(self:pending_ids()) do
    local k = okey(PEND, id)
    local op = self:decode(k, self.st.get(k))
    if not ctx or op.ctx == ctx then out[#out + 1] = op end
  end
  return out
end

function Journal:history()
  local out = {}
  local ks = self.st.keys(DONE) or {}
  table.sort(ks)
  for _, k in ipairs(ks) do out[#out + 1] = self:decode(k, self.st.get(k)) end
  return out
end

function Journal:get(id)
  local text = self.st.get(okey(PEND, id))
  if text then return self:decode(okey(PEND, id), text), true end
  text = self.st.get(okey(DONE, id))
  if text then return self:decode(okey(DONE, id), text), false end
  return nil
end

function Journal:save(op) assert(self.st.put_many({ [okey(PEND, op.id)] = self.env.json.encode(op) })) end

-- done or dropped: out of the queue into the history, in one transaction
-- (also: other pending operations saved in the same transaction)
function Journal:finish(op, state, note, also)
  op.state, op.note, op.done_at = state, note, self.env.time()
  op.base = op.base and { rv = op.base.rv, absent = op.base.absent, unknown = op.base.unknown,
                          whole = op.base.obj ~= nil or op.base.whole } or nil
  local batch = { [okey(PEND, op.id)] = false, [okey(DONE, op.id)] = self.env.json.encode(op) }
  for _, o in ipairs(also or {}) do batch[okey(PEND, o.id)] = self.env.json.encode(o) end
  assert(self.st.put_many(batch))
  -- the history is trimmed now and then, not at every write
  self.finished = (self.finished or 0) + 1
  if self.finished % 50 ~= 1 then return end
  local ks = self.st.keys(DONE) or {}
  if #ks > HISTORY then
    table.sort(ks)
    local gone = {}
    for i = 1, #ks - HISTORY do gone[ks[i]] = false end
    self.st.put_many(gone)
  end
end

-- since when a context has not answered (the first write queued for it), until a replay reaches it
function Journal:mark_down(ctx)
  local k = "oq|down|" .. ctx
  if not self.st.get(k) then self.st.put_many({ [k] = tostring(self.env.time()) }) end
end
function Journal:mark_up(ctx) self.st.put_many({ ["oq|down|" .. ctx] = false }) end
function Journal:down_since(ctx) return tonumber(self.st.get("oq|down|" .. ctx) or "") end

-- A record damaged beyond decoding can still be dropped by its id
function Journal:drop_raw(id)
  self.st.put_many({ [okey(PEND, id)] = false })
end

-- ------------------------------------------------------------------ values
local function is_array(env, t)
  return type(t) == "table" and (getmetatable(t) == env.json.array_mt or (#t > 0 and next(t, #t) == nil))
end

local function deep_equal(env, a, b)
  if type(a) ~= "table" or type(b) ~= "table" then
    if a == env.json.null then a = nil end
    if b == env.json.null then b = nil end
    return a == b
  end
  for k, v in pairs(a) do if not deep_equal(env, v, b[k]) then return false end end
  for k, v in pairs(b) do if a[k] == nil and v ~= env.json.null then return false end end
  return true
end

-- does live hold everything want says? (null: absent; maps: each key; arrays: each element)
local function contains(env, want, live)
  local null = env.json.null
  if want == null then return live == nil or live == null end
  if type(want) ~= "table" then
    if type(want) == "number" and type(live) == "number" then return want == live end
    return want == live
  end
  if type(live) ~= "table" then return false end
  if is_array(env, want) then
    if #want ~= #live then return false end
    for i = 1, #want do if not contains(env, want[i], live[i]) then return false end end
    return true
  end
  for k, v in pairs(want) do if not contains(env, v, live[k]) then return false end end
  return true
end
M.contains = contains

-- what a user would call the object's content: no status, versions or field bookkeeping
local function strip(_, obj)
  if type(obj) ~= "table" then return obj end
  local o = {}
  for k, v in pairs(obj) do if k ~= "status" then o[k] = v end end
  if type(obj.metadata) == "table" then
    local md = {}
    for k, v in pairs(obj.metadata) do
      if k ~= "resourceVersion" and k ~= "managedFields" and k ~= "generation" then md[k] = v end
    end
    if type(md.annotations) == "table" then
      local an = {}
      for k, v in pairs(md.annotations) do
        if k ~= "deployment.kubernetes.io/revision" and k ~= "kubectl.kubernetes.io/last-applied-configuration" then an[k] = v end
      end
      md.annotations = next(an) and an or nil
    end
    o.metadata = md
  end
  return o
end

-- the leaves of a patch/document: { {path = {"spec","replicas"}, value = 5}, … } (arrays are leaves)
local function leaves(env, v, path, out)
  out = out or {}
  path = path or {}
  if type(v) == "table" and v ~= env.json.null and not is_array(env, v) and next(v) ~= nil then
    local ks = {}
    for k in pairs(v) do ks[#ks + 1] = k end
    table.sort(ks, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(ks) do
      local p = { unpack(path) }
      p[#p + 1] = k
      leaves(env, v[k], p, out)
    end
  else
    out[#out + 1] = { path = path, value = v }
  end
  return out
end
local function at(v, path)
  for _, k in ipairs(path) do
    if type(v) ~= "table" then return nil end
    v = v[k]
  end
  return v
end
local function path_text(path) return table.concat(path, ".") end
local function short(env, v)
  if v == nil or v == env.json.null then return "(none)" end
  if type(v) == "table" then
    local s = env.json.encode(v)
    return #s > 60 and (s:sub(1, 57) .. "…") or s
  end
  return tostring(v)
end
local function without(v, path, i)
  i = i or 1
  if type(v) ~= "table" then return v end
  local o = {}
  for k, x in pairs(v) do
    if k == path[i] then
      if i < #path then
        local sub = without(x, path, i + 1)
        if type(sub) == "table" and next(sub) ~= nil then o[k] = sub end
      end
    else
      o[k] = x
    end
  end
  return setmetatable(o, getmetatable(v))
end

-- RFC 7386: the merge patch that turns old into new (null: a key removed)
function M.merge_patch(env, old, new)
  local out = {}
  for k, v in pairs(new) do
    local o = type(old) == "table" and old[k] or nil
    if type(v) == "table" and type(o) == "table" and not is_array(env, v) and not is_array(env, o) then
      local sub = M.merge_patch(env, o, v)
      if next(sub) ~= nil then out[k] = sub end
    elseif not deep_equal(env, o, v) then
      out[k] = v
    end
  end
  for k in pairs(type(old) == "table" and old or {}) do
    if new[k] == nil then out[k] = env.json.null end
  end
  return out
end

-- RFC 7386 applied: target with patch merged in (a new table; null removes)
local function merge_apply(env, target, patch)
  if type(patch) ~= "table" or is_array(env, patch) then return patch end
  local out = {}
  if type(target) == "table" and not is_array(env, target) then for k, v in pairs(target) do out[k] = v end end
  for k, v in pairs(patch) do
    if v == env.json.null then out[k] = nil else out[k] = merge_apply(env, out[k], v) end
  end
  return out
end
M.merge_apply = merge_apply

-- ------------------------------------------------------------------ base
-- What the user saw of an object, from the cache: { at, rv, gen, obj } (obj
-- when it was kept whole: get NAME, describe, -o yaml/json lists), { absent }
-- when a whole list of its type in its namespace was kept without it, or
-- { unknown = true }.
function M.base(sess, conn, r, ns, name)
  local env, cache = sess.env, sess.cache
  local res = r.gv .. "/" .. r.name
  local best
  local function consider(b) if b and (not best or (b.at or 0) > (best.at or 0)) then best = b end end
  local function of_obj(o, when)
    if type(o) ~= "table" or type(o.metadata) ~= "table" then return nil end
    o.metadata.managedFields = nil
    return { at = when, rv = o.metadata.resourceVersion, gen = o.metadata.generation, obj = o }
  end
  for _, rk in ipairs({ res, "describe:" .. res }) do
    local when, text = cache:get_object(conn.context, ns, rk, name)
    if when then consider(of_obj(env.json.decode(text), when)) end
  end
  local absent_at
  for _, nsk in ipairs(r.namespaced and { ns or "*", "*" } or { "*" }) do
    local prefix = table.concat({ "list", conn.context, nsk, res, "" }, "|")
    local ok, ks = pcall(env.store.keys, prefix)
    for _, k in ipairs(ok and ks or {}) do
      if not k:find("#", 1, true) then
        local sel = k:sub(#prefix + 1)
        local objects = sel:match("^objects|") ~= nil
        local when, it = cache:list_reader(conn.context, nsk ~= "*" and nsk or nil, res, sel, objects)
        local found = false
        if when then
          for ch in it do
            if objects then
              for _, o in ipairs(env.json.decode(ch or "") or {}) do
                local md = type(o) == "table" and o.metadata or {}
                if md.name == name and (nsk ~= "*" or md.namespace == ns) then consider(of_obj(o, when)); found = true end
              end
            elseif type(ch) == "table" then
              for _, row in ipairs(type(ch.rows) == "table" and ch.rows or {}) do
                if row.name == name and (nsk ~= "*" or not r.namespaced or row.ns == ns) then
                  -- a table of names alone (includeObject=None) says only that it was seen, and when
                  consider({ at = when, rv = row.rv, gen = row.g, listed = true }); found = true
                end
              end
            end
          end
          if not found and (sel == "|" or sel == "objects||") then absent_at = math.max(absent_at or 0, when) end
        end
      end
    end
  end
  if best and (not absent_at or best.at >= absent_at) then return best end
  if absent_at then return { absent = true, at = absent_at } end
  return { unknown = true }
end

-- ------------------------------------------------------------------ queueing
local function identity(conn)
  local im = conn.impersonate
  if not im then return nil end
  return { user = im.user, groups = im.groups, uid = im.uid }
end

local function ns_flag(op) return op.target.ns and (" -n " .. op.target.ns) or "" end
M.ns_flag = ns_flag

-- may this command queue? -> true | nil, why (words after "not queued: ")
function M.may_queue(sess, ctx, conn)
  local pol = sess:policy(conn)
  if pol.offline == false then return nil, "offline.enabled is false" end
  if ctx.flags and ctx.flags["no-queue"] then return nil, "--no-queue" end
  if not (ctx.interactive or ctx.queue_interactive) and not pol.queue_noninteractive then
    return nil, "not an interactive shell, and offline.queueNonInteractive is off"
  end
  local max = pol.queue_size or 1000
  local n = M.journal(sess.env):count()
  if n >= max then
    return nil, ("the queue is full: %d of offline.queueSize %d"):format(n, max)
  end
  return true
end

-- Queue op (the cluster did not answer err); prints the one line. Raises when it may not.
function M.enqueue(sess, ctx, conn, op, err)
  local ok, why = M.may_queue(sess, ctx, conn)
  if not ok then error(("%s (not queued: %s)"):format(err, why), 0) end
  if op.target.name == "secrets" and op.target.group == "" then
    error(("%s (not queued: a Secret's values are never kept on disk; try again when the cluster answers)"):format(err), 0)
  end
  op.ctx = conn.context
  op.as = identity(conn)
  local J = M.journal(sess.env)
  local id = J:add(op)
  J:mark_down(conn.context)
  ctx.out(("cluster %s unreachable — queued #%d: %s (vcli offline queue)\n"):format(conn.context, id, op.line))
  sess.queued_changed = true
  return id
end

-- After a write landed: the cache holds the object as the server answered it
-- (or, when the answer is not the object — a Scale, a delete — holds no whole
-- copy any more), so a later write queued offline is based on what is, not
-- on a copy older than the user's own change.
function M.remember(sess, ctxname, op, obj)
  local t = op.target
  local res = t.gv .. "/" .. t.name
  local cache = sess.cache
  if type(obj) == "table" and obj.kind == t.kind and type(obj.metadata) == "table" and not (t.name == "secrets" and t.group == "") then
    obj.metadata.managedFields = nil
    cache:put_object(ctxname, t.ns, res, t.obj, sess.env.json.encode(obj))
  elseif cache.store then
    for _, rk in ipairs({ res, "describe:" .. res }) do
      pcall(cache.store.del, require("k8s.cache").key("obj", ctxname, t.ns, rk, t.obj))
    end
  end
end

-- Send op now, or queue it when the cluster cannot be reached. state (one per
-- command): once a write found the cluster unreachable, the rest are queued
-- without waiting for it again. -> res | nil (queued)
function M.try(sess, ctx, c, conn, op, state)
  if not state.queued then
    local res, err, kind = c:request{ method = op.send.method, path = op.send.path, body = op.send.body,
      content_type = op.send.content_type, accept = "application/json", timeout_ms = 30000 }
    if res then
      M.remember(sess, conn.context, op, op.kind ~= "delete" and sess.env.json.decode(res.body or "") or nil)
      return res
    end
    if kind ~= "network" then error(err, 0) end
    state.err = err
  end
  op.base = op.base or M.base(sess, conn, { gv = op.target.gv, name = op.target.name, namespaced = op.target.namespaced },
    op.target.ns, op.target.obj)
  M.enqueue(sess, ctx, conn, op, state.err)
  state.queued = true
  return nil
end

-- A target as the op keeps it
function M.target(r, ns, name)
  return { group = r.group, gv = r.gv, name = r.name, kind = r.kind, namespaced = r.namespaced,
           ns = r.namespaced and ns or nil, obj = name }
end
local function obj_path(t)
  return discovery.path({ group = t.group, gv = t.gv, name = t.name, namespaced = t.namespaced }, t.ns, t.obj)
end
M.obj_path = obj_path
local function label(t)
  return discovery.kind_prefix({ kind = t.kind, group = t.group }) .. "/" .. t.obj
end
M.label = label

-- a merge patch of op.want sent to the object (or its path/subresource)
function M.patch_op(sess, r, ns, name, want, line, opts)
  opts = opts or {}
  local t = M.target(r, ns, name)
  return { kind = "patch", line = line, target = t, want = want,
    send = { method = "PATCH", path = obj_path(t) .. (opts.sub and ("/" .. opts.sub) or "")
                                  .. util.query({ fieldManager = M.MANAGER }),
             body = sess.env.json.encode(opts.body or want), content_type = opts.content_type or "application/merge-patch+json" } }
end

-- ------------------------------------------------------------------ replay
local function log_line(opts, s) if opts.out then opts.out(s .. "\n") end end

local function strategy_of(sess, op, opts)
  return opts.strategy or sess:policy({ context = op.ctx }).strategy or "ask"
end

-- the live object (nil when the server says 404) | error on anything else
local function live_of(c, op)
  local res, err, kind, code = c:request{ path = obj_path(op.target), accept = "application/json", timeout_ms = 30000 }
  if res then return c.env.json.decode(res.body) end
  if code == 404 then return nil end
  return nil, err, kind
end

-- has our own earlier send (before a crash) already landed?
local function landed(env, op, live)
  if op.kind == "delete" then return live == nil or (type(live.metadata) == "table" and live.metadata.deletionTimestamp ~= nil) end
  if not live then return false end
  if op.kind == "apply" then
    for _, mf in ipairs(type(live.metadata) == "table" and live.metadata.managedFields or {}) do
      local t = util.parse_time(mf.time)
      if mf.manager == M.MANAGER and mf.operation == "Apply" and t and op.sent_at and t >= op.sent_at - 1 then return true end
    end
    return contains(env, strip(env, op.doc), live)
  end
  return op.want ~= nil and contains(env, op.want, live)
end

-- a managedFields entry that only touches status (controllers reporting)
local function status_only(mf)
  if mf.subresource == "status" then return true end
  local f = type(mf.fieldsV1) == "table" and mf.fieldsV1 or {}
  for k in pairs(f) do if k ~= "f:status" then return false end end
  return true
end

-- What changed since the user saw it -> nil | reason. The object as it was
-- seen, when the cache kept it whole, compared field by field (status and
-- bookkeeping aside); otherwise the server's own record: a change of
-- generation (the spec), or a managedFields entry of another manager newer
-- than when it was seen (or queued, when it never was), status aside. Our
-- own earlier writes from the queue rebase the operations after them.
local function conflict_of(env, op, live)
  local b = op.base or {}
  if b.absent then
    if live then return "it was created meanwhile" end
    return nil
  end
  if not live then
    if b.unknown or op.kind == "delete" then return nil end
    return "it was deleted meanwhile"
  end
  if b.unknown and op.kind == "apply" then return nil end -- declarative: the server reports field conflicts
  local md = type(live.metadata) == "table" and live.metadata or {}
  if b.obj then
    if not deep_equal(env, strip(env, b.obj), strip(env, live)) then return "it was changed meanwhile" end
    return nil
  end
  if b.gen and md.generation and tonumber(b.gen) ~= tonumber(md.generation) then
    return "its spec was changed meanwhile"
  end
  local since = b.at or op.created
  for _, mf in ipairs(type(md.managedFields) == "table" and md.managedFields or {}) do
    local t = util.parse_time(mf.time)
    if mf.manager ~= M.MANAGER and t and since and t > since and not status_only(mf) then
      return ("it was changed meanwhile (by %s, %s)"):format(tostring(mf.manager), tostring(mf.time))
    end
  end
  return nil
end

-- the three-way view of our fields: cached, live, ours
local function three_way(env, op, live)
  local lines = {}
  local ours = op.want or (op.doc and strip(env, op.doc)) or {}
  for _, lf in ipairs(leaves(env, ours)) do
    local p = lf.path
    if not (p[1] == "apiVersion" or p[1] == "kind" or (p[1] == "metadata" and (p[2] == "name" or p[2] == "namespace"))) then
      local was = op.base and op.base.obj and at(op.base.obj, p)
      local now = at(live, p)
      lines[#lines + 1] = ("  %s: cached %s · live %s · yours %s"):format(path_text(p),
        op.base and op.base.obj and short(env, was) or "(not kept)", live and short(env, now) or "(deleted)", short(env, lf.value))
    end
  end
  if op.kind == "delete" then lines[#lines + 1] = "  (yours: delete it)" end
  return lines
end
M.three_way = three_way

-- merge: our fields the server side did not change go; the ones it changed stay theirs
-- -> new want/doc, kept (list of path texts), sent (list) | nil, why
local function merged(env, op, live)
  if op.kind == "delete" or op.kind == "undo" then return nil, "a " .. op.kind .. " cannot be merged field by field" end
  if not (op.base and op.base.obj) then
    return nil, "merge needs the object as it was seen, and the cache kept only its version"
  end
  if not live then return nil, "it was deleted meanwhile" end
  local ours = op.want or op.doc
  local kept, sent = {}, {}
  local out = ours
  for _, lf in ipairs(leaves(env, ours)) do
    local p = lf.path
    local was, now = at(op.base.obj, p), at(live, p)
    local theirs_changed = not deep_equal(env, was, now)
    if theirs_changed and not contains(env, lf.value, now) then
      kept[#kept + 1] = ("%s (live %s, yours %s)"):format(path_text(p), short(env, now), short(env, lf.value))
      out = without(out, p)
    else
      sent[#sent + 1] = path_text(p)
    end
  end
  return out, kept, sent
end

-- send op (after the checks) -> true | nil, err, kind
local function send(sess, c, op, how)
  local env = sess.env
  how = how or {}
  local s = op.send
  local path, body, ctype = s.path, s.body, s.content_type
  if op.kind == "apply" then
    local q = { fieldManager = M.MANAGER, force = (how.force or op.force) and "true" or nil }
    path = obj_path(op.target) .. util.query(q)
    if how.doc then body = env.json.encode(how.doc) end
  elseif how.want then
    body = env.json.encode(how.want)
    path = obj_path(op.target) .. util.query({ fieldManager = M.MANAGER })
  elseif op.kind == "delete" and how.precondition and op.base and op.base.rv and not op.base.unknown then
    body = env.json.encode({ apiVersion = "v1", kind = "DeleteOptions", preconditions = { resourceVersion = how.precondition } })
    ctype = "application/json"
  end
  local res, err, kind, code = c:request{ method = s.method, path = path, body = body, content_type = ctype,
    accept = "application/json", timeout_ms = 30000 }
  if res then return true, (op.kind ~= "delete") and env.json.decode(res.body) or nil end
  if op.kind == "delete" and code == 404 then return true end
  return nil, err, kind, code
end

-- later (the next pending write on op's object) after op landed as landed_obj;
-- had_conflict: op met a change of the others'
local function rebase(env, later, op, landed_obj, had_conflict)
  if landed_obj and type(landed_obj.metadata) == "table" then landed_obj.metadata.managedFields = nil end
  if op.kind == "delete" then
    later.base = { absent = true, at = env.time() }
  elseif not had_conflict and landed_obj then
    -- the object was as the user saw it, plus this write: that is what they built on
    later.base = { obj = landed_obj, rv = landed_obj.metadata and landed_obj.metadata.resourceVersion, at = env.time() }
  elseif later.base and later.base.obj and op.want then
    -- it had changed meanwhile too: the user's view gains their own write only,
    -- so the others' change is still a conflict for the later write
    later.base.obj = merge_apply(env, later.base.obj, op.want)
  end
end

-- rollout undo queued: the template it goes back to is chosen at the first
-- replay and kept in the op, so a second send after a crash sends the same
local function resolve_undo(sess, c, op, live)
  if op.send.body then return true end
  local verbs = require("k8s.verbs")
  local pick = verbs.pick_revision(verbs.revisions(c, op.target.ns, live), op.to_revision)
  if not pick then return nil, ("no %s revision found"):format(op.to_revision and ("revision " .. op.to_revision) or "previous") end
  local tmpl = pick.rs.spec.template
  if tmpl.metadata and tmpl.metadata.labels then tmpl.metadata.labels["pod-template-hash"] = nil end
  op.send.body = sess.env.json.encode({ { op = "replace", path = "/spec/template", value = tmpl } })
  op.want = { spec = { template = tmpl } }
  return true
end

-- One operation: -> "done" | "dropped" | "stop" (leave it, stop this context) | "skip" (leave it, go on)
local function replay_one(sess, J, c, op, opts)
  local env = sess.env
  local what = ("#%d %s"):format(op.id, op.line)
  local live, lerr, lkind = live_of(c, op)
  if lerr then
    if lkind == "network" then return "offline", lerr end
    op.state, op.note = "failed", lerr
    J:save(op)
    log_line(opts, ("failed   %s: %s"):format(what, lerr))
    return "stop"
  end
  if op.state == "sending" and landed(env, op, live) then
    if opts.next_same then rebase(env, opts.next_same, op, live, nil) end
    J:finish(op, "done", "landed before vcli stopped (sent once)", opts.next_same and { opts.next_same } or nil)
    log_line(opts, ("applied  %s (it had landed before vcli stopped)"):format(what))
    return "done"
  end
  if op.kind == "delete" and live == nil then
    if opts.next_same then rebase(env, opts.next_same, op, nil, nil) end
    J:finish(op, "done", "already gone", opts.next_same and { opts.next_same } or nil)
    log_line(opts, ("applied  %s (already gone)"):format(what))
    return "done"
  end
  local why = conflict_of(env, op, live)
  local how = { precondition = live and live.metadata and live.metadata.resourceVersion }
  if why then
    local strategy = strategy_of(sess, op, opts)
    if strategy == "ask" then
      local answer
      if opts.ask then
        log_line(opts, ("conflict %s: %s"):format(what, why))
        for _, l in ipairs(three_way(env, op, live)) do log_line(opts, l) end
        answer = opts.ask("keep [m]ine, keep [t]heirs, [s]kip, [e]dit? ")
      end
      answer = answer and answer:sub(1, 1):lower()
      if answer == "m" then strategy = "client-wins"
      elseif answer == "t" then strategy = "server-wins"
      elseif answer == "s" then
        op.state, op.note = "conflict", why .. " (skipped)"
        J:save(op)
        log_line(opts, ("skipped  %s"):format(what))
        return "skip"
      elseif answer == "e" and opts.edit then
        local ok, res = pcall(opts.edit, op, live)
        if not ok or not res then
          op.state, op.note = "conflict", why
          J:save(op)
          log_line(opts, ("left     %s: %s"):format(what, ok and "edit cancelled" or tostring(res)))
          return "stop"
        end
        strategy = "client-wins"
      else
        op.state, op.note = "conflict", why
        J:save(op)
        log_line(opts, ("conflict %s: %s — left queued (k8s offline sync --strategy client-wins|server-wins|merge %d, "
          .. "or k8s offline drop %d)"):format(what, why, op.id, op.id))
        return "stop"
      end
    end
    if strategy == "server-wins" then
      J:finish(op, "dropped", why .. "; the server's version kept (server-wins)")
      log_line(opts, ("dropped  %s: %s (server-wins)"):format(what, why))
      return "done"
    elseif strategy == "merge" then
      local out, kept, sent = merged(env, op, live)
      if not out then
        op.state, op.note = "conflict", why .. "; " .. kept
        J:save(op)
        log_line(opts, ("conflict %s: %s; %s — left queued"):format(what, why, kept))
        return "stop"
      end
      if #sent == 0 then
        J:finish(op, "dropped", why .. "; every field was changed on the server (merge): " .. table.concat(kept, ", "))
        log_line(opts, ("dropped  %s: every field changed on the server: %s"):format(what, table.concat(kept, ", ")))
        return "done"
      end
      if op.kind == "apply" then how.doc, how.force = out, true else how.want = out end
      how.merge_note = #kept > 0 and ("kept theirs for " .. table.concat(kept, ", ")) or nil
      how.precondition = nil
    else -- client-wins
      how.force = true
      how.precondition = nil
    end
  end
  if op.kind == "undo" then
    if not live then
      op.state, op.note = "failed", "it was deleted meanwhile"
      J:save(op)
      log_line(opts, ("failed   %s: it was deleted meanwhile"):format(what))
      return "stop"
    end
    local ok, uerr = resolve_undo(sess, c, op, live)
    if not ok then
      op.state, op.note = "failed", uerr
      J:save(op)
      log_line(opts, ("failed   %s: %s"):format(what, uerr))
      return "stop"
    end
  end
  if opts.dry_run then
    log_line(opts, ("would    %s%s"):format(what, why and (" (" .. why .. ")") or ""))
    return "skip"
  end
  -- marked as being sent before it goes: after a crash, the next replay checks whether it landed
  op.state, op.sent_at = "sending", env.time()
  J:save(op)
  local ok, err, kind = send(sess, c, op, how)
  if ok then
    -- the next write on the same object builds on this one: its base moves
    -- in the same transaction that records this one done
    local later = opts.next_same
    local landed_obj = type(err) == "table" and err or nil
    if later then
      -- (a subresource answers with its own kind, a Scale: the object itself is asked for)
      if landed_obj and landed_obj.kind ~= op.target.kind then landed_obj = live_of(c, op) end
      rebase(env, later, op, landed_obj, why)
    end
    M.remember(sess, op.ctx, op, landed_obj)
    J:finish(op, "done", how.merge_note, later and { later } or nil)
    log_line(opts, ("applied  %s%s"):format(what, how.merge_note and (" (merged; " .. how.merge_note .. ")") or ""))
    return "done"
  end
  if kind == "network" then
    op.state = "queued"
    J:save(op)
    return "offline", err
  end
  op.state, op.note = "failed", err
  J:save(op)
  log_line(opts, ("failed   %s: %s"):format(what, err))
  return "stop"
end

-- the client an operation speaks through: its context and its identity
local function client_for(sess, op)
  local flags = { context = op.ctx }
  if op.as then flags.as, flags["as-group"], flags["as-uid"] = op.as.user, op.as.groups, op.as.uid end
  return sess:client(flags)
end

-- Replay. opts: contexts (set) | nil, ids (set) | nil, strategy, dry_run,
-- out(line), ask(question) -> answer | nil, edit(op, live) -> true.
-- -> { done = n, left = n, offline = {ctx = err}, busy = bool, failed = n }
function M.sync(sess, opts)
  opts = opts or {}
  local env = sess.env
  local J = M.journal(env)
  local summary = { done = 0, left = 0, offline = {}, failed = 0 }
  local got = env.store.lock(LOCK)
  if not got then summary.busy = true return summary end
  local ok, err = pcall(function()
    local order, per = {}, {}
    for _, op in ipairs(J:pending()) do
      if (not opts.contexts or opts.contexts[op.ctx]) then
        if not per[op.ctx] then per[op.ctx] = {}; order[#order + 1] = op.ctx end
        table.insert(per[op.ctx], op)
      end
    end
    for _, ctxname in ipairs(order) do
      local stopped = false
      local okc, c, conn = pcall(client_for, sess, per[ctxname][1])
      if not okc then
        summary.offline[ctxname] = tostring(c)
        stopped = true
      elseif sess:is_readonly(conn) then
        summary.offline[ctxname] = "read-only mode (context " .. ctxname .. "): nothing replayed"
        stopped = true
      end
      if not stopped then J:mark_up(ctxname) end
      for _, op in ipairs(per[ctxname]) do
        local chosen = not opts.ids or opts.ids[op.id]
        if stopped or not chosen then
          summary.left = summary.left + 1
        elseif (op.state == "conflict" or op.state == "failed") and not (opts.ids and opts.ids[op.id]) and not opts.strategy then
          -- waits for a decision (retry, drop, sync --strategy, sync ID): the context stops here
          summary.left = summary.left + 1
          if op.state == "failed" then summary.failed = summary.failed + 1 end
          stopped = true
          log_line(opts, ("waiting  #%d %s: %s%s — the writes after it wait too (k8s offline sync --strategy "
            .. "client-wins|server-wins|merge %d, retry %d or drop %d)"):format(op.id, op.line, op.state,
            op.note and (": " .. op.note) or "", op.id, op.id, op.id))
        else
          local cl = client_for(sess, op)
          opts.next_same = nil
          local path = obj_path(op.target)
          for _, later in ipairs(per[ctxname]) do
            if later.id > op.id and obj_path(later.target) == path then opts.next_same = later break end
          end
          local r, rerr = replay_one(sess, J, cl, op, opts)
          if r == "done" then summary.done = summary.done + 1
          elseif r == "offline" then
            J:mark_down(ctxname)
            summary.offline[ctxname] = rerr
            summary.left = summary.left + 1
            stopped = true
          elseif r == "skip" then summary.left = summary.left + 1
          else
            summary.left = summary.left + 1
            if op.state == "failed" then summary.failed = summary.failed + 1 end
            stopped = true
          end
        end
      end
    end
  end)
  env.store.unlock(LOCK)
  if not ok then error(err, 0) end
  sess.queued_changed = true
  return summary
end

-- is the context's server answering? (a short request: /version)
function M.reachable(sess, ctxname)
  local ok, c = pcall(sess.client, sess, { context = ctxname })
  if not ok then return false end
  local res = c:request{ path = "/version", accept = "application/json", timeout_ms = 3000, connect_timeout_ms = 3000 }
  return res ~= nil
end

-- The shell's background replay: every offline.syncInterval, each context
-- with queued writes that answers again is replayed (offline.autoSync), one
-- line per operation.
function M.background(sess)
  local env = sess.env
  local J = M.journal(env)
  local ok, pending = pcall(J.pending, J)
  if not ok or #pending == 0 then return end
  local pol = sess:policy({})
  if pol.auto_sync == false then return end
  local contexts, seen = {}, {}
  for _, op in ipairs(pending) do
    if not seen[op.ctx] and op.state ~= "conflict" and op.state ~= "failed" then
      seen[op.ctx] = true
      if M.reachable(sess, op.ctx) then contexts[op.ctx] = true end
    end
  end
  if not next(contexts) then return end
  local lines = {}
  local s = M.sync(sess, { contexts = contexts, out = function(l) lines[#lines + 1] = l end })
  -- a write that waits for a decision is said once per session, not at every retry
  sess.notified = sess.notified or {}
  for _, l in ipairs(lines) do
    local key = l:match("^waiting  (#%d+ .*)$")
    if not key or not sess.notified[key] then
      if key then sess.notified[key] = true end
      env.notify("⟳ " .. l)
    end
  end
  return s
end

-- ------------------------------------------------------------------ commands
local function age(env, t)
  if not t then return "-" end
  return require("k8s.printer").age(os.date("!%Y-%m-%dT%H:%M:%SZ", t), env.time())
end

local function based(op)
  local b = op.base or {}
  if b.absent then return "absent" end
  if b.unknown then return "not cached" end
  if b.obj or b.whole then return "rv " .. tostring(b.rv) end
  if b.rv then return "rv " .. tostring(b.rv) .. " (listed)" end
  return "listed"
end

local function table_out(ctx, rows)
  local w = {}
  for _, r in ipairs(rows) do for i, c in ipairs(r) do w[i] = math.max(w[i] or 0, #c) end end
  for _, r in ipairs(rows) do
    local parts = {}
    for i, c in ipairs(r) do parts[i] = i < #r and (c .. (" "):rep(w[i] - #c + 3)) or c end
    ctx.out(table.concat(parts) .. "\n")
  end
end

local function ids_of(words)
  local set, any = {}, false
  for _, w in ipairs(words or {}) do
    local n = tonumber((w:gsub("^#", "")))
    if not n then error(("k8s offline: '%s' is not an operation id (see k8s offline queue)"):format(w), 0) end
    set[n], any = true, true
  end
  return any and set or nil
end

function M.command(sess, ctx)
  local env = sess.env
  local J = M.journal(env)
  local action = ctx.args.action or "status"
  local words = ctx.args.ids or {}
  local f = ctx.flags
  if action == "status" then
    local pending = J:pending()
    local per, names = {}, {}
    for _, op in ipairs(pending) do
      if not per[op.ctx] then per[op.ctx] = { n = 0 }; names[#names + 1] = op.ctx end
      per[op.ctx].n = per[op.ctx].n + 1
    end
    local cur = sess:conn({}).context
    if not per[cur] then per[cur] = { n = 0 }; table.insert(names, 1, cur) end
    local hist = J:history()
    local rows = { { "CONTEXT", "REACHABLE", "QUEUED", "LAST SYNC", "NEXT RETRY" } }
    local pol = sess:policy({})
    for _, n in ipairs(names) do
      local last
      for _, h in ipairs(hist) do if h.ctx == n and h.done_at and (not last or h.done_at > last) then last = h.done_at end end
      local up = M.reachable(sess, n)
      local since = J:down_since(n)
      local down = up and "yes" or (since and ("no, since " .. age(env, since) .. " ago") or "no")
      local retry = (per[n].n > 0 and not up and ctx.shell and pol.auto_sync ~= false)
        and ("in ≤ " .. (pol.sync_interval or 30) .. "s") or "-"
      rows[#rows + 1] = { n, down, tostring(per[n].n), last and (age(env, last) .. " ago") or "-", retry }
    end
    table_out(ctx, rows)
    return 0
  elseif action == "queue" then
    local list = J:pending()
    if f.all then
      local h = J:history()
      for _, op in ipairs(list) do h[#h + 1] = op end
      list = h
    end
    if #list == 0 then ctx.err("The offline queue is empty.\n") return 0 end
    local rows = { { "ID", "AGE", "CONTEXT", "VERB", "TARGET", "STATE", "BASED ON" } }
    for _, op in ipairs(list) do
      rows[#rows + 1] = { "#" .. op.id, age(env, op.created), op.ctx, op.line:match("^(%S+)") or "?",
        label(op.target) .. ns_flag(op), op.state .. (op.note and op.state ~= "done"
          and (": " .. (#op.note > 48 and (op.note:sub(1, 47) .. "…") or op.note)) or ""), based(op) }
    end
    table_out(ctx, rows)
    return 0
  elseif action == "show" then
    local ids = ids_of(words)
    if not ids then error("k8s offline show: which operation? (an id from k8s offline queue)", 0) end
    for id in pairs(ids) do
      local op = J:get(id)
      if not op then error(("k8s offline show: no operation #%d"):format(id), 0) end
      ctx.out(("#%d  %s\n"):format(op.id, op.line))
      ctx.out(("context:  %s%s\n"):format(op.ctx, op.as and (" (as " .. op.as.user .. ")") or ""))
      ctx.out(("state:    %s%s\n"):format(op.state, op.note and (" — " .. op.note) or ""))
      ctx.out(("queued:   %s ago; based on %s\n"):format(age(env, op.created), based(op)))
      local path = op.send.path
      ctx.out(("sends:    %s %s\n"):format(op.send.method, path))
      if op.send.body then ctx.out(("body:     %s\n"):format(op.send.body)) end
      if op.base and op.base.obj and (op.want or op.doc) then
        ctx.out("against the object as it was cached:\n")
        for _, lf in ipairs(leaves(env, op.want or strip(env, op.doc))) do
          local was = at(op.base.obj, lf.path)
          if not deep_equal(env, was, lf.value) then
            ctx.out(("  %s: %s → %s\n"):format(path_text(lf.path), short(env, was), short(env, lf.value)))
          end
        end
      elseif op.kind == "delete" then
        ctx.out("against the object as it was cached: deleted\n")
      end
    end
    return 0
  elseif action == "sync" then
    local s = M.sync(sess, { ids = ids_of(words), strategy = f.strategy, dry_run = f["dry-run"],
      out = ctx.out, ask = ctx.interactive and env.ask or nil, edit = ctx.interactive and M.editor(sess) or nil })
    if s.busy then error("k8s offline sync: another vcli is replaying the queue now; try again when it is done", 0) end
    for n, e in pairs(s.offline) do ctx.err(("%s: %s — left queued\n"):format(n, e)) end
    ctx.out(("%d applied, %d left in the queue\n"):format(s.done, s.left))
    return (s.left > 0 and not f["dry-run"]) and 1 or 0
  elseif action == "drop" then
    local ids = ids_of(words)
    if not ids and not f.all then error("k8s offline drop: which operation? (ID… or --all)", 0) end
    local n = 0
    if f.all then
      for _, op in ipairs(J:pending()) do J:finish(op, "dropped", "dropped by the user"); n = n + 1 end
    else
      for id in pairs(ids) do
        local ok, op, pending = pcall(J.get, J, id)
        if not ok then J:drop_raw(id); n = n + 1
        elseif not op or not pending then error(("k8s offline drop: no queued operation #%d"):format(id), 0)
        else J:finish(op, "dropped", "dropped by the user"); n = n + 1 end
      end
    end
    ctx.out(("%d dropped\n"):format(n))
    sess.queued_changed = true
    return 0
  elseif action == "retry" then
    local ids = ids_of(words)
    if not ids then error("k8s offline retry: which operation? (an id from k8s offline queue)", 0) end
    for id in pairs(ids) do
      local op, pending = J:get(id)
      if not op or not pending then error(("k8s offline retry: no queued operation #%d"):format(id), 0) end
      op.state, op.note = "queued", nil
      J:save(op)
    end
    return M.command(sess, setmetatable({ args = { action = "sync", ids = {} }, flags = { strategy = f.strategy } },
      { __index = ctx }))
  end
  error(("k8s offline: unknown action '%s' (status, queue, show, sync, drop, retry)"):format(action), 0)
end

-- ask's [e]dit: ours in $EDITOR as YAML, with the live object's values shown above; -> true when changed
function M.editor(sess)
  return function(op, live)
    local env = sess.env
    if op.kind == "delete" then error("a delete has nothing to edit", 0) end
    local ours = op.want or op.doc
    local head = { "# The change you queued (#" .. op.id .. "), as YAML. Save to send it; an empty file cancels." }
    for _, l in ipairs(three_way(env, op, live)) do head[#head + 1] = "#" .. l end
    local tmp = env.private_file("offline-" .. op.id .. ".yaml", table.concat(head, "\n") .. "\n" .. env.yaml.encode(ours))
    local editor = env.getenv("KUBE_EDITOR") or env.getenv("EDITOR") or "vi"
    local code = env.run_tty({ "/bin/sh", "-c", editor .. ' "$1"', "sh", tmp })
    local edited = env.read_file(tmp) or ""
    env.remove(tmp)
    if code ~= 0 then return nil end
    local body = edited:gsub("^#[^\n]*\n", ""):gsub("\n#[^\n]*", "")
    if body:match("^%s*$") then return nil end
    local v, yerr = env.yaml.decode(body, tmp)
    if type(v) ~= "table" then error(yerr or "not a map", 0) end
    if op.kind == "apply" then op.doc = v; op.send.body = env.json.encode(v)
    else op.want = v; op.send.body = env.json.encode(v); op.send.content_type = "application/merge-patch+json"
      op.send.path = obj_path(op.target) .. util.query({ fieldManager = M.MANAGER }) end
    return true
  end
end

-- the prompt's "⟳ 3 queued"
function M.prompt_segment(sess)
  local ok, n = pcall(function() return M.journal(sess.env):count() end)
  if ok and n > 0 then return { ("⟳ %d queued "):format(n), 3 } end
end

function M.spec(sess)
  local function run(ctx) return M.command(sess, ctx) end
  return { name = "offline", summary = "The offline write queue: status, queue, show, sync, drop, retry",
    args = { { name = "action", optional = true, help = "status (default), queue, show ID, sync [ID…], drop ID…|--all, retry ID",
               complete = function() return { "status", "queue", "show", "sync", "drop", "retry" } end },
             { name = "ids", variadic = true, optional = true, help = "operation ids (#7 or 7)" } },
    flags = { { name = "all", type = "bool", help = "queue: the history too; drop: every queued operation" },
              { name = "dry-run", type = "bool", help = "sync: say what would be sent, send nothing" },
              { name = "strategy", type = "enum", values = { "ask", "server-wins", "client-wins", "merge" },
                help = "sync/retry: how conflicts are resolved this time (default offline.conflictStrategy)" } },
    handler = run,
    examples = { { "k8s offline", "per context: reachable, queued, last sync" },
                 { "k8s offline queue", "what waits, oldest first" },
                 { "k8s offline show 7", "what #7 will send, against the object as it was cached" },
                 { "k8s offline sync --strategy merge", "replay now; conflicts merged field by field" },
                 { "k8s offline drop 7" } } }
end

return M
