-- vcli.store: LMDB-backed storage, one named database per owner.
local store = require("vcli.store")

-- A separate vcli process running Lua against the same store directory:
-- what a second vcli (or the next session) sees.
local function other_process(dir, code)
  local file = dir .. "/../" .. dir:match("[^/]+$") .. "-child.lua"
  spec.write(file, "local store = require('vcli.store')\nlocal dir = ...\n" .. code)
  local out, rc = spec.sh(("%q -l %q %q"):format(spec.vcli, file, dir))
  os.remove(file)
  return out, rc
end

describe("vcli.store", function()
  local dir
  before_each(function() dir = spec.tmpdir() .. "/store" end)
  after_each(function() os.execute(("rm -rf %q"):format(dir:match("^(.*)/store$"))) end)

  it("creates the directory private to the user", function()
    local env = assert(store.open(dir .. "/nested"))
    local out = spec.sh(("stat -c %%a %q %q"):format(dir, dir .. "/nested"))
    assert.equal("700\n700\n", out)
    env:close()
  end)

  it("keeps values across close and reopen", function()
    local env = assert(store.open(dir))
    local db = env:db("core:history")
    assert.equal(true, db:put("cmd:1", "get pods"))
    assert.equal(true, db:put("cmd:2", "logs -f web"))
    assert.equal(true, db:del("cmd:2"))
    assert.equal(true, db:del("never-there"))
    env:close()
    local env2 = assert(store.open(dir))
    local db2 = env2:db("core:history")
    assert.equal("get pods", db2:get("cmd:1"))
    assert.equal(nil, db2:get("cmd:2"))
    env2:close()
  end)

  it("is shared with another process, both ways, while open", function()
    local env = assert(store.open(dir))
    local db = env:db("plugin:kubernetes")
    assert.truthy(db:put("from-parent", "hello"))
    local out, rc = other_process(dir, [[
      local db = assert(store.open(dir)):db("plugin:kubernetes")
      io.write(db:get("from-parent") or "missing", "\n")
      assert(db:put("from-child", "hi back"))
    ]])
    assert.equal(0, rc, out)
    assert.equal("hello\n", out)
    assert.equal("hi back", db:get("from-child"))
    env:close()
  end)

  it("returns the same environment for the same directory", function()
    local a = assert(store.open(dir))
    local b = assert(store.open(dir .. "/../store/"))
    assert.equal(a, b)
    a:db("x"):put("k", "v")
    assert.equal("v", b:db("x"):get("k"))
    a:close()
  end)

  it("keeps each owner's database apart", function()
    local env = assert(store.open(dir))
    local a, b = env:db("plugin:a"), env:db("plugin:b")
    a:put("token", "secret-a")
    b:put("other", "b")
    assert.equal(nil, b:get("token"))
    assert.same({ "other" }, b:keys(""))
    assert.same({ "token" }, a:keys(""))
    assert.equal(1, a:count())
    b:clear()
    assert.equal("secret-a", a:get("token"))
    assert.equal(0, b:count())
    assert.equal(2, env:stats().dbs)
    env:close()
  end)

  it("stores binary keys and values exactly", function()
    local env = assert(store.open(dir))
    local db = env:db("bin")
    local k, v = "k\0\255", "\0\1\2" .. string.rep("\255", 1000) .. "\0"
    assert.truthy(db:put(k, v))
    assert.equal(v, db:get(k))
    assert.equal(nil, db:get("k"))
    assert.equal("", (db:put("empty", "") and db:get("empty")))
    env:close()
  end)

  it("scans by prefix in key order, with a limit", function()
    local env = assert(store.open(dir))
    local db = env:db("scan")
    for _, k in ipairs({ "pod/b", "pod/a", "svc/x", "pod/c", "po", "pod0", "pod/" }) do db:put(k, "v:" .. k) end
    assert.same({ { "pod/", "v:pod/" }, { "pod/a", "v:pod/a" }, { "pod/b", "v:pod/b" }, { "pod/c", "v:pod/c" } },
      db:scan("pod/"))
    assert.same({ "pod/", "pod/a" }, db:keys("pod/", 2))
    assert.same({ "po", "pod/", "pod/a", "pod/b", "pod/c", "pod0", "svc/x" }, db:keys(""))
    assert.same({}, db:scan("zzz"))
    assert.same({}, db:scan("svc/y"))
    env:close()
  end)

  it("applies put_many in one transaction, all or nothing", function()
    local env = assert(store.open(dir))
    local db = env:db("batch")
    db:put("old", "1")
    db:put("gone", "2")
    assert.equal(true, db:put_many({ a = "A", b = "B", gone = false, old = "updated" }))
    assert.same({ { "a", "A" }, { "b", "B" }, { "old", "updated" } }, db:scan(""))
    -- a bad value anywhere stops the whole batch before anything is written
    assert.has_error(function() db:put_many({ c = "C", d = 42, e = "E" }) end, "must be a string or false")
    assert.has_error(function() db:put_many({ c = "C", [string.rep("k", 600)] = "x" }) end, "too long")
    assert.equal(nil, db:get("c"))
    -- a batch over quota writes none of its keys, deletes included
    db:set_quota(db:usage() + 10)
    local ok, err = db:put_many({ small = "s", a = false, huge = string.rep("x", 100) })
    assert.equal(nil, ok)
    assert.equal("store 'batch': quota of " .. (db:usage() + 10) .. " bytes exceeded", err)
    assert.equal(nil, db:get("small"))
    assert.equal("A", db:get("a"))
    env:close()
  end)

  it("enforces a quota on key and value bytes, durably", function()
    local env = assert(store.open(dir))
    local db = env:db("plugin:greedy")
    assert.equal(0, db:usage())
    assert.truthy(db:set_quota(100))
    assert.truthy(db:put("k1", string.rep("x", 48)))      -- 50 bytes
    assert.equal(50, db:usage())
    local ok, err = db:put("k2", string.rep("y", 60))     -- would be 112
    assert.equal(nil, ok)
    assert.equal("store 'plugin:greedy': quota of 100 bytes exceeded", err)
    assert.equal(nil, db:get("k2"))
    assert.equal(50, db:usage())
    assert.truthy(db:put("k1", string.rep("x", 90)))      -- replacing counts once: 92
    assert.equal(92, db:usage())
    assert.truthy(db:put("k1", "small"))                  -- shrinking is always allowed
    assert.equal(7, db:usage())
    -- other databases are not charged
    assert.truthy(env:db("other"):put("k", string.rep("z", 500)))
    env:close()

    local out, rc = other_process(dir, [[
      local db = assert(store.open(dir)):db("plugin:greedy")
      local used, quota = db:usage()
      local ok, err = db:put("k3", string.rep("q", 100))
      io.write(used, " ", quota, " ", tostring(ok), " ", tostring(err), "\n")
    ]])
    assert.equal(0, rc, out)
    assert.equal("7 100 nil store 'plugin:greedy': quota of 100 bytes exceeded\n", out)

    local db2 = assert(store.open(dir)):db("plugin:greedy")
    assert.truthy(db2:del("k1"))
    assert.equal(0, db2:usage())
    assert.truthy(db2:set_quota(0))
    assert.truthy(db2:put("k3", string.rep("q", 1000)))
    assert.equal(1002, db2:usage())
  end)

  it("grows the map past its initial size instead of failing", function()
    local env = assert(store.open(dir, { mapsize = 256 * 1024 }))
    assert.equal(256 * 1024, env:stats().mapsize)
    local db = env:db("bulk")
    local chunk = string.rep("x", 4000)
    for i = 1, 500 do assert(db:put(("k%04d"):format(i), chunk)) end   -- ~2 MB
    local big = {}
    for i = 1, 200 do big[("m%04d"):format(i)] = chunk end
    assert.equal(true, db:put_many(big))
    local st = env:stats()
    assert.truthy(st.mapsize > 2 * 1024 * 1024, "mapsize " .. st.mapsize)
    assert.truthy(st.used > 2 * 1024 * 1024, "used " .. st.used)
    assert.equal(700, db:count())
    assert.equal(chunk, db:get("k0001"))
    env:close()
  end)

  it("says the store is full when the map may not grow further", function()
    local env = assert(store.open(dir, { mapsize = 256 * 1024, max_mapsize = 512 * 1024 }))
    local db = env:db("capped")
    local ok, err
    for i = 1, 400 do
      ok, err = db:put(("k%04d"):format(i), string.rep("x", 4000))
      if not ok then break end
    end
    assert.equal(nil, ok)
    assert.matches("^store: put into 'capped' failed %(the store is full", err)
    env:close()
  end)

  it("rejects keys LMDB cannot hold with a clear error", function()
    local env = assert(store.open(dir))
    local db = env:db("keys")
    assert.has_error(function() db:put(string.rep("k", 512), "v") end,
      "store 'keys': key of 512 bytes is too long %(at most 511%)")
    assert.has_error(function() db:get(string.rep("k", 600)) end, "too long")
    assert.has_error(function() db:put("", "v") end, "must not be empty")
    assert.has_error(function() db:put("k", {}) end, "string expected")
    assert.truthy(db:put(string.rep("k", 511), "v"))
    env:close()
  end)

  it("makes every handle fail clearly after close", function()
    local env = assert(store.open(dir))
    local db = env:db("core:history")
    db:put("a", "b")
    env:close()
    assert.has_error(function() db:get("a") end, "store 'core:history': the environment is closed")
    assert.has_error(function() db:put("a", "c") end, "environment is closed")
    assert.has_error(function() env:db("x") end, "environment is closed")
    assert.has_error(function() env:stats() end, "environment is closed")
    env:close()   -- twice is harmless
    local again = assert(store.open(dir))
    assert.truthy(again ~= env)
    assert.equal("b", again:db("core:history"):get("a"))
    again:close()
  end)

  it("reports a directory it cannot use", function()
    spec.write(dir:match("^(.*)/store$") .. "/file", "x")
    local env, err = store.open(dir:match("^(.*)/store$") .. "/file")
    assert.equal(nil, env)
    assert.matches("^store: cannot create directory .*/file %(Not a directory%)$", err)
    assert.has_error(function() store.open(dir):db(".meta") end, "bad database name")
  end)
  it("put_many with expect writes only when the keys hold what was expected (compare-and-swap)", function()
    local env = assert(store.open(dir))
    local db = env:db("plugin:q")
    assert.equal(true, db:put_many({ seq = "1", ["op|1"] = "a" }, { seq = false }))
    -- a second writer that read the same "absent" loses, and nothing of its batch lands
    local ok, why = db:put_many({ seq = "1", ["op|1"] = "b" }, { seq = false })
    assert.equal(nil, ok)
    assert.equal("changed", why)
    assert.equal("a", db:get("op|1"))
    assert.equal(true, db:put_many({ seq = "2", ["op|2"] = "c" }, { seq = "1" }))
    assert.equal(nil, (db:put_many({ seq = "3" }, { seq = "1" })))
    assert.equal("2", db:get("seq"))
    env:close()
  end)

  it("a lock is exclusive across processes and dropped when its holder is killed", function()
    local env = assert(store.open(dir))
    local l = assert(env:lock("replay"))
    local out = other_process(dir, "local e = assert(store.open(dir)); print(e:lock('replay'))")
    assert.matches("nil\theld", out)
    l:release()
    out = other_process(dir, "local e = assert(store.open(dir)); print(e:lock('replay') ~= nil)")
    assert.matches("true", out)
    -- a holder that dies by SIGKILL leaves the lock free
    local file = dir .. "/../holder.lua"
    spec.write(file, "local store = require('vcli.store'); local e = assert(store.open(...)); local l = e:lock('replay');"
      .. " io.stdout:write('held\\n'); io.stdout:flush(); while true do end")
    local pidfile = dir .. "/../holder.pid"
    os.execute(("(%q -l %q %q > %q.out & echo $! > %q)"):format(spec.vcli, file, dir, pidfile, pidfile))
    spec.eventually(function() return (spec.read(pidfile .. ".out") or ""):find("held") end, 20000, "the holder to lock")
    assert.equal(nil, (env:lock("replay")))
    os.execute("kill -9 " .. spec.read(pidfile):match("%d+"))
    spec.eventually(function() local x = env:lock("replay"); if x then x:release() end return x ~= nil end, 20000,
      "the lock to be free after kill -9")
    assert.has_error(function() env:lock("../x") end, "lock names")
    env:close()
  end)
end)
