-- k8s describe against the test cluster, compared line by line with
-- /usr/bin/kubectl describe of the same objects: pods, deployments,
-- replicasets, statefulsets, daemonsets, jobs, cronjobs, services, nodes,
-- namespaces, configmaps, secrets, serviceaccounts, persistentvolumeclaims,
-- ingresses, roles, clusterroles, persistentvolumes, storageclasses,
-- horizontalpodautoscalers, poddisruptionbudgets, networkpolicies, and
-- kubectl's generic layout for other kinds and CRD objects.
-- VCLI_K8S_SPEC_REUSE=1 uses an already running cluster and leaves it running.
local H = dofile("spec/support/k8s/helper.lua")

local E, KC, dir
local reuse = os.getenv("VCLI_K8S_SPEC_REUSE") == "1"
local NS = "team-a"
local function kubectl(args) return H.kubectl(KC, args) end
local function ok_run(line)
  local out, err, st = H.run(line)
  if st ~= 0 then error(("%s failed (%s): %s"):format(line, tostring(st), err), 2) end
  return out, err
end

-- What is normalised before comparing, because it moves between the two runs:
--  * ages ("21m", "5m30s", "12m (x3 over 20m)" keeps its shape: each age alone
--    becomes "<age>") — both runs read the clock at a different moment;
--  * a node's lease RenewTime and its conditions' heartbeat times (the node
--    agent renews them every few seconds);
--  * the order of a configmap's data entries and of a secret's keys: kubectl
--    walks a Go map there (random order), vcli sorts the keys;
--  * a service-account token secret's token: kubectl prints the token, vcli
--    never prints a secret value — kubectl's line becomes the byte count vcli
--    must print instead.
-- Everything else — fields, order, values, alignment — must be identical. A
-- change that moves a column's width (an age from 9s to 10s, a restart count)
-- is retried until both agree, within a deadline (the last pair is shown).
local AGE = "%f[%w<]%d+[smhdy]%d*[smhdy]?%f[^%w]"
local function normalise(text)
  local lines = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  if lines[#lines] == "" then lines[#lines] = nil end
  local out = {}
  local in_node_conditions = false
  for n, l in ipairs(lines) do
    if l:match("^Conditions:") then in_node_conditions = lines[n + 1] and lines[n + 1]:find("LastHeartbeatTime") ~= nil
    elseif not l:match("^ ") then in_node_conditions = false end
    -- events (Age column) and the node's pod table (last column)
    if l:match("^  Normal ") or l:match("^  Warning ") then l = l:gsub(AGE, "<age>") end
    if l:match("%d%%%)%s+%S+$") then l = l:gsub("(%s)" .. AGE .. "$", "%1<age>") end
    if l:match("^  RenewTime:") then l = l:gsub("%a%a%a, %d%d %a%a%a %d%d%d%d [%d:]+ [%+%-]%d%d%d%d", "<time>") end
    if in_node_conditions then l = l:gsub("%a%a%a, %d%d %a%a%a %d%d%d%d [%d:]+ [%+%-]%d%d%d%d", "<time>", 1) end
    local pre, tok = l:match("^(token:%s+)(%S+)$")
    if pre and #tok > 40 then l = pre .. #tok .. " bytes" end
    out[#out + 1] = l
  end
  -- the Data section of a secret (key:  N bytes lines) and of a configmap
  -- (key:\n----\nvalue\n\n blocks), sorted
  local text2 = table.concat(out, "\n")
  text2 = text2:gsub("(\nData\n====\n)(.-\n)(\nBinaryData\n====\n)", function(a, body, c)
    local entries, cur = {}, nil
    local ls = {}
    for line in body:gmatch("([^\n]*)\n") do ls[#ls + 1] = line end
    for i, line in ipairs(ls) do
      if line:match(":$") and ls[i + 1] == "----" then cur = {}; entries[#entries + 1] = cur end
      if cur then cur[#cur + 1] = line end
    end
    for i, e in ipairs(entries) do entries[i] = table.concat(e, "\n") end
    table.sort(entries)
    return a .. table.concat(entries, "\n") .. "\n" .. c
  end)
  text2 = text2:gsub("(\nData\n====\n)(.*)$", function(a, body)
    local ls = {}
    for line in body:gmatch("[^\n]+") do
      if not line:match(":%s+%d+ bytes$") then return nil end
      ls[#ls + 1] = line
    end
    table.sort(ls)
    return a .. table.concat(ls, "\n")
  end)
  return text2
end

-- vcli's describe and kubectl's, normalised, until they agree (30 s)
local function same(args, opts)
  opts = opts or {}
  local mine, theirs
  local ok = pcall(spec.eventually, function()
    theirs = normalise(kubectl("describe " .. args))
    mine = normalise((ok_run("k8s describe " .. args)))
    return mine == theirs
  end, opts.deadline or 30000, args)
  if not ok then
    -- show the first differing line, then the whole pair
    local a, b = {}, {}
    for l in (theirs .. "\n"):gmatch("([^\n]*)\n") do a[#a + 1] = l end
    for l in (mine .. "\n"):gmatch("([^\n]*)\n") do b[#b + 1] = l end
    for i = 1, math.max(#a, #b) do
      if a[i] ~= b[i] then
        assert.equal(a[i], b[i], ("k8s describe %s, line %d"):format(args, i))
      end
    end
    assert.equal(theirs, mine, args)
  end
  return mine
end

-- what the seeder does not make (all in team-a, all deleted afterwards)
local OBJECTS = [[
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.vdesc.example.com}
spec:
  group: vdesc.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wdg]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: vdesc-data, namespace: team-a, labels: {app: vdesc}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: vdesc-web, namespace: team-a, annotations: {note: hello}}
spec:
  tls: [{hosts: [shop.example.com], secretName: shop-tls}]
  defaultBackend: {service: {name: web, port: {number: 80}}}
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {name: http}}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: vdesc-config, namespace: team-a}
data: {b.txt: "two\nlines", a.txt: one}
binaryData: {blob: AAECAw==}
---
apiVersion: v1
kind: Secret
metadata: {name: vdesc-secret, namespace: team-a}
stringData: {password: s3cr3t-value, user: admin}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: vdesc-sa, namespace: team-a}
imagePullSecrets: [{name: missing-pull}]
---
apiVersion: v1
kind: Pod
metadata:
  name: vdesc-pod
  namespace: team-a
  labels: {app: vdesc}
  annotations: {long: "LONGVALUE", multi: "a\nb"}
spec:
  nodeSelector: {disk: none-such}
  tolerations: [{key: dedicated, operator: Equal, value: db, effect: NoSchedule}, {operator: Exists}]
  initContainers: [{name: setup, image: busybox:1.36, command: [sh, -c, "echo hi"]}]
  containers:
  - name: app
    image: nginx:1.25
    args: [--port, "8080"]
    ports: [{containerPort: 8080}, {containerPort: 9090, name: metrics}]
    resources: {limits: {cpu: 500m, memory: 256Mi}, requests: {cpu: 100m, memory: 128Mi}}
    livenessProbe: {httpGet: {path: /healthz, port: 8080}, initialDelaySeconds: 5}
    readinessProbe: {tcpSocket: {port: 8080}}
    startupProbe: {exec: {command: [cat, /tmp/ok]}}
    envFrom: [{configMapRef: {name: vdesc-config}}, {secretRef: {name: vdesc-secret, optional: true}, prefix: S_}]
    env:
    - {name: PLAIN, value: hello}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: CPU_LIMIT, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: vdesc-secret, key: password}}}
    - {name: CFG, valueFrom: {configMapKeyRef: {name: vdesc-config, key: a.txt, optional: true}}}
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: cfg, mountPath: /etc/cfg, readOnly: true, subPath: a.txt}
    - {name: scratch, mountPath: /scratch}
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: vdesc-data}}
  - {name: cfg, configMap: {name: vdesc-config}}
  - {name: scratch, emptyDir: {medium: Memory, sizeLimit: 64Mi}}
  - {name: host, hostPath: {path: /var/log, type: Directory}}
  - {name: info, downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}}
  - name: proj
    projected:
      sources:
      - {secret: {name: vdesc-secret}}
      - {configMap: {name: vdesc-config}}
      - {serviceAccountToken: {path: tok, expirationSeconds: 3600}}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: vdesc-quota, namespace: team-a}
