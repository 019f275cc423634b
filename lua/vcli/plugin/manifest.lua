-- vcli.plugin.manifest — reads and checks plugin.yaml. Every problem is one
-- line that names the file, the line and the field:
--   ~/.local/share/vcli/plugins/x/plugin.yaml:3: version: "1.2" is not a semantic version (MAJOR.MINOR.PATCH)
local yaml = require("vcli.yaml")
local semver = require("vcli.plugin.semver")
local capreg = require("vcli.plugin.caps")

local M = {}

M.DEFAULT_LIMITS = { memory = 32 * 1024 * 1024, cpu_ms_per_call = 1000, start_ms = 2000, stop_ms = 1000 }

local UNITS = { [""] = 1, b = 1, k = 1024, kb = 1000, kib = 1024, m = 1024 ^ 2, mb = 1000 ^ 2, mib = 1024 ^ 2,
                g = 1024 ^ 3, gb = 1000 ^ 3, gib = 1024 ^ 3 }
function M.size(v)
  if type(v) == "number" then return v end
  if type(v) ~= "string" then return nil end
  local n, u = v:match("^%s*(%d+%.?%d*)%s*(%a*)%s*$")
  if not n or not UNITS[u:lower()] then return nil end
  return math.floor(tonumber(n) * UNITS[u:lower()])
end

local function fail(path, line, field, msg)
  error({ manifest_error = ("%s:%d: %s: %s"):format(path, line or 1, field, msg) }, 0)
end

