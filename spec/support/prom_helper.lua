-- Helpers for the prom specs: the Prometheus plugin as users run it —
-- through the plugin runtime, in its own Lua state with its manifest's
-- grants and a scratch store — against Debian's real Prometheus
-- (spec/support/prom) or a server that says what it was asked
-- (spec/support/prom_echo.py).
--   local H = dofile("spec/support/prom_helper.lua")
--   H.start()                      the plugin, afresh (a new Lua state: empty memory caches)
--   H.run(line) -> out, err, status            a command line in this process
--   H.eval(src, ...) -> results                Lua in the plugin's state (`...`: the arguments, copied in)
--   H.vcli(args[, env]) -> out, err, status    the real binary, with a scratch HOME
--   H.prom_start() -> url; H.prom_stop()       Debian's Prometheus
--   H.api(url, path) -> data                   the server's own answer (status success)
--   H.config{ key = value }; H.config_reset()  prometheus.* in vcli's configuration
--   H.echo_start() -> srv; srv:hits(); srv:stop()
local H = {}
local root = os.getenv("PWD")
require("vcli")
require("vcli.shell.builtins")
local shell = require("vcli.shell")
local pm = require("vcli.plugin")
local http = require("vcli.http")
local json = require("vcli.json")

H.store_dir = nil

function H.start()
  H.store_dir = H.store_dir or spec.tmpdir()
  local p = pm.get("prometheus")
  if not p or p.dir ~= root .. "/plugins/prometheus" then
    pm.discover({ { dir = root .. "/plugins", kind = "builtin" } })
  end
  pm.set_store_dir(H.store_dir)
  p = pm.get("prometheus")
  if p and p.state == "running" then pm.stop("prometheus", "respec") end
  local ok, err = pm.start("prometheus")
  assert(ok, err)
  return pm.get("prometheus")
end

function H.stop()
  pm.stop("prometheus", "spec done")
  if H.store_dir then spec.sh("rm -rf " .. H.store_dir) end
  H.store_dir = nil
end

function H.run(line)
  local status, out, err, perr = shell.capture(function() return shell.execute(line) end)
  if perr then error(perr, 2) end
  return out, err, status
end

