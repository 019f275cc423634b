package main

// The node agent: a fake kubelet for a cluster without containers.
//
// It registers Node objects (address 127.0.0.1, its own HTTPS port as the
// kubelet endpoint), binds unscheduled pods to them, reports pod status
// through the status subresource, completes graceful deletions, and serves
// the kubelet endpoints the API server proxies to:
//   /containerLogs/<ns>/<pod>/<container>   deterministic log lines
//   /exec/<ns>/<pod>/<container>            runs the command for real (WebSocket)
//   /attach/<ns>/<pod>/<container>          a fake main process (WebSocket)
//   /portForward/<ns>/<pod>                 connects to 127.0.0.1:<port> (WebSocket)
//
// Pod behaviour is chosen by the annotation vcli-test/fate:
//   running (default) | restarting | crashloop | completed | failed |
//   pending | imagepull | oomkilled | notready
// Pods with restartPolicy Never/OnFailure or owned by a Job default to completed.
// vcli-test/restarts: N sets the restart count; vcli-test/log-lines: N the log length (default 100);
// vcli-test/log-line-bytes: N the length of each line.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type container struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	Ports []struct {
		ContainerPort int `json:"containerPort"`
	} `json:"ports"`
}

type ownerRef struct {
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Controller *bool  `json:"controller"`
}

type pod struct {
	Metadata struct {
		Name              string            `json:"name"`
		Namespace         string            `json:"namespace"`
		UID               string            `json:"uid"`
		ResourceVersion   string            `json:"resourceVersion"`
		DeletionTimestamp *string           `json:"deletionTimestamp"`
		CreationTimestamp string            `json:"creationTimestamp"`
		Annotations       map[string]string `json:"annotations"`
		Labels            map[string]string `json:"labels"`
		OwnerReferences   []ownerRef        `json:"ownerReferences"`
	} `json:"metadata"`
	Spec struct {
		NodeName       string            `json:"nodeName"`
		RestartPolicy  string            `json:"restartPolicy"`
		NodeSelector   map[string]string `json:"nodeSelector"`
		Containers     []container       `json:"containers"`
		InitContainers []container       `json:"initContainers"`
		Affinity       *struct {
			NodeAffinity *struct {
				Required *struct {
					Terms []struct {
						MatchFields []struct {
							Key      string   `json:"key"`
							Operator string   `json:"operator"`
							Values   []string `json:"values"`
						} `json:"matchFields"`
					} `json:"nodeSelectorTerms"`
				} `json:"requiredDuringSchedulingIgnoredDuringExecution"`
			} `json:"nodeAffinity"`
		} `json:"affinity"`
	} `json:"spec"`
	Status struct {
		Phase string `json:"phase"`
	} `json:"status"`
}

// podState is what the agent remembers about a pod it runs.
type podState struct {
	p        pod
	fate     string
	started  time.Time
	restarts int
	ip       string
	reported bool // status was written
	queued   bool // waiting in the work queue
}

type agent struct {
	c           *kclient
	nodes       []string
	nodeLabels  map[string]map[string]string
	port        int
	workdir     string
	logInterval time.Duration
	deleteDelay time.Duration
	mu          sync.Mutex
	pods        map[string]*podState // key ns/name
	work        chan string
	rr          uint32
	children    map[int]*os.Process
}

func runAgent(args []string) {
	fs := flag.NewFlagSet("agent", flag.ExitOnError)
	server := fs.String("server", "", "API server URL")
	tokenFile := fs.String("token-file", "", "file with the bearer token")
	ca := fs.String("ca", "", "CA bundle of the API server")
	nodes := fs.Int("nodes", 3, "number of nodes to register")
	prefix := fs.String("node-prefix", "vcli-node-", "node name prefix")
	port := fs.Int("port", 10250, "HTTPS port for the kubelet API (on 127.0.0.1)")
	cert := fs.String("tls-cert", "", "serving certificate")
	key := fs.String("tls-key", "", "serving key")
	clientCA := fs.String("client-ca", "", "require client certificates signed by this CA (the API server's kubelet client cert)")
	workdir := fs.String("workdir", ".", "working directory for exec'd commands")
	logInterval := fs.Duration("log-interval", time.Second, "interval between new log lines when following")
	deleteDelay := fs.Duration("delete-delay", 300*time.Millisecond, "how long a deleted pod stays Terminating")
	workers := fs.Int("workers", 16, "parallel status writers")
	fs.Parse(args)
	tok, err := os.ReadFile(*tokenFile)
	if err != nil {
		fatalf("agent: %v", err)
	}
	a := &agent{
		c:           newClient(*server, strings.TrimSpace(string(tok)), *ca, *workers),
		port:        *port,
		workdir:     *workdir,
		logInterval: *logInterval,
		deleteDelay: *deleteDelay,
		pods:        map[string]*podState{},
		work:        make(chan string, 100000),
		nodeLabels:  map[string]map[string]string{},
		children:    map[int]*os.Process{},
	}
	for i := 1; i <= *nodes; i++ {
		a.nodes = append(a.nodes, fmt.Sprintf("%s%d", *prefix, i))
	}
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)

	// kubelet API server
	tlsCfg := &tls.Config{}
	if *clientCA != "" {
		tlsCfg.ClientCAs = loadCA(*clientCA)
		tlsCfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	srv := &http.Server{Addr: fmt.Sprintf("127.0.0.1:%d", *port), Handler: a, TLSConfig: tlsCfg,
		ErrorLog: log.New(io.Discard, "", 0)}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		fatalf("agent: listen: %v", err)
	}
	go func() {
		if err := srv.ServeTLS(ln, *cert, *key); err != nil && err != http.ErrServerClosed {
			fatalf("agent: serve: %v", err)
		}
	}()

	// kill exec'd children when we are stopped
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		s := <-sig
		a.mu.Lock()
		for _, p := range a.children {
			syscall.Kill(-p.Pid, syscall.SIGKILL)
			p.Kill()
		}
		a.mu.Unlock()
		log.Printf("agent: %v, exiting", s)
		os.Exit(0)
	}()

	ctx := context.Background()
	for i, n := range a.nodes {
		for {
			if err := a.registerNode(ctx, n, i); err != nil {
				log.Printf("register node %s: %v (retrying)", n, err)
				time.Sleep(500 * time.Millisecond)
				continue
			}
			break
		}
	}
	log.Printf("agent: nodes %v registered, kubelet port %d", a.nodes, *port)
	for i := 0; i < *workers; i++ {
		go a.worker()
	}
	go a.heartbeat()
	go a.nodeHeartbeat()
	go a.churn()
	a.watchPods(ctx)
}

