-- k8s.ui.detail — the browser's views of one object: describe and YAML
-- (live: they refresh when the object changes, the scroll position kept),
-- a pod's containers, and logs (one container, all of a pod's, or every pod
-- of a workload interleaved with a pod/container prefix; follow, since,
-- wrap, timestamps, filter and search over everything kept in a ring
-- bounded in bytes: ui.logBufferMB, default 4).
local TextW = require("vcli.tui.text")
local LogW = require("vcli.tui.logview")
local T = require("vcli.tui.table")
local util = require("k8s.util")
local discovery = require("k8s.discovery")
local watch = require("k8s.watch")

local M = {}

local function setting(key)
  if not vcli.config then return nil end
  local ok, v = pcall(vcli.config.get, key)
  if ok then return v end
end

local function flags_of(args)
  return { context = args.context, namespace = args.namespace or nil, readonly = args.readonly or nil }
end

local function dirty(v) pcall(vcli.tui.dirty, v.id) end

-- the browser's header (k8s.ui.actions.header), once the view has its connection
local function header(v, namespace)
  if not v.conn then return nil end
  return require("k8s.ui.actions").header(v.sess, v.env, v.conn, { namespace = namespace or v.conn.namespace })
end

-- `:` in a view of one object (describe, logs, containers, :pf): the
-- browser's commands, as its lists take them; a `:pf` trail has no list under it
local function command(v, words)
  local a = v.args or {}
  local as_list = { sess = v.sess, context = a.context, ns = a.namespace, readonly_flag = a.readonly,
                    flags = function() return flags_of(a) end }
  return require("k8s.ui.actions").command(as_list, words)
end

-- the widget asked for a line (a search): hand the prompt to the host, keep the callback
local function input_request(v, w)
  local wi = w.wants_input
  if not wi then return nil end
  w.wants_input = nil
  v.on_submit = wi.on_submit
  return { input = { prompt = wi.prompt or "/", text = wi.text } }
end

local function widget_key(v, w, k)
  if type(k) == "table" and k.submit then
    if v.on_submit then local f = v.on_submit; v.on_submit = nil; f(k.submit) end
    return true
  end
  local handled = w:key(k)
  return input_request(v, w) or handled or false
end

-- ------------------------------------------------------------------ text
local TV = {}
TV.__index = TV

function M.text(ctx, args)
  local v = setmetatable({ sess = ctx.sess, env = ctx.env, id = ctx.id, args = args, gen = 1 }, TV)
  v.w = TextW.new({ text = "Loading…", syntax = args.mode == "yaml" and "yaml" or nil })
  vcli.timer(0, function() v:run() end)
  return v
end

function TV:render(c, r, obj)
  local env = self.env
  if self.args.mode == "yaml" then
    if type(obj.metadata) == "table" then obj.metadata.managedFields = nil end
    return env.yaml.encode(obj)
  end
  obj.apiVersion = obj.apiVersion or r.gv
  obj.kind = obj.kind or r.kind
  return require("k8s.describe").describe({ env = env, c = c, obj = obj, events = true })
end

function TV:run()
  local env, sess, a = self.env, self.sess, self.args
  local ok, err = pcall(function()
    local c, conn = sess:client(flags_of(a))
    self.conn = conn
    local r, rerr = sess:discovery(c):resolve(a.rtype)
    if not r then error(rerr, 0) end
    local ns = r.namespaced and (a.namespace or conn.namespace) or nil
    local path = discovery.path(r, ns, a.name)
    local function refresh()
      local obj, gerr = c:get_json(path)
      if not obj then error(gerr, 0) end
      self.w:set_text(self:render(c, r, obj))
      self.state = "live"
      dirty(self)
      return obj
    end
    -- the watch starts from the list's resourceVersion (the collection's, now),
    -- not the object's: that one is as old as the object's last change, and
    -- a busy server's watch cache has long forgotten it (410 again, for ever)
    local field = "metadata.name=" .. a.name
    local function list_rv()
      local l, lerr = c:get_json(discovery.path(r, ns) .. util.query({ fieldSelector = field, limit = "1" }))
      if not l then error(lerr, 0) end
      return l.metadata and l.metadata.resourceVersion
    end
    -- (the list's first: a change between the two comes again by the watch, never lost)
    local rv = list_rv()
    refresh()
    env.go(function()
      while not self.closed do env.sleep(200) end
      if self.stream then pcall(self.stream.close, self.stream) end
    end)
    watch.run(env, c, { path = discovery.path(r, ns), accept = "application/json", rv = rv,
      query = { fieldSelector = field },
      stop = function() return self.closed end,
      on_stream = function(s) self.stream = s end,
      on_state = function(msg) self.state = "offline: " .. msg dirty(self) end,
      relist = function() local nrv = list_rv() refresh() return nrv end,
      on_event = function(ty)
        if ty == "DELETED" then self.state = "deleted" dirty(self) return end
        pcall(refresh)
      end })
  end)
  if not ok and not self.closed then
    self.state = "error"
    self.w:set_text(tostring(err))
    dirty(self)
  end
