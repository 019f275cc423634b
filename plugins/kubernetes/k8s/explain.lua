-- k8s.explain — kubectl explain TYPE[.FIELD…], natively: the server's OpenAPI v2
-- schema of the type (or of the field the path names), printed as kubectl prints
-- it from that document (KIND/VERSION, RESOURCE or FIELD, DESCRIPTION wrapped at
-- 80 columns, FIELDS sorted, -required-), --recursive for the whole tree of fields,
-- --api-version for another version of the type.
local M = {}

local function fail(msg) error(msg, 0) end

-- a schema node as kubectl's proto package sees it:
-- { t = "kind"|"primitive"|"array"|"map"|"ref"|"arbitrary", desc =, sub =, fields =, required =, prim = }
local function parse(defs, node)
  if type(node) ~= "table" then return { t = "arbitrary", desc = "" } end
  local desc = type(node.description) == "string" and node.description or ""
  if type(node["$ref"]) == "string" then
    local name = node["$ref"]:match("^#/definitions/(.+)$")
    return { t = "ref", desc = desc, name = name, defs = defs }
  end
  local ty = node.type
  if ty == "array" then return { t = "array", desc = desc, sub = parse(defs, node.items) } end
  if ty == "object" or (ty == nil and type(node.properties) == "table") then
    if type(node.properties) == "table" and next(node.properties) ~= nil then
      local req = {}
      for _, k in ipairs(type(node.required) == "table" and node.required or {}) do req[k] = true end
      return { t = "kind", desc = desc, props = node.properties, required = req, defs = defs }
    end
    local ap = node.additionalProperties
    -- (no additionalProperties: anything, described as the map is — kubectl prints it twice)
    return { t = "map", desc = desc, sub = type(ap) == "table" and parse(defs, ap) or { t = "arbitrary", desc = desc } }
  end
  if type(ty) == "string" then return { t = "primitive", desc = desc, prim = ty } end
  return { t = "arbitrary", desc = desc }
end

local function deref(s)
  if s.t ~= "ref" then return s end
  local d = s.defs[s.name]
  if not d then return { t = "arbitrary", desc = "" } end
  s.target = s.target or parse(s.defs, d)
  return s.target
end

local function field(kind, name) return parse(kind.defs, kind.props[name]) end

