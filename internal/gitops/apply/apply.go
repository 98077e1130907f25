package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/utils"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tugboatcd/tugboat/internal/gitops/reconcile"
	"github.com/tugboatcd/tugboat/internal/kube"
)

// adoptedManagers are the field managers whose fields tugboat takes over, so
// that a field removed from Git is removed from the cluster even when kubectl
// or Flux's kustomize-controller set it. The kubectl entries are Flux's own
// cleanup list (kustomize-controller's ApplyCleanupOptions); kustomize-controller's
// Apply entry is ours, for clusters migrating from Flux.
var adoptedManagers = []ssa.FieldManager{
	{Name: "kustomize-controller", ExactMatch: true, OperationType: metav1.ManagedFieldsOperationApply},
	{Name: "kustomize-controller", ExactMatch: true, OperationType: metav1.ManagedFieldsOperationUpdate},
	// Prefixes: kubectl, kubectl-client-side-apply, kubectl-edit, ...
	{Name: "kubectl", OperationType: metav1.ManagedFieldsOperationApply},
	{Name: "kubectl", OperationType: metav1.ManagedFieldsOperationUpdate},
	{Name: "before-first-apply", OperationType: metav1.ManagedFieldsOperationUpdate},
}

// adoptedAnnotations are removed from adopted objects: kubectl's client-side
// apply record, and the checksum old kustomize-controllers left.
var adoptedAnnotations = []string{
	corev1.LastAppliedConfigAnnotation,
	"kustomize.toolkit.fluxcd.io/checksum",
}

// immutableMessage matches the apiserver's messages for changes it refuses
// because a field cannot change. fluxcd/pkg/ssa treats every Invalid or
// Conflict error as immutable, which with force deletes an object whose new
// version is merely invalid and then fails to recreate it; this is narrower.
var immutableMessage = regexp.MustCompile(`(?i)immutable|may not change once set|updates to .* are forbidden`)

// createdWindow is how close, by the apiserver's clock, an object's creation
// and our managedFields entry must be for a first apply to count as a
// create; entryTimeSkew is how far our clock may run ahead of the
// apiserver's when deciding whether a first apply changed anything. Both
// only affect the reported action, never what is applied.
const (
	createdWindow = time.Second
	entryTimeSkew = 2 * time.Second
)

// Apply applies objs for owner with server-side apply, in Flux's stages: CRDs,
// Namespaces and ClusterRoles, then kinds ending in "Class", each waited for
// before the next stage, then everything else. Objects within a stage are
// applied concurrently.
//
// Unlike fluxcd/pkg/ssa's ResourceManager, Apply sends no dry-run: Flux
// dry-runs every object on every reconcile to learn whether it changed, which
// doubles the requests of a change and costs one request per object when
// nothing changed. Apply instead sends an object only when its desired state
// differs from what this Manager last applied or the live object was observed
// to drift, and then sends a single apply; the response says what happened.
//
// A stage is checked before any of it is sent: an unknown kind, a namespaced
// object without a namespace or a duplicate fails the stage with nothing of it
// applied. A stage with errors stops Apply, so later stages stay unapplied,
// and Apply never deletes except to recreate a forced object. An error the
// server returns for one object does not undo the other objects of its stage
// (there is no dry-run to learn of it first). The change set lists what was
// applied, up to the error.
func (m *Manager) Apply(ctx context.Context, owner Owner, objs []*unstructured.Unstructured, opts Options) (ChangeSet, error) {
	if opts.WaitForStages <= 0 {
		opts.WaitForStages = DefaultWaitForStages
	}
	var defs, classes, rest []*unstructured.Unstructured
	for _, o := range objs {
		u, err := Prepare(o, owner)
		if err != nil {
			return nil, fmt.Errorf("failed to prepare %s: %w", subject(o), err)
		}
		switch {
		case utils.IsClusterDefinition(u):
			defs = append(defs, u)
		case utils.IsClassDefinition(u):
			classes = append(classes, u)
		default:
			rest = append(rest, u)
		}
	}

	var cs ChangeSet
	for i, stage := range [][]*unstructured.Unstructured{defs, classes, rest} {
		if len(stage) == 0 {
			continue
		}
		changes, err := m.applyAndWait(ctx, i, stage, opts)
		cs = append(cs, changes...)
		if err != nil {
			return cs, err
		}
	}
	return cs, nil
}

// stageNames name the stages in traces.
var stageNames = [...]string{"apply definitions", "apply classes", "apply objects"}