local function is_list(t) return type(t) == "table" and (#t > 0 or next(t) == nil) end

-- M.parse(text, path) -> manifest | nil, err
function M.parse(text, path)
  local doc, lines = yaml.decode(text, path, { lines = true })
  if doc == nil then return nil, lines end
  local ok, res = pcall(M.check, doc, lines or {}, path)
  if ok then return res end
  if type(res) == "table" and res.manifest_error then return nil, res.manifest_error end
  return nil, path .. ": " .. tostring(res)
end

function M.check(doc, lines, path)
  local function line_of(tbl, key)
    local l = lines[tbl]
    if not l then return 1 end
    return l[key] or l.__line or 1
  end
  if type(doc) ~= "table" then fail(path, 1, "plugin.yaml", "expected a mapping of fields (name:, version:, …)") end
  local m = {}
  local function str(key, required)
    local v = doc[key]
    if v == nil or v == yaml.null then
      if required then fail(path, line_of(doc, "__line"), key, "is required") end
      return nil
    end
    if type(v) ~= "string" then
      if type(v) == "number" then v = tostring(v) else fail(path, line_of(doc, key), key, "must be a string") end
    end
    return v
  end
  m.name = str("name", true)
  if not m.name:match("^[a-z][a-z0-9_%-]*$") then
    fail(path, line_of(doc, "name"), "name", ("'%s' must be lower-case letters, digits, '-' or '_', starting with a letter"):format(m.name))
  end
  m.version = str("version", true)
  if not semver.parse(m.version) then
    fail(path, line_of(doc, "version"), "version", ("\"%s\" is not a semantic version (MAJOR.MINOR.PATCH)"):format(m.version))
  end
  m.description = str("description") or ""
  m.author = str("author")
  m.license = str("license")
  m.vcli = str("vcli") or "*"
  if not semver.range(m.vcli) then
    fail(path, line_of(doc, "vcli"), "vcli", select(2, semver.range(m.vcli)))
  end
  m.entry = str("entry") or "init.lua"
  if not m.entry:match("^[%w_%-/]+%.lua$") or m.entry:find("%.%.") then
    fail(path, line_of(doc, "entry"), "entry", "must be a .lua file inside the plugin directory")
  end

  m.dependencies = {}
  local deps = doc.dependencies
  if deps ~= nil and deps ~= yaml.null then
    if type(deps) ~= "table" then fail(path, line_of(doc, "dependencies"), "dependencies", "must be a list of {name, version}") end
    if is_list(deps) then
      for i, d in ipairs(deps) do
        local field = ("dependencies[%d]"):format(i)
        if type(d) == "string" then d = { name = d } end
        if type(d) ~= "table" or type(d.name) ~= "string" then
          fail(path, line_of(deps, i), field, "needs a name (and optionally a version range)")
        end
        local range = d.version ~= nil and tostring(d.version) or "*"
        if not semver.range(range) then fail(path, line_of(d, "version"), field .. ".version", select(2, semver.range(range))) end
        table.insert(m.dependencies, { name = d.name, range = range })
      end
    else
      for name, range in pairs(deps) do
        range = tostring(range)
        if not semver.range(range) then fail(path, line_of(deps, name), "dependencies." .. name, select(2, semver.range(range))) end
        table.insert(m.dependencies, { name = name, range = range })
      end
      table.sort(m.dependencies, function(a, b) return a.name < b.name end)
    end
  end

  m.capabilities, m.grants = {}, {}
  local caps = doc.capabilities
  local function add_cap(name, opts, line)
    if type(name) ~= "string" or not name:match("^[a-z][a-z0-9_%.%-]*$") then
      fail(path, line, "capabilities", ("'%s' is not a capability name"):format(tostring(name)))
    end
    if opts == true or opts == yaml.null or opts == nil then opts = {} end
    -- names, options and their checks: the capability's own file (vcli.plugin.caps)
    opts = capreg.check(name, opts, { line = line, is_list = is_list,
      fail = function(l, field, msg) fail(path, l, field, msg) end,
      line_of = function(tbl, key) local l = lines[tbl] return l and l[key] end })
    m.capabilities[name] = opts
    table.insert(m.grants, name)
  end
  if caps ~= nil and caps ~= yaml.null then
    if type(caps) ~= "table" then fail(path, line_of(doc, "capabilities"), "capabilities", "must be a list") end
    if is_list(caps) then
      for i, c in ipairs(caps) do
        if type(c) == "string" then add_cap(c, nil, line_of(caps, i))
        elseif type(c) == "table" then
          for k, v in pairs(c) do add_cap(k, v, line_of(c, k)) end
        else
          fail(path, line_of(caps, i), ("capabilities[%d]"):format(i), "must be a name or name: {options}")
        end
      end
    else
      for k, v in pairs(caps) do add_cap(k, v, line_of(caps, k)) end
    end
  end
  table.sort(m.grants)

  m.provides = {}
  if type(doc.provides) == "table" then
    for i, p in ipairs(doc.provides) do
      if type(p) ~= "string" then fail(path, line_of(doc.provides, i), ("provides[%d]"):format(i), "must be a service name") end
      table.insert(m.provides, p)
    end
  end

  m.limits = {}
  for k, v in pairs(M.DEFAULT_LIMITS) do m.limits[k] = v end
  local lim = doc.limits
  if lim ~= nil and lim ~= yaml.null then
    if type(lim) ~= "table" then fail(path, line_of(doc, "limits"), "limits", "must be a mapping (memory:, cpu_ms_per_call:)") end
    for k, v in pairs(lim) do
      if k == "memory" then
        local n = M.size(v)
        if not n or n < 256 * 1024 then
          fail(path, line_of(lim, k), "limits.memory", ("'%s' is not a size of at least 256KiB (e.g. 32MiB)"):format(tostring(v)))
        end
        m.limits.memory = n
      elseif M.DEFAULT_LIMITS[k] then
        if type(v) ~= "number" or v <= 0 then fail(path, line_of(lim, k), "limits." .. k, "must be a positive number of milliseconds") end
        m.limits[k] = v
      else
        fail(path, line_of(lim, k), "limits." .. k, "unknown limit (known: memory, cpu_ms_per_call, start_ms, stop_ms)")
      end
    end
  end

  m.commands = {}
  if doc.commands ~= nil and doc.commands ~= yaml.null then
    if not is_list(doc.commands) then fail(path, line_of(doc, "commands"), "commands", "must be a list of {name, summary}") end
    for i, c in ipairs(doc.commands) do
      if type(c) == "string" then c = { name = c } end
      if type(c) ~= "table" or type(c.name) ~= "string" or not c.name:match("^[%w][%w%-_%.:]*$") then
        fail(path, line_of(doc.commands, i), ("commands[%d].name"):format(i),
          "a command needs a name of letters, digits, '-', '_', '.' or ':'")
      end
      local subs
      if c.subcommands ~= nil and c.subcommands ~= yaml.null then
        if not is_list(c.subcommands) then
          fail(path, line_of(c, "subcommands"), ("commands[%d].subcommands"):format(i), "must be a list of names or {name, summary}")
        end
        subs = {}
        for j, sc in ipairs(c.subcommands) do
          if type(sc) == "string" then sc = { name = sc } end
          if type(sc) ~= "table" or type(sc.name) ~= "string" or not sc.name:match("^[%w][%w%-_%.:]*$") then
            fail(path, line_of(c.subcommands, j), ("commands[%d].subcommands[%d].name"):format(i, j),
              "a subcommand needs a name of letters, digits, '-', '_', '.' or ':'")
          end
          subs[#subs + 1] = { name = sc.name, summary = type(sc.summary) == "string" and sc.summary or "" }
        end
      end
      table.insert(m.commands, { name = c.name, summary = type(c.summary) == "string" and c.summary or "", subcommands = subs })
    end
  end
  m.events = {}
  if type(doc.events) == "table" then
    for i, e in ipairs(doc.events) do
      if type(e) ~= "string" then
        fail(path, line_of(doc.events, i), ("events[%d]"):format(i), "must be a topic pattern like kube.pod.*")
      end
      table.insert(m.events, e)
    end
  end
  m.config_schema = type(doc.config_schema) == "table" and doc.config_schema or nil
  m.config = type(doc.config) == "table" and doc.config or nil
  if doc.sha256 ~= nil and doc.sha256 ~= yaml.null then
    if type(doc.sha256) ~= "table" or is_list(doc.sha256) and next(doc.sha256) then
      fail(path, line_of(doc, "sha256"), "sha256", "must map file names to hex digests")
    end
    for f, h in pairs(doc.sha256) do
      if type(h) ~= "string" or not h:match("^%x+$") or #h ~= 64 then
        fail(path, line_of(doc.sha256, f), "sha256." .. f, "must be 64 hex digits")
      end
      if f:find("%.%.") or f:sub(1, 1) == "/" then
        fail(path, line_of(doc.sha256, f), "sha256." .. f, "must name a file inside the plugin")
      end
    end
    m.sha256 = doc.sha256
  end
  local known = { name = 1, version = 1, description = 1, author = 1, license = 1, vcli = 1, dependencies = 1,
                  capabilities = 1, limits = 1, commands = 1, events = 1, config_schema = 1, config = 1, entry = 1,
                  sha256 = 1, provides = 1, homepage = 1, keywords = 1 }
  for k in pairs(doc) do
    if not known[k] then
      fail(path, line_of(doc, k), tostring(k), "unknown field (see docs/plugins.md, \"Manifest reference\")")
    end
  end
  return m
end

-- ------------------------------------------------------------------ cache
-- Parsed manifests, keyed by path, mtime and size, in one Lua-table file
-- (default ${XDG_CACHE_HOME:-~/.cache}/vcli/plugin-manifests.lua) so that a
-- start-up with many plugins reads no YAML. A manifest younger than
-- CACHE_SETTLE_S is not cached: the file-system clock is coarse, and an
-- edit within the same tick could otherwise keep the same mtime and size.
local CACHE_VERSION = 3   -- 3: capabilities and their options checked against vcli.plugin.caps
local CACHE_SETTLE_S = 2

function M.cache_path()
  local function env(k) local v = os.getenv(k) return v ~= "" and v or nil end
  local base = env("XDG_CACHE_HOME") or ((env("HOME") or "/") .. "/.cache")
  return base .. "/vcli/plugin-manifests.lua"
end

local KEYWORDS = {}
for w in ("and break do else elseif end false for function if in local nil not or repeat return then true until while")
    :gmatch("%a+") do KEYWORDS[w] = true end

local function serialize(v, out)
  local t = type(v)
  if t == "string" then out[#out + 1] = ("%q"):format(v):gsub("\\\n", "\\n")
  elseif t == "number" then
    out[#out + 1] = v ~= v and "0/0" or v == math.huge and "1/0" or v == -math.huge and "-1/0" or ("%.17g"):format(v)
  elseif t == "boolean" then out[#out + 1] = tostring(v)
  elseif v == yaml.null then out[#out + 1] = "N"
  elseif t == "table" then
    local arr = getmetatable(v) == yaml.array_mt
    out[#out + 1] = arr and "A{" or "{"
    local n = #v
    for i = 1, n do serialize(v[i], out) out[#out + 1] = "," end
    for k, x in pairs(v) do
      if type(k) == "string" and k:match("^[%a_][%w_]*$") and not KEYWORDS[k] then
        out[#out + 1] = k .. "="
        serialize(x, out)
        out[#out + 1] = ","
      elseif not (type(k) == "number" and k >= 1 and k <= n and k % 1 == 0) then
        out[#out + 1] = "["
        serialize(k, out)
        out[#out + 1] = "]="
        serialize(x, out)
        out[#out + 1] = ","
      end
    end
    out[#out + 1] = "}"
  else
    error("manifest cache: cannot store a " .. t, 0)
  end
end

local Cache = {}
Cache.__index = Cache

-- M.cache(path) -> cache; cache:parse(mpath, stat) replaces M.parse for a
-- file whose stat (vcli.fs.stat) is known; cache:save() writes it back if
-- anything changed, keeping only the entries used since it was opened.
function M.cache(path)
  local c = setmetatable({ path = path or M.cache_path(), old = {}, used = {}, dirty = false }, Cache)
  local f = io.open(c.path, "rb")
  if f then
    local text = f:read("*a")
    f:close()
    local chunk = loadstring(text, "=" .. c.path)
    if chunk then
      setfenv(chunk, { N = yaml.null, A = function(t) return setmetatable(t, yaml.array_mt) end })
      local ok, data = pcall(chunk)
      if ok and type(data) == "table" and data.version == CACHE_VERSION and type(data.entries) == "table" then
        c.old = data.entries
      end
    end
  end
  return c
end

function Cache:parse(mpath, st)
  local e = self.old[mpath]
  if type(e) == "table" and e.mtime == st.mtime and e.size == st.size and (type(e.m) == "table" or type(e.err) == "string") then
    self.used[mpath] = e
    return e.m, e.err
  end
  local f = io.open(mpath, "rb")
  if not f then return nil, nil end
  local text = f:read("*a")
  f:close()
  local m, err = M.parse(text, mpath)
  self.dirty = true
  if #text == st.size and os.time() - st.mtime >= CACHE_SETTLE_S then
    self.used[mpath] = { mtime = st.mtime, size = st.size, m = m, err = err }
  end
  return m, err
end

function Cache:save()
  if not self.dirty then
    for k in pairs(self.old) do if not self.used[k] then self.dirty = true break end end
  end
  if not self.dirty then return true end
  local out = { "return {version=", tostring(CACHE_VERSION), ",entries={\n" }
  local keys = {}
  for k in pairs(self.used) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    out[#out + 1] = "["
    serialize(k, out)
    out[#out + 1] = "]="
    local ok, err = pcall(serialize, self.used[k], out)
    if not ok then return nil, err end
    out[#out + 1] = ",\n"
  end
  out[#out + 1] = "}}\n"
  local tmp = ("%s.%d.tmp"):format(self.path, math.random(1, 1e9))
  local f = io.open(tmp, "wb")
  if not f then
    local dir = self.path:match("^(.*)/[^/]*$")
    if dir then require("vcli.fs").mkdir_p(dir) end
    f = io.open(tmp, "wb")
    if not f then return nil, "cannot write " .. tmp end
  end
  local ok = f:write(table.concat(out))
  ok = f:close() and ok
  if not ok or not os.rename(tmp, self.path) then
    os.remove(tmp)
    return nil, "cannot write " .. self.path
  end
  self.dirty = false
  return true
end

-- The files a plugin's sha256 map covers: every regular file under dir but
-- plugin.yaml itself, its spec/ (tests are not loaded with the plugin) and
-- dot-files (.git…), by path relative to dir, sorted. -> list
function M.covered_files(dir)
  local fs = require("vcli.fs")
  local out = {}
  local function walk(rel)
    local names = fs.list(rel == "" and dir or (dir .. "/" .. rel)) or {}
    for _, n in ipairs(names) do
      local path = rel == "" and n or (rel .. "/" .. n)
      local st = n:sub(1, 1) ~= "." and fs.stat(dir .. "/" .. path, true)
      if st and st.type == "dir" then
        if path ~= "spec" then walk(path) end
      elseif st and st.type == "file" and path ~= "plugin.yaml" then
        out[#out + 1] = path
      end
    end
  end
  walk("")
  table.sort(out)
  return out
end

return M
