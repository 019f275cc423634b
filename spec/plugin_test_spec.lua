-- `plugin test NAME`: a plugin's spec/ on the project's one runner (vcli.testing),
-- in the plugin's own state. spec/support/plugins/testee/spec/ has a file that
-- passes (stubs answering its module and its command, stubs gone after their
-- test, hooks, the assertions) and one that fails in every way (a test and a
-- command hanging on a stub, unknown stub targets, failed assertions, a skip).
local pm = require("vcli.plugin")
local shell = require("vcli.shell")
local caps = require("vcli.plugin.caps")
local vm = require("vcli.vm")
local FIX = spec.root .. "/spec/support/plugins"

local function run(line)
  local status, out, err = shell.capture(function() return shell.execute(line) end)
  return out .. err, status
end

-- the real binary, as a plugin author runs it; its lines with the time each arrived
local function plugin_test(args)
  local home = spec.tmpdir()
  local cmd = ("cd '%s' && HOME=%s XDG_DATA_HOME=%s/data XDG_STATE_HOME=%s/state VCLI_PLUGIN_PATH=%s %s plugin test %s 2>&1;"
    .. " echo \"__rc=$?\""):format(spec.root, home, home, home, FIX, spec.vcli, args)
  local p = io.popen(cmd)
  local lines, at, rc = {}, {}, nil
  for l in p:lines() do
    rc = tonumber(l:match("^__rc=(%d+)$")) or rc
    if not l:match("^__rc=") then lines[#lines + 1] = l; at[#at + 1] = vm.now() end
  end
  p:close()
  os.execute("rm -rf '" .. home .. "'")
  return table.concat(lines, "\n") .. "\n", rc, lines, at
end

local function index_of(lines, pat)
  for i, l in ipairs(lines) do if l:find(pat) then return i end end
end

describe("plugin test", function()
  local out, rc, lines, at
  before_all(function() out, rc, lines, at = plugin_test("testee --timeout 1000") end)

  it("ends with the runner's summary line and a failing status", function()
    assert.matches("\n14 passed, 7 failed, 2 skipped\n$", out)
    assert.equal(1, rc, out)
    assert.matches("# testee/spec/a_passing_spec.lua\n", out)
    assert.matches("\nFailures:\n  %- failing a test that hangs on a stub\n", out)
  end)

  it("runs in the plugin's state; stubs answer its module and its commands, and are gone after their test", function()
    for _, t in ipairs({ "the plugin's own state has its modules and grants, and no more",
                         "stubs a stub answers the plugin's request, in its own module and through a command",
                         "stubs a failed transfer is nil, err, as the host's vcli.http gives it",
                         "stubs finds the store as it was once that test ended",
                         "a stub from before_all holds in the group's first test", "a stub from before_all and in its next",
                         "after that group the store is its own again" }) do
      assert.truthy(index_of(lines, "^ok    " .. t:gsub("%p", "%%%0")), t .. "\n" .. out)
    end
  end)

  it("runs before_all, before_each and after_each, outer ones first", function()
    assert.matches("ok    hooks runs before_all, then before_each", out)
    assert.matches("ok    hooks runs after_each after each test, before the next before_each", out)
    assert.matches("ok    hooks nested runs the outer before_each first", out)
  end)

  it("assert.same and assert.error pass and fail as in spec/", function()
    assert.matches("ok    assertions same compares tables deeply; error returns the error", out)
    assert.matches("FAIL  failing assert.same says what differs\n      testee/spec/b_failing_spec.lua:%d+: expected { 1, { a = 2 } }\n"
      .. "              got { 1, { a = 3 } }\n", out)
    assert.matches("FAIL  failing assert.error without an error\n      testee/spec/b_failing_spec.lua:%d+: expected an error\n", out)
    assert.matches("SKIP  assertions waits for a server — no server in the scratch state\n", out)
    assert.matches("SKIP  failing skips itself — no cluster here\n", out)
  end)

  it("a test that hangs times out, and the next one runs without its stub", function()
    assert.matches("FAIL  failing a test that hangs on a stub\n      timed out after 1000 ms\n"
      .. "ok    failing the next test runs, with after_each run and the hanging test's stub gone", out)
    assert.matches("FAIL  failing a command that hangs on a stub\n      timed out after 1000 ms\n"
      .. "ok    failing the next command runs, with its own stub", out)
  end)

  it("prints each result as it finishes (a hanging test is seen while it hangs)", function()
    local first = index_of(lines, "^ok    stubs a stub answers")
    local hang = index_of(lines, "^FAIL  failing a test that hangs")
    local last = #lines
    assert.truthy(first and hang, out)
    -- two tests hang a second each after the first file's results were out
    assert.truthy(at[last] - at[first] >= 1800, ("first result %.0f ms before the end"):format(at[last] - at[first]))
    assert.truthy(at[last] - at[hang] >= 900, ("the timed-out test %.0f ms before the end"):format(at[last] - at[hang]))
  end)

  it("an unknown stub target says what was meant and lists the valid ones", function()
    assert.matches("stub: net has no operation 'requets' %(did you mean request%?%); net's: accept, close, listen, read, request,", out)
    assert.matches("stub: no capability 'nett' %(did you mean net%.request%?%); stub targets of plugin testee: core%.cancel_timer,"
      .. "[^\n]* net%.request,[^\n]* store%.get,", out)
    assert.matches("stub: plugin testee is not granted exec, so nothing it runs reaches exec%.run %(capabilities: %- exec: ", out)
  end)
end)

describe("plugin test in a running vcli", function()
  before_all(function()
    pm.discover({ { dir = FIX, kind = "spec" } })
    require("vcli.plugin.cli").define()
    pm.set_store_dir(spec.tmpdir())
  end)

  it("times a test out inside the shell's own task, and leaves the plugin stopped", function()
    local out, status = run("plugin test testee --timeout 300 -f 'a test that hangs'")
    assert.equal(1, status, out)
    assert.matches("FAIL  failing a test that hangs on a stub\n      timed out after 300 ms\n", out)
    assert.matches("\n0 passed, 1 failed\n$", out)
    assert.equal("stopped", pm.get("testee").state)
  end)

  it("puts the store back and reaches no test operation afterwards", function()
    local out = run("plugin test testee -f 'stubs finds'")
    assert.matches("\n1 passed, 0 failed\n$", out)
    assert(pm.start("testee"))
    local ok, err = pcall(pm.invoke, pm.get("testee"), "eval", "return vcli.store.get('k')")
    assert.truthy(ok, err)
    assert.equal(nil, err)   -- the scratch store's "real" is not in the user's
    local tok, terr = pcall(pm.invoke, pm.get("testee"), "test", "enter")
    assert.falsy(tok)
    assert.matches("no test operation", terr)
    pm.stop("testee")
  end)

  it("--stubs lists every capability's operations from the registry; with NAME, its grants", function()
    local all = run("plugin test --stubs")
    for _, n in ipairs(caps.NAMES) do
      assert.matches("\n" .. n:gsub("%p", "%%%0") .. "%s+%l", all)
    end
    assert.matches("\nnet%s+accept, close, listen, read, request, sock_read", all)
    assert.matches("\ncore%s+cancel_timer, command, log, prompt, provide, sleep, timer\n", all)
    local mine = run("plugin test --stubs testee")
    assert.matches("OPERATIONS %(plugin testee%)", mine)
    assert.matches("\nstore%s+del, get, keys, lock, put, put_many, unlock, usage\n", mine)
    assert.not_matches("\nexec%s", mine)
  end)

  it("refuses an unknown plugin and a bad --timeout", function()
    local out, status = run("plugin test nosuch")
    assert.equal(1, status)
    assert.matches("no plugin named 'nosuch'", out)
    out, status = run("plugin test testee --timeout 0")
    assert.equal(1, status)
    assert.matches("%-%-timeout takes milliseconds above 0", out)
  end)
end)