end

function TV:view(w, h)
  local a = self.args
  local st = self.w:status()
  if self.state and self.state ~= "live" then st = self.state .. " · " .. st end
  if self.w.message then st = st .. " · " .. self.w.message end   -- a wrapped search, no match
  return self.w:view(w, h), { title = ("%s(%s)"):format(a.mode, a.name), status = st,
    header = header(self, a.namespace), hint = { "next_match", "wrap" },
    nav = { { key = "/", help = "Search (as you type; Esc clears it)" } } }
end
function TV:key(k) return widget_key(self, self.w, k) end
-- the host's `/` line: a search over the text, as it is typed
function TV:filter(text)
  local ok, err = self.w:search(text ~= "" and text or nil)
  if ok == nil and err then return nil, err end
  return true
end
function TV:close() self.closed = true end
TV.command = command
local TEXT_KEY = { next_match = "n", prev_match = "N", wrap = "w" }
function TV.actions()
  return {
    { name = "next_match", key = "n", help = "Next match of the search", group = "Text" },
    { name = "prev_match", key = "N", help = "Previous match", group = "Text" },
    { name = "wrap", key = "w", help = "Wrap lines", group = "Text" },
  }
end
function TV:action(name)
  if TEXT_KEY[name] then self.w:key(TEXT_KEY[name]) return true end
end

-- ------------------------------------------------------------------ containers
local CV = {}
CV.__index = CV

function M.containers(ctx, args)
  local v = setmetatable({ sess = ctx.sess, env = ctx.env, id = ctx.id, args = args }, CV)
  v.t = T.new({ columns = { { name = "NAME" }, { name = "IMAGE" }, { name = "READY" }, { name = "STATE" },
                            { name = "RESTARTS", align = "right", sort = "number" }, { name = "KIND" } },
                empty = "Loading…" })
  vcli.timer(0, function() v:load() end)
  return v
end

function CV:load()
  local ok, err = pcall(function()
    local c, conn = self.sess:client(flags_of(self.args))
    self.conn = conn
    local ns = self.args.namespace or conn.namespace
    local pod, gerr = c:get_json(("/api/v1/namespaces/%s/pods/%s"):format(ns, self.args.name))
    if not pod then error(gerr, 0) end
    self.pod = pod
    local statuses = {}
    for _, s in ipairs((pod.status or {}).containerStatuses or {}) do statuses[s.name] = s end
    for _, s in ipairs((pod.status or {}).initContainerStatuses or {}) do statuses[s.name] = s end
    local rows = {}
    local function add(list, kind)
      for _, ct in ipairs(list or {}) do
        local s = statuses[ct.name] or {}
        local state = "waiting"
        for k in pairs(type(s.state) == "table" and s.state or {}) do state = k end
        rows[#rows + 1] = { id = ct.name, name = ct.name, cells = { ct.name, tostring(ct.image or ""),
          tostring(s.ready == true), state, tostring(s.restartCount or 0), kind }, keys = { [5] = s.restartCount or 0 },
          style = (s.ready ~= true and kind == "container") and "error" or nil }
      end
    end
    add(pod.spec.initContainers, "init")
    add(pod.spec.containers, "container")
    self.t:set_rows(rows)
    self.t.empty = "No containers."
  end)
  if not ok then self.t.empty = tostring(err) end
  dirty(self)
