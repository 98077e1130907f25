package controller

import (
	"context"
	"strings"
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

// An interval reconcile that finds nothing new writes nothing: no apply, no status
// patch (the Kustomization's resourceVersion stays: neither status.history nor the
// Healthy condition's message is rewritten), so an idle cluster sees no requests from
// tugboat however short the interval.
func TestIntervalReconcilesOfAnUnchangedKustomizationWriteNothing(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	wd, url := newRepo(t, ns, map[string]string{"app/a.yaml": configMap("a", "1")})
	applyYAML(t, ns, gitRepository(url)+"---"+strings.Replace(kustomization(ns, "app", "./app", "  wait: true\n"), "interval: 1h", "interval: 1s", 1))
	commit, _ := wd.Head()
	k := waitKustomization(t, ns, "app", "applied", readyAt(commit))

	reconciled := func() float64 {
		families, err := metrics.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() != "tugboat_reconcile_total" {
				continue
			}
			for _, m := range f.GetMetric() {
				if label(m, "kind") == kustomizev1.KustomizationKind && label(m, "result") == "ready" {
					return m.GetCounter().GetValue()
				}
			}
		}
		return 0
	}
	start, applies := reconciled(), sentRequests(t, "apply", "dryrun")
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return reconciled()-start >= 3, nil
	})
	if err != nil {
		t.Fatalf("the 1s interval did not reconcile 3 times: %v", reconciled()-start)
	}
	var now kustomizev1.Kustomization
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(k), &now); err != nil {
		t.Fatal(err)
	}
	if now.ResourceVersion != k.ResourceVersion {
		t.Errorf("interval reconciles rewrote the Kustomization: resourceVersion %s → %s, status %+v",
			k.ResourceVersion, now.ResourceVersion, now.Status.History)
	}
	if sent := sentRequests(t, "apply", "dryrun") - applies; sent != 0 {
		t.Errorf("interval reconciles sent %v apply/dry-run requests, want 0", sent)
	}
}
