// Package testenv holds what the end-to-end suites of several packages share beside the
// local cluster (internal/localdev/cluster): a namespace of each test's own, a Git smart-HTTP
// server with repositories seeded for a test, the suites' logger, and the controller
// manager run in the test process. Only tests import it.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/tugboatcd/tugboat/internal/localdev/gitserver"
)

// Namespace creates a namespace of the test's own and returns its name: the test's name
// (lower case, at most 40 characters) and a number, so that tests sharing a cluster,
// and runs of one test, do not meet.
func Namespace(t testing.TB, c client.Client) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-", " ", "-").Replace(t.Name()))
	if len(name) > 40 {
		name = name[:40]
	}
	name = strings.Trim(name, "-") + fmt.Sprintf("-%d", time.Now().UnixNano()%100000)
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatalf("failed to create namespace: %v", err)
	}
	return name
}

// GitServer starts a Git smart-HTTP server over a new temporary directory; stop closes
// it and removes the directory.
func GitServer() (srv *gitserver.Server, stop func(), err error) {
	root, err := os.MkdirTemp("", "tugboat-git-")
	if err != nil {
		return nil, nil, err
	}
	srv = gitserver.New(root)
	if _, err := srv.Start(); err != nil {
		_ = os.RemoveAll(root)
		return nil, nil, err
	}
	return srv, func() {
		srv.Close()
		_ = os.RemoveAll(root)
	}, nil
}

// Repo creates the repository name on srv holding files, committed on branch main, and
// returns a work tree to change it (closed when the test ends) and its URL.
func Repo(t testing.TB, srv *gitserver.Server, name string, files map[string]string) (*gitserver.Workdir, string) {
	t.Helper()
	if err := srv.InitRepo(name, "main"); err != nil {
		t.Fatalf("failed to create repo: %v", err)
	}
	wd, err := srv.Workdir(name)
	if err != nil {
		t.Fatalf("failed to clone repo: %v", err)
	}
	t.Cleanup(func() { _ = wd.Close() })
	if err := wd.WriteFiles(files); err != nil {
		t.Fatal(err)
	}
	if _, err := wd.CommitAndPush("initial"); err != nil {
		t.Fatalf("failed to push: %v", err)
	}
	return wd, srv.RepoURL(name)
}

// SetLogger gives controller-runtime a logger for a test process: silent, or on stderr
// when TUGBOAT_TEST_LOG is set.
func SetLogger() {
	out := io.Discard
	if os.Getenv("TUGBOAT_TEST_LOG") != "" {
		out = os.Stderr
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(out), zap.UseDevMode(true)))
}

// Start runs mgr until ctx ends. The returned wait blocks until it has stopped and
// reports why, unless it stopped because ctx ended.
func Start(ctx context.Context, mgr manager.Manager) (wait func() error) {
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	return func() error {
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("controller manager: %w", err)
		}
		return nil
	}
}
