-- vcli.config.command — the `config` command: show, get, set, edit,
-- validate, layers, trust, untrust.
local commands = require("vcli.shell.commands")
local text = require("vcli.text")
local yaml = require("vcli.yaml")
local validate = require("vcli.config.validate")
local merge = require("vcli.config.merge")
local layers_mod = require("vcli.config.layers")
local trust = require("vcli.config.trust")

local M = {}
local MASK = "****"

local function config() return require("vcli.config") end

local function sorted_keys(t, node)
  local keys, seen = {}, {}
  if node and node.order then
    for _, k in ipairs(node.order) do if t[k] ~= nil then keys[#keys + 1] = k; seen[k] = true end end
  end
  local rest = {}
  for k in pairs(t) do if not seen[k] then rest[#rest + 1] = k end end
  table.sort(rest, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(rest) do keys[#keys + 1] = k end
  return keys
end

-- Keys the schema does not know are masked too when their name says
-- secret (a file written for an older vcli: clusters.prod.token).
local function secret_name(k)
  if type(k) ~= "string" then return false end
  local l = k:lower()
  return l:find("token") or l:find("password") or l:find("secret") or l:find("apikey") or l:find("keyfile") or false
end

-- A copy of v with sensitive values replaced by ****.
local function masked(v, node)
  if node and node.sensitive and v ~= nil and v ~= "" then
    if type(v) ~= "table" or next(v) ~= nil then return MASK end
  end
  if type(v) ~= "table" then return v end
  local out = setmetatable({}, getmetatable(v))
  local list = validate.is_list(v)
  for k, x in pairs(v) do
    local child, known
    if node and list then child, known = node.items or merge.ANY, true
    elseif node then child, known = merge.child_of(node, k) end
    if node and not known and secret_name(k) then child = { sensitive = true, type = "any" } end
    out[k] = masked(x, child)
  end
  return out
end
M.masked = masked

local function scalar(v)
  if type(v) == "string" then return v end
  if v == yaml.null then return "null" end
  return tostring(v)
end

local function inline(v)
  if type(v) ~= "table" then
    if type(v) == "string" then return v end
    return scalar(v)
  end
  local parts = {}
  if validate.is_list(v) or next(v) == nil then
    for _, x in ipairs(v) do parts[#parts + 1] = inline(x) end
    return "[" .. table.concat(parts, ", ") .. "]"
  end
  for _, k in ipairs(sorted_keys(v)) do parts[#parts + 1] = k .. ": " .. inline(v[k]) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

local function where(o)
  if not o then return "-", "-" end
  local w = o.file or "-"
  if o.line then w = w .. ":" .. o.line end
  return o.layer, w
end

-- Rows {layer, where, key=value} for each leaf under path.
local function origin_rows(path, v, node, rows)
  local cfg = config()
  if type(v) == "table" and next(v) ~= nil and not (node and node.sensitive)
     and not (validate.is_list(v) and not (type(v[1]) == "table" and v[1].name)) then
    local list = validate.is_list(v)
    for _, k in ipairs(list and {} or sorted_keys(v, node)) do
      local child = node and merge.child_of(node, k) or nil
      origin_rows(merge.join(path, tostring(k)), v[k], child, rows)
    end
    if list then
      for _, e in ipairs(v) do
        origin_rows(merge.join(path, e.name), e, node and node.items, rows)
      end
    end
    return rows
  end
  local shown = masked(v, node)
  local layer, w = where(cfg.origin(path))
  rows[#rows + 1] = { layer, w, path .. "=" .. inline(shown) }
  return rows
end

local function need(path)
  local cfg = config()
  local v = cfg.get(path)
  if v == nil then
    local msg = ("no key '%s'"):format(path)
    local parent, last = path:match("^(.*)%.([^.]+)$")
    local pnode = cfg.node(parent or "")
    local near = pnode and validate.nearest(pnode, last or path)
    if near then msg = msg .. (" (did you mean %s?)"):format(parent and (parent .. "." .. near) or near) end
    error("config: " .. msg, 0)
  end
  return v
end

-- ------------------------------------------------------------ editing YAML
local function split_lines(s)
  local out = {}
  for line in (s .. (s:sub(-1) == "\n" and "" or "\n")):gmatch("(.-)\n") do out[#out + 1] = line end
  if s == "" then out = {} end
  return out
end

local function indent_of(line) return #(line:match("^( *)")) end
local function is_content(line) return not line:match("^%s*$") and not line:match("^%s*#") end

-- Where a trailing comment starts in the value part of a line (outside quotes).
local function comment_at(rest)
  local q = nil
  for i = 1, #rest do
    local c = rest:sub(i, i)
    if q then
      if c == q then q = nil end
    elseif c == "'" or c == '"' then
      q = c
    elseif c == "#" and (i == 1 or rest:sub(i - 1, i - 1):match("%s")) then
      return i
    end
  end
end

local function value_text(v)
  if type(v) == "table" then
    if not validate.is_list(v) and next(v) ~= nil then error("config set: a map cannot be set in one go; set its keys", 0) end
    local parts = {}
    for _, x in ipairs(v) do parts[#parts + 1] = (yaml.encode(x):gsub("\n$", "")) end
    return "[" .. table.concat(parts, ", ") .. "]"
  end
  return (yaml.encode(v):gsub("\n$", ""))
end

-- Set a dotted path (maps only) in YAML text, keeping comments and order.
function M.edit_text(src, path, v)
  local comps = {}
  for c in path:gmatch("[^.]+") do comps[#comps + 1] = c end
  local data, lines = layers_mod.decode(src, "file")
  if not data then error("config set: the file does not parse: " .. tostring(lines), 0) end
  local out = split_lines(src)
  local vt = value_text(v)
  local t, j = data, 0
  local parent_line = nil
  while j < #comps do
    local c = comps[j + 1]
    local key = t[c] ~= nil and c or (t[c .. "!"] ~= nil and c .. "!") or nil
    if not key then break end
    local nextv = t[key]
    local line = lines and lines[t] and lines[t][key]
    if j + 1 == #comps then
      if type(nextv) == "table" then
        error(("config set: %s is a %s in the file; change it with 'config edit'"):format(path,
          validate.is_list(nextv) and "list" or "map"), 0)
      end
      local L = out[line]
      local kpat = "^(%s*[\"']?" .. key:gsub("%p", "%%%0") .. "[\"']?%s*:%s*)"
      local prefix = L and L:match(kpat)
      if not prefix then error(("config set: cannot edit line %d in place; use 'config edit'"):format(line or 0), 0) end
      local rest = L:sub(#prefix + 1)
      if rest:match("^[|>]") then error(("config set: %s is a block scalar; use 'config edit'"):format(path), 0) end
      local at = comment_at(rest)
      local comment = at and (rest:sub(1, at - 1):match("%s*$") .. rest:sub(at)) or ""
      out[line] = prefix .. vt .. comment
      return table.concat(out, "\n") .. "\n"
    end
    if type(nextv) ~= "table" or validate.is_list(nextv) then
      error(("config set: %s is not a map in the file; change it with 'config edit'"):format(table.concat(comps, ".", 1, j + 1)), 0)
    end
    parent_line = line
    t, j = nextv, j + 1
  end
  -- insert the missing keys under the deepest existing map
  local at, ind = #out, 0
  if parent_line then
    local base = indent_of(out[parent_line])
    if out[parent_line]:match(":%s*{%s*}%s*$") or out[parent_line]:match(":%s*{%s*}%s+#") then
      error(("config set: %s is written as {}; use 'config edit'"):format(table.concat(comps, ".", 1, j)), 0)
    end
    ind = base + 2
    at = parent_line
    for k = parent_line + 1, #out do
      if is_content(out[k]) then
        if indent_of(out[k]) <= base then break end
        if at == parent_line then ind = indent_of(out[k]) end
        at = k
      end
    end
  else
    while at > 0 and not is_content(out[at]) do at = at - 1 end
    if #out > 0 and at < #out and at > 0 then at = #out end
  end
  local new = {}
  for k = j + 1, #comps do
    local pad = string.rep(" ", ind + (k - j - 1) * 2)
    if k == #comps then new[#new + 1] = pad .. comps[k] .. ": " .. vt
    else new[#new + 1] = pad .. comps[k] .. ":" end
  end
  for k = #new, 1, -1 do table.insert(out, at + 1, new[k]) end
  return table.concat(out, "\n") .. "\n"
end

local function layer_file(layer, ctx)
  local cfg = config()
  if layer == "user" then return layers_mod.user_file() end
  if layer == "workspace" then return cfg.workspace_file(true) end
  local context = ctx.flags.context or cfg.context()
  if not context then
    error("config: the cluster layer needs a kube context: pass --context NAME", 0)
  end
  return layers_mod.cluster_file(context)
end

local function mkdir_for(path)
  local dir = path:match("^(.*)/[^/]*$")
  if dir then require("vcli.fs").mkdir_p(dir) end
end

local function write_file(path, s)
  mkdir_for(path)
  local tmp = path .. ".vcli-tmp"
  local f, err = io.open(tmp, "w")
  if not f then error("config: cannot write " .. tostring(err), 0) end
  f:write(s)
  f:close()
  local ok, rerr = os.rename(tmp, path)
  if not ok then error("config: cannot write " .. path .. ": " .. tostring(rerr), 0) end
end

-- Check one layer file against the schema: errors, warnings.
local function check_file(path, src)
  local cfg = config()
  local layer = layers_mod.from_file("user", path, src)
  if layer.err then return { layer.err }, {} end
  local ctx = merge.context({ layer })
  merge.merge_into(ctx, {}, layer.data or {}, layer.lines, cfg.root(), 1, "")
  return ctx.errors, ctx.warnings
end

local LAYER_FLAG = { name = "layer", type = "enum", values = { "user", "workspace", "cluster" }, default = "user",
                     help = "which file to change" }
local CONTEXT_FLAG = { name = "context", type = "string", metavar = "NAME", help = "kube context of the cluster layer" }

local function complete_key(prefix)
  local cfg = config()
  local out = {}
  local parent, last = prefix:match("^(.*)%.([^.]*)$")
  local node = cfg.node(parent or "")
  if not node then return out end
  local base = parent and (parent .. ".") or ""
  last = last or prefix
  local names = {}
  if node.order then for _, k in ipairs(node.order) do names[#names + 1] = k end end
  if node.each or node.type == "list" then
    local v = cfg.get(parent or "")
    if type(v) == "table" then
      for k, x in pairs(v) do
        local n = type(k) == "number" and type(x) == "table" and x.name or k
        if type(n) == "string" and not (node.keys and node.keys[n]) then names[#names + 1] = n end
      end
    end
  end
  table.sort(names)
  for _, k in ipairs(names) do
    if k:sub(1, #last) == last then
      local child = node.keys and node.keys[k] or node.each or node.items
      local more = child and (child.type == "map" or (child.type == "list" and child.merge == "named"))
      out[#out + 1] = { base .. k .. (more and "." or ""), child and child.doc or nil, nospace = more }
    end
  end
  return out
end

-- Problems in file and line order (merging visits keys in no set order).
local function by_place(list)
  local function place(s)
    local file, line = s:match("^(.-):(%d+):")
    return file or s, tonumber(line) or 0
  end
  local out = {}
  for i, s in ipairs(list) do out[i] = s end
  table.sort(out, function(a, b)
    local fa, la = place(a)
    local fb, lb = place(b)
    if fa ~= fb then return fa < fb end
    if la ~= lb then return la < lb end
    return a < b
  end)
  return out
end

local function print_problems(ctx, errors, warnings, notices)
  for _, e in ipairs(errors) do ctx.print("error: " .. e) end
  for _, w in ipairs(warnings) do ctx.print("warning: " .. w) end
  for _, n in ipairs(notices or {}) do ctx.print("note: " .. n) end
end

M.spec = commands.define({
  name = "config",
  summary = "Show, check and change vcli's configuration",
  description = "The configuration merges eight layers, highest first: flags (--set) 100, environment\n"
    .. "(VCLI_SECTION_KEY) 90, user ($XDG_CONFIG_HOME/vcli/config.yaml, ~/.vclirc.lua) 80,\n"
    .. "workspace (.vcli.yaml, once trusted) 70, cluster (clusters/<context>.yaml) 60, fleet 50,\n"
    .. "plugin defaults 40, built-in defaults 10. See docs/config.md.",
  default_subcommand = "show",
  subcommands = {
    {
      name = "show",
      summary = "Print the merged configuration (sensitive values masked)",
      args = { { name = "key", optional = true, help = "a dotted key, e.g. ui or ui.theme", complete = complete_key } },
      flags = {
        { name = "origin", type = "bool", help = "show the layer and file:line each value came from" },
        { name = "output", short = "o", type = "enum", values = { "yaml", "json" }, default = "yaml", help = "output format" },
      },
      examples = { { "config show ui", "the ui section" }, { "config show --origin", "every value with its origin" } },
      handler = function(ctx)
        local cfg = config()
        local key = ctx.args.key
        local v = key and need(key) or cfg.get()
        local node = key and cfg.node(key) or cfg.root()
        if key and cfg.sensitive(key) then node = { sensitive = true, type = "any" } end
        if ctx.flags.origin then
          local rows = origin_rows(key or "", v, node, {})
          ctx.print(text.columns(rows))
          return 0
        end
        local shown = masked(v, node)
        if ctx.flags.output == "json" then
          ctx.print(require("cjson").encode(shown))
        elseif type(shown) == "table" then
          ctx.out(yaml.encode(shown))
        else
          ctx.print(scalar(shown))
        end
      end,
    },
    {
      name = "get",
      summary = "Print one value (sensitive values masked unless --reveal)",
      args = { { name = "key", help = "a dotted key", complete = complete_key } },
      flags = { { name = "reveal", type = "bool", help = "print sensitive values as they are" } },
      handler = function(ctx)
        local cfg = config()
        local v = need(ctx.args.key)
        if not ctx.flags.reveal then
          local key = ctx.args.key
          local secret = cfg.sensitive(key) or (not cfg.node(key) and secret_name(key:match("[^.]+$")))
          v = masked(v, secret and { sensitive = true } or cfg.node(key))
        end
        if type(v) == "table" then ctx.out(yaml.encode(v)) else ctx.print(scalar(v)) end
      end,
    },
    {
      name = "set",
      summary = "Write a value into a layer's YAML file (keeping its comments)",
      args = { { name = "key", help = "a dotted key", complete = complete_key },
               { name = "value", help = "the value (lists: a,b or [a, b])" } },
      flags = { LAYER_FLAG, CONTEXT_FLAG },
      examples = { { "config set ui.theme dark" }, { "config set prometheus.url http://prom:9090 --layer workspace" } },
      handler = function(ctx)
        local cfg = config()
        local key, raw = ctx.args.key, ctx.args.value
        local node = cfg.node(key)
        if not node then
          local parent, last = key:match("^(.*)%.([^.]+)$")
          local pnode = cfg.node(parent or "")
          local near = pnode and validate.nearest(pnode, last or key)
          error(("config set: unknown key '%s'%s"):format(key,
            near and (" (did you mean %s?)"):format(parent and (parent .. "." .. near) or near) or ""), 0)
        end
        if key:find("^clusters%.") or key:find("^ui%.layouts%.") then
          error("config set: entries of named lists are edited with 'config edit'", 0)
        end
        local v = validate.coerce(node, raw)
        if node.type == "any" and type(v) == "string" then
          local ok, y = pcall(yaml.decode, raw)
          if ok and y ~= nil and y ~= yaml.null then v = y end
        end
        local ok, msg = validate.check(node, v)
        if not ok then error(("config set: %s: %s"):format(key, msg), 0) end
        local path = layer_file(ctx.flags.layer, ctx)
        local src = layers_mod.read(path) or ""
        local was_trusted = ctx.flags.layer == "workspace" and src ~= "" and trust.status(path, src) == "trusted"
        local new = M.edit_text(src, key, v)
        local errors = check_file(path, new)
        if #errors > 0 then error("config set: " .. errors[1], 0) end
        write_file(path, new)
        if was_trusted then trust.trust(path, new) end
        ctx.print(("%s = %s (%s: %s)"):format(key, inline(masked(v, node)), ctx.flags.layer, path))
        local pkey, what = cfg.pending(key)
        if pkey then ctx.print(("note: %s is accepted but not used yet (%s: not implemented)"):format(pkey, what)) end
        if ctx.flags.layer == "workspace" and not was_trusted then
          ctx.print("note: " .. path .. " is not trusted yet; run 'config trust' to use it")
        end
        cfg.reload()
      end,
    },
    {
      name = "edit",
      summary = "Open a layer's file in $EDITOR, then check it",
      flags = { LAYER_FLAG, CONTEXT_FLAG },
      handler = function(ctx)
        local cfg = config()
        local path = layer_file(ctx.flags.layer, ctx)
        local before = layers_mod.read(path)
        local was_trusted = ctx.flags.layer == "workspace" and before and trust.status(path, before) == "trusted"
        mkdir_for(path)
        local editor = cfg.get("editor.command")
        if type(editor) ~= "string" or editor == "" then editor = os.getenv("VISUAL") end
        if not editor or editor == "" then editor = os.getenv("EDITOR") end
        if not editor or editor == "" then editor = "vi" end
        local status = ctx.shell.run_sh(editor .. " '" .. path:gsub("'", "'\\''") .. "'")
        if status ~= 0 then error(("config edit: %s exited with status %d"):format(editor, status), 0) end
        local after = layers_mod.read(path)
        if not after or after == before then ctx.print("no change") return 0 end
        local errors, warnings = check_file(path, after)
        print_problems(ctx, errors, warnings)
        if was_trusted then trust.trust(path, after) end
        cfg.reload()
        return #errors > 0 and 1 or 0
      end,
    },
    {
      name = "validate",
      summary = "Check every layer against the schema",
      handler = function(ctx)
        local cfg = config()
        -- this report is where load's problems are said, once
        cfg.forget_unsaid()
        local c = cfg._build()
        local notes = cfg.pending_notes(c)
        for _, l in ipairs(c.layers) do
          if l.name == "workspace" and l.present and l.status ~= "trusted" then
            notes[#notes + 1] = l.file .. " is not trusted (ignored); run 'config trust' to use it"
          end
        end
        print_problems(ctx, by_place(c.errors), by_place(c.warnings), notes)
        if #c.errors > 0 then return 1 end
        local n = 0
        for _, l in ipairs(c.layers) do if l.present and l.data then n = n + 1 end end
        ctx.print(("configuration is valid (%d layers)"):format(n))
        return 0
      end,
    },
    {
      name = "layers",
      summary = "List the layers: priority, file, whether present and trusted",
      handler = function(ctx)
        local cfg = config()
        local rows = { { "PRIORITY", "LAYER", "SOURCE", "STATUS" } }
        local plugins = {}
        local byname = {}
        for _, l in ipairs(cfg.layers()) do
          if l.name == "plugin" then plugins[#plugins + 1] = l.label
          elseif not byname[l.name] then byname[l.name] = { l } else table.insert(byname[l.name], l) end
        end
        for _, name in ipairs(layers_mod.ORDER) do
          local prio = tostring(layers_mod.PRIORITY[name])
          if name == "plugin" then
            rows[#rows + 1] = { prio, name, #plugins > 0 and table.concat(plugins, ", ") or "-",
                                #plugins > 0 and (#plugins .. " registered") or "none" }
          elseif name == "default" then
            rows[#rows + 1] = { prio, name, "built in", "present" }
          elseif name == "flags" then
            local l = byname.flags[1]
            rows[#rows + 1] = { prio, name, "--set", l.present and "present" or "none" }
          elseif name == "env" then
            local l = byname.env[1]
            rows[#rows + 1] = { prio, name, #l.vars > 0 and table.concat(l.vars, " ") or "VCLI_*",
                                l.present and "present" or "none" }
          else
            for _, l in ipairs(byname[name] or {}) do
              local status
              if l.err then status = "error: " .. l.err
              elseif name == "workspace" and l.present then
                status = l.status == "trusted" and "present, trusted"
                  or (l.status == "changed" and "present, changed since trusted (ignored)" or "present, not trusted (ignored)")
              elseif l.present then status = "present"
              else status = "absent" end
              local src = l.source or l.file
              if not src then
                src = name == "cluster" and "no kube context" or (name == "fleet" and "fleet.source not set")
                  or (name == "workspace" and "no .vcli.yaml") or "-"
              end
              if l.context then src = src .. " (context " .. l.context .. ")" end
              if l.rc then status = "values set by the rc" end
              rows[#rows + 1] = { prio, name, src, status }
            end
          end
        end
        ctx.print(text.columns(rows))
      end,
    },
    {
      name = "trust",
      summary = "Trust a workspace .vcli.yaml (its current content)",
      args = { { name = "file", optional = true, help = "the file (default: the nearest .vcli.yaml)" } },
      handler = function(ctx)
        local path = config().trust(ctx.args.file)
        ctx.print("trusted " .. path)
        config().reload()
      end,
    },
    {
      name = "untrust",
      summary = "Stop honouring a workspace .vcli.yaml",
      args = { { name = "file", optional = true, help = "the file (default: the nearest .vcli.yaml)" } },
      handler = function(ctx)
        local path, was = config().untrust(ctx.args.file)
        ctx.print((was and "untrusted " or "was not trusted: ") .. path)
        config().reload()
      end,
    },
  },
}, "core")

return M
