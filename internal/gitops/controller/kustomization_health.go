package controller

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	"github.com/tugboatcd/tugboat/internal/gitops/reconcile"
)

// healthPoll is how often health checks on objects this controller does not watch
// (healthChecks naming objects another tool applied) are read again.
const healthPoll = 5 * time.Second

// interimStatusDelay is how long health may be awaited before the status says so.
// Most applied workloads are healthy within it, and then the Ready verdict is the
// only status write of the apply instead of the second: one custom-resource write
// fewer, which the apiserver validates and every watcher receives
// (docs/design/2026-11-26-gitops-cpu-budget.md). Flux writes its progress before it
// waits.
const interimStatusDelay = 2 * time.Second

// healthSafetyNet bounds the wait between two health judgements of watched objects,
// which the watch normally wakes at each change: a lost wake-up (a relist, a dropped
// event) costs at most this, not the whole timeout. Judging reads only the cache.
const healthSafetyNet = 30 * time.Second

// health judges the objects to check with kstatus: every applied object with wait, else
// spec.healthChecks. It never blocks: while objects progress it reports Ready=Unknown
// and the watch of those objects wakes the Kustomization on each change, so a new
// revision is never stuck behind a running health check.
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

	var pending, failed []string
	for _, t := range targets {
		live, err := r.liveObject(ctx, t, watched)
		if err != nil {
			pending = append(pending, fmt.Sprintf("%s status: 'NotFound'", describe(t)))
			continue
		}
		res, err := status.Compute(live)
		if err != nil {
			pending = append(pending, fmt.Sprintf("%s status: %v", describe(t), err))
			continue
		}
		switch res.Status {
		case status.CurrentStatus:
		case status.FailedStatus:
			failed = append(failed, fmt.Sprintf("%s status: 'Failed': %s", describe(t), res.Message))
		default:
			pending = append(pending, fmt.Sprintf("%s status: '%s'", describe(t), res.Status))
		}
	}
	sort.Strings(pending)
	sort.Strings(failed)
	timeout := obj.GetTimeout()
	switch {
	case len(failed) > 0:
		return r.unhealthy(obj, key, "health check failed after "+time.Since(st.healthSince).Round(time.Millisecond).String()+": "+strings.Join(failed, ", "))
	case len(pending) == 0:
		// The time it took is fixed when it first passes: a message that grew at each
		// later reconcile would be a status patch per interval on an idle cluster.
		if st.healthPassed == 0 {
			st.healthPassed = max(time.Since(st.healthSince).Round(time.Millisecond), time.Millisecond)
		}
		meta.SetCondition(obj, metav1.Condition{Type: meta.HealthyCondition, Status: metav1.ConditionTrue, Reason: meta.SucceededReason, Message: "Health check passed in " + st.healthPassed.String()})
		r.watcher.waitHealth(key, false)
		return reconcile.Outcome{Ready: metav1.ConditionTrue, Reason: meta.ReconciliationSucceededReason, Message: applied}
	case time.Since(st.healthSince) > timeout:
		return r.unhealthy(obj, key, fmt.Sprintf("health check failed after %s: timeout waiting for: [%s]", timeout, strings.Join(pending, ", ")))
	}
	msg := fmt.Sprintf("Running health checks for revision %s with a timeout of %s", revision, timeout)
	meta.SetCondition(obj, metav1.Condition{Type: meta.HealthyCondition, Status: metav1.ConditionUnknown, Reason: meta.ProgressingReason, Message: msg})
	// Woken by the watch of the objects; the requeue only guards the timeout and the
	// objects nobody watches.
	next := min(timeout-time.Since(st.healthSince), healthSafetyNet)
	if len(watched) < len(targets) {
		next = min(next, healthPoll)
	}
	if waited := time.Since(st.healthSince); waited < interimStatusDelay {
		return reconcile.Outcome{Ready: metav1.ConditionUnknown, Reason: meta.ProgressingReason, Message: msg,
			Requeue: interimStatusDelay - waited, Interim: true}
	}
	return reconcile.Outcome{Ready: metav1.ConditionUnknown, Reason: meta.ProgressingReason, Message: msg, Requeue: max(next, time.Second)}
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
