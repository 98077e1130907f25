package v1

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tugboatcd/tugboat/api/meta"
)

// GitRepositoryKind is the kind name of GitRepository.
const GitRepositoryKind = "GitRepository"

// DefaultBranch is checked out when a GitRepository names no reference at
// all; it is Flux's default, so that old manifests resolve to the same commit.
const DefaultBranch = "master"

// Authentication providers for spec.provider.
const (
	GitProviderGeneric string = "generic"
	GitProviderAWS     string = "aws"
	GitProviderAzure   string = "azure"
	GitProviderGitHub  string = "github"
)

// IncludeUnavailableCondition is a "negative polarity" condition: True when an
// included GitRepository is missing or has no artifact yet.
const IncludeUnavailableCondition string = "IncludeUnavailable"

// GitVerificationMode selects which Git objects must carry a trusted signature.
type GitVerificationMode string

// Verification modes; "head" is the spelling of Flux's v1beta2 API and means
// the same as "HEAD".
const (
	ModeGitHEAD       GitVerificationMode = "HEAD"
	ModeGitHEADLegacy GitVerificationMode = "head"
	ModeGitTag        GitVerificationMode = "Tag"
	ModeGitTagAndHEAD GitVerificationMode = "TagAndHEAD"
)

// GitRepositorySpec says which Git repository, and which reference in it, to
// turn into an artifact. The fields are Flux's source.toolkit.fluxcd.io/v1
// (fluxcd/source-controller api/v1/gitrepository_types.go), plus the
// deprecated fields that old v1beta1/v1beta2 manifests still carry, so that
// one schema accepts every served version.
//
// +kubebuilder:validation:XValidation:rule="!has(self.serviceAccountName) || (has(self.provider) && (self.provider == 'azure' || self.provider == 'aws'))",message="serviceAccountName can only be set when provider is 'azure' or 'aws'"
// +kubebuilder:validation:XValidation:rule="!has(self.branch) || !has(self.ref) || !has(self.ref.branch) || self.ref.branch == self.branch",message="spec.branch is deprecated; when spec.ref.branch is also set the two must be equal"
type GitRepositorySpec struct {
	// URL of the repository: an HTTP/S or SSH address. The scp-like form
	// 'user@host:repo' is not accepted; write 'ssh://user@host/repo'.
	// +kubebuilder:validation:Pattern="^(http|https|ssh)://.*$"
	// +required
	URL string `json:"url"`

	// SecretRef names a Secret with the credentials: 'username' and
	// 'password' or 'bearerToken' for HTTPS, 'identity' and 'known_hosts' for
	// SSH, and optionally 'ca.crt', 'tls.crt' and 'tls.key'.
	// +optional
	SecretRef *meta.LocalObjectReference `json:"secretRef,omitempty"`

	// Provider used for authentication: 'generic' (default, from secretRef),
	// 'aws', 'azure' or 'github' (workload identity or GitHub App).
	// +kubebuilder:validation:Enum=generic;aws;azure;github
	// +optional
	Provider string `json:"provider,omitempty"`

	// ServiceAccountName is the ServiceAccount whose workload identity
	// authenticates to the repository; only for the 'azure' and 'aws'
	// providers.
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// Interval at which the remote is checked for new commits. It is
	// approximate: reconciles are jittered to spread the load.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +required
	Interval metav1.Duration `json:"interval"`

	// Timeout for Git operations such as a clone.
	// +kubebuilder:default="60s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m))+$"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// Reference is the Git reference to check out. When it and the
	// deprecated branch field are both empty, the 'master' branch is used.
	// +optional
	Reference *GitRepositoryRef `json:"ref,omitempty"`

	// Branch is a deprecated spelling of ref.branch, found in manifests
	// written for early v1beta1 releases. The controller reads it as
	// ref.branch; use ref.branch in new manifests. See GetReference.
	// +optional
	Branch string `json:"branch,omitempty"`

	// Verification asks for the signature of the checked out commit or tag
	// to be verified against trusted keys.
	// +optional
	Verification *GitRepositoryVerification `json:"verify,omitempty"`

	// ProxySecretRef names a Secret with the proxy to use: 'address'
	// (required), 'username' and 'password'.
	// +optional
	ProxySecretRef *meta.LocalObjectReference `json:"proxySecretRef,omitempty"`

	// Ignore replaces the default exclusion patterns, in .gitignore format.
	// +optional
	Ignore *string `json:"ignore,omitempty"`

	// Suspend stops reconciling this GitRepository.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// RecurseSubmodules checks out all submodules too.
	// +optional
	RecurseSubmodules bool `json:"recurseSubmodules,omitempty"`

	// Include copies other GitRepositories' artifacts into this one.
	// +optional
	Include []GitRepositoryInclude `json:"include,omitempty"`

	// SparseCheckout lists the only directories to check out and archive.
	// +optional
	SparseCheckout []string `json:"sparseCheckout,omitempty"`

	// GitImplementation is accepted from v1beta1/v1beta2 manifests and
	// ignored: tugboat has one Git implementation.
	// +kubebuilder:validation:Enum=go-git;libgit2
	// +optional
	GitImplementation string `json:"gitImplementation,omitempty"`

	// AccessFrom is accepted from v1beta1/v1beta2 manifests and ignored, as
	// it was by Flux.
	// +optional
	AccessFrom *AccessFrom `json:"accessFrom,omitempty"`
}

