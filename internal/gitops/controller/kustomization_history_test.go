package controller

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// status.history keeps one snapshot per distinct outcome (digest of the built
// manifests, Ready reason), newest first, counting repeats, as Flux 2.6 does.
func TestHistoryRecordsEachDistinctOutcome(t *testing.T) {
	ns := newNamespace(t)
	wd, url := newRepo(t, ns, map[string]string{"app/a.yaml": configMap("a", "1")})
	applyYAML(t, ns, syncManifests(ns, url, "./app", true))
	first, _ := wd.Head()
	k := waitKustomization(t, ns, "app", "applied", readyAt(first))
	if len(k.Status.History) != 1 {
		t.Fatalf("history %+v, want one snapshot", k.Status.History)
	}
	s := k.Status.History[0]
	if !strings.HasPrefix(s.Digest, "sha256:") || s.LastReconciledStatus != meta.ReconciliationSucceededReason ||
		s.TotalReconciliations != 1 || s.Metadata["revision"] != "main@sha1:"+first || s.FirstReconciled.IsZero() {
		t.Errorf("first snapshot %+v", s)
	}

	// The same manifests again: the snapshot is counted, not repeated.
	requestReconcile(t, &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app"}})
	k = waitKustomization(t, ns, "app", "counted the repeat", func(k *kustomizev1.Kustomization) bool {
		return len(k.Status.History) == 1 && k.Status.History[0].TotalReconciliations == 2
	})
	digest := k.Status.History[0].Digest

	// New manifests: a new snapshot in front.
	if err := wd.WriteFile("app/a.yaml", []byte(configMap("a", "2"))); err != nil {
		t.Fatal(err)
	}
	second, err := wd.CommitAndPush("change a")
	if err != nil {
		t.Fatal(err)
	}
	requestReconcile(t, &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "repo"}})
	k = waitKustomization(t, ns, "app", "applied the change", readyAt(second))
	if len(k.Status.History) != 2 || k.Status.History[0].Digest == digest || k.Status.History[1].Digest != digest ||
		k.Status.History[0].Metadata["revision"] != "main@sha1:"+second {
		t.Errorf("history after a change %+v, want the new snapshot before the old", k.Status.History)
	}
}

// sameAsLatest decides whether a reconcile leaves status.history alone: only when it
// ended as the newest entry did, same manifests and same result.
func TestSameAsLatestComparesWithTheNewestEntryOnly(t *testing.T) {
	at := func(m int) metav1.Time { return metav1.Date(2026, 12, 6, 4, m, 0, 0, time.UTC) }
	history := meta.History{
		{Digest: "sha256:new", LastReconciled: at(2), LastReconciledStatus: meta.ReconciliationSucceededReason},
		{Digest: "sha256:old", LastReconciled: at(1), LastReconciledStatus: meta.HealthCheckFailedReason},
	}
	for name, tc := range map[string]struct {
		history meta.History
		digest  string
		reason  string
		want    bool
	}{
		"the same manifests with the same result": {
			history: history, digest: "sha256:new", reason: meta.ReconciliationSucceededReason, want: true,
		},
		"the same manifests with another result": {
			history: history, digest: "sha256:new", reason: meta.HealthCheckFailedReason,
		},
		"other manifests with the same result": {
			history: history, digest: "sha256:other", reason: meta.ReconciliationSucceededReason,
		},
		"an older entry's outcome is not the latest": {
			history: history, digest: "sha256:old", reason: meta.HealthCheckFailedReason,
		},
		"an empty history has no latest": {
			digest: "sha256:new", reason: meta.ReconciliationSucceededReason,
		},
	} {
		t.Run(name, func(t *testing.T) {
			if got := sameAsLatest(tc.history, tc.digest, tc.reason); got != tc.want {
				t.Errorf("sameAsLatest(%s, %s) = %v, want %v", tc.digest, tc.reason, got, tc.want)
			}
		})
	}
}