local function keys_of(kind)
  local ks = {}
  for k in pairs(kind.props) do ks[#ks + 1] = k end
  table.sort(ks)
  return ks
end

-- kubectl's type names: Object, string, []Object, map[string]string, "" for anything
local function type_name(s)
  if s.t == "ref" then return type_name(deref(s)) end
  if s.t == "kind" then return "Object" end
  if s.t == "primitive" then return s.prim end
  if s.t == "array" then return "[]" .. type_name(s.sub) end
  if s.t == "map" then return "map[string]" .. type_name(s.sub) end
  return ""
end

-- kubectl's wrapping: words joined until the line would pass `wrap` bytes; lines
-- ending in ":", indented ones (code), list items and empty lines kept apart
local function wrap_string(str, wrap)
  local out, words, len = {}, {}, 0
  local last = ""
  local function flush()
    if #words > 0 then out[#out + 1] = table.concat(words, " "); words, len, last = {}, 0, "" end
  end
  local function add(w)
    local nl = len + (#words > 0 and 1 or 0) + #w
    if nl <= wrap or #words == 0 then words[#words + 1] = w; len = nl; return true end
    return false
  end
  for line in (str .. "\n"):gmatch("(.-)\n") do
    local t = line:match("^%s*(.-)%s*$")
    -- (an empty line is kept once a line has been written; before that it only breaks the line)
    if t == "" and #out > 0 then
      flush()
      out[#out + 1] = ""
    elseif line:sub(1, 4) == "    " then
      -- a code block: the line as it is
      flush()
      out[#out + 1] = line
    else
      if t == "" or last:sub(-1) == ":" or t:sub(1, 2) == "- " or t:sub(1, 2) == "* " or t:match("^%d+%. ") then flush() end
      for w in line:gmatch("%S+") do
        last = w
        if not add(w) then flush(); add(w) end
      end
    end
  end
  flush()
  return out
end

local function writer(ctx)
  local w = {}
  function w.line(indent, s)
    if s == "" then ctx.out("\n") else ctx.out((" "):rep(indent) .. s .. "\n") end
  end
  function w.wrapped(indent, s)
    for _, l in ipairs(wrap_string(s, 80 - indent)) do w.line(indent, l) end
  end
  return w
end

-- the fields of a kind; recursive: their fields below them (a kind met again on the way down is not entered again)
local function print_fields(w, kind, indent, recursive, stack)
  for _, k in ipairs(keys_of(kind)) do
    local f = field(kind, k)
    local req = (not recursive and kind.required[k]) and " -required-" or ""
    w.line(indent, ("%s\t<%s>%s"):format(k, type_name(f), req))
    if recursive then
      local inner = f
      while inner.t == "array" or inner.t == "map" or inner.t == "ref" do
        inner = inner.t == "ref" and deref(inner) or inner.sub
      end
      if inner.t == "kind" and not stack[inner.props] then
        stack[inner.props] = true
        print_fields(w, inner, indent + 3, true, stack)
        stack[inner.props] = nil
      end
    else
      w.wrapped(indent + 2, f.desc)
      w.line(0, "")
    end
  end
end

-- the model printer: descriptions collected through refs, arrays and maps down to what prints
local function print_model(w, name, s, gvk, recursive)
  local descs, tname = {}, nil
  local function kind_and_version()
    w.line(0, "KIND:     " .. gvk.kind)
    w.line(0, "VERSION:  " .. (gvk.group ~= "" and (gvk.group .. "/") or "") .. gvk.version)
    w.line(0, "")
  end
  local function description(own)
    w.line(0, "DESCRIPTION:")
    local all, empty = {}, true
    for _, d in ipairs(descs) do all[#all + 1] = d end
    all[#all + 1] = own
    -- (as kubectl: a blank line before each but the first of the chain, whether or not one came before)
    for i, d in ipairs(all) do
      if d ~= "" then
        empty = false
        if i ~= 1 then w.line(0, "") end
        w.wrapped(5, d)
      end
    end
    if empty then w.wrapped(5, "<empty>") end
  end
  while true do
    if s.t == "ref" then
      descs[#descs + 1] = s.desc
      s = deref(s)
    elseif s.t == "array" or s.t == "map" then
      descs[#descs + 1] = s.desc
      tname = tname or type_name(s)
      s = s.sub
    else
      break
    end
  end
  tname = tname or type_name(s)
  kind_and_version()
  if s.t == "kind" then
    if name then w.line(0, ("RESOURCE: %s <%s>"):format(name, tname)); w.line(0, "") end
    description(s.desc)
    w.line(0, "")
    w.line(0, "FIELDS:")
    print_fields(w, s, 3, recursive, {})
  elseif s.t == "primitive" then
    w.line(0, ("FIELD:    %s <%s>"):format(name or "", tname))
    w.line(0, "")
    description(s.desc)
  else
    description(s.desc)
  end
end

-- the OpenAPI v2 document, once per server and session (descriptions kept)
local function openapi(sess, c)
  sess.openapi_docs = sess.openapi_docs or {}
  local key = c.conn.server
  if sess.openapi_docs[key] then return sess.openapi_docs[key] end
  local res, err = c:request{ path = "/openapi/v2", accept = "application/json", timeout_ms = 60000 }
  if not res then fail(err) end
  local doc = sess.env.json.decode(res.body)
  if type(doc) ~= "table" or type(doc.definitions) ~= "table" then fail("error: the server's /openapi/v2 is not an OpenAPI document") end
  sess.openapi_docs[key] = doc
  return doc
end

function M.run(sess, ctx)
  local f = ctx.flags
  local what = (ctx.args.items or {})[1]
  if not what then
    fail("error: You must specify the type of resource to explain. Use \"k8s api-resources\" for a complete list of"
      .. " supported resources.")
  end
  if (ctx.args.items or {})[2] then fail("error: We accept only this format: explain RESOURCE") end
  local c = sess:client(f)
  local d = sess:discovery(c)
  -- TYPE[.FIELD…]: the type is as long a dotted prefix as the server serves (deployments.apps.spec…)
  local parts = {}
  for p in what:gmatch("[^.]+") do parts[#parts + 1] = p end
  local r, path
  for n = #parts, 1, -1 do
    r = d:resolve(table.concat(parts, ".", 1, n))
    if r then
      path = { unpack(parts, n + 1) }
      break
    end
  end
  if not r then fail(('the server doesn\'t have a resource type "%s"'):format(parts[1] or what)) end
  local group, version = r.group or "", r.version or (r.gv or ""):match("([^/]+)$")
  if f["api-version"] then
    local g, v = f["api-version"]:match("^(.-)/?([^/]+)$")
    group, version = g or "", v
  end
  local doc = openapi(sess, c)
  local defs = doc.definitions
  local top
  for _, def in pairs(defs) do
    for _, gvk in ipairs(type(def["x-kubernetes-group-version-kind"]) == "table" and def["x-kubernetes-group-version-kind"] or {}) do
      if gvk.group == group and gvk.version == version and gvk.kind == r.kind then top = def end
    end
  end
  if not top then
    fail(("error: couldn't find resource for \"%s\""):format((group ~= "" and (group .. "/") or "") .. version .. ", Kind=" .. r.kind))
  end
  local s = parse(defs, top)
  local name
  for _, p in ipairs(path) do
    local k = s
    while k.t == "ref" or k.t == "array" or k.t == "map" do k = k.t == "ref" and deref(k) or k.sub end
    if k.t ~= "kind" or k.props[p] == nil then fail(("error: field %q does not exist"):format(p)) end
    s, name = field(k, p), p
  end
  print_model(writer(ctx), name, s, { group = group, version = version, kind = r.kind }, f.recursive)
  return 0
end

return M
