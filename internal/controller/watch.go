package controller

import (
	"context"
	"fmt"
	"sync"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/tugboatcd/tugboat/api/meta"
	"github.com/tugboatcd/tugboat/internal/apply"
)

// watcher watches every object tugboat applied (one informer per kind, selected by
// Flux's owner label) so that drift and health are seen as they happen instead of by
// re-reading or dry-running every object on every interval.
type watcher struct {
	dyn    dynamic.Interface
	mapper apimeta.RESTMapper
	// onDrift is called with the owner ("namespace/name") and the inventory id of an
	// object whose live state no longer holds what was applied, or that was deleted.
	onDrift func(owner, id string)
	// onChange is called with the owner of a changed object whose health is awaited.
	onChange func(owner string)

	ctx       context.Context
	mu        sync.Mutex
	informers map[schema.GroupVersionResource]cache.SharedIndexInformer
	desired   map[objectRef]desiredObject
	byOwner   map[string][]objectRef
	awaiting  map[string]bool // owners waiting for health
}

type objectRef struct {
	gvk             schema.GroupVersionKind
	namespace, name string
}

type desiredObject struct {
	owner string
	obj   *unstructured.Unstructured
}

func newWatcher(ctx context.Context, dyn dynamic.Interface, mapper apimeta.RESTMapper) *watcher {
	return &watcher{
		ctx: ctx, dyn: dyn, mapper: mapper,
		informers: map[schema.GroupVersionResource]cache.SharedIndexInformer{},
		desired:   map[objectRef]desiredObject{},
		byOwner:   map[string][]objectRef{},
		awaiting:  map[string]bool{},
	}
}

// track records the desired objects of owner and makes sure their kinds are watched.
func (w *watcher) track(ctx context.Context, owner string, objs []*unstructured.Unstructured) error {
	w.mu.Lock()
	for _, ref := range w.byOwner[owner] {
		delete(w.desired, ref)
	}
	refs := make([]objectRef, 0, len(objs))
	gvks := map[schema.GroupVersionKind]bool{}
	for _, o := range objs {
		ref := objectRef{gvk: o.GroupVersionKind(), namespace: o.GetNamespace(), name: o.GetName()}
		refs = append(refs, ref)
		w.desired[ref] = desiredObject{owner: owner, obj: o}
		gvks[ref.gvk] = true
	}
	w.byOwner[owner] = refs
	w.mu.Unlock()
	var firstErr error
	for gvk := range gvks {
		if err := w.ensureInformer(ctx, gvk); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

func (w *watcher) untrack(owner string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ref := range w.byOwner[owner] {
		delete(w.desired, ref)
	}
	delete(w.byOwner, owner)
	delete(w.awaiting, owner)
}

func (w *watcher) waitHealth(owner string, waiting bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if waiting {
		w.awaiting[owner] = true
	} else {
		delete(w.awaiting, owner)
	}
}

// get returns the live object from the watch cache.
func (w *watcher) get(gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, bool) {
	mapping, err := w.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, false
	}
	w.mu.Lock()
	inf, ok := w.informers[mapping.Resource]
	w.mu.Unlock()
	if !ok || !inf.HasSynced() {
		return nil, false
	}
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	item, exists, err := inf.GetStore().GetByKey(key)
	if err != nil || !exists {
		return nil, false
	}
	u, ok := item.(*unstructured.Unstructured)
	return u, ok
}

func (w *watcher) ensureInformer(ctx context.Context, gvk schema.GroupVersionKind) error {
	mapping, err := w.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("failed to map %s: %w", gvk, err)
	}
	w.mu.Lock()
	if _, ok := w.informers[mapping.Resource]; ok {
		w.mu.Unlock()
		return nil
	}
	inf := dynamicinformer.NewFilteredDynamicInformer(w.dyn, mapping.Resource, metav1.NamespaceAll, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.LabelSelector = meta.KustomizeNameLabel }).Informer()
	// Managed fields are most of an object's bytes and nothing here reads them.
	_ = inf.SetTransform(func(obj any) (any, error) {
		if u, ok := obj.(*unstructured.Unstructured); ok {
			u.SetManagedFields(nil)
		}
		return obj, nil
	})
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.changed(obj, false) },
		UpdateFunc: func(_, obj any) { w.changed(obj, false) },
		DeleteFunc: func(obj any) { w.changed(obj, true) },
	}); err != nil {
		w.mu.Unlock()
		return fmt.Errorf("failed to watch %s: %w", mapping.Resource, err)
	}
	w.informers[mapping.Resource] = inf
	w.mu.Unlock()
	go inf.Run(w.ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return fmt.Errorf("failed to sync the watch of %s", mapping.Resource)
	}
	log.FromContext(ctx).V(1).Info("watching managed objects", "resource", mapping.Resource.String())
	return nil
}

// changed reacts to a live object's change: drift of an applied field or a deletion
// invalidates it so the next reconcile re-applies it; any change of an object whose
// owner awaits health wakes the owner.
func (w *watcher) changed(obj any, deleted bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, deleted = tomb.Obj, true
	}
	live, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	ref := objectRef{gvk: live.GroupVersionKind(), namespace: live.GetNamespace(), name: live.GetName()}
	w.mu.Lock()
	d, tracked := w.desired[ref]
	awaiting := tracked && w.awaiting[d.owner]
	w.mu.Unlock()
	if !tracked {
		return
	}
	drifted := deleted
	if !deleted {
		drifted, _ = apply.Drifted(d.obj, live)
	}
	switch {
	case drifted && w.onDrift != nil:
		w.onDrift(d.owner, apply.IDOf(d.obj))
	case awaiting && w.onChange != nil:
		w.onChange(d.owner)
	}
}