end

function CV:view(w, h)
  return self.t:view(w, h), { title = ("containers(%s)%s"):format(self.args.name, self.t:title_count()),
    header = header(self, self.args.namespace), hint = { "logs", "shell" } }
end
function CV:key(k) return self.t:key(k) or false end
function CV.actions()
  return {
    { name = "logs", key = { "Enter", "l" }, help = "Logs of the container", group = "Container" },
    { name = "logs_previous", key = "p", help = "Logs of its previous instance", group = "Container" },
    { name = "logs_all", key = "a", help = "Logs of every container, interleaved", group = "Container" },
    { name = "shell", key = "s", help = "Shell in the container", group = "Container", mutates = true },
  }
end
function CV:action(name)
  local row = self.t:selected()
  if not row then return nil end
  local a = self.args
  if name == "logs_all" then
    vcli.tui.push("k8s", { view = "logs", context = a.context, namespace = a.namespace, pods = { a.name },
      all_containers = true, title = a.name .. " (all containers)" })
    return true
  end
  if name == "logs" or name == "logs_previous" then
    vcli.tui.push("k8s", { view = "logs", context = a.context, namespace = a.namespace, pods = { a.name },
      container = row.name, previous = name == "logs_previous", title = a.name .. "/" .. row.name })
    return true
  elseif name == "shell" then
    local acts = require("k8s.ui.actions")
    local fake = { sess = self.sess, flags = function() return flags_of(a) end }
    local _, err = acts.run_verb(fake, require("k8s.remote").exec, { a.name },
      { namespace = a.namespace, container = row.name, stdin = true, tty = true,
        ["--"] = { "sh", "-c", "clear; (bash || ash || sh)" } }, { verb = "exec", terminal = true })
    return (err and err:match("[^\n]+")) or ("left the shell of " .. a.name)
  end
end
function CV:close() self.closed = true end
CV.command = command

-- ------------------------------------------------------------------ forwards
-- :pf — the port-forwards started with F: where they listen, their state;
-- Ctrl-D stops one
local FV = {}
FV.__index = FV

function M.forwards(ctx, args)
  local v = setmetatable({ sess = ctx.sess, env = ctx.env, id = ctx.id, args = args }, FV)
  v.t = T.new({ columns = { { name = "POD" }, { name = "NAMESPACE" }, { name = "LOCAL" }, { name = "REMOTE" },
                            { name = "STATE" }, { name = "LAST" } }, empty = "No port-forwards (F on a pod starts one)." })
  v.timer = vcli.every(1000, function() dirty(v) end)
  -- the header's connection, in the background (a view does no I/O)
  vcli.timer(0, function()
    pcall(function() v.conn = select(2, v.sess:client(flags_of(args))) end)
    dirty(v)
  end)
  return v
