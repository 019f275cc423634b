-- The plugin runtime's reach: every HTTP option and streams (net), env,
-- config beyond the plugin's own section, completers that wait on the host,
-- nested subcommands, the command context and prompt segments. The plugins
-- are written here (their manifests name this run's directories) and talk
-- to spec/support/httpd.py.
require("vcli")
local async = require("vcli.async")
local cjson = require("cjson")
local pm = require("vcli.plugin")
local shell = require("vcli.shell")
local commands = require("vcli.shell.commands")
local complete = require("vcli.shell.complete")
local config = require("vcli.config")

local dir, base, sbase, mbase, plugdir
local srv, pem

local function sh(cmd)
  local out, rc = spec.sh(cmd)
  if rc ~= 0 then error(("command failed (%d): %s\n%s"):format(rc, cmd, out), 2) end
  return out
end

local RT_INIT = [[
local seen = {}
local M = {}
function M.on_config_change(value, section) seen[#seen + 1] = { value = value, section = section } end
_G.config_seen = seen

local function words_of(body)
  local out = {}
  for l in body:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

vcli.command({
  name = "rt", summary = "runtime checks",
  subcommands = {
    { name = "greet", summary = "say hello", args = { { name = "who" } },
      flags = { { name = "times", short = "n", type = "int", default = 1 } },
      handler = function(ctx)
        for _ = 1, ctx.flags.times do ctx.print("hello " .. ctx.args.who) end
        return 0
      end },
    { name = "ctx", summary = "the command context",
      handler = function(ctx)
        ctx.print(("color=%s width=%s interactive=%s"):format(tostring(ctx.color), type(ctx.width), tostring(ctx.interactive)))
        ctx.err("to stderr\n")
        return 3
      end },
    { name = "words", summary = "completion from the server",
      flags = { { name = "from", type = "string", complete = function() return { "http://127.0.0.1" } end } },
      args = { { name = "word", complete = function(partial, ctx)
        local r = vcli.http.get(ctx.flags.from .. "/chunked?n=3&delay_ms=5")
        local out = {}
        for _, w in ipairs(words_of(r.body)) do
          out[#out + 1] = { word = w:gsub(" ", "-"), desc = "from " .. #ctx.words .. " words, partial " .. ctx.partial }
        end
        return out
      end } },
      handler = function() return 0 end },
    { name = "deep", summary = "two levels",
      subcommands = { { name = "er", args = { { name = "x", optional = true } },
                        handler = function(ctx) ctx.print("deeper " .. tostring(ctx.args.x)) end } } },
  },
})
return M
]]

local function rt_manifest()
  return ([[
name: rt
version: 1.0.0
capabilities:
  - net: { hosts: [127.0.0.1] }
  - fs.read: { paths: ["%s/certs"] }
  - env: [RT_SPEC_HOME, HOME]
  - config: { read: [prometheus] }
commands:
  - name: rt
    summary: runtime checks
    subcommands:
      - { name: greet, summary: say hello }
      - ctx
      - words
      - deep
]]):format(dir)
end

-- rt2: the runtime's newer reach (lazy start with `--`, exec env/cwd/tty,
-- fs with "/" and remove, ui.confirm, the CPU limit per stretch, tasks).
local RT2_INIT = [[
vcli.command({
  name = "rt2", summary = "more runtime checks",
  subcommands = {
    { name = "argv", summary = "the words it got", passthrough = true,
      args = { { name = "words", variadic = true, optional = true } },
      handler = function(ctx)
        ctx.print(table.concat(ctx.positional, ",") .. "|" .. table.concat(ctx.flags["--"] or {}, ","))
      end },
    { name = "tty", summary = "a program on the terminal",
      handler = function(ctx)
        local r = vcli.exec({ "/bin/sh", "-c", "test -t 0 && test -t 1 && echo child-on-tty; "
          .. "trap 'echo child-got-int; exit 3' INT; echo child-ready; read line; echo child-read-$line; exit 7" },
          { tty = true })
        ctx.print("code=" .. tostring(r.code) .. " terminal=" .. tostring(ctx.terminal))
      end },
    { name = "ask", summary = "confirm",
      handler = function(ctx) ctx.print("answer=" .. tostring(vcli.ui.confirm("Sure? [y/N] "))) end },
  },
})
return {}
]]

local function rt2_manifest()
  return ([[
name: rt2
version: 1.0.0
capabilities:
  - exec: { commands: ["*"] }
  - fs.read: { paths: ["/"] }
  - fs.write: { paths: ["%s/w"] }
  - tui
limits: { cpu_ms_per_call: 300 }
commands:
  - name: rt2
    summary: more runtime checks
    subcommands: [argv, tty, ask]
]]):format(dir)
end


-- rt3: WebSockets, local listeners (net: listen) and the terminal.
local RT3_INIT = [[
vcli.command({
  name = "rt3", summary = "sockets and the terminal",
  subcommands = {
    { name = "rawspin", summary = "raw terminal, then spin past the CPU limit",
      handler = function() vcli.terminal.open({ raw = true }); while true do end end },
    { name = "stty", summary = "the terminal's mode now",
      handler = function() vcli.exec({ "stty", "-a" }, { tty = true }) end },
  },
})
return {}
]]
local RT3_MANIFEST = [[
name: rt3
version: 1.0.0
capabilities:
  - net: { hosts: [127.0.0.1], listen: [127.0.0.1] }
  - terminal
  - exec: { commands: [stty] }
limits: { cpu_ms_per_call: 300 }
commands:
  - name: rt3
    summary: sockets and the terminal
    subcommands: [rawspin, stty]
]]

local function eval3(src)
  assert(pm.start("rt3"))
  return pm.invoke(pm.get("rt3"), "eval", src)
end

local function sandbox_realpath(p) return require("vcli.fs").realpath(p) end

local function eval(src)
  local ok, err = pm.start("rt")
  assert(ok, err)
  return pm.invoke(pm.get("rt"), "eval", src)
end

local function run(line)
  local status, out, err = shell.capture(function() return shell.execute(line) end)
  return out, err, status
end

local function eval2(src)
  assert(pm.start("rt2"))
  return pm.invoke(pm.get("rt2"), "eval", src)
end

local function fails2(src)
  local ok, err = pcall(eval2, src)
  assert.falsy(ok, "expected an error from: " .. src)
  return tostring(err)
end

-- Drive an interactive vcli on a pseudo-terminal (spec/support/pty_drive.py):
-- steps are {"send", text} or {"expect", text}; returns what the terminal showed.
local function on_pty(steps)
  local py = spec.root .. "/spec/support/pty_drive.py"
  local home = dir .. "/ptyhome"
  os.execute("mkdir -p " .. home)
  local out = sh(("cd %s && HOME=%s XDG_CONFIG_HOME=%s/c XDG_DATA_HOME=%s/d XDG_STATE_HOME=%s/s XDG_CACHE_HOME=%s/k"
    .. " VCLI_PLUGIN_PATH=%s TERM=dumb python3 %s '%s' ./vcli 2>&1")
    :format(spec.root, home, home, home, home, home, plugdir, py, cjson.encode(steps)))
  return out
end

local function fails(src)
  local ok, err = pcall(eval, src)
  assert.falsy(ok, "expected an error from: " .. src)
  return tostring(err)
end
-- a failed transfer is nil, err (not raised), as the host's vcli.http gives it
local function transfer_fails(call)
  local ok, isnil, err = pcall(eval, "local r, e = " .. call .. "; return r == nil, e")
  assert.truthy(ok, isnil)
  assert.truthy(isnil, "expected nil, err from: " .. call)
  assert.equal("string", type(err))
  return err
end

before_all(function()
  dir = spec.tmpdir()
  srv = dofile("spec/support/httpd.lua").start(dir)
  pem, base, sbase, mbase = srv.pem, srv.base, srv.sbase, srv.mbase
  sh("cp " .. dir .. "/certs/ca.crt " .. dir .. "/outside-ca.crt")
  plugdir = dir .. "/plugins"
  os.execute("mkdir -p " .. plugdir .. "/rt " .. plugdir .. "/bare")
  spec.write(plugdir .. "/rt/plugin.yaml", rt_manifest())
  spec.write(plugdir .. "/rt/init.lua", RT_INIT)
  os.execute("mkdir -p " .. plugdir .. "/rt2 " .. dir .. "/w")
  spec.write(plugdir .. "/rt2/plugin.yaml", rt2_manifest())
  spec.write(plugdir .. "/rt2/init.lua", RT2_INIT)
  os.execute("mkdir -p " .. plugdir .. "/rt3")
  spec.write(plugdir .. "/rt3/plugin.yaml", RT3_MANIFEST)
  spec.write(plugdir .. "/rt3/init.lua", RT3_INIT)
  spec.write(plugdir .. "/bare/plugin.yaml", "name: bare\nversion: 1.0.0\ncapabilities: [config]\n")
  spec.write(plugdir .. "/bare/init.lua", "return {}\n")
  pm.discover({ { dir = plugdir, kind = "spec" } }, { cache = false })
  pm.set_store_dir(spec.tmpdir())
end)

after_all(function()
  for _, n in ipairs(pm.names()) do pm.stop(n) end
  if srv then srv:stop() end
  if dir then os.execute("rm -rf '" .. dir .. "'") end
end)

describe("nested subcommands", function()
  it("the manifest's subcommands are lazy stubs that start the plugin", function()
    assert.equal("discovered", pm.get("rt").state)
    local spec_ = commands.get("rt")
    assert.truthy(spec_.lazy_plugin)
    assert.truthy(spec_.sub_by_name.greet)
    local out, err, status = run("rt greet -n 2 world")
    assert.equal("", err)
    assert.equal(0, status)
    assert.equal("hello world\nhello world\n", out)
    assert.equal("running", pm.get("rt").state)
  end)

  it("register as a real nested spec: parsing, help and completion per subcommand", function()
    local spec_ = commands.get("rt")
    assert.falsy(spec_.lazy_plugin)
    assert.equal("greet", spec_.sub_by_name.greet.name)
    assert.equal("int", spec_.sub_by_name.greet.flags[1].type)
    assert.equal("deeper z\n", (run("rt deep er z")))
    local _, err, status = run("rt greet -n x y")
    assert.equal(2, status)
    assert.matches("rt greet: %-%-times expects", err)
    _, err = run("rt nope")
    assert.matches("unknown subcommand 'nope'", err)
    local help = commands.help(commands.get("rt"))
    assert.matches("greet", help)
    assert.matches("say hello", help)
    local names = {}
    for _, it in ipairs(complete.complete("rt d").items) do names[#names + 1] = it.word end
    assert.same({ "deep" }, names)
  end)
end)

describe("the command context", function()
  it("has color, width, interactive and err (stderr)", function()
    local out, err, status = run("rt ctx")
    assert.equal("color=false width=number interactive=false\n", out)
    assert.equal("to stderr\n", err)
    assert.equal(3, status)
  end)
end)

describe("completers in the plugin", function()
  it("wait on the host: an HTTP GET's lines are the candidates, with words, partial and flags", function()
    local res = complete.complete("rt words --from " .. base .. " chunk-")
    local words = {}
    for _, it in ipairs(res.items) do words[#words + 1] = it.word end
    table.sort(words)
    assert.same({ "chunk-1", "chunk-2", "chunk-3" }, words)
    assert.equal("from 4 words, partial chunk-", res.items[1].desc)
  end)
  it("also outside a task (async.run)", function()
    local spec_ = commands.get("rt").sub_by_name.words
    local got
    local t = async.spawn(function() end)   -- make sure the loop exists
    assert.truthy(t)
    got = spec_.args[1].complete("", { words = { "rt", "words", "--from", base }, spec = spec_ })
    assert.equal(3, #got)
  end)
end)

describe("net: every request option crosses", function()
  it("TLS with ca_pem, server_name and a client certificate from PEM text", function()
    local body = eval(("return vcli.http.get(%q, { ca_pem = %q, server_name = 'kube.test' }).body")
      :format(sbase .. "/echo", pem.ca))
    assert.equal("kube.test", cjson.decode(body).sni)
    assert.equal("vcli-user", eval(("return vcli.http.get(%q, { ca_pem = %q, cert_pem = %q, key_pem = %q }).body")
      :format(mbase .. "/whoami", pem.ca, pem.cert, pem.key)):match("vcli%-user"))
    assert.matches("certificate", transfer_fails(("vcli.http.get(%q)"):format(sbase .. "/hello")))
    assert.equal(200, eval(("return vcli.http.get(%q, { insecure = true }).status"):format(sbase .. "/hello")))
  end)
  it("timeouts cross", function()
    local err = transfer_fails(("vcli.http.get(%q, { timeout_ms = 300 })"):format(base .. "/slow?after=10"))
    assert.matches("time", err)
  end)
  it("a failed transfer is nil, err for request, post, stream and websocket; a refused host raises", function()
    local dead = "http://127.0.0.1:1/"
    for _, call in ipairs({ ("vcli.http.request({ url = %q })"):format(dead), ("vcli.http.post(%q, 'x')"):format(dead),
                            ("vcli.http.stream({ url = %q })"):format(dead),
                            ("vcli.http.websocket({ url = %q })"):format(dead:gsub("^http", "ws")) }) do
      assert.matches("[Cc]onnect", transfer_fails(call))
    end
    -- not made: a host outside hosts: says so the same way
    assert.matches("plugin rt may not reach host 'example%.org'", transfer_fails("vcli.http.get('https://example.org/')"))
    assert.matches("http: options with a url expected", fails("return vcli.http.request({})"))
  end)
  it("*_file options only inside the fs.read grant, on the real path", function()
    assert.equal(200, eval(("return vcli.http.get(%q, { ca_file = %q }).status"):format(sbase .. "/hello", dir .. "/certs/ca.crt")))
    local err = transfer_fails(("vcli.http.get(%q, { ca_file = %q })"):format(sbase .. "/hello", dir .. "/outside-ca.crt"))
    assert.equal("plugin rt: fs.read does not cover " .. dir .. "/outside-ca.crt", err)
    err = transfer_fails(("vcli.http.get(%q, { ca_file = %q })"):format(sbase .. "/hello", dir .. "/certs/../outside-ca.crt"))
    assert.matches("fs.read does not cover", err)
  end)
  it("the hosts allow-list applies to the URL; server_name does not bypass it", function()
    local err = transfer_fails(("vcli.http.get(%q, { server_name = '127.0.0.1', insecure = true })")
      :format("https://localhost:" .. srv.ports.https .. "/hello"))
    assert.matches("plugin rt may not reach host 'localhost'", err)
  end)
  it("streams: lines and chunks as they arrive, status and headers", function()
    local t0 = require("vcli.vm").now()
    local r = eval(([[
      local s = vcli.http.stream({ url = %q })
      local out = { status = s.status, ctype = s.headers["transfer-encoding"], lines = {} }
      for line in s:lines() do out.lines[#out.lines + 1] = line end
      s:close()
      return out
    ]]):format(base .. "/chunked?n=5&delay_ms=100"))
    assert.equal(200, r.status)
    assert.equal("chunked", r.ctype)
    assert.same({ "chunk 1", "chunk 2", "chunk 3", "chunk 4", "chunk 5" }, r.lines)
    assert.truthy(require("vcli.vm").now() - t0 >= 350)
    local n = eval(([[
      local s = vcli.http.stream({ url = %q })
      local n = 0
      for c in s:chunks() do n = n + #c end
      return n
    ]]):format(base .. "/split?lines=10&size=7&delay_ms=5"))
    assert.truthy(n > 60)
  end)
  it("a stream closes with its call, and cancelling the call closes it on the host", function()
    eval(("local s = vcli.http.stream({ url = %q }); return s:lines()()"):format(base .. "/chunked?n=50&delay_ms=50"))
    assert.equal(0, pm.open_streams("rt"))
    local task = async.spawn(function()
      return eval(("local s = vcli.http.stream({ url = %q }); for _ in s:lines() do end"):format(base .. "/chunked?n=500&delay_ms=50"))
    end)
    spec.eventually(function() return pm.open_streams("rt") == 1 end, 5000, "the stream to open")
    async.sleep(150)
    task:cancel()
    spec.eventually(function() return task.done end, 5000, "the call to end")
    assert.equal(0, pm.open_streams("rt"))
  end)
end)

describe("env", function()
  it("gives only the variables the manifest lists", function()
    assert.equal(os.getenv("HOME"), eval("return vcli.env.get('HOME')"))
    assert.equal(nil, eval("return vcli.env.get('RT_SPEC_HOME')"))
    assert.equal("plugin rt may not read the environment variable PATH (capabilities: env: [RT_SPEC_HOME, HOME])",
      fails("return vcli.env.get('PATH')"))
  end)
  it("is absent without the capability, and names are checked in the manifest", function()
    assert(pm.start("bare"))
    assert.equal("nil nil", pm.invoke(pm.get("bare"), "eval", "return tostring(vcli.env) .. ' ' .. tostring(vcli.http)"))
    local m, err = require("vcli.plugin.manifest").parse("name: x\nversion: 1.0.0\ncapabilities:\n  - env: [\"A B\"]\n", "x.yaml")
    assert.falsy(m)
    assert.matches("capabilities.env%[1%]: 'A B' is not an environment variable name", err)
  end)
end)

describe("config beyond the plugin's own section", function()
  it("reads declared core sections and its own; refuses others", function()
    config.set("prometheus.url", "http://prom.example:9090")
    config.set("plugins.rt", { greeting = "hi" })
    config.reload()
    assert.equal("http://prom.example:9090", eval("return vcli.config.get('prometheus.url')"))
    assert.equal("http://prom.example:9090", eval("return vcli.config.get('prometheus').url"))
    assert.matches("plugin rt may not read config 'kubernetes.context'", fails("return vcli.config.get('kubernetes.context')"))
    assert.matches("may not read config 'plugins.bare'", fails("return vcli.config.get('plugins.bare')"))
    local m, err = require("vcli.plugin.manifest").parse(
      "name: x\nversion: 1.0.0\ncapabilities:\n  - config: { read: [plugins] }\n", "x.yaml")
    assert.falsy(m)
    assert.matches("capabilities.config.read%[1%]: 'plugins' is not a core config section", err)
  end)
  it("on_config_change hears about those sections", function()
    eval("for i = #config_seen, 1, -1 do config_seen[i] = nil end")
    config.set("prometheus.url", "http://other.example:9090")
    config.reload()
    local seen = spec.eventually(function()
      local s = eval("return config_seen")
      return #s > 0 and s
    end, 3000, "on_config_change")
    assert.equal("prometheus", seen[1].section)
    assert.equal("http://other.example:9090", seen[1].value.url)
  end)
end)

describe("prompt segments", function()
  it("the host keeps what the plugin pushed and shows it before the prompt", function()
    eval("vcli.prompt.set({ { 'rt:on', 'prompt' }, ' ' })")
    local segs = pm.prompt_segments()
    assert.equal("rt:on", segs[1][1])
    assert.equal(require("vcli.shell.editor").styles.prompt, segs[1][2])
    assert.equal(" ", segs[2][1])
    local found
    for _, provider in ipairs(require("vcli.state")("vcli.shell").prompt_segments or {}) do
      local s = provider()
      if s and s[1] and s[1][1] == "rt:on" then found = true end
    end
    assert.truthy(found)
    eval("vcli.prompt.set('plain')")
    assert.same({ { "plain", 0 } }, pm.prompt_segments())
    pm.stop("rt")
    assert.equal(nil, pm.prompt_segments())
  end)
  it("an rc's vcli.prompt_segment goes before the plugins' and is replaced, not repeated, when the rc reloads", function()
    local SH = require("vcli.state")("vcli.shell")
    local rc = require("vcli.rc")
    local path = dir .. "/prompt_rc.lua"
    spec.write(path, "vcli.prompt_segment(function() return { { 'clock ', 8 } } end)\n")
    local before = #(SH.prompt_segments or {})
    assert.truthy(rc.load(path))
    assert.truthy(rc.load(path))
    assert.equal(before + 1, #SH.prompt_segments)
    eval("vcli.prompt.set('rt:on ')")
    local texts = {}
    for _, provider in ipairs(SH.prompt_segments) do
      for _, seg in ipairs(provider() or {}) do texts[#texts + 1] = seg[1] end
    end
    assert.same({ "rt:on ", "clock " }, texts)
    spec.write(path, "-- nothing\n")
    assert.truthy(rc.load(path))
    assert.equal(before, #SH.prompt_segments)
    pm.stop("rt")
  end)
end)

describe("lazy start", function()
  it("re-runs the words as typed: `--` and what follows reach the command", function()
    assert.equal("discovered", pm.get("rt2").state)
    local out, err, status = run("rt2 argv a b -- c -d")
    assert.equal("", err)
    assert.equal(0, status)
    assert.equal("a,b|c,-d\n", out)
    assert.equal("running", pm.get("rt2").state)
    assert.equal("a,b|c,-d\n", (run("rt2 argv a b -- c -d")))
  end)
end)

describe("fs", function()
  it('paths: ["/"] covers every path', function()
    spec.write(dir .. "/w/hello.txt", "hi there")
    assert.equal("hi there", eval2(("return vcli.fs.read(%q)"):format(dir .. "/w/hello.txt")))
    assert.equal("hi there", eval2(("return vcli.fs.read(%q)"):format(dir .. "/w/../w/hello.txt")))
  end)
  it("fs.remove removes inside the fs.write grant only; false when absent", function()
    local f = dir .. "/w/gone.txt"
    assert.equal(true, eval2(("vcli.fs.write(%q, 'x'); return vcli.fs.remove(%q)"):format(f, f)))
    assert.equal(nil, spec.read(f))
    assert.equal(false, eval2(("return vcli.fs.remove(%q)"):format(f)))
    spec.write(dir .. "/outside.txt", "keep")
    assert.matches("plugin rt2 may not write", fails2(("return vcli.fs.remove(%q)"):format(dir .. "/outside.txt")))
    assert.matches("plugin rt2 may not write", fails2(("return vcli.fs.remove(%q)"):format(dir .. "/w/../outside.txt")))
    assert.equal("keep", spec.read(dir .. "/outside.txt"))
  end)
end)

describe("exec", function()
  it("env is merged over the inherited environment (false unsets); cwd sets the directory", function()
    local r = eval2(("return vcli.exec({ '/bin/sh', '-c', 'echo \"$RT_X:$RT_Y:${HOME-unset}:$(pwd)\"' },"
      .. " { env = { RT_X = 'x y', RT_Y = 5, HOME = false }, cwd = %q })"):format(dir .. "/w"))
    assert.equal(0, r.code)
    assert.equal("x y:5:unset:" .. sandbox_realpath(dir .. "/w") .. "\n", r.stdout)
    r = eval2("return vcli.exec({ '/bin/sh', '-c', 'echo $HOME' })")
    assert.equal(os.getenv("HOME") .. "\n", r.stdout)
    assert.matches("bad variable name", fails2("return vcli.exec({ 'true' }, { env = { ['A=B'] = 'x' } })"))
  end)
  it("tty = true without a terminal is a clear error", function()
    assert.matches("exec with tty needs a terminal, and this shell has none",
      fails2("return vcli.exec({ 'true' }, { tty = true })"))
  end)
  it("tty = true runs the child on the terminal; Ctrl-C reaches it and the call ends when it does", function()
    local out = on_pty({ { "expect", "vcli> " }, { "send", "rt2 tty\r" }, { "expect", "child-ready" },
      { "send", "hello\r" }, { "expect", "code=7" }, { "expect", "vcli> " },
      { "send", "rt2 tty\r" }, { "expect", "child-ready" }, { "send", "\3" }, { "expect", "code=3" } })
    assert.matches("^OK\n", out)
    assert.matches("child%-on%-tty", out)
    assert.matches("child%-read%-hello", out)
    assert.matches("code=7 terminal=true", out)
    assert.matches("child%-got%-int.*code=3", out)
    assert.falsy(out:find("interrupted", 1, true))
  end)
end)

describe("ui.confirm", function()
  it("is false at once without a terminal", function()
    assert.equal("answer=false\n", (run("rt2 ask")))
  end)
  it("asks on the terminal in the interactive shell: y/yes is true, anything else false", function()
    local out = on_pty({ { "expect", "vcli> " }, { "send", "rt2 ask\r" }, { "expect", "Sure? [y/N] " },
      { "send", "yes\r" }, { "expect", "answer=" }, { "expect", "vcli> " }, { "send", "rt2 ask\r" },
      { "expect", "Sure? [y/N] " }, { "send", "no\r" }, { "expect", "answer=false" } })
    assert.matches("^OK\n", out)
    assert.matches("answer=true.*answer=false", out)
  end)
end)

describe("the CPU limit", function()
  it("bounds each stretch between waits, not the call's sum", function()
    -- six stretches of about 100 ms CPU under a 300 ms limit: 600 ms in all. The
    -- work is sized from a rate measured first (loop turns in 20 ms of CPU), so
    -- a slow build (the sanitizers') or a loaded machine gives the same stretches
    assert.equal("ok", eval2([[
      local n, t = 0, os.clock()
      while os.clock() - t < 0.02 do
        for _ = 1, 10000 do end
        n = n + 10000
      end
      vcli.sleep(1)
      for _ = 1, 6 do
        for _ = 1, n * 5 do end
        vcli.sleep(1)
      end
      return "ok"
    ]]))
  end)
  it("still stops a loop that never waits within the limit + 100 ms of CPU", function()
    -- CPU, not wall time: a loaded machine gives the loop less of a core, not more time
    local cpu0 = pm.stats("rt2").cpu_ms
    assert.matches("stopped: a call ran longer than its 300 ms CPU limit", fails2("vcli.sleep(1); while true do end"))
    local used = pm.stats("rt2").cpu_ms - cpu0
    assert.truthy(used >= 300 and used < 300 + 100, "stopped after " .. used .. " ms of CPU")
    assert.equal("running", pm.get("rt2").state)
  end)
end)

describe("sockets: WebSockets and listeners (net), the terminal", function()
  local function probe(port)
    spec.write(dir .. "/probe3.py", [[
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
except ConnectionRefusedError:
    print("refused"); sys.exit(0)
s.sendall(b"ping")
out = b""
while True:
    d = s.recv(100)
    if not d: break
    out += d
print("got %r" % out)
]])
    -- a process of its own: the loop (and the plugin's listener on it) keeps turning while it runs
    local done
    os.remove(dir .. "/probe3.out")
    local cmd = ("python3 %s/probe3.py %d >%s/probe3.out 2>&1"):format(dir, port, dir)
    assert(require("vcli.proc").spawn({ argv = { "/bin/sh", "-c", cmd }, on_exit = function() done = true end }))
    spec.eventually(function() return done end, 15000, "the client")
    local f = assert(io.open(dir .. "/probe3.out")) local out = f:read("*a") f:close() return out
  end

  it("listen needs net: listen in the manifest, and only the addresses it lists", function()
    assert.matches("^plugin rt may not listen for connections %(capabilities: net: listen: true%)$",
      fails("return vcli.net.listen({ port = 0 })"))
    assert.matches("plugin rt3 may not listen on 0%.0%.0%.0 %(capabilities: net: listen: %[127%.0%.0%.1%]%)",
      tostring(select(2, pcall(eval3, "return vcli.net.listen({ host = '0.0.0.0', port = 0 })"))))
    local m, err = require("vcli.plugin.manifest").parse(
      "name: x\nversion: 1.0.0\ncapabilities:\n  - net: { listen: [nowhere] }\n", "p.yaml")
    assert.falsy(m)
    assert.matches("p%.yaml:4: capabilities%.net%.listen%[1%]: 'nowhere' is not an IP address", err)
  end)

  it("a listener and the connections it accepted close when the call ends", function()
    local task = async.spawn(function()
      return eval3([[
        local l = vcli.net.listen({ port = 0 })
        local c = l:accept()
        local data = c:read()
        c:write(data:upper() .. " from " .. c.peer)
        return data
      ]])
    end)
    local port = spec.eventually(function()
      for _, r in pairs(pm.get("rt3").streams or {}) do if r.kind == "listener" then return r.port end end
    end, 5000, "the listener")
    -- the call answers, returns, and its socket and listener are closed: the client reads to the end
    assert.equal("got b'PING from 127.0.0.1'\n", probe(port))
    local ok, res = task:wait(5000)
    assert.truthy(ok, tostring(res))
    assert.equal("ping", res)
    assert.equal(0, pm.open_streams("rt3"))
    assert.equal("refused\n", probe(port))
  end)

  it("WebSockets: the hosts allow-list applies; an HTTP server that does not upgrade is an answer, not an error", function()
    assert.same({ true, "plugin rt3 may not reach host 'example.com' (capabilities: net: hosts: [127.0.0.1])" },
      eval3("local ws, err = vcli.http.websocket({ url = 'https://example.com/' }) return { ws == nil, err }"))
    local r = eval3(("local ws = vcli.http.websocket({ url = %q, protocols = { 'v4.channel.k8s.io' } })"
      .. " return { status = ws.status, closed = ws.closed }"):format(base .. "/status/404"))
    assert.same({ status = 404, closed = true }, r)
    assert.equal(0, pm.open_streams("rt3"))
  end)

  it("the terminal: absent without the capability; raw mode needs a terminal", function()
    assert.equal("nil", eval2("return type(vcli.terminal)"))
    assert.matches("plugin rt3: a raw terminal needs one, and this shell has none",
      tostring(select(2, pcall(eval3, "return vcli.terminal.open({ raw = true })"))))
  end)

  it("raw mode is undone when the call is stopped by its CPU limit", function()
    local py = spec.root .. "/spec/support/pty_drive.py"
    local home = dir .. "/ptyhome3"
    os.execute("mkdir -p " .. home)
    local out = sh(("cd %s && HOME=%s XDG_CONFIG_HOME=%s/c XDG_DATA_HOME=%s/d XDG_STATE_HOME=%s/s XDG_CACHE_HOME=%s/k"
      .. " VCLI_PLUGIN_PATH=%s TERM=dumb python3 %s '%s' ./vcli -c 'rt3 rawspin; rt3 stty' 2>&1")
      :format(spec.root, home, home, home, home, home, plugdir, py, cjson.encode({ { "expect", "extproc" } })))
    assert.matches("^OK\n", out)
    assert.matches("CPU limit", out)
    assert.matches("%sicanon%s", out)       -- back in the normal mode: not -icanon, -echo, -opost
    assert.matches("%secho%s", out)
    assert.matches("%sopost%s", out)
  end)
end)

describe("tasks inside a call (vcli.spawn)", function()
  it("run alongside the call's work; task:wait() gives the results", function()
    local vm = require("vcli.vm")
    local t0 = vm.now()
    local r = eval2([[
      local t = vcli.spawn(function(ms) vcli.sleep(ms); return "prefetched", ms end, 300)
      vcli.sleep(300)
      local a, b = t:wait()
      local both = vcli.parallel({ function() vcli.sleep(100) return 1 end, function() vcli.sleep(100) return 2 end })
      return { a, b, both[1][1], both[2][1], t:done() }
    ]])
    local ms = vm.now() - t0
    assert.same({ "prefetched", 300, 1, 2, true }, r)
    assert.truthy(ms < 550, "took " .. ms .. " ms (the sleeps ran one after the other?)")
  end)
  it("a task's error is raised by wait(); tasks wait on each other", function()
    assert.matches("boom", fails2("local t = vcli.spawn(function() vcli.sleep(10) error('boom') end); return t:wait()"))
    assert.equal(3, eval2([[
      local a = vcli.spawn(function() vcli.sleep(20) return 1 end)
      local b = vcli.spawn(function() return a:wait() + 2 end)
      return b:wait()
    ]]))
  end)
  it("are cancelled with the call, with what they wait on", function()
    local f = dir .. "/w/late.txt"
    local async_ = require("vcli.async")
    local task = async_.spawn(function()
      return eval2(("vcli.spawn(function() vcli.sleep(200); vcli.fs.write(%q, 'x') end); vcli.sleep(5000)"):format(f))
    end)
    async_.sleep(50)
    task:cancel()
    spec.eventually(function() return task.done end, 2000, "the call to end")
    assert.equal(0, eval2("local t = vcli.spawn(function() vcli.sleep(200) return 1 end); return 0"))
    async_.sleep(400)
    assert.equal(nil, spec.read(f))
  end)
end)
