package dev

import (
	"context"
	"fmt"
	"io"
	"os"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tugboatcd/tugboat/internal/kube"
)

// releaseAbandonedLease gives up the controllers' leader lease when a process of this
// host that is gone still holds it: the previous supervisor of this data directory
// (pid previous, known dead: this one holds the directory's lock) or any holder whose
// pid no longer runs, killed before it could release the lease. Without this the
// controllers of a `dev up` after a crash or a reboot would wait for the lease to
// expire (15 s from when they first see it) before reconciling anything. A lease held
// by a live process, or by another host, is left alone.
func releaseAbandonedLease(ctx context.Context, cfg *rest.Config, previous int, out io.Writer) error {
	clients, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("failed to create client: %w", err)
	}
	leases := clients.CoordinationV1().Leases(kube.ControllerLeaseNamespace)
	lease, err := leases.Get(ctx, kube.ControllerLeaseName, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil {
		return nil // no lease yet, or none readable: the election will say
	}
	holder := *lease.Spec.HolderIdentity
	host, pid, ok := kube.ParseLeaseHolder(holder)
	me, _ := os.Hostname()
	if !ok || host != me || pid != previous && processAlive(pid) {
		return nil
	}
	// An update, not a delete: it carries the resourceVersion read above, so it fails
	// rather than clear a lease someone else took meanwhile.
	lease.Spec.HolderIdentity = nil
	if _, err := leases.Update(ctx, lease, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("failed to release the lease %s/%s of process %d, which is gone: %w",
			kube.ControllerLeaseNamespace, kube.ControllerLeaseName, pid, err)
	}
	fmt.Fprintf(out, "released the controllers' lease held by process %d, which is gone\n", pid)
	return nil
}
