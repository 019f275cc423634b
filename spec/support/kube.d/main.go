// vcli-kube-tools: helpers for vcli's test cluster (spec/support/kube).
//
//	vcli-kube-tools agent  ...   fake kubelet(s): registers nodes, runs pods, serves logs/exec/attach/portForward
//	vcli-kube-tools proxy  ...   fault-injecting proxy in front of the API server
//	vcli-kube-tools seed   ...   creates realistic workloads quickly
//	vcli-kube-tools freeport N   prints N free TCP ports on 127.0.0.1
//
// Standard library only, so it builds offline with Debian's golang-go.
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: vcli-kube-tools agent|proxy|seed|churn|freeport ...")
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "agent":
		runAgent(args)
	case "proxy":
		runProxy(args)
	case "seed":
		runSeed(args)
	case "churn":
		runChurn(args)
	case "freeport":
		n := 1
		if len(args) > 0 {
			fmt.Sscan(args[0], &n)
		}
		var ls []net.Listener
		for i := 0; i < n; i++ {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				fatalf("freeport: %v", err)
			}
			ls = append(ls, l)
			fmt.Println(l.Addr().(*net.TCPAddr).Port)
		}
		for _, l := range ls {
			l.Close()
		}
	default:
		fatalf("unknown subcommand %q", os.Args[1])
	}
}

func fatalf(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "vcli-kube-tools: "+format+"\n", a...)
	os.Exit(1)
}
