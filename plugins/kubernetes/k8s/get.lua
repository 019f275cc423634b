-- k8s.get — `k8s get`: server-side Table columns, chunked lists printed as
-- they arrive, -o wide|json|yaml|name, -l, --field-selector, -A, --sort-by,
-- -w; every result cached, and answered from the cache when offline.
local util = require("k8s.util")
local printer = require("k8s.printer")
local discovery = require("k8s.discovery")
local watch = require("k8s.watch")
local jsonpath = require("k8s.jsonpath")

local M = {}
M.TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

local function age_text(at, now)
  return util.human_duration(now - at)
end

-- "offline — as of 3m ago"
function M.offline_note(env, at, err)
  return ("offline — as of %s ago (%s)\n"):format(age_text(at, env.time()), err)
end

local function selector_key(flags)
  return (flags.selector or "") .. "|" .. (flags["field-selector"] or "")
end

-- the column holding the object's name (rows without an object: includeObject=None)
local function name_col(tbl)
  local cds = tbl.columnDefinitions
  for i, cd in ipairs(type(cds) == "table" and cds or {}) do
    if cd.format == "name" or cd.name == "Name" then return i end
  end
  return 1
end

local function row_name(row, ncol, null)
  local md = type(row.object) == "table" and row.object.metadata
  if md and md.name then return md.name end
  return printer.cell_text((row.cells or {})[ncol], null)
end
M.row_name = row_name

local function min_rows(tbl, null)
  local rows = {}
  local ncol = name_col(tbl)
  for i, row in ipairs(type(tbl.rows) == "table" and tbl.rows or {}) do
    local c = {}
    for j, v in ipairs(row.cells or {}) do c[j] = printer.cell_text(v, null) end
    local md = type(row.object) == "table" and row.object.metadata or {}
    -- rv and g (generation): what a write queued offline records as the version the user saw
    rows[i] = { c = c, ns = md.namespace or tbl.namespace, name = md.name or c[ncol], ts = md.creationTimestamp,
                rv = md.resourceVersion, g = md.generation }
  end
  return rows
end

local function min_cols(tbl)
  local cols = {}
  for i, cd in ipairs(tbl.columnDefinitions or {}) do cols[i] = { name = cd.name, priority = cd.priority } end
  return cols
end

-- a Table rebuilt from cached rows, with ages recomputed for now
local function table_of_cached(ch, now)
  local age_col
  for i, cd in ipairs(ch.cols or {}) do if cd.name == "Age" then age_col = i end end
  local rows = {}
  for i, r in ipairs(type(ch.rows) == "table" and ch.rows or {}) do
    local cells = r.c
    if age_col and r.ts then cells[age_col] = printer.age(r.ts, now) end
    rows[i] = { cells = cells, object = { metadata = { namespace = r.ns, name = r.name } } }
  end
  return { columnDefinitions = ch.cols, rows = rows }
end

local function no_resources(ctx, ns)
  if ctx.flags and ctx.flags["ignore-not-found"] then return end   -- kubectl says nothing then
  if ns then ctx.err(("No resources found in %s namespace.\n"):format(ns))
  else ctx.err("No resources found\n") end
end

-- answer from the cache; returns true when it could
local function offline(sess, ctx, c, r, ns, flags, err, tp, names)
  local env = sess.env
  local at, it = sess.cache:list_reader(c.conn.context, ns, r.gv .. "/" .. r.name,
    names and ("names=" .. table.concat(names, ",")) or selector_key(flags))
  if not at then return false end
  ctx.err(M.offline_note(env, at, err))
  local now, n = env.time(), 0
  for ch in it do
    local tbl = table_of_cached(ch, now)
    n = n + #tbl.rows
    if flags.output == "name" then
      for _, row in ipairs(tbl.rows) do ctx.out(discovery.kind_prefix(r) .. "/" .. row.object.metadata.name .. "\n") end
    else
      tp:feed(tbl)
    end
  end
  tp:flush()
  if n == 0 then no_resources(ctx, ns) end
  return true
end

-- kubectl's words for a list the server refused (a bad selector, a type gone): the
-- resource and the selectors, then the server's message
local function list_error(err, r, flags)
  local reason, msg = tostring(err):match("^Error from server %((%a+)%): (.*)$")
  if reason ~= "BadRequest" and reason ~= "NotFound" then return err end
  local gvr = ("%s/%s, Resource=%s"):format(r.group or "", tostring(r.version or (r.gv or ""):match("([^/]+)$")), r.name)
  local ls, fs = flags.selector or "", flags["field-selector"] or ""
  if ls == "" and fs == "" then return ("Error from server (%s): Unable to list %q: %s"):format(reason, gvr, msg) end
  return ("Error from server (%s): Unable to find %q that match label selector %q, field selector %q: %s"):format(
    reason, gvr, ls, fs, msg)
end

-- a list chunk's body decoded (prepare: see chunks)
local function decode_chunk(env, body, path, prepare)
  if prepare then
    local obj = env.json.decode(prepare(body), path)
    if obj ~= nil then return obj end
  end
  return env.json.decode(body, path)
end

