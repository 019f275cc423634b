-- Plugins: manifest, discovery, lazy start, dependencies, the capability
-- sandbox, limits, bus, resilience, reload, scaffolding.
local pm = require("vcli.plugin")
local shell = require("vcli.shell")
local resilience = require("vcli.plugin.resilience")
local FIX = spec.root .. "/spec/support/plugins"

local function run(line)
  local status, out, err = shell.capture(function() return shell.execute(line) end)
  return out .. err, status
end
local function eval(name, src)
  local ok, err = pm.start(name)
  assert(ok, err)
  return pm.invoke(pm.get(name), "eval", src)
end

before_all(function()
  pm.discover({ { dir = FIX, kind = "spec" } })
  require("vcli.plugin.cli").define()
  pm.set_store_dir(spec.tmpdir())
end)

describe("manifest and discovery", function()
  it("a bad manifest shows as failed in plugin list with file:line: field", function()
    local out = run("plugin list")
    assert.matches("badman%s+%-%s+failed", out)
    assert.matches("badman/plugin.yaml:4: limits.memory: 'lots' is not a size", out)
  end)
  it("the first plugin found wins and plugin info names the shadowed one", function()
    local d1, d2 = spec.tmpdir(), spec.tmpdir()
    for _, d in ipairs({ d1, d2 }) do
      os.execute("mkdir -p " .. d .. "/twin")
      spec.write(d .. "/twin/plugin.yaml", "name: twin\nversion: 1.0.0\n")
    end
    local out = spec.sh(("HOME=%s XDG_DATA_HOME=%s/none VCLI_PLUGIN_PATH=%s:%s %s plugin info twin"):format(d1, d1, d1, d2, spec.vcli))
    local function lit(x) return (x:gsub("%p", "%%%0")) end
    assert.matches("directory:%s+" .. lit(d1) .. "/twin", out)
    assert.matches("shadows:%s+" .. lit(d2) .. "/twin", out)
  end)
  it("a plugin is not started until its command runs", function()
    assert.equal("discovered", pm.get("nocap").state)
    assert.matches("hi there", run("nocap-hi there"))
    assert.equal("running", pm.get("nocap").state)
  end)
end)

describe("dependencies", function()
  it("a version conflict names both sides", function()
    local ok, err = pm.start("dep_a")
    assert.falsy(ok)
    assert.matches("plugin dep_a needs dep_b %^2.0, but dep_b 1.3.0 is installed", err)
  end)
  it("a cycle is an error that names the cycle", function()
    local _, err = pm.start("cyc_a")
    assert.matches("dependency cycle: cyc_a → cyc_b → cyc_a", err)
  end)
  it("a failed start rolls back the dependencies it started", function()
    local ok, err = pm.start("rb_a")
    assert.falsy(ok)
    assert.matches("rb_a refuses to start", err)
    assert.equal("failed", pm.get("rb_a").state)
    assert.equal("stopped", pm.get("rb_b").state)
  end)
end)

