package app

import (
	"context"
	"fmt"
	"io"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/tugboatcd/tugboat/internal/gitops/controller"
	"github.com/tugboatcd/tugboat/internal/install"
	"github.com/tugboatcd/tugboat/internal/kube"
)

// StartDevControllers is what the dev cluster's supervisor runs beside the control
// plane (localdev/dev.Options.Controllers): it installs the CRDs and admission
// policies, then starts the GitOps controllers, logging to log, and returns; the
// channel receives their error when they stop. The local cluster's controller lives
// in the supervisor because a kwok-only cluster runs no container and the real node
// has no image of tugboat built here yet. It elects a leader on the same lease as
// `tugboat controller` run out of cluster and the Deployment of `tugboat install`, so
// whichever starts second waits instead of reconciling the same objects twice; a
// released lease (a clean `dev down`) is taken at once, an abandoned one (a killed
// supervisor) after its 15 s.
func StartDevControllers(ctx context.Context, cfg *rest.Config, log io.Writer) (<-chan error, error) {
	if _, err := PrepareDevCluster(ctx, cfg, io.Discard); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "starting the GitOps controllers in this process (leader lease %s/%s)\n", kube.ControllerLeaseNamespace, kube.ControllerLeaseName)
	ctrl.SetLogger(zap.New(zap.WriteTo(log)))
	stopped := make(chan error, 1)
	go func() {
		stopped <- RunController(ctx, cfg, ControllerOptions{Controller: controller.Options{Concurrent: 20, MetricsAddr: "0", HealthAddr: "0", LeaderElection: true}})
	}()
	return stopped, nil
}

// PrepareDevCluster installs the CRDs and admission policies and starts no controller
// (`tugboat dev up --no-controller`): the cluster is left to the controller of `tugboat
// install` or `tugboat controller`. The channel it returns is nil: nothing to stop.
func PrepareDevCluster(ctx context.Context, cfg *rest.Config, log io.Writer) (<-chan error, error) {
	if err := install.CRDs(ctx, cfg); err != nil {
		return nil, err
	}
	if _, err := install.Policies(ctx, cfg); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "no GitOps controller in this process (--no-controller): run `tugboat install` or `tugboat controller`\n")
	return nil, nil
}
