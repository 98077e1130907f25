package apply

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
	"github.com/tugboatcd/tugboat/internal/localdev/testenv"
)

// shared is the package's one control plane, started in TestMain.
var shared *cluster.Cluster

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{
		Ready: func(_ context.Context, s *testenv.Suite) error {
			shared = s.Cluster
			return nil
		},
	})
}

// newClient returns a client of the shared cluster without client-side rate
// limiting, as the controller runs.
func newClient(tb testing.TB) client.Client {
	tb.Helper()
	cfg := *shared.RESTConfig
	cfg.QPS, cfg.Burst = -1, 0
	c, err := client.New(&cfg, client.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

var namespaces atomic.Int64

// testNamespace creates a namespace of its own for a test.
func testNamespace(tb testing.TB, c client.Client) string {
	tb.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: fmt.Sprintf("t%d-%s", namespaces.Add(1), strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return '-'
		}, strings.ToLower(tb.Name()))),
	}}
	if len(ns.Name) > 50 {
		ns.Name = strings.TrimRight(ns.Name[:50], "-")
	}
	if err := c.Create(context.Background(), ns); err != nil {
		tb.Fatal(err)
	}
	return ns.Name
}

// parse reads one object from YAML, with %s replaced by ns.
func parse(tb testing.TB, ns, doc string) *unstructured.Unstructured {
	tb.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(strings.ReplaceAll(doc, "NS", ns)), &u.Object); err != nil {
		tb.Fatal(err)
	}
	return u
}

// get reads a live object, or nil when it does not exist.
func get(tb testing.TB, c client.Client, apiVersion, kind, ns, name string) *unstructured.Unstructured {
	tb.Helper()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func configMap(ns, name string, data map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": ns},
	}}
	if data != nil {
		d := map[string]any{}
		for k, v := range data {
			d[k] = v
		}
		u.Object["data"] = d
	}
	return u
}

// actions maps each change's subject to its action.
func actions(cs ChangeSet) map[string]Action {
	out := map[string]Action{}
	for _, c := range cs {
		out[c.Subject()] = c.Action
	}
	return out
}
