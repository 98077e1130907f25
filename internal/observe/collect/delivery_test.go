package collect

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tugboatcd/tugboat/api/meta"
	"github.com/tugboatcd/tugboat/internal/observe/store"
)

func TestDeliveryReconciliations(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	ev := func(kind, typ, reason, note, revision string, at time.Time) *eventsv1.Event {
		return &eventsv1.Event{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Annotations: map[string]string{meta.RevisionAnnotation: revision}},
			EventTime:  metav1.NewMicroTime(at), Type: typ, Reason: reason, Note: note,
			Regarding:           corev1.ObjectReference{Kind: kind, Namespace: "ns", Name: "apps"},
			ReportingController: reportingControllers[kind],
		}
	}
	const rev = "main@sha1:abc123"
	forged := ev("Kustomization", "Normal", "ReconciliationSucceeded", "Applied revision: "+rev, rev, t0)
	forged.ReportingController = "mallory"
	elsewhere := ev("Kustomization", "Normal", "ReconciliationSucceeded", "Applied revision: "+rev, rev, t0)
	elsewhere.Namespace = "other"
	progressing := ev("Kustomization", "Normal", "Progressing", "Deployment/ns/web configured\nService/ns/web created", rev, t0)
	succeeded := ev("Kustomization", "Normal", "ReconciliationSucceeded", "Applied revision: "+rev, rev, t0.Add(1500*time.Millisecond))
	// The controller's one event for a healthy apply: the changes, the verdict, and
	// when the changes were applied.
	oneEvent := ev("Kustomization", "Normal", "ReconciliationSucceeded",
		"Deployment/ns/web configured\nService/ns/web created\nHealth check passed in 1.5s", rev, t0.Add(1500*time.Millisecond))
	oneEvent.Annotations[meta.AppliedAtAnnotation] = t0.Format(time.RFC3339Nano)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	traced := ev("Kustomization", "Normal", "ReconciliationSucceeded", "Applied revision: "+rev, rev, t0)
	traced.Annotations[meta.OperationIDAnnotation] = traceID
	badID := ev("Kustomization", "Warning", "BuildFailed", "bad", rev, t0)
	badID.Annotations[meta.OperationIDAnnotation] = "'; DROP TABLE x; --0000000000000000"
	tests := map[string]struct {
		events      []*eventsv1.Event
		wantResult  string
		wantChanged int64
		wantMs      float64
		wantCommit  string
		wantOpID    string
	}{
		"progressing then succeeded": {
			events: []*eventsv1.Event{progressing, succeeded}, wantResult: "Succeeded", wantChanged: 2, wantMs: 1500, wantCommit: "abc123",
		},
		"succeeded seen before progressing (the watch may swap them)": {
			events: []*eventsv1.Event{succeeded, progressing}, wantResult: "Succeeded", wantChanged: 2, wantMs: 1500, wantCommit: "abc123",
		},
		"one event listing its changes, timed from when they were applied": {
			events: []*eventsv1.Event{oneEvent}, wantResult: "Succeeded", wantChanged: 2, wantMs: 1500, wantCommit: "abc123",
		},
		"a success event without changes lists none (its verdict is not a change)": {
			events: []*eventsv1.Event{succeeded}, wantResult: "Succeeded", wantCommit: "abc123",
		},
		"a warning without changes": {
			events:     []*eventsv1.Event{ev("Kustomization", "Warning", "BuildFailed", "kustomization.yaml: bad", rev, t0)},
			wantResult: "Failed", wantCommit: "abc123",
		},
		"a GitRepository artifact in the old revision form": {
			events:     []*eventsv1.Event{ev("GitRepository", "Normal", "NewArtifact", "stored artifact", "main/def456", t0)},
			wantResult: "Succeeded", wantCommit: "def456",
		},
		"a traced reconcile's event gives the row its OperationId": {
			events: []*eventsv1.Event{traced}, wantResult: "Succeeded", wantCommit: "abc123", wantOpID: traceID,
		},
		"an operation id that is not a trace id is left out": {
			events: []*eventsv1.Event{badID}, wantResult: "Failed", wantCommit: "abc123",
		},
		"a Kustomization's event another controller reported is not a reconciliation": {
			events: []*eventsv1.Event{forged},
		},
		"an event outside its object's namespace is not a reconciliation": {
			events: []*eventsv1.Event{elsewhere},
		},
		"events of other kinds are not reconciliations": {
			events: []*eventsv1.Event{ev("Deployment", "Normal", "ScalingReplicaSet", "scaled", "", t0)},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec := newRecorder()
			d := &DeliveryCollector{App: rec}
			for _, e := range tc.events {
				d.Observe(e)
			}
			if err := d.flush(context.Background(), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			rows := rec.table(store.TugboatReconciliations)
			if tc.wantResult == "" {
				if len(rows) != 0 {
					t.Fatalf("rows = %v, want none", rows)
				}
				return
			}
			if len(rows) != 1 {
				t.Fatalf("rows = %v, want one", rows)
			}
			r := rows[0]
			c := func(n string) any { return col(r, store.TugboatReconciliations, n) }
			if c("Result") != tc.wantResult || c("ObjectsChanged") != tc.wantChanged || c("DurationMs") != tc.wantMs || c("Commit") != tc.wantCommit || c("OperationId") != tc.wantOpID {
				t.Errorf("row = %v", r)
			}
		})
	}
}

func TestDeliveryHoldsRowsUntilSettled(t *testing.T) {
	rec := newRecorder()
	d := &DeliveryCollector{App: rec}
	d.Observe(&eventsv1.Event{EventTime: metav1.NowMicro(), Type: "Normal", Reason: "ReconciliationSucceeded",
		Regarding: corev1.ObjectReference{Kind: "Kustomization", Name: "a"}, ReportingController: "tugboat-kustomize"})
	if err := d.flush(context.Background(), time.Now().Add(-settle)); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.table(store.TugboatReconciliations)); n != 0 {
		t.Fatalf("a row was stored before it settled (%d rows)", n)
	}
	if err := d.flush(context.Background(), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.table(store.TugboatReconciliations)); n != 1 {
		t.Fatalf("rows after settling = %d, want 1", n)
	}
}

// Progressing events that never see their reconcile end are forgotten after
// startedTTL, and never more than maxStarted are held.
func TestDeliveryBoundsTheReconcilesItWaitsFor(t *testing.T) {
	d := &DeliveryCollector{App: newRecorder()}
	t0 := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	progressing := func(i int) *eventsv1.Event {
		return &eventsv1.Event{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Annotations: map[string]string{meta.RevisionAnnotation: fmt.Sprintf("main@sha1:%d", i)}},
			EventTime:  metav1.NewMicroTime(t0), Type: "Normal", Reason: "Progressing", Note: "Deployment/ns/web configured",
			Regarding: corev1.ObjectReference{Kind: "Kustomization", Namespace: "ns", Name: "apps"}, ReportingController: "tugboat-kustomize",
		}
	}
	for i := range maxStarted + 500 {
		d.reconciliation(progressing(i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := len(d.started); n > maxStarted {
		t.Fatalf("%d reconciles held, want at most %d", n, maxStarted)
	}
	if _, ok := d.started["Kustomization/ns/apps@main@sha1:0"]; ok {
		t.Error("the oldest was kept over newer ones")
	}
	d.reconciliation(progressing(-1), t0.Add(startedTTL+time.Hour))
	if n := len(d.started); n != 1 {
		t.Errorf("%d held after all others outlived startedTTL, want 1", n)
	}
}
