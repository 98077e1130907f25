package app

import (
	"context"
	"fmt"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tugboatcd/tugboat/internal/gitops/controller"
	"github.com/tugboatcd/tugboat/internal/gitops/receiver"
	"github.com/tugboatcd/tugboat/internal/observe/queryapi"
)

// ControllerOptions configure the controller process (`tugboat controller`).
type ControllerOptions struct {
	// Controller configures the manager and the GitOps reconcilers.
	Controller controller.Options
	// ReceiverAddr serves the Receivers' webhooks ("" or "0" disables the server; the
	// Receiver reconciler runs regardless).
	ReceiverAddr string
	// HTTP serves the HTTP API (POST /api/v1/query) over the store.
	HTTP queryapi.Options
	// Tracing says where the controller's own spans go (off by default).
	Tracing TracingOptions
}

// RunController starts the controller process and blocks until ctx ends.
func RunController(ctx context.Context, cfg *rest.Config, o ControllerOptions) error {
	mgr, err := NewControllerManager(ctx, cfg, o)
	if err != nil {
		return err
	}
	return mgr.Start(ctx)
}

// NewControllerManager builds the controller process's manager: the GitRepository and
// Kustomization reconcilers, the Receiver reconciler with its webhook server, and the
// HTTP query API. The reconcilers do not link the query engine; this is where the two
// meet.
func NewControllerManager(ctx context.Context, cfg *rest.Config, o ControllerOptions) (ctrl.Manager, error) {
	tp, shutdown, err := newTracerProvider(ctx, o.Tracing)
	if err != nil {
		return nil, err
	}
	o.Controller.TracerProvider = tp
	mgr, err := controller.NewManager(ctx, cfg, o.Controller)
	if err != nil {
		_ = shutdown(ctx)
		return nil, err
	}
	if err := mgr.Add(tracerShutdown{shutdown: shutdown}); err != nil {
		_ = shutdown(ctx)
		return nil, fmt.Errorf("failed to add the span flush: %w", err)
	}
	if err := receiver.Setup(ctx, mgr, receiver.Options{Addr: o.ReceiverAddr, TracerProvider: tp}); err != nil {
		return nil, err
	}
	if err := queryapi.Setup(mgr, o.HTTP); err != nil {
		return nil, err
	}
	return mgr, nil
}
