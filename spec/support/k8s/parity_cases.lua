-- spec/support/k8s/parity_cases.lua — the kubectl parity table (spec/k8s_parity_spec.lua).
--
-- Each case is a command line after `kubectl` / `vcli k8s`, run against the test cluster
-- with a kubeconfig whose context namespace is `vparity` (the suite's fixtures, made in
-- its before_all). Outputs (stdout, stderr without vcli's "vcli: " prefix) and exit codes
-- are compared after masking ages, timestamps, uids and resource versions.
--
--   [1]       the arguments (a shell string; {n} is the case's own object name, one per
--             side, so writing cases never share an object; {dir} the side's scratch dir)
--   setup     kubectl arguments run first for each side ({n} substituted), or a list of them
--   files     { ["{n}.yaml"] = text } written to {dir} for each side
--   input     text on standard input
--   env       VAR=value words put before the command on both sides ({n}, {dir} substituted)
--   differs   why vcli differs on purpose: only the exit codes are compared
--   bridged   the verb is handed to kubectl (not run with kubectl absent from PATH)
--   stdout    compare standard output only (stderr carries a note that differs on purpose)
--   better    why vcli answers where kubectl fails: vcli must exit 0, kubectl not
--   json      why the two print the same JSON differently (key order): stdout compared as decoded JSON
--   unordered why stderr's lines come in no fixed order (kubectl walks a Go map): compared sorted
--   minor     the kubectl minor version the case needs (skipped, saying so, on an older one):
--             32 marks the 66 cases whose reference is kubectl 1.32's output and which print
--             otherwise with the kube build's kubectl 1.20 (describe's layout, YAML of objects
--             kubectl builds, older error words); the other 347 pass with 1.20 too
--             (VCLI_TEST_KUBECTL=~/.cache/vcli-test/bin/kubectl)
local CM = [[
apiVersion: v1
kind: ConfigMap
metadata:
  name: {n}
data:
  a: "1"
]]
local CM2 = [[
apiVersion: v1
kind: ConfigMap
metadata:
  name: {n}
data:
  a: "2"
  b: "3"
]]
local TWO = [[
apiVersion: v1
kind: ConfigMap
metadata:
  name: {n}-one
data:
  a: "1"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {n}-two
data:
  a: "2"
]]
local BADKIND = [[
apiVersion: v1
kind: ConfigMap
metadata:
  name: {n}-ok
---
apiVersion: v1
kind: NoSuchKind
metadata:
  name: {n}-bad
]]
local SVC = [[
apiVersion: v1
kind: Service
metadata:
  name: {n}
spec:
  selector:
    app: {n}
  ports:
  - port: 80
    targetPort: 8080
]]
local OTHERNS = [[
apiVersion: v1
kind: ConfigMap
metadata:
  name: {n}
  namespace: default
data:
  a: "1"
]]

local KZ = "resources:\n- {n}.yaml\ncommonLabels:\n  parity: kz\n"

local D = "create deploy {n} --image=nginx:1.25"

local PRUNE = {
  ["cur/{n}-a.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}-a\n  labels: { app: {n} }\ndata: { x: \"1\" }\n",
  ["old/{n}-c.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}-c\n  labels: { app: {n} }\ndata: { x: \"1\" }\n",
}

local STS = [[
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {n}
spec:
  replicas: 1
  serviceName: {n}
  selector:
    matchLabels: { app: {n} }
  template:
    metadata:
      labels: { app: {n} }
    spec:
      containers: [ { name: db, image: "postgres:16" } ]
]]

local TOP = "kubectl's words, then what vcli tried besides: Prometheus at prometheus.url (spec/k8s_top_spec.lua)"

local TAR = "kubectl passes on what tar says there only when its stream gets it before kubectl exits (racy, seen"
  .. " both ways); vcli always does. spec/k8s_verbs_spec.lua checks the copies byte for byte"

local USAGE = "usage errors are the vcli parser's words (one line naming the command and flag), exit 1 as kubectl's"

local C = {
  -- ---------------------------------------------------------------- get
  { "get pods" }, { "get po" }, { "get pod pweb-0" }, { "get pods pweb-0 pweb-1" },
  { "get pods -o wide" }, { "get pods -o name" }, { "get pod pweb-0 -o json", minor = 32 }, { "get pod pweb-0 -o yaml", minor = 32 },
  { "get pods -o jsonpath='{.items[*].metadata.name}'" },
  { "get pods -o jsonpath='{range .items[*]}{.metadata.name}{\"\\t\"}{.status.phase}{\"\\n\"}{end}'" },
  { "get pods -o custom-columns=NAME:.metadata.name,PHASE:.status.phase" },
  { "get pods -o custom-columns=NAME:.metadata.name --no-headers" },
  { "get pods --show-labels" }, { "get pods -l app=pweb" }, { "get pods --selector=app=pweb,tier!=db" },
  { "get pods -l 'app in (pweb)'" }, { "get pods -l app=nosuch" },
  { "get pods --field-selector=metadata.name=pweb-1" },
  { "get pods --no-headers" }, { "get pods --sort-by=.metadata.name" },
  { "get pods -L app" }, { "get pods --label-columns=app,tier" },
  { "get deploy" }, { "get deployments.apps" }, { "get deployments.v1.apps" }, { "get deploy pweb -o wide" },
  { "get deploy,svc" }, { "get deploy,svc -o name" }, { "get deploy,svc -o yaml", minor = 32 }, { "get deploy,svc -o json", minor = 32 },
  { "get cm pcm -o yaml", minor = 32 }, { "get cm pcm pcm2 -o yaml", minor = 32 }, { "get cm pcm pcm2 -o json", minor = 32 },
  { "get cm pcm -o jsonpath='{.data.a}'" }, { "get cm pcm -o go-template='{{.data.a}}'", bridged = true },
  { "get cm pcm -o template --template='{{.metadata.name}}'", bridged = true },
  { "get cm -o name" }, { "get configmaps,secrets -o name" },
  { "get svc" }, { "get svc -o wide" }, { "get svc psvc -o yaml", minor = 32 }, { "get endpoints psvc" },
  { "get sts" }, { "get sts -o wide" }, { "get ds" }, { "get ds -o wide" }, { "get rs" }, { "get rs -o wide" },
  { "get job" }, { "get jobs -o wide" }, { "get cronjob" }, { "get cj -o wide" },
  { "get sa" }, { "get secret psecret" }, { "get secret psecret -o jsonpath='{.type}'" },
  { "get pvc" }, { "get ingress" }, { "get ing", minor = 32 }, { "get ing -o name", minor = 32 },
  { "get ev --field-selector=reason=NoSuch", minor = 32 },
  { "get ingresses" }, { "describe ing nosuch", stdout = true },   -- (kubectl 1.32 says its short-name warning twice)
  { "get role,rolebinding" }, { "get limitrange,resourcequota" },
  { "get nodes" }, { "get no -o name" }, { "get node vcli-node-1 -o jsonpath='{.metadata.name}'" },
  { "get ns vparity" }, { "get namespace vparity -o name" }, { "get ns vparity -o yaml", minor = 32 },
  { "get ns vparity --show-kind" }, { "get pods --show-kind" }, { "get deploy,svc --show-kind" },
  { "get pod pweb-0 --show-kind" }, { "get pods -A -l app=pweb" }, { "get pods --all-namespaces -l app=pweb -o name" },
  { "get pods -A --field-selector=metadata.namespace=vparity" }, { "get pods -n vparity" }, { "get pods --namespace=vparity" },
  { "-n vparity get pods" }, { "--namespace vparity get deploy" },
  { "get crd" }, { "get apiservice v1.apps" }, { "get priorityclass" }, { "get storageclass" },
  { "get clusterrole view -o name" }, { "get clusterrolebinding cluster-admin -o name" },
  { "get pods -o jsonpath='{.items[0].metadata.labels.app}'" }, { "get pods -o jsonpath='{.items[*].spec.containers[*].image}'" },
  { "get pods -o jsonpath='{.items[?(@.metadata.name==\"pweb-1\")].metadata.name}'" },
  { "get deploy pweb -o jsonpath='{.spec.replicas}'" }, { "get deploy pweb -o jsonpath='{.metadata.labels}'" },
  { "get pods --raw /api/v1/namespaces/vparity/pods/pweb-0", differs = "--raw takes no TYPE; both refuse the mix" },
  { "get --raw /api/v1/namespaces/vparity/configmaps/pcm" }, { "get --raw /version" }, { "get --raw /nosuch" },
  -- names found, then errors; unknown things
  { "get pods pweb-0 nosuch" }, { "get pods nosuch" }, { "get deploy pweb nosuch" }, { "get cm nosuch -o yaml" },
  { "get nosuchtype" }, { "get pods nosuch --ignore-not-found" }, { "get nosuchtype/x" },
  { "get pods --ignore-not-found -l app=nosuch" }, { "get ns nosuch" }, { "get pods -o badformat" },
  { "get pods -o jsonpath='{.items[0].nosuch}'" }, { "get pods -o jsonpath='{.items['" },
  { "get pods -o custom-columns=BAD" }, { "get pods -l 'a in'" }, { "get pods --field-selector=nosuch=1" },
  { "get", differs = "vcli says which resource is wanted in its own words and lists kinds differently" },
  { "get deploy -o yaml --field-selector=x=1", minor = 32 }, { "get deploy -o json -l 'a in'", minor = 32 },
  { "get pods -o jsonpath='{.items}' --field-selector=x=1" }, { "get pods -o name -l 'a in'" },
  { "get pods --sort-by=.metadata.nosuch",
    differs = "kubectl 1.32 prints nothing at all when no object has the --sort-by field (its error is lost); vcli the rows" },
  -- ---------------------------------------------------------------- describe
  { "describe cm pcm", minor = 32 }, { "describe configmap pcm pcm2", minor = 32 }, { "describe secret psecret" },
  { "describe sa default" },
  { "describe svc psvc" }, { "describe ns vparity" }, { "describe cm nosuch" }, { "describe nosuchtype x" },
  { "describe deploy pweb", minor = 32 }, { "describe pod pweb-0", minor = 32 }, { "describe sts psts", minor = 32 },
  { "describe ds pds", minor = 32 },
  { "describe job pjob", minor = 32 }, { "describe cronjob pcron", better = "this 1.20 server serves CronJobs as batch/v1beta1 only:"
    .. " kubectl 1.32 asks for batch/v1 and fails, vcli describes it", minor = 32 }, { "describe cm -l app=pcm", minor = 32 },
  -- ---------------------------------------------------------------- logs
  { "logs pweb-0 --tail 3" }, { "logs pweb-0 --tail=1 -c web" }, { "logs pod/pweb-0 --tail 2" },
  { "logs pweb-0 -c nope" }, { "logs nosuch", minor = 32 }, { "logs pweb-0 --tail 2 --prefix" },
  { "logs -l app=pweb --tail 1 --prefix", differs = "the pods' lines interleave in arrival order" },
  -- ---------------------------------------------------------------- discovery, version, config
  { "api-resources" }, { "api-resources --namespaced=false" }, { "api-resources --api-group=apps" },
  { "api-resources -o name" }, { "api-resources -o wide", minor = 32 }, { "api-resources --verbs=list --namespaced=true -o name" },
  { "api-versions" },
  { "version -o json", differs = "the client version is vcli's, not kubectl's" },
  { "version", differs = "the client version is vcli's, not kubectl's" },
  { "cluster-info", differs = "kubectl colours the URLs on a terminal only; vcli the same, but names the server once" },
  { "config view" }, { "config view --minify" }, { "config view -o json" }, { "config view --raw --minify" },
  { "config get-contexts" }, { "config current-context" }, { "config get-contexts nosuch" },
  { "config view -o jsonpath='{.contexts[0].name}'" },
  -- ---------------------------------------------------------------- explain
  { "explain cm" }, { "explain pods" }, { "explain pod.spec.containers" }, { "explain pod.spec.containers.resources.limits" },
  { "explain deploy.spec" }, { "explain deploy.spec.replicas" }, { "explain deployments.apps.spec.strategy", minor = 32 },
  { "explain pod --recursive" }, { "explain crd.spec.versions.schema.openAPIV3Schema" },
  { "explain pod.metadata.managedFields.fieldsV1" }, { "explain csr.spec" }, { "explain svc.spec.ports.targetPort" },
  { "explain deploy --api-version=apps/v1" }, { "explain cm.nosuch" }, { "explain nosuch" }, { "explain" },
  { "explain ing", stdout = true }, { "explain sts --recursive" },
  -- ---------------------------------------------------------------- auth
  { "auth can-i get pods" }, { "auth can-i delete pods --as=system:serviceaccount:vparity:bot" },
  { "auth can-i list configmaps --as=system:serviceaccount:vparity:bot" },
  { "auth can-i get pods --as=system:serviceaccount:vparity:bot -n default" },
  { "auth can-i create deployments.apps" }, { "auth can-i '*' '*'" }, { "auth can-i get /healthz" },
  { "auth can-i get pods/log" }, { "auth can-i nosuchverb pods", minor = 32 },
  { "get cm --as=system:serviceaccount:vparity:bot" }, { "get secrets --as=system:serviceaccount:vparity:bot" },
  { "get pods --as=system:serviceaccount:vparity:bot --as-group=system:authenticated" },
  -- ---------------------------------------------------------------- endpoint and credential flags
  { "get ns vparity --token=not-a-token" }, { "get ns vparity --user=nosuch" }, { "get ns vparity --cluster=nosuch" },
  { "get ns vparity --insecure-skip-tls-verify -o name" }, { "get ns vparity --request-timeout=10s -o name" },
  { "create role {n} --verb=get --resource=pods --token=not-a-token", bridged = true },
  -- ---------------------------------------------------------------- rollout, wait
  { "rollout status deploy/pweb" }, { "rollout history deploy/pweb" }, { "rollout status sts/psts" },
  { "rollout history sts/psts" }, { "rollout status ds/pds" }, { "rollout history ds/pds" },
  { "rollout status deploy/nosuch" }, { "rollout status cm/pcm" },
  { "wait --for=condition=Available deploy/pweb --timeout=30s" }, { "wait --for=condition=complete job/pjob --timeout=60s" },
  { "wait --for=jsonpath='{.status.phase}'=Running pod/pweb-0 --timeout=30s", minor = 32 },
  { "wait --for=delete pod/nosuch --timeout=5s", minor = 32 }, { "wait --for=condition=Ready pod/nosuch --timeout=2s" },
  -- ---------------------------------------------------------------- create
  { "create cm {n} --from-literal=a=1" }, { "create configmap {n} --from-literal=a=1 --from-literal=b=2 -o yaml", minor = 32 },
  { "create cm {n} --from-literal=a=1 --dry-run=client -o yaml" }, { "create cm {n} --from-literal=a=1 --dry-run=server" },
  { "create cm {n} --from-literal=a=1 -o name" }, { "create cm {n} --from-file={dir}/{n}.yaml", files = { ["{n}.yaml"] = CM } },
  { "create cm {n} --from-literal=a=1", setup = "create cm {n}", minor = 32 },
  { "create secret generic {n} --from-literal=password=s3cret -o name" },
  { "create secret generic {n} --from-literal=a=1 --type=example.com/x" },
  { "create secret docker-registry {n} --docker-server=r.example --docker-username=u --docker-password=p" },
  { "create deployment {n} --image=nginx:1.25" }, { "create deploy {n} --image=nginx:1.25 --replicas=2 --port=80" },
  { "create deployment {n} --image=nginx:1.25 --dry-run=client -o yaml" },
  { "create namespace {n}" }, { "create ns {n} --dry-run=client -o yaml" },
  { "create sa {n}" }, { "create serviceaccount {n} -o name" },
  { "create job {n} --image=busybox:1.36" }, { "create job {n} --from=cronjob/pcron",
    better = "kubectl 1.32 cannot read this 1.20 server's batch/v1beta1 CronJob (unknown object type); vcli creates the job", minor = 32 },
  { "create job {n} --image=busybox:1.36 -- echo hi" },
  { "create -f {dir}/{n}.yaml", files = { ["{n}.yaml"] = CM } },
  { "create -f {dir}/{n}.yaml", files = { ["{n}.yaml"] = TWO } },
  { "create -f -", input = CM }, { "create -f {dir}/{n}.yaml -o name", files = { ["{n}.yaml"] = CM } },
  { "create -f {dir}/nosuch.yaml" },
  { "create role {n} --verb=get --resource=pods", bridged = true },
  { "create quota {n} --hard=services.loadbalancers=100", bridged = true },
  { "create cm", differs = "vcli names the missing NAME in its own usage line" },
  -- ---------------------------------------------------------------- apply
  { "apply -f {dir}/{n}.yaml", files = { ["{n}.yaml"] = CM } },
  { "apply -f {dir}/{n}.yaml", files = { ["{n}.yaml"] = CM }, setup = "apply -f {dir}/{n}.yaml" },
  { "apply -f {dir}/{n}.yaml", files = { ["{n}.yaml"] = CM2, ["old.yaml"] = CM }, setup = "apply -f {dir}/old.yaml" },
  { "apply -f {dir}/{n}.yaml", files = { ["{n}.yaml"] = TWO } },
  { "apply -f {dir}/{n}.yaml", files = { ["{n}.yaml"] = BADKIND }, minor = 32 },
  { "apply -f {dir}/{n}.yaml -o name", files = { ["{n}.yaml"] = CM } },
  { "apply -f {dir}/{n}.yaml --dry-run=client", files = { ["{n}.yaml"] = CM } },
  { "apply -f {dir}/{n}.yaml --dry-run=server", files = { ["{n}.yaml"] = CM } },
  { "apply -f {dir}/{n}.yaml", files = { ["{n}.yaml"] = SVC } },
  { "apply -f {dir}/{n}.yaml --server-side", files = { ["{n}.yaml"] = CM } },
  { "apply -f -", input = CM }, { "apply -f {dir} -R", files = { ["{n}.yaml"] = CM } },
  { "apply -f {dir}/{n}.yaml -n vparity", files = { ["{n}.yaml"] = OTHERNS } },
  { "apply -f {dir}/nosuch.yaml" },
  -- ---------------------------------------------------------------- expose
  { "expose deploy pweb --port=80 --dry-run=client -o yaml" },
  { "expose deploy pweb --port=80 --target-port=8080 --name={n} --type=NodePort --dry-run=client -o yaml" },
  { "expose deploy/pweb --name={n} --port=80" }, { "expose pod pweb-0 --port=443 --name={n}" },
  { "expose svc psvc --name={n}" }, { "expose svc psvc --name={n} -o name" }, { "expose deploy pweb --name={n}", minor = 32 },
  { "expose deploy nosuch --port=80" }, { "expose cm pcm --port=80" }, { "expose", minor = 32 },
  { "expose sts psts --port=80 --name={n}" }, { "expose deploy pweb --port=80 --name={n} --labels=a=b --selector=app=x" },
  { "expose deploy pweb --port=53 --protocol=UDP --name={n} --dry-run=server -o yaml", stdout = true, minor = 32 },
  -- ---------------------------------------------------------------- top (no metrics API on this cluster)
  { "top pod", differs = TOP }, { "top node", differs = TOP }, { "top pod -A", differs = TOP },
  -- ---------------------------------------------------------------- cp (the test node runs tar on this machine)
  { "cp {dir}/{n}.yaml pweb-0:{dir}/{n}-up.yaml", files = { ["{n}.yaml"] = CM }, minor = 32 },
  { "cp pweb-0:{dir}/{n}.yaml {dir}/{n}-down.yaml", differs = TAR, files = { ["{n}.yaml"] = CM }, minor = 32 },
  { "cp {dir}/sub pweb-0:{dir}/{n}-updir", files = { ["sub/{n}.yaml"] = CM, ["sub/deep/x.yaml"] = CM2 }, minor = 32 },
  { "cp pweb-0:{dir}/sub {dir}/{n}-downdir", differs = TAR, files = { ["sub/{n}.yaml"] = CM, ["sub/deep/x.yaml"] = CM2 }, minor = 32 },
  { "cp {dir}/{n}.yaml pweb-0:{dir}/sub", files = { ["{n}.yaml"] = CM, ["sub/x.yaml"] = CM2 }, minor = 32 },
  { "cp {dir}/{n}.yaml vparity/pweb-1:{dir}/{n}-ns.yaml -c web", files = { ["{n}.yaml"] = CM }, minor = 32 },
  { "cp {dir}/nosuch pweb-0:/tmp/x" }, { "cp pweb-0:{dir}/nosuch {dir}/x", differs = TAR, minor = 32 }, { "cp a b" },
  { "cp nosuchpod:/tmp/x {dir}/x" }, { "cp {dir}/{n}.yaml pweb-0:{dir}/x -c nope", files = { ["{n}.yaml"] = CM } },
  -- ---------------------------------------------------------------- attach (what ends by itself)
  { "attach nosuch" }, { "attach job/pjob" }, { "attach deploy/nosuch" },
  -- ---------------------------------------------------------------- autoscale
  { "autoscale deploy pweb --max=5 --name={n} --dry-run=client -o yaml" },
  { "autoscale deploy pweb --min=2 --max=5 --cpu-percent=80 --name={n} --dry-run=client -o json",
    json = "an object vcli builds is printed with sorted keys, kubectl's in Go's field order: the same JSON" },
  { "autoscale deploy/pweb --max=3 --name={n}" }, { "autoscale sts psts --max=3 --name={n} -o name" },
  { "autoscale deploy pweb", minor = 32 }, { "autoscale cm pcm --max=3" }, { "autoscale deploy pweb --min=5 --max=3" },
  { "autoscale deploy nosuch --max=3" }, { "autoscale deploy pweb --max=3 --name={n}", setup = "autoscale deploy pweb --max=3 --name={n}" },
  -- ---------------------------------------------------------------- run
  { "run {n} --image=nginx:1.25" }, { "run {n} --image=nginx:1.25 --dry-run=client -o yaml" },
  { "run {n} --image=busybox:1.36 --restart=Never --env=A=1 --env=B=2 --port=8080 --labels=a=b,c=d --dry-run=client -o json",
    json = "an object vcli builds is printed with sorted keys, kubectl's in Go's field order: the same JSON" },
  { "run {n} --image=busybox:1.36 --command --dry-run=client -o yaml -- sh -c 'echo hi'" },
  { "run {n} --image=busybox:1.36 -o name -- echo hi" }, { "run {n} --image=nginx:1.25 --dry-run=server" },
  { "run {n} --image=nginx:1.25 --annotations=a=1 --image-pull-policy=IfNotPresent --dry-run=client -o yaml" },
  { "run {n} --image=nginx:1.25", setup = "run {n} --image=nginx:1.25" },
  { "run {n}", minor = 32 }, { "run", minor = 32 }, { "run {n} --image=x --restart=Sometimes" },
  -- ---------------------------------------------------------------- apply --prune
  { "apply -f {dir}/cur --prune -l app={n} --prune-allowlist=/v1/ConfigMap", files = PRUNE,
    setup = "apply -f {dir}/cur -f {dir}/old", minor = 32 },
  { "apply -f {dir}/cur --prune -l app={n} --prune-allowlist=/v1/ConfigMap --dry-run=client", files = PRUNE,
    setup = "apply -f {dir}/cur -f {dir}/old", minor = 32 },
  { "apply -f {dir}/cur --prune -l app={n} --prune-allowlist=/v1/ConfigMap -o name", files = PRUNE,
    setup = "apply -f {dir}/cur -f {dir}/old", minor = 32 },
  { "apply -f {dir}/cur --prune", files = PRUNE },
  { "apply -f {dir}/cur --prune --prune-allowlist=bogus --all", files = PRUNE, minor = 32 },
  { "apply -f {dir}/cur --prune -l app={n}", files = PRUNE, setup = "apply -f {dir}/cur -f {dir}/old",
    better = "kubectl 1.32 cannot prune on this 1.20 server (its default list names batch/v1 CronJob, which it does not"
      .. " serve); vcli prunes the types the server serves", minor = 32 },
  -- ---------------------------------------------------------------- -k (kustomize: kubectl kustomize builds it; bridged)
  { "apply -k {dir}", bridged = true, files = { ["kustomization.yaml"] = KZ, ["{n}.yaml"] = CM } },
  { "create -k {dir}", bridged = true, files = { ["kustomization.yaml"] = KZ, ["{n}.yaml"] = CM } },
  { "delete -k {dir}", bridged = true, files = { ["kustomization.yaml"] = KZ, ["{n}.yaml"] = CM }, setup = "apply -k {dir}" },
  { "apply -k {dir} --dry-run=client -o yaml", bridged = true, files = { ["kustomization.yaml"] = KZ, ["{n}.yaml"] = CM } },
  { "apply -k {dir}/nosuch", bridged = true },
  { "apply -k {dir} -f {dir}/{n}.yaml", bridged = true, files = { ["kustomization.yaml"] = KZ, ["{n}.yaml"] = CM } },
  -- ---------------------------------------------------------------- replace
  { "replace -f {dir}/{n}.yaml", files = { ["{n}.yaml"] = CM2 }, setup = "create cm {n}" },
  { "replace -f {dir}/{n}.yaml", files = { ["{n}.yaml"] = CM2 } },
  { "replace -f {dir}/{n}.yaml -o name", files = { ["{n}.yaml"] = CM2 }, setup = "create cm {n}" },
  { "replace -f {dir}/{n}.yaml --dry-run=server", files = { ["{n}.yaml"] = CM2 }, setup = "create cm {n}" },
  { "replace --force -f {dir}/{n}.yaml", files = { ["{n}.yaml"] = CM2 }, setup = "create cm {n}" },
  { "replace -f -", input = CM2, setup = "create cm {n}" },
  { "replace" },
  -- ---------------------------------------------------------------- label, annotate
  { "label cm {n} x=y", setup = "create cm {n}" }, { "label cm {n} x=z", setup = { "create cm {n}", "label cm {n} x=y" } },
  { "label cm {n} x=z --overwrite", setup = { "create cm {n}", "label cm {n} x=y" } },
  { "label cm {n} x-", setup = { "create cm {n}", "label cm {n} x=y" }, minor = 32 }, { "label cm {n} nosuch-", setup = "create cm {n}" },
  { "label cm {n} x=y --dry-run=client", setup = "create cm {n}", minor = 32 }, { "label cm {n} x=y -o name", setup = "create cm {n}" },
  { "label cm {n} x=y --list", setup = "create cm {n}" },
  { "label cm {n} x=y -o yaml", setup = "create cm {n}" }, { "label cm {n} x=y --dry-run=client -o json", setup = "create cm {n}" },
  { "label cm nosuch x=y" }, { "label cm {n} 'bad key=1'", setup = "create cm {n}" },
  { "annotate cm {n} note=hi", setup = "create cm {n}" },
  { "annotate cm {n} note-", setup = { "create cm {n}", "annotate cm {n} note=hi" } },
  { "annotate cm {n} note=again", setup = { "create cm {n}", "annotate cm {n} note=hi" } },
  -- ---------------------------------------------------------------- scale, set, patch
  { "scale deploy {n} --replicas=2", setup = "create deploy {n} --image=nginx:1.25" },
  { "scale deploy/{n} --replicas=0 --current-replicas=5", setup = "create deploy {n} --image=nginx:1.25" },
  { "scale deploy nosuch --replicas=2", minor = 32 }, { "scale cm pcm --replicas=2" },
  { "set image deploy/{n} nginx=nginx:1.26", setup = "create deploy {n} --image=nginx:1.25" },
  { "set image deploy/{n} nginx=nginx:1.25", setup = "create deploy {n} --image=nginx:1.25" },
  { "set image deploy/{n} nope=x:1", setup = "create deploy {n} --image=nginx:1.25" },
  { "set image deploy/{n} '*=nginx:1.27' -o name", setup = "create deploy {n} --image=nginx:1.25" },
  { "set env deploy/{n} A=1 B=2", setup = D },
  { "set env deploy/{n} A=1", setup = { D, "set env deploy/{n} A=1" } },
  { "set env deploy/{n} --list", setup = { D, "set env deploy/{n} A=1 B=2" } },
  { "set env deploy/{n} A-", setup = { D, "set env deploy/{n} A=1 B=2" } }, { "set env deploy/{n} A-", setup = D },
  { "set env deploy/{n} --from=configmap/pcm --prefix=P_", setup = D, minor = 32,
    unordered = "kubectl warns of the keys it renames in its map's order" },
  -- (one key: kubectl's order of several is its map's, random)
  { "set env deploy/{n} --from=configmap/pcm --keys=a --list",
    setup = { D, "set env deploy/{n} --from=configmap/pcm2" }, minor = 32 },
  { "set env deploy/{n} -c nope C=1", setup = D, minor = 32 }, { "set env deploy/{n} -e X=1 -e Y=2 -o name", setup = D },
  { "set env deploy/{n} B=3 --overwrite=false", setup = { D, "set env deploy/{n} B=2" } },
  { "set env deploy/{n} Z=1 --dry-run=client -o yaml", setup = { D, "rollout status deploy/{n} --timeout=60s" }, minor = 32 },
  { "set env deploy/{n} 1BAD=x", setup = D, minor = 32 },
  { "set env deploy/{n} --from=secret/psecret --list", setup = { D, "set env deploy/{n} --from=secret/psecret" }, minor = 32 },
  { "set resources deploy/{n} --limits=cpu=200m,memory=512Mi --requests=cpu=100m", setup = D },
  { "set resources deploy/{n} --limits=cpu=200m", setup = { D, "set resources deploy/{n} --limits=cpu=200m" } },
  { "set resources deploy/{n} -c nope --limits=cpu=1", setup = D }, { "set resources deploy/{n}", setup = D },
  { "set resources deploy/{n} --limits=cpu=bogus", setup = D },
  { "set resources deploy/{n} --requests=memory=1Gi --dry-run=client -o yaml",
    setup = { D, "rollout status deploy/{n} --timeout=60s" }, minor = 32 },
  { "set selector svc {n} app=x", setup = "create svc clusterip {n} --tcp=80", bridged = true },
  { "patch cm {n} -p '{\"data\":{\"b\":\"2\"}}'", setup = "create cm {n}" },
  { "patch cm {n} --type=merge -p '{\"data\":{\"b\":\"2\"}}'", setup = "create cm {n}" },
  { "patch cm {n} --type=json -p '[{\"op\":\"add\",\"path\":\"/data\",\"value\":{\"c\":\"3\"}}]'", setup = "create cm {n}" },
  { "patch cm {n} -p '{}'", setup = "create cm {n}" }, { "patch cm nosuch -p '{\"data\":{}}'" },
  { "patch cm {n} -p 'not json'", setup = "create cm {n}" },
  { "patch deploy {n} -p '{\"spec\":{\"replicas\":3}}' -o name", setup = "create deploy {n} --image=nginx:1.25" },
  -- ---------------------------------------------------------------- rollout writes
  { "rollout restart deploy/{n}", setup = "create deploy {n} --image=nginx:1.25" },
  { "rollout pause deploy/{n}", setup = "create deploy {n} --image=nginx:1.25" },
  { "rollout resume deploy/{n}", setup = { "create deploy {n} --image=nginx:1.25", "rollout pause deploy/{n}" } },
  { "rollout resume deploy/{n}", setup = "create deploy {n} --image=nginx:1.25" },
  -- ---------------------------------------------------------------- rollout history and undo
  { "rollout history deploy/{n}", setup = { D, "rollout status deploy/{n} --timeout=60s", "set image deploy/{n} nginx=nginx:1.26",
    "rollout status deploy/{n} --timeout=60s" } },
  { "rollout undo deploy/{n}", setup = { D, "rollout status deploy/{n} --timeout=60s", "set image deploy/{n} nginx=nginx:1.26",
    "rollout status deploy/{n} --timeout=60s" } },
  { "rollout undo deploy/{n} --to-revision=1 --dry-run=client", setup = { D, "rollout status deploy/{n} --timeout=60s",
    "set image deploy/{n} nginx=nginx:1.26", "rollout status deploy/{n} --timeout=60s" }, minor = 32 },
  { "rollout history deploy/{n} --revision=1", setup = { D, "rollout status deploy/{n} --timeout=60s" }, stdout = true, minor = 32 },
  { "rollout undo deploy/{n} --to-revision=7", setup = { D, "rollout status deploy/{n} --timeout=60s" } },
  { "rollout undo deploy/{n}", setup = { D, "rollout status deploy/{n} --timeout=60s" } },
  { "rollout history sts/{n}", files = { ["sts.yaml"] = STS }, setup = { "apply -f {dir}/sts.yaml",
    "rollout status sts/{n} --timeout=60s", "set image sts/{n} db=postgres:17", "rollout status sts/{n} --timeout=60s" } },
  { "rollout undo sts/{n}", files = { ["sts.yaml"] = STS }, setup = { "apply -f {dir}/sts.yaml",
    "rollout status sts/{n} --timeout=60s", "set image sts/{n} db=postgres:17", "rollout status sts/{n} --timeout=60s" } },
  { "rollout status sts/{n}", files = { ["sts.yaml"] = STS }, setup = { "apply -f {dir}/sts.yaml",
    "rollout status sts/{n} --timeout=60s" } },
  { "rollout restart sts/{n}", files = { ["sts.yaml"] = STS }, setup = "apply -f {dir}/sts.yaml" },
  { "rollout history sts/{n} --revision=1", files = { ["sts.yaml"] = STS }, setup = { "apply -f {dir}/sts.yaml",
    "rollout status sts/{n} --timeout=60s", "set image sts/{n} db=postgres:17", "rollout status sts/{n} --timeout=60s" }, minor = 32 },
  { "rollout history ds/pds --revision=1", minor = 32 }, { "rollout history deploy/pweb --revision=9" },
  { "rollout undo deploy/{n} --dry-run=server", setup = { D, "rollout status deploy/{n} --timeout=60s",
    "set image deploy/{n} nginx=nginx:1.26", "rollout status deploy/{n} --timeout=60s" } },
  { "rollout undo deploy/{n} --to-revision=2", setup = { D, "rollout status deploy/{n} --timeout=60s",
    "set image deploy/{n} nginx=nginx:1.26", "rollout status deploy/{n} --timeout=60s" } },
  -- ---------------------------------------------------------------- delete
  { "delete cm {n}", setup = "create cm {n}" }, { "delete cm {n} -o name", setup = "create cm {n}" },
  { "delete configmap/{n}", setup = "create cm {n}" }, { "delete cm nosuch" }, { "delete cm nosuch --ignore-not-found" },
  { "delete cm {n} nosuch", setup = "create cm {n}" }, { "delete cm {n} --dry-run=client", setup = "create cm {n}" },
  { "delete cm {n} --dry-run=server", setup = "create cm {n}" },
  { "delete cm -l app={n}", setup = { "create cm {n}", "label cm {n} app={n}" } },
  { "delete cm,secret -l app={n}",
    setup = { "create cm {n}", "label cm {n} app={n}", "create secret generic {n}", "label secret {n} app={n}" } },
  { "delete cm -l app=nosuch" },
  { "delete cm,secret {n}", setup = { "create cm {n}", "create secret generic {n}" } },
  { "describe cm,secret pcm" }, { "delete -f {dir}/{n}.yaml", files = { ["{n}.yaml"] = CM }, setup = "apply -f {dir}/{n}.yaml" },
  { "delete cm {n} --wait=false", setup = "create cm {n}" }, { "delete cm {n} --now", setup = "create cm {n}" },
  { "delete cm {n} --grace-period=0 --force", setup = "create cm {n}", stdout = true },
  { "delete cm {n} --cascade=orphan", setup = "create cm {n}" },
  { "delete deploy {n} --cascade=foreground", setup = "create deploy {n} --image=nginx:1.25" },
  { "delete cm", differs = "vcli's usage line names what is missing in its own words" },
  -- ---------------------------------------------------------------- edit ($EDITOR a script: what a person saves)
  { "edit cm {n}", setup = "create cm {n} --from-literal=a=1", env = "EDITOR='sh {dir}/ed.sh'",
    files = { ["ed.sh"] = [=[sed -i 's/^  a: "1"/  a: "2"/' "$1"]=] } },
  { "edit cm {n} -n vparity", setup = "create cm {n} --from-literal=a=1", env = "EDITOR=true" },
  { "edit configmap/{n}", setup = "create cm {n} --from-literal=a=1", env = "EDITOR='sh {dir}/ed.sh'",
    files = { ["ed.sh"] = [=[sed -i 's/^#.*//' "$1"]=] } },
  { "edit cm {n}", setup = "create cm {n} --from-literal=a=1", env = "TMPDIR={dir} EDITOR='sh {dir}/ed.sh'",
    files = { ["ed.sh"] = [=[sed -i 's/^  a: "1"/  a: [/' "$1"]=] },
    differs = "kubectl stores a copy of the refused edit in /tmp and says where; vcli never leaves an object on disk" },
  { "edit cm nosuch", env = "EDITOR=true" }, { "edit", differs = USAGE },
  { "edit cm {n}", setup = "create cm {n} --from-literal=a=1", env = "EDITOR=false",
    differs = "vcli names the editor's exit status in its own words" },
  -- ---------------------------------------------------------------- nodes (read only: other specs share them)
  { "describe node vcli-node-1", differs = "the node's conditions are heartbeats: their times move between the two runs" },
  -- ---------------------------------------------------------------- read-only and usage errors
  { "delete cm pcm --readonly", differs = "kubectl has no --readonly: vcli refuses, kubectl rejects the flag" },
  { "gte pods", differs = USAGE }, { "get pods --nosuchflag", differs = USAGE },
  { "descibe pod pweb-0", differs = USAGE }, { "get pods -o", differs = USAGE },
  { "scale deploy pweb", minor = 32 },
}
return C
