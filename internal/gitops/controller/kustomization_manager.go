package controller

import (
	"context"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	crreconcile "sigs.k8s.io/controller-runtime/pkg/reconcile"
	crsource "sigs.k8s.io/controller-runtime/pkg/source"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/internal/gitops/apply"
	"github.com/tugboatcd/tugboat/internal/gitops/build"
	"github.com/tugboatcd/tugboat/internal/gitops/reconcile"
	"github.com/tugboatcd/tugboat/internal/gitops/source"
)

// Field indexes of Kustomizations, so a source's new snapshot or a dependency's
// readiness finds the Kustomizations to wake without listing them all.
const (
	sourceIndex    = "tugboat.sourceRef"
	dependsOnIndex = "tugboat.dependsOn"
)

// buildCacheBytes bounds the kustomize outputs kept for reuse: one per (tree, path,
// kustomize settings) in use. Kustomizations that share one are rebuilt together when
// their source moves; a miss costs one kustomize run, as without the cache. 8 MiB of
// YAML is 12–48 MiB of heap (an entry holds 1.5–6 times its YAML: build.Cache), room
// for a few bundles of large CRDs beside many apps. A bound in bytes, not entries:
// one entry may be a 4-object app or a 10,000-object platform.
const buildCacheBytes int64 = 8 << 20

// SetupWithManager registers the Kustomization reconciler with its triggers: spec and
// reconcile-request changes, a new snapshot of its source (sent in process by the
// GitRepository reconciler), a dependency becoming Ready, and drift or progress of the
// objects it applied (from the watcher).
func (r *KustomizationReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts controller.Options, artifacts <-chan event.GenericEvent) error {
	r.recorder = reconcile.Recorder{Events: mgr.GetEventRecorder("tugboat-kustomize")}
	r.checks = kustomizationChecks(r.Tenancy)
	r.state = map[string]*kustomizationState{}
	r.managers = map[string]*apply.Manager{}
	r.traces = map[string]*ksTrace{}
	r.builds = build.NewCache(buildCacheBytes)
	w, err := newWatcher(ctx, mgr.GetConfig(), mgr.GetHTTPClient(), mgr.GetRESTMapper())
	if err != nil {
		return err
	}
	r.watcher = w

	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &kustomizev1.Kustomization{}, sourceIndex, func(o client.Object) []string {
		return []string{sourceKey(o.(*kustomizev1.Kustomization))}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &kustomizev1.Kustomization{}, dependsOnIndex, func(o client.Object) []string {
		k := o.(*kustomizev1.Kustomization)
		var keys []string
		for _, d := range k.Spec.DependsOn {
			ns := d.Namespace
			if ns == "" {
				ns = k.Namespace
			}
			keys = append(keys, ns+"/"+d.Name)
		}
		return keys
	}); err != nil {
		return err
	}

	// Drift and health events arrive from the watcher's informers through this channel.
	wake := make(chan event.TypedGenericEvent[wakeUp], 1024)
	enqueue := func(owner string, drifted bool) {
		ns, name, ok := cutKey(owner)
		if ok {
			req := crreconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}
			wake <- event.TypedGenericEvent[wakeUp]{Object: wakeUp{req: req, drifted: drifted}}
		}
	}
	r.watcher.onDrift = func(owner, id string) {
		r.invalidate(id)
		enqueue(owner, true)
	}
	r.watcher.onChange = func(owner string) { enqueue(owner, false) }
	// Counts new snapshots: the priority of the Kustomizations a snapshot changed.
	var snapshots atomic.Int64

	return ctrl.NewControllerManagedBy(mgr).
		For(&kustomizev1.Kustomization{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WatchesRawSource(crsource.Channel(artifacts, handler.Funcs{GenericFunc: func(ctx context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[crreconcile.Request]) {
			r.enqueueBySource(ctx, e, q, int(snapshots.Add(1)))
		}})).
		Watches(&kustomizev1.Kustomization{}, r.wakeDependants(), builder.WithPredicates(readyChanged{})).
		WatchesRawSource(crsource.TypedChannel(wake, handler.TypedFuncs[wakeUp, crreconcile.Request]{
			GenericFunc: func(ctx context.Context, e event.TypedGenericEvent[wakeUp], q workqueue.TypedRateLimitingInterface[crreconcile.Request]) {
				w := e.Object
				enqueueWake(q, w.req, w.drifted || r.hasDependants(ctx, w.req.NamespacedName))
			},
		})).
		WithOptions(opts).
		Named("kustomization").
		Complete(r)
}

// wakeUp is a Kustomization woken by the objects it applied: one drifted, or one
// whose health it awaits progressed.
type wakeUp struct {
	req     crreconcile.Request
	drifted bool
}

// wakePriority is the queue priority of a woken Kustomization that goes ahead of those
// waiting for their first reconcile (queued at 0): one whose object drifted, since a
// kubectl edit should be reverted at once, one that other Kustomizations depend on,
// since its Ready unblocks them, and those dependants once it changed (see
// wakeDependants). Any other is queued at 0 and waits its turn.
//
// Every woken Kustomization went first for a while. That cut each app's wait from
// Available to Ready, but made the last Ready later: the Ready reconciles took workers
// from first applies, which ended later, and the time to the last Ready is what a mass
// onboarding waits for (docs/design/2026-11-26-gitops-cpu-budget.md).
//
// A source's changed Kustomizations are queued at the snapshot's number (see
// enqueueBySource), 1 and up, so a newer change still goes first.
const wakePriority = 1

// enqueueWake queues a woken Kustomization, at wakePriority when first (on a plain
// workqueue, in order).
func enqueueWake(q workqueue.TypedRateLimitingInterface[crreconcile.Request], req crreconcile.Request, first bool) {
	if pq, ok := q.(priorityqueue.PriorityQueue[crreconcile.Request]); ok && first {
		pq.AddWithOpts(priorityqueue.AddOpts{Priority: new(wakePriority)}, req)
		return
	}
	q.Add(req)
}

// hasDependants tells whether any Kustomization lists key in its dependsOn, from the
// cache's index.
func (r *KustomizationReconciler) hasDependants(ctx context.Context, key types.NamespacedName) bool {
	var list kustomizev1.KustomizationList
	err := r.Client.List(ctx, &list, client.MatchingFields{dependsOnIndex: key.String()}, client.Limit(1))
	return err == nil && len(list.Items) > 0
}

// enqueueBySource wakes the Kustomizations reading a GitRepository with a new snapshot.
// Those whose files changed go first: with 1000 Kustomizations on one repository, a
// commit touching one path would otherwise wait behind ~1000 status-only reconciles
// (BenchmarkWebhook in internal/gitops/receiver;
// docs/design/2026-11-26-changed-kustomizations-first.md). Their priority is the
// snapshot's sequence number, not a constant, because controller-runtime's queue
// keeps the priority an item was last processed with (through RequeueAfter) and only
// ever raises it: with a constant, every Kustomization changed once would stay ahead of a newer change. (The
// queue's depth-by-priority metric folds values beyond 25 into one label.)
func (r *KustomizationReconciler) enqueueBySource(ctx context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[crreconcile.Request], priority int) {
	src := e.Object.GetNamespace() + "/" + e.Object.GetName()
	var list kustomizev1.KustomizationList
	if err := r.Client.List(ctx, &list, client.MatchingFields{sourceIndex: src}); err != nil {
		return
	}
	pq, prioritised := q.(priorityqueue.PriorityQueue[crreconcile.Request])
	snap, _ := r.Store.Get(src)
	for i := range list.Items {
		k := &list.Items[i]
		req := crreconcile.Request{NamespacedName: types.NamespacedName{Namespace: k.Namespace, Name: k.Name}}
		if prioritised && snap != nil && r.inputsChanged(k, snap) {
			pq.AddWithOpts(priorityqueue.AddOpts{Priority: &priority}, req)
			continue
		}
		q.Add(req)
	}
}

// inputsChanged tells whether the files the Kustomization's last build read differ in
// snap; a Kustomization never built counts as changed.
func (r *KustomizationReconciler) inputsChanged(k *kustomizev1.Kustomization, snap *source.Snapshot) bool {
	r.mu.Lock()
	prev := r.state[client.ObjectKeyFromObject(k).String()]
	r.mu.Unlock()
	return prev == nil || inputsDigest(snap, k.Spec.Path, prev.inputs) != prev.inputsDigest
}

// wakeDependants handles the updates of a Kustomization that change its Ready condition
// or its applied revision (readyChanged): the Kustomizations that depend on it go
// first (wakePriority), since what they wait for has just changed — in a mass
// onboarding they would otherwise wait behind every Kustomization not yet reconciled,
// as their dependency's own Ready did before it went first. Creations and deletions
// queue them as any event does (the initial list at low priority).
func (r *KustomizationReconciler) wakeDependants() handler.EventHandler {
	deps := handler.EnqueueRequestsFromMapFunc(r.byDependency)
	return handler.Funcs{
		CreateFunc:  deps.Create,
		DeleteFunc:  deps.Delete,
		GenericFunc: deps.Generic,
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[crreconcile.Request]) {
			for _, req := range r.byDependency(ctx, e.ObjectNew) {
				enqueueWake(q, req, true)
			}
		},
	}
}

