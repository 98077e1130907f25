package controller

import (
	"context"
	"strconv"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/gitops/reconcile"
)

// How a commit becomes one trace (docs/traces.md, "tugboat traces itself"):
//
//   - A webhook call is a server span. The receiver writes its traceparent beside the
//     reconcile request it writes on each target (meta.TraceParentAnnotation), so the
//     trace crosses the apiserver, and replicas.
//   - A GitRepository reconcile is a consumer span (an AppRequests row), under the
//     webhook's span when it handles that request, else the root of a new trace (the
//     interval); git ls-remote and git clone are client spans under it.
//   - A new snapshot remembers the span that fetched it (origins). A Kustomization
//     that moves to that revision starts its reconcile span under it, so every
//     Kustomization a commit reaches is in the commit's trace. Its build, apply
//     stages, prune, health wait and the status write that says Ready are children.
//   - A Kustomization's span lasts from the first reconcile of a revision until Ready
//     is True or False: the health wait spans several reconciles (health never
//     blocks a worker), so the span is kept open in traces between them.
//
// Only work towards something not yet applied is traced: a revision or generation
// not yet Ready, a reconcile request, a retry after a failure. The interval reconcile
// of a Kustomization at rest records nothing, so 1000 idle Kustomizations cost no span.

// traceOrigins remembers, per GitRepository, the span of the reconcile that fetched
// its latest snapshot.
type traceOrigins struct {
	mu sync.Mutex
	m  map[string]traceOrigin
}

type traceOrigin struct {
	revision string
	sc       trace.SpanContext
}

func (t *traceOrigins) set(key, revision string, sc trace.SpanContext) {
	if t == nil || !sc.IsValid() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]traceOrigin{}
	}
	t.m[key] = traceOrigin{revision: revision, sc: sc}
}

func (t *traceOrigins) get(key, revision string) (trace.SpanContext, bool) {
	if t == nil {
		return trace.SpanContext{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	o, ok := t.m[key]
	return o.sc, ok && o.revision == revision
}

func (t *traceOrigins) forget(key string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, key)
}

// requestParent returns ctx with the trace context the reconcile request in
// annotations came with (a webhook's), if the request is not handled yet.
func requestParent(ctx context.Context, annotations map[string]string, handled string) (context.Context, bool) {
	token, ok := meta.ReconcileAnnotationValue(annotations)
	if !ok || token == handled {
		return ctx, false
	}
	tp, ok := meta.ReconcileTraceParent(annotations)
	if !ok {
		return ctx, false
	}
	// The W3C propagator parses and validates the (user-writable) value; a malformed
	// one leaves ctx as it was.
	out := propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": tp})
	return out, trace.SpanContextFromContext(out).IsValid()
}

// objectAttributes name the object a reconcile span is about.
func objectAttributes(kind string, obj client.Object) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("tugboat.kind", kind),
		attribute.String("k8s.namespace.name", obj.GetNamespace()),
		attribute.String("tugboat.name", obj.GetName()),
		attribute.Int64("tugboat.generation", obj.GetGeneration()),
	}
}

// startGitRepositorySpan starts the span of one GitRepository reconcile; with
// tracing off it returns ctx unchanged and a span that records nothing.
func (r *GitRepositoryReconciler) startSpan(ctx context.Context, obj *sourcev1.GitRepository) (context.Context, trace.Span) {
	if r.Tracer == nil {
		return ctx, trace.SpanFromContext(ctx)
	}
	parent, _ := requestParent(ctx, obj.GetAnnotations(), obj.Status.LastHandledReconcileAt)
	return r.Tracer.Start(parent, "reconcile GitRepository "+obj.Namespace+"/"+obj.Name,
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(objectAttributes(sourcev1.GitRepositoryKind, obj)...))
}

// endSpan ends a reconcile's span with its outcome.
func endSpan(span trace.Span, o reconcile.Outcome, revision string, err error) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.String("tugboat.ready", string(o.Ready)), attribute.String("tugboat.reason", o.Reason),
		attribute.String("tugboat.revision", revision))
	switch {
	case err != nil:
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	case o.Ready == metav1.ConditionFalse:
		span.SetStatus(codes.Error, o.Message)
	}
	span.End()
}

