-- kubeconfig — reads kubeconfig files exactly as kubectl does and resolves a
-- context into what a client needs (server, TLS material, credentials).
--   local kc = kubeconfig.load(env, { kubeconfig = path_or_nil })   -- raises one-line errors
--   local conn = kubeconfig.resolve(env, kc, context_name_or_nil)
-- Every problem is one line naming the file, the line and the field:
--   /home/me/.kube/config:12: users[0].user.client-certificate: no such file /x/y.crt
-- env: { read_file(path) -> text|nil, err; yaml = vcli.yaml; getenv(name); file_exists(path) }
local util = require("k8s.util")

local M = {}

local function fail(msg) error(msg, 0) end

local function dirname(p) return p:match("^(.*)/[^/]*$") or "." end

local function abspath(base_file, p)
  if type(p) ~= "string" or p == "" then return p end
  if p:sub(1, 1) == "/" then return p end
  if p:sub(1, 2) == "~/" then return (util.home or "") .. p:sub(2) end
  return dirname(base_file) .. "/" .. p
end

-- The files kubectl would read, in order.
function M.files(env, explicit)
  if explicit and explicit ~= "" then return { explicit }, true end
  local kc = env.getenv("KUBECONFIG")
  if kc and kc ~= "" then
    local out, seen = {}, {}
    for p in kc:gmatch("[^:]+") do
      if not seen[p] then seen[p] = true; out[#out + 1] = p end
    end
    return out, false
  end
  return { (env.getenv("HOME") or "") .. "/.kube/config" }, false
end

local function display(env, path)
  local home = env.getenv("HOME")
  if home and home ~= "" and path:sub(1, #home + 1) == home .. "/" then return "~" .. path:sub(#home + 1) end
  return path
end

local PATH_FIELDS = {
  cluster = { ["certificate-authority"] = true },
  user = { ["client-certificate"] = true, ["client-key"] = true, tokenFile = true },
}

-- load(env, opts) -> kc = { files, clusters = {name -> entry}, users, contexts, current_context }
-- An entry: { name, data = table, file, line, index, section, lines }
function M.load(env, opts)
  opts = opts or {}
  local files, explicit = M.files(env, opts.kubeconfig)
  util.home = env.getenv("HOME")
  local kc = { files = files, clusters = {}, users = {}, contexts = {}, current_context = nil, order = {} }
  local found = 0
  for _, path in ipairs(files) do
    local text, rerr = env.read_file(path)
    if not text then
      if explicit then fail(("%s: cannot read the kubeconfig (%s)"):format(display(env, path), rerr or "no such file")) end
    else
      found = found + 1
      local name = display(env, path)
      local doc, lines = env.yaml.decode(text, name, { lines = true })
      if doc == nil and lines then fail(lines) end
      if doc ~= nil and doc ~= env.yaml.null then
        if type(doc) ~= "table" then fail(name .. ":1: kubeconfig: expected a mapping (apiVersion, clusters, users, contexts)") end
        local function line_of(t, k)
          local l = lines and lines[t]
          return l and (l[k] or l.__line) or 1
        end
        if kc.current_context == nil and type(doc["current-context"]) == "string" and doc["current-context"] ~= "" then
          kc.current_context = doc["current-context"]
          kc.current_context_file = path
        end
        for _, section in ipairs({ { "clusters", "cluster" }, { "users", "user" }, { "contexts", "context" } }) do
          local key, inner = section[1], section[2]
          local list = doc[key]
          if list ~= nil and list ~= env.yaml.null then
            if type(list) ~= "table" then
              fail(("%s:%d: %s: expected a list"):format(name, line_of(doc, key), key))
            end
            for i, item in ipairs(list) do
              local where = ("%s[%d]"):format(key, i - 1)
              if type(item) ~= "table" then
                fail(("%s:%d: %s: expected a mapping with name and %s"):format(name, line_of(list, i), where, inner))
              end
              if type(item.name) ~= "string" or item.name == "" then
                fail(("%s:%d: %s.name: is required"):format(name, line_of(item, "name"), where))
              end
              local data = item[inner]
              if data == nil or data == env.yaml.null then data = {} end
              if type(data) ~= "table" then
                fail(("%s:%d: %s.%s: expected a mapping"):format(name, line_of(item, inner), where, inner))
              end
              if not kc[key][item.name] then
                -- relative paths resolve against their own file
                for f in pairs(PATH_FIELDS[inner] or {}) do
                  if type(data[f]) == "string" then data[f] = abspath(path, data[f]) end
                end
                if inner == "user" and type(data.exec) == "table" and type(data.exec.command) == "string"
                  and data.exec.command:find("/") and data.exec.command:sub(1, 1) ~= "/" then
                  data.exec.command = abspath(path, data.exec.command)
                end
                kc[key][item.name] = { name = item.name, data = data, file = name, path = path,
                                       where = where .. "." .. inner, lines = lines, item = item, inner = inner }
                if key == "contexts" then kc.order[#kc.order + 1] = item.name end
              end
            end
          end
        end
      end
    end
  end
  if found == 0 and not explicit then
    kc.missing = true
  end
  return kc
end

local function line(e, field)
  local l = e.lines and e.lines[e.data]
  if l and l[field] then return l[field] end
  l = e.lines and e.lines[e.item]
  return l and (l[e.inner] or l.__line) or 1
end

local function efail(e, field, msg)
  fail(("%s:%d: %s.%s: %s"):format(e.file, line(e, field), e.where, field, msg))
end

local function readf(env, e, field)
  local p = e.data[field]
  if type(p) ~= "string" or p == "" then
    efail(e, field, "expected a file path, got " .. ((p == nil or p == env.yaml.null) and "nothing" or type(p)))
  end
  local text = env.read_file(p)
  if not text then efail(e, field, "no such file " .. p) end
  return text
end

local function b64(_, e, field)
  local s = e.data[field]
  if type(s) ~= "string" then efail(e, field, "expected base64 text") end
  local out = util.base64_decode(s)
  if not out then efail(e, field, "is not valid base64") end
  return out
end

function M.context_names(kc)
  local out = {}
  for n in pairs(kc.contexts) do out[#out + 1] = n end
  table.sort(out)
  return out
end

-- resolve(env, kc, context) -> conn
-- conn = { context, cluster_name, user_name, server, namespace, ca_pem, cert_pem, key_pem, insecure,
--          server_name, proxy, token, token_file, basic, exec = {…}, impersonate = {user, groups},
--          source = "file:line" }
local function assert_read(env, path)
  local text, err = env.read_file(path)
  if not text then fail(("error: unable to read certificate-authority %s: %s"):format(path, tostring(err))) end
  return text
end

function M.resolve(env, kc, ctxname, overrides)
  overrides = overrides or {}
  local files = table.concat(kc.files, ":")
  if kc.missing and not ctxname then
    fail(("no kubeconfig: %s does not exist (set KUBECONFIG or use --kubeconfig)"):format(display(env, kc.files[1])))
  end
  local name = ctxname or kc.current_context
  if not name or name == "" then
    fail(("%s: current-context: is not set (use 'k8s ctx NAME'; contexts: %s)"):format(files,
      table.concat(M.context_names(kc), ", ")))
  end
  local c = kc.contexts[name]
  if not c then
    local near = M.context_names(kc)
    if ctxname then
      fail(("%s: context \"%s\" does not exist (contexts: %s)"):format(files, name, table.concat(near, ", ")))
    end
    fail(("%s: current-context: context \"%s\" does not exist (contexts: %s)"):format(
      display(env, kc.current_context_file or kc.files[1]), name, table.concat(near, ", ")))
  end
  local cd = c.data
  -- --cluster / --user: another entry of the kubeconfig in the context's place (as kubectl's flags)
  if overrides.cluster or overrides.user then
    local copy = {}
    for k, v in pairs(cd) do copy[k] = v end
    if overrides.cluster then
      if not kc.clusters[overrides.cluster] then fail(("error: no server found for cluster %q"):format(overrides.cluster)) end
      copy.cluster = overrides.cluster
    end
    if overrides.user then
      if not kc.users[overrides.user] then fail(("error: auth info %q does not exist"):format(overrides.user)) end
      copy.user = overrides.user
    end
    cd = copy
  end
  local conn = { context = name, cluster_name = cd.cluster, user_name = cd.user }
  conn.namespace = overrides.namespace or (type(cd.namespace) == "string" and cd.namespace ~= "" and cd.namespace) or "default"
  if type(cd.cluster) ~= "string" or cd.cluster == "" then efail(c, "cluster", "is required") end
  local cl = kc.clusters[cd.cluster]
  if not cl then efail(c, "cluster", ("cluster \"%s\" does not exist"):format(cd.cluster)) end
  local d = cl.data
  if type(d.server) ~= "string" or d.server == "" then efail(cl, "server", "is required") end
  if not d.server:match("^https?://") then efail(cl, "server", ("\"%s\" is not an http(s) URL"):format(d.server)) end
  conn.server = d.server:gsub("/+$", "")
  if d["certificate-authority-data"] ~= nil then conn.ca_pem = b64(env, cl, "certificate-authority-data")
  elseif d["certificate-authority"] ~= nil then conn.ca_pem = readf(env, cl, "certificate-authority") end
  conn.insecure = d["insecure-skip-tls-verify"] == true
  if type(d["tls-server-name"]) == "string" and d["tls-server-name"] ~= "" then conn.server_name = d["tls-server-name"] end
  if type(d["proxy-url"]) == "string" and d["proxy-url"] ~= "" then conn.proxy = d["proxy-url"] end
  conn.disable_compression = d["disable-compression"] == true
  conn.source = ("%s (context %s)"):format(c.file, name)

  if cd.user ~= nil and cd.user ~= "" then
    local ue = kc.users[cd.user]
    if not ue then efail(c, "user", ("user \"%s\" does not exist"):format(tostring(cd.user))) end
    local u = ue.data
    if u["client-certificate-data"] ~= nil then conn.cert_pem = b64(env, ue, "client-certificate-data")
    elseif u["client-certificate"] ~= nil then conn.cert_pem = readf(env, ue, "client-certificate") end
    if u["client-key-data"] ~= nil then conn.key_pem = b64(env, ue, "client-key-data")
    elseif u["client-key"] ~= nil then conn.key_pem = readf(env, ue, "client-key") end
    if conn.cert_pem and not conn.key_pem then
      efail(ue, u["client-certificate"] and "client-certificate" or "client-certificate-data",
        "a client certificate needs client-key or client-key-data")
    end
    if conn.key_pem and not conn.cert_pem then
      efail(ue, u["client-key"] and "client-key" or "client-key-data", "a client key needs client-certificate or client-certificate-data")
    end
    if type(u.token) == "string" and u.token ~= "" then conn.token = u.token
    elseif type(u.tokenFile) == "string" and u.tokenFile ~= "" then
      conn.token_file = u.tokenFile
      local t = readf(env, ue, "tokenFile")
      conn.token = t:match("^%s*(.-)%s*$")
    end
    if type(u.username) == "string" and type(u.password) == "string" then conn.basic = { u.username, u.password } end
    if u["auth-provider"] ~= nil then
      efail(ue, "auth-provider", "auth providers were removed from kubectl; use an exec credential plugin (e.g. kubelogin)")
    end
    if u.exec ~= nil then
      local x = u.exec
      if type(x) ~= "table" then efail(ue, "exec", "expected a mapping (apiVersion, command, args, env)") end
      local xe = { data = x, lines = ue.lines, file = ue.file, where = ue.where .. ".exec", item = ue.data, inner = "exec" }
      if type(x.command) ~= "string" or x.command == "" then efail(xe, "command", "is required") end
      local av = x.apiVersion
      if av ~= "client.authentication.k8s.io/v1" and av ~= "client.authentication.k8s.io/v1beta1" then
        efail(xe, "apiVersion", ("\"%s\" is not supported (client.authentication.k8s.io/v1 or v1beta1)"):format(tostring(av)))
      end
      local envs = {}
      if type(x.env) == "table" then
        for i, kv in ipairs(x.env) do
          if type(kv) ~= "table" or type(kv.name) ~= "string" then efail(xe, "env", ("entry %d needs name and value"):format(i - 1)) end
          envs[#envs + 1] = { kv.name, tostring(kv.value == env.yaml.null and "" or kv.value or "") }
        end
      end
      local args = {}
      if type(x.args) == "table" then for i, a in ipairs(x.args) do args[i] = tostring(a) end end
      conn.exec = { command = x.command, args = args, env = envs, api_version = av,
                    provide_cluster_info = x.provideClusterInfo == true, install_hint = x.installHint,
                    where = ("%s:%d: %s.exec"):format(ue.file, line(ue, "exec"), ue.where),
                    cluster = { server = conn.server, ["insecure-skip-tls-verify"] = conn.insecure or nil,
                                ["tls-server-name"] = conn.server_name, ["proxy-url"] = conn.proxy,
                                ["disable-compression"] = conn.disable_compression or nil,
                                ["certificate-authority-data"] = conn.ca_pem and util.base64_encode(conn.ca_pem) or nil } }
    end
    if type(u.as) == "string" and u.as ~= "" then
      conn.impersonate = { user = u.as, groups = type(u["as-groups"]) == "table" and u["as-groups"] or {},
                           uid = type(u["as-uid"]) == "string" and u["as-uid"] ~= "" and u["as-uid"] or nil }
    end
  end
  -- --server, --token, --insecure-skip-tls-verify, --certificate-authority, --tls-server-name: over
  -- the kubeconfig's, for this command (a token replaces the user's credentials but a client certificate)
  if overrides.server then
    if not overrides.server:match("^https?://") then fail(("error: --server %q is not an http(s) URL"):format(overrides.server)) end
    conn.server = overrides.server:gsub("/+$", "")
  end
  if overrides.insecure then conn.insecure, conn.ca_pem = true, nil end
  if overrides.ca_file then conn.ca_pem = env.read_file and assert_read(env, overrides.ca_file) or nil end
  if overrides.server_name then conn.server_name = overrides.server_name end
  if overrides.disable_compression then conn.disable_compression = true end
  if overrides.token then conn.token, conn.token_file, conn.basic, conn.exec = overrides.token, nil, nil, nil end
  -- --as, --as-group, --as-uid: the identity every request of the command is made as; groups
  -- or a uid without a user is refused (as kubectl), never dropped
  local groups = overrides.as_groups and #overrides.as_groups > 0 and overrides.as_groups or nil
  if overrides.as and overrides.as ~= "" then
    conn.impersonate = { user = overrides.as, groups = groups or {}, uid = overrides.as_uid }
  elseif groups or overrides.as_uid then
    error(("--as-group/--as-uid given without --as: requesting %s without impersonating a user"):format(
      groups and ("groups " .. table.concat(groups, ",")) or ("uid " .. overrides.as_uid)), 0)
  end
  return conn
end

return M
