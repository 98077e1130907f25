package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	cliobject "github.com/fluxcd/cli-utils/pkg/object"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/tugboatcd/tugboat/api/meta"
	"github.com/tugboatcd/tugboat/internal/gitops/apply"
)

// watcher watches every object tugboat applied (one informer per kind, selected by
// Flux's owner label) so that drift and health are seen as they happen instead of by
// re-reading or dry-running every object on every interval.
type watcher struct {
	dyn    dynamic.Interface
	mapper apimeta.RESTMapper
	// cfg and httpClient build the protobuf clients of built-in kinds (see listWatch).
	cfg        *rest.Config
	httpClient *http.Client
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
	owner    string
	manifest manifest
}

func newWatcher(ctx context.Context, cfg *rest.Config, httpClient *http.Client, mapper apimeta.RESTMapper) (*watcher, error) {
	dyn, err := dynamic.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	return &watcher{
		ctx: ctx, dyn: dyn, mapper: mapper, cfg: cfg, httpClient: httpClient,
		informers: map[schema.GroupVersionResource]cache.SharedIndexInformer{},
		desired:   map[objectRef]desiredObject{},
		byOwner:   map[string][]objectRef{},
		awaiting:  map[string]bool{},
	}, nil
}

// track records the desired objects of owner and makes sure their kinds are watched.
func (w *watcher) track(ctx context.Context, owner string, manifests []manifest) error {
	w.mu.Lock()
	for _, ref := range w.byOwner[owner] {
		delete(w.desired, ref)
	}
	refs := make([]objectRef, 0, len(manifests))
	gvks := map[schema.GroupVersionKind]bool{}
	for _, m := range manifests {
		refs = append(refs, m.ref)
		w.desired[m.ref] = desiredObject{owner: owner, manifest: m}
		gvks[m.ref.gvk] = true
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

// get returns the live object from the watch cache. watching is false when its kind
// has no synced watch, so the cache cannot say whether the object exists.
func (w *watcher) get(gvk schema.GroupVersionKind, namespace, name string) (live *unstructured.Unstructured, watching bool) {
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
		return nil, true
	}
	l, ok := item.(*liveObject)
	if !ok {
		return nil, true
	}
	u, err := l.decode()
	if err != nil {
		return nil, true
	}
	return u, true
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
	lw, example, err := w.listWatch(mapping)
	if err != nil {
		w.mu.Unlock()
		return fmt.Errorf("failed to watch %s: %w", mapping.Resource, err)
	}
	inf := cache.NewSharedIndexInformer(lw, example, 0, cache.Indexers{})
	_ = inf.SetTransform(compactAs(mapping.GroupVersionKind))
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

// listWatch lists and watches the managed objects of one kind (those with Flux's
// owner label). Built-in kinds are read in protobuf, as kube-controller-manager reads
// them: decoding is several times cheaper than JSON, and the apiserver sends every
// watcher of an encoding the event it serialised once, so it encodes nothing for us
// that it does not already encode for the controller-manager. Custom resources have
// no protobuf; they are read as JSON through the dynamic client.
func (w *watcher) listWatch(mapping *apimeta.RESTMapping) (cache.ListerWatcher, runtime.Object, error) {
	selector := func(o *metav1.ListOptions) { o.LabelSelector = meta.KustomizeNameLabel }
	gvk := mapping.GroupVersionKind
	if example, err := clientgoscheme.Scheme.New(gvk); err == nil {
		cfg := rest.CopyConfig(w.cfg)
		gv := gvk.GroupVersion()
		cfg.GroupVersion, cfg.APIPath = &gv, "/apis"
		if gv.Group == "" {
			cfg.APIPath = "/api"
		}
		cfg.ContentType = runtime.ContentTypeProtobuf
		cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
		cfg.NegotiatedSerializer = clientgoscheme.Codecs.WithoutConversion()
		rc, err := rest.RESTClientForConfigAndClient(cfg, w.httpClient)
		if err != nil {
			return nil, nil, err
		}
		return cache.NewFilteredListWatchFromClient(rc, mapping.Resource.Resource, metav1.NamespaceAll, selector), example, nil
	}
	res := w.dyn.Resource(mapping.Resource)
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			selector(&o)
			return res.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			selector(&o)
			return res.Watch(ctx, o)
		},
	}, &unstructured.Unstructured{}, nil
}