// byDependency maps a Kustomization to those that depend on it.
func (r *KustomizationReconciler) byDependency(ctx context.Context, o client.Object) []crreconcile.Request {
	return r.listBy(ctx, dependsOnIndex, o.GetNamespace()+"/"+o.GetName())
}

func (r *KustomizationReconciler) listBy(ctx context.Context, index, key string) []crreconcile.Request {
	var list kustomizev1.KustomizationList
	if err := r.Client.List(ctx, &list, client.MatchingFields{index: key}); err != nil {
		return nil
	}
	reqs := make([]crreconcile.Request, 0, len(list.Items))
	for _, k := range list.Items {
		reqs = append(reqs, crreconcile.Request{NamespacedName: types.NamespacedName{Namespace: k.Namespace, Name: k.Name}})
	}
	return reqs
}

// readyChanged passes updates that change a Kustomization's Ready condition or its
// applied revision: what dependants wait for.
type readyChanged struct {
	predicate.Funcs
}

func (readyChanged) Update(e event.UpdateEvent) bool {
	a, okA := e.ObjectOld.(*kustomizev1.Kustomization)
	b, okB := e.ObjectNew.(*kustomizev1.Kustomization)
	if !okA || !okB {
		return false
	}
	ca, cb := readyCondition(a), readyCondition(b)
	return a.Status.LastAppliedRevision != b.Status.LastAppliedRevision || (ca == nil) != (cb == nil) ||
		(ca != nil && cb != nil && (ca.Status != cb.Status || ca.ObservedGeneration != cb.ObservedGeneration))
}

func (readyChanged) Create(event.CreateEvent) bool   { return false }
func (readyChanged) Delete(event.DeleteEvent) bool   { return true }
func (readyChanged) Generic(event.GenericEvent) bool { return false }

func cutKey(key string) (string, string, bool) {
	for i := range len(key) {
		if key[i] == '/' {
			return key[:i], key[i+1:], true
		}
	}
	return "", "", false
}
