-- vcli.plugin.registry — `plugin search|install|uninstall|update|publish`.
-- A registry is a directory or an HTTP(S) URL holding index.json (format in
-- docs/plugins.md, "Registry"). An install downloads every package of the
-- plan, checks its sha256 and manifest and unpacks it into a temporary
-- directory next to the target; only when all of them are ready are they
-- renamed into place, so a failure leaves nothing half-installed.
local fs = require("vcli.fs")
local codec = require("vcli.codec")
local manifest = require("vcli.plugin.manifest")
local semver = require("vcli.plugin.semver")
local json = require("vcli.json")
local async = require("vcli.async")
local text = require("vcli.text")

local M = {}

local function pm() return require("vcli.plugin") end
local function fail(fmt, ...) error(fmt:format(...), 0) end

-- ----------------------------------------------------------------- helpers
M.base64 = codec.base64_encode

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function write_atomic(path, data)
  local tmp = ("%s.%d.tmp"):format(path, math.random(1, 1e9))
  local f, err = io.open(tmp, "wb")
  if not f then fail("cannot write %s: %s", path, err) end
  f:write(data)
  f:close()
  local ok, rerr = os.rename(tmp, path)
  if not ok then os.remove(tmp) fail("cannot write %s: %s", path, rerr) end
end

-- Run argv (vcli.process); returns its exit code, stdout and stderr. The
-- loop keeps turning while it runs (outside a task, until it ends).
local function run(argv)
  local function go()
    local r, err = require("vcli.process").capture(argv)
    if not r then return 127, "", err end
    return r.code, r.stdout, r.stderr
  end
  if async.current() then return go() end
  local ok, code, out, err = async.run(go, 600000)
  if not ok then return 1, "", code end
  return code, out, err
end

local function sh(argv, what)
  local code, _, err = run(argv)
  if code ~= 0 then fail("%s failed (exit %s): %s", what, tostring(code), text.trim(err or ""):gsub("\n", "; ")) end
end

local function mkdir_p(dir)
  local ok, err = fs.mkdir_p(dir)
  if not ok then fail("%s", err) end
end
local function rm_rf(path) if path then fs.remove(path, true) end end
local function mktemp_in(dir, prefix)
  mkdir_p(dir)
  local d = fs.mkdtemp(dir .. "/." .. prefix .. ".")
  if not d then fail("cannot create a temporary directory in %s", dir) end
  return d
end

local function is_url(s) return s:match("^https?://") ~= nil end
M.is_url = is_url

-- ---------------------------------------------------------------- the index
-- Which registry: the --registry flag, then config global.pluginRegistry, then
-- $VCLI_PLUGIN_REGISTRY.
function M.source(flag)
  if flag and flag ~= "" then return flag end
  local ok, config = pcall(require, "vcli.config")
  if ok and type(config) == "table" and config.get then
    local gok, v = pcall(config.get, "global.pluginRegistry")
    if gok and type(v) == "string" and v ~= "" then return v end
  end
  local e = os.getenv("VCLI_PLUGIN_REGISTRY")
  if e and e ~= "" then return e end
  fail("plugin: no registry configured (set global.pluginRegistry, $VCLI_PLUGIN_REGISTRY or pass --registry DIR|URL)")
end

-- The index's location and the base that relative package urls resolve against.
local function locate(reg)
  reg = reg:gsub("^file://", "")
  local index = reg:match("%.json$") and reg or (reg:gsub("/+$", "") .. "/index.json")
  return index, index:match("^(.*)/[^/]*$") or "."
end

local function fetch(where, what)
  if is_url(where) then
    local res, err = require("vcli.http").get(where, { timeout_ms = 60000 })
    if not res then fail("%s: %s", what, err) end
    if res.status ~= 200 then fail("%s: GET %s: HTTP %d", what, where, res.status) end
    return res.body
  end
  local data = read(where:gsub("^file://", ""))
  if not data then fail("%s: cannot read %s", what, where) end
  return data
end

