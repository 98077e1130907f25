package controller

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
)

// The controller process serves Prometheus /metrics over HTTP: the reconcile duration
// histogram, reconciles by kind and result, and the apply managers' request counters,
// with values that match what the test made it do.
func TestMetricsEndpointReportsReconcilesAndRequests(t *testing.T) {
	ns := newNamespace(t)
	proc := startController(t, "--watch-label-selector", shardLabel+"=metrics")
	wd, url := newRepo(t, ns, map[string]string{
		"app/a.yaml":    configMap("a", "1"),
		"app/b.yaml":    configMap("b", "1"),
		"app/c.yaml":    configMap("c", "1"),
		"broken/x.yaml": "kind: ConfigMap\nmetadata: [oops\n",
	})
	commit, _ := wd.Head()
	applyYAML(t, ns, sharded("metrics", gitRepository(url)+"---"+
		kustomization(ns, "app", "./app", "")+"---"+kustomization(ns, "broken", "./broken", "")))
	waitKustomization(t, ns, "app", "applied", readyAt(commit))
	waitKustomization(t, ns, "broken", "failed to build", notReadyWith(meta.BuildFailedReason))

	m, err := proc.scrape()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"tugboat_reconcile_total", []string{"kind", "Kustomization", "result", "ready"}, 1},
		{"tugboat_reconcile_total", []string{"kind", "Kustomization", "result", "not_ready"}, 1},
		{"tugboat_reconcile_total", []string{"kind", "GitRepository", "result", "ready"}, 1},
		{"tugboat_reconcile_duration_seconds", []string{"kind", "Kustomization"}, 2},
		{"tugboat_reconcile_duration_seconds", []string{"kind", "GitRepository"}, 1},
		// controller-runtime's own metrics are served beside ours.
		{"controller_runtime_reconcile_total", []string{"controller", "kustomization"}, 2},
	} {
		if got := metricValue(m, c.name, c.labels...); got < c.min {
			t.Errorf("%s%v = %v, want at least %v", c.name, c.labels, got, c.min)
		}
	}
	for _, h := range m["tugboat_reconcile_duration_seconds"].GetMetric() {
		hist := h.GetHistogram()
		if hist.GetSampleSum() <= 0 || hist.GetSampleSum() > 60*float64(hist.GetSampleCount()) {
			t.Errorf("reconcile duration sum %v s over %d reconciles is not sane", hist.GetSampleSum(), hist.GetSampleCount())
		}
		prev := uint64(0)
		for _, b := range hist.GetBucket() {
			if b.GetCumulativeCount() < prev || b.GetCumulativeCount() > hist.GetSampleCount() {
				t.Errorf("histogram buckets are not cumulative: %v", hist.GetBucket())
			}
			prev = b.GetCumulativeCount()
		}
	}
	// Three objects were applied, once each, and nothing was dry-run.
	if got := metricValue(m, "tugboat_apply_requests_total", "type", "apply"); got != 3 {
		t.Errorf("apply requests = %v, want 3 (one per object)", got)
	}
	if got := metricValue(m, "tugboat_apply_requests_total", "type", "dryrun"); got != 0 {
		t.Errorf("dry-run requests = %v, want 0", got)
	}

	// A requested reconcile with nothing changed counts as one more ready reconcile
	// and sends no apply.
	ready := metricValue(m, "tugboat_reconcile_total", "kind", "Kustomization", "result", "ready")
	requestReconcile(t, &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}})
	waitKustomization(t, ns, "app", "handled the request", func(k *kustomizev1.Kustomization) bool {
		return k.Status.LastHandledReconcileAt != "" && k.Status.LastHandledReconcileAt == k.Annotations[meta.ReconcileRequestAnnotation]
	})
	// The reconcile counts itself after its status write, which the wait above saw, so
	// the counter may lag the status by a moment.
	err = wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		if m, err = proc.scrape(); err != nil {
			return false, err
		}
		return metricValue(m, "tugboat_reconcile_total", "kind", "Kustomization", "result", "ready") > ready, nil
	})
	if err != nil && m == nil {
		t.Fatal(err)
	}
	if got := metricValue(m, "tugboat_reconcile_total", "kind", "Kustomization", "result", "ready"); got != ready+1 {
		t.Errorf("ready Kustomization reconciles went from %v to %v, want one more", ready, got)
	}
	if got := metricValue(m, "tugboat_apply_requests_total", "type", "apply"); got != 3 {
		t.Errorf("apply requests after an idle reconcile = %v, want still 3", got)
	}
}