-- fetch chunks; the next request is already in flight while a chunk is decoded
-- (prepare(body) -> body: text to drop before decoding; cont0: resume a list
-- from that continue token)
local function chunks(sess, c, path, q, accept, on_chunk, prepare, cont0)
  local env = sess.env
  local function fetch(cont)
    q.continue = cont
    return c:request{ path = path .. util.query(q), accept = accept, timeout_ms = 120000 }
  end
  local pending = nil
  local res, err, kind = fetch(cont0)
  local first = not cont0
  while true do
    if not res then return nil, err, kind, first end
    local cont = res.body:sub(1, 4096):match('"continue":"([^"]*)"')
    if cont == "" then cont = nil end
    if cont and env.go then pending = env.go(fetch, cont) end
    local body = res.body
    res = nil -- luacheck: ignore 311 (drop the body before decoding the next)
    local obj, jerr = decode_chunk(env, body, path, prepare)
    body = nil -- luacheck: ignore 311
    if obj == nil then return nil, jerr, "http", first end
    on_chunk(obj)
    obj = nil -- luacheck: ignore 311
    if env.gc_step then env.gc_step() end
    first = false
    if not cont then return true end
    if pending then res, err, kind = pending.wait(); pending = nil
    else res, err, kind = fetch(cont) end
  end
end

