package main

import (
	"os"

	// The plugins the local cluster's Corefile uses, instead of CoreDNS's full set
	// (core/plugin), which would link every cloud provider's DNS SDK.
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/ready"

	"github.com/coredns/coredns/coremain"
)

// runCoreDNS mirrors github.com/coredns/coredns's main: the real node's cluster DNS,
// answering <service>.<namespace>.svc.cluster.local from the apiserver.
func runCoreDNS(_ []string) int {
	coremain.Run()
	os.Exit(0)
	return 0
}
