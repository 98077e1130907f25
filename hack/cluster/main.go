// Command tugboat-k8s is one multi-call binary holding the Kubernetes components that
// tugboat's local control plane runs — kube-apiserver, kube-controller-manager,
// kube-scheduler, etcd and kwok — plus kubectl for the people and tests that use that
// control plane. One binary means one link step instead of six (the link dominates a
// warm rebuild) and one file in the cache.
//
// The first argument names the component: `tugboat-k8s kube-apiserver --help`.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// components maps a component name to its entry point. Each entry point receives the
// arguments after the component name and returns the process exit code.
var components = map[string]func(args []string) int{
	"kube-apiserver":          runAPIServer,
	"kube-controller-manager": runControllerManager,
	"kube-scheduler":          runScheduler,
	"etcd":                    runEtcd,
	"kwok":                    runKwok,
	"kubelet":                 runKubelet,
	"kube-proxy":              runProxy,
	"coredns":                 runCoreDNS,
	"kubectl":                 runKubectl,
	"kwok-stages":             printKwokStages,
}

func main() {
	var run func([]string) int
	var name string
	if len(os.Args) > 1 {
		name = os.Args[1]
		run = components[name]
	}
	if run == nil {
		names := make([]string, 0, len(components))
		for n := range components {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: tugboat-k8s COMPONENT [FLAGS]\ncomponents: %s\n", strings.Join(names, ", "))
		os.Exit(2)
	}
	// Components read os.Args themselves in places (cobra, etcd): make them see their own name.
	os.Args = os.Args[1:]
	os.Exit(run(os.Args[1:]))
}
