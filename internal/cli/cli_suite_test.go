package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
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
)

// update rewrites the golden files under testdata/ with what the commands print.
var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// The suite's shared world: one control plane with kwok nodes, tugboat's CRDs, a Git
// smart-HTTP server and the real controllers running in this process, which the CLI
// talks to only through the kubeconfig, as a user's shell would.
var (
	env *cluster.Cluster
	k8s client.Client
	git *gitserver.Server
)

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{
		Cluster: cluster.Options{Workloads: true},
		CRDs:    true,
		Scheme:  kube.NewScheme(),
		Git:     true,
		Manager: func(ctx context.Context, cfg *rest.Config) (ctrl.Manager, error) {
			return app.NewControllerManager(ctx, cfg, app.ControllerOptions{Controller: controller.Options{Concurrent: 4, MetricsAddr: "0", HealthAddr: "0"}})
		},
		Ready: func(_ context.Context, s *testenv.Suite) error {
			env, k8s, git = s.Cluster, s.Client, s.Git
			return nil
		},
	})
}

// result is what one CLI run printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// tugboat runs the CLI through Execute against the suite's cluster in namespace ns, as
// a user would with --kubeconfig and -n. Standard input is the test binary's (empty).
func tugboat(t *testing.T, ns string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Execute(context.Background(), kubeArgs(ns, args), &out, &errOut)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

func kubeArgs(ns string, args []string) []string {
	full := append([]string{"--kubeconfig", env.Kubeconfig}, args...)
	if ns != "" {
		full = append(full, "-n", ns)
	}
	return full
}

// tugboatAnswering runs the CLI with stdin as the answer to a confirmation. Execute
// offers no standard input, so this drives the root command and reports only whether
// it failed.
func tugboatAnswering(t *testing.T, ns, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := NewRootCommand(&out, &errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(kubeArgs(ns, args))
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// mustRun runs the CLI and fails the test unless it exits with code.
func mustRun(t *testing.T, code int, ns string, args ...string) result {
	t.Helper()
	r := tugboat(t, ns, args...)
	if r.code != code {
		t.Fatalf("tugboat %s: exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	return r
}

// newNamespace creates a namespace of the test's own.
func newNamespace(t testing.TB) string { return testenv.Namespace(t, k8s) }

// newRepo creates a Git repository on the test server holding files on branch main
// and returns a work tree to change it, and its URL.
func newRepo(t testing.TB, name string, files map[string]string) (*gitserver.Workdir, string) {
	return testenv.Repo(t, git, name, files)
}

var (
	ageRe    = regexp.MustCompile(`\b(\d+(y|d|h|m|s))+\b`)
	sha1Re   = regexp.MustCompile(`sha1:[0-9a-f]{40}`)
	sha256Re = regexp.MustCompile(`sha256:[0-9a-f]{64}`)
	spacesRe = regexp.MustCompile(` {2,}`)
)

// normalise replaces what changes between runs (the namespace, the Git server's
// address, commit SHAs, ages) with fixed words, and the column padding, which follows
// their widths, with three spaces.
func normalise(s string, replace ...string) string {
	s = strings.NewReplacer(replace...).Replace(s)
	s = sha1Re.ReplaceAllString(s, "sha1:SHA")
	s = sha256Re.ReplaceAllString(s, "sha256:DIGEST")
	s = ageRe.ReplaceAllString(s, "AGE")
	return spacesRe.ReplaceAllString(s, "   ")
}

// golden compares got with testdata/<verb>/<name>.golden, or writes it with -update.
func golden(t *testing.T, verb, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", verb, name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("failed to read golden file (run with -update to create it): %v", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file %s:\n--- want\n%s\n--- got\n%s", verb, path, want, got)
	}
}

// pollUntil checks cond every 100 ms for up to 90 s (the machine is shared and slow).
func pollUntil(cond func() bool) error {
	return wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 90*time.Second, true,
		func(context.Context) (bool, error) { return cond(), nil })
}
