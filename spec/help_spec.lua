-- Help, as a newcomer meets it: `CMD --help`, `CMD -h`, `help CMD SUB`, a
-- bare `k8s` or `prom` — the real binary, a fresh process each time, an empty
-- HOME and no KUBECONFIG. Help goes to stdout with exit status 0.
describe("help", function()
  local home
  -- stdout and the exit status; stderr apart
  local function vcli(args)
    local errf = home .. "/stderr"
    local out, code = spec.sh(("cd %s && env -u KUBECONFIG -u VCLI_PLUGIN_PATH -u XDG_CONFIG_HOME -u XDG_STATE_HOME"
      .. " -u XDG_CACHE_HOME -u XDG_DATA_HOME HOME=%s %s %s 2>%s"):format(spec.root, home, spec.vcli, args, errf))
    return out, code, spec.read(errf) or ""
  end
  local function same_help(a, b)
    local o1, c1, e1 = vcli(a)
    local o2, c2, e2 = vcli(b)
    assert.equal(o1, o2)
    assert.equal(0, c1)
    assert.equal(0, c2)
    assert.equal("", e1)
    assert.equal("", e2)
    return o1
  end
  local function has(pattern, text) assert.matches(pattern, text, 1) end

  before_each(function()
    if home then os.execute("rm -rf '" .. home .. "'") end
    home = spec.tmpdir()   -- empty: no kubeconfig, no rc, no caches, nothing started before
  end)
  after_all(function() if home then os.execute("rm -rf '" .. home .. "'") end end)

  it("k8s get --help shows get's own flags, the k8s flags, its arguments and examples; no kubeconfig needed", function()
    local out, code, err = vcli("k8s get --help")
    assert.equal(0, code)
    assert.equal("", err)
    has("^k8s get — List or show resources", out)
    has("\nUsage: k8s get TYPE", out)
    has("\n  %-o, %-%-output FORMAT +wide|json|yaml|name", out)
    has("\n  %-l, %-%-selector SELECTOR +label selector", out)
    has("\n      %-%-field%-selector SELECTOR", out)
    has("\n  %-w, %-%-watch ", out)
    has("\n  %-h, %-%-help +show this help", out)
    has("\nFlags of every k8s command:\n", out)
    has("\n  %-A, %-%-all%-namespaces +across all namespaces", out)
    has("\n  %-n, %-%-namespace NS ", out)
    has("\nArguments:\n  TYPE ", out)
    has("\nExamples:\n  k8s get pods\n", out)
    assert.not_matches("kubeconfig does not exist", out)
  end)

  it("help k8s get, k8s get -h and kubernetes get --help say the same in a fresh process", function()
    local out = same_help("help k8s get", "k8s get -h")
    has("%-%-selector SELECTOR", out)
    has("%-A, %-%-all%-namespaces", out)
    -- the alias names itself in the title; the rest is the same
    local alias = vcli("kubernetes get --help")
    assert.equal(out:gsub("^k8s get", "kubernetes get"):gsub("every k8s command", "every kubernetes command"), alias)
    same_help("help kubernetes get", "kubernetes get --help")
  end)

  it("every k8s verb has its flags, arguments and examples in its help", function()
    local verbs = vcli("k8s"):match("\nSubcommands:\n(.-)\n\n")
    local n = 0
    for verb in (verbs .. "\n"):gmatch("  (%S+)[^\n]*\n") do
      local out, code = vcli("help k8s " .. verb)
      assert.equal(0, code, verb)
      has("^k8s " .. verb:gsub("%-", "%%-") .. " — ", out)
      has("\n  %-h, %-%-help ", out)
      has("\nExamples:\n  k8s " .. verb:gsub("%-", "%%-"), out)
      n = n + 1
    end
    assert.truthy(n >= 15, "verbs listed: " .. n)
    has("%-f, %-%-follow +keep printing new lines", (vcli("k8s logs --help")))
    has("%-i, %-%-stdin", (vcli("k8s exec --help")))
  end)

  it("a bare k8s lists its verbs with one-line descriptions, as kubectl alone does", function()
    local out, code, err = vcli("k8s")
    assert.equal(0, code)
    assert.equal("", err)
    has("^k8s — Kubernetes", out)
    has("\nSubcommands:\n", out)
    has("\n  get +List or show resources", out)
    has("\n  describe +Show a resource in detail", out)
    has("\n  logs +Print a pod's logs", out)
    has("\n  api%-resources +The resource types", out)
    has("'k8s SUBCOMMAND %-%-help'", out)
    assert.equal(out, (vcli("k8s --help")))
    assert.equal(out, (vcli("help k8s")))
  end)

  it("the manifest names the verbs the plugin defines, with the same summaries (completion before the start)", function()
    local listed = {}
    for verb, summary in vcli("k8s"):match("\nSubcommands:\n(.-)\n\n"):gmatch("  (%S+) +([^\n]+)") do
      listed[verb] = summary
    end
    local manifest = {}
    local text = spec.read(spec.root .. "/plugins/kubernetes/plugin.yaml")
    for verb, summary in text:gmatch('{ name: ([%w%-]+), summary: "([^"]+)" }') do manifest[verb] = summary end
    assert.same(listed, manifest)
  end)

  it("prom range --help and help prom range show its flags; a bare prom lists its subcommands", function()
    local out = same_help("prom range --help", "help prom range")
    has("^prom range — Range query", out)
    has("\n  %-s, %-%-since DURATION ", out)
    has("\n      %-%-step DURATION ", out)
    has("\n  %-o, %-%-output FORMAT ", out)
    has("\nFlags of every prom command:\n      %-%-url URL", out)
    has("\nExamples:\n  prom range ", out)
    assert.equal(out, (vcli("prometheus r -h")))
    local bare, code, err = vcli("prom")
    assert.equal(0, code)
    assert.equal("", err)
    has("^prom — Query Prometheus", bare)
    has("\n  query +Instant query", bare)
    has("\n  range +Range query", bare)
    has("\n  alerts +Active alerts", bare)
  end)

  it("builtins: help echo and echo --help; plugin commands; -h everywhere", function()
    local out = same_help("help echo", "echo --help")
    has("^echo — Print the arguments\n\nUsage: echo %[FLAGS%] %[WORDS%.%.%.%]", out)
    has("\n  %-n, %-%-n +no trailing newline", out)
    assert.equal(out, (vcli("echo -h")))
    same_help("help hello", "hello --help")
    same_help("help plugin install", "plugin install -h")
    same_help("help alias", "alias --help")
    same_help("help config set", "config set --help")
    same_help("help help", "help --help")
    -- a command that hands unknown words on (alias) takes --help after its first argument as one of them
    assert.equal("x = echo a --help\n", (vcli("-c 'alias x echo a --help; alias x'")))
  end)

  it("a verb vcli hands to kubectl gets kubectl's own help, without a kubeconfig", function()
    local which = spec.sh("command -v kubectl")
    if not which:match("kubectl") then return end
    local out, code = vcli("k8s debug --help")
    assert.equal(0, code)
    has("kubectl debug", out)
  end)

  it("the overview tells how to get a command's help", function()
    has("'help COMMAND' or 'COMMAND %-%-help' shows a command's flags", (vcli("help")))
  end)
end)

