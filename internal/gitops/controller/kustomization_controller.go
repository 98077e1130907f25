package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	cliobject "github.com/fluxcd/cli-utils/pkg/object"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/delivery/changelist"
	"github.com/tugboatcd/tugboat/internal/gitops/apply"
	"github.com/tugboatcd/tugboat/internal/gitops/build"
	"github.com/tugboatcd/tugboat/internal/gitops/reconcile"
	"github.com/tugboatcd/tugboat/internal/gitops/source"
)

// FieldManager is the server-side apply field manager of everything tugboat applies.
const FieldManager = "tugboat"

// KustomizationReconciler builds a Kustomization's path from the source snapshot in
// memory and server-side applies what changed, prunes what left Git, and judges health
// from the watch of the objects it manages.
type KustomizationReconciler struct {
	Client     client.Client
	RESTConfig *rest.Config
	Store      *source.Store
	// Tenancy is the multi-tenant lockdown (--default-service-account,
	// --no-cross-namespace-refs).
	Tenancy Tenancy
	// Tracer records the work towards each revision as spans (nil: not traced).
	Tracer   trace.Tracer
	origins  *traceOrigins
	checks   []reconcile.Check[*kustomizev1.Kustomization]
	recorder reconcile.Recorder
	watcher  *watcher
	// builds keeps kustomize's output for Kustomizations that build the same path of
	// the same tree with the same kustomize settings (see build.Cache).
	builds *build.Cache

	mu       sync.Mutex
	state    map[string]*kustomizationState // by namespace/name
	managers map[string]*apply.Manager      // by impersonated identity ("" = the controller's own)
	traces   map[string]*ksTrace            // open spans, by namespace/name (see beginTrace)
}

// kustomizationState is what the reconciler remembers of a Kustomization between
// reconciles, to skip builds and applies when nothing it depends on changed.
type kustomizationState struct {
	specHash     string
	inputs       []string
	inputsDigest string
	// manifests are the built objects, kept as JSON: a controller holds those of
	// every Kustomization for as long as it runs, and an object's JSON is a tenth of
	// the memory of its map form. objects decodes them.
	manifests []manifest
	// digest is the checksum of the manifests, 'sha256:<hex>' (status.history).
	digest string
	// healthKey names the revision and spec whose health is being waited for, since
	// healthSince; healthPassed is how long it took to pass, once it has.
	healthKey    string
	healthSince  time.Time
	healthPassed time.Duration
	// pendingChanges are the change lists of applies whose health is not judged yet.
	pendingChanges []pendingChange
	// announced is the revision whose success event was sent last. The next reconcile
	// may read the Kustomization from a cache that lacks the status patch of the one
	// that sent it (a reconcile queued while that one ran starts milliseconds later),
	// and status.lastAppliedRevision alone would send the event again.
	announced string
}

// pendingChange is the change list of one apply, and when it was applied.
type pendingChange struct {
	revision, summary string
	at                time.Time
}

// Reconcile reads the Kustomization and runs its steps; the status is patched once.
func (r *KustomizationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	start := time.Now()
	obj := &kustomizev1.Kustomization{}
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.String())
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, obj)
	}
	if !controllerutil.ContainsFinalizer(obj, kustomizev1.KustomizationFinalizer) {
		patch := client.MergeFrom(obj.DeepCopy())
		controllerutil.AddFinalizer(obj, kustomizev1.KustomizationFinalizer)
		if err := r.Client.Patch(ctx, obj, patch); err != nil {
			return ctrl.Result{}, fmt.Errorf("failed to add finalizer: %w", err)
		}
	}
	if obj.Spec.Suspend {
		return ctrl.Result{}, nil
	}
	before := obj.DeepCopy()
	o := reconcile.InProgress
	ctx, tr := r.beginTrace(ctx, obj)
	defer func() {
		result, retErr = reconcile.Complete(ctx, r.Client, r.recorder, kustomizev1.KustomizationKind, before, obj, o, reconcile.Status{
			ObservedGeneration: &obj.Status.ObservedGeneration, Request: &obj.Status.ReconcileRequestStatus, Revision: obj.Status.LastAttemptedRevision}, start)
		r.endTrace(tr, o, obj.Status.LastAttemptedRevision, retErr)
	}()
	o, digest := r.reconcile(ctx, obj)
	token, _ := meta.ReconcileAnnotationValue(obj.GetAnnotations())
	requested := token != "" && token != obj.Status.LastHandledReconcileAt
	if digest != "" && o.Ready != metav1.ConditionUnknown && (requested || !sameAsLatest(obj.Status.History, digest, o.Reason)) {
		obj.Status.History.Upsert(digest, time.Now(), time.Since(start), o.Reason,
			map[string]string{"revision": obj.Status.LastAttemptedRevision})
	}
	return result, retErr
}

