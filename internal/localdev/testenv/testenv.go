// Package testenv is the one suite setup of the end-to-end tests: a package's TestMain
// states what is its own (cluster options, the CRDs, a Git server, the controller
// manager it builds, its preparation) and testenv starts the local cluster
// (internal/localdev/cluster) and the rest in order, and stops them in reverse. It also
// gives each test a namespace of its own and Git repositories seeded for it. Only tests
// import it.
package testenv

import (
	"context"
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

// setLogger gives controller-runtime a logger for a test process: silent, or on stderr
// when TUGBOAT_TEST_LOG is set.
func setLogger() {
	out := io.Discard
	if os.Getenv("TUGBOAT_TEST_LOG") != "" {
		out = os.Stderr
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(out), zap.UseDevMode(true)))
}
