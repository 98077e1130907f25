package queryapi

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Setup adds the HTTP API to the controller's manager. The store is opened
// when the manager starts and closed when it stops.
func Setup(mgr manager.Manager, o Options) error {
	if o.Addr == "" || o.Addr == "0" {
		return nil
	}
	if err := mgr.Add(&runnable{o: o}); err != nil {
		return fmt.Errorf("failed to add the HTTP API: %w", err)
	}
	return nil
}

type runnable struct{ o Options }

// NeedLeaderElection is false: every replica answers queries.
func (r *runnable) NeedLeaderElection() bool { return false }

func (r *runnable) Start(ctx context.Context) error {
	st, err := Open(ctx, r.o)
	if err != nil {
		return fmt.Errorf("failed to open the store for the HTTP API: %w", err)
	}
	defer st.Close()
	return (&Server{Addr: r.o.Addr, Store: st}).Start(ctx)
}