-- a Lua literal for plain data
local function lit(v)
  local t = type(v)
  if t == "string" then return ("%q"):format(v) end
  if t == "number" then
    if v ~= v then return "(0/0)" elseif v == math.huge then return "math.huge" elseif v == -math.huge then return "-math.huge" end
    return ("%.17g"):format(v)
  end
  if t == "boolean" or t == "nil" then return tostring(v) end
  assert(t == "table", "H.eval: plain data expected, not " .. t)
  local parts = {}
  for k, x in pairs(v) do parts[#parts + 1] = "[" .. lit(k) .. "]=" .. lit(x) end
  return "{" .. table.concat(parts, ",") .. "}"
end

function H.eval(src, ...)
  local args = {}
  for i = 1, select("#", ...) do args[i] = lit((select(i, ...))) end
  local code = "return (function(...)\n" .. src .. "\nend)(" .. table.concat(args, ", ") .. ")"
  return pm.invoke(pm.get("prometheus"), "eval", code)
end

local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
H.shq = shq

-- the real binary, as a user starts it: a scratch HOME and XDG dirs (no
-- config file, an empty store); env: extra variables { NAME = value }
function H.vcli(args, env)
  local d = spec.tmpdir()
  local vars = { HOME = d, XDG_CONFIG_HOME = d .. "/config", XDG_STATE_HOME = d .. "/state",
                 XDG_CACHE_HOME = d .. "/cache", XDG_DATA_HOME = d .. "/data" }
  for k, v in pairs(env or {}) do vars[k] = v end
  local pre = {}
  for k, v in pairs(vars) do pre[#pre + 1] = k .. "=" .. shq(v) end
  local out, rc = spec.sh(("cd %s && env %s %s %s 2>%s/stderr"):format(root, table.concat(pre, " "), spec.vcli, args, d))
  local err = spec.read(d .. "/stderr") or ""
  spec.sh("rm -rf " .. d)
  return out, err, rc
end

-- ------------------------------------------------------------ Prometheus
function H.prom_start()
  local out, rc = spec.sh("spec/support/prom start")
  assert(rc == 0, "spec/support/prom start failed: " .. out)
  H.url, H.prom_dir = out:match("PROM_URL=(%S+)"), out:match("PROM_DIR=(%S+)")
  return H.url
end

function H.prom_stop()
  if H.prom_dir then spec.sh("spec/support/prom stop " .. H.prom_dir) end
  H.prom_dir = nil
end

function H.api(url, path)
  local res = assert(http.get(url .. path))
  assert(res.status == 200, path .. ": HTTP " .. tostring(res.status) .. ": " .. tostring(res.body))
  local doc = assert(json.decode(res.body))
  assert(doc.status == "success", path .. ": " .. tostring(res.body))
  return doc.data
end

function H.q(s) return (s:gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end)) end

function H.lines(s)
  local out = {}
  for l in s:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

-- -------------------------------------------------------- configuration
-- keys under prometheus (dotted below it: "tls.caFile"), in the layer an rc
-- file's vcli.config.set writes; the plugin reads them at its next command
function H.config(kv)
  local config = require("vcli.config")
  for k, v in pairs(kv) do config.set("prometheus." .. k, v) end
  assert(config.reload())
end

function H.config_reset()
  pcall(require("vcli.config").load, { quiet = true })
end

-- ------------------------------------------------------ the echo server
local Echo = {}
Echo.__index = Echo

-- A CA, a server certificate for 127.0.0.1 and prom.test, a client CA with
-- one client certificate (CN vcli-user), in dir.
local function make_certs(dir)
  spec.write(dir .. "/server.ext",
    "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:prom.test\nextendedKeyUsage=serverAuth\n")
  spec.write(dir .. "/client.ext", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
  local req = "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
  local sign = "openssl x509 -req -days 2 -CAcreateserial"
  local out, rc = spec.sh(table.concat({
    "cd " .. dir,
    req .. " -x509 -days 2 -keyout ca.key -out ca.crt -subj /CN=vcli-prom-test-ca",
    req .. " -keyout server.key -out server.csr -subj /CN=prom.test",
    sign .. " -in server.csr -CA ca.crt -CAkey ca.key -out server.crt -extfile server.ext",
    req .. " -x509 -days 2 -keyout client-ca.key -out client-ca.crt -subj /CN=vcli-prom-test-client-ca",
    req .. " -keyout client.key -out client.csr -subj /CN=vcli-user",
    sign .. " -in client.csr -CA client-ca.crt -CAkey client-ca.key -out client.crt -extfile client.ext",
  }, " && "))
  assert(rc == 0, "openssl: " .. out)
end

-- dir: where the certificates go (a path the plugin's fs.read grant covers,
-- for prometheus.tls.*: under HOME)
function H.echo_start(dir)
  make_certs(dir)
  local out = spec.sh(("python3 %s/spec/support/prom_echo.py --cert %s/server.crt --key %s/server.key"
    .. " --client-ca %s/client-ca.crt > %s/ports 2>&1 & echo $!"):format(root, dir, dir, dir, dir))
  local srv = setmetatable({ dir = dir, pid = assert(tonumber(out:match("%d+")), out) }, Echo)
  local ports = spec.eventually(function()
    local s = spec.read(dir .. "/ports")
    return s and s:find("\n") and json.decode(s), s
  end, 10000, "prom_echo.py's ports")
  srv.http = "http://127.0.0.1:" .. ports.http
  srv.https = "https://127.0.0.1:" .. ports.https
  srv.mtls = "https://127.0.0.1:" .. ports.mtls
  srv.ca, srv.cert, srv.key = dir .. "/ca.crt", dir .. "/client.crt", dir .. "/client.key"
  return srv
end

-- the requests recorded so far; with scenario, only those to /scenario/…
function Echo:hits(scenario)
  local res = assert(http.get(self.http .. "/hits"))
  local all = assert(json.decode(res.body))
  if not scenario then return all end
  local out = {}
  for _, h in ipairs(all) do
    if h.path:sub(1, #scenario + 2) == "/" .. scenario .. "/" then out[#out + 1] = h end
  end
  return out
end

function Echo:stop()
  if self.pid then spec.sh("kill " .. self.pid) end
  self.pid = nil
end

return H
