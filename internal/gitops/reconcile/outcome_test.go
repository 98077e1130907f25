package reconcile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
)

// condition is the part of a condition the policy decides.
type condition struct {
	status metav1.ConditionStatus
	reason string
}

// TestFinishSetsTheThreeConditionsAsKstatusReadsThem is the condition policy: every
// outcome leaves Ready, Reconciling and Stalled as kstatus and Flux read them, and
// observedGeneration moves only on success or a stalling error.
func TestFinishSetsTheThreeConditionsAsKstatusReadsThem(t *testing.T) {
	const gen, oldGen = 7, 3
	for name, tc := range map[string]struct {
		outcome Outcome
		// previous conditions on the object (a Stalled or Reconciling left over).
		previous  []metav1.Condition
		want      map[string]*condition // nil: the condition is absent
		generated bool                  // observedGeneration moved to gen
	}{
		"success: Ready=True, neither Reconciling nor Stalled, generation observed": {
			outcome:  Outcome{Ready: metav1.ConditionTrue, Reason: meta.ReconciliationSucceededReason, Message: "Applied revision: main@sha1:abc"},
			previous: []metav1.Condition{{Type: meta.StalledCondition, Status: metav1.ConditionTrue, Reason: meta.InvalidSpecReason}},
			want: map[string]*condition{
				meta.ReadyCondition:       {metav1.ConditionTrue, meta.ReconciliationSucceededReason},
				meta.ReconcilingCondition: nil, meta.StalledCondition: nil,
			},
			generated: true,
		},
		"still working: Ready=Unknown, Reconciling=True Progressing, generation not observed": {
			outcome:  Outcome{Ready: metav1.ConditionUnknown, Reason: meta.ProgressingReason, Message: "Running health checks"},
			previous: []metav1.Condition{{Type: meta.StalledCondition, Status: metav1.ConditionTrue, Reason: meta.InvalidSpecReason}},
			want: map[string]*condition{
				meta.ReadyCondition:       {metav1.ConditionUnknown, meta.ProgressingReason},
				meta.ReconcilingCondition: {metav1.ConditionTrue, meta.ProgressingReason},
				meta.StalledCondition:     nil,
			},
		},
		"a retryable failure: Ready=False, Reconciling=True ProgressingWithRetry, not Stalled": {
			outcome: Outcome{Ready: metav1.ConditionFalse, Reason: meta.BuildFailedReason, Message: "kustomization.yaml: bad"},
			want: map[string]*condition{
				meta.ReadyCondition:       {metav1.ConditionFalse, meta.BuildFailedReason},
				meta.ReconcilingCondition: {metav1.ConditionTrue, meta.ProgressingWithRetryReason},
				meta.StalledCondition:     nil,
			},
		},
		"a stalling failure: Ready=False, Stalled=True with the reason, not Reconciling, generation observed": {
			outcome:  Outcome{Ready: metav1.ConditionFalse, Reason: meta.InvalidSpecReason, Message: "bad spec", Stalled: true},
			previous: []metav1.Condition{{Type: meta.ReconcilingCondition, Status: metav1.ConditionTrue, Reason: meta.ProgressingReason}},
			want: map[string]*condition{
				meta.ReadyCondition:       {metav1.ConditionFalse, meta.InvalidSpecReason},
				meta.ReconcilingCondition: nil,
				meta.StalledCondition:     {metav1.ConditionTrue, meta.InvalidSpecReason},
			},
			generated: true,
		},
	} {
		t.Run(name, func(t *testing.T) {
			obj := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Generation: gen}}
			obj.Status.ObservedGeneration = oldGen
			obj.Status.Conditions = append(obj.Status.Conditions, tc.previous...)
			Finish(obj, tc.outcome, &obj.Status.ObservedGeneration)
			for typ, want := range tc.want {
				got := apimeta.FindStatusCondition(obj.Status.Conditions, typ)
				switch {
				case want == nil && got != nil:
					t.Errorf("%s = %s %s, want it absent", typ, got.Status, got.Reason)
				case want != nil && got == nil:
					t.Errorf("%s absent, want %s %s", typ, want.status, want.reason)
				case want != nil && (got.Status != want.status || got.Reason != want.reason || got.ObservedGeneration != gen):
					t.Errorf("%s = %s %s (generation %d), want %s %s (generation %d)", typ, got.Status, got.Reason, got.ObservedGeneration, want.status, want.reason, gen)
				}
			}
			if ready := apimeta.FindStatusCondition(obj.Status.Conditions, meta.ReadyCondition); ready.Message != tc.outcome.Message {
				t.Errorf("Ready message = %q, want %q", ready.Message, tc.outcome.Message)
			}
			wantGen := int64(oldGen)
			if tc.generated {
				wantGen = gen
			}
			if obj.Status.ObservedGeneration != wantGen {
				t.Errorf("observedGeneration = %d, want %d", obj.Status.ObservedGeneration, wantGen)
			}
		})
	}
}

