package v1

import (
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tugboatcd/tugboat/api/meta"
)

const (
	// KustomizationKind is the kind name of Kustomization.
	KustomizationKind = "Kustomization"

	// KustomizationFinalizer lets the controller garbage collect the applied
	// objects before a Kustomization goes away; it is Flux's name, so that
	// objects migrated from Flux keep working.
	KustomizationFinalizer = "finalizers.fluxcd.io"

	// DefaultInterval is the reconcile interval of a Kustomization that sets
	// none. Flux requires spec.interval; tugboat defaults it because the seed
	// manifests omit it. It matches what `flux bootstrap` writes.
	DefaultInterval = 10 * time.Minute
)

// Deletion policies for spec.deletionPolicy.
const (
	DeletionPolicyMirrorPrune        = "MirrorPrune"
	DeletionPolicyDelete             = "Delete"
	DeletionPolicyWaitForTermination = "WaitForTermination"
	DeletionPolicyOrphan             = "Orphan"
)

// KustomizationSpec says what to build from a source and how to apply it.
// The fields are Flux's kustomize.toolkit.fluxcd.io/v1
// (fluxcd/kustomize-controller api/v1/kustomization_types.go) with two
// deliberate differences: interval is optional with a 10m default, and the
// fields that Flux dropped after v1beta2 are still accepted, so that one
// schema serves v1, v1beta2 and v1beta1.
type KustomizationSpec struct {
	// SourceRef names the source whose artifact holds the manifests.
	// +required
	SourceRef CrossNamespaceSourceReference `json:"sourceRef"`

	// Path of the directory inside the source that holds a
	// kustomization.yaml, or plain manifests for which one is generated.
	// Defaults to the root of the source.
	// +optional
	Path string `json:"path,omitempty"`

	// Prune deletes objects that were applied before and are gone from the
	// source.
	// +required
	Prune bool `json:"prune"`

	// Interval at which the Kustomization is reconciled, which is also how
	// often drift is corrected. Approximate: reconciles are jittered.
	// Defaults to 10m; Flux requires it, tugboat does not, so that manifests
	// that omit it (as the v1beta1 seed does) apply.
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Interval metav1.Duration `json:"interval,omitzero"`

	// RetryInterval is the wait before retrying a failed reconcile; defaults
	// to interval.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	RetryInterval *metav1.Duration `json:"retryInterval,omitempty"`

	// Timeout for build, apply and health checks; defaults to interval less
	// 30s, and never less than 30s.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// DependsOn lists Kustomizations that must be Ready first.
	// +optional
	DependsOn []DependencyReference `json:"dependsOn,omitempty"`

	// TargetNamespace sets or overrides the namespace of every object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	TargetNamespace string `json:"targetNamespace,omitempty"`

	// NamePrefix is prepended to the names of all objects.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	// +optional
	NamePrefix string `json:"namePrefix,omitempty"`

	// NameSuffix is appended to the names of all objects.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	// +optional
	NameSuffix string `json:"nameSuffix,omitempty"`

	// Patches are strategic merge or JSON 6902 patches, inline, each with an
	// optional target selector.
	// +optional
	Patches []Patch `json:"patches,omitempty"`

	// Images replace image names, tags or digests.
	// +optional
	Images []Image `json:"images,omitempty"`

	// Components are paths to kustomize Components, relative to path.
	// +optional
	Components []string `json:"components,omitempty"`

	// IgnoreMissingComponents drops components that are not in the source
	// instead of failing the build.
	// +optional
	IgnoreMissingComponents bool `json:"ignoreMissingComponents,omitempty"`

	// CommonMetadata adds labels and annotations to the top-level metadata of
	// every object (not to pod templates or selectors).
	// +optional
	CommonMetadata *CommonMetadata `json:"commonMetadata,omitempty"`

	// PostBuild substitutes variables in the built manifests.
	// +optional
	PostBuild *PostBuild `json:"postBuild,omitempty"`

	// Wait checks the health of every applied object; healthChecks are then
	// ignored.
	// +optional
	Wait bool `json:"wait,omitempty"`

	// HealthChecks lists the objects whose health is checked after apply.
	// +optional
	HealthChecks []meta.NamespacedObjectKindReference `json:"healthChecks,omitempty"`

	// HealthCheckExprs judge the health of custom resources with CEL; they
	// are used only when wait or healthChecks is set.
	// +optional
	HealthCheckExprs []CustomHealthCheck `json:"healthCheckExprs,omitempty"`

	// Force recreates objects whose immutable fields changed.
	// +kubebuilder:default:=false
	// +optional
	Force bool `json:"force,omitempty"`

	// Suspend stops reconciling; a reconcile already running finishes.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// ServiceAccountName is the ServiceAccount to impersonate for apply,
	// prune and health checks.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// KubeConfig applies to a remote cluster instead of this one.
	// +optional
	KubeConfig *meta.KubeConfigReference `json:"kubeConfig,omitempty"`

	// Decryption decrypts SOPS-encrypted Secrets before apply.
	// +optional
	Decryption *Decryption `json:"decryption,omitempty"`

	// DeletionPolicy says what happens to the applied objects when the
	// Kustomization is deleted: 'MirrorPrune' (default; delete when prune is
	// true), 'Delete', 'WaitForTermination' or 'Orphan'.
	// +kubebuilder:validation:Enum=MirrorPrune;Delete;WaitForTermination;Orphan
	// +optional
	DeletionPolicy string `json:"deletionPolicy,omitempty"`

	// Validation is accepted from v1beta1/v1beta2 manifests: objects are always
	// validated by the apiserver, so 'server' is accepted and 'none' or 'client'
	// stall the Kustomization (ValidationNotSupported).
	// +kubebuilder:validation:Enum=none;client;server
	// +optional
	Validation string `json:"validation,omitempty"`

	// PatchesStrategicMerge is the v1beta1/v1beta2 form of strategic merge
	// patches; deprecated, use patches. The controller applies them after
	// patches, as Flux did.
	// +optional
	PatchesStrategicMerge []apiextensionsv1.JSON `json:"patchesStrategicMerge,omitempty"`

	// PatchesJSON6902 is the v1beta1/v1beta2 form of JSON 6902 patches;
	// deprecated, use patches.
	// +optional
	PatchesJSON6902 []JSON6902Patch `json:"patchesJson6902,omitempty"`
}

