-- vcli.json — lua-cjson with errors that say where: "name:line:col: problem".
local cjson = require("cjson.safe")

local M = { null = cjson.null, empty_array_mt = cjson.empty_array_mt }
cjson.decode_max_depth(200)
cjson.encode_sparse_array(true, 1, 1)

local function position(text, offset)
  local line = 1
  local i = 1
  while true do
    local nl = text:find("\n", i, true)
    if not nl or nl >= offset then break end
    line = line + 1
    i = nl + 1
  end
  return line, offset - i + 1
end

-- M.decode(text [, name]) -> value | nil, "name:line:col: problem"
function M.decode(text, name)
  if type(text) ~= "string" then return nil, (name or "<json>") .. ": expected a string to decode" end
  local v, err = cjson.decode(text)
  if err == nil and v ~= nil then return v end
  if err == nil then return v end
  local char = tonumber(err:match("at character (%d+)"))
  local tokens = { T_COMMA = "','", T_END = "end of input", T_OBJ_END = "'}'", T_ARR_END = "']'",
                   T_COLON = "':'", T_OBJ_BEGIN = "'{'", T_ARR_BEGIN = "'['", T_STRING = "a string",
                   T_NUMBER = "a number", T_BOOLEAN = "a boolean", T_NULL = "null" }
  local what = err:gsub(" at character %d+", ""):gsub("^Expected", "expected"):gsub("T_[%u_]+", tokens)
  if char then
    local line, col = position(text, char)
    return nil, ("%s:%d:%d: %s"):format(name or "<json>", line, col, what)
  end
  return nil, (name or "<json>") .. ": " .. what
end

function M.encode(v)
  local s, err = cjson.encode(v)
  if not s then error("json: " .. err, 2) end
  return s
end

return M
