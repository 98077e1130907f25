package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tugboatcd/tugboat/internal/localdev/localport"
)

const (
	kwokConfigFile = "kwok.yaml"
	// kwokNodeAnnotation marks the nodes kwok manages, as in kwok's own examples.
	kwokNodeAnnotation = "kwok.x-k8s.io/node"
)

// NodeName returns the name of the i-th fake node.
func NodeName(i int) string { return fmt.Sprintf("kwok-node-%d", i) }

// startWorkloads starts the components that turn Deployments into Ready pods: the
// controller-manager (ReplicaSets, pods, service-account tokens), the scheduler and kwok,
// which plays every node's kubelet.
func (c *Cluster) startWorkloads(ctx context.Context, clients kubernetes.Interface) error {
	if err := c.writeKwokConfig(ctx); err != nil {
		return err
	}
	for i := range c.opts.Nodes {
		if err := createNode(ctx, clients, NodeName(i), c.opts.PodsPerNode); err != nil {
			return err
		}
	}
	c.progress("starting kube-controller-manager, kube-scheduler and kwok (%d node(s))", c.opts.Nodes)
	kcm, err := c.run("kube-controller-manager", controllerManagerArgs(c.Dir))
	if err != nil {
		return err
	}
	if _, err := c.run("kube-scheduler", schedulerArgs(c.Dir)); err != nil {
		return err
	}
	args := kwokArgs(c.Dir)
	var kubeletAddr string
	if c.opts.KubeletAPI {
		ip, err := hostIP()
		if err != nil {
			return err
		}
		port, err := localport.Pick()
		if err != nil {
			return err
		}
		afterKubeletPortPicked(ip, port)
		args = append(args, kubeletAPIArgs(ip, port)...)
		kubeletAddr = net.JoinHostPort(ip, strconv.Itoa(port))
	}
	// kwok renews a Lease per node as its heartbeat, under an identity it draws anew at
	// every start (kwok's controllers.Identity: the hostname and a random UUID). A lease
	// an earlier kwok of this cluster left behind (a restart, or a start begun again)
	// keeps the new kwok off that node for the lease's duration, 40 s, and the node's
	// pods do not run meanwhile. This cluster has no other kwok, so those leases go.
	for i := range c.opts.Nodes {
		err := clients.CoordinationV1().Leases(corev1.NamespaceNodeLease).Delete(ctx, NodeName(i), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to delete the lease of node %s: %w", NodeName(i), err)
		}
	}
	kwok, err := c.run("kwok", args)
	if err != nil {
		return err
	}
	if err := waitUntil(ctx, kwok, "kwok nodes to be Ready", func(ctx context.Context) error {
		for i := range c.opts.Nodes {
			node, err := clients.CoreV1().Nodes().Get(ctx, NodeName(i), metav1.GetOptions{})
			if err != nil {
				return err
			}
			if !nodeReady(node) {
				return fmt.Errorf("node %s is not Ready", node.Name)
			}
			// A node's Ready condition survives a restart in etcd; its lease, deleted
			// above, says that this kwok has taken the node.
			if _, err := clients.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, node.Name, metav1.GetOptions{}); err != nil {
				return fmt.Errorf("kwok has not taken node %s yet: %w", node.Name, err)
			}
		}
		if kubeletAddr != "" {
			// kwok marks its nodes Ready and binds its server concurrently, and exits
			// when the bind fails; until its own server answers, the start is not done.
			return kwokServes(ctx, kubeletAddr)
		}
		return nil
	}); err != nil {
		return err
	}
	// Pods cannot be created in a namespace before its default ServiceAccount exists.
	return waitUntil(ctx, kcm, "the default ServiceAccount", func(ctx context.Context) error {
		_, err := clients.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// afterKubeletPortPicked lets a test take kwok's kubelet port between its pick and
// kwok's bind.
var afterKubeletPortPicked = func(ip string, port int) {}

// kwokServes checks that kwok's own server answers its health check at addr. kwok
// serves plain HTTP and TLS on the one port; plain HTTP is enough to tell it from
// whatever else might hold the port.
func kwokServes(ctx context.Context, addr string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := direct.Do(req)
	if err != nil {
		return fmt.Errorf("kwok's server does not answer: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64))
	if err != nil {
		return fmt.Errorf("kwok's server does not answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		return fmt.Errorf("kwok's server at %s answers %s %q to /healthz", addr, resp.Status, body)
	}
	return nil
}

// direct reaches kwok on the host's address without any HTTP_PROXY of the
// environment, which exempts only loopback addresses, and keeps no connection open
// after the check.
var direct = &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}

// writeKwokConfig asks the component binary for the pinned kwok's own "fast" node and
// pod stages; kwok exits with "no stages found" without them.
func (c *Cluster) writeKwokConfig(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, c.opts.Binary, "kwok-stages").Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("failed to read kwok stages from %s: %w: %s", c.opts.Binary, err, exit.Stderr)
		}
		return fmt.Errorf("failed to read kwok stages from %s: %w", c.opts.Binary, err)
	}
	if c.opts.KubeletAPI {
		docs := append([]string{kwokResourceMetrics(NodeName(0)), kwokResourceUsage}, c.opts.KwokConfig...)
		for _, d := range docs {
			out = append(out, []byte("\n---\n"+strings.TrimSpace(d)+"\n")...)
		}
	}
	if err := os.WriteFile(c.path(kwokConfigFile), out, 0o644); err != nil {
		return fmt.Errorf("failed to write kwok config: %w", err)
	}
	return nil
}

func createNode(ctx context.Context, clients kubernetes.Interface, name string, pods int) error {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   *resource.NewQuantity(int64(pods), resource.DecimalSI),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{kwokNodeAnnotation: "fake"},
			Labels: map[string]string{
				"type":                   "kwok",
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
			},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
	_, err := clients.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create node %s: %w", name, err)
	}
	return nil
}

func nodeReady(node *corev1.Node) bool {
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}