// applyAndWait applies stage i and, for the first two, waits until what it applied
// can be used; when the reconcile is traced, in one span per stage (one per stage,
// never per object: a span costs more than the apply of an unchanged object).
func (m *Manager) applyAndWait(ctx context.Context, i int, stage []*unstructured.Unstructured, opts Options) (_ ChangeSet, err error) {
	ctx, span := reconcile.StartSpan(ctx, stageNames[i])
	if span.IsRecording() {
		defer func() {
			if err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
			}
			span.End()
		}()
		span.SetAttributes(attribute.Int("tugboat.objects", len(stage)))
	}
	// CRDs and Namespaces are awaited from the apply response on, so their
	// stages need whole objects; the rest only the metadata.
	changes, applied, err := m.applyStage(ctx, stage, opts, i < 2)
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("tugboat.objects.changed", changed(changes)))
	}
	if err != nil || i >= 2 {
		return changes, err
	}
	return changes, m.waitReady(ctx, applied, opts.WaitForStages)
}

// changed counts the changes that did something.
func changed(cs ChangeSet) int {
	n := 0
	for _, c := range cs {
		if c.Action != ActionUnchanged && c.Action != ActionSkipped {
			n++
		}
	}
	return n
}

// applyStage applies one stage and returns the changes and the objects the
// server returned for those it applied: whole when full, else their metadata.
func (m *Manager) applyStage(ctx context.Context, objs []*unstructured.Unstructured, opts Options, full bool) (ChangeSet, []*unstructured.Unstructured, error) {
	sort.Sort(ssa.SortableUnstructureds(objs))

	var errs []error
	ids := make(map[string]struct{}, len(objs))
	for _, u := range objs {
		if err := m.checkScope(u); err != nil {
			errs = append(errs, fmt.Errorf("failed to apply %s: %w", subject(u), err))
			continue
		}
		id := IDOf(u)
		if _, dup := ids[id]; dup {
			errs = append(errs, fmt.Errorf("failed to apply %s: the object is given twice", subject(u)))
		}
		ids[id] = struct{}{}
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}

	actions := make([]Action, len(objs))
	results := make([]*unstructured.Unstructured, len(objs))
	failures := make([]error, len(objs))
	m.each(len(objs), func(i int) {
		results[i], actions[i], failures[i] = m.applyOne(ctx, objs[i], opts, full)
	})

	var cs ChangeSet
	var applied []*unstructured.Unstructured
	for i, u := range objs {
		if failures[i] != nil {
			continue
		}
		cs = append(cs, changeOf(u, actions[i]))
		if results[i] != nil {
			applied = append(applied, results[i])
		}
	}
	return cs, applied, errors.Join(failures...)
}

// checkScope checks, without a request once discovery is cached, that the
// cluster serves the object's kind and that its namespace suits the kind's
// scope; it clears the namespace of a cluster-scoped object so that its
// inventory id is right.
func (m *Manager) checkScope(u *unstructured.Unstructured) error {
	gvk := u.GroupVersionKind()
	mapping, err := m.client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return err
	}
	if mapping.Scope.Name() == apimeta.RESTScopeNameRoot {
		u.SetNamespace("")
		return nil
	}
	if u.GetNamespace() == "" {
		return fmt.Errorf("namespace not specified: set metadata.namespace or the Kustomization's spec.targetNamespace")
	}
	return nil
}

// applyOne applies one object unless it can be skipped, and returns what the
// server returned when full (nil when nothing was sent or not full) and what
// happened.
func (m *Manager) applyOne(ctx context.Context, u *unstructured.Unstructured, opts Options, full bool) (*unstructured.Unstructured, Action, error) {
	if excluded(u) {
		return nil, ActionSkipped, nil
	}
	id := IDOf(u)
	hash, encoded, err := hashOf(u)
	if err != nil {
		return nil, "", err
	}
	prev, known := m.lookup(id)
	if known && prev.liveExcluded {
		return nil, ActionSkipped, nil
	}
	mode := modeOf(u)
	if mode == modeIfNotPresent {
		exists, err := m.exists(ctx, u, prev)
		if err != nil {
			return nil, "", err
		}
		if exists {
			return nil, ActionSkipped, nil
		}
	}
	if known && prev.sent && prev.hash == hash && !prev.stale {
		return nil, ActionUnchanged, nil
	}

	start := time.Now()
	live, err := m.send(ctx, u, encoded, full)
	recreated := false
	if err != nil && isImmutable(err) && (opts.Force || forced(u)) {
		if err := m.recreate(ctx, u, opts.WaitForStages); err != nil {
			m.forget(id)
			return nil, "", err
		}
		recreated = true
		live, err = m.send(ctx, u, encoded, full)
	}
	if err != nil {
		m.forget(id)
		if apierrors.IsNotFound(err) {
			// An apply creates what is missing, so the resource itself is not
			// served (a CRD version removed): a mapper that remembers mappings
			// must ask discovery again.
			apimeta.MaybeResetRESTMapper(m.client.RESTMapper())
		}
		return nil, "", applyError(u, err)
	}

	adopted := false
	if mode != modeMerge && modeOfAnnotations(live.GetAnnotations()) != modeMerge {
		if adopted, err = m.adopt(ctx, live); err != nil {
			m.forget(id)
			return nil, "", fmt.Errorf("failed to adopt %s from its previous field managers: %w", subject(u), err)
		}
		if adopted {
			// Now that the fields are ours, applying again removes those the
			// desired object no longer has.
			if live, err = m.send(ctx, u, encoded, full); err != nil {
				m.forget(id)
				return nil, "", applyError(u, err)
			}
		}
	}

	action := m.classify(live, prev, known, start)
	if recreated {
		action = ActionCreated
	} else if adopted {
		action = ActionConfigured
	}
	rec := record{hash: hash, sent: true, rv: live.GetResourceVersion(), uid: live.GetUID(), exists: true}
	if m.keepApplied {
		rec.applied = encoded
	}
	m.store(id, rec)
	whole, _ := live.(*unstructured.Unstructured)
	return whole, action, nil
}