func TestOutcomeResult(t *testing.T) {
	boom := errors.New("boom")
	for name, tc := range map[string]struct {
		outcome Outcome
		want    ctrl.Result
		wantErr error
	}{
		"a requeue is asked for after its delay": {
			outcome: Outcome{Ready: metav1.ConditionTrue, Requeue: time.Minute}, want: ctrl.Result{RequeueAfter: time.Minute},
		},
		"no requeue waits for an event": {
			outcome: Outcome{Ready: metav1.ConditionFalse, Stalled: true}, want: ctrl.Result{},
		},
		"an error wins over the requeue, so controller-runtime backs off": {
			outcome: Outcome{Ready: metav1.ConditionFalse, Requeue: time.Minute, Err: boom}, wantErr: boom,
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := tc.outcome.Result()
			if got != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("Result() = %+v, %v; want %+v, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestResultLabel(t *testing.T) {
	for name, tc := range map[string]struct {
		ready metav1.ConditionStatus
		want  string
	}{
		"Ready=True is ready":          {metav1.ConditionTrue, "ready"},
		"Ready=False is not_ready":     {metav1.ConditionFalse, "not_ready"},
		"Ready=Unknown is progressing": {metav1.ConditionUnknown, "progressing"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := resultLabel(Outcome{Ready: tc.ready}); got != tc.want {
				t.Errorf("resultLabel(%s) = %q, want %q", tc.ready, got, tc.want)
			}
		})
	}
}

func TestJitterStaysWithinATenthOfTheInterval(t *testing.T) {
	for name, d := range map[string]time.Duration{"a second": time.Second, "ten minutes": 10 * time.Minute, "a nanosecond": 1} {
		t.Run(name, func(t *testing.T) {
			lo, hi := d-d/10, d+d/10
			seen := map[time.Duration]bool{}
			for range 1000 {
				j := Jitter(d)
				if j < lo || j > hi {
					t.Fatalf("Jitter(%s) = %s, outside [%s, %s]", d, j, lo, hi)
				}
				seen[j] = true
			}
			if d >= time.Second && len(seen) < 10 {
				t.Errorf("Jitter(%s) took %d values in 1000 draws; it does not spread", d, len(seen))
			}
		})
	}
	for _, d := range []time.Duration{0, -time.Second} {
		if j := Jitter(d); j != 0 {
			t.Errorf("Jitter(%s) = %s, want 0 (no requeue)", d, j)
		}
	}
}

func TestTruncateKeepsEventsWithinTheirLimit(t *testing.T) {
	for name, tc := range map[string]struct {
		in   string
		want string
	}{
		"a short message is unchanged":                        {in: "ok", want: "ok"},
		"a message at the limit is unchanged":                 {in: strings.Repeat("a", 10), want: strings.Repeat("a", 10)},
		"a longer one ends with an ellipsis within the limit": {in: strings.Repeat("a", 11), want: strings.Repeat("a", 7) + "..."},
	} {
		t.Run(name, func(t *testing.T) {
			if got := truncate(tc.in, 10); got != tc.want {
				t.Errorf("truncate(%q, 10) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// A failure the apiserver's absence caused is retried with backoff (Err set); one it
// answered (a refusal, a bad manifest) waits for the retry interval.
func TestFailedBacksOffOnlyWhenTheApiserverCouldNotAnswer(t *testing.T) {
	gr := schema.GroupResource{Resource: "configmaps"}
	unavailable := fmt.Errorf("failed to apply ConfigMap/a: %w", apierrors.NewServiceUnavailable("etcd is starting"))
	o := Failed(meta.ReconciliationFailedReason, unavailable, time.Hour)
	if res, err := o.Result(); !errors.Is(err, unavailable) || res.RequeueAfter != 0 {
		t.Errorf("unavailable: Result() = %v, %v; want the error, for the workqueue's backoff", res, err)
	}
	forbidden := apierrors.NewForbidden(gr, "a", errors.New("no"))
	o = Failed(meta.ReconciliationFailedReason, forbidden, time.Hour)
	if res, err := o.Result(); err != nil || res.RequeueAfter != time.Hour {
		t.Errorf("forbidden: Result() = %v, %v; want a requeue after the retry interval", res, err)
	}
	if o.Ready != metav1.ConditionFalse || o.Reason != meta.ReconciliationFailedReason || o.Message != forbidden.Error() {
		t.Errorf("forbidden: outcome %+v, want Ready=False with the reason and the error's message", o)
	}
}
