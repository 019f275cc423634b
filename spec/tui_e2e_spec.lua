-- `vcli ui` in a real terminal (tmux) against the real test cluster: what a
-- k9s user does in a morning, read back from the screen. Open from the shell,
-- move, filter, sort, drill down and back, describe and YAML, logs, scale
-- with its dialog, delete with its confirmation, read-only refusals, the
-- cluster taken away by the fault proxy and given back, resize, :q back to
-- the shell with the namespace switched in the interface.
local H = dofile("spec/support/k8s/helper.lua")
local tmux = dofile("spec/support/tmux.lua")

if not tmux.available() then
  pending("vcli ui in tmux", "tmux is not installed (make deps installs it)")
  return
end

local NS = "tui-e2e"
local NSP = "tui%-e2e"   -- NS as a Lua pattern

describe("vcli ui against the test cluster", function()
  local E, KC, home, t
  local function kubectl(args) return H.kubectl(KC, args) end

  before_all(function()
    E = H.start_cluster()
    KC = E.KUBECONFIG
    kubectl("create namespace " .. NS)
    kubectl("-n " .. NS .. " create deployment web --image=nginx:1.25 --replicas=2")
    kubectl("-n " .. NS .. " create deployment api --image=nginx:1.25 --replicas=1")
    kubectl("-n " .. NS .. " create configmap settings --from-literal=a=1")
    H.wait_pods_started(KC, 3, 120000)
  end)
  after_all(function()
    if KC then kubectl("delete namespace " .. NS .. " --wait=false") end
    H.stop_cluster()
  end)
  before_each(function()
    home = spec.tmpdir()
  end)
  after_each(function()
    if t then t:stop() t = nil end
    spec.sh(H.KUBE .. " proxy pass")
    os.execute("rm -rf '" .. home .. "'")
  end)

  local function start(args, extra_env)
    local env = { KUBECONFIG = KC, HOME = home,
      XDG_CONFIG_HOME = home .. "/c", XDG_DATA_HOME = home .. "/d", XDG_STATE_HOME = home .. "/s",
      XDG_CACHE_HOME = home .. "/k", TERM = "xterm-256color", EDITOR = "true" }
    for k, v in pairs(extra_env or {}) do env[k] = v end
    t = tmux.start("./vcli", { width = 120, height = 32, env = env })
    t:wait_for("vcli>", 15000)
    t:type("ui " .. (args or ("pods -n " .. NS)))
    t:send("Enter")
  end
  local function cmd(line)
    t:type(":")
    t:wait_for("\n:%s*$", 5000)
    t:type(line)
    t:send("Enter")
  end

  it("opens from the shell, lists pods live, filters, sorts and comes back with :q", function()
    start()
    local s = t:wait_for("web%-%w+%-%w+%s+%d/%d", 30000)
    assert.matches("Context: vcli%-test", s)
    assert.matches("Namespace: " .. NSP, s)
    t:wait_for("K8s: v1%.", 10000)          -- the server's version, asked once the first rows are in
    assert.matches("NAME.-READY%s+STATUS%s+RESTARTS%s+AGE", s)
    -- live: a new pod appears without a key
    kubectl("-n " .. NS .. " run solo --image=nginx:1.25")
    t:wait_for("\nsolo%s+%d/%d", 30000)
    -- filter as typed; Esc clears it
    t:type("/api")
    s = t:wait_for("/api%(1/%d+%)", 5000)   -- the title says the filter is applied
    assert.not_matches("\nweb%-", s)
    t:send("Enter")
    t:send("Escape")
    t:wait_for("\nweb%-", 5000)
    -- sort by name, then reversed: solo comes first
    t:type("N")
    s = t:wait_for("NAME↓", 5000)
    assert.matches("NAME↓[^\n]*\nweb", s)
    t:type("N")
    t:wait_for("NAME↑[^\n]*\napi", 5000)
    cmd("q")
    t:wait_for("vcli>%s*$", 10000)
  end)

  it("drills from a deployment to its pods, describes and shows YAML, and walks back", function()
    start("deploy -n " .. NS)
    t:wait_for("\nweb%s+2/2", 60000)
    t:type("j")            -- api, web: the cursor on web
    t:send("Enter")
    t:wait_for("pods%(" .. NSP .. "%) of web", 10000)   -- at once, "Loading…" until the first chunk
    local s = t:wait_for("\nweb%-%w+%-%w+%s+%d/%d", 15000)
    assert.not_matches("\napi%-", s)
    t:type("d")
    s = t:wait_for("Controlled By:%s+ReplicaSet/web%-", 15000)
    assert.matches("User: vcli%-admin", s)                  -- the whole header, as in the list
    -- / searches the text as it is typed; n goes on; Esc clears it, the next Esc goes back
    t:type("/Controlled")
    t:wait_for("/Controlled %[1/1%]", 5000)
    t:send("Enter")
    t:type("n")
    t:wait_for("search hit BOTTOM", 5000)
    t:send("Escape")
    t:wait_for("lines %d+%-%d+/%d+ %(%d+%%%)%s*\n", 5000)
    assert.not_matches("/Controlled", t:screen())
    t:send("Escape")
    t:wait_for("pods%(" .. NSP .. "%) of web%(2%)%s*\n", 5000)   -- the describe crumb is gone
    t:type("y")
    s = t:wait_for("apiVersion: v1", 15000)
    assert.matches("kind: Pod", s)
    assert.not_matches("managedFields", s)
    t:type("[")
    t:type("[")
    t:wait_for("\nweb%s+2/2", 5000)
    t:type("]")
    t:wait_for("pods%(" .. NSP .. "%) of web", 5000)
    t:type("[")
    t:wait_for("\nweb%s+2/2", 5000)
    -- /-l: the server filters by label; Esc gives the list back as it was
    t:type("/-l app=api")
    t:send("Enter")
    s = t:wait_for("deployments%(" .. NSP .. "%) %-l app=api%(1%)", 15000)
    assert.not_matches("\nweb%s+2/2", s)
    t:send("Escape")
    t:wait_for("\nweb%s+2/2", 15000)
    assert.not_matches("%-l app=api", t:screen())
    -- : in a describe view is the browser's: a new trail, the pods alone on it
    t:type("d")
    t:wait_for("describe%(%w+%)", 10000)
    cmd("pods")
    s = t:wait_for("\n pods%(" .. NSP .. "%)%(%d+%)%s*\n", 15000)
    assert.not_matches("deployments%(", s)
  end)

  it("scales with its dialog and deletes with its confirmation", function()
    start("deploy -n " .. NS)
    t:wait_for("\nweb%s+2/2", 60000)
    t:type("j")
    t:type("s")
    t:wait_for("Replicas of deployments/web", 10000)
    t:send("BSpace")
    t:type("3")
    t:send("Enter")
    t:wait_for("deployment.apps/web scaled", 15000)
    spec.eventually(function()
      local out = kubectl("-n " .. NS .. " get deploy web -o jsonpath={.spec.replicas}")
      return out == "3", out
    end, 15000, "web scaled to 3")
    t:wait_for("\nweb%s+%d/3", 30000)
    -- delete the configmap: a dialog, Cancel keeps it, Delete removes it
    cmd("cm")
    t:wait_for("\nsettings%s", 15000)
    t:type("/settings")
    t:send("Enter")
    t:send("C-d")
    t:wait_for("Delete configmaps settings%?", 10000)
    t:send("Escape")
    t:wait_for("nothing deleted", 5000)
    assert.equal(0, select(2, kubectl("-n " .. NS .. " get cm settings")))
    t:send("C-d")
    t:wait_for("Propagation", 10000)
    t:send("Enter")
    t:wait_for('configmap "settings" deleted', 15000)
    spec.eventually(function()
      local _, rc = kubectl("-n " .. NS .. " get cm settings")
      return rc ~= 0
    end, 15000, "settings deleted")
  end)

  it("port-forwards a pod from its dialog, lists the forward under :pf and stops it", function()
    start()
    t:wait_for("\nweb%-%w+%-%w+%s+%d/%d", 30000)
    t:type("F")
    t:wait_for("Local port", 10000)
    t:send("Tab")
    t:send("C-u")
    t:type("0")                     -- any free local port
    t:send("Enter")
    t:wait_for("forwarding pod/api", 10000)   -- the cursor's pod: api sorts first
    cmd("pf")
    local s = t:wait_for("127%.0%.0%.1:%d+%s+%d+%s+forwarding", 15000)
    local port = tonumber(s:match("127%.0%.0%.1:(%d+)"))
    assert.truthy(port and port > 0)
    local _, rc = spec.sh(("python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", %d), 3).close()'"):format(port))
    assert.equal(0, rc, "the local port accepts connections")
    t:send("C-d")
    t:wait_for("%s+stopped%s", 10000)
    spec.eventually(function()
      local _, rc2 = spec.sh(("python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", %d), 1).close()'"):format(port))
      return rc2 ~= 0
    end, 10000, "the local port closed")
    -- :pf is a trail of its own: its header is the browser's, and : still takes types
    assert.matches("User: vcli%-admin", t:screen())
    cmd("pods")
    t:wait_for("\n pods%(" .. NSP .. "%)%(%d+%)", 15000)
  end)

  it("opens a shell in a pod and comes back to the same screen", function()
    start()
    t:wait_for("\napi%-%w+%-%w+%s+1/1%s+Running", 30000)
    t:type("s")                                   -- the cursor's pod: api sorts first
    t:wait_for("[#$]%s*$", 20000)                 -- the remote shell's prompt, the interface stepped aside
    t:type("echo inside-the-pod; stty size")
    t:send("Enter")
    t:wait_for("\ninside%-the%-pod\n32 120\n", 10000)
    -- a while in the shell, past the interface's AGE tick (5 s) and a watch event:
    -- nothing of the interface is drawn over the shell meanwhile
    kubectl("-n " .. NS .. " run while-away --image=nginx:1.25")
    t:type("sleep 6; echo back-from-sleep")
    t:send("Enter")
    local inside = t:wait_for("\nback%-from%-sleep\n", 20000)
    assert.not_matches("K8s: v1", inside)
    assert.not_matches("Context: vcli%-test", inside)
    kubectl("-n " .. NS .. " delete pod while-away --wait=false")
    t:type("exit")
    t:send("Enter")
    local s = t:wait_for("left the shell of api%-", 15000)
    assert.matches("pods%(" .. NSP .. "%)", s)      -- the same view, redrawn
    assert.matches("NAME.-READY%s+STATUS", s)
  end)

  it(":suspend gives the shell its terminal back, and fg redraws the same view", function()
    -- an interactive shell with job control, as a user's
    t = tmux.start("bash --norc -i", { width = 120, height = 32, env = { KUBECONFIG = KC, HOME = home,
      XDG_CONFIG_HOME = home .. "/c", XDG_DATA_HOME = home .. "/d", XDG_STATE_HOME = home .. "/s",
      XDG_CACHE_HOME = home .. "/k", TERM = "xterm-256color", PS1 = "outer$ " } })
    t:wait_for("outer%$", 10000)
    t:type("./vcli ui deploy -n " .. NS)
    t:send("Enter")
    t:wait_for("\nweb%s+%d/%d", 60000)
    cmd("suspend")
    local s = t:wait_for("Stopped[^\n]*\nouter%$%s*$", 10000)
    assert.not_matches("Context: vcli%-test", s)        -- the alternate screen is gone
    t:type("fg")
    t:send("Enter")
    t:wait_for("Context: vcli%-test.-deployments%(" .. NSP .. "%)", 10000)
    t:type("j")
    cmd("q")
    t:wait_for("\nouter%$%s*$", 10000)
  end)

  it("gives the terminal back when the process crashes: normal screen, cooked mode", function()
    t = tmux.start("bash --norc -i", { width = 120, height = 32, env = { KUBECONFIG = KC, HOME = home,
      XDG_CONFIG_HOME = home .. "/c", XDG_DATA_HOME = home .. "/d", XDG_STATE_HOME = home .. "/s",
      XDG_CACHE_HOME = home .. "/k", TERM = "xterm-256color", PS1 = "outer$ " } })
    t:wait_for("outer%$", 10000)
    local tty = t:display("#{pane_tty}"):gsub("^/dev/", "")
    t:type("./vcli ui deploy -n " .. NS)
    t:send("Enter")
    t:wait_for("\nweb%s+%d/%d", 60000)
    assert.equal("1", t:display("#{alternate_on}"))
    local pid = spec.sh("pgrep -t " .. tty .. " -x vcli"):match("^(%d+)%s*$")
    assert.truthy(pid, "vcli's PID under the shell")
    os.execute("kill -SEGV " .. pid)
    -- (killed by the signal; under the sanitizers their handler reports it and aborts)
    local died = t:wait_for("\nouter%$%s*$", 10000)
    assert.truthy(died:find("Segmentation fault", 1, true) or died:find("Aborted", 1, true), died)
    assert.equal("0", t:display("#{alternate_on}"))
    -- the terminal is in its normal mode again: the shell's typing echoes, lines are cooked
    t:type("stty -a | grep -o -- '-*icanon' ; echo done")
    t:send("Enter")
    local s = t:wait_for("\ndone\n", 10000)
    assert.matches("\nicanon\n", s)
  end)

  it("keeps the browser working around a plugin's panel that fails and one that loops forever", function()
    start(nil, { VCLI_PLUGIN_PATH = spec.root .. "/spec/support/plugins" })
    t:wait_for("\nweb%-%w+%-%w+%s+%d/%d", 30000)
    cmd("boom")
    t:wait_for("panel boom: [^\n]*the boom panel cannot draw", 10000)
    t:send("Escape")
    t:wait_for("\nweb%-%w+%-%w+%s+%d/%d", 5000)
    cmd("spin")
    t:wait_for("panel spin: [^\n]*2000 ms CPU", 20000)
    t:type("[")
    t:wait_for("\nweb%-%w+%-%w+%s+%d/%d", 5000)
    -- still live: a new pod appears, and keys answer
    kubectl("-n " .. NS .. " run after-spin --image=nginx:1.25")
    t:wait_for("\nafter%-spin%s+%d/%d", 30000)
    t:type("/after")
    t:wait_for("/after%(1/%d+%)", 5000)
    t:send("Enter")
    kubectl("-n " .. NS .. " delete pod after-spin --wait=false")
    cmd("q")
    t:wait_for("vcli>%s*$", 10000)
  end)

  it("edits with e (the editor on the terminal), jumps to the owner with J, cordons and uncordons a node", function()
    local editor = home .. "/editor.sh"
    spec.write(editor, "#!/bin/sh\nsed -i 's/^  a: \"1\"$/  a: \"2\"/' \"$1\"\n")
    os.execute("chmod +x '" .. editor .. "'")
    kubectl("-n " .. NS .. " create configmap edit-me --from-literal=a=1")
    start("cm -n " .. NS, { EDITOR = editor })
    t:wait_for("\nedit%-me%s+1%s", 30000)
    t:type("/edit-me")
    t:send("Enter")
    t:type("e")
    t:wait_for("configmap/edit%-me edited", 20000)
    spec.eventually(function() return (kubectl("-n " .. NS .. " get cm edit-me -o jsonpath={.data.a}")) == "2" end,
      10000, "the edit to reach the server")
    -- J: from a pod to the ReplicaSet that owns it
    cmd("pods")
    t:wait_for("pods%(" .. NSP .. "%)", 15000)
    t:type("/web")
    t:send("Enter")
    -- a row to stand on: under load the filter can be drawn before the pods have come
    t:wait_for("/web%([1-9]%d*/%d+%)[^\n]*\n.-\nweb%-%w+%-%w+%s", 15000)
    t:type("J")
    t:wait_for("replicasets%(" .. NSP .. "%)[^\n]*\n.-\nweb%-%w+%s+%d+%s+%d+", 15000)
    -- nodes: c cordons, u uncordons (the server says so)
    cmd("nodes")
    t:wait_for("\nvcli%-node%-1%s+Ready", 15000)
    t:type("c")
    t:wait_for("node/vcli%-node%-1 cordoned", 15000)
    assert.equal("true", (kubectl("get node vcli-node-1 -o jsonpath={.spec.unschedulable}")))
    t:wait_for("\nvcli%-node%-1%s+Ready,SchedulingDisabled", 15000)
    t:type("u")
    t:wait_for("node/vcli%-node%-1 uncordoned", 15000)
    assert.equal("", (kubectl("get node vcli-node-1 -o jsonpath={.spec.unschedulable}")))
    cmd("q")
    t:wait_for("vcli>%s*$", 10000)
  end)

  it("in read-only mode hides and refuses every change", function()
    start("deploy -n " .. NS .. " --readonly")
    local s = t:wait_for("\nweb%s+%d/%d", 60000)
    assert.matches("read%-only", s)
    assert.not_matches("<s> Scale", s)
    t:type("j")
    t:type("s")
    t:wait_for("scale: refused: read%-only mode", 5000)
    t:send("C-d")
    t:wait_for("delete: refused: read%-only mode", 5000)
    t:type("?")
    s = t:wait_for("Describe", 5000)
    assert.not_matches("Delete", s)
    assert.not_matches("Rollout restart", s)
  end)

  it("follows a pod's logs, filters them, and pauses on scroll", function()
    kubectl("-n " .. NS .. " run talker --image=busybox -- sh -c 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done'")
    start()
    t:wait_for("\ntalker%s+1/1%s+Running", 60000)
    t:type("/talker")
    t:send("Enter")
    t:type("l")
    t:wait_for("logs%(talker%)", 10000)
    local s = t:wait_for("line %d+", 20000)   -- the node agent's pods write numbered lines
    assert.matches("following", s)
    t:send("Up")
    t:wait_for("paused", 5000)
    t:type("f")
    t:wait_for("following", 5000)
    -- s searches everything kept (its own line), n/N go on
    t:type("s")
    t:wait_for("\n/%s*$", 5000)
    t:type("line 3")
    t:send("Enter")
    t:wait_for("/line 3", 5000)
    -- Esc clears the search first, the view stays
    t:send("Escape")
    t:wait_for("lines? · [%d.]+ [KM]iB/%d+ MiB%s*\n", 5000)
    assert.matches("logs%(talker%)", t:screen())
    assert.not_matches("/line 3", t:screen())
    -- timestamps on, then another range: the toggle stays
    t:type("t")
    t:wait_for("\n%d%d%d%d%-%d%d%-%d%dT[^\n]*line %d+", 5000)
    t:type("2")
    t:wait_for("since 5m", 5000)
    t:wait_for("\n%d%d%d%d%-%d%d%-%d%dT[^\n]*line %d+", 20000)
  end)

  it("keeps its rows when the cluster goes away, says offline, and catches up when it is back", function()
    -- through the fault proxy: the test kubeconfig's context vcli-test-proxy
    start("pods -n " .. NS .. " --context vcli-test-proxy")
    t:wait_for("web%-%w+%-%w+%s+%d/%d", 30000)
    assert.matches("Context: vcli%-test%-proxy", t:screen())
    spec.sh(H.KUBE .. " proxy refuse")
    kubectl("-n " .. NS .. " run late --image=nginx:1.25")
    local s = t:wait_for("offline — as of", 30000)
    assert.matches("web%-%w+%-%w+", s)     -- the rows stay
    spec.sh(H.KUBE .. " proxy pass")
    t:wait_for("\nlate%s+%d/%d", 60000)    -- reconnected by itself, caught up by watch
    s = t:screen()
    assert.not_matches("offline — as of", s)
  end)

  it("switches namespace in the interface, and the shell has it after :q; resizes; unknown type says so", function()
    start("ns")
    t:wait_for("\n" .. NSP .. "%s+Active", 30000)
    t:type("/" .. NS)
    t:send("Enter")
    t:send("Enter")
    t:wait_for("pods%(" .. NSP .. "%)", 10000)
    t:resize(80, 24)
    t:wait_for("pods%(" .. NSP .. "%)", 5000)
    cmd("nosuchtype")
    t:wait_for("doesn't have a resource type \"nosuchtype\"", 10000)
    t:type("/-l app in (web")                    -- a selector the server rejects
    t:send("Enter")
    t:wait_for("unable to parse requirement", 15000)
    t:type("/-l app=web")
    t:send("Enter")
    t:wait_for("\nweb%-%w+%-%w+%s+%d/%d", 15000)   -- the UI stayed up; a good selector works
    cmd("q")
    t:wait_for("vcli>%s*$", 10000)
    t:type("k8s ns")
    t:send("Enter")
    t:wait_for("%* " .. NSP, 10000)
    -- the interface's `:` lines are kept for the next time it opens; the shell's Up is the shell's
    t:send("Up")
    t:wait_for("vcli> k8s ns%s*$", 5000)
    t:send("C-u")
    t:type("ui")
    t:send("Enter")
    t:wait_for("pods%(" .. NSP .. "%)", 30000)
    t:type(":")
    t:wait_for("\n:%s*$", 5000)
    t:send("Up")
    t:wait_for("\n:q%s*$", 5000)
    t:send("Up")
    t:wait_for("\n:nosuchtype%s*$", 5000)
  end)
end)
