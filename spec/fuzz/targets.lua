-- Fuzz targets (make fuzz; spec/fuzz/harness.c runs one of them per input,
-- inside the same Lua state vcli itself runs in, C core included).
-- Each target takes the input bytes. A parser refusing the input with an
-- error message is what should happen; what the harness treats as a bug (it
-- aborts, so libFuzzer keeps the input):
--   * a crash, a hang, a leak or a sanitizer report (the C parsers);
--   * a Lua error that is not a message about the input: "attempt to index",
--     "bad argument", "stack overflow", an error that is not a string…
--     (raised here as a table { bug = … });
--   * a round trip that changes the value (yaml, json), lines that do not
--     add up to the input (the watch line splitter).
-- spec/fuzz_spec.lua runs every target over its seeds and over every input
-- that ever crashed (spec/fuzz/regress/TARGET/) in `make test`.
local root = (os.getenv("VCLI_DATADIR") or ".")
package.path = root .. "/plugins/kubernetes/?.lua;" .. root .. "/plugins/prometheus/?.lua;" .. package.path

local yaml = require("vcli.yaml")
local jsonfmt = require("vcli.jsonfmt")
local wsock = require("vcli.wsock")
local term = require("vcli.term")

local T = {}

local function bug(fmt, ...) error({ bug = fmt:format(...) }, 0) end

-- A fault in the code, not in the input: Lua's runtime errors carry the
-- place they happened ("k8s/jsonpath.lua:88: attempt to index a nil value",
-- "…: bad argument #1 to 'find'"), while a parser's message about the input
-- is raised without one (error(msg, 0)); and running out of stack or memory.
-- (The message itself may quote the input, so its words are not searched.)
local function internal(msg)
  return msg:match("^[%w_/%.%-]+%.lua:%d+: ") ~= nil or msg:match('^%[string "[^"\n]*"%]:%d+: ') ~= nil
    or msg == "not enough memory" or msg:match("^stack overflow") ~= nil or msg:match("^C stack overflow") ~= nil
end

-- run fn(...): its results, or nil when it refused the input with a message;
-- anything else is a bug
local function clean(what, fn, ...)
  local r = { pcall(fn, ...) }
  if r[1] then return unpack(r, 2) end
  local e = r[2]
  if type(e) == "table" and e.bug then error(e, 0) end
  if type(e) ~= "string" then
    -- a structured error some parsers raise on purpose (manifest_error…) is a message too
    if type(e) == "table" and (e.manifest_error or e.message) then return nil end
    bug("%s raised a %s, not a message", what, type(e))
  end
  if internal(e) then bug("%s: %s", what, e) end
  return nil
end
T.clean = clean

local function is_nan(v) return type(v) == "number" and v ~= v end
-- deep equality of decoded values (NaN equals NaN; arrays and maps as tables)
local function same(a, b, depth)
  depth = (depth or 0) + 1
  if depth > 1000 then return true end
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b or (is_nan(a) and is_nan(b)) end
  for k, v in pairs(a) do if not same(v, b[k], depth) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

-- ---------------------------------------------------------------- C parsers
-- vcli.yaml: decode, then encode and decode again: the same value
function T.yaml(s)
  local v = clean("yaml.decode", yaml.decode, s, "fuzz")
  if v == nil then
    clean("yaml.decode_all", yaml.decode_all, s, "fuzz")
    return
  end
  local text = clean("yaml.encode", yaml.encode, v)
  if text == nil then return end -- a value YAML cannot say (refused with a message)
  local back, err = yaml.decode(text, "round trip")
  if back == nil then bug("yaml: encode wrote what decode refuses: %s", tostring(err)) end
  if not same(v, back) then bug("yaml: the round trip changed the value") end
end