-- M.index(reg) -> { plugins = {…}, base = "…", location = "…" }
function M.index(reg)
  local location, base = locate(reg)
  local body = fetch(location, "registry " .. reg)
  local doc, err = json.decode(body, location)
  if not doc then fail("registry index %s", err) end
  if type(doc) ~= "table" or type(doc.plugins) ~= "table" then fail("registry index %s: expected {\"plugins\": [...]}", location) end
  local by = {}
  for i, p in ipairs(doc.plugins) do
    if type(p) ~= "table" or type(p.name) ~= "string" or type(p.versions) ~= "table" then
      fail("registry index %s: plugins[%d]: needs a name and versions", location, i)
    end
    for j, v in ipairs(p.versions) do
      if type(v) ~= "table" or not semver.parse(v.version) or type(v.url) ~= "string" or type(v.sha256) ~= "string" then
        fail("registry index %s: %s versions[%d]: needs version (MAJOR.MINOR.PATCH), url and sha256", location, p.name, j)
      end
    end
    table.sort(p.versions, function(a, b) return semver.compare(a.version, b.version) > 0 end)
    by[p.name] = p
  end
  return { plugins = doc.plugins, by_name = by, base = base, location = location, raw = doc }
end

local function package_url(idx, url)
  if is_url(url) or url:sub(1, 1) == "/" or url:match("^file://") then return url end
  return idx.base .. "/" .. url
end

