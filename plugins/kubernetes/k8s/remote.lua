-- k8s.remote — `k8s exec` and `k8s port-forward`, without kubectl: the API
-- server's WebSocket subprotocols (v5/v4.channel.k8s.io) over the host's
-- WebSocket (vcli.http.websocket), a local listener (vcli.net.listen) and
-- the user's terminal (vcli.terminal). Every binary message starts with a
-- channel byte: exec 0 stdin, 1 stdout, 2 stderr, 3 status (a
-- metav1.Status), 4 resize, 255 close (v5); port-forward 0 data, 1 error,
-- each channel's first message being the port (2 bytes, little-endian).
local util = require("k8s.util")
local discovery = require("k8s.discovery")

local M = {}

-- The host's primitives (specs may swap them).
M.io = {
  websocket = function(o) return vcli.http.websocket(o) end,
  listen = function(o) return vcli.net.listen(o) end,
  terminal = function() return vcli.terminal end,
  spawn = function(fn, ...) return vcli.spawn(fn, ...) end,
}

-- Output now (not when the call next waits): a remote shell's prompt has no newline.
local function writer(ctx)
  -- ctx.capture: the caller keeps the output (the full-screen interface draws its own)
  local term = not ctx.capture and M.io.terminal()
  return function(s, stream)
    if term then term.write(s, stream) elseif stream == 2 then ctx.err(s) else ctx.out(s) end
  end
end