// changed reacts to a live object's change: drift of an applied field or a deletion
// invalidates it so the next reconcile re-applies it; any change of an object whose
// owner awaits health wakes the owner.
func (w *watcher) changed(obj any, deleted bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, deleted = tomb.Obj, true
	}
	l, ok := obj.(*liveObject)
	if !ok {
		return
	}
	ref := objectRef{gvk: l.GroupVersionKind(), namespace: l.Namespace, name: l.Name}
	w.mu.Lock()
	d, tracked := w.desired[ref]
	awaiting := tracked && w.awaiting[d.owner]
	w.mu.Unlock()
	if !tracked {
		return
	}
	drifted := deleted
	if !deleted {
		drifted = w.drifted(d.manifest, l)
	}
	switch {
	case drifted && w.onDrift != nil:
		w.onDrift(d.owner, l.id())
	case awaiting && w.onChange != nil:
		w.onChange(d.owner)
	}
}

// drifted reports whether live no longer holds what was applied; an object that
// cannot be decoded counts as drifted, so that it is applied again.
func (w *watcher) drifted(m manifest, l *liveObject) bool {
	desired, err := m.decode()
	if err != nil {
		return true
	}
	live, err := l.decode()
	if err != nil {
		return true
	}
	drifted, _ := apply.Drifted(desired, live)
	return drifted
}

// liveObject is how the watch cache keeps a managed object: its identity, and the
// rest as JSON without managedFields, decoded when drift or health is judged. The
// controller watches every object it applied, and an object's JSON takes about a
// tenth of the memory of its map form.
type liveObject struct {
	metav1.TypeMeta
	metav1.ObjectMeta
	raw []byte
}

// DeepCopyObject copies the identity; raw is never changed, so it is shared.
func (l *liveObject) DeepCopyObject() runtime.Object {
	c := &liveObject{TypeMeta: l.TypeMeta, raw: l.raw}
	l.DeepCopyInto(&c.ObjectMeta)
	return c
}

// id is the object's inventory id, as apply.IDOf gives it.
func (l *liveObject) id() string {
	return cliobject.ObjMetadata{Namespace: l.Namespace, Name: l.Name, GroupKind: l.GroupVersionKind().GroupKind()}.String()
}

func (l *liveObject) decode() (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(l.raw); err != nil {
		return nil, fmt.Errorf("failed to decode the live %s %s/%s: %w", l.Kind, l.Namespace, l.Name, err)
	}
	return u, nil
}

// compactAs is the watch's transform for objects of kind gvk: it turns each object
// the watch delivers, typed (built-in kinds, from protobuf) or unstructured, into a
// liveObject before the cache stores it.
func compactAs(gvk schema.GroupVersionKind) cache.TransformFunc {
	return func(obj any) (any, error) {
		if _, done := obj.(*liveObject); done {
			// The informer may hand a stored object to the transform again.
			return obj, nil
		}
		o, ok := obj.(interface {
			runtime.Object
			metav1.Object
		})
		if !ok {
			return obj, nil
		}
		o.SetManagedFields(nil)
		// Typed objects decoded from protobuf carry no apiVersion and kind; drift and
		// health read them from the JSON.
		o.GetObjectKind().SetGroupVersionKind(gvk)
		var v any = o
		if u, ok := o.(*unstructured.Unstructured); ok {
			v = u.Object
		}
		// json.Marshal returns a slice of exactly the object's length (MarshalJSON's
		// buffer has up to twice the capacity, all of it kept by the cache).
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		l := &liveObject{TypeMeta: metav1.TypeMeta{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind}, raw: raw}
		l.Name, l.Namespace, l.UID, l.ResourceVersion = o.GetName(), o.GetNamespace(), o.GetUID(), o.GetResourceVersion()
		return l, nil
	}
}
