package controller

import (
	"context"
	"fmt"
	"maps"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	crrecorder "sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/tugboatcd/tugboat/api/meta"
)

// object is what every tugboat kind offers the shared helpers.
type object interface {
	client.Object
	meta.ObjectWithConditions
}

// outcome is what a reconcile decided, finalised into conditions by finish.
type outcome struct {
	ready   metav1.ConditionStatus // True, False or Unknown (still working)
	reason  string
	message string
	stalled bool          // the error needs a human: do not retry until the spec changes
	requeue time.Duration // when to look again (0 = never, unless an event arrives)
	err     error         // a retryable error: controller-runtime backs off
	// interim marks a progress report that need not be written: the next verdict is
	// expected within the requeue, and its status write will say it all.
	interim bool
}

// finish sets Ready, Reconciling and Stalled from the outcome, so that every kind
// carries the three kstatus conditions with one meaning. observedGeneration moves only
// on success (Ready=True) or on a stalling error, as Flux does.
func finish(obj object, o outcome, observedGeneration *int64) {
	gen := obj.GetGeneration()
	meta.SetCondition(obj, metav1.Condition{Type: meta.ReadyCondition, Status: o.ready, Reason: o.reason, Message: o.message, ObservedGeneration: gen})
	switch {
	case o.ready == metav1.ConditionUnknown:
		meta.SetCondition(obj, metav1.Condition{Type: meta.ReconcilingCondition, Status: metav1.ConditionTrue, Reason: meta.ProgressingReason, Message: o.message, ObservedGeneration: gen})
		meta.RemoveCondition(obj, meta.StalledCondition)
	case o.ready == metav1.ConditionFalse && !o.stalled:
		meta.SetCondition(obj, metav1.Condition{Type: meta.ReconcilingCondition, Status: metav1.ConditionTrue, Reason: meta.ProgressingWithRetryReason, Message: o.message, ObservedGeneration: gen})
		meta.RemoveCondition(obj, meta.StalledCondition)
	case o.stalled:
		meta.RemoveCondition(obj, meta.ReconcilingCondition)
		meta.SetCondition(obj, metav1.Condition{Type: meta.StalledCondition, Status: metav1.ConditionTrue, Reason: o.reason, Message: o.message, ObservedGeneration: gen})
	default:
		meta.RemoveCondition(obj, meta.ReconcilingCondition)
		meta.RemoveCondition(obj, meta.StalledCondition)
	}
	if o.ready == metav1.ConditionTrue || o.stalled {
		*observedGeneration = gen
	}
}

// patchStatus writes the status of obj once, at the end of a reconcile, when it
// differs from what was read (before).
func patchStatus(ctx context.Context, c client.Client, before, obj client.Object) error {
	data, err := client.MergeFrom(before).Data(obj)
	if err != nil {
		return fmt.Errorf("failed to compute the status patch of %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	// A reconcile woken to judge health again mostly finds nothing new; an empty patch
	// would still be a request, and the apiserver is the scarce resource.
	if string(data) == "{}" {
		return nil
	}
	// Of the response only the resourceVersion is read (events refer to it). Asked for
	// the metadata alone, the apiserver answers in protobuf instead of encoding the
	// whole object as JSON for us to decode.
	gvk, err := apiutil.GVKForObject(obj, c.Scheme())
	if err != nil {
		return err
	}
	written := &metav1.PartialObjectMetadata{}
	written.SetGroupVersionKind(gvk)
	written.SetNamespace(obj.GetNamespace())
	written.SetName(obj.GetName())
	if err := c.Status().Patch(ctx, written, client.RawPatch(types.MergePatchType, data)); err != nil {
		if apierrors.IsNotFound(err) {
			// Deleted meanwhile: there is no status left to write.
			return nil
		}
		return fmt.Errorf("failed to patch status of %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	obj.SetResourceVersion(written.GetResourceVersion())
	return nil
}

// complete ends every reconcile the same way: it finalises the conditions, records the
// handled reconcile request, patches the status once, emits a Warning event for a
// failure, and reports the duration metric and one summary log line.
func complete(ctx context.Context, c client.Client, rec recorder, kind string, before, obj object, o outcome,
	observedGeneration *int64, request *meta.ReconcileRequestStatus, revision string, start time.Time) (ctrl.Result, error) {
	finish(obj, o, observedGeneration)
	v, requested := meta.ReconcileAnnotationValue(obj.GetAnnotations())
	requested = requested && v != request.LastHandledReconcileAt
	if requested {
		request.SetLastHandledReconcileRequest(v)
	}
	// A user's reconcile request is answered at once; an interim progress report is not
	// written (see outcome.interim).
	if !o.interim || requested {
		if err := patchStatus(ctx, c, before, obj); err != nil {
			return ctrl.Result{}, err
		}
	}
	if o.ready == metav1.ConditionFalse {
		rec.event(obj, true, o.reason, revision, o.message)
	}
	observeReconcile(kind, o, time.Since(start))
	log.FromContext(ctx).Info("reconciled", "revision", revision, "ready", o.ready, "reason", o.reason, "duration", time.Since(start).String())
	return o.result()
}

// result turns an outcome into what controller-runtime expects.
func (o outcome) result() (ctrl.Result, error) {
	if o.err != nil {
		return ctrl.Result{}, o.err
	}
	return ctrl.Result{RequeueAfter: o.requeue}, nil
}

// readyCondition returns obj's Ready condition, or nil.
func readyCondition(obj meta.ObjectWithConditions) *metav1.Condition {
	return apimeta.FindStatusCondition(obj.GetConditions(), meta.ReadyCondition)
}

// recorder emits the events.k8s.io/v1 events of every reconciler; it is the only place
// events are emitted. The reason is the Ready condition's.
type recorder struct {
	events crrecorder.EventRecorder
}

func (r recorder) event(obj client.Object, warning bool, reason, revision, message string) {
	r.eventWith(obj, warning, reason, revision, message, nil)
}

// eventWith is event with more annotations.
func (r recorder) eventWith(obj client.Object, warning bool, reason, revision, message string, extra map[string]string) {
	if r.events == nil {
		return
	}
	kind := "Normal"
	if warning {
		kind = "Warning"
	}
	annotations := maps.Clone(extra)
	if revision != "" {
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[meta.RevisionAnnotation] = revision
	}
	r.events.AnnotatedEventf(obj, nil, annotations, kind, reason, "Reconcile", "%s", truncate(message, 1024))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
