package app

import (
	"context"
	"fmt"
	"io"
	"time"

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
// whichever starts second waits instead of reconciling the same objects twice. A
// clean `dev down` releases the lease and the supervisor releases one a killed
// predecessor left (localdev/dev), so the next `up` takes it at once.
func StartDevControllers(ctx context.Context, cfg *rest.Config, log io.Writer) (<-chan error, error) {
	if _, err := PrepareDevCluster(ctx, cfg, io.Discard); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "starting the GitOps controllers in this process (leader lease %s/%s)\n", kube.ControllerLeaseNamespace, kube.ControllerLeaseName)
	ctrl.SetLogger(zap.New(zap.WriteTo(log)))
	o := ControllerOptions{Controller: controller.Options{Concurrent: 20, MetricsAddr: "0", HealthAddr: "0", LeaderElection: true, Restartable: true}}
	stopped := make(chan error, 1)
	go func() { stopped <- runRestarting(ctx, log, func() error { return RunController(ctx, cfg, o) }) }()
	return stopped, nil
}

// devRestartAfter is how long the controllers must have run for a failure to be a
// loss of what they had (the lease: not renewed for its 10 s deadline) rather than a
// failure to start, which stays fatal.
const devRestartAfter = 10 * time.Second

// runRestarting runs the controllers and, once they have run a while, starts them
// again whenever they stop with an error, pausing 2 s doubling to 30 s between
// attempts. A controller that loses its lease stops (controller-runtime leaves the
// restart to whoever runs it, as Flux's do: in a cluster the kubelet); in the dev
// supervisor a slow apiserver on a loaded machine would otherwise take the whole local
// cluster down with it. A first start that fails at once is returned: it will not
// pass by itself.
func runRestarting(ctx context.Context, log io.Writer, run func() error) error {
	started, pause := false, 2*time.Second
	for {
		start := time.Now()
		err := run()
		if err == nil || ctx.Err() != nil {
			return err
		}
		if time.Since(start) >= devRestartAfter {
			started, pause = true, 2*time.Second
		}
		if !started {
			return err
		}
		fmt.Fprintf(log, "the GitOps controllers stopped after %s: %v; starting them again in %s\n",
			time.Since(start).Round(time.Second), err, pause)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
		pause = min(2*pause, 30*time.Second)
	}
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