func nodeZone(i int) string { return "zone-" + string(rune('a'+i%3)) }

func (a *agent) registerNode(ctx context.Context, name string, i int) error {
	labels := map[string]string{
		"kubernetes.io/hostname":           name,
		"kubernetes.io/os":                 "linux",
		"kubernetes.io/arch":               "amd64",
		"beta.kubernetes.io/os":            "linux",
		"beta.kubernetes.io/arch":          "amd64",
		"node-role.kubernetes.io/worker":   "",
		"topology.kubernetes.io/zone":      nodeZone(i),
		"node.kubernetes.io/instance-type": "vcli.test",
	}
	if i == 0 {
		labels["node-role.kubernetes.io/control-plane"] = ""
	}
	a.mu.Lock()
	a.nodeLabels[name] = labels
	a.mu.Unlock()
	node := obj{"apiVersion": "v1", "kind": "Node",
		"metadata": obj{"name": name, "labels": labels,
			"annotations": obj{"node.alpha.kubernetes.io/ttl": "0", "vcli-test/agent": "true"}},
		"spec": obj{"podCIDR": fmt.Sprintf("10.%d.0.0/16", 100+i)}}
	if err := a.c.post(ctx, "/api/v1/nodes", node, nil); err != nil && !isCode(err, 409) {
		return err
	}
	// the TaintNodesByCondition admission adds not-ready:NoSchedule; nothing else removes it here
	if err := a.c.mergePatch(ctx, "/api/v1/nodes/"+name, obj{"spec": obj{"taints": nil}}); err != nil {
		return err
	}
	return a.c.mergePatch(ctx, "/api/v1/nodes/"+name+"/status", obj{"status": a.nodeStatus(name)})
}