-- Highest version of name in the index that satisfies range and this vcli.
local function pick(idx, name, range, wanted_by)
  local p = idx.by_name[name]
  if not p then
    fail("plugin %s is not in the registry %s%s", name, idx.location, wanted_by and (" (" .. wanted_by .. " needs it)") or "")
  end
  local vcli_version = require("vcli").version
  local seen = {}
  for _, v in ipairs(p.versions) do
    if semver.satisfies(v.version, range) then
      if semver.satisfies(vcli_version, v.vcli or "*") then return p, v end
      seen[#seen + 1] = v.version .. " (needs vcli " .. tostring(v.vcli) .. ")"
    end
  end
  fail("no version of %s matches %s%s%s", name, range, wanted_by and (" (" .. wanted_by .. " needs it)") or "",
    #seen > 0 and ("; this is vcli " .. vcli_version .. ", and " .. table.concat(seen, ", ") .. " need another") or "")
end

-- ---------------------------------------------------------------- resolving
local function installed_version(name)
  local p = pm().get(name)
  return p and p.m and p.m.version, p
end

-- The plan for installing name@range: a list of {name, version entry},
-- dependencies first. Installed plugins that satisfy a range are kept;
-- opts.upgrade names plugins to take from the registry even so.
function M.plan(idx, name, range, opts)
  opts = opts or {}
  local plan, chosen, visiting = {}, {}, {}
  local function visit(n, r, by)
    if chosen[n] then
      if not semver.satisfies(chosen[n].version, r) then
        fail("%s needs %s %s, but %s %s was chosen for %s", by or "you", n, r, n, chosen[n].version, chosen[n].by or "you")
      end
      return
    end
    if visiting[n] then fail("dependency cycle in the registry through %s", n) end
    local have = installed_version(n)
    if have and not opts.upgrade[n] and semver.satisfies(have, r) then return end
    visiting[n] = true
    local _, v = pick(idx, n, r, by)
    if have == v.version then visiting[n] = nil return end
    local deps = {}
    for dn, dr in pairs(v.dependencies or {}) do deps[#deps + 1] = { dn, tostring(dr) } end
    table.sort(deps, function(a, b) return a[1] < b[1] end)
    for _, d in ipairs(deps) do visit(d[1], d[2], n .. " " .. v.version) end
    visiting[n] = nil
    chosen[n] = { version = v.version, by = by }
    plan[#plan + 1] = { name = n, v = v, installed = have }
  end
  opts.upgrade = opts.upgrade or {}
  visit(name, range or "*", nil)
  return plan
end

-- --------------------------------------------------------------- installing
function M.root() return pm().data_home() .. "/vcli/plugins" end

-- Download, verify and unpack one package into a temp dir under root;
-- returns the directory that holds its plugin.yaml and the temp dir.
local function stage(idx, step, root)
  local v = step.v
  local url = package_url(idx, v.url)
  local label = ("%s %s"):format(step.name, v.version)
  local data = fetch(url, label)
  local got = codec.sha256(data)
  if got ~= v.sha256:lower() then
    fail("%s: sha256 mismatch: the index says %s, the download (%s) is %s; refusing to install it",
      label, v.sha256:lower(), url, got)
  end
  local tmp = mktemp_in(root, "install-" .. step.name)
  local ok, err = pcall(function()
    local pkg = tmp .. "/package.tar.gz"
    local f = assert(io.open(pkg, "wb"))
    f:write(data)
    f:close()
    local _, listing = run({ "tar", "-tzf", pkg })
    if listing == "" then fail("%s: %s is not a gzipped tar archive", label, url) end
    for entry in listing:gmatch("[^\n]+") do
      if entry:sub(1, 1) == "/" or ("/" .. entry .. "/"):find("/%.%./") then
        fail("%s: the archive holds a path outside the plugin: %s", label, entry)
      end
    end
    mkdir_p(tmp .. "/x")
    sh({ "tar", "-xzmf", pkg, "-C", tmp .. "/x", "--no-same-owner", "--no-same-permissions" }, label .. ": tar")
    os.remove(pkg)
    local dir = tmp .. "/x"
    if not read(dir .. "/plugin.yaml") then
      local names = fs.list(dir) or {}
      if #names == 1 and read(dir .. "/" .. names[1] .. "/plugin.yaml") then dir = dir .. "/" .. names[1]
      else fail("%s: the archive has no plugin.yaml at its top (or in one top directory)", label) end
    end
    local m, merr = manifest.parse(read(dir .. "/plugin.yaml"), step.name .. "/plugin.yaml")
    if not m then fail("%s: %s", label, merr) end
    if m.name ~= step.name or m.version ~= v.version then
      fail("%s: the archive holds %s %s, not what the index lists", label, m.name, m.version)
    end
    for file, want in pairs(m.sha256 or {}) do
      local fdata = read(dir .. "/" .. file)
      if not fdata or codec.sha256(fdata) ~= want:lower() then
        fail("%s: %s does not match the sha256 in its manifest", label, file)
      end
    end
    step.dir, step.m = dir, m
  end)
  if not ok then rm_rf(tmp) error(err, 0) end
  step.tmp = tmp
end

-- Move every staged plugin into place, dependencies first; an existing
-- version is moved aside and restored if a later step fails.
local function commit(plan, root)
  local done = {}
  local ok, err = pcall(function()
    for _, step in ipairs(plan) do
      local target = root .. "/" .. step.name
      if fs.stat(target) then
        step.backup = step.tmp .. "/previous"
        local rok, rerr = os.rename(target, step.backup)
        if not rok then fail("cannot move %s aside: %s", target, rerr) end
      end
      local rok, rerr = os.rename(step.dir, target)
      if not rok then
        if step.backup then os.rename(step.backup, target) step.backup = nil end
        fail("cannot move %s into %s: %s", step.name, target, rerr)
      end
      done[#done + 1] = step
    end
  end)
  if not ok then
    for i = #done, 1, -1 do
      local step = done[i]
      local target = root .. "/" .. step.name
      rm_rf(target)
      if step.backup then os.rename(step.backup, target) end
    end
  end
  for _, step in ipairs(plan) do rm_rf(step.tmp) end
  if not ok then error(err, 0) end
end

-- What a manifest's capabilities grant, one line each: name -> "net: hosts a, b".
function M.grant_lines(m)
  local out = {}
  for n, o in pairs(m and m.capabilities or {}) do
    local parts = {}
    if type(o) == "table" then
      local ks = {}
      for k in pairs(o) do ks[#ks + 1] = k end
      table.sort(ks)
      for _, k in ipairs(ks) do
        local v = o[k]
        if type(v) == "table" then
          local t = {}
          for _, x in ipairs(v) do t[#t + 1] = tostring(x) end
          v = table.concat(t, ", ")
        end
        parts[#parts + 1] = k .. " " .. tostring(v)
      end
    end
    out[n] = n .. (#parts > 0 and (": " .. table.concat(parts, "; ")) or "")
  end
  return out
end

-- Of each staged step, what it asks for that the version it replaces did not
-- (everything, for a new plugin): {{step, lines}} for the steps that ask.
local function asks_of(plan, root)
  local out = {}
  for _, step in ipairs(plan) do
    local before = {}
    if step.installed then
      before = M.grant_lines(manifest.parse(read(root .. "/" .. step.name .. "/plugin.yaml") or "", step.name) or nil)
    end
    local lines = {}
    for n, line in pairs(M.grant_lines(step.m)) do
      if before[n] ~= line then lines[#lines + 1] = line end
    end
    table.sort(lines)
    if #lines > 0 then out[#out + 1] = { step = step, lines = lines } end
  end
  return out
end

-- Stage all, ask for the grants (opts.consent(asks) -> true | false, err),
-- then commit all. Returns the plan (each with .installed: the version it
-- replaced, if any).
function M.apply(idx, plan, opts)
  local root = opts and opts.root or M.root()
  local ok, err = pcall(function() for _, step in ipairs(plan) do stage(idx, step, root) end end)
  if ok then
    local asks = asks_of(plan, root)
    if #asks > 0 then
      local granted, why = true, nil
      if opts and opts.consent then granted, why = opts.consent(asks) end
      if not granted then ok, err = false, why or "the capabilities were not granted" end
    end
  end
  if not ok then
    for _, step in ipairs(plan) do rm_rf(step.tmp) end
    fail("%s; nothing was installed", err)
  end
  for _, step in ipairs(plan) do if pm().get(step.name) then pm().stop(step.name) end end
  commit(plan, root)
  pm().rediscover()
  return plan
end

-- The consent of a command: the asks printed; --yes grants them; else asked
-- on the terminal; with no terminal to ask on, refused (say how to go on).
local function consent_of(ctx)
  return function(asks)
    for _, a in ipairs(asks) do
      ctx.print(("%s %s %s:"):format(a.step.name, a.step.v.version, a.step.installed and "asks for more than "
        .. a.step.installed .. " did" or "asks for"))
      for _, l in ipairs(a.lines) do ctx.print("  " .. l) end
    end
    if ctx.flags.yes then return true end
    if not require("vcli.plugin.runtime").has_terminal() then
      return false, "not granted: no terminal to ask on (--yes grants what it asks for)"
    end
    if require("vcli.terminal").ask_yes("Grant these and install? [y/N] ") then return true end
    return false, "not granted"
  end
end

-- M.install(reg, "name[@range]", opts) -> plan
function M.install(reg, spec, opts)
  local name, range = spec:match("^([^@]+)@(.+)$")
  name, range = name or spec, range or "*"
  if not semver.range(range) then fail("plugin install: %s", select(2, semver.range(range))) end
  local idx = M.index(reg)
  local plan = M.plan(idx, name, range, { upgrade = { [name] = true } })
  return M.apply(idx, plan, opts)
end

-- Installed user plugins (those under root): name -> version.
local function user_plugins(root)
  local out = {}
  for _, n in ipairs(fs.list(root) or {}) do
    if n:sub(1, 1) ~= "." then
      local m = manifest.parse(read(root .. "/" .. n .. "/plugin.yaml") or "", n)
      if m then out[n] = m.version end
    end
  end
  return out
end

-- M.update(reg, name|nil, opts) -> list of {name, from, to} (to nil: up to date)
function M.update(reg, name, opts)
  local root = opts and opts.root or M.root()
  local mine = user_plugins(root)
  local names = {}
  if name then
    if not mine[name] then fail("plugin %s is not installed in %s (plugin list shows where it comes from)", name, root) end
    names[1] = name
  else
    for n in pairs(mine) do names[#names + 1] = n end
    table.sort(names)
  end
  local idx = M.index(reg)
  local out = {}
  for _, n in ipairs(names) do
    local entry = idx.by_name[n]
    local newest
    if entry then
      local ok, _, v = pcall(pick, idx, n, "*")
      newest = ok and v or nil
    end
    if newest and semver.compare(newest.version, mine[n]) > 0 then
      local plan = M.plan(idx, n, newest.version, { upgrade = { [n] = true } })
      M.apply(idx, plan, opts)
      out[#out + 1] = { name = n, from = mine[n], to = newest.version, plan = plan }
    else
      out[#out + 1] = { name = n, from = mine[n], registry = entry ~= nil }
    end
  end
  return out
end

function M.uninstall(name, opts)
  local root = opts and opts.root or M.root()
  local target = root .. "/" .. name
  if not name:match("^[a-z][a-z0-9_%-]*$") or not fs.stat(target .. "/plugin.yaml") then
    local p = pm().get(name)
    if p then fail("plugin %s is not a user-installed plugin (it comes from %s); only %s can be uninstalled", name, p.dir, root) end
    fail("plugin %s is not installed in %s", name, root)
  end
  local users = {}
  for _, p in ipairs(pm().all()) do
    if p.m and p.name ~= name then
      for _, d in ipairs(p.m.dependencies) do if d.name == name then users[#users + 1] = p.name end end
    end
  end
  if #users > 0 then fail("plugin %s is needed by %s; uninstall those first", name, table.concat(users, ", ")) end
  if pm().get(name) then pm().stop(name) end
  local aside = ("%s/.uninstall-%s.%d"):format(root, name, math.random(1, 1e9))
  local ok, err = os.rename(target, aside)
  if not ok then fail("cannot remove %s: %s", target, err) end
  rm_rf(aside)
  pm().rediscover()
  return target
end

-- M.publish(dir, regdir) -> entry: packs dir into regdir/NAME-VERSION.tar.gz
-- and adds it to regdir/index.json.
function M.publish(dir, regdir)
  if is_url(regdir) then fail("plugin publish: %s is a URL; publish writes to a registry directory", regdir) end
  dir = dir:gsub("/+$", "")
  local mtext = read(dir .. "/plugin.yaml")
  if not mtext then fail("plugin publish: %s has no plugin.yaml", dir) end
  local m, err = manifest.parse(mtext, dir .. "/plugin.yaml")
  if not m then fail("plugin publish: %s", err) end
  -- the manifest's sha256 map, written anew: every file the plugin loads, so
  -- that a copy changed on disk after installing is refused at its next load
  local lines, skipping = {}, false
  for line in (mtext:gsub("\n?$", "\n")):gmatch("([^\n]*)\n") do
    if line:match("^sha256:") then skipping = true
    elseif skipping and (line:match("^%s") or line == "") then -- luacheck: ignore 542
    else skipping = false; lines[#lines + 1] = line end
  end
  lines[#lines + 1] = "sha256:"
  for _, file in ipairs(manifest.covered_files(dir)) do
    lines[#lines + 1] = ('  "%s": %s'):format(file, codec.sha256(read(dir .. "/" .. file) or ""))
  end
  mtext = table.concat(lines, "\n") .. "\n"
  m, err = manifest.parse(mtext, dir .. "/plugin.yaml")
  if not m then fail("plugin publish: the manifest with its sha256 map: %s", err) end
  local mtmp = dir .. "/.plugin.yaml.tmp"
  local mf = io.open(mtmp, "w")
  if not mf then fail("plugin publish: cannot write %s", mtmp) end
  mf:write(mtext)
  mf:close()
  local mok, merr = os.rename(mtmp, dir .. "/plugin.yaml")
  if not mok then os.remove(mtmp) fail("plugin publish: %s", merr) end
  mkdir_p(regdir)
  local location = regdir .. "/index.json"
  local doc = { plugins = {} }
  local existing = read(location)
  if existing then
    local d, jerr = json.decode(existing, location)
    if not d or type(d.plugins) ~= "table" then fail("plugin publish: %s", jerr or (location .. ": expected {\"plugins\": [...]}")) end
    doc = d
  end
  local file = ("%s-%s.tar.gz"):format(m.name, m.version)
  local tmp = ("%s/.%s.%d.tmp"):format(regdir, file, math.random(1, 1e9))
  local ok, perr = pcall(sh, { "tar", "-czf", tmp, "--exclude=.git", "--sort=name", "--owner=0", "--group=0",
    "--numeric-owner", "--mtime=@0", "-C", dir, "." }, "plugin publish: tar")
  if not ok then os.remove(tmp) error(perr, 0) end
  local data = read(tmp)
  local sum = codec.sha256(data)
  local entry
  for _, p in ipairs(doc.plugins) do if p.name == m.name then entry = p end end
  if not entry then
    entry = { name = m.name, versions = {} }
    table.insert(doc.plugins, entry)
    table.sort(doc.plugins, function(a, b) return a.name < b.name end)
  end
  entry.description = m.description
  for _, v in ipairs(entry.versions) do
    if v.version == m.version and v.sha256 ~= sum then
      os.remove(tmp)
      fail("plugin publish: %s %s is already in %s with other contents; bump the version", m.name, m.version, regdir)
    end
  end
  local deps = {}
  local ndeps = 0
  for _, d in ipairs(m.dependencies) do deps[d.name] = d.range ndeps = ndeps + 1 end
  local v = { version = m.version, url = file, sha256 = sum, vcli = m.vcli, dependencies = ndeps > 0 and deps or nil }
  local kept = {}
  for _, x in ipairs(entry.versions) do if x.version ~= m.version then kept[#kept + 1] = x end end
  kept[#kept + 1] = v
  table.sort(kept, function(a, b) return semver.compare(a.version, b.version) > 0 end)
  entry.versions = kept
  local rok, rerr = os.rename(tmp, regdir .. "/" .. file)
  if not rok then os.remove(tmp) fail("plugin publish: %s", rerr) end
  write_atomic(location, json.encode(doc) .. "\n")
  return v, m
end

-- ------------------------------------------------------------ the commands
local function describe_plan(ctx, plan)
  for _, step in ipairs(plan) do
    ctx.print(("installed %s %s%s (sha256 %s…)"):format(step.name, step.v.version,
      step.installed and (" (was " .. step.installed .. ")") or "", step.v.sha256:sub(1, 12)))
  end
end

function M.search_cmd(ctx)
  local idx = M.index(M.source(ctx.flags.registry))
  local term = (ctx.args.query or ""):lower()
  local rows = { { "NAME", "LATEST", "INSTALLED", "DESCRIPTION" } }
  for _, p in ipairs(idx.plugins) do
    local desc = type(p.description) == "string" and p.description or ""
    if term == "" or p.name:lower():find(term, 1, true) or desc:lower():find(term, 1, true) then
      rows[#rows + 1] = { p.name, p.versions[1] and p.versions[1].version or "-", installed_version(p.name) or "-", desc }
    end
  end
  if #rows == 1 then
    ctx.print(("no plugin in %s matches '%s'"):format(idx.location, term))
    return 1
  end
  ctx.print(text.columns(rows))
  return 0
end

function M.install_cmd(ctx)
  describe_plan(ctx, M.install(M.source(ctx.flags.registry), ctx.args.name, { consent = consent_of(ctx) }))
  return 0
end

function M.uninstall_cmd(ctx)
  local dir = M.uninstall(ctx.args.name)
  ctx.print(("uninstalled %s (removed %s)"):format(ctx.args.name, dir))
  return 0
end

function M.update_cmd(ctx)
  local res = M.update(M.source(ctx.flags.registry), ctx.args.name, { consent = consent_of(ctx) })
  if #res == 0 then ctx.print("no user-installed plugins to update") end
  for _, r in ipairs(res) do
    if r.to then ctx.print(("updated %s %s → %s"):format(r.name, r.from, r.to))
    elseif r.registry then ctx.print(("%s is up to date (%s)"):format(r.name, r.from))
    else ctx.print(("%s %s is not in the registry; left as it is"):format(r.name, r.from)) end
  end
  return 0
end

function M.publish_cmd(ctx)
  local to = ctx.flags.to or ctx.flags.registry
  if not to or to == "" then fail("plugin publish: where to? pass --to REGISTRY_DIR") end
  local v, m = M.publish(ctx.args.dir, to)
  ctx.print(("published %s %s to %s/%s (sha256 %s)"):format(m.name, m.version, to, v.url, v.sha256))
  return 0
end

return M
