-- k8s.cp — kubectl cp, natively: files and directories between this machine and a
-- container, as kubectl copies them — through `tar` in the container (exec), a tar
-- stream made or read here. `cp SRC POD:DEST` uploads (into DEST when it is a
-- directory there), `cp POD:SRC DEST` downloads (what tar prints there, e.g.
-- "Removing leading `/'", on stderr, as kubectl shows it). -c picks the container;
-- NAMESPACE/POD:PATH names another namespace.
local remote = require("k8s.remote")

local M = {}

local function fail(msg) error(msg, 0) end

-- ---------------------------------------------------------------- tar (ustar)
local BLOCK = 512

local function octal(n, width)
  return ("%0" .. (width - 1) .. "o"):format(n) .. "\0"
end

-- one header: name (split into prefix/name past 100 bytes; a GNU long-name entry first
-- when it cannot be split), mode, size, type ("0" file, "5" dir, "L" long name)
local header
function header(name, mode, size, mtime, typeflag)
  local prefix, long = "", ""
  if #name > 100 then
    local cut = name:sub(1, 155):match("^(.*)/")
    if cut and #name - #cut - 1 <= 100 then
      prefix, name = cut, name:sub(#cut + 2)
    else
      local data = name .. "\0"
      long = header("././@LongLink", 420, #data, 0, "L") .. data .. ("\0"):rep((BLOCK - #data % BLOCK) % BLOCK)
      name = name:sub(1, 100)
    end
  end
  local function pad(s, n) return s .. ("\0"):rep(n - #s) end
  local h = pad(name, 100) .. octal(mode, 8) .. octal(0, 8) .. octal(0, 8) .. octal(size, 12) .. octal(mtime, 12)
    .. "        " .. typeflag .. pad("", 100) .. "ustar\0" .. "00" .. pad("root", 32) .. pad("root", 32)
    .. octal(0, 8) .. octal(0, 8) .. pad(prefix, 155)
  h = pad(h, BLOCK)
  local sum = 0
  for i = 1, #h do sum = sum + h:byte(i) end
  return long .. h:sub(1, 148) .. ("%06o\0 "):format(sum) .. h:sub(157)
end

-- the archive of local path `src` with entries named under `name` (kubectl's
-- makeTar: the destination's base name); padded to whole 10 KiB records
function M.make_tar(env, src, name)
  local parts = {}
  local function add(path, entry, depth)
    if depth > 64 then fail("error: " .. src .. ": directories nested too deep") end
    local st = env.stat(path)
    if not st then fail(("error: %s doesn't exist in local filesystem"):format(path)) end
    if st.type == "dir" then
      parts[#parts + 1] = header(entry .. "/", st.mode or 493, 0, math.floor(st.mtime or 0), "5")
      local list = env.list_dir(path) or {}
      table.sort(list)
      for _, child in ipairs(list) do add(path .. "/" .. child, entry .. "/" .. child, depth + 1) end
    elseif st.type == "file" then
      local data, err = env.read_file(path)
      if not data then fail(("error: %s: %s"):format(path, tostring(err))) end
      parts[#parts + 1] = header(entry, st.mode or 420, #data, math.floor(st.mtime or 0), "0")
      parts[#parts + 1] = data .. ("\0"):rep((BLOCK - #data % BLOCK) % BLOCK)
    end
  end
  add(src, name, 0)
  parts[#parts + 1] = ("\0"):rep(2 * BLOCK)
  local t = table.concat(parts)
  return t .. ("\0"):rep((10240 - #t % 10240) % 10240)
end

-- the entries of an archive: { name=, type = "file"|"dir"|"link"|"other", mode=, data=, link= }
function M.read_tar(t)
  local out, pos, longname = {}, 1, nil
  while pos + BLOCK - 1 <= #t do
    local h = t:sub(pos, pos + BLOCK - 1)
    if h == ("\0"):rep(BLOCK) then break end
    local function field(a, n) return (h:sub(a, a + n - 1):gsub("%z.*$", "")) end
    local size = tonumber(field(125, 12):match("[0-7]+") or "0", 8) or 0
    local typeflag = h:sub(157, 157)
    local name = field(1, 100)
    if h:sub(258, 262) == "ustar" then
      local prefix = field(346, 155)
      if prefix ~= "" then name = prefix .. "/" .. name end
    end
    local data = t:sub(pos + BLOCK, pos + BLOCK + size - 1)
    pos = pos + BLOCK + math.ceil(size / BLOCK) * BLOCK
    if typeflag == "L" then   -- GNU long name: the next entry's name
      longname = data:gsub("%z.*$", "")
    else
      if longname then name, longname = longname, nil end
      local ty = (typeflag == "0" or typeflag == "\0" or typeflag == "7") and "file" or typeflag == "5" and "dir"
        or (typeflag == "2" or typeflag == "1") and "link" or "other"
      out[#out + 1] = { name = name, type = ty, mode = tonumber(field(101, 8):match("[0-7]+") or "644", 8),
                        data = data, link = field(158, 100) }
    end
  end
  return out
end

-- ---------------------------------------------------------------- paths
-- "[NAMESPACE/]POD:PATH" -> ns, pod, path; nil for a local path
local function remote_spec(s)
  local pod, path = s:match("^([^:/]*/?[^:/]+):(.*)$")
  if not pod or s:match("^/") or s:match("^%./") then return nil end
  local ns, name = pod:match("^([^/]+)/([^/]+)$")
  return ns, name or pod, path
end

local function clean(p)
  local parts = {}
  for seg in p:gmatch("[^/]+") do
    if seg == ".." then if #parts > 0 then table.remove(parts) end
    elseif seg ~= "." then parts[#parts + 1] = seg end
  end
  return table.concat(parts, "/")
end

local function base(p) return (p:gsub("/+$", "")):match("([^/]*)$") end
local function dir_of(p)
  local d = (p:gsub("/+$", "")):match("^(.*)/[^/]*$")
  if d == nil then return "" end
  return d == "" and "/" or d
end

function M.run(sess, ctx)
  local env, f = sess.env, ctx.flags
  local items = ctx.args.items or {}
  if #items ~= 2 then fail("error: source and destination are required") end
  local src, dest = items[1], items[2]
  local c, conn = sess:client(f)
  if sess:is_readonly(conn) then fail(("k8s cp: refused: read-only mode (context %s)"):format(conn.context)) end
  local sns, spod, spath = remote_spec(src)
  local dns, dpod, dpath = remote_spec(dest)
  if spod and dpod then fail("error: one of src or dest must be a local file specification") end
  if not spod and not dpod then fail("error: one of src or dest must be a remote file specification") end
  local json = env.json
  local function pod_of(ns, name)
    ns = ns or conn.namespace
    local pod = remote.resolve(sess, c, ns, name)
    local cname = f.container
    if not cname then
      local names = {}
      for _, ct in ipairs(pod.spec and pod.spec.containers or {}) do names[#names + 1] = ct.name end
      local ann = (pod.metadata.annotations or {})["kubectl.kubernetes.io/default-container"]
      cname = ann or names[1]
      if not ann and #names > 1 then
        ctx.err(("Defaulted container %q out of: %s\n"):format(cname, table.concat(names, ", ")))
      end
    end
    return ns, pod.metadata.name, cname
  end
  if dpod then
    -- upload: tar made here, unpacked there (into DEST when DEST is a directory there)
    if dpath == "" then fail("error: remote path cannot be empty") end
    local st = env.stat(src)
    if not st then fail(("error: %s doesn't exist in local filesystem"):format(src)) end
    local ns, pod, cname = pod_of(dns, dpod)
    local target = dpath
    local is_dir = remote.run_in(c, json, ns, pod, cname, { "test", "-d", dpath })
    if is_dir == 0 then target = dpath:gsub("/+$", "") .. "/" .. base(src) end
    local tar = M.make_tar(env, src:gsub("/+$", ""), base(target))
    local argv = { "tar", "-xmf", "-" }
    if f["no-preserve"] then argv = { "tar", "--no-same-permissions", "--no-same-owner", "-xmf", "-" } end
    local tdir = dir_of(target)
    if tdir ~= "" then argv[#argv + 1] = "-C"; argv[#argv + 1] = tdir end
    local code, out, err = remote.run_in(c, json, ns, pod, cname, argv, tar)
    if not code then fail(out) end
    if out ~= "" then ctx.out(out) end
    if err ~= "" then ctx.err(err) end
    if code ~= 0 then fail(("command terminated with exit code %d"):format(code)) end
    return 0
  end
  -- download: tar there, unpacked here under DEST, the source's path prefix stripped
  if spath == "" then fail("error: remote path cannot be empty") end
  local ns, pod, cname = pod_of(sns, spod)
  local code, out, err = remote.run_in(c, json, ns, pod, cname, { "tar", "cf", "-", spath })
  if not code then fail(out) end
  -- (what tar says there comes out with the copy's output, as kubectl's does)
  if err ~= "" then ctx.out(err) end
  local prefix = clean(spath)
  for _, e in ipairs(M.read_tar(out)) do
    local name = clean(e.name)
    if name:sub(1, #prefix) ~= prefix then fail("error: tar contents corrupted") end
    local rest = clean(name:sub(#prefix + 1))
    local target = rest == "" and dest or (dest:gsub("/+$", "") .. "/" .. rest)
    if e.type == "dir" then
      local ok, merr = env.mkdir(target)
      if not ok then fail(("error: %s: %s"):format(target, tostring(merr))) end
    elseif e.type == "link" then
      ctx.err(("warning: skipping symlink: %q -> %q\n"):format(target, e.link))
    elseif e.type == "file" then
      local parent = dir_of(target)
      if parent ~= "" and parent ~= "/" then
        local ok, merr = env.mkdir(parent)
        if not ok then fail(("error: %s: %s"):format(parent, tostring(merr))) end
      end
      local ok, werr = env.write_file(target, e.data)
      if not ok and werr then fail(("error: %s: %s"):format(target, tostring(werr))) end
    end
  end
  local _ = code   -- (kubectl says nothing of tar's own status: what it printed is the word)
  return 0
end

return M
