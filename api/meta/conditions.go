package meta

import (
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types carried by every kind. They are kstatus-compatible, so that
// generic tooling (kubectl wait, Flux's CLI, cli-utils) can judge our objects;
// the names follow fluxcd/pkg apis/meta.
const (
	// ReadyCondition is the summary: True when the last reconcile succeeded.
	ReadyCondition string = "Ready"

	// ReconcilingCondition is a "negative polarity" condition: present, and
	// True, only while a reconcile is in progress.
	ReconcilingCondition string = "Reconciling"

	// StalledCondition is a "negative polarity" condition: present, and True,
	// only when reconciling cannot go on without a change by a human.
	StalledCondition string = "Stalled"

	// HealthyCondition reports the health checks of a Kustomization; it is set
	// only when health checks are configured.
	HealthyCondition string = "Healthy"

	// ArtifactInStorageCondition tells that the source's artifact is stored
	// and can be read by its consumers.
	ArtifactInStorageCondition string = "ArtifactInStorage"

	// ArtifactOutdatedCondition is a "negative polarity" condition: True when
	// the stored artifact no longer matches the upstream revision.
	ArtifactOutdatedCondition string = "ArtifactOutdated"

	// FetchFailedCondition is a "negative polarity" condition: True when the
	// source could not be fetched.
	FetchFailedCondition string = "FetchFailed"
)

// Condition reasons. They are CamelCase and declared here only, so that an
// alert or a query can match a reason without knowing which controller set it.
// The values are Flux's, so that Flux's CLI and dashboards read them unchanged.
const (
	// SucceededReason: the last reconcile (or one of its steps) succeeded.
	SucceededReason string = "Succeeded"

	// FailedReason: a step failed without a more specific reason.
	FailedReason string = "Failed"

	// ProgressingReason: a reconcile is under way.
	ProgressingReason string = "Progressing"

	// ProgressingWithRetryReason: a reconcile is under way after a failure.
	ProgressingWithRetryReason string = "ProgressingWithRetry"

	// ReconciliationSucceededReason: a Kustomization applied its revision.
	ReconciliationSucceededReason string = "ReconciliationSucceeded"

	// ReconciliationFailedReason: a reconcile failed for a reason that has no
	// more specific constant.
	ReconciliationFailedReason string = "ReconciliationFailed"

	// ArtifactFailedReason: the source artifact could not be read.
	ArtifactFailedReason string = "ArtifactFailed"

	// AuthenticationFailedReason: the credentials for a remote were refused
	// or could not be read.
	AuthenticationFailedReason string = "AuthenticationFailed"

	// GitOperationFailedReason: a clone, fetch or checkout failed.
	GitOperationFailedReason string = "GitOperationFailed"

	// GitOperationSucceededReason: a clone, fetch or checkout succeeded.
	GitOperationSucceededReason string = "GitOperationSucceeded"

	// BuildFailedReason: kustomize build or variable substitution failed.
	BuildFailedReason string = "BuildFailed"

	// PruneFailedReason: garbage collection of stale objects failed.
	PruneFailedReason string = "PruneFailed"

	// HealthCheckFailedReason: an applied object did not become healthy in time.
	HealthCheckFailedReason string = "HealthCheckFailed"

	// HealthCheckCanceledReason: health checks stopped for a newer revision.
	HealthCheckCanceledReason string = "HealthCheckCanceled"

	// DependencyNotReadyReason: an object named in dependsOn is not Ready yet.
	DependencyNotReadyReason string = "DependencyNotReady"

	// SuspendedReason: spec.suspend is true.
	SuspendedReason string = "Suspended"

	// InvalidSpecReason: the spec cannot be acted on (a stalling error).
	InvalidSpecReason string = "InvalidSpec"

	// NewRevisionReason: the upstream moved past the stored artifact.
	NewRevisionReason string = "NewRevision"

	// LimitExceededReason: a fetch or a build went past one of tugboat's
	// limits (bytes or files of a snapshot, bytes of a manifest, objects of
	// a build, a deadline); the message names the limit and the file.
	// tugboat's own: Flux has no such limits.
	LimitExceededReason string = "LimitExceeded"

	// AccessDeniedReason: the object refers to another namespace while the
	// controller refuses cross-namespace references (--no-cross-namespace-refs),
	// as Flux's acl.AccessDeniedReason.
	AccessDeniedReason string = "AccessDenied"
)

// Reasons for a field the CRDs accept (they are Flux's schemas) but tugboat does
// not implement yet. An object that sets one is Ready=False and Stalled with the
// field's reason, and nothing is fetched, applied or pruned for it: acting as if
// the field were absent would apply to the wrong cluster (kubeConfig), apply
// ciphertext (decryption) or trust an unverified commit (verify).
const (
	// KubeConfigNotSupportedReason: Kustomization spec.kubeConfig (a remote cluster).
	KubeConfigNotSupportedReason string = "KubeConfigNotSupported"
	// DecryptionNotSupportedReason: Kustomization spec.decryption (SOPS).
	DecryptionNotSupportedReason string = "DecryptionNotSupported"
	// HealthCheckExprsNotSupportedReason: Kustomization spec.healthCheckExprs (CEL).
	HealthCheckExprsNotSupportedReason string = "HealthCheckExprsNotSupported"
	// ValidationNotSupportedReason: Kustomization spec.validation (removed in Flux v1).
	ValidationNotSupportedReason string = "ValidationNotSupported"
	// VerifyNotSupportedReason: GitRepository spec.verify (commit signatures).
	VerifyNotSupportedReason string = "VerifyNotSupported"
	// IncludeNotSupportedReason: GitRepository spec.include.
	IncludeNotSupportedReason string = "IncludeNotSupported"
	// SparseCheckoutNotSupportedReason: GitRepository spec.sparseCheckout.
	SparseCheckoutNotSupportedReason string = "SparseCheckoutNotSupported"
	// RecurseSubmodulesNotSupportedReason: GitRepository spec.recurseSubmodules.
	RecurseSubmodulesNotSupportedReason string = "RecurseSubmodulesNotSupported"
	// ProviderNotSupportedReason: GitRepository spec.provider other than generic.
	ProviderNotSupportedReason string = "ProviderNotSupported"
	// ProxySecretRefNotSupportedReason: GitRepository spec.proxySecretRef.
	ProxySecretRefNotSupportedReason string = "ProxySecretRefNotSupported"
)

// ObjectWithConditions is implemented by every tugboat kind, so that one
// helper can finalise the conditions of any of them before the status patch.
//
// +kubebuilder:object:generate=false
type ObjectWithConditions interface {
	GetConditions() []metav1.Condition
	SetConditions(conditions []metav1.Condition)
}

// IsReady reports whether obj has a Ready condition with status True that was
// set for its current generation, which is what "reconciled" means to kstatus.
func IsReady(obj interface {
	ObjectWithConditions
	GetGeneration() int64
}) bool {
	c := apimeta.FindStatusCondition(obj.GetConditions(), ReadyCondition)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == obj.GetGeneration()
}

// SetCondition adds or updates the condition of cond.Type on obj. The
// transition time only moves when the status changes, as API conventions ask.
func SetCondition(obj ObjectWithConditions, cond metav1.Condition) {
	conds := obj.GetConditions()
	apimeta.SetStatusCondition(&conds, cond)
	obj.SetConditions(conds)
}

// RemoveCondition drops the condition of the given type from obj; used for
// the negative-polarity Reconciling and Stalled conditions once they are over.
func RemoveCondition(obj ObjectWithConditions, conditionType string) {
	conds := obj.GetConditions()
	apimeta.RemoveStatusCondition(&conds, conditionType)
	obj.SetConditions(conds)
}
