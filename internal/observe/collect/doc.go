// Package collect holds tugboat's collectors — the `tugboat agent` — that turn what
// Kubernetes exposes (CRI log files or the pods/log API, the kubelet's resource metrics
// through the apiserver's node proxy, events, pod and node objects, and the GitOps and
// push deploy records) into rows of the Container Insights and delivery tables defined
// in internal/observe/store. One file per collector; the parsers are pure functions kept apart
// from the code that talks to the cluster or the disk.
package collect