// GitRepositoryRef is the Git reference to resolve. When several fields are
// set, the later one in this order wins: branch, tag, semver, name, commit
// (commit together with branch clones that branch shallowly).
type GitRepositoryRef struct {
	// Branch to check out.
	// +optional
	Branch string `json:"branch,omitempty"`

	// Tag to check out; takes precedence over branch.
	// +optional
	Tag string `json:"tag,omitempty"`

	// SemVer constraint; the highest matching tag is checked out. Takes
	// precedence over tag.
	// +optional
	SemVer string `json:"semver,omitempty"`

	// Name is a full reference such as 'refs/heads/main' or
	// 'refs/pull/420/head'; takes precedence over branch, tag and semver.
	// +optional
	Name string `json:"name,omitempty"`

	// Commit SHA to check out; takes precedence over every other field.
	// +optional
	Commit string `json:"commit,omitempty"`
}

// IsZero reports whether no reference field is set.
func (in GitRepositoryRef) IsZero() bool {
	return in == GitRepositoryRef{}
}

// GitRepositoryVerification says which signatures to verify, and with which
// keys.
type GitRepositoryVerification struct {
	// Mode selects the objects to verify: 'HEAD' (or 'head'), 'Tag' or
	// 'TagAndHEAD'.
	// +kubebuilder:validation:Enum=head;HEAD;Tag;TagAndHEAD
	// +kubebuilder:default:=HEAD
	// +optional
	Mode GitVerificationMode `json:"mode,omitempty"`

	// SecretRef names a Secret holding the trusted public keys: PGP keys
	// under '*.asc' keys and SSH keys under '*.sshpub' keys.
	// +required
	SecretRef meta.LocalObjectReference `json:"secretRef"`
}

// GitRepositoryInclude copies (part of) another GitRepository's artifact into
// this one.
type GitRepositoryInclude struct {
	// GitRepositoryRef names the GitRepository to include.
	// +required
	GitRepositoryRef meta.LocalObjectReference `json:"repository"`

	// FromPath is the directory to copy from; defaults to the root.
	// +optional
	FromPath string `json:"fromPath,omitempty"`

	// ToPath is the directory to copy to; defaults to the included
	// repository's name.
	// +optional
	ToPath string `json:"toPath,omitempty"`
}

// GetToPath returns ToPath, or the included repository's name when empty.
func (in GitRepositoryInclude) GetToPath() string {
	if in.ToPath == "" {
		return in.GitRepositoryRef.Name
	}
	return in.ToPath
}

// AccessFrom is the shape of Flux's deprecated spec.accessFrom; it is kept
// only so that old manifests validate.
type AccessFrom struct {
	// NamespaceSelectors lists the namespaces allowed to read the source.
	// +required
	NamespaceSelectors []NamespaceSelector `json:"namespaceSelectors"`
}