func (a *agent) nodeStatus(name string) obj {
	now := rfc3339(time.Now())
	cond := func(t, status, reason, msg string) obj {
		return obj{"type": t, "status": status, "reason": reason, "message": msg,
			"lastHeartbeatTime": now, "lastTransitionTime": now}
	}
	res := obj{"cpu": "8", "memory": "32Gi", "pods": "1000", "ephemeral-storage": "100Gi"}
	return obj{
		"addresses":       []obj{{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": name}},
		"daemonEndpoints": obj{"kubeletEndpoint": obj{"Port": a.port}},
		"capacity":        res, "allocatable": res,
		"conditions": []obj{
			cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
			cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
			cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
			cond("Ready", "True", "KubeletReady", "kubelet is posting ready status (vcli test node agent)"),
		},
		"nodeInfo": obj{"machineID": fmt.Sprintf("%032x", fnv32(name)), "systemUUID": "vcli-" + name, "bootID": "vcli-boot",
			"kernelVersion": "6.1.0-vcli", "osImage": "vcli test node agent", "containerRuntimeVersion": "fake://1.0.0",
			"kubeletVersion": "v1.20.2", "kubeProxyVersion": "v1.20.2", "operatingSystem": "linux", "architecture": "amd64"},
	}
}

func (a *agent) renewLeases() {
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")
	for _, n := range a.nodes {
		path := "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
		err := a.c.mergePatch(context.Background(), path+"/"+n, obj{"spec": obj{"renewTime": now}})
		if isCode(err, 404) {
			err = a.c.post(context.Background(), path, obj{"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
				"metadata": obj{"name": n, "namespace": "kube-node-lease"},
				"spec":     obj{"holderIdentity": n, "leaseDurationSeconds": 40, "renewTime": now}}, nil)
		}
		if err != nil && !isCode(err, 409) {
			log.Printf("lease %s: %v", n, err)
		}
	}
}

func (a *agent) heartbeat() {
	a.renewLeases()
	for range time.Tick(10 * time.Second) {
		a.renewLeases()
	}
}

func (a *agent) nodeHeartbeat() {
	for range time.Tick(30 * time.Second) {
		for _, n := range a.nodes {
			if err := a.c.mergePatch(context.Background(), "/api/v1/nodes/"+n+"/status", obj{"status": a.nodeStatus(n)}); err != nil {
				log.Printf("heartbeat %s: %v", n, err)
			}
		}
	}
}

// churn makes crash-looping pods restart again now and then, like a real kubelet.
func (a *agent) churn() {
	for range time.Tick(60 * time.Second) {
		a.mu.Lock()
		var keys []string
		for k, ps := range a.pods {
			if ps.fate == "crashloop" && ps.reported {
				ps.restarts++
				keys = append(keys, k)
			}
		}
		a.mu.Unlock()
		a.mu.Lock()
		for _, k := range keys {
			a.queue(k)
		}
		a.mu.Unlock()
	}
}

func fnv32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

func (a *agent) isOurNode(n string) bool {
	for _, x := range a.nodes {
		if x == n {
			return true
		}
	}
	return false
}

func (a *agent) watchPods(ctx context.Context) {
	for {
		rv, err := a.listPods(ctx)
		if err != nil {
			log.Printf("list pods: %v", err)
			time.Sleep(time.Second)
			continue
		}
		if err := a.watchFrom(ctx, rv); err != nil {
			log.Printf("watch pods: %v (relisting)", err)
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func (a *agent) listPods(ctx context.Context) (string, error) {
	cont := ""
	var rv string
	seen := map[string]bool{}
	for {
		var l struct {
			Metadata struct {
				ResourceVersion string `json:"resourceVersion"`
				Continue        string `json:"continue"`
			} `json:"metadata"`
			Items []pod `json:"items"`
		}
		path := "/api/v1/pods?limit=500"
		if cont != "" {
			path += "&continue=" + url.QueryEscape(cont)
		}
		if err := a.c.get(ctx, path, &l); err != nil {
			return "", err
		}
		for i := range l.Items {
			seen[l.Items[i].Metadata.Namespace+"/"+l.Items[i].Metadata.Name] = true
			a.observe("ADDED", l.Items[i])
		}
		rv = l.Metadata.ResourceVersion
		if cont = l.Metadata.Continue; cont == "" {
			break
		}
	}
	a.mu.Lock()
	for k := range a.pods {
		if !seen[k] {
			delete(a.pods, k)
		}
	}
	a.mu.Unlock()
	return rv, nil
}

func (a *agent) watchFrom(ctx context.Context, rv string) error {
	req, _ := http.NewRequestWithContext(ctx, "GET",
		a.c.server+"/api/v1/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=600&resourceVersion="+rv, nil)
	req.Header.Set("Authorization", "Bearer "+a.c.token)
	resp, err := a.c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	dec := json.NewDecoder(bufio.NewReaderSize(resp.Body, 1<<20))
	for {
		var ev struct {
			Type   string          `json:"type"`
			Object json.RawMessage `json:"object"`
		}
		if err := dec.Decode(&ev); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		switch ev.Type {
		case "ERROR":
			return fmt.Errorf("watch error: %s", ev.Object)
		case "BOOKMARK":
			continue
		}
		var p pod
		if err := json.Unmarshal(ev.Object, &p); err != nil {
			return err
		}
		a.observe(ev.Type, p)
	}
}

func (a *agent) observe(typ string, p pod) {
	key := p.Metadata.Namespace + "/" + p.Metadata.Name
	a.mu.Lock()
	defer a.mu.Unlock()
	if typ == "DELETED" {
		delete(a.pods, key)
		return
	}
	ps := a.pods[key]
	if ps != nil && ps.p.Metadata.UID != p.Metadata.UID {
		ps = nil // same name, new pod
	}
	if ps == nil {
		ps = &podState{}
		a.pods[key] = ps
	}
	ps.p = p
	switch {
	case p.Metadata.DeletionTimestamp != nil:
		if p.Spec.NodeName == "" || a.isOurNode(p.Spec.NodeName) {
			a.queue(key)
		}
	case p.Spec.NodeName == "":
		a.queue(key) // bind
	case a.isOurNode(p.Spec.NodeName) && !ps.reported && (p.Status.Phase == "" || p.Status.Phase == "Pending"):
		a.queue(key)
	case a.isOurNode(p.Spec.NodeName) && !ps.reported:
		// already running (e.g. agent restarted): adopt without rewriting the status
		ps.reported = true
		ps.fate = fateOf(p)
		ps.started = time.Now()
		ps.ip = podIP(p.Metadata.UID)
	}
}

func (a *agent) queue(key string) {
	// called with a.mu held
	if ps := a.pods[key]; ps != nil {
		if ps.queued {
			return
		}
		ps.queued = true
	}
	select {
	case a.work <- key:
	default:
		go func() { a.work <- key }()
	}
}

func (a *agent) worker() {
	for key := range a.work {
		a.mu.Lock()
		ps := a.pods[key]
		var p pod
		if ps != nil {
			p = ps.p
			ps.queued = false
		}
		a.mu.Unlock()
		if ps == nil {
			continue
		}
		var err error
		switch {
		case p.Metadata.DeletionTimestamp != nil:
			err = a.finishDelete(p)
		case p.Spec.NodeName == "":
			err = a.bind(p)
		default:
			err = a.report(key, ps)
		}
		if err != nil && !isCode(err, 404) && !isCode(err, 409) {
			log.Printf("%s: %v", key, err)
		}
	}
}

func (a *agent) finishDelete(p pod) error {
	time.Sleep(a.deleteDelay)
	body := obj{"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
		"preconditions": obj{"uid": p.Metadata.UID}}
	return retry(5, func() error {
		return a.c.do(context.Background(), "DELETE",
			"/api/v1/namespaces/"+p.Metadata.Namespace+"/pods/"+p.Metadata.Name, "", body, nil)
	})
}

func (a *agent) pickNode(p pod) (string, string) {
	if aff := p.Spec.Affinity; aff != nil && aff.NodeAffinity != nil && aff.NodeAffinity.Required != nil {
		for _, t := range aff.NodeAffinity.Required.Terms {
			for _, f := range t.MatchFields {
				if f.Key == "metadata.name" && f.Operator == "In" {
					for _, v := range f.Values {
						if a.isOurNode(v) {
							return v, ""
						}
					}
				}
			}
		}
	}
	var ok []string
	a.mu.Lock()
	for _, n := range a.nodes {
		match := true
		for k, v := range p.Spec.NodeSelector {
			if lv, has := a.nodeLabels[n][k]; !has || lv != v {
				match = false
			}
		}
		if match {
			ok = append(ok, n)
		}
	}
	a.rr++
	rr := a.rr
	a.mu.Unlock()
	if len(ok) == 0 {
		return "", fmt.Sprintf("0/%d nodes are available: %d node(s) didn't match node selector.", len(a.nodes), len(a.nodes))
	}
	return ok[int(rr)%len(ok)], ""
}

func (a *agent) bind(p pod) error {
	ctx := context.Background()
	base := "/api/v1/namespaces/" + p.Metadata.Namespace + "/pods/" + p.Metadata.Name
	node, why := a.pickNode(p)
	if node == "" {
		return a.c.mergePatch(ctx, base+"/status", obj{"status": obj{"phase": "Pending", "conditions": []obj{{
			"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": why,
			"lastTransitionTime": rfc3339(time.Now())}}}})
	}
	err := a.c.post(ctx, base+"/binding", obj{"apiVersion": "v1", "kind": "Binding",
		"metadata": obj{"name": p.Metadata.Name, "uid": p.Metadata.UID},
		"target":   obj{"apiVersion": "v1", "kind": "Node", "name": node}}, nil)
	if err == nil && p.Metadata.Annotations["vcli-test/seeded"] == "" {
		a.event(p, "Normal", "Scheduled", "default-scheduler", "",
			fmt.Sprintf("Successfully assigned %s/%s to %s", p.Metadata.Namespace, p.Metadata.Name, node))
	}
	return err
}

func fateOf(p pod) string {
	if f := p.Metadata.Annotations["vcli-test/fate"]; f != "" {
		return f
	}
	for _, c := range p.Spec.Containers {
		if strings.Contains(c.Image, "does-not-exist") || strings.HasSuffix(c.Image, ":bad-tag") {
			return "imagepull"
		}
	}
	if p.Spec.RestartPolicy == "Never" || p.Spec.RestartPolicy == "OnFailure" {
		return "completed"
	}
	for _, o := range p.Metadata.OwnerReferences {
		if o.Kind == "Job" {
			return "completed"
		}
	}
	return "running"
}

// podIP is the pod's address: private, never loopback (the endpoints controller
// refuses 127/8 and retried every service for ever: 1.6 cores busy at 50 000 pods).
func podIP(uid string) string {
	h := fnv32(uid)
	return fmt.Sprintf("10.%d.%d.%d", 100+(h>>16)%3, (h>>8)&0xff, 1+(h&0xff)%254)
}

func shaHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func imageRef(img string) string {
	if !strings.Contains(img, "/") {
		img = "docker.io/library/" + img
	} else if !strings.Contains(strings.SplitN(img, "/", 2)[0], ".") {
		img = "docker.io/" + img
	}
	if !strings.Contains(img[strings.LastIndex(img, "/")+1:], ":") {
		img += ":latest"
	}
	return img
}

// report writes the pod's status as a kubelet would.
func (a *agent) report(key string, ps *podState) error {
	a.mu.Lock()
	p := ps.p
	first := !ps.reported
	if first {
		ps.fate = fateOf(p)
		ps.started = time.Now()
		ps.ip = podIP(p.Metadata.UID)
		ps.restarts = 0
		if n, err := strconv.Atoi(p.Metadata.Annotations["vcli-test/restarts"]); err == nil {
			ps.restarts = n
		} else if ps.fate == "restarting" || ps.fate == "crashloop" || ps.fate == "oomkilled" {
			ps.restarts = 1 + int(fnv32(p.Metadata.Name)%7)
		}
	}
	fate, started, restarts, ip := ps.fate, ps.started, ps.restarts, ps.ip
	a.mu.Unlock()

	now := time.Now()
	ts := rfc3339(started)
	phase := "Running"
	ready := true
	var statuses []obj
	for i, c := range p.Spec.Containers {
		st := obj{"name": c.Name, "image": imageRef(c.Image),
			"imageID":      imageRef(c.Image)[:strings.LastIndex(imageRef(c.Image), ":")] + "@sha256:" + shaHex(c.Image),
			"containerID":  "containerd://" + shaHex(p.Metadata.UID+c.Name+strconv.Itoa(restarts)),
			"restartCount": 0, "ready": true, "started": true,
			"state":     obj{"running": obj{"startedAt": ts}},
			"lastState": obj{}}
		main := i == 0
		terminated := func(code int, reason string, at time.Time) obj {
			return obj{"terminated": obj{"exitCode": code, "reason": reason,
				"startedAt": rfc3339(at.Add(-30 * time.Second)), "finishedAt": rfc3339(at),
				"containerID": "containerd://" + shaHex(p.Metadata.UID+c.Name+strconv.Itoa(restarts-1))}}
		}
		switch {
		case fate == "restarting" && main:
			st["restartCount"] = restarts
			st["lastState"] = terminated(137, "Error", started.Add(-2*time.Minute))
		case fate == "oomkilled" && main:
			st["restartCount"] = restarts
			st["lastState"] = terminated(137, "OOMKilled", started.Add(-time.Minute))
		case fate == "crashloop" && main:
			st["restartCount"] = restarts
			st["ready"], st["started"] = false, false
			st["state"] = obj{"waiting": obj{"reason": "CrashLoopBackOff",
				"message": fmt.Sprintf("back-off 5m0s restarting failed container=%s pod=%s_%s(%s)", c.Name, p.Metadata.Name, p.Metadata.Namespace, p.Metadata.UID)}}
			st["lastState"] = terminated(1, "Error", now.Add(-5*time.Second))
			ready = false
		case fate == "notready" && main:
			st["ready"] = false
			ready = false
		case fate == "completed":
			st["ready"], st["started"] = false, false
			st["state"] = obj{"terminated": obj{"exitCode": 0, "reason": "Completed", "startedAt": ts,
				"finishedAt": rfc3339(started.Add(time.Second)), "containerID": st["containerID"]}}
			phase, ready = "Succeeded", false
		case fate == "failed":
			st["ready"], st["started"] = false, false
			st["state"] = obj{"terminated": obj{"exitCode": 1, "reason": "Error", "startedAt": ts,
				"finishedAt": rfc3339(started.Add(time.Second)), "containerID": st["containerID"]}}
			phase, ready = "Failed", false
		case fate == "pending":
			st = obj{"name": c.Name, "image": c.Image, "imageID": "", "restartCount": 0, "ready": false, "started": false,
				"state": obj{"waiting": obj{"reason": "ContainerCreating"}}, "lastState": obj{}}
			phase, ready = "Pending", false
		case fate == "imagepull":
			st = obj{"name": c.Name, "image": c.Image, "imageID": "", "restartCount": 0, "ready": false, "started": false,
				"state": obj{"waiting": obj{"reason": "ImagePullBackOff",
					"message": fmt.Sprintf("Back-off pulling image %q", c.Image)}}, "lastState": obj{}}
			phase, ready = "Pending", false
		}
		statuses = append(statuses, st)
	}
	var initStatuses []obj
	for _, c := range p.Spec.InitContainers {
		initStatuses = append(initStatuses, obj{"name": c.Name, "image": imageRef(c.Image),
			"imageID":     "docker.io/library/" + c.Name + "@sha256:" + shaHex(c.Image),
			"containerID": "containerd://" + shaHex(p.Metadata.UID+"init"+c.Name), "ready": true, "restartCount": 0,
			"state": obj{"terminated": obj{"exitCode": 0, "reason": "Completed", "startedAt": ts, "finishedAt": ts}}, "lastState": obj{}})
	}
	b := func(v bool) string {
		if v {
			return "True"
		}
		return "False"
	}
	cond := func(t string, v bool, reason string) obj {
		c := obj{"type": t, "status": b(v), "lastProbeTime": nil, "lastTransitionTime": ts}
		if reason != "" && !v {
			c["reason"] = reason
		}
		return c
	}
	notReadyReason := "ContainersNotReady"
	if phase == "Succeeded" || phase == "Failed" {
		notReadyReason = "PodCompleted"
	}
	status := obj{
		"phase": phase, "hostIP": "127.0.0.1", "podIP": ip, "podIPs": []obj{{"ip": ip}},
		"startTime": ts, "qosClass": "BestEffort",
		"conditions": []obj{cond("Initialized", true, ""), cond("Ready", ready, notReadyReason),
			cond("ContainersReady", ready, notReadyReason), cond("PodScheduled", true, "")},
		"containerStatuses": statuses,
	}
	if initStatuses != nil {
		status["initContainerStatuses"] = initStatuses
	}
	if fate == "pending" || fate == "imagepull" {
		delete(status, "podIP")
		delete(status, "podIPs")
	}
	err := retry(5, func() error {
		return a.c.mergePatch(context.Background(),
			"/api/v1/namespaces/"+p.Metadata.Namespace+"/pods/"+p.Metadata.Name+"/status", obj{"status": status})
	})
	if err != nil {
		return err
	}
	a.mu.Lock()
	ps.reported = true
	a.mu.Unlock()
	if first && p.Metadata.Annotations["vcli-test/seeded"] == "" {
		for _, c := range p.Spec.Containers {
			fp := "spec.containers{" + c.Name + "}"
			switch fate {
			case "imagepull":
				a.event(p, "Warning", "Failed", "kubelet", fp, fmt.Sprintf("Failed to pull image %q: rpc error: code = NotFound desc = failed to resolve reference %q: not found", c.Image, imageRef(c.Image)))
				a.event(p, "Normal", "BackOff", "kubelet", fp, fmt.Sprintf("Back-off pulling image %q", c.Image))
			case "pending":
			default:
				a.event(p, "Normal", "Pulled", "kubelet", fp, fmt.Sprintf("Container image %q already present on machine", c.Image))
				a.event(p, "Normal", "Created", "kubelet", fp, "Created container "+c.Name)
				a.event(p, "Normal", "Started", "kubelet", fp, "Started container "+c.Name)
				if fate == "crashloop" {
					a.event(p, "Warning", "BackOff", "kubelet", fp, "Back-off restarting failed container")
				}
			}
		}
	}
	return nil
}

func (a *agent) event(p pod, typ, reason, component, fieldPath, msg string) {
	now := time.Now()
	ev := obj{"apiVersion": "v1", "kind": "Event",
		"metadata": obj{"name": fmt.Sprintf("%s.%x", p.Metadata.Name, now.UnixNano()), "namespace": p.Metadata.Namespace},
		"involvedObject": obj{"kind": "Pod", "namespace": p.Metadata.Namespace, "name": p.Metadata.Name,
			"uid": p.Metadata.UID, "apiVersion": "v1", "fieldPath": fieldPath},
		"reason": reason, "message": msg, "type": typ, "count": 1,
		"source":         obj{"component": component, "host": p.Spec.NodeName},
		"firstTimestamp": rfc3339(now), "lastTimestamp": rfc3339(now), "reportingComponent": component}
	if fieldPath == "" {
		delete(ev["involvedObject"].(obj), "fieldPath")
	}
	if err := a.c.post(context.Background(), "/api/v1/namespaces/"+p.Metadata.Namespace+"/events", ev, nil); err != nil && !isCode(err, 404) && !isCode(err, 403) {
		log.Printf("event %s/%s: %v", p.Metadata.Namespace, p.Metadata.Name, err)
	}
}

// ------------------------------------------------------------ kubelet API ---

func httpStatusError(w http.ResponseWriter, code int, msg string) {
	http.Error(w, msg, code)
}

// lookup returns the pod by namespace/name, asking the API server if the agent has not seen it yet.
func (a *agent) lookup(ns, name string) (pod, *podState, bool) {
	a.mu.Lock()
	ps := a.pods[ns+"/"+name]
	a.mu.Unlock()
	if ps != nil {
		a.mu.Lock()
		defer a.mu.Unlock()
		return ps.p, ps, true
	}
	var p pod
	if err := a.c.get(context.Background(), "/api/v1/namespaces/"+ns+"/pods/"+name, &p); err != nil {
		return p, nil, false
	}
	return p, nil, true
}

func (a *agent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	log.Printf("kubelet API: %s %s (ws=%v)", r.Method, r.URL.RequestURI(), isWebSocket(r))
	switch {
	case parts[0] == "healthz":
		io.WriteString(w, "ok")
	case parts[0] == "containerLogs" && len(parts) == 4:
		a.serveLogs(w, r, parts[1], parts[2], parts[3])
	case (parts[0] == "exec" || parts[0] == "attach") && (len(parts) == 4 || len(parts) == 5):
		a.serveExec(w, r, parts[0] == "attach", parts[1], parts[2], parts[len(parts)-1])
	case parts[0] == "portForward" && (len(parts) == 3 || len(parts) == 4):
		a.servePortForward(w, r, parts[1], parts[2])
	default:
		http.NotFound(w, r)
	}
}

func containerNames(p pod) []string {
	var n []string
	for _, c := range p.Spec.InitContainers {
		n = append(n, c.Name)
	}
	for _, c := range p.Spec.Containers {
		n = append(n, c.Name)
	}
	return n
}

func hasContainer(p pod, name string) bool {
	for _, n := range containerNames(p) {
		if n == name {
			return true
		}
	}
	return false
}

// LogLine is the deterministic content of line n (1-based) of a container's log.
func logLine(pod, container string, n int, previous bool) string {
	if previous {
		return fmt.Sprintf("%s %s previous line %d", pod, container, n)
	}
	return fmt.Sprintf("%s %s line %d", pod, container, n)
}

func (a *agent) serveLogs(w http.ResponseWriter, r *http.Request, ns, name, cname string) {
	p, ps, ok := a.lookup(ns, name)
	if !ok {
		httpStatusError(w, 404, fmt.Sprintf("pod %s/%s not found", ns, name))
		return
	}
	if !hasContainer(p, cname) {
		httpStatusError(w, 400, fmt.Sprintf("container %s is not valid for pod %s", cname, name))
		return
	}
	fate, started, restarts := fateOf(p), time.Now(), 0
	if ps != nil {
		a.mu.Lock()
		if ps.reported {
			fate, started, restarts = ps.fate, ps.started, ps.restarts
		}
		a.mu.Unlock()
	}
	switch fate {
	case "pending":
		httpStatusError(w, 400, fmt.Sprintf("container %q in pod %q is waiting to start: ContainerCreating", cname, name))
		return
	case "imagepull":
		httpStatusError(w, 400, fmt.Sprintf("container %q in pod %q is waiting to start: trying and failing to pull image", cname, name))
		return
	}
	q := r.URL.Query()
	previous := q.Get("previous") == "true" || q.Get("previous") == "1"
	if previous && restarts == 0 {
		httpStatusError(w, 400, fmt.Sprintf("previous terminated container %q in pod %q not found", cname, name))
		return
	}
	total := 100
	if n, err := strconv.Atoi(p.Metadata.Annotations["vcli-test/log-lines"]); err == nil && n >= 0 {
		total = n
	}
	pad := 0 // vcli-test/log-line-bytes: N makes each line N bytes long (its text, then "x"s)
	if n, err := strconv.Atoi(p.Metadata.Annotations["vcli-test/log-line-bytes"]); err == nil && n > 0 {
		pad = n
	}
	if previous {
		total = 20
		started = started.Add(-time.Minute)
	}
	follow := (q.Get("follow") == "true" || q.Get("follow") == "1") && !previous && fate != "completed" && fate != "failed"
	timestamps := q.Get("timestamps") == "true" || q.Get("timestamps") == "1"
	limit := -1
	if v, err := strconv.Atoi(q.Get("limitBytes")); err == nil && v > 0 {
		limit = v
	}
	// line n of the static log was written at started - (total-n) seconds
	at := func(n int) time.Time { return started.Add(-time.Duration(total-n) * time.Second) }
	first := 1
	if v, err := strconv.Atoi(q.Get("tailLines")); err == nil && v >= 0 {
		if total-v+1 > first {
			first = total - v + 1
		}
	}
	var since time.Time
	if v, err := strconv.Atoi(q.Get("sinceSeconds")); err == nil && v > 0 {
		since = time.Now().Add(-time.Duration(v) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			since = t
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	fl, _ := w.(http.Flusher)
	written := 0
	emit := func(n int, t time.Time) bool {
		s := logLine(name, cname, n, previous)
		if len(s) < pad {
			s += strings.Repeat("x", pad-len(s))
		}
		s += "\n"
		if timestamps {
			s = t.UTC().Format(time.RFC3339Nano) + " " + s
		}
		if limit >= 0 && written+len(s) > limit {
			s = s[:limit-written]
		}
		k, err := io.WriteString(w, s)
		written += k
		return err == nil && (limit < 0 || written < limit)
	}
	for n := first; n <= total; n++ {
		if !since.IsZero() && at(n).Before(since) {
			continue
		}
		if !emit(n, at(n)) {
			return
		}
	}
	if !follow {
		return
	}
	if fl != nil {
		fl.Flush()
	}
	tick := time.NewTicker(a.logInterval)
	defer tick.Stop()
	for n := total + 1; ; n++ {
		select {
		case <-r.Context().Done():
			return
		case t := <-tick.C:
			if !emit(n, t) {
				return
			}
			if fl != nil {
				fl.Flush()
			}
		}
	}
}

var execProtocols = []string{"v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io",
	"channel.k8s.io", "base64.channel.k8s.io"}

func boolParam(q url.Values, names ...string) bool {
	for _, n := range names {
		if v := q.Get(n); v == "1" || v == "true" {
			return true
		}
	}
	return false
}

func statusJSON(status, message, reason string, code int, causes []obj) []byte {
	s := obj{"metadata": obj{}, "status": status}
	if message != "" {
		s["message"] = message
	}
	if reason != "" {
		s["reason"] = reason
	}
	if code != 0 {
		s["code"] = code
	}
	if causes != nil {
		s["details"] = obj{"causes": causes}
	}
	b, _ := json.Marshal(s)
	return b
}

func (a *agent) serveExec(w http.ResponseWriter, r *http.Request, attach bool, ns, name, cname string) {
	p, ps, ok := a.lookup(ns, name)
	if !ok {
		httpStatusError(w, 404, fmt.Sprintf("pod %s/%s not found", ns, name))
		return
	}
	if !hasContainer(p, cname) {
		httpStatusError(w, 400, fmt.Sprintf("container %s is not valid for pod %s", cname, name))
		return
	}
	fate := fateOf(p)
	if ps != nil {
		a.mu.Lock()
		if ps.reported {
			fate = ps.fate
		}
		a.mu.Unlock()
	}
	switch fate {
	case "crashloop", "completed", "failed", "pending", "imagepull":
		// like the kubelet: no running container to exec into
		httpStatusError(w, 500, fmt.Sprintf("container not found (%q)", cname))
		return
	}
	if !isWebSocket(r) {
		httpStatusError(w, 400, "vcli test node agent: exec/attach/portforward are served over WebSocket "+
			"(v5/v4.channel.k8s.io) only; SPDY is not implemented")
		return
	}
	q := r.URL.Query()
	stdin := boolParam(q, "input", "stdin")
	stdout := boolParam(q, "output", "stdout")
	stderr := boolParam(q, "error", "stderr")
	tty := boolParam(q, "tty")
	argv := q["command"]
	if !attach && len(argv) == 0 {
		httpStatusError(w, 400, "you must specify at least 1 command")
		return
	}
	ws, err := wsUpgrade(w, r, execProtocols)
	if err != nil {
		return
	}
	defer ws.close()
	v4 := strings.HasPrefix(ws.protocol, "v4.") || strings.HasPrefix(ws.protocol, "v5.")
	// like the kubelet: an empty first frame tells the client the streams are open
	switch {
	case stdout:
		ws.writeChannel(1, nil)
	case stderr:
		ws.writeChannel(2, nil)
	default:
		ws.writeChannel(3, nil)
	}
	writeStatus := func(err error, code int) {
		if !v4 {
			if err != nil {
				ws.writeChannel(3, []byte(err.Error()))
			}
			return
		}
		switch {
		case err == nil && code == 0:
			ws.writeChannel(3, statusJSON("Success", "", "", 0, nil))
		case err == nil:
			ws.writeChannel(3, statusJSON("Failure",
				fmt.Sprintf("command terminated with non-zero exit code: error executing command %v, exit code %d", argv, code),
				"NonZeroExitCode", 0, []obj{{"reason": "ExitCode", "message": strconv.Itoa(code)}}))
		default:
			ws.writeChannel(3, statusJSON("Failure", "Internal error occurred: "+err.Error(), "InternalError", 500,
				[]obj{{"message": err.Error()}}))
		}
	}
	if attach {
		a.fakeAttach(ws, p, cname, stdin, stdout, tty)
		return
	}
	a.runCommand(ws, p, cname, argv, stdin, stdout, stderr, tty, writeStatus)
}

// fakeAttach emits the container's "output" (a new log line per interval) and echoes stdin.
func (a *agent) fakeAttach(ws *wsConn, p pod, cname string, stdin, stdout, tty bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			ch, data, err := ws.readChannel()
			if err != nil {
				return
			}
			if ch == 0 && stdin && stdout {
				ws.writeChannel(1, data)
			}
		}
	}()
	tick := time.NewTicker(a.logInterval)
	defer tick.Stop()
	for n := 1; ; n++ {
		select {
		case <-done:
			return
		case <-tick.C:
			if stdout {
				nl := "\n"
				if tty {
					nl = "\r\n"
				}
				if ws.writeChannel(1, []byte(fmt.Sprintf("%s %s attach line %d%s", p.Metadata.Name, cname, n, nl))) != nil {
					return
				}
			}
		}
	}
}

func (a *agent) runCommand(ws *wsConn, p pod, cname string, argv []string, stdin, stdout, stderr, tty bool, writeStatus func(error, int)) {
	// The client registers its streams only after the handshake; output sent
	// before that is discarded by client-go ("Unknown stream id"). A real
	// runtime needs a few ms to start the process anyway: with a tty, wait
	// (at most 1s) for the client's first resize message, sent once its
	// streams exist; without one, a moment.
	type wsMsg struct {
		ch   byte
		data []byte
	}
	msgs := make(chan wsMsg, 64)
	go func() {
		defer close(msgs)
		for {
			ch, data, err := ws.readChannel()
			if err != nil {
				return
			}
			msgs <- wsMsg{ch, data}
		}
	}()
	var early []wsMsg
	if tty {
		deadline := time.After(time.Second)
	wait:
		for {
			select {
			case m, ok := <-msgs:
				if !ok {
					return
				}
				early = append(early, m)
				if m.ch == 4 {
					break wait
				}
			case <-deadline:
				break wait
			}
		}
	} else {
		// Under load client-go registers its streams later than 30 ms.
		time.Sleep(150 * time.Millisecond)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		writeStatus(fmt.Errorf("OCI runtime exec failed: exec failed: unable to start container process: exec: %q: executable file not found in $PATH: unknown", argv[0]), 0)
		return
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Dir = a.workdir
	cmd.Env = append(os.Environ(), "HOSTNAME="+p.Metadata.Name, "POD_NAME="+p.Metadata.Name,
		"POD_NAMESPACE="+p.Metadata.Namespace, "CONTAINER_NAME="+cname)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var stdinW io.WriteCloser
	var master *os.File
	var outputDone sync.WaitGroup
	if tty {
		m, s, err := openPty()
		if err != nil {
			writeStatus(fmt.Errorf("cannot allocate a tty: %v", err), 0)
			return
		}
		master = m
		defer m.Close()
		setWinsize(m, 80, 24)
		cmd.Env = append(cmd.Env, "TERM=xterm")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0, Pdeathsig: syscall.SIGKILL}
		defer s.Close()
		stdinW = m
		outputDone.Add(1)
		go func() {
			defer outputDone.Done()
			io.Copy(chanWriter{ws, 1}, m) // ends with EIO once the slave side is gone
		}()
	} else {
		if stdout {
			cmd.Stdout = chanWriter{ws, 1}
		}
		if stderr {
			cmd.Stderr = chanWriter{ws, 2}
		}
		if stdin {
			w, err := cmd.StdinPipe()
			if err != nil {
				writeStatus(err, 0)
				return
			}
			stdinW = w
		}
	}
	if err := cmd.Start(); err != nil {
		writeStatus(fmt.Errorf("OCI runtime exec failed: %v: unknown", err), 0)
		return
	}
	if tty {
		cmd.Stdin.(*os.File).Close() // our copy of the slave
	}
	a.mu.Lock()
	a.children[cmd.Process.Pid] = cmd.Process
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.children, cmd.Process.Pid)
		a.mu.Unlock()
	}()
	clientGone := make(chan struct{})
	go func() {
		defer close(clientGone)
		for {
			var m wsMsg
			if len(early) > 0 {
				m, early = early[0], early[1:]
			} else {
				var ok bool
				if m, ok = <-msgs; !ok {
					return
				}
			}
			ch, data := m.ch, m.data
			switch ch {
			case 0:
				if stdinW != nil {
					stdinW.Write(data)
				}
			case 4:
				var sz struct{ Width, Height uint16 }
				if json.Unmarshal(data, &sz) == nil && master != nil {
					setWinsize(master, sz.Width, sz.Height)
				}
			case 255: // v5: close a stream
				if len(data) > 0 && data[0] == 0 && stdinW != nil && !tty {
					stdinW.Close()
				}
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-exited:
	case <-clientGone:
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Process.Kill()
		<-exited
		return
	}
	if tty {
		master.SetReadDeadline(time.Now().Add(2 * time.Second))
		outputDone.Wait()
	}
	code := 0
	if ee, ok := werr.(*exec.ExitError); ok {
		code = ee.ExitCode()
		if code < 0 {
			code = 137
		}
	} else if werr != nil {
		writeStatus(werr, 0)
		return
	}
	writeStatus(nil, code)
}

func (a *agent) servePortForward(w http.ResponseWriter, r *http.Request, ns, name string) {
	if _, _, ok := a.lookup(ns, name); !ok {
		httpStatusError(w, 404, fmt.Sprintf("pod %s/%s not found", ns, name))
		return
	}
	if !isWebSocket(r) {
		httpStatusError(w, 400, "vcli test node agent: port-forward is served over WebSocket (v4.channel.k8s.io) only; SPDY is not implemented")
		return
	}
	var ports []uint16
	for _, s := range r.URL.Query()["port"] {
		for _, x := range strings.Split(s, ",") {
			v, err := strconv.ParseUint(x, 10, 16)
			if err != nil || v == 0 {
				httpStatusError(w, 400, fmt.Sprintf("unable to parse %q as a port", x))
				return
			}
			ports = append(ports, uint16(v))
		}
	}
	if len(ports) == 0 {
		httpStatusError(w, 400, `query parameter "port" is required`)
		return
	}
	ws, err := wsUpgrade(w, r, []string{"v4.channel.k8s.io", "v4.base64.channel.k8s.io", "channel.k8s.io", "base64.channel.k8s.io"})
	if err != nil {
		return
	}
	defer ws.close()
	conns := make([]net.Conn, len(ports))
	var wg sync.WaitGroup
	for i, port := range ports {
		pb := make([]byte, 2)
		binary.LittleEndian.PutUint16(pb, port)
		ws.writeChannel(byte(2*i), pb)
		ws.writeChannel(byte(2*i+1), pb)
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
		if err != nil {
			ws.writeChannel(byte(2*i+1), []byte(fmt.Sprintf("error forwarding port %d to pod %s, uid %s: failed to connect to localhost:%d inside namespace %q: %v",
				port, name, "", port, ns, err)))
			continue
		}
		conns[i] = c
		wg.Add(1)
		go func(i int, c net.Conn) {
			defer wg.Done()
			io.Copy(chanWriter{ws, byte(2 * i)}, c)
		}(i, c)
	}
	go func() {
		for {
			ch, data, err := ws.readChannel()
			if err != nil {
				for _, c := range conns {
					if c != nil {
						c.Close()
					}
				}
				return
			}
			if ch%2 == 0 && int(ch/2) < len(conns) && conns[ch/2] != nil {
				conns[ch/2].Write(data)
			}
		}
	}()
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}
