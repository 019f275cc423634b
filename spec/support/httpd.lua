-- The test HTTP(S) server of the specs (spec/support/httpd.py) with a fresh
-- CA: a server certificate for 127.0.0.1 and kube.test (CA in certs/ca.crt)
-- and a client CA with one client certificate (CN vcli-user).
--   local srv = dofile("spec/support/httpd.lua").start(dir)
--   srv.base / srv.sbase / srv.mbase   http, https, https requiring a client cert
--   srv.pem.ca / .cert / .key          PEM text; files are in dir
--   srv:stop()
local cjson = require("cjson")
local M = {}
M.__index = M

local function sh(cmd)
  local out, rc = spec.sh(cmd)
  if rc ~= 0 then error(("command failed (%d): %s\n%s"):format(rc, cmd, out), 3) end
  return out
end

local function make_certs(dir)
  spec.write(dir .. "/server.ext",
    "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:kube.test\nextendedKeyUsage=serverAuth\n")
  spec.write(dir .. "/client.ext", "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
  local req = "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
  local sign = "openssl x509 -req -days 2 -CAcreateserial"
  sh(table.concat({
    "cd " .. dir, "mkdir -p certs",
    req .. " -x509 -days 2 -keyout ca.key -out certs/ca.crt -subj /CN=vcli-test-ca",
    req .. " -keyout server.key -out server.csr -subj /CN=kube.test",
    sign .. " -in server.csr -CA certs/ca.crt -CAkey ca.key -out server.crt -extfile server.ext",
    req .. " -x509 -days 2 -keyout client-ca.key -out client-ca.crt -subj /CN=vcli-test-client-ca",
    req .. " -keyout client.key -out client.csr -subj /CN=vcli-user",
    sign .. " -in client.csr -CA client-ca.crt -CAkey client-ca.key -out client.crt -extfile client.ext",
  }, " && "))
  return { ca = spec.read(dir .. "/certs/ca.crt"), cert = spec.read(dir .. "/client.crt"),
           key = spec.read(dir .. "/client.key") }
end

-- Certificates in dir, then the server on free ports; waits until it listens.
function M.start(dir)
  local srv = setmetatable({ dir = dir, pem = make_certs(dir) }, M)
  srv.pid = tonumber(sh(("python3 %s/spec/support/httpd.py --cert %s/server.crt --key %s/server.key"
    .. " --client-ca %s/client-ca.crt --parent $PPID >%s/ports 2>%s/httpd.log </dev/null & echo $!")
    :format(spec.root, dir, dir, dir, dir, dir)))
  srv.ports = spec.eventually(function()
    local s = spec.read(dir .. "/ports")
    return s and s:find("\n") and cjson.decode(s)
  end, 10000, "httpd to start")
  srv.base = "http://127.0.0.1:" .. srv.ports.http
  srv.sbase = "https://127.0.0.1:" .. srv.ports.https
  srv.mbase = "https://127.0.0.1:" .. srv.ports.mtls
  return srv
end

-- Stop the server by its PID.
function M:stop()
  if self.pid then os.execute("kill " .. self.pid .. " 2>/dev/null") end
  self.pid = nil
end

return M