spec: {hard: {pods: "100000", configmaps: "10000"}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: vdesc-rb, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: vdesc-sa, namespace: team-a}, {kind: User, name: jane}]
]]
local WIDGET = [[
apiVersion: vdesc.example.com/v1
kind: Widget
metadata: {name: gear, namespace: team-a, labels: {size: m}}
spec:
  replicas: 2
  colorName: blue
  ratio: 1.5
  enabled: true
  apiURL: http://x
  ports: [80, 443]
  items: [{name: a, weight: 1}, {name: b}]
  empty: {}
status: {phase: Ready}
]]

-- kinds kubectl has its own describer for, beyond the seeded ones (the
-- cluster-scoped ones named vdesc-…; applied and deleted by their own block)
local KINDS = [[
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: vdesc-role, namespace: team-a, labels: {app: vdesc}}
rules:
- {apiGroups: [""], resources: [pods, pods/log], verbs: [get, list, watch]}
- {apiGroups: [apps], resources: [deployments], verbs: [get]}
- {apiGroups: [apps], resources: [deployments], verbs: [list, get]}
- {apiGroups: [""], resources: [configmaps], resourceNames: [vdesc-config, other], verbs: [get, update]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: vdesc-clusterrole, annotations: {note: hello}}
rules:
- {apiGroups: ["", extensions], resources: [nodes, "*"], verbs: ["*"]}
- {nonResourceURLs: [/healthz, "/metrics/*"], verbs: [get]}
- {apiGroups: [storage.k8s.io], resources: [storageclasses], verbs: [get, list]}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: vdesc-sc, labels: {app: vdesc}}
provisioner: kubernetes.io/no-provisioner
parameters: {type: fast, zone: z1}
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
allowVolumeExpansion: true
mountOptions: [debug, noatime]
allowedTopologies:
- matchLabelExpressions:
  - {key: topology.kubernetes.io/zone, values: [z1, z2]}
  - {key: disk, values: [ssd]}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: vdesc-pv-host, labels: {app: vdesc}}