describe("capabilities", function()
  it("a plugin without a capability has no table and the C door refuses", function()
    assert.equal("nil", eval("nocap", "return type(vcli.store)"))
    assert.equal(true, eval("nocap", "return vcli.events == nil and vcli.http == nil and vcli.exec == nil"))
  end)
  it("the C entry point itself refuses an ungranted capability", function()
    local sb = require("vcli.sandbox").new({ name = "raw",
      prelude = "local p = ... return function() return p.host('net', 'request', {}) end",
      grants = { "events" }, host = function() return "reached the host" end })
    local status, msg = sb:call()
    assert.equal("error", status)
    assert.matches("plugin raw lacks capability 'net'", msg)
    sb:close()
  end)
  it("steps a plugin state's collector from the host: garbage goes, a cycle ends, at the memory cap too", function()
    local sb = require("vcli.sandbox").new({ name = "gcstep", memory = 64 * 1048576,
      prelude = "return function(n) local t = {} for i = 1, n do t[i] = {i} end t = nil return n end",
      host = function() end })
    local status, msg = sb:call(200000)   -- ~20 MiB of tables, garbage once the call returns
    assert.equal("done", status, msg)
    local before = sb:stats().memory
    -- (a cycle already under way when the tables were made saw them live: the
    -- garbage goes by the end of the next one at the latest)
    local steps, cycles = 0, 0
    repeat
      steps = steps + 1
      if sb:gc(256) then cycles = cycles + 1 end
    until (cycles > 0 and sb:stats().memory < before / 2) or cycles >= 2 or steps > 20000
    assert.truthy(cycles > 0, "a cycle ended within 20 000 steps")
    assert.truthy(steps > 1, "in several steps, not at once")
    assert.truthy(sb:stats().memory < before / 2, ("the garbage went: %d -> %d bytes"):format(before, sb:stats().memory))
    sb:limits({ memory = sb:stats().memory })   -- at the cap: a step must not raise
    assert.equal("boolean", type(sb:gc(256)))
    sb:close()
  end)
  it("store is granted, separate per plugin and held to its quota", function()
    eval("caps", "vcli.store.put('k', 'v')")
    assert.equal("v", eval("caps", "return vcli.store.get('k')"))
    assert.has_error(function() eval("caps", "vcli.store.put('big', string.rep('x', 4096))") end, "quota")
  end)
  it("fs.read allows only the listed paths, after resolving .. and symlinks", function()
    os.execute("mkdir -p /tmp/vcli-plugin-fs-allowed && echo secret-ok > /tmp/vcli-plugin-fs-allowed/f")
    assert.equal("secret-ok\n", eval("caps", "return vcli.fs.read('/tmp/vcli-plugin-fs-allowed/f')"))
    assert.has_error(function() eval("caps", "return vcli.fs.read('/tmp/vcli-plugin-fs-allowed/../../etc/passwd')") end, "may not read")
    os.execute("ln -sf /etc/passwd /tmp/vcli-plugin-fs-allowed/link")
    assert.has_error(function() eval("caps", "return vcli.fs.read('/tmp/vcli-plugin-fs-allowed/link')") end, "may not read")
  end)
  it("exec runs allowed programs and refuses others", function()
    local r = eval("caps", "return vcli.exec({'echo', 'hi'})")
    assert.equal("hi\n", r.stdout)
    assert.has_error(function() eval("caps", "return vcli.exec({'sh', '-c', 'id'})") end, "may not run 'sh'")
  end)
  it("net refuses hosts outside the allow-list", function()
    local r = eval("caps", "local res, err = vcli.http.get('http://example.com/') return { res == nil, err }")
    assert.truthy(r[1])
    assert.matches("may not reach host 'example.com'", r[2])
  end)
  it("a capability function handed to another plugin grants nothing (functions never cross)", function()
    assert.has_error(function() eval("caps", "return vcli.store.get") end, "functions cannot cross")
  end)
end)

describe("escape attempts fail with a clear error and the shell keeps working", function()
  local cases = {
    { "loading bytecode", "return assert(load(string.char(27) .. 'LJ\\2'))", "bytecode is not allowed" },
    { "string.dump", "return string.dump(function() end)", "string.dump is not available" },
    { "string.dump through the string metatable", "return ('').dump(print)", "string.dump is not available" },
    { "debug through the string metatable", "return getmetatable('').__index.debug.getinfo", "attempt to index" },
    { "io", "return io.open('/etc/passwd')", "'io' is not available" },
    { "os.execute", "return os.execute('id')", "attempt to call" },
    { "ffi", "return ffi.C", "'ffi' is not available" },
    { "jit", "return jit.on()", "'jit' is not available" },
    { "setfenv(0, …)", "setfenv(0, {})", "'setfenv' is not available" },
    { "getfenv", "return getfenv(1)", "'getfenv' is not available" },
    { "package.loaded", "return package.loaded", "'package' is not available" },
    { "require of a host module", "return require('vcli.store')", "not found in plugin" },
    { "require outside its directory", "return require('..etc.passwd')", "not a module name" },
    { "collectgarbage('stop')", "collectgarbage('stop')", "is not allowed" },
    { "a 1 GB string", "return #string.rep('x', 2^30)", "memory limit" },
  }
  for _, c in ipairs(cases) do
    it(c[1], function()
      if c[3] == "memory limit" then pm.stop("spin") end
      assert.has_error(function() eval(c[3] == "memory limit" and "spin" or "nocap", c[2]) end, c[3])
      assert.matches("hi again", run("nocap-hi again"))
    end)
  end
  it("coroutine tricks cannot yield into the host", function()
    assert.has_error(function() eval("nocap", "coroutine.yield('x')") end, "outside a coroutine")
  end)
  it("rawset on its own string table does not reach the host or other plugins", function()
    eval("nocap", "rawset(string, 'upper', function() return 'pwned' end)")
    assert.equal("A", ("a"):upper())
    assert.equal("A", eval("spin", "return ('a'):upper()"))
  end)
  it("a plugin cannot read another plugin's store keys", function()
    eval("caps", "vcli.store.put('secret', 's3')")
    assert.has_error(function() eval("nocap", "return vcli.store.get('secret')") end)
    pm.get("rb_b").state = "discovered"
  end)
end)

