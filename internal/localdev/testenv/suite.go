package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/tugboatcd/tugboat/internal/install"
	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
	"github.com/tugboatcd/tugboat/internal/localdev/gitserver"
)

// Options is what one package's suite asks for beside the control plane. The manager is
// built by the package (a callback), so that testenv links no wing of the product.
type Options struct {
	// Cluster configures the shared control plane.
	Cluster cluster.Options
	// CRDs installs tugboat's CRDs before the manager is built.
	CRDs bool
	// Scheme is the scheme of the suite's direct client; client-go's when nil.
	Scheme *runtime.Scheme
	// Git starts a Git smart-HTTP server over a temporary directory.
	Git bool
	// Manager builds the controller manager that runs in the test process while the tests
	// run; none runs when nil. It is called once the cluster (and the CRDs) are up.
	Manager func(ctx context.Context, cfg *rest.Config) (manager.Manager, error)
	// Ready runs once everything above has started and before the first test: the
	// package's own preparation (an admission policy, waiting for a listener) and the
	// binding of its suite variables.
	Ready func(ctx context.Context, s *Suite) error
}

// Suite is a package's shared world for its end-to-end tests: one control plane, a
// direct client, and what Options asked for. Fields are set once it has started.
type Suite struct {
	Cluster *cluster.Cluster
	Client  client.Client // direct client, no cache: tests see what the apiserver holds
	Git     *gitserver.Server
	Manager manager.Manager

	opts    Options
	once    sync.Once
	err     error
	cancel  context.CancelFunc
	stopped func() error // waits for the manager to end
	stops   []func()     // undo what started, run last first
}

// New returns a suite that starts when Run or Need is first called.
func New(opts Options) *Suite { return &Suite{opts: opts} }

// Main starts the suite, runs the package's tests, stops the suite and exits with the
// tests' code. Call it from TestMain.
func Main(m *testing.M, opts Options) { os.Exit(New(opts).Run(m)) }

// Run starts the suite, runs the tests, stops the suite and returns the exit code: 1
// without running any test when the suite cannot start.
func (s *Suite) Run(m *testing.M) int {
	if err := s.start(); err != nil {
		fmt.Fprintf(os.Stderr, "failed to start the test suite: %v\n", err)
		s.Stop()
		return 1
	}
	code := m.Run()
	s.Stop()
	return code
}

// Need returns the suite, starting it on the first call, for packages whose pure tests
// run without a cluster; it fails the test when the suite could not start. Stop it from
// TestMain once the tests have run.
func (s *Suite) Need(tb testing.TB) *Suite {
	tb.Helper()
	if err := s.start(); err != nil {
		tb.Fatalf("failed to start the test suite: %v", err)
	}
	return s
}

func (s *Suite) start() error {
	s.once.Do(func() { s.err = s.startOnce() })
	return s.err
}

func (s *Suite) startOnce() error {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	var err error
	if s.Cluster, err = cluster.Start(ctx, s.opts.Cluster); err != nil {
		return fmt.Errorf("failed to start the local cluster: %w", err)
	}
	s.stops = append(s.stops, s.Cluster.Stop)
	if s.opts.CRDs {
		if err := install.CRDs(ctx, s.Cluster.RESTConfig); err != nil {
			return fmt.Errorf("failed to install the CRDs: %w", err)
		}
	}
	if s.Client, err = client.New(s.Cluster.RESTConfig, client.Options{Scheme: s.opts.Scheme}); err != nil {
		return fmt.Errorf("failed to create the suite's client: %w", err)
	}
	if s.opts.Git {
		var stopGit func()
		if s.Git, stopGit, err = GitServer(); err != nil {
			return fmt.Errorf("failed to start the Git server: %w", err)
		}
		s.stops = append(s.stops, stopGit)
	}
	if s.opts.Manager != nil {
		setLogger()
		if s.Manager, err = s.opts.Manager(ctx, s.Cluster.RESTConfig); err != nil {
			return fmt.Errorf("failed to create the controller manager: %w", err)
		}
		s.stopped = runManager(ctx, s.Manager)
	}
	if s.opts.Ready != nil {
		if err := s.opts.Ready(ctx, s); err != nil {
			return fmt.Errorf("failed to prepare the suite: %w", err)
		}
	}
	return nil
}

// Stop ends the manager, then stops what the suite started, last first. A manager that
// ended with an error is reported on stderr: the tests have already judged the
// behaviour, so the exit code stays theirs. Stop does nothing on a suite that never
// started.
func (s *Suite) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	if s.stopped != nil {
		if err := s.stopped(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		s.stopped = nil
	}
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
	s.stops = nil
}

// runManager runs mgr until ctx ends. The returned wait blocks until it has stopped
// and reports why, unless it stopped because ctx ended.
func runManager(ctx context.Context, mgr manager.Manager) (wait func() error) {
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	return func() error {
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("controller manager: %w", err)
		}
		return nil
	}
}
