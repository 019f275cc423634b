-- caps/fs_write.lua — fs.write: write and remove files under the paths the
-- manifest lists (checked on the real path of the directory), and private
-- temporary files.
--   plugin.yaml:  - fs.write: { paths: ["/tmp"] }
--   plugin side:  vcli.fs.write(path, data), vcli.fs.remove(path) -> true | false when absent,
--                 vcli.fs.mkdir(path) (and its parents: mkdir -p),
--                 vcli.fs.private(name, data) -> path
local R = require("vcli.plugin.runtime")
local fs = require("vcli.fs")
local fs_read = require("vcli.plugin.caps.fs_read")

local C = { name = "fs.write", summary = "write and remove files under the listed paths; private temporary files",
            grant = "- fs.write: { paths: [DIR] }", api = { "vcli.fs.write", "vcli.fs.remove", "vcli.fs.private",
            "vcli.fs.mkdir" } }
C.options = { paths = { list = true } }
C.ops = { write = "now", remove = "now", private = "now", mkdir = "now" }
C.host = {}
local H = C.host

function H.write(p, path, data)
  local real = fs_read.check_path(p, "fs.write", path, true)
  local ok, err = fs.write_exact(real, tostring(data))   -- no link followed after the check
  if not ok then error("fs.write: " .. tostring(err), 0) end
  return true
end

-- a directory and its parents, inside the grant (the first one that does not exist yet is checked)
function H.mkdir(p, path)
  local xp = fs_read.expand(tostring(path))
  local probe = xp
  while probe ~= "" and not fs.realpath(probe) do
    local parent = probe:match("^(.*)/[^/]+$")
    if not parent then probe = "." break end
    probe = parent ~= "" and parent or "/"
  end
  fs_read.check_path(p, "fs.write", probe, true)
  fs_read.check_path(p, "fs.write", xp, true)   -- (the parent exists: the new name is checked as a write)
  local ok, err = fs.mkdir_p(xp)
  if not ok then error("fs.write: " .. tostring(err), 0) end
  return true
end

-- A private file for what others must never read (an edited Secret): NAME in a new
-- 0700 directory under $TMPDIR (or /tmp), itself 0600; returns its path. The directory
-- goes with the call that made it (return, error, Ctrl-C, time limit) or earlier by
-- remove(path). The temporary directory must be inside the fs.write grant.
function H.private(p, name, data)
  if type(name) ~= "string" or not name:match("^[%w._-]+$") or name:match("^%.") then
    error("fs.write.private: a plain file name expected (letters, digits, . _ -)", 0)
  end
  local tmp = R.env("TMPDIR")
  if not tmp or tmp == "" then tmp = "/tmp" end
  fs_read.check_path(p, "fs.write", tmp .. "/" .. name, true)
  local dir, err = fs.mkdtemp(tmp .. "/vcli-" .. p.name .. ".")
  if not dir then error("fs.write.private: " .. err, 0) end
  local path = dir .. "/" .. name
  local ok, werr = fs.write_new(path, tostring(data or ""))
  if not ok then fs.rmtree_private(dir); error("fs.write.private: " .. werr, 0) end
  R.adopt(p, p.current_call, { close = function() fs.rmtree_private(dir) end }, "private file")
  return path
end

-- the name itself (a symlink, not its target), inside the grant: true, or false when absent
function H.remove(p, path)
  if type(path) ~= "string" or path == "" then error("fs.write: path expected", 0) end
  local xp = fs_read.expand(path)
  local parent, base = xp:match("^(.*)/([^/]+)$")
  if not parent then parent, base = ".", xp end
  if base == "." or base == ".." then error("fs.write: cannot remove " .. path, 0) end
  local rp = fs.realpath(parent ~= "" and parent or "/")
  if not rp then return false end
  local target = (rp == "/" and "" or rp) .. "/" .. base
  fs_read.check_path(p, "fs.write", rp, true)   -- the directory it is removed from is inside the grant
  local st = fs.stat(target, true)
  if not st then return false end
  local ok, err = fs.remove(target)
  if not ok then error("fs.write: " .. tostring(err), 0) end
  return true
end

function C.plugin(vcli, api)
  vcli.fs = vcli.fs or {}
  vcli.fs.write = api.op("fs.write", "write")
  vcli.fs.remove = api.op("fs.write", "remove")
  vcli.fs.private = api.op("fs.write", "private")
  vcli.fs.mkdir = api.op("fs.write", "mkdir")
end

return C
