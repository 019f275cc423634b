package main

// churn: a steady stream of pod updates at a chosen rate, for the benches
// that measure a live view under watch events (bench/tui_bench.lua):
//
//	vcli-kube-tools churn --server URL --token-file F --ca F --namespaces a,b --rate 1000 --secs 60
//
// Each update is a merge patch of one pod's annotation vcli-bench (a new value
// each time: the same value again would be no change and no event), pods
// taken round-robin across the namespaces. Prints one line at the end:
// "churn: SENT sent, OK ok, FAILED failed in MS ms".

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func runChurn(args []string) {
	fs := flag.NewFlagSet("churn", flag.ExitOnError)
	server := fs.String("server", "", "API server URL")
	tokenFile := fs.String("token-file", "", "bearer token file")
	ca := fs.String("ca", "", "CA file")
	nss := fs.String("namespaces", "default", "comma-separated namespaces whose pods are updated")
	rate := fs.Int("rate", 1000, "updates per second")
	secs := fs.Float64("secs", 60, "for how long")
	parallel := fs.Int("parallel", 32, "requests in flight at most")
	fs.Parse(args)
	tok, err := os.ReadFile(*tokenFile)
	if err != nil {
		fatalf("churn: %v", err)
	}
	c := newClient(*server, strings.TrimSpace(string(tok)), *ca, *parallel)
	ctx := context.Background()
	var pods []string
	for _, ns := range strings.Split(*nss, ",") {
		var list struct {
			Items []struct {
				Metadata struct{ Name string } `json:"metadata"`
			} `json:"items"`
		}
		if err := c.get(ctx, "/api/v1/namespaces/"+ns+"/pods", &list); err != nil {
			fatalf("churn: list pods in %s: %v", ns, err)
		}
		for _, it := range list.Items {
			pods = append(pods, "/api/v1/namespaces/"+ns+"/pods/"+it.Metadata.Name)
		}
	}
	if len(pods) == 0 {
		fatalf("churn: no pods in %s", *nss)
	}
	work := make(chan int, *parallel)
	var ok, failed int64
	var wg sync.WaitGroup
	for i := 0; i < *parallel; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range work {
				patch := obj{"metadata": obj{"annotations": obj{"vcli-bench": fmt.Sprintf("churn-%d", n)}}}
				if err := c.mergePatch(ctx, pods[n%len(pods)], patch); err != nil {
					atomic.AddInt64(&failed, 1)
				} else {
					atomic.AddInt64(&ok, 1)
				}
			}
		}()
	}
	t0 := time.Now()
	end := t0.Add(time.Duration(*secs * float64(time.Second)))
	sent := 0
	// paced by the clock: update n is due at t0 + n/rate (a slow server makes a
	// backlog in the channel, which blocks: the rate achieved is what it took)
	for now := time.Now(); now.Before(end); now = time.Now() {
		due := int(now.Sub(t0).Seconds() * float64(*rate))
		for sent < due && time.Now().Before(end) {
			work <- sent
			sent++
		}
		time.Sleep(time.Millisecond)
	}
	close(work)
	wg.Wait()
	fmt.Printf("churn: %d sent, %d ok, %d failed in %d ms\n", sent, ok, failed, time.Since(t0).Milliseconds())
}