describe("resource limits", function()
  it("while true do end is stopped within 100 ms of its CPU limit, pcall cannot swallow it", function()
    -- CPU, not wall time: a loaded machine gives the loop less of a core, not more time
    local cpu0 = pm.stats("spin").cpu_ms
    assert.has_error(function() eval("spin", "while true do pcall(function() while true do end end) end") end,
      "ran longer than its 100 ms CPU limit")
    local used = pm.stats("spin").cpu_ms - cpu0
    assert.truthy(used >= 100 and used < 200, "took " .. used .. " ms of CPU")
    assert.equal(2, eval("spin", "return 1 + 1"))
  end)
  it("runaway recursion is a clear stack overflow error", function()
    assert.has_error(function() eval("spin", "local function f() return 1 + f() end return f()") end, "stack overflow")
  end)
  it("a memory bomb stops the plugin with a clear error; others keep running", function()
    assert.has_error(function() eval("spin", "local t = {} for i = 1, 1e9 do t[i] = {} end") end,
      "plugin spin: memory limit 4 MiB exceeded")
    assert.equal("failed", pm.get("spin").state)
    assert.matches("hi still", run("nocap-hi still"))
    assert.matches("spin.-failed", run("plugin list"))
  end)
end)

describe("event bus", function()
  it("delivers by glob, counts a failing handler and still delivers to others", function()
    pm.start("bus_a")
    local got = {}
    local id = pm.bus.subscribe("seen", function(ev) table.insert(got, ev.name) end)
    pm.bus.publish("kube.pod.added", { name = "p1" })
    pm.bus.publish("kube.pod.deleted", { fail = true })
    pm.bus.publish("kube.node.added", { name = "n1" })
    spec.eventually(function() return #got >= 1 end, 2000)
    local async_sleep = require("vcli.async").sleep
    async_sleep(50)
    assert.same({ "p1" }, got)
    assert.equal(1, pm.stats("bus_a").errors)
    pm.bus.unsubscribe(id)
  end)
  it("request/response works and times out with a clear error", function()
    assert.same({ echoed = 7 }, pm.bus.request("echo", { x = 7 }, 1000))
    assert.has_error(function() pm.bus.request("slow", {}, 50) end, "request 'slow' timed out after 50 ms")
  end)
end)

describe("resilience", function()
  it("circuit breaker goes closed → open → half-open → closed", function()
    local t = 0
    local b = resilience.breaker({ threshold = 2, reset_ms = 100, now = function() return t end })
    local function fail() error("down") end
    pcall(b.call, b, fail); assert.equal("closed", b.state)
    pcall(b.call, b, fail); assert.equal("open", b.state)
    assert.has_error(function() b:call(function() end) end, "is open")
    t = 150
    assert.truthy(b:allow()); assert.equal("half-open", b.state)
    b:call(function() end); assert.equal("closed", b.state)
  end)
  it("retry backs off exponentially with jitter", function()
    local sleeps, n = {}, 0
    local r = resilience.retry(function() n = n + 1 if n < 4 then error("flaky") end return "ok" end,
      { attempts = 5, base_ms = 10, jitter = 0.5, random = function() return 1 end, sleep = function(ms) table.insert(sleeps, ms) end })
    assert.equal("ok", r)
    assert.same({ 15, 30, 60 }, sleeps)
  end)
  it("rate limiter hands out burst tokens then refills at its rate", function()
    local t = 0
    local l = resilience.limiter({ rate = 10, burst = 2, now = function() return t end })
    assert.truthy(l:take()); assert.truthy(l:take())
    local ok, wait = l:take()
    assert.falsy(ok); assert.equal(100, wait)
    t = 100
    assert.truthy(l:take())
  end)
end)

describe("hot reload", function()
  local dir
  before_all(function()
    dir = spec.tmpdir() .. "/reloadme"
    os.execute("mkdir -p " .. dir)
    spec.write(dir .. "/plugin.yaml", "name: reloadme\nversion: 1.0.0\ncapabilities: [store]\n")
    spec.write(dir .. "/init.lua", "vcli.command({name='rl-old', handler=function(c) c.print('old') end})\n"
      .. "vcli.store.put('kept', 'yes')\nreturn {}\n")
    pm.discover({ { dir = FIX, kind = "spec" }, { dir = dir:match("^(.*)/"), kind = "tmp" } })
    assert(pm.start("reloadme"))
  end)
  it("keeps the store and removes the old version's commands", function()
    spec.write(dir .. "/init.lua",
      "vcli.command({name='rl-new', handler=function(c) c.print('new ' .. vcli.store.get('kept')) end})\nreturn {}\n")
    assert(pm.reload("reloadme"))
    assert.matches("unknown command 'rl%-old'", run("rl-old"))
    assert.matches("new yes", run("rl-new"))
  end)
  it("a failing new version leaves the old one running and shows the error", function()
    spec.write(dir .. "/init.lua", "error('broken edit')")
    local ok, err = pm.reload("reloadme")
    assert.falsy(ok)
    assert.matches("broken edit", err)
    assert.matches("new yes", run("rl-new"))
  end)
  it("100 reloads leak no memory", function()
    spec.write(dir .. "/init.lua", "vcli.command({name='rl-new', handler=function(c) c.print('x') end})\nreturn {}\n")
    assert(pm.reload("reloadme"))
    collectgarbage()
    local before = collectgarbage("count")
    for _ = 1, 100 do assert(pm.reload("reloadme")) end
    collectgarbage(); collectgarbage()
    local grown = collectgarbage("count") - before
    assert.truthy(grown < 512, ("host heap grew %d KiB over 100 reloads"):format(grown))
    assert.truthy(pm.stats("reloadme").memory < 512 * 1024)
  end)
end)

describe("plugin new and plugin test", function()
  it("scaffolds a plugin whose spec passes and whose command works", function()
    local home = spec.tmpdir()
    local envs = ("HOME=%s XDG_DATA_HOME=%s/data XDG_STATE_HOME=%s/state"):format(home, home, home)
    local out, code = spec.sh(envs .. " " .. spec.vcli .. " plugin new xy")
    assert.equal(0, code, out)
    out, code = spec.sh(envs .. " " .. spec.vcli .. " plugin test xy")
    assert.equal(0, code, out)
    assert.matches("2 passed, 0 failed", out)
    out = spec.sh(envs .. " " .. spec.vcli .. " xy there")
    assert.matches("hello from xy, there", out)
  end)

  it("never lets a user plugin take a built-in's command: plugin new refuses, plugin list says why", function()
    local home = spec.tmpdir()
    local envs = ("HOME=%s XDG_DATA_HOME=%s/data XDG_STATE_HOME=%s/state XDG_CONFIG_HOME=%s/config")
      :format(home, home, home, home)
    local out, code = spec.sh(envs .. " " .. spec.vcli .. " plugin new k8s 2>&1")
    assert.equal(1, code)
    assert.equal("vcli: plugin new: 'k8s' is already a command (the kubernetes plugin's): choose another name\n", out)
    out, code = spec.sh(envs .. " " .. spec.vcli .. " plugin new ui 2>&1")
    assert.equal(1, code)
    assert.matches("'ui' is already a command %(core's%)", out)
    -- one made by hand (or installed) with a taken name: every run, the built-in keeps it
    spec.sh(envs .. " " .. spec.vcli .. " plugin new mine")
    local dir = home .. "/data/vcli/plugins"
    spec.sh(("mv %s/mine %s/k8s && sed -i 's/^name: mine$/name: k8s/; s/^  - name: mine$/  - name: k8s/' "
      .. "%s/k8s/plugin.yaml"):format(dir, dir, dir))
    for _ = 1, 3 do
      out = spec.sh(envs .. " " .. spec.vcli .. " -c 'k8s get ns --kubeconfig /nonexistent' 2>&1")
      assert.matches("/nonexistent", out)   -- the kubernetes plugin answered
      assert.not_matches("hello from", out)
    end
    out = spec.sh(envs .. " " .. spec.vcli .. " plugin list")
    assert.matches("\nk8s%s+0%.1%.0%s+discovered %(command taken%)%s+user", out)
    out = spec.sh(envs .. " " .. spec.vcli .. " plugin info k8s")
    assert.matches("conflict:%s+command 'k8s' is the kubernetes plugin's: not registered", out)
  end)
end)