spec:
  capacity: {storage: 2Gi}
  accessModes: [ReadWriteOnce, ReadOnlyMany]
  storageClassName: vdesc-sc
  hostPath: {path: /tmp/vdesc}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: vdesc-pv-local}
spec:
  capacity: {storage: 500Mi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Delete
  storageClassName: vdesc-sc
  volumeMode: Filesystem
  claimRef: {namespace: team-a, name: vdesc-none}
  local: {path: /mnt/disks/vol1}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: kubernetes.io/hostname, operator: In, values: [vcli-node-1, vcli-node-2]}
        - {key: disk, operator: Exists}
      - matchExpressions:
        - {key: zone, operator: NotIn, values: [z9]}
---
apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: vdesc-hpa, namespace: team-a}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: vdesc-dep}
  minReplicas: 2
  maxReplicas: 5
  targetCPUUtilizationPercentage: 70
---
apiVersion: autoscaling/v2beta2
kind: HorizontalPodAutoscaler
metadata: {name: vdesc-hpa2, namespace: team-a, labels: {app: vdesc}}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  maxReplicas: 10
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
  - type: Resource
    resource: {name: memory, target: {type: AverageValue, averageValue: 200Mi}}
  - type: Pods
    pods: {metric: {name: requests_per_second}, target: {type: AverageValue, averageValue: "1k"}}
  - type: Object
    object:
      metric: {name: hits}
      describedObject: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: vdesc-web}
      target: {type: Value, value: "10"}
  - type: External
    external:
      metric: {name: queue_len}
      target: {type: AverageValue, averageValue: "30"}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
      policies: [{type: Percent, value: 10, periodSeconds: 60}, {type: Pods, value: 2, periodSeconds: 30}]
    scaleUp:
      selectPolicy: Min
      policies: [{type: Pods, value: 4, periodSeconds: 15}]
