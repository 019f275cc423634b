-- vcli.config.trust — which workspace files (.vcli.yaml) the user has
-- trusted, as Neovim's :trust does: the trust database holds the file's
-- absolute path and the SHA-256 of the content that was trusted, so a file
-- that changes afterwards is ignored until it is trusted again.
-- Database: $XDG_STATE_HOME/vcli/trust, lines "<sha256> <path>".
local M = {}

-- SHA-256 of s as 64 hex digits (the core's, in C).
M.sha256 = require("vcli.codec").sha256

function M.db_path()
  return require("vcli.config.layers").xdg("XDG_STATE_HOME", "/.local/state") .. "/vcli/trust"
end

local function read_db()
  local out = {}
  local f = io.open(M.db_path())
  if not f then return out end
  for line in f:lines() do
    local h, p = line:match("^(%x+) (.+)$")
    if h then out[p] = h end
  end
  f:close()
  return out
end

local function write_db(db)
  local path = M.db_path()
  require("vcli.fs").mkdir_p(path:match("^(.*)/[^/]*$"))
  local paths = {}
  for p in pairs(db) do paths[#paths + 1] = p end
  table.sort(paths)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "w")
  if not f then error("config trust: cannot write " .. tostring(err), 0) end
  for _, p in ipairs(paths) do f:write(db[p], " ", p, "\n") end
  f:close()
  os.rename(tmp, path)
end

-- "trusted" | "changed" (trusted once, content differs since) | "untrusted"
function M.status(path, content)
  local h = read_db()[path]
  if not h then return "untrusted" end
  if h == M.sha256(content) then return "trusted" end
  return "changed"
end

function M.trust(path, content)
  local db = read_db()
  db[path] = M.sha256(content)
  write_db(db)
end

function M.untrust(path)
  local db = read_db()
  local was = db[path] ~= nil
  db[path] = nil
  write_db(db)
  return was
end

return M
