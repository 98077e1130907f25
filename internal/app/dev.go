package app

import (
	"context"
	"io"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/tugboatcd/tugboat/internal/gitops/controller"
	"github.com/tugboatcd/tugboat/internal/install"
)

// StartDevControllers is what the dev cluster's supervisor runs beside the control
// plane (localdev/dev.Options.Controllers): it installs the CRDs and admission
// policies, then starts the GitOps controllers, logging to log, and returns; the
// channel receives their error when they stop. kwok runs no containers, so the
// controller's Deployment could not run inside the cluster.
func StartDevControllers(ctx context.Context, cfg *rest.Config, log io.Writer) (<-chan error, error) {
	if err := install.CRDs(ctx, cfg); err != nil {
		return nil, err
	}
	if _, err := install.Policies(ctx, cfg); err != nil {
		return nil, err
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(log)))
	stopped := make(chan error, 1)
	go func() {
		stopped <- RunController(ctx, cfg, ControllerOptions{Controller: controller.Options{Concurrent: 20, MetricsAddr: "0", HealthAddr: "0"}})
	}()
	return stopped, nil
}
