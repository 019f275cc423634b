-- prom.plugin_env — the env the prom modules take, built inside the plugin's
-- own state from what plugin.yaml grants (vcli.http, vcli.store, vcli.env,
-- vcli.config) and the codecs every plugin has (vcli.json, vcli.jsonfmt,
-- vcli.yaml). The modules never touch `vcli` themselves.
--   local env = require("prom.plugin_env").new()
local M = {}

local function try(fn, ...)
  local ok, a, b, c = pcall(fn, ...)
  if ok then return a, b, c end
  return nil, tostring(a)
end

-- JSON in C, as the kubernetes plugin has it: vcli.jsonfmt's decoder
-- (positioned errors, "line:col: problem"; every array carries
-- jsonfmt.array_mt, so an empty result stays [] in -o json) and its compact
-- encoder (json.Marshal's layout, shortest floats). Until a vcli without
-- jsonfmt.decode is gone, lua-cjson's decoder stands in.
function M.json_codec()
  local cj, fmt = vcli.json, vcli.jsonfmt
  local decode, encode = fmt.decode or cj.decode, fmt.encode
  return {
    null = cj.null, array_mt = fmt.array_mt or {},
    decode = function(text, name)
      local ok, v, err = pcall(decode, text)
      if not ok then v, err = nil, tostring(v) end
      if v == nil then return nil, (name or "json") .. (tostring(err):find("^%d") and ":" or ": ") .. tostring(err) end
      return v
    end,
    encode = function(v) return (assert(encode(v, "", nil, true))) end,
  }
end

function M.new()
  local env = {
    json = M.json_codec(), yaml = vcli.yaml,
    cjson = vcli.json,   -- lua-cjson: the fastest reader of many numbers at once (the chart's values)
    now = os.time,
    sleep = function(ms) return vcli.sleep(ms) end,
  }

  function env.getenv(name)
    if not vcli.env then return nil end
    local v = try(vcli.env.get, name)
    return v
  end
  function env.width() return tonumber(env.getenv("COLUMNS") or "") or 80 end

  local ok_res, resilience = pcall(require, "vcli.resilience")
  if ok_res then env.resilience = resilience end

  -- vcli.http.request: the answer, or nil, err (no answer, or a host or file the grants do not cover)
  if vcli.http then env.http = { request = vcli.http.request } end

  if vcli.store then
    local st = vcli.store
    env.store = { get = st.get, put = st.put, del = st.del, keys = st.keys }
  end

  -- the core section prometheus (manifest: config: { read: [prometheus] }),
  -- read when a command runs, so a change applies to the next one
  if vcli.config then
    function env.config()
      local c = try(vcli.config.get, "prometheus")
      return type(c) == "table" and c or {}
    end
  end
  return env
end

return M
