package controller

import (
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/gitops/reconcile"
)

// SetupWithManager registers the GitRepository reconciler: it reacts to spec changes
// and to the reconcile-request annotation, not to its own status patches.
func (r *GitRepositoryReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options, artifacts chan<- event.GenericEvent) error {
	r.recorder = reconcile.Recorder{Events: mgr.GetEventRecorder("tugboat-source")}
	r.artifacts = artifacts
	return ctrl.NewControllerManagedBy(mgr).
		For(&sourcev1.GitRepository{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WithOptions(opts).
		Named("gitrepository").
		Complete(r)
}
