package reconcile

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"github.com/tugboatcd/tugboat/api/meta"
)

// TracerName is the instrumentation scope of the spans the GitOps reconcilers record.
const TracerName = "github.com/tugboatcd/tugboat/internal/gitops"

// StartSpan starts a child of the span in ctx when that span is recording, and
// otherwise returns ctx and its span unchanged: with tracing off (no span in ctx) a
// step costs no allocation. Callers set attributes only when the span records.
func StartSpan(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, parent
	}
	return parent.TracerProvider().Tracer(TracerName).Start(ctx, name, opts...)
}

// OperationID returns the trace id of the span recording in ctx, in hex, or "" when
// nothing is recorded: an event names only a trace that exists.
func OperationID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() || !sc.IsSampled() {
		return ""
	}
	return sc.TraceID().String()
}

// withOperationID adds the operation id of ctx to an event's annotations.
func withOperationID(ctx context.Context, annotations map[string]string) map[string]string {
	if id := OperationID(ctx); id != "" {
		if annotations == nil {
			annotations = map[string]string{}
		}
		annotations[meta.OperationIDAnnotation] = id
	}
	return annotations
}