---
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: vdesc-pdb, namespace: team-a}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: vdesc}}
---
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata: {name: vdesc-pdb-max, namespace: team-a, labels: {app: vdesc}}
spec:
  maxUnavailable: 50%
  selector:
    matchExpressions: [{key: app, operator: In, values: [vdesc-dep, vdesc]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: vdesc-np, namespace: team-a, labels: {app: vdesc}}
spec:
  podSelector: {matchLabels: {app: vdesc}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - podSelector: {matchLabels: {role: frontend}}
      namespaceSelector: {matchLabels: {team: a}}
    - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24, 10.0.2.0/24]}
    - namespaceSelector: {}
    ports: [{port: 8080}, {protocol: UDP, port: dns}]
  - {}
  egress:
  - to: [{podSelector: {matchExpressions: [{key: tier, operator: Exists}]}}]
    ports: [{port: 5432, protocol: TCP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: vdesc-np-deny, namespace: team-a}
spec:
  podSelector: {}
  policyTypes: [Ingress]
]]

-- the v2 HPA layout (describeHorizontalPodAutoscalerV2): kubectl v1.32 asks
-- for autoscaling/v2, which the v1.20 test server lacks, and falls back to v1
-- for every HPA; vcli does the same, so the v2 layout is checked offline on
-- the server's autoscaling/v2beta2 object (same fields) with this status,
-- against kubectl's format written out from its source (the policies' tab
-- stops and "Deployment pods:" share one tabwriter column block)
local HPA_V2_STATUS = [[{"currentReplicas": 2, "desiredReplicas": 3,
  "currentMetrics": [
    {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "150Mi"}}},
    {"type": "Pods", "pods": {"metric": {"name": "requests_per_second"}, "current": {"averageValue": "800"}}},
    {"type": "Object", "object": {"metric": {"name": "hits"}, "current": {"value": "12"}}}],
  "conditions": [
    {"type": "AbleToScale", "status": "True", "reason": "SucceededGetScale",
     "message": "the HPA controller was able to get the target's current scale"},
    {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric", "message": "no metrics"}]}]]
local HPA_V2 = [[
Name:                                                  vdesc-hpa2
Namespace:                                             team-a
Labels:                                                app=vdesc
Annotations:                                           <none>
CreationTimestamp:                                     <time>
Reference:                                             Deployment/api
Metrics:                                               ( current / target )
  resource memory on pods:                             150Mi / 200Mi
  "requests_per_second" on pods:                       800 / 1k
  "hits" on Ingress/vdesc-web (target value):          12 / 10
  "queue_len" (target average value):                  <unknown> / 30
  resource cpu on pods  (as a percentage of request):  <unknown> / 60%
Min replicas:                                          1
Max replicas:                                          10
Behavior:
  Scale Up:
    Stabilization Window: 0 seconds
    Select Policy: Min
    Policies:
      - Type: Pods  Value: 4  Period: 15 seconds
  Scale Down:
    Stabilization Window: 300 seconds
    Select Policy: Max
    Policies:
      - Type: Percent  Value: 10  Period: 60 seconds
      - Type: Pods     Value: 2   Period: 30 seconds
Deployment pods:       2 current / 3 desired
Conditions:
  Type           Status  Reason                   Message
  ----           ------  ------                   -------
  AbleToScale    True    SucceededGetScale        the HPA controller was able to get the target's current scale
  ScalingActive  False   FailedGetResourceMetric  no metrics
]]

local function first_pod(ns, status)
  for line in kubectl("get pods -n " .. ns .. " --no-headers"):gmatch("[^\n]+") do
    local name, st = line:match("^(%S+)%s+%S+%s+(%S+)")
    if st == status then return name end
  end
end

describe("k8s describe as kubectl describe prints it", function()
  before_all(function()
    -- describe is printed by the client, and its layout changed between v1.20 and v1.32
    H.tools.need_kubectl(32, "describe's layout")
    if reuse and (select(2, spec.sh(H.KUBE .. " status"))) == 0 then E = H.cluster_env()
    else
      E = H.start_cluster()
      -- the seeded workloads: deployments/pods in checkout, postgres, node-exporter, db-migrate, …
      assert.matches("created %d+ pods", (spec.sh(H.KUBE .. " seed --pods 300")))
    end
    KC = E.KUBECONFIG
    dir = spec.tmpdir()
    H.register({ kubeconfig = KC })
    -- an annotation longer than kubectl's 140 characters (shown folded and cut)
    spec.write(dir .. "/objects.yaml", (OBJECTS:gsub("LONGVALUE", ("x"):rep(150))))
    spec.write(dir .. "/widget.yaml", WIDGET)
    -- what the seeder does not make: a CRD with one object, a PVC, an ingress,
    -- a pod using every container feature describe shows, a deployment rolled
    -- once (an old and a new replica set), events counted several times
    kubectl("delete -f " .. dir .. "/objects.yaml --ignore-not-found")
    kubectl("-n " .. NS .. " delete deploy vdesc-dep --ignore-not-found")
    kubectl("-n " .. NS .. " delete pod vdesc-run --ignore-not-found")
    kubectl("-n " .. NS .. " delete event vdesc-config.a vdesc-config.b --ignore-not-found")
    assert.matches("vdesc%-pod created", kubectl("apply -f " .. dir .. "/objects.yaml"))
    spec.eventually(function()
      return kubectl("get crd widgets.vdesc.example.com -o jsonpath={.status.acceptedNames.kind}"):match("Widget")
    end, 30000, "CRD established")
    spec.eventually(function() return kubectl("apply -f " .. dir .. "/widget.yaml"):match("gear") end, 30000, "widget")
    kubectl("-n " .. NS .. " create deploy vdesc-dep --image=nginx:1.25 --replicas=2")
    kubectl("-n " .. NS .. " rollout status deploy vdesc-dep --timeout=60s")
    kubectl("-n " .. NS .. " set image deploy/vdesc-dep nginx=nginx:1.26")
    kubectl("-n " .. NS .. " rollout status deploy vdesc-dep --timeout=60s")
    kubectl("-n " .. NS .. " run vdesc-run --image=nginx:1.25")
    kubectl("-n " .. NS .. " wait --for=condition=Ready pod/vdesc-run --timeout=60s")
    local uid = kubectl("-n " .. NS .. " get cm vdesc-config -o jsonpath={.metadata.uid}"):match("%S+")
    local function ago(min) return os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - min * 60) end
    spec.write(dir .. "/events.yaml", ([[
apiVersion: v1
kind: Event
metadata: {name: vdesc-config.a, namespace: %s}
involvedObject: {apiVersion: v1, kind: ConfigMap, name: vdesc-config, namespace: %s, uid: %s}
reason: Reloaded
message: "config reloaded  "
type: Warning
count: 3
firstTimestamp: "%s"
lastTimestamp: "%s"
source: {component: vdesc-watcher}
---
apiVersion: v1
kind: Event
metadata: {name: vdesc-config.b, namespace: %s}
involvedObject: {apiVersion: v1, kind: ConfigMap, name: vdesc-config, namespace: %s, uid: %s}
reason: Checked
message: config checked
type: Normal
eventTime: "%s"
action: Check
reportingComponent: vdesc-checker
reportingInstance: vdesc-checker-1
]]):format(NS, NS, uid, ago(20), ago(12), NS, NS, uid, os.date("!%Y-%m-%dT%H:%M:%S.000000Z", os.time() - 300)))
    assert.matches("created", kubectl("create -f " .. dir .. "/events.yaml"))
  end)
  after_all(function()
    if not KC then return end -- skipped (or failed) before the cluster started
    kubectl("delete -f " .. dir .. "/widget.yaml --ignore-not-found --wait=false")
    kubectl("delete -f " .. dir .. "/objects.yaml --ignore-not-found --wait=false")
    kubectl("-n " .. NS .. " delete deploy vdesc-dep --ignore-not-found --wait=false")
    kubectl("-n " .. NS .. " delete pod vdesc-run --ignore-not-found --wait=false")
    kubectl("-n " .. NS .. " delete event vdesc-config.a vdesc-config.b --ignore-not-found")
    spec.sh(H.KUBE .. " proxy pass")
    os.execute("rm -rf '" .. dir .. "'")
    if not reuse then H.stop_cluster() end
  end)

  it("pods: running with kubelet events, crashlooping, and one using every container feature", function()
    local out = same("pod vdesc-run -n " .. NS)
    assert.matches("\nStart Time:       %a%a%a, %d%d %a%a%a %d%d%d%d %d%d:%d%d:%d%d [%+%-]%d%d%d%d\n", out)
    assert.matches("\n    Ready:          True\n    Restart Count:  0\n", out)
    assert.matches("\nEvents:\n  Type    Reason     Age", out)
    local crash = first_pod("checkout", "CrashLoopBackOff")
    if crash then
      assert.matches("Last State:%s+Terminated", same("pod " .. crash .. " -n checkout"))
    end
    out = same("pod vdesc-pod -n " .. NS)
    for _, want in ipairs({ "\nInit Containers:\n  setup:\n", "\n    Limits:\n      cpu:     500m\n", "\n    Environment Variables from:\n",
      "\n      PASSWORD:   <set to the key 'password' in secret 'vdesc%-secret'>", "\n      /etc/cfg from cfg %(ro,path=\"a%.txt\"%)\n",
      "\nQoS Class:       Burstable\n", "\nTolerations:     op=Exists\n" }) do
      assert.matches(want, out)
    end
    assert.falsy(out:find("s3cr3t", 1, true), "no secret value")
  end)

  it("workloads: deployment (old and new replica sets), replicaset, statefulset, daemonset, job", function()
    local out = same("deploy vdesc-dep -n " .. NS)
    assert.matches("\nOldReplicaSets:  vdesc%-dep%-%w+ %(0/0 replicas created%)\n"
      .. "NewReplicaSet:   vdesc%-dep%-%w+ %(2/2 replicas created%)\n", out)
    same("deploy api -n checkout")
    local rs = kubectl("-n " .. NS .. " get rs -l app=vdesc-dep -o name"):match("replicaset%.apps/(%S+)")
    assert.matches("Controlled By:  Deployment/vdesc%-dep", same("rs " .. rs .. " -n " .. NS))
    assert.matches("Pods Status:%s+%d+ Running / 0 Waiting", same("statefulset postgres -n data-pipeline"))
    assert.matches("Number of Nodes Misscheduled: 0", same("daemonset node-exporter -n monitoring"))
    assert.matches("Pods Statuses:  0 Active / 1 Succeeded / 0 Failed", same("job db-migrate -n data-pipeline"))
  end)

  it("cronjobs: kubectl's layout (kubectl v1.32 asks for batch/v1, which the v1.20 test server lacks)", function()
    local theirs = kubectl("describe cronjob nightly-report -n data-pipeline")
    if theirs:find("^Name:") then same("cronjob nightly-report -n data-pipeline"); return end
    -- kubectl cannot read batch/v1beta1 cronjobs; the layout is kubectl's describeCronJob
    assert.equal([[
Name:                          nightly-report
Namespace:                     data-pipeline
Labels:                        <none>
Annotations:                   <none>
Schedule:                      0 3 * * *
Concurrency Policy:            Allow
Suspend:                       True
Successful Job History Limit:  3
Failed Job History Limit:      1
Starting Deadline Seconds:     <unset>
Selector:                      <unset>
Parallelism:                   <unset>
Completions:                   <unset>
Pod Template:
  Labels:  <none>
  Containers:
   report:
    Image:           python:3.12-slim
    Port:            <none>
    Host Port:       <none>
    Environment:     <none>
    Mounts:          <none>
  Volumes:           <none>
  Node-Selectors:    <none>
  Tolerations:       <none>
Last Schedule Time:  <unset>
Active Jobs:         <none>
Events:              <none>
]], ok_run("k8s describe cronjob nightly-report -n data-pipeline"))
  end)

  it("services, serviceaccounts, configmaps (with counted events), secrets (byte counts, never values)", function()
    same("svc api -n checkout")
    assert.matches("Image pull secrets:  missing%-pull %(not found%)", same("sa vdesc-sa -n " .. NS))
    same("sa default -n checkout")
    local out = same("cm vdesc-config -n " .. NS)
    assert.matches("\n  Warning  Reloaded  <age> %(x3 over <age>%)%s+vdesc%-watcher  config reloaded", out)
    assert.matches("\n  Normal   Checked   <age>%s+vdesc%-checker  config checked\n", out)
    assert.matches("\nblob: 4 bytes\n", out)
    out = same("secret vdesc-secret -n " .. NS)
    assert.matches("\npassword:  12 bytes\nuser:      5 bytes$", out)
    assert.falsy(out:find("s3cr3t", 1, true))
    -- a service account token secret: vcli prints the token's size, not the token
    local tok = kubectl("-n checkout get secret -o name"):match("secret/(default%-token%-%w+)")
    local mine = ok_run("k8s describe secret " .. tok .. " -n checkout")
    assert.matches("\ntoken:%s+%d+ bytes\n", mine)
    assert.falsy(mine:find("eyJ", 1, true), "no token")
    same("secret " .. tok .. " -n checkout")
  end)

  it("namespaces and nodes (with their non-terminated pods and allocated resources)", function()
    same("ns web")
    -- team-a has a resource quota (vdesc-quota), web none
    spec.eventually(function() return kubectl("-n " .. NS .. " get quota vdesc-quota -o yaml"):match("used:") end, 30000, "quota")
    assert.matches("\nResource Quotas\n  Name:%s+vdesc%-quota\n", same("namespace " .. NS))
    same("quota vdesc-quota -n " .. NS)
    local out = same("node vcli-node-3", { deadline = 60000 })
    assert.matches("\nNon%-terminated Pods:%s+%(%d+ in total%)\n", out)
    assert.matches("\nAllocated resources:\n  %(Total limits may be over 100 percent, i%.e%., overcommitted%.%)\n", out)
  end)

  it("persistentvolumeclaims and ingresses", function()
    local out = same("pvc vdesc-data -n " .. NS)
    assert.matches("\nUsed By:       vdesc%-pod\n", out)
    out = same("ingress vdesc-web -n " .. NS)
    assert.matches("\n  shop%-tls terminates shop%.example%.com\n", out)
  end)

  it("other kinds and CRD objects: kubectl's generic layout", function()
    local out = same("widget gear -n " .. NS)
    assert.matches("\nAPI Version:  vdesc%.example%.com/v1\nKind:         Widget\nMetadata:\n", out)
    assert.matches("\nSpec:\n  API URL:     http://x\n  Color Name:  blue\n", out)
    same("wdg/gear -n " .. NS)
    same("crd widgets.vdesc.example.com")
    same("rolebinding vdesc-rb -n " .. NS)
  end)

  describe("roles, persistent volumes, storage classes, HPAs, PDBs, network policies", function()
    before_all(function()
      spec.write(dir .. "/kinds.yaml", KINDS)
      kubectl("delete -f " .. dir .. "/kinds.yaml --ignore-not-found")
      assert.matches("vdesc%-np%-deny created", kubectl("apply -f " .. dir .. "/kinds.yaml"))
    end)
    after_all(function()
      kubectl("delete -f " .. dir .. "/kinds.yaml --ignore-not-found --wait=false")
    end)

    it("roles and cluster roles: rules broken down, merged and sorted as kubectl does", function()
      local out = same("role vdesc-role -n " .. NS)
      assert.matches("\n  pods/log          %[%]                 %[%]              %[get list watch%]\n", out)
      assert.matches("\n  configmaps        %[%]                 %[other%]         %[get update%]\n", out)
      out = same("clusterrole vdesc-clusterrole")
      assert.matches("\n                                 %[/healthz%]         %[%]              %[get%]\n", out)
      same("clusterrole admin")
      same("role extension-apiserver-authentication-reader -n kube-system")
    end)

    it("persistent volumes (host path, local with node affinity) and storage classes", function()
      local out = same("pv vdesc-pv-host")
      assert.matches("\nNode Affinity:   <none>\n", out)
      assert.matches("\n    HostPathType:  \n", out)
      out = same("pv vdesc-pv-local")
      assert.matches("\n    Term 0:        kubernetes.io/hostname in %[vcli%-node%-1, vcli%-node%-2%]\n"
        .. "                   disk exists\n", out)
      out = same("storageclass vdesc-sc")
      assert.matches("\nMountOptions:\n  debug\n  noatime\n", out)
      assert.matches("\n  Term 0:           topology%.kubernetes%.io/zone in %[z1, z2%]\n", out)
    end)

    it("HPAs: kubectl's v1 layout on this server (no autoscaling/v2), the v2 layout from kubectl's source", function()
      local out = same("hpa vdesc-hpa -n " .. NS)
      assert.matches("\nTarget CPU utilization:   70%%\nCurrent CPU utilization:  <unknown>%%\n", out)
      -- a v2beta2 HPA: kubectl (and vcli) describe its autoscaling/v1 form
      same("hpa vdesc-hpa2 -n " .. NS)
      local raw = kubectl("get --raw /apis/autoscaling/v2beta2/namespaces/" .. NS .. "/horizontalpodautoscalers/vdesc-hpa2")
      local text = H.eval(([[local e = require("k8s.plugin_env").new()
        local obj = e.json.decode(%q)
        obj.status = e.json.decode(%q)
        return require("k8s.describe").describe{ env = e, obj = obj, events = false }]]):format(raw, HPA_V2_STATUS))
      text = text:gsub("\n(CreationTimestamp:%s+)%a%a%a, %d%d %a%a%a %d%d%d%d [%d:]+ [%+%-]%d%d%d%d\n", "\n%1<time>\n")
      assert.equal(HPA_V2, text)
    end)

    it("pod disruption budgets (policy/v1beta1 here) and network policies", function()
      local out = same("pdb vdesc-pdb -n " .. NS)
      assert.matches("\nMin available:  1\nSelector:       app=vdesc\nStatus:\n    Allowed disruptions:  0\n", out)
      out = same("pdb vdesc-pdb-max -n " .. NS)
      assert.matches("\nMax unavailable:  50%%\nSelector:         app in %(vdesc,vdesc%-dep%)\n", out)
      out = same("netpol vdesc-np -n " .. NS)
      assert.matches("\nCreated on:   %d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d [%+%-]%d%d%d%d %S+\n", out)
      assert.matches("\n    From:\n      IPBlock:\n        CIDR: 10%.0%.0%.0/16\n        Except: 10%.0%.1%.0/24, 10%.0%.2%.0/24\n", out)
      out = same("networkpolicy vdesc-np-deny -n " .. NS)
      assert.matches("\n  Allowing ingress traffic:\n    <none> %(Selected pods are isolated for ingress connectivity%)\n"
        .. "  Not affecting egress traffic\n", out)
    end)
  end)

  it("several objects, TYPE/NAME, and errors as kubectl words them", function()
    same("sa default vdesc-sa -n " .. NS)
    same("pod/vdesc-run cm/vdesc-config sa/vdesc-sa -n " .. NS)
    -- no configmap "vdesc": as kubectl, the configmaps whose names start with it
    assert.matches("^Name:%s+vdesc%-config\n", same("cm vdesc -n " .. NS))
    local _, err, st = H.run("k8s describe pod nope -n " .. NS)
    assert.equal(1, st)
    assert.equal('Error from server (NotFound): pods "nope" not found', (err:gsub("\n$", ""):gsub("^vcli: ", "")))
    -- the objects found are shown, then the errors
    local out
    out, err, st = H.run("k8s describe sa vdesc-sa nope -n " .. NS)
    assert.equal(1, st)
    assert.equal(ok_run("k8s describe sa vdesc-sa -n " .. NS), out)
    assert.matches('serviceaccounts "nope" not found', err)
    -- TYPE alone, or with -l: every object of it
    same("sa -n " .. NS)
    same("deploy -n web -l app=api")
    _, err, st = H.run("k8s describe pods -n " .. NS .. " -l vcli-none=x")
    assert.equal(0, st)
    assert.equal("No resources found in " .. NS .. " namespace.\n", err)
  end)

  it("offline: the cached object in the same layout, without events, with the offline note", function()
    local live = ok_run("k8s describe cm vdesc-config -n " .. NS .. " --context vcli-test-proxy")
    spec.sh(H.KUBE .. " proxy refuse")
    local out, err = ok_run("k8s describe cm vdesc-config -n " .. NS .. " --context vcli-test-proxy")
    spec.sh(H.KUBE .. " proxy pass")
    assert.matches("^offline — as of %d+s ago", err)
    assert.equal(live:match("^(.-\n)Events:"), out)
  end)
end)
