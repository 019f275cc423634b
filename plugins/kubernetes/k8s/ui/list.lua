-- k8s.ui.list — one resource list of the browser: the server's Table columns
-- (kubectl's), fetched in chunks (the first screen as soon as the first chunk
-- is in, "Loading…" until then) and kept current by a watch from the list's
-- resourceVersion, applied as deltas (resume after a drop, re-list after
-- 410). No periodic re-list. Offline: the rows stay, the header says since
-- when, the watch reconnects by itself and catches up.
local T = require("vcli.tui.table")
local util = require("k8s.util")
local printer = require("k8s.printer")
local discovery = require("k8s.discovery")
local watch = require("k8s.watch")
local get = require("k8s.get")
local actions = require("k8s.ui.actions")

local M = {}
local L = {}
L.__index = L

local OK_STATUS = { Running = true, Completed = true, Succeeded = true, Active = true, Bound = true, Ready = true }

local function setting(key)
  if not vcli.config then return nil end
  local ok, v = pcall(vcli.config.get, key)
  if ok then return v end
end

function M.new(ctx, args)
  local v = setmetatable({ ctx = ctx, sess = ctx.sess, env = ctx.env, id = ctx.id, args = args, gen = 0,
                           state = "loading", rows = {}, by_id = {} }, L)
  v.type = args.type or setting("ui.defaultView") or "pods"
  v.all = args.all == true
  v.ns = args.namespace
  v.context = args.context
  v.selector = args.selector
  v.field = args.field_selector
  v.owner_uid = args.owner_uid
  v.readonly_flag = args.readonly == true
  v.label = args.label
  v.t = T.new({ columns = { { name = "NAME" } }, empty = "Loading…" })
  v.select_after = args.select
  v:start()
  v.age_timer = vcli.every(5000, function() v:tick_ages() end)
  -- the filter's haystacks made while the list is idle (a slice of 4 ms at a
  -- time: a key waits at most that), so that the first keystroke of a filter
  -- does not read 50 000 scattered rows
  v.prep_timer = vcli.every(50, function() if not v.closed then v.t:prepare(4) end end)
  return v
end

function L:flags()
  return { context = self.context, namespace = (not self.all) and self.ns or nil, readonly = self.readonly_flag or nil }
end

function L:dirty() pcall(vcli.tui.dirty, self.id) end

-- AGE as time goes by: the cells on screen say how old each row is now (the
-- column's `fresh`, called for the rows the table lays out; every 5 s they are
-- laid out again), as kubectl's printer would, at the cost of the rows shown,
-- not of the list; the sort key is the creation time, so the order does not move
function L:tick_ages()
  if self.closed or not self.cols then return end
  for _, c in ipairs(self.cols) do
    if c.age then
      self.t:touched()
      self:dirty()
      return
    end
  end
end

-- (Re)load in the background: a timer's call of the plugin, not the key's.
function L:start()
  self.gen = self.gen + 1
  local gen = self.gen
  if self.stream then pcall(self.stream.close, self.stream) end
  vcli.timer(0, function() self:run(gen) end)
end

function L:stopped(gen) return self.closed or self.gen ~= gen end

local function age_key(md)
  local t = md and util.parse_time(md.creationTimestamp)
  return t and -t or 0
end