// send applies u (encoded is its JSON), taking ownership of conflicting fields
// as Flux does, and returns the object the server returned: whole (an
// *unstructured.Unstructured) when full, else only its metadata (a
// *metav1.PartialObjectMetadata). Everything after an apply but the stage waits
// reads only the metadata (resourceVersion, uid, managedFields, annotations),
// and asked for it alone the apiserver answers in protobuf: it neither encodes
// nor do we decode the whole object as JSON, for every object applied.
func (m *Manager) send(ctx context.Context, u *unstructured.Unstructured, encoded []byte, full bool) (client.Object, error) {
	m.applies.Add(1)
	if full {
		obj := u.DeepCopy()
		err := m.client.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj),
			client.ForceOwnership, client.FieldOwner(m.fieldManager))
		return obj, err
	}
	partial := &metav1.PartialObjectMetadata{}
	partial.SetGroupVersionKind(u.GroupVersionKind())
	partial.SetNamespace(u.GetNamespace())
	partial.SetName(u.GetName())
	if err := m.client.Patch(ctx, partial, client.RawPatch(types.ApplyPatchType, encoded),
		client.ForceOwnership, client.FieldOwner(m.fieldManager)); err != nil {
		return nil, err
	}
	// The response's kind is PartialObjectMetadata; the object's own is u's.
	partial.SetGroupVersionKind(u.GroupVersionKind())
	return partial, nil
}

