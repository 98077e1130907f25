package reconcile

import (
	"context"
	"maps"

	"sigs.k8s.io/controller-runtime/pkg/client"
	crrecorder "sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/tugboatcd/tugboat/api/meta"
)

// Recorder emits the events.k8s.io/v1 events of every reconciler; it is the only place
// events are emitted. The reason is the Ready condition's; the source revision rides
// in meta.RevisionAnnotation, and the trace id of the reconcile, when it is traced, in
// meta.OperationIDAnnotation.
type Recorder struct {
	Events crrecorder.EventRecorder
}

// Event emits one Normal (or Warning) event about obj; ctx is the reconcile's, whose
// span names the trace.
func (r Recorder) Event(ctx context.Context, obj client.Object, warning bool, reason, revision, message string) {
	r.EventWith(ctx, obj, warning, reason, revision, message, nil)
}

// EventWith is Event with more annotations.
func (r Recorder) EventWith(ctx context.Context, obj client.Object, warning bool, reason, revision, message string, extra map[string]string) {
	if r.Events == nil {
		return
	}
	kind := "Normal"
	if warning {
		kind = "Warning"
	}
	annotations := withOperationID(ctx, maps.Clone(extra))
	if revision != "" {
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[meta.RevisionAnnotation] = revision
	}
	r.Events.AnnotatedEventf(obj, nil, annotations, kind, reason, "Reconcile", "%s", truncate(message, 1024))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
