-- k8s.session — the session's kubeconfig, context and namespace, and the
-- clients/discovery per context. One per vcli process (or per spec).
local kubeconfig = require("k8s.kubeconfig")
local client_mod = require("k8s.client")
local discovery = require("k8s.discovery")
local cache_mod = require("k8s.cache")

local M = {}
local S = {}
S.__index = S

function M.new(env, opts)
  opts = opts or {}
  local s = setmetatable({ env = env, kubeconfig = opts.kubeconfig, context = opts.context, namespaces = {},
    clients = {}, discos = {}, readonly = opts.readonly or false, readonly_contexts = opts.readonly_contexts or {},
    policy_of = opts.policy, client_opts = opts.client_opts, prometheus = opts.prometheus }, S)
  -- offline answers come from the cache unless config says offline.enabled: false
  -- and nothing stays longer than offline.cacheTTL, nor past offline.cacheSize
  s.cache = cache_mod.new(env, { offline = function(ctx) return s:policy({ context = ctx }).offline ~= false end,
    limits = function()
      local pol = s:policy({})
      return pol.cache_ttl, pol.cache_size
    end })
  return s
end

-- the merged kubeconfig (re-read when a file changed is not tracked: reload with `k8s ctx --reload`)
function S:kc(flags)
  local path = flags and flags.kubeconfig or self.kubeconfig
  if path ~= self.kc_path or not self.kc_data then
    self.kc_data = kubeconfig.load(self.env, { kubeconfig = path })
    self.kc_path = path
    self.clients, self.discos = {}, {}
  end
  return self.kc_data
end

function S:reload()
  self.kc_data = nil
  self.clients, self.discos = {}, {}
  client_mod.forget_credentials()
end

-- conn(flags) -> conn for --context / session context, with the namespace:
-- -n, else `k8s ns`, else config (the cluster's entry, kubernetes.namespace),
-- else the kubeconfig context's
function S:conn(flags)
  flags = flags or {}
  local kc = self:kc(flags)
  local ctx = flags.context or self.context
  local conn = kubeconfig.resolve(self.env, kc, ctx, { as = flags.as, as_groups = flags["as-group"],
    as_uid = flags["as-uid"], cluster = flags.cluster, user = flags.user, server = flags.server, token = flags.token,
    insecure = flags["insecure-skip-tls-verify"] == true, ca_file = flags["certificate-authority"],
    server_name = flags["tls-server-name"], disable_compression = flags["disable-compression"] == true })
  -- (a client of its own for a command that names other endpoints or credentials)
  local o = {}
  for _, k in ipairs({ "cluster", "user", "server", "token", "insecure-skip-tls-verify", "certificate-authority",
                       "tls-server-name", "disable-compression" }) do
    if flags[k] ~= nil and flags[k] ~= false then o[#o + 1] = k .. "=" .. tostring(flags[k]) end
  end
  conn.override_key = #o > 0 and table.concat(o, "\0") or nil
  local ns = flags.namespace or self.namespaces[conn.context] or self:policy(conn).namespace
  if ns then conn.namespace = ns end
  -- --readonly on this command line (before or after the verb): this command only
  conn.readonly_flag = flags.readonly == true
  return conn
end

-- the identity a client speaks as: one client per context and identity
local function identity_key(conn)
  local im = conn.impersonate
  if not im then return "" end
  return im.user .. "\0" .. table.concat(im.groups or {}, "\0") .. "\0" .. (im.uid or "")
end

function S:client(flags)
  local conn = self:conn(flags)
  -- --request-timeout overrides kubernetes.requestTimeout for this command (0: none)
  local rt = flags and flags["request-timeout"]
  local key = conn.context .. "|" .. identity_key(conn) .. (rt and ("|" .. rt) or "")
    .. (conn.override_key and ("|" .. conn.override_key) or "")
  local c = self.clients[key]
  if not c then
    -- rate and timeout from config (kubernetes.qps, burst, requestTimeout);
    -- a config change drops the clients (reload), so the next one has the new values
    local opts = self.client_opts and self.client_opts() or nil
    if rt then
      local o = {}
      for k, v in pairs(opts or {}) do o[k] = v end
      o.timeout_ms = rt > 0 and math.max(1, math.floor(rt * 1000)) or 0   -- 0: never
      opts = o
    end
    c = client_mod.new(self.env, conn, opts)
    self.clients[key] = c
  end
  c.conn.namespace = conn.namespace
  return c, conn
end

function S:discovery(c)
  local d = self.discos[c.conn.context]
  if not d then
    d = discovery.new(self.env, c, self.cache)
    self.discos[c.conn.context] = d
  end
  return d
end

-- config's word on a context: { readonly, page_size } (k8s.plugin_env.cluster_policy)
function S:policy(conn)
  return self.policy_of and self.policy_of(conn.context) or {}
end

-- delete asks first in the shell unless security.confirmDestructive is false
function S:asks_first(conn)
  return self:policy(conn).confirm ~= false
end

function S:is_readonly(conn)
  return self.readonly or conn.readonly_flag or self.readonly_contexts[conn.context] == true or self:policy(conn).readonly == true
end

-- objects per list request: --chunk-size, else the cluster's resources.pageSize, else 500 (kubectl's);
-- 0 means one request for the whole list
function S:chunk_size(conn, flags)
  local n = flags and flags["chunk-size"] or self:policy(conn).page_size or 500
  return n > 0 and n or nil
end

return M