-- vcli.jsonfmt: decode, encode (compact and pretty), decode again: the same value
function T.jsonfmt(s)
  local v = clean("jsonfmt.decode", jsonfmt.decode, s)
  if v == nil then return end
  for _, indent in ipairs({ "", "  " }) do
    local text = clean("jsonfmt.encode", jsonfmt.encode, v, indent, nil, indent == "")
    if text then
      local back, err = jsonfmt.decode(text)
      if back == nil and not is_nan(v) then bug("jsonfmt: encode wrote what decode refuses: %s", tostring(err)) end
      if back ~= nil and not same(v, back) then bug("jsonfmt: the round trip changed the value") end
    end
  end
end

-- vcli.wsock's frame decoder, fed in pieces whose sizes the input's first byte picks
function T.wsock(s)
  local d = wsock.decoder()
  local step = (s:byte(1) or 1) % 7 + 1
  local i = 2
  while i <= #s do
    local r = clean("wsock feed", d.feed, d, s:sub(i, i + step - 1))
    if r == nil then break end
    i = i + step
  end
  clean("wsock pending", d.pending, d)
end

-- vcli.term's key decoder (what a terminal sends: keys, escapes, pastes, mouse)
function T.term_keys(s)
  local d = term.decoder()
  local half = math.floor(#s / 2)
  clean("term feed", d.feed, d, s:sub(1, half))
  clean("term feed", d.feed, d, s:sub(half + 1))
  clean("term flush", d.flush, d)
end

-- ---------------------------------------------------------------- Lua parsers
-- the shell's word splitting and command parsing (a REPL line)
function T.shell_words(s)
  local words = require("vcli.shell.words")
  local cmds = clean("words.split", words.split, s, true)
  for _, c in ipairs(type(cmds) == "table" and cmds or {}) do
    if c.words and #c.words > 0 then clean("commands.parse", require("vcli.shell.commands").parse, c.words) end
  end
  clean("words.words", words.words, s)
end

-- kubeconfig loading and resolving every context in it
function T.kubeconfig(s)
  local kubeconfig = require("k8s.kubeconfig")
  local env = { yaml = yaml, json = require("vcli.json"), getenv = function(k) if k == "HOME" then return "/nonexistent" end end,
                read_file = function(p) if p == "/fuzz/config" then return s end return nil, "no such file" end,
                time = os.time, now = function() return 0 end }
  local kc = clean("kubeconfig.load", kubeconfig.load, env, { kubeconfig = "/fuzz/config" })
  if type(kc) ~= "table" then return end
  for _, name in ipairs(clean("context_names", kubeconfig.context_names, kc) or {}) do
    clean("kubeconfig.resolve", kubeconfig.resolve, env, kc, name)
  end
end

local SAMPLE = {
  kind = "List", apiVersion = "v1",
  items = { { metadata = { name = "web-1", namespace = "default", labels = { app = "web" } },
              spec = { containers = { { name = "app", image = "web:1", ports = { { containerPort = 80 } } } } },
              status = { phase = "Running", conditions = { { type = "Ready", status = "True" } } } },
            { metadata = { name = "db-0", namespace = "data" }, spec = { replicas = 3 } } },
}

-- kubectl's JSONPath templates: parsed, then run over a list of objects
function T.jsonpath(s)
  local jp = require("k8s.jsonpath")
  local nodes = clean("jsonpath.parse", jp.parse, s)
  if nodes then clean("jsonpath.execute", jp.execute, nodes, SAMPLE, jsonfmt.null or false) end
end

-- custom-columns=SPEC: parsed, then each column's path run over the objects
function T.custom_columns(s)
  local get = require("k8s.get")
  local cols = clean("custom_columns", get.custom_columns, s)
  if type(cols) ~= "table" then return end
  local jp = require("k8s.jsonpath")
  for _, c in ipairs(cols) do
    for _, it in ipairs(SAMPLE.items) do clean("column", jp.eval, c.path, it, false) end
  end
end

-- the plugin manifest parser (plugin.yaml)
function T.plugin_manifest(s)
  clean("manifest.parse", require("vcli.plugin.manifest").parse, s, "fuzz/plugin.yaml")
end

-- PromQL completion's scanner, and completion at the end of the text
function T.promql(s)
  local pc = require("prom.promql_complete")
  clean("promql.context", pc.context, s)
  clean("promql.complete", pc.complete, s, {
    metric_names = function() return { "up", "http_requests_total" } end,
    label_names = function() return { "job", "instance", "__name__" } end,
    label_values = function() return { "api", "node" } end,
  })
end

-- the watch stream: chunks (sizes from the first byte) split into lines, each
-- line a JSON event; the lines add up to the input
function T.watch_lines(s)
  local lines = require("vcli.lines")
  local body = s:sub(2)
  local step = (s:byte(1) or 1) % 13 + 1
  local pos = 1
  local got = {}
  for line in lines(function()
    if pos > #body then return nil end
    local c = body:sub(pos, pos + step - 1)
    pos = pos + step
    return c
  end) do
    got[#got + 1] = line
    local ev = clean("watch event", jsonfmt.decode, line)
    if type(ev) == "table" and ev.type ~= nil and type(ev.type) ~= "string" then
      -- (an event whose type is not a string is the server's problem; the splitter must not care)
      ev = nil -- luacheck: ignore 311
    end
  end
  local joined = table.concat(got, "\n")
  local want = body:gsub("\n$", "")
  if joined ~= want then bug("watch lines: %d lines do not add up to the input", #got) end
end

-- vcli.pattern (plugin states' string.find/match/gmatch/gsub) against
-- LuaJIT's own: SUBJECT \255 PATTERN (no separator: the input is both), the
-- same answers or both refused. Inputs whose backtracking could run long in
-- LuaJIT's matcher (subject length to the power of the quantifiers, one more
-- for the start positions, times the pattern's length for its sets: over 3e7)
-- are skipped: that is the blow-up vcli.pattern exists to stop, and the 1 s
-- time-out of the sanitizers' build would call it a hang.
function T.pattern(s)
  local P = require("vcli.pattern")
  local sep = s:find("\255", 1, true)
  local subj, pat = s, s
  if sep then subj, pat = s:sub(1, sep - 1), s:sub(sep + 1) end
  local quant = select(2, pat:gsub("[%*%+%-%?]", ""))
  if (quant + 1) * math.log(#subj + 2) + math.log(#pat + 1) > math.log(3e7) then return end
  local function agree(name, ...)
    local a, b = { pcall(string[name], ...) }, { pcall(P[name], ...) }
    if a[1] ~= b[1] or (not a[1] and a[2] ~= b[2]) then
      bug("pattern %s: LuaJIT %s %s, vcli.pattern %s %s", name, tostring(a[1]), tostring(a[2]), tostring(b[1]), tostring(b[2]))
    end
    for i = 2, math.max(#a, #b) do
      if a[1] and a[i] ~= b[i] then bug("pattern %s: result %d differs (%s vs %s)", name, i - 1, tostring(a[i]), tostring(b[i])) end
    end
  end
  agree("find", subj, pat)
  agree("find", subj, pat, 2, true)
  agree("match", subj, pat, -3)
  agree("gsub", subj, pat, "<%0>")
  agree("gsub", subj, pat, function(a) return a == "" and false or "*" end, 3)
  local function all(fn)
    local out = {}
    for a, b in fn(subj, pat) do out[#out + 1] = tostring(a) .. "|" .. tostring(b); if #out > 100 then break end end
    return table.concat(out, ",")
  end
  local oka, ga = pcall(all, string.gmatch)
  local okb, gb = pcall(all, P.gmatch)
  if oka ~= okb or (oka and ga ~= gb) then bug("pattern gmatch: LuaJIT %s, vcli.pattern %s", tostring(ga), tostring(gb)) end
end

return T
