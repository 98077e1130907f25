package apply

import (
	"slices"
	"strings"

	"github.com/fluxcd/cli-utils/pkg/object"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	kustomizev1 "github.com/tugboatcd/tugboat/api/kustomize/v1"
)

// Owner is the Kustomization that applies objects. Its name and namespace are
// set as Flux's owner labels on every applied object, and prune deletes only
// objects that still carry them.
type Owner struct {
	Name      string
	Namespace string
}

// Action says what happened to one object.
type Action string

// The actions, spelled as Flux spells them in its change sets and events.
const (
	ActionCreated    Action = "created"
	ActionConfigured Action = "configured"
	ActionUnchanged  Action = "unchanged"
	ActionSkipped    Action = "skipped"
	ActionDeleted    Action = "deleted"
	// ActionFailed marks an object Prune could not delete; it stays in the
	// inventory (see ChangeSet.Retained) so that the next run retries it.
	ActionFailed Action = "failed"
)

// Change is what happened to one object.
type Change struct {
	// ID is Flux's inventory id, '<namespace>_<name>_<group>_<kind>'.
	ID string
	// Version is the version of the object's API group, e.g. 'v1'.
	Version   string
	Kind      string
	Namespace string
	Name      string
	Action    Action
}

// Subject names the object the way Flux's change lines and events do:
// 'Deployment/default/podinfo', or 'Namespace/apps' when cluster-scoped.
func (c Change) Subject() string {
	if c.Namespace == "" {
		return c.Kind + "/" + c.Name
	}
	return c.Kind + "/" + c.Namespace + "/" + c.Name
}

// ChangeSet lists what happened to each object of an Apply or a Prune.
type ChangeSet []Change

// String gives one Flux-like line per object, e.g.
// "Deployment/default/podinfo configured".
func (cs ChangeSet) String() string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(c.Subject())
		b.WriteByte(' ')
		b.WriteString(string(c.Action))
	}
	return b.String()
}

// Changed reports whether any object was created, configured or deleted; Flux
// emits an event only then.
func (cs ChangeSet) Changed() bool {
	return slices.ContainsFunc(cs, func(c Change) bool {
		return c.Action == ActionCreated || c.Action == ActionConfigured || c.Action == ActionDeleted
	})
}

// Retained returns the inventory entries of objects a Prune failed to delete.
// The controller keeps them in the inventory, as Flux does since
// kustomize-controller#1664, so that the next run tries again.
func (cs ChangeSet) Retained() []kustomizev1.ResourceRef {
	var out []kustomizev1.ResourceRef
	for _, c := range cs {
		if c.Action == ActionFailed {
			out = append(out, kustomizev1.ResourceRef{ID: c.ID, Version: c.Version})
		}
	}
	return out
}

// InventoryOf returns the inventory of an Apply's change set: every object in
// it, skipped ones included (as Flux does), sorted by id and without
// duplicates.
func InventoryOf(cs ChangeSet) []kustomizev1.ResourceRef {
	out := make([]kustomizev1.ResourceRef, 0, len(cs))
	for _, c := range cs {
		if c.Action == ActionDeleted || c.Action == ActionFailed {
			continue
		}
		out = append(out, kustomizev1.ResourceRef{ID: c.ID, Version: c.Version})
	}
	slices.SortFunc(out, func(a, b kustomizev1.ResourceRef) int { return strings.Compare(a.ID, b.ID) })
	return slices.CompactFunc(out, func(a, b kustomizev1.ResourceRef) bool { return a.ID == b.ID })
}

// Stale returns the entries of old whose object is not in new: what a prune
// deletes. Entries are compared by id only, so an object that moved to
// another API version is not stale.
func Stale(old, new []kustomizev1.ResourceRef) []kustomizev1.ResourceRef {
	keep := make(map[string]struct{}, len(new))
	for _, r := range new {
		keep[r.ID] = struct{}{}
	}
	var out []kustomizev1.ResourceRef
	for _, r := range old {
		if _, ok := keep[r.ID]; !ok {
			out = append(out, r)
		}
	}
	return out
}

// IDOf returns the inventory id of an object. It is cli-utils' ObjMetadata
// string, which Flux uses too: it transcodes the ':' of RBAC names.
func IDOf(u *unstructured.Unstructured) string {
	return object.UnstructuredToObjMetadata(u).String()
}

func changeOf(u *unstructured.Unstructured, action Action) Change {
	gvk := u.GroupVersionKind()
	return Change{
		ID:        IDOf(u),
		Version:   gvk.Version,
		Kind:      gvk.Kind,
		Namespace: u.GetNamespace(),
		Name:      u.GetName(),
		Action:    action,
	}
}
