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

-- fetch everything live (sequential GETs over one keep-alive connection)
function D:fetch()
  local c = self.client
  local out = {}
  local core, err, kind = c:get_json("/api/v1")
  if not core then return nil, err, kind end
  for _, r in ipairs(core.resources or {}) do add(out, "v1", "", "v1", r) end
  local apis, err2, kind2 = c:get_json("/apis")
  if not apis then return nil, err2, kind2 end
  for _, g in ipairs(apis.groups or {}) do
    local pv = g.preferredVersion and g.preferredVersion.groupVersion or (g.versions[1] and g.versions[1].groupVersion)
    if pv then
      local rl = c:get_json("/apis/" .. pv)
      if rl then
        for _, r in ipairs(rl.resources or {}) do add(out, pv, g.name, pv:match("[^/]+$"), r) end
      end
    end
  end
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
function D:resolve(word)
  local lw = word:lower()
  local list, err, kind = self:resources()
  if not list then return nil, err, kind end
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
  return r
end

-- names for completion: plurals, singulars and short names
function D:type_names()
  local list = self:resources() or {}
  local out, seen = {}, {}
  local function put(s) if s and s ~= "" and not seen[s] then seen[s] = true; out[#out + 1] = s end end
  for _, r in ipairs(list) do
    put(r.name)
    for _, s in ipairs(r.shortNames) do put(s) end
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
