package controller

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tugboatcd/tugboat/internal/kube"
)

// inClusterNamespacePath holds the pod's namespace (controller-runtime reads the same
// file for its default).
const inClusterNamespacePath = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// leaseNamespace resolves --leader-election-namespace: the flag's value, else the pod's
// namespace in a cluster, else kube.ControllerLeaseNamespace. byDefault is true in the
// last case, where there is no pod namespace and the controller creates the namespace
// if it is missing (an explicit namespace that does not exist is an error instead).
func leaseNamespace(flag string) (ns string, byDefault bool, err error) {
	if flag != "" {
		return flag, false, nil
	}
	data, err := os.ReadFile(inClusterNamespacePath)
	switch {
	case err == nil && strings.TrimSpace(string(data)) != "":
		return strings.TrimSpace(string(data)), false, nil
	case err == nil || errors.Is(err, os.ErrNotExist):
		return kube.ControllerLeaseNamespace, true, nil
	default:
		return "", false, fmt.Errorf("failed to read the pod's namespace from %s: %w", inClusterNamespacePath, err)
	}
}

// newLeaderLock builds the lease lock the manager elects its leader on, with an
// identity that names this process (kube.LeaseHolder) and a log line when another
// process holds the lease. The lock controller-runtime builds itself names neither
// (host and a UUID) and says nothing while it waits.
func newLeaderLock(ctx context.Context, cfg *rest.Config, o Options, renew time.Duration) (resourcelock.Interface, error) {
	ns, byDefault, err := leaseNamespace(o.LeaderElectionNamespace)
	if err != nil {
		return nil, err
	}
	cfg = rest.AddUserAgent(rest.CopyConfig(cfg), "leader-election")
	// One hung request must not outlast the renew deadline (as controller-runtime sets it).
	cfg.Timeout = max(renew/2, time.Second)
	clients, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to create the leader election client: %w", err)
	}
	if err := ensureLeaseNamespace(ctx, clients, ns, byDefault); err != nil {
		return nil, err
	}
	id, err := kube.LeaseHolder()
	if err != nil {
		return nil, err
	}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, ns, o.LeaderElectionID,
		clients.CoreV1(), clients.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: id})
	if err != nil {
		return nil, fmt.Errorf("failed to create the leader lease lock %s/%s: %w", ns, o.LeaderElectionID, err)
	}
	log := ctrl.Log.WithName("leader-election").WithValues("lease", ns+"/"+o.LeaderElectionID, "identity", id)
	return &sayingLock{Interface: lock, log: log}, nil
}

// ensureLeaseNamespace checks that the lease's namespace exists, creating the default
// one out of cluster (`tugboat install` creates it in a cluster). Without it the lease
// cannot be created and the controller would wait forever, logging only client errors.
func ensureLeaseNamespace(ctx context.Context, clients kubernetes.Interface, ns string, create bool) error {
	_, err := clients.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	switch {
	case err == nil:
		return nil
	case apierrors.IsForbidden(err):
		// Leases may still be allowed in it; the election says so if they are not.
		return nil
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("failed to read the leader election namespace %s: %w", ns, err)
	case !create:
		return fmt.Errorf("the leader election namespace %s (--leader-election-namespace) does not exist", ns)
	}
	_, err = clients.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create the leader election namespace %s: %w", ns, err)
	}
	return nil
}

// sayingLock is a lease lock that logs, once per change, who holds the lease while this
// process waits, and when this process takes it. client-go's elector logs neither at
// the default verbosity, so a second controller would otherwise wait in silence.
type sayingLock struct {
	resourcelock.Interface
	log logr.Logger

	mu       sync.Mutex
	reported string // the holder last logged
	leading  bool
}

// Get reads the lease; the elector calls it on every attempt while it waits.
func (l *sayingLock) Get(ctx context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	rec, raw, err := l.Interface.Get(ctx)
	if err != nil || rec == nil {
		return rec, raw, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	holder := rec.HolderIdentity
	if holder != "" && holder != l.Identity() && holder != l.reported {
		l.reported = holder
		l.leading = false
		l.log.Info("another controller holds the lease: this one waits and takes over when it stops",
			"holder", kube.DescribeLeaseHolder(holder), "holderIdentity", holder,
			"renewed", rec.RenewTime.Format(time.RFC3339),
			"takeOver", fmt.Sprintf("at once when the holder stops cleanly, %ds after its last renewal otherwise", rec.LeaseDurationSeconds))
	}
	return rec, raw, nil
}

// Create takes a lease nobody held.
func (l *sayingLock) Create(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	err := l.Interface.Create(ctx, rec)
	l.noteAcquired(err, rec)
	return err
}

// Update renews the lease, takes it over, or (with an empty holder) releases it.
func (l *sayingLock) Update(ctx context.Context, rec resourcelock.LeaderElectionRecord) error {
	err := l.Interface.Update(ctx, rec)
	l.noteAcquired(err, rec)
	return err
}

func (l *sayingLock) noteAcquired(err error, rec resourcelock.LeaderElectionRecord) {
	if err != nil || rec.HolderIdentity != l.Identity() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.leading {
		return
	}
	l.leading = true
	if l.reported != "" {
		l.log.Info("took the lease over: this controller now reconciles", "previousHolder", kube.DescribeLeaseHolder(l.reported))
	} else {
		l.log.Info("holds the lease: this controller reconciles")
	}
	l.reported = ""
}