// ksTrace is the span of a Kustomization working towards one revision and generation
// (key), open until the verdict. Once ended it is kept (ended) so that the reconciles
// that follow it, which may read the Kustomization from a cache that does not show
// the verdict's status yet, do not start a second trace of the same work.
type ksTrace struct {
	key   string
	token string // the reconcile request it answered, if any
	span  trace.Span
	ended bool
	ok    bool // the verdict was Ready=True
}

// beginTrace continues or starts the span of the Kustomization's work towards its
// source's current revision, and returns ctx carrying it. It returns nil, and ctx
// unchanged, when tracing is off or the reconcile is one at rest (see above).
func (r *KustomizationReconciler) beginTrace(ctx context.Context, obj *kustomizev1.Kustomization) (context.Context, *ksTrace) {
	if r.Tracer == nil || obj.Spec.SourceRef.Kind != sourcev1.GitRepositoryKind {
		return ctx, nil
	}
	src := sourceKey(obj)
	snap, ok := r.Store.Get(src)
	if !ok {
		return ctx, nil
	}
	revision := snap.Revision
	key := client.ObjectKeyFromObject(obj).String()
	tkey := revision + "@" + strconv.FormatInt(obj.Generation, 10)
	token, requested := meta.ReconcileAnnotationValue(obj.GetAnnotations())
	requested = requested && token != obj.Status.LastHandledReconcileAt
	r.mu.Lock()
	last := r.traces[key]
	r.mu.Unlock()
	switch {
	case last == nil:
	case !last.ended && last.key == tkey:
		return trace.ContextWithSpan(ctx, last.span), last
	case !last.ended:
		// A new revision or spec came before the last one was judged.
		last.span.SetAttributes(attribute.Bool("tugboat.superseded", true))
		last.span.End()
	case last.key == tkey && last.ok && (!requested || token == last.token):
		// This work was traced to Ready already.
		return ctx, nil
	}
	if !requested && revision == obj.Status.LastAppliedRevision && obj.Generation == obj.Status.ObservedGeneration && meta.IsReady(obj) {
		return ctx, nil
	}
	parent, fromRequest := requestParent(ctx, obj.GetAnnotations(), obj.Status.LastHandledReconcileAt)
	if !fromRequest && revision != obj.Status.LastAttemptedRevision {
		if sc, ok := r.origins.get(src, revision); ok {
			parent = trace.ContextWithRemoteSpanContext(ctx, sc)
		}
	}
	attrs := append(objectAttributes(kustomizev1.KustomizationKind, obj), attribute.String("tugboat.revision", revision),
		attribute.String("tugboat.path", obj.Spec.Path))
	ctx, span := r.Tracer.Start(parent, "reconcile Kustomization "+key, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
	tr := &ksTrace{key: tkey, span: span}
	if requested {
		tr.token = token
	}
	r.mu.Lock()
	r.traces[key] = tr
	r.mu.Unlock()
	return ctx, tr
}

// endTrace ends the Kustomization's span once Ready is decided; while health is
// awaited (Ready Unknown) it stays open for the next reconcile.
func (r *KustomizationReconciler) endTrace(tr *ksTrace, o reconcile.Outcome, revision string, err error) {
	if tr == nil || (o.Ready == metav1.ConditionUnknown && err == nil) {
		return
	}
	endSpan(tr.span, o, revision, err)
	r.mu.Lock()
	tr.ended, tr.ok = true, o.Ready == metav1.ConditionTrue && err == nil
	r.mu.Unlock()
}

// forgetTrace ends the open span of a Kustomization that is gone.
func (r *KustomizationReconciler) forgetTrace(key string) {
	r.mu.Lock()
	tr := r.traces[key]
	delete(r.traces, key)
	open := tr != nil && !tr.ended
	r.mu.Unlock()
	if open {
		tr.span.SetAttributes(attribute.Bool("tugboat.deleted", true))
		tr.span.End()
	}
}

// stepSpan starts a child span of one step of a traced reconcile; see
// reconcile.StartSpan.
func stepSpan(ctx context.Context, name string) (context.Context, trace.Span) {
	return reconcile.StartSpan(ctx, name)
}

// endStep ends a step's span, marking it failed with err.
func endStep(span trace.Span, err error) {
	if !span.IsRecording() {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
