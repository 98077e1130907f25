package reconcile

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Refusal is why a spec cannot be acted on: a condition reason (from api/meta) and
// a message that names the field at fault.
type Refusal struct {
	Reason  string
	Message string
}

// Check is one rule of a kind's validate step: it returns nil when obj passes.
// Checks are pure (they read only the object and the controller's options), so a
// kind's list of them is tested as a table without a cluster.
type Check[T any] func(obj T) *Refusal

// Validate is the first step of every reconcile: it runs the checks in order and
// turns the first refusal into a stalled outcome. Stalled, because only a change of
// the spec (or of the controller's flags, which restarts it) can cure it; the
// generation change wakes the object again, so no requeue is needed. ok is false
// when the reconcile must stop here, before anything is read, fetched or applied.
func Validate[T any](obj T, checks ...Check[T]) (o Outcome, ok bool) {
	for _, check := range checks {
		if r := check(obj); r != nil {
			return Outcome{Ready: metav1.ConditionFalse, Reason: r.Reason, Message: r.Message, Stalled: true}, false
		}
	}
	return Outcome{}, true
}
