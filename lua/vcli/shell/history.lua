-- vcli.shell.history — persistent, deduplicated, size-capped history that
-- never stores a line carrying a secret. One entry per line in
-- $XDG_STATE_HOME/vcli/history; newlines inside an entry are escaped.
local M = {}
local H = {}
H.__index = H

-- Lines matching any of these are never written to history.
M.secret_patterns = {
  "%-%-token[=%s]", "%-%-password[=%s]", "%-%-client%-key", "%-%-client%-certificate%-data",
  "[Tt][Oo][Kk][Ee][Nn]%s*[=:]", "[Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd]%s*[=:]", "[Ss][Ee][Cc][Rr][Ee][Tt]%s*[=:]",
  "[Bb]earer%s+%S", "[Aa]uthorization:", "%-%-from%-literal=", "PRIVATE KEY",
  "%-%-basic%-auth", "%-%-api%-key", "api[_%-]?key%s*[=:]",
}

function M.has_secret(line)
  for _, p in ipairs(M.secret_patterns) do if line:find(p) then return true end end
  return false
end

local function escape(s) return (s:gsub("\\", "\\\\"):gsub("\n", "\\n")) end
local function unescape(s)
  return (s:gsub("\\(.)", function(c) if c == "n" then return "\n" end return c end))
end

function M.default_path()
  local base = os.getenv("XDG_STATE_HOME")
  if not base or base == "" then base = (os.getenv("HOME") or "/tmp") .. "/.local/state" end
  return base .. "/vcli/history"
end

-- M.open(path, max[, opts]) -> history; loads what the file holds.
-- opts.dedupe (default true): only the latest of equal entries is kept;
-- opts.ignore_space (default true): lines starting with a space are not kept.
function M.open(path, max, opts)
  opts = opts or {}
  local h = setmetatable({ path = path, max = max or 10000, entries = {},
    dedupe = opts.dedupe ~= false, ignore_space = opts.ignore_space ~= false }, H)
  h:load()
  return h
end

-- The history the configuration describes: history.file (empty: the
-- default path), history.size, history.dedupe, history.ignoreSpace.
-- M.settings() -> path, max, opts: what the configuration says, nothing read.
-- M.from_config([suffix]) opens that history (suffix: a file beside it, "-ui").
function M.settings()
  local ok, config = pcall(require, "vcli.config")
  local function get(k)
    if not ok then return nil end
    local gok, v = pcall(config.get, k)
    if gok then return v end
  end
  local path = get("history.file")
  if type(path) ~= "string" or path == "" then path = M.default_path()
  elseif path:sub(1, 2) == "~/" then path = (os.getenv("HOME") or "") .. path:sub(2) end
  return path, tonumber(get("history.size")), { dedupe = get("history.dedupe"), ignore_space = get("history.ignoreSpace") }
end

function M.from_config(suffix)
  local path, max, opts = M.settings()
  return M.open(path .. (suffix or ""), max, opts)
end

function H:load()
  local entries, index = {}, {}
  local f = self.path and io.open(self.path)
  if f then
    for line in f:lines() do
      if line ~= "" then
        local e = unescape(line)
        if index[e] and self.dedupe then entries[index[e]] = false end
        table.insert(entries, e)
        index[e] = #entries
      end
    end
    f:close()
  end
  local out = {}
  for _, e in ipairs(entries) do if e then table.insert(out, e) end end
  while #out > self.max do table.remove(out, 1) end
  self.entries = out
  self.file_lines = f and #entries or 0
end

local function mkdir_p(dir)
  require("vcli.fs").mkdir_p(dir)
end

-- Rewrite the file deduplicated and capped (atomically, via rename).
function H:compact()
  if not self.path then return end
  local tmp = self.path .. ".tmp"
  local f = io.open(tmp, "w")
  if not f then return end
  for _, e in ipairs(self.entries) do f:write(escape(e), "\n") end
  f:close()
  os.rename(tmp, self.path)
  self.file_lines = #self.entries
end

-- Add a line; returns false when it was not stored (empty, secret, space-led).
function H:add(line)
  if line:match("^%s*$") or (self.ignore_space and line:sub(1, 1) == " ") or M.has_secret(line) then return false end
  if self.max <= 0 then return false end
  for i = #self.entries, 1, -1 do
    if self.dedupe and self.entries[i] == line then table.remove(self.entries, i) break end
  end
  table.insert(self.entries, line)
  while #self.entries > self.max do table.remove(self.entries, 1) end
  if self.path then
    local f = io.open(self.path, "a")
    if not f then
      mkdir_p(self.path:match("^(.*)/[^/]*$") or ".")
      f = io.open(self.path, "a")
    end
    if f then
      f:write(escape(line), "\n")
      f:close()
      self.file_lines = (self.file_lines or 0) + 1
      if self.file_lines > self.max + math.max(100, self.max / 2) then self:compact() end
    end
  end
  return true
end

function H:clear()
  self.entries = {}
  if self.path then self:compact() end
end

function H:size() return #self.entries end
function H:get(i) return self.entries[i] end

-- Newest entry before index `from` (exclusive) containing query; returns index.
function H:search_back(query, from)
  for i = math.min(from - 1, #self.entries), 1, -1 do
    if self.entries[i]:find(query, 1, true) then return i end
  end
end

return M
