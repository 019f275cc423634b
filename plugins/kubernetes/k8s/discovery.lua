-- k8s.discovery — what resources the server serves (/api, /apis), cached in
-- the store with a TTL, and kubectl's rules for resolving "po", "deploy",
-- "deployments.apps", "Pod" to one resource.
local M = {}
local TTL_S = 600

local D = {}
D.__index = D

function M.new(env, client, cache)
  return setmetatable({ env = env, client = client, cache = cache }, D)
end

local function add(list, gv, group, version, r)
  if r.name:find("/") then return end
  list[#list + 1] = { name = r.name, singular = (r.singularName ~= "" and r.singularName) or r.kind:lower(), kind = r.kind,
    namespaced = r.namespaced, shortNames = r.shortNames or {}, verbs = r.verbs or {}, group = group,
    version = version, gv = gv, categories = r.categories or {} }
end

-- Aggregated discovery (Kubernetes 1.26+): /api and /apis answer every
-- group's resources in one document each when asked for it; older servers
-- answer the plain lists and each group version is fetched on its own.
M.AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
  .. "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
M.FETCH_PARALLEL = 8

-- A group's resources as kubectl sees them: those of its preferred version,
-- then those only another version serves (batch/v1beta1 cronjobs next to
-- batch/v1 jobs), each from the first version listing it.
-- versions: { {gv=, version=, resources={APIResource…}}… }, preferred first
local function add_group(out, group, versions)
  local seen = {}
  for _, v in ipairs(versions) do
    for _, r in ipairs(v.resources or {}) do
      if type(r.name) == "string" and not seen[r.name] then
        seen[r.name] = true
        add(out, v.gv, group, v.version, r)
      end
    end
  end
end

-- resources of an APIGroupDiscoveryList into out; false when doc is not one
function M.from_aggregated(doc, out)
  if type(doc) ~= "table" or doc.kind ~= "APIGroupDiscoveryList" then return false end
  for _, g in ipairs(doc.items or {}) do
    local group = type(g.metadata) == "table" and g.metadata.name or ""
    local versions = {}
    for _, v in ipairs(type(g.versions) == "table" and g.versions or {}) do
      if type(v) == "table" and v.version then
        local rs = {}
        for _, r in ipairs(v.resources or {}) do
          if type(r.resource) == "string" then
            rs[#rs + 1] = { name = r.resource, singularName = r.singularResource or "",
              kind = type(r.responseKind) == "table" and r.responseKind.kind or "", namespaced = r.scope == "Namespaced",
              shortNames = r.shortNames, verbs = r.verbs, categories = r.categories }
          end
        end
        versions[#versions + 1] = { gv = group == "" and v.version or (group .. "/" .. v.version), version = v.version,
          resources = rs }
      end
    end
    add_group(out, group, versions)
  end
  return true
end

