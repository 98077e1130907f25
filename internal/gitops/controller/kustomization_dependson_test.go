package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
)

func kustomization(ns, name, path string, extra string) string {
	return fmt.Sprintf(`
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: %s
spec:
  interval: 1h
  path: %s
  prune: true
  targetNamespace: %s
  sourceRef:
    kind: GitRepository
    name: repo
%s`, name, path, ns, extra)
}

func gitRepository(url string) string {
	return fmt.Sprintf(`
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: repo
spec:
  interval: 1h
  url: %s
  ref:
    branch: main
`, url)
}

func TestDependsOnOrdersAndAFailingDependencyBlocks(t *testing.T) {
	ns := newNamespace(t)
	wd, url := newRepo(t, ns, map[string]string{
		"infra/cm.yaml":  configMap("infra", "1"),
		"app/cm.yaml":    configMap("app", "1"),
		"broken/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: [not, a, map\n",
	})
	commit, _ := wd.Head()
	applyYAML(t, ns, gitRepository(url)+"---"+
		kustomization(ns, "app", "./app", "  dependsOn:\n    - name: infra\n")+"---"+
		kustomization(ns, "infra", "./infra", "")+"---"+
		kustomization(ns, "blocked", "./app-blocked", "  dependsOn:\n    - name: broken\n")+"---"+
		kustomization(ns, "broken", "./broken", ""))

	infra := waitKustomization(t, ns, "infra", "became Ready", readyAt(commit))
	app := waitKustomization(t, ns, "app", "became Ready after its dependency", readyAt(commit))
	// The dependant applied after its dependency was Ready at the same revision.
	if readyCondition(app).LastTransitionTime.Before(&readyCondition(infra).LastTransitionTime) {
		t.Errorf("app became Ready (%v) before infra (%v)", readyCondition(app).LastTransitionTime, readyCondition(infra).LastTransitionTime)
	}
	waitKustomization(t, ns, "broken", "failed to build", notReadyWith(meta.BuildFailedReason))
	blocked := waitKustomization(t, ns, "blocked", "was blocked by its failing dependency",
		notReadyWith(meta.DependencyNotReadyReason, "broken"))
	if blocked.Status.LastAppliedRevision != "" {
		t.Errorf("a Kustomization behind a failing dependency applied %q", blocked.Status.LastAppliedRevision)
	}
}

// hasDependants, which decides whether a woken Kustomization goes ahead of new ones,
// reads the dependsOn index of the manager's cache: in the same namespace by default,
// in another when dependsOn names one.
func TestHasDependantsReadsTheDependsOnIndex(t *testing.T) {
	ns, other := newNamespace(t), newNamespace(t)
	suspended := "  suspend: true\n"
	applyYAML(t, ns, kustomization(ns, "infra", "./infra", suspended)+"---"+
		kustomization(ns, "app", "./app", suspended+"  dependsOn:\n    - name: infra\n")+"---"+
		kustomization(ns, "leaf", "./leaf", suspended))
	applyYAML(t, other, kustomization(other, "remote", "./remote", suspended+"  dependsOn:\n    - name: leaf\n      namespace: "+ns+"\n"))

	r := &KustomizationReconciler{Client: manager.GetClient()}
	want := map[string]bool{ns + "/infra": true, ns + "/leaf": true, ns + "/app": false, other + "/remote": false}
	got := map[string]bool{}
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		for key := range want {
			namespace, name, _ := strings.Cut(key, "/")
			got[key] = r.hasDependants(ctx, types.NamespacedName{Namespace: namespace, Name: name})
		}
		return maps.Equal(got, want), nil
	})
	if err != nil {
		t.Fatalf("hasDependants: %v, want %v", got, want)
	}
}

// When a dependency's Ready changes, its dependants are reconciled before the
// Kustomizations queued for their first reconcile, on controller-runtime's own priority
// queue; a Kustomization nobody depends on wakes no one.
func TestDependantsOfAChangedDependencyGoFirst(t *testing.T) {
	ns := newNamespace(t)
	suspended := "  suspend: true\n"
	applyYAML(t, ns, kustomization(ns, "infra", "./infra", suspended)+"---"+
		kustomization(ns, "app", "./app", suspended+"  dependsOn:\n    - name: infra\n")+"---"+
		kustomization(ns, "leaf", "./leaf", suspended))
	r := &KustomizationReconciler{Client: manager.GetClient()}
	dependency := func(name string) *kustomizev1.Kustomization {
		k := &kustomizev1.Kustomization{}
		k.Namespace, k.Name = ns, name
		return k
	}
	// The dependant is found once the cache has it.
	if err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		return len(r.byDependency(ctx, dependency("infra"))) == 1, nil
	}); err != nil {
		t.Fatalf("the cache never listed app as infra's dependant: %v", err)
	}

	q := priorityqueue.New[reconcile.Request]("dependants-test")
	defer q.ShutDown()
	for _, name := range []string{"new-1", "new-2"} {
		q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
	}
	h := r.wakeDependants()
	for _, name := range []string{"leaf", "infra"} {
		h.Update(context.Background(), event.UpdateEvent{ObjectOld: dependency(name), ObjectNew: dependency(name)}, q)
	}
	var order []string
	for q.Len() > 0 {
		req, _ := q.Get()
		order = append(order, req.Name)
		q.Done(req)
	}
	if want := []string{"app", "new-1", "new-2"}; !slices.Equal(order, want) {
		t.Fatalf("reconciled in the order %v, want %v", order, want)
	}
}