-- In-process: -h that is a command's own flag, and a plugin that cannot start.
describe("help in the shell", function()
  local shell = require("vcli.shell")
  local commands = require("vcli.shell.commands")
  require("vcli.shell.builtins")
  local function run(line)
    local status, out, err = shell.capture(function() return shell.execute(line) end)
    return out, err, status
  end
  before_all(function()
    commands.define({
      name = "hosty", summary = "has its own -h",
      flags = { { name = "host", short = "h", type = "string", help = "the host" } },
      handler = function(ctx) ctx.print("host=" .. tostring(ctx.flags.host)) end,
    }, "help-spec")
    commands.define({
      name = "grp", summary = "a group",
      subcommands = { { name = "one", summary = "the first", handler = function(ctx) ctx.print("one") end } },
    }, "help-spec")
  end)
  after_all(function() commands.remove_owner("help-spec") end)

  it("-h is a command's own flag when it has one; --help still shows the help", function()
    assert.equal("host=db1\n", (run("hosty -h db1")))
    local out, err, st = run("hosty --help")
    assert.equal(0, st)
    assert.equal("", err)
    assert.matches("\n  %-h, %-%-host STRING +the host\n      %-%-help +show this help", out)
  end)

  it("a group given nothing shows its help (status 0); an unknown subcommand is still an error", function()
    local out, _, st = run("grp")
    assert.equal(0, st)
    assert.matches("^grp — a group\n\nUsage: grp SUBCOMMAND\n\nSubcommands:\n  one +the first", out)
    local _, err, st2 = run("grp two")
    assert.equal(2, st2)
    assert.matches("unknown subcommand 'two'", err)
  end)

  it("a plugin that cannot start: its manifest's help, the reason on stderr, status 1", function()
    local root = spec.tmpdir()
    os.execute("mkdir -p " .. root .. "/broken")
    spec.write(root .. "/broken/plugin.yaml", "name: broken\nversion: 1.0.0\ncommands:\n"
      .. "  - name: brk\n    summary: breaks on start\n    subcommands: [{ name: sub, summary: a sub }]\n")
    spec.write(root .. "/broken/init.lua", "error('boom on purpose')\n")
    local pm = require("vcli.plugin")
    pm.discover({ { dir = root, kind = "spec" } }, { cache = false })
    local out, err, st = run("brk sub --help")
    assert.equal(1, st)
    assert.matches("^brk sub — a sub\n", out)
    assert.matches("boom on purpose", err)
    assert.matches("this help shows only what its manifest says", err)
    out, err, st = run("help brk")
    assert.equal(1, st)
    assert.matches("\n  sub +a sub", out)
    assert.matches("boom on purpose", err)
    for _, n in ipairs(pm.names()) do pm.stop(n) end
    commands.remove_owner("plugin:broken")
    os.execute("rm -rf '" .. root .. "'")
  end)

  it("a mistyped k8s verb gets kubectl's 'did you mean', and usage errors exit 1 as kubectl's do", function()
    local home = spec.tmpdir()
    local function vcli(args)
      local errf = home .. "/stderr"
      local out, code = spec.sh(("cd %s && env -u KUBECONFIG HOME=%s %s %s 2>%s"):format(spec.root, home, spec.vcli,
        args, errf))
      return out, code, spec.read(errf) or ""
    end
    local _, out, code, err
    out, code, err = vcli("k8s gte pods")
    assert.equal("", out)
    assert.equal(1, code)
    assert.equal('vcli: k8s: unknown command "gte" (did you mean get?)\n', err)
    _, code, err = vcli("k8s descrbe pod x")
    assert.equal(1, code)
    assert.matches('did you mean describe%?', err)
    _, code, err = vcli("k8s frobnicate")
    assert.equal(1, code)
    assert.matches("unknown command \"frobnicate\"; 'k8s' lists the verbs", err)
    _, code, err = vcli("k8s get pods --bogus")
    assert.equal(1, code)
    assert.equal("vcli: k8s get: unknown flag '--bogus'\n", err)
    -- the shell's own usage errors stay 2
    _, code = vcli("echo --bogus")
    assert.equal(2, code)
    os.execute("rm -rf '" .. home .. "'")
  end)
end)