end
local function forward_rows()
  local rows = {}
  for _, pf in ipairs(require("k8s.ui.actions").forwards) do
    rows[#rows + 1] = { id = tostring(pf.id), pf = pf, cells = { pf.pod, pf.namespace or "", ("127.0.0.1:%d"):format(pf.local_port),
      tostring(pf.remote_port), pf.state, pf.last_error or ((pf.log[#pf.log] or ""):gsub("\n", "")) },
      style = pf.state:match("^failed") and "error" or (pf.state ~= "forwarding" and "dim" or nil) }
  end
  return rows
end
function FV:view(w, h)
  self.t:set_rows(forward_rows())
  return self.t:view(w, h), { title = "port-forwards" .. self.t:title_count(), hint = { "stop" },
    header = header(self) }
end
function FV:key(k) return self.t:key(k) or false end
function FV.actions() return { { name = "stop", key = "C-d", help = "Stop the forward", group = "Port-forward" } } end
function FV:action(name)
  local row = self.t:selected()
  if name == "stop" and row then
    row.pf.stopped = true
    return ("stopping the forward of %s"):format(row.pf.pod)
  end
end
function FV:close() if self.timer then vcli.cancel_timer(self.timer) end end
FV.command = command

-- ------------------------------------------------------------------ logs
local LV = {}
LV.__index = LV

local SINCE = { ["0"] = false, ["1"] = 60, ["2"] = 300, ["3"] = 900, ["4"] = 1800, ["5"] = 3600 }
local SINCE_TEXT = { ["0"] = "all", ["1"] = "1m", ["2"] = "5m", ["3"] = "15m", ["4"] = "30m", ["5"] = "1h" }

function M.logs(ctx, args)
  local v = setmetatable({ sess = ctx.sess, env = ctx.env, id = ctx.id, args = args, gen = 0,
                           since = "tail" }, LV)
  local mb = tonumber(setting("ui.logBufferMB") or "") or 4
  v.w = LogW.new({ max_bytes = math.floor(mb * 1024 * 1024) })
  v:start()
  return v
end

function LV:start()
  self.gen = self.gen + 1
  local gen = self.gen
  for _, s in pairs(self.streams or {}) do pcall(s.close, s) end
  self.streams = {}
  vcli.timer(0, function() self:run(gen) end)
end

function LV:stopped(gen) return self.closed or self.gen ~= gen end

function LV:run(gen)
  local env, a = self.env, self.args
  local ok, err = pcall(function()
    local c, conn = self.sess:client(flags_of(a))
    self.conn = conn
    local ns = a.namespace or conn.namespace
    local pods = {}
    if a.selector then
      local l, lerr = c:get_json(("/api/v1/namespaces/%s/pods"):format(ns) .. util.query({ labelSelector = a.selector }))
      if not l then error(lerr, 0) end
      for _, p in ipairs(l.items or {}) do pods[#pods + 1] = p end
    else
      for _, n in ipairs(a.pods or {}) do
        local p, perr = c:get_json(("/api/v1/namespaces/%s/pods/%s"):format(ns, n))
        if not p then error(perr, 0) end
        pods[#pods + 1] = p
      end
    end
    if #pods == 0 then self.state = "no pods" dirty(self) return end
    local many = #pods > 1
    env.go(function()
      while not self:stopped(gen) do env.sleep(200) end
      for _, s in pairs(self.streams) do pcall(s.close, s) end
    end)
    local tasks = {}
    for _, pod in ipairs(pods) do
      local names = {}
      if a.container then names = { a.container }
      elseif a.all_containers then
        for _, ct in ipairs(pod.spec.containers or {}) do names[#names + 1] = ct.name end
      else
        for _, ct in ipairs(pod.spec.containers or {}) do names[#names + 1] = ct.name end
        if not many and #names > 1 then
          local def = (pod.metadata.annotations or {})["kubectl.kubernetes.io/default-container"]
          names = { def or names[1] }
          self.note = ("container %s (of %d: c picks another from the pod's containers view)"):format(names[1],
            #pod.spec.containers)
        end
      end
      for _, cn in ipairs(names) do
        local prefix = (many or #names > 1) and (pod.metadata.name .. "/" .. cn) or nil
        tasks[#tasks + 1] = env.go(function() self:follow(gen, c, ns, pod.metadata.name, cn, prefix) end)
      end
    end
    self.state = "following"
    dirty(self)
    for _, t in ipairs(tasks) do pcall(t.wait) end
    if not self:stopped(gen) then self.state = "ended" dirty(self) end
  end)
  if not ok and not self:stopped(gen) then
    self.state = "error: " .. tostring(err)
    dirty(self)
  end
end

function LV:follow(gen, c, ns, pod, container, prefix)
  local a = self.args
  local q = { container = container, follow = (not a.previous) and "true" or nil, timestamps = "true",
              previous = a.previous and "true" or nil }
  local secs = self.since ~= "tail" and SINCE[self.since] or nil
  if self.since == "tail" then q.tailLines = tostring(tonumber(setting("ui.logTail") or "") or 200)
  elseif secs then q.sinceSeconds = tostring(secs) end
  local path = ("/api/v1/namespaces/%s/pods/%s/log"):format(ns, pod) .. util.query(q)
  local s, err = c:stream({ path = path, accept = "*/*" })
  if not s then
    self.w:append(("[%s] %s\n"):format(prefix or container, tostring(err)), prefix)
    dirty(self)
    return
  end
  local key = pod .. "/" .. container
  self.streams[key] = s
  for chunk in s:chunks() do
    if self:stopped(gen) then break end
    self.w:append(chunk, prefix)
    dirty(self)
  end
  self.streams[key] = nil
end

function LV:view(w, h)
  local a = self.args
  local st = self.w:status()
  local since = self.since == "tail" and "tail" or SINCE_TEXT[self.since]
  local state = self.state or "connecting"
  st = ("%ssince %s%s · %s"):format(state ~= "following" and (state .. " · ") or "", since,
                                     a.previous and " · previous" or "", st)
  if self.w.message then st = st .. " · " .. self.w.message end
  return self.w:view(w, h), { title = ("logs(%s)"):format(a.title or (a.pods and a.pods[1]) or a.selector or ""),
    status = st, header = header(self, a.namespace),
    hint = { "follow", "wrap", "timestamps", "since_5m", "mark", "search" } }
end

function LV.actions()
  return {
    { name = "follow", key = "f", help = "Follow on/off", group = "Logs" },
    { name = "wrap", key = "w", help = "Wrap lines", group = "Logs" },
    { name = "timestamps", key = "t", help = "Timestamps on/off", group = "Logs" },
    { name = "prefix", key = "P", help = "Pod/container prefix on/off", group = "Logs" },
    { name = "mark", key = "m", help = "A mark line", group = "Logs" },
    { name = "search", key = "s", help = "Search (n/N next/previous)", group = "Logs" },
    { name = "save", key = "C-s", help = "Save what is kept to a file", group = "Logs" },
    { name = "since_tail", key = "0", help = "Last lines (tail)", group = "Since" },
    { name = "since_1m", key = "1", help = "Since 1 minute", group = "Since" },
    { name = "since_5m", key = "2", help = "Since 5 minutes", group = "Since" },
    { name = "since_15m", key = "3", help = "Since 15 minutes", group = "Since" },
    { name = "since_30m", key = "4", help = "Since 30 minutes", group = "Since" },
    { name = "since_1h", key = "5", help = "Since 1 hour", group = "Since" },
    { name = "since_all", key = "9", help = "Everything the node keeps", group = "Since" },
  }
end

local WIDGET_KEY = { follow = "f", wrap = "w", timestamps = "t", prefix = "P" }
function LV:action(name)
  if WIDGET_KEY[name] then self.w:key(WIDGET_KEY[name]) return true end
  if name == "mark" then self.w:mark(os.date("%H:%M:%S")) return true end
  if name == "search" then
    self.w:key("/")
    return input_request(self, self.w) or true
  end
  if name == "save" then
    local dir = self.env.getenv("TMPDIR") or "/tmp"
    local path = ("%s/vcli-logs-%s-%s.log"):format(dir, (self.args.title or "pod"):gsub("[^%w._-]", "_"),
      os.date("%Y%m%d-%H%M%S"))
    if not (vcli.fs and vcli.fs.write) then return "no fs.write grant" end
    vcli.fs.write(path, self.w:lines_for_save())
    return "saved " .. path
  end
  local since = name:match("^since_(.+)$")
  if since then
    local map = { tail = "tail", ["1m"] = "1", ["5m"] = "2", ["15m"] = "3", ["30m"] = "4", ["1h"] = "5", all = "0" }
    self.since = map[since] or "tail"
    -- the lines of the new range; the view's toggles and filter stay as they were
    local old = self.w
    self.w = LogW.new({ max_bytes = old.max_bytes, show_timestamps = old.show_timestamps, show_source = old.show_source,
                        follow = old.following, wrap = old.wrap })
    local fpat, finv = old:filter()
    if fpat then self.w:set_filter(fpat, finv) end
    self:start()
    return "since " .. since
  end
end

function LV:key(k)
  -- Esc clears a search first (as in describe), then goes back
  if k == "Esc" and self.w.sre then self.w:search(nil) return true end
  return widget_key(self, self.w, k)
end
LV.command = command
function LV:filter(text)
  text = text or ""
  local inverse = false
  if text:sub(1, 1) == "!" then inverse, text = true, text:sub(2) end
  if text == "" then return self.w:set_filter(nil) ~= nil or true end
  local ok, err = self.w:set_filter(text, inverse)
  if ok == nil then return nil, err end
  return true
end
function LV:close() self.closed = true end

return M
