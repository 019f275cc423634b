-- The identity and safety a kubectl user asks for, honoured on every path (issue 12, first
-- section): --as/--as-group/--as-uid reach every request, native or handed to kubectl;
-- read-only (flag before or after the verb, session, config) refuses every mutating verb
-- before anything is sent; edit's temporary file is private and always removed; what vcli
-- hands to kubectl gets the session's kubeconfig, context, namespace and standard input.
-- Against the real test cluster; the "other identity" is the cluster's vcli-limited user
-- (view in team-a only), impersonated by the admin.
local H = dofile("spec/support/k8s/helper.lua")

local E, KC, dir
local function kubectl(args) return H.kubectl(KC, args) end
local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
-- vcli in its own process, as a user runs it (stdin from a pipe when given)
local function vcli(line, stdin)
  local input = "/dev/null"
  if stdin then input = dir .. "/stdin"; spec.write(input, stdin) end
  return spec.sh(("cd %s && env KUBECONFIG=%s ./vcli -c %s < %s"):format(spec.root, KC, q(line), q(input)))
end
local function exists(what) return (select(2, kubectl("get " .. what))) == 0 end

describe("k8s identity and read-only", function()
  before_all(function()
    E = H.start_cluster()
    KC = E.KUBECONFIG
    dir = spec.tmpdir()
    H.register({ kubeconfig = KC })
    kubectl("create namespace vsec-a")
    kubectl("create namespace vsec-b")
    kubectl("-n team-a create configmap vsec-keep --from-literal=a=1")
    kubectl("-n team-a create deployment vsec-dep --image=nginx:1.25")
    kubectl("-n team-a create secret generic vsec-s --from-literal=password=vsec-hunter2")
  end)
  after_all(function()
    if KC then H.stop_cluster() end
    if dir then os.execute("rm -rf '" .. dir .. "'") end
  end)

  it("--as reaches native requests: the impersonated user's answer, not the admin's", function()
    -- vcli-limited may view team-a, nothing in default
    local _, out, err, st
    out, err, st = H.run("k8s get cm vsec-keep -n team-a --as vcli-limited")
    assert.equal(0, st, err)
    assert.matches("vsec%-keep", out)
    _, err, st = H.run("k8s get pods -n default --as vcli-limited")
    assert.equal(1, st)
    assert.matches('User "vcli%-limited" cannot list resource "pods"', err)
    -- and for a write: refused by the server as that user, nothing deleted
    _, err, st = H.run("k8s delete cm vsec-keep -n team-a -y --as vcli-limited")
    assert.equal(1, st)
    assert.matches('User "vcli%-limited" cannot delete', err)
    assert.truthy(exists("cm vsec-keep -n team-a"), "the configmap is still there")
    -- groups go along: as vcli-limited in system:masters, default is readable
    _, err, st = H.run("k8s get pods -n default --as vcli-limited --as-group system:masters")
    assert.equal(0, st, err)
    -- groups or a uid without a user are refused, not dropped
    _, err, st = H.run("k8s get pods -n default --as-group system:masters")
    assert.equal(1, st)
    assert.matches("%-%-as%-group/%-%-as%-uid given without %-%-as", err)
  end)

  it("--as reaches what vcli hands to kubectl (create, auth can-i)", function()
    local out, rc = vcli("k8s create configmap vsec-made -n team-a --from-literal=a=1 --as vcli-limited")
    assert.equal(1, rc, out)
    assert.matches('User "vcli%-limited" cannot create', out)
    assert.falsy(exists("cm vsec-made -n team-a"), "not created as the admin")
    out, rc = vcli("k8s auth can-i delete pods -n team-a --as vcli-limited")
    assert.matches("^no\n", out)
    assert.equal(1, rc)
    out, rc = vcli("k8s auth can-i list pods -n team-a --as vcli-limited")
    assert.matches("^yes\n", out)
    assert.equal(0, rc)
  end)

  it("--token, --server, --user and --insecure-skip-tls-verify reach native and bridged verbs, never dropped", function()
    local d = KC:match("^(.*)/[^/]+$")
    local token
    for line in io.lines(d .. "/tokens.csv") do
      local t, user = line:match("^([^,]+),([^,]+)")
      if user == "vcli-limited" then token = t end
    end
    assert.truthy(token, "the limited user's token")
    -- native: the token's user answers (view in team-a only)
    local _, out, err, st
    out, err, st = H.run("k8s get cm vsec-keep -n team-a --token " .. token)
    assert.equal(0, st, err)
    assert.matches("vsec%-keep", out)
    _, err, st = H.run("k8s get pods -n default --token " .. token)
    assert.equal(1, st)
    assert.matches('User "vcli%-limited" cannot list resource "pods"', err)
    -- bridged: kubectl is given it too (a role is created by nobody)
    out, st = vcli("k8s create role vsec-r --verb=get --resource=pods -n team-a --token " .. token)
    assert.equal(1, st, out)
    assert.matches('User "vcli%-limited" cannot create resource "roles"', out)
    assert.falsy(exists("role vsec-r -n team-a"), "not created as the admin")
    -- a bad token is kubectl's "must be logged in", not the admin's answer
    _, err, st = H.run("k8s get ns default --token not-a-token")
    assert.equal(1, st)
    assert.equal("vcli: error: You must be logged in to the server (Unauthorized)\n", err)
    -- --server elsewhere: refused there, not quietly sent to the kubeconfig's server
    _, err, st = H.run("k8s get ns default --server https://127.0.0.1:1 --request-timeout 5s")
    assert.equal(1, st)
    assert.matches("127%.0%.0%.1:1", err)
    -- an unknown --user or --cluster is an error, not the context's
    _, err, st = H.run("k8s get ns default --user nosuch")
    assert.equal(1, st)
    assert.matches('auth info "nosuch" does not exist', err)
    _, err, st = H.run("k8s get ns default --cluster nosuch")
    assert.equal(1, st)
    assert.matches('no server found for cluster "nosuch"', err)
    -- --insecure-skip-tls-verify: the server's certificate is not checked (the CA is dropped, as kubectl)
    out, err, st = H.run("k8s get ns default -o name --insecure-skip-tls-verify")
    assert.equal(0, st, err)
    assert.equal("namespace/default\n", out)
  end)

  it("--readonly after the verb refuses every mutating verb, native or bridged, before sending", function()
    for _, line in ipairs({
      "k8s delete cm vsec-keep -n team-a -y --readonly",
      "k8s scale deploy vsec-dep -n team-a --replicas 3 --readonly",
      "k8s label cm vsec-keep -n team-a x=y --readonly",
      "k8s annotate cm vsec-keep -n team-a x=y --readonly",
      "k8s rollout restart deploy vsec-dep -n team-a --readonly",
      "k8s create configmap vsec-ro -n team-a --from-literal=a=1 --readonly",
      "k8s patch cm vsec-keep -n team-a -p {\"data\":{\"b\":\"2\"}} --readonly",
      "k8s exec deploy/vsec-dep -n team-a --readonly -- true",
    }) do
      local _, err, st = H.run(line)
      assert.equal(1, st, line)
      assert.matches("refused: read%-only mode", err, line)
    end
    assert.matches("^vsec%-keep%s+1%s", (kubectl("get cm vsec-keep -n team-a --no-headers -L x")))
    assert.equal("", (kubectl("get cm vsec-keep -n team-a -o jsonpath={.metadata.labels.x}")))
    assert.falsy(exists("cm vsec-ro -n team-a"))
    assert.matches("^1$", (kubectl("get deploy vsec-dep -n team-a -o jsonpath={.spec.replicas}")))
    -- reading still works, natively and through kubectl
    local out, err, st = H.run("k8s get cm vsec-keep -n team-a --readonly")
    assert.equal(0, st, err)
    assert.matches("vsec%-keep", out)
    out = vcli("k8s auth can-i get pods -n team-a --readonly")
    assert.matches("^yes\n", out)
    -- a kubectl plugin's verb: vcli cannot tell what it does, so read-only refuses it
    local plug = dir .. "/bin/kubectl-vsecplug"
    os.execute("mkdir -p " .. dir .. "/bin")
    spec.write(plug, "#!/bin/sh\ntouch " .. dir .. "/plugin-ran\n")
    os.execute("chmod +x " .. plug)
    local with_plugin = ("cd %s && PATH=%s/bin:$PATH KUBECONFIG=%s ./vcli -c %s"):format(spec.root, dir, KC, "%s")
    local rc
    out, rc = spec.sh(with_plugin:format(q("k8s vsecplug --readonly")))
    assert.equal(1, rc, out)
    assert.matches("refused: read%-only mode", out)
    assert.falsy(spec.read(dir .. "/plugin-ran"), "the plugin did not run")
    out, rc = spec.sh(with_plugin:format(q("k8s vsecplug")))
    assert.equal(0, rc, out)
    assert.truthy(spec.read(dir .. "/plugin-ran"), "without --readonly it runs: " .. out)
  end)

  it("--readonly before the verb is vcli's (not handed to kubectl)", function()
    local out, rc = vcli("k8s --readonly delete cm vsec-keep -n team-a -y")
    assert.equal(1, rc, out)
    assert.matches("refused: read%-only mode", out)
    out, rc = vcli("k8s --readonly create configmap vsec-ro2 -n team-a --from-literal=a=1")
    assert.equal(1, rc, out)
    assert.matches("refused: read%-only mode", out)
    assert.truthy(exists("cm vsec-keep -n team-a"))
    assert.falsy(exists("cm vsec-ro2 -n team-a"))
    -- `k8s --readonly` alone: the rest of the session
    out = vcli("k8s --readonly; k8s delete cm vsec-keep -n team-a -y; k8s get cm vsec-keep -n team-a")
    assert.matches("refused: read%-only mode", out)
    assert.matches("vsec%-keep", out)
    assert.truthy(exists("cm vsec-keep -n team-a"))
  end)

  it("edit: the temporary file is 0600 in a 0700 directory, removed on every way out", function()
    local ed = dir .. "/editor.sh"
    spec.write(ed, table.concat({
      "#!/bin/sh",
      "stat -c '%a' \"$1\" \"$(dirname \"$1\")\" > " .. dir .. "/modes",
      "echo \"$1\" > " .. dir .. "/path",
      "case \"$VSEC_MODE\" in",
      "  crash) kill -9 $$ ;;",
      "  hang) echo $$ > " .. dir .. "/editor.pid; exec sleep 60 ;;",
      "  same) ;;",
      "  *) sed -i 's/^  a: \"1\"/  a: \"2\"/' \"$1\" ;;",
      "esac", "" }, "\n"))
    os.execute("chmod +x " .. ed)
    local function gone()
      local p = (spec.read(dir .. "/path") or ""):match("%S+")
      assert.truthy(p, "the editor ran")
      local d = p:match("^(.*)/[^/]+$")
      return (select(2, spec.sh("test -e " .. q(p) .. " || test -e " .. q(d)))) ~= 0, p
    end
    local function edit(what, mode)
      os.remove(dir .. "/path")
      return spec.sh(("cd %s && KUBECONFIG=%s EDITOR=%s VSEC_MODE=%s ./vcli k8s edit %s -n team-a"):format(
        spec.root, KC, ed, mode or "", what))
    end
    -- a Secret, left as it was: cancelled, and nothing of it stays on disk
    local out, rc = edit("secret vsec-s", "same")
    assert.equal(0, rc, out)
    assert.matches("Edit cancelled, no changes made", out)
    assert.equal("600\n700\n", spec.read(dir .. "/modes"))
    assert.truthy(gone())
    -- a change
    out, rc = edit("cm vsec-keep")
    assert.equal(0, rc, out)
    assert.matches("configmap/vsec%-keep edited", out)
    assert.truthy(gone())
    -- the editor crashes
    out = edit("cm vsec-keep", "crash")
    assert.matches("the editor exited with status", out)
    assert.truthy(gone())
    -- Ctrl-C while the editor runs
    os.remove(dir .. "/path")
    local pid = H.spawn(("cd %s && exec env KUBECONFIG=%s EDITOR=%s VSEC_MODE=hang ./vcli k8s edit cm vsec-keep -n team-a"
      .. " >/dev/null 2>&1"):format(spec.root, KC, ed))
    os.remove(dir .. "/editor.pid")
    -- (the editor writes path, then its pid: wait for the pid's digits)
    local epid = spec.eventually(function() return (spec.read(dir .. "/editor.pid") or ""):match("%d+") end, 30000,
      "the editor to start")
    spec.sh("kill -INT " .. pid)
    spec.eventually(function() return (select(2, spec.sh("kill -0 " .. pid))) ~= 0 end, 15000, "vcli to end on Ctrl-C")
    assert.truthy(gone())
    spec.eventually(function() return (select(2, spec.sh("kill -0 " .. epid))) ~= 0 end, 15000, "the editor to be stopped")
  end)

  it("hands kubectl the session's namespace as a default, the manifest's own wins, stdin reaches it", function()
    local m = dir .. "/in-b.yaml"
    spec.write(m, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: vsec-inb, namespace: vsec-b}\ndata: {a: '1'}\n")
    spec.write(dir .. "/plain.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: vsec-plain}\ndata: {a: '1'}\n")
    -- after `k8s ns vsec-a`: a manifest naming vsec-b goes to vsec-b, one naming none to vsec-a
    local out, rc = vcli(("k8s ns vsec-a; k8s create -f %s; k8s create -f %s/plain.yaml"):format(m, dir))
    assert.equal(0, rc, out)
    assert.truthy(exists("cm vsec-inb -n vsec-b"), out)
    assert.truthy(exists("cm vsec-plain -n vsec-a"), out)
    -- an explicit -n that contradicts the manifest is kubectl's error, as kubectl says it
    out, rc = vcli(("k8s delete cm vsec-inb -n vsec-b -y; k8s create -n vsec-a -f %s"):format(m))
    assert.equal(1, rc, out)
    assert.matches("does not match the namespace", out)
    -- standard input reaches kubectl
    out, rc = vcli("k8s create -f -", spec.read(m))
    assert.equal(0, rc, out)
    assert.matches("configmap/vsec%-inb created", out)
    -- the namespace overlay is gone with the command
    assert.equal("", (spec.sh("ls -d ${TMPDIR:-/tmp}/vcli-kubernetes.* 2>/dev/null")))
  end)
end)
