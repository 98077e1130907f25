package source

import (
	"context"
	"net/url"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracerName is the instrumentation scope of the Git spans.
const tracerName = "github.com/tugboatcd/tugboat/internal/gitops/source"

// startSpan starts a client span (a call to the Git server: AppDependencies) under
// the span in ctx, only when that one records; with tracing off it costs nothing.
func startSpan(ctx context.Context, name, rawURL string) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, parent
	}
	ctx, span := parent.TracerProvider().Tracer(tracerName).Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient))
	// rpc.system "git" and the server's address make it a dependency of type git on
	// the Git server (AppDependencies' DependencyType and Target) whatever the
	// transport; the URL is redacted, credentials never reach a trace.
	attrs := []attribute.KeyValue{attribute.String("rpc.system", "git"), attribute.String("vcs.repository.url.full", RedactURL(rawURL))}
	if u, err := url.Parse(rawURL); err == nil && u.Hostname() != "" {
		attrs = append(attrs, attribute.String("server.address", u.Hostname()))
		if p, err := strconv.Atoi(u.Port()); err == nil {
			attrs = append(attrs, attribute.Int("server.port", p))
		}
	}
	span.SetAttributes(attrs...)
	return ctx, span
}

// endSpan ends span, marking it failed with err.
func endSpan(span trace.Span, err error) {
	if !span.IsRecording() {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