-- A Table's column definitions -> the widget's columns (NAMESPACE first with -A).
function L:columns_of(tbl)
  local cols = {}
  if self.all and self.r and self.r.namespaced then cols[#cols + 1] = { name = "NAMESPACE", src = "ns" } end
  for i, cd in ipairs(tbl.columnDefinitions or {}) do
    local name = tostring(cd.name or ""):upper()
    local numeric = cd.type == "integer" or cd.type == "number" or name == "RESTARTS"
    cols[#cols + 1] = { name = name, src = i, wide = (cd.priority or 0) > 0, align = numeric and "right" or "left",
                        sort = (numeric or name == "AGE") and "number" or "string", age = name == "AGE" }
  end
  for ai, c in ipairs(cols) do
    if c.age then
      local env = self.env
      c.fresh = function(row)
        local k = row.keys and row.keys[ai]
        if k and k ~= 0 then return util.human_duration(env.time() + k) end
      end
    end
  end
  return cols
end

-- Rows of one owner share one ownerReferences table (the pods of a
-- ReplicaSet have the same one), not one each: 450 bytes a row less at
-- 50 000 pods. Weak: a table no row holds any more goes.
local shared_owners = setmetatable({}, { __mode = "v" })
local function share_owners(refs)
  if type(refs) ~= "table" then return refs end
  local parts = {}
  for i, o in ipairs(refs) do
    if type(o) ~= "table" then return refs end
    parts[i] = ("%s\0%s\0%s\0%s\0%s\0%s"):format(tostring(o.uid), tostring(o.name), tostring(o.kind),
      tostring(o.apiVersion), tostring(o.controller), tostring(o.blockOwnerDeletion))
  end
  local key = table.concat(parts, "\1")
  local have = shared_owners[key]
  if have then return have end
  shared_owners[key] = refs
  return refs
end

function L:row_of(trow)
  local null = self.env.json.null
  local md = type(trow.object) == "table" and trow.object.metadata or {}
  local cells, keys = {}, {}
  local name_i, status_i, ready_i, restarts_i
  for i, c in ipairs(self.cols) do
    local text
    if c.src == "ns" then text = md.namespace or ""
    else text = printer.cell_text((trow.cells or {})[c.src], null) end
    cells[i] = text
    if c.age then keys[i] = age_key(md)
    elseif c.sort == "number" then keys[i] = tonumber(tostring(text):match("^%-?%d+")) or 0 end
    if c.name == "NAME" then name_i = i end
    if c.name == "STATUS" then status_i = i end
    if c.name == "READY" then ready_i = i end
    if c.name == "RESTARTS" then restarts_i = i end
  end
  local name = md.name or cells[name_i or 1]
  local row = { id = (md.namespace or "") .. "/" .. tostring(name), cells = cells, keys = keys,
                name = name, namespace = md.namespace, uid = md.uid, owners = share_owners(md.ownerReferences) }
  -- faults (Ctrl-Z): not running as it should, not all ready, restarting
  local fault = false
  local st = status_i and cells[status_i]
  if st and not OK_STATUS[st] then fault = true end
  local ready = ready_i and cells[ready_i]
  local a, b = tostring(ready or ""):match("^(%d+)/(%d+)$")
  if a and tonumber(a) < tonumber(b) and st ~= "Completed" and st ~= "Succeeded" then fault = true end
  if restarts_i and (keys[restarts_i] or 0) > 0 and self.r and self.r.name == "pods" then row.restarting = true end
  row.fault = fault
  if fault then row.style = "error" elseif row.restarting then row.style = "warn" end
  return row
end

function L:owned(row)
  if not self.owner_uid then return true end
  for _, o in ipairs(type(row.owners) == "table" and row.owners or {}) do
    if o.uid == self.owner_uid then return true end
  end
  return false
end

-- Fetch the list in chunks, then watch; offline: keep the rows, retry.
function L:run(gen)
  local env = self.env
  local backoff = 1000
  while not self:stopped(gen) do
    local ok, err, kind = pcall(self.load_and_watch, self, gen)
    if self:stopped(gen) then return end
    if ok then return end
    local msg = tostring(err)
    if kind == nil and type(err) == "table" then msg, kind = err.msg, err.kind end
    if kind ~= "network" and not msg:find("network") and not msg:find("connect") and not msg:find("timed out")
       and not msg:find("resolve") then
      self.state, self.error = "error", msg
      self.t.empty = msg
      -- (a list refused, Forbidden: the header still says which server it is)
      if self.c and not self.server then pcall(self.server_version, self, self.c) end
      self:dirty()
      return
    end
    self.offline_since = self.offline_since or env.time()
    self.state, self.error = "offline", msg
    if #self.t.rows == 0 and self.state ~= "live" then self.t.empty = "offline: " .. msg end
    self:dirty()
    env.sleep(backoff)
    backoff = math.min(backoff * 2, 8000)
  end
end

local function fail(msg, kind) error({ msg = msg, kind = kind }, 0) end

-- :ctx — the kubeconfig's contexts (no server involved); Enter switches
function L:load_contexts()
  local sess = self.sess
  local kc = sess:kc({})
  self.conn = sess:conn({ context = self.context })
  local cur = self.conn.context
  self.cols = { { name = "NAME" }, { name = "CLUSTER" }, { name = "AUTHINFO" }, { name = "NAMESPACE" } }
  self.t:set_columns(self.cols)
  local rows = {}
  for _, name in ipairs(require("k8s.kubeconfig").context_names(kc)) do
    local ok, conn = pcall(sess.conn, sess, { context = name })
    conn = ok and conn or {}
    rows[#rows + 1] = { id = "/" .. name, name = name, cells = { name .. (name == cur and " (current)" or ""),
      conn.cluster_name or "", conn.user_name or "", conn.namespace or "" } }
  end
  self.r = { name = "contexts", namespaced = false, group = "" }
  self:set_rows(rows, true)
  self.t.empty = "No contexts in the kubeconfig."
  self.state = "live"
  self:dirty()