-- managedFields out of a list body before it is decoded (they are most of a
-- row's metadata). Their fieldsV1 keys hold names and ports, never an
-- unbalanced bracket; a result that does not decode is decoded as it came.
-- (plain finds for the key and a bracket match from each: a gsub tries its
-- pattern at every byte, ~6× the time on a 1 MB chunk in a plugin's state)
function M.drop_managed_fields(body)
  local find, sub = string.find, string.sub
  local parts, n, pos = {}, 0, 1
  while true do
    local a, b = find(body, '"managedFields":[', pos, true)
    if not a then break end
    local _, e = find(body, "^%b[]", b)
    if not e then break end   -- unbalanced: the rest as it is
    local from, to = a, e     -- with the comma before it, else the one after
    if sub(body, a - 1, a - 1) == "," then from = a - 1
    elseif sub(body, e + 1, e + 1) == "," then to = e + 1 end
    n = n + 1
    parts[n] = sub(body, pos, from - 1)
    pos = to + 1
  end
  if n == 0 then return body end
  parts[n + 1] = sub(body, pos)
  return table.concat(parts)
end

-- `-A` of a long list. The first chunk comes cluster-wide with each row's
-- metadata (the NAMESPACE column); when the list goes on, the rest comes
-- namespace by namespace with the cells alone (includeObject=None): the
-- server's metadata conversion is most of its work on a list (about three
-- times the CPU of the cells), and without it the namespace is known from
-- the request. Several namespaces are in flight at once; rows are handed to
-- consume(tbl) in the cluster-wide order (etcd's: by "namespace/" then
-- name), so the output is the one a single list gives. tbl.namespace names
-- the namespace of rows without an object. Falls back to the cluster-wide
-- chunks when namespaces cannot be listed (RBAC) or are too many.
M.FANOUT = 3           -- namespaces in flight
M.CELLS_CHUNK_FACTOR = 8
-- the -o formats that need whole objects (the others print the server's Table)
M.OBJECT_OUTPUTS = { json = true, yaml = true, jsonpath = true, ["custom-columns"] = true }
-- bytes of objects a whole-list -o json|yaml keeps for offline answers; a
-- longer list is not kept (its table rows still are)
M.OFFLINE_OBJECTS_MAX = 32 * 1024 * 1024
M.FANOUT_MAX_NS = 200  -- more namespaces than this: one request each costs more than it saves
local function list_by_namespace(sess, c, r, q, consume, prepare)
  local env = sess.env
  local path = discovery.path(r, nil)
  local res, err, kind = c:request{ path = path .. util.query(q), accept = M.TABLE_ACCEPT, timeout_ms = 120000 }
  if not res then return nil, err, kind, true end
  local cont = res.body:sub(1, 4096):match('"continue":"([^"]*)"')
  local first, jerr = decode_chunk(env, res.body, path, prepare)
  res = nil -- luacheck: ignore 311
  if first == nil then return nil, jerr, "http", true end
  local rows = type(first.rows) == "table" and first.rows or {}
  local last = rows[#rows]
  local lmd = last and type(last.object) == "table" and last.object.metadata
  consume(first)
  if not cont or cont == "" then return true end
  first = nil -- luacheck: ignore 311
  local nsl = lmd and lmd.namespace and c:request{ path = "/api/v1/namespaces" .. util.query({ includeObject = "None" }),
    accept = M.TABLE_ACCEPT, timeout_ms = 60000 }
  local names = {}
  local ntbl = nsl and env.json.decode(nsl.body)
  if type(ntbl) == "table" and ntbl.kind == "Table" then
    local ncol = name_col(ntbl)
    local from = lmd.namespace .. "/"
    for _, row in ipairs(type(ntbl.rows) == "table" and ntbl.rows or {}) do
      local n = row_name(row, ncol, env.json.null)
      if type(n) == "string" and n .. "/" >= from then names[#names + 1] = n end
    end
    table.sort(names, function(a, b) return a .. "/" < b .. "/" end)
  end
  if #names == 0 or #names > M.FANOUT_MAX_NS then
    local ok, e2, k2 = chunks(sess, c, path, q, M.TABLE_ACCEPT, consume, prepare, cont)
    return ok, e2, k2, false
  end
  local lns, lname = lmd.namespace, lmd.name
  local bufs, done, cur, nexti, failed = {}, {}, 1, 1, nil
  local function deliver(i, tbl)
    if i == cur then consume(tbl) else
      local b = bufs[i] or {}
      bufs[i] = b
      b[#b + 1] = tbl
    end
  end
  local function advance()
    while done[cur] do
      cur = cur + 1
      local b = bufs[cur]
      bufs[cur] = nil
      for _, t in ipairs(b or {}) do consume(t) end
    end
  end
  local function worker()
    while not failed and nexti <= #names do
      local i = nexti
      nexti = i + 1
      local ns = names[i]
      local nq = {}
      for k, v in pairs(q) do nq[k] = v end
      nq.includeObject, nq.continue = "None", nil
      -- a row of cells alone is a small fraction of a row with metadata
      -- (pods: ~150 bytes against ~2.7 KB): requests take more rows each
      if nq.limit then nq.limit = nq.limit * M.CELLS_CHUNK_FACTOR end
      local ok, e, k = chunks(sess, c, discovery.path(r, ns), nq, M.TABLE_ACCEPT, function(tbl)
        tbl.namespace = ns
        if ns == lns then -- the rows the first chunk already had
          local ncol, keep = name_col(tbl), {}
          for _, row in ipairs(type(tbl.rows) == "table" and tbl.rows or {}) do
            if row_name(row, ncol, env.json.null) > lname then keep[#keep + 1] = row end
          end
          tbl.rows = keep
        end
        deliver(i, tbl)
      end)
      if not ok then failed = failed or { e, k } return end
      done[i] = true
      advance()
    end
  end
  local tasks = {}
  for w = 1, math.min(M.FANOUT, #names) do tasks[w] = env.go(worker) end
  for _, t in ipairs(tasks) do t.wait() end
  if failed then return nil, failed[1], failed[2], false end
  return true
end

-- kubectl's --sort-by: items ordered by the value a JSONPath finds in each
-- (obj_of(item): the object; missing values first, numbers as numbers),
-- equal values in the order listed
function M.sorted_by(items, path, null, obj_of)
  local keyed = {}
  for i, it in ipairs(items) do
    local v = jsonpath.eval(path, obj_of and obj_of(it) or it, null)[1]
    if v == null then v = nil end
    keyed[i] = { it = it, v = v, i = i }
  end
  table.sort(keyed, function(a, b)
    local x, y = a.v, b.v
    if x == nil or y == nil then if x == y then return a.i < b.i end return x == nil end
    if type(x) == "number" and type(y) == "number" then if x ~= y then return x < y end return a.i < b.i end
    local tx, ty = type(x) == "table" and "" or tostring(x), type(y) == "table" and "" or tostring(y)
    if tx ~= ty then return tx < ty end
    return a.i < b.i
  end)
  local out = {}
  for i, k in ipairs(keyed) do out[i] = k.it end
  return out
end

local function table_get(sess, ctx, c, r, ns, flags, names, multi)
  local env = sess.env
  local null = env.json.null
  local out_name = flags.output == "name"
  local tp = printer.table_printer({ out = ctx.out, wide = flags.output == "wide", no_headers = flags["no-headers"],
    namespace = flags["all-namespaces"] and r.namespaced, null = null,
    -- a terminal sees rows as chunks arrive; otherwise the widths are those
    -- of the whole list, byte for byte kubectl's
    buffer = not ctx.interactive,
    name_prefix = (multi or flags["show-kind"]) and (discovery.kind_prefix(r) .. "/") or nil })
  local sel = names and ("names=" .. table.concat(names, ",")) or selector_key(flags)
  local writer = sess.cache:list_writer(c.conn.context, ns, r.gv .. "/" .. r.name, sel)
  local total, list_rv = 0, nil
  local sort_rows = flags["sort-by"] and {}
  -- -L KEY (a column per label: the key's last segment, upper case) and
  -- --show-labels (LABELS: k=v,… by key, or <none>), after the other columns
  local label_keys = {}
  for _, l in ipairs(flags["label-columns"] or {}) do
    for k in l:gmatch("[^,]+") do label_keys[#label_keys + 1] = k end
  end
  local need_labels = #label_keys > 0 or flags["show-labels"]
  local function decorate(tbl)
    if not need_labels or tbl.decorated then return end
    tbl.decorated = true
    local cds = tbl.columnDefinitions or {}
    if #cds > 0 then
      for _, k in ipairs(label_keys) do cds[#cds + 1] = { name = k:match("([^/]*)$"), priority = 0 } end
      if flags["show-labels"] then cds[#cds + 1] = { name = "Labels", priority = 0 } end
      tbl.columnDefinitions = cds
    end
    for _, row in ipairs(type(tbl.rows) == "table" and tbl.rows or {}) do
      local md = type(row.object) == "table" and row.object.metadata or {}
      local labels = type(md.labels) == "table" and md.labels or {}
      local cells = row.cells or {}
      for _, k in ipairs(label_keys) do cells[#cells + 1] = labels[k] or "" end
      if flags["show-labels"] then
        local keys = {}
        for k in pairs(labels) do keys[#keys + 1] = k end
        table.sort(keys)
        for i, k in ipairs(keys) do keys[i] = k .. "=" .. tostring(labels[k]) end
        cells[#cells + 1] = #keys > 0 and table.concat(keys, ",") or "<none>"
      end
      row.cells = cells
    end
  end
  -- --output-watch-events: an EVENT column first (ADDED for the list's rows)
  local events = flags.watch and flags["output-watch-events"]
  local function with_event(tbl, evtype)
    if not events or tbl.evented then return end
    tbl.evented = true
    -- a watch event's Table has no column definitions after the first
    if type(tbl.columnDefinitions) == "table" then
      local cds = { { name = "Event", type = "string", priority = 0 } }
      for _, cd in ipairs(tbl.columnDefinitions) do cds[#cds + 1] = cd end
      tbl.columnDefinitions = cds
    end
    for _, row in ipairs(type(tbl.rows) == "table" and tbl.rows or {}) do
      row.cells = row.cells or {}
      table.insert(row.cells, 1, evtype)
    end
  end
  -- rows as printed: the table, or kind/name lines for -o name
  local cds_seen   -- a watch event's Table has no column definitions after the first
  local function show(tbl, evtype)
    decorate(tbl)
    with_event(tbl, evtype or "ADDED")
    if type(tbl.columnDefinitions) == "table" then cds_seen = tbl.columnDefinitions end
    if out_name then
      local buf = {}
      local ncol = name_col({ columnDefinitions = cds_seen })
      local ev = events and ((evtype or "ADDED") .. " ") or ""
      for i, row in ipairs(type(tbl.rows) == "table" and tbl.rows or {}) do
        buf[i] = ev .. discovery.kind_prefix(r) .. "/" .. row_name(row, ncol, null)
      end
      if #buf > 0 then ctx.out(table.concat(buf, "\n") .. "\n") end
    else
      tp:feed(tbl)
    end
  end
  local function consume(tbl)
    if tbl.kind ~= "Table" then error("the server did not answer a Table for " .. r.name, 0) end
    -- an empty list of some types comes as "rows": null
    if type(tbl.rows) ~= "table" then tbl.rows = {} end
    decorate(tbl)
    list_rv = list_rv or (tbl.metadata and tbl.metadata.resourceVersion)
    total = total + #(type(tbl.rows) == "table" and tbl.rows or {})
    writer:chunk(min_cols(tbl), min_rows(tbl, null))
    if sort_rows then
      tp:rows_of(tbl)
      for _, row in ipairs(type(tbl.rows) == "table" and tbl.rows or {}) do sort_rows[#sort_rows + 1] = row end
      sort_rows.cols = sort_rows.cols or tbl.columnDefinitions
    elseif flags["watch-only"] then
      -- (--watch-only: the list gives the watch its start, nothing is printed of it)
      if type(tbl.columnDefinitions) == "table" then cds_seen = tbl.columnDefinitions end
    else
      show(tbl)
    end
  end
  -- Rows carry no object unless a feature needs it: --sort-by reads any
  -- field (Object); the NAMESPACE column of -A needs the namespace
  -- (Metadata, its managedFields dropped before decoding). Otherwise the
  -- cells are all (None): a fraction of the bytes and of the memory.
  local need_ns = flags["all-namespaces"] and r.namespaced
  local q = { labelSelector = flags.selector, fieldSelector = flags["field-selector"],
              includeObject = sort_rows and "Object" or (need_ns or need_labels) and "Metadata" or "None" }
  local prepare = (q.includeObject == "Metadata") and M.drop_managed_fields or nil
  local failed
  if names then
    for _, name in ipairs(names) do
      local res, err, kind, code = c:request{ path = discovery.path(r, ns, name) .. util.query({ includeObject = q.includeObject }),
        accept = M.TABLE_ACCEPT, timeout_ms = 60000 }
      if not res and code == 404 and flags["ignore-not-found"] then   -- luacheck: ignore 542
        -- (--ignore-not-found: nothing said)
      elseif not res and kind == "http" and #names > 1 then
        -- as kubectl: the objects found are printed, the errors after them
        failed = failed and (failed .. "\n" .. err) or err
      elseif not res then
        if kind == "network" and offline(sess, ctx, c, r, ns, flags, err, tp, names) then return 0 end
        error(err, 0)
      else
        consume(assert(env.json.decode(res.body)))
      end
    end
  else
    q.limit = sess:chunk_size(c.conn, flags)
    local ok, err, kind, first
    if q.includeObject == "Metadata" and not ns and not flags.watch and not need_labels then
      ok, err, kind, first = list_by_namespace(sess, c, r, q, consume, prepare)
    else
      ok, err, kind, first = chunks(sess, c, discovery.path(r, ns), q, M.TABLE_ACCEPT, consume, prepare)
    end
    if not ok then
      if kind == "network" and first and offline(sess, ctx, c, r, ns, flags, err, tp) then return 0 end
      error(list_error(err, r, flags), 0)
    end
  end
  writer:done()
  if sort_rows then
    local rows = M.sorted_by(sort_rows, flags["sort-by"], null, function(row) return row.object end)
    if out_name then
      local ncol = name_col({ columnDefinitions = sort_rows.cols })
      for _, row in ipairs(rows) do ctx.out(discovery.kind_prefix(r) .. "/" .. row_name(row, ncol, null) .. "\n") end
    else
      tp:feed({ columnDefinitions = sort_rows.cols, rows = rows })
    end
  end
  tp:flush()
  if failed then error(failed, 0) end
  -- (-o name of one type, as kubectl: nothing at all; of several, kubectl's line once)
  if total == 0 and not names and not flags.watch and not multi and not out_name then
    no_resources(ctx, r.namespaced and ns or nil)
  end
  if flags.watch then
    local deadline = flags["watch-timeout"] and (env.now() + flags["watch-timeout"] * 1000)
    local path = discovery.path(r, ns, nil)
    local wq = { labelSelector = flags.selector, fieldSelector = flags["field-selector"] }
    if names and #names == 1 then wq.fieldSelector = "metadata.name=" .. names[1] end
    watch.run(env, c, { path = path, query = wq, accept = M.TABLE_ACCEPT, rv = list_rv,
      deadline = deadline,
      on_state = function(msg) ctx.err(msg .. "\n") end,
      relist = function()
        local tbl = c:get_json(path .. util.query({ labelSelector = wq.labelSelector, fieldSelector = wq.fieldSelector }), M.TABLE_ACCEPT)
        if not tbl then return nil end
        show(tbl)
        return tbl.metadata and tbl.metadata.resourceVersion
      end,
      on_event = function(evtype, obj) if obj.kind == "Table" then show(obj, evtype) end end })
  end
  return 0
end

-- How whole objects are written, by -o:
--   json, yaml        a list streams out item by item inside kubectl's List
--                     framing (never the whole list in memory); one object alone
--   jsonpath=T        the template over the List (kept whole: a template may
--                     address any item) or over the one object; no newline added
--   custom-columns=S  HEADER:PATH,… one row per object, aligned as get's tables
-- w:items(list) for each chunk of a list, w:list_end(); w:objects(objs, as_list)
-- for named ones (as_list: several were asked for, so a List even of one, as kubectl);
-- w:one(obj) for each object of a -w (the list's items, then every change).
-- w.r is the type being written (several types share one writer: one List).
local function object_writer(env, ctx, r, flags)
  local fmt, arg = M.output_format(flags.output)
  local null = env.json.null
  local w = { n = 0, r = r }
  local function fill(item)
    if not flags["show-managed-fields"] and type(item.metadata) == "table" then item.metadata.managedFields = nil end
    item.apiVersion = item.apiVersion or w.r.gv
    item.kind = item.kind or w.r.kind
  end
  local function list_of(items)
    if getmetatable(items) == nil then setmetatable(items, env.json.array_mt) end   -- [] when empty
    return { apiVersion = "v1", kind = "List", items = items, metadata = { resourceVersion = "" } }
  end
  if fmt == "json" or fmt == "yaml" then
    local enc = printer.json_encoder(env.jsonfmt, env.json.array_mt)
    local function one(obj) return fmt == "json" and (enc(obj) .. "\n") or env.yaml.encode(obj) end
    function w.items(_, items)
      local buf = {}
      if w.n == 0 and not w.started then
        buf[1] = fmt == "json" and '{\n    "apiVersion": "v1",\n    "items": [' or "apiVersion: v1\nitems:"
      end
      w.started = true
      local size = 0
      for _, item in ipairs(items) do
        fill(item)
        local text
        if fmt == "json" then
          text = (w.n == 0 and "\n        " or ",\n        ") .. enc(item, "        ")
        else
          local y = env.yaml.encode(item)
          text = "\n- " .. y:gsub("\n(.)", "\n  %1"):gsub("\n$", "")
        end
        buf[#buf + 1] = text
        size = size + #text
        w.n = w.n + 1
        -- out in pieces: a chunk may be a whole list (--chunk-size 0)
        if size >= 262144 then ctx.out(table.concat(buf)); buf, size = {}, 0 end
      end
      if #buf > 0 then ctx.out(table.concat(buf)) end
    end
    function w.list_end()
      if not w.started then w:items({}) end
      if fmt == "json" then
        ctx.out((w.n == 0 and "]" or "\n    ]") .. ',\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n')
      else
        ctx.out((w.n == 0 and " []" or "") .. '\nkind: List\nmetadata:\n  resourceVersion: ""\n')
      end
    end
    function w.objects(_, objs, as_list)
      if as_list then ctx.out(one(list_of(objs))) else ctx.out(one(objs[1])) end
    end
    function w.cut() if w.started then ctx.out("\n") end end
    -- -w: each object alone, as it comes (YAML documents separated by ---)
    function w.one(_, obj, evtype)
      fill(obj)
      if evtype then obj = { type = evtype, object = obj } end
      if fmt == "yaml" and w.n > 0 then ctx.out("---\n") end
      w.n = w.n + 1
      ctx.out(one(obj))
    end
  elseif fmt == "jsonpath" then
    local tpl = jsonpath.parse(arg)
    local function compact(v) return (env.jsonfmt.encode(v, "", env.json.array_mt, true)) end
    local kept = {}
    function w.items(_, items) for _, item in ipairs(items) do fill(item); kept[#kept + 1] = item end end
    function w.list_end() ctx.out(jsonpath.execute(tpl, list_of(kept), null, compact)) end
    function w.objects(_, objs, as_list)
      ctx.out(jsonpath.execute(tpl, as_list and list_of(objs) or objs[1], null, compact))
    end
    function w.cut() end
    function w.one(_, obj, evtype)
      fill(obj)
      if evtype then obj = { type = evtype, object = obj } end
      ctx.out(jsonpath.execute(tpl, obj, null, compact))
    end
  else -- custom-columns
    local cols = M.custom_columns(arg)
    local defs = {}
    for i, col in ipairs(cols) do defs[i] = { name = col.header, priority = 0 } end
    local tp = printer.table_printer({ out = ctx.out, null = null, keep_case = true, no_headers = flags["no-headers"],
      buffer = not ctx.interactive })
    local function compact(v) return (env.jsonfmt.encode(v, "", env.json.array_mt, true)) end
    function w.items(_, items)
      local rows = {}
      for i, item in ipairs(items) do
        fill(item)
        local cells = {}
        for k, col in ipairs(cols) do
          local vals = jsonpath.eval(col.path, item, null)
          local parts = {}
          for n, v in ipairs(vals) do parts[n] = jsonpath.text(v, null, compact) end
          cells[k] = #parts > 0 and table.concat(parts, ",") or "<none>"
        end
        rows[i] = { cells = cells }
      end
      w.n = w.n + #rows
      tp:feed({ columnDefinitions = defs, rows = rows })
    end
    function w.list_end() tp:flush() end
    function w.objects(_, objs) w:items(objs); tp:flush() end
    function w.cut() tp:flush() end
    function w.one(_, obj, evtype)
      tp:flush()
      if evtype then fill(obj); obj = { type = evtype, object = obj } end
      w:items({ obj })
    end
  end
  return w
end

-- -o VALUE -> "json"|"yaml"|"jsonpath"|"custom-columns"|…, its argument
function M.output_format(o)
  local f, arg = (o or ""):match("^([%w-]+)=(.*)$")
  return f or o, arg
end

-- custom-columns=NAME:PATH,… (PATH as kubectl relaxes it: {.a.b}, .a.b or a.b)
function M.custom_columns(spec)
  local cols = {}
  for part in (spec .. ","):gmatch("([^,]*),") do
    local h, path = part:match("^([^:]*):(.*)$")
    if not h or h == "" or path == "" then
      error(("error: unexpected custom-columns spec: %s, expected <header>:<json-path-expr>"):format(part), 0)
    end
    path = path:gsub("^{", ""):gsub("}$", "")
    if not path:match("^[%.%[$@]") then path = "." .. path end
    cols[#cols + 1] = { header = h, path = path }
    jsonpath.eval(path, {}, nil) -- parse errors now, not on the first row
  end
  if #cols == 0 then error("error: custom-columns format specified but no custom columns given", 0) end
  return cols
end

-- -w with whole objects: the list's objects one by one, then each change's
-- object, as kubectl prints them (the watch resumes after dropped streams)
local function object_watch(sess, ctx, c, r, ns, flags, names, w)
  local env = sess.env
  -- --output-watch-events: each object as {type, object}, the list's as ADDED
  local events = flags["output-watch-events"] and "ADDED" or nil
  local path = discovery.path(r, ns, nil)
  local q = { labelSelector = flags.selector, fieldSelector = flags["field-selector"] }
  if names and #names == 1 then q.fieldSelector = "metadata.name=" .. names[1] end
  local function list_all()
    local rv
    local lq = { limit = sess:chunk_size(c.conn, flags) }
    for k, v in pairs(q) do lq[k] = v end
    local ok, err = chunks(sess, c, path, lq, "application/json", function(list)
      rv = rv or (list.metadata and list.metadata.resourceVersion)
      if flags["watch-only"] then return end   -- the watch's start, not printed
      for _, item in ipairs(list.items or {}) do w:one(item, events) end
    end, not flags["show-managed-fields"] and M.drop_managed_fields or nil)
    if not ok then error(err, 0) end
    return rv
  end
  local rv = list_all()
  watch.run(env, c, { path = path, query = q, accept = "application/json", rv = rv,
    deadline = flags["watch-timeout"] and (env.now() + flags["watch-timeout"] * 1000),
    on_state = function(msg) ctx.err(msg .. "\n") end,
    relist = list_all,
    on_event = function(evtype, obj)
      if type(obj) == "table" and obj.kind ~= "Status" then
        if not flags["show-managed-fields"] and type(obj.metadata) == "table" then obj.metadata.managedFields = nil end
        w:one(obj, events and evtype)
      end
    end })
  w.cut()
  return 0
end

-- whole objects (-o json|yaml|jsonpath|custom-columns): a list streamed out
-- chunk by chunk; named objects one request each; both answered from the
-- cache when the cluster is unreachable
-- shared: the writer of several types (kubectl prints them as one List):
-- this type's objects are added to it, and the caller ends the list.
local function object_get(sess, ctx, c, r, ns, flags, names, shared)
  local env = sess.env
  local w = shared or object_writer(env, ctx, r, flags)
  w.r = r
  if flags.watch then return object_watch(sess, ctx, c, r, ns, flags, names, w) end
  if flags["sort-by"] then
    -- the whole list, sorted, then written
    local inner, all = w, {}
    w = { items = function(_, items) for _, it in ipairs(items) do all[#all + 1] = it end end, cut = inner.cut,
          objects = function(_, objs, as_list) inner:objects(M.sorted_by(objs, flags["sort-by"], env.json.null), as_list) end,
          list_end = function() inner:items(M.sorted_by(all, flags["sort-by"], env.json.null)); inner.list_end() end }
  end
  local res_key = r.gv .. "/" .. r.name
  if names then
    local objs, failed = {}, nil
    for _, name in ipairs(names) do
      local p = discovery.path(r, ns, name)
      local res, err, kind, code = c:request{ path = p, accept = "application/json", timeout_ms = 60000 }
      local obj
      if not res and code == 404 and flags["ignore-not-found"] then   -- luacheck: ignore 542
        -- (--ignore-not-found: nothing said)
      elseif not res and kind == "http" and #names > 1 then
        -- as kubectl: the objects found are printed, the errors after them
        failed = failed and (failed .. "\n" .. err) or err
      elseif res then
        obj = env.json.decode(res.body)
        if not flags["show-managed-fields"] and type(obj.metadata) == "table" then obj.metadata.managedFields = nil end
        sess.cache:put_object(c.conn.context, ns, res_key, name, env.json.encode(obj))
      else
        local at, text
        if kind == "network" then at, text = sess.cache:get_object(c.conn.context, ns, res_key, name) end
        obj = at and env.json.decode(text)
        if not obj then error(err, 0) end
        ctx.err(M.offline_note(env, at, err))
      end
      if obj then objs[#objs + 1] = obj end
    end
    if shared then w:items(objs)
    elseif #objs > 0 then w:objects(objs, #names > 1) end
    if failed then error(failed, 0) end
    return 0
  end
  local q = { labelSelector = flags.selector, fieldSelector = flags["field-selector"],
              limit = sess:chunk_size(c.conn, flags) }
  -- the items (managedFields dropped) kept chunk by chunk for offline answers
  local writer = sess.cache:list_writer(c.conn.context, ns, res_key, "objects|" .. selector_key(flags))
  local kept, first = 0, true
  local ok, err, kind = chunks(sess, c, discovery.path(r, ns), q, "application/json", function(list)
    first = false
    w:items(list.items or {})
    if not flags["show-managed-fields"] and kept <= M.OFFLINE_OBJECTS_MAX then
      local text = env.json.encode(list.items or {})
      kept = kept + #text
      if kept > M.OFFLINE_OBJECTS_MAX then writer:abandon() else writer:text(text) end
    end
  end, not flags["show-managed-fields"] and M.drop_managed_fields or nil)
  if not ok then
    local at, it = nil, nil
    if first and kind == "network" then
      at, it = sess.cache:list_reader(c.conn.context, ns, res_key, "objects|" .. selector_key(flags), true)
    end
    if not at then
      -- as kubectl: a list refused before anything came is printed empty, then the error
      local f0 = M.output_format(flags.output)
      if not shared and not w.started and (f0 == "json" or f0 == "yaml" or f0 == "jsonpath") then w.list_end()
      elseif not shared then w.cut() end
      error(list_error(err, r, flags), 0)
    end
    ctx.err(M.offline_note(env, at, err))
    for text in it do
      local items = env.json.decode(text)
      if type(items) == "table" then w:items(items) end
    end
  else
    writer:done()
  end
  if not shared then w.list_end() end
  return 0
end

-- run(sess, ctx): ctx.args.type, ctx.args.names, ctx.flags
-- kubectl's -o values; go-template and friends are kubectl's own (the bridge runs them)
M.OUTPUTS = { "wide", "json", "yaml", "name", "jsonpath=", "custom-columns=" }
local KUBECTL_OUTPUTS = { ["go-template"] = true, ["go-template-file"] = true, template = true, templatefile = true,
  ["jsonpath-file"] = true, ["jsonpath-as-json"] = true, ["custom-columns-file"] = true }
local function check_output(o)
  if o == nil then return end
  local f, arg = M.output_format(o)
  if f == "wide" or f == "json" or f == "yaml" or f == "name" then if not arg then return end
  elseif (f == "jsonpath" or f == "custom-columns") and arg and arg ~= "" then
    if f == "jsonpath" then jsonpath.parse(arg) else M.custom_columns(arg) end
    return
  elseif KUBECTL_OUTPUTS[f] then return "kubectl" end
  -- kubectl's words and list (the template and -file formats are kubectl's own: vcli hands them to it)
  error(("error: unable to match a printer suitable for the output format %q, allowed formats are: "
    .. "custom-columns,custom-columns-file,go-template,go-template-file,json,jsonpath,jsonpath-as-json,jsonpath-file,"
    .. "name,template,templatefile,wide,yaml"):format(o), 0)
end

-- --raw PATH: the server's answer to GET PATH, as it is
local function raw_get(sess, ctx, flags)
  if ctx.args.type then error("error: arguments may not be passed when --raw is specified", 0) end
  local c = sess:client(flags)
  local path = flags.raw
  if not path:find("^/") then error(("error: --raw must be a URL path starting with /, not %q"):format(path), 0) end
  local res, err = c:request{ path = path, accept = "application/json, */*", timeout_ms = 60000 }
  if not res then error(err, 0) end
  ctx.out(res.body or "")
  return 0
end

-- get's flags (its spec in k8s.commands; the words handed to kubectl for its own formats)
M.FLAGS = {
  { name = "output", short = "o", type = "string", metavar = "FORMAT", complete = function() return M.OUTPUTS end,
    help = "wide|json|yaml|name|jsonpath=TEMPLATE|custom-columns=SPEC" },
  { name = "selector", short = "l", type = "string", metavar = "SELECTOR", help = "label selector (app=web,tier!=db)" },
  { name = "field-selector", type = "string", metavar = "SELECTOR", help = "field selector (status.phase=Running)" },
  { name = "sort-by", type = "string", metavar = "JSONPATH", help = "sort rows, e.g. .metadata.creationTimestamp" },
  { name = "watch", short = "w", type = "bool", help = "keep printing changes" },
  { name = "watch-only", type = "bool", help = "only the changes, not the list first" },
  { name = "watch-timeout", type = "duration", help = "stop watching after this long" },
  { name = "output-watch-events", type = "bool",
    help = "with -w: each change's type (ADDED, MODIFIED, DELETED) as kubectl prints it" },
  { name = "no-headers", type = "bool", help = "no header line" },
  { name = "show-labels", type = "bool", help = "a LABELS column" },
  { name = "label-columns", short = "L", type = "list", metavar = "KEY", help = "a column for this label (repeatable; KEY1,KEY2)" },
  { name = "show-managed-fields", type = "bool", help = "keep metadata.managedFields in -o json|yaml" },
  { name = "show-kind", type = "bool", help = "TYPE/NAME in the NAME column (as with several types)" },
  { name = "ignore-not-found", type = "bool", help = "say nothing of names that do not exist (and of an empty list)" },
  { name = "raw", type = "string", metavar = "PATH", help = "GET this URL path of the server and print its answer as it is" },
  { name = "template", type = "string", metavar = "TEMPLATE",
    help = "with -o template|go-template: the Go template (through kubectl)" },
  { name = "chunk-size", type = "int", min = 0, metavar = "N",
    help = "objects per list request (default: the cluster's resources.pageSize, 500; 0: one request)" },
}

function M.run(sess, ctx)
  local flags = ctx.flags
  if flags["watch-only"] then flags.watch = true end
  if flags.raw then return raw_get(sess, ctx, flags) end
  if not ctx.args.type then
    error('error: you must specify the type of resource to get. Use "k8s api-resources" for a complete list of'
      .. " supported resources.", 0)
  end
  if check_output(flags.output) == "kubectl" then
    -- kubectl's own formats: the whole command through the bridge, same context and namespace
    -- (every flag of get as given: they are kubectl's, but --watch-timeout)
    local args = { "get", ctx.args.type }
    for _, n in ipairs(ctx.args.names or {}) do args[#args + 1] = n end
    for _, fl in ipairs(M.FLAGS) do
      local v = flags[fl.name]
      if fl.name == "watch-timeout" then v = nil end
      if type(v) == "table" then for _, x in ipairs(v) do args[#args + 1] = ("--%s=%s"):format(fl.name, tostring(x)) end
      elseif v == true then args[#args + 1] = "--" .. fl.name
      elseif v ~= nil and v ~= false then args[#args + 1] = ("--%s=%s"):format(fl.name, tostring(v)) end
    end
    if flags["all-namespaces"] then args[#args + 1] = "--all-namespaces" end
    return require("k8s.verbs").delegate(sess, ctx, args, "get")
  end
  local c, conn = sess:client(flags)
  local disco = sess:discovery(c)
  local types, names = {}, {}
  local tword = ctx.args.type
  local slash_items = {}
  if tword:find("/") then
    for _, item in ipairs(ctx.args.names and { tword, unpack(ctx.args.names) } or { tword }) do
      local t, n = item:match("^([^/]+)/(.+)$")
      if not t then
        error("error: there is no need to specify a resource type as a separate argument"
          .. " when passing arguments in resource/name form", 0)
      end
      slash_items[#slash_items + 1] = { t, n }
    end
  else
    -- a category ("all") stands for its resources, as kubectl expands it
    for t in tword:gmatch("[^,]+") do
      local cat = disco:category(t:lower())
      if #cat > 0 then for _, r in ipairs(cat) do types[#types + 1] = r end
      else types[#types + 1] = t end
    end
    names = ctx.args.names or {}
  end
  local ns = (not flags["all-namespaces"]) and conn.namespace or nil
  local status = 0
  local multi = #slash_items > 1 or #types > 1
  -- several tables: a blank line between those that print something; kubectl
  -- says "No resources found" once, when none did
  local printed = false
  -- whole objects of several types: one List of them all, as kubectl prints it
  local objects = M.OBJECT_OUTPUTS[M.output_format(flags.output)]
  local shared = multi and objects and not flags.watch and object_writer(sess.env, ctx, nil, flags) or nil
  local function one(r, nm)
    local rns = r.namespaced and ns or nil
    if objects then
      return object_get(sess, ctx, c, r, rns, flags, nm, shared)
    end
    local sub = ctx
    if multi then
      local started = false
      sub = setmetatable({ out = function(s)
        if not started then
          started = true
          if printed and flags.output ~= "name" then ctx.out("\n") end
          printed = true
        end
        ctx.out(s)
      end }, { __index = ctx })
    end
    return table_get(sess, sub, c, r, rns, flags, nm, multi)
  end
  -- every type resolved before anything is asked for (an unknown one: nothing printed, as kubectl)
  local function resolved(t)
    if type(t) ~= "string" then return t end
    local r, err = disco:resolve(t)
    if not r then error(err, 0) end
    return r
  end
  local work = {}
  if #slash_items > 0 then
    for _, it in ipairs(slash_items) do work[#work + 1] = { resolved(it[1]), { it[2] } } end
  else
    for _, t in ipairs(types) do work[#work + 1] = { resolved(t), #names > 0 and names or nil } end
  end
  -- several types: each one's failure is said after what the others printed (kubectl goes on)
  local errs = {}
  for _, job in ipairs(work) do
    if multi then
      local ok, st = pcall(one, job[1], job[2])
      if ok then status = st or status
      elseif tostring(st) == "interrupted" then error(st, 0)
      else errs[#errs + 1] = tostring(st) end
    else
      status = one(job[1], job[2]) or status
    end
  end
  if shared then shared.list_end() end
  if multi and not printed and #names == 0 and #errs == 0 and not flags.watch and not objects then
    no_resources(ctx, ns)
  end
  if #errs > 0 then error(table.concat(errs, "\n"), 0) end
  -- a stale discovery cache is refreshed after the answer, off the command's time
  local function refresh() pcall(disco.refresh_if_stale, disco) end
  if sess.env.background then sess.env.background(refresh) else refresh() end
  return status
end

return M
