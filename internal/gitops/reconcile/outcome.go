package reconcile

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/api/meta"
	"github.com/tugboatcd/tugboat/internal/kube"
)

// Object is what every tugboat kind offers the shared shape.
type Object interface {
	client.Object
	meta.ObjectWithConditions
}

// Outcome is what a reconcile decided, finalised into conditions by Finish.
type Outcome struct {
	Ready   metav1.ConditionStatus // True, False or Unknown (still working)
	Reason  string
	Message string
	Stalled bool          // the error needs a human: do not retry until the spec changes
	Requeue time.Duration // when to look again (0 = never, unless an event arrives)
	Err     error         // a retryable error: controller-runtime backs off
	// Interim marks a progress report that need not be written: the next verdict is
	// expected within the requeue, and its status write will say it all.
	Interim bool
}

// Failed is the outcome of a step that failed on err: Ready=False with reason, looked
// at again after retry (the object's retryInterval) or, when err says the apiserver
// could not answer now (kube.Transient), retried with the workqueue's backoff, so a
// control plane restart costs seconds, not an interval.
func Failed(reason string, err error, retry time.Duration) Outcome {
	o := Outcome{Ready: metav1.ConditionFalse, Reason: reason, Message: err.Error(), Requeue: retry}
	if kube.Transient(err) {
		o.Err = err
	}
	return o
}

// Result turns an outcome into what controller-runtime expects.
func (o Outcome) Result() (ctrl.Result, error) {
	if o.Err != nil {
		return ctrl.Result{}, o.Err
	}
	return ctrl.Result{RequeueAfter: o.Requeue}, nil
}

// Finish sets Ready, Reconciling and Stalled from the outcome, so that every kind
// carries the three kstatus conditions with one meaning. observedGeneration moves only
// on success (Ready=True) or on a stalling error, as Flux does.
func Finish(obj Object, o Outcome, observedGeneration *int64) {
	gen := obj.GetGeneration()
	meta.SetCondition(obj, metav1.Condition{Type: meta.ReadyCondition, Status: o.Ready, Reason: o.Reason, Message: o.Message, ObservedGeneration: gen})
	switch {
	case o.Ready == metav1.ConditionUnknown:
		meta.SetCondition(obj, metav1.Condition{Type: meta.ReconcilingCondition, Status: metav1.ConditionTrue, Reason: meta.ProgressingReason, Message: o.Message, ObservedGeneration: gen})
		meta.RemoveCondition(obj, meta.StalledCondition)
	case o.Ready == metav1.ConditionFalse && !o.Stalled:
		meta.SetCondition(obj, metav1.Condition{Type: meta.ReconcilingCondition, Status: metav1.ConditionTrue, Reason: meta.ProgressingWithRetryReason, Message: o.Message, ObservedGeneration: gen})
		meta.RemoveCondition(obj, meta.StalledCondition)
	case o.Stalled:
		meta.RemoveCondition(obj, meta.ReconcilingCondition)
		meta.SetCondition(obj, metav1.Condition{Type: meta.StalledCondition, Status: metav1.ConditionTrue, Reason: o.Reason, Message: o.Message, ObservedGeneration: gen})
	default:
		meta.RemoveCondition(obj, meta.ReconcilingCondition)
		meta.RemoveCondition(obj, meta.StalledCondition)
	}
	if o.Ready == metav1.ConditionTrue || o.Stalled {
		*observedGeneration = gen
	}
}

// InProgress is the outcome a reconcile starts from, before it decides: what the
// deferred Complete writes should the reconcile never return one (a panic, which
// controller-runtime recovers and retries).
var InProgress = Outcome{Ready: metav1.ConditionUnknown, Reason: meta.ProgressingReason, Message: "reconciliation in progress"}
