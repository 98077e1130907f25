package reconcile

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/tugboatcd/tugboat/api/meta"
)

// Status points at the status fields of obj that Complete maintains.
type Status struct {
	// ObservedGeneration is status.observedGeneration.
	ObservedGeneration *int64
	// Request is the status's reconcile request record (lastHandledReconcileAt).
	Request *meta.ReconcileRequestStatus
	// Revision names the source revision the reconcile is about, for the event and
	// the log line ("" when the kind has none).
	Revision string
}

// Complete ends every reconcile the same way, and is meant to run from a deferred
// block: it finalises the conditions, records the handled reconcile request, patches
// the status once (before is obj as it was read), emits a Warning event for a
// failure, and reports the duration metric and one summary log line.
func Complete(ctx context.Context, c client.Client, rec Recorder, kind string, before, obj Object, o Outcome, st Status, start time.Time) (ctrl.Result, error) {
	Finish(obj, o, st.ObservedGeneration)
	v, requested := meta.ReconcileAnnotationValue(obj.GetAnnotations())
	requested = requested && v != st.Request.LastHandledReconcileAt
	if requested {
		st.Request.SetLastHandledReconcileRequest(v)
	}
	// A user's reconcile request is answered at once; an interim progress report is not
	// written (see Outcome.Interim).
	if !o.Interim || requested {
		if err := patchStatusTraced(ctx, c, before, obj, o); err != nil {
			return ctrl.Result{}, err
		}
	}
	if o.Ready == metav1.ConditionFalse {
		rec.Event(ctx, obj, true, o.Reason, st.Revision, o.Message)
	}
	observe(kind, o, time.Since(start))
	log.FromContext(ctx).Info("reconciled", "revision", st.Revision, "ready", o.Ready, "reason", o.Reason, "duration", time.Since(start).String())
	return o.Result()
}

// patchStatusTraced is PatchStatus in a span named for the verdict it writes
// ("status Ready=True"), when the reconcile is traced: the last step of a trace is
// the write that makes the outcome visible.
func patchStatusTraced(ctx context.Context, c client.Client, before, obj client.Object, o Outcome) error {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return PatchStatus(ctx, c, before, obj)
	}
	ctx, span := StartSpan(ctx, "status Ready="+string(o.Ready))
	defer span.End()
	span.SetAttributes(attribute.String("tugboat.reason", o.Reason))
	err := PatchStatus(ctx, c, before, obj)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}

// PatchStatus writes the status of obj once, at the end of a reconcile, when it
// differs from what was read (before).
func PatchStatus(ctx context.Context, c client.Client, before, obj client.Object) error {
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

// Jitter spreads periodic reconciles of many objects over ±10% of their interval.
func Jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}