// sameAsLatest reports whether a reconcile ended as the newest history entry did:
// the same manifests with the same result. Unless a user requested it, such a
// reconcile does not touch status.history (Flux bumps lastReconciled and
// totalReconciliations every interval): rewriting a timestamp would be a status patch
// per Kustomization per interval, and an idle cluster must see no requests from tugboat.
func sameAsLatest(h meta.History, digest, reason string) bool {
	latest := h.Latest()
	return latest != nil && latest.Digest == digest && latest.LastReconciledStatus == reason
}

// reconcile runs the steps in order, stopping at the first that does not succeed.
// It returns the outcome and, once the build succeeded, the digest of the built
// manifests (for status.history).
func (r *KustomizationReconciler) reconcile(ctx context.Context, obj *kustomizev1.Kustomization) (reconcile.Outcome, string) {
	retry := reconcile.Jitter(obj.GetRetryInterval())
	if o, ok := reconcile.Validate(obj, r.checks...); !ok {
		return o, ""
	}
	if o, ok := r.checkDependencies(ctx, obj); !ok {
		return o, ""
	}
	snap, o, ok := r.snapshot(ctx, obj)
	if !ok {
		return o, ""
	}
	revision := snap.Revision
	obj.Status.LastAttemptedRevision = revision

	vars, err := PostBuildVars(ctx, r.Client, obj)
	if err != nil {
		return reconcile.Failed(meta.BuildFailedReason, err, retry), ""
	}
	key := client.ObjectKeyFromObject(obj).String()
	_, span := stepSpan(ctx, "kustomize build")
	st, err := r.build(obj, snap, vars)
	if span.IsRecording() && st != nil {
		span.SetAttributes(attribute.Int("tugboat.objects", len(st.manifests)))
	}
	endStep(span, err)
	if err != nil {
		reason := meta.BuildFailedReason
		if be := (*build.Error)(nil); errors.As(err, &be) && be.Reason == meta.LimitExceededReason {
			reason = be.Reason
		}
		return reconcile.Outcome{Ready: metav1.ConditionFalse, Reason: reason, Message: err.Error(), Requeue: retry}, ""
	}

	mgr, err := r.manager(obj)
	if err != nil {
		return reconcile.Failed(meta.ReconciliationFailedReason, err, retry), st.digest
	}
	owner := apply.Owner{Name: obj.Name, Namespace: obj.Namespace}
	objects, err := st.objects()
	if err != nil {
		return reconcile.Outcome{Ready: metav1.ConditionFalse, Reason: meta.BuildFailedReason, Message: err.Error(), Requeue: retry}, st.digest
	}
	applyCtx, span := stepSpan(ctx, "apply")
	changes, err := mgr.Apply(applyCtx, owner, objects, apply.Options{Force: obj.Spec.Force})
	endStep(span, err)
	if err != nil {
		return reconcile.Failed(meta.ReconciliationFailedReason, err, retry), st.digest
	}
	if err := r.watcher.track(ctx, key, st.manifests); err != nil {
		log.FromContext(ctx).Error(err, "failed to watch managed objects; drift will be corrected at the interval")
	}

	inventory := apply.InventoryOf(changes)
	var oldInventory []kustomizev1.ResourceRef
	if obj.Status.Inventory != nil {
		oldInventory = obj.Status.Inventory.Entries
	}
	var pruneErr error
	if obj.Spec.Prune {
		stale := apply.Stale(oldInventory, inventory)
		pruneCtx, span := stepSpan(ctx, "prune")
		pruned, err := mgr.Prune(pruneCtx, owner, stale)
		endStep(span, err)
		changes = append(changes, pruned...)
		if err != nil {
			pruneErr = err
			// Objects whose delete failed stay in the inventory, so the next run retries.
			inventory = mergeInventory(inventory, pruned.Retained())
		}
	}
	obj.Status.Inventory = &kustomizev1.ResourceInventory{Entries: inventory}
	if st.pendingRevision() != "" && st.pendingRevision() != revision {
		// A new revision came while the last one's health was awaited: its changes
		// get their own event, under their own revision.
		r.flushChanges(ctx, obj, st)
	}
	st.noteChanges(revision, changeList(changes).Format())
	if pruneErr != nil {
		r.flushChanges(ctx, obj, st)
		return reconcile.Failed(meta.PruneFailedReason, pruneErr, retry), st.digest
	}

	o = r.health(ctx, obj, st, revision)
	switch o.Ready {
	case metav1.ConditionTrue:
		// One event tells the whole apply: what changed and that it is healthy.
		if changes, pending := st.takeChanges(); changes != "" || obj.Status.LastAppliedRevision != revision && st.announced != revision {
			var applied map[string]string
			if len(pending) > 0 {
				applied = map[string]string{meta.AppliedAtAnnotation: pending[0].at.UTC().Format(time.RFC3339Nano)}
			}
			r.recorder.EventWith(ctx, obj, false, meta.ReconciliationSucceededReason, revision, joinLines(changes, successNote(obj, o)), applied)
			st.announced = revision
		}
		obj.Status.LastAppliedRevision = revision
		o.Requeue = reconcile.Jitter(obj.GetInterval())
	case metav1.ConditionFalse:
		r.flushChanges(ctx, obj, st)
	}
	return o, st.digest
}

