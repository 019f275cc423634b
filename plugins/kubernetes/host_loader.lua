-- host_loader — registers `k8s` in the host Lua state with the real core
-- modules injected (vcli.http, vcli.store, vcli.yaml, cjson, proc). Used
-- until the plugin runtime offers streaming HTTP and JSON to plugins; the
-- Kubernetes logic itself lives in plugins/kubernetes/k8s/*.lua and does not
-- know which of the two hosts it runs in.
--   require("plugins.kubernetes.host_loader").register()   (from vcli.shell.run)
local M = {}

local function plugin_dir()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  return src:match("^(.*)/[^/]*$") or "plugins/kubernetes"
end

function M.setup_path()
  local dir = plugin_dir()
  if not package.path:find(dir .. "/?.lua", 1, true) then
    package.path = dir .. "/?.lua;" .. package.path
  end
  return dir
end

local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- env for the k8s modules, built from the core
function M.env(opts)
  opts = opts or {}
  local async = require("vcli.async")
  local vm = require("vcli.vm")
  local cjson = require("cjson.safe").new()
  if cjson.decode_array_with_array_mt then cjson.decode_array_with_array_mt(true) end
  if cjson.decode_max_depth then cjson.decode_max_depth(500) end
  cjson.encode_sparse_array(true, 1, 1)
  local json = {
    null = cjson.null, array_mt = cjson.array_mt,
    decode = function(text, name)
      local v, err = cjson.decode(text)
      if v == nil and err then return nil, (name or "json") .. ": " .. err end
      return v
    end,
    -- cjson writes "/" as "\/", which is JSON but not YAML (apply-patch+yaml bodies)
    encode = function(v) return (assert(cjson.encode(v)):gsub("\\/", "/")) end,
  }
  local env = {
    http = require("vcli.http"), yaml = require("vcli.yaml"), json = json, cjson = cjson,
    getenv = opts.getenv or os.getenv,
    now = vm.now, time = os.time,
    sleep = function(ms) return async.sleep(ms) end,
  }
  function env.read_file(path)
    local f, err = io.open(path, "rb")
    if not f then return nil, err end
    local t = f:read("*a")
    f:close()
    if t == nil then return nil, "cannot read " .. path end
    return t
  end
  -- run a program to completion: code, stdout, stderr (exec credential plugins)
  function env.spawn(argv, o)
    o = o or {}
    local parts = { "env" }
    for _, kv in ipairs(o.env or {}) do parts[#parts + 1] = shq(kv[1] .. "=" .. kv[2]) end
    for _, a in ipairs(argv) do parts[#parts + 1] = shq(a) end
    local errf = os.tmpname()
    local p = io.popen(table.concat(parts, " ") .. " 2>" .. errf .. "; echo \"__rc=$?\"")
    local out = p:read("*a")
    p:close()
    local ef = io.open(errf); local err = ef and ef:read("*a") or ""; if ef then ef:close() end
    os.remove(errf)
    local body, rc = out:match("^(.*)__rc=(%d+)%s*$")
    rc = tonumber(rc)
    if rc == 127 then return nil, "command not found", err end
    return rc, body or out, err
  end
  -- run a program on the terminal (kubectl delegation, $EDITOR): exit code
  function env.run_tty(argv, o)
    local proc = require("vcli.proc")
    io.stdout:flush()
    return async.await(function(resume)
      local envp
      if o and o.env then
        envp = {}
        for k, v in pairs(o.env) do envp[#envp + 1] = k .. "=" .. v end
      end
      local p, err = proc.spawn({ argv = argv, env = envp, on_exit = function(code) resume(code) end })
      if not p then resume(nil, err); return end
      return function() proc.kill(p.pid) end
    end)
  end
  function env.write_file(path, data)
    local f, err = io.open(path, "wb")
    if not f then return nil, err end
    f:write(data); f:close()
    return true
  end
  env.tmpname = os.tmpname
  env.remove = os.remove
  function env.list_dir(path)
    local p = io.popen("ls -1 " .. shq(path) .. " 2>/dev/null")
    local out = {}
    for l in p:lines() do out[#out + 1] = l end
    p:close()
    local f = io.open(path .. "/.")
    if not f then return nil end
    f:close()
    return out
  end
  -- y/N on the terminal (delete in the interactive shell)
  function env.confirm(question)
    io.stdout:write(question); io.stdout:flush()
    local line = ""
    local ok = pcall(function()
      line = async.await(function(resume)
        local got = io.stdin:read("*l")
        resume(got or "")
      end)
    end)
    return ok and (line == "y" or line == "Y" or line == "yes")
  end
  -- after each list chunk: keep the heap near the live data (memory flat in the list size)
  function env.gc_step() collectgarbage("step", 4096) end
  function env.which(name)
    for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
      local f = io.open(dir .. "/" .. name)
      if f then f:close(); return dir .. "/" .. name end
    end
  end
  -- run fn(...) in its own task now; handle.wait() returns its results
  function env.go(fn, ...)
    local t = async.spawn(fn, ...)
    return { wait = function()
      if not t.done then async.await(function(resume) t:on_done(function() resume() end) end) end
      if t.err ~= nil then error(t.err, 0) end
      return unpack(t.results, 1, t.results.n)
    end }
  end
  if opts.store ~= false then
    local ok, store = pcall(require, "vcli.store")
    local dir = opts.store_dir or ((os.getenv("XDG_DATA_HOME") or ((os.getenv("HOME") or "/tmp") .. "/.local/share")) .. "/vcli/store")
    local senv = ok and store.open(dir)
    if senv then
      local db = senv:db("plugin:kubernetes")
      env.store = { get = function(k) return db:get(k) end, put = function(k, v) return db:put(k, v) end,
                    del = function(k) return db:del(k) end, keys = function(p) return db:keys(p) end }
    end
  end
  return env
end

-- Defines `k8s` (alias `kubernetes`). The session (store, kubeconfig) is made
-- on first use, so vcli's start-up pays only for loading the command specs.
function M.register(opts)
  opts = opts or {}
  M.setup_path()
  local vcli = require("vcli")
  local cmds = require("k8s.commands")
  local real
  local sess = setmetatable({}, { __index = function(_, k)
    if not real then
      real = require("k8s.session").new(M.env(opts), opts)
    end
    return real[k]
  end })
  if opts.eager then local _ = sess.env end
  local prev = vcli.owner
  vcli.owner = "plugin:kubernetes"
  for _, spec in ipairs(cmds.specs(sess)) do vcli.command(spec) end
  vcli.prompt_segment(function() return cmds.prompt(sess) end)
  vcli.owner = prev
  return sess
end

return M
