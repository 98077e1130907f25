// Command pause is the local cluster's pod sandbox ("pause") container: it holds a pod's
// namespaces open until it is told to stop, and reaps the zombies of a pod that shares
// its PID namespace, as Kubernetes' own pause (a C program, build/pause/linux/pause.c)
// does. It is a static Go binary because no image can be pulled from the internet here:
// hack/cluster/build.sh builds it beside tugboat-k8s and the cluster packs it into an
// image in its own registry.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if os.Getpid() != 1 {
		os.Stderr.WriteString("warning: pause should be the first process\n")
	}
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		switch s {
		case syscall.SIGCHLD:
			for {
				// Reap every exited child; -1 means any, WNOHANG stops at the last one.
				pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		default:
			os.Exit(0)
		}
	}
}
