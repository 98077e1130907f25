package reconcile

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// With tracing off a reconcile's steps must cost nothing: the controller runs 1000
// Kustomizations, each step of each reconcile asks for a span.
func TestAStepOfAnUntracedReconcileAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		_, span := StartSpan(ctx, "apply")
		if span.IsRecording() {
			t.Fatal("a step of an untraced reconcile records")
		}
		span.End()
		if OperationID(ctx) != "" {
			t.Fatal("an untraced reconcile has an operation id")
		}
	})
	if allocs != 0 {
		t.Errorf("StartSpan without tracing allocates %.0f times, want 0", allocs)
	}
}

func TestAStepOfATracedReconcileIsAChildInTheSameTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	ctx, root := tp.Tracer("test").Start(context.Background(), "reconcile")
	_, step := StartSpan(ctx, "apply")
	step.End()
	root.End()
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("got %d spans, want 2", len(spans))
	}
	if spans[0].Name != "apply" || spans[0].Parent.SpanID() != root.SpanContext().SpanID() {
		t.Errorf("step %q has parent %s, want apply under %s", spans[0].Name, spans[0].Parent.SpanID(), root.SpanContext().SpanID())
	}
	if got, want := OperationID(ctx), root.SpanContext().TraceID().String(); got != want {
		t.Errorf("OperationID = %q, want %q", got, want)
	}
}

func BenchmarkStartSpan(b *testing.B) {
	b.Run("tracing off", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_, span := StartSpan(ctx, "apply")
			span.End()
		}
	})
	b.Run("tracing on", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
		defer func() { _ = tp.Shutdown(context.Background()) }()
		ctx, root := tp.Tracer("bench").Start(context.Background(), "reconcile")
		defer root.End()
		b.ReportAllocs()
		for b.Loop() {
			_, span := StartSpan(ctx, "apply")
			span.End()
		}
	})
}