// CrossNamespaceSourceReference names the source of a Kustomization.
type CrossNamespaceSourceReference struct {
	// APIVersion of the source.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Kind of the source.
	// +kubebuilder:validation:Enum=OCIRepository;GitRepository;Bucket;ExternalArtifact
	// +required
	Kind string `json:"kind"`

	// Name of the source.
	// +required
	Name string `json:"name"`

	// Namespace of the source; defaults to the Kustomization's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// String returns "Kind/name", or "Kind/namespace/name" when the namespace is
// set, the form used in messages and events.
func (in CrossNamespaceSourceReference) String() string {
	if in.Namespace != "" {
		return in.Kind + "/" + in.Namespace + "/" + in.Name
	}
	return in.Kind + "/" + in.Name
}

// DependencyReference names a Kustomization that must be Ready first.
type DependencyReference struct {
	// Name of the Kustomization.
	// +required
	Name string `json:"name"`

	// Namespace of the Kustomization; defaults to the dependant's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// ReadyExpr is a CEL expression over 'dep' and 'self' that replaces the
	// built-in readiness check of the dependency.
	// +optional
	ReadyExpr string `json:"readyExpr,omitempty"`
}

// CommonMetadata holds the labels and annotations added to every object.
type CommonMetadata struct {
	// Annotations to add.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`

	// Labels to add.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
}

// PostBuild describes the variable substitution run on the built manifests.
type PostBuild struct {
	// Substitute maps variable names to values; bash-style forms such as
	// ${var:=default} are supported.
	// +optional
	Substitute map[string]string `json:"substitute,omitempty"`

	// SubstituteFrom names ConfigMaps and Secrets whose data keys are
	// variables; later entries override earlier ones, substitute overrides
	// them all.
	// +optional
	SubstituteFrom []SubstituteReference `json:"substituteFrom,omitempty"`
}

// SubstituteReference names a ConfigMap or Secret holding variables.
type SubstituteReference struct {
	// Kind of the referent: 'Secret' or 'ConfigMap'.
	// +kubebuilder:validation:Enum=Secret;ConfigMap
	// +required
	Kind string `json:"kind"`

	// Name of the referent, in the Kustomization's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`

	// Optional tolerates a missing referent, as if it were empty.
	// +kubebuilder:default:=false
	// +optional
	Optional bool `json:"optional,omitempty"`
}

// Decryption configures SOPS decryption.
type Decryption struct {
	// Provider of the decryption engine; only 'sops'.
	// +kubebuilder:validation:Enum=sops
	// +required
	Provider string `json:"provider"`

	// ServiceAccountName authenticates to cloud KMS services.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// SecretRef names a Secret with the private keys (age, OpenPGP) or
	// cloud credentials.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`
}

// Image replaces an image's name, tag or digest (kustomize 'images').
type Image struct {
	// Name is the tag-less image name to match.
	// +required
	Name string `json:"name"`

	// NewName replaces the name.
	// +optional
	NewName string `json:"newName,omitempty"`

	// NewTag replaces the tag.
	// +optional
	NewTag string `json:"newTag,omitempty"`

	// Digest replaces the tag; newTag is then ignored.
	// +optional
	Digest string `json:"digest,omitempty"`
}

// Selector picks objects; an object must match every field that is set.
type Selector struct {
	// Group of the objects.
	// +optional
	Group string `json:"group,omitempty"`

	// Version of the objects.
	// +optional
	Version string `json:"version,omitempty"`

	// Kind of the objects.
	// +optional
	Kind string `json:"kind,omitempty"`

	// Namespace of the objects.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// Name of the objects (a regular expression in kustomize).
	// +optional
	Name string `json:"name,omitempty"`

	// AnnotationSelector is a label-selector expression over annotations.
	// +optional
	AnnotationSelector string `json:"annotationSelector,omitempty"`

	// LabelSelector is a label-selector expression.
	// +optional
	LabelSelector string `json:"labelSelector,omitempty"`
}

// Patch is an inline strategic merge or JSON 6902 patch.
type Patch struct {
	// Patch is the patch document, YAML or JSON.
	// +required
	Patch string `json:"patch"`

	// Target selects the objects to patch; a strategic merge patch without
	// target patches the object it names.
	// +optional
	Target *Selector `json:"target,omitempty"`
}

// JSON6902 is one RFC 6902 operation, for the deprecated patchesJson6902.
type JSON6902 struct {
	// Op is the operation.
	// +kubebuilder:validation:Enum=test;remove;add;replace;move;copy
	// +required
	Op string `json:"op"`

	// Path is a JSON pointer to the target location.
	// +required
	Path string `json:"path"`

	// From is a JSON pointer to the source location, for move and copy.
	// +optional
	From string `json:"from,omitempty"`

	// Value is any JSON value, for add, replace and test.
	// +optional
	Value *apiextensionsv1.JSON `json:"value,omitempty"`
}

// JSON6902Patch is a list of RFC 6902 operations and their target.
type JSON6902Patch struct {
	// Patch is the list of operations.
	// +required
	Patch []JSON6902 `json:"patch"`

	// Target selects the objects to patch.
	// +required
	Target Selector `json:"target"`
}

// CustomHealthCheck judges the health of one kind of custom resource with CEL
// expressions over the object ('self').
type CustomHealthCheck struct {
	// APIVersion of the custom resource (its group is what matters).
	// +required
	APIVersion string `json:"apiVersion"`

	// Kind of the custom resource.
	// +required
	Kind string `json:"kind"`

	// Current is true when the resource reached its desired state.
	// +required
	Current string `json:"current"`

	// InProgress is true while the resource is still progressing.
	// +optional
	InProgress string `json:"inProgress,omitempty"`

	// Failed is true when the resource failed.
	// +optional
	Failed string `json:"failed,omitempty"`
}

// KustomizationStatus records what the controller last observed and applied.
type KustomizationStatus struct {
	meta.ReconcileRequestStatus `json:",inline"`

	// ObservedGeneration is the last generation reconciled successfully.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions holds Ready, Reconciling, Stalled and Healthy.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// LastAppliedRevision is the source revision last applied successfully.
	// +optional
	LastAppliedRevision string `json:"lastAppliedRevision,omitempty"`

	// LastAppliedOriginRevision is the origin revision (e.g. the OCI
	// 'org.opencontainers.image.revision') of the last applied artifact.
	// +optional
	LastAppliedOriginRevision string `json:"lastAppliedOriginRevision,omitempty"`

	// LastAttemptedRevision is the source revision of the last attempt.
	// +optional
	LastAttemptedRevision string `json:"lastAttemptedRevision,omitempty"`

	// Inventory lists the objects applied by the last successful reconcile;
	// prune deletes what drops out of it.
	// +optional
	Inventory *ResourceInventory `json:"inventory,omitempty"`

	// History holds the last 5 distinct outcomes of reconciling (digest of
	// the built manifests and Ready reason), newest first, as Flux 2.6 does.
	// +optional
	History meta.History `json:"history,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=ks,categories=all;fluxcd;fluxcd-appliers
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Revision",type="string",JSONPath=".status.lastAppliedRevision",priority=1

// Kustomization builds manifests from a source with kustomize and applies
// them to the cluster, pruning and health checking what it applied.
type Kustomization struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec KustomizationSpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status KustomizationStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *Kustomization) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *Kustomization) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetInterval returns spec.interval, or DefaultInterval when it is unset (an
// object that did not pass the API server's defaulting, such as one read
// from a file).
func (in *Kustomization) GetInterval() time.Duration {
	if in.Spec.Interval.Duration > 0 {
		return in.Spec.Interval.Duration
	}
	return DefaultInterval
}

// GetRequeueAfter returns how long to wait before the next reconcile.
func (in *Kustomization) GetRequeueAfter() time.Duration {
	return in.GetInterval()
}

// GetRetryInterval returns how long to wait after a failure.
func (in *Kustomization) GetRetryInterval() time.Duration {
	if in.Spec.RetryInterval != nil && in.Spec.RetryInterval.Duration > 0 {
		return in.Spec.RetryInterval.Duration
	}
	return in.GetInterval()
}

// GetTimeout returns the timeout for build, apply and health checks: spec
// timeout, else interval less 30s, and never less than 30s (Flux's rule).
func (in *Kustomization) GetTimeout() time.Duration {
	d := in.GetInterval() - 30*time.Second
	if in.Spec.Timeout != nil {
		d = in.Spec.Timeout.Duration
	}
	return max(d, 30*time.Second)
}

// GetDeletionPolicy returns the deletion policy, MirrorPrune when unset.
func (in *Kustomization) GetDeletionPolicy() string {
	if in.Spec.DeletionPolicy == "" {
		return DeletionPolicyMirrorPrune
	}
	return in.Spec.DeletionPolicy
}

// +kubebuilder:object:root=true

// KustomizationList is a list of Kustomizations.
type KustomizationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Kustomization `json:"items"`
}