// NamespaceSelector selects namespaces by label.
type NamespaceSelector struct {
	// MatchLabels is a map of label keys and values that must all match.
	// +optional
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// GitRepositoryStatus records what the controller last observed and stored.
type GitRepositoryStatus struct {
	// ObservedGeneration is the last generation reconciled successfully.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions holds Ready, Reconciling, Stalled and the source specific
	// conditions.
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Artifact is the output of the last successful reconcile.
	// +optional
	Artifact *meta.Artifact `json:"artifact,omitempty"`

	// IncludedArtifacts are the artifacts of spec.include used for Artifact.
	// +optional
	IncludedArtifacts []*meta.Artifact `json:"includedArtifacts,omitempty"`

	// ObservedIgnore is the spec.ignore used for Artifact.
	// +optional
	ObservedIgnore *string `json:"observedIgnore,omitempty"`

	// ObservedRecurseSubmodules is the spec.recurseSubmodules used for
	// Artifact.
	// +optional
	ObservedRecurseSubmodules bool `json:"observedRecurseSubmodules,omitempty"`

	// ObservedInclude is the spec.include used for Artifact.
	// +optional
	ObservedInclude []GitRepositoryInclude `json:"observedInclude,omitempty"`

	// ObservedSparseCheckout is the spec.sparseCheckout used for Artifact.
	// +optional
	ObservedSparseCheckout []string `json:"observedSparseCheckout,omitempty"`

	// SourceVerificationMode is the verification mode last applied.
	// +optional
	SourceVerificationMode *GitVerificationMode `json:"sourceVerificationMode,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// +kubebuilder:object:root=true
// +kubebuilder:storageversion
// +kubebuilder:resource:shortName=gitrepo,categories=all;fluxcd;fluxcd-sources
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="Age",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:printcolumn:name="Ready",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].status"
// +kubebuilder:printcolumn:name="Status",type="string",JSONPath=".status.conditions[?(@.type==\"Ready\")].message"
// +kubebuilder:printcolumn:name="Revision",type="string",JSONPath=".status.artifact.revision",priority=1
// +kubebuilder:metadata:annotations="kustomize.toolkit.fluxcd.io/substitute=disabled"

// GitRepository turns a Git repository at a reference into a stored
// artifact that Kustomizations consume.
type GitRepository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec GitRepositorySpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	Status GitRepositoryStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions.
func (in *GitRepository) GetConditions() []metav1.Condition {
	return in.Status.Conditions
}

// SetConditions replaces the status conditions.
func (in *GitRepository) SetConditions(conditions []metav1.Condition) {
	in.Status.Conditions = conditions
}

// GetRequeueAfter returns how long to wait before the next check.
func (in *GitRepository) GetRequeueAfter() time.Duration {
	return in.Spec.Interval.Duration
}

// GetTimeout returns the timeout for Git operations, 60s when unset (the
// schema default, repeated here for objects that did not pass the API server).
func (in *GitRepository) GetTimeout() time.Duration {
	if in.Spec.Timeout != nil && in.Spec.Timeout.Duration > 0 {
		return in.Spec.Timeout.Duration
	}
	return 60 * time.Second
}

// GetArtifact returns the stored artifact, or nil.
func (in *GitRepository) GetArtifact() *meta.Artifact {
	return in.Status.Artifact
}

// GetProvider returns the authentication provider, 'generic' when unset.
func (in *GitRepository) GetProvider() string {
	if in.Spec.Provider == "" {
		return GitProviderGeneric
	}
	return in.Spec.Provider
}

// GetReference resolves the reference to check out. The deprecated
// spec.branch fills in ref.branch when the latter is empty, so a v1beta1
// manifest with 'branch: main' checks out main; with nothing set the result is
// DefaultBranch. The returned value is a copy and never nil.
func (in *GitRepository) GetReference() *GitRepositoryRef {
	ref := GitRepositoryRef{}
	if in.Spec.Reference != nil {
		ref = *in.Spec.Reference
	}
	if ref.Branch == "" {
		ref.Branch = in.Spec.Branch
	}
	if ref.IsZero() {
		ref.Branch = DefaultBranch
	}
	return &ref
}

// +kubebuilder:object:root=true

// GitRepositoryList is a list of GitRepositories.
type GitRepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GitRepository `json:"items"`
}