-- fetch everything live: two requests where discovery is aggregated, else
-- /api/v1 and each group's preferred version (several in flight)
function D:fetch()
  local c, env = self.client, self.env
  local out = {}
  local core, err, kind = c:get_json("/api", M.AGGREGATED)
  if not core then return nil, err, kind end
  if not M.from_aggregated(core, out) then
    core, err, kind = c:get_json("/api/v1")
    if not core then return nil, err, kind end
    for _, r in ipairs(core.resources or {}) do add(out, "v1", "", "v1", r) end
  end
  local apis, err2, kind2 = c:get_json("/apis", M.AGGREGATED)
  if not apis then return nil, err2, kind2 end
  if M.from_aggregated(apis, out) then return out end
  -- every version of every group (the preferred one first), in the order
  -- of /apis: the order kubectl resolves names in
  local todo, groups = {}, {}
  for _, g in ipairs(apis.groups or {}) do
    local pv = g.preferredVersion and g.preferredVersion.groupVersion or (g.versions[1] and g.versions[1].groupVersion)
    local vs = {}
    if pv then vs[1] = pv end
    for _, v in ipairs(g.versions or {}) do if v.groupVersion ~= pv then vs[#vs + 1] = v.groupVersion end end
    local entry = { group = g.name, versions = {} }
    groups[#groups + 1] = entry
    for _, gv in ipairs(vs) do
      local v = { gv = gv, version = gv:match("[^/]+$") }
      entry.versions[#entry.versions + 1] = v
      todo[#todo + 1] = v
    end
  end
  local nexti = 1
  local function worker()
    while nexti <= #todo do
      local i = nexti
      nexti = i + 1
      local rl = c:get_json("/apis/" .. todo[i].gv)
      todo[i].resources = rl and rl.resources or {}
    end
  end
  if env.go then
    local tasks = {}
    for w = 1, math.min(M.FETCH_PARALLEL, #todo) do tasks[w] = env.go(worker) end
    for _, t in ipairs(tasks) do t.wait() end
  else
    worker()
  end
  for _, g in ipairs(groups) do add_group(out, g.group, g.versions) end
  return out
end

-- resources(force) -> list | nil, err; from the cache when fresh
function D:resources(force)
  if self.list and not force then return self.list end
  local key = "disc:" .. self.client.conn.server
  if not force and self.cache then
    local entry = self.cache:get_raw(key)
    if entry then
      local v = self.env.json.decode(entry)
      if v and v.resources then
        self.list, self.at = v.resources, v.at
        if (self.env.time() - v.at) > TTL_S then self.stale = true end
        return self.list
      end
    end
  end
  local list, err, kind = self:fetch()
  if not list then
    if self.list then return self.list end
    return nil, err, kind
  end
  self.list, self.at, self.stale = list, self.env.time(), false
  if self.cache then self.cache:put_raw(key, self.env.json.encode({ at = self.at, resources = list })) end
  return list
end

-- Refresh a stale cache (called after a command has answered).
function D:refresh_if_stale()
  if self.stale then self.stale = false; self:resources(true) end
end

local function matches(r, word)
  if r.name == word or r.singular == word or r.kind:lower() == word then return true end
  for _, s in ipairs(r.shortNames) do if s == word then return true end end
  return false
end

-- resolve("po") -> resource | nil, err
-- a resource of group at another version than the one discovery keeps
-- (hpa.v2beta2.autoscaling next to autoscaling/v2): that version's list
function D:at_version(word, group, version)
  local gv = group == "" and version or (group .. "/" .. version)
  self.versions = self.versions or {}
  local l = self.versions[gv]
  if l == nil then
    local doc = self.client:get_json(group == "" and ("/api/" .. version) or ("/apis/" .. gv))
    l = {}
    for _, r in ipairs(type(doc) == "table" and type(doc.resources) == "table" and doc.resources or {}) do
      if type(r) == "table" and type(r.name) == "string" then add(l, gv, group, version, r) end
    end
    self.versions[gv] = l
  end
  for _, r in ipairs(l) do if matches(r, word) then return r end end
end

function D:resolve(word)
  local lw = word:lower()
  local list, err, kind = self:resources()
  if not list then return nil, err, kind end
  -- kubectl's RESOURCE.VERSION.GROUP first (deployments.v1.apps, pods.v1.,
  -- hpa.v2beta2.autoscaling), then RESOURCE.GROUP (deploy.apps, widgets.example.com)
  local res3, ver, grp = lw:match("^([^.]+)%.(v%d+[%w]*)%.(.*)$")
  if res3 then
    for _, r in ipairs(list) do
      if matches(r, res3) and r.group == grp then
        if r.version == ver then return r end
        local other = self:at_version(res3, grp, ver)
        if other then return other end
      end
    end
  end
  local res_name, group = lw:match("^([^.]+)%.(.+)$")
  local function find(l)
    for _, r in ipairs(l) do
      if res_name then
        if matches(r, res_name) and (r.group == group or r.group:sub(1, #group) == group) then return r end
      elseif matches(r, lw) then return r end
    end
  end
  local r = find(list)
  if not r and not self.fresh_tried and not self.stale_checked then
    -- a CRD created since the cache was written: refresh once
    self.fresh_tried = true
    local l2 = self:resources(true)
    if l2 then r = find(l2) end
  end
  if not r then
    return nil, ("error: the server doesn't have a resource type \"%s\""):format(word), "http"
  end
  -- a short name another group's type also has: kubectl's warning (the first one wins, as here)
  if not res_name and lw ~= r.name and lw ~= r.singular then
    local warn = self.client and self.client.opts and self.client.opts.on_warning
    if warn then
      for _, o in ipairs(list) do
        if o ~= r and o.group ~= r.group and not o.name:find("/") then
          for _, sn in ipairs(o.shortNames or {}) do
            if sn == lw then
              warn(('short name "%s" could also match lower priority resource %s.%s'):format(lw, o.name, o.group))
              return r
            end
          end
        end
      end
    end
  end
  return r
end

-- the resources of a category ("all": pods, services, deployments…), in
-- discovery's order, as kubectl expands `get all`; {} when none
function D:category(word)
  local out = {}
  for _, r in ipairs(self:resources() or {}) do
    for _, cat in ipairs(r.categories or {}) do
      if cat == word then out[#out + 1] = r; break end
    end
  end
  return out
end

-- names for completion: plurals, short names and categories (all)
function D:type_names()
  local list = self:resources() or {}
  local out, seen = {}, {}
  local function put(s) if s and s ~= "" and not seen[s] then seen[s] = true; out[#out + 1] = s end end
  for _, r in ipairs(list) do
    put(r.name)
    for _, s in ipairs(r.shortNames) do put(s) end
    for _, cat in ipairs(r.categories or {}) do put(cat) end
  end
  table.sort(out)
  return out
end

-- URL path of a resource collection (or one object)
function M.path(r, ns, name)
  local base = r.group == "" and "/api/v1" or ("/apis/" .. r.gv)
  local p = base
  if r.namespaced and ns then p = p .. "/namespaces/" .. ns end
  p = p .. "/" .. r.name
  if name then p = p .. "/" .. name end
  return p
end

-- "pod", "deployment.apps": kubectl's -o name prefix
function M.kind_prefix(r)
  return r.kind:lower() .. (r.group ~= "" and ("." .. r.group) or "")
end

return M