end

-- The list at path as the server's Table, in chunks of the session's page size ->
-- rows, resourceVersion (nil when the view stopped meanwhile); on_chunk(rows so far,
-- first, more to come) after each chunk; on_first(the first chunk's Table) before its
-- rows are read (their columns come from it).
function L:list_chunks(gen, c, path, on_chunk, on_first)
  local env = self.env
  local q = { limit = self.sess:chunk_size(self.conn, {}), labelSelector = self.selector, fieldSelector = self.field,
              includeObject = "Metadata" }
  local all, rv, cont, first = {}, nil, nil, true
  repeat
    q.continue = cont
    local res, err, kind = c:request({ path = path .. util.query(q), accept = get.TABLE_ACCEPT, timeout_ms = 120000 })
    if self:stopped(gen) then return nil end
    if not res then fail(err, kind) end
    local tbl = env.json.decode(get.drop_managed_fields(res.body)) or env.json.decode(res.body)
    if type(tbl) ~= "table" or tbl.kind ~= "Table" then fail("the server did not answer a Table for " .. self.r.name, "http") end
    if first and on_first then on_first(tbl) end
    for _, trow in ipairs(type(tbl.rows) == "table" and tbl.rows or {}) do
      local row = self:row_of(trow)
      if self:owned(row) then all[#all + 1] = row end
    end
    rv = tbl.metadata and tbl.metadata.resourceVersion or rv
    cont = tbl.metadata and tbl.metadata.continue
    if cont == "" then cont = nil end
    if on_chunk then on_chunk(all, first, cont ~= nil) end
    first = false
    tbl = nil -- luacheck: ignore 311
    collectgarbage("step", 2000)
  until not cont
  return all, rv
end

function L:load_and_watch(gen)
  local env, sess = self.env, self.sess
  if self.type == "contexts" then return self:load_contexts() end
  local c, conn = sess:client(self:flags())
  self.c, self.conn = c, conn
  local d = sess:discovery(c)
  local r, rerr, rkind = d:resolve(self.type)
  if not r then fail(rerr, rkind) end
  self.r = r
  local ns = (r.namespaced and not self.all) and conn.namespace or nil
  self.view_ns = ns
  local path = discovery.path(r, ns)
  local all, rv = self:list_chunks(gen, c, path, function(rows, first, more)
    -- the first screen as soon as the first chunk is in, the whole list at
    -- its end (set_rows costs the whole list: not once per chunk)
    if first or not more then
      self:set_rows(rows, first)
      -- the header's server version once the first rows are in (not before
      -- them, nor beside them: its handshake would delay them)
      if first and not self.server then env.go(function() pcall(self.server_version, self, c) self:dirty() end) end
      if more then self.t.loading = true end
    end
    self.loaded = #rows
    self:dirty()
  end, function(tbl)
    self.cols = self:columns_of(tbl)
    self.t:set_columns(self.cols)
  end)
  if not all then return end
  self.t.loading = nil
  self.t.empty = (ns and ("No resources found in %s namespace."):format(ns) or "No resources found.")
  self.state, self.error, self.offline_since = "live", nil, nil
  self:dirty()
  -- live: the changes after rv, as deltas
  local stream_closer = env.go(function()
    while not self:stopped(gen) do env.sleep(200) end
    if self.stream then pcall(self.stream.close, self.stream) end
  end)
  local _ = stream_closer
  watch.run(env, c, {
    path = path, accept = get.TABLE_ACCEPT, rv = rv,
    query = { labelSelector = self.selector, fieldSelector = self.field, includeObject = "Metadata" },
    stop = function() return self:stopped(gen) end,
    on_stream = function(s)
      self.stream = s
      if self.state ~= "live" then self.state, self.error, self.offline_since = "live", nil, nil; self:dirty() end
    end,
    on_state = function(msg)
      if self:stopped(gen) then return end
      self.offline_since = self.offline_since or env.time()
      self.state, self.error = "offline", msg
      self:dirty()
    end,
    relist = function()
      -- in chunks as the first list (a 50 000-row answer in one piece is what chunking avoids);
      -- the rows on screen stay until the new list is whole
      local rows, new_rv = self:list_chunks(gen, c, path)
      if not rows then return rv end
      self:set_rows(rows)
      self:dirty()
      return new_rv
    end,
    on_event = function(ty, obj)
      if self:stopped(gen) or type(obj) ~= "table" then return end
      if obj.kind ~= "Table" then return end
      for _, trow in ipairs(type(obj.rows) == "table" and obj.rows or {}) do
        local row = self:row_of(trow)
        if ty == "DELETED" then self.t:remove(row.id)
        elseif self:owned(row) then self.t:upsert(row) end
      end
      self:dirty()
    end,
  })
end

function L:set_rows(rows, first)
  self.t:set_rows(rows)
  if first and not self.sorted then
    self.sorted = true
    local sort_col = self.namespace_first and 2 or nil
    for i, c in ipairs(self.cols or {}) do if c.name == "NAME" then sort_col = sort_col or i end end
    if self.all and self.r and self.r.namespaced then sort_col = 1 end
    if sort_col then self.t:sort(sort_col, false) end
  end
  if self.select_after then
    if self.t:get(self.select_after) then self.t:select_id(self.select_after); self.select_after = nil end
  end
end

function L:server_version(c)
  local sess = self.sess
  sess.server_versions = sess.server_versions or {}
  local key = c.conn.context
  if sess.server_versions[key] then self.server = sess.server_versions[key] return end
  local v = c:get_json("/version")
  if type(v) == "table" and v.gitVersion then
    sess.server_versions[key] = v.gitVersion
    self.server = v.gitVersion
  end
end

-- ------------------------------------------------------------------ panel
function L:title()
  local what = self.r and self.r.name or self.type
  local where = self.all and "all" or (self.view_ns or self.ns or (self.conn and self.conn.namespace))
  if self.r and not self.r.namespaced then where = nil end
  local t = what .. (where and ("(" .. where .. ")") or "")
  if self.label then t = t .. " " .. self.label end
  if self.selector and not self.label then t = t .. " " .. self.selector end
  if self.filter_text and self.filter_text ~= "" then t = t .. " /" .. self.filter_text end
  return t .. self.t:title_count()
end

function L:readonly()
  local conn = self.conn
  return conn and self.sess:is_readonly(conn) or self.readonly_flag
end

function L:header()
  return actions.header(self.sess, self.env, self.conn, {
    namespace = self.all and "all" or (self.view_ns or (self.conn or {}).namespace),
    offline = self.state == "offline", offline_since = self.offline_since, readonly = self:readonly() })
end

function L:view(w, h)
  local lines = self.t:view(w, h)
  local status
  if self.state == "offline" then status = "offline: " .. tostring(self.error) .. " (reconnecting)"
  elseif self.state == "error" then status = tostring(self.error)
  elseif self.t.loading then status = ("loading… %d so far"):format(self.loaded or #self.t.rows)
  elseif self.faults then status = "faults only (Ctrl-Z shows every row)" end
  return lines, { title = self:title(), header = self:header(), status = status, readonly = self:readonly(),
                  filter = self.filter_text, hint = actions.hint(self), nav = actions.TABLE_NAV }
end

function L:key(k)
  if k == "Esc" then
    if self.filter_text and self.filter_text ~= "" then self:filter("") return true end
    return false
  end
  return self.t:key(k) or false
end

function L:filter(text)
  text = text or ""
  self.filter_text = text
  local spec = T.parse_filter(text)
  if text == "" and self.by_label then
    -- Esc (or an emptied line) after /-l: the list as it was before it
    local was = self.by_label
    self.selector, self.label, self.by_label = was.selector, was.label, nil
    self.t:set_filter(nil)
    self.t.empty = "Loading…"
    self:start()
    return true
  end
  if spec and spec.labels then
    -- -l app=x: the server filters (a new list and watch)
    self.by_label = self.by_label or { selector = self.selector, label = self.label }
    self.selector, self.label = spec.labels, "-l " .. spec.labels
    self.filter_text = nil
    self.t:set_filter(nil)
    self.t.empty = "Loading…"
    self:start()
    return true
  end
  local ok, err = self.t:set_filter(spec)
  if not ok then return nil, err end
  return true
end

function L:actions() return actions.list(self) end
function L:action(name) return actions.run(self, name) end
function L:command(words) return actions.command(self, words) end
function L:complete(text) return actions.complete(self, text) end

function L:close()
  self.closed = true
  if self.age_timer then pcall(vcli.cancel_timer, self.age_timer) end
  if self.prep_timer then pcall(vcli.cancel_timer, self.prep_timer) end
  if self.stream then pcall(self.stream.close, self.stream) end
end

return M
