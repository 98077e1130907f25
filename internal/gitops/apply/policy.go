package apply

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tugboatcd/tugboat/api/meta"
)

// ssaMode is how an object is applied, from Flux's ssa annotation.
type ssaMode int

const (
	// modeOverride applies the object and takes over fields that kubectl or
	// kustomize-controller set, so a field removed from Git is removed.
	modeOverride ssaMode = iota
	// modeMerge applies the object but leaves other managers' fields alone.
	modeMerge
	// modeIfNotPresent creates the object and never touches it afterwards.
	modeIfNotPresent
	// modeIgnore never applies the object.
	modeIgnore
)

// modeOf reads the ssa annotation. Values compare case-insensitively, as
// Flux's selectors do; an unknown value means the default, Override.
func modeOf(u *unstructured.Unstructured) ssaMode {
	return modeOfAnnotations(u.GetAnnotations())
}

// modeOfAnnotations is modeOf from an object's annotations.
func modeOfAnnotations(annotations map[string]string) ssaMode {
	switch v := annotations[meta.SSAAnnotation]; {
	case strings.EqualFold(v, meta.SSAMerge):
		return modeMerge
	case strings.EqualFold(v, meta.SSAIfNotPresent):
		return modeIfNotPresent
	case strings.EqualFold(v, meta.SSAIgnore):
		return modeIgnore
	default:
		return modeOverride
	}
}

// excluded reports whether apply must leave the object alone: annotated
// ssa: Ignore or reconcile: disabled (Flux's exclusion selector). It is asked
// of the desired object and of the live one, since users annotate the live
// object to pause reconciliation of it.
func excluded(u *unstructured.Unstructured) bool {
	a := u.GetAnnotations()
	return strings.EqualFold(a[meta.SSAAnnotation], meta.SSAIgnore) ||
		strings.EqualFold(a[meta.ReconcileAnnotation], meta.ReconcileDisabledValue)
}

// forced reports whether the object asks to be recreated on immutable-field
// errors.
func forced(u *unstructured.Unstructured) bool {
	return strings.EqualFold(u.GetAnnotations()[meta.ForceAnnotation], meta.ForceEnabledValue)
}

// ownedBy reports whether a live object still carries owner's labels: prune
// deletes nothing else.
func ownedBy(u *unstructured.Unstructured, owner Owner) bool {
	l := u.GetLabels()
	return l[meta.KustomizeNameLabel] == owner.Name && l[meta.KustomizeNamespaceLabel] == owner.Namespace
}

// pruneReason says why a live object must not be pruned, or "" when it may be.
func pruneReason(live *unstructured.Unstructured, owner Owner) string {
	a := live.GetAnnotations()
	switch {
	case !ownedBy(live, owner):
		return "not owned by " + owner.Namespace + "/" + owner.Name
	case strings.EqualFold(a[meta.PruneAnnotation], meta.PruneDisabledValue):
		return "prune disabled"
	case excluded(live):
		return "reconcile disabled or ssa Ignore"
	default:
		return ""
	}
}
