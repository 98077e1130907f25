package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	"github.com/tugboatcd/tugboat/api/meta"
	sourcev1 "github.com/tugboatcd/tugboat/api/source/v1"
	"github.com/tugboatcd/tugboat/internal/gitops/reconcile"
	"github.com/tugboatcd/tugboat/internal/gitops/source"
)

// GitRepositoryReconciler fetches Git repositories into the in-process snapshot store.
// It checks the remote head before fetching and clones only when it moved.
type GitRepositoryReconciler struct {
	Client client.Client
	Git    *source.Client
	Store  *source.Store
	// Tracer records the reconciles as spans (nil: not traced).
	Tracer   trace.Tracer
	origins  *traceOrigins
	recorder reconcile.Recorder
	// artifacts announces every new snapshot to the Kustomization reconciler, in process.
	artifacts chan<- event.GenericEvent
}

// Reconcile reads the GitRepository, decides whether its remote moved, fetches if so,
// and patches its status once.
func (r *GitRepositoryReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	start := time.Now()
	obj := &sourcev1.GitRepository{}
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.Store.Delete(req.String())
			r.origins.forget(req.String())
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !obj.DeletionTimestamp.IsZero() {
		r.Store.Delete(req.String())
		r.origins.forget(req.String())
		return ctrl.Result{}, nil
	}
	if obj.Spec.Suspend {
		return ctrl.Result{}, nil
	}
	before := obj.DeepCopy()
	o := reconcile.InProgress
	ctx, span := r.startSpan(ctx, obj)
	defer func() {
		result, retErr = reconcile.Complete(ctx, r.Client, r.recorder, sourcev1.GitRepositoryKind, before, obj, o, reconcile.Status{
			ObservedGeneration: &obj.Status.ObservedGeneration, Request: &obj.Status.ReconcileRequestStatus, Revision: revisionOf(obj)}, start)
		endSpan(span, o, revisionOf(obj), retErr)
	}()
	o = r.reconcile(ctx, obj)
	return result, retErr
}

func (r *GitRepositoryReconciler) reconcile(ctx context.Context, obj *sourcev1.GitRepository) reconcile.Outcome {
	if o, ok := reconcile.Validate(obj, gitRepositoryChecks...); !ok {
		// A snapshot fetched before the field was set was fetched without it (not
		// verified, say): its Kustomizations must not go on applying it.
		r.Store.Delete(client.ObjectKeyFromObject(obj).String())
		return o
	}
	auth, o, failed := r.auth(ctx, obj)
	if failed {
		return o
	}
	ref := obj.GetReference()
	opts := source.FetchOptions{
		URL:     obj.Spec.URL,
		Ref:     source.Ref{Branch: ref.Branch, Tag: ref.Tag, SemVer: ref.SemVer, Name: ref.Name, Commit: ref.Commit},
		Auth:    auth,
		Ignore:  obj.Spec.Ignore,
		Timeout: obj.GetTimeout(),
	}
	key := client.ObjectKeyFromObject(obj).String()
	last := ""
	// Skip the clone only when the snapshot in memory was made with the same content
	// settings; a changed ignore rule needs a new snapshot of the same commit.
	if snap, ok := r.Store.Get(key); ok && obj.Status.ObservedGeneration == obj.Generation && equalIgnore(obj.Spec.Ignore, obj.Status.ObservedIgnore) {
		last = snap.Commit
	}
	snap, changed, err := r.Git.Fetch(ctx, opts, last)
	if err != nil {
		reason := meta.GitOperationFailedReason
		switch {
		case errors.Is(err, source.ErrAuthentication):
			reason = meta.AuthenticationFailedReason
		case errors.Is(err, source.ErrLimitExceeded):
			reason = meta.LimitExceededReason
		case errors.Is(err, source.ErrInsecure):
			reason = meta.InvalidSpecReason
		}
		meta.SetCondition(obj, metav1.Condition{Type: meta.FetchFailedCondition, Status: metav1.ConditionTrue, Reason: reason, Message: err.Error()})
		return reconcile.Outcome{Ready: metav1.ConditionFalse, Reason: reason, Message: err.Error(), Err: fmt.Errorf("failed to fetch %s: %w", key, err)}
	}
	meta.RemoveCondition(obj, meta.FetchFailedCondition)
	if changed {
		size := snap.Size
		obj.Status.Artifact = &meta.Artifact{
			// The artifact lives in this process's memory, not in a file server: path
			// and URL name it for people, no consumer downloads it.
			Path:           fmt.Sprintf("gitrepository/%s/%s/%s", obj.Namespace, obj.Name, snap.Commit),
			URL:            fmt.Sprintf("memory://tugboat/gitrepository/%s/%s/%s", obj.Namespace, obj.Name, snap.Commit),
			Revision:       snap.Revision,
			Digest:         snap.Digest,
			Size:           &size,
			LastUpdateTime: metav1.Now(),
		}
		obj.Status.ObservedIgnore = obj.Spec.Ignore
		// Before the snapshot is visible: a Kustomization that reads it finds its origin.
		r.origins.set(key, snap.Revision, trace.SpanContextFromContext(ctx))
		r.Store.Put(key, snap)
		r.recorder.Event(ctx, obj, false, "NewArtifact", snap.Revision, fmt.Sprintf("stored artifact for commit '%s'", firstLine(snap.Message)))
		if r.artifacts != nil {
			r.artifacts <- event.GenericEvent{Object: obj}
		}
	}
	meta.SetCondition(obj, metav1.Condition{Type: meta.ArtifactInStorageCondition, Status: metav1.ConditionTrue, Reason: meta.SucceededReason,
		Message: fmt.Sprintf("stored artifact for revision '%s'", revisionOf(obj))})
	return reconcile.Outcome{Ready: metav1.ConditionTrue, Reason: meta.SucceededReason,
		Message: fmt.Sprintf("stored artifact for revision '%s'", revisionOf(obj)), Requeue: reconcile.Jitter(obj.Spec.Interval.Duration)}
}

// auth reads the credentials named by spec.secretRef.
func (r *GitRepositoryReconciler) auth(ctx context.Context, obj *sourcev1.GitRepository) (*source.Auth, reconcile.Outcome, bool) {
	if obj.Spec.SecretRef == nil {
		return nil, reconcile.Outcome{}, false
	}
	secret := &corev1.Secret{}
	name := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Spec.SecretRef.Name}
	if err := r.Client.Get(ctx, name, secret); err != nil {
		msg := fmt.Sprintf("failed to get secret '%s': %v", name, err)
		return nil, reconcile.Outcome{Ready: metav1.ConditionFalse, Reason: meta.AuthenticationFailedReason, Message: msg, Err: errors.New(msg)}, true
	}
	auth, err := source.AuthFromSecret(secret.Data)
	if err != nil {
		msg := fmt.Sprintf("invalid secret '%s': %v", name, err)
		return nil, reconcile.Outcome{Ready: metav1.ConditionFalse, Reason: meta.AuthenticationFailedReason, Message: msg, Stalled: true}, true
	}
	return auth, reconcile.Outcome{}, false
}

func revisionOf(obj *sourcev1.GitRepository) string {
	if obj.Status.Artifact == nil {
		return ""
	}
	return obj.Status.Artifact.Revision
}

func equalIgnore(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
