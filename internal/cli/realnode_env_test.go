package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
)

// realNode starts what every real-node test of the CLI starts from: the machine's
// prerequisites checked (failing with the command that installs them), a cluster with
// the real node that stops when the test ends, and clients for it. The context ends
// after timeout or with the test.
func realNode(t *testing.T, timeout time.Duration) (context.Context, *cluster.Cluster, *kubernetes.Clientset) {
	t.Helper()
	if err := cluster.CheckRealNode(); err != nil {
		t.Fatalf("%v (the real node's tests need them; `%s` installs the packages)", err, cluster.PrerequisitesCommand)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	c := startRealNodeCluster(ctx, t)
	t.Cleanup(c.Stop)
	clients, err := kubernetes.NewForConfig(c.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, c, clients
}

// runAgainst returns a runner of tugboat commands against c that fails the test unless
// a command exits with the code it is given.
func runAgainst(ctx context.Context, t *testing.T, c *cluster.Cluster) func(code int, args ...string) result {
	return func(code int, args ...string) result {
		t.Helper()
		var out, errOut bytes.Buffer
		got := Execute(ctx, append([]string{"--kubeconfig", c.Kubeconfig}, args...), &out, &errOut)
		if got != code {
			t.Fatalf("tugboat %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), got, code, out.String(), errOut.String())
		}
		return result{stdout: out.String(), stderr: errOut.String(), code: got}
	}
}
