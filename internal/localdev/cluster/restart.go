package cluster

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
)

// apiServerArgs is the apiserver's command line for this cluster.
func (c *Cluster) apiServerArgs() []string {
	args := apiServerArgs(c.Dir, c.st, c.nodeIP)
	if c.opts.KubeletAPI || c.opts.RealNode {
		// kwok's nodes and the real node have a Hostname address that resolves nowhere.
		args = append(args, "--kubelet-preferred-address-types=InternalIP")
	}
	return append(args, c.opts.ExtraAPIServerArgs...)
}

// waitReadyz waits until the apiserver p answers /readyz.
func waitReadyz(ctx context.Context, p *process, clients kubernetes.Interface) error {
	return waitUntil(ctx, p, "kube-apiserver /readyz", func(ctx context.Context) error {
		_, err := clients.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err
	})
}

// RestartControlPlane kills the apiserver and etcd (SIGKILL, as a node losing power
// or the OOM killer would), keeps them down for down, and starts them again on the
// same ports with the same data, returning once /readyz answers. The other components
// and every client keep running and must reconnect on their own: this is what tests
// of recovery from a control-plane outage need. It must not run concurrently with
// Stop or another RestartControlPlane.
func (c *Cluster) RestartControlPlane(ctx context.Context, down time.Duration) error {
	etcd, api := -1, -1
	for i, p := range c.procs {
		switch p.name {
		case "etcd":
			etcd = i
		case "kube-apiserver":
			api = i
		}
	}
	if etcd < 0 || api < 0 {
		return fmt.Errorf("failed to restart the control plane: etcd or kube-apiserver is not running")
	}
	for _, i := range []int{api, etcd} {
		p := c.procs[i]
		p.restarted.Store(true)
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.exited
	}
	select {
	case <-time.After(down):
	case <-ctx.Done():
		return fmt.Errorf("failed to restart the control plane: %w", ctx.Err())
	}
	p, err := startProcess(c.opts.Binary, "etcd", c.path("logs"), etcdArgs(c.Dir, c.st, c.temporary))
	if err != nil {
		return err
	}
	c.procs[etcd] = p
	c.watch(p)
	if err := waitUntil(ctx, p, "etcd /health", func(ctx context.Context) error {
		return etcdHealthy(ctx, c.st.EtcdClientPort)
	}); err != nil {
		return fmt.Errorf("failed to restart etcd: %w", err)
	}
	if p, err = startProcess(c.opts.Binary, "kube-apiserver", c.path("logs"), c.apiServerArgs()); err != nil {
		return err
	}
	c.procs[api] = p
	c.watch(p)
	clients, err := kubernetes.NewForConfig(c.RESTConfig)
	if err != nil {
		return fmt.Errorf("failed to create client: %w", err)
	}
	if err := waitReadyz(ctx, p, clients); err != nil {
		return fmt.Errorf("failed to restart kube-apiserver: %w", err)
	}
	return nil
}
