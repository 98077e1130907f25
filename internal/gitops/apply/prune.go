package apply

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/utils"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
)

// Prune deletes the stale inventory entries of owner, with background
// propagation, as Flux does: only objects that still carry owner's labels and
// are not annotated prune: disabled, reconcile: disabled or ssa: Ignore. The
// rest are reported skipped and left alone. Cluster definitions (CRDs,
// Namespaces, ClusterRoles) go last, after the objects that may live in them.
//
// An object whose deletion failed is reported failed, and the error names it;
// ChangeSet.Retained lists those so that the controller keeps them in the
// inventory and retries.
func (m *Manager) Prune(ctx context.Context, owner Owner, stale []kustomizev1.ResourceRef) (ChangeSet, error) {
	metas := make([]object.ObjMetadata, 0, len(stale))
	versions := make(map[object.ObjMetadata]string, len(stale))
	var errs []error
	for _, ref := range stale {
		om, err := object.ParseObjMetadata(ref.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("failed to prune inventory entry %q: %w", ref.ID, err))
			continue
		}
		metas = append(metas, om)
		versions[om] = ref.Version
	}
	// Reverse apply order: webhooks first, namespaces and CRDs last.
	sort.Sort(sort.Reverse(ssa.SortableMetas(metas)))

	var objs, defs []*unstructured.Unstructured
	for _, om := range metas {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(om.GroupKind.WithVersion(versions[om]))
		u.SetNamespace(om.Namespace)
		u.SetName(om.Name)
		if utils.IsClusterDefinition(u) {
			defs = append(defs, u)
		} else {
			objs = append(objs, u)
		}
	}

	var cs ChangeSet
	for _, phase := range [][]*unstructured.Unstructured{objs, defs} {
		actions := make([]Action, len(phase))
		failures := make([]error, len(phase))
		m.each(len(phase), func(i int) {
			actions[i], failures[i] = m.pruneOne(ctx, owner, phase[i])
		})
		for i, u := range phase {
			cs = append(cs, changeOf(u, actions[i]))
		}
		errs = append(errs, failures...)
	}
	return cs, errors.Join(errs...)
}

func (m *Manager) pruneOne(ctx context.Context, owner Owner, u *unstructured.Unstructured) (Action, error) {
	id := IDOf(u)
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(u.GroupVersionKind())
	m.gets.Add(1)
	err := m.client.Get(ctx, client.ObjectKeyFromObject(u), live)
	switch {
	case apierrors.IsNotFound(err), apimeta.IsNoMatchError(err):
		// Gone already, or its kind is: nothing left to delete.
		m.forget(id)
		return ActionDeleted, nil
	case err != nil:
		return ActionFailed, fmt.Errorf("failed to prune %s: %w", subject(u), err)
	}
	if reason := pruneReason(live, owner); reason != "" {
		return ActionSkipped, nil
	}
	uid := live.GetUID()
	m.deletes.Add(1)
	err = m.client.Delete(ctx, live,
		client.PropagationPolicy(metav1.DeletePropagationBackground),
		// Never delete a namesake created since the Get.
		client.Preconditions{UID: &uid})
	if err != nil && !apierrors.IsNotFound(err) {
		return ActionFailed, fmt.Errorf("failed to prune %s: %w", subject(u), err)
	}
	m.forget(id)
	return ActionDeleted, nil
}