// exists reports whether the object exists, asking the server only when the
// Manager does not know.
func (m *Manager) exists(ctx context.Context, u *unstructured.Unstructured, prev record) (bool, error) {
	if prev.exists {
		return true, nil
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(u.GroupVersionKind())
	m.gets.Add(1)
	err := m.client.Get(ctx, client.ObjectKeyFromObject(u), live)
	switch {
	case err == nil:
		m.store(IDOf(u), record{exists: true, rv: live.GetResourceVersion(), uid: live.GetUID(), liveExcluded: excluded(live), stale: true})
		return true, nil
	case apierrors.IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("failed to get %s: %w", subject(u), err)
	}
}

// adopt hands the fields of adoptedManagers over to this Manager's field
// manager and removes kubectl's last-applied annotation, with one JSON patch
// built by fluxcd/pkg/ssa's helpers. It reports whether there was anything to
// adopt; live is updated from the response.
func (m *Manager) adopt(ctx context.Context, live client.Object) (bool, error) {
	if !mayAdopt(live) {
		return false, nil
	}
	u, ok := live.(*unstructured.Unstructured)
	if !ok {
		fields, err := runtime.DefaultUnstructuredConverter.ToUnstructured(live)
		if err != nil {
			return false, fmt.Errorf("failed to read the metadata of %s/%s: %w", live.GetNamespace(), live.GetName(), err)
		}
		u = &unstructured.Unstructured{Object: fields}
	}
	patches := ssa.PatchRemoveAnnotations(u, adoptedAnnotations)
	managed, err := ssa.PatchReplaceFieldsManagers(u, adoptedManagers, m.fieldManager)
	if err != nil {
		return false, err
	}
	patches = append(patches, managed...)
	if len(patches) == 0 {
		return false, nil
	}
	raw, err := json.Marshal(patches)
	if err != nil {
		return false, err
	}
	gvk := live.GetObjectKind().GroupVersionKind()
	m.patches.Add(1)
	err = m.client.Patch(ctx, live, client.RawPatch(types.JSONPatchType, raw), client.FieldOwner(m.fieldManager))
	live.GetObjectKind().SetGroupVersionKind(gvk)
	return true, err
}

// mayAdopt tells, from the typed metadata, whether live can have anything
// adopt would take over: an adopted annotation, or a managedFields entry whose
// manager starts with the name of an adopted one. It is looser than
// fluxcd/pkg/ssa's match (no operation or subresource), so that it only
// spares adopt's conversions of objects it has nothing to do for: every
// object applied, and applied again, by this Manager alone.
func mayAdopt(live metav1.Object) bool {
	annotations := live.GetAnnotations()
	for _, key := range adoptedAnnotations {
		if _, ok := annotations[key]; ok {
			return true
		}
	}
	for _, e := range live.GetManagedFields() {
		for _, a := range adoptedManagers {
			if strings.HasPrefix(e.Manager, a.Name) {
				return true
			}
		}
	}
	return false
}

// recreate deletes the live object and waits until it is gone.
func (m *Manager) recreate(ctx context.Context, u *unstructured.Unstructured, timeout time.Duration) error {
	m.deletes.Add(1)
	err := m.client.Delete(ctx, u.DeepCopy(), client.PropagationPolicy(metav1.DeletePropagationBackground))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to delete %s to recreate it after an immutable field changed: %w", subject(u), err)
	}
	err = kube.Poll(ctx, timeout, func(ctx context.Context) (bool, error) {
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(u.GroupVersionKind())
		m.gets.Add(1)
		err := m.client.Get(ctx, client.ObjectKeyFromObject(u), live)
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return fmt.Errorf("failed to wait for %s to be deleted before recreating it: %w", subject(u), err)
	}
	return nil
}

// classify tells what an apply did from the object the server returned.
// When the Manager knows the object's previous resourceVersion the answer is
// exact. On first sight (after a restart) it reads this field manager's
// managedFields entry: the apiserver updates its time only when the apply
// changed something, and sets it with creationTimestamp on a create.
func (m *Manager) classify(live metav1.Object, prev record, known bool, start time.Time) Action {
	if known && prev.rv != "" {
		switch {
		case prev.uid != "" && live.GetUID() != prev.uid:
			return ActionCreated
		case live.GetResourceVersion() == prev.rv:
			return ActionUnchanged
		default:
			return ActionConfigured
		}
	}
	var entry *metav1.ManagedFieldsEntry
	others := 0
	for _, e := range live.GetManagedFields() {
		switch {
		case e.Manager == m.fieldManager && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == "":
			entry = &e
		case e.Subresource == "":
			others++
		}
	}
	if entry == nil || entry.Time == nil {
		return ActionConfigured
	}
	created := live.GetCreationTimestamp()
	// A create leaves this manager's entry alone, stamped with the creation.
	if d := entry.Time.Sub(created.Time); others == 0 && d >= -createdWindow && d <= createdWindow && !created.Before(&metav1.Time{Time: start.Add(-entryTimeSkew)}) {
		return ActionCreated
	}
	if entry.Time.Time.Before(start.Add(-entryTimeSkew)) {
		return ActionUnchanged
	}
	return ActionConfigured
}

// waitReady waits until the applied CRDs are Established and served, and the
// applied Namespaces Active, so that the next stage can use them.
func (m *Manager) waitReady(ctx context.Context, applied []*unstructured.Unstructured, timeout time.Duration) error {
	for _, obj := range applied {
		switch {
		case utils.IsCRD(obj):
			if err := m.waitFor(ctx, obj, timeout, kube.Established); err != nil {
				return err
			}
			if err := kube.WaitServed(ctx, timeout, m.client.RESTMapper(), obj); err != nil {
				return err
			}
		case utils.IsNamespace(obj):
			if err := m.waitFor(ctx, obj, timeout, kube.Active); err != nil {
				return err
			}
		}
	}
	return nil
}

// waitFor polls obj until ready holds, starting from the apply response.
func (m *Manager) waitFor(ctx context.Context, obj *unstructured.Unstructured, timeout time.Duration, ready kube.Ready) error {
	_, err := kube.WaitFor(ctx, timeout, obj, func(ctx context.Context) (*unstructured.Unstructured, error) {
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(obj.GroupVersionKind())
		m.gets.Add(1)
		if err := m.client.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
			return nil, err
		}
		return live, nil
	}, ready)
	if err != nil {
		return fmt.Errorf("failed to wait for %s to become ready: %w", subject(obj), err)
	}
	return nil
}

func isImmutable(err error) bool {
	return apierrors.IsInvalid(err) && immutableMessage.MatchString(err.Error())
}

// applyError names the object and keeps the apiserver's message, which
// carries the field paths; an immutable field says how to get past it.
func applyError(u *unstructured.Unstructured, err error) error {
	if isImmutable(err) {
		return fmt.Errorf("failed to apply %s: %w (set the Kustomization's spec.force, or annotate the object kustomize.toolkit.fluxcd.io/force: Enabled, to recreate it)", subject(u), err)
	}
	return fmt.Errorf("failed to apply %s: %w", subject(u), err)
}
