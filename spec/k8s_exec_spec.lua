-- k8s exec and port-forward, native over the API server's WebSocket
-- protocols (no kubectl on PATH), against the test cluster; kubectl exec is
-- the reference for output, stderr and exit codes (kubectl port-forward
-- needs SPDY, which the test node agent does not speak).
-- VCLI_K8S_SPEC_REUSE=1 uses an already running cluster and leaves it running.
local H = dofile("spec/support/k8s/helper.lua")
local async = require("vcli.async")
local pm = require("vcli.plugin")

local E, KC, dir, nobin, echo_pid, EP
local reuse = os.getenv("VCLI_K8S_SPEC_REUSE") == "1"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function read(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end
-- a shell command's stdout, stderr and status, apart
local function run3(cmd)
  local o, e = dir .. "/run.out", dir .. "/run.err"
  local _, rc = spec.sh(("%s >%s 2>%s"):format(cmd, o, e))
  return read(o), read(e), rc
end
-- vcli in its own process, with a PATH that has no kubectl
local function vcli(line, stdin)
  return run3(("cd %s && %s env PATH=%s KUBECONFIG=%s ./vcli -c %s"):format(spec.root, stdin and (stdin .. " |") or "",
    nobin, KC, q(line)))
end
local function kubectl(args, stdin)
  local o, e, rc = run3(("%s env KUBECONFIG=%s %s %s"):format(stdin and (stdin .. " |") or "", KC, H.tools.kubectl_cmd(), args))
  -- (and kubectl's own klog lines, "E1202 22:31:14.745509 7718 websocket.go:296] Unknown stream id 1…":
  -- its client's internal logging, printed now and then, not what a user is shown by the exec)
  e = ("\n" .. e:gsub("[^\n]*WARNING[^\n]*\n", "")):gsub("\n[EWI]%d%d%d%d %d%d:%d%d:%d%d%.%d+ +%d+ [%w_.]+:%d+%] [^\n]*", ""):sub(2)
  return o, e, rc
end
local function shown(err) return (err:gsub("^vcli: ", ""):gsub("\nvcli: ", "\n")) end
local function free_port()
  return tonumber((spec.sh(spec.root .. "/spec/support/freeport")))
end

local ECHO = [[
import socket, threading, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
def serve(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d: return
            c.sendall(d.upper())
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
]]

-- N concurrent connections to PORT, each sending K messages and a 1 MB
-- block, every answer checked; prints "ok N" or what went wrong
local CLIENT = [[
import socket, sys, threading
port, n = int(sys.argv[1]), int(sys.argv[2])
bad = []
def recv_n(s, n):
    got = b""
    while len(got) < n:
        d = s.recv(1 << 20)
        if not d: break
        got += d
    return got
def one(i):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        for k in range(5):
            m = b"hello %d.%d" % (i, k)
            s.sendall(m)
            r = recv_n(s, len(m))
            if r != m.upper(): bad.append((i, k, r))
        big = bytes(range(97, 123)) * 40000
        threading.Thread(target=s.sendall, args=(big,)).start()
        r = recv_n(s, len(big))
        if r != big.upper(): bad.append((i, "big", len(r)))
        s.close()
    except Exception as e:
        bad.append((i, repr(e)))
ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
[t.start() for t in ts]; [t.join() for t in ts]
print("ok %d" % n if not bad else "bad %r" % bad[:3])
]]

-- connect, send, print what comes back: until the end, or (one) the first
-- answer, or (eof) the first answer and then wait for the end; "refused"
-- when nothing listens
local PROBE = [[
import socket, sys
mode = sys.argv[2] if len(sys.argv) > 2 else "all"
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
except ConnectionRefusedError:
    print("refused"); sys.exit(0)
s.sendall(b"probe")
out = b""
while True:
    d = s.recv(100)
    if not d: break
    out += d
    if mode != "all": break
print("got %r" % out, flush=True)
if mode == "eof":
    print("eof %r" % s.recv(100), flush=True)
]]

describe("k8s exec and port-forward, natively", function()
  before_all(function()
    if reuse and (select(2, spec.sh(H.KUBE .. " status"))) == 0 then E = H.cluster_env()
    else E = H.start_cluster() end
    KC = E.KUBECONFIG
    dir = spec.tmpdir()
    -- a PATH with everything /usr/bin and /bin have, but kubectl
    nobin = dir .. "/bin"
    spec.sh(("mkdir -p %s && for f in /usr/local/bin/* /usr/bin/* /bin/*; do b=$(basename \"$f\");"
      .. " [ \"$b\" = kubectl ] || [ -e %s/\"$b\" ] || ln -s \"$f\" %s/\"$b\"; done"):format(nobin, nobin, nobin))
    assert.truthy(select(2, spec.sh("env PATH=" .. nobin .. " sh -c 'command -v kubectl'")) ~= 0, "kubectl is not on PATH")
    spec.write(dir .. "/echo.py", ECHO)
    spec.write(dir .. "/client.py", CLIENT)
    spec.write(dir .. "/probe.py", PROBE)
    echo_pid = tonumber((spec.sh(("python3 %s/echo.py >%s/echo.port 2>&1 & echo $!"):format(dir, dir))))
    EP = spec.eventually(function() return tonumber(read(dir .. "/echo.port"):match("%d+")) end, 10000, "the echo server")
    H.register({ kubeconfig = KC })
    spec.write(dir .. "/pods.yaml", ([[
apiVersion: v1
kind: Pod
metadata: {name: vexec, namespace: default, labels: {app: vexec}}
spec: {containers: [{name: main, image: busybox, ports: [{name: echo, containerPort: %d}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: vtwo, namespace: default}
spec: {containers: [{name: first, image: busybox}, {name: second, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: vlim, namespace: team-a}
spec: {containers: [{name: main, image: busybox}]}
---
apiVersion: v1
kind: Service
metadata: {name: vsvc, namespace: default}
spec: {selector: {app: vexec}, ports: [{name: web, port: 80, targetPort: echo}]}
]]):format(EP))
    H.kubectl(KC, "create namespace team-a")
    H.kubectl(KC, "delete -f " .. dir .. "/pods.yaml --ignore-not-found --wait=true")
    H.kubectl(KC, "apply -f " .. dir .. "/pods.yaml")
    H.kubectl(KC, "wait --for=condition=Ready pod/vexec pod/vtwo --timeout=60s")
    H.kubectl(KC, "-n team-a wait --for=condition=Ready pod/vlim --timeout=60s")
  end)
  after_all(function()
    if echo_pid then os.execute("kill " .. echo_pid) end
    if KC then H.kubectl(KC, "delete -f " .. dir .. "/pods.yaml --ignore-not-found --wait=false") end
    os.execute("rm -rf '" .. dir .. "'")
    if not reuse then H.stop_cluster() end
  end)

  it("exec: stdout, stderr and the exit code are kubectl's, with no kubectl on PATH", function()
    H.tools.need_kubectl(30, "kubectl exec over WebSocket (v1.30; the test cluster's node agent speaks no SPDY)")
    for _, cmd in ipairs({ "echo hello world", "sh -c 'echo out; echo err >&2; exit 3'", "sh -c 'printf %s \"$POD_NAME\"'",
                           "true", "sh -c 'exit 130'", "nosuchcommand" }) do
      local ko, ke, kr = kubectl("exec vexec -- " .. cmd)
      local vo, ve, vr = vcli("k8s exec vexec -- " .. cmd)
      assert.equal(ko, vo, cmd .. ": stdout")
      assert.equal(ke, shown(ve), cmd .. ": stderr")
      assert.equal(kr, vr, cmd .. ": exit code")
    end
    local _, ve, vr = vcli("k8s exec vexec -- sh -c 'exit 3'")
    assert.equal(3, vr)
    assert.equal("command terminated with exit code 3\n", ve)
  end)

  it("exec -i passes stdin, from a pipe, and ends it (v5 close); without -i stdin is not read", function()
    H.tools.need_kubectl(30, "kubectl exec over WebSocket (v1.30; the test cluster's node agent speaks no SPDY)")
    assert.equal("one\ntwo\n", (vcli("k8s exec vexec -i -- cat", "printf 'one\\ntwo\\n'")))
    local ko = kubectl("exec -i vexec -- wc -c", "head -c 300000 /dev/zero")
    local vo, _, vr = vcli("k8s exec vexec -i -- wc -c", "head -c 300000 /dev/zero")
    assert.equal(ko, vo)
    assert.matches("^%s*300000\n$", vo)
    assert.equal(0, vr)
    -- no -i: cat gets no input and ends at once
    assert.equal("", (vcli("k8s exec vexec -- cat", "printf x")))
    -- -it without a terminal: kubectl's warning, then as -i
    local o, e = vcli("k8s exec vexec -it -- cat", "printf 'piped\\n'")
    assert.equal("piped\n", o)
    assert.equal("Unable to use a TTY - input is not a terminal or the right kind of file\n", e)
  end)

  it("exec: the container default (kubectl's line) and -c", function()
    H.tools.need_kubectl(30, "kubectl exec over WebSocket (v1.30; the test cluster's node agent speaks no SPDY)")
    local ko, ke = kubectl("exec vtwo -- sh -c 'echo $CONTAINER_NAME'")
    local vo, ve = vcli("k8s exec vtwo -- sh -c 'echo $CONTAINER_NAME'")
    assert.equal("first\n", vo)
    assert.equal(ko, vo)
    assert.equal(ke, ve)
    assert.equal('Defaulted container "first" out of: first, second\n', ve)
    local o, e = vcli("k8s exec vtwo -c second -- sh -c 'echo $CONTAINER_NAME'")
    assert.equal("second\n", o)
    assert.equal("", e)
  end)

  it("exec errors are one line, kubectl's words: missing pod, missing container, forbidden; no token", function()
    for _, args in ipairs({ "exec nope -- true", "exec vexec -c nope -- true" }) do
      local _, ke, kr = kubectl(args)
      local vo, ve, vr = vcli("k8s " .. args)
      assert.equal("", vo)
      assert.equal(ke, shown(ve), args)
      assert.equal(kr, vr, args)
    end
    local _, ve, vr = vcli("k8s exec --context vcli-test-limited vlim -- true")
    assert.equal(1, vr)
    assert.matches('^vcli: Error from server %(Forbidden%): pods "vlim" is forbidden: User "vcli%-limited" cannot %a+ resource'
      .. ' "pods/exec" in API group "" in the namespace "team%-a"\n$', ve)
    assert.falsy(ve:find(E.VCLI_KUBE_LIMITED_TOKEN, 1, true))
    -- today's flag handling stays
    _, ve = vcli("k8s exec vexec echo hi")
    assert.equal("vcli: k8s exec: exec POD COMMAND is not supported; use exec POD -- COMMAND\n", ve)
    _, ve = vcli("k8s exec vexec")
    assert.equal("vcli: k8s exec: a command is needed after --, e.g. k8s exec POD -- sh\n", ve)
  end)

  it("a connection dropped mid-stream is a one-line error, the WebSocket is gone, and vcli goes on", function()
    local t = async.spawn(function() return H.run("k8s exec --context vcli-test-proxy vexec -- sh -c 'echo started; sleep 30'") end)
    spec.eventually(function() return pm.open_streams("kubernetes", "websocket") == 1 end, 15000, "the exec WebSocket")
    spec.sh(H.KUBE .. " proxy drop")
    local ok, out, err, st = t:wait(15000)
    assert.truthy(ok, tostring(out))
    assert.equal(1, st)
    assert.matches("^vcli: GET https://127%.0%.0%.1:%d+/api/v1/namespaces/default/pods/vexec/exec: [^\n]+\n$", err)
    assert.falsy(err:find(E.VCLI_KUBE_ADMIN_TOKEN, 1, true))
    assert.equal(0, pm.open_streams("kubernetes"))
    spec.sh(H.KUBE .. " proxy pass")
    assert.equal("still here\n", (H.run("k8s exec vexec -- echo still here")))
  end)

  it("exec -it: a remote shell in a real terminal; resize reaches it; Ctrl-C and Ctrl-D go to it; the shell goes on", function()
    local T = dofile("spec/support/tmux.lua")
    local home = dir .. "/home"
    os.execute("mkdir -p " .. home)
    local s = T.start("./vcli", { width = 100, height = 30, env = { KUBECONFIG = KC, PATH = nobin, HOME = home,
      XDG_CONFIG_HOME = home .. "/c", XDG_DATA_HOME = home .. "/d", XDG_STATE_HOME = home .. "/s", XDG_CACHE_HOME = home .. "/k" } })
    local ok, err = pcall(function()
      s:wait_for("vcli>", 10000)
      s:type("k8s exec -it vexec -- sh")
      s:send("Enter")
      -- the remote shell's prompt: # for root, $ for anyone else (the node agent runs it as the tester)
      s:wait_for("%-%- sh\n[#$]", 15000)
      s:type("PS1='remote> '")
      s:send("Enter")
      s:wait_for("\nremote>", 5000)
      s:type("stty size; tty")
      s:send("Enter")
      s:wait_for("\n30 100\n/dev/pts/", 5000)
      s:resize(120, 40)
      s:type("stty size")
      s:send("Enter")
      s:wait_for("\n40 120\n", 5000)
      s:type("sleep 60 && echo slept")
      s:send("Enter")
      s:wait_for("echo slept\n", 5000)
      s:send("C-c")                       -- to the remote sleep, not to vcli
      s:type("echo after-ctrl-c")
      s:send("Enter")
      s:wait_for("\nafter%-ctrl%-c\n", 5000)
      s:type("exit 4")
      s:send("Enter")
      s:wait_for("command terminated with exit code 4\n[^\n]*vcli>", 10000)
      s:type("echo back in vcli")
      s:send("Enter")
      s:wait_for("\nback in vcli\n", 5000)
      s:type("k8s exec -it vexec -- sh")
      s:send("Enter")
      s:wait_for("back in vcli\n.*vcli> k8s exec %-it vexec %-%- sh\n[#$]", 15000)
      s:send("C-d")                       -- the remote shell's end of input
      s:wait_for("%-%- sh\n[#$][^\n]*\n[^\n]*vcli>", 10000)
      s:type("echo again")
      s:send("Enter")
      return s:wait_for("\nagain\n", 5000)
    end)
    s:stop()
    assert.truthy(ok, err)
    assert.falsy(err:find("\nslept\n", 1, true), "the remote sleep was interrupted")
    assert.falsy(err:find("interrupted", 1, true))
  end)

  it("port-forward: :REMOTE and LOCAL:REMOTE, concurrent connections both ways, a closed port's error, shutdown", function()
    local lport, closed = free_port(), free_port()
    local out, err = dir .. "/pf.out", dir .. "/pf.err"
    local pid = tonumber((spec.sh(("cd %s && env PATH=%s KUBECONFIG=%s ./vcli -c %s >%s 2>%s & echo $!"):format(spec.root, nobin,
      KC, q(("k8s port-forward pod/vexec :%d %d:%d :%d"):format(EP, lport, EP, closed)), out, err))))
    local lines = spec.eventually(function()
      local t = read(out)
      local n = select(2, t:gsub("Forwarding from", ""))
      return n == 3 and t
    end, 15000, "three listeners")
    local ports = {}
    for l, r in lines:gmatch("Forwarding from 127%.0%.0%.1:(%d+) %-> (%d+)\n") do ports[#ports + 1] = { tonumber(l), tonumber(r) } end
    assert.equal(3, #ports, lines)
    assert.equal(EP, ports[1][2])
    assert.truthy(ports[1][1] > 0 and ports[1][1] ~= EP)
    assert.same({ lport, EP }, ports[2])
    assert.equal(closed, ports[3][2])
    assert.equal("ok 6\n", (spec.sh(("python3 %s/client.py %d 6"):format(dir, ports[1][1]))))
    assert.equal("ok 3\n", (spec.sh(("python3 %s/client.py %d 3"):format(dir, lport))))
    assert.matches("Handling connection for " .. ports[1][1] .. "\n", read(out))
    -- a remote port nothing listens on: the connection closes, one line on stderr
    assert.equal("got b''\n", (spec.sh(("python3 %s/probe.py %d"):format(dir, ports[3][1]))))
    local e = spec.eventually(function() local t = read(err) return t ~= "" and t end, 10000, "the error line")
    assert.matches(("^error: an error occurred forwarding %d %%-> %d: [^\n]*connection refused\n$"):format(ports[3][1], closed), e)
    -- and the forward still serves
    assert.equal("got b'PROBE'\n", (spec.sh(("python3 %s/probe.py %d one"):format(dir, ports[1][1]))))
    assert.equal("ok 2\n", (spec.sh(("python3 %s/client.py %d 2"):format(dir, ports[1][1]))))
    -- stopped (a background job ignores SIGINT; Ctrl-C on a terminal is the default action too): nothing listens any more
    os.execute("kill -TERM " .. pid)
    spec.eventually(function() return select(2, spec.sh("kill -0 " .. pid)) ~= 0 end, 10000, "vcli to exit")
    for _, p in ipairs(ports) do assert.equal("refused\n", (spec.sh(("python3 %s/probe.py %d"):format(dir, p[1])))) end
  end)

  it("port-forward svc/NAME: a running pod of its selector, the service port mapped to the targetPort", function()
    local out = dir .. "/svc.out"
    local pid = tonumber((spec.sh(("cd %s && env PATH=%s KUBECONFIG=%s ./vcli -c %s >%s 2>&1 & echo $!"):format(spec.root, nobin,
      KC, q("k8s port-forward svc/vsvc :80"), out))))
    local l = spec.eventually(function() return read(out):match("Forwarding from 127%.0%.0%.1:(%d+) %-> " .. EP .. "\n") end,
      15000, "the listener")
    assert.equal("ok 2\n", (spec.sh(("python3 %s/client.py %s 2"):format(dir, l))))
    os.execute("kill -TERM " .. pid)
    spec.eventually(function() return select(2, spec.sh("kill -0 " .. pid)) ~= 0 end, 10000, "vcli to exit")
    local _, e = vcli("k8s port-forward svc/vsvc :81")
    assert.equal("vcli: error: Service vsvc does not have a service port 81\n", e)
  end)

  it("cancelling port-forward closes its listener, connections and WebSockets", function()
    local proc = require("vcli.proc")
    local t = async.spawn(function() return H.run("k8s port-forward vexec :" .. EP) end)
    spec.eventually(function() return pm.open_streams("kubernetes", "listener") == 1 end, 15000, "the listener")
    local port
    for _, r in pairs(pm.get("kubernetes").streams) do if r.kind == "listener" then port = r.port end end
    local exited
    local pr = assert(proc.spawn({ argv = { "/bin/sh", "-c", ("python3 %s/probe.py %d eof >%s/probe.out 2>&1"):format(dir, port, dir) },
      on_exit = function(code) exited = code end }))
    assert.truthy(pr)
    spec.eventually(function() return read(dir .. "/probe.out"):find("got b'PROBE'", 1, true) end, 15000, "the echo")
    assert.equal(1, pm.open_streams("kubernetes", "websocket"))
    assert.equal(1, pm.open_streams("kubernetes", "socket"))
    t:cancel()
    local ok = t:wait(5000)
    assert.truthy(ok ~= nil)
    assert.equal(0, pm.open_streams("kubernetes"))
    spec.eventually(function() return exited ~= nil end, 10000, "the client to see the end")
    assert.matches("eof b''", read(dir .. "/probe.out"))
    assert.equal("refused\n", (spec.sh(("python3 %s/probe.py %d"):format(dir, port))))
  end)
end)
