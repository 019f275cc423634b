package main

// seed: creates realistic workloads quickly, straight through the API.
//
// For each deployment it creates the pods first (with the labels of the
// deployment and spec.nodeName already set), then the ReplicaSet, then the
// Deployment. The controllers adopt them (ownerReferences are set by the
// ReplicaSet and Deployment controllers' adoption), so nothing is created
// twice and no pod waits for a controller or the scheduler. The node agent
// then reports the pods Running (or CrashLoopBackOff, Completed, ...).
//
// Everything is deterministic for a given --pods N.

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

var seedNamespaces = []string{"team-a", "team-b", "payments", "checkout", "monitoring", "data-pipeline", "web"}
var seedApps = []string{"api", "frontend", "worker", "cache", "auth", "search", "gateway", "billing", "notifier",
	"scheduler", "ingest", "reporting", "inventory", "profile", "orders", "mailer", "exporter", "indexer", "thumbnailer", "ledger"}
var seedImages = []string{"nginx:1.25", "redis:7.2", "busybox:1.36", "python:3.12-slim", "golang:1.22", "node:20-alpine",
	"postgres:16", "quay.io/prometheus/node-exporter:v1.7.0", "ghcr.io/acme/api:2.3.1", "registry.k8s.io/pause:3.9"}
var seedReplicas = []int{1, 2, 3, 3, 5, 2, 8, 1, 12, 4, 20, 3, 6, 2, 30}

const rsAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func safeSuffix(seed string, n int) string {
	h := fnv32(seed)
	b := make([]byte, n)
	for i := range b {
		b[i] = rsAlphabet[h%uint32(len(rsAlphabet))]
		h = h*16777619 ^ uint32(i+7)
	}
	return string(b)
}

type seedDeploy struct {
	ns, name, image, hash string
	replicas              int
	labels                map[string]string
}

func fateFor(i int) string {
	switch r := int(fnv32(fmt.Sprint("fate", i)) % 100); {
	case r < 3:
		return "crashloop"
	case r < 8:
		return "restarting"
	case r < 9:
		return "pending"
	case r < 10:
		return "imagepull"
	case r < 11:
		return "oomkilled"
	case r < 12:
		return "notready"
	}
	return "running"
}

