package controller

import (
	"context"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
)

// sentRequests sums the controller's apiserver write requests of the given types.
func sentRequests(t *testing.T, types ...string) float64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, ty := range types {
		want[ty] = true
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != "tugboat_apply_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if want[label(m, "type")] {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestDriftIsRevertedAndIdleCostsNoRequests(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	wd, url := newRepo(t, ns, map[string]string{"app/a.yaml": configMap("a", "from-git")})
	applyYAML(t, ns, syncManifests(ns, url, "./app", true))
	commit, _ := wd.Head()
	waitKustomization(t, ns, "app", "applied", readyAt(commit))

	// Nothing changed: further reconciles (requested, as a webhook would) send no apply
	// and no dry-run.
	before := sentRequests(t, "apply", "dryrun")
	k := &kustomizev1.Kustomization{}
	k.Namespace, k.Name = ns, "app"
	requestReconcile(t, k)
	waitKustomization(t, ns, "app", "handled the reconcile request", func(k *kustomizev1.Kustomization) bool {
		return k.Status.LastHandledReconcileAt != "" && k.Status.LastHandledReconcileAt == k.Annotations["reconcile.fluxcd.io/requestedAt"]
	})
	if after := sentRequests(t, "apply", "dryrun"); after != before {
		t.Errorf("an idle reconcile sent %v apply/dry-run requests, want 0", after-before)
	}

	// A kubectl edit of a managed field is reverted, seen by the watch.
	var cm corev1.ConfigMap
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "a"}, &cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["value"] = "edited-by-hand"
	if err := k8s.Update(ctx, &cm); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "a"}, &cm); err != nil {
			return false, nil
		}
		return cm.Data["value"] == "from-git", nil
	})
	if err != nil {
		t.Fatalf("drift was not reverted: value is %q", cm.Data["value"])
	}
}
