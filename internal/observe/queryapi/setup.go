package queryapi

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// Setup adds the HTTP API to the controller's manager. The store is opened on
// the first query (Lazy), so that a store that is down does not stop the
// controller, and closed when the manager stops.
func Setup(mgr manager.Manager, o Options) error {
	if o.Addr == "" || o.Addr == "0" {
		return nil
	}
	if err := o.Limits.Validate(); err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(mgr.GetConfig())
	if err != nil {
		return fmt.Errorf("failed to make the client that reviews the HTTP API's callers: %w", err)
	}
	if err := mgr.Add(&runnable{o: o, auth: &KubeAuth{Client: client}}); err != nil {
		return fmt.Errorf("failed to add the HTTP API: %w", err)
	}
	return nil
}

type runnable struct {
	o    Options
	auth Authorizer
}

// NeedLeaderElection is false: every replica answers queries.
func (r *runnable) NeedLeaderElection() bool { return false }

func (r *runnable) Start(ctx context.Context) error {
	st := &Lazy{Open: func(ctx context.Context) (store.Store, error) { return Open(ctx, r.o) }}
	defer st.Close()
	l := r.o.Limits
	return (&Server{Addr: r.o.Addr, Store: st, Auth: r.auth, AllowedHosts: r.o.AllowedHosts,
		QueryTimeout: l.Timeout, MaxConcurrentQueries: l.Concurrent, MaxBodyBytes: l.BodyBytes}).Start(ctx)
}