func runSeed(args []string) {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	server := fs.String("server", "", "API server URL")
	tokenFile := fs.String("token-file", "", "bearer token file")
	ca := fs.String("ca", "", "CA file")
	npods := fs.Int("pods", 200, "number of deployment pods to create")
	nodes := fs.Int("nodes", 3, "number of nodes (vcli-node-1..N) to spread pods over")
	parallel := fs.Int("parallel", 32, "parallel requests")
	extras := fs.Bool("extras", true, "also create a StatefulSet, a DaemonSet, a Job and a CronJob (their controllers add a few pods)")
	fs.Parse(args)
	tok, err := os.ReadFile(*tokenFile)
	if err != nil {
		fatalf("seed: %v", err)
	}
	c := newClient(*server, strings.TrimSpace(string(tok)), *ca, *parallel)
	ctx := context.Background()
	t0 := time.Now()
	log.SetFlags(0)
	log.SetPrefix("[seed] ")

	// plan deployments
	var deps []seedDeploy
	total := 0
	for i := 0; total < *npods; i++ {
		ns := seedNamespaces[i%len(seedNamespaces)]
		app := seedApps[(i/len(seedNamespaces))%len(seedApps)]
		name := app
		if round := i / (len(seedNamespaces) * len(seedApps)); round > 0 {
			name = fmt.Sprintf("%s-%d", app, round+1)
		}
		r := seedReplicas[i%len(seedReplicas)]
		if total+r > *npods {
			r = *npods - total
		}
		total += r
		deps = append(deps, seedDeploy{ns: ns, name: name, image: seedImages[i%len(seedImages)], replicas: r,
			hash:   safeSuffix(ns+"/"+name, 10),
			labels: map[string]string{"app": name, "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": ns, "tier": []string{"backend", "frontend", "batch"}[i%3]}})
	}

	// a bounded worker pool
	var failures int64
	jobs := make(chan func() error, 1024)
	var wg sync.WaitGroup
	for i := 0; i < *parallel; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := retry(6, j); err != nil && !isCode(err, 409) {
					if atomic.AddInt64(&failures, 1) <= 10 {
						log.Printf("error: %v", err)
					}
				}
			}
		}()
	}
	phase := func(name string, f func()) {
		t := time.Now()
		f()
		log.Printf("%s (%.1fs)", name, time.Since(t).Seconds())
	}
	barrier := func() {
		// wait for the queued jobs of a phase: run a no-op through every worker
		var bw sync.WaitGroup
		bw.Add(*parallel)
		for i := 0; i < *parallel; i++ {
			jobs <- func() error { bw.Done(); bw.Wait(); return nil }
		}
		bw.Wait()
	}

	phase("namespaces", func() {
		for _, ns := range seedNamespaces {
			ns := ns
			jobs <- func() error {
				return c.post(ctx, "/api/v1/namespaces", obj{"apiVersion": "v1", "kind": "Namespace",
					"metadata": obj{"name": ns, "labels": obj{"vcli-test/seeded": "true"}}}, nil)
			}
		}
		barrier()
		// pods need the namespace's default service account (and its token) first
		deadline := time.Now().Add(60 * time.Second)
		for _, ns := range seedNamespaces {
			for {
				var sa struct {
					Secrets []interface{} `json:"secrets"`
				}
				err := c.get(ctx, "/api/v1/namespaces/"+ns+"/serviceaccounts/default", &sa)
				if err == nil && len(sa.Secrets) > 0 {
					break
				}
				if time.Now().After(deadline) {
					fatalf("seed: no default service account token in namespace %s after 60s (is kube-controller-manager running?)", ns)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	})

	phase("configmaps, secrets", func() {
		for i, ns := range seedNamespaces {
			for j := 0; j < 4; j++ {
				ns, name := ns, fmt.Sprintf("%s-config-%d", seedApps[(i+j)%len(seedApps)], j)
				jobs <- func() error {
					return c.post(ctx, "/api/v1/namespaces/"+ns+"/configmaps", obj{"apiVersion": "v1", "kind": "ConfigMap",
						"metadata": obj{"name": name},
						"data":     obj{"LOG_LEVEL": "info", "FEATURE_FLAGS": "a,b,c", "config.yaml": "server:\n  port: 8080\n  workers: 4\n"}}, nil)
				}
			}
			ns := ns
			jobs <- func() error {
				return c.post(ctx, "/api/v1/namespaces/"+ns+"/secrets", obj{"apiVersion": "v1", "kind": "Secret",
					"metadata": obj{"name": "db-credentials"}, "type": "Opaque",
					"stringData": obj{"username": "app", "password": "not-a-real-password"}}, nil)
			}
		}
	})

	template := func(d seedDeploy, withHash bool) obj {
		labels := obj{}
		for k, v := range d.labels {
			labels[k] = v
		}
		if withHash {
			labels["pod-template-hash"] = d.hash
		}
		return obj{"metadata": obj{"labels": labels},
			"spec": obj{"containers": []obj{{"name": d.name, "image": d.image,
				"ports":     []obj{{"containerPort": 8080, "name": "http", "protocol": "TCP"}},
				"resources": obj{"requests": obj{"cpu": "10m", "memory": "32Mi"}}}}}}
	}

	var podCount int64
	phase(fmt.Sprintf("%d pods", *npods), func() {
		i := 0
		for _, d := range deps {
			for k := 0; k < d.replicas; k++ {
				d, idx := d, i
				i++
				jobs <- func() error {
					t := template(d, true)
					meta := t["metadata"].(obj)
					meta["name"] = d.name + "-" + d.hash + "-" + safeSuffix(fmt.Sprint(d.ns, d.name, idx), 5)
					meta["annotations"] = obj{"vcli-test/seeded": "true", "vcli-test/fate": fateFor(idx)}
					spec := t["spec"].(obj)
					spec["nodeName"] = fmt.Sprintf("vcli-node-%d", 1+idx%*nodes)
					t["apiVersion"], t["kind"] = "v1", "Pod"
					err := c.post(ctx, "/api/v1/namespaces/"+d.ns+"/pods", t, nil)
					if err == nil {
						atomic.AddInt64(&podCount, 1)
					}
					return err
				}
			}
		}
		barrier()
	})

	phase("replicasets", func() {
		for _, d := range deps {
			d := d
			jobs <- func() error {
				return c.post(ctx, "/apis/apps/v1/namespaces/"+d.ns+"/replicasets", obj{"apiVersion": "apps/v1", "kind": "ReplicaSet",
					"metadata": obj{"name": d.name + "-" + d.hash, "labels": template(d, true)["metadata"].(obj)["labels"],
						"annotations": obj{"deployment.kubernetes.io/desired-replicas": fmt.Sprint(d.replicas),
							"deployment.kubernetes.io/max-replicas": fmt.Sprint(d.replicas + 1), "deployment.kubernetes.io/revision": "1"}},
					"spec": obj{"replicas": d.replicas,
						"selector": obj{"matchLabels": obj{"app": d.name, "pod-template-hash": d.hash}},
						"template": template(d, true)}}, nil)
			}
		}
		barrier()
	})

	phase("deployments, services", func() {
		for _, d := range deps {
			d := d
			jobs <- func() error {
				return c.post(ctx, "/apis/apps/v1/namespaces/"+d.ns+"/deployments", obj{"apiVersion": "apps/v1", "kind": "Deployment",
					"metadata": obj{"name": d.name, "labels": obj{"app": d.name}},
					"spec": obj{"replicas": d.replicas, "selector": obj{"matchLabels": obj{"app": d.name}},
						"template": template(d, false)}}, nil)
			}
			jobs <- func() error {
				return c.post(ctx, "/api/v1/namespaces/"+d.ns+"/services", obj{"apiVersion": "v1", "kind": "Service",
					"metadata": obj{"name": d.name, "labels": obj{"app": d.name}},
					"spec": obj{"selector": obj{"app": d.name},
						"ports": []obj{{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}}}}, nil)
			}
		}
		barrier()
	})

	phase("events", func() {
		now := time.Now()
		for i, d := range deps {
			d, i := d, i
			jobs <- func() error {
				return c.post(ctx, "/api/v1/namespaces/"+d.ns+"/events", seedEvent(d.ns, "Deployment", "apps/v1", d.name,
					"Normal", "ScalingReplicaSet", "deployment-controller",
					fmt.Sprintf("Scaled up replica set %s-%s to %d", d.name, d.hash, d.replicas), 1, now.Add(-time.Duration(i)*time.Second)), nil)
			}
		}
		idx := 0
		for _, d := range deps {
			for k := 0; k < d.replicas; k++ {
				name := d.name + "-" + d.hash + "-" + safeSuffix(fmt.Sprint(d.ns, d.name, idx), 5)
				fate, d := fateFor(idx), d
				idx++
				var typ, reason, msg string
				count := 1
				switch fate {
				case "crashloop":
					typ, reason, msg, count = "Warning", "BackOff", "Back-off restarting failed container", 5+idx%40
				case "imagepull":
					typ, reason, msg, count = "Warning", "Failed", fmt.Sprintf("Failed to pull image %q: rpc error: code = NotFound", d.image), 3
				case "notready":
					typ, reason, msg, count = "Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503", 12
				case "oomkilled", "restarting":
					typ, reason, msg = "Normal", "Pulled", fmt.Sprintf("Container image %q already present on machine", d.image)
				default:
					if idx%4 != 0 {
						continue
					}
					typ, reason, msg = "Normal", "Started", "Started container "+d.name
				}
				jobs <- func() error {
					return c.post(ctx, "/api/v1/namespaces/"+d.ns+"/events",
						seedEvent(d.ns, "Pod", "v1", name, typ, reason, "kubelet", msg, count, now), nil)
				}
			}
		}
		barrier()
	})

	if *extras {
		phase("statefulset, daemonset, job, cronjob", func() {
			jobs <- func() error {
				return c.post(ctx, "/apis/apps/v1/namespaces/data-pipeline/statefulsets", obj{"apiVersion": "apps/v1", "kind": "StatefulSet",
					"metadata": obj{"name": "postgres"},
					"spec": obj{"replicas": 3, "serviceName": "postgres", "selector": obj{"matchLabels": obj{"app": "postgres"}},
						"template": obj{"metadata": obj{"labels": obj{"app": "postgres"}},
							"spec": obj{"containers": []obj{{"name": "postgres", "image": "postgres:16"}}}}}}, nil)
			}
			jobs <- func() error {
				return c.post(ctx, "/apis/apps/v1/namespaces/monitoring/daemonsets", obj{"apiVersion": "apps/v1", "kind": "DaemonSet",
					"metadata": obj{"name": "node-exporter"},
					"spec": obj{"selector": obj{"matchLabels": obj{"app": "node-exporter"}},
						"template": obj{"metadata": obj{"labels": obj{"app": "node-exporter"}},
							"spec": obj{"containers": []obj{{"name": "node-exporter", "image": "quay.io/prometheus/node-exporter:v1.7.0"}}}}}}, nil)
			}
			jobs <- func() error {
				return c.post(ctx, "/apis/batch/v1/namespaces/data-pipeline/jobs", obj{"apiVersion": "batch/v1", "kind": "Job",
					"metadata": obj{"name": "db-migrate"},
					"spec": obj{"template": obj{"spec": obj{"restartPolicy": "Never",
						"containers": []obj{{"name": "migrate", "image": "ghcr.io/acme/api:2.3.1"}}}}}}, nil)
			}
			jobs <- func() error {
				return c.post(ctx, "/apis/batch/v1beta1/namespaces/data-pipeline/cronjobs", obj{"apiVersion": "batch/v1beta1", "kind": "CronJob",
					"metadata": obj{"name": "nightly-report"},
					"spec": obj{"schedule": "0 3 * * *", "suspend": true, "jobTemplate": obj{"spec": obj{"template": obj{"spec": obj{
						"restartPolicy": "OnFailure", "containers": []obj{{"name": "report", "image": "python:3.12-slim"}}}}}}}}, nil)
			}
			barrier()
		})
	}
	close(jobs)
	wg.Wait()
	el := time.Since(t0).Seconds()
	log.Printf("created %d pods in %d deployments across %d namespaces in %.1fs (%.0f pods/min); %d errors",
		podCount, len(deps), len(seedNamespaces), el, float64(podCount)/el*60, failures)
	if failures > 0 {
		os.Exit(1)
	}
}

func seedEvent(ns, kind, apiVersion, name, typ, reason, component, msg string, count int, at time.Time) obj {
	return obj{"apiVersion": "v1", "kind": "Event",
		"metadata":       obj{"name": fmt.Sprintf("%s.%x", name, fnv32(reason+msg)), "namespace": ns},
		"involvedObject": obj{"kind": kind, "namespace": ns, "name": name, "apiVersion": apiVersion},
		"reason":         reason, "message": msg, "type": typ, "count": count,
		"source":         obj{"component": component},
		"firstTimestamp": rfc3339(at.Add(-time.Duration(count) * time.Minute)), "lastTimestamp": rfc3339(at)}
}