-- ---------------------------------------------------------------- target → pod
local function selector_of(sel)
  if type(sel) ~= "table" then return nil end
  local parts = {}
  local ml = sel.matchLabels
  if not ml and not sel.matchExpressions then ml = sel end    -- a Service's plain map
  local keys = {}
  for k in pairs(type(ml) == "table" and ml or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(ml[k]) end
  for _, e in ipairs(type(sel.matchExpressions) == "table" and sel.matchExpressions or {}) do
    local vals = table.concat(e.values or {}, ",")
    if e.operator == "In" then parts[#parts + 1] = ("%s in (%s)"):format(e.key, vals)
    elseif e.operator == "NotIn" then parts[#parts + 1] = ("%s notin (%s)"):format(e.key, vals)
    elseif e.operator == "Exists" then parts[#parts + 1] = e.key
    elseif e.operator == "DoesNotExist" then parts[#parts + 1] = "!" .. e.key end
  end
  return #parts > 0 and table.concat(parts, ",") or nil
end

local function ready(p)
  for _, cnd in ipairs(p.status and p.status.conditions or {}) do
    if cnd.type == "Ready" then return cnd.status == "True" end
  end
  return false
end

-- kubectl's choice among a selector's pods: running, ready, the oldest.
local function pick_pod(pods)
  local best, bkey
  for _, p in ipairs(pods) do
    if not (p.metadata or {}).deletionTimestamp then
      local key = { (p.status or {}).phase == "Running" and 0 or 1, ready(p) and 0 or 1,
                    tostring(p.metadata.creationTimestamp or ""), p.metadata.name }
      local better = not bkey
      if bkey then
        for i = 1, 4 do
          if key[i] ~= bkey[i] then better = key[i] < bkey[i]; break end
        end
      end
      if better then best, bkey = p, key end
    end
  end
  return best
end

-- TARGET (POD, pod/NAME, TYPE/NAME) -> pod object, the resolved object (a
-- Service for svc/…), how many pods the object's selector matched
function M.resolve(sess, c, ns, target)
  local t, n = target:match("^([^/]+)/(.+)$")
  if not t or t == "pod" or t == "pods" or t == "po" then
    local pod, err = c:get_json("/api/v1/namespaces/" .. ns .. "/pods/" .. (n or target))
    if not pod then error(err, 0) end
    return pod
  end
  local r, rerr = sess:discovery(c):resolve(t)
  if not r then error(rerr, 0) end
  local obj, err = c:get_json(discovery.path(r, r.namespaced and ns or nil, n))
  if not obj then error(err, 0) end
  if r.kind == "Pod" then return obj end
  local sel = selector_of(obj.spec and obj.spec.selector)
  if not sel then
    error(("error: cannot attach to %s/%s: it has no selector"):format(discovery.kind_prefix(r), n), 0)
  end
  local list, lerr = c:get_json("/api/v1/namespaces/" .. ns .. "/pods" .. util.query({ labelSelector = sel }))
  if not list then error(lerr, 0) end
  local pod = pick_pod(list.items or {})
  if not pod then error(("error: no pod found for %s/%s (selector %s)"):format(discovery.kind_prefix(r), n, sel), 0) end
  return pod, obj, #(list.items or {})
end

-- ---------------------------------------------------------------- exec
local function container_names(pod)
  local names, shown = {}, {}
  for _, ct in ipairs(pod.spec and pod.spec.containers or {}) do names[#names + 1] = ct.name; shown[#shown + 1] = ct.name end
  for _, ct in ipairs(pod.spec and pod.spec.initContainers or {}) do shown[#shown + 1] = ct.name .. " (init)" end
  return names, shown
end

local function exit_status(json, text)
  local st = json.decode(text)
  if type(st) ~= "table" then return nil, "error: " .. text end
  if st.status == "Success" then return 0 end
  if st.reason == "NonZeroExitCode" then
    for _, cause in ipairs(st.details and st.details.causes or {}) do
      if cause.reason == "ExitCode" then return tonumber(cause.message) or 1 end
    end
  end
  return nil, "error: " .. tostring(st.message or text)
end

-- exec POD -- CMD, or (verb "attach") attach POD: a container's streams over the
-- WebSocket channel protocol, stdin and a raw terminal with -i/-t
function M.exec(sess, ctx, verb)
  verb = verb or "exec"
  local attach = verb == "attach"
  local f = ctx.flags
  local cmd = f["--"] or {}
  if not attach then
    if #cmd == 0 and ctx.args.command and #ctx.args.command > 0 then
      error("k8s exec: exec POD COMMAND is not supported; use exec POD -- COMMAND", 0)
    end
    if #cmd == 0 then error("k8s exec: a command is needed after --, e.g. k8s exec POD -- sh", 0) end
  end
  if not ctx.args.pod then
    error(attach and "error: expected POD, TYPE/NAME, or TYPE NAME, (at most 2 arguments) saw 0: []"
      or "k8s exec: which pod? (k8s exec POD -- COMMAND)", 0)
  end
  local json = sess.env.json
  local c, conn = sess:client(f)
  -- read-only refuses exec and attach (as k9s refuses its shell): they reach what runs in the container
  if sess:is_readonly(conn) then error(("k8s %s: refused: read-only mode (context %s)"):format(verb, conn.context), 0) end
  local ns = conn.namespace
  local pod = M.resolve(sess, c, ns, ctx.args.pod)
  local phase = pod.status and pod.status.phase
  if phase == "Succeeded" or phase == "Failed" then
    error(("error: cannot %s a container in a completed pod; current phase is %s"):format(
      attach and "attach" or "exec into", phase), 0)
  end
  local say = writer(ctx)
  local cname = f.container
  if not cname then
    local names, shown = container_names(pod)
    local ann = (pod.metadata.annotations or {})["kubectl.kubernetes.io/default-container"]
    cname = ann or names[1]
    if not ann and #shown > 1 then say(("Defaulted container %q out of: %s\n"):format(cname, table.concat(shown, ", ")), 2) end
  end
  -- as kubectl: -t without -i is ignored; -it needs stdin to be a terminal
  local stdin = f.stdin == true
  local tty = f.tty == true and stdin
  if tty and not ctx.terminal then
    say("Unable to use a TTY - input is not a terminal or the right kind of file\n", 2)
    tty = false
  end
  local q = {}
  if not attach then for _, a in ipairs(cmd) do q[#q + 1] = "command=" .. util.urlencode(a) end end
  if cname then q[#q + 1] = "container=" .. util.urlencode(cname) end
  if stdin then q[#q + 1] = "stdin=true" end
  q[#q + 1] = "stdout=true"
  if not tty then q[#q + 1] = "stderr=true" end
  if tty then q[#q + 1] = "tty=true" end
  local path = ("/api/v1/namespaces/%s/pods/%s/%s?%s"):format(ns, pod.metadata.name, verb, table.concat(q, "&"))
  local ws, err = c:websocket{ path = path, protocols = { "v5.channel.k8s.io", "v4.channel.k8s.io" }, open = M.io.websocket }
  if not ws then error(err, 0) end
  local v5 = ws.protocol == "v5.channel.k8s.io"
  local term
  if attach and not f.quiet then say("If you don't see a command prompt, try pressing enter.\n", 2) end
  if stdin then
    local terminal = M.io.terminal()
    if not terminal then ws:close() error("k8s exec: -i needs the terminal capability", 0) end
    term = terminal.open({ raw = tty })
    local function resize(w, h) ws:send("\4" .. json.encode({ Width = w, Height = h })) end
    if tty then resize(term.width, term.height) end
    M.io.spawn(function()
      while true do
        local ev = term:read()
        if not ev then
          if v5 and not ws.closed then pcall(ws.send, ws, "\255\0") end   -- stdin is over
          return
        end
        if ev.data then
          if not pcall(ws.send, ws, "\0" .. ev.data) then return end
        elseif ev.resize then
          if not pcall(resize, ev.resize[1], ev.resize[2]) then return end
        end
      end
    end)
  end
  local status = {}
  local ok, rerr = pcall(function()
    while true do
      local msg = ws:recv()
      if not msg then break end
      local ch, data = msg:byte(1), msg:sub(2)
      if ch == 1 then
        if #data > 0 then say(data, 1) end
      elseif ch == 2 then
        if #data > 0 then say(data, 2) end
      elseif ch == 3 then
        status[#status + 1] = data
      end
    end
  end)
  if term then term:close() end
  ws:close()
  if not ok then error(c:redact(tostring(rerr):gsub("\n.*", "")), 0) end
  if #status == 0 or table.concat(status) == "" then return 0 end
  local code, serr = exit_status(json, table.concat(status))
  if not code then error(c:redact(serr), 0) end
  if code ~= 0 then say(("command terminated with exit code %d\n"):format(code), 2) end
  return code
end

-- A command run in a container to its end, no terminal: input (bytes, may be nil) on its
-- standard input, then closed -> exit code, stdout, stderr (cp's tar; nil, err when it
-- could not run)
function M.run_in(c, json, ns, podname, container, argv, input)
  local q = {}
  for _, a in ipairs(argv) do q[#q + 1] = "command=" .. util.urlencode(a) end
  if container then q[#q + 1] = "container=" .. util.urlencode(container) end
  if input then q[#q + 1] = "stdin=true" end
  q[#q + 1] = "stdout=true"
  q[#q + 1] = "stderr=true"
  local path = ("/api/v1/namespaces/%s/pods/%s/exec?%s"):format(ns, podname, table.concat(q, "&"))
  local ws, err = c:websocket{ path = path, protocols = { "v5.channel.k8s.io", "v4.channel.k8s.io" }, open = M.io.websocket }
  if not ws then return nil, err end
  if input then
    -- in pieces, then end of input (v5 closes a stream; v4 cannot, so the command must read to its own end)
    local CH = 65536
    for i = 1, #input, CH do ws:send("\0" .. input:sub(i, i + CH - 1)) end
    if ws.protocol == "v5.channel.k8s.io" then ws:send("\255\0") end
  end
  local out, errs, status = {}, {}, {}
  local ok, rerr = pcall(function()
    while true do
      local msg = ws:recv()
      if not msg then break end
      local ch, data = msg:byte(1), msg:sub(2)
      if ch == 1 then out[#out + 1] = data
      elseif ch == 2 then errs[#errs + 1] = data
      elseif ch == 3 then status[#status + 1] = data end
    end
  end)
  ws:close()
  if not ok then return nil, c:redact(tostring(rerr):gsub("\n.*", "")) end
  local code = 0
  if #status > 0 and table.concat(status) ~= "" then
    local serr
    code, serr = exit_status(json, table.concat(status))
    if not code then return nil, c:redact(serr) end
  end
  return code, table.concat(out), table.concat(errs)
end

-- ---------------------------------------------------------------- port-forward
local function port_number(s)
  local n = tonumber(s)
  if n and n == math.floor(n) and n >= 0 and n <= 65535 then return n end
end

-- REMOTE as the pod sees it: a number, a container port's name, or (through
-- a Service) the Service's port mapped to its targetPort.
local function remote_port(pod, svc, remote)
  local function by_name(name)
    for _, ct in ipairs(pod.spec.containers or {}) do
      for _, p in ipairs(ct.ports or {}) do if p.name == name then return p.containerPort end end
    end
  end
  if svc then
    for _, sp in ipairs(svc.spec.ports or {}) do
      if tostring(sp.port) == remote or sp.name == remote then
        local tp = sp.targetPort
        if tp == nil then return sp.port end
        if type(tp) == "number" then return tp end
        local n = port_number(tp) or by_name(tp)
        if not n then error(("error: pod %s has no container port named %s (targetPort of service %s)"):format(
          pod.metadata.name, tp, svc.metadata.name), 0) end
        return n
      end
    end
    error(("error: Service %s does not have a service port %s"):format(svc.metadata.name, remote), 0)
  end
  local n = port_number(remote)
  if n and n > 0 then return n end
  n = by_name(remote)
  if not n then error(("error: Pod '%s' does not have a named port '%s'"):format(pod.metadata.name, remote), 0) end
  return n
end

local function forward(c, say, ns, podname, l, lport, rport)
  local s = l:accept()
  if not s then return false end
  say(("Handling connection for %d\n"):format(lport), 1)
  M.io.spawn(function()
    local function fail(msg)
      say(("error: an error occurred forwarding %d -> %d: %s\n"):format(lport, rport, (c:redact(msg):gsub("[\r\n]+", " "))), 2)
    end
    local ws, err = c:websocket{ path = ("/api/v1/namespaces/%s/pods/%s/portforward?ports=%d"):format(ns, podname, rport),
                                 protocols = { "v4.channel.k8s.io" }, open = M.io.websocket }
    if not ws then fail(err) s:close() return end
    -- remote -> local, alongside local -> remote below
    M.io.spawn(function()
      local first = {}
      local ok, rerr = pcall(function()
        while true do
          local m = ws:recv()
          if not m then return end
          local ch, data = m:byte(1), m:sub(2)
          if not first[ch] then first[ch] = true; data = data:sub(3) end   -- the port number
          if ch == 0 and #data > 0 then
            s:write(data)
          elseif ch == 1 and #data > 0 then
            fail(data)
            return
          end
        end
      end)
      if not ok and not s.closed and not ws.closed then fail(tostring(rerr)) end
      ws:close()
      s:close()
    end)
    while true do
      local ok, data = pcall(s.read, s)
      if not ok or not data or ws.closed then break end
      if not pcall(ws.send, ws, "\0" .. data) then break end
    end
    ws:close()
    s:close()
  end)
  return true
end

function M.port_forward(sess, ctx)
  local f = ctx.flags
  local target = ctx.args.target
  local specs = ctx.args.ports or {}
  if not target then error("k8s port-forward: which pod? (k8s port-forward TYPE/NAME [LOCAL:]REMOTE…)", 0) end
  if #specs == 0 then error("k8s port-forward: at least one port is needed: [LOCAL:]REMOTE", 0) end
  local c, conn = sess:client(f)
  local ns = conn.namespace
  local pod, obj = M.resolve(sess, c, ns, target)
  local svc = obj and obj.kind == "Service" and obj or nil
  if (pod.status or {}).phase ~= "Running" then
    error(("error: unable to forward port because pod is not running. Current status=%s"):format(tostring((pod.status or {}).phase)), 0)
  end
  local maps = {}
  for _, spec in ipairs(specs) do
    local lp, rp = spec:match("^([^:]*):(.+)$")
    if not lp then lp, rp = spec, spec end
    local lport = lp == "" and 0 or port_number(lp)
    if not lport then error(("error: invalid local port %q in %q"):format(lp, spec), 0) end
    maps[#maps + 1] = { lport = lport, rport = remote_port(pod, svc, rp) }
  end
  local say = writer(ctx)
  local addresses = {}
  for a in (f.address or "127.0.0.1"):gmatch("[^,%s]+") do addresses[#addresses + 1] = a == "localhost" and "127.0.0.1" or a end
  local listeners = {}
  for _, m in ipairs(maps) do
    for _, addr in ipairs(addresses) do
      local ok, l = pcall(M.io.listen, { host = addr, port = m.lport })
      if not ok then
        for _, x in ipairs(listeners) do x.l:close() end
        error(("error: unable to listen on %s:%d: %s"):format(addr, m.lport, tostring(l):gsub("^.-: cannot listen on [^:]*:%d+: ", "")), 0)
      end
      m.lport = l.port   -- :REMOTE -> the free port the first listener got
      local shown = addr:find(":") and ("[" .. addr .. "]") or addr
      say(("Forwarding from %s:%d -> %d\n"):format(shown, l.port, m.rport), 1)
      listeners[#listeners + 1] = { l = l, m = m }
    end
  end
  local tasks = {}
  for _, x in ipairs(listeners) do
    tasks[#tasks + 1] = M.io.spawn(function()
      while forward(c, say, ns, pod.metadata.name, x.l, x.m.lport, x.m.rport) do end
    end)
  end
  -- ctx.stop() -> true ends it from elsewhere (the interface's list of
  -- forwards): this call's own task closes the listeners
  if ctx.stop then
    tasks[#tasks + 1] = M.io.spawn(function()
      while not ctx.stop() do sess.env.sleep(200) end
      for _, x in ipairs(listeners) do pcall(x.l.close, x.l) end
    end)
  end
  -- until Ctrl-C or the command is cancelled: the call's end closes every
  -- listener, connection and WebSocket it opened
  for _, t in ipairs(tasks) do t:wait() end
  return 0
end

return M
