-- k8s.plugin_env — the env the k8s modules take, built inside the plugin's
-- own state from what plugin.yaml grants (vcli.http, vcli.store, vcli.exec,
-- vcli.fs, vcli.env, vcli.config, vcli.json, vcli.yaml). The modules never
-- touch `vcli` themselves, so they run the same under a stubbed env.
--   local env = require("k8s.plugin_env").new()
local M = {}

M.ctx = nil       -- the running command's ctx (run_tty writes through it)
M.session = nil   -- the session, once made (specs reach it with plugin eval)

local function try(fn, ...)
  local ok, a, b, c = pcall(fn, ...)
  if ok then return a, b, c end
  return nil, tostring(a)
end

local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function json_codec()
  local cj = vcli.json
  if cj.new then cj = cj.new() end
  if cj.decode_array_with_array_mt then cj.decode_array_with_array_mt(true) end
  if cj.decode_max_depth then cj.decode_max_depth(500) end
  if cj.encode_sparse_array then cj.encode_sparse_array(true, 1, 1) end
  local decode, encode, gsub = cj.decode, cj.encode, string.gsub
  return cj, {
    null = cj.null, array_mt = cj.array_mt,
    decode = function(text, name)
      local v, err = decode(text)
      if v == nil and err then return nil, (name or "json") .. ": " .. err end
      return v
    end,
    -- cjson writes "/" as "\/", which is JSON but not YAML (apply-patch+yaml bodies)
    encode = function(v) return (gsub(assert(encode(v)), "\\/", "/")) end,
  }
end

function M.new()
  local cjson, json = json_codec()
  local env = {
    json = json, cjson = cjson, yaml = vcli.yaml,
    now = vcli.now, time = os.time,
    sleep = function(ms) return vcli.sleep(ms) end,
  }

  function env.getenv(name)
    if not vcli.env then return nil end
    local v = try(vcli.env.get, name)
    return v
  end

  if vcli.http then
    local http = vcli.http
    env.http = {
      -- vcli.http raises on a failed transfer; the modules expect nil, err
      request = function(o) return try(http.request, o) end,
      stream = function(o) return try(http.stream, o) end,
    }
  end

  if vcli.store then
    local st = vcli.store
    env.store = { get = st.get, put = st.put, del = st.del, keys = st.keys }
  end

  function env.read_file(path)
    if not (vcli.fs and vcli.fs.read) then return nil, "cannot read " .. path .. " (no fs.read grant)" end
    local text, err = try(vcli.fs.read, path)
    if text == nil then return nil, (err or "cannot read"):gsub("^fs%.read: ", "") end
    return text
  end
  function env.write_file(path, data)
    return try(vcli.fs.write, path, data)
  end
  function env.list_dir(path)
    if not (vcli.fs and vcli.fs.list) then return nil end
    local ok, list = pcall(vcli.fs.list, path)
    if not ok or type(list) ~= "table" then return nil end
    local out = {}
    for _, e in ipairs(list) do out[#out + 1] = type(e) == "table" and (e.name or e[1]) or e end
    return out
  end

  -- Processes: vcli.exec has no environment option, so variables go
  -- through env(1): `env K=V… argv…` (the exec grant allows any command).
  local function argv_with_env(argv, vars)
    if not vars or next(vars) == nil then return argv end
    local a = { "env" }
    if vars[1] then
      for _, kv in ipairs(vars) do a[#a + 1] = kv[1] .. "=" .. kv[2] end
    else
      for k, v in pairs(vars) do a[#a + 1] = k .. "=" .. v end
    end
    for _, x in ipairs(argv) do a[#a + 1] = x end
    return a
  end
  -- run a program to completion: code, stdout, stderr (exec credential plugins)
  function env.spawn(argv, o)
    if not vcli.exec then return nil, "no exec grant", "" end
    local r, err = try(vcli.exec, argv_with_env(argv, o and o.env))
    if not r then return nil, err or "cannot run", "" end
    if r.code == 127 then return nil, "command not found", r.stderr end
    return r.code, r.stdout or "", r.stderr or ""
  end
  -- A program "on the terminal" (kubectl delegation, $EDITOR). The runtime's
  -- exec has no terminal: the program runs with stdin closed and its output
  -- is copied to the command's output when it ends.
  function env.run_tty(argv, o)
    local r, err = try(vcli.exec, argv_with_env(argv, o and o.env))
    if not r then error(err, 0) end
    local ctx = M.ctx
    if ctx then
      if r.stdout and r.stdout ~= "" then ctx.out(r.stdout) end
      if r.stderr and r.stderr ~= "" then ctx.err(r.stderr) end
    end
    return r.code
  end
  function env.which(name)
    local code = env.spawn({ "/bin/sh", "-c", "command -v " .. shq(name) })
    return code == 0 and name or nil
  end
  local seq = 0
  function env.tmpname()
    seq = seq + 1
    local dir = env.getenv("TMPDIR")
    if not dir or dir == "" then dir = "/tmp" end
    return ("%s/vcli-k8s-%d-%d-%d"):format(dir, os.time(), math.floor(vcli.now() * 1000) % 1000000, seq)
  end
  function env.remove(path) env.spawn({ "rm", "-f", path }) end

  -- after each list chunk: keep the heap near the live data (memory flat in the list size)
  function env.gc_step() collectgarbage("step", 4096) end

  -- run fn(...) concurrently (a timer call of this plugin); handle.wait()
  -- returns its results. The caller polls: a call cannot wait on another.
  function env.go(fn, ...)
    local args = { n = select("#", ...), ... }
    local h = { done = false }
    vcli.timer(0, function()
      h.res = { n = 0 }
      local r = { pcall(fn, unpack(args, 1, args.n)) }
      h.ok, h.res = r[1], r
      h.done = true
    end)
    function h.wait()
      local ms = 1
      while not h.done do
        vcli.sleep(ms)
        if ms < 8 then ms = ms + 1 end
      end
      if not h.ok then error(h.res[2], 0) end
      return unpack(h.res, 2, table.maxn(h.res))
    end
    return h
  end

  -- the delete confirmation: the runtime offers plugins no terminal prompt
  function env.confirm(question)
    if M.ctx then M.ctx.err(question .. "(no prompt available to plugins: add -y to delete)\n") end
    return false
  end
  return env
end

-- kubeconfig path, context and namespace from config: the plugin's own
-- section (plugins.kubernetes), then the core kubernetes section.
function M.session_opts()
  local opts = {}
  if not vcli.config then return opts end
  local own = select(2, pcall(vcli.config.get)) or {}
  local core = select(2, pcall(vcli.config.get, "kubernetes")) or {}
  if type(own) ~= "table" then own = {} end
  if type(core) ~= "table" then core = {} end
  local function pick(k)
    local v = own[k]
    if v == nil or v == "" then v = core[k] end
    if v == "" then v = nil end
    return v
  end
  opts.kubeconfig, opts.context = pick("kubeconfig"), pick("context")
  opts.readonly = own.readonly == true or nil
  if type(own.readonlyContexts) == "table" then
    opts.readonly_contexts = {}
    for _, c in ipairs(own.readonlyContexts) do opts.readonly_contexts[c] = true end
  end
  return opts
end

return M
