-- caps/fs_read.lua — fs.read: files under the paths the manifest lists,
-- checked on the real path so that "..", symlinks and the like cannot
-- leave them. Also the grant that HTTP's ca_file/cert_file/key_file need.
--   plugin.yaml:  - fs.read: { paths: ["~/.kube", "${XDG_CONFIG_HOME}/x"] }   ("/": any path)
--   plugin side:  vcli.fs.read(path), vcli.fs.list(dir), vcli.fs.stat(path) -> {type, size, mode, mtime} | nil
local R = require("vcli.plugin.runtime")
local fs = require("vcli.fs")

local C = { name = "fs.read", summary = "read files and list directories under the listed paths",
            grant = "- fs.read: { paths: [DIR] }", api = { "vcli.fs.read", "vcli.fs.list", "vcli.fs.stat" } }
C.options = { paths = { list = true } }
C.ops = { read = "now", list = "now", stat = "now" }
C.host = {}

-- ~ and ${XDG_*_HOME} in a path (manifest paths and the plugin's own).
function C.expand(path)
  path = path:gsub("^~", R.home())
  path = path:gsub("%${(XDG_[%u_]+)}", function(k)
    local defaults = { XDG_DATA_HOME = R.home() .. "/.local/share", XDG_CONFIG_HOME = R.home() .. "/.config",
                       XDG_STATE_HOME = R.home() .. "/.local/state", XDG_CACHE_HOME = R.home() .. "/.cache" }
    return R.env(k) or defaults[k] or ""
  end)
  return path
end

-- The real path of path if cap ("fs.read" or "fs.write") covers it; raises
-- a sentence that lists the granted paths when it does not.
function C.check_path(p, cap, path, for_write)
  if type(path) ~= "string" or path == "" then error(cap .. ": path expected", 0) end
  path = C.expand(path)
  local real = fs.realpath(path)
  if not real and for_write then
    local parent, base = path:match("^(.*)/([^/]+)$")
    local rp = parent and fs.realpath(parent ~= "" and parent or "/")
    if rp and base ~= ".." and base ~= "." then real = rp .. "/" .. base end
  end
  if not real then error(("%s: %s: no such file or directory"):format(cap, path), 0) end
  local roots = p.m.capabilities[cap].paths or {}
  for _, root in ipairs(roots) do
    local rr = fs.realpath(C.expand(root))
    if rr and (rr == "/" or real == rr or real:sub(1, #rr + 1) == rr .. "/") then return real end
  end
  error(("plugin %s may not %s '%s' (capabilities: %s: paths: [%s])"):format(p.name, for_write and "write" or "read",
    path, cap, table.concat(roots, ", ")), 0)
end

-- opened as checked: a symlink swapped into the real path after the check
-- fails the read (fs.read_exact) instead of reading where it points
function C.host.read(p, path)
  local real = C.check_path(p, "fs.read", path)
  -- a file the plugin could not hold is refused before it is read (its memory limit)
  local s, err = fs.read_exact(real, p.mem_limit)
  if not s then error("fs.read: " .. tostring(err):gsub("the limit %(", ("plugin %s's memory limit ("):format(p.name)), 0) end
  return s
end
function C.host.list(p, path) return fs.list(C.check_path(p, "fs.read", path)) end
-- what is at path (type file|dir|link|other, size, mode, mtime), nil when nothing is
function C.host.stat(p, path)
  local ok, real = pcall(C.check_path, p, "fs.read", path)
  if not ok then
    if tostring(real):find("no such file or directory", 1, true) then return nil end
    error(real, 0)
  end
  return (fs.stat(real))
end

function C.plugin(vcli, api)
  vcli.fs = vcli.fs or {}
  vcli.fs.read = api.op("fs.read", "read")
  vcli.fs.list = api.op("fs.read", "list")
  vcli.fs.stat = api.op("fs.read", "stat")
end

return C
