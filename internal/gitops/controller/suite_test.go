package controller

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/kube"
	"github.com/tugboatcd/tugboat/internal/localdev/cluster"
	"github.com/tugboatcd/tugboat/internal/localdev/gitserver"
	"github.com/tugboatcd/tugboat/internal/localdev/testenv"
)

// The suite's shared world: one control plane with workloads, the CRDs, a Git
// smart-HTTP server and the controllers running in this process.
var (
	env     *cluster.Cluster
	k8s     client.Client // direct client, no cache: tests see what the apiserver holds
	dyn     dynamic.Interface
	git     *gitserver.Server
	manager ctrl.Manager
)

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{
		Cluster: cluster.Options{Workloads: true},
		CRDs:    true,
		Scheme:  kube.NewScheme(),
		Git:     true,
		Manager: func(ctx context.Context, cfg *rest.Config) (ctrl.Manager, error) {
			// Objects labelled with shardLabel belong to controllers the tests run as processes.
			return NewManager(ctx, cfg, Options{Concurrent: 4, MetricsAddr: "0", HealthAddr: "0", WatchLabelSelector: "!" + shardLabel})
		},
		Ready: func(_ context.Context, s *testenv.Suite) error {
			env, k8s, git, manager = s.Cluster, s.Client, s.Git, s.Manager
			dyn = dynamic.NewForConfigOrDie(env.RESTConfig)
			return nil
		},
	})
}

// newNamespace creates a namespace of the test's own.
func newNamespace(t *testing.T) string { return testenv.Namespace(t, k8s) }

// newRepo creates a Git repository on the test server holding files on branch main
// and returns a work tree to change it and its URL.
func newRepo(t *testing.T, name string, files map[string]string) (*gitserver.Workdir, string) {
	return testenv.Repo(t, git, name, files)
}

// applyYAML server-side applies every object of a YAML stream in namespace ns (when
// the object has none), as kubectl apply -n would.
func applyYAML(t *testing.T, ns, doc string) {
	t.Helper()
	ctx := context.Background()
	groups, err := restmapper.GetAPIGroupResources(discovery.NewDiscoveryClientForConfigOrDie(env.RESTConfig))
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(doc)), 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			t.Fatalf("bad test YAML: %v", err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		if obj.GetNamespace() == "" {
			obj.SetNamespace(ns)
		}
		gvk := obj.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("no mapping for %s: %v", gvk, err)
		}
		if _, err := dyn.Resource(mapping.Resource).Namespace(obj.GetNamespace()).Apply(ctx, obj.GetName(), obj,
			metav1.ApplyOptions{FieldManager: "test-user", Force: true}); err != nil {
			t.Fatalf("failed to apply %s %s: %v", gvk.Kind, obj.GetName(), err)
		}
	}
}

// requestReconcile sets Flux's reconcile-request annotation, as a webhook would.
func requestReconcile(t *testing.T, obj client.Object) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, meta.ReconcileRequestAnnotation, time.Now().Format(time.RFC3339Nano))
	if err := k8s.Patch(context.Background(), obj, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatalf("failed to request a reconcile: %v", err)
	}
}

// waitKustomization polls until check accepts the Kustomization, and fails the test
// with its last status otherwise.
func waitKustomization(t *testing.T, ns, name string, what string, check func(*kustomizev1.Kustomization) bool) *kustomizev1.Kustomization {
	t.Helper()
	var last kustomizev1.Kustomization
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &last); err != nil {
			return false, nil
		}
		return check(&last), nil
	})
	if err != nil {
		t.Fatalf("Kustomization %s/%s never %s; last status: %s", ns, name, what, statusString(&last))
	}
	return &last
}

// waitGitRepositoryStatus polls until check accepts the GitRepository.
func waitGitRepositoryStatus(t *testing.T, ns, name string, what string, check func(*sourcev1.GitRepository) bool) *sourcev1.GitRepository {
	t.Helper()
	var last sourcev1.GitRepository
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &last); err != nil {
			return false, nil
		}
		return check(&last), nil
	})
	if err != nil {
		t.Fatalf("GitRepository %s/%s never %s; last status: %+v", ns, name, what, last.Status)
	}
	return &last
}

func statusString(k *kustomizev1.Kustomization) string {
	var b strings.Builder
	fmt.Fprintf(&b, "lastApplied=%q lastAttempted=%q", k.Status.LastAppliedRevision, k.Status.LastAttemptedRevision)
	for _, c := range k.Status.Conditions {
		fmt.Fprintf(&b, "; %s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
	}
	return b.String()
}

// readyAt accepts a Kustomization that is Ready at a revision of the given commit.
func readyAt(commit string) func(*kustomizev1.Kustomization) bool {
	return func(k *kustomizev1.Kustomization) bool {
		return meta.IsReady(k) && strings.HasSuffix(k.Status.LastAppliedRevision, "sha1:"+commit)
	}
}

// notReadyWith accepts a Kustomization whose Ready is False with reason and a message
// containing every fragment.
func notReadyWith(reason string, fragments ...string) func(*kustomizev1.Kustomization) bool {
	return func(k *kustomizev1.Kustomization) bool {
		c := readyCondition(k)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason != reason {
			return false
		}
		for _, f := range fragments {
			if !strings.Contains(c.Message, f) {
				return false
			}
		}
		return true
	}
}