// noteChanges keeps the change list of an apply until its health is judged, so that
// a successful apply costs one event (Flux sends one for the changes and one for the
// success: an apiserver write each). Applies of the same
// revision (a drift corrected while health is awaited) add to the list.
func (st *kustomizationState) noteChanges(revision, summary string) {
	if summary == "" {
		return
	}
	st.pendingChanges = append(st.pendingChanges, pendingChange{revision: revision, summary: summary, at: time.Now()})
}

// pendingRevision is the revision whose changes are kept, or "".
func (st *kustomizationState) pendingRevision() string {
	if len(st.pendingChanges) == 0 {
		return ""
	}
	return st.pendingChanges[0].revision
}

// takeChanges returns the kept change lists, oldest first, and forgets them.
func (st *kustomizationState) takeChanges() (string, []pendingChange) {
	pending := st.pendingChanges
	st.pendingChanges = nil
	var lines []string
	for _, p := range pending {
		lines = append(lines, p.summary)
	}
	return strings.Join(lines, "\n"), pending
}

// flushChanges emits the kept change lists as they are, one Progressing event per
// apply: the apply happened even though it was not judged healthy.
func (r *KustomizationReconciler) flushChanges(ctx context.Context, obj *kustomizev1.Kustomization, st *kustomizationState) {
	_, pending := st.takeChanges()
	for _, p := range pending {
		r.recorder.Event(ctx, obj, false, meta.ProgressingReason, p.revision, p.summary)
	}
}

// successNote ends the success event: the health verdict when one was awaited, else
// the Ready message.
func successNote(obj *kustomizev1.Kustomization, o reconcile.Outcome) string {
	if c := apimeta.FindStatusCondition(obj.Status.Conditions, meta.HealthyCondition); c != nil && c.Status == metav1.ConditionTrue {
		return c.Message
	}
	return o.Message
}

func joinLines(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n" + b
}

// snapshot returns the source's snapshot from the in-process store.
func (r *KustomizationReconciler) snapshot(ctx context.Context, obj *kustomizev1.Kustomization) (*source.Snapshot, reconcile.Outcome, bool) {
	ref := obj.Spec.SourceRef
	if ref.Kind != sourcev1.GitRepositoryKind {
		msg := fmt.Sprintf("source kind '%s' is not supported: use GitRepository", ref.Kind)
		return nil, reconcile.Outcome{Ready: metav1.ConditionFalse, Reason: meta.InvalidSpecReason, Message: msg, Stalled: true}, false
	}
	ns := ref.Namespace
	if ns == "" {
		ns = obj.Namespace
	}
	name := types.NamespacedName{Namespace: ns, Name: ref.Name}
	src := &sourcev1.GitRepository{}
	if err := r.Client.Get(ctx, name, src); err != nil {
		msg := fmt.Sprintf("Source '%s' not found", ref)
		if !apierrors.IsNotFound(err) {
			msg = fmt.Sprintf("failed to get source '%s': %v", ref, err)
		}
		return nil, reconcile.Outcome{Ready: metav1.ConditionFalse, Reason: meta.ArtifactFailedReason, Message: msg, Requeue: reconcile.Jitter(obj.GetRetryInterval())}, false
	}
	snap, ok := r.Store.Get(name.String())
	if !ok {
		// The GitRepository reconciler wakes this Kustomization when the snapshot lands.
		msg := fmt.Sprintf("Source artifact of '%s' is not ready yet", ref)
		if c := readyCondition(src); c != nil && c.Status == metav1.ConditionFalse {
			msg = fmt.Sprintf("Source '%s' is not ready: %s", ref, c.Message)
		}
		return nil, reconcile.Outcome{Ready: metav1.ConditionFalse, Reason: meta.ArtifactFailedReason, Message: msg, Requeue: reconcile.Jitter(obj.GetRetryInterval())}, false
	}
	return snap, reconcile.Outcome{}, true
}

