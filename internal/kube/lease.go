package kube

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The GitOps controllers' leader lease. Every route that starts them (`tugboat
// controller`, the dev cluster's supervisor, the Deployment of `tugboat install`) elects
// a leader on it by default, so a second controller on the same cluster waits instead
// of reconciling the same objects twice. In a pod the lease lives in the pod's
// namespace (tugboat-system with `tugboat install`); out of cluster there is no pod
// namespace, so it lives in the namespace `tugboat install` uses, and an out-of-cluster
// controller meets the installed one on the same lease.
const (
	ControllerLeaseNamespace = "tugboat-system"
	ControllerLeaseName      = "tugboat-controller-leader"
)

// LeaseHolder is the leader-election identity of this process: host name, process id
// and a random suffix, as "<host>_<pid>_<suffix>". The host and pid let a waiting
// controller (and `tugboat dev status`) say which process holds the lease; the suffix
// keeps two processes apart that share both (containers with the host's UTS namespace,
// each pid 1).
func LeaseHolder() (string, error) {
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("failed to read the host name for the leader identity: %w", err)
	}
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return "", fmt.Errorf("failed to draw the leader identity's suffix: %w", err)
	}
	return host + "_" + strconv.Itoa(os.Getpid()) + "_" + hex.EncodeToString(suffix), nil
}

// ParseLeaseHolder reads the host and pid out of an identity made by LeaseHolder; ok is
// false for an identity of another shape (controller-runtime's default is
// "<host>_<uuid>").
func ParseLeaseHolder(id string) (host string, pid int, ok bool) {
	rest, suffix, found := cutLast(id, "_")
	if !found || len(suffix) != 8 {
		return "", 0, false
	}
	if _, err := hex.DecodeString(suffix); err != nil {
		return "", 0, false
	}
	host, p, found := cutLast(rest, "_")
	if !found || host == "" {
		return "", 0, false
	}
	pid, err := strconv.Atoi(p)
	if err != nil || pid <= 0 {
		return "", 0, false
	}
	return host, pid, true
}

// DescribeLeaseHolder names a lease holder for people: "process 4242 on devbox" for an
// identity made by LeaseHolder, the identity itself otherwise.
func DescribeLeaseHolder(id string) string {
	if host, pid, ok := ParseLeaseHolder(id); ok {
		return fmt.Sprintf("process %d on %s", pid, host)
	}
	return id
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
