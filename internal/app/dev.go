package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/tugboatcd/tugboat/internal/gitops/controller"
	"github.com/tugboatcd/tugboat/internal/install"
	"github.com/tugboatcd/tugboat/internal/kube"
	"github.com/tugboatcd/tugboat/internal/localdev/dev"
)

// StartDevControllers is what the dev cluster's supervisor runs beside the control
// plane (localdev/dev.Options.Controllers): it installs the CRDs and admission
// policies, starts the dev cluster's store (an agent collecting into it, its OTLP
// receiver and its query API: dev_store.go), then the GitOps controllers, logging to
// env.Log, and returns. The controllers trace themselves into that store through its
// OTLP receiver, as `tugboat controller --otlp-endpoint` does into an agent's: one path
// from the SDK to the tables, the one users run. The local cluster's controller lives
// in the supervisor because a kwok-only cluster runs no container and the real node
// has no image of tugboat built here yet. It elects a leader on the same lease as
// `tugboat controller` run out of cluster and the Deployment of `tugboat install`, so
// whichever starts second waits instead of reconciling the same objects twice. A
// clean `dev down` releases the lease and the supervisor releases one a killed
// predecessor left (localdev/dev), so the next `up` takes it at once.
func StartDevControllers(ctx context.Context, env dev.Env) (dev.Services, error) {
	if _, err := PrepareDevCluster(ctx, dev.Env{Config: env.Config, Log: io.Discard}); err != nil {
		return dev.Services{}, err
	}
	// The store outlives the controllers' context: on the way out they flush their
	// last spans to its receiver, so it stops only once they have.
	storeCtx, stopStore := context.WithCancel(context.WithoutCancel(ctx))
	st, err := startDevStore(storeCtx, env)
	if err != nil {
		stopStore()
		return dev.Services{}, err
	}
	fmt.Fprintf(env.Log, "the dev store serves queries on %s and receives OTLP on %s\n", st.endpoints.Query, st.endpoints.OTLP)
	fmt.Fprintf(env.Log, "starting the GitOps controllers in this process (leader lease %s/%s), tracing into the dev store\n", kube.ControllerLeaseNamespace, kube.ControllerLeaseName)
	ctrl.SetLogger(zap.New(zap.WriteTo(env.Log)))
	// The Receivers' webhooks, on loopback: a Git server or CI job of this machine
	// announces a push there. The port is chosen once, as the controllers may restart.
	hooks, err := freeLoopbackAddr()
	if err != nil {
		stopStore()
		return dev.Services{}, errors.Join(err, <-st.stopped)
	}
	o := ControllerOptions{
		Controller:   controller.Options{Concurrent: 20, MetricsAddr: "0", HealthAddr: "0", LeaderElection: true, Restartable: true},
		ReceiverAddr: hooks,
		Tracing:      TracingOptions{Endpoint: st.endpoints.OTLP, Env: os.Getenv, Version: "dev"},
	}
	stopped := make(chan error, 1)
	controllers := make(chan error, 1)
	go func() {
		controllers <- runRestarting(ctx, env.Log, func() error { return RunController(ctx, env.Config, o) })
	}()
	go func() {
		var err error
		select {
		case err = <-controllers:
			stopStore()
			err = errors.Join(err, <-st.stopped)
		case err = <-st.stopped:
			// The store failed: the controllers go on without it only until the
			// supervisor, told here, stops them.
			err = fmt.Errorf("the dev store stopped: %w", err)
		}
		stopped <- err
	}()
	return dev.Services{Stopped: stopped, Store: &st.endpoints, Webhooks: "http://" + hooks}, nil
}

// freeLoopbackAddr returns a loopback address with a port free now. Another process
// may take it before the webhook server binds it; the server's failure then stops
// the controllers, which runRestarting reports.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("failed to find a port for the webhook server: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
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

// PrepareDevCluster installs the CRDs and admission policies and starts nothing
// (`tugboat dev up --no-controller`): the cluster is left to the controller of `tugboat
// install` or `tugboat controller`, and to their agent.
func PrepareDevCluster(ctx context.Context, env dev.Env) (dev.Services, error) {
	if err := install.CRDs(ctx, env.Config); err != nil {
		return dev.Services{}, err
	}
	if _, err := install.Policies(ctx, env.Config); err != nil {
		return dev.Services{}, err
	}
	fmt.Fprintf(env.Log, "no GitOps controller in this process (--no-controller): run `tugboat install` or `tugboat controller`\n")
	return dev.Services{}, nil
}
