package app_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/internal/app"
	"github.com/tugboatcd/tugboat/internal/gitops/controller"
	"github.com/tugboatcd/tugboat/internal/kube"
	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
	"github.com/tugboatcd/tugboat/internal/localdev/gitserver"
	"github.com/tugboatcd/tugboat/internal/localdev/testenv"
	"github.com/tugboatcd/tugboat/internal/observe/otlp"
	"github.com/tugboatcd/tugboat/internal/observe/queryapi"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

// The suite's world: a control plane, a Git smart-HTTP server, the agent's OTLP
// receiver writing into a DuckDB store, and the controller process (app.NewControllerManager,
// with its webhook server) exporting its own spans to that receiver with the SDK's
// OTLP/HTTP exporter, as --otlp-endpoint makes it.
var (
	k8s      client.Client
	git      *gitserver.Server
	traces   store.Store
	hookBase string
)

func TestMain(m *testing.M) {
	// The batch processor's default 5 s delay would only make the tests wait.
	_ = os.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	var addr string
	var stopOTLP func()
	testenv.Main(m, testenv.Options{
		Cluster: cluster.Options{},
		CRDs:    true,
		Scheme:  kube.NewScheme(),
		Git:     true,
		Manager: func(ctx context.Context, cfg *rest.Config) (ctrl.Manager, error) {
			endpoint, stop, err := startOTLP()
			if err != nil {
				return nil, err
			}
			stopOTLP = stop
			if addr, err = freeAddr(); err != nil {
				return nil, err
			}
			hookBase = "http://" + addr
			return app.NewControllerManager(ctx, cfg, app.ControllerOptions{
				Controller:   controller.Options{Concurrent: 4, MetricsAddr: "0", HealthAddr: "0"},
				ReceiverAddr: addr,
				HTTP:         queryOff,
				Tracing:      app.TracingOptions{Endpoint: endpoint, Env: os.Getenv, Version: "test"},
			})
		},
		Ready: func(ctx context.Context, s *testenv.Suite) error {
			k8s, git = s.Client, s.Git
			return waitListening(ctx, addr)
		},
	})
	if stopOTLP != nil {
		stopOTLP()
	}
}

// startOTLP serves the agent's OTLP receivers on loopback into a DuckDB store in a
// temporary directory and returns the HTTP endpoint.
func startOTLP() (string, func(), error) {
	dir, err := os.MkdirTemp("", "tugboat-app-traces-")
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.OpenDuckDB(ctx, dir, store.Options{RetentionInterval: -1, DefaultRetention: -1})
	if err != nil {
		cancel()
		return "", nil, err
	}
	r := otlp.New(st, otlp.Options{GRPCAddr: "-", HTTPAddr: "127.0.0.1:0"})
	if err := r.Listen(); err != nil {
		cancel()
		_ = st.Close()
		return "", nil, err
	}
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()
	traces = st
	return "http://" + r.HTTPAddr().String(), func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Fprintln(os.Stderr, "the OTLP receiver stopped:", err)
		}
		_ = st.Close()
		_ = os.RemoveAll(dir)
	}, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitListening(ctx context.Context, addr string) error {
	return wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false, nil
		}
		_ = c.Close()
		return true, nil
	})
}

// poll waits until check holds, failing the test with what the last check said.
func poll(t testing.TB, what string, check func(ctx context.Context) (bool, string)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		ok, msg := check(ctx)
		last = msg
		return ok, nil
	})
	if err != nil {
		t.Fatalf("%s never happened; last seen: %s", what, last)
	}
}

// queryOff turns the controller's HTTP query API off: the suite reads the store itself.
var queryOff = queryapi.Options{Addr: "0"}