// build returns the objects of the Kustomization at this snapshot, building only when
// the spec, the substitutions or a file the last build read has changed.
func (r *KustomizationReconciler) build(obj *kustomizev1.Kustomization, snap *source.Snapshot, vars map[string]string) (*kustomizationState, error) {
	key := client.ObjectKeyFromObject(obj).String()
	specHash := hashJSON(obj.Spec, vars)
	r.mu.Lock()
	prev := r.state[key]
	r.mu.Unlock()
	if prev != nil && prev.specHash == specHash && inputsDigest(snap, obj.Spec.Path, prev.inputs) == prev.inputsDigest {
		return prev, nil
	}
	in := build.Input{Path: obj.Spec.Path, Spec: obj.Spec, Vars: vars, Name: obj.Name, Namespace: obj.Namespace}
	if obj.Spec.Timeout != nil {
		in.Limits.Timeout = obj.Spec.Timeout.Duration
	}
	res, err := r.builds.Build(snap.Digest, snap.Files, snap.Symlinks, in)
	if err != nil {
		return nil, err
	}
	manifests := make([]manifest, len(res.Objects))
	for i, o := range res.Objects {
		manifests[i] = manifest{ref: objectRef{gvk: o.GroupVersionKind(), namespace: o.GetNamespace(), name: o.GetName()}, json: res.Encoded[i]}
	}
	st := &kustomizationState{specHash: specHash, inputs: res.Inputs, inputsDigest: inputsDigest(snap, obj.Spec.Path, res.Inputs),
		manifests: manifests, digest: res.Digest}
	if prev != nil {
		st.healthKey, st.healthSince, st.healthPassed = prev.healthKey, prev.healthSince, prev.healthPassed
		st.pendingChanges = prev.pendingChanges
		st.announced = prev.announced
	}
	r.mu.Lock()
	r.state[key] = st
	r.mu.Unlock()
	return st, nil
}

