package meta

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// object is the smallest kind with conditions and a generation.
type object struct {
	generation int64
	conditions []metav1.Condition
}

func (o *object) GetConditions() []metav1.Condition  { return o.conditions }
func (o *object) SetConditions(c []metav1.Condition) { o.conditions = c }
func (o *object) GetGeneration() int64               { return o.generation }

func TestIsReady(t *testing.T) {
	ready := func(s metav1.ConditionStatus, gen int64) metav1.Condition {
		return metav1.Condition{Type: ReadyCondition, Status: s, Reason: SucceededReason, ObservedGeneration: gen}
	}
	cases := map[string]struct {
		obj  object
		want bool
	}{
		"no conditions is not ready":                {object{generation: 1}, false},
		"Ready True for this generation is ready":   {object{1, []metav1.Condition{ready(metav1.ConditionTrue, 1)}}, true},
		"Ready True for an older generation is not": {object{2, []metav1.Condition{ready(metav1.ConditionTrue, 1)}}, false},
		"Ready Unknown is not ready":                {object{1, []metav1.Condition{ready(metav1.ConditionUnknown, 1)}}, false},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := IsReady(&c.obj); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestSetAndRemoveCondition(t *testing.T) {
	o := &object{}
	SetCondition(o, metav1.Condition{Type: ReconcilingCondition, Status: metav1.ConditionTrue, Reason: ProgressingReason})
	SetCondition(o, metav1.Condition{Type: ReadyCondition, Status: metav1.ConditionUnknown, Reason: ProgressingReason})
	SetCondition(o, metav1.Condition{Type: ReadyCondition, Status: metav1.ConditionTrue, Reason: SucceededReason})
	if len(o.conditions) != 2 {
		t.Fatalf("want 2 conditions, got %v", o.conditions)
	}
	RemoveCondition(o, ReconcilingCondition)
	if len(o.conditions) != 1 || o.conditions[0].Type != ReadyCondition || o.conditions[0].Reason != SucceededReason {
		t.Errorf("want only Ready/Succeeded left, got %v", o.conditions)
	}
}

func TestReconcileAnnotationValue(t *testing.T) {
	if _, ok := ReconcileAnnotationValue(nil); ok {
		t.Error("nil annotations must have no request")
	}
	v, ok := ReconcileAnnotationValue(map[string]string{"reconcile.fluxcd.io/requestedAt": "2026-01-01T00:00:00Z"})
	if !ok || v != "2026-01-01T00:00:00Z" {
		t.Errorf("got %q %v", v, ok)
	}
}
