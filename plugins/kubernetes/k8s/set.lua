-- k8s.set — kubectl set image | env | resources, natively: TYPE/NAME… (or TYPE NAME…,
-- -l, --all) and what to change, through the pod template of pods, deployments,
-- replica sets, replication controllers, daemon sets, stateful sets, jobs and cron
-- jobs; a strategic merge patch of the containers (and init containers) touched,
-- "image updated" / "env updated" / "resource requirements updated" as kubectl says
-- it, nothing said when nothing changes; --dry-run, -o name|yaml|json|jsonpath=.
local discovery = require("k8s.discovery")
local util = require("k8s.util")

local M = {}

-- where the pod spec is, as a path of keys
local function pod_spec_path(kind)
  if kind == "Pod" then return { "spec" } end
  if kind == "CronJob" then return { "spec", "jobTemplate", "spec", "template", "spec" } end
  return { "spec", "template", "spec" }
end

local SETTABLE = { Pod = true, Deployment = true, ReplicaSet = true, ReplicationController = true, DaemonSet = true,
                   StatefulSet = true, Job = true, CronJob = true }

local function fail(msg) error(msg, 0) end

-- the objects named: TYPE/NAME…, TYPE NAME…, or TYPE with -l / --all
local function objects_of(sess, ctx, V, c, conn, targets)
  local f = ctx.flags
  if f.selector or f.all then
    if #targets ~= 1 then fail("error: one TYPE with -l or --all") end
    local r, err = sess:discovery(c):resolve(targets[1])
    if not r then fail(err) end
    local ns = r.namespaced and conn.namespace or nil
    local list, lerr = c:get_json(discovery.path(r, ns) .. util.query({ labelSelector = f.selector }))
    if not list then fail(lerr) end
    local ts = {}
    for _, it in ipairs(list.items or {}) do ts[#ts + 1] = { r = r, name = it.metadata.name } end
    return ts
  end
  return V.targets_of(sess, ctx, targets)
end

-- For each object: change(obj, pod spec, object's "kind/name") -> the containers' patch
-- entries by list ("containers", "initContainers") or nil when nothing changes; then
-- the patch sent (or, dry run, the object changed in place) and `word` said.
local function each(sess, ctx, V, verb, targets, word, change)
  local env, f = sess.env, ctx.flags
  local c, conn = sess:client(f)
  local dry = V.dry_run(f)
  if not dry and not f.list then V.guard(sess, conn, "set " .. verb) end
  local fmt = f.output
  for _, t in ipairs(objects_of(sess, ctx, V, c, conn, targets)) do
    if not SETTABLE[t.r.kind] then
      fail(("error: %s/%s: set %s works on pods and what makes them (deployments, daemon sets…)"):format(
        discovery.kind_prefix(t.r), t.name, verb))
    end
    local ns = t.r.namespaced and conn.namespace or nil
    local path = discovery.path(t.r, ns, t.name)
    local obj, err = c:get_json(path)
    if not obj then fail(err) end
    local spec = obj
    for _, k in ipairs(pod_spec_path(t.r.kind)) do spec = type(spec) == "table" and spec[k] or nil end
    spec = type(spec) == "table" and spec or {}
    local what = discovery.kind_prefix(t.r) .. "/" .. t.name
    local lists = change(obj, spec, what, t)
    if lists then
      local body = lists
      local keys = pod_spec_path(t.r.kind)
      for i = #keys, 1, -1 do body = { [keys[i]] = body } end
      if dry ~= "client" then
        local res, perr = c:request{ method = "PATCH", path = path .. util.query({ dryRun = dry == "server" and "All" or nil }),
          body = env.json.encode(body), content_type = "application/strategic-merge-patch+json",
          accept = "application/json", timeout_ms = 30000 }
        if not res then fail(perr) end
        obj = env.json.decode(res.body)
      end
      if fmt then V.print_object(env, ctx, fmt, obj, what)
      else
        local suffix = dry == "client" and " (dry run)" or dry == "server" and " (server dry run)" or ""
        ctx.out(what .. " " .. word .. suffix .. "\n")
      end
    end
  end
  return 0
end

-- the containers a -c selector names ("*" or a glob; every one by default), init containers first
local function containers_of(spec, sel)
  local out = {}
  local pat = sel and sel ~= "*" and ("^" .. sel:gsub("[%^%$%(%)%%%.%[%]%+%-%?]", "%%%0"):gsub("%*", ".*") .. "$") or nil
  for _, field in ipairs({ "initContainers", "containers" }) do
    for _, ct in ipairs(type(spec[field]) == "table" and spec[field] or {}) do
      if not pat or tostring(ct.name):match(pat) then out[#out + 1] = { field = field, ct = ct } end
    end
  end
  return out
end

local function split_words(ctx)
  local words = {}
  for _, a in ipairs(ctx.args.items or {}) do words[#words + 1] = a end
  return words
end

-- ---------------------------------------------------------------- image
function M.image(sess, ctx, V)
  local env = sess.env
  -- the CONTAINER=IMAGE pairs are the words with "="; the others name the objects
  local sets, targets = {}, {}
  for _, w in ipairs(split_words(ctx)) do
    local k, v = w:match("^([^=]+)=(.+)$")
    if k then sets[#sets + 1] = { name = k, image = v } else targets[#targets + 1] = w end
  end
  if #sets == 0 then fail("error: at least one image update is required") end
  return each(sess, ctx, V, "image", targets, "image updated", function(_, spec)
    local patch_lists, changed = {}, false
    for _, s in ipairs(sets) do
      local found = false
      for _, field in ipairs({ "initContainers", "containers" }) do
        for _, ct in ipairs(type(spec[field]) == "table" and spec[field] or {}) do
          if s.name == "*" or ct.name == s.name then
            found = true
            if ct.image ~= s.image then
              changed = true
              ct.image = s.image
              patch_lists[field] = patch_lists[field] or setmetatable({}, env.json.array_mt)
              table.insert(patch_lists[field], { name = ct.name, image = s.image })
            end
          end
        end
      end
      if not found then fail(("error: unable to find container named %q"):format(s.name)) end
    end
    return changed and patch_lists or nil
  end)
end

-- ---------------------------------------------------------------- env
local VALID_ENV = "^[%-%._a-zA-Z][%-%._a-zA-Z0-9]*$"

-- kubectl's --list lines for one variable
local function env_line(e)
  local vf = type(e.valueFrom) == "table" and e.valueFrom or nil
  if not vf then return ("%s=%s"):format(e.name, tostring(e.value or "")) end
  if vf.configMapKeyRef then return ("# %s from configmap %s, key %s"):format(e.name, vf.configMapKeyRef.name, vf.configMapKeyRef.key) end
  if vf.secretKeyRef then return ("# %s from secret %s, key %s"):format(e.name, vf.secretKeyRef.name, vf.secretKeyRef.key) end
  if vf.fieldRef then return ("# %s from field path %s"):format(e.name, vf.fieldRef.fieldPath) end
  if vf.resourceFieldRef then return ("# %s from resource %s"):format(e.name, vf.resourceFieldRef.resource) end
  return ("# %s from a source"):format(e.name)
end

function M.env(sess, ctx, V)
  local env, f = sess.env, ctx.flags
  local null = env.json.null
  -- KEY=VALUE sets, KEY- removes; the other words name the objects
  local sets, removes, targets = {}, {}, {}
  local function add_pair(w)
    local k, v = w:match("^([^=]+)=(.*)$")
    if not k then return false end
    if not k:match(VALID_ENV) then
      fail(('error: "%s" is not a valid key name: a valid environment variable name must consist of alphabetic characters,'
        .. " digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or"
        .. " 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"):format(k))
    end
    sets[#sets + 1] = { name = k, value = v }
    return true
  end
  for _, w in ipairs(split_words(ctx)) do
    if not add_pair(w) then
      if w:match("^[%w%-%._]+%-$") and #targets > 0 then removes[#removes + 1] = w:sub(1, -2)
      else targets[#targets + 1] = w end
    end
  end
  for _, e in ipairs(f.env or {}) do
    if not add_pair(e) then fail(("error: environment variables must be of the form key=value: %s"):format(e)) end
  end
  -- --from=configmap/NAME | secret/NAME: each key (--keys: those) as a reference, --prefix before it
  local from
  if f.from then
    local kind, name = f.from:match("^([^/]+)/(.+)$")
    kind = kind and kind:lower()
    if kind == "cm" or kind == "configmaps" then kind = "configmap" end
    if kind == "secrets" then kind = "secret" end
    if kind ~= "configmap" and kind ~= "secret" then
      fail(("error: unsupported resource specified in --from: %s (configmap/NAME or secret/NAME)"):format(f.from))
    end
    from = { kind = kind, name = name }
  end
  if #sets == 0 and #removes == 0 and not from and not f.list then
    fail("error: at least one environment variable must be provided")
  end
  local from_vars
  local function resolve_from(c, conn)
    if not from or from_vars then return end
    from_vars = {}
    local r = { group = "", gv = "v1", name = from.kind .. "s", namespaced = true,
                kind = from.kind == "configmap" and "ConfigMap" or "Secret" }
    local src, err = c:get_json(discovery.path(r, conn.namespace, from.name))
    if not src then fail(err) end
    local keys = {}
    local want
    if f.keys then want = {} for k in tostring(f.keys):gmatch("[^,]+") do want[k] = true end end
    for _, field in ipairs({ "data", "binaryData" }) do
      for k in pairs(type(src[field]) == "table" and src[field] or {}) do
        if not want or want[k] then keys[#keys + 1] = k end
      end
    end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local name = k:gsub("[^%w_]", "_"):upper()
      if name ~= k then ctx.err(("Warning: key %s transferred to %s\n"):format(k, name)) end
      local ref = { key = k, name = from.name }
      from_vars[#from_vars + 1] = { name = (f.prefix or "") .. name,
        valueFrom = from.kind == "configmap" and { configMapKeyRef = ref } or { secretKeyRef = ref } }
    end
  end
  local function mutate(obj, spec, t)
    local c, conn = sess:client(f)
    resolve_from(c, conn)
    local selected = containers_of(spec, f.containers)
    if #selected == 0 then
      ctx.err(("Warning: %s/%s does not have any containers matching %q\n"):format(t.r.kind, t.name, tostring(f.containers)))
      return nil
    end
    local lists, changed = {}, false
    for _, sel in ipairs(selected) do
      local ct = sel.ct
      local cur = {}
      for _, e in ipairs(type(ct.env) == "table" and ct.env or {}) do cur[e.name] = e end
      local entries = setmetatable({}, env.json.array_mt)
      local function put(e)
        local have = cur[e.name]
        if have and e.value ~= nil and f.overwrite == false and have.value ~= e.value then
          fail(("error: %ss/%s '%s' already has a value (%s), and --overwrite is false"):format(
            obj.kind:lower(), t.name, e.name, tostring(have.value)))
        end
        local same = have and ((e.value ~= nil and have.valueFrom == nil and have.value == e.value)
          or (e.valueFrom ~= nil and env.json.encode(have.valueFrom or {}) == env.json.encode(e.valueFrom)))
        if not same then
          changed = true
          local entry = { name = e.name }
          if e.valueFrom then entry.valueFrom, entry.value = e.valueFrom, have and have.value ~= nil and null or nil
          else entry.value, entry.valueFrom = e.value, have and have.valueFrom ~= nil and null or nil end
          entries[#entries + 1] = entry
          -- (dry run: the object as it would be)
          if have then have.value, have.valueFrom = e.value, e.valueFrom
          else
            ct.env = type(ct.env) == "table" and ct.env or setmetatable({}, env.json.array_mt)
            table.insert(ct.env, { name = e.name, value = e.value, valueFrom = e.valueFrom })
          end
          cur[e.name] = cur[e.name] or e
        end
      end
      for _, e in ipairs(from_vars or {}) do put(e) end
      for _, e in ipairs(sets) do put(e) end
      for _, name in ipairs(removes) do
        if cur[name] then
          changed = true
          entries[#entries + 1] = { name = name, ["$patch"] = "delete" }
          for i, e in ipairs(ct.env or {}) do if e.name == name then table.remove(ct.env, i) break end end
          cur[name] = nil
        end
      end
      if #entries > 0 then
        -- the order they end in (kept ones where they were, new ones after), as kubectl's patch says it
        local order = setmetatable({}, env.json.array_mt)
        for _, e in ipairs(type(ct.env) == "table" and ct.env or {}) do order[#order + 1] = { name = e.name } end
        lists[sel.field] = lists[sel.field] or setmetatable({}, env.json.array_mt)
        table.insert(lists[sel.field], { name = ct.name, env = entries, ["$setElementOrder/env"] = order })
      end
    end
    return changed and lists or nil
  end
  if f.list then
    -- the variables of each container, as kubectl lists them (with this line's changes made
    -- to the copy shown: nothing is sent)
    local c, conn = sess:client(f)
    for _, t in ipairs(objects_of(sess, ctx, V, c, conn, targets)) do
      local ns = t.r.namespaced and conn.namespace or nil
      local obj, err = c:get_json(discovery.path(t.r, ns, t.name))
      if not obj then fail(err) end
      local spec = obj
      for _, k in ipairs(pod_spec_path(t.r.kind)) do spec = type(spec) == "table" and spec[k] or nil end
      spec = type(spec) == "table" and spec or {}
      if #sets > 0 or #removes > 0 or from then mutate(obj, spec, t) end
      for _, sel in ipairs(containers_of(spec, f.containers)) do
        ctx.out(("# %s %s, container %s\n"):format(t.r.kind, t.name, sel.ct.name))
        for _, e in ipairs(type(sel.ct.env) == "table" and sel.ct.env or {}) do ctx.out(env_line(e) .. "\n") end
      end
    end
    return 0
  end
  return each(sess, ctx, V, "env", targets, "env updated", function(obj, spec, _, t) return mutate(obj, spec, t) end)
end

-- ---------------------------------------------------------------- resources
-- --limits / --requests cpu=…,memory=…: each container's resources (0 removes one, as kubectl)
function M.resources(sess, ctx, V)
  local env, f = sess.env, ctx.flags
  local function parse(spec, flag)
    if not spec then return nil end
    local m = {}
    for item in tostring(spec):gmatch("[^,]+") do
      local k, v = item:match("^%s*([^=]+)=(.+)%s*$")
      if not k then fail(("error: invalid resource specification for --%s: %s"):format(flag, item)) end
      if not v:match("^[+-]?[0-9.]+[eEinumkKMGTP]*[-+]?[0-9]*$") then
        fail("error: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
      end
      m[k] = v
    end
    return m
  end
  local limits, requests = parse(f.limits, "limits"), parse(f.requests, "requests")
  if not limits and not requests then
    fail("error: you must specify an update to requests or limits (in the form of --requests/--limits)")
  end
  return each(sess, ctx, V, "resources", split_words(ctx), "resource requirements updated", function(_, spec)
    local selected = containers_of(spec, f.containers)
    if #selected == 0 then fail(("error: unable to find container named %s"):format(tostring(f.containers))) end
    local lists, changed = {}, false
    for _, sel in ipairs(selected) do
      local ct = sel.ct
      ct.resources = type(ct.resources) == "table" and ct.resources or {}
      local patch = {}
      for field, want in pairs({ limits = limits, requests = requests }) do
        local have = type(ct.resources[field]) == "table" and ct.resources[field] or {}
        for k, v in pairs(want) do
          if tostring(have[k]) ~= v then
            changed = true
            patch[field] = patch[field] or {}
            patch[field][k] = v
            have[k] = v
          end
        end
        ct.resources[field] = have
      end
      if next(patch) then
        lists[sel.field] = lists[sel.field] or setmetatable({}, env.json.array_mt)
        table.insert(lists[sel.field], { name = ct.name, resources = patch })
      end
    end
    return changed and lists or nil
  end)
end

return M