// inputsDigest hashes the files a build read and every file under its path (so that a
// new file in a generated kustomization counts).
func inputsDigest(snap *source.Snapshot, path string, inputs []string) string {
	h := sha256.New()
	h.Write([]byte(snap.DirDigest(cleanPath(path))))
	for _, p := range inputs {
		h.Write([]byte(p))
		h.Write([]byte{0})
		if data, ok := snap.Files[p]; ok {
			sum := sha256.Sum256(data)
			h.Write(sum[:])
		} else {
			h.Write([]byte("missing"))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// manifest is one built object: its identity and its JSON.
type manifest struct {
	ref  objectRef
	json []byte
}

// objects decodes the manifests; each call returns new objects the caller may change.
func (st *kustomizationState) objects() ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, 0, len(st.manifests))
	for _, m := range st.manifests {
		u, err := m.decode()
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

func (m manifest) decode() (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(m.json); err != nil {
		return nil, fmt.Errorf("failed to decode %s/%s: %w", m.ref.gvk.Kind, m.ref.name, err)
	}
	return u, nil
}

func cleanPath(p string) string {
	p = strings.TrimPrefix(strings.TrimPrefix(p, "./"), "/")
	return strings.TrimSuffix(p, "/")
}

func hashJSON(v ...any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// PostBuildVars merges postBuild.substituteFrom (in order) and then
// postBuild.substitute; later values win, as in Flux. The controller and
// `tugboat diff` both build with them.
func PostBuildVars(ctx context.Context, c client.Reader, obj *kustomizev1.Kustomization) (map[string]string, error) {
	if obj.Spec.PostBuild == nil {
		return nil, nil
	}
	vars := map[string]string{}
	for _, ref := range obj.Spec.PostBuild.SubstituteFrom {
		name := types.NamespacedName{Namespace: obj.Namespace, Name: ref.Name}
		var data map[string]string
		switch ref.Kind {
		case "ConfigMap":
			cm := &corev1.ConfigMap{}
			if err := c.Get(ctx, name, cm); err != nil {
				if apierrors.IsNotFound(err) && ref.Optional {
					continue
				}
				return nil, fmt.Errorf("substitute from 'ConfigMap/%s' error: %w", ref.Name, err)
			}
			data = cm.Data
		case "Secret":
			secret := &corev1.Secret{}
			if err := c.Get(ctx, name, secret); err != nil {
				if apierrors.IsNotFound(err) && ref.Optional {
					continue
				}
				return nil, fmt.Errorf("substitute from 'Secret/%s' error: %w", ref.Name, err)
			}
			data = map[string]string{}
			for k, v := range secret.Data {
				data[k] = string(v)
			}
		default:
			return nil, fmt.Errorf("substitute from '%s/%s': kind must be ConfigMap or Secret", ref.Kind, ref.Name)
		}
		for k, v := range data {
			vars[k] = v
		}
	}
	for k, v := range obj.Spec.PostBuild.Substitute {
		vars[k] = v
	}
	return vars, nil
}

// manager returns the apply manager for the identity the Kustomization applies as.
func (r *KustomizationReconciler) manager(obj *kustomizev1.Kustomization) (*apply.Manager, error) {
	// The ServiceAccount is always the one in the Kustomization's own namespace, as
	// Flux's: a tenant cannot name another namespace's.
	identity := ""
	if sa := r.Tenancy.serviceAccount(obj); sa != "" {
		identity = fmt.Sprintf("system:serviceaccount:%s:%s", obj.Namespace, sa)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if m, ok := r.managers[identity]; ok {
		return m, nil
	}
	c := r.Client
	if identity != "" {
		cfg := rest.CopyConfig(r.RESTConfig)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: identity}
		ic, err := client.New(cfg, client.Options{Scheme: r.Client.Scheme(), Mapper: r.Client.RESTMapper()})
		if err != nil {
			return nil, fmt.Errorf("failed to create client impersonating %s: %w", identity, err)
		}
		c = ic
	}
	m := apply.NewManager(c, FieldManager)
	// The watcher judges drift from the Kustomizations' own copies and invalidates.
	m.KeepApplied(false)
	r.managers[identity] = m
	applyRequests.add(m.Stats)
	return m, nil
}

// invalidate tells every apply manager that the live object id of owner drifted.
func (r *KustomizationReconciler) invalidate(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.managers {
		m.Invalidate(id)
	}
}

func (r *KustomizationReconciler) forget(key string) {
	r.mu.Lock()
	delete(r.state, key)
	r.mu.Unlock()
	r.watcher.untrack(key)
	r.forgetTrace(key)
}

// checkDependencies reports whether every dependsOn Kustomization is Ready at its
// current generation and, when it reads the same source, at the current revision.
func (r *KustomizationReconciler) checkDependencies(ctx context.Context, obj *kustomizev1.Kustomization) (reconcile.Outcome, bool) {
	for _, dep := range obj.Spec.DependsOn {
		ns := dep.Namespace
		if ns == "" {
			ns = obj.Namespace
		}
		name := types.NamespacedName{Namespace: ns, Name: dep.Name}
		d := &kustomizev1.Kustomization{}
		notReady := func(why string) (reconcile.Outcome, bool) {
			// Dependants are woken by an event when the dependency becomes Ready; the
			// requeue is only a safety net.
			return reconcile.Outcome{Ready: metav1.ConditionFalse, Reason: meta.DependencyNotReadyReason,
				Message: fmt.Sprintf("dependency '%s' %s", name, why), Requeue: reconcile.Jitter(obj.GetRetryInterval())}, false
		}
		if err := r.Client.Get(ctx, name, d); err != nil {
			if apierrors.IsNotFound(err) {
				return notReady("not found")
			}
			return notReady(fmt.Sprintf("unreadable: %v", err))
		}
		if d.Generation != d.Status.ObservedGeneration || !meta.IsReady(d) {
			return notReady("is not ready")
		}
		if sameSource(obj, d) {
			if snap, ok := r.Store.Get(sourceKey(obj)); ok && d.Status.LastAppliedRevision != snap.Revision {
				return notReady(fmt.Sprintf("is not ready at revision '%s'", snap.Revision))
			}
		}
	}
	return reconcile.Outcome{}, true
}

func sourceKey(obj *kustomizev1.Kustomization) string {
	ns := obj.Spec.SourceRef.Namespace
	if ns == "" {
		ns = obj.Namespace
	}
	return ns + "/" + obj.Spec.SourceRef.Name
}

func sameSource(a, b *kustomizev1.Kustomization) bool {
	return a.Spec.SourceRef.Kind == b.Spec.SourceRef.Kind && sourceKey(a) == sourceKey(b)
}

// finalize handles a deleted Kustomization according to its deletionPolicy, as Flux
// does: MirrorPrune (the default) deletes the inventory when spec.prune is set, Delete
// deletes it regardless, WaitForTermination deletes it and keeps the finalizer until
// every deleted object is gone, Orphan leaves everything in place.
func (r *KustomizationReconciler) finalize(ctx context.Context, obj *kustomizev1.Kustomization) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(obj, kustomizev1.KustomizationFinalizer) {
		return ctrl.Result{}, nil
	}
	policy := obj.GetDeletionPolicy()
	del := policy == kustomizev1.DeletionPolicyDelete || policy == kustomizev1.DeletionPolicyWaitForTermination ||
		(policy == kustomizev1.DeletionPolicyMirrorPrune && obj.Spec.Prune)
	if del && !obj.Spec.Suspend && obj.Status.Inventory != nil && len(obj.Status.Inventory.Entries) > 0 {
		mgr, err := r.manager(obj)
		if err != nil {
			return ctrl.Result{}, err
		}
		deleted, err := mgr.Prune(ctx, apply.Owner{Name: obj.Name, Namespace: obj.Namespace}, obj.Status.Inventory.Entries)
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("failed to delete the objects of %s/%s: %w", obj.Namespace, obj.Name, err)
		}
		if policy == kustomizev1.DeletionPolicyWaitForTermination {
			if res, waiting := r.awaitTermination(ctx, obj, deleted); waiting {
				return res, nil
			}
		}
	}
	r.forget(client.ObjectKeyFromObject(obj).String())
	patch := client.MergeFrom(obj.DeepCopy())
	controllerutil.RemoveFinalizer(obj, kustomizev1.KustomizationFinalizer)
	if err := r.Client.Patch(ctx, obj, patch); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	return ctrl.Result{}, nil
}

// awaitTermination reports whether objects Prune deleted still exist (held by their
// own finalizers). The watch of the managed objects wakes the Kustomization as each
// goes; the requeue is a safety net. Past spec.timeout a Warning event names what is
// still terminating, and the wait goes on: the objects are not orphaned.
func (r *KustomizationReconciler) awaitTermination(ctx context.Context, obj *kustomizev1.Kustomization, deleted apply.ChangeSet) (ctrl.Result, bool) {
	var remaining []string
	for _, c := range deleted {
		if c.Action != apply.ActionDeleted {
			continue
		}
		om, err := cliobject.ParseObjMetadata(c.ID)
		if err != nil {
			continue
		}
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(om.GroupKind.WithVersion(c.Version))
		if err := r.Client.Get(ctx, client.ObjectKey{Namespace: om.Namespace, Name: om.Name}, u); err == nil || !apierrors.IsNotFound(err) {
			remaining = append(remaining, c.Subject())
		}
	}
	if len(remaining) == 0 {
		return ctrl.Result{}, false
	}
	if time.Since(obj.DeletionTimestamp.Time) > obj.GetTimeout() {
		r.recorder.Event(ctx, obj, true, meta.ReconciliationFailedReason, obj.Status.LastAppliedRevision,
			fmt.Sprintf("waiting for the termination of %s for longer than the timeout %s", strings.Join(remaining, ", "), obj.GetTimeout()))
		return ctrl.Result{RequeueAfter: reconcile.Jitter(obj.GetRetryInterval())}, true
	}
	log.FromContext(ctx).Info("waiting for the termination of deleted objects", "objects", remaining)
	return ctrl.Result{RequeueAfter: 2 * time.Second}, true
}

func mergeInventory(a, b []kustomizev1.ResourceRef) []kustomizev1.ResourceRef {
	seen := map[string]bool{}
	var out []kustomizev1.ResourceRef
	for _, e := range append(append([]kustomizev1.ResourceRef{}, a...), b...) {
		if !seen[e.ID] {
			seen[e.ID] = true
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// changeList lists what was created, configured or deleted, as the events carry it
// (see changelist); it is empty when nothing changed.
func changeList(cs apply.ChangeSet) changelist.List {
	var l changelist.List
	for _, c := range cs {
		if a := changelist.Action(c.Action); a.Listed() {
			l = append(l, changelist.Change{Object: c.Subject(), Action: a})
		}
	}
	return l
}

func qualifiedName(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}
