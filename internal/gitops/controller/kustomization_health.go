package controller

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	"github.com/tugboatcd/tugboat/internal/gitops/reconcile"
	"github.com/tugboatcd/tugboat/internal/health"
)

// health judges the objects to check with kstatus: every applied object with wait, else
// spec.healthChecks. It never blocks: while objects progress it reports Ready=Unknown
// and the watch of those objects wakes the Kustomization on each change, so a new
// revision is never stuck behind a running health check. The verdict and its timing
// are health.Judge's and health.NextLook's; this reads the objects and keeps the state.
func (r *KustomizationReconciler) health(ctx context.Context, obj *kustomizev1.Kustomization, st *kustomizationState, revision string) reconcile.Outcome {
	applied := fmt.Sprintf("Applied revision: %s", revision)
	targets, watched := r.healthTargets(obj, st)
	if len(targets) == 0 {
		meta.RemoveCondition(obj, meta.HealthyCondition)
		r.watcher.waitHealth(client.ObjectKeyFromObject(obj).String(), false)
		return reconcile.Outcome{Ready: metav1.ConditionTrue, Reason: meta.ReconciliationSucceededReason, Message: applied}
	}
	key := client.ObjectKeyFromObject(obj).String()
	if hk := revision + "/" + st.specHash; st.healthKey != hk {
		st.healthKey, st.healthSince, st.healthPassed = hk, time.Now(), 0
	}
	// Await before reading: a change that lands between the read below and the end
	// of this reconcile must still wake the Kustomization. (Marked after the read, such
	// a change was dropped and the Kustomization slept until the timeout requeue —
	// minutes under load.) Cleared when judged.
	r.watcher.waitHealth(key, true)

	objects := make([]health.Object, 0, len(targets))
	for _, t := range targets {
		o := health.Object{Name: describe(t)}
		if live, err := r.liveObject(ctx, t, watched); err != nil {
			o.Status = status.NotFoundStatus
		} else if res, err := status.Compute(live); err != nil {
			o.Err = err
		} else {
			o.Status, o.Message = res.Status, res.Message
		}
		objects = append(objects, o)
	}
	waited, timeout := time.Since(st.healthSince), obj.GetTimeout()
	judged := health.Judge(objects, waited, timeout)
	switch judged.Verdict {
	case health.Unhealthy:
		healthWaitSpan(ctx, st.healthSince, len(targets), judged.Message)
		return r.unhealthy(obj, key, judged.Message)
	case health.Healthy:
		// The time it took is fixed when it first passes: a message that grew at each
		// later reconcile would be a status patch per interval on an idle cluster.
		if st.healthPassed == 0 {
			st.healthPassed = max(waited.Round(time.Millisecond), time.Millisecond)
			healthWaitSpan(ctx, st.healthSince, len(targets), "")
		}
		meta.SetCondition(obj, metav1.Condition{Type: meta.HealthyCondition, Status: metav1.ConditionTrue, Reason: meta.SucceededReason, Message: "Health check passed in " + st.healthPassed.String()})
		r.watcher.waitHealth(key, false)
		return reconcile.Outcome{Ready: metav1.ConditionTrue, Reason: meta.ReconciliationSucceededReason, Message: applied}
	}
	msg := fmt.Sprintf("Running health checks for revision %s with a timeout of %s", revision, timeout)
	meta.SetCondition(obj, metav1.Condition{Type: meta.HealthyCondition, Status: metav1.ConditionUnknown, Reason: meta.ProgressingReason, Message: msg})
	requeue, interim := health.NextLook(waited, timeout, len(watched) < len(targets))
	return reconcile.Outcome{Ready: metav1.ConditionUnknown, Reason: meta.ProgressingReason, Message: msg, Requeue: requeue, Interim: interim}
}

func (r *KustomizationReconciler) unhealthy(obj *kustomizev1.Kustomization, key, msg string) reconcile.Outcome {
	r.watcher.waitHealth(key, false)
	meta.SetCondition(obj, metav1.Condition{Type: meta.HealthyCondition, Status: metav1.ConditionFalse, Reason: meta.HealthCheckFailedReason, Message: msg})
	return reconcile.Outcome{Ready: metav1.ConditionFalse, Reason: meta.HealthCheckFailedReason, Message: msg, Requeue: reconcile.Jitter(obj.GetRetryInterval())}
}

// healthTarget names one object to judge.
type healthTarget struct {
	gvk             schema.GroupVersionKind
	namespace, name string
}

func describe(t healthTarget) string {
	return t.gvk.Kind + "/" + qualifiedName(t.namespace, t.name)
}

// healthTargets returns the objects to check and, of those, the ones applied by this
// Kustomization (watched, so read from the watch cache instead of the apiserver).
func (r *KustomizationReconciler) healthTargets(obj *kustomizev1.Kustomization, st *kustomizationState) ([]healthTarget, map[healthTarget]bool) {
	watched := map[healthTarget]bool{}
	for _, m := range st.manifests {
		watched[healthTarget(m.ref)] = true
	}
	var targets []healthTarget
	if obj.Spec.Wait {
		for t := range watched {
			targets = append(targets, t)
		}
		return targets, watched
	}
	for _, hc := range obj.Spec.HealthChecks {
		gv, err := schema.ParseGroupVersion(hc.APIVersion)
		if err != nil {
			continue
		}
		ns := hc.Namespace
		if ns == "" {
			ns = obj.Namespace
		}
		targets = append(targets, healthTarget{gvk: gv.WithKind(hc.Kind), namespace: ns, name: hc.Name})
	}
	return targets, watched
}

// liveObject reads a target from the watch cache when it is one of ours, else from the
// apiserver. An object of ours missing from a synced cache is reported NotFound without
// asking the apiserver: it was applied moments ago and its watch event, which wakes the
// Kustomization, has not arrived yet: asking would be a GET per fresh object for nothing.
func (r *KustomizationReconciler) liveObject(ctx context.Context, t healthTarget, watched map[healthTarget]bool) (*unstructured.Unstructured, error) {
	if watched[t] {
		live, watching := r.watcher.get(t.gvk, t.namespace, t.name)
		if live != nil {
			return live, nil
		}
		if watching {
			return nil, apierrors.NewNotFound(schema.GroupResource{Group: t.gvk.Group, Resource: t.gvk.Kind}, t.name)
		}
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(t.gvk)
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: t.namespace, Name: t.name}, u); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, err
		}
		return nil, fmt.Errorf("failed to read %s: %w", describe(t), err)
	}
	return u, nil
}

// healthWaitSpan records, in a traced reconcile, the wait for health from its start
// to the verdict: a span of its own made when the verdict comes, since the wait spans
// several reconciles (health never blocks a worker). failed is the unhealthy verdict's
// message ("" when healthy).
func healthWaitSpan(ctx context.Context, since time.Time, targets int, failed string) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return
	}
	_, span := reconcile.StartSpan(ctx, "health wait", trace.WithTimestamp(since))
	span.SetAttributes(attribute.Int("tugboat.objects", targets))
	if failed != "" {
		span.SetStatus(codes.Error, failed)
	}
	span.End()
}
