package receiver

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	notificationv1 "github.com/tugboatcd/tugboat/api/notification/v1"
)

// hookRoute names every webhook span: the path itself is a credential (for the
// generic type, knowing it is enough to call), so it never reaches a trace. That is
// why the span is made here and not by otelhttp, which records url.path.
const hookRoute = notificationv1.ReceiverWebhookPath + "{digest}"

// startSpan starts the server span of an authenticated webhook call, backdated to
// when the call arrived, under the caller's trace context when it sent one (a CI job
// can make its push and the deploy one trace). It returns the writer to answer with,
// which notes the status code, and the function that ends the span.
func (s *Server) startSpan(ctx context.Context, w http.ResponseWriter, r *http.Request, start time.Time, rcv *notificationv1.Receiver) (context.Context, http.ResponseWriter, func()) {
	if s.Tracer == nil {
		return ctx, w, func() {}
	}
	ctx = propagation.TraceContext{}.Extract(ctx, propagation.HeaderCarrier(r.Header))
	ctx, span := s.Tracer.Start(ctx, "POST "+hookRoute, trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start),
		trace.WithAttributes(
			attribute.String("http.request.method", http.MethodPost),
			attribute.String("http.route", hookRoute),
			attribute.String("url.scheme", scheme(r)),
			attribute.String("tugboat.kind", notificationv1.ReceiverKind),
			attribute.String("k8s.namespace.name", rcv.Namespace),
			attribute.String("tugboat.name", rcv.Name),
			attribute.String("tugboat.receiver.type", rcv.Spec.Type),
		))
	sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	return ctx, sw, func() {
		span.SetAttributes(attribute.Int("http.response.status_code", sw.code))
		if sw.code >= 500 {
			// As the HTTP conventions for a server: 5xx is the server's failure, 4xx the caller's.
			span.SetStatus(codes.Error, http.StatusText(sw.code))
		}
		span.End()
	}
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// traceParent returns the W3C traceparent of the span in ctx, "" when none records.
func traceParent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsSampled() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c["traceparent"]
}

// statusWriter notes the status code of the answer.
type statusWriter struct {
	http.ResponseWriter
	code    int
	written bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.written {
		w.code, w.written = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.written = true
	return w.ResponseWriter.Write(b)
}
